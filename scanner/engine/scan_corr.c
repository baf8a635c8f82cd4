/*
 * scan_corr: correlation rules (pat_sigma.h): event_count, value_count, temporal and
 * temporal_ordered over the events their base rules fire on, per group of field values,
 * within a time window.
 *
 * Design. Workers scan inputs in parallel and in any order, so no worker sees the events of
 * one group in time order. Each worker therefore only records, for every base-rule match, a
 * small entry (correlation, base rule, group key text, counted value, event time, where);
 * when all workers are done the entries of all workers are sorted by (correlation, group,
 * time, input, offset) and each group is swept once with a sliding window. Findings are thus
 * the same whatever the chunk size, the number of workers, and the order of the files on the
 * command line or of the records inside them.
 *
 * Memory bound: SCAN_CORR_MAX_RECORDS entries per run (split evenly between workers), each
 * about 64 bytes plus its group key (at most SCAN_CORR_KEY_MAX bytes) and value (at most
 * SCAN_CORR_VAL_MAX): with the defaults, under 500 MB in the worst case and typically a few
 * MB. Entries past the bound are not counted, and the run reports how many (never silently).
 * After a window fires, counting restarts after the event that fired it, so a long burst gives
 * one finding per threshold's worth of events, not one per event.
 */
#include "scan_int.h"
#include "pat_geoip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- engine: which rules feed which correlation ---- */

static size_t find_rule(const struct pat_set *set, const char *ref)
{
    for (size_t i = 0; i < pat_set_n_rules(set); i++) {
        if (pat_rule_is_named(pat_set_rule(set, i), ref))
            return i;
    }
    return SIZE_MAX;
}

enum lsf_code scan_corr_setup(struct scan_engine *eng, struct lsf_err *err)
{
    const struct pat_set *set = eng->set;
    size_t n = eng->n_rules ? eng->n_rules : 1;
    size_t n_feeds = 0;
    unsigned *fill;
    bool *wants_own = calloc(n, sizeof(*wants_own));

    eng->corr_feed_start = calloc(n + 1, sizeof(*eng->corr_feed_start));
    eng->rule_silent = calloc(n, sizeof(*eng->rule_silent));
    if (eng->corr_feed_start == NULL || eng->rule_silent == NULL || wants_own == NULL) {
        free(wants_own);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory preparing correlations");
    }
    /* Pass 1: resolve and count; pass 2: fill the CSR table. */
    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_rule *cr = pat_set_rule(set, c);
        if (cr->sigma == NULL || pat_sigma_corr_type(cr->sigma) == PAT_CORR_NONE)
            continue;
        eng->n_corr++;
        for (size_t i = 0; i < pat_sigma_corr_n_refs(cr->sigma); i++) {
            const char *ref = pat_sigma_corr_ref(cr->sigma, i);
            size_t base = ref == NULL ? c : find_rule(set, ref);
            const struct pat_rule *br;

            if (base == SIZE_MAX) {
                free(wants_own);
                return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: no loaded rule has "
                        "the id or name '%s'; load its file with -r", cr->file, cr->line,
                        cr->id, ref);
            }
            br = pat_set_rule(set, base);
            if (br->sigma != NULL && !pat_sigma_rule_has_detection(br->sigma)) {
                free(wants_own);
                return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: '%s' is itself a "
                        "correlation; chained correlations are not supported", cr->file,
                        cr->line, cr->id, ref);
            }
            eng->corr_feed_start[base + 1]++;
            n_feeds++;
            /* A base rule reports on its own only if a correlation over it says generate:
             * true; a legacy aggregation rule never does (its findings are the counts). */
            if (ref == NULL)
                eng->rule_silent[base] = true;
            else if (!pat_sigma_corr_generate(cr->sigma))
                eng->rule_silent[base] |= !wants_own[base];
            else
                wants_own[base] = true, eng->rule_silent[base] = false;
        }
    }
    free(wants_own);
    for (size_t r = 0; r < eng->n_rules; r++)
        eng->corr_feed_start[r + 1] += eng->corr_feed_start[r];
    eng->corr_feeds = calloc(n_feeds ? n_feeds : 1, sizeof(*eng->corr_feeds));
    fill = calloc(n, sizeof(*fill));
    if (eng->corr_feeds == NULL || fill == NULL) {
        free(fill);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory preparing correlations");
    }
    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_rule *cr = pat_set_rule(set, c);
        if (cr->sigma == NULL || pat_sigma_corr_type(cr->sigma) == PAT_CORR_NONE)
            continue;
        for (size_t i = 0; i < pat_sigma_corr_n_refs(cr->sigma); i++) {
            const char *ref = pat_sigma_corr_ref(cr->sigma, i);
            size_t base = ref == NULL ? c : find_rule(set, ref);
            struct scan_corr_feed *f = &eng->corr_feeds[eng->corr_feed_start[base] + fill[base]++];
            f->corr = (uint32_t)c;
            f->base_pos = (uint32_t)i;
        }
    }
    free(fill);
    return LSF_OK;
}

