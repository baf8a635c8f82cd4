/*
 * scan_corr: correlation rules (pat_sigma.h): event_count, value_count, temporal and
 * temporal_ordered over the events their base rules fire on, per group of field values,
 * within a time window.
 *
 * Design. Workers scan inputs in parallel and in any order, so no worker sees the events of
 * one group in time order. Each worker therefore only records, for every base-rule match, a
 * small entry (correlation, base rule, group key text, counted value, event time, where);
 * when all workers are done the entries of all workers are merged in the order of
 * (correlation, hash of the group key, group key, time, base rule, input name, offset) and
 * each group is swept once with a sliding window. The findings are then written in
 * (correlation, group, time) order. They are thus the same whatever the chunk size, the
 * number of workers, the memory budget (below), and the order of the files on the command
 * line or of the records inside them. Correlations with one definition
 * (twins: a silent building block repeating an alerting rule) share the entries of the first.
 *
 * Files: this one sets the engine up (which rules feed which correlation), records the
 * workers' matches, spills them past the budget and runs the end of the run
 * (scan_corr_finish); scan_corr_order.c holds the order of entries and its sort;
 * scan_corr_sweep.c the merge, the sweep, the firings and chained correlations;
 * scan_corr_carry.c what a run hands to the next; scan_corr_int.h what they share.
 *
 * Memory bound: a budget, not a count (SCAN_CORR_SPILL_BYTES_DEFAULT, 64 MiB per run, or
 * LOGSIFT_CORR_SPILL_BYTES; split evenly between workers). An entry takes 56 bytes plus its
 * group key (at most SCAN_CORR_KEY_MAX bytes) and value (at most SCAN_CORR_VAL_MAX), each
 * kept once per worker with 16 bytes in a table of kept texts (keep_shared_text), and the
 * keys of the correlations chained on its correlation that group differently. When a worker's
 * entries reach its share, it sorts them in the order above (a radix sort,
 * scan_corr_sort_refs) and writes them as one sorted run to its spill file (scan_spill.c: in
 * $TMPDIR, unlinked once open), texts written out in full, then starts afresh. A spill file
 * that cannot be made or written stops the run (LSF_E_IO) before any correlation is swept.
 * What the end of the run holds besides: scan_corr_sweep.c.
 */
#include "scan_corr_int.h"
#include "pat_geoip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- engine: which rules feed which correlation ---- */

/* corr_level of every correlation: its chains have no cycle (pat_sigma_corr_check_chain),
 * so relaxing levels settles within one pass per level. */
static void set_levels(struct scan_engine *eng)
{
    const struct pat_set *set = eng->set;
    bool changed = true;

    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_sigma_rule *sr = pat_set_rule(set, c)->sigma;
        eng->corr_level[c] = sr != NULL && pat_sigma_corr_type(sr) != PAT_CORR_NONE;
    }
    while (changed) {
        changed = false;
        for (size_t c = 0; c < eng->n_rules; c++) {
            const struct pat_rule *cr = pat_set_rule(set, c);
            if (eng->corr_level[c] == 0)
                continue;
            for (size_t i = 0; i < pat_sigma_corr_n_refs(cr->sigma); i++) {
                const char *ref = pat_sigma_corr_ref(cr->sigma, i);
                size_t in = ref ? pat_sigma_corr_find(set, ref) : SIZE_MAX;
                if (in != SIZE_MAX && pat_rule_is_correlation(pat_set_rule(set, in)) &&
                        eng->corr_level[c] <= eng->corr_level[in]) {
                    eng->corr_level[c] = eng->corr_level[in] + 1;
                    changed = true;
                }
            }
        }
    }
    for (size_t c = 0; c < eng->n_rules; c++) {
        if (eng->corr_level[c] > eng->n_corr_levels)
            eng->n_corr_levels = eng->corr_level[c];
    }
}

