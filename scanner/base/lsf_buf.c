/*
 * lsf_buf: growable buffer with a ceiling (see lsf_buf.h). Growth doubles, clamped to max, so
 * appends are amortized O(1) and the ceiling is exact.
 */
#include "lsf_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void lsf_buf_init(struct lsf_buf *buf, size_t max_len)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max_len;
}

void lsf_buf_cleanup(struct lsf_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

enum lsf_code lsf_buf_reserve(struct lsf_buf *buf, size_t extra, struct lsf_err *err)
{
    size_t need;
    size_t cap;
    unsigned char *grown;

    if (extra > buf->max || buf->len > buf->max - extra)
        return lsf_fail(err, LSF_E_INPUT, "needs %zu bytes, over the limit of %zu bytes",
                buf->len + (extra > buf->max ? buf->max : extra), buf->max);
    need = buf->len + extra;
    if (need <= buf->cap)
        return LSF_OK;
    cap = buf->cap ? buf->cap : 4096;
    while (cap < need)
        cap = cap > buf->max / 2 ? buf->max : cap * 2;
    grown = realloc(buf->data, cap);
    if (grown == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    buf->data = grown;
    buf->cap = cap;
    return LSF_OK;
}

enum lsf_code lsf_buf_append(struct lsf_buf *buf, const void *bytes, size_t n, struct lsf_err *err)
{
    enum lsf_code rc = lsf_buf_reserve(buf, n, err);

    if (rc != LSF_OK)
        return rc;
    if (n > 0)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    return LSF_OK;
}

void lsf_buf_consume(struct lsf_buf *buf, size_t n)
{
    if (n >= buf->len) {
        buf->len = 0;
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
}

unsigned char *lsf_buf_take(struct lsf_buf *buf, size_t *len)
{
    unsigned char *bytes = buf->data;

    if (len)
        *len = buf->len;
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    return bytes;
}

void *lsf_array_grow(void *items, size_t *cap, size_t elem, size_t first)
{
    size_t n = *cap ? *cap * 2 : first;
    void *grown;

    if (*cap > SIZE_MAX / 2 || n > SIZE_MAX / elem)
        return NULL;
    grown = realloc(items, n * elem);
    if (grown != NULL)
        *cap = n;
    return grown;
}
