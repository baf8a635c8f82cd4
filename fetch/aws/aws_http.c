/*
 * aws_http: one blocking HTTP request with a fresh libcurl easy handle, for the credential
 * endpoints (IMDS, container, STS). They are called at most every few minutes, so connection
 * reuse does not matter here; the data path (S3, CloudWatch Logs) drives a multi handle of its
 * own.
 *
 * Fixed choices: TLS peer and host verification always on (AWS_CA_BUNDLE only picks the CA
 * file), http and https only, no redirects (a credential answer never moves), no signals (safe
 * in threads), a response ceiling. Messages name the service and the URL without its query;
 * request headers and bodies, which carry tokens, are never printed.
 */
#include "aws.h"
#include "aws_int.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

enum lsf_code aws_global_init(struct lsf_err *err)
{
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (cc != CURLE_OK)
        return lsf_fail(err, LSF_E_INTERNAL, "libcurl failed to start: %s", curl_easy_strerror(cc));
    return LSF_OK;
}

void aws_global_cleanup(void)
{
    curl_global_cleanup();
}

static int ascii_ncasecmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i];
        int y = (unsigned char)b[i];
        x = x >= 'A' && x <= 'Z' ? x + 32 : x;
        y = y >= 'A' && y <= 'Z' ? y + 32 : y;
        if (x != y || x == 0)
            return x - y;
    }
    return 0;
}

struct sink {
    struct aws_http_resp *resp;
    struct lsf_err *err;
    enum lsf_code rc;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;

    s->rc = lsf_buf_append(&s->resp->body, data, n, s->err);
    return s->rc == LSF_OK ? n : 0;
}

/* Keep the request id header: AWS support asks for it. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;
    static const char *const names[] = {"x-amzn-requestid:", "x-amz-request-id:"};

    for (size_t i = 0; i < 2; i++) {
        size_t name_len = strlen(names[i]);
        if (n > name_len && ascii_ncasecmp(line, names[i], name_len) == 0) {
            const char *v = line + name_len;
            size_t len = n - name_len;
            while (len > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                len--;
            }
            while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
                len--;
            if (len < sizeof(s->resp->request_id)) {
                memcpy(s->resp->request_id, v, len);
                s->resp->request_id[len] = '\0';
            }
        }
    }
    return n;
}

/* The URL up to its query, for messages. */
static void url_for_message(const char *url, char *buf, size_t len)
{
    size_t n = strcspn(url, "?#");

    snprintf(buf, len, "%.*s", (int)(n < 400 ? n : 400), url);
}

enum lsf_code aws_http_perform(
        const struct aws_http_req *req, struct aws_http_resp *resp, struct lsf_err *err)
{
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    struct sink sink = {resp, err, LSF_OK};
    char where[416];
    CURLcode cc;
    enum lsf_code rc = LSF_OK;

    resp->status = 0;
    resp->is_timeout = false;
    resp->is_not_sent = false;
    resp->request_id[0] = '\0';
    lsf_buf_init(&resp->body, req->max_body);
    url_for_message(req->url, where, sizeof(where));
    curl = curl_easy_init();
    if (curl == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s %s: cannot create a libcurl handle", req->what, where);
        goto out;
    }
    /* Expect: 100-continue would cost a round trip on every POST; these bodies are tiny. */
    headers = curl_slist_append(headers, "Expect:");
    for (size_t i = 0; i < req->n_headers && headers != NULL; i++) {
        struct curl_slist *grown = curl_slist_append(headers, req->headers[i]);
        if (grown == NULL) {
            curl_slist_free_all(headers);
            headers = NULL;
        } else {
            headers = grown;
        }
    }
    if (headers == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s %s: out of memory", req->what, where);
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_bundle != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_bundle);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
    if (req->no_proxy)
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : (const void *)"");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "GET") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    cc = curl_easy_perform(curl);
    if (sink.rc != LSF_OK) {
        rc = sink.rc; /* the buffer ceiling: err says the sizes */
        lsf_err_prefix(err, "%s %s: response body ", req->what, where);
        goto out;
    }
    if (cc != CURLE_OK) {
        resp->is_timeout = cc == CURLE_OPERATION_TIMEDOUT;
        resp->is_not_sent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                            cc == CURLE_COULDNT_RESOLVE_PROXY;
        rc = lsf_fail(err, LSF_E_TRANSIENT, "%s %s: %s", req->what, where, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    rc = aws_buf_nul(&resp->body, err);
out:
    curl_slist_free_all(headers);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    return rc;
}
