/*
 * cli: the logsift command. Each subcommand is a function returning the process exit status;
 * only main calls exit.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses, like grep's. */
#define CLI_EXIT_FINDINGS 0
#define CLI_EXIT_NO_FINDINGS 1
#define CLI_EXIT_ERROR 2

int cli_scan(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_rules(int argc, char **argv); /* cli_rules.c: logsift rules check */
/* "logsift verify" and "logsift manifest" (argv[0] says which); cli_verify.c. */
int cli_verify(int argc, char **argv);

/* scan --verify (cli_verify.c): walk the digests under paths, then wrap source so each listed
 * log is hashed as the scan reads it. 0, or -1 after printing the error. */
#define CLI_VERIFY_MAX_KEYS 64
struct scan_source;
struct cli_scan_verify;
struct fetch_s3_opts;
int cli_scan_verify_begin(const char *const *paths, size_t n_paths, const char *const *key_files,
        size_t n_key_files, const struct fetch_s3_opts *s3, struct scan_source *source,
        struct cli_scan_verify **out);
/* After the scan: integrity failures go through sink as high-severity findings (so they reach
 * the outputs, the alert spool and the report); returns how many, and sets *is_sink_failed
 * when one could not be written (the message is on stderr). */
struct scan_sink;
size_t cli_scan_verify_end(struct cli_scan_verify *v, struct scan_sink *sink, bool is_quiet,
        bool *is_sink_failed);
void cli_scan_verify_free(struct cli_scan_verify *v);

#endif