void scan_corr_cleanup(struct scan_engine *eng)
{
    free(eng->corr_feed_start);
    free(eng->corr_feeds);
    free(eng->rule_silent);
}

/* ---- workers: record base-rule matches ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Offset of a NUL-terminated copy of s in the worker's text arena, or UINT32_MAX. */
static uint32_t keep_text(struct scan_worker *w, const char *s)
{
    struct lsf_err e;
    size_t off = w->corr_text.len;

    lsf_err_clear(&e);
    if (off > UINT32_MAX - SCAN_CORR_KEY_MAX ||
            lsf_buf_append(&w->corr_text, (const unsigned char *)s, strlen(s) + 1, &e) != LSF_OK)
        return UINT32_MAX;
    return (uint32_t)off;
}

static uint32_t input_index(struct scan_worker *w)
{
    if (w->n_corr_inputs > 0 &&
            strcmp(w->corr_inputs[w->n_corr_inputs - 1], w->input_name) == 0)
        return (uint32_t)(w->n_corr_inputs - 1);
    if (w->n_corr_inputs == w->cap_corr_inputs) {
        size_t cap = w->cap_corr_inputs ? w->cap_corr_inputs * 2 : 16;
        char **grown = realloc(w->corr_inputs, cap * sizeof(*grown));
        if (grown == NULL)
            return UINT32_MAX;
        w->corr_inputs = grown;
        w->cap_corr_inputs = cap;
    }
    w->corr_inputs[w->n_corr_inputs] = strdup(w->input_name);
    if (w->corr_inputs[w->n_corr_inputs] == NULL)
        return UINT32_MAX;
    return (uint32_t)w->n_corr_inputs++;
}

void scan_corr_record(struct scan_worker *w, size_t rule_idx, const struct frame_event *ev,
        struct pat_sigma_event *sev)
{
    const struct scan_engine *eng = w->eng;
    const unsigned char *bytes = w->window.data + ev->off;
    int64_t ts = ev->ts_ms;
    size_t per_worker = SCAN_CORR_MAX_RECORDS / (w->run_n_workers ? w->run_n_workers : 1);

