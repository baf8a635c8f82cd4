/*
 * Rule evaluation: combinations give the truth table of their boolean expression (with
 * Hyperscan's precedence ! > & > |) over every subset of hits; hits outside a rule do not
 * matter; long left-nested chains evaluate within the fixed stack; malformed code is false.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pat.h"

/* Patterns 1, 2, 3 are indexes 0, 1, 2; pattern 4 (index 3) is in no combination. */
static const char base[] = "1:/a/Q\n2:/b/Q\n3:/c/Q\n4:/d/Q\n";

struct case_ {
    const char *expr;
    bool (*truth)(bool a, bool b, bool c);
};

static bool t_and(bool a, bool b, bool c)
{
    (void)c;
    return a && b;
}

static bool t_or(bool a, bool b, bool c)
{
    (void)c;
    return a || b;
}

static bool t_and_not(bool a, bool b, bool c)
{
    (void)c;
    return a && !b;
}

static bool t_prec_or_and(bool a, bool b, bool c)
{
    return a || (b && c);
}

static bool t_prec_and_or(bool a, bool b, bool c)
{
    return (a && b) || c;
}

static bool t_not_binds_tightest(bool a, bool b, bool c)
{
    return (!a && b) || c;
}

static bool t_parens(bool a, bool b, bool c)
{
    return a && (b || c);
}

static bool t_not_group(bool a, bool b, bool c)
{
    return !(a && b) && c;
}

static bool t_double_not(bool a, bool b, bool c)
{
    (void)c;
    return a && b;
}

static bool t_hyperscan_example(bool a, bool b, bool c)
{
    /* ((1 | 2) & 3) & (1 | !2): Hyperscan's dev reference style, shifted to three IDs. */
    return ((a || b) && c) && (a || !b);
}

static bool t_single(bool a, bool b, bool c)
{
    (void)b;
    (void)c;
    return a;
}

static const struct case_ cases[] = {
    {"1 & 2", t_and},
    {"1|2", t_or},
    {"1 & !2", t_and_not},
    {"1 | 2 & 3", t_prec_or_and},
    {"1 & 2 | 3", t_prec_and_or},
    {"!1 & 2 | 3", t_not_binds_tightest},
    {"1 & (2 | 3)", t_parens},
    {"!(1 & 2) & 3", t_not_group},
    {"!!1 & 2", t_double_not},
    {"((1 | 2) & 3) & (1 | !2)", t_hyperscan_example},
    {"(((1)))", t_single},
};

static void test_combinations_follow_their_truth_tables(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct pat_set *set = NULL;
        struct lsf_err err;
        char text[256];
        const struct pat_rule *rule;

        lsf_err_clear(&err);
        assert_int_equal(pat_set_new(&set, &err), LSF_OK);
        snprintf(text, sizeof(text), "%s9:/%s/C\n", base, cases[k].expr);
        if (pat_set_add_text(set, "t.rules", text, strlen(text), &err) != LSF_OK)
            fail_msg("%s: %s", cases[k].expr, err.msg);
        assert_int_equal(pat_set_n_rules(set), 1);
        rule = pat_set_rule(set, 0);
        /* Every subset of the four patterns; the fourth never changes the outcome. */
        for (unsigned mask = 0; mask < 16; mask++) {
            unsigned hits[4];
            size_t n = 0;
            bool want = cases[k].truth(mask & 1, mask & 2, mask & 4);

            for (unsigned i = 0; i < 4; i++) {
                if (mask & (1u << i))
                    hits[n++] = i;
            }
            if (pat_rule_eval(rule, hits, n) != want)
                fail_msg("%s with hit mask %u: expected %d", cases[k].expr, mask, want);
        }
        pat_set_free(set);
    }
}

static void test_plain_pattern_rule_fires_only_on_its_own_hit(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    const char text[] = "1:/a/\n2:/b/\n3:/c/\n";
    const unsigned hits_b[] = {1};
    const unsigned hits_ac[] = {0, 2};
    const unsigned many[] = {0, 2, 5, 9, 11, 40, 41, 1000};

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_set_add_text(set, "t.rules", text, strlen(text), &err), LSF_OK);
    assert_false(pat_rule_eval(pat_set_rule(set, 0), NULL, 0));
    assert_false(pat_rule_eval(pat_set_rule(set, 0), hits_b, 1));
    assert_true(pat_rule_eval(pat_set_rule(set, 1), hits_b, 1));
    assert_true(pat_rule_eval(pat_set_rule(set, 2), hits_ac, 2));
    assert_false(pat_rule_eval(pat_set_rule(set, 1), hits_ac, 2));
    assert_true(pat_rule_eval(pat_set_rule(set, 2), many, 8));
    assert_false(pat_rule_eval(pat_set_rule(set, 1), many, 8));
    pat_set_free(set);
}

static void test_long_left_nested_chain_fits_the_fixed_stack(void **state)
{
    /* 1 | 2 | ... | 200 only ever keeps two operands pending. */
    static char text[8192];
    size_t n = 0;
    struct pat_set *set = NULL;
    struct lsf_err err;
    const struct pat_rule *rule;
    unsigned hit;

    (void)state;
    for (unsigned i = 1; i <= 200; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%u:/p%u/Q\n", i, i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "999:/");
    for (unsigned i = 1; i <= 200; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%u", i > 1 ? " | " : "", i);
    snprintf(text + n, sizeof(text) - n, "/C\n");
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_set_add_text(set, "t.rules", text, strlen(text), &err), LSF_OK);
    rule = pat_set_rule(set, 0);
    assert_int_equal(rule->n_code, 399);
    for (hit = 0; hit < 200; hit++)
        assert_true(pat_rule_eval(rule, &hit, 1));
    hit = 500;
    assert_false(pat_rule_eval(rule, &hit, 1));
    assert_false(pat_rule_eval(rule, NULL, 0));
    pat_set_free(set);
}

static void test_malformed_code_evaluates_to_false(void **state)
{
    struct pat_instr underflow[] = {{PAT_OP_HIT, 0}, {PAT_OP_AND, 0}};
    struct pat_instr leftover[] = {{PAT_OP_HIT, 0}, {PAT_OP_HIT, 0}};
    struct pat_instr not_empty[] = {{PAT_OP_NOT, 0}};
    struct pat_instr bad_op[] = {{PAT_OP_HIT, 0}, {(enum pat_op)77, 0}};
    struct pat_rule rule;
    const unsigned hit = 0;

    (void)state;
    memset(&rule, 0, sizeof(rule));
    rule.code = underflow;
    rule.n_code = 2;
    assert_false(pat_rule_eval(&rule, &hit, 1));
    rule.code = leftover;
    assert_false(pat_rule_eval(&rule, &hit, 1));
    rule.code = bad_op;
    assert_false(pat_rule_eval(&rule, &hit, 1));
    rule.code = not_empty;
    rule.n_code = 1;
    assert_false(pat_rule_eval(&rule, &hit, 1));
    rule.n_code = 0;
    assert_false(pat_rule_eval(&rule, &hit, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combinations_follow_their_truth_tables),
        cmocka_unit_test(test_plain_pattern_rule_fires_only_on_its_own_hit),
        cmocka_unit_test(test_long_left_nested_chain_fits_the_fixed_stack),
        cmocka_unit_test(test_malformed_code_evaluates_to_false),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
