/*
 * aws_creds_http: the credential sources that answer over HTTP: STS AssumeRoleWithWebIdentity
 * (EKS IRSA, GitHub Actions OIDC), the ECS/EKS container endpoint, and EC2 instance metadata.
 * Protocol details follow botocore (credentials.py AssumeRoleWithWebIdentityProvider,
 * ContainerProvider; utils.py IMDSFetcher, ContainerMetadataFetcher) as summarised in
 * shared/spec/aws-facts.md 2.4-2.6; endpoints can be moved with the same variables botocore
 * reads, which is also how the tests point them at a local fake server.
 *
 * Every token these calls carry (the web identity JWT, the container authorization token, the
 * IMDS session token) is kept out of messages and debug lines and wiped after use.
 *
 * IMDS is the last link of the chain and is probed on hosts that are not EC2 instances, so,
 * like botocore, failing to reach it means "no credentials here" rather than an error; why it
 * failed is kept in the state's note for the final "no credentials found" message.
 */
#include "aws.h"
#include "aws_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define TOKEN_FILE_MAX       (64u << 10)
#define CREDS_BODY_MAX       (64u << 10)
#define STS_TIMEOUT_MS       10000L
#define CONTAINER_TIMEOUT_MS 2000L
#define CONTAINER_ATTEMPTS   3
#define CONTAINER_SLEEP_MS   1000u

/* Read a token file fresh (they rotate), without a trailing newline. */
static enum lsf_code read_token(
        const char *path, const char *what, struct lsf_buf *out, struct lsf_err *err)
{
    bool missing = false;
    enum lsf_code rc = aws_read_file(path, out, &missing, err);

    if (rc == LSF_OK && missing)
        rc = lsf_fail(err, LSF_E_USAGE, "%s: token file %s does not exist", what, path);
    if (rc == LSF_OK) {
        while (out->len > 0 &&
                (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r' ||
                        out->data[out->len - 1] == ' '))
            out->data[--out->len] = '\0';
        if (out->len == 0)
            rc = lsf_fail(err, LSF_E_USAGE, "%s: token file %s is empty", what, path);
    }
    return rc;
}

static void wipe_buf(struct lsf_buf *buf)
{
    if (buf->data != NULL)
        OPENSSL_cleanse(buf->data, buf->cap);
    lsf_buf_cleanup(buf);
}

/* ---- web identity --------------------------------------------------------------------------- */

static enum lsf_code append_param(
        struct lsf_buf *body, const char *name, const char *value, struct lsf_err *err)
{
    enum lsf_code rc = aws_buf_puts(body, name, err);

    if (rc == LSF_OK)
        rc = aws_uri_encode(value, strlen(value), false, body, err);
    return rc;
}

/* Parse a 200 AssumeRoleWithWebIdentityResponse into out. */
static enum lsf_code parse_sts_creds(const struct aws_http_resp *resp, const char *what,
        struct aws_creds *out, struct lsf_err *err)
{
    char expiration[64];
    struct aws_xml_field f[] = {
            {"AccessKeyId", out->access_key_id, sizeof(out->access_key_id), false},
            {"SecretAccessKey", out->secret_access_key, sizeof(out->secret_access_key), false},
            {"SessionToken", out->session_token, sizeof(out->session_token), false},
            {"Expiration", expiration, sizeof(expiration), false},
    };

    if (!aws_xml_fields((const char *)resp->body.data, resp->body.len, f, 4) || !f[0].found ||
            !f[1].found || !f[2].found || !f[3].found ||
            !aws_time_parse(expiration, &out->expires_s))
        return lsf_fail(err, LSF_E_TRANSIENT,
                "%s: STS answered 200 without readable Credentials (request id %s)", what,
                resp->request_id[0] ? resp->request_id : "none");
    return LSF_OK;
}

