/*
 * alert_report: the HTML report (see alert_report.h).
 *
 * Findings are folded into counters as they arrive (per rule, per severity, per principal and
 * source IP), plus one timestamp each for the timeline, so a large scan costs 8 bytes per
 * finding and a few entries per distinct value. The page is plain HTML with an inline
 * stylesheet and an inline SVG chart: it opens from a file with the network off, and every
 * count sits in an element with an id or data attribute, so a test can read it from the DOM.
 * With --geoip, each source IP row shows the address's country and AS, and a table counts
 * findings per country; without located findings the page is as before.
 */
#include "alert_report.h"
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPORT_TOP_N       10
#define REPORT_MAX_BUCKETS 60

struct rule_row {
    char *id;
    char *title;
    char *severity;
    uint64_t count;
    int64_t first_ms;
    int64_t last_ms;
};

/* --geoip data of one source address (from the first of its findings that had some). */
struct geo_cell {
    char country[8];
    uint32_t asn;
    char *as_org;
};

struct tally {
    char **keys;
    uint64_t *counts;
    struct geo_cell *geo; /* per key, zeroed: used by the source IP tally */
    size_t n;
    size_t cap;
    uint64_t n_unattributed; /* correlation findings grouped by other fields */
};

struct alert_report {
    pthread_mutex_t mu;
    struct rule_row *rules;
    size_t n_rules;
    size_t cap_rules;
    uint64_t by_severity[5];
    uint64_t n_findings;
    struct tally principals;
    struct tally ips;
    struct tally countries; /* --geoip country code of the source address */
    bool has_geo;           /* some finding carried --geoip data */
    int64_t *times;
    size_t n_times;
    size_t cap_times;
};

enum lsf_code alert_report_new(struct alert_report **out, struct lsf_err *err)
{
    struct alert_report *rep = calloc(1, sizeof(*rep));

    *out = NULL;
    if (rep == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    pthread_mutex_init(&rep->mu, NULL);
    *out = rep;
    return LSF_OK;
}

static void tally_cleanup(struct tally *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->geo[i].as_org);
    }
    free(t->keys);
    free(t->counts);
    free(t->geo);
}

void alert_report_free(struct alert_report *rep)
{
    if (rep == NULL)
        return;
    for (size_t i = 0; i < rep->n_rules; i++) {
        free(rep->rules[i].id);
        free(rep->rules[i].title);
        free(rep->rules[i].severity);
    }
    free(rep->rules);
    tally_cleanup(&rep->principals);
    tally_cleanup(&rep->ips);
    tally_cleanup(&rep->countries);
    free(rep->times);
    pthread_mutex_destroy(&rep->mu);
    free(rep);
}

/* Count key; *at is its row. */
static bool tally_add(struct tally *t, const char *key, size_t *at)
{
    /* Linear: distinct principals and addresses number in the dozens per scan. */
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->keys[i], key) == 0) {
            t->counts[i]++;
            *at = i;
            return true;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **k = realloc(t->keys, cap * sizeof(*k));
        if (k == NULL)
            return false;
        t->keys = k;
        uint64_t *c = realloc(t->counts, cap * sizeof(*c));
        if (c == NULL)
            return false;
        t->counts = c;
        struct geo_cell *g = realloc(t->geo, cap * sizeof(*g));
        if (g == NULL)
            return false;
        t->geo = g;
        t->cap = cap;
    }
    t->keys[t->n] = strdup(key);
    if (t->keys[t->n] == NULL)
        return false;
    t->geo[t->n] = (struct geo_cell){{0}, 0, NULL};
    *at = t->n;
    t->counts[t->n++] = 1;
    return true;
}

/*
 * Count one finding's value. An event without it is "(unknown)"; a correlation finding
 * grouped by other fields stands for many events with possibly many values, so it is kept
 * out of the table (and noted under it) rather than inflating "(unknown)".
 */
