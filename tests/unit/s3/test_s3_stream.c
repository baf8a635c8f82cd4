/*
 * aws_http_client streaming with a bounded buffer: a 24 MiB body read through a 64 KiB ring
 * arrives whole and in order while the transfer pauses and resumes many times (the reader
 * starts late, so the ring fills first), and a reader closed half way stops its transfer
 * cleanly. The server is python3's http.server on 127.0.0.1 (it ignores the signature), in
 * a temporary folder laid out as bucket/key; skipped (77) when python3 cannot be started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws.h"
#include "aws_http_client.h"

#define BODY_LEN ((size_t)24 << 20)

static char g_dir[] = "/tmp/lsf-s3-stream-XXXXXX";
static char g_url[64];
static FILE *g_server;
static long g_server_pid;

static const char *fake_env(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
        return "AKIDEXAMPLE";
    if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    if (strcmp(name, "AWS_REGION") == 0)
        return "us-east-1";
    if (strcmp(name, "AWS_CONFIG_FILE") == 0 || strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0)
        return "/nonexistent/logsift-test";
    if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
        return "true";
    return NULL;
}

static unsigned char byte_at(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

static int setup(void **state)
{
    char path[256];
    char cmd[512];
    char line[256];
    const char *at;
    FILE *f;
    int port = 0;

    (void)state;
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/bk", g_dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/bk/big.bin", g_dir);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    for (size_t i = 0; i < BODY_LEN; i++)
        fputc(byte_at(i), f);
    fclose(f);
    /* The shell prints its pid, then becomes the server (exec keeps the pid). */
    snprintf(cmd, sizeof(cmd),
            "cd %s && echo $$ && exec python3 -u -m http.server --bind 127.0.0.1 0 2>&1", g_dir);
    g_server = popen(cmd, "r");
    if (g_server == NULL || fgets(line, sizeof(line), g_server) == NULL ||
            sscanf(line, "%ld", &g_server_pid) != 1 || fgets(line, sizeof(line), g_server) == NULL ||
            (at = strstr(line, "port ")) == NULL || sscanf(at, "port %d", &port) != 1) {
        fprintf(stderr, "test_s3_stream: cannot start python3 -m http.server; skipped\n");
        exit(77);
    }
    snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d", port);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    if (g_server_pid > 0)
        kill((pid_t)g_server_pid, SIGTERM);
    if (g_server)
        pclose(g_server);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct client_fixture {
    struct aws_hooks hooks;
    struct aws_config *cfg;
    struct aws_creds_provider *creds;
    struct aws_client *client;
    struct aws_endpoint ep;
};

static void client_open(struct client_fixture *fx)
{
    struct aws_config_opts opts = {NULL, NULL, &fx->hooks};
    struct aws_client_opts copts;
    struct lsf_err err;

    memset(fx, 0, sizeof(*fx));
    fx->hooks.getenv = fake_env;
    lsf_err_clear(&err);
    assert_int_equal(aws_global_init(&err), LSF_OK);
    assert_int_equal(aws_config_load(&opts, &fx->cfg, &err), LSF_OK);
    assert_int_equal(aws_endpoint_resolve(fx->cfg, AWS_SVC_S3, g_url, &fx->ep, &err), LSF_OK);
    assert_int_equal(aws_creds_provider_new(fx->cfg, &fx->creds, &err), LSF_OK);
    memset(&copts, 0, sizeof(copts));
    copts.cfg = fx->cfg;
    copts.creds = fx->creds;
    copts.max_streams = 2;
    assert_int_equal(aws_client_new(&copts, &fx->client, &err), LSF_OK);
}

static void client_close(struct client_fixture *fx)
{
    aws_client_free(fx->client);
    aws_creds_provider_free(fx->creds);
    aws_config_free(fx->cfg);
    aws_global_cleanup();
}

static void open_big(struct client_fixture *fx, struct lsf_reader *rd)
{
    struct aws_call call = {&fx->ep, "GET", fx->ep.host, "/bk/big.bin", NULL, 0,
            AWS_PROTO_REST_XML, "GetObject", "s3://bk/big.bin"};
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(aws_client_stream(fx->client, &call, 64 << 10, rd, &err), LSF_OK);
}

static void test_body_larger_than_the_ring_arrives_whole_and_in_order(void **state)
{
    struct client_fixture fx;
    struct lsf_reader rd;
    unsigned char *buf = malloc(100000);
    size_t total = 0;
    struct timespec late = {0, 300 * 1000 * 1000};

    (void)state;
    assert_non_null(buf);
    client_open(&fx);
    open_big(&fx, &rd);
    nanosleep(&late, NULL); /* the ring fills and the transfer pauses */
    for (;;) {
        size_t n = 0;
        struct lsf_err err;

        lsf_err_clear(&err);
        assert_int_equal(lsf_reader_read(&rd, buf, 100000, &n, &err), LSF_OK);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != byte_at(total + i))
                fail_msg("byte %zu differs", total + i);
        }
        total += n;
    }
    assert_int_equal(total, BODY_LEN);
    lsf_reader_close(&rd);
    client_close(&fx);
    free(buf);
}

static void test_reader_closed_half_way_stops_its_transfer(void **state)
{
    struct client_fixture fx;
    struct lsf_reader rd;
    unsigned char buf[4096];
    size_t n = 0;
    struct lsf_err err;

    (void)state;
    client_open(&fx);
    open_big(&fx, &rd);
    lsf_err_clear(&err);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_OK);
    assert_true(n > 0);
    lsf_reader_close(&rd);
    /* A second stream on the same client still works after the abandoned one. */
    open_big(&fx, &rd);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_OK);
    assert_int_equal(buf[0], byte_at(0));
    lsf_reader_close(&rd);
    client_close(&fx);
}

static void test_missing_object_is_an_input_error_naming_it(void **state)
{
    struct client_fixture fx;
    struct lsf_reader rd;
    unsigned char buf[64];
    size_t n = 0;
    struct lsf_err err;
    struct aws_call call;

    (void)state;
    client_open(&fx);
    call = (struct aws_call){&fx.ep, "GET", fx.ep.host, "/bk/none.bin", NULL, 0,
            AWS_PROTO_REST_XML, "GetObject", "s3://bk/none.bin"};
    lsf_err_clear(&err);
    assert_int_equal(aws_client_stream(fx.client, &call, 0, &rd, &err), LSF_OK);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "s3://bk/none.bin"));
    assert_non_null(strstr(err.msg, "404"));
    lsf_reader_close(&rd);
    client_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_larger_than_the_ring_arrives_whole_and_in_order),
        cmocka_unit_test(test_reader_closed_half_way_stops_its_transfer),
        cmocka_unit_test(test_missing_object_is_an_input_error_naming_it),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
