/*
 * Correlation entries past the memory budget (LOGSIFT_CORR_SPILL_BYTES) spill to disk as
 * sorted runs and are merged back at the end of the run (scan_corr.c, scan_spill.c). The
 * findings, chained correlations included, must be byte for byte those of a run that kept
 * everything in memory, whatever the budget, the number of workers and the chunk size; a
 * spill file that cannot be made stops the run with LSF_E_IO and writes no correlation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr_test_source.h"
#include "lsf_buf.h"
#include "pat.h"
#include "pat_sigma.h"
#include "scan.h"

/* Base rules, every correlation type, twins, and one chained on another (then over burst). */
static const char *const RULES[][2] = {
    {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                 "  sel:\n    eventName: Fail\n  condition: sel\n"},
    {"ok.yml", "title: ok\nname: ok\nlogsource:\n  product: aws\ndetection:\n"
               "  sel:\n    eventName: Ok\n  condition: sel\n"},
    /* the burst's twin that alerts (chained on, the burst itself stays silent) */
    {"alert.yml", "title: alert\ncorrelation:\n  type: event_count\n  rules: fail\n"
                  "  group-by: [ip, user]\n  timespan: 5m\n  condition:\n    gte: 3\n"},
    {"burst.yml", "title: burst\nname: burst\ncorrelation:\n  type: event_count\n"
                  "  rules: fail\n  group-by: [ip, user]\n  timespan: 5m\n"
                  "  condition:\n    gte: 3\n"},
    {"then.yml", "title: then\nname: then\ncorrelation:\n  type: temporal_ordered\n"
                 "  rules: [burst, ok]\n  group-by: ip\n  timespan: 1h\n"},
    {"spray.yml", "title: spray\ncorrelation:\n  type: value_count\n  rules: fail\n"
                  "  group-by: ip\n  timespan: 10m\n  condition:\n    field: user\n"
                  "    gte: 3\n"},
    {"both.yml", "title: both\ncorrelation:\n  type: temporal\n  rules: [fail, ok]\n"
                 "  group-by: user\n  timespan: 30s\n"},
};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))
#define N_INPUTS 6
#define N_EVENTS 4000

/* One input, "one", over the reader it holds. */
static enum lsf_code one_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct {
        struct lsf_mem_reader *mem;
        bool is_given;
    } *one = self;

    (void)err;
    *done = one->is_given;
    if (one->is_given)
        return LSF_OK;
    one->is_given = true;
    *name = strdup("one");
    lsf_mem_reader_init(one->mem, rd);
    return LSF_OK;
}

static enum lsf_code sink_format(void *self, const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    char where[96];
    int n = snprintf(where, sizeof(where), " %s@%llu ", f->source,
            (unsigned long long)f->offset);

    (void)self;
    if (lsf_buf_append(out, f->rule_id, strlen(f->rule_id), err) != LSF_OK ||
            lsf_buf_append(out, where, (size_t)n, err) != LSF_OK ||
            lsf_buf_append(out, f->event, f->event_len, err) != LSF_OK)
        return err->code;
    return lsf_buf_append(out, "\n", 1, err);
}

/* Only correlations report (their base rules are silent), all at the end, in order. */
static enum lsf_code sink_write(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    return lsf_buf_append(self, bytes, n, err);
}

static void sink_problem(void *self, const struct lsf_err *err)
{
    (void)self;
    fail_msg("unexpected problem: %s", err->msg);
}

/* A fixed pseudo-random stream (no libc rand: the same on every machine). */
static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Inputs are given in an order that is not their names' (in-05 first). */
static void make_inputs(struct corr_test_source *src, size_t max_step)
{
    uint32_t seed = 7;

    memset(src, 0, sizeof(*src));
    src->n_inputs = N_INPUTS;
    src->step = 5;
    src->first = 5;
    src->max_step = max_step;
    for (size_t i = 0; i < N_INPUTS; i++) {
        src->texts[i] = calloc(N_EVENTS, 160);
        assert_non_null(src->texts[i]);
    }
    for (size_t k = 0; k < N_EVENTS; k++) {
        unsigned secs = next_rand(&seed) % 3600;
        const char *name = next_rand(&seed) % 5 == 0 ? "Ok" : "Fail";
        unsigned ip = next_rand(&seed) % 20, user = next_rand(&seed) % 4;
        char *t = src->texts[next_rand(&seed) % N_INPUTS];
        size_t len = strlen(t);
        snprintf(t + len, N_EVENTS * 160 - len,
                "{\"eventTime\":\"2024-05-01T%02u:%02u:%02uZ\",\"eventName\":\"%s\","
                "\"ip\":\"10.0.0.%u\",\"user\":\"u%u\"}\n", secs / 3600, secs / 60 % 60,
                secs % 60, name, ip, user);
    }
}

