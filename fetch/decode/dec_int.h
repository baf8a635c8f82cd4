/*
 * dec_int: what dec.c shares with the gzip and zstd readers, and nothing else sees.
 *
 * dec_open has already read the first bytes of the raw stream to detect its kind; it hands
 * them to the decoder it picks, which consumes them before reading raw again, so no byte is
 * lost or read twice.
 */
#ifndef DEC_INT_H
#define DEC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dec.h"

/*
 * Bytes dec_open peeks at. Every magic number sits in the first 6 bytes except tar's "ustar",
 * at offset 257, so one tar header block covers them all.
 */
#define DEC_HEAD_LEN 512

/*
 * Compressed bytes a decoder reads from raw at a time. Large enough that a multi-GB/s inflate
 * spends its time decoding, not in read calls; fixed, so memory does not depend on the input.
 */
#define DEC_IN_BUF_LEN (256 * 1024)

/*
 * Open a gzip / zstd reader over raw (taken: closed with the reader or on failure), whose
 * first head_len bytes dec_open already read into head (copied). name is copied. LSF_E_NOMEM.
 */
enum lsf_code dec_gzip_open(struct lsf_reader raw, const char *name, const unsigned char *head,
        size_t head_len, struct lsf_reader *out, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code dec_zstd_open(struct lsf_reader raw, const char *name, const unsigned char *head,
        size_t head_len, struct lsf_reader *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Record a decoder failure in sticky (the decoder's own lsf_err) and return its code. A
 * decoder records the failure before it returns the bytes decoded just ahead of it, then
 * reports it on the next read with dec_replay, so those bytes reach the scan.
 */
enum lsf_code dec_record(struct lsf_err *sticky, enum lsf_code code, const char *fmt, ...)
        LSF_PRINTF(3, 4);

/* Copy a recorded failure into err and return its code. */
enum lsf_code dec_replay(const struct lsf_err *sticky, struct lsf_err *err);

/*
 * Read raw into buf, passing its failure through unchanged (raw's message already names the
 * object) into sticky.
 */
enum lsf_code dec_raw_read(struct lsf_reader *raw, unsigned char *buf, size_t cap,
        size_t *n_read, struct lsf_err *sticky) LSF_WARN_UNUSED;

/* Widen a byte offset for printing with %llu. */
static inline unsigned long long dec_off(uint64_t offset)
{
    return (unsigned long long)offset;
}

#endif
