/*
 * Correlation state carried between runs (scan.h, struct scan_carry_io): a log read in two or
 * three consecutive runs, each handing the next what the sweep still needs, gives exactly the
 * findings of one run over all of it, wherever the cuts fall; every finding of a later run
 * points at one of that run's own events; a run with nothing new finds nothing.
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
#include "pat.h"
#include "pat_sigma.h"
#include "scan.h"

/* A burst (twin of an alerting one), brute force then success over it (a chain), a repeat
 * of that, and a value_count, so every kind of entry is carried. */
static const char *const RULES[][2] = {
    {"alert.yml", "title: alert\ncorrelation:\n  type: event_count\n  rules: fail\n"
                  "  group-by: [ip, user]\n  timespan: 5m\n  condition:\n    gte: 3\n"},
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
    {"users.yml", "title: users\ncorrelation:\n  type: value_count\n  rules: fail\n"
                  "  group-by: ip\n  timespan: 10m\n  condition:\n    field: user\n"
                  "    gte: 3\n"},
};
#define N_RULES (sizeof(RULES) / sizeof(RULES[0]))

/* (name, hh:mm:ss, ip, user), in time order */
static const char *const EVENTS[][4] = {
    {"Ok", "09:00:00", "C", "u"},
    {"Fail", "09:10:00", "C", "u"}, {"Fail", "09:10:01", "C", "u"}, {"Fail", "09:10:02", "C", "u"},
    /* A burst goes on within the quiet time (one alert), D bursts, B sprays three users */
    {"Fail", "10:00:00", "A", "u"}, {"Fail", "10:00:00", "B", "u1"}, {"Fail", "10:00:00", "D", "u"},
    {"Fail", "10:00:01", "B", "u2"}, {"Fail", "10:00:01", "D", "u"},
    {"Fail", "10:00:02", "B", "u3"}, {"Fail", "10:00:02", "D", "u"},
    {"Fail", "10:00:10", "A", "u"}, {"Fail", "10:00:20", "A", "u"}, {"Fail", "10:00:30", "A", "u"},
    {"Fail", "10:01:00", "A", "u"}, {"Fail", "10:01:30", "A", "u"}, {"Fail", "10:02:00", "A", "u"},
    {"Ok", "10:05:00", "B", "u1"},
    {"Ok", "10:30:00", "A", "u"},
    {"Ok", "11:30:00", "D", "u"},
    {"Fail", "12:00:00", "A", "u"}, {"Fail", "12:00:01", "A", "u"}, {"Fail", "12:00:02", "A", "u"},
    {"Ok", "12:10:00", "A", "u"},
};
#define N_EVENTS (sizeof(EVENTS) / sizeof(EVENTS[0]))

/* A copy of what a run carried, for the next. */
struct carried {
    struct scan_carry *groups;
    size_t n;
    int64_t last_ts_ms;
    bool is_ended;
};

static enum lsf_code carry_out(void *self, const struct scan_carry *g, struct lsf_err *err)
{
    struct carried *c = self;
    struct scan_carry *copy;
    struct scan_carry_rec *recs = calloc(g->n_recs + 1, sizeof(*recs));

    (void)err;
    assert_non_null(recs);
    c->groups = realloc(c->groups, (c->n + 1) * sizeof(*c->groups));
    assert_non_null(c->groups);
    copy = &c->groups[c->n++];
    copy->corr_id = strdup(g->corr_id);
    copy->key = strdup(g->key);
    copy->quiet_until_ms = g->quiet_until_ms;
    for (size_t k = 0; k < g->n_recs; k++) {
        recs[k] = g->recs[k];
        recs[k].val = strdup(g->recs[k].val);
        recs[k].input = strdup(g->recs[k].input);
        if (k > 0)
            assert_true(recs[k].ts_ms >= recs[k - 1].ts_ms);
    }
    copy->recs = recs;
    copy->n_recs = g->n_recs;
    return LSF_OK;
}

static void carry_end(void *self, int64_t last_ts_ms)
{
    struct carried *c = self;

    c->last_ts_ms = last_ts_ms;
    c->is_ended = true;
}

static void carried_free(struct carried *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct scan_carry *g = &c->groups[i];
        for (size_t k = 0; k < g->n_recs; k++) {
            free((char *)(uintptr_t)g->recs[k].val);
            free((char *)(uintptr_t)g->recs[k].input);
        }
        free((void *)(uintptr_t)g->recs);
        free((char *)(uintptr_t)g->corr_id);
        free((char *)(uintptr_t)g->key);
    }
    free(c->groups);
    memset(c, 0, sizeof(*c));
}

struct fake_source {
    const char *run;   /* input name prefix */
    char *text;
    bool is_given;
    struct lsf_mem_reader mem;
};

