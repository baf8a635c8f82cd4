/*
 * aws_http_client: signed AWS requests driven by one thread over one libcurl multi handle
 * (the contract is in aws_http_client.h).
 *
 * Design (curl/curl src/tool_operate.c drives many transfers from one multi handle; libcurl's
 * docs/libcurl/libcurl-thread.md forbids sharing an easy handle between threads):
 *
 *   - A transfer (struct xfer) is made by the caller's thread and put on a FIFO queue under the
 *     client mutex. The fetch thread moves queued transfers into its own active list (streamed
 *     ones only while fewer than max_streams are active), and from then on is the only thread
 *     that touches its easy handle.
 *   - Each attempt is built and signed afresh (new X-Amz-Date, current credentials). The outcome
 *     of an attempt is classified by aws_retry_classify; a retryable one waits
 *     aws_retry_delay_ms in the active list, holding its slot, so retries keep their place.
 *   - Streamed bodies go into a ring buffer of fixed size. When it is full the write callback
 *     returns CURL_WRITEFUNC_PAUSE (libcurl then keeps the chunk and stops reading the socket);
 *     a reader that drains half the ring sets want_unpause and calls curl_multi_wakeup, and the
 *     fetch thread calls curl_easy_pause(CURLPAUSE_CONT). The mutex is never held across a
 *     libcurl call, because curl_easy_pause may call the write callback at once.
 *   - A stream cut off after part of its body resumes with "Range: bytes=N-" and If-Match on
 *     the first ETag; a server that answers 200 instead of 206 has its first N bytes skipped.
 *   - S3 region redirects (shared/spec/aws-facts.md 3.5): a 301/302/307, PermanentRedirect or
 *     AuthorizationHeaderMalformed naming another region (x-amz-bucket-region, else the error
 *     body's <Region>) moves the transfer to that region (signing scope, and the regional host
 *     unless the endpoint is custom) and sends it again at once, outside the retry budget. The
 *     bucket's region is remembered, so later requests for it start in the right region.
 *     A redirect that names no region is followed by HEAD on the bucket, which S3 answers with
 *     x-amz-bucket-region even when it refuses the request, as botocore does.
 *   - ExpiredToken(Exception): the credentials are marked rejected and the request is sent
 *     again once with fresh ones. A generation counter makes many transfers rejected by the
 *     same token cause one refresh, not one each.
 *   - Bodies of aws_client_call requests are collected whole in the caller's buffer (the caller
 *     is blocked meanwhile) and dropped if the attempt fails, so a retried listing never hands
 *     out half a page.
 *   - A transfer is freed by whichever side finishes last: the fetch thread when it is done
 *     with it, or the reader's close.
 */
#include "aws_http_client.h"

#include "aws_int.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define XF_MIN_RING     ((size_t)64 << 10)
#define XF_ERR_BODY_MAX ((size_t)64 << 10)
#define XF_MAX_HEADERS  4
#define XF_MAX_REGIONS  64 /* buckets whose region is remembered */
#define XF_MAX_EXTRA_HEADERS 8

enum xf_state {
    XF_QUEUED = 0,
    XF_ACTIVE,
    XF_DONE
};

struct xfer {
    struct aws_client *client;
    struct xfer *next; /* queue link */

    /* The request, owned copies. */
    struct aws_endpoint ep;
    char *method;
    char *host;
    char *path;
    char *operation;
    char *resource;
    struct aws_kv *query; /* points into q_owned */
    char **q_owned;       /* 2 * n_query strings */
    size_t n_query;
    enum aws_protocol proto;
    bool is_stream;
    struct aws_kv *extra;  /* call->headers, points into x_owned */
    char **x_owned;        /* 2 * n_extra strings */
    size_t n_extra;
    unsigned char *req_body; /* owned copy of call->body */
    size_t req_body_len;
    struct lsf_buf *resp_headers; /* aws_client_call: the caller's buffer, or NULL */
    bool is_range;        /* aws_client_stream_range: bytes [range_first, +range_len) */
    uint64_t range_first;
    uint64_t range_len;

    /* Fetch thread only. */
    CURL *easy;
    struct curl_slist *headers;
    struct aws_retry retry;
    int64_t not_before_ms; /* a retry waits until then */
    int64_t last_progress_ms; /* last byte received, or when the attempt started or resumed */
    bool is_status_known;
    bool is_error_body;
    long status;
    uint64_t skip; /* bytes to drop from a 200 answer to a Range request */
    char etag[256];
    char request_id[128];
    char bucket_region[64];
    bool is_redirected;      /* moved to the bucket's region once already */
    bool is_probing;         /* sent as HEAD bucket to learn its region (x-amz-bucket-region) */
    bool is_probed;
    char *orig_method;       /* the request's own method and path while probing */
    char *orig_path;
    enum lsf_code probe_rc;  /* the redirect's error, reported if the probe names no region */
    struct lsf_err probe_err;
    bool is_creds_refreshed; /* sent again once with refreshed credentials */
    unsigned creds_gen;      /* client->creds_gen when this attempt was signed */
    struct lsf_buf err_body;
    struct lsf_buf *call_body; /* aws_client_call: the caller's buffer */
    size_t call_base_len;
    enum lsf_code write_rc; /* a failure inside the write callback */
    struct lsf_err write_err;

    /* Shared, under client->mu. */
    enum xf_state state;
    unsigned char *ring;
    size_t cap;
    size_t head;
    size_t len;
    uint64_t delivered; /* 2xx body bytes put into the ring so far, over all attempts */
    bool is_paused;
    bool want_unpause;
    bool is_reader_gone;
    enum lsf_code rc;
    struct lsf_err err;
    pthread_cond_t cond;
};

