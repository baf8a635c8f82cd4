/*
 * alert_spool: findings appended from many threads all come back once; a line torn by a crash
 * is ignored; duplicates (same rule and event id) collapse; ledgers survive reopening, and a
 * withdrawn intent is gone; a second run cannot take a spool in use; compaction keeps exactly
 * what it is told to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_record.h"
#include "alert_spool.h"

#define N_THREADS 4
#define PER_THREAD 250

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lsf-spool-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void record(struct alert_record *r, const char *rule, const char *event_id)
{
    char event[128];
    struct lsf_finding f = {
        .rule_id = rule,
        .title = "t",
        .severity = "low",
        .source = "s",
        .format = "json-lines",
        .ts_ms = 1000,
    };

    snprintf(event, sizeof(event), "{\"eventID\":\"%s\"}", event_id);
    f.event = (const unsigned char *)event;
    f.event_len = strlen(event);
    assert_int_equal(alert_record_from_finding(&f, "why", NULL, 4096, r, NULL), LSF_OK);
}

struct job {
    struct alert_spool *sp;
    int thread;
};

static void *add_many(void *arg)
{
    struct job *job = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        struct alert_record r;
        char id[32];
        snprintf(id, sizeof(id), "t%d-e%d", job->thread, i);
        record(&r, "rule.a", id);
        assert_int_equal(alert_spool_add(job->sp, &r, NULL), LSF_OK);
        alert_record_cleanup(&r);
    }
    return NULL;
}

static void concurrent_appends_all_come_back_once(void **state)
{
    struct alert_spool *sp;
    struct alert_spooled s;
    pthread_t threads[N_THREADS];
    struct job jobs[N_THREADS];
    struct alert_record dup;

    (void)state;
    assert_int_equal(alert_spool_open(dir, &sp, NULL), LSF_OK);
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (struct job){sp, t};
        assert_int_equal(pthread_create(&threads[t], NULL, add_many, &jobs[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++)
        pthread_join(threads[t], NULL);
    record(&dup, "rule.a", "t0-e0"); /* the same finding spooled again by a rerun */
    assert_int_equal(alert_spool_add(sp, &dup, NULL), LSF_OK);
    alert_record_cleanup(&dup);
    assert_int_equal(alert_spool_sync(sp, NULL), LSF_OK);
    assert_int_equal(alert_spool_load(sp, &s, NULL), LSF_OK);
    assert_int_equal(s.n_records, N_THREADS * PER_THREAD);
    assert_string_equal(s.records[0].why, "why");
    alert_spooled_cleanup(&s);
    alert_spool_free(sp);
}

static void torn_last_line_and_unknown_lines_are_ignored(void **state)
{
    struct alert_spool *sp;
    struct alert_spooled s;
    struct alert_record r;
    char path[300];
    FILE *fp;

    (void)state;
    assert_int_equal(alert_spool_open(dir, &sp, NULL), LSF_OK);
    record(&r, "rule.b", "e1");
    assert_int_equal(alert_spool_add(sp, &r, NULL), LSF_OK);
    alert_record_cleanup(&r);
    snprintf(path, sizeof(path), "%s/spool.jsonl", dir);
    fp = fopen(path, "a");
    fputs("not json at all\n{\"k\":\"from-a-newer-logsift\"}\n", fp); /* skipped, not fatal */
    fputs("{\"k\":\"finding\",\"rule\":\"rule.b\",\"event_id\":\"e2\"", fp); /* no newline */
    fclose(fp);
    assert_int_equal(alert_spool_load(sp, &s, NULL), LSF_OK);
    assert_int_equal(s.n_records, 1);
    assert_string_equal(s.records[0].event_id, "e1");
    alert_spooled_cleanup(&s);
    alert_spool_free(sp);
}

static void a_spool_in_use_is_refused(void **state)
{
    struct alert_spool *a;
    struct alert_spool *b = NULL;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(alert_spool_open(dir, &a, NULL), LSF_OK);
    assert_int_equal(alert_spool_open(dir, &b, &err), LSF_E_USAGE);
    assert_null(b);
    assert_non_null(strstr(err.msg, "in use by another logsift run"));
    assert_non_null(strstr(err.msg, dir));
    alert_spool_free(a);
    assert_int_equal(alert_spool_open(dir, &b, NULL), LSF_OK);
    alert_spool_free(b);
}

