/*
 * Secrets never reach any output. Every test here plants one known secret access key, session
 * token, web identity token and container token where a careless error path would echo them:
 * malformed lines of the credentials file, half-configured keys, credential_process output that
 * is not JSON, IMDS, container and STS answers that fail in every way, signing errors, and
 * successful resolutions with debug tracing on. Each error message and the whole debug trace
 * must then be free of all four; the access key id may appear.
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

#define SECRET    "SeCrEt0wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLE"
#define TOKEN     "ToKeN0IQoJb3JpZ2luX2VjEXAMPLESESSION"
#define JWT       "JwT0eyJhbGciOiJSUzI1NiJ9SECRETPAYLOAD"
#define CONTAINER "CoNtAiNeR0Bearer-secret-value"

static struct tu_server srv;

struct fx {
    struct tu_dir dir;
    struct tu_env env;
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
    tu_server_config(&srv, "{\"secret\": \"" SECRET "\", \"token\": \"" TOKEN "\"}");
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

static void assert_clean(const char *text)
{
    tu_assert_absent(text, SECRET);
    tu_assert_absent(text, TOKEN);
    tu_assert_absent(text, JWT);
    tu_assert_absent(text, CONTAINER);
    /* Fragments too: a message cut in the middle of a secret must not keep its start. */
    tu_assert_absent(text, "SeCrEt0");
    tu_assert_absent(text, "ToKeN0");
    tu_assert_absent(text, "JwT0");
    tu_assert_absent(text, "CoNtAiNeR0");
}

/*
 * Load the config and get credentials; the outcome must be want. The error message and debug
 * trace are checked for secrets whatever happens; a config that fails to load counts as the
 * outcome too.
 */
static void resolve_expect(struct fx *fx, enum lsf_code want)
{
    struct aws_hooks hooks = tu_hooks(&fx->env);
    struct aws_config_opts opts = {NULL, NULL, &hooks};
    struct aws_config *cfg = NULL;
    struct aws_creds_provider *prov = NULL;
    struct aws_creds creds;
    struct lsf_err err;
    enum lsf_code rc;

    lsf_err_clear(&err);
    rc = aws_config_load(&opts, &cfg, &err);
    if (rc == LSF_OK)
        rc = aws_creds_provider_new(cfg, &prov, &err);
    if (rc == LSF_OK)
        rc = aws_creds_provider_get(prov, &creds, &err);
    if (rc != want)
        fail_msg("got %s (%s), want %s", lsf_code_name(rc), err.msg, lsf_code_name(want));
    assert_clean(err.msg);
    assert_clean(fx->env.debug);
    if (rc == LSF_OK) {
        /* The secret is where it belongs, and the source names only the access key id. */
        assert_true(strstr(creds.secret_access_key, "SeCrEt0") != NULL ||
                strcmp(creds.secret_access_key, "fine") == 0);
        assert_clean(creds.source);
        tu_assert_contains(fx->env.debug, creds.access_key_id);
    }
    aws_creds_provider_free(prov);
    aws_config_free(cfg);
}

static void credentials_file(struct fx *fx, const char *text)
{
    tu_env_set(&fx->env, "AWS_SHARED_CREDENTIALS_FILE",
            tu_dir_write(&fx->dir, "credentials", text, false));
}

static void test_malformed_credentials_files_never_quote_their_lines(void **state)
{
    struct fx *fx = *state;

    credentials_file(fx, "[default]\n" SECRET "\n");
    resolve_expect(fx, LSF_E_USAGE);
    credentials_file(fx, "aws_secret_access_key = " SECRET "\n");
    resolve_expect(fx, LSF_E_USAGE);
    credentials_file(fx,
            "[default]\naws_secret_access_key = " SECRET "\n"
            "aws_secret_access_key = " SECRET "\n");
    resolve_expect(fx, LSF_E_USAGE);
    credentials_file(fx, "[default]\naws_secret_access_key = x\ns3 =\n  " SECRET "\n");
    resolve_expect(fx, LSF_E_USAGE);
    credentials_file(fx, "[" SECRET "\n");
    resolve_expect(fx, LSF_E_USAGE);
}