struct aws_client {
    const struct aws_config *cfg;
    struct aws_creds_provider *creds;
    const struct aws_hooks *hooks;
    const char *ca_bundle;
    unsigned max_streams;
    unsigned max_attempts;
    long connect_ms;
    long stall_s;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;

    /* Under mu. */
    bool quit;
    struct xfer *q_head;
    struct xfer *q_tail;
    unsigned creds_gen; /* bumped each time the credentials are marked rejected */
    struct {
        char bucket[64];
        char region[64];
    } regions[XF_MAX_REGIONS]; /* S3 buckets found in another region than asked */
    size_t n_regions;

    /* Fetch thread only. */
    struct xfer **active;
    size_t n_active;
    size_t cap_active;
    unsigned n_streams;
    bool is_slot_freed; /* a stream ended this turn: queued ones may start without waiting */
    struct aws_retry_quota quota;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void xfer_free(struct xfer *x)
{
    if (x == NULL)
        return;
    free(x->method);
    free(x->host);
    free(x->path);
    free(x->operation);
    free(x->resource);
    free(x->orig_method);
    free(x->orig_path);
    for (size_t i = 0; i < 2 * x->n_query; i++)
        free(x->q_owned[i]);
    free(x->q_owned);
    free(x->query);
    for (size_t i = 0; i < 2 * x->n_extra; i++)
        free(x->x_owned[i]);
    free(x->x_owned);
    free(x->extra);
    free(x->req_body);
    lsf_buf_cleanup(&x->err_body);
    free(x->ring);
    pthread_cond_destroy(&x->cond);
    free(x);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static enum lsf_code xfer_new(struct aws_client *client, const struct aws_call *call,
        const struct aws_call_extra *extra, bool is_stream, size_t ring_len, struct xfer **out, struct lsf_err *err)
{
    struct xfer *x = calloc(1, sizeof(*x));
    bool ok;

    *out = NULL;
    if (x == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for a request to %s", call->resource);
    pthread_cond_init(&x->cond, NULL);
    lsf_buf_init(&x->err_body, XF_ERR_BODY_MAX);
    x->client = client;
    x->ep = *call->ep;
    x->proto = call->proto;
    x->is_stream = is_stream;
    x->method = dup_or_empty(call->method);
    x->host = dup_or_empty(call->host);
    x->path = dup_or_empty(call->path);
    x->operation = dup_or_empty(call->operation);
    x->resource = dup_or_empty(call->resource);
    ok = x->method && x->host && x->path && x->operation && x->resource;
    if (ok && call->n_query > 0) {
        x->query = calloc(call->n_query, sizeof(*x->query));
        x->q_owned = calloc(2 * call->n_query, sizeof(*x->q_owned));
        ok = x->query != NULL && x->q_owned != NULL;
        for (size_t i = 0; ok && i < call->n_query; i++) {
            x->n_query++;
            x->q_owned[2 * i] = dup_or_empty(call->query[i].name);
            x->q_owned[2 * i + 1] = dup_or_empty(call->query[i].value);
            x->query[i].name = x->q_owned[2 * i];
            x->query[i].value = x->q_owned[2 * i + 1];
            ok = x->query[i].name && x->query[i].value;
        }
    }
    if (ok && extra && extra->n_headers > 0) {
        size_t n = extra->n_headers < XF_MAX_EXTRA_HEADERS ? extra->n_headers
                                                            : XF_MAX_EXTRA_HEADERS;

        x->extra = calloc(n, sizeof(*x->extra));
        x->x_owned = calloc(2 * n, sizeof(*x->x_owned));
        ok = x->extra != NULL && x->x_owned != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            x->n_extra++;
            x->x_owned[2 * i] = dup_or_empty(extra->headers[i].name);
            x->x_owned[2 * i + 1] = dup_or_empty(extra->headers[i].value);
            x->extra[i].name = x->x_owned[2 * i];
            x->extra[i].value = x->x_owned[2 * i + 1];
            ok = x->extra[i].name && x->extra[i].value;
        }
    }
    if (ok && extra && extra->body != NULL && extra->body_len > 0) {
        x->req_body = malloc(extra->body_len);
        ok = x->req_body != NULL;
        if (ok) {
            memcpy(x->req_body, extra->body, extra->body_len);
            x->req_body_len = extra->body_len;
        }
    }
    if (ok && extra && !is_stream)
        x->resp_headers = extra->resp_headers;
    if (ok && is_stream) {
        x->cap = ring_len < XF_MIN_RING ? XF_MIN_RING : ring_len;
        x->ring = malloc(x->cap);
        ok = x->ring != NULL;
    }
    aws_retry_init(&x->retry, client->max_attempts);
    if (!ok) {
        xfer_free(x);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for a request to %s", call->resource);
    }
    *out = x;
    return LSF_OK;
}

/* ---- libcurl callbacks (fetch thread) ------------------------------------------------------- */

static void header_value(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t name_len = strlen(name);
    size_t start;
    size_t end = n;

    if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return;
    start = name_len + 1;
    while (start < n && (line[start] == ' ' || line[start] == '\t'))
        start++;
    while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
        end--;
    if (end - start < cap) {
        memcpy(dst, line + start, end - start);
        dst[end - start] = '\0';
    }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t n = size * nmemb;

    x->last_progress_ms = mono_ms();
    if (x->resp_headers != NULL) {
        /* keep only the final response's headers (a 100 Continue or redirect came first) */
        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
            x->resp_headers->len = 0;
        else if (lsf_buf_append(x->resp_headers, data, n, NULL) != LSF_OK)
            return 0; /* headers past the caller's ceiling: fail the transfer */
    }
    header_value(data, n, "x-amz-request-id", x->request_id, sizeof(x->request_id));
    header_value(data, n, "x-amzn-requestid", x->request_id, sizeof(x->request_id));
    header_value(data, n, "x-amz-bucket-region", x->bucket_region, sizeof(x->bucket_region));
    if (x->etag[0] == '\0')
        header_value(data, n, "etag", x->etag, sizeof(x->etag));
    return n;
}

static void ring_put(struct xfer *x, const unsigned char *data, size_t n)
{
    size_t tail = (x->head + x->len) % x->cap;
    size_t first = x->cap - tail < n ? x->cap - tail : n;

    memcpy(x->ring + tail, data, first);
    memcpy(x->ring, data + first, n - first);
    x->len += n;
    x->delivered += n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    struct aws_client *client = x->client;
    size_t n = size * nmemb;
    size_t drop;
    enum lsf_code rc;

    if (!x->is_status_known) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        x->is_status_known = true;
        x->is_error_body = x->status < 200 || x->status > 299;
        x->skip = 0;
        if (x->status == 200 && x->is_stream)
            x->skip = x->delivered; /* a Range request answered whole */
        if (x->status == 200 && x->is_range) {
            x->write_rc = lsf_fail(&x->write_err, LSF_E_INPUT, "%s %s: the server answered a "
                    "byte-range request with the whole object; raise --part-size above the "
                    "object's size to fetch it in one piece", x->operation, x->resource);
            return 0;
        }
    }
    if (x->is_error_body || !x->is_stream)
        x->last_progress_ms = mono_ms();
    if (x->is_error_body) {
        size_t room = XF_ERR_BODY_MAX - 1 - x->err_body.len;
        rc = lsf_buf_append(&x->err_body, data, n < room ? n : room, NULL);
        (void)rc; /* an error body cut short still names the code */
        return n;
    }
    if (!x->is_stream) {
        x->write_rc = lsf_buf_append(x->call_body, data, n, &x->write_err);
        if (x->write_rc != LSF_OK)
            lsf_err_prefix(&x->write_err, "%s %s: response", x->operation, x->resource);
        return x->write_rc == LSF_OK ? n : 0;
    }
    drop = x->skip < n ? (size_t)x->skip : n;
    pthread_mutex_lock(&client->mu);
    if (x->is_reader_gone) {
        pthread_mutex_unlock(&client->mu);
        return n; /* the fetch loop aborts it */
    }
    if (n - drop > x->cap - x->len) {
        if (x->len > 0) {
            x->is_paused = true;
            pthread_mutex_unlock(&client->mu);
            return CURL_WRITEFUNC_PAUSE;
        }
        /* A chunk larger than the whole ring: grow it once (the ring is empty). */
        unsigned char *bigger = realloc(x->ring, n - drop);
        if (bigger == NULL) {
            pthread_mutex_unlock(&client->mu);
            x->write_rc = lsf_fail(&x->write_err, LSF_E_NOMEM, "%s %s: out of memory",
                    x->operation, x->resource);
            return 0;
        }
        x->ring = bigger;
        x->cap = n - drop;
        x->head = 0;
    }
    x->skip -= drop;
    x->last_progress_ms = mono_ms();
    ring_put(x, (const unsigned char *)data + drop, n - drop);
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&client->mu);
    return n;
}

