/*
 * alert_sns: findings as SNS messages (Query protocol, shared/spec/aws-facts.md 8).
 *
 * Each pending finding becomes a message written for the person on call: what happened, who,
 * from where, when, which rule and why it matters, then the raw event reference and excerpt.
 * Two things keep a burst from flooding a phone: --sns-digest groups the findings of a window
 * of event time into one message, and per rule only --sns-max-per-rule findings get their own
 * message in a delivery; the rest become one "N more suppressed" summary.
 *
 * Messages go out in PublishBatch requests of up to 10 entries and 256 KB (Publish when there
 * is one). PublishBatch answers 200 with per-entry failures, so each entry's outcome is read
 * from Successful/Failed and only accepted entries reach the ledger. On FIFO topics the
 * MessageDeduplicationId is derived from the (rule id, event id) keys a message carries, so a
 * retried or re-run publish that the topic already accepted is dropped by SNS itself.
 */
#include "alert_deliver_int.h"
#include "alert_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "alert.h"

#define SNS_ATTR_TYPE       "String"
#define SNS_FORM_MAX        ((size_t)4 << 20)
#define SNS_LIST_IN_SUMMARY 20

/* ---- formatting -------------------------------------------------------------------------- */

static enum lsf_code puts_(struct lsf_buf *b, const char *s, struct lsf_err *err)
{
    return lsf_buf_append(b, s, strlen(s), err);
}

static enum lsf_code printf_(struct lsf_buf *b, struct lsf_err *err, const char *fmt, ...)
        LSF_PRINTF(3, 4);

static enum lsf_code printf_(struct lsf_buf *b, struct lsf_err *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return lsf_fail(err, LSF_E_INTERNAL, "cannot format an SNS message line");
    if ((size_t)n >= sizeof(line))
        n = (int)alert_utf8_cut((const unsigned char *)line, sizeof(line) - 1, sizeof(line) - 1);
    return lsf_buf_append(b, line, (size_t)n, err);
}

static enum lsf_code nul(struct lsf_buf *b, struct lsf_err *err)
{
    enum lsf_code rc = lsf_buf_append(b, "", 1, err);
    if (rc == LSF_OK)
        b->len--;
    return rc;
}

static void upper(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s[i] && i + 1 < len; i++)
        buf[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
    buf[i] = '\0';
}

void alert_sns_subject(const char *severity, const char *title, char *buf, size_t len)
{
    char sev[16];
    size_t n;
    size_t chars = 0;
    size_t i = 0;

    upper(severity, sev, sizeof(sev));
    snprintf(buf, len, "logsift %s: %s", sev, title);
    n = strlen(buf);
    /* No line breaks or control characters; fewer than 100 characters (aws-facts 8.2). */
    while (i < n) {
        size_t seq = alert_utf8_seq_len((const unsigned char *)buf + i, n - i);
        if (seq == 0) {
            buf[i] = '?';
            seq = 1;
        } else if (seq == 1 && ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)) {
            buf[i] = ' ';
        }
        if (chars == ALERT_SNS_MAX_SUBJECT_CHARS) {
            buf[i] = '\0';
            return;
        }
        chars++;
        i += seq;
    }
}

static const char *or_unknown(const char *s)
{
    return s && s[0] ? s : "(not in the event)";
}

enum lsf_code alert_sns_message(const struct alert_record *r, struct lsf_buf *out,
        struct lsf_err *err)
{
    char when[40];
    char sev[16];
    enum lsf_code rc;

