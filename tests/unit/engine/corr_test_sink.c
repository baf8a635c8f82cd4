#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corr_test_sink.h"

static enum lsf_code sink_format(void *self, const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    const struct corr_found *found = self;

    /* the event that completes a window is always one of this run's */
    if (found->run != NULL)
        assert_string_equal(f->source, found->run);
    if (lsf_buf_append(out, f->rule_id, strlen(f->rule_id), err) != LSF_OK ||
            lsf_buf_append(out, " ", 1, err) != LSF_OK ||
            lsf_buf_append(out, f->event, f->event_len, err) != LSF_OK)
        return err->code;
    return lsf_buf_append(out, "\n", 1, err);
}

static enum lsf_code sink_write(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    struct corr_found *found = self;
    const char *p = (const char *)bytes, *end = p + n;

    (void)err;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        assert_true(found->n < CORR_TEST_MAX_FOUND);
        found->lines[found->n++] = strndup(p, (size_t)(nl - p));
        p = nl + 1;
    }
    return LSF_OK;
}

static void sink_problem(void *self, const struct lsf_err *err)
{
    (void)self;
    fail_msg("unexpected problem: %s", err->msg);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct scan_sink corr_test_sink(struct corr_found *found)
{
    struct scan_sink sink = {sink_format, sink_write, sink_problem, found, NULL};

    return sink;
}

void corr_test_sort(struct corr_found *found)
{
    qsort(found->lines, found->n, sizeof(found->lines[0]), cmp_str);
}
