/*
 * dec: decompression chosen by magic bytes, never by file name.
 *
 * dec_open peeks at the first bytes of a raw stream and returns a reader of the decompressed
 * bytes: plain text passes through, gzip (every member of a multi-member stream, as Firehose
 * writes) is inflated with ISA-L, zstd (every frame) with libzstd. Memory stays constant
 * whatever the stream's size. Containers logsift does not read (zip, bzip2, xz, tar...) are
 * refused with a message that says what to do.
 */
#ifndef DEC_H
#define DEC_H

#include <stddef.h>

#include "lsf_err.h"
#include "lsf_reader.h"

enum dec_kind {
    DEC_PLAIN = 0,
    DEC_GZIP,
    DEC_ZSTD,
    DEC_UNSUPPORTED /* a known container or compressor that logsift does not read */
};

/*
 * Identify the compression of a stream from its first n bytes (n may be small; 0 means an
 * empty stream, which is DEC_PLAIN). If DEC_UNSUPPORTED and what is not NULL, *what names the
 * container ("zip", "bzip2", "xz", ...).
 */
enum dec_kind dec_detect(const unsigned char *head, size_t n, const char **what);

/* "plain", "gzip", "zstd" or "unsupported". */
const char *dec_kind_name(enum dec_kind kind);

/*
 * Wrap raw (taken: closed with the returned reader, or on failure) in a decompressing reader.
 * name is copied and prefixes every message ("path: gzip stream ends ... (archive truncated);
 * re-copy the object and rerun"). Read errors of the returned reader are LSF_E_INPUT for
 * corrupt or truncated data (CRC mismatch, truncated member, garbage after the last member)
 * and LSF_E_IO when raw fails. *kind (may be NULL) receives what was detected.
 * Returns LSF_E_INPUT for an unsupported container, LSF_E_NOMEM.
 */
enum lsf_code dec_open(struct lsf_reader raw, const char *name, struct lsf_reader *out,
        enum dec_kind *kind, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
