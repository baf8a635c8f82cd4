/*
 * scan_corr_sweep: the end of a run's correlations (scan_corr_finish, scan_corr.c): merge
 * the workers' entries, sweep each group with its window, fire, and chain the firings.
 *
 * Chained correlations (a correlation whose rules name correlations): correlations are swept
 * in levels, those over base rules first. Each firing of a correlation becomes an entry of
 * every correlation chained on it, at the time and position of the event that completed the
 * window, grouped by that event's fields; since the event is gone by then, a base-rule match
 * of a correlation others chain on keeps their group keys too (keep_up_keys, scan_corr.c),
 * unless they all group exactly as it does. The outer's group-by must be part of the inner's
 * (checked at load), so every entry of one inner group gives the same outer group.
 *
 * Memory: every worker's runs, what the workers still hold and the carried matches are
 * merged (a heap of run heads), level by level, and the sweep takes one group at a time:
 * entries held in memory are swept where they are, those read from disk are copied out of
 * the merge (the group slot), so memory is a little over twice the budget (held entries,
 * their 32-byte sort refs and the radix sort's copy of them, read buffers) plus the largest
 * group. The order is total on everything the sweep reads (input names compare by name,
 * which a worker knows before the end), so how the entries were cut into runs changes
 * nothing. With nothing spilled and no carry to hand on, the entries of temporal_ordered
 * groups with no entry of their first rule are left out before the sort (drop_unstartable):
 * they fire nothing. Only one group is capped: past SCAN_CORR_MAX_RECORDS entries in a run,
 * its newest are not counted and the run reports how many (never silently). Firings kept for
 * chained correlations stay in memory (the chain slot, with copies of their texts): at most
 * one per entry per correlation chained on, merged into their level's sweep as one more
 * sorted run. Matches carried from the previous run (scan_corr_carry.c) are at most
 * SCAN_CARRY_MAX_RECORDS more, in memory, each as large.
 *
 * After a window fires, counting restarts after the event that fired it; a count correlation
 * (event_count, value_count) then stays quiet for that group for one timespan, so a long
 * burst gives one finding per timespan, not one per threshold's worth of events (as
 * tests/accuracy/sigma_ref.py, the reference, defines it).
 */
#include "scan_corr_int.h"
#include "pat_geoip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A formatted finding waiting for its turn; its group key follows its text in texts. */
struct held_finding {
    uint32_t corr;
    uint32_t input_rank;
    size_t key_off;
    int64_t ts_ms;
    uint64_t offset;
    size_t text_off, text_len;
};

/* Offset of a copy of n bytes in w's text arena, or UINT32_MAX when out of room. */
static uint32_t keep_bytes(struct scan_worker *w, const void *p, size_t n)
{
    struct lsf_err e;
    size_t off = w->corr_text.len;

    lsf_err_clear(&e);
    if (n >= UINT32_MAX - off ||
            lsf_buf_append(&w->corr_text, (const unsigned char *)p, n, &e) != LSF_OK)
        return UINT32_MAX;
    return (uint32_t)off;
}