/* ---- the fetch thread ------------------------------------------------------------------------ */

/* Mark x done with rc (and the message in e); free it if its reader already left. */
static void xfer_finish(struct xfer *x, enum lsf_code rc, const struct lsf_err *e)
{
    struct aws_client *client = x->client;
    bool is_gone;

    if (x->easy) {
        curl_multi_remove_handle(client->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    if (x->is_stream && !x->is_range && client->n_streams > 0) {
        client->n_streams--;
        client->is_slot_freed = true;
    }
    pthread_mutex_lock(&client->mu);
    x->state = XF_DONE;
    x->rc = rc;
    if (rc != LSF_OK && e != NULL)
        x->err = *e;
    else if (rc != LSF_OK)
        lsf_fail(&x->err, rc, "%s %s: failed", x->operation, x->resource);
    is_gone = x->is_reader_gone;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&client->mu);
    if (is_gone)
        xfer_free(x);
}

static enum lsf_code slist_add(struct curl_slist **list, const char *name, const char *value,
        struct lsf_err *err)
{
    char line[AWS_AUTH_HEADER_MAX + 64];
    struct curl_slist *grown;

    snprintf(line, sizeof(line), "%s: %s", name, value);
    grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for request headers");
    *list = grown;
    return LSF_OK;
}

/* ---- S3 region redirects ----------------------------------------------------------------- */

/* The bucket x addresses (S3 only); see aws_s3_request_bucket. */
static bool xfer_bucket(const struct xfer *x, char *bucket, size_t cap, bool *is_virtual)
{
    return aws_s3_request_bucket(&x->ep, x->host, x->path, bucket, cap, is_virtual);
}

/* Point x at region: signing scope, and the regional AWS host unless the endpoint is custom. */
static bool xfer_set_region(struct xfer *x, const char *bucket, bool is_virtual,
        const char *region)
{
    char host[AWS_HOST_MAX];
    char *dup;

    if (!aws_s3_region_move(&x->ep, bucket, is_virtual, region, host))
        return false;
    dup = strdup(host);
    if (dup == NULL)
        return false;
    free(x->host);
    x->host = dup;
    return true;
}

/* Before the first attempt: start in the bucket's remembered region, if one is known. */
static void xfer_use_known_region(struct xfer *x)
{
    struct aws_client *client = x->client;
    char bucket[64];
    char region[64] = "";
    bool is_virtual;

    if (x->is_redirected || x->retry.attempts > 0 ||
            !xfer_bucket(x, bucket, sizeof(bucket), &is_virtual))
        return;
    pthread_mutex_lock(&client->mu);
    for (size_t i = 0; i < client->n_regions; i++) {
        if (strcmp(client->regions[i].bucket, bucket) == 0)
            snprintf(region, sizeof(region), "%s", client->regions[i].region);
    }
    pthread_mutex_unlock(&client->mu);
    if (region[0] != '\0' && strcmp(region, x->ep.region) != 0 &&
            xfer_set_region(x, bucket, is_virtual, region))
        x->is_redirected = true;
}

/* After a redirect to region: remember it for the bucket and move x there. */
static bool xfer_redirect(struct xfer *x, const char *region)
{
    struct aws_client *client = x->client;
    char bucket[64];
    bool is_virtual;
    bool is_known = false;

    if (!xfer_bucket(x, bucket, sizeof(bucket), &is_virtual))
        return false;
    pthread_mutex_lock(&client->mu);
    for (size_t i = 0; i < client->n_regions; i++) {
        if (strcmp(client->regions[i].bucket, bucket) == 0) {
            snprintf(client->regions[i].region, sizeof(client->regions[i].region), "%s",
                    region);
            is_known = true;
        }
    }
    if (!is_known && client->n_regions < XF_MAX_REGIONS) {
        snprintf(client->regions[client->n_regions].bucket, 64, "%s", bucket);
        snprintf(client->regions[client->n_regions].region, 64, "%s", region);
        client->n_regions++;
    }
    pthread_mutex_unlock(&client->mu);
    aws_debug(client->hooks, "%s %s: bucket %s is in region %s, not %s: sending it there",
            x->operation, x->resource, bucket, region, x->ep.region);
    x->is_redirected = true;
    return xfer_set_region(x, bucket, is_virtual, region);
}

static bool is_redirect(const struct xfer *x, long status, const char *code)
{
    return status == 301 || status == 302 || status == 307 ||
           strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "TemporaryRedirect") == 0 ||
           strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
           strcmp(code, "IllegalLocationConstraintException") == 0 ||
           (strcmp(x->method, "HEAD") == 0 && status == 400);
}

