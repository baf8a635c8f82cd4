/*
 * scan_corr_order: the order of correlation entries (corr_ref, scan_corr_int.h) and the sort
 * that puts a worker's or a slot's entries in it (scan_corr_sort_refs: a radix sort, then
 * qsort for the rare ties it leaves). Workers sort before they spill (scan_corr.c), the end
 * of the run before it merges (scan_corr_sweep.c); the comparators live here with the sort,
 * the hot path (cmp_same_time, which the merge shares, is inline in scan_corr_int.h).
 */
#include "scan_corr_int.h"

#include <stdlib.h>
#include <string.h>

_Thread_local const struct order_ctx *scan_corr_order;

/* r as an entry: the fields the order reads, and with is_full also what a copy needs. */
void scan_corr_ent_of_ref(const struct order_ctx *ctx, const struct corr_ref *r,
        struct scan_spill_ent *e, bool is_full)
{
    const char *text = (const char *)(ctx->w ? ctx->w->corr_text.data : ref_base(ctx->sw, r));

    e->level_corr = r->level_corr;
    e->key_hash = r->key_hash;
    e->ts_ms = r->ts_ms;
    e->base_pos = r->base_pos;
    e->offset = r->rec->offset;
    e->key = text + r->rec->key_off;
    e->rank = ctx->w ? ctx->w_rank[r->rec->input] : ref_rank(ctx->sw, r);
    if (!is_full)
        return;
    e->val = text + r->rec->val_off;
    e->up = r->rec->up_off != UINT32_MAX ? text + r->rec->up_off : NULL;
    e->up_len = e->up != NULL ? up_blob_len(e->up) : 0;
    e->input = r->rec->input;
    e->format = r->rec->format;
    e->ordinal = r->rec->ordinal;
}

/* cmp_ent on refs, reading only what each step needs (the sorts' hot path). */
static int cmp_ref_order(const void *a, const void *b)
{
    const struct corr_ref *x = a, *y = b;
    const struct order_ctx *ctx = scan_corr_order;
    const char *tx, *ty;
    int c;

    if (x->level_corr != y->level_corr)
        return x->level_corr < y->level_corr ? -1 : 1;
    if (x->key_hash != y->key_hash)
        return x->key_hash < y->key_hash ? -1 : 1;
    tx = (const char *)(ctx->w ? ctx->w->corr_text.data : ref_base(ctx->sw, x));
    ty = (const char *)(ctx->w ? ctx->w->corr_text.data : ref_base(ctx->sw, y));
    if ((c = strcmp(tx + x->rec->key_off, ty + y->rec->key_off)) != 0)
        return c;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return cmp_same_time(ctx->eng, x->level_corr, x->base_pos, y->base_pos,
            ctx->w ? ctx->w_rank[x->rec->input] : ref_rank(ctx->sw, x),
            ctx->w ? ctx->w_rank[y->rec->input] : ref_rank(ctx->sw, y), x->rec->offset,
            y->rec->offset);
}

/* Do x and y have one group key text? One slot keeps equal texts once (keep_shared_text),
 * so one offset there is one text. */
static bool same_key_text(const struct order_ctx *ctx, const struct corr_ref *x,
        const struct corr_ref *y)
{
    const char *tx, *ty;

    if ((ctx->w != NULL || x->worker == y->worker) && x->rec->key_off == y->rec->key_off)
        return true;
    tx = (const char *)(ctx->w ? ctx->w->corr_text.data : ref_base(ctx->sw, x));
    ty = (const char *)(ctx->w ? ctx->w->corr_text.data : ref_base(ctx->sw, y));
    return strcmp(tx + x->rec->key_off, ty + y->rec->key_off) == 0;
}

/* cmp_ref_order's tie-breaks for two entries of one group at one time. */
static int cmp_ref_same_time(const struct order_ctx *ctx, const struct corr_ref *x,
        const struct corr_ref *y)
{
    return cmp_same_time(ctx->eng, x->level_corr, x->base_pos, y->base_pos,
            ctx->w ? ctx->w_rank[x->rec->input] : ref_rank(ctx->sw, x),
            ctx->w ? ctx->w_rank[y->rec->input] : ref_rank(ctx->sw, y), x->rec->offset,
            y->rec->offset);
}

/* The radix sort of scan_corr_sort_refs: 11-bit digits (the counts stay in cache), least
 * significant first: the time since the earliest entry (in seconds when every entry is on a
 * whole one, as many digits as the range needs), the top 33 bits of the key hash (three
 * digits: groups that share them are rare and put in order afterwards), then level_corr
 * (three). */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_TIME_MAX 6   /* digits of a 64-bit time range */
#define RADIX_HASH_SHIFT 31 /* key hash bits below the sorted ones */
#define RADIX_HASH_PASSES 3
#define RADIX_CORR_PASSES 3
_Static_assert(RADIX_HASH_SHIFT + RADIX_HASH_PASSES * RADIX_BITS == 64,
        "the hash digits cover the hash from RADIX_HASH_SHIFT up");
_Static_assert(RADIX_CORR_PASSES * RADIX_BITS >= 32, "the level_corr digits cover it");