static void ledgers_persist_and_withdrawn_intents_are_gone(void **state)
{
    struct alert_spool *sp;
    struct alert_ledger *lg;
    struct alert_ledger *other;
    char path[600];
    char name[64];
    FILE *fp;

    (void)state;
    assert_int_equal(alert_spool_open(dir, &sp, NULL), LSF_OK);
    assert_int_equal(alert_ledger_open(sp, "sns", "arn:a", &lg, NULL), LSF_OK);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        assert_int_equal(alert_ledger_add(lg, "r", id, NULL, NULL), LSF_OK);
    }
    assert_int_equal(alert_ledger_add(lg, "r", "x", "rule", NULL), LSF_OK);
    assert_int_equal(alert_ledger_cancel(lg, "r", "e7", NULL, NULL), LSF_OK);
    assert_int_equal(alert_ledger_sync(lg, NULL), LSF_OK);
    assert_false(alert_ledger_has(lg, "r", "e7", NULL));
    alert_ledger_free(lg);

    /* A torn key at the end is not a delivery. */
    assert_int_equal(alert_ledger_open(sp, "sns", "arn:a", &lg, NULL), LSF_OK);
    alert_ledger_free(lg);
    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "ls %s | grep '^sns-.*\\.ledger$' > %s/name", dir, dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/name", dir);
        fp = fopen(path, "r");
        assert_non_null(fgets(name, sizeof(name), fp));
        fclose(fp);
        name[strcspn(name, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "a");
        fputs("r\ttorn", fp);
        fclose(fp);
    }
    assert_int_equal(alert_ledger_open(sp, "sns", "arn:a", &lg, NULL), LSF_OK);
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "e%d", i);
        assert_int_equal(alert_ledger_has(lg, "r", id, NULL), i != 7);
    }
    assert_true(alert_ledger_has(lg, "r", "x", "rule"));
    assert_false(alert_ledger_has(lg, "r", "x", NULL));
    assert_false(alert_ledger_has(lg, "r", "torn", NULL));
    /* Another destination has a ledger of its own. */
    assert_int_equal(alert_ledger_open(sp, "sns", "arn:b", &other, NULL), LSF_OK);
    assert_false(alert_ledger_has(other, "r", "e1", NULL));
    alert_ledger_free(other);
    alert_ledger_free(lg);
    alert_spool_free(sp);
}

static void compaction_keeps_only_the_marked_entries(void **state)
{
    struct alert_spool *sp;
    struct alert_spooled s;
    struct alert_spooled after;
    struct alert_run run = {"run-1", 5, 10, 20, 0};
    bool keep_records[3] = {false, true, false};
    bool keep_runs[1] = {true};

    (void)state;
    assert_int_equal(alert_spool_open(dir, &sp, NULL), LSF_OK);
    assert_int_equal(alert_spool_load(sp, &s, NULL), LSF_OK);
    alert_spooled_cleanup(&s);
    /* Start from an empty spool. */
    assert_int_equal(alert_spool_compact(sp, &s, keep_records, keep_runs, NULL), LSF_OK);
    for (int i = 0; i < 3; i++) {
        struct alert_record r;
        char id[8];
        snprintf(id, sizeof(id), "c%d", i);
        record(&r, "rule.c", id);
        assert_int_equal(alert_spool_add(sp, &r, NULL), LSF_OK);
        alert_record_cleanup(&r);
    }
    assert_int_equal(alert_spool_add_run(sp, &run, NULL), LSF_OK);
    assert_int_equal(alert_spool_load(sp, &s, NULL), LSF_OK);
    assert_int_equal(s.n_records, 3);
    assert_int_equal(s.n_runs, 1);
    assert_int_equal(alert_spool_compact(sp, &s, keep_records, keep_runs, NULL), LSF_OK);
    alert_spooled_cleanup(&s);
    assert_int_equal(alert_spool_load(sp, &after, NULL), LSF_OK);
    assert_int_equal(after.n_records, 1);
    assert_string_equal(after.records[0].event_id, "c1");
    assert_int_equal(after.n_runs, 1);
    assert_string_equal(after.runs[0].run_id, "run-1");
    assert_int_equal(after.runs[0].n_bytes, 20);
    alert_spooled_cleanup(&after);
    alert_spool_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(concurrent_appends_all_come_back_once, make_dir,
                    remove_dir),
            cmocka_unit_test_setup_teardown(torn_last_line_and_unknown_lines_are_ignored, make_dir,
                    remove_dir),
            cmocka_unit_test_setup_teardown(a_spool_in_use_is_refused, make_dir, remove_dir),
            cmocka_unit_test_setup_teardown(ledgers_persist_and_withdrawn_intents_are_gone,
                    make_dir, remove_dir),
            cmocka_unit_test_setup_teardown(compaction_keeps_only_the_marked_entries, make_dir,
                    remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
