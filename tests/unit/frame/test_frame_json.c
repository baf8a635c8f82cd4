/*
 * The structural JSON framer (cloudtrail, json-array, json-stream): events are the records'
 * exact bytes, the bytes between them become '\n', nothing is lost at a window boundary, and
 * each class of damage (a mismatched bracket, garbage between records, a record cut short, a
 * record over --max-event-size, a file cut short, nesting too deep) is reported once with its
 * byte offset, after which the later records are framed again.
 */
#include "frame_test_util.h"

#include "frame_int.h"

static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 0};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

/* Frame text in every window size; all runs must agree. r gets the whole-window run. */
static void run_all_steps(
        enum frame_format fmt, const char *text, size_t max_event_len, struct ft_result *r)
{
    size_t n = strlen(text);

    ft_run(fmt, (const unsigned char *)text, n, 0, max_event_len, r);
    for (size_t s = 0; s < N_STEPS; s++) {
        struct ft_result other;
        ft_run(fmt, (const unsigned char *)text, n, steps[s], max_event_len, &other);
        ft_assert_same(r, &other);
        ft_result_free(&other);
    }
}

static void test_cloudtrail_records_are_events_and_separators_become_newlines(void **state)
{
    const char *rec1 = "{\"eventVersion\":\"1.08\",\"eventTime\":\"2024-01-01T00:00:00Z\","
                       "\"s\":\"x}]\\\"{[\",\"n\":[1,{\"c\":[]}]}";
    const char *rec2 = "{\"eventVersion\":\"1.09\",\"b\":\"\\\\\"}";
    char text[512];
    struct ft_result r;

    (void)state;
    snprintf(text, sizeof(text), "{\"Records\":[%s,%s]}\n", rec1, rec2);
    run_all_steps(FRAME_CLOUDTRAIL, text, 1 << 20, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.n_problems, 0);
    ft_assert_event(&r, 0, rec1);
    ft_assert_event(&r, 1, rec2);
    assert_int_equal(r.ev[0].src_off, strlen("{\"Records\":["));
    assert_int_equal(r.ev[1].ordinal, 1);
    ft_result_free(&r);
    /* Pretty-printed envelope, other root members, and a second file after the first. */
    run_all_steps(FRAME_CLOUDTRAIL,
            "{\n  \"Digest\": {\"x\": [1, 2, {\"y\": \"]\"}]},\n  \"Records\": [\n    {\"a\": 1},"
            "\n    {\"b\": [2]}\n  ],\n  \"tail\": \"z\"\n}\n{\"Records\":[{\"c\":3}]}",
            1 << 20, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.n_problems, 0);
    ft_assert_event(&r, 0, "{\"a\": 1}");
    ft_assert_event(&r, 1, "{\"b\": [2]}");
    ft_assert_event(&r, 2, "{\"c\":3}");
    ft_result_free(&r);
}

static void test_empty_envelopes_and_trailing_commas_are_fine(void **state)
{
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CLOUDTRAIL, "{\"Records\":[]}", 1 << 20, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_problems, 0);
    ft_result_free(&r);
    run_all_steps(FRAME_JSON_ARRAY, "[ {\"a\":1}, ]\n[]\n", 1 << 20, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_problems, 0);
    ft_result_free(&r);
}

static void test_json_without_a_records_array_is_not_cloudtrail(void **state)
{
    struct ft_result r;

    (void)state;
    run_all_steps(
            FRAME_CLOUDTRAIL, "{\"eventVersion\":\"1.08\",\"eventName\":\"X\"}\n", 1 << 20, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "\"Records\""));
    assert_non_null(strstr(r.first_problem, "--format json-lines"));
    ft_result_free(&r);
    run_all_steps(FRAME_CLOUDTRAIL, "[{\"a\":1}]", 1 << 20, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "byte 0: unexpected '['"));
    ft_result_free(&r);
}

