/* alert_deliver_int.h: what alert_deliver.c, alert_sns.c and alert_metrics.c share. */
#ifndef ALERT_DELIVER_INT_H
#define ALERT_DELIVER_INT_H

#include "alert_deliver.h"
#include "aws.h"
#include "aws_query.h"

struct alert_delivery {
    struct alert_delivery_opts opts;
    struct aws_config *cfg;    /* SNS: the topic's region (or --region) */
    struct aws_config *cfg_cw; /* metrics: --region, else the AWS CLI's, else the topic's */
    struct aws_creds_provider *creds;
    struct aws_endpoint sns_ep;
    struct aws_endpoint cw_ep;
    bool is_fifo;
};

/* Write a warning through opts.warn (or stderr). */
void alert_warn(const struct alert_delivery *d, const char *fmt, ...) LSF_PRINTF(2, 3);

/*
 * Publish the pending findings of s (those wants[] marks, not in ledger) to the topic; record
 * what was accepted in ledger. done[i] is set for each record the topic now has.
 */
enum lsf_code alert_sns_deliver(struct alert_delivery *d, const struct alert_spooled *s,
        struct alert_ledger *ledger, struct alert_delivery_stats *stats,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Publish the counters of s not yet in ledger. */
enum lsf_code alert_metrics_deliver(struct alert_delivery *d, const struct alert_spooled *s,
        struct alert_ledger *ledger, struct alert_delivery_stats *stats,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Whether the SNS sink publishes r at all (severity filter). */
bool alert_sns_wants(const struct alert_delivery *d, const struct alert_record *r);

/* The ledger parts the metrics sink records per finding and per run. */
#define ALERT_METRICS_PART_RULE     "rule"
#define ALERT_METRICS_PART_SEVERITY "severity"
#define ALERT_METRICS_RUN_KEY       "run"
extern const char *const alert_metrics_run_parts[3];

#endif
