/*
 * Key selection for s3:// inputs: CloudTrail's YYYY/MM/DD path element found in plain and
 * organization-trail layouts (shared/spec/aws-facts.md 6.1) and compared with --since/--until
 * inclusively, keys without a date kept, folder markers skipped, --since/--until parsing, and
 * the --include/--exclude globs (basename or whole key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "src_s3.h"

#define TRAIL "AWSLogs/111122223333/CloudTrail/us-east-2/"
#define ORG   "logs/AWSLogs/o-abcdefghij/111122223333/CloudTrail/eu-west-1/"

static void test_date_element_is_found_in_trail_and_org_trail_layouts(void **state)
{
    (void)state;
    assert_int_equal(fetch_s3_key_day(TRAIL "2015/08/01/"
            "111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"),
            20150801);
    assert_int_equal(fetch_s3_key_day(ORG "2024/12/31/x.json.gz"), 20241231);
    assert_int_equal(fetch_s3_key_day("2024/07/31/x.json"), 20240731);
}

static void test_keys_without_a_date_element_have_none(void **state)
{
    (void)state;
    assert_int_equal(fetch_s3_key_day("AWSLogs/111122223333/CloudTrail/x.json.gz"), 0);
    assert_int_equal(fetch_s3_key_day("a/2024/07/31"), 0);        /* the day is the file */
    assert_int_equal(fetch_s3_key_day("a/2024/13/01/x"), 0);      /* no month 13 */
    assert_int_equal(fetch_s3_key_day("a/12024/07/31/x"), 0);     /* not an element start */
    assert_int_equal(fetch_s3_key_day("a/2024/7/31/x"), 0);
    assert_int_equal(fetch_s3_key_day(""), 0);
}

static void test_since_and_until_are_inclusive_days(void **state)
{
    struct fetch_s3_filter f = {20240730, 20240731, NULL, 0, NULL, 0, 0, 0};

    (void)state;
    assert_false(fetch_s3_filter_keep(&f, TRAIL "2024/07/29/a.json.gz"));
    assert_true(fetch_s3_filter_keep(&f, TRAIL "2024/07/30/a.json.gz"));
    assert_true(fetch_s3_filter_keep(&f, TRAIL "2024/07/31/a.json.gz"));
    assert_false(fetch_s3_filter_keep(&f, TRAIL "2024/08/01/a.json.gz"));
    assert_false(fetch_s3_filter_keep(&f, ORG "2023/12/31/a.json.gz"));
    assert_true(fetch_s3_filter_keep(&f, "other/undated.json")); /* no date: kept */
}

static void test_open_ended_ranges(void **state)
{
    struct fetch_s3_filter since = {20240730, 0, NULL, 0, NULL, 0, 0, 0};
    struct fetch_s3_filter until = {0, 20240730, NULL, 0, NULL, 0, 0, 0};

    (void)state;
    assert_true(fetch_s3_filter_keep(&since, TRAIL "2030/01/01/a"));
    assert_false(fetch_s3_filter_keep(&since, TRAIL "2024/07/29/a"));
    assert_true(fetch_s3_filter_keep(&until, TRAIL "2001/01/01/a"));
    assert_false(fetch_s3_filter_keep(&until, TRAIL "2024/07/31/a"));
}

static void test_folder_markers_are_skipped(void **state)
{
    struct fetch_s3_filter f = {0, 0, NULL, 0, NULL, 0, 0, 0};

    (void)state;
    assert_false(fetch_s3_filter_keep(&f, "AWSLogs/"));
    assert_false(fetch_s3_filter_keep(&f, ""));
    assert_true(fetch_s3_filter_keep(&f, "AWSLogs/x"));
}

static void test_dates_parse_with_or_without_a_time(void **state)
{
    int32_t day = 0;

    (void)state;
    assert_true(fetch_s3_day_parse("2025-01-01", &day));
    assert_int_equal(day, 20250101);
    assert_true(fetch_s3_day_parse("2025-03-31T23:59:59Z", &day));
    assert_int_equal(day, 20250331);
    assert_false(fetch_s3_day_parse("2025-3-31", &day));
    assert_false(fetch_s3_day_parse("2025-13-01", &day));
    assert_false(fetch_s3_day_parse("2025-01-01x", &day));
    assert_false(fetch_s3_day_parse("yesterday", &day));
}

