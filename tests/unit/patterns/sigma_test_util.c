#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hs.h>

#include "pat.h"
#include "pat_sigma.h"
#include "sigma_test_util.h"

/* Hyperscan match callback: the distinct pattern ids, hits[0] counting them. */
static int on_hit(unsigned int id, unsigned long long from, unsigned long long to,
        unsigned int flags, void *ctx)
{
    unsigned *hits = ctx;

    (void)from;
    (void)to;
    (void)flags;
    for (unsigned i = 1; i <= hits[0]; i++) {
        if (hits[i] == id)
            return 0;
    }
    if (hits[0] < 255)
        hits[++hits[0]] = id;
    return 0;
}

/* The engine's prefilter: the rule (index 0) is listed under a pattern that hit, i.e. some
 * pattern of its trigger set hit (pat_set_rules_of_pattern). */
static bool is_triggered(const struct pat_set *set, const unsigned *hits)
{
    for (unsigned i = 1; i <= hits[0]; i++) {
        size_t n;
        const unsigned *rules = pat_set_rules_of_pattern(set, hits[i], &n);
        for (size_t r = 0; r < n; r++) {
            if (rules[r] == 0)
                return true;
        }
    }
    return false;
}

bool sigma_test_eval(const char *yaml, const char *event, bool is_json,
        const struct pat_geoip *geo)
{
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct pat_sigma_event *ev = NULL;
    struct lsf_err err;
    const struct pat_rule *rule;
    unsigned hits[256] = {0};
    bool is_match, is_pre = true;

    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    if (pat_sigma_add_text(set, "t.yml", yaml, strlen(yaml), &err) != LSF_OK)
        fail_msg("rule refused: %s", err.msg);
    assert_int_equal(pat_set_n_rules(set), 1);
    rule = pat_set_rule(set, 0);
    assert_non_null(rule->sigma);
    assert_int_equal(pat_sigma_event_new(set, &ev, &err), LSF_OK);
    pat_sigma_event_set_geoip(ev, geo);
    pat_sigma_event_reset(ev, (const unsigned char *)event, strlen(event), is_json);
    is_match = pat_sigma_rule_match(rule->sigma, ev);
    if (rule->n_code > 0) {
        hs_scratch_t *scratch = NULL;
        assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
        assert_int_equal(hs_alloc_scratch(pat_db_hs(db), &scratch), HS_SUCCESS);
        assert_int_equal(hs_scan(pat_db_hs(db), event, (unsigned)strlen(event), 0, scratch,
                                 on_hit, hits),
                HS_SUCCESS);
        hs_free_scratch(scratch);
        is_pre = is_triggered(set, hits);
    } else {
        assert_non_null(strstr(pat_sigma_rule_info(rule->sigma), "not prefiltered"));
    }
    if (is_match && !is_pre)
        fail_msg("prefilter misses a match: %s\non %s", pat_sigma_rule_info(rule->sigma),
                event);
    pat_sigma_event_free(ev);
    pat_db_free(db);
    pat_set_free(set);
    return is_match;
}