static void test_half_configured_or_oversized_keys_never_show_the_secret(void **state)
{
    struct fx *fx = *state;
    char big[400];

    credentials_file(fx,
            "[default]\naws_secret_access_key = " SECRET "\n"
            "aws_session_token = " TOKEN "\n");
    resolve_expect(fx, LSF_E_USAGE);
    credentials_file(fx, "[other]\n");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", SECRET);
    tu_env_set(&fx->env, "AWS_SESSION_TOKEN", TOKEN);
    resolve_expect(fx, LSF_E_USAGE);
    snprintf(big, sizeof(big), "%s%s%s%s", SECRET, SECRET, SECRET, SECRET);
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAEXAMPLE");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", big);
    resolve_expect(fx, LSF_E_USAGE);
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", SECRET);
    tu_env_set(&fx->env, "AWS_CREDENTIAL_EXPIRATION", TOKEN);
    resolve_expect(fx, LSF_E_USAGE);
}

static void test_bad_credential_process_output_is_never_quoted(void **state)
{
    struct fx *fx = *state;
    /* Parenthesised: each element is one string made of several literals. */
    static const char *const outputs[] = {
            ("{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLE\", \"SecretAccessKey\": " SECRET "}"),
            ("{\"Version\": 2, \"AccessKeyId\": \"AKIAEXAMPLE\", \"SecretAccessKey\": \"" SECRET
             "\"}"),
            ("{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN
             "\"}"),
            ("{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLE\", \"SecretAccessKey\": \"" SECRET
             "\", \"Expiration\": \"" TOKEN "\"}"),
            (SECRET " " TOKEN),
    };

    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        char config[1024];
        const char *out = tu_dir_write(&fx->dir, "out.json", outputs[i], false);
        snprintf(config, sizeof(config), "[default]\ncredential_process = cat %s\n", out);
        tu_env_set(&fx->env, "AWS_CONFIG_FILE", tu_dir_write(&fx->dir, "config", config, false));
        resolve_expect(fx, LSF_E_USAGE);
    }
    tu_env_set(&fx->env, "AWS_CONFIG_FILE",
            tu_dir_write(&fx->dir, "config",
                    "[default]\ncredential_process = sh -c 'echo " SECRET "; exit 1'\n", false));
    resolve_expect(fx, LSF_E_USAGE);
}

static void test_failing_metadata_endpoints_never_echo_what_they_sent(void **state)
{
    struct fx *fx = *state;
    char uri[128];

    /* IMDS handing out a broken document that holds the secret. */
    tu_env_set(&fx->env, "AWS_EC2_METADATA_DISABLED", NULL);
    tu_env_set(&fx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base);
    tu_server_config(&srv,
            "{\"imds_body\": \"{\\\"AccessKeyId\\\": \\\"ASIAX\\\", "
            "\\\"SecretAccessKey\\\": " SECRET "}\"}");
    resolve_expect(fx, LSF_E_USAGE);
    tu_server_config(&srv,
            "{\"imds_body\": \"{\\\"AccessKeyId\\\": \\\"ASIAX\\\", "
            "\\\"SecretAccessKey\\\": \\\"" SECRET "\\\", \\\"Token\\\": \\\"" TOKEN "\\\"}\"}");
    resolve_expect(fx, LSF_E_USAGE); /* no Expiration */

    /* The container endpoint refusing our token, then answering garbage. */
    tu_env_set(&fx->env, "AWS_EC2_METADATA_DISABLED", "true");
    snprintf(uri, sizeof(uri), "%s/container/creds", srv.base);
    tu_env_set(&fx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER);
    resolve_expect(fx, LSF_E_AUTH);
    tu_server_config(&srv, "{\"container_auth\": null, \"secret\": 17}");
    resolve_expect(fx, LSF_E_TRANSIENT);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bad\n" CONTAINER);
    resolve_expect(fx, LSF_E_USAGE);
}