/* Turn x into HEAD on its bucket, keeping its own method and path for afterwards. */
static bool xfer_start_probe(struct xfer *x)
{
    char bucket[64];
    char path[AWS_PATH_PREFIX_MAX + 80];
    bool is_virtual;
    char *head;
    char *probe_path;

    if (!xfer_bucket(x, bucket, sizeof(bucket), &is_virtual))
        return false;
    snprintf(path, sizeof(path), "%s/%s", x->ep.base_path, is_virtual ? "" : bucket);
    head = strdup("HEAD");
    probe_path = strdup(path);
    if (head == NULL || probe_path == NULL) {
        free(head);
        free(probe_path);
        return false;
    }
    x->orig_method = x->method;
    x->orig_path = x->path;
    x->method = head;
    x->path = probe_path;
    x->is_probing = true;
    x->is_probed = true;
    return true;
}

/* Give x back its own method and path after the probe. */
static void xfer_end_probe(struct xfer *x)
{
    free(x->method);
    free(x->path);
    x->method = x->orig_method;
    x->path = x->orig_path;
    x->orig_method = NULL;
    x->orig_path = NULL;
    x->is_probing = false;
}

static bool is_expired_token(const char *code)
{
    return strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0;
}

/* Send x again at once, outside the retry budget (a redirect, refreshed credentials). */
static void xfer_again(struct xfer *x)
{
    struct aws_client *client = x->client;

    if (x->easy) {
        curl_multi_remove_handle(client->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    x->not_before_ms = 0;
}

/* Build, sign and add one attempt of x to the multi handle. */
static enum lsf_code xfer_start(struct xfer *x, struct lsf_err *err)
{
    struct aws_client *client = x->client;
    struct aws_creds creds;
    struct aws_signature sig;
    struct aws_kv hdrs[XF_MAX_HEADERS + XF_MAX_EXTRA_HEADERS];
    size_t n_hdrs = 0;
    char range[64];
    struct lsf_buf qs;
    struct lsf_buf url;
    uint64_t resume_at = 0;
    enum lsf_code rc;

    memset(&creds, 0, sizeof(creds));
    lsf_buf_init(&qs, (size_t)64 << 10);
    lsf_buf_init(&url, (size_t)64 << 10);
    x->is_status_known = false;
    x->is_error_body = false;
    x->status = 0;
    x->err_body.len = 0;
    x->request_id[0] = '\0';
    x->bucket_region[0] = '\0';
    if (x->call_body)
        x->call_body->len = x->call_base_len;
    if (x->is_stream) {
        pthread_mutex_lock(&client->mu);
        resume_at = x->delivered;
        pthread_mutex_unlock(&client->mu);
    }
    if (x->is_range) {
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
                x->range_first + resume_at, x->range_first + x->range_len - 1);
        hdrs[n_hdrs++] = (struct aws_kv){"Range", range};
        if (x->etag[0] != '\0')
            hdrs[n_hdrs++] = (struct aws_kv){"If-Match", x->etag};
    } else if (resume_at > 0) {
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", resume_at);
        hdrs[n_hdrs++] = (struct aws_kv){"Range", range};
        if (x->etag[0] != '\0')
            hdrs[n_hdrs++] = (struct aws_kv){"If-Match", x->etag};
    }

    for (size_t i = 0; i < x->n_extra; i++)
        hdrs[n_hdrs++] = x->extra[i];

    xfer_use_known_region(x);
    pthread_mutex_lock(&client->mu);
    x->creds_gen = client->creds_gen;
    pthread_mutex_unlock(&client->mu);
    if (x->resp_headers != NULL)
        x->resp_headers->len = 0;

    rc = aws_creds_provider_get(client->creds, &creds, err);
    if (rc != LSF_OK) {
        lsf_err_prefix(err, "%s %s: ", x->operation, x->resource);
        goto out;
    }
    {
        struct aws_request req = {
            .method = x->method,
            .host = x->host,
            .path = x->path,
            .query = x->query,
            .n_query = x->n_query,
            .headers = hdrs,
            .n_headers = n_hdrs,
            .payload = x->req_body,
            .payload_len = x->req_body_len,
        };
        struct aws_signing signing = {
            .creds = &creds,
            .region = x->ep.region,
            .service = x->ep.service,
            .time_s = client->hooks->now_s(client->hooks->ctx),
        };
        rc = aws_sigv4_sign(&req, &signing, &sig, err);
        if (rc == LSF_OK)
            rc = aws_sigv4_query_string(&req, &qs, err);
    }
    if (rc == LSF_OK)
        rc = aws_buf_puts(&url, x->ep.is_https ? "https://" : "http://", err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(&url, x->host, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(&url, x->path[0] ? x->path : "/", err);
    if (rc == LSF_OK && qs.len > 0) {
        rc = aws_buf_puts(&url, "?", err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(&url, (const char *)qs.data, err);
    }
    if (rc == LSF_OK)
        rc = aws_buf_nul(&url, err);
    if (rc != LSF_OK)
        goto out;

    rc = slist_add(&x->headers, "Authorization", sig.authorization, err);
    if (rc == LSF_OK)
        rc = slist_add(&x->headers, "X-Amz-Date", sig.amz_date, err);
    if (rc == LSF_OK && sig.content_sha256[0] != '\0')
        rc = slist_add(&x->headers, "X-Amz-Content-SHA256", sig.content_sha256, err);
    if (rc == LSF_OK && sig.security_token != NULL)
        rc = slist_add(&x->headers, "X-Amz-Security-Token", sig.security_token, err);
    for (size_t i = 0; rc == LSF_OK && i < n_hdrs; i++)
        rc = slist_add(&x->headers, hdrs[i].name, hdrs[i].value, err);
    if (rc != LSF_OK)
        goto out;

    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s %s: libcurl could not make a handle", x->operation,
                x->resource);
        goto out;
    }
    curl_easy_setopt(x->easy, CURLOPT_URL, (const char *)url.data);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (client->ca_bundle)
        curl_easy_setopt(x->easy, CURLOPT_CAINFO, client->ca_bundle);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, client->connect_ms);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "logsift");
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    if (x->req_body != NULL) {
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, (const char *)x->req_body);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req_body_len);
    }
    if (strcmp(x->method, "HEAD") == 0)
        curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(x->method, "GET") != 0 &&
             !(strcmp(x->method, "POST") == 0 && x->req_body != NULL)) /* POSTFIELDS: a POST */
        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, x->method);
    x->last_progress_ms = mono_ms();
    if (curl_multi_add_handle(client->multi, x->easy) != CURLM_OK) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        rc = lsf_fail(err, LSF_E_INTERNAL, "%s %s: libcurl refused the transfer", x->operation,
                x->resource);
    }
