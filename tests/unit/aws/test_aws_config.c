/*
 * Configuration as the AWS CLI resolves it: the INI dialect of the shared files (configparser
 * plus botocore's nested maps), profile selection, region order, endpoint overrides in their
 * order of precedence, and S3 virtual-host versus path-style addressing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "aws.h"
#include "aws_int.h"
#include "aws_test_util.h"

struct fx {
    struct tu_dir dir;
    struct tu_env env;
};

static int setup(void **state)
{
    static struct fx fx;

    tu_dir_make(&fx.dir);
    tu_env_init(&fx.env, fx.dir.path);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    tu_env_cleanup(&fx->env);
    tu_dir_remove(&fx->dir);
    return 0;
}

static struct aws_ini *parse_ok(const char *text)
{
    struct aws_ini *ini = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    if (aws_ini_parse(text, strlen(text), "test.ini", &ini, &err) != LSF_OK)
        fail_msg("parse failed: %s", err.msg);
    return ini;
}

static void parse_fails(const char *text, const char *want_msg, const char *secret)
{
    struct aws_ini *ini = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(aws_ini_parse(text, strlen(text), "test.ini", &ini, &err), LSF_E_USAGE);
    assert_null(ini);
    tu_assert_contains(err.msg, want_msg);
    if (secret != NULL)
        tu_assert_absent(err.msg, secret);
}

static void test_ini_reads_values_as_configparser_does(void **state)
{
    struct aws_ini *ini = parse_ok("# comment\n"
                                   "; another\n"
                                   "[default]\n"
                                   "Region = eu-west-1   \n"
                                   "output: json\n"
                                   "endpoint_url = http://x # not a comment\n"
                                   "  # indented comment\n"
                                   "\n"
                                   "[profile prod]\r\n"
                                   "s3 =\r\n"
                                   "  addressing_style = path\r\n"
                                   "\r\n"
                                   "  max_concurrent_requests=4\r\n"
                                   "note = first\n"
                                   "   second line\n"
                                   "[empty]\n");

    (void)state;
    assert_string_equal(aws_ini_get(ini, "default", "region"), "eu-west-1");
    assert_string_equal(aws_ini_get(ini, "default", "output"), "json");
    assert_string_equal(aws_ini_get(ini, "default", "endpoint_url"), "http://x # not a comment");
    assert_string_equal(aws_ini_get(ini, "profile prod", "s3.addressing_style"), "path");
    assert_string_equal(aws_ini_get(ini, "profile prod", "s3.max_concurrent_requests"), "4");
    assert_null(aws_ini_get(ini, "profile prod", "s3"));
    assert_string_equal(aws_ini_get(ini, "profile prod", "note"), "first\nsecond line");
    assert_true(aws_ini_has_section(ini, "empty"));
    assert_false(aws_ini_has_section(ini, "prod"));
    aws_ini_free(ini);
}

static void test_ini_errors_name_the_line_but_never_its_text(void **state)
{
    (void)state;
    parse_fails("aws_secret_access_key = hunter2secret\n", "line 1: setting before any", "hunter2");
    parse_fails("[default]\nhunter2secret\n", "line 2: expected \"name = value\"", "hunter2");
    parse_fails(
            "[default]\na = 1\nA = hunter2secret\n", "line 3: [default] sets a twice", "hunter2");
    parse_fails("[default]\n[default]\n", "line 2: section [default] appears twice", NULL);
    parse_fails("[default]\n= hunter2secret\n", "line 2: a setting without a name", "hunter2");
    parse_fails("[]\n", "line 1: malformed [section]", NULL);
    parse_fails("[default]\ns3 =\n  hunter2secret\n", "nested setting without '='", "hunter2");
}

static void test_profile_comes_from_flag_then_aws_profile_then_default(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;

    tu_dir_write(&fx->dir, "config",
            "[default]\nregion = us-east-1\n"
            "[profile prod]\nregion = eu-west-1\n"
            "[profile \"quoted name\"]\nregion = eu-north-1\n"
            "[dev]\nregion = ap-south-1\n",
            false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_profile(cfg), "default");
    assert_string_equal(aws_config_region(cfg), "us-east-1");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_PROFILE", "prod");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_region(cfg), "eu-west-1");
    aws_config_free(cfg);

    cfg = tu_config(&fx->env, "quoted name");
    assert_string_equal(aws_config_profile(cfg), "quoted name");
    assert_string_equal(aws_config_region(cfg), "eu-north-1");
    aws_config_free(cfg);
}

static void test_named_profile_missing_from_both_files_is_a_usage_error(void **state)
{
    struct fx *fx = *state;
    struct aws_hooks hooks = tu_hooks(&fx->env);
    struct aws_config_opts opts = {NULL, NULL, &hooks};
    struct aws_config *cfg = NULL;
    struct lsf_err err;

    /* A bare [dev] in the config file is not a profile (botocore build_profile_map). */
    tu_dir_write(&fx->dir, "config", "[dev]\nregion = ap-south-1\n", false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    tu_env_set(&fx->env, "AWS_PROFILE", "dev");
    lsf_err_clear(&err);
    assert_int_equal(aws_config_load(&opts, &cfg, &err), LSF_E_USAGE);
    assert_null(cfg);
    tu_assert_contains(err.msg, "AWS profile \"dev\" is in neither");
    tu_assert_contains(err.msg, fx->dir.files[0]);

    /* The implicit default profile may be absent. */
    tu_env_set(&fx->env, "AWS_PROFILE", NULL);
    cfg = tu_config(&fx->env, NULL);
    assert_null(aws_config_region(cfg));
    aws_config_free(cfg);
}

