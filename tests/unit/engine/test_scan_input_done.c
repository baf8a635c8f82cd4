/*
 * scan_sink.input_done: each input is reported once, numbered in source order (inputs the
 * source failed to open get no number), and only after every finding of it went through
 * write, with several workers and inputs that span many windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"
#include "scan.h"

#define N_INPUTS  40
#define FAIL_CALL 11 /* the source fails this call (0-based): that input gets no number */

struct fake_source {
    unsigned calls;
    char *texts[N_INPUTS];
    struct lsf_mem_reader mem[N_INPUTS];
    size_t n_given;
};

/* Input k: k*37 % 300 lines, every third a hit. */
static size_t hits_of(size_t k)
{
    size_t n_lines = k * 37 % 300;
    return (n_lines + 2) / 3;
}

static enum lsf_code src_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct fake_source *src = self;
    unsigned call = src->calls++;
    size_t k;

    if (call == FAIL_CALL) {
        *name = strdup("broken");
        return lsf_fail(err, LSF_E_INPUT, "broken: cannot open (test)");
    }
    if (src->n_given == N_INPUTS) {
        *done = true;
        return LSF_OK;
    }
    k = src->n_given++;
    *name = malloc(16);
    snprintf(*name, 16, "in-%zu", k);
    src->mem[k].data = (const unsigned char *)src->texts[k];
    src->mem[k].len = strlen(src->texts[k]);
    src->mem[k].max_step = 700; /* short reads: many windows per input */
    lsf_mem_reader_init(&src->mem[k], rd);
    return LSF_OK;
}

struct fake_sink {
    size_t written[N_INPUTS]; /* findings written per input */
    unsigned done_count[N_INPUTS];
    uint64_t done_order[N_INPUTS];
    size_t n_done;
    size_t n_bad; /* input_done before all of the input's findings were written */
};

static enum lsf_code sink_format(void *self, const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    (void)self;
    if (lsf_buf_append(out, f->source, strlen(f->source), err) != LSF_OK)
        return LSF_E_NOMEM;
    return lsf_buf_append(out, "\n", 1, err);
}

static enum lsf_code sink_write(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    struct fake_sink *sink = self;
    const char *p = (const char *)bytes;
    const char *end = p + n;

    (void)err;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t k = strtoul(p + 3, NULL, 10);
        assert_non_null(nl);
        assert_true(k < N_INPUTS);
        sink->written[k]++;
        p = nl + 1;
    }
    return LSF_OK;
}

static void sink_problem(void *self, const struct lsf_err *err)
{
    (void)self;
    (void)err;
}

static void sink_input_done(void *self, uint64_t idx)
{
    struct fake_sink *sink = self;

    assert_true(idx < N_INPUTS);
    sink->done_count[idx]++;
    sink->done_order[sink->n_done++] = idx;
    /* Numbering skips the failed call, so input idx is "in-idx". */
    if (sink->written[idx] != hits_of(idx))
        sink->n_bad++;
}

static void run_case(bool sort, unsigned n_workers, bool with_done)
{
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;
    struct fake_source src;
    struct fake_sink sink_state;
    struct scan_config cfg;
    struct scan_stats stats;
    struct lsf_err err;
    const char *rules = "1:/HIT/\n";
    size_t total = 0;

    memset(&src, 0, sizeof(src));
    memset(&sink_state, 0, sizeof(sink_state));
    lsf_err_clear(&err);
    for (size_t k = 0; k < N_INPUTS; k++) {
        size_t n_lines = k * 37 % 300;
        size_t cap = n_lines * 40 + 1;
        size_t len = 0;
        src.texts[k] = malloc(cap);
        src.texts[k][0] = '\0';
        for (size_t l = 0; l < n_lines; l++)
            len += (size_t)snprintf(src.texts[k] + len, cap - len, "{\"m\":\"%s %zu\"}\n",
                    l % 3 == 0 ? "HIT" : "ok", l);
        total += hits_of(k);
    }
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_set_add_text(set, "t.rules", rules, strlen(rules), &err), LSF_OK);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_OK);
    assert_int_equal(scan_engine_new(set, db, &eng, &err), LSF_OK);
    scan_config_init(&cfg);
    cfg.n_workers = n_workers;
    cfg.chunk_len = 512;
    cfg.format = FRAME_JSON_LINES;
    cfg.sort = sort;
    {
        struct scan_source source = {src_next, &src};
        struct scan_sink sink = {sink_format, sink_write, sink_problem, &sink_state,
                with_done ? sink_input_done : NULL};
        assert_int_equal(scan_run(eng, &cfg, &source, &sink, &stats, &err), LSF_OK);
    }
    assert_int_equal(stats.n_findings, total);
    assert_int_equal(stats.n_inputs, N_INPUTS);
    for (size_t k = 0; k < N_INPUTS; k++)
        assert_int_equal(sink_state.written[k], hits_of(k));
    if (with_done) {
        assert_int_equal(sink_state.n_done, N_INPUTS);
        assert_int_equal(sink_state.n_bad, 0);
        for (size_t k = 0; k < N_INPUTS; k++)
            assert_int_equal(sink_state.done_count[k], 1);
        for (size_t i = 0; sort && i < N_INPUTS; i++)
            assert_int_equal(sink_state.done_order[i], i);
    } else {
        assert_int_equal(sink_state.n_done, 0);
    }
    scan_stats_cleanup(&stats);
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
    for (size_t k = 0; k < N_INPUTS; k++)
        free(src.texts[k]);
}

static void test_input_done_after_its_findings_with_workers(void **state)
{
    (void)state;
    for (int rep = 0; rep < 5; rep++)
        run_case(false, 4, true);
}

static void test_input_done_one_worker(void **state)
{
    (void)state;
    run_case(false, 1, true);
}

static void test_input_done_sorted_at_end_in_order(void **state)
{
    (void)state;
    run_case(true, 3, true);
}

static void test_input_done_null_keeps_behaviour(void **state)
{
    (void)state;
    run_case(false, 4, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_input_done_after_its_findings_with_workers),
            cmocka_unit_test(test_input_done_one_worker),
            cmocka_unit_test(test_input_done_sorted_at_end_in_order),
            cmocka_unit_test(test_input_done_null_keeps_behaviour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
