/*
 * dec_test_util: what the decode tests share. Test inputs are made in the test itself, with
 * ISA-L's deflate (gzip) and libzstd, or read from the real logs in shared/data; helpers
 * abort on allocation failure, since a test has nothing better to do.
 */
#ifndef DEC_TEST_UTIL_H
#define DEC_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dec.h"

/* Bytes of memory plus a length, owned (free data). cap is 0 unless appended to. */
struct tu_bytes {
    unsigned char *data;
    size_t len;
    size_t cap;
};

/* gzip of data as one member, with ISA-L at level 0..3. */
struct tu_bytes tu_gzip(const void *data, size_t len, int level);

/* One zstd frame of data, with a content checksum if has_checksum. */
struct tu_bytes tu_zstd(const void *data, size_t len, int level, bool has_checksum);

/* A zstd skippable frame (magic 0x184D2A5n) carrying payload_len bytes. */
struct tu_bytes tu_zstd_skippable(unsigned n, size_t payload_len);

/* Append b to a (both owned; b is freed). */
void tu_append(struct tu_bytes *a, struct tu_bytes b);
void tu_append_raw(struct tu_bytes *a, const void *data, size_t len);

/* A whole file, or fail the test. */
struct tu_bytes tu_read_file(const char *path);

/* Deterministic log-like text: JSON lines with varying fields. */
struct tu_bytes tu_log_text(size_t len, uint32_t seed);

/*
 * Decode data through dec_open, reading raw at most raw_step bytes at a time (0: no limit)
 * and the output out_step bytes at a time. out receives every byte delivered, also when the
 * decode fails; err holds the failure. Returns the first failure, from dec_open or a read.
 */
enum lsf_code tu_decode(const unsigned char *data, size_t len, size_t raw_step, size_t out_step,
        struct tu_bytes *out, enum dec_kind *kind, struct lsf_err *err);

/*
 * Read rd to its end in steps of a little over 1 MiB (so reads end at odd places), adding up
 * the bytes and their CRC-32 (gzip's) into *total and *crc. Returns the first read failure.
 */
enum lsf_code tu_drain(struct lsf_reader *rd, uint64_t *total, uint32_t *crc,
        struct lsf_err *err);

/* Peak resident memory of this process so far, in KiB. */
long tu_max_rss_kb(void);

/* A reader that delivers data, then fails with LSF_E_IO (for pass-through tests). */
struct tu_failing {
    const unsigned char *data;
    size_t len;
    size_t pos;
    bool is_closed;
};
void tu_failing_init(struct tu_failing *src, const void *data, size_t len, struct lsf_reader *rd);

/* The message of tu_failing's read error. */
#define TU_FAILING_MSG "test-object: read failed: Input/output error"

#endif