    if (ts == FRAME_TS_UNKNOWN)
        ts = frame_event_time(w->format, bytes, ev->len, wall_ms());
    for (uint32_t k = eng->corr_feed_start[rule_idx]; k < eng->corr_feed_start[rule_idx + 1];
            k++) {
        const struct scan_corr_feed *feed = &eng->corr_feeds[k];
        const struct pat_rule *cr = pat_set_rule(eng->set, feed->corr);
        char key[SCAN_CORR_KEY_MAX], val[SCAN_CORR_VAL_MAX];
        struct scan_corr_rec *rec;

        if (ts == FRAME_TS_UNKNOWN) {
            w->n_corr_no_time++;
            continue;
        }
        if (w->n_corr_recs >= per_worker) {
            w->n_corr_dropped++;
            continue;
        }
        pat_sigma_corr_keys(cr->sigma, sev, key, sizeof(key), val, sizeof(val));
        if (pat_sigma_corr_type(cr->sigma) == PAT_CORR_VALUE_COUNT && val[0] == '\0')
            continue; /* no value to count */
        if (w->n_corr_recs == w->cap_corr_recs) {
            size_t cap = w->cap_corr_recs ? w->cap_corr_recs * 2 : 256;
            struct scan_corr_rec *grown = realloc(w->corr_recs, cap * sizeof(*grown));
            if (grown == NULL) {
                w->n_corr_dropped++;
                continue;
            }
            w->corr_recs = grown;
            w->cap_corr_recs = cap;
        }
        rec = &w->corr_recs[w->n_corr_recs];
        rec->corr = feed->corr;
        rec->base_pos = feed->base_pos;
        rec->key_off = keep_text(w, key);
        rec->val_off = keep_text(w, val);
        rec->input = input_index(w);
        if (rec->key_off == UINT32_MAX || rec->val_off == UINT32_MAX ||
                rec->input == UINT32_MAX) {
            w->n_corr_dropped++;
            continue;
        }
        rec->ts_ms = ts;
        rec->format = (uint8_t)w->format;
        rec->offset = ev->src_off;
        rec->ordinal = ev->ordinal;
        w->n_corr_recs++;
    }
}

/* ---- end of run: sort and sweep ---- */

struct corr_ref {
    const struct scan_corr_rec *rec;
    const char *key;
    const char *val;
    const char *input;
};

static int cmp_ref(const void *a, const void *b)
{
    const struct corr_ref *x = a, *y = b;
    int c;

    if (x->rec->corr != y->rec->corr)
        return x->rec->corr < y->rec->corr ? -1 : 1;
    if ((c = strcmp(x->key, y->key)) != 0)
        return c;
    if (x->rec->ts_ms != y->rec->ts_ms)
        return x->rec->ts_ms < y->rec->ts_ms ? -1 : 1;
    /* Same second: base rules in their listed order, so temporal_ordered accepts events
     * the log stamped with one time (CloudTrail has second resolution). */
    if (x->rec->base_pos != y->rec->base_pos)
        return x->rec->base_pos < y->rec->base_pos ? -1 : 1;
    if ((c = strcmp(x->input, y->input)) != 0)
        return c;
    return (x->rec->offset > y->rec->offset) - (x->rec->offset < y->rec->offset);
}

/* JSON string body of s (quotes and backslashes escaped, controls dropped). */
static void json_text(char *out, size_t cap, const char *s)
{
    size_t k = 0;

    for (; *s && k + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[k++] = '\\';
        if ((unsigned char)*s >= 0x20)
            out[k++] = *s;
    }
    out[k] = '\0';
}

static void iso_time(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    size_t n;

    gmtime_r(&t, &tm);
    n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)((ms % 1000 + 1000) % 1000));
}

struct sweep {
    const struct scan_engine *run_eng;
    const struct pat_geoip *geoip; /* --geoip, or NULL */
    struct scan_sink *sink;
    struct scan_stats *stats;
    struct lsf_buf out;
};

static const char *const corr_type_names[] = {"none", "event_count", "value_count", "temporal",
        "temporal_ordered"};

/*
 * --geoip: a group keyed by a source address (group-by sourceIPAddress or rhost) gets that
 * address's GeoIP data, as the findings of single events do. key is "f1=v1, f2=v2".
 */
static bool group_geo(const struct sweep *sw, const char *key, struct lsf_geo *out)
{
    static const char *const names[] = {"sourceIPAddress=", "rhost="};

    if (sw->geoip == NULL)
        return false;
    for (const char *p = key; p != NULL && *p != '\0';) {
        const char *next = strstr(p, ", ");
        size_t len = next ? (size_t)(next - p) : strlen(p);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            size_t k = strlen(names[i]);
            if (len > k && strncmp(p, names[i], k) == 0 &&
                    pat_geoip_lookup(sw->geoip, p + k, len - k, out))
                return true;
        }
        p = next ? next + 2 : NULL;
    }
    return false;
}

