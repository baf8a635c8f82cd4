/*
 * alert_format: every finding becomes one valid JSON line, whatever bytes the event holds;
 * excerpts are cut at character boundaries; times are UTC ISO 8601.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"

static struct lsf_finding sample(const char *event, size_t len)
{
    static const unsigned ids[] = {3, 7};
    struct lsf_finding f = {
        .rule_id = "aws.cloudtrail.stop_logging",
        .title = "CloudTrail \"logging\" stopped",
        .severity = "high",
        .source = "dir/x.json.gz",
        .format = "cloudtrail",
        .offset = 1234,
        .ordinal = 5,
        .ts_ms = 1722431184000LL, /* 2024-07-31T13:06:24Z */
        .pattern_ids = ids,
        .n_pattern_ids = 2,
        .event = (const unsigned char *)event,
        .event_len = len,
    };
    return f;
}

/* Format f, parse the line back with jansson, return the object (caller decrefs). */
static json_t *roundtrip(const struct lsf_finding *f, size_t excerpt)
{
    struct lsf_buf out;
    struct lsf_err err;
    json_error_t jerr;
    json_t *obj;

    lsf_err_clear(&err);
    lsf_buf_init(&out, 1 << 20);
    assert_int_equal(alert_jsonl_format(f, excerpt, &out, &err), LSF_OK);
    assert_true(out.len > 0);
    assert_int_equal(out.data[out.len - 1], '\n');
    assert_null(memchr(out.data, '\n', out.len - 1));
    obj = json_loadb((const char *)out.data, out.len, 0, &jerr);
    if (obj == NULL)
        fail_msg("not valid JSON: %s", jerr.text);
    lsf_buf_cleanup(&out);
    return obj;
}

static void test_fields_round_trip_through_a_json_parser(void **state)
{
    const char *ev = "{\"eventName\":\"StopLogging\",\n\t\"x\":\"\\u00e9\"}";
    struct lsf_finding f = sample(ev, strlen(ev));
    json_t *obj = roundtrip(&f, 4096);

    (void)state;
    assert_int_equal(json_integer_value(json_object_get(obj, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(obj, "rule")), f.rule_id);
    assert_string_equal(json_string_value(json_object_get(obj, "title")), f.title);
    assert_string_equal(json_string_value(json_object_get(obj, "time")),
            "2024-07-31T13:06:24.000Z");
    assert_int_equal(json_integer_value(json_object_get(obj, "offset")), 1234);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(obj, "patterns"), 1)), 7);
    assert_string_equal(json_string_value(json_object_get(obj, "event")), ev);
    assert_null(json_object_get(obj, "event_truncated"));
    json_decref(obj);
}

static void test_invalid_utf8_and_control_bytes_still_give_valid_json(void **state)
{
    const char ev[] = "ok \xff\xfe bad \xc3 cut \x01\x1f ctl \xed\xa0\x80 surrogate \xc3\xa9";
    struct lsf_finding f = sample(ev, sizeof(ev) - 1);
    json_t *obj = roundtrip(&f, 4096);
    const char *got = json_string_value(json_object_get(obj, "event"));

    (void)state;
    assert_non_null(strstr(got, "ok \xEF\xBF\xBD\xEF\xBF\xBD bad"));
    assert_non_null(strstr(got, "\x01\x1f ctl"));
    assert_non_null(strstr(got, "surrogate \xc3\xa9"));
    json_decref(obj);
}

static void test_excerpt_is_cut_at_a_character_boundary(void **state)
{
    const char ev[] = "ab\xc3\xa9\xc3\xa9xyz"; /* a b é é x y z */
    struct lsf_finding f = sample(ev, sizeof(ev) - 1);
    json_t *obj = roundtrip(&f, 3); /* would cut é in half */

    (void)state;
    assert_string_equal(json_string_value(json_object_get(obj, "event")), "ab");
    assert_true(json_is_true(json_object_get(obj, "event_truncated")));
    json_decref(obj);
}

static void test_unknown_time_is_null(void **state)
{
    struct lsf_finding f = sample("x", 1);
    json_t *obj;

    (void)state;
    f.ts_ms = LSF_TS_UNKNOWN;
    obj = roundtrip(&f, 10);
    assert_true(json_is_null(json_object_get(obj, "time")));
    json_decref(obj);
}

static void test_table_line_has_time_severity_rule_and_place(void **state)
{
    struct lsf_finding f = sample("x", 1);
    struct lsf_buf out;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    lsf_buf_init(&out, 4096);
    assert_int_equal(alert_table_format(&f, &out, &err), LSF_OK);
    assert_int_equal(lsf_buf_append(&out, "", 1, &err), LSF_OK);
    assert_non_null(strstr((char *)out.data, "2024-07-31T13:06:24.000Z"));
    assert_non_null(strstr((char *)out.data, "high"));
    assert_non_null(strstr((char *)out.data, "dir/x.json.gz:1234"));
    lsf_buf_cleanup(&out);
}

static void test_time_before_1970_formats(void **state)
{
    char buf[32];

    (void)state;
    alert_format_time(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_round_trip_through_a_json_parser),
        cmocka_unit_test(test_invalid_utf8_and_control_bytes_still_give_valid_json),
        cmocka_unit_test(test_excerpt_is_cut_at_a_character_boundary),
        cmocka_unit_test(test_unknown_time_is_null),
        cmocka_unit_test(test_table_line_has_time_severity_rule_and_place),
        cmocka_unit_test(test_time_before_1970_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
