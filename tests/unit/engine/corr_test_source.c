#include "corr_test_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum lsf_code next_input(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct corr_test_source *src = self;
    size_t step = src->step ? src->step : 1;
    size_t k;

    if (src->n_given == src->n_inputs) {
        *done = true;
        return LSF_OK;
    }
    k = (src->n_given++ * step + src->first) % src->n_inputs;
    *name = malloc(24);
    if (*name == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory naming a test input");
    snprintf(*name, 24, "in-%02zu", k);
    src->mem[k].data = (const unsigned char *)src->texts[k];
    src->mem[k].len = strlen(src->texts[k]);
    src->mem[k].max_step = src->max_step;
    lsf_mem_reader_init(&src->mem[k], rd);
    return LSF_OK;
}

struct scan_source corr_test_source(struct corr_test_source *src)
{
    struct scan_source source = {next_input, src};
    return source;
}