/* Does a (not value_count) group by exactly c's group-by, in c's order? */
static bool same_grouping(const struct pat_set *set, size_t c, size_t a)
{
    const struct pat_sigma_rule *cs = pat_set_rule(set, c)->sigma;
    const struct pat_sigma_rule *as = pat_set_rule(set, a)->sigma;

    if (pat_sigma_corr_type(as) == PAT_CORR_VALUE_COUNT ||
            pat_sigma_corr_n_group(as) != pat_sigma_corr_n_group(cs))
        return false;
    for (size_t g = 0; g < pat_sigma_corr_n_group(cs); g++) {
        if (strcmp(pat_sigma_corr_group_name(as, g), pat_sigma_corr_group_name(cs, g)) != 0)
            return false;
    }
    return true;
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Do correlations a and b read the same group key and counted value from an event? */
static bool same_keys(const struct pat_set *set, size_t a, size_t b)
{
    const struct pat_sigma_rule *as = pat_set_rule(set, a)->sigma;
    const struct pat_sigma_rule *bs = pat_set_rule(set, b)->sigma;

    if (pat_sigma_corr_n_group(as) != pat_sigma_corr_n_group(bs) ||
            !same_text(pat_sigma_corr_value_field(as), pat_sigma_corr_value_field(bs)))
        return false;
    for (size_t g = 0; g < pat_sigma_corr_n_group(as); g++) {
        if (strcmp(pat_sigma_corr_group_name(as, g), pat_sigma_corr_group_name(bs, g)) != 0)
            return false;
    }
    return true;
}

/* Does correlation sr group by a geoip.* field, or count one (value_count)? Those fields are
 * missing without --geoip (pat_sigma.h), which leaves every match in no group or with no
 * value to count. */
static bool reads_geoip(const struct pat_sigma_rule *sr)
{
    const char *value = pat_sigma_corr_value_field(sr);

    for (size_t g = 0; g < pat_sigma_corr_n_group(sr); g++) {
        if (pat_geoip_is_field(pat_sigma_corr_group_name(sr, g)))
            return true;
    }
    return pat_sigma_corr_type(sr) == PAT_CORR_VALUE_COUNT && value != NULL &&
            pat_geoip_is_field(value);
}

/* corr_anc: for each correlation, the correlations chained on it at any depth, in rule
 * order (a base-rule match of c keeps their group keys, read from its event). */
static enum lsf_code set_ancestors(struct scan_engine *eng, struct lsf_err *err)
{
    size_t n = eng->n_rules ? eng->n_rules : 1, n_anc = 0;
    bool *mark = calloc(n, sizeof(*mark));
    uint32_t *stack = calloc(n, sizeof(*stack));
    uint32_t *anc = NULL;
    size_t cap = 0;
    enum lsf_code rc = LSF_OK;

    eng->corr_anc_start = calloc(n + 1, sizeof(*eng->corr_anc_start));
    eng->corr_key_shared = calloc(n, sizeof(*eng->corr_key_shared));
    if (mark == NULL || stack == NULL || eng->corr_anc_start == NULL ||
            eng->corr_key_shared == NULL)
        rc = LSF_E_NOMEM;
    for (size_t c = 0; c < eng->n_rules && rc == LSF_OK; c++) {
        size_t n_stack = 0;
        eng->corr_anc_start[c] = (uint32_t)n_anc;
        /* A legacy aggregation feeds itself: its feeds are its own matches, not a chain. */
        if (!pat_rule_is_correlation(pat_set_rule(eng->set, c)) || eng->corr_twin[c] != c)
            continue;
        memset(mark, 0, n * sizeof(*mark));
        stack[n_stack++] = (uint32_t)c;
        while (n_stack > 0) {
            /* x fires with its twins: the correlations chained on any of them count */
            for (uint32_t x = stack[--n_stack]; x != UINT32_MAX; x = eng->corr_twin_next[x]) {
                for (uint32_t k = eng->corr_feed_start[x]; k < eng->corr_feed_start[x + 1];
                        k++) {
                    uint32_t up = eng->corr_feeds[k].corr;
                    if (!mark[up]) {
                        mark[up] = true;
                        stack[n_stack++] = up;
                    }
                }
            }
        }
        eng->corr_key_shared[c] = true;
        for (size_t a = 0; a < eng->n_rules; a++) {
            if (mark[a] && !same_grouping(eng->set, c, a))
                eng->corr_key_shared[c] = false;
        }
        if (eng->corr_key_shared[c])
            continue;
        for (size_t a = 0; a < eng->n_rules && rc == LSF_OK; a++) {
            if (!mark[a])
                continue;
            if (n_anc == cap) {
                uint32_t *grown = lsf_array_grow(anc, &cap, sizeof(*grown), 16);
                if (grown == NULL) {
                    rc = LSF_E_NOMEM;
                    break;
                }
                anc = grown;
            }
            anc[n_anc++] = (uint32_t)a;
        }
    }
    if (eng->corr_anc_start != NULL)
        eng->corr_anc_start[eng->n_rules] = (uint32_t)n_anc;
    free(mark);
    free(stack);
    eng->corr_anc = anc;
    if (rc != LSF_OK)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory preparing correlations");
    return LSF_OK;
}

/* Do correlation rules a and b count the same thing the same way (twins)? */
static bool same_definition(const struct pat_set *set, const struct pat_sigma_rule *a,
        const struct pat_sigma_rule *b)
{
    if (pat_sigma_corr_type(a) != pat_sigma_corr_type(b) ||
            pat_sigma_corr_timespan_ms(a) != pat_sigma_corr_timespan_ms(b) ||
            pat_sigma_corr_threshold(a) != pat_sigma_corr_threshold(b) ||
            pat_sigma_corr_n_refs(a) != pat_sigma_corr_n_refs(b) ||
            pat_sigma_corr_n_group(a) != pat_sigma_corr_n_group(b) ||
            !same_text(pat_sigma_corr_value_field(a), pat_sigma_corr_value_field(b)))
        return false;
    for (size_t i = 0; i < pat_sigma_corr_n_refs(a); i++) {
        size_t ra = pat_sigma_corr_find(set, pat_sigma_corr_ref(a, i));
        if (ra == SIZE_MAX || ra != pat_sigma_corr_find(set, pat_sigma_corr_ref(b, i)))
            return false;
    }
    for (size_t g = 0; g < pat_sigma_corr_n_group(a); g++) {
        if (strcmp(pat_sigma_corr_group_name(a, g), pat_sigma_corr_group_name(b, g)) != 0)
            return false;
    }
    return true;
}

/*
 * Twins (a silent building block that repeats an alerting correlation so that another one
 * can chain on it): only the first records matches, and each of its firings is one of every
 * twin, with the twin's own id, silence and chained correlations.
 */
static bool set_twins(struct scan_engine *eng)
{
    const struct pat_set *set = eng->set;
    size_t n = eng->n_rules ? eng->n_rules : 1;

    eng->corr_twin = malloc(n * sizeof(*eng->corr_twin));
    eng->corr_twin_next = malloc(n * sizeof(*eng->corr_twin_next));
    if (eng->corr_twin == NULL || eng->corr_twin_next == NULL)
        return false;
    for (size_t c = 0; c < eng->n_rules; c++) {
        eng->corr_twin[c] = (uint32_t)c;
        eng->corr_twin_next[c] = UINT32_MAX;
    }
    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_rule *cr = pat_set_rule(set, c);
        if (!pat_rule_is_correlation(cr))
            continue;
        for (size_t d = 0; d < c; d++) {
            const struct pat_rule *dr = pat_set_rule(set, d);
            uint32_t tail = (uint32_t)d;
            if (eng->corr_twin[d] != d || !pat_rule_is_correlation(dr) ||
                    !same_definition(set, dr->sigma, cr->sigma))
                continue;
            eng->corr_twin[c] = (uint32_t)d;
            while (eng->corr_twin_next[tail] != UINT32_MAX)
                tail = eng->corr_twin_next[tail];
            eng->corr_twin_next[tail] = (uint32_t)c;
            break;
        }
    }
    return true;
}

