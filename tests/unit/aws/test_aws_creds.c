/*
 * The credential chain's local sources and the provider: environment keys, the shared
 * credentials and config files, credential_process, the order between them, the setups logsift
 * refuses (assume-role chains, SSO), the "nothing found" message, and the provider's cache,
 * advisory and mandatory refresh windows and forced refresh, driven by a fake clock.
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
    struct aws_config *cfg;
    struct aws_creds_provider *prov;
};

static int setup(void **state)
{
    static struct fx fx;

    memset(&fx, 0, sizeof(fx));
    tu_dir_make(&fx.dir);
    tu_env_init(&fx.env, fx.dir.path);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    aws_creds_provider_free(fx->prov);
    aws_config_free(fx->cfg);
    tu_env_cleanup(&fx->env);
    tu_dir_remove(&fx->dir);
    return 0;
}

/* Write the two files (NULL: none) and point the environment at them. */
static void files(struct fx *fx, const char *credentials, const char *config)
{
    if (credentials != NULL)
        tu_env_set(&fx->env, "AWS_SHARED_CREDENTIALS_FILE",
                tu_dir_write(&fx->dir, "credentials", credentials, false));
    if (config != NULL)
        tu_env_set(&fx->env, "AWS_CONFIG_FILE", tu_dir_write(&fx->dir, "config", config, false));
}

/* Load config and provider with the current environment, then get. */
static enum lsf_code get(
        struct fx *fx, const char *profile, struct aws_creds *out, struct lsf_err *err)
{
    struct lsf_err perr;

    aws_creds_provider_free(fx->prov);
    aws_config_free(fx->cfg);
    fx->cfg = tu_config(&fx->env, profile);
    lsf_err_clear(&perr);
    assert_int_equal(aws_creds_provider_new(fx->cfg, &fx->prov, &perr), LSF_OK);
    lsf_err_clear(err);
    memset(out, 0, sizeof(*out));
    return aws_creds_provider_get(fx->prov, out, err);
}

static void get_ok(struct fx *fx, const char *profile, struct aws_creds *out)
{
    struct lsf_err err;

    if (get(fx, profile, out, &err) != LSF_OK)
        fail_msg("get failed: %s", err.msg);
}

static void test_environment_keys_come_first(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;

    files(fx, "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n",
            NULL);
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAENV");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", "envsecret");
    tu_env_set(&fx->env, "AWS_SESSION_TOKEN", "envtoken");
    tu_env_set(&fx->env, "AWS_CREDENTIAL_EXPIRATION", "2024-01-15T13:00:00Z");
    get_ok(fx, NULL, &c);
    assert_string_equal(c.access_key_id, "AKIAENV");
    assert_string_equal(c.secret_access_key, "envsecret");
    assert_string_equal(c.session_token, "envtoken");
    assert_int_equal(c.expires_s, 1705323600);
    assert_string_equal(c.source, "environment variables");
    tu_assert_contains(fx->env.debug,
            "using credentials from environment variables: access key "
            "AKIAENV");
}

static void test_partial_environment_keys_are_a_usage_error(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAENV");
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

static void test_aws_profile_keeps_environment_keys_but_profile_flag_skips_them(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;

    files(fx, "[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prodsecret\n", NULL);
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAENV");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", "envsecret");
    tu_env_set(&fx->env, "AWS_PROFILE", "prod");
    get_ok(fx, NULL, &c);
    assert_string_equal(c.access_key_id, "AKIAENV");
    get_ok(fx, "prod", &c);
    assert_string_equal(c.access_key_id, "AKIAPROD");
    tu_assert_contains(c.source, "profile prod in ");
}

static void test_credentials_file_beats_config_file_keys(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;

    files(fx,
            "[default]\naws_access_key_id = AKIACREDS\naws_secret_access_key = s1\n"
            "aws_session_token = t1\n",
            "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = s2\n"
            "[profile other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s3\n");
    get_ok(fx, NULL, &c);
    assert_string_equal(c.access_key_id, "AKIACREDS");
    assert_string_equal(c.session_token, "t1");
    assert_int_equal(c.expires_s, 0);
    get_ok(fx, "other", &c);
    assert_string_equal(c.access_key_id, "AKIAOTHER");
    assert_string_equal(c.secret_access_key, "s3");
    tu_assert_contains(c.source, "/config");
}

static void test_profile_with_half_a_key_pair_names_the_missing_key(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    files(fx, "[default]\naws_access_key_id = AKIAHALF\n", NULL);
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "has aws_access_key_id but no aws_secret_access_key");
}

static void test_credential_process_output_is_used_after_the_credentials_file(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    const char *script = tu_dir_write(&fx->dir, "creds.sh",
            "#!/bin/sh\nprintf '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
            "\"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", "
            "\"Expiration\": \"2024-01-15T18:00:00Z\"}'\n",
            true);
    char config[512];

    snprintf(config, sizeof(config), "[profile tool]\ncredential_process = %s --flag\n", script);
    files(fx, "[tool]\nregion = eu-west-1\n", config);
    get_ok(fx, "tool", &c);
    assert_string_equal(c.access_key_id, "AKIAPROC");
    assert_string_equal(c.secret_access_key, "procsecret");
    assert_string_equal(c.session_token, "proctoken");
    assert_int_equal(c.expires_s, 1705341600);
    assert_string_equal(c.source, "credential_process of profile tool");
}

