/*
 * Chained correlations (scan_corr.c): a correlation over another correlation's firings, swept
 * level by level at the end of the run. The findings must not depend on how the events are
 * split into inputs, on the order of those inputs, on the chunk size or on the number of
 * workers; rules referred to stay silent unless a correlation says generate: true; a cycle
 * or an outer group-by the inner firings cannot give is refused when the engine is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr_test_sink.h"
#include "corr_test_source.h"
#include "pat.h"
#include "pat_sigma.h"
#include "scan.h"

/* Base rules, a burst (level 1), brute force then success (level 2) and a repeat of that
 * (level 3, generate: true, so level 2 reports too; the burst and the base rules do not). */
static const char *const RULES[][2] = {
    {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                 "  sel:\n    eventName: Fail\n  condition: sel\n"},
    {"ok.yml", "title: ok\nname: ok\nlogsource:\n  product: aws\ndetection:\n"
               "  sel:\n    eventName: Ok\n  condition: sel\n"},
    {"burst.yml", "title: burst\nname: burst\ncorrelation:\n  type: event_count\n"
                  "  rules: fail\n  group-by: [ip, user]\n  timespan: 5m\n"
                  "  condition:\n    gte: 3\n"},
    {"then.yml", "title: then\nname: then\ncorrelation:\n  type: temporal_ordered\n"
                 "  rules: [burst, ok]\n  group-by: ip\n  timespan: 1h\n"},
    {"repeat.yml", "title: repeat\ncorrelation:\n  type: event_count\n  rules: then\n"
                   "  group-by: ip\n  timespan: 1d\n  condition:\n    gte: 2\n"
                   "  generate: true\n"},
};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

/* (name, hh:mm:ss, ip, user) */
static const char *const EVENTS[][4] = {
    /* A: burst at 10:00:20, login at 10:30 (then), again at 12:00:02 and 12:10 (then, and
     * the second then within a day is a repeat) */
    {"Fail", "10:00:00", "A", "u"}, {"Fail", "10:00:10", "A", "u"}, {"Fail", "10:00:20", "A", "u"},
    {"Ok", "10:30:00", "A", "u"},
    {"Fail", "12:00:00", "A", "u"}, {"Fail", "12:00:01", "A", "u"}, {"Fail", "12:00:02", "A", "u"},
    {"Ok", "12:10:00", "A", "u"},
    /* B: three failures for three users: no burst (grouped by ip and user), so no then */
    {"Fail", "10:00:00", "B", "u1"}, {"Fail", "10:00:01", "B", "u2"}, {"Fail", "10:00:02", "B", "u3"},
    {"Ok", "10:05:00", "B", "u1"},
    /* C: login before the burst: out of order */
    {"Ok", "09:00:00", "C", "u"},
    {"Fail", "09:10:00", "C", "u"}, {"Fail", "09:10:01", "C", "u"}, {"Fail", "09:10:02", "C", "u"},
    /* D: login more than an hour after the burst */
    {"Fail", "10:00:00", "D", "u"}, {"Fail", "10:00:01", "D", "u"}, {"Fail", "10:00:02", "D", "u"},
    {"Ok", "11:30:00", "D", "u"},
};
#define N_EVENTS (sizeof(EVENTS) / sizeof(EVENTS[0]))

static const char *const EXPECTED[] = {
    "repeat {\"correlation\":\"event_count\",\"group\":\"ip=A\",\"count\":2,"
    "\"first\":\"2024-05-01T10:30:00.000Z\",\"last\":\"2024-05-01T12:10:00.000Z\","
    "\"timespan_ms\":86400000}",
    "then {\"correlation\":\"temporal_ordered\",\"group\":\"ip=A\",\"count\":2,"
    "\"first\":\"2024-05-01T10:00:20.000Z\",\"last\":\"2024-05-01T10:30:00.000Z\","
    "\"timespan_ms\":3600000}",
    "then {\"correlation\":\"temporal_ordered\",\"group\":\"ip=A\",\"count\":2,"
    "\"first\":\"2024-05-01T12:00:02.000Z\",\"last\":\"2024-05-01T12:10:00.000Z\","
    "\"timespan_ms\":3600000}",
};
#define N_EXPECTED (sizeof(EXPECTED) / sizeof(EXPECTED[0]))

/* The burst's twin that alerts (same definition, own id): loaded first, so it holds the
 * shared records and the burst, chained on, fires with it. */
static const char *const TWIN[2] = {
    "alert.yml", "title: alert\ncorrelation:\n  type: event_count\n  rules: fail\n"
                 "  group-by: [ip, user]\n  timespan: 5m\n  condition:\n    gte: 3\n"};