static void test_region_order_is_flag_env_region_env_default_then_profile(void **state)
{
    struct fx *fx = *state;
    struct aws_hooks hooks = tu_hooks(&fx->env);
    struct aws_config_opts opts = {NULL, "ca-central-1", &hooks};
    struct aws_config *cfg;
    struct lsf_err err;

    tu_dir_write(&fx->dir, "config", "[default]\nregion = us-east-1\n", false);
    tu_dir_write(&fx->dir, "credentials", "[default]\nregion = us-west-2\n", false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    tu_env_set(&fx->env, "AWS_SHARED_CREDENTIALS_FILE", fx->dir.files[1]);
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_region(cfg), "us-west-2"); /* credentials file wins */
    aws_config_free(cfg);
    tu_env_set(&fx->env, "AWS_DEFAULT_REGION", "eu-west-3");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_region(cfg), "eu-west-3");
    aws_config_free(cfg);
    tu_env_set(&fx->env, "AWS_REGION", "eu-central-1");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_region(cfg), "eu-central-1");
    aws_config_free(cfg);
    lsf_err_clear(&err);
    assert_int_equal(aws_config_load(&opts, &cfg, &err), LSF_OK);
    assert_string_equal(aws_config_region(cfg), "ca-central-1");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_REGION", "eu west 1");
    assert_int_equal(aws_config_load(&(struct aws_config_opts){NULL, NULL, &hooks}, &cfg, &err),
            LSF_E_USAGE);
    tu_assert_contains(err.msg, "is not a region name");
}