static void test_json_stream_and_array_frame_any_value(void **state)
{
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_JSON_STREAM, "{\"a\":1}{\"b\":\"}\"}\n[1,2] \"s\\\"t\" -12.5e3 true\nnull",
            1 << 20, &r);
    assert_int_equal(r.n, 7);
    assert_int_equal(r.n_problems, 0);
    ft_assert_event(&r, 0, "{\"a\":1}");
    ft_assert_event(&r, 1, "{\"b\":\"}\"}");
    ft_assert_event(&r, 2, "[1,2]");
    ft_assert_event(&r, 3, "\"s\\\"t\"");
    ft_assert_event(&r, 4, "-12.5e3");
    ft_assert_event(&r, 5, "true");
    ft_assert_event(&r, 6, "null");
    ft_result_free(&r);
    run_all_steps(FRAME_JSON_ARRAY, "[1, \"two\", {\"three\": [3]}, [4], null]", 1 << 20, &r);
    assert_int_equal(r.n, 5);
    ft_assert_event(&r, 1, "\"two\"");
    ft_assert_event(&r, 2, "{\"three\": [3]}");
    ft_assert_event(&r, 4, "null");
    ft_result_free(&r);
}

/*
 * Backslash runs of every length just before a quote, at every offset around the 64-byte
 * blocks of the SIMD scanner: the escaped quote never ends the string, and the three scanner
 * implementations agree.
 */
static void test_backslash_runs_at_block_boundaries_are_handled_alike(void **state)
{
    char *text = malloc(64 * 1024);
    size_t n = 0;
    size_t n_records = 0;
    struct ft_result ref;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text + n, "{\"Records\":[");
    for (size_t pad = 0; pad < 140; pad += 3) {
        for (size_t run = 0; run < 6; run++) {
            n += (size_t)sprintf(text + n, "%s{\"p\":\"", n_records ? "," : "");
            memset(text + n, 'x', pad);
            n += pad;
            memset(text + n, '\\', run);
            n += run;
            /* After an odd run the quote is escaped: close the string with one more. */
            n += (size_t)sprintf(text + n, "%s\",\"q\":[{}]}", run % 2 ? "\"}" : "");
            n_records++;
        }
    }
    n += (size_t)sprintf(text + n, "]}");
    assert_true(n < 64 * 1024);
    for (int simd = FRAME_SIMD_SCALAR; simd <= FRAME_SIMD_AVX2; simd++) {
        struct ft_result r;

        frame_simd_override = simd;
        ft_run(FRAME_CLOUDTRAIL, (const unsigned char *)text, n, 0, 1 << 20, &r);
        assert_int_equal(r.n_problems, 0);
        assert_int_equal(r.n, n_records);
        if (simd == FRAME_SIMD_SCALAR)
            ref = r;
        else {
            ft_assert_same(&ref, &r);
            ft_result_free(&r);
        }
    }
    frame_simd_override = -1;
    ft_result_free(&ref);
    free(text);
}

/* A tiny deterministic generator of JSON-ish text: valid records, and bytes that break them. */
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_simd_and_scalar_scanners_agree_on_random_input(void **state)
{
    static const char alphabet[] = "{}[]\"\\,:abc 01\n";
    static const enum frame_format fmts[] = {
            FRAME_CLOUDTRAIL, FRAME_JSON_ARRAY, FRAME_JSON_STREAM, FRAME_FIREHOSE};
    uint32_t seed = 12345;

    (void)state;
    for (int round = 0; round < 200; round++) {
        size_t n = 16 + rng_next(&seed) % 3000;
        unsigned char *text = malloc(n);

        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
            text[i] = (unsigned char)alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
        text[0] = (unsigned char)((round & 1) ? '[' : '{');
        for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
            struct ft_result ref;

            for (int simd = FRAME_SIMD_SCALAR; simd <= FRAME_SIMD_AVX2; simd++) {
                struct ft_result r;

                frame_simd_override = simd;
                ft_run(fmts[k], text, n, 1 + (size_t)round % 97, 256, &r);
                if (simd == FRAME_SIMD_SCALAR) {
                    ref = r;
                } else {
                    ft_assert_same(&ref, &r);
                    ft_result_free(&r);
                }
            }
            ft_result_free(&ref);
        }
        frame_simd_override = -1;
        free(text);
    }
}

