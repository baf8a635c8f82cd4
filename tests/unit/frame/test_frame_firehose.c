/*
 * Firehose / CloudWatch Logs subscription documents: each logEvents[].message becomes an
 * event, unescaped in place (quotes, \n, \u00e9, surrogate pairs), with its timestamp;
 * CONTROL_MESSAGE documents give nothing; documents may follow each other with no delimiter;
 * a broken or oversized document is reported and the next one is framed.
 */
#include "frame_test_util.h"

static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 0};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static void run_all_steps(const char *text, size_t max_event_len, struct ft_result *r)
{
    size_t n = strlen(text);

    ft_run(FRAME_FIREHOSE, (const unsigned char *)text, n, 0, max_event_len, r);
    for (size_t s = 0; s < N_STEPS; s++) {
        struct ft_result other;
        ft_run(FRAME_FIREHOSE, (const unsigned char *)text, n, steps[s], max_event_len, &other);
        ft_assert_same(r, &other);
        ft_result_free(&other);
        ft_run(FRAME_AUTO, (const unsigned char *)text, n, steps[s], max_event_len, &other);
        ft_assert_same(r, &other);
        ft_result_free(&other);
    }
}

#define DOC_HEAD                                                                                   \
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"g\","             \
    "\"logStream\":\"s\",\"subscriptionFilters\":[\"f\"],\"logEvents\":["

static void test_messages_are_unescaped_in_place_with_their_timestamps(void **state)
{
    const char *text = DOC_HEAD
            "{\"id\":\"1\",\"timestamp\":1700000000001,\"message\":\"say \\\"hi\\\"\"},"
            "{\"id\":\"2\",\"timestamp\":1700000000002,\"message\":\"line1\\nline2\\ttab\"},"
            "{\"id\":\"3\",\"timestamp\":1700000000003,\"message\":\"caf\\u00e9 \\u20AC\"},"
            "{\"id\":\"4\",\"timestamp\":1700000000004,\"message\":\"\\ud83d\\ude00 grin\"},"
            "{\"id\":\"5\",\"timestamp\":1700000000005,\"message\":\"a\\/b\\\\c\"},"
            "{\"id\":\"6\",\"timestamp\":1700000000006,\"message\":\"lone \\ud800 x\"},"
            "{\"id\":\"7\",\"message\":\"no timestamp\",\"extra\":{\"k\":[1,\"]\"]}}"
            "]}";
    const char *first_raw = strstr(text, "say ");
    struct ft_result r;

    (void)state;
    run_all_steps(text, 1 << 20, &r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.n, 7);
    ft_assert_event(&r, 0, "say \"hi\"");
    ft_assert_event(&r, 1, "line1\nline2\ttab");
    ft_assert_event(&r, 2, "caf\xc3\xa9 \xe2\x82\xac");
    ft_assert_event(&r, 3, "\xf0\x9f\x98\x80 grin");
    ft_assert_event(&r, 4, "a/b\\c");
    ft_assert_event(&r, 5, "lone \xef\xbf\xbd x");
    ft_assert_event(&r, 6, "no timestamp");
    for (size_t i = 0; i < 6; i++)
        assert_true(r.ev[i].ts_ms == INT64_C(1700000000001) + (int64_t)i);
    assert_true(r.ev[6].ts_ms == FRAME_TS_UNKNOWN);
    /* src_off is where the message's text starts in the input. */
    assert_int_equal(r.ev[0].src_off, (size_t)(first_raw - text));
    ft_result_free(&r);
}

static void test_control_messages_give_no_events(void **state)
{
    const char *text =
            "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\","
            "\"logStream\":\"\",\"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\","
            "\"timestamp\":1432826855000,\"message\":\"CWL CONTROL MESSAGE: Checking health of "
            "destination Firehose.\"}]}\n" DOC_HEAD
            "{\"id\":\"1\",\"timestamp\":1,\"message\":\"real\"}]}\n";
    struct ft_result r;

    (void)state;
    run_all_steps(text, 1 << 20, &r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.n, 1);
    ft_assert_event(&r, 0, "real");
    assert_int_equal(r.ev[0].ordinal, 0);
    ft_result_free(&r);
}

static void test_documents_back_to_back_and_pretty_printed_are_all_framed(void **state)
{
    const char *text =
            DOC_HEAD "{\"id\":\"1\",\"timestamp\":1,\"message\":\"one\"}]}" DOC_HEAD
                     "{\"id\":\"2\",\"timestamp\":2,\"message\":\"two\"}]}\n"
                     "{\n\t\"messageType\": \"DATA_MESSAGE\",\n\t\"logEvents\": [\n\t\t{\n"
                     "\t\t\t\"id\": \"3\",\n\t\t\t\"timestamp\": 3,\n\t\t\t\"message\": "
                     "\"three\"\n\t\t}\n\t]\n}\n";
    struct ft_result r;

    (void)state;
    run_all_steps(text, 1 << 20, &r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.n, 3);
    ft_assert_event(&r, 0, "one");
    ft_assert_event(&r, 1, "two");
    ft_assert_event(&r, 2, "three");
    assert_true(r.ev[2].ts_ms == 3);
    ft_result_free(&r);
}

static void test_broken_document_is_reported_and_the_next_one_framed(void **state)
{
    const char *text = DOC_HEAD "{\"message\":\"a\"} {\"message\":\"b\"}]}\n" DOC_HEAD
                                "{\"id\":\"1\",\"timestamp\":5,\"message\":\"ok\"}]}\n"
                                "[1,2]\n";
    struct ft_result r;

    (void)state;
    run_all_steps(text, 1 << 20, &r);
    assert_int_equal(r.n, 1);
    ft_assert_event(&r, 0, "ok");
    assert_int_equal(r.n_problems, 2);
    assert_non_null(strstr(r.first_problem, "subscription document at byte 0 skipped: expected "
                                            "',' or ']' in \"logEvents\""));
    assert_non_null(strstr(r.problems, "it is not a JSON object"));
    ft_result_free(&r);
}

static void test_lambda_awslogs_wrapper_is_explained(void **state)
{
    struct ft_result r;

    (void)state;
    run_all_steps("{\"awslogs\":{\"data\":\"H4sIAAAAAAAAA\"}}", 1 << 20, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "awslogs"));
    assert_non_null(strstr(r.first_problem, "base64"));
    ft_result_free(&r);
}

static void test_document_over_max_event_size_is_skipped(void **state)
{
    char *text = malloc(8192);
    size_t n = 0;
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text, DOC_HEAD "{\"id\":\"1\",\"timestamp\":1,\"message\":\"");
    memset(text + n, 'm', 3000);
    n += 3000;
    sprintf(text + n, "\"}]}" DOC_HEAD "{\"id\":\"2\",\"timestamp\":2,\"message\":\"small\"}]}");
    run_all_steps(text, 1024, &r);
    assert_int_equal(r.n, 1);
    ft_assert_event(&r, 0, "small");
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "--max-event-size limit of 1024 bytes"));
    ft_result_free(&r);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_messages_are_unescaped_in_place_with_their_timestamps),
            cmocka_unit_test(test_control_messages_give_no_events),
            cmocka_unit_test(test_documents_back_to_back_and_pretty_printed_are_all_framed),
            cmocka_unit_test(test_broken_document_is_reported_and_the_next_one_framed),
            cmocka_unit_test(test_lambda_awslogs_wrapper_is_explained),
            cmocka_unit_test(test_document_over_max_event_size_is_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
