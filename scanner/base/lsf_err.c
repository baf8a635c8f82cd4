/*
 * lsf_err: one error type with a category code and a single-line message (see lsf_err.h).
 * The message is formatted into a fixed buffer so reporting an error never allocates.
 */
#include "lsf_err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void lsf_err_clear(struct lsf_err *err)
{
    err->code = LSF_OK;
    err->msg[0] = '\0';
}

/* Messages are one line: fold any newline a library message brought along. */
static void fold_newlines(char *s)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r')
            *s = ' ';
    }
}

enum lsf_code lsf_vfail(struct lsf_err *err, enum lsf_code code, const char *fmt, va_list ap)
{
    assert(code != LSF_OK);
    if (err == NULL || err->code != LSF_OK)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    fold_newlines(err->msg);
    return code;
}

enum lsf_code lsf_fail(struct lsf_err *err, enum lsf_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lsf_vfail(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void lsf_err_prefix(struct lsf_err *err, const char *fmt, ...)
{
    char joined[LSF_ERR_MSG_MAX];
    size_t n_prefix;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(joined, sizeof(joined), fmt, ap);
    va_end(ap);
    n_prefix = strlen(joined);
    /* Keep the prefix whole and cut the old message's tail if the two do not fit. */
    memcpy(joined + n_prefix, err->msg, sizeof(joined) - n_prefix - 1);
    joined[sizeof(joined) - 1] = '\0';
    memcpy(err->msg, joined, sizeof(err->msg));
    fold_newlines(err->msg);
}

const char *lsf_code_name(enum lsf_code code)
{
    switch (code) {
    case LSF_OK:
        return "ok";
    case LSF_E_USAGE:
        return "usage";
    case LSF_E_INPUT:
        return "input";
    case LSF_E_RULE:
        return "rule";
    case LSF_E_AUTH:
        return "auth";
    case LSF_E_TRANSIENT:
        return "transient";
    case LSF_E_INTEGRITY:
        return "integrity";
    case LSF_E_IO:
        return "io";
    case LSF_E_NOMEM:
        return "nomem";
    case LSF_E_INTERNAL:
        return "internal";
    }
    return "unknown";
}
