/*
 * S3 region redirects (shared/spec/aws-facts.md 3.5): the bucket is found in virtual-host and
 * path-style requests (behind a custom endpoint's base path too), and moving to the bucket's
 * region changes the signing region and, on AWS's own endpoints only, the regional host
 * (.com.cn for China); a custom endpoint keeps its host. The redirect round trip itself is
 * tests/integration/test_s3_scale.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aws.h"
#include "aws_int.h"

static struct aws_endpoint aws_s3(const char *region)
{
    struct aws_endpoint ep;

    memset(&ep, 0, sizeof(ep));
    ep.is_https = true;
    snprintf(ep.host, sizeof(ep.host), "s3.%s.amazonaws.com", region);
    snprintf(ep.region, sizeof(ep.region), "%s", region);
    snprintf(ep.service, sizeof(ep.service), "s3");
    return ep;
}

static void test_virtual_host_request_moves_to_the_regional_host(void **state)
{
    struct aws_endpoint ep = aws_s3("us-east-1");
    char bucket[64];
    char host[AWS_HOST_MAX];
    bool is_virtual = false;

    (void)state;
    assert_true(aws_s3_request_bucket(&ep, "audit-archive.s3.us-east-1.amazonaws.com",
            "/AWSLogs/x.json.gz", bucket, sizeof(bucket), &is_virtual));
    assert_string_equal(bucket, "audit-archive");
    assert_true(is_virtual);
    assert_true(aws_s3_region_move(&ep, bucket, is_virtual, "eu-west-1", host));
    assert_string_equal(host, "audit-archive.s3.eu-west-1.amazonaws.com");
    assert_string_equal(ep.host, "s3.eu-west-1.amazonaws.com");
    assert_string_equal(ep.region, "eu-west-1");
}

static void test_path_style_request_keeps_its_path_and_moves_host(void **state)
{
    struct aws_endpoint ep = aws_s3("us-east-1");
    char bucket[64];
    char host[AWS_HOST_MAX];
    bool is_virtual = true;

    (void)state;
    assert_true(aws_s3_request_bucket(&ep, "s3.us-east-1.amazonaws.com", "/my.dotted.bucket/a/b",
            bucket, sizeof(bucket), &is_virtual));
    assert_string_equal(bucket, "my.dotted.bucket");
    assert_false(is_virtual);
    assert_true(aws_s3_region_move(&ep, bucket, is_virtual, "cn-north-1", host));
    assert_string_equal(host, "s3.cn-north-1.amazonaws.com.cn");
    assert_string_equal(ep.region, "cn-north-1");
    /* a bucket-level request (ListObjectsV2) addresses the bucket too */
    assert_true(aws_s3_request_bucket(&ep, ep.host, "/logs", bucket, sizeof(bucket),
            &is_virtual));
    assert_string_equal(bucket, "logs");
}

static void test_custom_endpoint_keeps_its_host_and_changes_the_signing_region(void **state)
{
    struct aws_endpoint ep = aws_s3("us-east-1");
    char bucket[64];
    char host[AWS_HOST_MAX];
    bool is_virtual = true;

    (void)state;
    ep.is_custom = true;
    ep.is_https = false;
    snprintf(ep.host, sizeof(ep.host), "127.0.0.1:9000");
    snprintf(ep.base_path, sizeof(ep.base_path), "/s3");
    assert_true(aws_s3_request_bucket(&ep, "127.0.0.1:9000", "/s3/bk/k", bucket, sizeof(bucket),
            &is_virtual));
    assert_string_equal(bucket, "bk");
    assert_false(is_virtual);
    assert_true(aws_s3_region_move(&ep, bucket, is_virtual, "ap-south-2", host));
    assert_string_equal(host, "127.0.0.1:9000");
    assert_string_equal(ep.host, "127.0.0.1:9000");
    assert_string_equal(ep.region, "ap-south-2");
}

static void test_no_bucket_is_found_where_there_is_none(void **state)
{
    struct aws_endpoint ep = aws_s3("us-east-1");
    struct aws_endpoint logs = aws_s3("us-east-1");
    char bucket[8];
    bool is_virtual;

    (void)state;
    snprintf(logs.service, sizeof(logs.service), "logs");
    assert_false(aws_s3_request_bucket(&logs, "logs.us-east-1.amazonaws.com", "/", bucket,
            sizeof(bucket), &is_virtual));
    assert_false(aws_s3_request_bucket(&ep, ep.host, "/", bucket, sizeof(bucket), &is_virtual));
    assert_false(aws_s3_request_bucket(&ep, ep.host, "", bucket, sizeof(bucket), &is_virtual));
    /* longer than the caller's buffer: refused, not cut */
    assert_false(aws_s3_request_bucket(&ep, ep.host, "/a-long-bucket/k", bucket, sizeof(bucket),
            &is_virtual));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtual_host_request_moves_to_the_regional_host),
        cmocka_unit_test(test_path_style_request_keeps_its_path_and_moves_host),
        cmocka_unit_test(test_custom_endpoint_keeps_its_host_and_changes_the_signing_region),
        cmocka_unit_test(test_no_bucket_is_found_where_there_is_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
