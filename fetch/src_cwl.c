/*
 * src_cwl: logs://GROUP[/STREAM-PREFIX] inputs (the contract is in src_cwl.h).
 *
 * Reading: FilterLogEvents over [start_ms, end_ms] (both inclusive, aws-facts 4.2), following
 * nextToken until a page has none. A page may be empty while more data exists, so only the
 * missing token ends the window. It takes a stream prefix and interleaves streams by timestamp
 * (then ingestion), the order the restart below relies on. With one_stream, a single named
 * stream is read with GetLogEvents instead (forward from startTime, endTime exclusive, until
 * the token sent comes back, aws-facts 4.2): it has its own quota, twice FilterLogEvents', and
 * does not search other streams. GetLogEvents gives no eventId, so each event is given one:
 * its position among the stream's events of the same millisecond, which a forward read returns
 * in the same order every time.
 *
 * Rate: a limiter in front of every FilterLogEvents request keeps this process within
 * --cwl-tps (default AWS's shared 5 TPS quota, aws-facts 4.4), counted as AWS counts it.
 * ThrottlingException answers are retried by the client with botocore's standard-mode
 * backoff (aws_http_client).
 *
 * Hand-out: each page is split by log stream (in order of first appearance) and each part is
 * rewritten as a subscription document (aws-facts 5.2) for the firehose framer, so the scan
 * sees every message as one event whatever it contains. The position after the page is taken
 * when the page arrives and reported once its last part is handed out.
 *
 * Restart: when the service refuses a token (InvalidParameterException about the token:
 * expired after 24 h, or from another group), the read restarts at the last handed-out event's
 * timestamp without a token, and the events of that millisecond already handed out are
 * skipped by eventId. Events before that millisecond were all handed out, since pages come in
 * timestamp order.
 */
#include "src_cwl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "aws_http_client.h"

#define CWL_PAGE_BODY_MAX ((size_t)64 << 20) /* a page is at most 1 MB of messages (4.2) */
#define CWL_GROUP_MAX     512
#define CWL_TARGET_FILTER "Logs_20140328.FilterLogEvents"
#define CWL_TARGET_GET    "Logs_20140328.GetLogEvents"
#define CWL_RATE_GUARD_S  0.1 /* slack per quota window for network and server jitter */

/* ---- URLs and times -------------------------------------------------------------------------- */

bool fetch_cwl_is_url(const char *path)
{
    return strncmp(path, "logs://", 7) == 0;
}

static bool span_unit_ms(char unit, int64_t *ms)
{
    switch (unit) {
    case 's':
        *ms = 1000;
        return true;
    case 'm':
        *ms = 60 * 1000;
        return true;
    case 'h':
        *ms = 3600 * 1000;
        return true;
    case 'd':
        *ms = 86400 * 1000;
        return true;
    case 'w':
        *ms = 7 * 86400 * 1000;
        return true;
    default:
        return false;
    }
}

bool fetch_cwl_span_parse(const char *text, int64_t *out_ms)
{
    char *end;
    long long v;
    int64_t unit_ms = 1000;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || errno != 0 || v < 0 || v > 10LL * 365 * 86400)
        return false;
    if (*end != '\0' && (!span_unit_ms(*end, &unit_ms) || end[1] != '\0'))
        return false;
    if (*end == '\0' && v != 0)
        return false; /* a bare number is ambiguous: ask for a unit */
    *out_ms = (int64_t)v * unit_ms;
    return true;
}

