/*
 * scan_corr_carry: carry (scan.h, struct scan_carry_io): what a group still needs after the
 * run (its matches after its last firing within one timespan of the run's latest event, and
 * its quiet time) is handed back at the end of each group's sweep (scan_corr_sweep.c); the
 * next run loads it into one more worker slot (the carry worker, whose inputs rank before
 * every other input) and sweeps it with its own matches. A carried match fired nothing in
 * its own run and its window can only shrink, so it never completes a window: every firing
 * ends at an event of this run.
 */
#include "scan_corr_int.h"

#include <stdlib.h>
#include <string.h>

static const char *carry_key(const struct sweep *sw, const struct carried_group *c)
{
    return (const char *)sw->carry_w->corr_text.data + c->key_off;
}

/* The previous run's entry for correlation corr's group key, or NULL. */
struct carried_group *scan_corr_carried_find(struct sweep *sw, uint32_t corr, const char *key)
{
    size_t lo = 0, hi = sw->n_cgroups;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct carried_group *c = &sw->cgroups[mid];
        int cmp = c->corr != corr ? (c->corr < corr ? -1 : 1) : strcmp(carry_key(sw, c), key);
        if (cmp == 0)
            return &sw->cgroups[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Hand corr's group key its entries g[0..n) (already cut to what the next run needs) and
 * its quiet time. */
static enum lsf_code carry_group(struct sweep *sw, uint32_t corr, const char *key,
        const struct corr_ref *g, size_t n, int64_t quiet_until_ms, struct lsf_err *err)
{
    struct scan_carry out;

    if (n == 0 && quiet_until_ms <= sw->last_ts_ms)
        return LSF_OK;
    if (sw->n_carried + n > SCAN_CARRY_MAX_RECORDS) {
        size_t room = (size_t)(SCAN_CARRY_MAX_RECORDS - sw->n_carried);
        sw->n_carry_dropped += n - room;
        g += n - room; /* keep the newest */
        n = room;
    }
    if (n > sw->cap_out_recs) {
        struct scan_carry_rec *grown = realloc(sw->out_recs, n * sizeof(*grown));
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory carrying correlation state");
        sw->out_recs = grown;
        sw->cap_out_recs = n;
    }
    for (size_t k = 0; k < n; k++) {
        const struct scan_corr_rec *r = g[k].rec;
        sw->out_recs[k] = (struct scan_carry_rec){r->base_pos, ref_text(sw, &g[k], r->val_off),
                ref_input(sw, &g[k]), (enum frame_format)r->format, r->ts_ms, r->offset,
                r->ordinal};
    }
    sw->n_carried += n;
    out = (struct scan_carry){pat_set_rule(sw->run_eng->set, corr)->id, key, quiet_until_ms,
            sw->out_recs, n};
    return sw->carry->out(sw->carry->self, &out, err);
}

/* After g[0..n) was swept: from, the first entry after the group's last firing. */
enum lsf_code scan_corr_carry_rest(struct sweep *sw, const struct corr_ref *g, size_t n,
        size_t from, int64_t span, int64_t quiet_until_ms, struct lsf_err *err)
{
    if (sw->carry == NULL || sw->carry->out == NULL || span == PAT_CORR_WHOLE_RUN)
        return LSF_OK;
    /* The next run's events come at or after last_ts_ms: older entries can join no window. */
    while (from < n && g[from].ts_ms < sw->last_ts_ms - span)
        from++;
    return carry_group(sw, g[0].rec->corr, ref_key(sw, &g[0]), g + from, n - from,
            quiet_until_ms, err);
}

static int cmp_carried(const void *a, const void *b)
{
    const struct carried_group *x = a, *y = b;

    if (x->corr != y->corr)
        return x->corr < y->corr ? -1 : 1;
    return strcmp(carry_key(scan_corr_order->sw, x), carry_key(scan_corr_order->sw, y));
}

/* The correlation with this id that records entries (not a twin, not over the whole run),
 * or UINT32_MAX. */
static uint32_t carry_corr(const struct scan_engine *eng, const char *id)
{
    for (size_t c = 0; c < eng->n_rules; c++) {
        const struct pat_rule *r = pat_set_rule(eng->set, c);
        if (pat_rule_is_correlation(r) && strcmp(r->id, id) == 0)
            return eng->corr_twin[c] == c &&
                    pat_sigma_corr_timespan_ms(r->sigma) != PAT_CORR_WHOLE_RUN ?
                    (uint32_t)c : UINT32_MAX;
    }
    return UINT32_MAX;
}

/* Load the previous run's groups into cw (entries and names) and sw->cgroups. Groups of
 * correlations no longer loaded, or entries that no longer fit them, are left out. */
enum lsf_code scan_corr_carry_load(struct sweep *sw, const struct scan_carry_io *carry,
        struct scan_worker *cw, struct lsf_err *err)
{
    const struct scan_engine *eng = sw->run_eng;
    size_t n_recs = 0;
    uint32_t prev_corr = UINT32_MAX;

    lsf_buf_init(&cw->corr_text, UINT32_MAX);
    sw->last_ts_ms = carry->in_last_ts_ms;
    for (size_t i = 0; i < carry->n_in; i++)
        n_recs += carry->in[i].n_recs;
    if (n_recs > SCAN_CARRY_MAX_RECORDS)
        n_recs = SCAN_CARRY_MAX_RECORDS;
    cw->corr_recs = calloc(n_recs ? n_recs : 1, sizeof(*cw->corr_recs));
    sw->cgroups = calloc(carry->n_in ? carry->n_in : 1, sizeof(*sw->cgroups));
    if (cw->corr_recs == NULL || sw->cgroups == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory loading correlation state");
    cw->cap_corr_recs = n_recs;
    for (size_t i = 0; i < carry->n_in; i++) {
        const struct scan_carry *in = &carry->in[i];
        /* groups come correlation by correlation: look each id up once */
        uint32_t corr = i > 0 && strcmp(in->corr_id, carry->in[i - 1].corr_id) == 0 ?
                prev_corr : carry_corr(eng, in->corr_id);
        const struct pat_sigma_rule *sr;
        struct carried_group *cg;
        uint64_t key_hash;

        prev_corr = corr;
        if (corr == UINT32_MAX || strlen(in->key) >= SCAN_CORR_KEY_MAX)
            continue;
        sr = pat_set_rule(eng->set, corr)->sigma;
        cg = &sw->cgroups[sw->n_cgroups];
        cg->corr = corr;
        cg->key_off = scan_corr_keep_text(cw, in->key);
        key_hash = hash_text(in->key);
        cg->quiet_until_ms = pat_sigma_corr_type(sr) == PAT_CORR_EVENT_COUNT ||
                pat_sigma_corr_type(sr) == PAT_CORR_VALUE_COUNT ? in->quiet_until_ms : INT64_MIN;
        if (cg->key_off == UINT32_MAX)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory loading correlation state");
        sw->n_cgroups++;
        for (size_t k = 0; k < in->n_recs && cw->n_corr_recs < n_recs; k++) {
            const struct scan_carry_rec *cr = &in->recs[k];
            struct scan_corr_rec *rec = &cw->corr_recs[cw->n_corr_recs];

            if (cr->base_pos >= pat_sigma_corr_n_refs(sr) || (unsigned)cr->format >=
                    FRAME_N_FORMATS || strlen(cr->val) >= SCAN_CORR_VAL_MAX ||
                    (pat_sigma_corr_type(sr) == PAT_CORR_VALUE_COUNT && cr->val[0] == '\0'))
                continue;
            rec->corr = corr;
            rec->base_pos = (uint16_t)cr->base_pos;
            rec->key_off = cg->key_off;
            rec->key_hash = key_hash;
            rec->val_off = scan_corr_keep_text(cw, cr->val);
            rec->input = scan_corr_input_index(cw, cr->input);
            rec->up_off = UINT32_MAX; /* never ends a window, so no chain reads it */
            rec->format = (uint8_t)cr->format;
            rec->ts_ms = cr->ts_ms;
            rec->offset = cr->offset;
            rec->ordinal = cr->ordinal;
            if (rec->val_off == UINT32_MAX || rec->input == UINT32_MAX)
                return lsf_fail(err, LSF_E_NOMEM, "out of memory loading correlation state");
            cw->n_corr_recs++;
        }
    }
    scan_corr_order = &sw->octx;
    qsort(sw->cgroups, sw->n_cgroups, sizeof(*sw->cgroups), cmp_carried);
    /* Two entries for one group (a hand-edited file): keep the first. */
    for (size_t i = 1, k = 1; i <= sw->n_cgroups; i++) {
        if (i == sw->n_cgroups) {
            sw->n_cgroups = sw->n_cgroups ? k : 0;
            break;
        }
        if (cmp_carried(&sw->cgroups[i], &sw->cgroups[k - 1]) != 0)
            sw->cgroups[k++] = sw->cgroups[i];
    }
    return LSF_OK;
}

/* The end of the carry: groups carried in and not seen again whose quiet time goes on. */
enum lsf_code scan_corr_carry_finish(struct sweep *sw, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    if (sw->carry == NULL || sw->carry->out == NULL)
        return LSF_OK;
    for (size_t i = 0; i < sw->n_cgroups && rc == LSF_OK; i++) {
        const struct carried_group *c = &sw->cgroups[i];
        if (!c->is_seen)
            rc = carry_group(sw, c->corr, carry_key(sw, c), NULL, 0, c->quiet_until_ms, err);
    }
    if (rc == LSF_OK && sw->n_carry_dropped > 0) {
        struct lsf_err perr;
        lsf_err_clear(&perr);
        (void)lsf_fail(&perr, LSF_E_INPUT, "correlations: %llu matches were not carried to "
                "the next run: the carried state is full (%u matches); the oldest were "
                "dropped, so a burst spanning this run and the next may be missed",
                (unsigned long long)sw->n_carry_dropped, (unsigned)SCAN_CARRY_MAX_RECORDS);
        sw->sink->problem(sw->sink->self, &perr);
        sw->stats->n_problems++;
    }
    if (rc == LSF_OK && sw->carry->out_end != NULL)
        sw->carry->out_end(sw->carry->self, sw->last_ts_ms);
    return rc;
}