enum lsf_code aws_creds_web_identity(
        const struct aws_config *cfg, struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *token_file = aws_config_env(cfg, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role_arn = aws_config_env(cfg, "AWS_ROLE_ARN");
    const char *session = aws_config_env(cfg, "AWS_ROLE_SESSION_NAME");
    const struct aws_hooks *hooks = aws_config_hooks(cfg);
    struct aws_endpoint ep;
    struct aws_retry retry;
    struct aws_retry_quota quota;
    struct lsf_buf token;
    struct lsf_buf body;
    struct aws_http_resp resp;
    char what[AWS_SOURCE_MAX];
    char url[AWS_HOST_MAX + AWS_PATH_PREFIX_MAX + 16];
    char default_session[64];
    static const char *const headers[] = {
            "Content-Type: application/x-www-form-urlencoded; charset=utf-8"};
    enum lsf_code rc;

    *found = false;
    if (token_file == NULL)
        token_file = aws_config_get(cfg, "web_identity_token_file");
    if (role_arn == NULL)
        role_arn = aws_config_get(cfg, "role_arn");
    if (session == NULL)
        session = aws_config_get(cfg, "role_session_name");
    if (token_file == NULL)
        return LSF_OK;
    if (role_arn == NULL)
        return lsf_fail(err, LSF_E_USAGE,
                "web identity token file %s is set but no role: set AWS_ROLE_ARN or role_arn in "
                "profile %s",
                token_file, aws_config_profile(cfg));
    if (session == NULL) {
        snprintf(default_session, sizeof(default_session), "logsift-session-%lld",
                (long long)aws_config_now(cfg));
        session = default_session;
    }
    snprintf(what, sizeof(what), "web identity role %.120s", role_arn);
    lsf_buf_init(&token, TOKEN_FILE_MAX);
    lsf_buf_init(&body, 2 * TOKEN_FILE_MAX);
    lsf_buf_init(&resp.body, CREDS_BODY_MAX);
    rc = aws_endpoint_resolve(cfg, AWS_SVC_STS, NULL, &ep, err);
    if (rc == LSF_OK)
        rc = read_token(token_file, what, &token, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15", err);
    if (rc == LSF_OK)
        rc = append_param(&body, "&RoleArn=", role_arn, err);
    if (rc == LSF_OK)
        rc = append_param(&body, "&RoleSessionName=", session, err);
    if (rc == LSF_OK)
        rc = append_param(&body, "&WebIdentityToken=", (const char *)token.data, err);
    if (rc != LSF_OK)
        goto out;
    aws_endpoint_base_url(&ep, url, sizeof(url));
    strcat(url, "/");
    aws_retry_init(&retry, aws_config_max_attempts(cfg));
    aws_retry_quota_init(&quota);
    for (;;) {
        struct aws_http_req req = {.method = "POST",
                .url = url,
                .headers = headers,
                .n_headers = 1,
                .body = body.data,
                .body_len = body.len,
                .timeout_ms = STS_TIMEOUT_MS,
                .ca_bundle = aws_config_ca_bundle(cfg),
                .max_body = CREDS_BODY_MAX,
                .what = "STS"};
        struct aws_outcome outcome = {0, NULL, false, false};
        struct aws_error_info info;
        struct lsf_err attempt;
        unsigned delay_ms;

        lsf_err_clear(&attempt);
        wipe_buf(&resp.body);
        rc = aws_http_perform(&req, &resp, &attempt);
        if (rc == LSF_OK && resp.status == 200) {
            memset(out, 0, sizeof(*out));
            rc = parse_sts_creds(&resp, what, out, &attempt);
            if (rc == LSF_OK)
                break;
            outcome.http_status = 500; /* an unreadable 200 is retried like a fault */
        } else if (rc == LSF_OK) {
            aws_error_parse(AWS_PROTO_QUERY, resp.status, (const char *)resp.body.data,
                    resp.body.len, resp.request_id, &info);
            rc = aws_error_fail(&attempt, &info, "sts", "AssumeRoleWithWebIdentity", role_arn);
            outcome.http_status = resp.status;
            outcome.error_code = info.code;
        } else if (rc == LSF_E_TRANSIENT) {
            outcome.is_timeout = resp.is_timeout;
            outcome.is_network_error = !resp.is_timeout;
        }
        if (!aws_retry_next(&retry, &quota, aws_retry_classify(&outcome), hooks->rand01(hooks->ctx),
                    &delay_ms)) {
            lsf_fail(err, rc, "%s", attempt.msg);
            goto out;
        }
        aws_debug(hooks, "aws: %s: retrying in %u ms after: %s", what, delay_ms, attempt.msg);
        hooks->sleep_ms(hooks->ctx, delay_ms);
    }
    snprintf(out->source, sizeof(out->source), "web identity role %.120s (token file %.100s)",
            role_arn, token_file);
    *found = true;
out:
    if (rc != LSF_OK)
        aws_creds_wipe(out);
    wipe_buf(&token);
    wipe_buf(&body);
    wipe_buf(&resp.body);
    return rc;
}

/* ---- container endpoint --------------------------------------------------------------------- */

/* botocore ContainerMetadataFetcher: https, loopback, or the ECS / EKS Pod Identity hosts. */
static bool container_host_allowed(const char *url)
{
    static const char *const hosts[] = {"169.254.170.2", "169.254.170.23", "fd00:ec2::23",
            "[fd00:ec2::23]", "localhost", "::1", "[::1]"};
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    bool ok = false;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        unsigned a, b, c, d;
        char tail;
        ok = strcmp(scheme, "https") == 0 ||
                (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
                        c < 256 && d < 256);
        for (size_t i = 0; !ok && i < sizeof(hosts) / sizeof(hosts[0]); i++)
            ok = strcmp(host, hosts[i]) == 0;
        ok = ok && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* The Authorization header line, from the token file (re-read every time) or variable. */
static enum lsf_code container_auth(
        const struct aws_config *cfg, struct lsf_buf *line, struct lsf_err *err)
{
    const char *file = aws_config_env(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = aws_config_env(cfg, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    struct lsf_buf token;
    enum lsf_code rc = LSF_OK;

    lsf_buf_init(&token, TOKEN_FILE_MAX);
    if (file != NULL) {
        rc = read_token(file, "container credentials", &token, err);
        value = rc == LSF_OK ? (const char *)token.data : NULL;
    }
    if (rc == LSF_OK && value != NULL) {
        if (strpbrk(value, "\r\n") != NULL)
            rc = lsf_fail(err, LSF_E_USAGE,
                    "container credentials: the authorization token (%s) contains a line "
                    "break",
                    file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
                         : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (rc == LSF_OK)
            rc = aws_buf_puts(line, "Authorization: ", err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(line, value, err);
        if (rc == LSF_OK)
            rc = aws_buf_nul(line, err);
    }
    wipe_buf(&token);
    return rc;
}

enum lsf_code aws_creds_container(
        const struct aws_config *cfg, struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *rel = aws_config_env(cfg, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = aws_config_env(cfg, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const struct aws_hooks *hooks = aws_config_hooks(cfg);
    struct lsf_buf url;
    struct lsf_buf auth;
    struct aws_http_resp resp;
    const char *headers[2] = {"Accept: application/json", NULL};
    char what[AWS_SOURCE_MAX];
    enum lsf_code rc = LSF_OK;

    *found = false;
    if (rel == NULL && full == NULL)
        return LSF_OK;
    lsf_buf_init(&url, 8192);
    lsf_buf_init(&auth, TOKEN_FILE_MAX + 32);
    lsf_buf_init(&resp.body, CREDS_BODY_MAX);
    if (rel != NULL) {
        rc = aws_buf_puts(&url, "http://169.254.170.2", err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(&url, rel, err);
    } else if (!container_host_allowed(full)) {
        rc = lsf_fail(err, LSF_E_USAGE,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or point at a loopback "
                "address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23");
    } else {
        rc = aws_buf_puts(&url, full, err);
    }
    if (rc == LSF_OK)
        rc = aws_buf_nul(&url, err);
    if (rc == LSF_OK)
        rc = container_auth(cfg, &auth, err);
    if (rc != LSF_OK)
        goto out;
    headers[1] = auth.len ? (const char *)auth.data : NULL;
    snprintf(what, sizeof(what), "container credentials %.*s", (int)strcspn((char *)url.data, "?"),
            (const char *)url.data);
    for (int attempt = 1;; attempt++) {
        struct aws_http_req req = {.method = "GET",
                .url = (const char *)url.data,
                .headers = headers,
                .n_headers = auth.len ? 2 : 1,
                .timeout_ms = CONTAINER_TIMEOUT_MS,
                .ca_bundle = aws_config_ca_bundle(cfg),
                .max_body = CREDS_BODY_MAX,
                .what = "container credentials endpoint",
                .no_proxy = true};
        struct lsf_err one;

        lsf_err_clear(&one);
        wipe_buf(&resp.body);
        rc = aws_http_perform(&req, &resp, &one);
        if (rc == LSF_OK && resp.status == 200) {
            memset(out, 0, sizeof(*out));
            rc = aws_creds_from_json((const char *)resp.body.data, resp.body.len, "Token", true,
                    what, LSF_E_TRANSIENT, out, &one);
        } else if (rc == LSF_OK) {
            /* 4xx: the token was refused; 5xx: the agent is struggling. */
            rc = lsf_fail(&one, resp.status >= 500 ? LSF_E_TRANSIENT : LSF_E_AUTH, "%s: HTTP %ld",
                    what, resp.status);
        }
        if (rc == LSF_OK)
            break;
        if (attempt >= CONTAINER_ATTEMPTS) {
            lsf_fail(err, rc, "%s (after %d attempts)", one.msg, attempt);
            goto out;
        }
        aws_debug(hooks, "aws: retrying the container endpoint after: %s", one.msg);
        hooks->sleep_ms(hooks->ctx, CONTAINER_SLEEP_MS);
    }
    aws_copy(out->source, sizeof(out->source), what);
    *found = true;
out:
    if (rc != LSF_OK)
        aws_creds_wipe(out);
    wipe_buf(&auth);
    wipe_buf(&resp.body);
    lsf_buf_cleanup(&url);
    return rc;
}

/* ---- EC2 instance metadata (IMDSv2) --------------------------------------------------------- */

struct imds {
    const struct aws_config *cfg;
    struct aws_imds_state *state;
    char base[512];
    long timeout_ms;
    int attempts;
    bool is_v1_allowed;
};

/* Remember why IMDS gave nothing: "<base>: <reason>". */
static void imds_note(struct imds *im, const char *fmt, ...) LSF_PRINTF(2, 3);
static void imds_note(struct imds *im, const char *fmt, ...)
{
    char reason[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(im->state->note, sizeof(im->state->note), "%.50s: %s", im->base, reason);
    aws_debug(aws_config_hooks(im->cfg), "aws: EC2 instance metadata %s", im->state->note);
}

/* One IMDS request; the session token header is added when we hold one. */
static enum lsf_code imds_call(struct imds *im, const char *method, const char *path,
        struct aws_http_resp *resp, struct lsf_err *err)
{
    char url[1024];
    char token_hdr[300];
    const char *headers[1];
    size_t n_headers = 0;

    snprintf(url, sizeof(url), "%s%s", im->base, path);
    if (strcmp(method, "PUT") == 0) {
        snprintf(token_hdr, sizeof(token_hdr), "X-aws-ec2-metadata-token-ttl-seconds: %d",
                AWS_IMDS_TOKEN_TTL_S);
        headers[n_headers++] = token_hdr;
    } else if (im->state->token[0] != '\0') {
        snprintf(token_hdr, sizeof(token_hdr), "X-aws-ec2-metadata-token: %s", im->state->token);
        headers[n_headers++] = token_hdr;
    }
    struct aws_http_req req = {.method = method,
            .url = url,
            .headers = headers,
            .n_headers = n_headers,
            .timeout_ms = im->timeout_ms,
            .max_body = CREDS_BODY_MAX,
            .what = "EC2 instance metadata",
            .no_proxy = true};
    enum lsf_code rc = aws_http_perform(&req, resp, err);
    OPENSSL_cleanse(token_hdr, sizeof(token_hdr));
    return rc;
}

/*
 * The session token: 200 gives one; 403/404/405 or a timeout mean IMDSv1 only (used when
 * allowed); 400 means give up. *give_up is set when IMDS should not be asked further.
 */
static void imds_fetch_token(struct imds *im, bool *give_up)
{
    struct aws_http_resp resp;
    int64_t now = aws_config_now(im->cfg);

    *give_up = false;
    if (im->state->token[0] != '\0' && now < im->state->token_expires_s)
        return;
    im->state->token[0] = '\0';
    lsf_buf_init(&resp.body, CREDS_BODY_MAX);
    for (int i = 0; i < im->attempts; i++) {
        struct lsf_err one;
        lsf_err_clear(&one);
        wipe_buf(&resp.body);
        if (imds_call(im, "PUT", "/latest/api/token", &resp, &one) != LSF_OK) {
            if (resp.is_timeout)
                break;
            imds_note(im, "%s", one.msg);
            continue;
        }
        if (resp.status == 200 && resp.body.len > 0 &&
                aws_copy(
                        im->state->token, sizeof(im->state->token), (const char *)resp.body.data)) {
            im->state->token_expires_s = now + AWS_IMDS_TOKEN_TTL_S - 60;
            break;
        }
        if (resp.status == 400) {
            imds_note(im, "rejected the token request (HTTP 400)");
            *give_up = true;
            break;
        }
        if (resp.status == 403 || resp.status == 404 || resp.status == 405)
            break;
    }
    if (im->state->token[0] == '\0' && !*give_up && !im->is_v1_allowed) {
        imds_note(im, "gave no IMDSv2 token and IMDSv1 is disabled");
        *give_up = true;
    }
    wipe_buf(&resp.body);
}

/*
 * GET path into resp with the token; retried up to attempts; a 401 means the token expired, so
 * it is fetched again once. False (note set) when no usable 200 came back.
 */
static bool imds_get(struct imds *im, const char *path, struct aws_http_resp *resp)
{
    bool is_token_renewed = false;

    for (int i = 0; i < im->attempts; i++) {
        struct lsf_err one;
        lsf_err_clear(&one);
        wipe_buf(&resp->body);
        if (imds_call(im, "GET", path, resp, &one) != LSF_OK) {
            imds_note(im, "%s", one.msg);
            continue;
        }
        if (resp->status == 401 && im->state->token[0] != '\0' && !is_token_renewed) {
            bool give_up;
            im->state->token[0] = '\0';
            imds_fetch_token(im, &give_up);
            if (give_up)
                return false;
            is_token_renewed = true;
            i--;
            continue;
        }
        if (resp->status == 200 && resp->body.len > 0)
            return true;
        imds_note(im, "answered %s with HTTP %ld", path, resp->status);
    }
    return false;
}

enum lsf_code aws_creds_imds(const struct aws_config *cfg, struct aws_imds_state *state,
        struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *endpoint = aws_config_env(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = aws_config_env(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *timeout = aws_config_env(cfg, "AWS_METADATA_SERVICE_TIMEOUT");
    const char *attempts = aws_config_env(cfg, "AWS_METADATA_SERVICE_NUM_ATTEMPTS");
    const char *v1_off = aws_config_env(cfg, "AWS_EC2_METADATA_V1_DISABLED");
    const struct aws_hooks *hooks = aws_config_hooks(cfg);
    struct imds im = {cfg, state, "", 1000, 1, true};
    struct aws_http_resp resp;
    char path[512];
    char role[256];
    size_t role_len;
    struct lsf_err bad;
    int64_t now;
    bool give_up = false;
    enum lsf_code rc = LSF_OK;

    *found = false;
    state->note[0] = '\0';
    if (aws_is_true(aws_config_env(cfg, "AWS_EC2_METADATA_DISABLED"))) {
        aws_copy(state->note, sizeof(state->note), "disabled by AWS_EC2_METADATA_DISABLED");
        return LSF_OK;
    }
    if (endpoint == NULL)
        endpoint = aws_config_get(cfg, "ec2_metadata_service_endpoint");
    if (mode == NULL)
        mode = aws_config_get(cfg, "ec2_metadata_service_endpoint_mode");
    if (endpoint == NULL)
        endpoint = mode && (strcmp(mode, "IPv6") == 0 || strcmp(mode, "ipv6") == 0)
                ? "http://[fd00:ec2::254]"
                : "http://169.254.169.254";
    if (v1_off == NULL)
        v1_off = aws_config_get(cfg, "ec2_metadata_v1_disabled");
    snprintf(im.base, sizeof(im.base), "%s", endpoint);
    for (size_t len = strlen(im.base); len > 0 && im.base[len - 1] == '/'; len--)
        im.base[len - 1] = '\0';
    if (timeout != NULL && atof(timeout) > 0)
        im.timeout_ms = (long)(atof(timeout) * 1000);
    if (attempts != NULL && atoi(attempts) > 0)
        im.attempts = atoi(attempts);
    im.is_v1_allowed = !aws_is_true(v1_off);

    lsf_buf_init(&resp.body, CREDS_BODY_MAX);
    imds_fetch_token(&im, &give_up);
    if (give_up || !imds_get(&im, "/latest/meta-data/iam/security-credentials/", &resp))
        goto out;
    role_len = strcspn((const char *)resp.body.data, "\r\n");
    if (role_len == 0 || role_len >= sizeof(role)) {
        imds_note(&im, "returned no usable role name");
        goto out;
    }
    memcpy(role, resp.body.data, role_len);
    role[role_len] = '\0';
    snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
    if (!imds_get(&im, path, &resp))
        goto out;
    memset(out, 0, sizeof(*out));
    lsf_err_clear(&bad);
    if (aws_creds_from_json((const char *)resp.body.data, resp.body.len, "Token", true,
                "EC2 instance metadata", LSF_E_TRANSIENT, out, &bad) != LSF_OK) {
        aws_creds_wipe(out);
        imds_note(&im, "%s", bad.msg); /* like botocore: an error document means no creds */
        goto out;
    }
    /*
     * Credentials handed out already inside the refresh window (IMDS outage): pretend they last
     * 15 minutes plus 2-10 random minutes, so callers ride out the outage without hammering
     * IMDS (aws-facts 2.7).
     */
    now = aws_config_now(cfg);
    if (out->expires_s - now < AWS_CREDS_ADVISORY_REFRESH_S) {
        out->expires_s = now + AWS_CREDS_ADVISORY_REFRESH_S + 120 +
                (int64_t)(hooks->rand01(hooks->ctx) * 480);
        aws_debug(hooks,
                "aws: EC2 instance metadata credentials expire soon; using them until "
                "%lld",
                (long long)out->expires_s);
    }
    snprintf(out->source, sizeof(out->source), "EC2 instance metadata (role %.100s)", role);
    *found = true;
out:
    wipe_buf(&resp.body);
    (void)err;
    return rc;
}
