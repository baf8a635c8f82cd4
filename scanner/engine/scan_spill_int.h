/*
 * scan_spill: a worker's correlation entries past its memory budget, written as sorted runs
 * to one temporary file (unlinked once open, so a crash leaves nothing behind) and read back
 * run by run for the merge at the end of the scan (scan_corr_sweep.c).
 */
#ifndef SCAN_SPILL_INT_H
#define SCAN_SPILL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_err.h"

/* One correlation entry as written and as read back, with what sorting and sweeping need. */
struct scan_spill_ent {
    uint64_t key_hash;
    int64_t ts_ms;
    uint64_t offset;
    uint64_t ordinal;
    uint32_t level_corr;  /* level << 24 | correlation */
    uint32_t input;       /* index into the writing worker's input names */
    uint32_t rank;        /* not stored: the input's rank, filled in by the reader's user */
    uint16_t base_pos;
    uint8_t format;
    const char *key;      /* NUL-terminated */
    const char *val;      /* NUL-terminated */
    const char *up;       /* the ancestors' keys (scan_corr.c keep_up_keys), or NULL */
    uint32_t up_len;      /* bytes of up, its final NUL included */
};

struct scan_spill;
struct scan_spill_reader;

/* A new spill file in dir ($TMPDIR or /tmp); LSF_E_IO naming dir when it cannot be made. */
enum lsf_code scan_spill_new(const char *dir, struct scan_spill **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void scan_spill_free(struct scan_spill *s);

/* Append e to the run being written (entries in sort order), then close the run. */
enum lsf_code scan_spill_add(struct scan_spill *s, const struct scan_spill_ent *e,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code scan_spill_end_run(struct scan_spill *s, struct lsf_err *err) LSF_WARN_UNUSED;

size_t scan_spill_n_runs(const struct scan_spill *s);
uint64_t scan_spill_n_entries(const struct scan_spill *s);
int64_t scan_spill_max_ts_ms(const struct scan_spill *s); /* INT64_MIN with no entries */

/* Read run number run back through a buffer of about buf_len bytes (it grows to hold the
 * largest entry). scan_spill_read sets *has false at the end of the run; e's texts stay
 * valid until the next read. */
enum lsf_code scan_spill_reader_new(const struct scan_spill *s, size_t run, size_t buf_len,
        struct scan_spill_reader **out, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code scan_spill_read(struct scan_spill_reader *r, struct scan_spill_ent *e, bool *has,
        struct lsf_err *err) LSF_WARN_UNUSED;
void scan_spill_reader_free(struct scan_spill_reader *r);

#endif