static void test_record_cut_short_at_end_of_input_is_reported(void **state)
{
    const char *text = "{\"Records\":[{\"eventVersion\":\"1\"},{\"eventVersion\":\"2\",\"x\":[1,";
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CLOUDTRAIL, text, 1 << 20, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_problems, 1); /* the envelope cut with it is not reported again */
    assert_non_null(strstr(r.first_problem, "byte 33: CloudTrail record 1 is truncated"));
    ft_result_free(&r);
    run_all_steps(FRAME_CLOUDTRAIL, "{\"Records\":[{\"eventVersion\":\"1\"}", 1 << 20, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "byte 32: the input ends inside the "
                                            "{\"Records\":[...]} envelope (after 1 events)"));
    ft_result_free(&r);
}

static void test_mismatched_bracket_skips_one_record_and_later_ones_are_framed(void **state)
{
    const char *text =
            "{\"Records\":[{\"eventVersion\":\"1\"},{\"eventVersion\":\"2\",\"x\":{\"y\":1]},"
            "{\"eventVersion\":\"3\"},{\"eventVersion\":\"4\"}]}";
    const char *bad = strchr(text, ']');
    char expect[128];
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CLOUDTRAIL, text, 1 << 20, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.n_problems, 1);
    ft_assert_event(&r, 0, "{\"eventVersion\":\"1\"}");
    ft_assert_event(&r, 1, "{\"eventVersion\":\"3\"}");
    ft_assert_event(&r, 2, "{\"eventVersion\":\"4\"}");
    assert_int_equal(r.ev[1].ordinal, 1); /* ordinals count events, not damaged records */
    snprintf(expect, sizeof(expect), "byte %zu: CloudTrail record 1", (size_t)(bad - text));
    assert_non_null(strstr(r.first_problem, expect));
    assert_non_null(strstr(r.first_problem, "(']' closes '{')"));
    assert_non_null(strstr(r.first_problem, "re-copy it"));
    ft_result_free(&r);
}

static void test_garbage_between_records_is_reported_and_skipped(void **state)
{
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CLOUDTRAIL,
            "{\"Records\":[{\"eventVersion\":\"1\"} oops {\"eventVersion\":\"2\"},"
            "{\"eventVersion\":\"3\"}]}",
            1 << 20, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "unexpected 'o' (expected ',' or ']')"));
    ft_result_free(&r);
    /* Minified array: resynchronizes at the next "},{". */
    run_all_steps(FRAME_JSON_ARRAY, "[{\"a\":1}x{\"b\":2},{\"c\":3},{\"d\":4}]", 1 << 20, &r);
    assert_int_equal(r.n, 3);
    ft_assert_event(&r, 0, "{\"a\":1}");
    ft_assert_event(&r, 1, "{\"c\":3}");
    ft_assert_event(&r, 2, "{\"d\":4}");
    assert_int_equal(r.n_problems, 1);
    ft_result_free(&r);
}

/* A record cut in the middle of a string swallows the records after it unless resync looks
 * inside it: they must come back. */