    alert_format_time(r->ts_ms, when, sizeof(when));
    upper(r->severity, sev, sizeof(sev));
    rc = printf_(out, err, "logsift finding: %s\n\n", r->title);
    if (rc == LSF_OK && r->event_name[0])
        rc = printf_(out, err, "What:   %s%s%s\n", r->event_name, r->event_source[0] ? " on " : "",
                r->event_source);
    if (rc == LSF_OK)
        rc = printf_(out, err, "Who:    %s\n", or_unknown(r->principal));
    if (rc == LSF_OK && (r->geo_country[0] || r->geo_asn)) {
        /* --geoip: "From:   86.245.1.2 (FR, AS3215 Orange)" */
        char as[32] = "";
        if (r->geo_asn)
            snprintf(as, sizeof(as), "AS%u", (unsigned)r->geo_asn);
        rc = printf_(out, err, "From:   %s (%s%s%s%s%s)\n", r->source_ip, r->geo_country,
                r->geo_country[0] && as[0] ? ", " : "", as, as[0] && r->geo_as_org[0] ? " " : "",
                as[0] ? r->geo_as_org : "");
    } else if (rc == LSF_OK) {
        rc = printf_(out, err, "From:   %s\n", or_unknown(r->source_ip));
    }
    if (rc == LSF_OK)
        rc = printf_(out, err, "When:   %s\n", r->ts_ms == LSF_TS_UNKNOWN ? "(no time in the "
                "event)" : when);
    if (rc == LSF_OK && (r->account[0] || r->region[0]))
        rc = printf_(out, err, "Where:  account %s, region %s\n", or_unknown(r->account),
                or_unknown(r->region));
    if (rc == LSF_OK)
        rc = printf_(out, err, "Rule:   %s (severity %s)\n", r->rule, sev);
    if (rc == LSF_OK && r->why[0])
        rc = printf_(out, err, "\nWhy it matters: %s\n", r->why);
    if (rc == LSF_OK)
        rc = printf_(out, err, "\nRaw event: %s, byte offset %" PRIu64 " (%s), event id %s\n",
                r->source, r->offset, r->format, r->event_id);
    if (rc == LSF_OK)
        rc = puts_(out, r->excerpt, err);
    if (rc == LSF_OK && r->is_excerpt_cut)
        rc = puts_(out, "\n[event cut to the --excerpt size]", err);
    if (rc == LSF_OK)
        rc = puts_(out, "\n", err);
    if (rc == LSF_OK)
        rc = nul(out, err);
    return rc;
}

bool alert_sns_fit(struct lsf_buf *body, size_t max_bytes, const char *reference)
{
    char marker[512];
    size_t cut;
    size_t marker_len;

    if (body->len <= max_bytes)
        return false;
    /* The marker's number depends on the cut; a generous width keeps one pass exact. */
    snprintf(marker, sizeof(marker), "\n[truncated by logsift: %20zu bytes omitted; %s]\n",
            (size_t)0, reference);
    marker_len = strlen(marker);
    cut = max_bytes > marker_len ? max_bytes - marker_len : 0;
    cut = alert_utf8_cut(body->data, body->len, cut);
    snprintf(marker, sizeof(marker), "\n[truncated by logsift: %zu bytes omitted; %s]\n",
            body->len - cut, reference);
    marker_len = strlen(marker);
    body->len = cut;
    /* The buffer held more than this, so the marker fits without growing it. */
    memcpy(body->data + cut, marker, marker_len + 1);
    body->len = cut + marker_len;
    return true;
}

bool alert_sns_arn_region(const char *arn, char *buf, size_t len)
{
    /* arn:PARTITION:sns:REGION:ACCOUNT:NAME */
    const char *p = arn;
    const char *fields[6];
    size_t n = 0;

    if (strncmp(arn, "arn:", 4) != 0)
        return false;
    fields[n++] = p;
    while (n < 6 && (p = strchr(p, ':')) != NULL)
        fields[n++] = ++p;
    if (n != 6 || strncmp(fields[2], "sns:", 4) != 0 || fields[3][0] == ':' ||
            fields[4][0] == ':' || fields[5][0] == '\0' || strchr(fields[5], ':') != NULL)
        return false;
    snprintf(buf, len, "%.*s", (int)(fields[4] - fields[3] - 1), fields[3]);
    return true;
}

bool alert_sns_wants(const struct alert_delivery *d, const struct alert_record *r)
{
    return alert_severity_rank(r->severity) >= d->opts.sns.min_severity;
}

/* ---- messages ---------------------------------------------------------------------------- */

struct sns_msg {
    char subject[400];
    struct lsf_buf body;
    char severity[16];
    char rule[256];       /* message attribute rule_id */
    char group_id[129];   /* FIFO */
    char dedup_id[65];    /* FIFO */
    size_t *recs;         /* indexes into the spool's records that this message delivers */
    size_t n_recs;
    bool is_summary;      /* "N more suppressed" */
};

static void msg_free_all(struct sns_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lsf_buf_cleanup(&m[i].body);
        free(m[i].recs);
    }
    free(m);
}

