/*
 * Line formats: json-lines and syslog make each non-blank line an event (without its '\r\n');
 * cwl-export joins the lines that do not start with a timestamp to the event before them. A
 * line (or cwl-export event) over --max-event-size is reported and skipped without keeping
 * its bytes, even when it is 100 MB long.
 */
#include "frame_test_util.h"

static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 0};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static void run_all_steps(enum frame_format fmt, const char *text, size_t n, size_t max_event_len,
        struct ft_result *r)
{
    ft_run(fmt, (const unsigned char *)text, n, 0, max_event_len, r);
    for (size_t s = 0; s < N_STEPS; s++) {
        struct ft_result other;
        ft_run(fmt, (const unsigned char *)text, n, steps[s], max_event_len, &other);
        ft_assert_same(r, &other);
        ft_result_free(&other);
    }
}

static void test_json_lines_drop_crlf_and_blank_lines(void **state)
{
    const char *text = "{\"a\":1}\r\n\r\n  \t\n{broken\n\n{\"c\":3}";
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_JSON_LINES, text, strlen(text), 1 << 20, &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.n_problems, 0);
    ft_assert_event(&r, 0, "{\"a\":1}");
    ft_assert_event(&r, 1, "{broken"); /* json-lines does not parse: rules still see it */
    ft_assert_event(&r, 2, "{\"c\":3}");
    assert_int_equal(r.ev[1].src_off, 15);
    assert_int_equal(r.ev[2].ordinal, 2);
    ft_result_free(&r);
}

static void test_syslog_last_line_without_newline_is_an_event(void **state)
{
    const char *text = "Mar 27 13:06:56 host sshd[1]: one\nMar 27 13:06:57 host sshd[1]: two";
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_SYSLOG, text, strlen(text), 1 << 20, &r);
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 1, "Mar 27 13:06:57 host sshd[1]: two");
    ft_result_free(&r);
}

static void test_cwl_export_multi_line_messages_are_one_event(void **state)
{
    const char *text = "2024-01-15T11:01:02.123Z START RequestId: 1\n"
                       "2024-01-15T11:01:03.000Z Traceback (most recent call last):\n"
                       "  File \"x.py\", line 1\n"
                       "\n"
                       "ValueError: boom\r\n"
                       "\n"
                       "2024-01-15T11:01:04Z END\n";
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CWL_EXPORT, text, strlen(text), 1 << 20, &r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.n, 3);
    ft_assert_event(&r, 0, "2024-01-15T11:01:02.123Z START RequestId: 1");
    ft_assert_event(&r, 1,
            "2024-01-15T11:01:03.000Z Traceback (most recent call last):\n"
            "  File \"x.py\", line 1\n\nValueError: boom");
    ft_assert_event(&r, 2, "2024-01-15T11:01:04Z END");
    ft_result_free(&r);
}

static void test_cwl_export_lines_before_the_first_timestamp_form_an_event(void **state)
{
    const char *text = "\n\nfirst line\nsecond\n2024-01-15T11:01:02Z x\n2024-01-15T11:01:02Zy\n";
    struct ft_result r;

    (void)state;
    run_all_steps(FRAME_CWL_EXPORT, text, strlen(text), 1 << 20, &r);
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 0, "first line\nsecond");
    /* "...Zy" lacks the space after the stamp: a continuation line. */
    ft_assert_event(&r, 1, "2024-01-15T11:01:02Z x\n2024-01-15T11:01:02Zy");
    assert_int_equal(r.ev[0].src_off, 2);
    ft_result_free(&r);
}

static void test_line_over_max_event_size_is_skipped_and_framing_resumes(void **state)
{
    size_t big = 100 * 1024;
    char *text = malloc(big + 64);
    size_t n = 0;
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text, "first\n");
    memset(text + n, 'x', big);
    n += big;
    n += (size_t)sprintf(text + n, "\r\nlast\n");
    for (int fmt = FRAME_JSON_LINES; fmt <= FRAME_SYSLOG; fmt += FRAME_SYSLOG - FRAME_JSON_LINES) {
        run_all_steps((enum frame_format)fmt, text, n, 1024, &r);
        assert_int_equal(r.n, 2);
        ft_assert_event(&r, 0, "first");
        ft_assert_event(&r, 1, "last");
        assert_int_equal(r.n_problems, 1);
        assert_non_null(strstr(r.first_problem, "byte 6: line longer than the --max-event-size "
                                                "limit of 1024 bytes; skipped (raise "
                                                "--max-event-size to scan it)"));
        assert_true(r.max_keep <= 1024);
        ft_result_free(&r);
    }
    free(text);
}

