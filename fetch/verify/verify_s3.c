/*
 * verify_s3: the verify store over S3, and CloudTrail ListPublicKeys (the contract is in
 * verify_s3.h).
 *
 * Everything goes through one aws_client (signed, retried, connections reused). Objects are
 * fetched whole with aws_client_call, which is thread-safe, so verify_chain's worker threads
 * each fetch and hash their own log files while the client's one thread drives the transfers.
 * GetObject asks for x-amz-checksum-mode: ENABLED so S3 returns the object's additional
 * checksum (shared/spec/aws-facts.md 3.3, 3.4); metadata comes back as x-amz-meta-* headers,
 * which is where CloudTrail keeps a digest's signature (7.3).
 */
#include "verify_s3.h"

#include "verify_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "aws.h"
#include "aws_http_client.h"
#include "src_s3.h"

#define S3_LIST_BODY_MAX  ((size_t)32 << 20)
#define S3_PATH_MAX       ((size_t)16 << 10)
#define S3_HEADERS_MAX    ((size_t)64 << 10)
#define KEYS_BODY_MAX     ((size_t)4 << 20)
#define DEFAULT_STREAMS   8
#define KEYS_DEFAULT_FROM 1383264000 /* 2013-11-01: before CloudTrail signed anything */

struct s3_store {
    struct aws_session aws; /* global state, config, endpoint, credentials, client */
    char bucket[256];
};

static enum lsf_code s3_address(struct s3_store *s, const char *bucket, const char *key,
        char host[AWS_HOST_MAX], struct lsf_buf *path, struct lsf_err *err)
{
    return aws_s3_address(&s->aws.ep, aws_s3_path_style(s->aws.cfg, &s->aws.ep, bucket), bucket, key, host,
            path, err);
}

static enum lsf_code s3_list(void *self, const char *prefix, struct verify_listing *out,
        struct lsf_err *err)
{
    struct s3_store *s = self;
    char *token = NULL;
    size_t cap = 0;
    enum lsf_code rc = LSF_OK;
    char resource[2048];

    memset(out, 0, sizeof(*out));
    snprintf(resource, sizeof(resource), "s3://%s/%s", s->bucket, prefix);
    do {
        char host[AWS_HOST_MAX];
        struct lsf_buf path;
        struct lsf_buf body;
        struct aws_kv query[4];
        size_t n_query = 0;
        struct fetch_s3_page page;

        memset(&page, 0, sizeof(page));
        lsf_buf_init(&path, S3_PATH_MAX);
        lsf_buf_init(&body, S3_LIST_BODY_MAX);
        query[n_query++] = (struct aws_kv){"list-type", "2"};
        query[n_query++] = (struct aws_kv){"encoding-type", "url"};
        if (prefix[0])
            query[n_query++] = (struct aws_kv){"prefix", prefix};
        if (token)
            query[n_query++] = (struct aws_kv){"continuation-token", token};
        rc = s3_address(s, s->bucket, NULL, host, &path, err);
        if (rc == LSF_OK) {
            struct aws_call call = {&s->aws.ep, "GET", host, (const char *)path.data, query, n_query,
                    AWS_PROTO_REST_XML, "ListObjectsV2", resource};

            rc = aws_client_call(s->aws.client, &call, &body, err);
        }
        if (rc == LSF_OK) {
            rc = fetch_s3_list_parse((const char *)body.data, body.len, &page, err);
            if (rc != LSF_OK)
                lsf_err_prefix(err, "%s: ", resource);
        }
        free(token);
        token = NULL;
        for (size_t i = 0; rc == LSF_OK && i < page.n_keys; i++) {
            if (out->n_keys == cap) {
                size_t n = cap ? 2 * cap : 1024;
                char **keys = realloc(out->keys, n * sizeof(*keys));

                if (keys == NULL) {
                    rc = lsf_fail(err, LSF_E_NOMEM, "out of memory listing %s", resource);
                    break;
                }
                out->keys = keys;
                cap = n;
            }
            out->keys[out->n_keys++] = page.keys[i];
            page.keys[i] = NULL;
        }
        if (rc == LSF_OK && page.is_truncated) {
            token = strdup(page.next_token);
            if (token == NULL)
                rc = lsf_fail(err, LSF_E_NOMEM, "out of memory listing %s", resource);
        }
        fetch_s3_page_cleanup(&page);
        lsf_buf_cleanup(&path);
        lsf_buf_cleanup(&body);
    } while (rc == LSF_OK && token != NULL);
    free(token);
    if (rc == LSF_OK) {
        out->sizes = calloc(out->n_keys ? out->n_keys : 1, sizeof(*out->sizes));
        if (out->sizes == NULL)
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory listing %s", resource);
    }
    return rc;
}

