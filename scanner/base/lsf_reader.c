/*
 * lsf_mem_reader: the simplest lsf_reader, over memory. Tests and fuzz drivers use it to feed
 * decoders and the engine, with max_step forcing reads to end at awkward places.
 */
#include "lsf_reader.h"

#include <string.h>

static enum lsf_code mem_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct lsf_mem_reader *mem = self;
    size_t n = mem->len - mem->pos;

    (void)err;
    if (n > cap)
        n = cap;
    if (mem->max_step && n > mem->max_step)
        n = mem->max_step;
    if (n > 0)
        memcpy(buf, mem->data + mem->pos, n);
    mem->pos += n;
    *n_read = n;
    return LSF_OK;
}

static const struct lsf_reader_ops mem_ops = {
    .read = mem_read,
    .close = NULL,
};

void lsf_mem_reader_init(struct lsf_mem_reader *mem, struct lsf_reader *rd)
{
    mem->pos = 0;
    rd->ops = &mem_ops;
    rd->self = mem;
}