static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (timegm is not POSIX). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool fetch_cwl_time_parse(const char *text, int64_t now_ms, int64_t *out_ms)
{
    const char *p = text;
    int year, mon, day, hour = 0, min = 0, sec = 0, ms = 0;
    int64_t offset_s = 0;
    int64_t span;
    int64_t t;

    if (fetch_cwl_span_parse(text, &span) && span > 0) {
        *out_ms = now_ms - span;
        return true;
    }
    if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) || *p++ != '-' ||
            !take_digits(&p, 2, &day))
        return false;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!take_digits(&p, 2, &hour) || *p++ != ':' || !take_digits(&p, 2, &min))
            return false;
        if (*p == ':') {
            p++;
            if (!take_digits(&p, 2, &sec))
                return false;
            if (*p == '.') {
                int scale = 100;
                p++;
                if (*p < '0' || *p > '9')
                    return false;
                for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                    ms += (*p - '0') * scale;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (!take_digits(&p, 2, &oh) || *p++ != ':' || !take_digits(&p, 2, &om))
                return false;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0' || year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
            min > 59 || sec > 60)
        return false;
    t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    *out_ms = (t - offset_s) * 1000 + ms;
    return true;
}

/* ---- an owned-memory reader ------------------------------------------------------------------ */

struct cwl_doc {
    char *text;
    size_t len;
    size_t pos;
};

static enum lsf_code doc_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct cwl_doc *d = self;
    size_t n = d->len - d->pos < cap ? d->len - d->pos : cap;

    (void)err;
    memcpy(buf, d->text + d->pos, n);
    d->pos += n;
    *n_read = n;
    return LSF_OK;
}

static void doc_close(void *self)
{
    struct cwl_doc *d = self;

    free(d->text);
    free(d);
}

static const struct lsf_reader_ops doc_ops = {doc_read, doc_close};

/* ---- the source ------------------------------------------------------------------------------ */

/* One stream's part of a page, ready to hand out. */
struct cwl_part {
    char *stream;
    json_t *events; /* logEvents[] of the subscription document */
};

struct fetch_cwl {
    const struct fetch_cwl_opts *opts;
    char group[CWL_GROUP_MAX + 1];
    char *prefix; /* stream name prefix, or NULL */
    char resource[CWL_GROUP_MAX + 600];
    struct aws_session aws; /* global state, config, endpoint, credentials, client */

    /* Rate limit (FilterLogEvents): send times of the last n_slots requests, a ring. */
    double tps;
    double *sent_s;
    unsigned n_slots;
    unsigned slot;

    /* Position. */
    char *token;         /* next page's token; NULL: from start_ms (or last_ts) */
    bool is_window_done; /* no more pages */
    bool is_failed;      /* a page failed: nothing more is handed out */
    int64_t last_ts;     /* timestamp of the last event handed out, INT64_MIN if none */
    json_t *last_ids;    /* eventIds at last_ts handed out (array of strings) */
    json_t *skip_ids;    /* after a restart: ids at skip_ts not to hand out again */
    int64_t skip_ts;
    int64_t seen_ts;     /* GetLogEvents: the millisecond being counted, and how many */
    size_t n_seen;       /* events of it were read (the synthetic eventId of the next) */

    /* The current page. */
    struct cwl_part *parts;
    size_t n_parts;
    size_t part_pos;
    json_t *page_cursor; /* position after the page, reported with its last part */
    bool is_cursor_ready;
    uint64_t n_pages;
};

static enum lsf_code parse_url(struct fetch_cwl *cwl, const char *url, struct lsf_err *err)
{
    const char *rest = url + 7;
    const char *slash;
    size_t group_len;