static enum lsf_code src_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct fake_source *src = self;

    (void)err;
    if (src->is_given) {
        *done = true;
        return LSF_OK;
    }
    src->is_given = true;
    *name = strdup(src->run);
    src->mem.data = (const unsigned char *)src->text;
    src->mem.len = strlen(src->text);
    src->mem.max_step = 1 << 16;
    lsf_mem_reader_init(&src->mem, rd);
    return LSF_OK;
}

struct fixture {
    struct pat_set *set;
    struct pat_db *db;
    struct scan_engine *eng;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&fx->set, &err), LSF_OK);
    for (size_t i = 0; i < N_RULES; i++)
        assert_int_equal(pat_sigma_add_text(fx->set, RULES[i][0], RULES[i][1],
                strlen(RULES[i][1]), &err), LSF_OK);
    assert_int_equal(pat_db_build(fx->set, NULL, &fx->db, &err), LSF_OK);
    assert_int_equal(scan_engine_new(fx->set, fx->db, &fx->eng, &err), LSF_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    scan_engine_free(fx->eng);
    pat_db_free(fx->db);
    pat_set_free(fx->set);
    free(fx);
    return 0;
}

/* Run over events [from, to), named run, carrying in from *in (NULL: nothing) and out to
 * *out (NULL: no carry). Findings are appended to *found. */
static void run_slice(const struct fixture *fx, size_t from, size_t to, const char *run,
        const struct carried *in, struct carried *out, struct corr_found *found)
{
    struct lsf_err err;
    struct fake_source src = {run, NULL, false, {0}};
    struct scan_config cfg;
    struct scan_stats stats;
    struct scan_carry_io io = {in ? in->groups : NULL, in ? in->n : 0,
            in ? in->last_ts_ms : INT64_MIN, out ? carry_out : NULL, out ? carry_end : NULL, out};
    size_t len = 0;

    lsf_err_clear(&err);
    src.text = calloc(N_EVENTS + 1, 160);
    assert_non_null(src.text);
    for (size_t k = from; k < to; k++)
        len += (size_t)snprintf(src.text + len, (N_EVENTS + 1) * 160 - len,
                "{\"eventTime\":\"2024-05-01T%sZ\",\"eventName\":\"%s\",\"ip\":\"%s\","
                "\"user\":\"%s\"}\n", EVENTS[k][1], EVENTS[k][0], EVENTS[k][2], EVENTS[k][3]);
    scan_config_init(&cfg);
    cfg.n_workers = 1;
    cfg.format = FRAME_JSON_LINES;
    cfg.carry = in != NULL || out != NULL ? &io : NULL;
    found->run = run;
    {
        struct scan_source source = {src_next, &src};
        struct scan_sink sink = corr_test_sink(found);
        assert_int_equal(scan_run(fx->eng, &cfg, &source, &sink, &stats, &err), LSF_OK);
    }
    if (out != NULL)
        assert_true(out->is_ended);
    scan_stats_cleanup(&stats);
    free(src.text);
}

static void found_sort(struct corr_found *f)
{
    corr_test_sort(f);
}

static void found_free(struct corr_found *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->lines[i]);
    f->n = 0;
}

static void assert_same(const struct corr_found *want, const struct corr_found *got, const char *what)
{
    for (size_t i = 0; i < want->n && i < got->n; i++) {
        if (strcmp(want->lines[i], got->lines[i]) != 0)
            fail_msg("%s: finding %zu is\n  %s\nnot\n  %s", what, i, got->lines[i],
                    want->lines[i]);
    }
    if (want->n != got->n)
        fail_msg("%s: %zu findings, not %zu", what, got->n, want->n);
}

/* Cut the log in two at every place: the two runs find what one does. */
static void test_two_runs_equal_one_wherever_the_cut(void **state)
{
    const struct fixture *fx = *state;
    struct corr_found whole = {{0}, 0, NULL};
    char what[64];

    run_slice(fx, 0, N_EVENTS, "whole", NULL, NULL, &whole);
    found_sort(&whole);
    assert_true(whole.n >= 8); /* alert x4, then x2, repeat, users */
    for (size_t cut = 0; cut <= N_EVENTS; cut++) {
        struct carried c1 = {0}, c2 = {0}, c3 = {0};
        struct corr_found split = {{0}, 0, NULL};
        struct corr_found idle = {{0}, 0, NULL};

        run_slice(fx, 0, cut, "run-1", NULL, &c1, &split);
        run_slice(fx, cut, N_EVENTS, "run-2", &c1, &c2, &split);
        found_sort(&split);
        snprintf(what, sizeof(what), "cut before event %zu", cut);
        assert_same(&whole, &split, what);
        /* nothing new: no finding, and the same state again */
        run_slice(fx, 0, 0, "run-3", &c2, &c3, &idle);
        assert_int_equal(idle.n, 0);
        assert_int_equal(c3.n, c2.n);
        assert_true(c3.last_ts_ms == c2.last_ts_ms);
        for (size_t i = 0; i < c2.n; i++) {
            const struct scan_carry *same = NULL;
            for (size_t k = 0; k < c3.n; k++) {
                if (strcmp(c3.groups[k].corr_id, c2.groups[i].corr_id) == 0 &&
                        strcmp(c3.groups[k].key, c2.groups[i].key) == 0)
                    same = &c3.groups[k];
            }
            assert_non_null(same);
            assert_int_equal(same->n_recs, c2.groups[i].n_recs);
            assert_true(same->quiet_until_ms == c2.groups[i].quiet_until_ms);
        }
        found_free(&split);
        carried_free(&c1);
        carried_free(&c2);
        carried_free(&c3);
    }
    found_free(&whole);
}

