/*
 * Sigma glob values: the segment plans (pat_sigma_glob.c) against the general backtracking
 * matcher, shape by shape and on edge cases (empty literals, escaped wildcards, case folding
 * of non-ASCII bytes, literals at the very start or end), then on random values and texts
 * over a small alphabet where the two must agree everywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pat_sigma_int.h"

/* A value as make_glob builds it: '*' and '?' are wildcards, "\*" "\?" "\\" literal. */
static void value_init(struct sg_value *v, const char *spec, bool is_cased)
{
    size_t n = strlen(spec), k = 0;

    memset(v, 0, sizeof(*v));
    v->kind = SG_GLOB;
    v->text = malloc(n + 1);
    v->wild = malloc(n + 1);
    assert_non_null(v->text);
    assert_non_null(v->wild);
    for (size_t i = 0; i < n; i++) {
        if (spec[i] == '\\' && (spec[i + 1] == '*' || spec[i + 1] == '?' || spec[i + 1] == '\\')) {
            v->text[k] = spec[++i];
            v->wild[k++] = 0;
        } else {
            v->text[k] = spec[i];
            v->wild[k++] = spec[i] == '*' || spec[i] == '?';
        }
    }
    v->len = k;
    v->is_cased = is_cased;
    assert_int_equal(sg_glob_plan_build(v), LSF_OK);
}

static void value_cleanup(struct sg_value *v)
{
    sg_glob_plan_free(v->plan);
    free(v->text);
    free(v->wild);
}

/* The planned and general matchers agree, and the answer is want. */
static void check(const char *spec, bool is_cased, const char *s, size_t n, bool want)
{
    struct sg_value v;
    bool planned, general;

    value_init(&v, spec, is_cased);
    planned = sg_glob_match(&v, s, n);
    general = sg_glob_match_general(&v, s, n);
    if (planned != want || general != want)
        fail_msg("'%s'%s on '%.*s': planned %d, general %d, want %d", spec,
                is_cased ? " (cased)" : "", (int)n, s, planned, general, want);
    value_cleanup(&v);
}

static void yes(const char *spec, const char *s)
{
    check(spec, false, s, strlen(s), true);
}

static void no(const char *spec, const char *s)
{
    check(spec, false, s, strlen(s), false);
}

static void test_shapes_get_a_plan_and_question_marks_do_not(void **state)
{
    const char *planned[] = {"", "abc", "abc*", "*abc", "*abc*", "*", "**", "*a*b*", "a**b",
            "\\?x*", "x\\**"};
    const char *general[] = {"?", "a?c", "*a?*", "*?"};
    struct sg_value v;

    (void)state;
    for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++) {
        value_init(&v, planned[i], false);
        if (v.plan == NULL)
            fail_msg("'%s' has no plan", planned[i]);
        value_cleanup(&v);
    }
    for (size_t i = 0; i < sizeof(general) / sizeof(general[0]); i++) {
        value_init(&v, general[i], false);
        if (v.plan != NULL)
            fail_msg("'%s' has a plan though '?' needs the general matcher", general[i]);
        value_cleanup(&v);
    }
}

static void test_exact(void **state)
{
    (void)state;
    yes("", "");
    no("", "a");
    yes("Failed password", "failed PASSWORD");
    no("Failed password", "Failed password ");
    no("Failed password", "Failed passwor");
    no("abc", "");
}

static void test_prefix_suffix_contains(void **state)
{
    (void)state;
    yes("sshd*", "sshd[42]");
    yes("sshd*", "SSHD");
    no("sshd*", "xsshd");
    yes("*.exe", "C:\\a.EXE");
    no("*.exe", "a.exe ");
    yes("*invalid user *", "Nov 26 sshd[1]: Invalid user bob from 10.0.0.1");
    yes("*invalid user *", "invalid user ");      /* literal is the whole text */
    yes("*Accepted *", "Accepted password for x"); /* at the very start */
    yes("*for x*", "Accepted password for x");     /* at the very end */
    no("*invalid user *", "invalid user");
    no("*invalid user *", "");
    yes("*", "");
    yes("**", "anything");
    yes("*a*b*", "xxAyyBzz");
    no("*a*b*", "xxByyAzz");
    yes("a**b", "ab");
    yes("ab*ba", "abba");
    no("ab*ba", "aba"); /* prefix and suffix may not share bytes */
    yes("*aab*", "aaaab"); /* a near miss before the match */
    yes("*: Invalid user * from *", "sshd[9]: Invalid user  from 1.2.3.4");
    no("*: Invalid user * from *", "sshd[9] Invalid user x from 1.2.3.4");
}

