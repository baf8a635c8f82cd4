/*
 * The credential sources that answer over HTTP, against fake_metadata.py on 127.0.0.1: the
 * IMDSv2 token flow (PUT, then role and credentials with the token header), token reuse and
 * renewal after a 401, IMDSv1 fallback, refresh before expiry; container credentials with the
 * authorization token from a file or variable, retries and refusals; STS web identity with the
 * token file read fresh on every refresh, rejected and retried answers; and one fetch for many
 * threads asking at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "aws.h"
#include "aws_int.h"
#include "aws_test_util.h"

#define ROLE_ARN "arn:aws:iam::111122223333:role/logsift-reader"
#define JWT      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl"

static struct tu_server srv;

struct fx {
    struct tu_dir dir;
    struct tu_env env;
    struct aws_config *cfg;
    struct aws_creds_provider *prov;
};

static int group_setup(void **state)
{
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    if (aws_global_init(&err) != LSF_OK)
        return -1;
    tu_server_start(&srv);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_server_stop(&srv);
    aws_global_cleanup();
    return 0;
}

static int setup(void **state)
{
    static struct fx fx;

    memset(&fx, 0, sizeof(fx));
    tu_dir_make(&fx.dir);
    tu_env_init(&fx.env, fx.dir.path);
    tu_server_reset(&srv);
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

static enum lsf_code first_get(struct fx *fx, struct aws_creds *out, struct lsf_err *err)
{
    struct lsf_err perr;

    fx->cfg = tu_config(&fx->env, NULL);
    lsf_err_clear(&perr);
    assert_int_equal(aws_creds_provider_new(fx->cfg, &fx->prov, &perr), LSF_OK);
    lsf_err_clear(err);
    return aws_creds_provider_get(fx->prov, out, err);
}

static void first_get_ok(struct fx *fx, struct aws_creds *out)
{
    struct lsf_err err;

    if (first_get(fx, out, &err) != LSF_OK)
        fail_msg("get failed: %s", err.msg);
}

static void get_ok(struct fx *fx, struct aws_creds *out)
{
    struct lsf_err err;

    lsf_err_clear(&err);
    if (aws_creds_provider_get(fx->prov, out, &err) != LSF_OK)
        fail_msg("get failed: %s", err.msg);
}

/* Request i of the server log: method, path, and a header ("" when absent). */
static const char *log_field(json_t *log, size_t i, const char *field)
{
    json_t *entry = json_array_get(log, i);

    assert_non_null(entry);
    return json_string_value(json_object_get(entry, field));
}

static const char *log_header(json_t *log, size_t i, const char *name)
{
    json_t *v = json_object_get(json_object_get(json_array_get(log, i), "headers"), name);

    return v ? json_string_value(v) : "";
}

static void use_imds(struct fx *fx)
{
    char endpoint[96];

    snprintf(endpoint, sizeof(endpoint), "%s/", srv.base); /* the trailing '/' is dropped */
    tu_env_set(&fx->env, "AWS_EC2_METADATA_DISABLED", NULL);
    tu_env_set(&fx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint);
}

/* ---- IMDS ----------------------------------------------------------------------------------- */

static void test_imds_v2_puts_a_token_then_reads_role_and_credentials_with_it(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_imds(fx);
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    assert_string_equal(c.secret_access_key, "fakeSecretKey/ABCDEFGHIJKLMNOPQRSTUVWXYZ01");
    assert_string_equal(c.session_token, "FakeSessionToken+EXAMPLE/=");
    assert_int_equal(c.expires_s, 1893456000); /* 2030-01-01 */
    assert_string_equal(c.source, "EC2 instance metadata (role logsift-role)");
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 3);
    assert_string_equal(log_field(log, 0, "method"), "PUT");
    assert_string_equal(log_field(log, 0, "path"), "/latest/api/token");
    assert_string_equal(log_header(log, 0, "x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    assert_string_equal(log_header(log, 0, "x-aws-ec2-metadata-token"), "");
    assert_string_equal(log_field(log, 1, "path"), "/latest/meta-data/iam/security-credentials/");
    assert_string_equal(
            log_field(log, 2, "path"), "/latest/meta-data/iam/security-credentials/logsift-role");
    for (size_t i = 1; i < 3; i++) {
        assert_string_equal(log_field(log, i, "method"), "GET");
        tu_assert_contains(log_header(log, i, "x-aws-ec2-metadata-token"), "imds-token-");
    }
    json_decref(log);
}

static void test_imds_refreshes_before_expiry_reusing_its_session_token(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;
    size_t n_puts = 0;

    use_imds(fx);
    tu_server_config(&srv, "{\"expiration\": \"2024-01-15T13:00:00Z\"}");
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    fx->env.now_s = 1705323600 - 20 * 60; /* 20 minutes left: cached */
    get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    tu_server_config(&srv, "{\"expiration\": \"2024-01-15T19:00:00Z\"}");
    fx->env.now_s = 1705323600 - 13 * 60; /* 13 minutes left: refreshed */
    get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0002");
    assert_int_equal(c.expires_s, 1705345200);
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 5);
    for (size_t i = 0; i < json_array_size(log); i++)
        n_puts += strcmp(log_field(log, i, "method"), "PUT") == 0;
    assert_int_equal(n_puts, 1); /* the session token lasts 6 hours */
    json_decref(log);
}

