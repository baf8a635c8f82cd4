/*
 * Private structures of the correlation module, shared by scan_corr.c (setup, recording,
 * spilling, the end of the run), scan_corr_order.c (the order of entries and its sort),
 * scan_corr_sweep.c (merge, sweep, firings) and scan_corr_carry.c (carry in and out).
 * Small helpers the hot paths call are static inline here, so each file inlines them.
 */
#ifndef SCAN_CORR_INT_H
#define SCAN_CORR_INT_H

#include "scan_int.h"
#include "scan_spill_int.h"

#include <string.h>

/*
 * One entry to sort, 32 bytes so qsort moves them directly. Entries are ordered by (level,
 * correlation, key hash, key text, time, then for temporal_ordered the base rule's position,
 * input name, offset, base rule's position): a group is a run of equal (level, correlation,
 * key), in time order inside. Groups follow their key hash, so the findings are buffered
 * and written in (correlation, group, time) order at the end. The order is total on what
 * the sweep reads, so sorted runs written by any worker at any time merge into one order.
 */
struct corr_ref {
    const struct scan_corr_rec *rec;
    uint64_t key_hash;
    int64_t ts_ms;
    uint32_t level_corr; /* level << CORR_BITS | correlation */
    uint16_t base_pos;
    uint16_t worker;     /* whose text and input names rec's offsets refer to */
};
#define CORR_BITS 24

/*
 * What a comparison needs besides the entries: a worker spilling its own entries (w, its
 * inputs' ranks in name order), or the end of the run (sw: every slot's text and ranks).
 * qsort has no context, so it is read from here, set around each sort by the thread that
 * sorts.
 */
struct order_ctx {
    const struct scan_engine *eng;
    const struct sweep *sw;
    const struct scan_worker *w;
    const uint32_t *w_rank;
};
extern _Thread_local const struct order_ctx *scan_corr_order;