static bool tally_value(struct tally *t, const char *value, bool is_correlation, size_t *at)
{
    *at = SIZE_MAX;
    if (value[0])
        return tally_add(t, value, at);
    if (is_correlation) {
        t->n_unattributed++;
        return true;
    }
    return tally_add(t, "(unknown)", at);
}

/* The source IP's --geoip data on its row, and the finding under its country. */
static bool add_geo(struct alert_report *rep, const struct alert_record *r, size_t ip_at)
{
    const bool is_located = r->geo_country[0] || r->geo_asn;
    const char *country = r->geo_country;
    size_t at;

    if (is_located) {
        rep->has_geo = true;
        if (ip_at != SIZE_MAX && rep->ips.geo[ip_at].country[0] == '\0' &&
                rep->ips.geo[ip_at].asn == 0) {
            struct geo_cell *g = &rep->ips.geo[ip_at];
            snprintf(g->country, sizeof(g->country), "%s", r->geo_country);
            g->asn = r->geo_asn;
            free(g->as_org);
            g->as_org = strdup(r->geo_as_org ? r->geo_as_org : "");
            if (g->as_org == NULL)
                return false;
        }
    }
    /* A finding without a country but with an address counts as "(unknown)"; a correlation
     * grouped by neither stays out of the table, as in the source IP table. */
    if (!country[0] && (r->source_ip[0] || !r->is_correlation))
        country = "(unknown)";
    return tally_value(&rep->countries, country, r->is_correlation, &at);
}

static bool add_locked(struct alert_report *rep, const struct alert_record *r)
{
    struct rule_row *row = NULL;
    int rank = alert_severity_rank(r->severity);

    for (size_t i = 0; i < rep->n_rules && row == NULL; i++) {
        if (strcmp(rep->rules[i].id, r->rule) == 0)
            row = &rep->rules[i];
    }
    if (row == NULL) {
        if (rep->n_rules == rep->cap_rules) {
            size_t cap = rep->cap_rules ? rep->cap_rules * 2 : 16;
            struct rule_row *g = realloc(rep->rules, cap * sizeof(*g));
            if (g == NULL)
                return false;
            rep->rules = g;
            rep->cap_rules = cap;
        }
        row = &rep->rules[rep->n_rules];
        *row = (struct rule_row){strdup(r->rule), strdup(r->title), strdup(r->severity), 0,
                LSF_TS_UNKNOWN, LSF_TS_UNKNOWN};
        if (!row->id || !row->title || !row->severity) {
            free(row->id);
            free(row->title);
            free(row->severity);
            return false;
        }
        rep->n_rules++;
    }
    row->count++;
    if (r->ts_ms != LSF_TS_UNKNOWN) {
        if (row->first_ms == LSF_TS_UNKNOWN || r->ts_ms < row->first_ms)
            row->first_ms = r->ts_ms;
        if (row->last_ms == LSF_TS_UNKNOWN || r->ts_ms > row->last_ms)
            row->last_ms = r->ts_ms;
        if (rep->n_times == rep->cap_times) {
            size_t cap = rep->cap_times ? rep->cap_times * 2 : 256;
            int64_t *g = realloc(rep->times, cap * sizeof(*g));
            if (g == NULL)
                return false;
            rep->times = g;
            rep->cap_times = cap;
        }
        rep->times[rep->n_times++] = r->ts_ms;
    }
    if (rank >= 0)
        rep->by_severity[rank]++;
    rep->n_findings++;
    size_t at, ip_at;
    return tally_value(&rep->principals, r->principal, r->is_correlation, &at) &&
           tally_value(&rep->ips, r->source_ip, r->is_correlation, &ip_at) &&
           add_geo(rep, r, ip_at);
}

enum lsf_code alert_report_add(struct alert_report *rep, const struct alert_record *r,
        struct lsf_err *err)
{
    bool ok;