/* The memory budget of a run's entries (LOGSIFT_CORR_SPILL_BYTES, for tests and small
 * machines) and the directory of the spill files ($TMPDIR, else /tmp). */
static enum lsf_code spill_setup(struct scan_engine *eng, struct lsf_err *err)
{
    const char *bytes = getenv("LOGSIFT_CORR_SPILL_BYTES");
    const char *dir = getenv("TMPDIR");

    eng->corr_spill_bytes = SCAN_CORR_SPILL_BYTES_DEFAULT;
    if (bytes != NULL && bytes[0] != '\0') {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(bytes, &end, 10);
        if (errno != 0 || *end != '\0' || v == 0 || bytes[0] < '0' || bytes[0] > '9')
            return lsf_fail(err, LSF_E_USAGE, "LOGSIFT_CORR_SPILL_BYTES=%s: not a positive "
                    "number of bytes; unset it or give the correlation memory budget in bytes",
                    bytes);
        eng->corr_spill_bytes = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
    }
    eng->corr_spill_dir = strdup(dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    if (eng->corr_spill_dir == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory preparing correlations");
    return LSF_OK;
}

enum lsf_code scan_corr_setup(struct scan_engine *eng, struct lsf_err *err)
{
    const struct pat_set *set = eng->set;
    size_t n = eng->n_rules ? eng->n_rules : 1;
    size_t n_feeds = 0;
    unsigned *fill;
    bool *wants_own = calloc(n, sizeof(*wants_own));
    enum lsf_code rc;

    rc = spill_setup(eng, err);
    if (rc != LSF_OK) {
        free(wants_own);
        return rc;
    }
    eng->corr_feed_start = calloc(n + 1, sizeof(*eng->corr_feed_start));
    eng->rule_silent = calloc(n, sizeof(*eng->rule_silent));
    eng->corr_level = calloc(n, sizeof(*eng->corr_level));
    if (eng->corr_feed_start == NULL || eng->rule_silent == NULL || wants_own == NULL ||
            eng->corr_level == NULL || !set_twins(eng)) {
        free(wants_own);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory preparing correlations");
    }
    /* Pass 1: resolve and count; pass 2: fill the CSR table. */
    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_rule *cr = pat_set_rule(set, c);
        if (cr->sigma == NULL || pat_sigma_corr_type(cr->sigma) == PAT_CORR_NONE)
            continue;
        eng->n_corr++;
        if (pat_sigma_corr_n_refs(cr->sigma) > UINT16_MAX) {
            free(wants_own);
            return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: more than %u rules; "
                    "split it", cr->file, cr->line, cr->id, (unsigned)UINT16_MAX);
        }
        for (size_t i = 0; i < pat_sigma_corr_n_refs(cr->sigma); i++) {
            const char *ref = pat_sigma_corr_ref(cr->sigma, i);
            size_t base = ref == NULL ? c : pat_sigma_corr_find(set, ref);

            if (base == SIZE_MAX) {
                free(wants_own);
                return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: no loaded rule has "
                        "the id or name '%s'; load its file with -r", cr->file, cr->line,
                        cr->id, ref);
            }
            if (eng->corr_twin[c] == c) { /* a twin records nothing of its own */
                eng->corr_feed_start[base + 1]++;
                n_feeds++;
            }
            /* A rule (or a correlation chained on) reports on its own only if a correlation
             * over it says generate: true; a legacy aggregation rule never does (its
             * findings are the counts). For a correlation rule, which matches no event by
             * itself, rule_silent silences its firings. */
            if (ref == NULL)
                eng->rule_silent[base] = true;
            else if (!pat_sigma_corr_generate(cr->sigma))
                eng->rule_silent[base] |= !wants_own[base];
            else
                wants_own[base] = true, eng->rule_silent[base] = false;
        }
        rc = pat_sigma_corr_check_chain(set, c, err);
        if (rc != LSF_OK) {
            free(wants_own);
            return rc;
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
        if (cr->sigma == NULL || pat_sigma_corr_type(cr->sigma) == PAT_CORR_NONE ||
                eng->corr_twin[c] != c)
            continue;
        for (size_t i = 0; i < pat_sigma_corr_n_refs(cr->sigma); i++) {
            const char *ref = pat_sigma_corr_ref(cr->sigma, i);
            size_t base = ref == NULL ? c : pat_sigma_corr_find(set, ref);
            struct scan_corr_feed *f = &eng->corr_feeds[eng->corr_feed_start[base] + fill[base]++];
            f->corr = (uint32_t)c;
            f->base_pos = (uint32_t)i;
            f->needs_geoip = reads_geoip(cr->sigma);
        }
    }
    free(fill);
    for (size_t r = 0; r < eng->n_rules; r++) {
        for (uint32_t k = eng->corr_feed_start[r]; k < eng->corr_feed_start[r + 1]; k++) {
            uint32_t like = eng->corr_feed_start[r];
            while (like < k && !same_keys(set, eng->corr_feeds[like].corr, eng->corr_feeds[k].corr))
                like++;
            eng->corr_feeds[k].keys_like = like;
        }
    }
    set_levels(eng);
    if (eng->n_corr_levels > 250 || eng->n_rules >= (1u << 24))
        return lsf_fail(err, LSF_E_RULE, "correlations: %zu rules or %u levels of chained "
                "correlations; at most 16777215 rules and 250 levels are supported",
                eng->n_rules, (unsigned)eng->n_corr_levels);
    return set_ancestors(eng, err);
}