static inline uint64_t hash_text(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Bytes of an ancestors' keys block (keep_up_keys), its final NUL included. */
static inline uint32_t up_blob_len(const char *up)
{
    const char *p = up;

    while (*p != '\0') {
        for (int field = 0; field < 3; field++) /* index, key, value */
            p += strlen(p) + 1;
    }
    return (uint32_t)(p - up + 1);
}

static inline bool is_ordered(const struct scan_engine *eng, uint32_t level_corr)
{
    const struct pat_rule *r = pat_set_rule(eng->set, level_corr & ((1u << CORR_BITS) - 1));

    return pat_sigma_corr_type(r->sigma) == PAT_CORR_TEMPORAL_ORDERED;
}

/* The order of two entries of one group at one time (see corr_ref). */
static inline int cmp_same_time(const struct scan_engine *eng, uint32_t level_corr, uint16_t bx,
        uint16_t by, uint32_t rx, uint32_t ry, uint64_t ox, uint64_t oy)
{
    /* temporal_ordered takes its base rules in their listed order, so it accepts steps the
     * log stamped with one time (CloudTrail has second resolution); the others take events
     * in input order, as they were written. */
    if (bx != by && is_ordered(eng, level_corr))
        return bx < by ? -1 : 1;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (ox != oy)
        return ox < oy ? -1 : 1;
    /* one event feeding two positions: by position, so no order is left to chance */
    return (bx > by) - (bx < by);
}

/* ---- end of run: merge and sweep ---- */

/* Every input name's rank in name order: rank[w][i] of input i of worker w or of the carry
 * worker (slot n_workers); names[rank] is the name. The group and chain slots (n_workers + 1
 * and + 2) keep the ranks themselves as their entries' inputs. */
struct input_ranks {
    uint32_t **rank;
    unsigned n_slots;
    char **names;
    size_t n_names;
};

struct sweep {
    const struct scan_engine *run_eng;
    const struct scan_worker *workers;
    const struct input_ranks *ranks;
    const struct pat_geoip *geoip; /* --geoip, or NULL */
    struct scan_sink *sink;
    struct scan_stats *stats;
    struct order_ctx octx;       /* this sweep's order (order_ctx) */
    struct lsf_buf out;
    struct chain_block *blocks;  /* newest first */
    struct corr_ref *chained;    /* firings waiting for their level's sweep */
    size_t n_chained, cap_chained;
    struct lsf_buf texts;        /* formatted findings and their keys, written at the end */
    struct held_finding *held;
    size_t n_held, cap_held;
    /* slots past the workers': the previous run's matches (carry, scan.h), the group being
     * swept (its copies of the merged entries), the firings kept for chained correlations */
    unsigned n_workers;
    const struct scan_worker *carry_w;
    struct scan_worker *group_w;
    struct scan_worker *chain_w;
    struct corr_ref *group_refs; /* the group being gathered (group_add) */
    size_t n_group_refs, cap_group_refs;
    uint64_t n_group_dropped;    /* past SCAN_CORR_MAX_RECORDS in one group */
    uint32_t dropped_corr;
    char dropped_key[SCAN_CORR_KEY_MAX];
    const struct scan_carry_io *carry;
    struct carried_group *cgroups; /* by (corr, key) */
    size_t n_cgroups;
    int64_t last_ts_ms;           /* the latest event time of this run and the carried ones */
    struct scan_carry_rec *out_recs;
    size_t cap_out_recs;
    uint64_t n_carried, n_carry_dropped;
};

/* A group the previous run carried: its key (in the carry worker's text) and quiet time. */
struct carried_group {
    uint32_t corr;
    uint32_t key_off;
    int64_t quiet_until_ms;
    bool is_seen; /* swept this run */
};

/* Firings kept as events of the correlations chained on them, in blocks that never move
 * (refs point into them). */
#define CHAIN_BLOCK 4096
struct chain_block {
    struct chain_block *next;
    size_t n;
    struct scan_corr_rec recs[CHAIN_BLOCK];
};

#define SLOT_GROUP(sw) ((sw)->n_workers + 1)
#define SLOT_CHAIN(sw) ((sw)->n_workers + 2)

/* A ref's slot, texts and input: inline, as the sorts' comparators and the sweep call them
 * for every entry. */
static inline const struct scan_worker *ref_worker(const struct sweep *sw, const struct corr_ref *r)
{
    if (r->worker < sw->n_workers)
        return &sw->workers[r->worker];
    if (r->worker == sw->n_workers)
        return sw->carry_w;
    return r->worker == SLOT_GROUP(sw) ? sw->group_w : sw->chain_w;
}

static inline const unsigned char *ref_base(const struct sweep *sw, const struct corr_ref *r)
{
    return ref_worker(sw, r)->corr_text.data;
}

static inline const char *ref_text(const struct sweep *sw, const struct corr_ref *r, uint32_t off)
{
    return (const char *)ref_base(sw, r) + off;
}

static inline const char *ref_key(const struct sweep *sw, const struct corr_ref *r)
{
    return ref_text(sw, r, r->rec->key_off);
}

static inline const char *ref_input(const struct sweep *sw, const struct corr_ref *r)
{
    if (r->worker > sw->n_workers)
        return sw->ranks->names[r->rec->input];
    return ref_worker(sw, r)->corr_inputs[r->rec->input];
}

static inline uint32_t ref_rank(const struct sweep *sw, const struct corr_ref *r)
{
    if (r->worker > sw->n_workers)
        return r->rec->input;
    return sw->ranks->rank[r->worker][r->rec->input];
}

/* scan_corr.c: the worker's text arena and input names (also the carry worker's). */
uint32_t scan_corr_keep_text(struct scan_worker *w, const char *s);
uint32_t scan_corr_input_index(struct scan_worker *w, const char *name);

/* scan_corr_order.c */
void scan_corr_ent_of_ref(const struct order_ctx *ctx, const struct corr_ref *r,
        struct scan_spill_ent *e, bool is_full);
void scan_corr_sort_refs(struct corr_ref *refs, size_t n);

/* scan_corr_sweep.c */
enum lsf_code scan_corr_merge_and_sweep(struct sweep *sw, struct lsf_err *err);
enum lsf_code scan_corr_write_held(struct sweep *sw, struct lsf_err *err);

/* scan_corr_carry.c */
struct carried_group *scan_corr_carried_find(struct sweep *sw, uint32_t corr, const char *key);
enum lsf_code scan_corr_carry_rest(struct sweep *sw, const struct corr_ref *g, size_t n,
        size_t from, int64_t span, int64_t quiet_until_ms, struct lsf_err *err);
enum lsf_code scan_corr_carry_load(struct sweep *sw, const struct scan_carry_io *carry,
        struct scan_worker *cw, struct lsf_err *err);
enum lsf_code scan_corr_carry_finish(struct sweep *sw, struct lsf_err *err);

#endif
