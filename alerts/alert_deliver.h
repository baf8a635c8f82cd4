/*
 * alert_deliver: the delivered sinks. Findings spooled by alert_spool go to an SNS topic (one
 * readable message per finding, or a digest per time window) and to CloudWatch as
 * PutMetricData counters; each destination's ledger records what it accepted, so every
 * finding is delivered once across runs, crashes and retries.
 *
 * Call order in a run (the checkpoint, when there is one, sits between 3 and 4):
 *   1. alert_delivery_new + alert_deliver_pending: deliver what a previous run left
 *   2. the scan: alert_spool_add for each finding
 *   3. alert_spool_add_run + alert_spool_sync: the findings are durable
 *   4. alert_deliver_pending: deliver them
 */
#ifndef ALERT_DELIVER_H
#define ALERT_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_record.h"
#include "alert_spool.h"
#include "lsf_buf.h"
#include "lsf_err.h"

/* SNS limits (shared/spec/aws-facts.md 8.2). */
#define ALERT_SNS_MAX_MESSAGE_BYTES 262144 /* message plus its attributes */
#define ALERT_SNS_MAX_SUBJECT_CHARS 99     /* "fewer than 100 characters" */
#define ALERT_SNS_MAX_BATCH_ENTRIES 10
#define ALERT_SNS_MAX_DEDUP_ID      128

/* PutMetricData limits (aws-facts 9.2); the body is kept under 1 MB with room to spare. */
#define ALERT_METRICS_MAX_DATUMS     1000
#define ALERT_METRICS_MAX_BODY_BYTES ((size_t)900 << 10)
#define ALERT_METRICS_MAX_DIMENSIONS 30
#define ALERT_METRICS_MAX_AGE_S      (14 * 24 * 3600)
#define ALERT_METRICS_MAX_AHEAD_S    (2 * 3600)

struct alert_sns_opts {
    const char *topic_arn;     /* NULL: no SNS */
    int min_severity;          /* alert_severity_rank; findings below are not published */
    int64_t digest_s;          /* 0: one message per finding; else one per window of event time */
    unsigned max_per_rule;     /* per rule and delivery: more becomes one "N more suppressed" */
};

struct alert_metrics_opts {
    const char *ns;            /* NULL: no metrics */
    const char *const *dim_names; /* extra dimensions on every datum */
    const char *const *dim_values;
    size_t n_dims;
    bool use_event_time;       /* timestamps from the events (within CloudWatch's window) */
};

struct alert_delivery_opts {
    struct alert_sns_opts sns;
    struct alert_metrics_opts metrics;
    const char *region;        /* --region; NULL: the topic ARN's, then the AWS CLI's */
    const char *profile;       /* --profile */
    /* A warning that is not an error (a counter that may not have been recorded). */
    void (*warn)(void *ctx, const char *line);
    void *warn_ctx;
};

struct alert_delivery;

/*
 * Check the options and set up the AWS clients (config, credentials, endpoints; nothing is sent
 * yet). LSF_E_USAGE for a malformed topic ARN or namespace, a missing region or credentials
 * setup problem, LSF_E_NOMEM. The strings of opts are borrowed until alert_delivery_free.
 */
enum lsf_code alert_delivery_new(const struct alert_delivery_opts *opts,
        struct alert_delivery **out, struct lsf_err *err) LSF_WARN_UNUSED;
void alert_delivery_free(struct alert_delivery *d);

struct alert_delivery_stats {
    size_t n_messages;   /* SNS messages accepted */
    size_t n_findings;   /* findings newly published to SNS (including suppressed ones) */
    size_t n_suppressed; /* findings folded into "N more suppressed" summaries */
    size_t n_datums;     /* metric datums accepted */
    size_t n_pending;    /* findings and runs still in the spool afterwards */
};

/*
 * Deliver everything in the spool that a destination has not accepted yet, then compact the
 * spool. A failure of one destination does not stop the other; the first error is returned
 * (LSF_E_TRANSIENT after retries, LSF_E_AUTH, LSF_E_INPUT for a rejected request) and what
 * failed stays spooled for the next run. stats may be NULL.
 */
enum lsf_code alert_deliver_pending(struct alert_delivery *d, struct alert_spool *sp,
        struct alert_delivery_stats *stats, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---- formatting, exposed for tests ------------------------------------------------------- */

/* The human-readable message for one finding (what, who, from where, when, which rule, why it
 * matters, the raw event reference and excerpt). LSF_E_NOMEM. */
enum lsf_code alert_sns_message(const struct alert_record *r, struct lsf_buf *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* The subject for one finding: "logsift HIGH: <title>", control characters made spaces, at
 * most ALERT_SNS_MAX_SUBJECT_CHARS characters. buf holds at least 400 bytes. */
void alert_sns_subject(const char *severity, const char *title, char *buf, size_t len);

/*
 * Make body (a NUL-terminated message) fit max_bytes: when longer, cut it at a UTF-8 boundary
 * and end it with "[truncated by logsift: N bytes omitted]" plus the reference given. Returns
 * whether it was cut.
 */
bool alert_sns_fit(struct lsf_buf *body, size_t max_bytes, const char *reference);

/*
 * Batching: the end (exclusive) of the request that starts at entry start, given each entry's
 * size. SNS: at most ALERT_SNS_MAX_BATCH_ENTRIES entries whose sizes sum to at most
 * ALERT_SNS_MAX_MESSAGE_BYTES. Metrics: at most ALERT_METRICS_MAX_DATUMS datums within
 * ALERT_METRICS_MAX_BODY_BYTES including base_bytes. A request always takes at least one entry.
 */
size_t alert_sns_batch_end(const size_t *sizes, size_t n, size_t start);
size_t alert_metrics_batch_end(const size_t *sizes, size_t n, size_t start, size_t base_bytes);

/* Region of an SNS topic ARN ("arn:aws:sns:eu-west-1:123456789012:name") into buf; false when
 * arn is not one. */
bool alert_sns_arn_region(const char *arn, char *buf, size_t len);

#endif
