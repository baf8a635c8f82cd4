/*
 * alert_sns / alert_metrics formatting and limits: subjects SNS accepts, messages cut under
 * 256 KB with a marker at a character boundary, batches within SNS's and CloudWatch's limits,
 * topic ARNs, event identities, and OCSF lines that stay valid JSON whatever the event holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "alert_deliver.h"
#include "alert_int.h"
#include "alert_record.h"

static struct lsf_finding finding(const char *event, size_t len)
{
    struct lsf_finding f = {
        .rule_id = "aws.cloudtrail.stop_logging",
        .title = "CloudTrail logging was stopped",
        .severity = "high",
        .source = "logs/x.json",
        .format = "cloudtrail",
        .offset = 42,
        .ts_ms = 1722431184000LL,
        .event = (const unsigned char *)event,
        .event_len = len,
    };
    return f;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool is_valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t seq = alert_utf8_seq_len(s + i, n - i);
        if (seq == 0)
            return false;
        i += seq;
    }
    return true;
}

static void subject_has_no_control_characters_and_fewer_than_100_characters(void **state)
{
    char title[600];
    char subject[400];

    (void)state;
    strcpy(title, "line one\nline two\ttab");
    alert_sns_subject("high", title, subject, sizeof(subject));
    assert_string_equal(subject, "logsift HIGH: line one line two tab");

    title[0] = '\0';
    for (int i = 0; i < 150; i++)
        strcat(title, "\xC3\xA9"); /* é: two bytes, one character */
    alert_sns_subject("critical", title, subject, sizeof(subject));
    assert_int_equal(utf8_chars(subject), ALERT_SNS_MAX_SUBJECT_CHARS);
    assert_true(is_valid_utf8((const unsigned char *)subject, strlen(subject)));
    assert_memory_equal(subject, "logsift CRITICAL: ", 18);
}

static void long_message_is_cut_at_a_character_boundary_with_a_marker(void **state)
{
    struct lsf_buf body;
    size_t original;
    unsigned long omitted = 0;
    const char *marker;

    (void)state;
    lsf_buf_init(&body, SIZE_MAX);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(lsf_buf_append(&body, "\xE2\x82\xAC", 3, NULL), LSF_OK); /* € */
    assert_int_equal(lsf_buf_append(&body, "", 1, NULL), LSF_OK);
    body.len--;
    original = body.len;
    assert_true(alert_sns_fit(&body, 262000, "full event: x.json offset 7"));
    assert_true(body.len <= 262000);
    assert_true(body.len > 262000 - 200);
    assert_true(is_valid_utf8(body.data, body.len));
    marker = strstr((const char *)body.data, "\n[truncated by logsift: ");
    assert_non_null(marker);
    assert_int_equal(sscanf(marker, "\n[truncated by logsift: %lu", &omitted), 1);
    assert_int_equal((size_t)(marker - (const char *)body.data) + omitted, original);
    assert_non_null(strstr(marker, "bytes omitted; full event: x.json offset 7]\n"));
    assert_int_equal(strlen((const char *)body.data), body.len);

    /* A message that fits is left alone. */
    body.len = 10;
    body.data[10] = '\0';
    assert_false(alert_sns_fit(&body, 262000, "x"));
    assert_int_equal(body.len, 10);
    lsf_buf_cleanup(&body);
}

static void message_names_what_who_where_when_rule_and_event(void **state)
{
    static const char ev[] =
            "{\"eventID\":\"e-1\",\"eventName\":\"StopLogging\",\"eventSource\":"
            "\"cloudtrail.amazonaws.com\",\"sourceIPAddress\":\"203.0.113.7\",\"awsRegion\":"
            "\"eu-west-1\",\"recipientAccountId\":\"111122223333\",\"userIdentity\":{\"type\":"
            "\"AssumedRole\",\"principalId\":\"AROA:x\",\"arn\":"
            "\"arn:aws:sts::1:assumed-role/r/x\"}}";
    struct lsf_finding f = finding(ev, sizeof(ev) - 1);
    struct alert_record r;
    struct lsf_buf out;

    (void)state;
    assert_int_equal(
            alert_record_from_finding(&f, "Attackers stop trails first.", NULL, 4096, &r, NULL),
            LSF_OK);
    lsf_buf_init(&out, SIZE_MAX);
    assert_int_equal(alert_sns_message(&r, &out, NULL), LSF_OK);
    assert_string_equal((const char *)out.data,
            "logsift finding: CloudTrail logging was stopped\n\n"
            "What:   StopLogging on cloudtrail.amazonaws.com\n"
            "Who:    arn:aws:sts::1:assumed-role/r/x\n"
            "From:   203.0.113.7\n"
            "When:   2024-07-31T13:06:24.000Z\n"
            "Where:  account 111122223333, region eu-west-1\n"
            "Rule:   aws.cloudtrail.stop_logging (severity HIGH)\n\n"
            "Why it matters: Attackers stop trails first.\n\n"
            "Raw event: logs/x.json, byte offset 42 (cloudtrail), event id e-1\n"
            "{\"eventID\":\"e-1\",\"eventName\":\"StopLogging\",\"eventSource\":"
            "\"cloudtrail.amazonaws.com\",\"sourceIPAddress\":\"203.0.113.7\",\"awsRegion\":"
            "\"eu-west-1\",\"recipientAccountId\":\"111122223333\",\"userIdentity\":{\"type\":"
            "\"AssumedRole\",\"principalId\":\"AROA:x\",\"arn\":"
            "\"arn:aws:sts::1:assumed-role/r/x\"}}\n");
    lsf_buf_cleanup(&out);
    alert_record_cleanup(&r);
}