    if (!fetch_cwl_is_url(url))
        return lsf_fail(err, LSF_E_USAGE, "%s: give a log group as logs://GROUP[/STREAM-PREFIX]",
                url);
    /* Group names may hold '/' ("/aws/lambda/fn"), so: a group that starts with '/' or
     * contains "//" takes its stream prefix after "//" ("logs:///aws/lambda/fn//2025/"); any
     * other group ends at its first '/' ("logs://prod-auth/web-"). */
    slash = strstr(rest, "//");
    if (slash == NULL && rest[0] != '/')
        slash = strchr(rest, '/');
    group_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (group_len == 0 || group_len > CWL_GROUP_MAX)
        return lsf_fail(err, LSF_E_USAGE, "%s: give a log group as logs://GROUP[/STREAM-PREFIX] "
                "(1 to 512 characters; a group with '/' in it takes its prefix after '//')",
                url);
    memcpy(cwl->group, rest, group_len);
    cwl->group[group_len] = '\0';
    for (const char *c = cwl->group; *c; c++) {
        if (!(strchr("._-/#", *c) || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9')))
            return lsf_fail(err, LSF_E_USAGE, "%s: log group names use only A-Z a-z 0-9 . _ - / "
                    "#; check the URL", url);
    }
    if (slash) {
        const char *p = slash + (slash[1] == '/' ? 2 : 1);
        if (*p) {
            cwl->prefix = strdup(p);
            if (cwl->prefix == NULL)
                return lsf_fail(err, LSF_E_NOMEM, "out of memory");
        }
    }
    snprintf(cwl->resource, sizeof(cwl->resource), "logs://%s%s%s", cwl->group,
            cwl->prefix ? "/" : "", cwl->prefix ? cwl->prefix : "");
    return LSF_OK;
}

static enum lsf_code load_resume(struct fetch_cwl *cwl, const json_t *cur, struct lsf_err *err)
{
    const json_t *token = json_object_get(cur, "next_token");
    const json_t *last_ts = json_object_get(cur, "last_ts");
    const json_t *ids = json_object_get(cur, "last_ids");
    const char *api = json_string_value(json_object_get(cur, "api"));
    const char *want = cwl->opts->one_stream ? "GetLogEvents" : "FilterLogEvents";
    const json_t *id;
    size_t i;

    if (!json_is_object(cur))
        return lsf_fail(err, LSF_E_USAGE, "the saved CloudWatch Logs position (--state) is "
                "not an object; restore the state file, or delete it to start again");
    if (api && strcmp(api, want) != 0)
        return lsf_fail(err, LSF_E_USAGE, "the saved position is one of %s but this run reads "
                "with %s: give --cwl-api as the run that saved it did, or use another state "
                "file", api, want);
    if (json_is_true(json_object_get(cur, "done"))) {
        cwl->is_window_done = true;
        return LSF_OK;
    }
    if ((token && !json_is_string(token) && !json_is_null(token)) ||
            (last_ts && !json_is_integer(last_ts) && !json_is_null(last_ts)) ||
            (ids && !json_is_array(ids)))
        return lsf_fail(err, LSF_E_USAGE, "the saved CloudWatch Logs position (--state) has a "
                "field of the wrong type (next_token, last_ts, last_ids); restore the state file, "
                "or delete it to start again");
    json_array_foreach(ids, i, id) {
        if (!json_is_string(id))
            return lsf_fail(err, LSF_E_USAGE, "the saved CloudWatch Logs position (--state) "
                    "lists an event id that is not a string (last_ids); restore the state file, "
                    "or delete it to start again");
    }
    if (json_is_string(token)) {
        cwl->token = strdup(json_string_value(token));
        if (cwl->token == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    if (json_is_integer(last_ts)) {
        cwl->last_ts = json_integer_value(last_ts);
        if (ids) {
            json_decref(cwl->last_ids);
            cwl->last_ids = json_deep_copy(ids);
        }
        /* The events of last_ts read so far are exactly those handed out. */
        cwl->seen_ts = cwl->last_ts;
        cwl->n_seen = json_array_size(cwl->last_ids);
        if (cwl->token == NULL) {
            /* A restart was under way: skip what that millisecond already gave. */
            cwl->skip_ts = cwl->last_ts;
            cwl->skip_ids = json_deep_copy(cwl->last_ids);
            cwl->seen_ts = INT64_MIN;
        }
    }
    return LSF_OK;
}

enum lsf_code fetch_cwl_new(const char *url, const struct fetch_cwl_opts *opts,
        struct fetch_cwl **out, struct lsf_err *err)
{
    struct fetch_cwl *cwl = calloc(1, sizeof(*cwl));
    struct aws_config_opts cfg_opts = {opts->profile, opts->region, NULL};
    enum lsf_code rc;

    *out = NULL;
    if (cwl == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    cwl->opts = opts;
    cwl->last_ts = INT64_MIN;
    cwl->skip_ts = INT64_MIN;
    cwl->seen_ts = INT64_MIN;
    cwl->last_ids = json_array();
    cwl->tps = opts->filter_tps > 0 ? opts->filter_tps
               : opts->one_stream   ? FETCH_CWL_DEFAULT_GET_TPS
                                    : FETCH_CWL_DEFAULT_TPS;
    cwl->n_slots = cwl->tps < 1.0 ? 1 : cwl->tps > 1000.0 ? 1000 : (unsigned)cwl->tps;
    cwl->sent_s = calloc(cwl->n_slots, sizeof(*cwl->sent_s));
    if (cwl->last_ids == NULL || cwl->sent_s == NULL)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    else
        rc = parse_url(cwl, url, err);
    if (rc == LSF_OK && opts->one_stream && cwl->prefix == NULL)
        rc = lsf_fail(err, LSF_E_USAGE, "%s: --cwl-api get reads one stream: give it as "
                "logs://GROUP/STREAM", url);
    if (rc == LSF_OK && opts->start_ms > opts->end_ms)
        rc = lsf_fail(err, LSF_E_USAGE, "%s: the time window starts after it ends; check "
                "--since and --until (and --lag)", cwl->resource);
    if (rc == LSF_OK && opts->resume)
        rc = load_resume(cwl, opts->resume, err);
    if (rc == LSF_OK)
        rc = aws_session_open(&cfg_opts, AWS_SVC_LOGS, opts->endpoint_url,
                1, &cwl->aws, err);
    if (rc != LSF_OK) {
        fetch_cwl_free(cwl);
        return rc;
    }
    *out = cwl;
    return LSF_OK;
}

static void parts_clear(struct fetch_cwl *cwl)
{
    for (size_t i = 0; i < cwl->n_parts; i++) {
        free(cwl->parts[i].stream);
        json_decref(cwl->parts[i].events);
    }
    free(cwl->parts);
    cwl->parts = NULL;
    cwl->n_parts = 0;
    cwl->part_pos = 0;
}

void fetch_cwl_free(struct fetch_cwl *cwl)
{
    if (cwl == NULL)
        return;
    parts_clear(cwl);
    json_decref(cwl->page_cursor);
    json_decref(cwl->last_ids);
    json_decref(cwl->skip_ids);
    aws_session_close(&cwl->aws);
    free(cwl->prefix);
    free(cwl->token);
    free(cwl->sent_s);
    free(cwl);
}

uint64_t fetch_cwl_n_pages(const struct fetch_cwl *cwl)
{
    return cwl->n_pages;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Wait until a FilterLogEvents request may go: at most n_slots requests in any window of
 * n_slots / tps seconds plus CWL_RATE_GUARD_S. AWS (and the emulator) count a quota over a
 * sliding second as requests arrive, so a plain 1/tps spacing sent right at the quota is
 * throttled whenever one request is delayed in transit and the next is not; the guard absorbs
 * that jitter. This is a token bucket whose tokens come back one window after their use.
 */
static void rate_wait(struct fetch_cwl *cwl)
{
    double window_s = (double)cwl->n_slots / cwl->tps + CWL_RATE_GUARD_S;
    double oldest = cwl->sent_s[cwl->slot];
    double now = mono_s();

    if (oldest > 0 && now - oldest < window_s) {
        double wait_s = window_s - (now - oldest);
        struct timespec ts = {(time_t)wait_s, (long)((wait_s - (double)(time_t)wait_s) * 1e9)};
        nanosleep(&ts, NULL);
        now = mono_s();
    }
    cwl->sent_s[cwl->slot] = now;
    cwl->slot = (cwl->slot + 1) % cwl->n_slots;
}

/* One FilterLogEvents request from the current position; the parsed answer in *page. */
static enum lsf_code request_page(struct fetch_cwl *cwl, json_t **page, struct lsf_err *err)
{
    json_t *req = json_object();
    int64_t start = cwl->opts->start_ms;
    struct lsf_buf body;
    char *text = NULL;
    json_error_t jerr;
    enum lsf_code rc = LSF_OK;

    *page = NULL;
    lsf_buf_init(&body, CWL_PAGE_BODY_MAX);
    if (cwl->token == NULL && cwl->skip_ts != INT64_MIN && cwl->skip_ts > start)
        start = cwl->skip_ts;
    if (req == NULL || json_object_set_new(req, "logGroupName", json_string(cwl->group)) ||
            json_object_set_new(req, "startTime", json_integer(start)) ||
            (!cwl->opts->one_stream &&
                    json_object_set_new(req, "endTime", json_integer(cwl->opts->end_ms))) ||
            (!cwl->opts->one_stream && cwl->prefix &&
                    json_object_set_new(req, "logStreamNamePrefix", json_string(cwl->prefix))) ||
            (cwl->opts->one_stream &&
                    (json_object_set_new(req, "logStreamName", json_string(cwl->prefix)) ||
                            json_object_set_new(req, "endTime",
                                    json_integer(cwl->opts->end_ms + 1)) ||
                            json_object_set_new(req, "startFromHead", json_true()))) ||
            (cwl->token && json_object_set_new(req, "nextToken", json_string(cwl->token))) ||
            (cwl->opts->page_events > 0 &&
                    json_object_set_new(req, "limit", json_integer(cwl->opts->page_events))) ||
            (text = json_dumps(req, JSON_COMPACT)) == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory building a FilterLogEvents request");
        goto out;
    }
    rate_wait(cwl);
    cwl->n_pages++;
    {
        const struct aws_kv headers[] = {
                {"Content-Type", "application/x-amz-json-1.1"},
                {"X-Amz-Target", cwl->opts->one_stream ? CWL_TARGET_GET : CWL_TARGET_FILTER},
        };
        struct aws_call_extra extra = {headers, 2, text, strlen(text), NULL};
        struct aws_call call = {&cwl->aws.ep, "POST", cwl->aws.ep.host,
                cwl->aws.ep.base_path[0] ? cwl->aws.ep.base_path : "/", NULL, 0, AWS_PROTO_JSON,
                cwl->opts->one_stream ? "GetLogEvents" : "FilterLogEvents", cwl->resource};
        rc = aws_client_call_extra(cwl->aws.client, &call, &extra, &body, err);
    }
    if (rc != LSF_OK)
        goto out;
    /* JSON_ALLOW_NUL: a message may hold \u0000; it is dumped back escaped. */
    *page = json_loadb((const char *)body.data, body.len, JSON_ALLOW_NUL, &jerr);
    if (*page == NULL || !json_is_array(json_object_get(*page, "events"))) {
        rc = lsf_fail(err, LSF_E_TRANSIENT, "%s: the answer is not a page of log events (%s); "
                "check --endpoint-url, then rerun", cwl->resource,
                *page == NULL ? jerr.text : "no events array");
        json_decref(*page);
        *page = NULL;
    }
out:
    free(text);
    json_decref(req);
    lsf_buf_cleanup(&body);
    return rc;
}

/* The message aws_error_fail wrote for a refused token (InvalidParameterException naming the
 * token): only the message reaches this layer, and it carries the AWS code. */
static bool is_token_refused(const struct lsf_err *err)
{
    return strstr(err->msg, "InvalidParameterException") != NULL &&
           (strstr(err->msg, "oken") != NULL);
}

static struct cwl_part *part_for(struct fetch_cwl *cwl, const char *stream, size_t *hint)
{
    struct cwl_part *grown;

    if (*hint < cwl->n_parts && strcmp(cwl->parts[*hint].stream, stream) == 0)
        return &cwl->parts[*hint];
    for (size_t i = 0; i < cwl->n_parts; i++) {
        if (strcmp(cwl->parts[i].stream, stream) == 0) {
            *hint = i;
            return &cwl->parts[i];
        }
    }
    grown = realloc(cwl->parts, (cwl->n_parts + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    cwl->parts = grown;
    grown[cwl->n_parts].stream = strdup(stream);
    grown[cwl->n_parts].events = json_array();
    if (grown[cwl->n_parts].stream == NULL || grown[cwl->n_parts].events == NULL) {
        free(grown[cwl->n_parts].stream);
        json_decref(grown[cwl->n_parts].events);
        return NULL;
    }
    *hint = cwl->n_parts;
    return &cwl->parts[cwl->n_parts++];
}

static bool id_in(const json_t *ids, const char *id)
{
    size_t i;
    const json_t *v;

    if (ids == NULL)
        return false;
    json_array_foreach(ids, i, v) {
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    }
    return false;
}

/* Split a page into parts and move the position past it. */
static enum lsf_code take_page(struct fetch_cwl *cwl, const json_t *page, struct lsf_err *err)
{
    const bool is_get = cwl->opts->one_stream;
    const json_t *events = json_object_get(page, "events");
    const json_t *next = json_object_get(page, is_get ? "nextForwardToken" : "nextToken");
    size_t hint = 0, i;
    const json_t *ev;

    json_array_foreach(events, i, ev) {
        const char *stream = json_string_value(json_object_get(ev, "logStreamName"));
        const char *id = json_string_value(json_object_get(ev, "eventId"));
        const json_t *ts = json_object_get(ev, "timestamp");
        const json_t *msg = json_object_get(ev, "message");
        char synthetic_id[32];
        struct cwl_part *part;
        json_t *item;

        if (is_get && json_is_integer(ts)) {
            if (json_integer_value(ts) != cwl->seen_ts) {
                cwl->seen_ts = json_integer_value(ts);
                cwl->n_seen = 0;
            }
            snprintf(synthetic_id, sizeof(synthetic_id), "%zu", cwl->n_seen++);
            stream = cwl->prefix;
            id = synthetic_id;
        }
        if (stream == NULL || id == NULL || !json_is_integer(ts) || !json_is_string(msg))
            return lsf_fail(err, LSF_E_TRANSIENT, "%s: event %zu of a page lacks "
                    "logStreamName, eventId, timestamp or message; rerun, and report it if it "
                    "persists", cwl->resource, i);
        if (json_integer_value(ts) < cwl->skip_ts)
            continue; /* cannot happen with startTime at skip_ts; kept as a guard */
        if (json_integer_value(ts) == cwl->skip_ts && id_in(cwl->skip_ids, id))
            continue;
        part = part_for(cwl, stream, &hint);
        item = json_pack("{s:s, s:I, s:O}", "id", id, "timestamp",
                (json_int_t)json_integer_value(ts), "message", msg);
        if (part == NULL || item == NULL || json_array_append_new(part->events, item) != 0)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory splitting a FilterLogEvents page");
        if (json_integer_value(ts) != cwl->last_ts) {
            cwl->last_ts = json_integer_value(ts);
            json_array_clear(cwl->last_ids);
        }
        if (json_array_append_new(cwl->last_ids, json_string(id)) != 0)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    if (cwl->n_parts == 0 && part_for(cwl, cwl->prefix ? cwl->prefix : "", &hint) == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    /* GetLogEvents ends a forward read by handing back the token it was sent. */
    if (is_get && json_is_string(next) && cwl->token &&
            strcmp(json_string_value(next), cwl->token) == 0)
        next = NULL;
    free(cwl->token);
    cwl->token = NULL;
    if (json_is_string(next)) {
        cwl->token = strdup(json_string_value(next));
        if (cwl->token == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    } else {
        cwl->is_window_done = true;
    }
    json_decref(cwl->page_cursor);
    if (cwl->is_window_done)
        cwl->page_cursor = json_pack("{s:b}", "done", 1);
    else
        cwl->page_cursor = json_pack("{s:s, s:s, s:I, s:O}", "api",
                is_get ? "GetLogEvents" : "FilterLogEvents", "next_token", cwl->token,
                "last_ts", (json_int_t)cwl->last_ts, "last_ids", cwl->last_ids);
    if (cwl->page_cursor == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    if (!cwl->is_window_done && cwl->last_ts == INT64_MIN)
        json_object_set_new(cwl->page_cursor, "last_ts", json_null());
    return LSF_OK;
}

/* Fetch the next page into parts (restarting once if the token is refused). */
static enum lsf_code next_page(struct fetch_cwl *cwl, struct lsf_err *err)
{
    json_t *page = NULL;
    enum lsf_code rc;

    rc = request_page(cwl, &page, err);
    if (rc != LSF_OK && cwl->token != NULL && is_token_refused(err)) {
        fprintf(stderr, "logsift: %s: the service refused the saved page token (%s); reading "
                "again from the last event's time, skipping events already scanned\n",
                cwl->resource, err->msg);
        free(cwl->token);
        cwl->token = NULL;
        cwl->skip_ts = cwl->last_ts;
        json_decref(cwl->skip_ids);
        cwl->skip_ids = json_deep_copy(cwl->last_ids);
        cwl->seen_ts = INT64_MIN; /* the read starts again at skip_ts: count it afresh */
        lsf_err_clear(err);
        rc = request_page(cwl, &page, err);
    }
    if (rc == LSF_OK)
        rc = take_page(cwl, page, err);
    json_decref(page);
    return rc;
}

enum lsf_code fetch_cwl_next(struct fetch_cwl *cwl, char **name, struct lsf_reader *rd,
        bool *done, struct lsf_err *err)
{
    struct cwl_part *part;
    struct cwl_doc *doc;
    json_t *root;
    size_t name_len;
    enum lsf_code rc;

    *name = NULL;
    *done = false;
    rd->ops = NULL;
    rd->self = NULL;
    cwl->is_cursor_ready = false;
    if (cwl->part_pos == cwl->n_parts) {
        parts_clear(cwl);
        if (cwl->is_window_done || cwl->is_failed) {
            *done = true;
            return LSF_OK;
        }
        rc = next_page(cwl, err);
        if (rc != LSF_OK) {
            cwl->is_failed = true;
            parts_clear(cwl);
            *name = strdup(cwl->resource);
            return rc;
        }
    }
    part = &cwl->parts[cwl->part_pos++];
    name_len = strlen(cwl->group) + strlen(part->stream) + 9;
    *name = malloc(name_len);
    doc = calloc(1, sizeof(*doc));
    root = json_pack("{s:s, s:s, s:s, s:s, s:[], s:O}", "messageType", "DATA_MESSAGE", "owner",
            "", "logGroup", cwl->group, "logStream", part->stream, "subscriptionFilters",
            "logEvents", part->events);
    if (*name == NULL || doc == NULL || root == NULL ||
            (doc->text = json_dumps(root, JSON_COMPACT)) == NULL) {
        json_decref(root);
        free(doc);
        cwl->is_failed = true;
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", cwl->resource);
    }
    json_decref(root);
    snprintf(*name, name_len, "logs://%s/%s", cwl->group, part->stream);
    doc->len = strlen(doc->text);
    rd->ops = &doc_ops;
    rd->self = doc;
    cwl->is_cursor_ready = cwl->part_pos == cwl->n_parts;
    return LSF_OK;
}

json_t *fetch_cwl_cursor(const struct fetch_cwl *cwl)
{
    if (!cwl->is_cursor_ready || cwl->page_cursor == NULL)
        return NULL;
    return json_deep_copy(cwl->page_cursor);
}