    pthread_mutex_lock(&rep->mu);
    ok = add_locked(rep, r);
    pthread_mutex_unlock(&rep->mu);
    return ok ? LSF_OK : lsf_fail(err, LSF_E_NOMEM, "out of memory counting findings for the "
                                                    "report");
}

/* ---- writing ----------------------------------------------------------------------------- */

static void esc(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", fp);
            break;
        case '>':
            fputs("&gt;", fp);
            break;
        case '&':
            fputs("&amp;", fp);
            break;
        case '"':
            fputs("&quot;", fp);
            break;
        case '\'':
            fputs("&#39;", fp);
            break;
        default:
            fputc(*s, fp);
        }
    }
}

static void when(FILE *fp, int64_t ms)
{
    char buf[40];

    alert_format_time(ms, buf, sizeof(buf));
    fputs(buf, fp);
}

/* Indexes of t sorted by count (desc) then key. */
static const struct tally *sort_tally;

static int by_count(const void *a, const void *b)
{
    size_t x = *(const size_t *)a;
    size_t y = *(const size_t *)b;

    if (sort_tally->counts[x] != sort_tally->counts[y])
        return sort_tally->counts[x] > sort_tally->counts[y] ? -1 : 1;
    return strcmp(sort_tally->keys[x], sort_tally->keys[y]);
}

/* The --geoip cells of a source IP row: country code, then "AS<n> <org>". */
static void geo_cells(FILE *fp, const struct geo_cell *g)
{
    fputs("<td class=\"country\">", fp);
    esc(fp, g->country);
    fputs("</td><td class=\"asn\">", fp);
    if (g->asn) {
        fprintf(fp, "AS%" PRIu32, g->asn);
        if (g->as_org && g->as_org[0]) {
            fputc(' ', fp);
            esc(fp, g->as_org);
        }
    }
    fputs("</td>", fp);
}

/* with_geo: the rows carry their --geoip cells (the source IP table of a located scan). */
static void top_table(FILE *fp, const char *id, const char *heading, const char *column,
        const struct tally *t, bool with_geo)
{
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof(size_t));

    fprintf(fp, "<section><h2>%s</h2>\n<table id=\"%s\"><tr><th>%s</th>%s<th>findings</th>"
            "</tr>\n", heading, id, column,
            with_geo ? "<th>country</th><th>AS (organisation)</th>" : "");
    if (idx != NULL) {
        for (size_t i = 0; i < t->n; i++)
            idx[i] = i;
        /* qsort's comparator has no context argument; the report is written by one thread. */
        sort_tally = t;
        qsort(idx, t->n, sizeof(size_t), by_count);
        for (size_t i = 0; i < t->n && i < REPORT_TOP_N; i++) {
            fputs("<tr><td class=\"key\">", fp);
            esc(fp, t->keys[idx[i]]);
            fputs("</td>", fp);
            if (with_geo)
                geo_cells(fp, &t->geo[idx[i]]);
            fprintf(fp, "<td class=\"count\">%" PRIu64 "</td></tr>\n", t->counts[idx[i]]);
        }
    }
    fprintf(fp, "</table>%s", t->n > REPORT_TOP_N ? "<p class=\"note\">(top 10 shown)</p>" : "");
    if (t->n_unattributed > 0)
        fprintf(fp, "<p class=\"note\" id=\"%s-unattributed\">%" PRIu64 " correlation "
                "finding%s grouped by other fields not counted here</p>", id, t->n_unattributed,
                t->n_unattributed == 1 ? "" : "s");
    fputs("</section>\n", fp);
    free(idx);
}