static void event_id_is_cloudtrail_id_then_cwl_id_then_sha256(void **state)
{
    char id[ALERT_EVENT_ID_MAX];
    struct lsf_finding ct = finding("{\"eventID\":\"abc-123\"}", 21);
    struct lsf_finding plain = finding("abc", 3);
    struct lsf_finding no_id = finding("{\"eventName\":\"X\"}", 17);

    (void)state;
    alert_event_id(&ct, "cwl-9", id);
    assert_string_equal(id, "abc-123");
    alert_event_id(&no_id, "3707", id);
    assert_string_equal(id, "cwl:3707");
    /* Without a time: FIPS 180-2 test vector SHA-256("abc"). */
    plain.ts_ms = LSF_TS_UNKNOWN;
    alert_event_id(&plain, NULL, id);
    assert_string_equal(id,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* With one: SHA-256("5\nabc"), so the same line at another time is another event. */
    plain.ts_ms = 5;
    alert_event_id(&plain, "", id);
    assert_string_equal(id,
            "sha256:9767d2246eed4d80bd33a51c10a8c0a5ceea6b95a258bb7eb041f857de99f0ba");
    {
        char other[ALERT_EVENT_ID_MAX];
        plain.ts_ms = 6;
        alert_event_id(&plain, NULL, other);
        assert_string_not_equal(id, other);
    }
}

static void record_makes_invalid_utf8_valid_and_falls_back_for_principal(void **state)
{
    static const char ev[] =
            "{\"userIdentity\":{\"type\":\"Root\",\"principalId\":\"1234\"}}\xFF\xFE";
    struct lsf_finding f = finding(ev, sizeof(ev) - 1);
    struct alert_record r;

    (void)state;
    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 4096, &r, NULL), LSF_OK);
    assert_string_equal(r.principal, "1234");
    assert_true(is_valid_utf8((const unsigned char *)r.excerpt, strlen(r.excerpt)));
    assert_non_null(strstr(r.excerpt, "\xEF\xBF\xBD"));
    assert_false(r.is_excerpt_cut);
    alert_record_cleanup(&r);

    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 10, &r, NULL), LSF_OK);
    assert_true(r.is_excerpt_cut);
    assert_int_equal(strlen(r.excerpt), 10);
    alert_record_cleanup(&r);
}

static void correlation_record_takes_who_and_from_of_its_group(void **state)
{
    static const char by_arn[] = "{\"correlation\":\"event_count\",\"group\":"
            "\"userIdentity.arn=arn:aws:iam::1:user/c\",\"count\":5,\"first\":\"x\"}";
    static const char by_host[] = "{\"correlation\":\"value_count\",\"group\":"
            "\"user=root, rhost=203.0.113.7\",\"count\":9}";
    static const char by_other[] = "{\"correlation\":\"event_count\",\"group\":"
            "\"userIdentity.arn=, eventName=GetSecretValue\",\"count\":5}";
    struct lsf_finding f = finding(by_arn, sizeof(by_arn) - 1);
    struct alert_record r;

    (void)state;
    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 4096, &r, NULL), LSF_OK);
    assert_true(r.is_correlation);
    assert_string_equal(r.principal, "arn:aws:iam::1:user/c");
    assert_string_equal(r.source_ip, "");
    assert_int_equal(strncmp(r.event_id, "sha256:", 7), 0);
    alert_record_cleanup(&r);

    f = finding(by_host, sizeof(by_host) - 1);
    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 4096, &r, NULL), LSF_OK);
    assert_string_equal(r.principal, "");
    assert_string_equal(r.source_ip, "203.0.113.7");
    alert_record_cleanup(&r);

    /* a group field with no value (the events lacked it) names no one */
    f = finding(by_other, sizeof(by_other) - 1);
    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 4096, &r, NULL), LSF_OK);
    assert_true(r.is_correlation);
    assert_string_equal(r.principal, "");
    assert_string_equal(r.source_ip, "");
    alert_record_cleanup(&r);

    /* a log event that happens to have a "correlation" member is still a log event */
    static const char plain[] = "{\"eventID\":\"e1\",\"correlation\":\"x\",\"group\":"
            "\"rhost=1.2.3.4\",\"sourceIPAddress\":\"198.51.100.1\"}";
    f = finding(plain, sizeof(plain) - 1);
    assert_int_equal(alert_record_from_finding(&f, NULL, NULL, 4096, &r, NULL), LSF_OK);
    assert_false(r.is_correlation);
    assert_string_equal(r.source_ip, "198.51.100.1");
    alert_record_cleanup(&r);
}

