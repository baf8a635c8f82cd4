/*
 * alert_record: a finding reduced to what the delivered sinks (SNS, metrics, the report) need,
 * with its identity, so it can be spooled to disk and delivered after the scan or on a later run.
 *
 * Identity (the dedupe key) is (rule id, event id). The event id is CloudTrail's eventID when
 * the event has one, the CloudWatch Logs eventId when the source supplies it, else
 * "sha256:<hex>" of the event time ("<ms>\n", when known) and bytes, so the same event found
 * again on a rerun has the same key and one message logged twice is two events.
 */
#ifndef ALERT_RECORD_H
#define ALERT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_buf.h"
#include "lsf_err.h"
#include "lsf_finding.h"

#define ALERT_EVENT_ID_MAX 160

/*
 * The event id of f into out (ALERT_EVENT_ID_MAX bytes): CloudTrail "eventID" (a JSON event
 * with that string member), else cwl_event_id when not NULL/empty, else "sha256:" and the hex
 * SHA-256 of "<ts_ms>\n" (when the time is known) and the event bytes. Never fails.
 * Thread-safe.
 */
void alert_event_id(const struct lsf_finding *f, const char *cwl_event_id,
        char out[ALERT_EVENT_ID_MAX]);

/* A spooled finding. Every string is owned (heap) and never NULL ("" when unknown). */
struct alert_record {
    char *rule;
    char *title;
    char *severity;
    char *why;         /* the rule's description */
    char *source;
    char *format;
    uint64_t offset;
    int64_t ts_ms;     /* LSF_TS_UNKNOWN when the event had no time */
    char *event_id;
    char *event_name;  /* CloudTrail eventName */
    char *event_source;
    char *principal;   /* userIdentity.arn (else principalId, else type) */
    char *source_ip;   /* sourceIPAddress (else the --geoip address, e.g. sshd's rhost) */
    char *region;      /* awsRegion */
    char *account;     /* recipientAccountId */
    char *excerpt;     /* the event, at most the excerpt length, valid UTF-8 */
    bool is_excerpt_cut;
    /* A correlation finding: its event is the engine's {"correlation", "group", ...} summary,
     * and principal/source_ip come from the group when it is grouped by such a field. Not
     * spooled: only the report, fed at scan time, reads it. */
    bool is_correlation;
    /* --geoip data of the source address (lsf_finding.geo): "" and 0 when unknown */
    char geo_country[8];
    uint32_t geo_asn;
    char *geo_as_org;
};

/*
 * Build rec from f: the identity, the CloudTrail fields when the event is JSON (for a
 * correlation finding, the principal and address its group names: userIdentity.arn or
 * userIdentity.principalId; sourceIPAddress or rhost), and an excerpt
 * of at most excerpt_len bytes (invalid UTF-8 replaced by U+FFFD). why may be NULL.
 * LSF_E_NOMEM (rec is then cleaned). Thread-safe.
 */
enum lsf_code alert_record_from_finding(const struct lsf_finding *f, const char *why,
        const char *cwl_event_id, size_t excerpt_len, struct alert_record *rec,
        struct lsf_err *err) LSF_WARN_UNUSED;

void alert_record_cleanup(struct alert_record *rec);

/* Severity rank: info 0, low 1, medium 2, high 3, critical 4; -1 for anything else. */
int alert_severity_rank(const char *severity);

/* Lower-case hex SHA-256 of the bytes into out (65 bytes). */
void alert_sha256_hex(const void *bytes, size_t n, char out[65]);

#endif