static void test_home_relative_file_variables_are_expanded(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;

    tu_dir_write(&fx->dir, "alt-config", "[default]\nregion = sa-east-1\n", false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", "~/alt-config");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_region(cfg), "sa-east-1");
    aws_config_free(cfg);
}

static struct aws_endpoint resolve(
        struct aws_config *cfg, enum aws_service svc, const char *override)
{
    struct aws_endpoint ep;
    struct lsf_err err;

    lsf_err_clear(&err);
    if (aws_endpoint_resolve(cfg, svc, override, &ep, &err) != LSF_OK)
        fail_msg("resolve: %s", err.msg);
    return ep;
}

static void test_default_endpoints_follow_service_and_region(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;
    struct aws_endpoint ep;
    struct lsf_err err;
    char url[600];

    cfg = tu_config(&fx->env, NULL); /* no region at all */
    ep = resolve(cfg, AWS_SVC_STS, NULL);
    assert_string_equal(ep.host, "sts.amazonaws.com");
    assert_string_equal(ep.region, "us-east-1");
    ep = resolve(cfg, AWS_SVC_S3, NULL);
    assert_string_equal(ep.host, "s3.us-east-1.amazonaws.com");
    lsf_err_clear(&err);
    assert_int_equal(aws_endpoint_resolve(cfg, AWS_SVC_LOGS, NULL, &ep, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "no AWS region for logs: pass --region, set AWS_REGION");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_REGION", "eu-west-1");
    cfg = tu_config(&fx->env, NULL);
    ep = resolve(cfg, AWS_SVC_LOGS, NULL);
    assert_string_equal(ep.host, "logs.eu-west-1.amazonaws.com");
    assert_string_equal(ep.service, "logs");
    assert_true(ep.is_https);
    assert_false(ep.is_custom);
    ep = resolve(cfg, AWS_SVC_CLOUDWATCH, NULL);
    assert_string_equal(ep.host, "monitoring.eu-west-1.amazonaws.com");
    assert_string_equal(ep.service, "monitoring");
    ep = resolve(cfg, AWS_SVC_STS, NULL);
    assert_string_equal(ep.host, "sts.eu-west-1.amazonaws.com");
    aws_endpoint_base_url(&ep, url, sizeof(url));
    assert_string_equal(url, "https://sts.eu-west-1.amazonaws.com");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_REGION", "cn-north-1");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(resolve(cfg, AWS_SVC_SNS, NULL).host, "sns.cn-north-1.amazonaws.com.cn");
    aws_config_free(cfg);
}

static void test_endpoint_overrides_apply_in_precedence_order(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;
    struct aws_endpoint ep;

    tu_dir_write(&fx->dir, "config",
            "[default]\nregion = eu-west-1\n"
            "endpoint_url = https://profile.example.com\n"
            "services = local\n"
            "[services local]\n"
            "cloudwatch_logs =\n  endpoint_url = http://127.0.0.1:4599/\n"
            "logs =\n  endpoint_url = http://ignored.example.com\n",
            false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    cfg = tu_config(&fx->env, NULL);
    ep = resolve(cfg, AWS_SVC_LOGS, NULL);
    assert_string_equal(ep.host, "127.0.0.1:4599");
    assert_false(ep.is_https);
    assert_true(ep.is_custom);
    assert_string_equal(ep.region, "eu-west-1");
    assert_string_equal(resolve(cfg, AWS_SVC_SNS, NULL).host, "profile.example.com");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL", "https://all.example.com:443/base/");
    cfg = tu_config(&fx->env, NULL);
    ep = resolve(cfg, AWS_SVC_LOGS, NULL);
    assert_string_equal(ep.host, "all.example.com"); /* default port dropped */
    assert_string_equal(ep.base_path, "/base");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://[::1]:8080");
    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_S3", "http://minio.local:9000");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(resolve(cfg, AWS_SVC_LOGS, NULL).host, "[::1]:8080");
    assert_string_equal(resolve(cfg, AWS_SVC_S3, NULL).host, "minio.local:9000");
    assert_string_equal(resolve(cfg, AWS_SVC_SNS, NULL).host, "all.example.com");
    /* --endpoint-url beats everything */
    assert_string_equal(resolve(cfg, AWS_SVC_S3, "https://flag.example.com:8443").host,
            "flag.example.com:8443");
    aws_config_free(cfg);

    tu_env_set(&fx->env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE");
    cfg = tu_config(&fx->env, NULL);
    ep = resolve(cfg, AWS_SVC_S3, NULL);
    assert_string_equal(ep.host, "s3.eu-west-1.amazonaws.com");
    assert_false(ep.is_custom);
    assert_string_equal(resolve(cfg, AWS_SVC_S3, "http://flag:1").host, "flag:1");
    aws_config_free(cfg);
}

static void test_malformed_endpoint_url_names_its_setting(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;
    struct aws_endpoint ep;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_S3", "ftp://files.example.com");
    cfg = tu_config(&fx->env, NULL);
    lsf_err_clear(&err);
    assert_int_equal(aws_endpoint_resolve(cfg, AWS_SVC_S3, NULL, &ep, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg,
            "AWS_ENDPOINT_URL_S3 \"ftp://files.example.com\" is not an "
            "http(s) URL");
    aws_config_free(cfg);
}

static void test_s3_addressing_is_virtual_host_unless_path_style_is_needed(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;
    struct aws_endpoint ep;
    struct aws_endpoint custom;

    tu_env_set(&fx->env, "AWS_REGION", "eu-west-1");
    cfg = tu_config(&fx->env, NULL);
    ep = resolve(cfg, AWS_SVC_S3, NULL);
    custom = resolve(cfg, AWS_SVC_S3, "http://127.0.0.1:4568");
    assert_false(aws_s3_path_style(cfg, &ep, "audit-archive"));
    assert_true(aws_s3_path_style(cfg, &ep, "audit.archive")); /* dots break the TLS cert */
    assert_true(aws_s3_path_style(cfg, &ep, "Audit_Archive")); /* not a DNS label */
    assert_true(aws_s3_path_style(cfg, &custom, "audit-archive"));
    aws_config_free(cfg);

    tu_dir_write(&fx->dir, "config", "[default]\ns3 =\n  addressing_style = virtual\n", false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    cfg = tu_config(&fx->env, NULL);
    assert_false(aws_s3_path_style(cfg, &custom, "audit-archive"));
    aws_config_free(cfg);
    tu_dir_write(&fx->dir, "config", "[default]\ns3 =\n  addressing_style = path\n", false);
    cfg = tu_config(&fx->env, NULL);
    assert_true(aws_s3_path_style(cfg, &ep, "audit-archive"));
    aws_config_free(cfg);
}

static void test_s3_address_encodes_the_key_once_in_either_style(void **state)
{
    struct aws_endpoint ep;
    struct lsf_buf path;
    struct lsf_err err;
    char host[AWS_HOST_MAX];

    (void)state;
    memset(&ep, 0, sizeof(ep));
    strcpy(ep.host, "127.0.0.1:4568");
    strcpy(ep.base_path, "/s3");
    lsf_err_clear(&err);
    lsf_buf_init(&path, 4096);
    assert_int_equal(aws_s3_address(&ep, true, "bk", "a b/c+d//e", host, &path, &err), LSF_OK);
    assert_string_equal(host, "127.0.0.1:4568");
    assert_string_equal((const char *)path.data, "/s3/bk/a%20b/c%2Bd//e");
    path.len = 0;
    assert_int_equal(aws_s3_address(&ep, true, "bk", NULL, host, &path, &err), LSF_OK);
    assert_string_equal((const char *)path.data, "/s3/bk");
    path.len = 0;
    ep.base_path[0] = '\0';
    assert_int_equal(aws_s3_address(&ep, false, "bk", "", host, &path, &err), LSF_OK);
    assert_string_equal(host, "bk.127.0.0.1:4568");
    assert_string_equal((const char *)path.data, "/");
    lsf_buf_cleanup(&path);
}

static void test_ca_bundle_and_max_attempts_come_from_env_then_profile(void **state)
{
    struct fx *fx = *state;
    struct aws_config *cfg;

    tu_dir_write(&fx->dir, "config",
            "[default]\nca_bundle = /etc/profile-ca.pem\nmax_attempts = 5\n", false);
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.files[0]);
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_ca_bundle(cfg), "/etc/profile-ca.pem");
    assert_int_equal(aws_config_max_attempts(cfg), 5);
    aws_config_free(cfg);
    tu_env_set(&fx->env, "AWS_CA_BUNDLE", "/etc/env-ca.pem");
    tu_env_set(&fx->env, "AWS_MAX_ATTEMPTS", "2");
    cfg = tu_config(&fx->env, NULL);
    assert_string_equal(aws_config_ca_bundle(cfg), "/etc/env-ca.pem");
    assert_int_equal(aws_config_max_attempts(cfg), 2);
    aws_config_free(cfg);
    tu_env_set(&fx->env, "AWS_MAX_ATTEMPTS", "zero");
    cfg = tu_config(&fx->env, NULL);
    assert_int_equal(aws_config_max_attempts(cfg), AWS_RETRY_MAX_ATTEMPTS);
    aws_config_free(cfg);
}

static void test_unreadable_config_file_is_an_io_error(void **state)
{
    struct fx *fx = *state;
    struct aws_hooks hooks = tu_hooks(&fx->env);
    struct aws_config_opts opts = {NULL, NULL, &hooks};
    struct aws_config *cfg = NULL;
    struct lsf_err err;

    /* A folder where the file should be: it exists but cannot be read as a file. */
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", fx->dir.path);
    lsf_err_clear(&err);
    assert_int_equal(aws_config_load(&opts, &cfg, &err), LSF_E_IO);
    tu_assert_contains(err.msg, fx->dir.path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
            T(test_ini_reads_values_as_configparser_does),
            T(test_ini_errors_name_the_line_but_never_its_text),
            T(test_profile_comes_from_flag_then_aws_profile_then_default),
            T(test_named_profile_missing_from_both_files_is_a_usage_error),
            T(test_region_order_is_flag_env_region_env_default_then_profile),
            T(test_home_relative_file_variables_are_expanded),
            T(test_default_endpoints_follow_service_and_region),
            T(test_endpoint_overrides_apply_in_precedence_order),
            T(test_malformed_endpoint_url_names_its_setting),
            T(test_s3_addressing_is_virtual_host_unless_path_style_is_needed),
            T(test_s3_address_encodes_the_key_once_in_either_style),
            T(test_ca_bundle_and_max_attempts_come_from_env_then_profile),
            T(test_unreadable_config_file_is_an_io_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