struct radix_plan {
    unsigned n_time;  /* time digits */
    unsigned n_passes;
    int64_t min_ts_ms;
    bool is_whole_s; /* every entry on a whole second: times in seconds */
};

static unsigned radix_digit(const struct radix_plan *rp, const struct corr_ref *r,
        unsigned pass)
{
    if (pass < rp->n_time) {
        uint64_t t = (uint64_t)r->ts_ms - (uint64_t)rp->min_ts_ms;
        if (rp->is_whole_s)
            t /= 1000; /* a constant: no division instruction */
        return (unsigned)(t >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1);
    }
    pass -= rp->n_time;
    if (pass < RADIX_HASH_PASSES)
        return (unsigned)(r->key_hash >> (RADIX_HASH_SHIFT + pass * RADIX_BITS)) &
                (RADIX_SIZE - 1);
    pass -= RADIX_HASH_PASSES;
    return (r->level_corr >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1);
}

static void radix_plan_init(struct radix_plan *rp, const struct corr_ref *refs, size_t n)
{
    uint64_t range = 0;

    rp->min_ts_ms = INT64_MAX;
    rp->is_whole_s = true;
    rp->n_time = 0;
    for (size_t i = 0; i < n; i++) {
        if (refs[i].ts_ms < rp->min_ts_ms)
            rp->min_ts_ms = refs[i].ts_ms;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t = (uint64_t)refs[i].ts_ms - (uint64_t)rp->min_ts_ms;
        if (t % 1000 != 0)
            rp->is_whole_s = false;
        if (t > range)
            range = t;
    }
    if (rp->is_whole_s)
        range /= 1000;
    while (rp->n_time < RADIX_TIME_MAX && (range >> (rp->n_time * RADIX_BITS)) != 0)
        rp->n_time++;
    rp->n_passes = rp->n_time + RADIX_HASH_PASSES + RADIX_CORR_PASSES;
}

static bool same_radix_key(const struct corr_ref *x, const struct corr_ref *y)
{
    return x->level_corr == y->level_corr &&
            x->key_hash >> RADIX_HASH_SHIFT == y->key_hash >> RADIX_HASH_SHIFT;
}

/* After the radix sort: do the entries of refs[a..b) (one level_corr and top of the key
 * hash) differ in the rest of the hash or in the key text? */
static bool has_key_twins(const struct order_ctx *ctx, const struct corr_ref *refs, size_t a,
        size_t b)
{
    for (size_t i = a + 1; i < b; i++) {
        if (refs[i].key_hash != refs[a].key_hash || !same_key_text(ctx, &refs[a], &refs[i]))
            return true;
    }
    return false;
}

/*
 * refs[0..n) in cmp_ref_order order (scan_corr_order must be set): a stable radix sort by
 * (level_corr, top of the key hash, time); then a run of one level_corr and top whose full
 * hashes or keys differ (rare) by qsort, and in the others the entries of one time by
 * cmp_same_time, which is nearly always one pass that finds them in order (a worker records
 * its matches in input order). Out of memory for the radix sort: qsort alone.
 */
void scan_corr_sort_refs(struct corr_ref *refs, size_t n)
{
    const struct order_ctx *ctx = scan_corr_order;
    size_t(*count)[RADIX_SIZE];
    struct corr_ref *tmp, *src = refs, *dst;
    struct radix_plan rp;

    if (n < 2)
        return;
    radix_plan_init(&rp, refs, n);
    count = calloc(rp.n_passes, sizeof(*count));
    tmp = malloc(n * sizeof(*tmp));
    if (count == NULL || tmp == NULL) {
        free(count);
        free(tmp);
        qsort(refs, n, sizeof(*refs), cmp_ref_order); /* in place: needs no buffer of ours */
        return;
    }
    dst = tmp;
    for (size_t i = 0; i < n; i++) {
        for (unsigned p = 0; p < rp.n_passes; p++)
            count[p][radix_digit(&rp, &refs[i], p)]++;
    }
    for (unsigned p = 0; p < rp.n_passes; p++) {
        size_t at = 0;
        struct corr_ref *t;
        if (count[p][radix_digit(&rp, &src[0], p)] == n)
            continue; /* one digit for all: nothing would move */
        for (unsigned d = 0; d < RADIX_SIZE; d++) {
            size_t c = count[p][d];
            count[p][d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[p][radix_digit(&rp, &src[i], p)]++] = src[i];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != refs)
        memcpy(refs, src, n * sizeof(*refs));
    free(count);
    free(tmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && same_radix_key(&refs[b], &refs[a]))
            b++;
        if (has_key_twins(ctx, refs, a, b)) {
            qsort(refs + a, b - a, sizeof(*refs), cmp_ref_order);
            a = b;
            continue;
        }
        while (a < b) { /* one time at a time */
            size_t e = a + 1;
            bool is_sorted = true;
            for (; e < b && refs[e].ts_ms == refs[a].ts_ms; e++) {
                if (is_sorted && cmp_ref_same_time(ctx, &refs[e - 1], &refs[e]) > 0)
                    is_sorted = false;
            }
            if (!is_sorted)
                qsort(refs + a, e - a, sizeof(*refs), cmp_ref_order);
            a = e;
        }
    }
}