/* Attribute bytes counted toward the 256 KB (aws-facts 8.2). */
static size_t attr_bytes(const struct sns_msg *m)
{
    return strlen("severity") + strlen(SNS_ATTR_TYPE) + strlen(m->severity) + strlen("rule_id") +
           strlen(SNS_ATTR_TYPE) + strlen(m->rule);
}

/* FIFO dedup id: SHA-256 over the (rule, event id) keys the message carries. */
static void dedup_id(const struct alert_spooled *s, const size_t *recs, size_t n, const char *kind,
        char out[65])
{
    struct lsf_buf keys;

    lsf_buf_init(&keys, SIZE_MAX);
    if (lsf_buf_append(&keys, kind, strlen(kind) + 1, NULL) != LSF_OK)
        goto fallback;
    for (size_t i = 0; i < n; i++) {
        const struct alert_record *r = &s->records[recs[i]];
        if (lsf_buf_append(&keys, r->rule, strlen(r->rule) + 1, NULL) != LSF_OK ||
                lsf_buf_append(&keys, r->event_id, strlen(r->event_id) + 1, NULL) != LSF_OK)
            goto fallback;
    }
    alert_sha256_hex(keys.data, keys.len, out);
    lsf_buf_cleanup(&keys);
    return;
fallback:
    /* Out of memory: a dedup id of the first key still identifies the message well. */
    alert_sha256_hex(s->records[recs[0]].event_id, strlen(s->records[recs[0]].event_id), out);
    lsf_buf_cleanup(&keys);
}

static enum lsf_code msg_push(struct sns_msg **msgs, size_t *n, size_t *cap, struct sns_msg **out,
        struct lsf_err *err)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct sns_msg *g = realloc(*msgs, c * sizeof(*g));
        if (g == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory building SNS messages");
        *msgs = g;
        *cap = c;
    }
    *out = &(*msgs)[(*n)++];
    memset(*out, 0, sizeof(**out));
    lsf_buf_init(&(*out)->body, SIZE_MAX);
    return LSF_OK;
}

static enum lsf_code msg_take_recs(struct sns_msg *m, const size_t *recs, size_t n,
        struct lsf_err *err)
{
    m->recs = malloc((n ? n : 1) * sizeof(size_t));
    if (m->recs == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory building SNS messages");
    memcpy(m->recs, recs, n * sizeof(size_t));
    m->n_recs = n;
    return LSF_OK;
}

static void msg_finish(struct sns_msg *m, const char *reference)
{
    size_t budget = ALERT_SNS_MAX_MESSAGE_BYTES - attr_bytes(m);
    alert_sns_fit(&m->body, budget, reference);
}

/* One message for one finding. */
static enum lsf_code single_msg(const struct alert_spooled *s, size_t idx, struct sns_msg *m,
        struct lsf_err *err)
{
    const struct alert_record *r = &s->records[idx];
    char ref[600];
    enum lsf_code rc;