void scan_corr_cleanup(struct scan_engine *eng)
{
    free(eng->corr_feed_start);
    free(eng->corr_feeds);
    free(eng->rule_silent);
    free(eng->corr_level);
    free(eng->corr_anc_start);
    free(eng->corr_anc);
    free(eng->corr_twin);
    free(eng->corr_twin_next);
    free(eng->corr_key_shared);
    free(eng->corr_spill_dir);
}

struct named_input {
    const char *name;
    unsigned worker;
    uint32_t idx;
};

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named_input *)a)->name, ((const struct named_input *)b)->name);
}

/* ---- workers: record base-rule matches ---- */

/* Offset of a NUL-terminated copy of s in the worker's text arena, or UINT32_MAX. */
uint32_t scan_corr_keep_text(struct scan_worker *w, const char *s)
{
    struct lsf_err e;
    size_t off = w->corr_text.len;

    lsf_err_clear(&e);
    if (off > UINT32_MAX - SCAN_CORR_KEY_MAX ||
            lsf_buf_append(&w->corr_text, (const unsigned char *)s, strlen(s) + 1, &e) != LSF_OK)
        return UINT32_MAX;
    return (uint32_t)off;
}

/* A text kept in corr_text: off + 1 (0: empty slot) and its hash's low bits. */
struct scan_corr_slot {
    uint32_t off_plus_1;
    uint32_t hash_low;
};

static bool shared_grow(struct scan_worker *w)
{
    size_t cap = w->cap_corr_shared ? w->cap_corr_shared * 2 : 1024;
    struct scan_corr_slot *t = calloc(cap, sizeof(*t));

    if (t == NULL)
        return false;
    for (size_t i = 0; i < w->cap_corr_shared; i++) {
        const struct scan_corr_slot *o = &w->corr_shared[i];
        size_t k = o->hash_low & (cap - 1);
        if (o->off_plus_1 == 0)
            continue;
        while (t[k].off_plus_1 != 0)
            k = (k + 1) & (cap - 1);
        t[k] = *o;
    }
    free(w->corr_shared);
    w->corr_shared = t;
    w->cap_corr_shared = cap;
    return true;
}

/*
 * Like scan_corr_keep_text, but equal texts are kept once: a run has few distinct group keys and
 * values and many matches, so the text stays small, and entries of one worker (one slot)
 * with one offset have one text (the sorts and the sweep compare offsets before text).
 * Sets *hash to the text's. Falls back to scan_corr_keep_text when the table cannot grow.
 */
static uint32_t keep_shared_text(struct scan_worker *w, const char *s, uint64_t *hash)
{
    const uint64_t h = hash_text(s);
    size_t k;
    uint32_t off;

    *hash = h;
    if (2 * (w->n_corr_shared + 1) > w->cap_corr_shared && !shared_grow(w))
        return scan_corr_keep_text(w, s);
    for (k = (uint32_t)h & (w->cap_corr_shared - 1); w->corr_shared[k].off_plus_1 != 0;
            k = (k + 1) & (w->cap_corr_shared - 1)) {
        const struct scan_corr_slot *sl = &w->corr_shared[k];
        if (sl->hash_low == (uint32_t)h &&
                strcmp((const char *)w->corr_text.data + sl->off_plus_1 - 1, s) == 0)
            return sl->off_plus_1 - 1;
    }
    off = scan_corr_keep_text(w, s);
    if (off != UINT32_MAX) {
        w->corr_shared[k].off_plus_1 = off + 1;
        w->corr_shared[k].hash_low = (uint32_t)h;
        w->n_corr_shared++;
    }
    return off;
}

/* The worker's text was emptied (spilled): no kept text is left to share. A table large
 * for the budget is freed (it grows again as needed), so what is not counted stays small. */
