/*
 * scan_match: the hot path. One hs_scan over a whole window of framed events (or one per event
 * with --per-event, kept to measure the difference), matches mapped back to events by their
 * end offset, then each event's distinct pattern hits evaluated against the rules that mention
 * them.
 *
 * Why block mode over whole windows: Hyperscan's per-call overhead dominates on 1 KB events,
 * and the framer has turned the bytes between events into '\n', so a pattern without DOTALL
 * cannot match across two events. A match is attributed to the event holding its last byte;
 * a match ending outside every event (a file envelope such as {"Records":[) is dropped.
 * Anchors and offset bounds refer to the scanned buffer, so a rule set that uses them is
 * scanned event by event instead (pat_set_needs_event_scan).
 *
 * Hyperscan reports matches in ascending end offset, so a cursor finds the event in O(1)
 * amortized; a binary search covers any report that comes out of order. Per window, a pattern
 * is recorded at most once per event (pattern_stamp), so a pattern that fires on every byte
 * of an event costs one hit, not thousands.
 *
 * Sigma rules: a rule's code is then only a prefilter (a necessary condition over literal
 * hits, pat_sigma.h); where it holds, the event is handed to the Sigma evaluator, which
 * parses it at most once however many rules ask. Rules that cannot be prefiltered are
 * confirmed on every event of their formats, as every Sigma rule is in confirm-only mode
 * (the differential test's reference).
 */
#include "scan_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Index of the event containing window offset pos, or n if none. */
static size_t find_event(const struct frame_batch *batch, size_t from, size_t pos)
{
    const struct frame_event *ev = batch->ev;
    size_t lo = 0;
    size_t hi = batch->n;

    /* Common case: at or just after the cursor. */
    if (from < batch->n && ev[from].off <= pos) {
        while (from < batch->n && pos >= ev[from].off + ev[from].len)
            from++;
        if (from < batch->n && pos >= ev[from].off)
            return from;
        return batch->n;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pos >= ev[mid].off + ev[mid].len)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < batch->n && pos >= ev[lo].off)
        return lo;
    return batch->n;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
        unsigned int flags, void *ctx)
{
    struct scan_worker *w = ctx;
    size_t last = w->scan_base + (to > 0 ? (size_t)to - 1 : 0);
    size_t event;
    uint64_t stamp;

    (void)from;
    (void)flags;
    event = find_event(&w->batch, w->cursor, last);
    if (event == w->batch.n)
        return 0;
    if (event < w->cursor)
        w->hits_unordered = true;
    w->cursor = event;
    stamp = (w->generation << 32) | (uint64_t)(event + 1);
    if (w->pattern_stamp[id] == stamp)
        return 0;
    w->pattern_stamp[id] = stamp;
    if (w->n_hits == w->cap_hits) {
        size_t cap = w->cap_hits ? w->cap_hits * 2 : 1024;
        struct scan_hit *grown = realloc(w->hits, cap * sizeof(*grown));
        if (grown == NULL) {
            w->rc = lsf_fail(&w->err, LSF_E_NOMEM, "out of memory recording matches");
            return 1; /* stops the scan */
        }
        w->hits = grown;
        w->cap_hits = cap;
    }
    w->hits[w->n_hits].event = (uint32_t)event;
    w->hits[w->n_hits].pattern = id;
    w->n_hits++;
    return 0;
}

static int cmp_hits(const void *a, const void *b)
{
    const struct scan_hit *x = a;
    const struct scan_hit *y = b;

    if (x->event != y->event)
        return x->event < y->event ? -1 : 1;
    return (x->pattern > y->pattern) - (x->pattern < y->pattern);
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a;
    unsigned y = *(const unsigned *)b;

    return (x > y) - (x < y);
}

static enum lsf_code hs_failed(hs_error_t hrc, struct lsf_err *err)
{
    return lsf_fail(err, LSF_E_INTERNAL,
            "Hyperscan scan failed with error %d; please report this as a bug", (int)hrc);
}

static enum lsf_code collect_hits(struct scan_worker *w, const struct scan_config *cfg,
        struct lsf_err *err)
{
    const hs_database_t *db = pat_db_hs(w->eng->db);
    const struct frame_batch *batch = &w->batch;
    const char *base = (const char *)w->window.data;
    hs_error_t hrc;

