/*
 * aws_query: signed Query-protocol POSTs with retries (see aws_query.h).
 *
 * Design: the loop is botocore's standard mode built from the pure pieces of aws_retry.c, the
 * transport is aws_http_perform (one easy handle per attempt: the sinks send a handful of
 * requests per run). Each attempt is signed with the time of that attempt, so a long backoff
 * never sends a stale X-Amz-Date. Callers choose whether a request whose outcome is unknown
 * may be repeated: SNS FIFO publishes are deduplicated by the service and may; counters may not.
 */
#include "aws_query.h"
#include "aws_int.h"

#include <stdio.h>
#include <string.h>

#define AWS_QUERY_DEFAULT_TIMEOUT_MS 30000L
#define AWS_QUERY_MAX_REPLY          ((size_t)4 << 20)

enum lsf_code aws_query_add(struct lsf_buf *form, const char *name, const char *value,
        struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    if (form->len > 0)
        rc = lsf_buf_append(form, "&", 1, err);
    if (rc == LSF_OK)
        rc = aws_uri_encode(name, strlen(name), false, form, err);
    if (rc == LSF_OK)
        rc = lsf_buf_append(form, "=", 1, err);
    if (rc == LSF_OK)
        rc = aws_uri_encode(value, strlen(value), false, form, err);
    if (rc == LSF_OK)
        rc = aws_buf_nul(form, err);
    return rc;
}

/* "Name: value" into a fixed line; false when it does not fit. */
static bool header_line(char *buf, size_t len, const char *name, const char *value)
{
    int n = snprintf(buf, len, "%s: %s", name, value);
    return n > 0 && (size_t)n < len;
}