static void test_imds_outage_keeps_credentials_until_the_mandatory_window(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    use_imds(fx);
    tu_server_config(&srv, "{\"expiration\": \"2024-01-15T13:00:00Z\"}");
    first_get_ok(fx, &c);
    tu_server_config(&srv, "{\"imds_creds_status\": 500}");
    fx->env.now_s = 1705323600 - 13 * 60; /* advisory: the old credentials stay */
    get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    fx->env.now_s = 1705323600 - 8 * 60; /* mandatory: the outage is an error */
    lsf_err_clear(&err);
    assert_int_equal(aws_creds_provider_get(fx->prov, &c, &err), LSF_E_TRANSIENT);
    tu_assert_contains(err.msg,
            "EC2 instance metadata (role logsift-role) no longer provides "
            "credentials");
    tu_assert_contains(err.msg, "with HTTP 500");
}

static void test_imds_session_token_is_fetched_again_after_a_401(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_imds(fx);
    first_get_ok(fx, &c);
    tu_server_config(&srv, "{\"imds_revoke_tokens\": true}");
    aws_creds_provider_expire(fx->prov);
    get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0002");
    log = tu_server_log(&srv);
    /* PUT GET GET | GET (401) PUT GET GET */
    assert_int_equal(json_array_size(log), 7);
    assert_string_equal(log_field(log, 4, "method"), "PUT");
    assert_string_not_equal(log_header(log, 3, "x-aws-ec2-metadata-token"),
            log_header(log, 5, "x-aws-ec2-metadata-token"));
    json_decref(log);
}

static void test_imds_falls_back_to_v1_only_when_allowed(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;
    json_t *log;

    use_imds(fx);
    tu_server_config(&srv, "{\"imds_token_status\": 404}");
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 3);
    assert_string_equal(log_header(log, 1, "x-aws-ec2-metadata-token"), "");
    json_decref(log);

    aws_creds_provider_free(fx->prov);
    aws_config_free(fx->cfg);
    tu_env_set(&fx->env, "AWS_EC2_METADATA_V1_DISABLED", "true");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "gave no IMDSv2 token and IMDSv1 is disabled");
}

static void test_imds_credentials_inside_the_refresh_window_are_stretched(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;

    use_imds(fx);
    tu_server_config(&srv, "{\"expiration\": \"2024-01-15T12:05:00Z\"}");
    fx->env.rand01 = 0.5;
    first_get_ok(fx, &c);
    /* now + 15 min + 2 min + 0.5 * 8 min */
    assert_int_equal(c.expires_s, 1705320000 + 900 + 120 + 240);
    tu_assert_contains(fx->env.debug, "expire soon");
}

static void test_imds_error_document_means_no_credentials(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    use_imds(fx);
    tu_server_config(&srv,
            "{\"imds_body\": \"{\\\"Code\\\": \\\"AssumeRoleUnauthorizedAccess\\\","
            " \\\"Message\\\": \\\"EC2 cannot assume the role\\\"}\"}");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "no AWS credentials found");
    tu_assert_contains(err.msg, "credential document has no AccessKeyId");
}

static void test_unreachable_imds_ends_the_chain_with_a_reason(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_EC2_METADATA_DISABLED", NULL);
    tu_env_set(&fx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg,
            "EC2 instance metadata (http://127.0.0.1:1: EC2 instance "
            "metadata http://127.0.0.1:1/latest/");
}

/* ---- container ------------------------------------------------------------------------------ */