static void shared_clear(struct scan_worker *w, size_t budget)
{
    if (w->cap_corr_shared * sizeof(*w->corr_shared) > budget / 8) {
        free(w->corr_shared);
        w->corr_shared = NULL;
        w->cap_corr_shared = 0;
    } else if (w->corr_shared != NULL) {
        memset(w->corr_shared, 0, w->cap_corr_shared * sizeof(*w->corr_shared));
    }
    w->n_corr_shared = 0;
}

uint32_t scan_corr_input_index(struct scan_worker *w, const char *name)
{
    if (w->n_corr_inputs > 0 && strcmp(w->corr_inputs[w->n_corr_inputs - 1], name) == 0)
        return (uint32_t)(w->n_corr_inputs - 1);
    if (w->n_corr_inputs == w->cap_corr_inputs) {
        char **grown = lsf_array_grow(w->corr_inputs, &w->cap_corr_inputs, sizeof(*grown), 16);
        if (grown == NULL)
            return UINT32_MAX;
        w->corr_inputs = grown;
    }
    w->corr_inputs[w->n_corr_inputs] = strdup(name);
    if (w->corr_inputs[w->n_corr_inputs] == NULL)
        return UINT32_MAX;
    return (uint32_t)w->n_corr_inputs++;
}

/* scan_corr_input_index of the window's input, remembered for the input: the name is compared once
 * per input, not once per match. */
static uint32_t record_input(struct scan_worker *w)
{
    uint32_t i;

    if (w->has_corr_input && w->corr_input_idx == w->input_idx)
        return w->corr_input;
    i = scan_corr_input_index(w, w->input_name);
    w->has_corr_input = i != UINT32_MAX;
    w->corr_input = i;
    w->corr_input_idx = w->input_idx;
    return i;
}

/*
 * Chained correlations: a firing of corr is an event of the correlations chained on it,
 * grouped by their group-by fields of the event that completed the window (a subset of
 * corr's own, pat_sigma_corr_check_chain). The event is gone by the end of the run, so each
 * match keeps, for every correlation in corr_anc of corr, "index\0key\0val\0", then "\0".
 * Returns the offset of the first, UINT32_MAX when there are none, UINT32_MAX - 1 when out
 * of room.
 */
static uint32_t keep_up_keys(struct scan_worker *w, uint32_t corr,
        struct pat_sigma_event *sev)
{
    const struct scan_engine *eng = w->eng;
    uint32_t first = UINT32_MAX;

    for (uint32_t a = eng->corr_anc_start[corr]; a < eng->corr_anc_start[corr + 1]; a++) {
        const struct pat_rule *ar = pat_set_rule(eng->set, eng->corr_anc[a]);
        char key[SCAN_CORR_KEY_MAX], val[SCAN_CORR_VAL_MAX], idx[16];
        uint32_t i, k, v;

        /* The outer groups by some of this event's group-by fields, all present. */
        (void)pat_sigma_corr_keys(ar->sigma, sev, key, sizeof(key), val, sizeof(val));
        snprintf(idx, sizeof(idx), "%u", (unsigned)eng->corr_anc[a]);
        i = scan_corr_keep_text(w, idx);
        k = scan_corr_keep_text(w, key);
        v = scan_corr_keep_text(w, val);
        if (i == UINT32_MAX || k == UINT32_MAX || v == UINT32_MAX)
            return UINT32_MAX - 1;
        if (first == UINT32_MAX)
            first = i;
    }
    if (first != UINT32_MAX && scan_corr_keep_text(w, "") == UINT32_MAX)
        return UINT32_MAX - 1;
    return first;
}

/* ---- workers: spill sorted runs past the memory budget ---- */

/* The worker's share of the run's budget; text offsets are 32-bit, so at most 1 GiB. */
static size_t worker_budget(const struct scan_worker *w)
{
    size_t b = w->eng->corr_spill_bytes / (w->run_n_workers ? w->run_n_workers : 1);

    return b == 0 ? 1 : b > ((size_t)1 << 30) ? (size_t)1 << 30 : b;
}

static bool is_over_budget(const struct scan_worker *w)
{
    /* the table of kept texts counts as it is filled (at most half of it), so that an
     * empty one left from before a spill spills nothing by itself */
    return w->n_corr_recs * sizeof(*w->corr_recs) + w->corr_text.len +
            2 * w->n_corr_shared * sizeof(*w->corr_shared) >= worker_budget(w);
}

