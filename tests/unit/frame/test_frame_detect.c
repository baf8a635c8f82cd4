/*
 * Auto-detection and the framer's life cycle: each layout is recognized from its first bytes
 * whatever the window size, binary data is refused once, empty input is no error, a UTF-8
 * BOM is no part of the first event, and bad arguments are usage errors.
 */
#include "frame_test_util.h"

struct detect_case {
    const char *text;
    enum frame_format fmt;
};

static const struct detect_case cases[] = {
        {"{\"Records\":[{\"a\":1}]}", FRAME_CLOUDTRAIL},
        {" \n\t{ \"Records\" : [ ] }", FRAME_CLOUDTRAIL},
        {"[\n   {\n      \"awsRegion\": \"x\"\n   }\n]", FRAME_JSON_ARRAY},
        {"[1, 2]", FRAME_JSON_ARRAY},
        {"[]", FRAME_JSON_ARRAY},
        {"[2024-01-01 12:00:00] INFO started\n", FRAME_SYSLOG},
        {"[INFO] started\n", FRAME_SYSLOG},
        {"{\"eventVersion\":\"1.08\",\"x\":{\"y\":[]}}\n{\"eventVersion\":\"1.08\"}\n",
                FRAME_JSON_LINES},
        {"{\"eventVersion\":\"1.08\"}", FRAME_JSON_LINES},
        {"{\"a\":\n 1}\n{\"b\":2}", FRAME_JSON_STREAM},
        {"{\"a\":1}{\"b\":2}\n", FRAME_JSON_STREAM},
        {"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}", FRAME_FIREHOSE},
        {"{\n  \"owner\": \"1\",\n  \"logEvents\": []\n}", FRAME_FIREHOSE},
        {"{\"awslogs\":{\"data\":\"H4sI\"}}", FRAME_FIREHOSE},
        {"2024-01-15T11:01:02.123Z START RequestId: 1 Version: $LATEST\n", FRAME_CWL_EXPORT},
        {"2024-01-15T11:01:02Z plain message", FRAME_CWL_EXPORT},
        {"2024-01-15T11:01:02.123Z ip-10-0-0-1 sshd[12]: Accepted publickey\n", FRAME_SYSLOG},
        {"2022-01-19T14:23:55+00:00 host sshd[1]: x\n", FRAME_SYSLOG},
        {"<38>1 2022-01-19T14:23:55+00:00 OPNsense sshd 44255 - [meta] Invalid user\n",
                FRAME_SYSLOG},
        {"Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening\n", FRAME_SYSLOG},
        {"hello world\nsecond line\n", FRAME_SYSLOG},
        {"{not json} but text\n", FRAME_SYSLOG},
};

static void test_formats_are_detected_from_the_first_bytes_in_any_window_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static const size_t steps[] = {0, 1, 5};
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            struct ft_result r;

            ft_run(FRAME_AUTO, (const unsigned char *)cases[i].text, strlen(cases[i].text),
                    steps[s], 1 << 20, &r);
            if (r.fmt != cases[i].fmt)
                fail_msg("'%s' detected as %s, expected %s", cases[i].text,
                        frame_format_name(r.fmt), frame_format_name(cases[i].fmt));
            /* The awslogs wrapper is recognized, then explained as a problem. */
            assert_int_equal(r.n_problems, strstr(cases[i].text, "awslogs") ? 1 : 0);
            ft_result_free(&r);
        }
    }
}

static void test_detection_of_a_large_first_document_looks_at_most_64_KiB(void **state)
{
    size_t n = 200 * 1024;
    char *text = malloc(n + 1);
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    /* One JSON value, pretty-printed over many lines, far longer than 64 KiB. */
    strcpy(text, "{\"k\": [\n");
    for (size_t at = strlen(text); at + 16 < n;)
        at += (size_t)sprintf(text + at, "  \"%09zu\",\n", at);
    strcpy(text + strlen(text) - 2, "\n]}\n");
    ft_run(FRAME_AUTO, (const unsigned char *)text, strlen(text), 4096, 1 << 20, &r);
    assert_int_equal(r.fmt, FRAME_JSON_STREAM);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.n_problems, 0);
    ft_result_free(&r);
    free(text);
}