static int cmp_held(const void *a, const void *b)
{
    const struct held_finding *x = a, *y = b;
    const char *texts = (const char *)scan_corr_order->sw->texts.data;
    int c;

    if (x->corr != y->corr)
        return x->corr < y->corr ? -1 : 1;
    if ((c = strcmp(texts + x->key_off, texts + y->key_off)) != 0)
        return c;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    if (x->input_rank != y->input_rank)
        return x->input_rank < y->input_rank ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
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

/* Group key and counted value of correlation outer in r's ancestor keys (keep_up_keys). */
static bool up_keys(const struct sweep *sw, const struct corr_ref *r, uint32_t outer,
        uint32_t *key_off, uint32_t *val_off)
{
    const char *base = ref_text(sw, r, 0);
    const char *p;

    if (r->rec->up_off == UINT32_MAX) {
        /* corr_key_shared: the outer's key is this one; no value to count */
        *key_off = r->rec->key_off;
        *val_off = r->rec->key_off + (uint32_t)strlen(base + r->rec->key_off);
        return true;
    }
    for (p = base + r->rec->up_off; *p != '\0';) {
        const char *key = p + strlen(p) + 1;
        const char *val = key + strlen(key) + 1;
        if (strtoul(p, NULL, 10) == outer) {
            *key_off = (uint32_t)(key - base);
            *val_off = (uint32_t)(val - base);
            return true;
        }
        p = val + strlen(val) + 1;
    }
    return false;
}

/* The firing that ended at last becomes an event of each correlation chained on its rule:
 * same time and place, the outer's group key and value from last's ancestor keys. last's
 * texts go with the group, so the firing keeps copies (with the ancestor keys, for the
 * correlations chained on the outer). */
static enum lsf_code chain_firing(struct sweep *sw, uint32_t corr, const struct corr_ref *last,
        struct lsf_err *err)
{
    const struct scan_engine *eng = sw->run_eng;
    struct scan_worker *cw = sw->chain_w;

    for (uint32_t k = eng->corr_feed_start[corr]; k < eng->corr_feed_start[corr + 1]; k++) {
        const struct scan_corr_feed *feed = &eng->corr_feeds[k];
        const struct pat_rule *outer = pat_set_rule(eng->set, feed->corr);
        struct scan_corr_rec *rec;
        struct corr_ref *ref;
        uint32_t key_off, val_off;
        const char *key, *val;

        if (!up_keys(sw, last, feed->corr, &key_off, &val_off))
            return lsf_fail(err, LSF_E_INTERNAL, "correlation %s: no group key kept for "
                    "the correlation chained on it", pat_set_rule(eng->set, corr)->id);
        key = ref_text(sw, last, key_off);
        val = ref_text(sw, last, val_off);
        if (pat_sigma_corr_type(outer->sigma) == PAT_CORR_VALUE_COUNT && val[0] == '\0')
            continue; /* no value to count */
        if (sw->blocks == NULL || sw->blocks->n == CHAIN_BLOCK) {
            struct chain_block *b = malloc(sizeof(*b));
            if (b == NULL)
                return lsf_fail(err, LSF_E_NOMEM, "out of memory chaining correlations");
            b->next = sw->blocks;
            b->n = 0;
            sw->blocks = b;
        }
        if (sw->n_chained == sw->cap_chained) {
            struct corr_ref *grown = lsf_array_grow(sw->chained, &sw->cap_chained,
                    sizeof(*grown), 64);
            if (grown == NULL)
                return lsf_fail(err, LSF_E_NOMEM, "out of memory chaining correlations");
            sw->chained = grown;
        }
        rec = &sw->blocks->recs[sw->blocks->n];
        *rec = *last->rec;
        rec->corr = feed->corr;
        rec->base_pos = (uint16_t)feed->base_pos;
        rec->input = ref_rank(sw, last);
        rec->key_off = keep_bytes(cw, key, strlen(key) + 1);
        rec->val_off = keep_bytes(cw, val, strlen(val) + 1);
        if (last->rec->up_off != UINT32_MAX) {
            const char *up = ref_text(sw, last, last->rec->up_off);
            rec->up_off = keep_bytes(cw, up, up_blob_len(up));
            if (rec->up_off == UINT32_MAX)
                rec->key_off = UINT32_MAX;
        }
        if (rec->key_off == UINT32_MAX || rec->val_off == UINT32_MAX)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory chaining correlations");
        sw->blocks->n++;
        ref = &sw->chained[sw->n_chained++];
        ref->rec = rec;
        ref->key_hash = hash_text(key);
        rec->key_hash = ref->key_hash;
        ref->ts_ms = last->ts_ms;
        ref->level_corr = eng->corr_level[feed->corr] << CORR_BITS | feed->corr;
        ref->base_pos = rec->base_pos;
        ref->worker = (uint16_t)SLOT_CHAIN(sw);
    }
    return LSF_OK;
}

static enum lsf_code hold(struct sweep *sw, uint32_t corr, const struct corr_ref *last,
        struct lsf_err *err)
{
    const char *key = ref_key(sw, last);
    struct held_finding *h;

    if (sw->n_held == sw->cap_held) {
        struct held_finding *grown = lsf_array_grow(sw->held, &sw->cap_held, sizeof(*grown), 64);
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory keeping correlation findings");
        sw->held = grown;
    }
    h = &sw->held[sw->n_held];
    h->corr = corr;
    h->input_rank = ref_rank(sw, last);
    h->ts_ms = last->ts_ms;
    h->offset = last->rec->offset;
    h->text_off = sw->texts.len;
    h->text_len = sw->out.len;
    h->key_off = h->text_off + h->text_len;
    if (lsf_buf_append(&sw->texts, sw->out.data, sw->out.len, err) != LSF_OK ||
            lsf_buf_append(&sw->texts, key, strlen(key) + 1, err) != LSF_OK)
        return err->code;
    sw->n_held++;
    return LSF_OK;
}

/* Correlation corr (last's or a twin of it) fired over first .. last. */
static enum lsf_code fire_one(struct sweep *sw, uint32_t corr, const struct corr_ref *first,
        const struct corr_ref *last, uint64_t count, struct lsf_err *err)
{
    const struct pat_rule *rule = pat_set_rule(sw->run_eng->set, corr);
    char group[2 * SCAN_CORR_KEY_MAX], t0[40], t1[40];
    char event[4 * SCAN_CORR_KEY_MAX];
    char span_text[32];
    int64_t span;
    struct lsf_finding f;
    struct lsf_geo geo;
    int n;

    if (pat_rule_is_correlation(rule)) {
        enum lsf_code rc = chain_firing(sw, corr, last, err);
        /* rule_silent: chained on by correlations that all say generate: false */
        if (rc != LSF_OK || sw->run_eng->rule_silent[corr])
            return rc;
    }
    json_text(group, sizeof(group), ref_key(sw, last));
    iso_time(t0, sizeof(t0), first->ts_ms);
    iso_time(t1, sizeof(t1), last->ts_ms);
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
    f.source = ref_input(sw, last);
    f.format = frame_format_name((enum frame_format)last->rec->format);
    f.offset = last->rec->offset;
    f.ordinal = last->rec->ordinal;
    f.ts_ms = last->ts_ms;
    f.event = (const unsigned char *)event;
    f.event_len = n > 0 && (size_t)n < sizeof(event) ? (size_t)n : strlen(event);
    f.geo = group_geo(sw, ref_key(sw, last), &geo) ? &geo : NULL;
    sw->out.len = 0;
    if (sw->sink->format(sw->sink->self, &f, &sw->out, err) != LSF_OK)
        return err->code;
    sw->stats->n_findings++;
    sw->stats->n_events_with_findings++;
    sw->stats->rule_findings[corr]++;
    return hold(sw, corr, last, err);
}

static enum lsf_code fire(struct sweep *sw, const struct corr_ref *first,
        const struct corr_ref *last, uint64_t count, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    for (uint32_t t = last->rec->corr; t != UINT32_MAX && rc == LSF_OK;
            t = sw->run_eng->corr_twin_next[t])
        rc = fire_one(sw, t, first, last, count, err);
    return rc;
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
    int64_t quiet_until = INT64_MIN;
    size_t i = 0;
    enum lsf_code rc = LSF_OK;

    if (sw->n_cgroups > 0) {
        struct carried_group *c = scan_corr_carried_find(sw, g[0].rec->corr, ref_key(sw, &g[0]));
        if (c != NULL) {
            c->is_seen = true;
            quiet_until = c->quiet_until_ms;
        }
    }
    if (type == PAT_CORR_TEMPORAL_ORDERED) {
        size_t from = 0;
        /* From each first-rule event, the earliest chain through the others in order. */
        for (size_t s = 0; s < n && rc == LSF_OK; s++) {
            size_t at = s, pos = 1;
            if (g[s].base_pos != 0)
                continue;
            for (size_t j = s + 1; j < n && pos < n_refs; j++) {
                if (g[j].ts_ms - g[s].ts_ms > span)
                    break;
                if (g[j].base_pos == pos) {
                    at = j;
                    pos++;
                }
            }
            if (pos == n_refs) {
                rc = fire(sw, &g[s], &g[at], n_refs, err);
                s = at; /* the next chain starts after this one */
                from = at + 1;
            }
        }
        if (rc == LSF_OK)
            rc = scan_corr_carry_rest(sw, g, n, from, span, INT64_MIN, err);
        return rc;
    }
    for (size_t j = 0; j < n && rc == LSF_OK; j++) {
        uint64_t have = 0;

        if (g[j].ts_ms < quiet_until)
            continue; /* still counted once quiet ends: i stays where it was */
        while (g[j].ts_ms - g[i].ts_ms > span)
            i++;
        if (type == PAT_CORR_EVENT_COUNT) {
            have = j - i + 1;
        } else if (type == PAT_CORR_TEMPORAL) {
            uint32_t seen = 0;
            for (size_t k = i; k <= j; k++)
                seen |= 1u << g[k].base_pos;
            have = (uint64_t)__builtin_popcount(seen);
        } else {
            /* value_count: distinct values in the window (windows are small; keep it plain) */
            for (size_t k = i; k <= j; k++) {
                const char *vk = ref_text(sw, &g[k], g[k].rec->val_off);
                bool is_new = true;
                for (size_t m = i; m < k && is_new; m++)
                    is_new = !(g[m].worker == g[k].worker &&
                                     g[m].rec->val_off == g[k].rec->val_off) &&
                            strcmp(ref_text(sw, &g[m], g[m].rec->val_off), vk) != 0;
                have += is_new;
                if (have >= need)
                    break;
            }
        }
        if (have >= need) {
            rc = fire(sw, &g[i], &g[j], have, err);
            i = j + 1;
            if (type != PAT_CORR_TEMPORAL)
                /* one count finding per burst (a whole-run count: quiet to the end) */
                quiet_until = span > INT64_MAX - g[j].ts_ms ? INT64_MAX : g[j].ts_ms + span;
        }
    }
    if (rc == LSF_OK)
        rc = scan_corr_carry_rest(sw, g, n, i, span, quiet_until, err);
    return rc;
}

/* The entries of one (level, correlation, key hash), in order: one group, or (two keys with
 * one hash) several, in key order. */
static enum lsf_code sweep_run(struct sweep *sw, const struct corr_ref *run, size_t n,
        struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    for (size_t a = 0; a < n && rc == LSF_OK;) {
        const char *key = ref_key(sw, &run[a]);
        size_t b = a + 1;
        while (b < n && ((run[b].worker == run[a].worker &&
                run[b].rec->key_off == run[a].rec->key_off) ||
                strcmp(ref_key(sw, &run[b]), key) == 0))
            b++;
        rc = sweep_group(sw, run + a, b - a, err);
        a = b;
    }
    return rc;
}

/*
 * Add a merged entry to the group being gathered. An entry a slot holds in memory (mem, the
 * ref it came from) is swept where it is; one read from disk, or a firing kept for chained
 * correlations (chain_firing copies from what it sweeps into the chain slot), is copied into
 * the group slot (its input becomes its rank) and its ref is pointed at the copy in
 * group_sweep (the copies may move until then).
 */
static enum lsf_code group_add(struct sweep *sw, const struct scan_spill_ent *e,
        const struct corr_ref *mem, struct lsf_err *err)
{
    struct scan_worker *gw = sw->group_w;
    size_t n = gw->n_corr_recs;
    struct scan_corr_rec *rec;

    if (sw->n_group_refs >= SCAN_CORR_MAX_RECORDS) {
        if (sw->n_group_dropped++ == 0) {
            sw->dropped_corr = e->level_corr & ((1u << CORR_BITS) - 1);
            snprintf(sw->dropped_key, sizeof(sw->dropped_key), "%s", e->key);
        }
        return LSF_OK;
    }
    if (sw->n_group_refs == sw->cap_group_refs) {
        struct corr_ref *grown = lsf_array_grow(sw->group_refs, &sw->cap_group_refs,
                sizeof(*grown), 256);
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory sweeping a correlation group "
                    "of %zu entries", sw->n_group_refs);
        sw->group_refs = grown;
    }
    if (mem != NULL) {
        sw->group_refs[sw->n_group_refs++] = *mem;
        return LSF_OK;
    }
    sw->group_refs[sw->n_group_refs++] = (struct corr_ref){NULL, e->key_hash, e->ts_ms,
            e->level_corr, e->base_pos, (uint16_t)SLOT_GROUP(sw)};
    if (n == gw->cap_corr_recs) {
        struct scan_corr_rec *grown = lsf_array_grow(gw->corr_recs, &gw->cap_corr_recs,
                sizeof(*grown), 256);
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory sweeping a correlation group "
                    "of %zu entries", n);
        gw->corr_recs = grown;
    }
    rec = &gw->corr_recs[n];
    /* one key for the whole group, mostly */
    if (n > 0 && strcmp((const char *)gw->corr_text.data + gw->corr_recs[n - 1].key_off,
            e->key) == 0)
        rec->key_off = gw->corr_recs[n - 1].key_off;
    else
        rec->key_off = keep_bytes(gw, e->key, strlen(e->key) + 1);
    rec->val_off = keep_bytes(gw, e->val, strlen(e->val) + 1);
    rec->up_off = e->up != NULL ? keep_bytes(gw, e->up, e->up_len) : UINT32_MAX;
    if (rec->key_off == UINT32_MAX || rec->val_off == UINT32_MAX ||
            (e->up != NULL && rec->up_off == UINT32_MAX))
        return lsf_fail(err, LSF_E_NOMEM, "out of memory sweeping a correlation group of %zu "
                "entries", n);
    rec->corr = e->level_corr & ((1u << CORR_BITS) - 1);
    rec->base_pos = e->base_pos;
    rec->key_hash = e->key_hash;
    rec->input = e->rank;
    rec->format = e->format;
    rec->ts_ms = e->ts_ms;
    rec->offset = e->offset;
    rec->ordinal = e->ordinal;
    gw->n_corr_recs++;
    return LSF_OK;
}