/* Copy the value of header name (case-insensitive) from raw header lines into dst. */
static void header_get(const struct lsf_buf *hdrs, const char *name, char *dst, size_t cap)
{
    const char *p = (const char *)hdrs->data;
    const char *end = p ? p + hdrs->len : NULL;
    size_t name_len = strlen(name);

    dst[0] = '\0';
    while (p != NULL && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;

        if ((size_t)(line_end - p) > name_len && p[name_len] == ':' &&
                strncasecmp(p, name, name_len) == 0) {
            const char *v = p + name_len + 1;
            const char *ve = line_end;

            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            if ((size_t)(ve - v) < cap) {
                memcpy(dst, v, (size_t)(ve - v));
                dst[ve - v] = '\0';
            }
            return;
        }
        p = eol ? eol + 1 : end;
    }
}

static enum lsf_code s3_get(void *self, const char *bucket, const char *key,
        struct verify_object *obj, bool *is_missing, struct lsf_err *err)
{
    static const char *const algs[] = {"crc32", "crc32c", "crc64nvme", "sha1", "sha256"};
    struct s3_store *s = self;
    char host[AWS_HOST_MAX];
    struct lsf_buf path;
    struct lsf_buf hdrs;
    char *uri = verify_uri(bucket && bucket[0] ? bucket : s->bucket, key);
    struct aws_kv headers[] = {{"x-amz-checksum-mode", "ENABLED"}};
    enum lsf_code rc;

    *is_missing = false;
    if (uri == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    lsf_buf_init(&path, S3_PATH_MAX);
    lsf_buf_init(&hdrs, S3_HEADERS_MAX);
    obj->has_metadata = true;
    rc = s3_address(s, bucket && bucket[0] ? bucket : s->bucket, key, host, &path, err);
    if (rc == LSF_OK) {
        struct aws_call call = {&s->aws.ep, "GET", host, (const char *)path.data, NULL, 0,
                AWS_PROTO_REST_XML, "GetObject", uri};
        struct aws_call_extra extra = {headers, 1, NULL, 0, &hdrs};

        rc = aws_client_call_extra(s->aws.client, &call, &extra, &obj->body, err);
    }
    if (rc != LSF_OK) {
        *is_missing = err && (strstr(err->msg, "NoSuchKey") || strstr(err->msg, "HTTP 404"));
        goto out;
    }
    {
        char etag[sizeof(obj->etag) + 2];

        header_get(&hdrs, "etag", etag, sizeof(etag));
        size_t n = strlen(etag);
        const char *from = etag;

        if (n >= 2 && etag[0] == '"') {
            from++;
            n -= 2;
        }
        if (n < sizeof(obj->etag)) {
            memcpy(obj->etag, from, n);
            obj->etag[n] = '\0';
        }
    }
    header_get(&hdrs, "x-amz-meta-signature", obj->signature, sizeof(obj->signature));
    header_get(&hdrs, "x-amz-meta-signature-algorithm", obj->signature_algorithm,
            sizeof(obj->signature_algorithm));
    if (obj->signature[0])
        snprintf(obj->signature_source, sizeof(obj->signature_source), "s3 metadata");
    header_get(&hdrs, "x-amz-checksum-type", obj->checksum_type, sizeof(obj->checksum_type));
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char name[40];

        snprintf(name, sizeof(name), "x-amz-checksum-%s", algs[i]);
        header_get(&hdrs, name, obj->checksum, sizeof(obj->checksum));
        if (obj->checksum[0]) {
            snprintf(obj->checksum_algorithm, sizeof(obj->checksum_algorithm), "%s", algs[i]);
            break;
        }
    }
out:
    lsf_buf_cleanup(&path);
    lsf_buf_cleanup(&hdrs);
    free(uri);
    return rc;
}