#define ALERT(ip, t0, t1) "alert {\"correlation\":\"event_count\",\"group\":\"ip=" ip \
    ", user=u\",\"count\":3,\"first\":\"2024-05-01T" t0 ".000Z\",\"last\":\"2024-05-01T" \
    t1 ".000Z\",\"timespan_ms\":300000}"
static const char *const EXPECTED_TWIN[] = {
    ALERT("A", "10:00:00", "10:00:20"), ALERT("A", "12:00:00", "12:00:02"),
    ALERT("C", "09:10:00", "09:10:02"), ALERT("D", "10:00:00", "10:00:02"),
    EXPECTED[0], EXPECTED[1], EXPECTED[2],
};

static struct pat_set *load_after(const char *const *first, const char *const (*rules)[2],
        size_t n, struct lsf_err *err)
{
    struct pat_set *set = NULL;

    assert_int_equal(pat_set_new(&set, err), LSF_OK);
    if (first != NULL)
        assert_int_equal(pat_sigma_add_text(set, first[0], first[1], strlen(first[1]), err),
                LSF_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pat_sigma_add_text(set, rules[i][0], rules[i][1],
                strlen(rules[i][1]), err), LSF_OK);
    return set;
}

static struct pat_set *load(const char *const (*rules)[2], size_t n, struct lsf_err *err)
{
    return load_after(NULL, rules, n, err);
}

/* Event k goes to input assign[k]; inputs are given in index order. The rules are RULES,
 * and TWIN too if with_twin. */
static void run_split(const size_t *assign, size_t n_inputs, unsigned n_workers,
        size_t max_step, bool with_twin)
{
    const char *const *expected = with_twin ? EXPECTED_TWIN : EXPECTED;
    const size_t n_expected = with_twin ? sizeof(EXPECTED_TWIN) / sizeof(EXPECTED_TWIN[0])
                                        : N_EXPECTED;
    struct lsf_err err;
    struct pat_set *set;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;
    struct corr_test_source src;
    struct corr_found found;
    struct scan_config cfg;
    struct scan_stats stats;

    lsf_err_clear(&err);
    memset(&src, 0, sizeof(src));
    memset(&found, 0, sizeof(found));
    src.n_inputs = n_inputs;
    src.max_step = max_step;
    for (size_t i = 0; i < n_inputs; i++) {
        src.texts[i] = calloc(N_EVENTS, 128);
        assert_non_null(src.texts[i]);
    }
    for (size_t k = 0; k < N_EVENTS; k++) {
        char *t = src.texts[assign[k]];
        size_t len = strlen(t);
        snprintf(t + len, N_EVENTS * 128 - len,
                "{\"eventTime\":\"2024-05-01T%sZ\",\"eventName\":\"%s\",\"ip\":\"%s\","
                "\"user\":\"%s\",\"pad\":\"%0*d\"}\n", EVENTS[k][1], EVENTS[k][0],
                EVENTS[k][2], EVENTS[k][3], (int)(k % 7) * 5, 0);
    }
    set = load_after(with_twin ? TWIN : NULL, RULES, N_RULES, &err);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
    assert_int_equal(scan_engine_new(set, db, &eng, &err), LSF_OK);
    scan_config_init(&cfg);
    cfg.n_workers = n_workers;
    cfg.chunk_len = max_step;
    cfg.format = FRAME_JSON_LINES;
    {
        struct scan_source source = corr_test_source(&src);
        struct scan_sink sink = corr_test_sink(&found);
        assert_int_equal(scan_run(eng, &cfg, &source, &sink, &stats, &err), LSF_OK);
    }
    corr_test_sort(&found);
    for (size_t i = 0; i < found.n && i < n_expected; i++)
        assert_string_equal(found.lines[i], expected[i]);
    assert_int_equal(found.n, n_expected);
    assert_int_equal(stats.n_findings, n_expected);
    for (size_t i = 0; i < found.n; i++)
        free(found.lines[i]);
    scan_stats_cleanup(&stats);
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
    for (size_t i = 0; i < n_inputs; i++)
        free(src.texts[i]);
}

static void test_chain_in_one_input(void **state)
{
    size_t assign[N_EVENTS] = {0};

    (void)state;
    run_split(assign, 1, 1, 1 << 16, false);
}

static void test_chain_one_event_per_input_newest_first(void **state)
{
    size_t assign[N_EVENTS];

    (void)state;
    for (size_t k = 0; k < N_EVENTS; k++)
        assign[k] = N_EVENTS - 1 - k; /* the inputs come newest first */
    run_split(assign, N_EVENTS, 1, 1 << 16, false);
    run_split(assign, N_EVENTS, 2, 1 << 16, false);
}