/* The worker's inputs' ranks in name order (one name read twice: one rank). */
static uint32_t *local_ranks(const struct scan_worker *w)
{
    size_t n = w->n_corr_inputs;
    struct named_input *all = malloc((n ? n : 1) * sizeof(*all));
    uint32_t *rank = malloc((n ? n : 1) * sizeof(*rank));

    if (all == NULL || rank == NULL) {
        free(all);
        free(rank);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        all[i] = (struct named_input){w->corr_inputs[i], 0, (uint32_t)i};
    qsort(all, n, sizeof(*all), cmp_named);
    for (size_t i = 0, r = 0; i < n; i++) {
        if (i > 0 && strcmp(all[i].name, all[i - 1].name) != 0)
            r++;
        rank[all[i].idx] = (uint32_t)r;
    }
    free(all);
    return rank;
}

/* Write the worker's entries as one sorted run to its spill file and start afresh. */
static enum lsf_code spill_worker(struct scan_worker *w, struct lsf_err *err)
{
    const struct scan_engine *eng = w->eng;
    size_t n = w->n_corr_recs;
    struct corr_ref *refs = NULL;
    uint32_t *rank = NULL;
    struct order_ctx ctx = {eng, NULL, w, NULL};
    enum lsf_code rc = LSF_OK;

    if (n == 0)
        return LSF_OK;
    if (w->corr_spill == NULL) {
        rc = scan_spill_new(eng->corr_spill_dir, &w->corr_spill, err);
        if (rc != LSF_OK)
            return rc;
    }
    refs = malloc(n * sizeof(*refs));
    rank = local_ranks(w);
    if (refs == NULL || rank == NULL) {
        free(refs);
        free(rank);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory sorting %zu correlation entries "
                "to spill; lower LOGSIFT_CORR_SPILL_BYTES", n);
    }
    for (size_t i = 0; i < n; i++) {
        const struct scan_corr_rec *r = &w->corr_recs[i];
        refs[i] = (struct corr_ref){r, r->key_hash, r->ts_ms,
                eng->corr_level[r->corr] << CORR_BITS | r->corr, r->base_pos, 0};
    }
    ctx.w_rank = rank;
    scan_corr_order = &ctx;
    scan_corr_sort_refs(refs, n);
    for (size_t i = 0; i < n && rc == LSF_OK; i++) {
        struct scan_spill_ent e;
        scan_corr_ent_of_ref(&ctx, &refs[i], &e, true);
        rc = scan_spill_add(w->corr_spill, &e, err);
    }
    scan_corr_order = NULL;
    if (rc == LSF_OK)
        rc = scan_spill_end_run(w->corr_spill, err);
    free(refs);
    free(rank);
    if (rc != LSF_OK)
        return rc;
    w->stats.n_corr_spill_runs++;
    w->stats.n_corr_spilled += n;
    w->n_corr_recs = 0;
    w->corr_text.len = 0;
    shared_clear(w, worker_budget(w));
    return LSF_OK;
}

/* The group key and value one event gave a feed, for the next feeds that read the same
 * (scan_corr_feed.keys_like): a building block under several correlations is read once. */
#define KEYS_CACHE_N 4
struct keys_cache {
    uint32_t like; /* the feeds' keys_like */
    bool is_in_group;
    uint32_t key_off, val_off; /* UINT32_MAX until kept (again after a spill) */
    uint64_t key_hash;
    char key[SCAN_CORR_KEY_MAX], val[SCAN_CORR_VAL_MAX];
};

/* The cache entry of feed (filled now if it holds none yet). */
static struct keys_cache *feed_keys(struct keys_cache *cache, unsigned *n_used,
        const struct scan_corr_feed *feed, const struct pat_rule *cr,
        struct pat_sigma_event *sev)
{
    struct keys_cache *c;

    for (unsigned i = 0; i < *n_used; i++) {
        if (cache[i].like == feed->keys_like)
            return &cache[i];
    }
    c = &cache[*n_used < KEYS_CACHE_N ? (*n_used)++ : KEYS_CACHE_N - 1];
    c->like = feed->keys_like;
    c->is_in_group = pat_sigma_corr_keys(cr->sigma, sev, c->key, sizeof(c->key), c->val,
            sizeof(c->val));
    c->key_off = c->val_off = UINT32_MAX;
    return c;
}

enum lsf_code scan_corr_record(struct scan_worker *w, size_t rule_idx,
        const struct frame_event *ev, struct pat_sigma_event *sev, struct lsf_err *err)
{
    const struct scan_engine *eng = w->eng;
    const unsigned char *bytes = w->window.data + ev->off;
    int64_t ts = ev->ts_ms;
    struct keys_cache cache[KEYS_CACHE_N];
    unsigned n_cached = 0;

    if (ts == FRAME_TS_UNKNOWN)
        ts = frame_event_time(w->format, bytes, ev->len, w->window_now_ms);
    for (uint32_t k = eng->corr_feed_start[rule_idx]; k < eng->corr_feed_start[rule_idx + 1];
            k++) {
        const struct scan_corr_feed *feed = &eng->corr_feeds[k];
        const struct pat_rule *cr = pat_set_rule(eng->set, feed->corr);
        struct keys_cache *keys;
        struct scan_corr_rec *rec;
        uint64_t val_hash; /* not needed: values are not sorted by */

        if (ts == FRAME_TS_UNKNOWN) {
            w->n_corr_no_time++;
            continue;
        }
        if (feed->needs_geoip && w->geoip == NULL)
            continue; /* in no group, or no value to count: reading that is not needed */
        keys = feed_keys(cache, &n_cached, feed, cr, sev);
        if (!keys->is_in_group)
            continue; /* in no group */
        if (pat_sigma_corr_type(cr->sigma) == PAT_CORR_VALUE_COUNT && keys->val[0] == '\0')
            continue; /* no value to count */
        if (is_over_budget(w)) {
            enum lsf_code rc = spill_worker(w, err);
            if (rc != LSF_OK)
                return rc;
            for (unsigned i = 0; i < n_cached; i++) /* their texts were spilled */
                cache[i].key_off = cache[i].val_off = UINT32_MAX;
        }
        if (w->n_corr_recs == w->cap_corr_recs) {
            size_t cap = w->cap_corr_recs ? w->cap_corr_recs * 2 : 256;
            size_t most = worker_budget(w) / sizeof(*w->corr_recs) + 1;
            struct scan_corr_rec *grown;
            if (cap > most)
                cap = most > w->n_corr_recs ? most : w->n_corr_recs + 1;
            grown = realloc(w->corr_recs, cap * sizeof(*grown));
            if (grown == NULL) {
                w->n_corr_dropped++;
                continue;
            }
            w->corr_recs = grown;
            w->cap_corr_recs = cap;
        }
        rec = &w->corr_recs[w->n_corr_recs];
        rec->corr = feed->corr;
        rec->base_pos = (uint16_t)feed->base_pos;
        if (keys->key_off == UINT32_MAX)
            keys->key_off = keep_shared_text(w, keys->key, &keys->key_hash);
        if (keys->val_off == UINT32_MAX)
            keys->val_off = keep_shared_text(w, keys->val, &val_hash);
        rec->key_off = keys->key_off;
        rec->key_hash = keys->key_hash;
        rec->val_off = keys->val_off;
        rec->input = record_input(w);
        rec->up_off = keep_up_keys(w, feed->corr, sev);
        if (rec->key_off == UINT32_MAX || rec->val_off == UINT32_MAX ||
                rec->input == UINT32_MAX || rec->up_off == UINT32_MAX - 1) {
            w->n_corr_dropped++;
            continue;
        }
        rec->ts_ms = ts;
        rec->format = (uint8_t)w->format;
        rec->offset = ev->src_off;
        rec->ordinal = ev->ordinal;
        w->n_corr_recs++;
    }
    return LSF_OK;
}