static int by_rule(const void *a, const void *b)
{
    const struct rule_row *x = a;
    const struct rule_row *y = b;
    int rx = alert_severity_rank(x->severity);
    int ry = alert_severity_rank(y->severity);

    if (rx != ry)
        return ry - rx;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The timeline: findings per bucket, the bucket the smallest step giving at most 60 bars. */
static void timeline(FILE *fp, int64_t *times, size_t n)
{
    static const int64_t steps_s[] = {60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400,
            30 * 86400, 365 * 86400};
    uint64_t buckets[REPORT_MAX_BUCKETS] = {0};
    int64_t step_ms = 0;
    int64_t start;
    size_t n_buckets = 1;
    uint64_t peak = 1;
    const int width = 900;
    const int height = 200;

    fputs("<section><h2>Timeline</h2>\n", fp);
    if (n == 0) {
        fputs("<p id=\"timeline-empty\">No finding had a timestamp.</p></section>\n", fp);
        return;
    }
    qsort(times, n, sizeof(int64_t), cmp_i64);
    for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++) {
        step_ms = steps_s[i] * 1000;
        start = times[0] - ((times[0] % step_ms) + step_ms) % step_ms;
        n_buckets = (size_t)((times[n - 1] - start) / step_ms) + 1;
        if (n_buckets <= REPORT_MAX_BUCKETS)
            break;
    }
    if (n_buckets > REPORT_MAX_BUCKETS)
        n_buckets = REPORT_MAX_BUCKETS;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)((times[i] - start) / step_ms);
        if (b >= n_buckets)
            b = n_buckets - 1;
        buckets[b]++;
    }
    for (size_t b = 0; b < n_buckets; b++)
        peak = buckets[b] > peak ? buckets[b] : peak;
    fprintf(fp, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"findings over time\" "
            "data-bucket-seconds=\"%" PRId64 "\">\n", width, height + 40, width, height + 40,
            step_ms / 1000);
    fprintf(fp, "<line x1=\"40\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", height,
            width, height);
    fprintf(fp, "<text x=\"0\" y=\"14\" font-size=\"12\">%" PRIu64 "</text>\n", peak);
    for (size_t b = 0; b < n_buckets; b++) {
        double slot = (double)(width - 40) / (double)n_buckets;
        double h = (double)(height - 20) * (double)buckets[b] / (double)peak;
        char label[40];
        alert_format_time(start + (int64_t)b * step_ms, label, sizeof(label));
        fprintf(fp, "<rect class=\"bar\" data-count=\"%" PRIu64 "\" x=\"%.1f\" y=\"%.1f\" "
                "width=\"%.1f\" height=\"%.1f\" fill=\"#c0392b\"><title>%s: %" PRIu64
                "</title></rect>\n", buckets[b], 40 + slot * (double)b + 1, height - h,
                slot > 3 ? slot - 2 : slot, h, label, buckets[b]);
    }
    fputs("<text x=\"40\" y=\"", fp);
    fprintf(fp, "%d\" font-size=\"12\">", height + 16);
    when(fp, start);
    fprintf(fp, "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">", width,
            height + 16);
    when(fp, start + (int64_t)n_buckets * step_ms);
    fputs("</text>\n</svg></section>\n", fp);
}