static void test_globs_match_the_basename_or_the_whole_key(void **state)
{
    const char *inc[] = {"*.json.gz"};
    const char *exc[] = {"*/CloudTrail-Digest/*", "*_eu-west-1_*"};
    struct fetch_s3_filter f = {0, 0, inc, 1, exc, 2, 0, 0};

    (void)state;
    assert_true(fetch_s3_filter_keep(&f, TRAIL "2024/07/31/1_CloudTrail_us-east-2_x.json.gz"));
    assert_false(fetch_s3_filter_keep(&f, TRAIL "2024/07/31/notes.txt"));
    assert_false(fetch_s3_filter_keep(&f,
            "AWSLogs/1/CloudTrail-Digest/us-east-2/2024/07/31/d.json.gz"));
    assert_false(fetch_s3_filter_keep(&f, ORG "2024/07/31/1_CloudTrail_eu-west-1_x.json.gz"));
}

static void test_url_decode_form_semantics(void **state)
{
    char ok[] = "a+b%2fc%41";
    char bad[] = "a%zz";
    char cut[] = "a%4";

    (void)state;
    assert_true(fetch_s3_url_decode(ok));
    assert_string_equal(ok, "a b/cA");
    assert_false(fetch_s3_url_decode(bad));
    assert_false(fetch_s3_url_decode(cut));
}

static void test_s3_urls_are_recognised(void **state)
{
    (void)state;
    assert_true(fetch_s3_is_url("s3://bk/p"));
    assert_false(fetch_s3_is_url("/data/s3://x"));
    assert_false(fetch_s3_is_url("S3:/bk"));
}

static void test_listing_kind_follows_the_cloudtrail_layout(void **state)
{
    (void)state;
    assert_int_equal(fetch_s3_list_kind("", true), FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("backups/", true), FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("backups/", false), FETCH_S3_LIST_FLAT);
    assert_int_equal(fetch_s3_list_kind("backups/AWSLogs/", false), FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/o-abcdefghij/", false), FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/", false), FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/o-abcdefghij/111122223333/", false),
            FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/CloudTrail/", false),
            FETCH_S3_LIST_DISCOVER);
    assert_int_equal(fetch_s3_list_kind(TRAIL, true), FETCH_S3_LIST_DAYS);
    assert_int_equal(fetch_s3_list_kind(ORG, false), FETCH_S3_LIST_DAYS);
    /* beside or below the layout, or inside an element: flat */
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/CloudTrail-Digest/", false),
            FETCH_S3_LIST_DISCOVER); /* digests share the trail's layout */
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/",
            false), FETCH_S3_LIST_DAYS);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/CloudTrailX/", false),
            FETCH_S3_LIST_FLAT);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/111122223333/Config/", false),
            FETCH_S3_LIST_FLAT);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/1234/", false), FETCH_S3_LIST_FLAT);
    assert_int_equal(fetch_s3_list_kind(TRAIL "2024/", true), FETCH_S3_LIST_FLAT);
    assert_int_equal(fetch_s3_list_kind("AWSLogs/1111", true), FETCH_S3_LIST_FLAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_element_is_found_in_trail_and_org_trail_layouts),
        cmocka_unit_test(test_keys_without_a_date_element_have_none),
        cmocka_unit_test(test_since_and_until_are_inclusive_days),
        cmocka_unit_test(test_open_ended_ranges),
        cmocka_unit_test(test_folder_markers_are_skipped),
        cmocka_unit_test(test_dates_parse_with_or_without_a_time),
        cmocka_unit_test(test_globs_match_the_basename_or_the_whole_key),
        cmocka_unit_test(test_url_decode_form_semantics),
        cmocka_unit_test(test_s3_urls_are_recognised),
        cmocka_unit_test(test_listing_kind_follows_the_cloudtrail_layout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