/* ---- end of run: ranks of input names, orchestration ---- */

static void ranks_free(struct input_ranks *r)
{
    for (unsigned w = 0; r->rank != NULL && w < r->n_slots; w++)
        free(r->rank[w]);
    free(r->rank);
    free(r->names);
}

/* Every input name's rank in name order (one name in two workers: one rank); the carry
 * worker's (slot n_workers) all come first: the previous run read them before. */
static bool ranks_build(struct input_ranks *r, const struct scan_worker *workers,
        unsigned n_workers, const struct scan_worker *carry_w)
{
    size_t n = 0, k = 0, n_carry = carry_w->n_corr_inputs;
    struct named_input *all;

    r->n_slots = n_workers + 1;
    r->rank = calloc(n_workers + 1, sizeof(*r->rank));
    if (r->rank == NULL)
        return false;
    for (unsigned w = 0; w <= n_workers; w++) {
        const struct scan_worker *wk = w < n_workers ? &workers[w] : carry_w;
        r->rank[w] = calloc(wk->n_corr_inputs + 1, sizeof(**r->rank));
        if (r->rank[w] == NULL)
            return false;
        n += wk->n_corr_inputs;
    }
    all = malloc((n ? n : 1) * sizeof(*all));
    r->names = calloc(n ? n : 1, sizeof(*r->names));
    r->n_names = n;
    if (all == NULL || r->names == NULL) {
        free(all);
        return false;
    }
    for (unsigned w = 0; w < n_workers; w++) {
        for (size_t i = 0; i < workers[w].n_corr_inputs; i++)
            all[k++] = (struct named_input){workers[w].corr_inputs[i], w, (uint32_t)i};
    }
    qsort(all, k, sizeof(*all), cmp_named);
    for (size_t i = 0, rank = n_carry; i < k; i++) {
        if (i > 0 && strcmp(all[i].name, all[i - 1].name) != 0)
            rank++;
        r->rank[all[i].worker][all[i].idx] = (uint32_t)rank;
        r->names[rank] = workers[all[i].worker].corr_inputs[all[i].idx];
    }
    for (size_t i = 0; i < n_carry; i++)
        all[i] = (struct named_input){carry_w->corr_inputs[i], n_workers, (uint32_t)i};
    qsort(all, n_carry, sizeof(*all), cmp_named);
    for (size_t i = 0, rank = 0; i < n_carry; i++) {
        if (i > 0 && strcmp(all[i].name, all[i - 1].name) != 0)
            rank++;
        r->rank[n_workers][all[i].idx] = (uint32_t)rank;
        r->names[rank] = carry_w->corr_inputs[all[i].idx];
    }
    free(all);
    return true;
}

static void report_problem(struct sweep *sw, const char *fmt, ...) LSF_PRINTF(2, 3);

static void report_problem(struct sweep *sw, const char *fmt, ...)
{
    struct lsf_err perr;
    va_list ap;

    lsf_err_clear(&perr);
    va_start(ap, fmt);
    (void)lsf_vfail(&perr, LSF_E_INPUT, fmt, ap);
    va_end(ap);
    sw->sink->problem(sw->sink->self, &perr);
    sw->stats->n_problems++;
}

/* A slot past the workers': its own text, entries and nothing else. */
static struct scan_worker *slot_new(void)
{
    struct scan_worker *w = calloc(1, sizeof(*w));

    if (w != NULL)
        lsf_buf_init(&w->corr_text, UINT32_MAX);
    return w;
}

static void slot_free(struct scan_worker *w)
{
    if (w != NULL) {
        scan_corr_worker_cleanup(w);
        free(w);
    }
}

