/*
 * aws_query: one signed AWS Query-protocol call (form-encoded POST, XML reply) with retries, for
 * the SNS and CloudWatch metrics sinks (shared/spec/aws-facts.md 8, 9.1, 10).
 *
 * Alerts send a few small requests after a scan, so a blocking call on a fresh easy handle is
 * enough; the streaming client (aws_http_client.h) stays for the data path. Every attempt is
 * signed afresh; an ExpiredToken answer refreshes the credentials once.
 */
#ifndef AWS_QUERY_H
#define AWS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "lsf_buf.h"
#include "lsf_err.h"

/* Which failed attempts may be sent again. */
enum aws_query_retry {
    /* Any retryable failure (aws_retry_classify): for calls that are harmless to repeat, such
     * as SNS FIFO publishes carrying a MessageDeduplicationId. */
    AWS_QUERY_RETRY_ALL,
    /* Only failures that prove the request was not applied (throttling, no connection made):
     * for calls a repeat would double, such as PutMetricData counters. A lost response or a
     * 5xx is then not retried and the call fails with *is_ambiguous set. */
    AWS_QUERY_RETRY_UNAPPLIED
};

struct aws_query_call {
    const struct aws_endpoint *ep; /* from aws_endpoint_resolve: scheme, host, signing names */
    const char *form;              /* the form-encoded body: "Action=Publish&Version=..." */
    size_t form_len;
    const char *operation;         /* for messages and the permission hint: "Publish" */
    const char *resource;          /* for messages: the topic ARN, the namespace */
    enum aws_query_retry retry;
    long timeout_ms;               /* per attempt; 0: 30 s */
};

/*
 * POST call and append the 2xx XML reply to body (NUL-terminated). Retries by botocore's
 * standard mode (aws_config_max_attempts attempts, full-jitter backoff through the config's
 * sleep hook) as call->retry allows. Errors are written once: aws_error_fail (HTTP status, AWS
 * code, missing permission) giving LSF_E_AUTH, LSF_E_INPUT (validation, NotFound) or
 * LSF_E_TRANSIENT after the budget; LSF_E_TRANSIENT when no response arrived. *is_ambiguous
 * (may be NULL) is set when the last attempt got no answer or a 5xx, so the request may have
 * been applied. Thread-safe (cfg and creds are).
 */
enum lsf_code aws_query_post(const struct aws_config *cfg, struct aws_creds_provider *creds,
        const struct aws_query_call *call, struct lsf_buf *body, bool *is_ambiguous,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Append "&name=value" (or "name=value" at the start of form) with both parts form-encoded
 * (RFC 3986 unreserved characters kept). LSF_E_INPUT at form's ceiling, LSF_E_NOMEM. */
enum lsf_code aws_query_add(struct lsf_buf *form, const char *name, const char *value,
        struct lsf_err *err) LSF_WARN_UNUSED;

#endif
