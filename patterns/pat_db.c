/*
 * pat_db: turns a rule set into one Hyperscan block-mode database, through the cache when
 * there is one.
 *
 * Every non-combination pattern (quiet ones included: combinations need their hits) goes to
 * hs_compile_ext_multi with its index in the set as the match id, so the engine maps a match
 * to a pattern with no table. Patterns the set dropped (Sigma literals no rule is triggered
 * by, see pat_rules.c) stay out. Combinations stay out of Hyperscan: pat_cond.c says why.
 *
 * Compile failures must name the rule. Hyperscan's hs_compile_error_t gives the index of the
 * guilty expression, which is our pattern index, so the message can carry file:line, ID and
 * regex. Some refusals are not tied to an expression (index -1, e.g. "Resource limit
 * exceeded." when a bounded repeat blows a limit while the set is built); for those we compile
 * the patterns one by one, which is slow but only happens on this failure path, until the
 * guilty one refuses on its own, and name it. Size refusals get advice of their own, since the
 * fix is to split the pattern or shrink its repeats, not to correct the syntax.
 *
 * The database is compiled once and shared read-only by all workers; each worker clones its
 * own scratch from it (see the engine).
 */
#include "pat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Past this many patterns, a refusal without an expression index is not traced to one pattern
 * (one compile per pattern would take too long); the message then names the set. */
#define PAT_LOCATE_MAX 5000

/* Longest regex shown in a message before it is cut with "...". */
#define PAT_SHOWN_MAX 120

struct pat_db {
    hs_database_t *hs;
    bool is_from_cache;
    double build_ms;
    char note[LSF_ERR_MSG_MAX]; /* empty: nothing to say */
};

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* Hyperscan 5.4's wording when a pattern or the set outgrows its limits. */
static bool is_size_refusal(const char *msg)
{
    return strstr(msg, "too large") != NULL || strstr(msg, "Resource limit") != NULL ||
            strstr(msg, "exceeds limit") != NULL;
}

/* Length of a Hyperscan message without its final period. */
static int msg_len(const char *msg)
{
    size_t n = strlen(msg);

    if (n > 0 && msg[n - 1] == '.')
        n--;
    return (int)n;
}

static enum lsf_code refuse_pattern(const struct pat_set *set, size_t idx, const char *msg,
        struct lsf_err *err)
{
    const struct pat_pattern *pat = pat_set_pattern(set, idx);
    size_t n = strlen(pat->expr);
    const char *advice;

    if (is_size_refusal(msg))
        advice = "the pattern is too big for Hyperscan: split it into smaller patterns (joined "
                 "by a combination if need be) or reduce its bounded repeats such as {1000}";
    else if (strstr(msg, "empty buffer") != NULL)
        advice = "make it require at least one character, or add the V flag if that is meant";
    else
        advice = "fix the regex (Hyperscan supports a subset of PCRE: no backreferences or "
                 "lookarounds)";
    /* Hyperscan's sentences end with '.'; ours continue after a ';'. */
    return lsf_fail(err, LSF_E_RULE, "%s:%u: pattern %u /%.*s%s/: Hyperscan refused it: %.*s; %s",
            pat->file, pat->line, pat->id, (int)(n > PAT_SHOWN_MAX ? PAT_SHOWN_MAX : n),
            pat->expr, n > PAT_SHOWN_MAX ? "..." : "", msg_len(msg), msg, advice);
}

/* The set was refused without naming an expression: find the pattern that fails alone. */
static enum lsf_code refuse_set(const struct pat_set *set, const char *msg, struct lsf_err *err)
{
    size_t n = pat_set_n_patterns(set);

    for (size_t i = 0; n <= PAT_LOCATE_MAX && i < n; i++) {
        const struct pat_pattern *pat = pat_set_pattern(set, i);
        const char *expr = pat->expr;
        const hs_expr_ext_t *ext = &pat->ext;
        unsigned id = 0;
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;

        if (pat->is_dropped)
            continue;
        if (hs_compile_ext_multi(&expr, &pat->hs_flags, &id, &ext, 1, HS_MODE_BLOCK, NULL, &db,
                    &ce) != HS_SUCCESS) {
            enum lsf_code rc = refuse_pattern(set, i, ce ? ce->message : msg, err);
            hs_free_compile_error(ce);
            return rc;
        }
        hs_free_database(db);
    }
    if (is_size_refusal(msg))
        return lsf_fail(err, LSF_E_RULE, "the rule set (%zu patterns) is too big for Hyperscan: "
                "%.*s; split the rule files into smaller sets or drop the largest patterns", n,
                msg_len(msg), msg);
    return lsf_fail(err, LSF_E_RULE, "Hyperscan refused the rule set (%zu patterns): %.*s; no "
            "single pattern fails alone, so please report this with the rule files", n,
            msg_len(msg), msg);
}