static enum lsf_code fire(struct sweep *sw, const struct corr_ref *first,
        const struct corr_ref *last, uint64_t count, struct lsf_err *err)
{
    const struct pat_rule *rule = pat_set_rule(sw->run_eng->set, last->rec->corr);
    char group[2 * SCAN_CORR_KEY_MAX], t0[40], t1[40];
    char event[4 * SCAN_CORR_KEY_MAX];
    char span_text[32];
    int64_t span;
    struct lsf_finding f;
    struct lsf_geo geo;
    int n;

    json_text(group, sizeof(group), last->key);
    iso_time(t0, sizeof(t0), first->rec->ts_ms);
    iso_time(t1, sizeof(t1), last->rec->ts_ms);
    span = pat_sigma_corr_timespan_ms(rule->sigma);
    if (span == PAT_CORR_WHOLE_RUN)
        snprintf(span_text, sizeof(span_text), "null"); /* the whole run */
    else
        snprintf(span_text, sizeof(span_text), "%lld", (long long)span);
    n = snprintf(event, sizeof(event),
            "{\"correlation\":\"%s\",\"group\":\"%s\",\"count\":%llu,\"first\":\"%s\","
            "\"last\":\"%s\",\"timespan_ms\":%s}",
            corr_type_names[pat_sigma_corr_type(rule->sigma)], group,
            (unsigned long long)count, t0, t1, span_text);
    memset(&f, 0, sizeof(f));
    f.rule_id = rule->id;
    f.title = rule->title;
    f.severity = pat_severity_name(rule->severity);
    f.source = last->input;
    f.format = frame_format_name((enum frame_format)last->rec->format);
    f.offset = last->rec->offset;
    f.ordinal = last->rec->ordinal;
    f.ts_ms = last->rec->ts_ms;
    f.event = (const unsigned char *)event;
    f.event_len = n > 0 && (size_t)n < sizeof(event) ? (size_t)n : strlen(event);
    f.geo = group_geo(sw, last->key, &geo) ? &geo : NULL;
    sw->out.len = 0;
    if (sw->sink->format(sw->sink->self, &f, &sw->out, err) != LSF_OK)
        return err->code;
    sw->stats->n_findings++;
    sw->stats->n_events_with_findings++;
    sw->stats->rule_findings[last->rec->corr]++;
    return sw->sink->write(sw->sink->self, sw->out.data, sw->out.len, err);
}

/* One group's entries g[0..n), in time order. */
static enum lsf_code sweep_group(struct sweep *sw, const struct corr_ref *g, size_t n,
        struct lsf_err *err)
{
    const struct pat_rule *rule = pat_set_rule(sw->run_eng->set, g[0].rec->corr);
    const enum pat_sigma_corr_type type = pat_sigma_corr_type(rule->sigma);
    const int64_t span = pat_sigma_corr_timespan_ms(rule->sigma);
    const uint64_t need = pat_sigma_corr_threshold(rule->sigma);
    const size_t n_refs = pat_sigma_corr_n_refs(rule->sigma);
    size_t i = 0;
    enum lsf_code rc = LSF_OK;

    if (type == PAT_CORR_TEMPORAL_ORDERED) {
        /* From each first-rule event, the earliest chain through the others in order. */
        for (size_t s = 0; s < n && rc == LSF_OK; s++) {
            size_t at = s, pos = 1;
            if (g[s].rec->base_pos != 0)
                continue;
            for (size_t j = s + 1; j < n && pos < n_refs; j++) {
                if (g[j].rec->ts_ms - g[s].rec->ts_ms > span)
                    break;
                if (g[j].rec->base_pos == pos) {
                    at = j;
                    pos++;
                }
            }
            if (pos == n_refs) {
                rc = fire(sw, &g[s], &g[at], n_refs, err);
                s = at; /* the next chain starts after this one */
            }
        }
        return rc;
    }
    for (size_t j = 0; j < n && rc == LSF_OK; j++) {
        uint64_t have = 0;

        while (g[j].rec->ts_ms - g[i].rec->ts_ms > span)
            i++;
        if (type == PAT_CORR_EVENT_COUNT) {
            have = j - i + 1;
        } else if (type == PAT_CORR_TEMPORAL) {
            uint32_t seen = 0;
            for (size_t k = i; k <= j; k++)
                seen |= 1u << g[k].rec->base_pos;
            have = (uint64_t)__builtin_popcount(seen);
        } else {
            /* value_count: distinct values in the window (windows are small; keep it plain) */
            for (size_t k = i; k <= j; k++) {
                bool is_new = true;
                for (size_t m = i; m < k && is_new; m++)
                    is_new = strcmp(g[m].val, g[k].val) != 0;
                have += is_new;
                if (have >= need)
                    break;
            }
        }
        if (have >= need) {
            rc = fire(sw, &g[i], &g[j], have, err);
            i = j + 1;
        }
    }
    return rc;
}

