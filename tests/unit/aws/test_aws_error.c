/*
 * AWS error answers: S3 REST-XML, Query XML and JSON 1.1 bodies parsed into code, message,
 * request id and region; bodies that are empty, HTML or hostile still give a message; codes
 * classified into what the caller does next; one-line messages that name the operation, the
 * resource, the status, the code and, for access errors, the IAM action to grant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "aws.h"
#include "aws_test_util.h"

static struct aws_error_info parse(
        enum aws_protocol proto, long status, const char *body, const char *rid)
{
    struct aws_error_info info;

    aws_error_parse(proto, status, body, body ? strlen(body) : 0, rid, &info);
    return info;
}

static void test_s3_xml_error_gives_code_message_request_id_and_region(void **state)
{
    struct aws_error_info i = parse(AWS_PROTO_REST_XML, 400,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed"
            "</Code><Message>The authorization header is malformed; the region 'us-east-1' is "
            "wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>"
            "4442587FB7D0A2F9</RequestId><HostId>abc</HostId></Error>",
            NULL);

    (void)state;
    assert_int_equal(i.http_status, 400);
    assert_string_equal(i.code, "AuthorizationHeaderMalformed");
    tu_assert_contains(i.message, "expecting 'eu-west-1'");
    assert_string_equal(i.request_id, "4442587FB7D0A2F9");
    assert_string_equal(i.region, "eu-west-1");
}

static void test_query_xml_error_is_read_inside_its_namespace(void **state)
{
    struct aws_error_info i = parse(AWS_PROTO_QUERY, 403,
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender"
            "</Type><Code>AuthorizationError</Code><Message>User: arn:aws:iam::1:user/x is not "
            "authorized to perform: SNS:Publish</Message></Error><RequestId>rid-9</RequestId>"
            "</ErrorResponse>",
            "header-rid");

    (void)state;
    assert_string_equal(i.code, "AuthorizationError");
    tu_assert_contains(i.message, "not authorized to perform: SNS:Publish");
    assert_string_equal(i.request_id, "header-rid"); /* the header wins over the body */
}

static void test_json_type_is_reduced_as_botocore_does(void **state)
{
    struct aws_error_info i;

    (void)state;
    i = parse(AWS_PROTO_JSON, 400,
            "{\"__type\":\"com.amazonaws.logs#ThrottlingException:http://internal\","
            "\"message\":\"Rate exceeded\"}",
            "r1");
    assert_string_equal(i.code, "ThrottlingException");
    assert_string_equal(i.message, "Rate exceeded");
    i = parse(AWS_PROTO_JSON, 400,
            "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"The specified log group "
            "does not exist.\"}",
            NULL);
    assert_string_equal(i.code, "ResourceNotFoundException");
    assert_string_equal(i.message, "The specified log group does not exist.");
}

static void test_unreadable_bodies_leave_only_the_status(void **state)
{
    static const char *const bodies[] = {
            "",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "{\"__type\": 7}",
            "not json, not xml",
            "<Error><Code>Trunc",
            ("<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x "
             "\"boom\">]><Error><Code>&x;</Code></Error>"),
    };

    (void)state;
    for (size_t k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
        for (int proto = AWS_PROTO_REST_XML; proto <= AWS_PROTO_JSON; proto++) {
            struct aws_error_info i = parse((enum aws_protocol)proto, 502, bodies[k], NULL);
            assert_int_equal(i.http_status, 502);
            tu_assert_absent(i.code, "boom");
            if (k != 1) /* expat reads the HTML page; it has no Code element */
                assert_string_equal(i.code, "");
        }
    }
}

static void test_control_characters_in_aws_messages_are_flattened(void **state)
{
    struct aws_error_info i = parse(AWS_PROTO_JSON, 400,
            "{\"__type\":\"InvalidParameterException\",\"message\":\"line1\\nline2\\u001b[31m\"}",
            NULL);

    (void)state;
    assert_string_equal(i.message, "line1 line2 [31m");
}

static void test_codes_are_classified_by_what_the_caller_should_do(void **state)
{
    static const struct {
        long status;
        const char *code;
        enum lsf_code want;
    } cases[] = {
            {503, "SlowDown", LSF_E_TRANSIENT},
            {400, "ThrottlingException", LSF_E_TRANSIENT},
            {400, "Throttling", LSF_E_TRANSIENT},
            {429, "Throttled", LSF_E_TRANSIENT},
            {429, "", LSF_E_TRANSIENT},
            {400, "RequestTimeout", LSF_E_TRANSIENT},
            {500, "InternalError", LSF_E_TRANSIENT},
            {502, "", LSF_E_TRANSIENT},
            {400, "IDPCommunicationError", LSF_E_TRANSIENT},
            {403, "AccessDenied", LSF_E_AUTH},
            {400, "AccessDeniedException", LSF_E_AUTH},
            {400, "ExpiredTokenException", LSF_E_AUTH},
            {400, "ExpiredToken", LSF_E_AUTH},
            {403, "InvalidClientTokenId", LSF_E_AUTH},
            {400, "UnrecognizedClientException", LSF_E_AUTH},
            {403, "SignatureDoesNotMatch", LSF_E_AUTH},
            {403, "RequestTimeTooSkewed", LSF_E_AUTH},
            {403, "", LSF_E_AUTH},
            {404, "NoSuchKey", LSF_E_INPUT},
            {400, "ResourceNotFoundException", LSF_E_INPUT},
            {400, "InvalidParameterException", LSF_E_INPUT},
            {416, "InvalidRange", LSF_E_INPUT},
            {404, "", LSF_E_INPUT},
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        if (aws_error_code_class(cases[k].status, cases[k].code) != cases[k].want)
            fail_msg("%ld %s: got %s", cases[k].status, cases[k].code,
                    lsf_code_name(aws_error_code_class(cases[k].status, cases[k].code)));
    }
}