/* One signed attempt. LSF_OK when a response arrived (any status). */
static enum lsf_code attempt(const struct aws_config *cfg, struct aws_creds_provider *prov,
        const struct aws_query_call *call, struct aws_http_resp *resp, struct lsf_err *err)
{
    static const char content_type[] = "application/x-www-form-urlencoded; charset=utf-8";
    const struct aws_hooks *hooks = aws_config_hooks(cfg);
    struct aws_kv kv[] = {{"Content-Type", content_type}};
    struct aws_creds creds;
    struct aws_signature sig;
    char url[AWS_HOST_MAX + AWS_PATH_PREFIX_MAX + 16];
    char path[AWS_PATH_PREFIX_MAX + 2];
    char h_auth[AWS_AUTH_HEADER_MAX + 32];
    char h_date[64];
    char h_type[128];
    char h_token[AWS_TOKEN_MAX + 32];
    const char *lines[4];
    size_t n_lines = 0;
    enum lsf_code rc;

    rc = aws_creds_provider_get(prov, &creds, err);
    if (rc != LSF_OK) {
        lsf_err_prefix(err, "%s %s: ", call->operation, call->resource);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/", call->ep->base_path);
    {
        struct aws_request req = {
            .method = "POST",
            .host = call->ep->host,
            .path = path,
            .headers = kv,
            .n_headers = 1,
            .payload = call->form,
            .payload_len = call->form_len,
        };
        struct aws_signing signing = {
            .creds = &creds,
            .region = call->ep->region,
            .service = call->ep->service,
            .time_s = hooks->now_s(hooks->ctx),
        };
        rc = aws_sigv4_sign(&req, &signing, &sig, err);
    }
    if (rc != LSF_OK)
        goto out;
    snprintf(url, sizeof(url), "%s://%s%s", call->ep->is_https ? "https" : "http", call->ep->host,
            path);
    if (!header_line(h_auth, sizeof(h_auth), "Authorization", sig.authorization) ||
            !header_line(h_date, sizeof(h_date), "X-Amz-Date", sig.amz_date) ||
            !header_line(h_type, sizeof(h_type), "Content-Type", content_type) ||
            (sig.security_token != NULL &&
                    !header_line(h_token, sizeof(h_token), "X-Amz-Security-Token",
                            sig.security_token))) {
        rc = lsf_fail(err, LSF_E_INTERNAL, "%s %s: a signed header does not fit its buffer",
                call->operation, call->resource);
        goto out;
    }
    lines[n_lines++] = h_auth;
    lines[n_lines++] = h_date;
    lines[n_lines++] = h_type;
    if (sig.security_token != NULL)
        lines[n_lines++] = h_token;
    {
        struct aws_http_req req = {
            .method = "POST",
            .url = url,
            .headers = lines,
            .n_headers = n_lines,
            .body = call->form,
            .body_len = call->form_len,
            .timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : AWS_QUERY_DEFAULT_TIMEOUT_MS,
            .ca_bundle = aws_config_ca_bundle(cfg),
            .max_body = AWS_QUERY_MAX_REPLY,
            .what = call->operation,
        };
        rc = aws_http_perform(&req, resp, err);
    }
out:
    aws_creds_wipe(&creds);
    return rc;
}

static bool is_expired_token(const char *code)
{
    return strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0;
}

enum lsf_code aws_query_post(const struct aws_config *cfg, struct aws_creds_provider *creds,
        const struct aws_query_call *call, struct lsf_buf *body, bool *is_ambiguous,
        struct lsf_err *err)
{
    const struct aws_hooks *hooks = aws_config_hooks(cfg);
    struct aws_retry_quota quota;
    struct aws_retry retry;
    bool refreshed = false;
    bool ambiguous = false;
    enum lsf_code rc;

    aws_retry_quota_init(&quota);
    aws_retry_init(&retry, aws_config_max_attempts(cfg));
    for (;;) {
        struct aws_http_resp resp;
        struct aws_error_info info;
        struct aws_outcome outcome;
        struct lsf_err attempt_err;
        enum aws_retry_kind kind;
        unsigned delay_ms = 0;

        lsf_err_clear(&attempt_err);
        /* Empty until aws_http_perform fills it, so every path may clean it. */
        memset(&resp, 0, sizeof(resp));
        lsf_buf_init(&resp.body, 0);
        rc = attempt(cfg, creds, call, &resp, &attempt_err);
        if (rc == LSF_OK && resp.status >= 200 && resp.status <= 299) {
            aws_retry_succeeded(&retry, &quota);
            rc = lsf_buf_append(body, resp.body.data, resp.body.len, err);
            if (rc == LSF_OK)
                rc = aws_buf_nul(body, err);
            lsf_buf_cleanup(&resp.body);
            ambiguous = false;
            break;
        }
        if (rc != LSF_OK && rc != LSF_E_TRANSIENT) {
            /* Signing, credentials, memory: nothing was sent that a retry could fix. */
            lsf_buf_cleanup(&resp.body);
            lsf_fail(err, rc, "%s", attempt_err.msg);
            break;
        }
        if (rc == LSF_OK) {
            aws_error_parse(AWS_PROTO_QUERY, resp.status, (const char *)resp.body.data,
                    resp.body.len, resp.request_id[0] ? resp.request_id : NULL, &info);
            outcome = (struct aws_outcome){resp.status, info.code[0] ? info.code : NULL, false,
                    false};
            ambiguous = resp.status >= 500;
        } else {
            memset(&info, 0, sizeof(info));
            outcome = (struct aws_outcome){0, NULL, resp.is_timeout, !resp.is_timeout};
            ambiguous = !resp.is_not_sent;
        }
        lsf_buf_cleanup(&resp.body);
        if (rc == LSF_OK && is_expired_token(info.code) && !refreshed) {
            /* Temporary credentials ran out mid-run: fetch new ones once. */
            aws_creds_provider_expire(creds);
            refreshed = true;
            continue;
        }
        kind = aws_retry_classify(&outcome);
        if (call->retry == AWS_QUERY_RETRY_UNAPPLIED && kind != AWS_RETRY_THROTTLE && ambiguous)
            kind = AWS_RETRY_NONE;
        if (aws_retry_next(&retry, &quota, kind, hooks->rand01(hooks->ctx), &delay_ms)) {
            aws_debug(hooks, "%s %s: retry %u in %u ms", call->operation, call->resource,
                    retry.attempts, delay_ms);
            hooks->sleep_ms(hooks->ctx, delay_ms);
            continue;
        }
        if (rc == LSF_OK) {
            rc = aws_error_fail(err, &info, call->ep->service, call->operation, call->resource);
        } else {
            rc = lsf_fail(err, LSF_E_TRANSIENT, "%s %s: no response (%s) after %u attempts; "
                    "check the network and the endpoint, then rerun", call->operation,
                    call->resource, attempt_err.msg, retry.attempts);
        }
        break;
    }
    if (is_ambiguous != NULL)
        *is_ambiguous = rc != LSF_OK && ambiguous;
    return rc;
}