    alert_sns_subject(r->severity, r->title, m->subject, sizeof(m->subject));
    snprintf(m->severity, sizeof(m->severity), "%s", r->severity);
    snprintf(m->rule, sizeof(m->rule), "%s", r->rule);
    snprintf(m->group_id, sizeof(m->group_id), "%.128s", r->rule);
    dedup_id(s, &idx, 1, "finding", m->dedup_id);
    rc = alert_sns_message(r, &m->body, err);
    if (rc == LSF_OK)
        rc = msg_take_recs(m, &idx, 1, err);
    snprintf(ref, sizeof(ref), "full event: %.250s offset %" PRIu64, r->source, r->offset);
    msg_finish(m, ref);
    return rc;
}

/* Count of distinct values of one field among recs, most frequent first, as "a (3), b (1)". */
static enum lsf_code top_values(const struct alert_spooled *s, const size_t *recs, size_t n,
        size_t field_offset, struct lsf_buf *out, struct lsf_err *err)
{
    const char **vals = calloc(n ? n : 1, sizeof(char *));
    size_t *counts = calloc(n ? n : 1, sizeof(size_t));
    size_t n_vals = 0;
    enum lsf_code rc = LSF_OK;

    if (vals == NULL || counts == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory building SNS messages");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = *(char *const *)((const char *)&s->records[recs[i]] + field_offset);
        size_t j = 0;
        if (v[0] == '\0')
            v = "(unknown)";
        while (j < n_vals && strcmp(vals[j], v) != 0)
            j++;
        if (j == n_vals)
            vals[n_vals++] = v;
        counts[j]++;
    }
    for (size_t shown = 0; rc == LSF_OK && shown < 5 && shown < n_vals; shown++) {
        size_t best = shown;
        for (size_t j = shown + 1; j < n_vals; j++) {
            if (counts[j] > counts[best] ||
                    (counts[j] == counts[best] && strcmp(vals[j], vals[best]) < 0))
                best = j;
        }
        const char *tv = vals[best];
        size_t tc = counts[best];
        vals[best] = vals[shown];
        counts[best] = counts[shown];
        vals[shown] = tv;
        counts[shown] = tc;
        rc = printf_(out, err, "%s%s (%zu)", shown ? ", " : "", tv, tc);
    }
    if (rc == LSF_OK && n_vals > 5)
        rc = printf_(out, err, ", and %zu more", n_vals - 5);
out:
    free(vals);
    free(counts);
    return rc;
}

static void time_range(const struct alert_spooled *s, const size_t *recs, size_t n, char *first,
        char *last, size_t len)
{
    int64_t lo = INT64_MAX;
    int64_t hi = INT64_MIN;

    for (size_t i = 0; i < n; i++) {
        int64_t t = s->records[recs[i]].ts_ms;
        if (t == LSF_TS_UNKNOWN)
            continue;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    alert_format_time(lo == INT64_MAX ? LSF_TS_UNKNOWN : lo, first, len);
    alert_format_time(hi == INT64_MIN ? LSF_TS_UNKNOWN : hi, last, len);
}

/* "N more suppressed" for the findings of one rule past the per-rule limit. */
static enum lsf_code summary_msg(const struct alert_spooled *s, const size_t *recs, size_t n,
        struct sns_msg *m, struct lsf_err *err)
{
    const struct alert_record *r = &s->records[recs[0]];
    char first[40];
    char last[40];
    char title[300];
    enum lsf_code rc;

    snprintf(title, sizeof(title), "%zu more suppressed: %s", n, r->title);
    alert_sns_subject(r->severity, title, m->subject, sizeof(m->subject));
    snprintf(m->severity, sizeof(m->severity), "%s", r->severity);
    snprintf(m->rule, sizeof(m->rule), "%s", r->rule);
    snprintf(m->group_id, sizeof(m->group_id), "%.128s", r->rule);
    dedup_id(s, recs, n, "suppressed", m->dedup_id);
    time_range(s, recs, n, first, last, sizeof(first));
    rc = printf_(&m->body, err, "logsift: %zu more findings of rule %s were suppressed (alert "
            "storm: at most the first few of a rule get their own message per delivery).\n\n",
            n, r->rule);
    if (rc == LSF_OK)
        rc = printf_(&m->body, err, "Title:   %s\nFirst:   %s\nLast:    %s\nWho:     ", r->title,
                first, last);
    if (rc == LSF_OK)
        rc = top_values(s, recs, n, offsetof(struct alert_record, principal), &m->body, err);
    if (rc == LSF_OK)
        rc = puts_(&m->body, "\nFrom:    ", err);
    if (rc == LSF_OK)
        rc = top_values(s, recs, n, offsetof(struct alert_record, source_ip), &m->body, err);
    if (rc == LSF_OK && r->why[0])
        rc = printf_(&m->body, err, "\n\nWhy it matters: %s\n", r->why);
    if (rc == LSF_OK)
        rc = puts_(&m->body, "\nSuppressed events (source, offset, event id):\n", err);
    for (size_t i = 0; rc == LSF_OK && i < n && i < SNS_LIST_IN_SUMMARY; i++) {
        const struct alert_record *x = &s->records[recs[i]];
        rc = printf_(&m->body, err, "  %s %" PRIu64 " %s\n", x->source, x->offset, x->event_id);
    }
    if (rc == LSF_OK && n > SNS_LIST_IN_SUMMARY)
        rc = printf_(&m->body, err, "  ... and %zu more\n", n - SNS_LIST_IN_SUMMARY);
    if (rc == LSF_OK)
        rc = nul(&m->body, err);
    if (rc == LSF_OK)
        rc = msg_take_recs(m, recs, n, err);
    msg_finish(m, "the suppressed events are in the scan's JSON output");
    return rc;
}

/* One digest for the findings of one window (recs in spool order). */
static enum lsf_code digest_msg(const struct alert_delivery *d, const struct alert_spooled *s,
        const size_t *recs, size_t n, int64_t window_ms, struct sns_msg *m, struct lsf_err *err)
{
    char from[40];
    char to[40];
    char title[200];
    int max_rank = -1;
    size_t *shown_per_rule = calloc(n ? n : 1, sizeof(size_t));
    const char **rules = calloc(n ? n : 1, sizeof(char *));
    size_t n_rules = 0;
    enum lsf_code rc = LSF_OK;

    if (shown_per_rule == NULL || rules == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory building an SNS digest");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int rank = alert_severity_rank(s->records[recs[i]].severity);
        if (rank > max_rank) {
            max_rank = rank;
            snprintf(m->severity, sizeof(m->severity), "%s", s->records[recs[i]].severity);
        }
    }
    alert_format_time(window_ms, from, sizeof(from));
    alert_format_time(window_ms + d->opts.sns.digest_s * 1000, to, sizeof(to));
    snprintf(title, sizeof(title), "%zu findings, %s to %s", n, from, to);
    alert_sns_subject(m->severity, title, m->subject, sizeof(m->subject));
    snprintf(m->rule, sizeof(m->rule), "digest");
    snprintf(m->group_id, sizeof(m->group_id), "digest");
    dedup_id(s, recs, n, "digest", m->dedup_id);
    rc = printf_(&m->body, err, "logsift digest: %zu findings with event times from %s to %s\n",
            n, from, to);
    for (size_t i = 0; rc == LSF_OK && i < n; i++) {
        const struct alert_record *r = &s->records[recs[i]];
        char when[40];
        size_t k = 0;
        while (k < n_rules && strcmp(rules[k], r->rule) != 0)
            k++;
        if (k == n_rules)
            rules[n_rules++] = r->rule;
        if (++shown_per_rule[k] > d->opts.sns.max_per_rule)
            continue;
        alert_format_time(r->ts_ms, when, sizeof(when));
        rc = printf_(&m->body, err, "\n[%s] %s\n  rule %s; %s%s%s by %s from %s at %s\n  event "
                "%s, %s offset %" PRIu64 "\n", r->severity, r->title, r->rule, r->event_name,
                r->event_source[0] ? " on " : "", r->event_source, or_unknown(r->principal),
                or_unknown(r->source_ip), when, r->event_id, r->source, r->offset);
    }
    for (size_t k = 0; rc == LSF_OK && k < n_rules; k++) {
        if (shown_per_rule[k] > d->opts.sns.max_per_rule)
            rc = printf_(&m->body, err, "\n%zu more %s findings suppressed in this window\n",
                    shown_per_rule[k] - d->opts.sns.max_per_rule, rules[k]);
    }
    if (rc == LSF_OK)
        rc = nul(&m->body, err);
    if (rc == LSF_OK)
        rc = msg_take_recs(m, recs, n, err);
    msg_finish(m, "the full list is in the scan's JSON output");
out:
    free(shown_per_rule);
    free(rules);
    return rc;
}

/* Build the messages for the pending records (indexes in pend, spool order). */
static enum lsf_code build_messages(const struct alert_delivery *d, const struct alert_spooled *s,
        const size_t *pend, size_t n_pend, struct sns_msg **out, size_t *n_out,
        struct lsf_err *err)
{
    struct sns_msg *msgs = NULL;
    size_t n = 0;
    size_t cap = 0;
    bool *used = calloc(n_pend ? n_pend : 1, sizeof(bool));
    size_t *group = malloc((n_pend ? n_pend : 1) * sizeof(size_t));
    enum lsf_code rc = LSF_OK;

    if (used == NULL || group == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory building SNS messages");
        goto out;
    }
    for (size_t i = 0; rc == LSF_OK && i < n_pend; i++) {
        const struct alert_record *r = &s->records[pend[i]];
        struct sns_msg *m;
        size_t n_group = 0;

        if (used[i])
            continue;
        if (d->opts.sns.digest_s > 0) {
            /* Everything pending in the same window of event time (unknown: the window of
             * now), in spool order. */
            int64_t w = d->opts.sns.digest_s * 1000;
            int64_t t = r->ts_ms == LSF_TS_UNKNOWN ? (int64_t)time(NULL) * 1000 : r->ts_ms;
            int64_t start = t - ((t % w) + w) % w;
            for (size_t j = i; j < n_pend; j++) {
                int64_t tj = s->records[pend[j]].ts_ms;
                tj = tj == LSF_TS_UNKNOWN ? (int64_t)time(NULL) * 1000 : tj;
                if (!used[j] && tj - ((tj % w) + w) % w == start) {
                    used[j] = true;
                    group[n_group++] = pend[j];
                }
            }
            rc = msg_push(&msgs, &n, &cap, &m, err);
            if (rc == LSF_OK)
                rc = digest_msg(d, s, group, n_group, start, m, err);
            continue;
        }
        /* Per rule: the first max_per_rule alone, the rest in one summary. */
        for (size_t j = i; j < n_pend; j++) {
            if (!used[j] && strcmp(s->records[pend[j]].rule, r->rule) == 0) {
                used[j] = true;
                group[n_group++] = pend[j];
            }
        }
        for (size_t j = 0; rc == LSF_OK && j < n_group && j < d->opts.sns.max_per_rule; j++) {
            rc = msg_push(&msgs, &n, &cap, &m, err);
            if (rc == LSF_OK)
                rc = single_msg(s, group[j], m, err);
        }
        if (rc == LSF_OK && n_group > d->opts.sns.max_per_rule) {
            size_t k = d->opts.sns.max_per_rule;
            rc = msg_push(&msgs, &n, &cap, &m, err);
            if (rc == LSF_OK) {
                m->is_summary = true;
                rc = summary_msg(s, group + k, n_group - k, m, err);
            }
        }
    }
out:
    free(used);
    free(group);
    if (rc != LSF_OK) {
        msg_free_all(msgs, n);
        msgs = NULL;
        n = 0;
    }
    *out = msgs;
    *n_out = n;
    return rc;
}

/* ---- the wire ---------------------------------------------------------------------------- */

static enum lsf_code add_entry(struct lsf_buf *form, const char *prefix, const struct sns_msg *m,
        bool is_fifo, struct lsf_err *err)
{
    char name[160];
    enum lsf_code rc;

#define FIELD(suffix, value)                                                                   \
    (snprintf(name, sizeof(name), "%s%s", prefix, suffix), aws_query_add(form, name, value, err))
    rc = FIELD("Message", (const char *)m->body.data);
    if (rc == LSF_OK)
        rc = FIELD("Subject", m->subject);
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.1.Name", "severity");
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.1.Value.DataType", SNS_ATTR_TYPE);
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.1.Value.StringValue", m->severity);
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.2.Name", "rule_id");
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.2.Value.DataType", SNS_ATTR_TYPE);
    if (rc == LSF_OK)
        rc = FIELD("MessageAttributes.entry.2.Value.StringValue", m->rule);
    if (rc == LSF_OK && is_fifo)
        rc = FIELD("MessageGroupId", m->group_id);
    if (rc == LSF_OK && is_fifo)
        rc = FIELD("MessageDeduplicationId", m->dedup_id);
#undef FIELD
    return rc;
}

/* PublishBatch's answer: which entry ids succeeded, and the first failure's text. */
struct batch_reply {
    char path[4][32]; /* element names from Successful/Failed down */
    int depth;
    bool in_ok;
    bool in_failed;
    char text[512];
    size_t text_len;
    bool ok[ALERT_SNS_MAX_BATCH_ENTRIES];
    bool failed[ALERT_SNS_MAX_BATCH_ENTRIES];
    int cur_id;
    char fail_code[128];
    char fail_msg[384];
    XML_Parser parser;
};

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **atts)
{
    struct batch_reply *b = user;
    const char *local = strrchr(name, ':') ? strrchr(name, ':') + 1 : name;

    (void)atts;
    if (strcmp(local, "Successful") == 0)
        b->in_ok = true;
    else if (strcmp(local, "Failed") == 0)
        b->in_failed = true;
    else if (strcmp(local, "member") == 0)
        b->cur_id = -1;
    b->text_len = 0;
    b->text[0] = '\0';
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    struct batch_reply *b = user;
    const char *local = strrchr(name, ':') ? strrchr(name, ':') + 1 : name;

    if (strcmp(local, "Successful") == 0) {
        b->in_ok = false;
    } else if (strcmp(local, "Failed") == 0) {
        b->in_failed = false;
    } else if (strcmp(local, "Id") == 0 && (b->in_ok || b->in_failed)) {
        /* Entry ids are "e0".."e9", set by us. */
        if (b->text[0] == 'e' && b->text[1] >= '0' && b->text[1] <= '9' && b->text[2] == '\0') {
            b->cur_id = b->text[1] - '0';
            if (b->in_ok)
                b->ok[b->cur_id] = true;
            else
                b->failed[b->cur_id] = true;
        }
    } else if (strcmp(local, "Code") == 0 && b->in_failed && b->fail_code[0] == '\0') {
        snprintf(b->fail_code, sizeof(b->fail_code), "%.127s", b->text);
    } else if (strcmp(local, "Message") == 0 && b->in_failed && b->fail_msg[0] == '\0') {
        snprintf(b->fail_msg, sizeof(b->fail_msg), "%.383s", b->text);
    }
    b->text_len = 0;
    b->text[0] = '\0';
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct batch_reply *b = user;
    size_t room = sizeof(b->text) - 1 - b->text_len;
    size_t n = (size_t)len < room ? (size_t)len : room;

    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
    b->text[b->text_len] = '\0';
}

/* DOCTYPE declarations are refused, so no entity can expand (as aws_xml_fields does). */
static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
        const XML_Char *pubid, int has_internal_subset)
{
    struct batch_reply *b = user;

    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    XML_StopParser(b->parser, XML_FALSE);
}