static void s3_free(void *self)
{
    struct s3_store *s = self;

    if (s == NULL)
        return;
    aws_session_close(&s->aws);
    free(s);
}

static const struct verify_store_ops s3_ops = {s3_list, s3_get, s3_free};

enum lsf_code verify_store_open_s3(const char *url, const struct verify_s3_opts *opts,
        struct verify_store *out, struct lsf_err *err)
{
    struct s3_store *s;
    struct aws_config_opts cfg_opts = {opts->profile, opts->region, NULL};
    const char *rest = url + 5;
    const char *slash;
    size_t bucket_len;
    enum lsf_code rc;

    memset(out, 0, sizeof(*out));
    if (!fetch_s3_is_url(url))
        return lsf_fail(err, LSF_E_USAGE, "%s: give an S3 location as s3://bucket/prefix", url);
    slash = strchr(rest, '/');
    bucket_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (bucket_len == 0 || bucket_len > 63)
        return lsf_fail(err, LSF_E_USAGE, "%s: give an S3 location as s3://bucket/prefix", url);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    snprintf(s->bucket, sizeof(s->bucket), "%.*s", (int)bucket_len, rest);
    rc = aws_session_open(&cfg_opts, AWS_SVC_S3, opts->endpoint_url,
            opts->concurrency ? opts->concurrency : DEFAULT_STREAMS, &s->aws, err);
    if (rc != LSF_OK) {
        s3_free(s);
        return rc;
    }
    out->ops = &s3_ops;
    out->self = s;
    out->is_local = false;
    snprintf(out->bucket, sizeof(out->bucket), "%s", s->bucket);
    snprintf(out->prefix, sizeof(out->prefix), "%s", slash ? slash + 1 : "");
    return LSF_OK;
}

/* ---- ListPublicKeys (7.5) --------------------------------------------------------------- */

/* Decode base64 text into a heap buffer; false when malformed. */
static bool b64_decode(const char *text, unsigned char **out, size_t *len)
{
    size_t n = strlen(text);
    int got;
    size_t pad = 0;

    *out = malloc(n / 4 * 3 + 4);
    if (*out == NULL || n % 4 != 0)
        goto bad;
    got = EVP_DecodeBlock(*out, (const unsigned char *)text, (int)n);
    if (got < 0)
        goto bad;
    while (n > 0 && text[n - 1] == '=' && pad < 2) {
        pad++;
        n--;
    }
    *len = (size_t)got - pad;
    return true;
bad:
    free(*out);
    *out = NULL;
    return false;
}

static enum lsf_code parse_keys(const struct lsf_buf *body, struct verify_keyring *kr,
        char **next_token, struct lsf_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body->data ? (const char *)body->data : "", body->len, 0, &jerr);
    json_t *list;
    json_t *tok;
    enum lsf_code rc = LSF_OK;

    *next_token = NULL;
    if (root == NULL)
        return lsf_fail(err, LSF_E_INPUT, "cloudtrail ListPublicKeys: answer is not JSON (%s)",
                jerr.text);
    list = json_object_get(root, "PublicKeyList");
    if (!json_is_array(list)) {
        rc = lsf_fail(err, LSF_E_INPUT, "cloudtrail ListPublicKeys: answer has no PublicKeyList");
        goto out;
    }
    for (size_t i = 0; rc == LSF_OK && i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        const char *value = json_string_value(json_object_get(e, "Value"));
        const char *fp = json_string_value(json_object_get(e, "Fingerprint"));
        unsigned char *der = NULL;
        size_t der_len = 0;

        if (value == NULL || fp == NULL || !b64_decode(value, &der, &der_len)) {
            rc = lsf_fail(err, LSF_E_INPUT,
                    "cloudtrail ListPublicKeys: PublicKeyList[%zu] lacks a base64 Value or a "
                    "Fingerprint",
                    i);
            break;
        }
        rc = verify_keyring_add_der(kr, der, der_len, fp, err);
        free(der);
    }
    tok = json_object_get(root, "NextToken");
    if (rc == LSF_OK && json_is_string(tok) && json_string_length(tok) > 0) {
        *next_token = strdup(json_string_value(tok));
        if (*next_token == NULL)
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
out:
    json_decref(root);
    return rc;
}