/* Sweep the gathered group's entries (group_add), then empty it. */
static enum lsf_code group_sweep(struct sweep *sw, struct lsf_err *err)
{
    struct scan_worker *gw = sw->group_w;
    enum lsf_code rc;

    for (size_t i = 0, k = 0; i < sw->n_group_refs; i++) {
        if (sw->group_refs[i].worker == SLOT_GROUP(sw))
            sw->group_refs[i].rec = &gw->corr_recs[k++]; /* copied in this order */
    }
    rc = sweep_run(sw, sw->group_refs, sw->n_group_refs, err);
    sw->n_group_refs = 0;
    gw->n_corr_recs = 0;
    gw->corr_text.len = 0;
    return rc;
}

/* Is r swept where it is (group_add)? */
static bool is_swept_in_place(const struct sweep *sw, const struct corr_ref *r)
{
    return r->worker != SLOT_CHAIN(sw);
}

/* One sorted run to merge: a worker's run on disk, or sorted refs in memory. */
struct merge_src {
    struct scan_spill_ent head;
    unsigned slot;
    struct scan_spill_reader *rd;
    struct corr_ref *refs;
    size_t n, i;
    bool owns_refs;
};

/* The sorted runs, with a heap of those not yet exhausted by their heads. */
struct merge {
    struct merge_src *srcs;
    size_t n_srcs, cap_srcs;
    struct merge_src **heap;
    size_t n_heap;
};