static void test_failing_credential_process_is_a_usage_error(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    files(fx, NULL, "[default]\ncredential_process = sh -c 'exit 3'\n");
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg,
            "credential_process of profile default: the command failed "
            "(exit status 3)");
    files(fx, NULL, "[default]\ncredential_process = echo '{\"Version\": 2}'\n");
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "Version is not 1");
}

static void test_assume_role_and_sso_profiles_are_refused_with_a_way_out(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    files(fx, "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
            "[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\n"
            "source_profile = base\n"
            "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\n");
    assert_int_equal(get(fx, "admin", &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "profile admin assumes a role");
    tu_assert_contains(err.msg, "aws configure export-credentials --profile admin");
    assert_int_equal(get(fx, "sso", &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "aws sso login --profile sso");
}

static void test_web_identity_without_a_role_is_a_usage_error(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "web identity token file /var/run/token is set but no role");
}

static void test_no_credentials_anywhere_lists_where_it_looked(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "no AWS credentials found for profile default");
    tu_assert_contains(err.msg, "/.aws/credentials");
    tu_assert_contains(err.msg, "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
    tu_assert_contains(err.msg, "run `aws configure`");
}

static void test_static_credentials_are_cached_and_never_refreshed(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAFIRST");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", "s");
    get_ok(fx, NULL, &c);
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIASECOND");
    fx->env.now_s += 30 * 86400;
    lsf_err_clear(&err);
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_OK);
    assert_string_equal(c.access_key_id, "AKIAFIRST");
    /* Rejected by AWS: the next get reads the source again. */
    aws_creds_provider_expire(fx->prov);
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_OK);
    assert_string_equal(c.access_key_id, "AKIASECOND");
}

static void test_refresh_windows_keep_or_drop_credentials_that_cannot_be_renewed(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;
    const int64_t expiry = 1705323600; /* 13:00Z; the clock starts at 12:00Z */

    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAOLD");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", "s");
    tu_env_set(&fx->env, "AWS_CREDENTIAL_EXPIRATION", "2024-01-15T13:00:00Z");
    get_ok(fx, NULL, &c);

    /* 16 minutes left: outside both windows, no refresh even though the source changed. */
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIANEW");
    tu_env_set(&fx->env, "AWS_CREDENTIAL_EXPIRATION", "2024-01-15T14:00:00Z");
    fx->env.now_s = expiry - 16 * 60;
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_OK);
    assert_string_equal(c.access_key_id, "AKIAOLD");

    /* 14 minutes left: advisory refresh picks up the new keys. */
    fx->env.now_s = expiry - 14 * 60;
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_OK);
    assert_string_equal(c.access_key_id, "AKIANEW");
    assert_int_equal(c.expires_s, expiry + 3600);

    /* The source goes away. 12 minutes left: the refresh fails, the old keys stay. */
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", NULL);
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", NULL);
    fx->env.now_s = expiry + 3600 - 12 * 60;
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_OK);
    assert_string_equal(c.access_key_id, "AKIANEW");
    tu_assert_contains(fx->env.debug, "refresh failed, keeping credentials");

    /* 9 minutes left: mandatory window, the failure is an error. */
    fx->env.now_s = expiry + 3600 - 9 * 60;
    lsf_err_clear(&err);
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_E_AUTH);
    tu_assert_contains(err.msg,
            "refreshing AWS credentials: environment variables no longer "
            "provides credentials");
}

static void test_refreshed_credentials_that_are_already_expired_are_an_auth_error(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIASTALE");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", "s");
    tu_env_set(&fx->env, "AWS_CREDENTIAL_EXPIRATION", "2024-01-15T11:00:00Z");
    assert_int_equal(get(fx, NULL, &c, &err), LSF_E_AUTH);
    tu_assert_contains(err.msg, "access key AKIASTALE) expired 3600 s ago");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
            T(test_environment_keys_come_first),
            T(test_partial_environment_keys_are_a_usage_error),
            T(test_aws_profile_keeps_environment_keys_but_profile_flag_skips_them),
            T(test_credentials_file_beats_config_file_keys),
            T(test_profile_with_half_a_key_pair_names_the_missing_key),
            T(test_credential_process_output_is_used_after_the_credentials_file),
            T(test_failing_credential_process_is_a_usage_error),
            T(test_assume_role_and_sso_profiles_are_refused_with_a_way_out),
            T(test_web_identity_without_a_role_is_a_usage_error),
            T(test_no_credentials_anywhere_lists_where_it_looked),
            T(test_static_credentials_are_cached_and_never_refreshed),
            T(test_refresh_windows_keep_or_drop_credentials_that_cannot_be_renewed),
            T(test_refreshed_credentials_that_are_already_expired_are_an_auth_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