static bool parse_batch_reply(const char *body, size_t len, struct batch_reply *b)
{
    XML_Parser p = XML_ParserCreateNS(NULL, ':');
    bool ok;

    memset(b, 0, sizeof(*b));
    if (p == NULL)
        return false;
    b->parser = p;
    XML_SetUserData(p, b);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    ok = XML_Parse(p, body, (int)len, XML_TRUE) == XML_STATUS_OK;
    XML_ParserFree(p);
    return ok;
}

/* Mark the records of m delivered in the ledger. */
static enum lsf_code record_delivered(const struct alert_spooled *s, const struct sns_msg *m,
        struct alert_ledger *ledger, struct alert_delivery_stats *stats, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    for (size_t i = 0; rc == LSF_OK && i < m->n_recs; i++) {
        const struct alert_record *r = &s->records[m->recs[i]];
        rc = alert_ledger_add(ledger, r->rule, r->event_id, NULL, err);
    }
    if (rc == LSF_OK && stats) {
        stats->n_messages++;
        stats->n_findings += m->n_recs;
        if (m->is_summary)
            stats->n_suppressed += m->n_recs;
    }
    return rc;
}

/* Send msgs[0..n) (at most 10, within 256 KB together) in one request. */
static enum lsf_code publish(struct alert_delivery *d, const struct alert_spooled *s,
        struct sns_msg *msgs, size_t n, struct alert_ledger *ledger,
        struct alert_delivery_stats *stats, struct lsf_err *err)
{
    struct lsf_buf form;
    struct lsf_buf reply;
    enum lsf_code rc;

