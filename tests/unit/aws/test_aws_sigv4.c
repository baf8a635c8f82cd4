/*
 * SigV4: every vector of shared/spec/aws-facts.md 1.2 and 1.5 byte for byte (canonical
 * request, its hash, the string to sign, the signature and the whole Authorization header),
 * then the rules one at a time: URI encoding, S3's untouched path against the double-encoded,
 * dot-free path of other services, query sorting, header trimming and merging, headers that
 * are never signed, and requests the signer refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "aws.h"
#include "aws_int.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static struct aws_creds example_creds(const char *token)
{
    struct aws_creds c;

    memset(&c, 0, sizeof(c));
    strcpy(c.access_key_id, "AKIDEXAMPLE");
    strcpy(c.secret_access_key, SECRET);
    if (token)
        strcpy(c.session_token, token);
    return c;
}

static int64_t at(const char *iso)
{
    int64_t t;

    assert_true(aws_time_parse(iso, &t));
    return t;
}

static void hex_key(const char *date8, const char *region, const char *service, char out[65])
{
    unsigned char key[32];

    aws_sigv4_signing_key(SECRET, date8, region, service, key);
    aws_hex(key, 32, out);
}

static char *sha256_hex(const char *s, char out[65])
{
    unsigned char d[32];

    SHA256((const unsigned char *)s, strlen(s), d);
    aws_hex(d, 32, out);
    return out;
}

/* Check canonical request, its hash, the string to sign and the Authorization header. */
static void check_vector(const struct aws_request *req, const struct aws_signing *sig,
        const char *want_cr, const char *want_cr_hash, const char *want_auth)
{
    struct lsf_buf cr;
    struct lsf_buf sts;
    struct lsf_err err;
    struct aws_signature out;
    char hash[65];
    char want_sts[512];

    lsf_err_clear(&err);
    lsf_buf_init(&cr, 1 << 20);
    lsf_buf_init(&sts, 1 << 20);
    assert_int_equal(aws_sigv4_canonical_request(req, sig, &cr, &err), LSF_OK);
    assert_string_equal((const char *)cr.data, want_cr);
    assert_string_equal(sha256_hex((const char *)cr.data, hash), want_cr_hash);
    snprintf(want_sts, sizeof(want_sts),
            "AWS4-HMAC-SHA256\n20240115T120000Z\n20240115/%s/%s/"
            "aws4_request\n%s",
            sig->region, sig->service, want_cr_hash);
    assert_int_equal(aws_sigv4_string_to_sign(req, sig, &sts, &err), LSF_OK);
    assert_string_equal((const char *)sts.data, want_sts);
    assert_int_equal(aws_sigv4_sign(req, sig, &out, &err), LSF_OK);
    assert_string_equal(out.authorization, want_auth);
    assert_string_equal(out.amz_date, "20240115T120000Z");
    lsf_buf_cleanup(&cr);
    lsf_buf_cleanup(&sts);
}