static bool write_html(FILE *fp, struct alert_report *rep, const struct alert_report_scan *scan)
{
    static const char *const sev_names[] = {"critical", "high", "medium", "low", "info"};
    int64_t first = LSF_TS_UNKNOWN;
    int64_t last = LSF_TS_UNKNOWN;

    qsort(rep->rules, rep->n_rules, sizeof(*rep->rules), by_rule);
    for (size_t i = 0; i < rep->n_rules; i++) {
        const struct rule_row *r = &rep->rules[i];
        if (r->first_ms != LSF_TS_UNKNOWN && (first == LSF_TS_UNKNOWN || r->first_ms < first))
            first = r->first_ms;
        if (r->last_ms != LSF_TS_UNKNOWN && (last == LSF_TS_UNKNOWN || r->last_ms > last))
            last = r->last_ms;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>logsift report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
          "margin-bottom:1em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
          "td.count{text-align:right}td.t{white-space:nowrap}"
          ".sev-critical,.sev-high{color:#b00;font-weight:bold}"
          ".sev-medium{color:#b60}.note{color:#666}\n</style></head><body>\n"
          "<h1>logsift report</h1>\n", fp);
    fputs("<p>Generated ", fp);
    when(fp, scan->generated_ms);
    fprintf(fp, ". Scanned <span id=\"inputs\">%" PRIu64 "</span> inputs, <span id=\"events\">%"
            PRIu64 "</span> events, %.1f MB; <span id=\"problems\">%" PRIu64 "</span> problems."
            "</p>\n", scan->n_inputs, scan->n_events, (double)scan->n_bytes / 1e6,
            scan->n_problems);
    fprintf(fp, "<p><strong>Findings: <span id=\"total-findings\">%" PRIu64 "</span></strong>. "
            "First seen <span id=\"first-seen\">", rep->n_findings);
    when(fp, first);
    fputs("</span>, last seen <span id=\"last-seen\">", fp);
    when(fp, last);
    fputs("</span>.</p>\n", fp);

    fputs("<section><h2>By severity</h2>\n<table id=\"by-severity\"><tr><th>severity</th>"
          "<th>findings</th></tr>\n", fp);
    for (int i = 0; i < 5; i++) {
        int rank = 4 - i;
        fprintf(fp, "<tr><td class=\"sev-%s\">%s</td><td class=\"count\" id=\"severity-%s\">%"
                PRIu64 "</td></tr>\n", sev_names[i], sev_names[i], sev_names[i],
                rep->by_severity[rank]);
    }
    fputs("</table></section>\n", fp);

    fputs("<section><h2>By rule</h2>\n<table id=\"by-rule\"><tr><th>rule</th><th>title</th>"
          "<th>severity</th><th>findings</th><th>first seen</th><th>last seen</th></tr>\n", fp);
    for (size_t i = 0; i < rep->n_rules; i++) {
        const struct rule_row *r = &rep->rules[i];
        fputs("<tr data-rule=\"", fp);
        esc(fp, r->id);
        fputs("\"><td>", fp);
        esc(fp, r->id);
        fputs("</td><td>", fp);
        esc(fp, r->title);
        fputs("</td><td class=\"sev-", fp);
        esc(fp, r->severity);
        fputs("\">", fp);
        esc(fp, r->severity);
        fprintf(fp, "</td><td class=\"count\">%" PRIu64 "</td><td class=\"t\">", r->count);
        when(fp, r->first_ms);
        fputs("</td><td class=\"t\">", fp);
        when(fp, r->last_ms);
        fputs("</td></tr>\n", fp);
    }
    fputs("</table></section>\n", fp);
    timeline(fp, rep->times, rep->n_times);
    top_table(fp, "top-principals", "Top principals", "principal (userIdentity.arn)",
            &rep->principals, false);
    top_table(fp, "top-source-ips", "Top source IPs", "sourceIPAddress", &rep->ips,
            rep->has_geo);
    if (rep->has_geo)
        top_table(fp, "top-countries", "Top countries", "country of the source IP (--geoip)",
                &rep->countries, false);
    fputs("</body></html>\n", fp);
    return !ferror(fp);
}

enum lsf_code alert_report_write(struct alert_report *rep, const struct alert_report_scan *scan,
        const char *path, struct lsf_err *err)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    FILE *fp;
    bool ok;

    if (tmp == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    fp = fopen(tmp, "we");
    if (fp == NULL) {
        lsf_fail(err, LSF_E_IO, "--report %s: cannot create %s: %s; choose a writable place",
                path, tmp, strerror(errno));
        free(tmp);
        return LSF_E_IO;
    }
    pthread_mutex_lock(&rep->mu);
    ok = write_html(fp, rep, scan);
    pthread_mutex_unlock(&rep->mu);
    ok = fclose(fp) == 0 && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        lsf_fail(err, LSF_E_IO, "--report %s: cannot write it: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return LSF_E_IO;
    }
    free(tmp);
    return LSF_OK;
}