    lsf_buf_init(&form, SNS_FORM_MAX);
    lsf_buf_init(&reply, SIZE_MAX);
    rc = aws_query_add(&form, "Action", n == 1 ? "Publish" : "PublishBatch", err);
    if (rc == LSF_OK)
        rc = aws_query_add(&form, "Version", "2010-03-31", err);
    if (rc == LSF_OK)
        rc = aws_query_add(&form, "TopicArn", d->opts.sns.topic_arn, err);
    if (n == 1) {
        if (rc == LSF_OK)
            rc = add_entry(&form, "", &msgs[0], d->is_fifo, err);
    } else {
        for (size_t i = 0; rc == LSF_OK && i < n; i++) {
            char prefix[64];
            char id[24];
            snprintf(prefix, sizeof(prefix), "PublishBatchRequestEntries.member.%zu.", i + 1);
            snprintf(id, sizeof(id), "e%zu", i);
            snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "Id");
            rc = aws_query_add(&form, prefix, id, err);
            prefix[strlen(prefix) - 2] = '\0';
            if (rc == LSF_OK)
                rc = add_entry(&form, prefix, &msgs[i], d->is_fifo, err);
        }
    }
    if (rc == LSF_OK) {
        struct aws_query_call call = {
            .ep = &d->sns_ep,
            .form = (const char *)form.data,
            .form_len = form.len,
            .operation = n == 1 ? "Publish" : "PublishBatch",
            .resource = d->opts.sns.topic_arn,
            /* A repeat is what SNS's own clients do; FIFO topics drop it by dedup id. */
            .retry = AWS_QUERY_RETRY_ALL,
        };
        rc = aws_query_post(d->cfg, d->creds, &call, &reply, NULL, err);
    }
    if (rc == LSF_OK && n == 1) {
        rc = record_delivered(s, &msgs[0], ledger, stats, err);
    } else if (rc == LSF_OK) {
        struct batch_reply b;
        size_t n_failed = 0;
        if (!parse_batch_reply((const char *)reply.data, reply.len, &b)) {
            rc = lsf_fail(err, LSF_E_TRANSIENT, "sns PublishBatch %s: the reply is not the "
                    "expected XML; the findings stay spooled for the next run",
                    d->opts.sns.topic_arn);
        }
        for (size_t i = 0; rc == LSF_OK && i < n; i++) {
            if (b.ok[i])
                rc = record_delivered(s, &msgs[i], ledger, stats, err);
            else
                n_failed++;
        }
        if (rc == LSF_OK && n_failed > 0)
            rc = lsf_fail(err, LSF_E_TRANSIENT, "sns PublishBatch %s: %zu of %zu messages "
                    "failed (%s: %s); they stay spooled and are retried on the next run",
                    d->opts.sns.topic_arn, n_failed, n, b.fail_code[0] ? b.fail_code : "no code",
                    b.fail_msg);
    }
    /* The ledger is durable before the next request goes out. */
    {
        struct lsf_err sync_err;
        lsf_err_clear(&sync_err);
        if (alert_ledger_sync(ledger, &sync_err) != LSF_OK && rc == LSF_OK)
            rc = lsf_fail(err, sync_err.code, "%s", sync_err.msg);
    }
    lsf_buf_cleanup(&form);
    lsf_buf_cleanup(&reply);
    return rc;
}