static void use_container(struct fx *fx)
{
    char uri[128];

    snprintf(uri, sizeof(uri), "%s/container/v2/credentials?id=7", srv.base);
    tu_env_set(&fx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
}

static void test_container_full_uri_on_loopback_sends_the_token_file(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_container(fx);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored: the file wins");
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            tu_dir_write(&fx->dir, "token", "Bearer test-container-token\n", false));
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIACONT0001");
    assert_string_equal(c.session_token, "FakeSessionToken+EXAMPLE/=");
    tu_assert_contains(c.source, "container credentials http://127.0.0.1:");
    tu_assert_absent(c.source, "id=7");
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 1);
    assert_string_equal(log_field(log, 0, "path"), "/container/v2/credentials?id=7");
    assert_string_equal(log_header(log, 0, "authorization"), "Bearer test-container-token");
    assert_string_equal(log_header(log, 0, "accept"), "application/json");
    json_decref(log);
}

static void test_container_retries_5xx_one_second_apart(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;

    use_container(fx);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer test-container-token");
    tu_server_config(&srv, "{\"container_fail_times\": 2}");
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIACONT0001");
    assert_int_equal(fx->env.slept_ms, 2000);
}

static void test_container_refused_token_is_an_auth_error(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    use_container(fx);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-token-value");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_AUTH);
    tu_assert_contains(err.msg, "HTTP 403 (after 3 attempts)");
    tu_assert_absent(err.msg, "wrong-token-value");
}

static void test_container_full_uri_must_be_https_or_loopback(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    tu_env_set(&fx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://203.0.113.9/creds");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "must be https or point at a loopback address");
}

static void test_container_token_with_a_line_break_is_refused(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;

    use_container(fx);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer a\r\nX-Injected: 1");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_USAGE);
    tu_assert_contains(err.msg, "contains a line break");
    tu_assert_absent(err.msg, "X-Injected");
}

/* ---- web identity --------------------------------------------------------------------------- */

static void use_web_identity(struct fx *fx, const char *jwt)
{
    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_STS", srv.base);
    tu_env_set(&fx->env, "AWS_ROLE_ARN", ROLE_ARN);
    tu_env_set(&fx->env, "AWS_WEB_IDENTITY_TOKEN_FILE", tu_dir_write(&fx->dir, "jwt", jwt, false));
}

static void test_web_identity_exchanges_the_token_file_at_sts(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_web_identity(fx, JWT "\n");
    tu_env_set(&fx->env, "AWS_ROLE_SESSION_NAME", "cron run@1");
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIASTS0001");
    assert_string_equal(c.secret_access_key, "fakeSecretKey/ABCDEFGHIJKLMNOPQRSTUVWXYZ01");
    assert_string_equal(c.session_token, "FakeSessionToken+EXAMPLE/=");
    assert_int_equal(c.expires_s, 1893456000);
    tu_assert_contains(c.source, "web identity role " ROLE_ARN);
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 1);
    assert_string_equal(log_field(log, 0, "method"), "POST");
    assert_string_equal(
            log_header(log, 0, "content-type"), "application/x-www-form-urlencoded; charset=utf-8");
    assert_string_equal(log_header(log, 0, "authorization"), ""); /* the call is unsigned */
    assert_string_equal(log_field(log, 0, "body"),
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Flogsift-reader"
            "&RoleSessionName=cron%20run%401&WebIdentityToken=" JWT);
    json_decref(log);
}

static void test_web_identity_rereads_the_token_file_on_refresh(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_web_identity(fx, "first-jwt");
    tu_server_config(&srv, "{\"expiration\": \"2024-01-15T13:00:00Z\"}");
    first_get_ok(fx, &c);
    tu_dir_write(&fx->dir, "jwt", "rotated-jwt", false);
    fx->env.now_s = 1705323600 - 5 * 60;
    get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIASTS0002");
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 2);
    tu_assert_contains(log_field(log, 0, "body"), "WebIdentityToken=first-jwt");
    tu_assert_contains(log_field(log, 0, "body"), "RoleSessionName=logsift-session-1705320000");
    tu_assert_contains(log_field(log, 1, "body"), "WebIdentityToken=rotated-jwt");
    json_decref(log);
}

static void test_rejected_web_identity_is_an_auth_error_without_the_token(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;
    json_t *log;

    use_web_identity(fx, JWT);
    tu_server_config(&srv, "{\"sts_error\": \"InvalidIdentityToken\"}");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_AUTH);
    tu_assert_contains(err.msg,
            "sts AssumeRoleWithWebIdentity " ROLE_ARN ": HTTP 400 "
            "InvalidIdentityToken: Token rejected (request id req-");
    tu_assert_absent(err.msg, JWT);
    tu_assert_absent(fx->env.debug, JWT);
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 1); /* not retried */
    json_decref(log);
}