static void test_binary_data_gives_up_with_one_problem(void **state)
{
    static const unsigned char nul[] = "Mar 27 13:06:56 host x\n\0\0\0\0binary";
    static const unsigned char gzip[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 'a'};
    unsigned char ctrl[4096];
    struct ft_result r;

    (void)state;
    ft_run(FRAME_AUTO, nul, sizeof(nul) - 1, 3, 1 << 20, &r);
    assert_true(r.has_gave_up);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_problems, 1);
    assert_string_equal(r.first_problem, "byte 0: binary data, not a text log; logsift reads "
                                         "plain/gzip/zstd text logs; skipped");
    ft_result_free(&r);
    ft_run(FRAME_AUTO, gzip, sizeof(gzip), 0, 1 << 20, &r);
    assert_true(r.has_gave_up);
    assert_non_null(strstr(r.first_problem, "gzip data"));
    ft_result_free(&r);
    for (size_t i = 0; i < sizeof(ctrl); i++)
        ctrl[i] = (unsigned char)(i % 4 ? 'a' : 0x01 + i % 7);
    ft_run(FRAME_AUTO, ctrl, sizeof(ctrl), 100, 1 << 20, &r);
    assert_true(r.has_gave_up);
    assert_int_equal(r.n_problems, 1);
    ft_result_free(&r);
}

static void test_empty_and_blank_inputs_have_no_events_and_no_problem(void **state)
{
    static const char *const inputs[] = {"", " ", "\n\n\r\n \t\n"};
    struct ft_result r;

    (void)state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (int fmt = FRAME_AUTO; fmt < FRAME_N_FORMATS; fmt++) {
            ft_run((enum frame_format)fmt, (const unsigned char *)inputs[i], strlen(inputs[i]), 1,
                    1 << 20, &r);
            assert_int_equal(r.n, 0);
            assert_int_equal(r.n_problems, 0);
            assert_false(r.has_gave_up);
            ft_result_free(&r);
        }
    }
}

static void test_utf8_bom_is_no_part_of_the_first_event(void **state)
{
    static const char ct[] = "\xEF\xBB\xBF{\"Records\":[{\"a\":1}]}";
    static const char sl[] = "\xEF\xBB\xBFMar 27 13:06:56 host x\n";
    struct ft_result r;

    (void)state;
    for (size_t step = 0; step < 5; step++) {
        ft_run(FRAME_AUTO, (const unsigned char *)ct, strlen(ct), step, 1 << 20, &r);
        assert_int_equal(r.fmt, FRAME_CLOUDTRAIL);
        assert_int_equal(r.n, 1);
        ft_assert_event(&r, 0, "{\"a\":1}");
        assert_int_equal(r.ev[0].src_off, 15);
        ft_result_free(&r);
        ft_run(FRAME_SYSLOG, (const unsigned char *)sl, strlen(sl), step, 1 << 20, &r);
        assert_int_equal(r.n, 1);
        ft_assert_event(&r, 0, "Mar 27 13:06:56 host x");
        assert_int_equal(r.ev[0].src_off, 3);
        ft_result_free(&r);
    }
}

static void test_format_names_round_trip_and_bad_arguments_are_usage_errors(void **state)
{
    struct lsf_err err;
    enum frame_format fmt;
    struct framer *f = (struct framer *)&fmt;

    (void)state;
    for (int k = 0; k < FRAME_N_FORMATS; k++) {
        lsf_err_clear(&err);
        assert_int_equal(
                frame_format_parse(frame_format_name((enum frame_format)k), &fmt, &err), LSF_OK);
        assert_int_equal(fmt, k);
    }
    assert_string_equal(frame_format_name(FRAME_CWL_EXPORT), "cwl-export");
    lsf_err_clear(&err);
    assert_int_equal(frame_format_parse("xml", &fmt, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, "unknown --format value 'xml'; use one of auto, cloudtrail"));
    lsf_err_clear(&err);
    assert_int_equal(framer_new(FRAME_SYSLOG, 100, &f, &err), LSF_E_USAGE);
    assert_null(f);
    assert_non_null(strstr(err.msg, "--max-event-size"));
    framer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_formats_are_detected_from_the_first_bytes_in_any_window_size),
            cmocka_unit_test(test_detection_of_a_large_first_document_looks_at_most_64_KiB),
            cmocka_unit_test(test_binary_data_gives_up_with_one_problem),
            cmocka_unit_test(test_empty_and_blank_inputs_have_no_events_and_no_problem),
            cmocka_unit_test(test_utf8_bom_is_no_part_of_the_first_event),
            cmocka_unit_test(test_format_names_round_trip_and_bad_arguments_are_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