size_t alert_sns_batch_end(const size_t *sizes, size_t n, size_t start)
{
    size_t end = start;
    size_t bytes = 0;

    /* PublishBatch: 10 entries, each and the sum within 256 KB (aws-facts 8.2). */
    while (end < n && end - start < ALERT_SNS_MAX_BATCH_ENTRIES &&
            (end == start || bytes + sizes[end] <= ALERT_SNS_MAX_MESSAGE_BYTES)) {
        bytes += sizes[end];
        end++;
    }
    return end;
}

static size_t entry_bytes(const struct sns_msg *m)
{
    return m->body.len + strlen(m->subject) + attr_bytes(m);
}

enum lsf_code alert_sns_deliver(struct alert_delivery *d, const struct alert_spooled *s,
        struct alert_ledger *ledger, struct alert_delivery_stats *stats, struct lsf_err *err)
{
    size_t *pend = malloc((s->n_records ? s->n_records : 1) * sizeof(size_t));
    size_t n_pend = 0;
    struct sns_msg *msgs = NULL;
    size_t n_msgs = 0;
    size_t *sizes;
    enum lsf_code first = LSF_OK;
    enum lsf_code rc;

    if (pend == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n_records; i++) {
        const struct alert_record *r = &s->records[i];
        if (alert_sns_wants(d, r) && !alert_ledger_has(ledger, r->rule, r->event_id, NULL))
            pend[n_pend++] = i;
    }
    rc = build_messages(d, s, pend, n_pend, &msgs, &n_msgs, err);
    free(pend);
    if (rc != LSF_OK)
        return rc;
    sizes = malloc((n_msgs ? n_msgs : 1) * sizeof(size_t));
    if (sizes == NULL) {
        msg_free_all(msgs, n_msgs);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_msgs; i++)
        sizes[i] = entry_bytes(&msgs[i]);
    for (size_t i = 0; i < n_msgs;) {
        size_t j = alert_sns_batch_end(sizes, n_msgs, i);
        rc = publish(d, s, msgs + i, j - i, ledger, stats, err);
        if (rc != LSF_OK && first == LSF_OK)
            first = rc;
        /* Auth and bad-topic errors would fail every request the same way. */
        if (rc == LSF_E_AUTH || rc == LSF_E_USAGE || rc == LSF_E_IO || rc == LSF_E_NOMEM)
            break;
        i = j;
    }
    free(sizes);
    msg_free_all(msgs, n_msgs);
    return first;
}