static void test_idp_communication_errors_are_retried(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    json_t *log;

    use_web_identity(fx, JWT);
    tu_server_config(&srv, "{\"sts_error\": \"IDPCommunicationError\", \"sts_fail_times\": 2}");
    fx->env.rand01 = 0.25;
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIASTS0001");
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 3);
    json_decref(log);
    assert_int_equal(fx->env.slept_ms, 250 + 500); /* full jitter: 0.25 * 1 s, 0.25 * 2 s */
}

static void test_aws_ca_bundle_is_the_only_trust_store_for_https(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    struct lsf_err err;
    char https[96];

    use_web_identity(fx, JWT);
    snprintf(https, sizeof(https), "https://127.0.0.1:%d", srv.port);
    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_STS", https);
    tu_env_set(&fx->env, "AWS_CA_BUNDLE", "/nonexistent/ca.pem");
    assert_int_equal(first_get(fx, &c, &err), LSF_E_TRANSIENT);
    tu_assert_contains(err.msg, "STS https://127.0.0.1:");
    tu_assert_contains(err.msg, "CA cert");
}

static void test_web_identity_settings_can_come_from_the_profile(void **state)
{
    struct fx *fx = *state;
    struct aws_creds c;
    char config[600];

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_STS", srv.base);
    snprintf(config, sizeof(config),
            "[default]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\n",
            ROLE_ARN, tu_dir_write(&fx->dir, "jwt", JWT, false));
    tu_env_set(&fx->env, "AWS_CONFIG_FILE", tu_dir_write(&fx->dir, "config", config, false));
    first_get_ok(fx, &c);
    assert_string_equal(c.access_key_id, "ASIASTS0001");
}

/* ---- threads -------------------------------------------------------------------------------- */

struct getter {
    struct aws_creds_provider *prov;
    struct aws_creds creds;
    enum lsf_code rc;
};

static void *get_in_thread(void *arg)
{
    struct getter *g = arg;
    struct lsf_err err;

    lsf_err_clear(&err);
    g->rc = aws_creds_provider_get(g->prov, &g->creds, &err);
    return NULL;
}

static void test_concurrent_first_gets_fetch_once(void **state)
{
    struct fx *fx = *state;
    struct lsf_err err;
    struct getter g[8];
    pthread_t th[8];
    json_t *log;

    use_container(fx);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer test-container-token");
    fx->cfg = tu_config(&fx->env, NULL);
    lsf_err_clear(&err);
    assert_int_equal(aws_creds_provider_new(fx->cfg, &fx->prov, &err), LSF_OK);
    for (int i = 0; i < 8; i++) {
        g[i].prov = fx->prov;
        assert_int_equal(pthread_create(&th[i], NULL, get_in_thread, &g[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(g[i].rc, LSF_OK);
        assert_string_equal(g[i].creds.access_key_id, "ASIACONT0001");
    }
    log = tu_server_log(&srv);
    assert_int_equal(json_array_size(log), 1);
    json_decref(log);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
            T(test_imds_v2_puts_a_token_then_reads_role_and_credentials_with_it),
            T(test_imds_refreshes_before_expiry_reusing_its_session_token),
            T(test_imds_outage_keeps_credentials_until_the_mandatory_window),
            T(test_imds_session_token_is_fetched_again_after_a_401),
            T(test_imds_falls_back_to_v1_only_when_allowed),
            T(test_imds_credentials_inside_the_refresh_window_are_stretched),
            T(test_imds_error_document_means_no_credentials),
            T(test_unreachable_imds_ends_the_chain_with_a_reason),
            T(test_container_full_uri_on_loopback_sends_the_token_file),
            T(test_container_retries_5xx_one_second_apart),
            T(test_container_refused_token_is_an_auth_error),
            T(test_container_full_uri_must_be_https_or_loopback),
            T(test_container_token_with_a_line_break_is_refused),
            T(test_web_identity_exchanges_the_token_file_at_sts),
            T(test_web_identity_rereads_the_token_file_on_refresh),
            T(test_rejected_web_identity_is_an_auth_error_without_the_token),
            T(test_idp_communication_errors_are_retried),
            T(test_aws_ca_bundle_is_the_only_trust_store_for_https),
        T(test_web_identity_settings_can_come_from_the_profile),
            T(test_concurrent_first_gets_fetch_once),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