    w->n_hits = 0;
    w->hits_unordered = false;
    w->cursor = 0;
    w->generation++;
    if (batch->n == 0)
        return LSF_OK;
    if (cfg->per_event || w->eng->needs_per_event) {
        for (size_t i = 0; i < batch->n; i++) {
            w->scan_base = batch->ev[i].off;
            w->cursor = i;
            hrc = hs_scan(db, base + batch->ev[i].off, (unsigned)batch->ev[i].len, 0,
                    w->scratch, on_match, w);
            if (hrc != HS_SUCCESS && hrc != HS_SCAN_TERMINATED)
                return hs_failed(hrc, err);
        }
    } else {
        const struct frame_event *first = &batch->ev[0];
        const struct frame_event *last = &batch->ev[batch->n - 1];
        size_t end = last->off + last->len;

        /* Windows are bounded by chunk + max event size, far below hs_scan's 4 GiB limit. */
        w->scan_base = first->off;
        hrc = hs_scan(db, base + first->off, (unsigned)(end - first->off), 0, w->scratch,
                on_match, w);
        if (hrc != HS_SUCCESS && hrc != HS_SCAN_TERMINATED)
            return hs_failed(hrc, err);
    }
    if (w->rc != LSF_OK)
        return lsf_fail(err, w->rc, "%s", w->err.msg);
    if (w->hits_unordered)
        qsort(w->hits, w->n_hits, sizeof(*w->hits), cmp_hits);
    return LSF_OK;
}

/* Read once per window: a clock read per event costs more than its year inference needs. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum lsf_code grow_sorted(struct scan_worker *w, struct lsf_err *err)
{
    size_t cap = w->cap_sorted ? w->cap_sorted * 2 : 256;
    struct scan_sorted *grown;

    grown = realloc(w->sorted, cap * sizeof(*grown));
    if (grown == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory keeping findings for --sort");
    w->sorted = grown;
    w->cap_sorted = cap;
    return LSF_OK;
}

static struct pat_sigma_event *sigma_current(struct scan_worker *w,
        const struct frame_event *ev);

static enum lsf_code emit_finding(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, size_t rule_idx, const struct frame_event *ev, size_t n_ids,
        struct lsf_err *err)
{
    const struct pat_rule *rule = pat_set_rule(w->eng->set, rule_idx);
    const unsigned char *bytes = w->window.data + ev->off;
    struct lsf_buf *dst = cfg->sort ? &w->sort_text : &w->out;
    size_t start = dst->len;
    struct lsf_finding f;
    enum lsf_code rc;

    f.rule_id = rule->id;
    f.title = rule->title;
    f.severity = pat_severity_name(rule->severity);
    f.source = w->input_name;
    f.format = frame_format_name(w->format);
    f.offset = ev->src_off;
    f.ordinal = ev->ordinal;
    f.ts_ms = ev->ts_ms != FRAME_TS_UNKNOWN
            ? ev->ts_ms
            : frame_event_time(w->format, bytes, ev->len, w->window_now_ms);
    f.pattern_ids = w->event_ids;
    f.n_pattern_ids = n_ids;
    f.event = bytes;
    f.event_len = ev->len;
    f.geo = cfg->geoip != NULL ? pat_sigma_event_geo(sigma_current(w, ev)) : NULL;
    rc = sink->format(sink->self, &f, dst, err);
    if (rc != LSF_OK)
        return rc;
    w->stats.n_findings++;
    w->stats.rule_findings[rule_idx]++;
    if (!cfg->sort)
        return LSF_OK;
    if (w->n_sorted == w->cap_sorted && (rc = grow_sorted(w, err)) != LSF_OK)
        return rc;
    w->sorted[w->n_sorted].input_idx = w->input_idx;
    w->sorted[w->n_sorted].offset = ev->src_off;
    w->sorted[w->n_sorted].rule = (uint32_t)rule_idx;
    w->sorted[w->n_sorted].text_off = start;
    w->sorted[w->n_sorted].text_len = dst->len - start;
    w->n_sorted++;
    return LSF_OK;
}

/* The stamp marks which rules were already evaluated for the current event. */
static void next_stamp(struct scan_worker *w)
{
    if (++w->stamp == 0) {
        memset(w->rule_stamp, 0, w->eng->n_rules * sizeof(*w->rule_stamp));
        w->stamp = 1;
    }
}

