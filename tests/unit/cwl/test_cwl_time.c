/*
 * fetch_cwl_time_parse and fetch_cwl_span_parse: ISO-8601 times (with fractions and offsets)
 * and spans back from now, as --since/--until/--lag take them; everything else refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "src_cwl.h"

#define NOW INT64_C(1750000000000) /* 2025-06-15T15:06:40Z */

static void test_iso_times(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
            {"1970-01-01", 0},
            {"2025-01-31", INT64_C(1738281600000)},
            {"2025-01-31T10:00Z", INT64_C(1738317600000)},
            {"2025-01-31T10:00:00Z", INT64_C(1738317600000)},
            {"2025-01-31T10:00:00.250Z", INT64_C(1738317600250)},
            {"2025-01-31T10:00:00.5Z", INT64_C(1738317600500)},
            {"2025-01-31T12:00:00+02:00", INT64_C(1738317600000)},
            {"2025-01-31T05:30:00-04:30", INT64_C(1738317600000)},
            {"2024-02-29T23:59:59Z", INT64_C(1709251199000)},
            {"2000-03-01T00:00:00Z", INT64_C(951868800000)},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        if (!fetch_cwl_time_parse(cases[i].text, NOW, &ms))
            fail_msg("%s: refused", cases[i].text);
        if (ms != cases[i].ms)
            fail_msg("%s: %lld, want %lld", cases[i].text, (long long)ms,
                    (long long)cases[i].ms);
    }
}

static void test_spans_back_from_now(void **state)
{
    int64_t ms;

    (void)state;
    assert_true(fetch_cwl_time_parse("15m", NOW, &ms));
    assert_int_equal(ms, NOW - 15 * 60 * 1000);
    assert_true(fetch_cwl_time_parse("2h", NOW, &ms));
    assert_int_equal(ms, NOW - 2 * 3600 * 1000);
    assert_true(fetch_cwl_time_parse("7d", NOW, &ms));
    assert_int_equal(ms, NOW - INT64_C(7) * 86400 * 1000);
    assert_true(fetch_cwl_time_parse("90s", NOW, &ms));
    assert_int_equal(ms, NOW - 90 * 1000);
    assert_true(fetch_cwl_span_parse("0", &ms));
    assert_int_equal(ms, 0);
    assert_true(fetch_cwl_span_parse("2m", &ms));
    assert_int_equal(ms, 120000);
}

static void test_malformed_refused(void **state)
{
    static const char *const bad[] = {"", "yesterday", "15", "15x", "-5m", "5mm", "m",
            "2025-1-31", "2025-13-01", "2025-01-32", "2025-01-31T25:00Z", "2025-01-31T10",
            "2025-01-31T10:00:00+0200", "2025-01-31T10:00:00.Z", "2025-01-31T10:00:00Zjunk",
            "1969-12-31", "2025/01/31"};
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fetch_cwl_time_parse(bad[i], NOW, &ms))
            fail_msg("\"%s\" was accepted as a time", bad[i]);
    }
    assert_false(fetch_cwl_span_parse("5", &ms)); /* a number needs a unit */
    assert_false(fetch_cwl_span_parse("2025-01-31", &ms));
    assert_false(fetch_cwl_span_parse("1y", &ms));
}

static void test_url_kind(void **state)
{
    (void)state;
    assert_true(fetch_cwl_is_url("logs://prod-auth"));
    assert_true(fetch_cwl_is_url("logs:///aws/lambda/fn//2025/"));
    assert_false(fetch_cwl_is_url("s3://bucket/key"));
    assert_false(fetch_cwl_is_url("logs:/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_iso_times),
            cmocka_unit_test(test_spans_back_from_now),
            cmocka_unit_test(test_malformed_refused),
            cmocka_unit_test(test_url_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