static void test_derived_signing_keys_match_the_published_ones(void **state)
{
    char hex[65];

    (void)state;
    hex_key("20120215", "us-east-1", "iam", hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    hex_key("20240115", "us-east-1", "logs", hex);
    assert_string_equal(hex, "fc07aac145b3bd09e546b657eca4d6396cad3d1151d638ad4975c98efa09ef74");
    hex_key("20240115", "eu-west-1", "s3", hex);
    assert_string_equal(hex, "321b676bbea9091b503896668e6fd095ae2a8721bc21d3d5abd72926c72b1bfd");
}

static void test_aws_suite_get_vanilla_and_query_order_sign_as_published(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "us-east-1", "service", at("2015-08-30T12:36:00Z")};
    struct aws_request req = {"GET", "example.amazonaws.com", "/", NULL, 0, NULL, 0, NULL, 0, NULL};
    const struct aws_kv query[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_non_null(strstr(out.authorization,
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a"
            "2260956d9b8aae1d763fbf31"));
    assert_non_null(strstr(out.authorization,
            "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "));
    req.query = query;
    req.n_query = 2;
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_non_null(strstr(out.authorization,
            "Signature=b97d918cfa904a5beff61c982a1b6f458b7992"
            "21646efd99d3219ec94cdf2500"));
    assert_string_equal(out.content_sha256, ""); /* not S3, payload signed: no header */
    assert_null(out.security_token);
}

static void test_v1_s3_list_objects_v2_with_query(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "eu-west-1", "s3", at("2024-01-15T12:00:00Z")};
    /* botocore's order on the wire; the signer sorts. */
    const struct aws_kv query[] = {
            {"list-type", "2"},
            {"prefix", "AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/15/"},
            {"max-keys", "1000"},
            {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="},
            {"encoding-type", "url"},
    };
    struct aws_request req = {"GET", "examplebucket.s3.eu-west-1.amazonaws.com", "/", query, 5,
            NULL, 0, NULL, 0, NULL};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    check_vector(&req, &sig,
            "GET\n/\n"
            "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&encoding-type="
            "url&list-type=2&max-keys=1000&prefix=AWSLogs%2F123456789012%2FCloudTrail%2Feu-west-"
            "1%2F2024%2F01%2F15%2F\n"
            "host:examplebucket.s3.eu-west-1.amazonaws.com\n"
            "x-amz-content-sha256:" AWS_EMPTY_SHA256 "\n"
            "x-amz-date:20240115T120000Z\n\n"
            "host;x-amz-content-sha256;x-amz-date\n" AWS_EMPTY_SHA256,
            "d5ae901dd13642a36d7afbc2677d521af456a62f3782fae11dce8d5264c4d374",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-west-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=2679f7044504df871be72ca529cd8517730b767c441747e75b5b01e427d6e077");
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_string_equal(out.content_sha256, AWS_EMPTY_SHA256); /* S3 always sends it */
}

static void test_v2_logs_filter_log_events_post_json(void **state)
{
    static const char body[] = "{\"logGroupName\": \"/aws/lambda/demo\", \"startTime\": "
                               "1705276800000, \"endTime\": 1705320000000, \"filterPattern\": "
                               "\"ERROR\", \"limit\": 100}";
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "us-east-1", "logs", at("2024-01-15T12:00:00Z")};
    const struct aws_kv headers[] = {
            {"Content-Type", "application/x-amz-json-1.1"},
            {"X-Amz-Target", "Logs_20140328.FilterLogEvents"},
    };
    struct aws_request req = {"POST", "logs.us-east-1.amazonaws.com", "/", NULL, 0, headers, 2,
            body, strlen(body), NULL};

    (void)state;
    assert_int_equal(strlen(body), 130);
    check_vector(&req, &sig,
            "POST\n/\n\n"
            "content-type:application/x-amz-json-1.1\n"
            "host:logs.us-east-1.amazonaws.com\n"
            "x-amz-date:20240115T120000Z\n"
            "x-amz-target:Logs_20140328.FilterLogEvents\n\n"
            "content-type;host;x-amz-date;x-amz-target\n"
            "16ea491ca5efa794b439bb06b8b82e65b2df33a7bfab8c184f667d1fc8d6b3f5",
            "9669d524a1962078b26d965364fbe1036dd08de11cdf0bd92c00c53e7914238b",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/logs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=a84e4133c08d8a3fbe84928b9ebecc53f87db0e73af49bd04d612ddce35417bc");
}

/* V3's path, built the way the S3 source will build it. */
static void v3_request(struct aws_request *req, struct lsf_buf *path, const struct aws_kv *range)
{
    struct aws_endpoint ep;
    struct lsf_err err;
    char host[AWS_HOST_MAX];

    memset(&ep, 0, sizeof(ep));
    ep.is_https = true;
    strcpy(ep.host, "s3.eu-west-1.amazonaws.com");
    lsf_err_clear(&err);
    lsf_buf_init(path, 4096);
    assert_int_equal(aws_s3_address(&ep, false, "examplebucket",
                             "logs/2024/01/15/my file+v1=\xc3\xbc~(x).json.gz", host, path, &err),
            LSF_OK);
    assert_string_equal(host, "examplebucket.s3.eu-west-1.amazonaws.com");
    *req = (struct aws_request){"GET", "examplebucket.s3.eu-west-1.amazonaws.com",
            (const char *)path->data, NULL, 0, range, 1, NULL, 0, NULL};
}

static void test_v3_s3_get_object_with_escaped_key_and_range(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "eu-west-1", "s3", at("2024-01-15T12:00:00Z")};
    const struct aws_kv range = {"Range", "bytes=0-1023"};
    struct aws_request req;
    struct lsf_buf path;

    (void)state;
    v3_request(&req, &path, &range);
    assert_string_equal(req.path, "/logs/2024/01/15/my%20file%2Bv1%3D%C3%BC~%28x%29.json.gz");
    check_vector(&req, &sig,
            "GET\n/logs/2024/01/15/my%20file%2Bv1%3D%C3%BC~%28x%29.json.gz\n\n"
            "host:examplebucket.s3.eu-west-1.amazonaws.com\n"
            "range:bytes=0-1023\n"
            "x-amz-content-sha256:" AWS_EMPTY_SHA256 "\n"
            "x-amz-date:20240115T120000Z\n\n"
            "host;range;x-amz-content-sha256;x-amz-date\n" AWS_EMPTY_SHA256,
            "3ce3019fd2645737397da973d332124e452f4534cf52159d6e7f3b104b82038a",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-west-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=69b1bed56c6352e3cc06f0173ac1d2a6386602191c81b518104e4034ebe6e112");
    lsf_buf_cleanup(&path);
}

static void test_v3b_unsigned_payload_is_sent_and_signed(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "eu-west-1", "s3", at("2024-01-15T12:00:00Z")};
    const struct aws_kv range = {"Range", "bytes=0-1023"};
    struct aws_request req;
    struct aws_signature out;
    struct lsf_err err;
    struct lsf_buf path;

    (void)state;
    v3_request(&req, &path, &range);
    req.payload_hash = AWS_UNSIGNED_PAYLOAD;
    check_vector(&req, &sig,
            "GET\n/logs/2024/01/15/my%20file%2Bv1%3D%C3%BC~%28x%29.json.gz\n\n"
            "host:examplebucket.s3.eu-west-1.amazonaws.com\n"
            "range:bytes=0-1023\n"
            "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
            "x-amz-date:20240115T120000Z\n\n"
            "host;range;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD",
            "057d27e1f5d904cfe1a78f868cd94513bc24716b9fee389c5a90006d2c5f0c91",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-west-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=7efd23c5061f079726292222fe854e11c7b2c15d42a2ee19df1a3526e3b83db8");
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_string_equal(out.content_sha256, "UNSIGNED-PAYLOAD");
    lsf_buf_cleanup(&path);
}

static void test_v4_sns_publish_with_session_token(void **state)
{
    static const char body[] =
            "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1234567890"
            "12%3Aalerts&Subject=Anomaly&Message=3+failed+ConsoleLogin+events";
    struct aws_creds creds = example_creds("IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=");
    struct aws_signing sig = {&creds, "us-east-1", "sns", at("2024-01-15T12:00:00Z")};
    const struct aws_kv headers[] = {
            {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct aws_request req = {"POST", "sns.us-east-1.amazonaws.com", "/", NULL, 0, headers, 1, body,
            strlen(body), NULL};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    assert_int_equal(strlen(body), 147);
    check_vector(&req, &sig,
            "POST\n/\n\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:sns.us-east-1.amazonaws.com\n"
            "x-amz-date:20240115T120000Z\n"
            "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=\n\n"
            "content-type;host;x-amz-date;x-amz-security-token\n"
            "bdabbb0ec47d23a42c4f8cf669a8c1aec8fd9c8f9a9081b1687939c0aa7e6c34",
            "ec83bc2606ae4079c0d5ac0ba772f4dc3d868f08b7715edcb75293808aed468a",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/sns/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
            "Signature=9713e83822e8396ccf46e62d5bced827283f6b26550a7dd6e3a329266babed07");
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_string_equal(out.security_token, "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=");
}

static void test_uri_encode_keeps_unreserved_and_uses_upper_hex(void **state)
{
    struct lsf_buf out;
    struct lsf_err err;
    const char in[] = "Az09-_.~ /+=&%\xc3\xbc";

    (void)state;
    lsf_err_clear(&err);
    lsf_buf_init(&out, 1024);
    assert_int_equal(aws_uri_encode(in, strlen(in), false, &out, &err), LSF_OK);
    assert_string_equal((const char *)out.data, "Az09-_.~%20%2F%2B%3D%26%25%C3%BC");
    out.len = 0;
    assert_int_equal(aws_uri_encode(in, strlen(in), true, &out, &err), LSF_OK);
    assert_string_equal((const char *)out.data, "Az09-_.~%20/%2B%3D%26%25%C3%BC");
    lsf_buf_cleanup(&out);
}

static char *canonical(const struct aws_request *req, const char *service, struct lsf_buf *cr)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "us-east-1", service, 1705320000};
    struct lsf_err err;

    lsf_err_clear(&err);
    lsf_buf_init(cr, 1 << 20);
    if (aws_sigv4_canonical_request(req, &sig, cr, &err) != LSF_OK)
        fail_msg("canonical request failed: %s", err.msg);
    return (char *)cr->data;
}

/* The second line of a canonical request. */
static void assert_line(const char *cr, int line, const char *want)
{
    for (int i = 0; i < line; i++)
        cr = strchr(cr, '\n') + 1;
    size_t len = strcspn(cr, "\n");
    if (strlen(want) != len || strncmp(cr, want, len) != 0)
        fail_msg("line %d is \"%.*s\", want \"%s\"", line, (int)len, cr, want);
}

static void test_non_s3_path_drops_dot_segments_and_is_encoded_twice(void **state)
{
    struct aws_request req = {
            "GET", "example.amazonaws.com", "/a%20b/./c/../d//e/", NULL, 0, NULL, 0, NULL, 0, NULL};
    struct lsf_buf cr;

    (void)state;
    assert_line(canonical(&req, "logs", &cr), 1, "/a%2520b/d/e/");
    lsf_buf_cleanup(&cr);
    req.path = "/..";
    assert_line(canonical(&req, "logs", &cr), 1, "/");
    lsf_buf_cleanup(&cr);
    req.path = "";
    assert_line(canonical(&req, "logs", &cr), 1, "/");
    lsf_buf_cleanup(&cr);
}

static void test_s3_path_is_signed_exactly_as_sent(void **state)
{
    struct aws_request req = {
            "GET", "b.s3.amazonaws.com", "/a%20b/./c/../d//e/", NULL, 0, NULL, 0, NULL, 0, NULL};
    struct lsf_buf cr;

    (void)state;
    assert_line(canonical(&req, "s3", &cr), 1, "/a%20b/./c/../d//e/");
    lsf_buf_cleanup(&cr);
}

static void test_query_repeats_sort_by_value_and_empty_values_keep_equals(void **state)
{
    const struct aws_kv query[] = {{"b", "2"}, {"a", "z"}, {"a", ""}, {"a-b", "x y"}, {"A", "1"}};
    struct aws_request req = {"GET", "h", "/", query, 5, NULL, 0, NULL, 0, NULL};
    struct lsf_buf cr;
    struct lsf_buf qs;
    struct lsf_err err;

    (void)state;
    assert_line(canonical(&req, "logs", &cr), 2, "A=1&a=&a=z&a-b=x%20y&b=2");
    lsf_buf_cleanup(&cr);
    lsf_err_clear(&err);
    lsf_buf_init(&qs, 1024);
    assert_int_equal(aws_sigv4_query_string(&req, &qs, &err), LSF_OK);
    assert_string_equal((const char *)qs.data, "A=1&a=&a=z&a-b=x%20y&b=2");
    lsf_buf_cleanup(&qs);
}

static void test_headers_are_trimmed_collapsed_merged_and_sorted(void **state)
{
    const struct aws_kv headers[] = {
            {"X-Dup", "  first   value\t\t here "},
            {"User-Agent", "logsift/0.1"}, /* never signed */
            {"x-dup", "second"},
            {"X-A-B", "ab"},
            {"X-A", "a"},
            {"Empty", ""},
    };
    struct aws_request req = {"GET", "h", "/", NULL, 0, headers, 6, NULL, 0, NULL};
    struct lsf_buf cr;
    const char *text;

    (void)state;
    text = canonical(&req, "logs", &cr);
    assert_non_null(strstr(text,
            "\nempty:\nhost:h\nx-a:a\nx-a-b:ab\nx-amz-date:20240115T120000Z"
            "\nx-dup:first value here,second\n\n"
            "empty;host;x-a;x-a-b;x-amz-date;x-dup\n"));
    assert_null(strstr(text, "user-agent"));
    lsf_buf_cleanup(&cr);
}

static void test_signer_owned_and_broken_headers_are_refused(void **state)
{
    struct aws_creds creds = example_creds("token-that-must-not-leak");
    struct aws_signing sig = {&creds, "us-east-1", "logs", 1705320000};
    struct aws_kv bad[] = {{"Host", "evil"}, {"X-Amz-Date", "x"}, {"Authorization", "x"},
            {"X-Note", "a\r\nInjected: yes"}, {"Bad Name", "x"}};
    struct aws_request req = {"GET", "h", "/", NULL, 0, NULL, 1, NULL, 0, NULL};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lsf_err_clear(&err);
        req.headers = &bad[i];
        assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_E_INTERNAL);
        assert_string_equal(out.authorization, "");
        assert_null(strstr(err.msg, SECRET));
        assert_null(strstr(err.msg, "token-that-must-not-leak"));
    }
    req.headers = NULL;
    req.n_headers = 0;
    req.payload_hash = "NOT-A-HASH";
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_E_INTERNAL);
    assert_non_null(strstr(err.msg, "payload hash"));
}

