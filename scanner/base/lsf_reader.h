/*
 * lsf_reader: a pull stream of bytes, the seam between sources (files, S3 objects, CloudWatch
 * pages), decoders (gzip, zstd) and the scan engine. A decoder is a reader that wraps another.
 *
 * Readers are not thread-safe: one thread at a time may call read on a given reader.
 */
#ifndef LSF_READER_H
#define LSF_READER_H

#include <stddef.h>

#include "lsf_err.h"

struct lsf_reader_ops {
    /*
     * Read up to cap bytes into buf and set *n_read. *n_read == 0 with LSF_OK means end of
     * stream. On failure the bytes already returned stay valid; err names the object and the
     * cause (e.g. LSF_E_INPUT for a truncated archive) and the stream must not be read again.
     */
    enum lsf_code (*read)(void *self, unsigned char *buf, size_t cap, size_t *n_read,
            struct lsf_err *err);
    /* Release everything the reader owns, including any reader it wraps. May be NULL. */
    void (*close)(void *self);
};

struct lsf_reader {
    const struct lsf_reader_ops *ops;
    void *self;
};

static inline enum lsf_code lsf_reader_read(struct lsf_reader *rd, unsigned char *buf, size_t cap,
        size_t *n_read, struct lsf_err *err)
{
    return rd->ops->read(rd->self, buf, cap, n_read, err);
}

/* Close the reader (if any) and reset it to empty; safe to call twice. */
static inline void lsf_reader_close(struct lsf_reader *rd)
{
    if (rd->ops && rd->ops->close)
        rd->ops->close(rd->self);
    rd->ops = NULL;
    rd->self = NULL;
}

/* A reader over caller-owned memory, borrowed until the reader is closed (for tests and fuzzing). */
struct lsf_mem_reader {
    const unsigned char *data;
    size_t len;
    size_t pos;
    size_t max_step; /* bytes per read at most (0: no limit), to exercise chunk boundaries */
};

/* Point rd at mem, which the caller has filled with data/len/max_step; pos is reset. */
void lsf_mem_reader_init(struct lsf_mem_reader *mem, struct lsf_reader *rd);

#endif
