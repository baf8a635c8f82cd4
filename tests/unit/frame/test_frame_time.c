/*
 * frame_event_time: every timestamp kind gives the epoch milliseconds computed independently
 * (python datetime.fromisoformat(...).timestamp()), and what is not a timestamp gives
 * FRAME_TS_UNKNOWN.
 */
#include "frame_test_util.h"

#include "frame_int.h"

#define NOW_2024_JAN_1_0030 INT64_C(1704069000000) /* 2024-01-01T00:30:00Z */

static int64_t ts(enum frame_format fmt, const char *ev, int64_t now_ms)
{
    return frame_event_time(fmt, (const unsigned char *)ev, strlen(ev), now_ms);
}

static void test_cloudtrail_event_time_is_read_with_fraction_and_offset(void **state)
{
    (void)state;
    assert_true(ts(FRAME_CLOUDTRAIL,
                        "{\"eventVersion\":\"1.10\",\"eventTime\":\"2024-07-31T13:06:24Z\"}",
                        0) == INT64_C(1722431184000));
    /* Pretty-printed, as in the Stratus arrays. */
    assert_true(ts(FRAME_JSON_ARRAY, "{\n   \"eventTime\" :  \"2020-09-17T16:44:11.123Z\"\n}", 0) ==
                INT64_C(1600361051123));
    assert_true(ts(FRAME_JSON_LINES, "{\"eventTime\":\"2022-01-19T14:23:55.5-05:30\"}", 0) ==
                INT64_C(1642622035500));
    /* Logstash-shipped CloudTrail (OTRF) has only @timestamp. */
    assert_true(ts(FRAME_JSON_LINES, "{\"@timestamp\":\"2022-01-19T14:23:55+00:00\"}", 0) ==
                INT64_C(1642602235000));
    /* A string value that mentions eventTime is not the member. */
    assert_true(ts(FRAME_CLOUDTRAIL, "{\"note\":\"eventTime\",\"x\":1}", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_CLOUDTRAIL, "{\"eventTime\":\"yesterday\"}", 0) == FRAME_TS_UNKNOWN);
}

static void test_rfc3164_year_is_the_latest_not_a_day_after_now(void **state)
{
    (void)state;
    /* now = 2024-01-01T00:30Z: "Dec 31" is last year's, "Jan  1 12:00" is today (11.5 h
     * ahead, within a day), "Jan  3" would be 2 days ahead so it is 2023's. */
    assert_true(ts(FRAME_SYSLOG, "Dec 31 23:59:59 host sshd[1]: x", NOW_2024_JAN_1_0030) ==
                INT64_C(1704067199000));
    assert_true(ts(FRAME_SYSLOG, "Jan  1 12:00:00 host sshd[1]: x", NOW_2024_JAN_1_0030) ==
                INT64_C(1704110400000));
    assert_true(ts(FRAME_SYSLOG, "Jan  3 00:00:00 host sshd[1]: x", NOW_2024_JAN_1_0030) ==
                INT64_C(1672704000000));
    /* Feb 29 goes back to the last leap year (now 2025-03-01). */
    assert_true(ts(FRAME_SYSLOG, "Feb 29 06:00:00 host cron[2]: y", INT64_C(1740787200000)) ==
                INT64_C(1709186400000));
    /* auth.log of elastic/examples, read "in 2017". */
    assert_true(ts(FRAME_SYSLOG,
                        "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening on 0.0.0.0",
                        INT64_C(1492697669000)) == INT64_C(1490620016000));
    /* With a priority in front. */
    assert_true(ts(FRAME_SYSLOG, "<13>Mar 27 13:06:56 host x", INT64_C(1492697669000)) ==
                INT64_C(1490620016000));
}

static void test_rfc5424_and_rfc3339_syslog_lines_carry_their_zone(void **state)
{
    (void)state;
    assert_true(ts(FRAME_SYSLOG,
                        "<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - "
                        "[meta sequenceId=\"1\"] Invalid user tutu from 1.2.3.4 port 33166",
                        0) == INT64_C(1642602235000));
    assert_true(ts(FRAME_SYSLOG, "2022-01-19T14:23:55.5-05:30 host sshd[3]: x", 0) ==
                INT64_C(1642622035500));
    /* RFC 5424 NILVALUE: no time. */
    assert_true(ts(FRAME_SYSLOG, "<38>1 - host sshd 1 - - msg", 0) == FRAME_TS_UNKNOWN);
}

static void test_cwl_export_and_firehose_message_times(void **state)
{
    (void)state;
    assert_true(ts(FRAME_CWL_EXPORT, "2024-01-15T11:01:02.123Z START RequestId: 1\n more", 0) ==
                INT64_C(1705316462123));
    assert_true(ts(FRAME_CWL_EXPORT, "continuation without a stamp", 0) == FRAME_TS_UNKNOWN);
    /* A Firehose message: a Lambda line, or a CloudTrail event as JSON. */
    assert_true(ts(FRAME_FIREHOSE, "2020-03-05T16:30:36.113Z\tf08bb4c8\tDEBUG\tx\n", 0) ==
                INT64_C(1583425836113));
    assert_true(
            ts(FRAME_FIREHOSE, "{\"eventVersion\":\"1.05\",\"eventTime\":\"2020-09-17T16:44:11Z\"}",
                    0) == INT64_C(1600361051000));
    assert_true(ts(FRAME_AUTO, "Mar 27 13:06:56 host x", INT64_C(1492697669000)) ==
                INT64_C(1490620016000));
}

static void test_text_without_a_timestamp_has_unknown_time(void **state)
{
    (void)state;
    assert_true(ts(FRAME_SYSLOG, "", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_SYSLOG, "hello world", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_SYSLOG, "2024-13-01T00:00:00Z month 13", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_SYSLOG, "2023-02-29T00:00:00Z not a leap year", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_SYSLOG, "Foo 27 13:06:56 host x", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_SYSLOG, "Mar 27 25:06:56 host x", 0) == FRAME_TS_UNKNOWN);
    assert_true(ts(FRAME_JSON_LINES, "{\"a\":1}", 0) == FRAME_TS_UNKNOWN);
}

static void test_days_from_civil_matches_known_dates(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(frame_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(frame_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(frame_days_from_civil(2100, 3, 1), 47541);
    assert_int_equal(frame_days_from_civil(1600, 1, 1), -135140);
    assert_int_equal(frame_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(
            frame_iso8601_parse((const unsigned char *)"2100-02-28T00:00:00Z", 20, 0, &ms), 20);
    assert_true(ms == INT64_C(4107456000000));
    /* The strict CloudWatch export form wants the 'T' and the 'Z'. */
    assert_int_equal(frame_iso8601_parse((const unsigned char *)"2024-01-15 11:01:02Z", 20,
                             FRAME_ISO_STRICT_Z, &ms),
            0);
    assert_int_equal(frame_iso8601_parse((const unsigned char *)"2024-01-15T11:01:02+00:00", 25,
                             FRAME_ISO_STRICT_Z, &ms),
            0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cloudtrail_event_time_is_read_with_fraction_and_offset),
            cmocka_unit_test(test_rfc3164_year_is_the_latest_not_a_day_after_now),
            cmocka_unit_test(test_rfc5424_and_rfc3339_syslog_lines_carry_their_zone),
            cmocka_unit_test(test_cwl_export_and_firehose_message_times),
            cmocka_unit_test(test_text_without_a_timestamp_has_unknown_time),
            cmocka_unit_test(test_days_from_civil_matches_known_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
