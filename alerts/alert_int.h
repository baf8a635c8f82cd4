/* alert_int.h: helpers the files of alerts/ share and the public headers do not promise. */
#ifndef ALERT_INT_H
#define ALERT_INT_H

#include <stddef.h>

#include "lsf_buf.h"
#include "lsf_err.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one. */
size_t alert_utf8_seq_len(const unsigned char *s, size_t n);

/*
 * Append s[0..n) to out as valid UTF-8 (each invalid sequence becomes U+FFFD) and a NUL that is
 * not counted. LSF_E_NOMEM, LSF_E_INPUT (ceiling).
 */
enum lsf_code alert_utf8_clean(const unsigned char *s, size_t n, struct lsf_buf *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Longest prefix of s[0..n) of at most max bytes that does not cut a UTF-8 sequence. */
size_t alert_utf8_cut(const unsigned char *s, size_t n, size_t max);

#endif
