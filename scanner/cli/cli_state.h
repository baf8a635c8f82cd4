/*
 * cli_state: logs:// runs and their --state checkpoints (exactly-once across cron runs).
 *
 * Owns the CloudWatch Logs source, the output file (--output-file) and the state file
 * (--state). The state names the source, the time window being read, the source's position
 * after the last committed page and the output file's length at that moment. A run resumes
 * from it: the output is first cut back to that length (dropping what a killed run wrote after
 * its last checkpoint), then the source continues from the position. The checkpoint advances
 * only when every input up to a page's end is done and its findings are on disk (fsync), and
 * is written as temp file + fsync + rename + fsync of the directory (cli_checkpoint_commit).
 * When the run ends, the last position is committed once more with the output's length, which
 * then covers the correlation findings the engine writes at the end (cli_logs_finish), and
 * names the correlation state carried to the next run (cli_carry.h), written just before.
 * With correlations loaded, a --state run commits only when it ends (after the one at the start
 * of a first run): the correlation state carried to the next run (cli_carry.h) holds every
 * match up to that point, and a checkpoint inside the run would move past matches it does not
 * hold. A killed run is then read again in full, its findings cut back, so nothing is lost or
 * repeated; the price is that a run killed every time makes no progress (run it more often).
 * On stdout the findings cannot be taken back, so there it is at-least-once: a run killed
 * between writing a page's findings and committing repeats that page's findings.
 */
#ifndef CLI_STATE_H
#define CLI_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lsf_err.h"
#include "scan.h"

struct cli_logs_flags {
    const char *state_path;  /* --state FILE */
    const char *output_path; /* --output-file FILE (findings appended) */
    const char *lag;         /* --lag SPAN (default 2m) */
    const char *tps;         /* --cwl-tps N (FilterLogEvents requests/s, default 5) */
    const char *page_events; /* --cwl-page-events N (events per page, default 10000) */
    const char *api;         /* --cwl-api filter|get (get: one stream, GetLogEvents) */
    bool has_correlations;   /* not a flag: the rules hold correlations (set by the caller) */
};

/* Take one of the flags above with its value: true if flag is one of them. */
bool cli_logs_flag(struct cli_logs_flags *f, const char *flag, const char *val);

/* Where the AWS settings come from (the flags shared with s3://). */
struct cli_logs_aws {
    const char *endpoint_url;
    const char *region;
    const char *profile;
    const char *since; /* ISO-8601 or a span back from now; NULL: 1h (first run) */
    const char *until; /* NULL: now - lag */
};

struct cli_logs;

/*
 * Open a logs:// run for url: read the state (if any), cut the output back to the committed
 * length, choose the window, start the source, and fill *src. Forces one scan worker and the
 * firehose format in *scan (pages are small and come at a few per second; one worker keeps
 * findings in page order, which the output-length checkpoint needs). LSF_E_USAGE for bad
 * flags, a state file that is damaged or belongs to another source (the message says what to
 * do; it is never reset silently), LSF_E_IO, LSF_E_NOMEM.
 */
enum lsf_code cli_logs_open(const char *url, const struct cli_logs_flags *flags,
        const struct cli_logs_aws *aws, struct scan_config *scan, struct cli_logs **out,
        struct scan_source *src, struct lsf_err *err) LSF_WARN_UNUSED;

/* The stream findings go to: the --output-file, or stdout. */
FILE *cli_logs_output(struct cli_logs *logs);

/* scan_sink.input_done: input idx is done; commits when a page's inputs are all done. */
void cli_logs_input_done(struct cli_logs *logs, uint64_t idx);

/*
 * After scan_run: report the run (pages, commit failures). LSF_OK, or the code of a failed
 * commit (LSF_E_IO) with err set.
 */
enum lsf_code cli_logs_finish(struct cli_logs *logs, struct lsf_err *err) LSF_WARN_UNUSED;

/* Problems found opening the run that did not stop it (a damaged correlation sidecar). */
uint64_t cli_logs_n_problems(const struct cli_logs *logs);

/* FilterLogEvents requests made so far (for the summary and measurements). */
uint64_t cli_logs_n_pages(const struct cli_logs *logs);

void cli_logs_free(struct cli_logs *logs);

/* Open --output-file for appending when the inputs are not logs:// (no checkpoint). NULL
 * with err set on failure. */
FILE *cli_output_open(const char *path, struct lsf_err *err);

/* Durable writes shared with cli_carry. what names the file in messages ("--state",
 * "correlation state"). */
/* Write text[0..len) to fd whole, retrying on EINTR. */
enum lsf_code cli_write_all(int fd, const char *text, size_t len, const char *what,
        const char *path, struct lsf_err *err) LSF_WARN_UNUSED;
/* fsync the directory holding path, so a rename into it survives a crash. */
enum lsf_code cli_sync_dir(const char *what, const char *path, struct lsf_err *err)
        LSF_WARN_UNUSED;

#endif
