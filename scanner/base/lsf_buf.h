/*
 * lsf_buf: a growable byte buffer with a ceiling set at init.
 *
 * Every buffer that input can grow has a maximum, so a hostile or broken input (a 100 MB line,
 * a decompression bomb) is an LSF_E_INPUT error instead of an out-of-memory kill. The caller
 * owns the struct; lsf_buf_cleanup frees the bytes and is safe to call twice.
 */
#ifndef LSF_BUF_H
#define LSF_BUF_H

#include <stddef.h>

#include "lsf_err.h"

struct lsf_buf {
    unsigned char *data; /* owned; NULL until the first reserve */
    size_t len;          /* bytes in use */
    size_t cap;          /* bytes allocated */
    size_t max;          /* ceiling for cap */
};

void lsf_buf_init(struct lsf_buf *buf, size_t max_len);
void lsf_buf_cleanup(struct lsf_buf *buf);

/*
 * Make room for extra more bytes after len. Fails with LSF_E_INPUT when that would pass max
 * (the message gives the sizes; callers prefix the object and the flag that raises the limit),
 * or LSF_E_NOMEM.
 */
enum lsf_code lsf_buf_reserve(struct lsf_buf *buf, size_t extra, struct lsf_err *err) LSF_WARN_UNUSED;

/* Append n bytes (reserving as needed). */
enum lsf_code lsf_buf_append(struct lsf_buf *buf, const void *bytes, size_t n,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Drop the first n bytes, moving the rest to the front. */
void lsf_buf_consume(struct lsf_buf *buf, size_t n);

/* Hand the bytes to the caller (who frees them) and leave buf empty. */
unsigned char *lsf_buf_take(struct lsf_buf *buf, size_t *len);

/*
 * Grow an array of elem-byte items that is full at *cap: returns the array reallocated to
 * twice *cap (first when *cap is 0) and sets *cap, or NULL (size overflow or out of memory)
 * leaving the array and *cap as they were. The caller keeps the "is it full" test inline.
 */
void *lsf_array_grow(void *items, size_t *cap, size_t elem, size_t first);

#endif