static enum lsf_code list_keys(struct verify_store *store, struct verify_keyring *kr,
        const char *since, const char *until, const char *region, struct lsf_err *err);

enum lsf_code verify_s3_list_public_keys(struct verify_store *store, struct verify_keyring *kr,
        const char *since, const char *until, struct lsf_err *err)
{
    return list_keys(store, kr, since, until, NULL, err);
}

enum lsf_code verify_s3_load_region_keys(void *ctx, const char *region, struct lsf_err *err)
{
    struct verify_s3_keys *k = ctx;

    return list_keys(k->store, k->kr, k->since, k->until, region, err);
}

/* ListPublicKeys in region (NULL: the configured one), every page, into kr. */
static enum lsf_code list_keys(struct verify_store *store, struct verify_keyring *kr,
        const char *since, const char *until, const char *region, struct lsf_err *err)
{
    struct s3_store *s = store->self;
    struct aws_endpoint ep;
    int64_t from = KEYS_DEFAULT_FROM;
    int64_t to = (int64_t)time(NULL) + 2 * 3600;
    char *token = NULL;
    enum lsf_code rc;

    if (since && !verify_time_parse(since, &from))
        return lsf_fail(err, LSF_E_USAGE, "--since %s: not a date", since);
    if (until && !verify_time_parse(until, &to))
        return lsf_fail(err, LSF_E_USAGE, "--until %s: not a date", until);
    if (until)
        to += 86400 + 2 * 3600;
    rc = aws_endpoint_resolve(s->aws.cfg, AWS_SVC_CLOUDTRAIL, NULL, &ep, err);
    if (rc != LSF_OK)
        return rc;
    if (region != NULL && strcmp(region, ep.region) != 0) {
        /* another region's keys: its own endpoint, or the configured one signed for it */
        snprintf(ep.region, sizeof(ep.region), "%s", region);
        if (!ep.is_custom)
            snprintf(ep.host, sizeof(ep.host), "cloudtrail.%s.amazonaws.com%s", region,
                    strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    }
    do {
        struct lsf_buf body;
        json_t *req = json_pack("{s:I, s:I}", "StartTime", (json_int_t)from, "EndTime",
                (json_int_t)to);
        char *req_text;
        struct aws_kv headers[] = {
                {"Content-Type", "application/x-amz-json-1.1"},
                {"X-Amz-Target",
                        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys"}};

        if (req && token)
            json_object_set_new(req, "NextToken", json_string(token));
        req_text = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        free(token);
        token = NULL;
        if (req_text == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory");
        lsf_buf_init(&body, KEYS_BODY_MAX);
        {
            char path[AWS_PATH_PREFIX_MAX + 2];
            struct aws_call call = {&ep, "POST", ep.host, path, NULL, 0, AWS_PROTO_JSON,
                    "ListPublicKeys", "cloudtrail"};
            struct aws_call_extra extra = {headers, 2, req_text, strlen(req_text), NULL};

            snprintf(path, sizeof(path), "%s/", ep.base_path);
            rc = aws_client_call_extra(s->aws.client, &call, &extra, &body, err);
        }
        free(req_text);
        if (rc == LSF_OK)
            rc = parse_keys(&body, kr, &token, err);
        lsf_buf_cleanup(&body);
    } while (rc == LSF_OK && token != NULL);
    free(token);
    return rc;
}
