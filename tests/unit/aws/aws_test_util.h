/*
 * Helpers shared by the fetch/aws tests: a fake environment, clock, random source, sleep and
 * debug sink behind struct aws_hooks; temporary folders with files in them; and control of
 * fake_metadata.py, the local stand-in for IMDS, the container endpoint and STS.
 */
#ifndef AWS_TEST_UTIL_H
#define AWS_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "aws.h"

#define TU_ENV_MAX 48

struct tu_env {
    char *names[TU_ENV_MAX];
    char *values[TU_ENV_MAX];
    size_t n;
    int64_t now_s;     /* the fake clock */
    double rand01;     /* what every random draw returns */
    unsigned slept_ms; /* total of the sleeps asked for */
    char debug[16384]; /* every debug line, '\n'-separated */
};

/* A fresh environment: no variables but HOME (the temp folder), clock at 2024-01-15T12:00Z,
 * IMDS disabled so chains end quickly (tests that want IMDS unset it). */
void tu_env_init(struct tu_env *env, const char *home);
void tu_env_set(struct tu_env *env, const char *name, const char *value); /* NULL unsets */
void tu_env_cleanup(struct tu_env *env);
struct aws_hooks tu_hooks(struct tu_env *env);

/* Load a config with env's hooks (profile may be NULL); fails the test on error. */
struct aws_config *tu_config(struct tu_env *env, const char *profile);

/* A temporary folder, removed with its files by tu_dir_remove. */
struct tu_dir {
    char path[256];
    char files[16][320];
    size_t n_files;
};
void tu_dir_make(struct tu_dir *dir);
/* Write text to dir/name (mode 0755 when is_exec); returns the full path (static in dir). */
const char *tu_dir_write(struct tu_dir *dir, const char *name, const char *text, bool is_exec);
void tu_dir_remove(struct tu_dir *dir);

/* fake_metadata.py on 127.0.0.1 at a free port. */
struct tu_server {
    pid_t pid;
    int stdin_fd;
    int port;
    char base[64]; /* "http://127.0.0.1:<port>" */
};
void tu_server_start(struct tu_server *srv);
void tu_server_stop(struct tu_server *srv);
void tu_server_config(struct tu_server *srv, const char *json);
void tu_server_reset(struct tu_server *srv);
json_t *tu_server_log(struct tu_server *srv); /* caller json_decref's */

/* Fail the test if needle occurs in haystack (for secrets) or does not (for expectations). */
void tu_assert_absent(const char *haystack, const char *needle);
void tu_assert_contains(const char *haystack, const char *needle);

#endif