static enum lsf_code compile_set(const struct pat_set *set, hs_database_t **out,
        struct lsf_err *err)
{
    size_t n = pat_set_n_patterns(set);
    const char **exprs = calloc(n, sizeof(*exprs));
    unsigned *flags = calloc(n, sizeof(*flags));
    unsigned *ids = calloc(n, sizeof(*ids));
    const hs_expr_ext_t **exts = calloc(n, sizeof(*exts));
    size_t n_compiled = 0;
    hs_compile_error_t *ce = NULL;
    hs_error_t hrc;
    enum lsf_code rc = LSF_OK;

    if (exprs == NULL || flags == NULL || ids == NULL || exts == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory preparing %zu patterns to compile", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pat_pattern *pat = pat_set_pattern(set, i);
        if (pat->is_dropped)
            continue;
        exprs[n_compiled] = pat->expr;
        flags[n_compiled] = pat->hs_flags;
        ids[n_compiled] = (unsigned)i;
        exts[n_compiled++] = pat->ext.flags ? &pat->ext : NULL;
    }
    hrc = hs_compile_ext_multi(exprs, flags, ids, exts, (unsigned)n_compiled, HS_MODE_BLOCK, NULL,
            out, &ce);
    if (hrc == HS_COMPILER_ERROR && ce != NULL) {
        if (ce->expression >= 0 && (size_t)ce->expression < n_compiled)
            rc = refuse_pattern(set, ids[ce->expression], ce->message, err);
        else
            rc = refuse_set(set, ce->message, err);
    } else if (hrc == HS_NOMEM) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory compiling %zu patterns", n);
    } else if (hrc != HS_SUCCESS) {
        rc = lsf_fail(err, LSF_E_INTERNAL, "hs_compile_ext_multi failed with error %d on %zu "
                "patterns; please report this as a bug", (int)hrc, n);
    }
out:
    hs_free_compile_error(ce);
    free(exprs);
    free(flags);
    free(ids);
    free(exts);
    return rc;
}

enum lsf_code pat_db_build(const struct pat_set *set, const char *cache_dir, struct pat_db **out,
        struct lsf_err *err)
{
    struct pat_db *db = NULL;
    struct timespec t0, t1;
    unsigned char key[32];
    bool has_key = false;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pat_set_n_patterns(set) == 0)
        return lsf_fail(err, LSF_E_USAGE, "the rule set has no patterns to compile; give a "
                "rules file with at least one pattern, or keep the default pack");
    if (hs_valid_platform() != HS_SUCCESS)
        return lsf_fail(err, LSF_E_USAGE, "Hyperscan cannot run on this CPU (it needs SSSE3); "
                "run logsift on a newer x86-64 machine");
    db = calloc(1, sizeof(*db));
    if (db == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating a database");
    if (cache_dir != NULL && cache_dir[0] != '\0') {
        has_key = pat_cache_key(set, key);
        if (!has_key)
            snprintf(db->note, sizeof(db->note), "%s: could not hash the rules (OpenSSL "
                    "SHA-256 failed); compiled without the cache", cache_dir);
        else
            db->is_from_cache = pat_cache_load(cache_dir, key, &db->hs, db->note,
                    sizeof(db->note));
    }
    if (!db->is_from_cache) {
        rc = compile_set(set, &db->hs, err);
        if (rc != LSF_OK)
            goto out;
        if (has_key) {
            char store_note[LSF_ERR_MSG_MAX] = "";
            pat_cache_store(cache_dir, key, db->hs, store_note, sizeof(store_note));
            if (store_note[0] != '\0')
                memcpy(db->note, store_note, sizeof(db->note));
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    db->build_ms = ms_between(&t0, &t1);
    *out = db;
    db = NULL;
out:
    pat_db_free(db);
    return rc;
}

void pat_db_free(struct pat_db *db)
{
    if (db == NULL)
        return;
    hs_free_database(db->hs);
    free(db);
}

const hs_database_t *pat_db_hs(const struct pat_db *db)
{
    return db->hs;
}

bool pat_db_from_cache(const struct pat_db *db)
{
    return db->is_from_cache;
}

double pat_db_build_ms(const struct pat_db *db)
{
    return db->build_ms;
}

const char *pat_db_cache_note(const struct pat_db *db)
{
    return db->note[0] != '\0' ? db->note : NULL;
}