static void test_permissions_are_named_as_iam_spells_them(void **state)
{
    char p[64];

    (void)state;
    aws_error_permission("s3", "ListObjectsV2", p, sizeof(p));
    assert_string_equal(p, "s3:ListBucket");
    aws_error_permission("s3", "HeadObject", p, sizeof(p));
    assert_string_equal(p, "s3:GetObject");
    aws_error_permission("logs", "FilterLogEvents", p, sizeof(p));
    assert_string_equal(p, "logs:FilterLogEvents");
    aws_error_permission("monitoring", "PutMetricData", p, sizeof(p));
    assert_string_equal(p, "cloudwatch:PutMetricData");
    aws_error_permission("sns", "Publish", p, sizeof(p));
    assert_string_equal(p, "sns:Publish");
}

static void test_access_denied_message_names_call_resource_and_missing_permission(void **state)
{
    struct aws_error_info i = parse(AWS_PROTO_REST_XML, 403,
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>RID1"
            "</RequestId></Error>",
            NULL);
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(aws_error_fail(&err, &i, "s3", "ListObjectsV2", "s3://audit-archive/AWSLogs/"),
            LSF_E_AUTH);
    assert_string_equal(err.msg,
            "s3 ListObjectsV2 s3://audit-archive/AWSLogs/: HTTP 403 AccessDenied: Access Denied "
            "(request id RID1); the credentials probably lack s3:ListBucket on it: grant it "
            "(check resource and KMS policies too) or use another profile");
}

static void test_head_403_without_body_still_names_the_permission(void **state)
{
    struct aws_error_info i = parse(AWS_PROTO_REST_XML, 403, NULL, "RID2");
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(aws_error_fail(&err, &i, "s3", "HeadObject", "s3://b/k"), LSF_E_AUTH);
    tu_assert_contains(err.msg,
            "s3 HeadObject s3://b/k: HTTP 403 (no error body) (request id "
            "RID2); the credentials probably lack s3:GetObject");
}

static void test_messages_give_the_next_step_for_each_kind_of_failure(void **state)
{
    static const struct {
        enum aws_protocol proto;
        long status;
        const char *body;
        const char *want;
    } cases[] = {
            {AWS_PROTO_JSON, 400,
                    "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
                    "logs FilterLogEvents /aws/lambda/demo: HTTP 400 ThrottlingException: Rate "
                    "exceeded; AWS is throttling or failing"},
            {AWS_PROTO_JSON, 400, "{\"__type\":\"ExpiredTokenException\"}",
                    "the credentials expired"},
            {AWS_PROTO_REST_XML, 403, "<Error><Code>RequestTimeTooSkewed</Code></Error>",
                    "this host's clock is off"},
            {AWS_PROTO_REST_XML, 403, "<Error><Code>SignatureDoesNotMatch</Code></Error>",
                    "the secret key does not match"},
            {AWS_PROTO_REST_XML, 301,
                    "<Error><Code>PermanentRedirect</Code><Region>ap-south-1</Region></Error>",
                    "pass --region ap-south-1"},
            {AWS_PROTO_JSON, 400, "{\"__type\":\"ResourceNotFoundException\"}",
                    "check the name and the region"},
    };

    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct aws_error_info i = parse(cases[k].proto, cases[k].status, cases[k].body, NULL);
        struct lsf_err err;
        lsf_err_clear(&err);
        aws_error_fail(&err, &i, "logs", "FilterLogEvents", "/aws/lambda/demo");
        tu_assert_contains(err.msg, cases[k].want);
        assert_null(strchr(err.msg, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_s3_xml_error_gives_code_message_request_id_and_region),
            cmocka_unit_test(test_query_xml_error_is_read_inside_its_namespace),
            cmocka_unit_test(test_json_type_is_reduced_as_botocore_does),
            cmocka_unit_test(test_unreadable_bodies_leave_only_the_status),
            cmocka_unit_test(test_control_characters_in_aws_messages_are_flattened),
            cmocka_unit_test(test_codes_are_classified_by_what_the_caller_should_do),
            cmocka_unit_test(test_permissions_are_named_as_iam_spells_them),
            cmocka_unit_test(test_access_denied_message_names_call_resource_and_missing_permission),
            cmocka_unit_test(test_head_403_without_body_still_names_the_permission),
            cmocka_unit_test(test_messages_give_the_next_step_for_each_kind_of_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