static void test_record_cut_short_inside_does_not_hide_the_next_records(void **state)
{
    struct ft_result r;
    char path[1024];
    size_t n;
    unsigned char *data;
    const char *second, *third;
    char *spliced;

    (void)state;
    run_all_steps(FRAME_CLOUDTRAIL,
            "{\"Records\":[{\"eventVersion\":\"1\",\"x\":\"abc{\"eventVersion\":\"2\"},"
            "{\"eventVersion\":\"3\"}]}",
            1 << 20, &r);
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 0, "{\"eventVersion\":\"2\"}");
    ft_assert_event(&r, 1, "{\"eventVersion\":\"3\"}");
    assert_true(r.n_problems >= 1);
    ft_result_free(&r);

    /* The same with a real pretty-printed Stratus file: cut its second record after 300
     * bytes, inside a string, and go on with the third record's line. */
    snprintf(path, sizeof(path),
            "%s/cloudtrail/stratus-red-team/detonation-logs/"
            "aws.persistence.iam-create-admin-user.json",
            LSF_SHARED_DATA);
    data = ft_read_file(path, &n);
    second = strstr((const char *)data, "\n   },\n   {") + strlen("\n   },\n   ");
    third = strstr(second, "\n   },\n   {") + strlen("\n   },");
    spliced = malloc(n + 1);
    assert_non_null(spliced);
    memcpy(spliced, data, (size_t)(second - (const char *)data) + 300);
    strcpy(spliced + (second - (const char *)data) + 300, third);
    run_all_steps(FRAME_JSON_ARRAY, spliced, 1 << 20, &r);
    assert_int_equal(r.n, 2);
    assert_true(r.n_problems >= 1);
    third += strlen("\n   ");
    assert_int_equal(r.ev[1].len, (size_t)(strrchr(third, '}') - third) + 1);
    assert_memory_equal(r.ev[1].bytes, third, r.ev[1].len);
    ft_result_free(&r);
    free(spliced);
    free(data);
}

static void test_record_over_max_event_size_is_skipped_in_bounded_memory(void **state)
{
    size_t big = 100 * 1024;
    char *text = malloc(big + 256);
    size_t n = 0;
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(
            text, "{\"Records\":[{\"eventVersion\":\"1\"},{\"eventVersion\":\"2\",\"s\":\"");
    memset(text + n, 'a', big);
    n += big;
    n += (size_t)sprintf(text + n, "\",\"t\":[\"]\"]},{\"eventVersion\":\"3\"}]}");
    run_all_steps(FRAME_CLOUDTRAIL, text, 1024, &r);
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 0, "{\"eventVersion\":\"1\"}");
    ft_assert_event(&r, 1, "{\"eventVersion\":\"3\"}");
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "byte 33: CloudTrail record 1 is longer than the "
                                            "--max-event-size limit of 1024 bytes; skipped "
                                            "(raise --max-event-size to scan it)"));
    assert_true(r.max_keep <= 1024);
    ft_result_free(&r);
    free(text);
}

static void test_nesting_deeper_than_the_limit_is_reported(void **state)
{
    size_t depth = FRAME_JSON_MAX_DEPTH + 10;
    char *text = malloc(2 * depth + 64);
    size_t n = 0;
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text, "[{\"a\":0},{\"x\":");
    memset(text + n, '[', depth);
    n += depth;
    memset(text + n, ']', depth);
    n += depth;
    n += (size_t)sprintf(text + n, "},{\"b\":1}]");
    text[n] = '\0';
    run_all_steps(FRAME_JSON_ARRAY, text, 1 << 20, &r);
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "nested deeper than 1024 levels"));
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 0, "{\"a\":0}");
    ft_assert_event(&r, 1, "{\"b\":1}");
    ft_result_free(&r);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cloudtrail_records_are_events_and_separators_become_newlines),
            cmocka_unit_test(test_empty_envelopes_and_trailing_commas_are_fine),
            cmocka_unit_test(test_json_without_a_records_array_is_not_cloudtrail),
            cmocka_unit_test(test_json_stream_and_array_frame_any_value),
            cmocka_unit_test(test_backslash_runs_at_block_boundaries_are_handled_alike),
            cmocka_unit_test(test_simd_and_scalar_scanners_agree_on_random_input),
            cmocka_unit_test(test_record_cut_short_at_end_of_input_is_reported),
            cmocka_unit_test(test_mismatched_bracket_skips_one_record_and_later_ones_are_framed),
            cmocka_unit_test(test_garbage_between_records_is_reported_and_skipped),
            cmocka_unit_test(test_record_cut_short_inside_does_not_hide_the_next_records),
            cmocka_unit_test(test_record_over_max_event_size_is_skipped_in_bounded_memory),
            cmocka_unit_test(test_nesting_deeper_than_the_limit_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
