/*
 * alert: how findings leave logsift. The local outputs live here: JSON lines for machines, an
 * aligned table for people and OCSF Detection Findings for SIEMs. The delivered sinks (SNS,
 * CloudWatch metrics) are in alert_deliver.h, the HTML report in alert_report.h.
 *
 * Formatters append to a caller-owned buffer and touch no shared state, so scan workers call
 * them concurrently.
 */
#ifndef ALERT_H
#define ALERT_H

#include <stddef.h>

#include "lsf_buf.h"
#include "lsf_err.h"
#include "lsf_finding.h"

/* Version of the JSON-lines finding schema ("v" in every line); see README "Output". */
#define ALERT_JSONL_SCHEMA_VERSION 1

/*
 * One finding as one JSON line (ending in '\n'). The event is included as a string of at most
 * excerpt_len bytes (cut at a UTF-8 character boundary, with "event_truncated": true); invalid
 * UTF-8 bytes become U+FFFD so the line is always valid JSON. LSF_E_NOMEM.
 */
enum lsf_code alert_jsonl_format(const struct lsf_finding *f, size_t excerpt_len,
        struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* One finding as one line of a table for terminals: time, severity, rule, source:offset,
 * title. */
enum lsf_code alert_table_format(const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* OCSF schema version of the Detection Finding records (class_uid 2004). */
#define ALERT_OCSF_VERSION "1.1.0"

/*
 * One finding as one OCSF Detection Finding (class 2004, activity Create) JSON line: severity_id,
 * finding_info (uid from the rule and event ids, title, desc, analytic = the rule), the event
 * time, and for CloudTrail events actor.user.uid, src_endpoint.ip, api.operation and cloud
 * (account, region); the event itself in raw_data (at most excerpt_len bytes). why may be NULL.
 * LSF_E_NOMEM. Thread-safe.
 */
enum lsf_code alert_ocsf_format(const struct lsf_finding *f, const char *why, size_t excerpt_len,
        struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* Format ms since the epoch as "2024-07-31T13:06:24.000Z" into buf (at least 32 bytes);
 * "-" when ts_ms is LSF_TS_UNKNOWN. */
void alert_format_time(int64_t ts_ms, char *buf, size_t len);

#endif