static void test_cwl_export_event_over_max_event_size_is_skipped(void **state)
{
    char *text = malloc(16384);
    size_t n = 0;
    struct ft_result r;

    (void)state;
    assert_non_null(text);
    n += (size_t)sprintf(text, "2024-01-15T11:01:02Z small\n2024-01-15T11:01:03Z big\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(text + n, "    at frame %03d of a long stack trace\n", i);
    n += (size_t)sprintf(text + n, "2024-01-15T11:01:04Z after\n");
    run_all_steps(FRAME_CWL_EXPORT, text, n, 1024, &r);
    assert_int_equal(r.n, 2);
    ft_assert_event(&r, 0, "2024-01-15T11:01:02Z small");
    ft_assert_event(&r, 1, "2024-01-15T11:01:04Z after");
    assert_int_equal(r.n_problems, 1);
    assert_non_null(strstr(r.first_problem, "byte 27: event longer than the --max-event-size"));
    assert_true(r.max_keep <= 1024);
    ft_result_free(&r);
    free(text);
}

/*
 * A 100 MB line streamed through a window of max_event_len + 64 KiB, as the engine would:
 * the framer never asks to keep more than max_event_len bytes.
 */
static void test_hundred_megabyte_line_is_skipped_in_bounded_memory(void **state)
{
    const size_t max_event = 64 * 1024, step = 64 * 1024, line = 100 * 1000 * 1000;
    const char *tail = "\nafter the long line\n";
    const size_t total = 7 + line + strlen(tail);
    unsigned char *win = malloc(max_event + step);
    struct framer *f = NULL;
    struct frame_batch batch;
    struct lsf_err err;
    size_t carry = 0, fed = 0, n_events = 0, n_problems = 0;
    uint64_t base = 0;
    char last[64] = "";

    (void)state;
    assert_non_null(win);
    lsf_err_clear(&err);
    assert_int_equal(framer_new(FRAME_SYSLOG, max_event, &f, &err), LSF_OK);
    frame_batch_init(&batch);
    while (fed < total || carry > 0) {
        size_t add = total - fed < step ? total - fed : step;
        size_t len, pos = 0;
        bool is_eof;

        /* The input: "before\n", then 'L' * line, then tail. */
        for (size_t k = 0; k < add; k++) {
            size_t at = fed + k;
            win[carry + k] = at < 7          ? (unsigned char)"before\n"[at]
                             : at < 7 + line ? 'L'
                                             : (unsigned char)tail[at - 7 - line];
        }
        fed += add;
        len = carry + add;
        is_eof = fed == total;
        while (pos < len || (is_eof && pos == len)) {
            size_t consumed = 0;
            enum lsf_code rc;

            frame_batch_reset(&batch);
            lsf_err_clear(&err);
            rc = framer_feed(f, win + pos, len - pos, base + pos, is_eof, &batch, &consumed, &err);
            for (size_t k = 0; k < batch.n; k++) {
                size_t l = batch.ev[k].len < sizeof(last) - 1 ? batch.ev[k].len : sizeof(last) - 1;
                memcpy(last, win + pos + batch.ev[k].off, l);
                last[l] = '\0';
            }
            n_events += batch.n;
            pos += consumed;
            if (rc == LSF_OK)
                break;
            n_problems++;
            assert_int_equal(rc, LSF_E_INPUT);
        }
        assert_true(len - pos <= max_event);
        if (is_eof)
            break;
        memmove(win, win + pos, len - pos);
        carry = len - pos;
        base += pos;
    }
    assert_int_equal(n_events, 2);
    assert_int_equal(n_problems, 1);
    assert_string_equal(last, "after the long line");
    framer_free(f);
    frame_batch_cleanup(&batch);
    free(win);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_lines_drop_crlf_and_blank_lines),
            cmocka_unit_test(test_syslog_last_line_without_newline_is_an_event),
            cmocka_unit_test(test_cwl_export_multi_line_messages_are_one_event),
            cmocka_unit_test(test_cwl_export_lines_before_the_first_timestamp_form_an_event),
            cmocka_unit_test(test_line_over_max_event_size_is_skipped_and_framing_resumes),
            cmocka_unit_test(test_cwl_export_event_over_max_event_size_is_skipped),
            cmocka_unit_test(test_hundred_megabyte_line_is_skipped_in_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
