/*
 * cli_alerts: the scan flags for the SNS and metrics sinks, the spool, OCSF's rule
 * descriptions and the HTML report, and their place in a scan run.
 *
 * A run with alerts goes: cli_alerts_start (opens the spool and delivers what a previous run
 * left), cli_alerts_wrap (each finding is also spooled and counted for the report), the scan,
 * cli_alerts_after_scan (the spool is fsynced: the point after which a --state checkpoint may
 * be committed; the report is written), cli_alerts_deliver. Every function accepts a NULL
 * struct cli_alerts (no alert flags given) and then does nothing.
 */
#ifndef CLI_ALERTS_H
#define CLI_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lsf_err.h"
#include "pat.h"
#include "scan.h"

#define CLI_ALERTS_DEFAULT_MAX_PER_RULE 10

struct cli_alerts_opts {
    const char *sns_topic;
    const char *sns_min_severity; /* NULL: info (everything) */
    int64_t sns_digest_s;
    unsigned sns_max_per_rule;    /* 0: CLI_ALERTS_DEFAULT_MAX_PER_RULE */
    const char *metrics_ns;
    const char **dim_names;       /* --metrics-dimension Name=Value, split (heap) */
    const char **dim_values;
    char **dim_storage;
    size_t n_dims;
    bool metrics_event_time;
    const char *spool_dir;        /* NULL: "<state file>.spool" with --state, else
                                     $XDG_STATE_HOME/logsift/spool or ~/.local/state/... */
    const char *state_path;       /* the --state checkpoint file, when there is one */
    const char *report_path;
};

/* Whether flag is an alert flag (all of them take a value). */
bool cli_alerts_is_flag(const char *flag);

/* Parse one alert flag and its value into o; false after printing a one-line error. */
bool cli_alerts_parse(struct cli_alerts_opts *o, const char *flag, const char *val);

/* With --state FILE, the spool defaults to "FILE.spool" (next to the checkpoint it pairs with). */
void cli_alerts_set_state_path(struct cli_alerts_opts *o, const char *state_path);

/* Free what parsing allocated. */
void cli_alerts_opts_cleanup(struct cli_alerts_opts *o);

/* The help lines for the alert flags. */
void cli_alerts_usage(FILE *to);

struct cli_alerts;

/*
 * Set up what the flags ask for (nothing, *out NULL, when none is given): the spool (locked),
 * the AWS clients, the report. Then deliver what previous runs left in the spool; a failure to
 * deliver it is reported on stderr and does not stop the run (it stays spooled). set is
 * borrowed for the rule descriptions. LSF_E_USAGE for bad flags, the spool's codes.
 */
enum lsf_code cli_alerts_start(const struct cli_alerts_opts *o, const struct pat_set *set,
        const char *region, const char *profile, size_t excerpt_len, struct cli_alerts **out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Make sink also spool and count each finding (the original format still runs after). */
void cli_alerts_wrap(struct cli_alerts *a, struct scan_sink *sink);

/* Spool the run's counters, fsync the spool (findings are durable from here) and write the
 * report. */
enum lsf_code cli_alerts_after_scan(struct cli_alerts *a, const struct scan_stats *st,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Deliver the spool; the summary line goes to stderr unless quiet. */
enum lsf_code cli_alerts_deliver(struct cli_alerts *a, bool is_quiet,
        struct lsf_err *err) LSF_WARN_UNUSED;

void cli_alerts_free(struct cli_alerts *a);

/* The description of a rule (for OCSF and SNS), or NULL. */
const char *cli_alerts_rule_why(const struct pat_set *set, const char *rule_id);

#endif
