/*
 * aws_test_util: see aws_test_util.h. The fake server is started with posix_spawn and talks to
 * the test through two pipes: its stdout gives the port, and closing its stdin (or the test
 * dying) stops it, so no server outlives its test.
 */
#include "aws_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws_int.h"

#ifndef LSF_PYTHON3
#define LSF_PYTHON3 "python3"
#endif
#define FAKE_SERVER LSF_SOURCE_DIR "/tests/unit/aws/fake_metadata.py"

extern char **environ;

static const char *env_get(void *ctx, const char *name)
{
    struct tu_env *env = ctx;

    for (size_t i = 0; i < env->n; i++) {
        if (strcmp(env->names[i], name) == 0)
            return env->values[i];
    }
    return NULL;
}

static int64_t env_now(void *ctx)
{
    return ((struct tu_env *)ctx)->now_s;
}

static double env_rand(void *ctx)
{
    return ((struct tu_env *)ctx)->rand01;
}

static void env_sleep(void *ctx, unsigned ms)
{
    ((struct tu_env *)ctx)->slept_ms += ms;
}

static void env_debug(void *ctx, const char *line)
{
    struct tu_env *env = ctx;
    size_t used = strlen(env->debug);

    snprintf(env->debug + used, sizeof(env->debug) - used, "%s\n", line);
}

void tu_env_set(struct tu_env *env, const char *name, const char *value)
{
    for (size_t i = 0; i < env->n; i++) {
        if (strcmp(env->names[i], name) == 0) {
            free(env->values[i]);
            if (value != NULL) {
                env->values[i] = strdup(value);
                return;
            }
            free(env->names[i]);
            env->n--;
            env->names[i] = env->names[env->n];
            env->values[i] = env->values[env->n];
            return;
        }
    }
    if (value == NULL)
        return;
    assert_true(env->n < TU_ENV_MAX);
    env->names[env->n] = strdup(name);
    env->values[env->n] = strdup(value);
    env->n++;
}

void tu_env_init(struct tu_env *env, const char *home)
{
    memset(env, 0, sizeof(*env));
    env->now_s = 1705320000; /* 2024-01-15T12:00:00Z */
    env->rand01 = 0.5;
    tu_env_set(env, "HOME", home);
    tu_env_set(env, "AWS_EC2_METADATA_DISABLED", "true");
}

void tu_env_cleanup(struct tu_env *env)
{
    for (size_t i = 0; i < env->n; i++) {
        free(env->names[i]);
        free(env->values[i]);
    }
    env->n = 0;
}

struct aws_hooks tu_hooks(struct tu_env *env)
{
    struct aws_hooks h = {env_get, env_now, env_rand, env_sleep, env_debug, env};

    return h;
}

struct aws_config *tu_config(struct tu_env *env, const char *profile)
{
    struct aws_hooks hooks = tu_hooks(env);
    struct aws_config_opts opts = {profile, NULL, &hooks};
    struct aws_config *cfg = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    if (aws_config_load(&opts, &cfg, &err) != LSF_OK)
        fail_msg("aws_config_load: %s", err.msg);
    return cfg;
}

void tu_dir_make(struct tu_dir *dir)
{
    memset(dir, 0, sizeof(*dir));
    snprintf(dir->path, sizeof(dir->path), "/tmp/lsf-aws-test-XXXXXX");
    assert_non_null(mkdtemp(dir->path));
}

const char *tu_dir_write(struct tu_dir *dir, const char *name, const char *text, bool is_exec)
{
    char *path = NULL;
    FILE *fp;

    for (size_t i = 0; i < dir->n_files; i++) {
        if (strcmp(strrchr(dir->files[i], '/') + 1, name) == 0)
            path = dir->files[i];
    }
    if (path == NULL) {
        char full[sizeof(dir->files[0])];
        assert_true(dir->n_files < 16);
        snprintf(full, sizeof(full), "%s/%s", dir->path, name);
        path = dir->files[dir->n_files++];
        memcpy(path, full, sizeof(full));
    }
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(path, is_exec ? 0755 : 0600);
    return path;
}

void tu_dir_remove(struct tu_dir *dir)
{
    for (size_t i = 0; i < dir->n_files; i++)
        unlink(dir->files[i]);
    rmdir(dir->path);
}

void tu_server_start(struct tu_server *srv)
{
    int in_pipe[2];
    int out_pipe[2];
    posix_spawn_file_actions_t fa;
    char python[] = LSF_PYTHON3;
    char script[] = FAKE_SERVER;
    char *argv[] = {python, script, NULL};
    char line[64] = "";
    FILE *out;

    assert_int_equal(pipe(in_pipe), 0);
    assert_int_equal(pipe(out_pipe), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_addclose(&fa, in_pipe[1]);
    posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
    assert_int_equal(posix_spawnp(&srv->pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    srv->stdin_fd = in_pipe[1];
    out = fdopen(out_pipe[0], "r");
    assert_non_null(out);
    if (fgets(line, sizeof(line), out) == NULL || sscanf(line, "PORT %d", &srv->port) != 1)
        fail_msg("fake_metadata.py did not start (got \"%s\")", line);
    fclose(out);
    snprintf(srv->base, sizeof(srv->base), "http://127.0.0.1:%d", srv->port);
}

void tu_server_stop(struct tu_server *srv)
{
    int status;

    close(srv->stdin_fd);
    kill(srv->pid, SIGTERM);
    while (waitpid(srv->pid, &status, 0) < 0 && errno == EINTR) {
    }
}

static json_t *server_call(
        struct tu_server *srv, const char *method, const char *path, const char *body)
{
    char url[128];
    struct aws_http_req req = {.method = method,
            .url = url,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .timeout_ms = 5000,
            .max_body = 1 << 20,
            .what = "fake server",
            .no_proxy = true};
    struct aws_http_resp resp;
    struct lsf_err err;
    json_t *out;

    snprintf(url, sizeof(url), "%s%s", srv->base, path);
    lsf_err_clear(&err);
    if (aws_http_perform(&req, &resp, &err) != LSF_OK || resp.status != 200)
        fail_msg("fake server %s %s: %s (HTTP %ld)", method, path, err.msg, resp.status);
    out = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
    lsf_buf_cleanup(&resp.body);
    assert_non_null(out);
    return out;
}

void tu_server_config(struct tu_server *srv, const char *json)
{
    json_decref(server_call(srv, "POST", "/__config", json));
}

void tu_server_reset(struct tu_server *srv)
{
    json_decref(server_call(srv, "POST", "/__reset", "{}"));
}

json_t *tu_server_log(struct tu_server *srv)
{
    return server_call(srv, "GET", "/__log", NULL);
}

void tu_assert_absent(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        fail_msg("\"%s\" must not appear in \"%s\"", needle, haystack);
}

void tu_assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" not in \"%s\"", needle, haystack);
}