/*
 * What the Sigma evaluator sees of an event: a JSON record or a text line, and where it starts.
 * A cwl-export event is "<ISO-8601 stamp> <message>": the message alone, a CloudTrail record
 * or a syslog line. Skipping bytes only narrows the text, so prefilter literals stay
 * necessary.
 */
static bool event_view(enum frame_format fmt, const unsigned char *bytes, size_t len,
        size_t *skip)
{
    size_t i = 0;

    *skip = 0;
    switch (fmt) {
    case FRAME_SYSLOG:
        return false;
    case FRAME_CWL_EXPORT:
        while (i < len && bytes[i] != ' ')
            i++;
        if (i < len)
            i++;
        *skip = i;
        return i < len && bytes[i] == '{';
    case FRAME_FIREHOSE: /* messages may be JSON records or plain lines */
        for (; i < len; i++) {
            if (bytes[i] != ' ' && bytes[i] != '\t')
                return bytes[i] == '{';
        }
        return false;
    default:
        return true;
    }
}

/* The Sigma context, pointed at this event (it is parsed on the first field lookup). */
static struct pat_sigma_event *sigma_current(struct scan_worker *w, const struct frame_event *ev)
{
    if (w->sigma_ev_stale) {
        const unsigned char *bytes = w->window.data + ev->off;
        size_t skip;
        bool is_json = event_view(w->format, bytes, ev->len, &skip);
        pat_sigma_event_reset(w->sigma_ev, bytes + skip, ev->len - skip, is_json);
        w->sigma_ev_stale = false;
    }
    return w->sigma_ev;
}

/* Confirm a Sigma rule on the event. */
static bool sigma_confirm(struct scan_worker *w, unsigned rule_idx,
        const struct frame_event *ev)
{
    const struct pat_rule *rule = pat_set_rule(w->eng->set, rule_idx);

    w->stats.rule_confirms[rule_idx]++;
    return pat_sigma_rule_match(rule->sigma, sigma_current(w, ev));
}

/* Evaluate rule_idx on the event unless done already; emit a finding when it fires. */
static enum lsf_code eval_rule(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, const struct frame_event *ev, size_t n_pat, unsigned rule_idx,
        bool use_prefilter, bool *fired, struct lsf_err *err)
{
    const struct pat_rule *rule = pat_set_rule(w->eng->set, rule_idx);

    if (w->rule_stamp[rule_idx] == w->stamp)
        return LSF_OK;
    w->rule_stamp[rule_idx] = w->stamp;
    if (!(w->eng->rule_formats[rule_idx] & (1u << w->format)))
        return LSF_OK;
    /* A Sigma rule is reached through its trigger set, which is all its prefilter now
     * (pat.h); other rules fire on their condition. */
    if (use_prefilter && rule->sigma == NULL && !pat_rule_eval(rule, w->event_patterns, n_pat))
        return LSF_OK;
    if (rule->sigma != NULL && !sigma_confirm(w, rule_idx, ev))
        return LSF_OK;
    if (w->eng->n_corr > 0) {
        if (w->eng->corr_feed_start[rule_idx] != w->eng->corr_feed_start[rule_idx + 1]) {
            enum lsf_code rc = scan_corr_record(w, rule_idx, ev, sigma_current(w, ev), err);
            if (rc != LSF_OK)
                return rc; /* the spill file could not be written */
        }
        if (w->eng->rule_silent[rule_idx])
            return LSF_OK; /* reports only through its correlations */
    }
    /* Most events with hits fire nothing (quiet helpers): name their patterns by file ID
     * only once one does. */
    if (!*fired) {
        for (size_t k = 0; k < n_pat; k++)
            w->event_ids[k] = pat_set_pattern(w->eng->set, w->event_patterns[k])->id;
        qsort(w->event_ids, n_pat, sizeof(*w->event_ids), cmp_unsigned);
    }
    *fired = true;
    return emit_finding(w, cfg, sink, rule_idx, ev, n_pat, err);
}

