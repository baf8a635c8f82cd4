/*
 * Differential SigV4 test: botocore_sign.py signs random requests with botocore's SigV4Auth and
 * S3SigV4Auth at fixed times; aws_sigv4_sign must produce the same Authorization header (and
 * the same x-amz-content-sha256) for every one of them. It runs once per Python interpreter
 * that has botocore (the build's python3 and Debian's /usr/bin/python3, which may carry
 * different botocore versions).
 *
 * Exits 77, which ctest reports as skipped, with a message saying what to install, only when
 * no interpreter has botocore. LSF_BOTOCORE_SEED and LSF_BOTOCORE_COUNT pick other requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "aws.h"

#define SCRIPT LSF_SOURCE_DIR "/tests/unit/aws/botocore_sign.py"

/* Interpreters to try, ':'-separated, from CMake. */
#ifndef LSF_PYTHONS
#define LSF_PYTHONS "python3:/usr/bin/python3"
#endif

static char pythons[8][512];
static size_t n_pythons;

static bool has_botocore(const char *python)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "'%s' -c 'import botocore.auth' >/dev/null 2>&1", python);
    return system(cmd) == 0;
}

/* Keep the interpreters that have botocore, once each. */
static void find_pythons(void)
{
    char list[2048];
    char *save = NULL;

    snprintf(list, sizeof(list), "%s", LSF_PYTHONS);
    for (char *p = strtok_r(list, ":", &save); p != NULL && n_pythons < 8;
            p = strtok_r(NULL, ":", &save)) {
        bool seen = false;
        for (size_t i = 0; i < n_pythons; i++)
            seen |= strcmp(pythons[i], p) == 0;
        if (!seen && p[0] != '\0' && has_botocore(p))
            snprintf(pythons[n_pythons++], sizeof(pythons[0]), "%s", p);
    }
}

static json_t *run_script(const char *python, const char *seed, const char *count)
{
    char cmd[1024];
    json_error_t jerr;
    json_t *root;
    FILE *fp;

    snprintf(cmd, sizeof(cmd), "'%s' '%s' --seed %s --count %s", python, SCRIPT, seed, count);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    root = json_loadf(fp, 0, &jerr);
    assert_int_equal(pclose(fp), 0);
    if (root == NULL)
        fail_msg("%s: output is not JSON: %s", cmd, jerr.text);
    return root;
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    assert_true(json_is_string(v));
    return json_string_value(v);
}

static size_t kv_array(json_t *arr, struct aws_kv *out, size_t cap)
{
    size_t i;
    json_t *pair;

    assert_true(json_array_size(arr) <= cap);
    json_array_foreach(arr, i, pair)
    {
        out[i].name = json_string_value(json_array_get(pair, 0));
        out[i].value = json_string_value(json_array_get(pair, 1));
        assert_non_null(out[i].name);
        assert_non_null(out[i].value);
    }
    return json_array_size(arr);
}

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;

    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

/* Sign one case; on a mismatch print both canonical requests and fail. */
static void check_case(json_t *c, size_t index, const char *version)
{
    struct aws_kv query[16];
    struct aws_kv headers[16];
    unsigned char body[1024];
    struct aws_creds creds;
    struct aws_signature out;
    struct lsf_err err;
    bool is_unsigned = json_is_true(json_object_get(c, "unsigned"));
    struct aws_request req = {
            str(c, "method"),
            str(c, "host"),
            str(c, "path"),
            query,
            kv_array(json_object_get(c, "params"), query, 16),
            headers,
            kv_array(json_object_get(c, "headers"), headers, 16),
            body,
            unhex(str(c, "body_hex"), body, sizeof(body)),
            is_unsigned ? AWS_UNSIGNED_PAYLOAD : NULL,
    };
    struct aws_signing sig = {&creds, str(c, "region"), str(c, "service"),
            (int64_t)json_integer_value(json_object_get(c, "time"))};

    memset(&creds, 0, sizeof(creds));
    snprintf(creds.access_key_id, sizeof(creds.access_key_id), "%s", str(c, "access_key_id"));
    snprintf(creds.secret_access_key, sizeof(creds.secret_access_key), "%s",
            str(c, "secret_access_key"));
    snprintf(creds.session_token, sizeof(creds.session_token), "%s", str(c, "session_token"));
    lsf_err_clear(&err);
    if (aws_sigv4_sign(&req, &sig, &out, &err) != LSF_OK)
        fail_msg("case %zu: signing failed: %s", index, err.msg);
    if (strcmp(out.authorization, str(c, "authorization")) != 0 ||
            strcmp(out.content_sha256, str(c, "content_sha256")) != 0) {
        struct lsf_buf cr;
        lsf_buf_init(&cr, 1 << 20);
        if (aws_sigv4_canonical_request(&req, &sig, &cr, &err) == LSF_OK)
            print_error("logsift canonical request:\n%s\n", (const char *)cr.data);
        print_error("botocore %s canonical request:\n%s\n", version, str(c, "canonical_request"));
        lsf_buf_cleanup(&cr);
        fail_msg("case %zu differs from botocore %s:\n  ours   %s [%s]\n  theirs %s [%s]", index,
                version, out.authorization, out.content_sha256, str(c, "authorization"),
                str(c, "content_sha256"));
    }
}

static void test_signatures_match_botocore_on_random_requests(void **state)
{
    const char *seed = getenv("LSF_BOTOCORE_SEED") ? getenv("LSF_BOTOCORE_SEED") : "20240115";
    const char *count = getenv("LSF_BOTOCORE_COUNT") ? getenv("LSF_BOTOCORE_COUNT") : "1000";

    (void)state;
    for (size_t p = 0; p < n_pythons; p++) {
        json_t *root = run_script(pythons[p], seed, count);
        json_t *cases = json_object_get(root, "cases");
        const char *version = str(root, "botocore");
        json_t *c;
        size_t i;

        assert_true(json_array_size(cases) > 0);
        json_array_foreach(cases, i, c)
        {
            check_case(c, i, version);
        }
        printf("%zu requests signed identically to botocore %s (%s, seed %s)\n",
                json_array_size(cases), version, pythons[p], seed);
        json_decref(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_signatures_match_botocore_on_random_requests),
    };

    find_pythons();
    if (n_pythons == 0) {
        printf("SKIPPED: no python3 with botocore (tried %s); install it with "
               "`apt-get install python3-botocore` (tests/install-deps.sh does)\n",
                LSF_PYTHONS);
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