static void test_chain_across_inputs_chunks_and_workers(void **state)
{
    size_t assign[N_EVENTS];

    (void)state;
    /* Each burst and its login split between inputs given out of time order. */
    for (size_t k = 0; k < N_EVENTS; k++)
        assign[k] = (k * 5 + 3) % 4;
    for (unsigned workers = 1; workers <= 2; workers++) {
        run_split(assign, 4, workers, 1 << 16, false);
        run_split(assign, 4, workers, 97, false); /* events cut across many small chunks */
    }
}

/* A twin alerts at every burst; the chain over the silent burst is unchanged. */
static void test_twins_share_records(void **state)
{
    size_t assign[N_EVENTS];

    (void)state;
    for (size_t k = 0; k < N_EVENTS; k++)
        assign[k] = (k * 7 + 1) % 3;
    run_split(assign, 3, 1, 1 << 16, true);
    run_split(assign, 3, 2, 61, true);
}

/* The engine refuses rules[0..n) with LSF_E_RULE and a message holding every want[]. */
static void expect_refused(const char *const (*rules)[2], size_t n, const char *const *want)
{
    struct lsf_err err;
    struct pat_set *set;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;

    lsf_err_clear(&err);
    set = load(rules, n, &err);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
    assert_int_equal(scan_engine_new(set, db, &eng, &err), LSF_E_RULE);
    assert_null(eng);
    for (; *want != NULL; want++) {
        if (strstr(err.msg, *want) == NULL)
            fail_msg("'%s' not in: %s", *want, err.msg);
    }
    pat_db_free(db);
    pat_set_free(set);
}

static void test_cycle_is_refused(void **state)
{
    static const char *const two[][2] = {
        {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                     "  sel:\n    eventName: Fail\n  condition: sel\n"},
        {"a.yml", "title: a\nname: a\ncorrelation:\n  type: temporal\n  rules: [fail, b]\n"
                  "  group-by: ip\n  timespan: 5m\n"},
        {"b.yml", "title: b\nname: b\ncorrelation:\n  type: event_count\n  rules: a\n"
                  "  group-by: ip\n  timespan: 5m\n  condition:\n    gte: 2\n"},
    };
    static const char *const self[][2] = {
        {"s.yml", "title: s\nname: s\ncorrelation:\n  type: event_count\n  rules: s\n"
                  "  group-by: ip\n  timespan: 5m\n  condition:\n    gte: 2\n"},
    };
    const char *const want_two[] = {"a.yml:1:", "a -> b -> a", "cycle", NULL};
    const char *const want_self[] = {"s.yml:1:", "s -> s", NULL};

    (void)state;
    expect_refused(two, 3, want_two);
    expect_refused(self, 1, want_self);
}

static void test_outer_group_by_must_come_from_inner(void **state)
{
    static const char *const rules[][2] = {
        {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                     "  sel:\n    eventName: Fail\n  condition: sel\n"},
        {"burst.yml", "title: burst\nname: burst\ncorrelation:\n  type: event_count\n"
                      "  rules: fail\n  group-by: ip\n  timespan: 5m\n"
                      "  condition:\n    gte: 3\n"},
        {"outer.yml", "title: outer\ncorrelation:\n  type: event_count\n  rules: burst\n"
                      "  group-by: [ip, user]\n  timespan: 1h\n  condition:\n    gte: 2\n"},
    };
    static const char *const counted[][2] = {
        {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                     "  sel:\n    eventName: Fail\n  condition: sel\n"},
        {"burst.yml", "title: burst\nname: burst\ncorrelation:\n  type: event_count\n"
                      "  rules: fail\n  group-by: ip\n  timespan: 5m\n"
                      "  condition:\n    gte: 3\n"},
        {"users.yml", "title: users\ncorrelation:\n  type: value_count\n  rules: burst\n"
                      "  group-by: ip\n  timespan: 1h\n  condition:\n    field: user\n"
                      "    gte: 2\n"},
    };
    const char *const want[] = {"outer.yml:1:", "'user'", "burst", NULL};
    const char *const want_counted[] = {"users.yml:1:", "counted field 'user'", NULL};

    (void)state;
    expect_refused(rules, 3, want);
    expect_refused(counted, 3, want_counted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_in_one_input),
        cmocka_unit_test(test_chain_one_event_per_input_newest_first),
        cmocka_unit_test(test_chain_across_inputs_chunks_and_workers),
        cmocka_unit_test(test_twins_share_records),
        cmocka_unit_test(test_cycle_is_refused),
        cmocka_unit_test(test_outer_group_by_must_come_from_inner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