/* Rules confirmed on every event: the unprefiltered Sigma ones, or all Sigma rules in
 * confirm-only mode. */
static const unsigned *every_event_rules(const struct scan_worker *w,
        const struct scan_config *cfg, size_t *n)
{
    if (cfg->sigma_confirm_only) {
        *n = w->eng->n_sigma;
        return w->eng->sigma_rules;
    }
    *n = w->eng->n_unfiltered;
    return w->eng->unfiltered_rules;
}

/* Evaluate every rule that mentions one of the event's patterns, then the every-event ones. */
static enum lsf_code eval_event(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, const struct frame_event *ev, size_t n_pat, struct lsf_err *err)
{
    bool fired = false;
    size_t n_every;
    const unsigned *every = every_event_rules(w, cfg, &n_every);

    next_stamp(w);
    w->sigma_ev_stale = true;
    if (n_every > 0) {
        /* Marked first, so the loop below skips them (confirm-only mode ignores the
         * prefilter of every Sigma rule). */
        for (size_t r = 0; r < n_every; r++) {
            enum lsf_code rc = eval_rule(w, cfg, sink, ev, n_pat, every[r], false, &fired,
                    err);
            if (rc != LSF_OK)
                return rc;
        }
    }
    for (size_t i = 0; i < n_pat; i++) {
        size_t n_rules;
        const unsigned *rules = pat_set_rules_of_pattern(w->eng->set, w->event_patterns[i],
                &n_rules);
        for (size_t r = 0; r < n_rules; r++) {
            enum lsf_code rc = eval_rule(w, cfg, sink, ev, n_pat, rules[r], true, &fired, err);
            if (rc != LSF_OK)
                return rc;
        }
    }
    if (fired)
        w->stats.n_events_with_findings++;
    if (!w->sigma_ev_stale && pat_sigma_event_is_parsed(w->sigma_ev))
        w->stats.n_events_parsed++;
    return LSF_OK;
}

/*
 * The distinct patterns of event's hits, from w->hits[*i] on, into w->event_patterns
 * (ascending); *i moves past them. Hits are grouped by event, patterns ascending unless
 * w->hits_unordered. Returns how many.
 */
static inline size_t take_event_patterns(struct scan_worker *w, size_t *i, size_t event)
{
    size_t n_pat = 0;

    for (; *i < w->n_hits && w->hits[*i].event == event; (*i)++) {
        if (n_pat == 0 || w->event_patterns[n_pat - 1] != w->hits[*i].pattern)
            w->event_patterns[n_pat++] = w->hits[*i].pattern;
    }
    if (!w->hits_unordered)
        qsort(w->event_patterns, n_pat, sizeof(*w->event_patterns), cmp_unsigned);
    return n_pat;
}

/* Like the loop in scan_window, but visiting every event, with or without hits. */
static enum lsf_code scan_every_event(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, struct lsf_err *err)
{
    size_t i = 0;

    for (size_t event = 0; event < w->batch.n; event++) {
        size_t n_pat = take_event_patterns(w, &i, event);
        enum lsf_code rc;

        rc = eval_event(w, cfg, sink, &w->batch.ev[event], n_pat, err);
        if (rc != LSF_OK)
            return rc;
    }
    return LSF_OK;
}

enum lsf_code scan_window(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, struct lsf_err *err)
{
    enum lsf_code rc = collect_hits(w, cfg, err);
    size_t i = 0;

    if (rc != LSF_OK)
        return rc;
    w->window_now_ms = now_ms();
    {
        size_t n_every;
        (void)every_event_rules(w, cfg, &n_every);
        if (n_every > 0)
            return scan_every_event(w, cfg, sink, err);
    }
    while (i < w->n_hits) {
        uint32_t event = w->hits[i].event;
        size_t n_pat = take_event_patterns(w, &i, event);

        rc = eval_event(w, cfg, sink, &w->batch.ev[event], n_pat, err);
        if (rc != LSF_OK)
            return rc;
    }
    return LSF_OK;
}