static void test_rejected_web_identity_never_shows_the_jwt(void **state)
{
    struct fx *fx = *state;

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_STS", srv.base);
    tu_env_set(&fx->env, "AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/r");
    tu_env_set(&fx->env, "AWS_WEB_IDENTITY_TOKEN_FILE", tu_dir_write(&fx->dir, "jwt", JWT, false));
    tu_server_config(&srv, "{\"sts_error\": \"InvalidIdentityToken\"}");
    resolve_expect(fx, LSF_E_AUTH);
    tu_server_config(&srv, "{\"sts_error\": \"IDPCommunicationError\"}");
    resolve_expect(fx, LSF_E_TRANSIENT);
    tu_server_config(&srv, "{\"sts_error\": null, \"expiration\": \"soon\"}");
    resolve_expect(fx, LSF_E_TRANSIENT); /* 200 without a readable Expiration */
}

static void test_successful_resolutions_trace_only_the_access_key_id(void **state)
{
    struct fx *fx = *state;
    char uri[128];

    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", SECRET);
    tu_env_set(&fx->env, "AWS_SESSION_TOKEN", TOKEN);
    resolve_expect(fx, LSF_OK);
    tu_assert_contains(fx->env.debug, "AKIAENVEXAMPLE");
    tu_env_set(&fx->env, "AWS_ACCESS_KEY_ID", NULL);
    tu_env_set(&fx->env, "AWS_SECRET_ACCESS_KEY", NULL);
    tu_env_set(&fx->env, "AWS_SESSION_TOKEN", NULL);

    credentials_file(fx,
            "[default]\naws_access_key_id = AKIAFILEEXAMPLE\n"
            "aws_secret_access_key = " SECRET "\naws_session_token = " TOKEN "\n");
    resolve_expect(fx, LSF_OK);
    credentials_file(fx, "[nothing]\n");

    snprintf(uri, sizeof(uri), "%s/container/creds", srv.base);
    tu_env_set(&fx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
    tu_env_set(&fx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer test-container-token");
    resolve_expect(fx, LSF_OK);
    tu_env_set(&fx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);

    tu_env_set(&fx->env, "AWS_EC2_METADATA_DISABLED", NULL);
    tu_env_set(&fx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.base);
    resolve_expect(fx, LSF_OK);

    tu_env_set(&fx->env, "AWS_ENDPOINT_URL_STS", srv.base);
    tu_env_set(&fx->env, "AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/r");
    tu_env_set(&fx->env, "AWS_WEB_IDENTITY_TOKEN_FILE", tu_dir_write(&fx->dir, "jwt", JWT, false));
    resolve_expect(fx, LSF_OK);
}

static void test_signing_errors_never_show_the_secret_or_token(void **state)
{
    struct aws_creds creds;
    struct aws_kv header = {"X-Bad", "a\nb"};
    struct aws_request req = {"GET", "h", "/", NULL, 0, &header, 1, NULL, 0, NULL};
    struct aws_signing sig = {&creds, "us-east-1", "s3", 1705320000};
    struct aws_signature out;
    struct lsf_err err;

    (void)state;
    memset(&creds, 0, sizeof(creds));
    strcpy(creds.access_key_id, "AKIAEXAMPLE");
    strcpy(creds.secret_access_key, SECRET);
    strcpy(creds.session_token, TOKEN);
    lsf_err_clear(&err);
    assert_int_equal(aws_sigv4_sign(&req, &sig, &out, &err), LSF_E_INTERNAL);
    assert_clean(err.msg);
    assert_clean(out.authorization);
    aws_creds_wipe(&creds);
    assert_int_equal(creds.secret_access_key[0], 0);
    assert_int_equal(creds.session_token[0], 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
            T(test_malformed_credentials_files_never_quote_their_lines),
            T(test_half_configured_or_oversized_keys_never_show_the_secret),
            T(test_bad_credential_process_output_is_never_quoted),
            T(test_failing_metadata_endpoints_never_echo_what_they_sent),
            T(test_rejected_web_identity_never_shows_the_jwt),
            T(test_successful_resolutions_trace_only_the_access_key_id),
            T(test_signing_errors_never_show_the_secret_or_token),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