out:
    if (rc != LSF_OK) {
        curl_slist_free_all(x->headers);
        x->headers = NULL;
    }
    aws_creds_wipe(&creds);
    lsf_buf_cleanup(&qs);
    lsf_buf_cleanup(&url);
    return rc;
}

static bool is_tls_verify_failure(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
           cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_ISSUER_ERROR;
}

/* Schedule another attempt of x if the policy allows one; false when it does not. */
static bool xfer_retry(struct xfer *x, enum aws_retry_kind kind)
{
    struct aws_client *client = x->client;
    unsigned delay_ms = 0;

    if (kind == AWS_RETRY_NONE)
        return false;
    if (!aws_retry_next(&x->retry, &client->quota, kind,
                client->hooks->rand01(client->hooks->ctx), &delay_ms))
        return false;
    if (x->easy) {
        curl_multi_remove_handle(client->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    x->not_before_ms = mono_ms() + delay_ms;
    aws_debug(client->hooks, "%s %s: retry %u in %u ms", x->operation, x->resource,
            x->retry.attempts, delay_ms);
    return true;
}

/* One attempt of x ended with cc. True when another attempt is scheduled; otherwise x is
 * finished (and maybe freed). */
static bool xfer_done(struct xfer *x, CURLcode cc)
{
    struct aws_client *client = x->client;
    struct lsf_err e;
    long status = 0;

    lsf_err_clear(&e);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (x->write_rc != LSF_OK) {
        xfer_finish(x, x->write_rc, &x->write_err);
        return false;
    }
    if (x->is_probing) {
        char region[64];
        snprintf(region, sizeof(region), "%s", cc == CURLE_OK ? x->bucket_region : "");
        xfer_end_probe(x);
        if (region[0] != '\0' && strcmp(region, x->ep.region) != 0 && xfer_redirect(x, region)) {
            xfer_again(x);
            return true;
        }
        xfer_finish(x, x->probe_rc, &x->probe_err);
        return false;
    }
    if (cc == CURLE_OK && status >= 200 && status <= 299) {
        aws_retry_succeeded(&x->retry, &client->quota);
        xfer_finish(x, LSF_OK, NULL);
        return false;
    }
    if (cc == CURLE_OK) {
        struct aws_error_info info;
        struct aws_outcome outcome;
        const char *region;

        if (aws_buf_nul(&x->err_body, NULL) != LSF_OK)
            x->err_body.len = 0;
        aws_error_parse(x->proto, status, (const char *)x->err_body.data, x->err_body.len,
                x->request_id[0] ? x->request_id : NULL, &info);
        region = x->bucket_region[0] ? x->bucket_region : info.region;
        if (!x->is_redirected && region[0] != '\0' && strcmp(region, x->ep.region) != 0 &&
                is_redirect(x, status, info.code) && xfer_redirect(x, region)) {
            xfer_again(x);
            return true;
        }
        if (!x->is_redirected && !x->is_probed && region[0] == '\0' &&
                strcmp(x->method, "HEAD") != 0 && is_redirect(x, status, info.code) &&
                xfer_start_probe(x)) {
            x->probe_rc = lsf_fail(&x->probe_err, LSF_E_USAGE, "%s %s: HTTP %ld %s: the bucket "
                    "is in another region than %s and S3 did not say which; rerun with --region "
                    "set to its region (`aws s3api head-bucket` shows it as BucketRegion)",
                    x->operation, x->resource, status, info.code[0] ? info.code : "redirect",
                    x->ep.region);
            aws_debug(client->hooks, "%s %s: HTTP %ld without a region: asking HEAD on the "
                    "bucket", x->operation, x->resource, status);
            xfer_again(x);
            return true;
        }
        if (is_expired_token(info.code) && !x->is_creds_refreshed) {
            bool is_first = false;
            pthread_mutex_lock(&client->mu);
            if (x->creds_gen == client->creds_gen) {
                client->creds_gen++; /* later rejections of the same token refresh nothing */
                is_first = true;
            }
            pthread_mutex_unlock(&client->mu);
            if (is_first)
                aws_creds_provider_expire(client->creds);
            aws_debug(client->hooks, "%s %s: %s: sending it again with refreshed credentials",
                    x->operation, x->resource, info.code);
            x->is_creds_refreshed = true;
            xfer_again(x);
            return true;
        }
        outcome = (struct aws_outcome){status, info.code[0] ? info.code : NULL, false, false};
        if (xfer_retry(x, aws_retry_classify(&outcome)))
            return true;
        if (region[0] != '\0' && strcmp(region, x->ep.region) != 0 &&
                (status == 301 || status == 307 || strcmp(info.code, "PermanentRedirect") == 0 ||
                 strcmp(info.code, "AuthorizationHeaderMalformed") == 0)) {
            lsf_fail(&e, LSF_E_USAGE, "%s %s: HTTP %ld %s: the bucket is in region %s, not %s; "
                    "rerun with --region %s", x->operation, x->resource, status,
                    info.code[0] ? info.code : "redirect", region, x->ep.region, region);
            xfer_finish(x, LSF_E_USAGE, &e);
            return false;
        }
        xfer_finish(x, aws_error_fail(&e, &info, x->ep.service, x->operation, x->resource), &e);
        return false;
    }
    if (is_tls_verify_failure(cc)) {
        lsf_fail(&e, LSF_E_USAGE, "%s %s: TLS verification failed (%s); set AWS_CA_BUNDLE to "
                "the CA file that signs the endpoint's certificate", x->operation, x->resource,
                curl_easy_strerror(cc));
        xfer_finish(x, LSF_E_USAGE, &e);
        return false;
    }
    {
        struct aws_outcome outcome = {status, NULL, cc == CURLE_OPERATION_TIMEDOUT,
                cc != CURLE_OPERATION_TIMEDOUT};
        if (xfer_retry(x, aws_retry_classify(&outcome)))
            return true;
    }
    lsf_fail(&e, LSF_E_TRANSIENT, "%s %s: %s after %u attempts; check the network and the "
            "endpoint (--endpoint-url, %s), then rerun", x->operation, x->resource,
            curl_easy_strerror(cc), x->retry.attempts,
            strcmp(x->ep.service, "logs") == 0 ? "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
                                               : "AWS_ENDPOINT_URL_S3");
    xfer_finish(x, LSF_E_TRANSIENT, &e);
    return false;
}

static bool active_push(struct aws_client *client, struct xfer *x)
{
    if (client->n_active == client->cap_active) {
        size_t cap = client->cap_active ? client->cap_active * 2 : 16;
        struct xfer **grown = realloc(client->active, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        client->active = grown;
        client->cap_active = cap;
    }
    client->active[client->n_active++] = x;
    return true;
}

/* Move what may start from the queue to the active list (under mu). Returns the transfers the
 * caller must free (readers closed before they started), linked through next. */
static struct xfer *take_queued(struct aws_client *client)
{
    struct xfer **link = &client->q_head;
    struct xfer *dead = NULL;

    client->q_tail = NULL;
    while (*link) {
        struct xfer *x = *link;
        bool is_taken = false;

        if (x->is_reader_gone) {
            *link = x->next;
            x->next = dead;
            dead = x;
            continue;
        }
        if ((!x->is_stream || x->is_range || client->n_streams < client->max_streams) &&
                active_push(client, x)) {
            x->state = XF_ACTIVE;
            x->not_before_ms = 0;
            if (x->is_stream && !x->is_range)
                client->n_streams++;
            *link = x->next;
            x->next = NULL;
            is_taken = true;
        }
        if (!is_taken) {
            client->q_tail = x;
            link = &x->next;
        }
    }
    return dead;
}

static void *fetch_main(void *arg)
{
    struct aws_client *client = arg;

    for (;;) {
        struct xfer *dead;
        int64_t now;
        long wait_ms = 1000;
        int running = 0;
        CURLMsg *msg;
        int n_left;

        pthread_mutex_lock(&client->mu);
        if (client->quit) {
            pthread_mutex_unlock(&client->mu);
            break;
        }
        dead = take_queued(client);
        pthread_mutex_unlock(&client->mu);
        while (dead) {
            struct xfer *next = dead->next;
            xfer_free(dead);
            dead = next;
        }

        now = mono_ms();
        for (size_t i = 0; i < client->n_active;) {
            struct xfer *x = client->active[i];
            bool is_gone;
            bool is_unpause;
            bool is_paused;

            pthread_mutex_lock(&client->mu);
            is_gone = x->is_reader_gone;
            is_unpause = x->want_unpause;
            x->want_unpause = false;
            if (is_unpause)
                x->is_paused = false;
            is_paused = x->is_paused;
            pthread_mutex_unlock(&client->mu);
            /* Stall detection by hand rather than CURLOPT_LOW_SPEED_TIME, so that the time a
             * transfer spends paused behind a slow scan never counts as a stall. */
            if (is_paused || is_unpause)
                x->last_progress_ms = now;
            if (x->easy && now - x->last_progress_ms > (int64_t)client->stall_s * 1000) {
                client->active[i] = client->active[--client->n_active];
                if (xfer_done(x, CURLE_OPERATION_TIMEDOUT) && !active_push(client, x))
                    xfer_finish(x, LSF_E_NOMEM, NULL);
                continue;
            }
            if (is_gone) {
                client->active[i] = client->active[--client->n_active];
                xfer_finish(x, LSF_OK, NULL); /* frees it */
                continue;
            }
            if (x->easy == NULL && now >= x->not_before_ms) {
                struct lsf_err e;
                lsf_err_clear(&e);
                if (xfer_start(x, &e) != LSF_OK) {
                    client->active[i] = client->active[--client->n_active];
                    xfer_finish(x, e.code, &e);
                    continue;
                }
            } else if (x->easy == NULL && x->not_before_ms - now < wait_ms) {
                wait_ms = (long)(x->not_before_ms - now);
            }
            if (is_unpause && x->easy)
                curl_easy_pause(x->easy, CURLPAUSE_CONT);
            i++;
        }

        curl_multi_perform(client->multi, &running);
        while ((msg = curl_multi_info_read(client->multi, &n_left)) != NULL) {
            struct xfer *x = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            for (size_t i = 0; i < client->n_active; i++) {
                if (client->active[i] == x) {
                    /* Unlist first: a finished transfer may be freed inside xfer_done. */
                    client->active[i] = client->active[--client->n_active];
                    if (xfer_done(x, msg->data.result) && !active_push(client, x))
                        xfer_finish(x, LSF_E_NOMEM, NULL);
                    break;
                }
            }
        }
        if (wait_ms < 0 || client->is_slot_freed)
            wait_ms = 0; /* start what waited for that slot on the next turn, not in a second */
        client->is_slot_freed = false;
        curl_multi_poll(client->multi, NULL, 0, (int)wait_ms, NULL);
    }
    return NULL;
}

/* ---- public API ------------------------------------------------------------------------------ */

enum lsf_code aws_client_new(const struct aws_client_opts *opts, struct aws_client **out,
        struct lsf_err *err)
{
    struct aws_client *client = calloc(1, sizeof(*client));

    *out = NULL;
    if (client == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for the AWS client");
    client->cfg = opts->cfg;
    client->creds = opts->creds;
    client->hooks = aws_config_hooks(opts->cfg);
    client->ca_bundle = aws_config_ca_bundle(opts->cfg);
    client->max_streams = opts->max_streams ? opts->max_streams : 1;
    client->max_attempts = aws_config_max_attempts(opts->cfg);
    client->connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    client->stall_s = opts->stall_timeout_s > 0 ? opts->stall_timeout_s : 60;
    aws_retry_quota_init(&client->quota);
    pthread_mutex_init(&client->mu, NULL);
    client->multi = curl_multi_init();
    if (client->multi == NULL) {
        pthread_mutex_destroy(&client->mu);
        free(client);
        return lsf_fail(err, LSF_E_INTERNAL, "libcurl could not make a multi handle");
    }
    curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long)client->max_streams + 4);
    if (pthread_create(&client->thread, NULL, fetch_main, client) != 0) {
        curl_multi_cleanup(client->multi);
        pthread_mutex_destroy(&client->mu);
        free(client);
        return lsf_fail(err, LSF_E_INTERNAL, "cannot start the fetch thread");
    }
    *out = client;
    return LSF_OK;
}

void aws_client_free(struct aws_client *client)
{
    if (client == NULL)
        return;
    pthread_mutex_lock(&client->mu);
    client->quit = true;
    pthread_mutex_unlock(&client->mu);
    curl_multi_wakeup(client->multi);
    pthread_join(client->thread, NULL);
    for (size_t i = 0; i < client->n_active; i++) {
        struct xfer *x = client->active[i];
        if (x->easy) {
            curl_multi_remove_handle(client->multi, x->easy);
            curl_easy_cleanup(x->easy);
        }
        curl_slist_free_all(x->headers);
        xfer_free(x);
    }
    while (client->q_head) {
        struct xfer *next = client->q_head->next;
        xfer_free(client->q_head);
        client->q_head = next;
    }
    free(client->active);
    curl_multi_cleanup(client->multi);
    pthread_mutex_destroy(&client->mu);
    free(client);
}

static void enqueue(struct aws_client *client, struct xfer *x)
{
    pthread_mutex_lock(&client->mu);
    if (client->q_tail)
        client->q_tail->next = x;
    else
        client->q_head = x;
    client->q_tail = x;
    pthread_mutex_unlock(&client->mu);
    curl_multi_wakeup(client->multi);
}

/* Close: free now if the fetch thread is done with x, else leave it to the fetch thread. */
static void xfer_close(void *self)
{
    struct xfer *x = self;
    struct aws_client *client = x->client;
    bool is_done;

    pthread_mutex_lock(&client->mu);
    x->is_reader_gone = true;
    is_done = x->state == XF_DONE;
    pthread_mutex_unlock(&client->mu);
    if (is_done)
        xfer_free(x);
    else
        curl_multi_wakeup(client->multi);
}

static enum lsf_code xfer_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct xfer *x = self;
    struct aws_client *client = x->client;
    enum lsf_code rc = LSF_OK;
    bool is_wake = false;

    *n_read = 0;
    pthread_mutex_lock(&client->mu);
    while (x->len == 0 && x->state != XF_DONE)
        pthread_cond_wait(&x->cond, &client->mu);
    if (x->len > 0) {
        size_t n = cap < x->len ? cap : x->len;
        size_t first = x->cap - x->head < n ? x->cap - x->head : n;

        memcpy(buf, x->ring + x->head, first);
        memcpy(buf + first, x->ring, n - first);
        x->head = (x->head + n) % x->cap;
        x->len -= n;
        *n_read = n;
        if (x->is_paused && !x->want_unpause && x->cap - x->len >= x->cap / 2) {
            x->want_unpause = true;
            is_wake = true;
        }
    } else if (x->rc != LSF_OK) {
        rc = lsf_fail(err, x->rc, "%s", x->err.msg);
    }
    pthread_mutex_unlock(&client->mu);
    if (is_wake)
        curl_multi_wakeup(client->multi);
    return rc;
}

static const struct lsf_reader_ops xfer_reader_ops = {xfer_read, xfer_close};

enum lsf_code aws_client_stream(struct aws_client *client, const struct aws_call *call,
        size_t buf_len, struct lsf_reader *out, struct lsf_err *err)
{
    struct xfer *x;
    enum lsf_code rc = xfer_new(client, call, NULL, true, buf_len, &x, err);

    if (rc != LSF_OK)
        return rc;
    enqueue(client, x);
    out->ops = &xfer_reader_ops;
    out->self = x;
    return LSF_OK;
}

enum lsf_code aws_client_stream_range(struct aws_client *client, const struct aws_call *call,
        uint64_t first, uint64_t len, const char *etag, size_t buf_len, struct lsf_reader *out,
        struct lsf_err *err)
{
    struct xfer *x;
    enum lsf_code rc;

    assert(len > 0);
    rc = xfer_new(client, call, NULL, true, buf_len, &x, err);
    if (rc != LSF_OK)
        return rc;
    x->is_range = true;
    x->range_first = first;
    x->range_len = len;
    if (etag != NULL)
        snprintf(x->etag, sizeof(x->etag), "%s", etag);
    enqueue(client, x);
    out->ops = &xfer_reader_ops;
    out->self = x;
    return LSF_OK;
}

enum lsf_code aws_client_call(struct aws_client *client, const struct aws_call *call,
        struct lsf_buf *body, struct lsf_err *err)
{
    return aws_client_call_extra(client, call, NULL, body, err);
}

enum lsf_code aws_client_call_extra(struct aws_client *client, const struct aws_call *call,
        const struct aws_call_extra *extra, struct lsf_buf *body, struct lsf_err *err)
{
    struct xfer *x;
    enum lsf_code rc = xfer_new(client, call, extra, false, 0, &x, err);

    if (rc != LSF_OK)
        return rc;
    x->call_body = body;
    x->call_base_len = body->len;
    enqueue(client, x);
    pthread_mutex_lock(&client->mu);
    while (x->state != XF_DONE)
        pthread_cond_wait(&x->cond, &client->mu);
    rc = x->rc;
    if (rc != LSF_OK)
        lsf_fail(err, rc, "%s", x->err.msg);
    pthread_mutex_unlock(&client->mu);
    xfer_close(x);
    return rc;
}

enum lsf_code aws_session_open(const struct aws_config_opts *cfg_opts, enum aws_service svc,
        const char *endpoint_url, unsigned max_streams, struct aws_session *s,
        struct lsf_err *err)
{
    struct aws_client_opts client_opts;
    enum lsf_code rc;

    memset(s, 0, sizeof(*s));
    rc = aws_global_init(err);
    s->has_global = rc == LSF_OK;
    if (rc == LSF_OK)
        rc = aws_config_load(cfg_opts, &s->cfg, err);
    if (rc == LSF_OK)
        rc = aws_endpoint_resolve(s->cfg, svc, endpoint_url, &s->ep, err);
    if (rc == LSF_OK)
        rc = aws_creds_provider_new(s->cfg, &s->creds, err);
    if (rc == LSF_OK) {
        memset(&client_opts, 0, sizeof(client_opts));
        client_opts.cfg = s->cfg;
        client_opts.creds = s->creds;
        client_opts.max_streams = max_streams;
        rc = aws_client_new(&client_opts, &s->client, err);
    }
    if (rc != LSF_OK)
        aws_session_close(s);
    return rc;
}

void aws_session_close(struct aws_session *s)
{
    aws_client_free(s->client);
    aws_creds_provider_free(s->creds);
    aws_config_free(s->cfg);
    if (s->has_global)
        aws_global_cleanup();
    memset(s, 0, sizeof(*s));
}
