/*
 * src_cwl: CloudWatch Logs inputs. Reads logs://GROUP[/STREAM-PREFIX] over a time window with
 * FilterLogEvents (JSON 1.1, shared/spec/aws-facts.md 4.1-4.2), one page at a time, within a
 * client-side rate limit, and hands each page to the scan as CloudWatch Logs subscription
 * documents (one per log stream in the page), which the firehose framer turns back into one
 * event per log event, so a message with newlines stays one event. The API has the shape of
 * src_s3's, so the command line drives either the same way.
 *
 * Position: after each page the source can describe where it stands (fetch_cwl_cursor) as a
 * small JSON object; a later source given that object (fetch_cwl_opts.resume) continues after
 * that page, with neither gap nor repeat. A page token the service no longer accepts (tokens
 * expire after 24 h, aws-facts 4.2) restarts the read at the timestamp of the last event handed
 * out and skips the events of that millisecond already handed out (by eventId).
 */
#ifndef SRC_CWL_H
#define SRC_CWL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lsf_err.h"
#include "lsf_reader.h"

/* AWS's default FilterLogEvents quota is 5 requests/s per account and region, shared by every
 * caller (aws-facts 4.4): stay at or below it by default. */
#define FETCH_CWL_DEFAULT_TPS     5.0
#define FETCH_CWL_DEFAULT_GET_TPS 10.0 /* GetLogEvents' own quota (aws-facts 4.4) */
#define FETCH_CWL_DEFAULT_LAG_S 120

struct fetch_cwl_opts {
    const char *endpoint_url; /* --endpoint-url, or NULL (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS...) */
    const char *profile;      /* --profile, or NULL */
    const char *region;       /* --region, or NULL */
    int64_t start_ms;         /* window start, ms since the epoch, inclusive */
    int64_t end_ms;           /* window end, inclusive (FilterLogEvents' endTime) */
    double filter_tps;        /* requests per second; 0: the API's default quota */
    unsigned page_events;     /* events per page, "limit" (1-10000); 0: the service's (10000) */
    bool one_stream;          /* the URL names one stream: read it with GetLogEvents */
    const json_t *resume;     /* a cursor from fetch_cwl_cursor, or NULL; borrowed */
};

/* True when path names a CloudWatch Logs location ("logs://..."). */
bool fetch_cwl_is_url(const char *path);

/*
 * Parse a time for --since/--until: ISO-8601 UTC ("2025-01-31", "2025-01-31T10:00:00Z",
 * "2025-01-31T10:00:00.250+02:00") or a span back from now_ms ("90s", "15m", "2h", "7d").
 * False when text is neither.
 */
bool fetch_cwl_time_parse(const char *text, int64_t now_ms, int64_t *out_ms);

/* Parse a span such as "0", "30s", "2m", "1h" (for --lag) into ms. False when malformed. */
bool fetch_cwl_span_parse(const char *text, int64_t *out_ms);

struct fetch_cwl;

/*
 * Check the URL and options, load the AWS configuration and start the client (nothing is
 * requested yet). Calls aws_global_init. url and opts are borrowed until fetch_cwl_free (resume
 * only during this call). LSF_E_USAGE for a malformed URL, window or cursor, a bad AWS
 * configuration or endpoint; LSF_E_NOMEM, LSF_E_INTERNAL.
 */
enum lsf_code fetch_cwl_new(const char *url, const struct fetch_cwl_opts *opts,
        struct fetch_cwl **out, struct lsf_err *err) LSF_WARN_UNUSED;
void fetch_cwl_free(struct fetch_cwl *cwl);

/*
 * Next input: one log stream's events of the current page, named "logs://GROUP/STREAM" (heap,
 * taken by the caller), as a subscription JSON document in *rd (taken). An empty page gives
 * one input with no events, so every page is an input the caller can count. *done at the end
 * of the window. A failed page (after retries) returns its code with err naming the group, the
 * AWS error and what to do, and the source then ends: later pages are not read, so a cursor
 * never passes events that were not handed out. Not thread-safe (one caller at a time).
 */
enum lsf_code fetch_cwl_next(struct fetch_cwl *cwl, char **name, struct lsf_reader *rd,
        bool *done, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Where the source stands after the last input handed out, if that input ended a page: a new
 * JSON object (the caller decrefs it) to pass back as fetch_cwl_opts.resume, or NULL in the
 * middle of a page (or after a failure). {"done": true} once the window is finished.
 */
json_t *fetch_cwl_cursor(const struct fetch_cwl *cwl);

/* Requests sent so far (pages, retries not counted). */
uint64_t fetch_cwl_n_pages(const struct fetch_cwl *cwl);

#endif