/* Three runs, both cuts anywhere. */
static void test_three_runs_equal_one(void **state)
{
    const struct fixture *fx = *state;
    struct corr_found whole = {{0}, 0, NULL};
    char what[64];

    run_slice(fx, 0, N_EVENTS, "whole", NULL, NULL, &whole);
    found_sort(&whole);
    for (size_t a = 0; a <= N_EVENTS; a += 2) {
        for (size_t b = a; b <= N_EVENTS; b += 3) {
            struct carried c1 = {0}, c2 = {0}, c3 = {0};
            struct corr_found split = {{0}, 0, NULL};

            run_slice(fx, 0, a, "run-1", NULL, &c1, &split);
            run_slice(fx, a, b, "run-2", &c1, &c2, &split);
            run_slice(fx, b, N_EVENTS, "run-3", &c2, &c3, &split);
            found_sort(&split);
            snprintf(what, sizeof(what), "cuts before events %zu and %zu", a, b);
            assert_same(&whole, &split, what);
            found_free(&split);
            carried_free(&c1);
            carried_free(&c2);
            carried_free(&c3);
        }
    }
    found_free(&whole);
}

static size_t n_alerts(const struct corr_found *f, const char *group)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n; i++)
        n += strncmp(f->lines[i], "alert ", 6) == 0 && strstr(f->lines[i], group) != NULL;
    return n;
}

/* The control: without the carry a cut inside a burst loses its finding, and a burst that
 * goes on in the next run within the quiet time alerts twice. */
static void test_without_carry_cuts_lose_and_repeat(void **state)
{
    const struct fixture *fx = *state;
    struct corr_found whole = {{0}, 0, NULL}, lost = {{0}, 0, NULL}, twice = {{0}, 0, NULL};

    run_slice(fx, 0, N_EVENTS, "whole", NULL, NULL, &whole);
    run_slice(fx, 0, 2, "run-1", NULL, NULL, &lost); /* C's burst cut after its first */
    run_slice(fx, 2, N_EVENTS, "run-2", NULL, NULL, &lost);
    assert_true(lost.n < whole.n);
    run_slice(fx, 0, 14, "run-1", NULL, NULL, &twice); /* A's alert, then 3 more within 5m */
    run_slice(fx, 14, N_EVENTS, "run-2", NULL, NULL, &twice);
    assert_true(n_alerts(&twice, "ip=A") > n_alerts(&whole, "ip=A"));
    found_free(&whole);
    found_free(&lost);
    found_free(&twice);
}

/* Groups of a correlation no longer loaded, bad positions and empty counted values are left
 * out, not trusted. */
static void test_foreign_entries_are_left_out(void **state)
{
    const struct fixture *fx = *state;
    struct scan_carry_rec recs[3] = {
        {7, "", "old", FRAME_JSON_LINES, 1714557600000, 0, 1},  /* no position 7 */
        {0, "", "old", FRAME_JSON_LINES, 1714557601000, 10, 2}, /* users: no value */
        {0, "x", "old", FRAME_N_FORMATS, 1714557602000, 20, 3}, /* no such format */
    };
    struct scan_carry groups[2] = {
        {"no-such-rule", "ip=C", INT64_MIN, recs, 3},
        {"users", "ip=C", INT64_MIN, recs, 3},
    };
    struct carried in = {groups, 2, 1714557602000, true};
    struct carried out = {0};
    struct corr_found found = {{0}, 0, NULL};

    /* users' id is its title's file-derived id: look it up to be sure it is loaded */
    for (size_t i = 0; i < pat_set_n_rules(fx->set); i++) {
        if (strcmp(pat_set_rule(fx->set, i)->title, "users") == 0)
            groups[1].corr_id = pat_set_rule(fx->set, i)->id;
    }
    run_slice(fx, 0, 0, "run-2", &in, &out, &found);
    assert_int_equal(found.n, 0);
    assert_int_equal(out.n, 0);
    carried_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_runs_equal_one_wherever_the_cut),
        cmocka_unit_test(test_three_runs_equal_one),
        cmocka_unit_test(test_without_carry_cuts_lose_and_repeat),
        cmocka_unit_test(test_foreign_entries_are_left_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