/* The findings of one run with the given budget (NULL: the default), and its stats. */
static enum lsf_code run_once(const char *budget, unsigned n_workers, size_t max_step,
        struct lsf_buf *out, struct scan_stats *stats, struct lsf_err *err)
{
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;
    struct corr_test_source src;
    struct scan_config cfg;
    enum lsf_code rc;

    if (budget != NULL)
        setenv("LOGSIFT_CORR_SPILL_BYTES", budget, 1);
    else
        unsetenv("LOGSIFT_CORR_SPILL_BYTES");
    make_inputs(&src, max_step);
    assert_int_equal(pat_set_new(&set, err), LSF_OK);
    for (size_t i = 0; i < N_RULES; i++)
        assert_int_equal(pat_sigma_add_text(set, RULES[i][0], RULES[i][1],
                strlen(RULES[i][1]), err), LSF_OK);
    assert_int_equal(pat_db_build(set, NULL, &db, err), LSF_OK);
    assert_int_equal(scan_engine_new(set, db, &eng, err), LSF_OK); /* reads the budget */
    scan_config_init(&cfg);
    cfg.n_workers = n_workers;
    cfg.chunk_len = max_step;
    cfg.format = FRAME_JSON_LINES;
    {
        struct scan_source source = corr_test_source(&src);
        struct scan_sink sink = {sink_format, sink_write, sink_problem, out, NULL};
        rc = scan_run(eng, &cfg, &source, &sink, stats, err);
    }
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
    for (size_t i = 0; i < N_INPUTS; i++)
        free(src.texts[i]);
    unsetenv("LOGSIFT_CORR_SPILL_BYTES");
    return rc;
}

static size_t count_lines(const struct lsf_buf *b, const char *prefix)
{
    size_t n = 0, k = strlen(prefix);

    for (size_t i = 0; i < b->len; i++) {
        if ((i == 0 || b->data[i - 1] == '\n') && i + k <= b->len &&
                memcmp(b->data + i, prefix, k) == 0)
            n++;
    }
    return n;
}

static void test_same_findings_whatever_the_budget(void **state)
{
    static const char *const budgets[] = {"1", "700", "16384"};
    struct lsf_err err;
    struct lsf_buf want;
    struct scan_stats stats;

    (void)state;
    lsf_err_clear(&err);
    lsf_buf_init(&want, SIZE_MAX);
    assert_int_equal(run_once(NULL, 1, 1 << 16, &want, &stats, &err), LSF_OK);
    assert_int_equal(stats.n_corr_spill_runs, 0);
    scan_stats_cleanup(&stats);
    /* every type fires, and the chained one too: the comparison means something */
    assert_true(count_lines(&want, "alert ") >= 20);
    assert_true(count_lines(&want, "then ") >= 5);
    assert_true(count_lines(&want, "spray ") >= 5);
    assert_true(count_lines(&want, "both ") >= 5);
    for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
        for (unsigned workers = 1; workers <= 2; workers++) {
            struct lsf_buf got;
            lsf_buf_init(&got, SIZE_MAX);
            assert_int_equal(run_once(budgets[b], workers, workers == 1 ? 4096 : 997, &got,
                    &stats, &err), LSF_OK);
            /* the budget is far below the entries: many sorted runs were merged */
            assert_true(stats.n_corr_spill_runs >= 4);
            assert_true(stats.n_corr_spilled > N_EVENTS / 2);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
            scan_stats_cleanup(&stats);
            lsf_buf_cleanup(&got);
        }
    }
    lsf_buf_cleanup(&want);
}