enum lsf_code scan_corr_finish(const struct scan_engine *eng, struct scan_worker *workers,
        unsigned n_workers, const struct scan_carry_io *carry, struct scan_sink *sink,
        struct lsf_err *err)
{
    struct input_ranks ranks = {NULL, 0, NULL, 0};
    uint64_t n = 0, dropped = 0, no_time = 0;
    int64_t last_ts_ms = INT64_MIN;
    struct scan_worker *cw = slot_new(); /* the carry worker: slot n_workers */
    struct sweep sw;
    enum lsf_code rc = LSF_OK;

    _Static_assert(SCAN_CARRY_MAX_RECORDS == SCAN_CORR_MAX_RECORDS,
            "the carried state has the correlation state's bound");

    memset(&sw, 0, sizeof(sw));
    sw.run_eng = eng;
    sw.workers = workers;
    sw.n_workers = n_workers;
    sw.carry = carry;
    sw.ranks = &ranks;
    sw.geoip = n_workers > 0 ? workers[0].geoip : NULL;
    sw.sink = sink;
    sw.stats = &workers[0].stats;
    sw.last_ts_ms = INT64_MIN;
    sw.octx = (struct order_ctx){eng, &sw, NULL, NULL};
    lsf_buf_init(&sw.out, SIZE_MAX);
    lsf_buf_init(&sw.texts, SIZE_MAX);
    for (unsigned w = 0; w < n_workers; w++) {
        n += workers[w].n_corr_recs + scan_spill_n_entries(workers[w].corr_spill);
        dropped += workers[w].n_corr_dropped;
        no_time += workers[w].n_corr_no_time;
        if (scan_spill_max_ts_ms(workers[w].corr_spill) > last_ts_ms)
            last_ts_ms = scan_spill_max_ts_ms(workers[w].corr_spill);
        for (size_t i = 0; i < workers[w].n_corr_recs; i++) {
            if (workers[w].corr_recs[i].ts_ms > last_ts_ms)
                last_ts_ms = workers[w].corr_recs[i].ts_ms;
        }
    }
    if (dropped > 0)
        report_problem(&sw, "correlations: %llu base-rule matches were not counted: out of "
                "memory keeping them; lower LOGSIFT_CORR_SPILL_BYTES so that more of them "
                "wait on disk, or scan fewer files per run", (unsigned long long)dropped);
    else if (no_time > 0)
        report_problem(&sw, "correlations: %llu base-rule matches have no timestamp logsift "
                "can read and were not counted", (unsigned long long)no_time);
    sw.carry_w = cw;
    sw.group_w = slot_new();
    sw.chain_w = slot_new();
    if (cw == NULL || sw.group_w == NULL || sw.chain_w == NULL)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory sorting correlation entries");
    else if (carry != NULL && carry->n_in > 0)
        rc = scan_corr_carry_load(&sw, carry, cw, err); /* sets last_ts_ms to the previous run's */
    if (rc != LSF_OK || (n == 0 && (carry == NULL || carry->out == NULL)))
        goto out;
    if (last_ts_ms > sw.last_ts_ms)
        sw.last_ts_ms = last_ts_ms;
    for (size_t i = 0; i < sw.carry_w->n_corr_recs; i++) {
        if (sw.carry_w->corr_recs[i].ts_ms > sw.last_ts_ms)
            sw.last_ts_ms = sw.carry_w->corr_recs[i].ts_ms;
    }
    if (!ranks_build(&ranks, workers, n_workers, sw.carry_w)) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory sorting correlation entries");
        goto out;
    }
    rc = scan_corr_merge_and_sweep(&sw, err);
    if (rc == LSF_OK && sw.n_group_dropped > 0)
        report_problem(&sw, "correlations: %llu base-rule matches were not counted: group "
                "'%s' of correlation %s had more than %u matches in this run, more than one "
                "group's sweep holds; narrow its base rules or group-by, or scan fewer files "
                "per run", (unsigned long long)sw.n_group_dropped, sw.dropped_key,
                pat_set_rule(eng->set, sw.dropped_corr)->id, (unsigned)SCAN_CORR_MAX_RECORDS);
    if (rc == LSF_OK)
        rc = scan_corr_carry_finish(&sw, err);
    if (rc == LSF_OK)
        rc = scan_corr_write_held(&sw, err);
out:
    scan_corr_order = NULL;
    lsf_buf_cleanup(&sw.out);
    lsf_buf_cleanup(&sw.texts);
    while (sw.blocks != NULL) {
        struct chain_block *next = sw.blocks->next;
        free(sw.blocks);
        sw.blocks = next;
    }
    free(sw.chained);
    free(sw.held);
    free(sw.cgroups);
    free(sw.out_recs);
    free(sw.group_refs);
    ranks_free(&ranks);
    slot_free(cw);
    slot_free(sw.group_w);
    slot_free(sw.chain_w);
    return rc;
}

void scan_corr_worker_cleanup(struct scan_worker *w)
{
    free(w->corr_shared);
    w->corr_shared = NULL;
    w->n_corr_shared = 0;
    w->cap_corr_shared = 0;
    free(w->corr_recs);
    lsf_buf_cleanup(&w->corr_text);
    for (size_t i = 0; i < w->n_corr_inputs; i++)
        free(w->corr_inputs[i]);
    free(w->corr_inputs);
    scan_spill_free(w->corr_spill);
    w->corr_spill = NULL;
    w->corr_recs = NULL;
    w->corr_inputs = NULL;
    w->n_corr_recs = 0;
    w->n_corr_inputs = 0;
    w->has_corr_input = false;
}