static void test_escaped_wildcards_are_literal(void **state)
{
    (void)state;
    yes("*a\\*b*", "xa*by");
    no("*a\\*b*", "xaZby");
    yes("\\?x*", "?xyz");
    no("\\?x*", "axyz");
    yes("*100%\\?", "is it 100%?"); /* "\\?" is a literal '?' */
    no("*100%\\?", "is it 100%!");
    yes("*\\\\*", "C:\\Windows");
}

static void test_case_folding_is_ascii_only(void **state)
{
    (void)state;
    /* 0xC3 0x89 is "É", 0xC3 0xA9 "é": bytes other than A-Z are compared as they are */
    yes("*caf\xc3\xa9*", "a CAF\xc3\xa9 here");
    no("*caf\xc3\xa9*", "a caf\xc3\x89 here");
    yes("*\xc3\x89t\xc3\xa9*", "\xc3\x89T\xc3\xa9");
    no("*[*", "{"); /* '[' (0x5B) and '{' (0x7B) differ by 0x20 but are not letters */
    no("*@*", "`");
    yes("*@*", "a@b");
    /* a letter anchor is looked for in both cases, the nearer first */
    yes("*root*", "user=ROOT");
    yes("*root*", "RoOt");
    no("*root*", "r00t");
    yes("*publickey for *", "PUBLICKEY KEY publicKey For x");
    yes("*kk*", "kKkK");
    no("*kkk*", "kK-kK");
}

static void test_cased_keeps_case(void **state)
{
    static const char s[] = "Accepted password for Root";

    (void)state;
    check("*password for Root*", true, s, strlen(s), true);
    check("*password for root*", true, s, strlen(s), false);
    check("*password for root*", false, s, strlen(s), true);
    check("accepted*", true, s, strlen(s), false);
    check("Accepted*", true, s, strlen(s), true);
    check("*ROOT", true, s, strlen(s), false);
    check("*Root", true, s, strlen(s), true);
}

static void test_text_with_nul_bytes(void **state)
{
    static const char s[] = "ab\0cd";

    (void)state;
    check("*cd", false, s, 5, true);
    check("ab*", false, s, 5, true);
    check("*b*c*", false, s, 5, true);
    check("*bc*", false, s, 5, false);
}

/* Deterministic pseudo-random numbers (xorshift64), so a failure repeats. */
static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_random_values_agree_with_the_general_matcher(void **state)
{
    /* few symbols, so matches, near misses and repeats are all common */
    static const char value_syms[] = "aAb**?\xe9 ";
    static const char text_syms[] = "aAbB*?\xe9\xc9";
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned n_true = 0, n_planned = 0;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        char spec[16], text[24];
        size_t n_spec = next_rand(&x) % 9, n_text = next_rand(&x) % 10;
        bool is_cased = next_rand(&x) % 4 == 0;
        struct sg_value v;
        bool planned, general;

        for (size_t i = 0; i < n_spec; i++)
            spec[i] = value_syms[next_rand(&x) % (sizeof(value_syms) - 1)];
        spec[n_spec] = '\0';
        for (size_t i = 0; i < n_text; i++)
            text[i] = text_syms[next_rand(&x) % (sizeof(text_syms) - 1)];
        value_init(&v, spec, is_cased);
        planned = sg_glob_match(&v, text, n_text);
        general = sg_glob_match_general(&v, text, n_text);
        if (planned != general)
            fail_msg("'%s'%s on '%.*s': planned %d, general %d", spec,
                    is_cased ? " (cased)" : "", (int)n_text, text, planned, general);
        n_true += general;
        n_planned += v.plan != NULL;
        value_cleanup(&v);
    }
    /* the sample really covers both answers and mostly planned values */
    assert_true(n_true > 1000);
    assert_true(n_planned > 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_get_a_plan_and_question_marks_do_not),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_prefix_suffix_contains),
        cmocka_unit_test(test_escaped_wildcards_are_literal),
        cmocka_unit_test(test_case_folding_is_ascii_only),
        cmocka_unit_test(test_cased_keeps_case),
        cmocka_unit_test(test_text_with_nul_bytes),
        cmocka_unit_test(test_random_values_agree_with_the_general_matcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