static enum lsf_code src_next(struct sweep *sw, struct merge_src *s, bool *has,
        struct lsf_err *err)
{
    if (s->rd != NULL) {
        enum lsf_code rc = scan_spill_read(s->rd, &s->head, has, err);
        if (rc == LSF_OK && *has)
            s->head.rank = sw->ranks->rank[s->slot][s->head.input];
        return rc;
    }
    *has = s->i < s->n;
    if (*has) {
        const struct corr_ref *r = &s->refs[s->i++];
        scan_corr_ent_of_ref(&sw->octx, r, &s->head, !is_swept_in_place(sw, r));
    }
    return LSF_OK;
}

/* The order (corr_ref) of two merged heads: here with the merge, its only caller. */
static int cmp_ent(const struct scan_engine *eng, const struct scan_spill_ent *x,
        const struct scan_spill_ent *y)
{
    int c;

    if (x->level_corr != y->level_corr)
        return x->level_corr < y->level_corr ? -1 : 1;
    if (x->key_hash != y->key_hash)
        return x->key_hash < y->key_hash ? -1 : 1;
    if ((c = strcmp(x->key, y->key)) != 0) /* two keys with one hash */
        return c;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return cmp_same_time(eng, x->level_corr, x->base_pos, y->base_pos, x->rank, y->rank,
            x->offset, y->offset);
}