static void test_unsigned_payload_outside_s3_is_sent_as_a_signed_header(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "us-east-1", "logs", 1705320000};
    struct aws_request req = {"POST", "h", "/", NULL, 0, NULL, 0, "{}", 2, AWS_UNSIGNED_PAYLOAD};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_OK);
    assert_string_equal(out.content_sha256, "UNSIGNED-PAYLOAD");
    assert_non_null(
            strstr(out.authorization, "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
}

static void test_too_many_signed_headers_fail_instead_of_truncating(void **state)
{
    struct aws_creds creds = example_creds(NULL);
    struct aws_signing sig = {&creds, "us-east-1", "logs", 1705320000};
    static struct aws_kv headers[200];
    static char names[200][16];
    struct aws_request req = {"GET", "h", "/", NULL, 0, headers, 200, NULL, 0, NULL};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "x-header-%03d", i);
        headers[i] = (struct aws_kv){names[i], "v"};
    }
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_E_INTERNAL);
    assert_non_null(strstr(err.msg, "Authorization header longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_derived_signing_keys_match_the_published_ones),
            cmocka_unit_test(test_aws_suite_get_vanilla_and_query_order_sign_as_published),
            cmocka_unit_test(test_v1_s3_list_objects_v2_with_query),
            cmocka_unit_test(test_v2_logs_filter_log_events_post_json),
            cmocka_unit_test(test_v3_s3_get_object_with_escaped_key_and_range),
            cmocka_unit_test(test_v3b_unsigned_payload_is_sent_and_signed),
            cmocka_unit_test(test_v4_sns_publish_with_session_token),
            cmocka_unit_test(test_uri_encode_keeps_unreserved_and_uses_upper_hex),
            cmocka_unit_test(test_non_s3_path_drops_dot_segments_and_is_encoded_twice),
            cmocka_unit_test(test_s3_path_is_signed_exactly_as_sent),
            cmocka_unit_test(test_query_repeats_sort_by_value_and_empty_values_keep_equals),
            cmocka_unit_test(test_headers_are_trimmed_collapsed_merged_and_sorted),
            cmocka_unit_test(test_signer_owned_and_broken_headers_are_refused),
            cmocka_unit_test(test_unsigned_payload_outside_s3_is_sent_as_a_signed_header),
            cmocka_unit_test(test_too_many_signed_headers_fail_instead_of_truncating),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
