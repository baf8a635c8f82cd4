/*
 * alert_report: the analyst's report of a scan as one self-contained HTML file (inline CSS and
 * SVG, no script, no network): counts per rule and severity, a timeline of findings, the top
 * principals and source IPs, first and last seen.
 */
#ifndef ALERT_REPORT_H
#define ALERT_REPORT_H

#include <stdint.h>

#include "alert_record.h"
#include "lsf_err.h"

struct alert_report;

enum lsf_code alert_report_new(struct alert_report **out, struct lsf_err *err) LSF_WARN_UNUSED;
void alert_report_free(struct alert_report *rep);

/* Count one finding. Thread-safe. LSF_E_NOMEM. */
enum lsf_code alert_report_add(struct alert_report *rep, const struct alert_record *r,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Totals of the scan, shown in the header. */
struct alert_report_scan {
    uint64_t n_inputs;
    uint64_t n_events;
    uint64_t n_bytes;
    uint64_t n_problems;
    int64_t generated_ms;
};

/* Write the HTML to path (through a temporary file and rename); sorts the report's rows, so
 * call it once adding is over. LSF_E_IO naming path. */
enum lsf_code alert_report_write(struct alert_report *rep, const struct alert_report_scan *scan,
        const char *path, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