static void topic_arn_region_is_read_and_bad_arns_refused(void **state)
{
    char region[64];

    (void)state;
    assert_true(alert_sns_arn_region("arn:aws:sns:eu-west-1:123456789012:soc", region,
            sizeof(region)));
    assert_string_equal(region, "eu-west-1");
    assert_true(alert_sns_arn_region("arn:aws-cn:sns:cn-north-1:123456789012:a.fifo", region,
            sizeof(region)));
    assert_string_equal(region, "cn-north-1");
    assert_false(alert_sns_arn_region("soc-alerts", region, sizeof(region)));
    assert_false(alert_sns_arn_region("arn:aws:sqs:eu-west-1:123456789012:q", region,
            sizeof(region)));
    assert_false(alert_sns_arn_region("arn:aws:sns::123456789012:x", region, sizeof(region)));
    assert_false(alert_sns_arn_region("arn:aws:sns:eu-west-1:123456789012:", region,
            sizeof(region)));
    assert_false(alert_sns_arn_region("arn:aws:sns:eu-west-1:1:x:y", region, sizeof(region)));
}

static void sns_batches_hold_ten_entries_within_256_kb(void **state)
{
    size_t sizes[25];

    (void)state;
    for (size_t i = 0; i < 25; i++)
        sizes[i] = 1000;
    assert_int_equal(alert_sns_batch_end(sizes, 25, 0), 10);
    assert_int_equal(alert_sns_batch_end(sizes, 25, 20), 25);
    sizes[3] = 200000;
    sizes[4] = 100000;                                      /* would pass 256 KB with [0..3] */
    assert_int_equal(alert_sns_batch_end(sizes, 25, 0), 4);
    assert_int_equal(alert_sns_batch_end(sizes, 25, 4), 14);
    sizes[5] = ALERT_SNS_MAX_MESSAGE_BYTES;                  /* alone in its batch */
    assert_int_equal(alert_sns_batch_end(sizes, 25, 5), 6);
    assert_int_equal(alert_sns_batch_end(sizes, 25, 4), 5);
}

static void metrics_batches_hold_1000_datums_within_the_body_limit(void **state)
{
    size_t *sizes = malloc(2500 * sizeof(size_t));

    (void)state;
    for (size_t i = 0; i < 2500; i++)
        sizes[i] = 300;
    assert_int_equal(alert_metrics_batch_end(sizes, 2500, 0, 500), ALERT_METRICS_MAX_DATUMS);
    assert_int_equal(alert_metrics_batch_end(sizes, 2500, 2000, 500), 2500);
    for (size_t i = 0; i < 2500; i++)
        sizes[i] = 2000;
    {
        size_t end = alert_metrics_batch_end(sizes, 2500, 0, 500);
        assert_true(500 + end * 2000 <= ALERT_METRICS_MAX_BODY_BYTES);
        assert_true(500 + (end + 1) * 2000 > ALERT_METRICS_MAX_BODY_BYTES);
    }
    free(sizes);
}

static void ocsf_line_is_a_detection_finding_even_for_broken_bytes(void **state)
{
    static const char ev[] = "{\"eventID\":\"e-9\",\"eventName\":\"DeleteTrail\","
                             "\"sourceIPAddress\":\"cloudtrail.amazonaws.com\",\"x\":\"\xC3\x28\"}";
    struct lsf_finding f = finding(ev, sizeof(ev) - 1);
    struct lsf_buf out;
    json_t *o;

    (void)state;
    lsf_buf_init(&out, SIZE_MAX);
    assert_int_equal(alert_ocsf_format(&f, "why", 4096, &out, NULL), LSF_OK);
    assert_int_equal(out.data[out.len - 1], '\n');
    o = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 2004);
    assert_int_equal(json_integer_value(json_object_get(o, "type_uid")), 200401);
    assert_int_equal(json_integer_value(json_object_get(o, "severity_id")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "time")), 1722431184000LL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "finding_info"),
                                "uid")),
            "aws.cloudtrail.stop_logging/e-9");
    /* A service name in sourceIPAddress is a domain, not an ip. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "src_endpoint"),
                                "domain")),
            "cloudtrail.amazonaws.com");
    json_decref(o);
    lsf_buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(subject_has_no_control_characters_and_fewer_than_100_characters),
            cmocka_unit_test(long_message_is_cut_at_a_character_boundary_with_a_marker),
            cmocka_unit_test(message_names_what_who_where_when_rule_and_event),
            cmocka_unit_test(event_id_is_cloudtrail_id_then_cwl_id_then_sha256),
            cmocka_unit_test(record_makes_invalid_utf8_valid_and_falls_back_for_principal),
            cmocka_unit_test(correlation_record_takes_who_and_from_of_its_group),
            cmocka_unit_test(topic_arn_region_is_read_and_bad_arns_refused),
            cmocka_unit_test(sns_batches_hold_ten_entries_within_256_kb),
            cmocka_unit_test(metrics_batches_hold_1000_datums_within_the_body_limit),
            cmocka_unit_test(ocsf_line_is_a_detection_finding_even_for_broken_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