static void test_unusable_spill_dir_stops_the_run(void **state)
{
    struct lsf_err err;
    struct lsf_buf got;
    struct scan_stats stats;
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;

    (void)state;
    lsf_err_clear(&err);
    lsf_buf_init(&got, SIZE_MAX);
    setenv("TMPDIR", "/nonexistent/logsift-spill-test", 1);
    assert_int_equal(run_once("1024", 2, 4096, &got, &stats, &err), LSF_E_IO);
    assert_non_null(strstr(err.msg, "spill file"));
    assert_non_null(strstr(err.msg, "/nonexistent/logsift-spill-test"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(got.len, 0); /* no correlation findings from part of the entries */
    if (saved != NULL)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    scan_stats_cleanup(&stats);
    lsf_buf_cleanup(&got);
}

static void test_bad_budget_is_refused(void **state)
{
    struct lsf_err err;
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    for (size_t i = 0; i < N_RULES; i++)
        assert_int_equal(pat_sigma_add_text(set, RULES[i][0], RULES[i][1],
                strlen(RULES[i][1]), &err), LSF_OK);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
    setenv("LOGSIFT_CORR_SPILL_BYTES", "64M", 1);
    assert_int_equal(scan_engine_new(set, db, &eng, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, "LOGSIFT_CORR_SPILL_BYTES=64M"));
    unsetenv("LOGSIFT_CORR_SPILL_BYTES");
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
}

static void problem_keep(void *self, const struct lsf_err *err)
{
    struct lsf_buf *problems = self;
    struct lsf_err e;

    lsf_err_clear(&e);
    assert_int_equal(lsf_buf_append(problems, err->msg, strlen(err->msg) + 1, &e), LSF_OK);
}

static enum lsf_code write_nothing(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    (void)self, (void)bytes, (void)n, (void)err;
    return LSF_OK;
}

/* One group with more matches than one group's sweep holds: the excess is reported, with
 * the group and the correlation named, and nothing else is lost. */
static void test_group_past_its_ceiling_is_reported(void **state)
{
    static const char *const rules[][2] = {
        {"fail.yml", "title: fail\nname: fail\nlogsource:\n  product: aws\ndetection:\n"
                     "  sel:\n    eventName: Fail\n  condition: sel\n"},
        {"count.yml", "title: count\ncorrelation:\n  type: event_count\n  rules: fail\n"
                      "  group-by: ip\n  timespan: 1h\n  condition:\n    gte: 1000\n"},
    };
    const size_t n_events = (1u << 20) + 1234, line = 80;
    char *text = malloc(n_events * line + 1), *p = text;
    struct lsf_mem_reader mem;
    struct lsf_err err;
    struct lsf_buf problems;
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;
    struct scan_config cfg;
    struct scan_stats stats;
    struct one_source {
        struct lsf_mem_reader *mem;
        bool is_given;
    } one = {&mem, false};

    (void)state;
    assert_non_null(text);
    for (size_t k = 0; k < n_events; k++) /* one event a second from 2024-05-01 */
        p += snprintf(p, (size_t)(text + n_events * line + 1 - p),
                "{\"eventTime\":\"2024-05-%02zuT%02zu:%02zu:%02zuZ\",\"eventName\":\"Fail\","
                "\"ip\":\"a\"}\n", 1 + k / 86400, k / 3600 % 24, k / 60 % 60, k % 60);
    lsf_err_clear(&err);
    lsf_buf_init(&problems, SIZE_MAX);
    setenv("LOGSIFT_CORR_SPILL_BYTES", "8000000", 1);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(pat_sigma_add_text(set, rules[i][0], rules[i][1],
                strlen(rules[i][1]), &err), LSF_OK);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
    assert_int_equal(scan_engine_new(set, db, &eng, &err), LSF_OK);
    unsetenv("LOGSIFT_CORR_SPILL_BYTES");
    memset(&mem, 0, sizeof(mem));
    mem.data = (const unsigned char *)text;
    mem.len = (size_t)(p - text);
    mem.max_step = 1 << 20;
    scan_config_init(&cfg);
    cfg.n_workers = 1;
    cfg.format = FRAME_JSON_LINES;
    {
        struct scan_source source = {one_next, &one};
        struct scan_sink sink = {sink_format, write_nothing, problem_keep, &problems, NULL};
        assert_int_equal(scan_run(eng, &cfg, &source, &sink, &stats, &err), LSF_OK);
    }
    assert_true(stats.n_corr_spill_runs > 0);
    assert_true(problems.len > 0);
    assert_non_null(strstr((const char *)problems.data, "correlations: 1234 base-rule matches "
            "were not counted: group 'ip=a' of correlation count had more than 1048576"));
    /* the swept (oldest) 1048576 seconds: the 1000th event fires, then the count stays
     * quiet for the timespan and fires again at its end, every 3600 s */
    assert_int_equal(stats.rule_findings[1], ((1u << 20) - 1 - 999) / 3600 + 1);
    scan_stats_cleanup(&stats);
    lsf_buf_cleanup(&problems);
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_findings_whatever_the_budget),
        cmocka_unit_test(test_unusable_spill_dir_stops_the_run),
        cmocka_unit_test(test_bad_budget_is_refused),
        cmocka_unit_test(test_group_past_its_ceiling_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