static bool src_less(const struct sweep *sw, const struct merge_src *a,
        const struct merge_src *b)
{
    return cmp_ent(sw->run_eng, &a->head, &b->head) < 0;
}

static void heap_down(const struct sweep *sw, struct merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        struct merge_src *t;
        if (l < m->n_heap && src_less(sw, m->heap[l], m->heap[best]))
            best = l;
        if (l + 1 < m->n_heap && src_less(sw, m->heap[l + 1], m->heap[best]))
            best = l + 1;
        if (best == i)
            return;
        t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* Read the first entry of m->srcs[n_srcs - 1] and put it in the heap (unless empty). */
static enum lsf_code heap_push(struct sweep *sw, struct merge *m, struct lsf_err *err)
{
    struct merge_src *s = &m->srcs[m->n_srcs - 1];
    bool has;
    enum lsf_code rc = src_next(sw, s, &has, err);
    size_t i;

    if (rc != LSF_OK || !has)
        return rc;
    i = m->n_heap++;
    m->heap[i] = s;
    while (i > 0 && src_less(sw, m->heap[i], m->heap[(i - 1) / 2])) {
        struct merge_src *t = m->heap[i];
        m->heap[i] = m->heap[(i - 1) / 2];
        m->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return LSF_OK;
}

static enum lsf_code heap_advance(struct sweep *sw, struct merge *m, struct lsf_err *err)
{
    bool has;
    enum lsf_code rc = src_next(sw, m->heap[0], &has, err);

    if (rc != LSF_OK)
        return rc;
    if (!has)
        m->heap[0] = m->heap[--m->n_heap];
    heap_down(sw, m, 0);
    return LSF_OK;
}

/* A new in-memory source over refs[0..n) (taken when owns), sorted here. */
static enum lsf_code add_memory_src(struct sweep *sw, struct merge *m, struct corr_ref *refs,
        size_t n, bool owns, struct lsf_err *err)
{
    struct merge_src *s = &m->srcs[m->n_srcs++];

    s->refs = refs;
    s->n = n;
    s->owns_refs = owns;
    scan_corr_order = &sw->octx;
    scan_corr_sort_refs(refs, n);
    return heap_push(sw, m, err);
}

/* The refs over what one slot holds in memory, level by level: level L's are
 * refs[at[L - 1] .. at[L]). */
struct held_refs {
    struct corr_ref *refs;
    size_t *at;
};

/* h's refs over the entries slot w holds in memory, in record order inside each level.
 * False when out of memory. */
static bool slot_refs(const struct sweep *sw, const struct scan_worker *w, unsigned slot,
        struct held_refs *h)
{
    const struct scan_engine *eng = sw->run_eng;
    size_t n = w->n_corr_recs;

    h->refs = malloc((n ? n : 1) * sizeof(*h->refs));
    h->at = calloc((size_t)eng->n_corr_levels + 1, sizeof(*h->at));
    if (h->refs == NULL || h->at == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        h->at[eng->corr_level[w->corr_recs[i].corr]]++;
    for (size_t l = 1; l <= eng->n_corr_levels; l++) /* at[l]: where level l's go, for now */
        h->at[l] += h->at[l - 1];
    for (size_t l = eng->n_corr_levels; l > 0; l--)
        h->at[l] = h->at[l - 1];
    h->at[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct scan_corr_rec *r = &w->corr_recs[i];
        h->refs[h->at[eng->corr_level[r->corr]]++] = (struct corr_ref){r, r->key_hash,
                r->ts_ms, eng->corr_level[r->corr] << CORR_BITS | r->corr, r->base_pos,
                (uint16_t)slot};
    }
    return true;
}

/* Is the heap's top a source in memory whose head's group no other source has? (The next
 * smallest head is one of the top's children.) */
static bool is_only_src(const struct sweep *sw, const struct merge *m)
{
    const struct scan_spill_ent *h = &m->heap[0]->head;

    if (m->heap[0]->rd != NULL || !is_swept_in_place(sw, &m->heap[0]->refs[m->heap[0]->i - 1]))
        return false;
    for (size_t c = 1; c <= 2 && c < m->n_heap; c++) {
        if (m->heap[c]->head.level_corr == h->level_corr &&
                m->heap[c]->head.key_hash == h->key_hash)
            return false;
    }
    return true;
}

/* The heap's top is a source in memory that alone has its head's group (is_only_src): the
 * group is swept where it is, taken whole. */
static enum lsf_code sweep_only_src(struct sweep *sw, struct merge *m, struct lsf_err *err)
{
    struct merge_src *s = m->heap[0];
    const struct corr_ref *first = &s->refs[s->i - 1];
    size_t a = s->i - 1, b = s->i, n_keep;
    enum lsf_code rc;

    while (b < s->n && s->refs[b].level_corr == first->level_corr &&
            s->refs[b].key_hash == first->key_hash)
        b++;
    n_keep = b - a;
    if (n_keep > SCAN_CORR_MAX_RECORDS) { /* as group_add counts them */
        const struct corr_ref *over = &s->refs[a + SCAN_CORR_MAX_RECORDS];
        if (sw->n_group_dropped == 0) {
            sw->dropped_corr = over->level_corr & ((1u << CORR_BITS) - 1);
            snprintf(sw->dropped_key, sizeof(sw->dropped_key), "%s", ref_key(sw, over));
        }
        sw->n_group_dropped += n_keep - SCAN_CORR_MAX_RECORDS;
        n_keep = SCAN_CORR_MAX_RECORDS;
    }
    rc = sweep_run(sw, first, n_keep, err);
    s->i = b;
    return rc == LSF_OK ? heap_advance(sw, m, err) : rc;
}

/* Refs of one level in one slot, or the chained firings of one level. */
struct ref_range {
    struct corr_ref *refs;
    size_t n;
};

/* drop_unstartable's set of (correlation, key hash) pairs, open addressing. */
static uint64_t start_slot_key(const struct corr_ref *r)
{
    return r->key_hash ^ ((uint64_t)r->level_corr * 0x9e3779b97f4a7c15ull);
}

static bool start_set_has(uint64_t *set, bool *used, size_t cap, const struct corr_ref *r,
        bool add)
{
    const uint64_t key = start_slot_key(r);
    size_t k = (size_t)(key ^ key >> 29) & (cap - 1);

    for (; used[k]; k = (k + 1) & (cap - 1)) {
        if (set[k] == key)
            return true;
    }
    if (add) {
        used[k] = true;
        set[k] = key;
    }
    return false;
}

static bool is_droppable(const struct sweep *sw, const struct corr_ref *r)
{
    return is_ordered(sw->run_eng, r->level_corr);
}

/*
 * A temporal_ordered group fires only from an entry of its first rule (sweep_group), so with
 * no carry to hand on (whose groups need every entry) the entries of its groups that have
 * none do nothing: most of the accepted logins under "brute force, then success", say. With
 * every entry of one level in held[0..n_held) (nothing spilled: each slot's and the chained
 * firings), leaves them out before the sort, keeping the order of the rest; a group is kept
 * when an entry of its first rule has its key hash (two keys may share one: the sweep tells
 * them apart). Out of memory: all are kept.
 */
static void drop_unstartable(const struct sweep *sw, struct ref_range *held, unsigned n_slots)
{
    size_t n_first = 0, n_ordered = 0, cap = 2;
    uint64_t *set;
    bool *used;

    if (sw->carry != NULL && sw->carry->out != NULL)
        return;
    for (unsigned w = 0; w < n_slots; w++) {
        for (size_t i = 0; i < held[w].n; i++) {
            if (is_droppable(sw, &held[w].refs[i])) {
                n_ordered++;
                n_first += held[w].refs[i].base_pos == 0;
            }
        }
    }
    if (n_ordered == n_first)
        return;
    while (cap < 2 * n_first)
        cap *= 2;
    set = malloc(cap * sizeof(*set));
    used = calloc(cap, sizeof(*used));
    if (set == NULL || used == NULL) {
        free(set);
        free(used);
        return;
    }
    for (unsigned w = 0; w < n_slots; w++) {
        for (size_t i = 0; i < held[w].n; i++) {
            const struct corr_ref *r = &held[w].refs[i];
            if (r->base_pos == 0 && is_droppable(sw, r))
                (void)start_set_has(set, used, cap, r, true);
        }
    }
    for (unsigned w = 0; w < n_slots; w++) {
        size_t k = 0;
        for (size_t i = 0; i < held[w].n; i++) {
            const struct corr_ref *r = &held[w].refs[i];
            if (r->base_pos != 0 && is_droppable(sw, r) && !start_set_has(set, used, cap, r,
                    false))
                continue;
            held[w].refs[k++] = *r;
        }
        held[w].n = k;
    }
    free(set);
    free(used);
}

/*
 * Merge every worker's runs (on disk, then what it still holds) and the carried matches,
 * and sweep them group by group, level by level: level 1 over base-rule matches; level L
 * also over the firings of the levels below that it chains on (sw->chained, which the
 * sweeps of those levels filled), merged in as one more run. What the slots hold in memory
 * is sorted a level at a time, as the level starts, and swept where it is.
 */
enum lsf_code scan_corr_merge_and_sweep(struct sweep *sw, struct lsf_err *err)
{
    const struct scan_engine *eng = sw->run_eng;
    struct merge m = {NULL, 0, 0, NULL, 0};
    struct held_refs *held = NULL;
    struct ref_range *level = NULL; /* one level's: each slot's, then the chained firings */
    size_t n_runs = 0, buf_len;
    enum lsf_code rc = LSF_OK;

    for (unsigned w = 0; w < sw->n_workers; w++)
        n_runs += scan_spill_n_runs(sw->workers[w].corr_spill);
    m.cap_srcs = n_runs + (sw->n_workers + 2u) * (size_t)eng->n_corr_levels + 1;
    m.srcs = calloc(m.cap_srcs, sizeof(*m.srcs));
    m.heap = calloc(m.cap_srcs, sizeof(*m.heap));
    if (m.srcs == NULL || m.heap == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory merging %zu correlation runs", n_runs);
        goto out;
    }
    /* the runs' read buffers share the budget, within sane bounds */
    buf_len = eng->corr_spill_bytes / (n_runs ? n_runs : 1);
    buf_len = buf_len < 4096 ? 4096 : buf_len > (1u << 20) ? 1u << 20 : buf_len;
    for (unsigned w = 0; w < sw->n_workers && rc == LSF_OK; w++) {
        const struct scan_spill *sp = sw->workers[w].corr_spill;
        for (size_t r = 0; r < scan_spill_n_runs(sp) && rc == LSF_OK; r++) {
            struct merge_src *s = &m.srcs[m.n_srcs++];
            s->slot = w;
            rc = scan_spill_reader_new(sp, r, buf_len, &s->rd, err);
            if (rc == LSF_OK)
                rc = heap_push(sw, &m, err);
        }
    }
    held = calloc(sw->n_workers + 1u, sizeof(*held));
    level = calloc(sw->n_workers + 2u, sizeof(*level));
    if (held == NULL || level == NULL)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory merging %zu correlation runs", n_runs);
    for (unsigned w = 0; w <= sw->n_workers && rc == LSF_OK; w++) {
        const struct scan_worker *wk = w < sw->n_workers ? &sw->workers[w] : sw->carry_w;
        if (!slot_refs(sw, wk, w, &held[w]))
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory sorting %zu correlation entries",
                    wk->n_corr_recs);
    }
    /* Level by level: what the slots hold of it and the firings chained on the levels
     * below are sorted as the level starts (after those firings are known). */
    for (uint32_t l = 1; l <= eng->n_corr_levels && rc == LSF_OK; l++) {
        struct ref_range *mine = &level[sw->n_workers + 1];
        mine->n = 0;
        for (size_t i = 0; i < sw->n_chained; i++)
            mine->n += sw->chained[i].level_corr >> CORR_BITS == l;
        mine->refs = mine->n > 0 ? malloc(mine->n * sizeof(*mine->refs)) : NULL;
        if (mine->n > 0 && mine->refs == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory sorting %zu chained "
                    "correlation entries", mine->n);
            break;
        }
        for (size_t i = 0, k = 0; i < sw->n_chained; i++) {
            if (sw->chained[i].level_corr >> CORR_BITS == l)
                mine->refs[k++] = sw->chained[i];
        }
        for (unsigned w = 0; w <= sw->n_workers; w++)
            level[w] = (struct ref_range){held[w].refs + held[w].at[l - 1],
                    held[w].at[l] - held[w].at[l - 1]};
        if (n_runs == 0)
            drop_unstartable(sw, level, sw->n_workers + 2u);
        if (mine->n > 0)
            rc = add_memory_src(sw, &m, mine->refs, mine->n, true, err);
        else
            free(mine->refs);
        for (unsigned w = 0; w <= sw->n_workers && rc == LSF_OK; w++) {
            if (level[w].n > 0)
                rc = add_memory_src(sw, &m, level[w].refs, level[w].n, false, err);
        }
        while (rc == LSF_OK && m.n_heap > 0 && m.heap[0]->head.level_corr >> CORR_BITS == l) {
            uint32_t level_corr = m.heap[0]->head.level_corr;
            uint64_t key_hash = m.heap[0]->head.key_hash;
            if (is_only_src(sw, &m)) {
                rc = sweep_only_src(sw, &m, err); /* the common case: no other has it */
                continue;
            }
            while (rc == LSF_OK && m.n_heap > 0 && m.heap[0]->head.level_corr == level_corr &&
                    m.heap[0]->head.key_hash == key_hash) {
                const struct merge_src *s = m.heap[0];
                const struct corr_ref *mem = s->rd == NULL ? &s->refs[s->i - 1] : NULL;
                rc = group_add(sw, &s->head, mem != NULL && is_swept_in_place(sw, mem) ? mem :
                        NULL, err);
                if (rc == LSF_OK)
                    rc = heap_advance(sw, &m, err);
            }
            if (rc == LSF_OK)
                rc = group_sweep(sw, err);
        }
    }
out:
    for (unsigned w = 0; held != NULL && w <= sw->n_workers; w++) {
        free(held[w].refs);
        free(held[w].at);
    }
    free(held);
    free(level);
    for (size_t i = 0; i < m.n_srcs; i++) {
        scan_spill_reader_free(m.srcs[i].rd);
        if (m.srcs[i].owns_refs)
            free(m.srcs[i].refs);
    }
    free(m.srcs);
    free(m.heap);
    return rc;
}

/* The held findings in (correlation, group, time, input, offset) order. */
enum lsf_code scan_corr_write_held(struct sweep *sw, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    if (sw->n_held == 0)
        return LSF_OK;
    scan_corr_order = &sw->octx;
    qsort(sw->held, sw->n_held, sizeof(*sw->held), cmp_held);
    for (size_t i = 0; i < sw->n_held && rc == LSF_OK; i++)
        rc = sw->sink->write(sw->sink->self, sw->texts.data + sw->held[i].text_off,
                sw->held[i].text_len, err);
    return rc;
}
