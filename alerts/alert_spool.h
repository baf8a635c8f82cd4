/*
 * alert_spool: the durable queue between the scan and the delivered sinks (SNS, metrics).
 *
 * Layout of the spool directory:
 *   spool.jsonl           one JSON object a line: {"k":"finding",...} or {"k":"run",...};
 *                         appended during the scan, fsynced by alert_spool_sync
 *   <sink>-<hash>.ledger  "rule<TAB>event id[<TAB>part]" lines: what one destination (a topic,
 *                         a namespace) has accepted, appended and fsynced after each publish
 *                         (metrics: before it, as an intent; "!key" withdraws one)
 *   lock                  flock'd while a run uses the directory
 * A line without its newline (a crash mid-write) is ignored on reading. Ledgers are kept, so a
 * rerun over the same logs never resends; the spool is compacted once everything in it is
 * delivered.
 */
#ifndef ALERT_SPOOL_H
#define ALERT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_record.h"
#include "lsf_err.h"

struct alert_spool;

/* Counters of one scan, spooled so the metrics sink can publish them exactly once. */
struct alert_run {
    char run_id[64];
    int64_t time_ms;
    uint64_t n_events;
    uint64_t n_bytes;
    uint64_t n_errors;
};

/*
 * Open (creating it and its parents) the spool in dir and take its lock. LSF_E_USAGE when
 * another logsift holds the lock (naming the directory), LSF_E_IO, LSF_E_NOMEM.
 */
enum lsf_code alert_spool_open(const char *dir, struct alert_spool **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void alert_spool_free(struct alert_spool *sp);
const char *alert_spool_dir(const struct alert_spool *sp);

/* Append one finding / one run record (written, not yet fsynced). Thread-safe. LSF_E_IO. */
enum lsf_code alert_spool_add(struct alert_spool *sp, const struct alert_record *rec,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code alert_spool_add_run(struct alert_spool *sp, const struct alert_run *run,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* fsync what was appended, so it survives a crash before delivery. LSF_E_IO. */
enum lsf_code alert_spool_sync(struct alert_spool *sp, struct lsf_err *err) LSF_WARN_UNUSED;

/* Everything in the spool, duplicates (same key) dropped, in spool order. */
struct alert_spooled {
    struct alert_record *records;
    size_t n_records;
    struct alert_run *runs;
    size_t n_runs;
};

enum lsf_code alert_spool_load(struct alert_spool *sp, struct alert_spooled *out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void alert_spooled_cleanup(struct alert_spooled *s);

/*
 * Rewrite the spool keeping only the records and runs keep[] marks (records first, then runs,
 * in alert_spool_load's order), through a temporary file and rename. Not while findings
 * are being added (alert_spool_add): what arrives after the load would be dropped. LSF_E_IO.
 */
enum lsf_code alert_spool_compact(struct alert_spool *sp, const struct alert_spooled *s,
        const bool *keep_records, const bool *keep_runs, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---- ledgers ---------------------------------------------------------------------------- */

struct alert_ledger;

/*
 * Open the ledger "<sink>-<first 16 hex of SHA-256(destination)>.ledger" in the spool and load
 * its keys. LSF_E_IO, LSF_E_NOMEM.
 */
enum lsf_code alert_ledger_open(struct alert_spool *sp, const char *sink, const char *destination,
        struct alert_ledger **out, struct lsf_err *err) LSF_WARN_UNUSED;
void alert_ledger_free(struct alert_ledger *lg);

/* Whether (a, b, part) is recorded; part may be NULL. */
bool alert_ledger_has(const struct alert_ledger *lg, const char *a, const char *b,
        const char *part);

/* Record keys (not yet durable). LSF_E_IO, LSF_E_NOMEM. */
enum lsf_code alert_ledger_add(struct alert_ledger *lg, const char *a, const char *b,
        const char *part, struct lsf_err *err) LSF_WARN_UNUSED;

/* Withdraw a key recorded as an intent before a request that then certainly failed (a "!key"
 * line; not yet durable). LSF_E_IO, LSF_E_NOMEM. */
enum lsf_code alert_ledger_cancel(struct alert_ledger *lg, const char *a, const char *b,
        const char *part, struct lsf_err *err) LSF_WARN_UNUSED;

/* fsync the recorded keys. LSF_E_IO. */
enum lsf_code alert_ledger_sync(struct alert_ledger *lg, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
