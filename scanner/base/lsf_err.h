/*
 * lsf_err: the one error type of logsift.
 *
 * A failure is a category (enum lsf_code) that tells the caller how to react, plus a one-line
 * message written once, by the function that found the failure. The message names the object
 * (path, bucket/key, rule id with file:line), the cause, and what the user should do next.
 * Callers forward the code and may prefix context the callee could not know; they never
 * overwrite a message that is already set.
 */
#ifndef LSF_ERR_H
#define LSF_ERR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define LSF_WARN_UNUSED __attribute__((warn_unused_result))
#define LSF_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define LSF_WARN_UNUSED
#define LSF_PRINTF(fmt_idx, arg_idx)
#endif

enum lsf_code {
    LSF_OK = 0,
    LSF_E_USAGE,     /* bad flag, config or credentials setup: stop before work starts */
    LSF_E_INPUT,     /* malformed record, truncated archive, oversized event: report, next input */
    LSF_E_RULE,      /* a rule does not compile: stop, naming rule, file and line */
    LSF_E_AUTH,      /* AWS denied or credentials expired */
    LSF_E_TRANSIENT, /* throttling, 5xx, reset: retry with backoff */
    LSF_E_INTEGRITY, /* digest, checksum or chain mismatch: always a finding */
    LSF_E_IO,        /* local I/O */
    LSF_E_NOMEM,     /* memory */
    LSF_E_INTERNAL   /* a bug */
};

#define LSF_ERR_MSG_MAX 1024

struct lsf_err {
    enum lsf_code code;
    char msg[LSF_ERR_MSG_MAX];
};

/* Reset to LSF_OK with an empty message. */
void lsf_err_clear(struct lsf_err *err);

/*
 * Record a failure and return its code, so `return lsf_fail(err, LSF_E_INPUT, "...")` reads
 * naturally. If err already holds a failure, it is kept (the first message is the precise one).
 * err may be NULL. code must not be LSF_OK.
 */
enum lsf_code lsf_fail(struct lsf_err *err, enum lsf_code code, const char *fmt, ...)
        LSF_PRINTF(3, 4);
enum lsf_code lsf_vfail(struct lsf_err *err, enum lsf_code code, const char *fmt, va_list ap)
        LSF_PRINTF(3, 0);

/* Prefix context to an existing message ("s3://b/k: " + msg), truncating safely. */
void lsf_err_prefix(struct lsf_err *err, const char *fmt, ...) LSF_PRINTF(2, 3);

/* Short stable name of a code, e.g. "input" for LSF_E_INPUT. */
const char *lsf_code_name(enum lsf_code code);

#endif
