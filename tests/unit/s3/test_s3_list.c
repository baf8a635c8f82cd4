/*
 * ListObjectsV2 page parsing (shared/spec/aws-facts.md 3.2): keys in order, the truncated flag
 * and the continuation token, url-decoding with form semantics when EncodingType is url (and
 * only then), and each class of bad page refused with LSF_E_INPUT: not XML, a DOCTYPE, the
 * wrong root element, truncated without a token, a key that does not decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "src_s3.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

static enum lsf_code parse(const char *xml, struct fetch_s3_page *page, struct lsf_err *err)
{
    lsf_err_clear(err);
    return fetch_s3_list_parse(xml, strlen(xml), page, err);
}

static void test_truncated_page_gives_keys_in_order_and_the_token(void **state)
{
    const char *xml = HEAD
            "<Name>bk</Name><Prefix>AWSLogs/</Prefix><KeyCount>2</KeyCount>"
            "<MaxKeys>2</MaxKeys><EncodingType>url</EncodingType>"
            "<IsTruncated>true</IsTruncated>"
            "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
            "<Contents><Key>AWSLogs/1/CloudTrail/a.json.gz</Key>"
            "<LastModified>2024-01-15T11:05:32.000Z</LastModified><ETag>\"x\"</ETag>"
            "<Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>"
            "<Contents><Key>AWSLogs/1/CloudTrail/b.json.gz</Key><Size>3</Size></Contents>"
            "</ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_OK);
    assert_true(page.is_truncated);
    assert_string_equal(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_int_equal(page.n_keys, 2);
    assert_string_equal(page.keys[0], "AWSLogs/1/CloudTrail/a.json.gz");
    assert_string_equal(page.keys[1], "AWSLogs/1/CloudTrail/b.json.gz");
    fetch_s3_page_cleanup(&page);
}

static void test_last_page_is_not_truncated_and_may_be_empty(void **state)
{
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(HEAD "<IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
                              "</ListBucketResult>", &page, &err), LSF_OK);
    assert_false(page.is_truncated);
    assert_int_equal(page.n_keys, 0);
    assert_null(page.next_token);
    fetch_s3_page_cleanup(&page);
}

static void test_url_encoded_keys_are_decoded_with_form_semantics(void **state)
{
    /* "a b+c/%" and a key with a control character XML 1.0 could not carry. */
    const char *xml = HEAD "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
            "<Contents><Key>logs/a+b%2Bc/%25</Key></Contents>"
            "<Contents><Key>logs/tab%09x/caf%C3%A9.json</Key></Contents>"
            "</ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_OK);
    assert_int_equal(page.n_keys, 2);
    assert_string_equal(page.keys[0], "logs/a b+c/%");
    assert_string_equal(page.keys[1], "logs/tab\tx/caf\xc3\xa9.json");
    fetch_s3_page_cleanup(&page);
}

static void test_keys_are_left_alone_without_url_encoding(void **state)
{
    const char *xml = HEAD "<IsTruncated>false</IsTruncated>"
            "<Contents><Key>a+b%2B &amp; c</Key></Contents></ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_OK);
    assert_string_equal(page.keys[0], "a+b%2B & c");
    fetch_s3_page_cleanup(&page);
}

static void test_nested_key_elements_outside_contents_are_not_keys(void **state)
{
    const char *xml = HEAD "<IsTruncated>false</IsTruncated>"
            "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
            "<Contents><Key>k</Key><Owner><ID>o</ID></Owner></Contents></ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_OK);
    assert_int_equal(page.n_keys, 1);
    assert_string_equal(page.keys[0], "k");
    fetch_s3_page_cleanup(&page);
}

static void test_truncated_page_without_token_is_refused(void **state)
{
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>", &page,
                             &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "NextContinuationToken"));
    fetch_s3_page_cleanup(&page);
}

static void test_malformed_xml_is_refused(void **state)
{
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>k</Key>",
                             &page, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "not well-formed"));
    fetch_s3_page_cleanup(&page);
}

static void test_doctype_is_refused(void **state)
{
    const char *xml = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>"
                      "<ListBucketResult><Contents><Key>&e;</Key></Contents></ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
    fetch_s3_page_cleanup(&page);
}

static void test_error_document_is_not_a_listing(void **state)
{
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse("<Error><Code>NoSuchBucket</Code></Error>", &page, &err),
            LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "ListBucketResult"));
    fetch_s3_page_cleanup(&page);
}

static void test_key_with_bad_percent_escape_is_refused(void **state)
{
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(HEAD "<EncodingType>url</EncodingType><IsTruncated>false"
                              "</IsTruncated><Contents><Key>a%4</Key></Contents>"
                              "</ListBucketResult>", &page, &err), LSF_E_INPUT);
    fetch_s3_page_cleanup(&page);
}

static void test_common_prefixes_sizes_and_etags_are_read(void **state)
{
    const char *xml = HEAD
            "<Prefix>AWSLogs/</Prefix><Delimiter>/</Delimiter><EncodingType>url</EncodingType>"
            "<IsTruncated>false</IsTruncated>"
            "<Contents><Key>AWSLogs/b+c.json</Key><ETag>\"abc\"</ETag><Size>123456789012</Size>"
            "</Contents>"
            "<Contents><Key>AWSLogs/a.json</Key></Contents>"
            "<CommonPrefixes><Prefix>AWSLogs/111122223333/</Prefix></CommonPrefixes>"
            "<CommonPrefixes><Prefix>AWSLogs/o-abc%2Bd/</Prefix></CommonPrefixes>"
            "</ListBucketResult>";
    struct fetch_s3_page page;
    struct lsf_err err;

    (void)state;
    assert_int_equal(parse(xml, &page, &err), LSF_OK);
    assert_int_equal(page.n_keys, 2);
    assert_string_equal(page.keys[0], "AWSLogs/b c.json");
    assert_true(page.sizes[0] == 123456789012u);
    assert_string_equal(page.etags[0], "\"abc\"");
    assert_string_equal(page.keys[1], "AWSLogs/a.json");
    assert_true(page.sizes[1] == UINT64_MAX);
    assert_null(page.etags[1]);
    assert_int_equal(page.n_prefixes, 2);
    assert_string_equal(page.prefixes[0], "AWSLogs/111122223333/");
    assert_string_equal(page.prefixes[1], "AWSLogs/o-abc+d/");
    fetch_s3_page_cleanup(&page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_prefixes_sizes_and_etags_are_read),
        cmocka_unit_test(test_truncated_page_gives_keys_in_order_and_the_token),
        cmocka_unit_test(test_last_page_is_not_truncated_and_may_be_empty),
        cmocka_unit_test(test_url_encoded_keys_are_decoded_with_form_semantics),
        cmocka_unit_test(test_keys_are_left_alone_without_url_encoding),
        cmocka_unit_test(test_nested_key_elements_outside_contents_are_not_keys),
        cmocka_unit_test(test_truncated_page_without_token_is_refused),
        cmocka_unit_test(test_malformed_xml_is_refused),
        cmocka_unit_test(test_doctype_is_refused),
        cmocka_unit_test(test_error_document_is_not_a_listing),
        cmocka_unit_test(test_key_with_bad_percent_escape_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