enum lsf_code scan_corr_finish(const struct scan_engine *eng, struct scan_worker *workers,
        unsigned n_workers, struct scan_sink *sink, struct lsf_err *err)
{
    struct corr_ref *refs;
    size_t n = 0;
    uint64_t dropped = 0, no_time = 0;
    struct sweep sw;
    enum lsf_code rc = LSF_OK;

    for (unsigned w = 0; w < n_workers; w++) {
        n += workers[w].n_corr_recs;
        dropped += workers[w].n_corr_dropped;
        no_time += workers[w].n_corr_no_time;
    }
    if (dropped > 0 || no_time > 0) {
        struct lsf_err perr;
        lsf_err_clear(&perr);
        if (dropped > 0)
            (void)lsf_fail(&perr, LSF_E_INPUT, "correlations: %llu base-rule matches were not "
                    "counted: the correlation state is full (%u matches per run); narrow the "
                    "base rules or scan fewer files per run",
                    (unsigned long long)dropped, (unsigned)SCAN_CORR_MAX_RECORDS);
        else
            (void)lsf_fail(&perr, LSF_E_INPUT, "correlations: %llu base-rule matches have no "
                    "timestamp logsift can read and were not counted",
                    (unsigned long long)no_time);
        sink->problem(sink->self, &perr);
        workers[0].stats.n_problems++;
    }
    if (n == 0)
        return LSF_OK;
    refs = malloc(n * sizeof(*refs));
    if (refs == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory sorting %zu correlation entries", n);
    n = 0;
    for (unsigned w = 0; w < n_workers; w++) {
        const char *text = (const char *)workers[w].corr_text.data;
        for (size_t i = 0; i < workers[w].n_corr_recs; i++) {
            const struct scan_corr_rec *r = &workers[w].corr_recs[i];
            refs[n].rec = r;
            refs[n].key = text + r->key_off;
            refs[n].val = text + r->val_off;
            refs[n].input = workers[w].corr_inputs[r->input];
            n++;
        }
    }
    qsort(refs, n, sizeof(*refs), cmp_ref);
    sw.run_eng = eng;
    sw.geoip = n_workers > 0 ? workers[0].geoip : NULL;
    sw.sink = sink;
    sw.stats = &workers[0].stats;
    lsf_buf_init(&sw.out, SIZE_MAX);
    for (size_t a = 0; a < n && rc == LSF_OK;) {
        size_t b = a + 1;
        while (b < n && refs[b].rec->corr == refs[a].rec->corr &&
                strcmp(refs[b].key, refs[a].key) == 0)
            b++;
        rc = sweep_group(&sw, refs + a, b - a, err);
        a = b;
    }
    lsf_buf_cleanup(&sw.out);
    free(refs);
    return rc;
}

void scan_corr_worker_cleanup(struct scan_worker *w)
{
    free(w->corr_recs);
    lsf_buf_cleanup(&w->corr_text);
    for (size_t i = 0; i < w->n_corr_inputs; i++)
        free(w->corr_inputs[i]);
    free(w->corr_inputs);
    w->corr_recs = NULL;
    w->corr_inputs = NULL;
    w->n_corr_recs = 0;
    w->n_corr_inputs = 0;
}
