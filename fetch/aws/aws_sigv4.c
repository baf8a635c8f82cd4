/*
 * aws_sigv4: AWS Signature Version 4, computed by logsift itself.
 *
 * Why not curl's CURLOPT_AWS_SIGV4: in libcurl 7.88 (Debian 12) it signs the query and path
 * verbatim, sorts whole header lines, never adds x-amz-content-sha256 or the session token
 * (shared/spec/aws-facts.md 1.6). Working around each gap would spread signing rules over
 * every caller; one small signer keeps them here, where the published vectors (1.5) and a
 * differential test against botocore's SigV4Auth/S3SigV4Auth pin them down.
 *
 * Design: the canonical request is built into one bounded buffer in the order of 1.1; the
 * signing key is the HMAC-SHA256 chain of 1.2 (OpenSSL's one-shot HMAC()). The rules that
 * differ from service to service follow botocore/auth.py: S3 signs its wire path untouched,
 * others remove dot segments and encode the wire path a second time; headers botocore never
 * signs are skipped; x-amz-content-sha256 is sent for S3 and whenever the payload is unsigned.
 * The secret only ever enters HMAC, and the key material is wiped after use.
 */
#include "aws.h"
#include "aws_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* Canonical requests are small; the ceiling only stops a runaway caller. */
#define SIGV4_MAX_CANONICAL (4u << 20)

/* botocore auth.py SIGNED_HEADERS_BLACKLIST (1.43): hop-by-hop or rewritten by proxies. */
static const char *const never_signed[] = {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
};

/* Headers whose values the signer computes; a caller supplying them has a bug. */
static const char *const signer_owned[] = {
        "host",
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
};

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Compare two header names as their lower-case forms compare (byte order). */
static int name_casecmp(const char *a, const char *b)
{
    while (*a && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return ascii_lower((unsigned char)*a) - ascii_lower((unsigned char)*b);
}

static bool name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (name_casecmp(name, list[i]) == 0)
            return true;
    }
    return false;
}

/* RFC 7230 token characters: what a header name may contain. */
static bool is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~';
}

enum lsf_code aws_uri_encode(
        const char *in, size_t len, bool keep_slash, struct lsf_buf *out, struct lsf_err *err)
{
    static const char hexdig[] = "0123456789ABCDEF";
    enum lsf_code rc;

    /* Worst case every byte becomes three, plus the NUL. */
    rc = lsf_buf_reserve(out, len * 3 + 1, err);
    if (rc != LSF_OK)
        return rc;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (unsigned char)hexdig[c >> 4];
            out->data[out->len++] = (unsigned char)hexdig[c & 15];
        }
    }
    out->data[out->len] = '\0';
    return LSF_OK;
}

/* ---- canonical URI -------------------------------------------------------------------------- */

/*
 * botocore utils.remove_dot_segments: drop "", "." and ".." (with the segment before it), keep
 * the leading '/' and a trailing '/' when anything is left. The result is then encoded again.
 */
static enum lsf_code append_normalized_path(
        const char *path, struct lsf_buf *out, struct lsf_err *err)
{
    size_t len = strlen(path);
    size_t *starts = NULL;
    size_t *lens = NULL;
    size_t n = 0;
    size_t pos = 0;
    enum lsf_code rc = LSF_OK;

    /* A path of len bytes has at most len / 2 + 1 non-empty segments. */
    starts = malloc((len / 2 + 1) * sizeof(*starts));
    lens = malloc((len / 2 + 1) * sizeof(*lens));
    if (starts == NULL || lens == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory signing a request");
        goto out;
    }
    while (pos <= len) {
        size_t end = pos;
        while (end < len && path[end] != '/')
            end++;
        size_t seg = end - pos;
        if (seg == 2 && path[pos] == '.' && path[pos + 1] == '.') {
            if (n > 0)
                n--;
        } else if (seg > 0 && !(seg == 1 && path[pos] == '.')) {
            starts[n] = pos;
            lens[n] = seg;
            n++;
        }
        pos = end + 1;
    }
    if (path[0] == '/')
        rc = aws_buf_puts(out, "/", err);
    for (size_t i = 0; i < n && rc == LSF_OK; i++) {
        if (i > 0)
            rc = aws_buf_puts(out, "/", err);
        if (rc == LSF_OK)
            rc = aws_uri_encode(path + starts[i], lens[i], true, out, err);
    }
    if (rc == LSF_OK && n > 0 && path[len - 1] == '/')
        rc = aws_buf_puts(out, "/", err);
out:
    free(starts);
    free(lens);
    return rc;
}

static enum lsf_code append_canonical_uri(
        const char *path, bool is_s3, struct lsf_buf *out, struct lsf_err *err)
{
    if (path == NULL || path[0] == '\0')
        return aws_buf_puts(out, "/", err);
    if (is_s3)
        return aws_buf_puts(out, path, err);
    return append_normalized_path(path, out, err);
}

/* ---- canonical query ------------------------------------------------------------------------ */

struct qpair {
    const char *name; /* encoded */
    const char *value;
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a;
    const struct qpair *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

enum lsf_code aws_sigv4_query_string(
        const struct aws_request *req, struct lsf_buf *out, struct lsf_err *err)
{
    struct lsf_buf enc;
    struct qpair *pairs = NULL;
    size_t *offs = NULL;
    enum lsf_code rc = LSF_OK;

    lsf_buf_init(&enc, SIGV4_MAX_CANONICAL);
    if (req->n_query == 0)
        return aws_buf_nul(out, err);
    pairs = calloc(req->n_query, sizeof(*pairs));
    offs = calloc(req->n_query * 2, sizeof(*offs));
    if (pairs == NULL || offs == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory signing a request");
        goto out;
    }
    /* Encode everything into one buffer, NUL-separated; take pointers once it stops moving. */
    for (size_t i = 0; i < req->n_query && rc == LSF_OK; i++) {
        const char *name = req->query[i].name;
        const char *value = req->query[i].value ? req->query[i].value : "";
        offs[2 * i] = enc.len;
        rc = aws_uri_encode(name, strlen(name), false, &enc, err);
        if (rc == LSF_OK)
            rc = lsf_buf_append(&enc, "", 1, err);
        offs[2 * i + 1] = enc.len;
        if (rc == LSF_OK)
            rc = aws_uri_encode(value, strlen(value), false, &enc, err);
        if (rc == LSF_OK)
            rc = lsf_buf_append(&enc, "", 1, err);
    }
    if (rc != LSF_OK)
        goto out;
    for (size_t i = 0; i < req->n_query; i++) {
        pairs[i].name = (const char *)enc.data + offs[2 * i];
        pairs[i].value = (const char *)enc.data + offs[2 * i + 1];
    }
    qsort(pairs, req->n_query, sizeof(*pairs), qpair_cmp);
    for (size_t i = 0; i < req->n_query && rc == LSF_OK; i++) {
        if (i > 0)
            rc = aws_buf_puts(out, "&", err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(out, pairs[i].name, err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(out, "=", err);
        if (rc == LSF_OK)
            rc = aws_buf_puts(out, pairs[i].value, err);
    }
    if (rc == LSF_OK)
        rc = aws_buf_nul(out, err);
out:
    free(pairs);
    free(offs);
    lsf_buf_cleanup(&enc);
    return rc;
}

/* ---- canonical headers ---------------------------------------------------------------------- */

struct hdr {
    const char *name; /* any case */
    const char *value;
    size_t order; /* position in the request: same-name values keep it */
};

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a;
    const struct hdr *y = b;
    int c = name_casecmp(x->name, y->name);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static enum lsf_code check_header(const struct aws_kv *h, struct lsf_err *err)
{
    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL)
        return lsf_fail(err, LSF_E_INTERNAL, "SigV4: a header without a name or value");
    for (const char *p = h->name; *p; p++) {
        if (!is_token_char((unsigned char)*p))
            return lsf_fail(err, LSF_E_INTERNAL, "SigV4: header name is not an HTTP token");
    }
    if (name_in(h->name, signer_owned, sizeof(signer_owned) / sizeof(signer_owned[0])))
        return lsf_fail(err, LSF_E_INTERNAL, "SigV4: header %s is set by the signer", h->name);
    /* CR, LF or NUL would split the header; other controls are refused with them. */
    for (const char *p = h->value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return lsf_fail(err, LSF_E_INTERNAL,
                    "SigV4: header %s has a control character in its value", h->name);
    }
    return LSF_OK;
}

/* Append value trimmed, inner runs of spaces and tabs collapsed to one space (Trimall). */
static enum lsf_code append_trimall(const char *value, struct lsf_buf *out, struct lsf_err *err)
{
    bool pending_space = false;
    bool started = false;
    enum lsf_code rc = LSF_OK;

    for (const char *p = value; *p && rc == LSF_OK; p++) {
        if (*p == ' ' || *p == '\t') {
            pending_space = started;
            continue;
        }
        if (pending_space)
            rc = lsf_buf_append(out, " ", 1, err);
        if (rc == LSF_OK)
            rc = lsf_buf_append(out, p, 1, err);
        pending_space = false;
        started = true;
    }
    return rc;
}

static enum lsf_code append_lower(const char *name, struct lsf_buf *out, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    for (const char *p = name; *p && rc == LSF_OK; p++) {
        char c = (char)ascii_lower((unsigned char)*p);
        rc = lsf_buf_append(out, &c, 1, err);
    }
    return rc;
}

/*
 * Canonical headers (each "name:value\n"), then an empty line's worth of '\n', into cr; the
 * signed-header list into signed_list (NUL-terminated).
 */
static enum lsf_code append_headers(const struct aws_request *req, const struct hdr *extra,
        size_t n_extra, struct lsf_buf *cr, struct lsf_buf *signed_list, struct lsf_err *err)
{
    struct hdr *all = NULL;
    size_t n = 0;
    enum lsf_code rc = LSF_OK;

    all = calloc(req->n_headers + n_extra, sizeof(*all));
    if (all == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory signing a request");
    for (size_t i = 0; i < req->n_headers; i++) {
        rc = check_header(&req->headers[i], err);
        if (rc != LSF_OK)
            goto out;
        if (name_in(req->headers[i].name, never_signed,
                    sizeof(never_signed) / sizeof(never_signed[0])))
            continue;
        all[n].name = req->headers[i].name;
        all[n].value = req->headers[i].value;
        all[n].order = n;
        n++;
    }
    for (size_t i = 0; i < n_extra; i++) {
        all[n] = extra[i];
        all[n].order = n;
        n++;
    }
    qsort(all, n, sizeof(*all), hdr_cmp);
    for (size_t i = 0; i < n && rc == LSF_OK; i++) {
        bool same_as_prev = i > 0 && name_casecmp(all[i].name, all[i - 1].name) == 0;
        if (same_as_prev) {
            rc = aws_buf_puts(cr, ",", err);
        } else {
            if (i > 0)
                rc = aws_buf_puts(cr, "\n", err);
            if (rc == LSF_OK && i > 0)
                rc = aws_buf_puts(signed_list, ";", err);
            if (rc == LSF_OK)
                rc = append_lower(all[i].name, cr, err);
            if (rc == LSF_OK)
                rc = append_lower(all[i].name, signed_list, err);
            if (rc == LSF_OK)
                rc = aws_buf_puts(cr, ":", err);
        }
        if (rc == LSF_OK)
            rc = append_trimall(all[i].value, cr, err);
    }
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, "\n\n", err);
    if (rc == LSF_OK)
        rc = aws_buf_nul(signed_list, err);
out:
    free(all);
    return rc;
}

/* ---- the whole canonical request ------------------------------------------------------------ */

static bool is_lower_hex64(const char *s)
{
    size_t i = 0;

    for (; s[i]; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return i == 64;
}

/* Everything the canonical request depends on besides req. */
struct sig_parts {
    char amz_date[17];
    char payload_hash[65];
    bool send_content_sha;
    struct lsf_buf signed_list;
};

static enum lsf_code prepare_parts(const struct aws_request *req, const struct aws_signing *sig,
        struct sig_parts *parts, struct lsf_err *err)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    bool is_s3;

    assert(req->method && req->host && sig->creds && sig->region && sig->service);
    lsf_buf_init(&parts->signed_list, SIGV4_MAX_CANONICAL);
    is_s3 = strcmp(sig->service, "s3") == 0;
    aws_time_amz(sig->time_s, parts->amz_date);
    if (req->payload_hash != NULL) {
        if (strcmp(req->payload_hash, AWS_UNSIGNED_PAYLOAD) != 0 &&
                !is_lower_hex64(req->payload_hash))
            return lsf_fail(err, LSF_E_INTERNAL,
                    "SigV4: payload hash is neither lower-case hex SHA-256 nor %s",
                    AWS_UNSIGNED_PAYLOAD);
        aws_copy(parts->payload_hash, sizeof(parts->payload_hash), req->payload_hash);
    } else {
        SHA256(req->payload_len ? req->payload : (const void *)"", req->payload_len, digest);
        aws_hex(digest, sizeof(digest), parts->payload_hash);
    }
    parts->send_content_sha = is_s3 || strcmp(parts->payload_hash, AWS_UNSIGNED_PAYLOAD) == 0;
    return LSF_OK;
}

static enum lsf_code build_canonical(const struct aws_request *req, const struct aws_signing *sig,
        struct sig_parts *parts, struct lsf_buf *cr, struct lsf_err *err)
{
    struct hdr extra[4];
    size_t n_extra = 0;
    const char *token = sig->creds->session_token;
    enum lsf_code rc;

    extra[n_extra++] = (struct hdr){"host", req->host, 0};
    extra[n_extra++] = (struct hdr){"x-amz-date", parts->amz_date, 0};
    if (parts->send_content_sha)
        extra[n_extra++] = (struct hdr){"x-amz-content-sha256", parts->payload_hash, 0};
    if (token[0] != '\0')
        extra[n_extra++] = (struct hdr){"x-amz-security-token", token, 0};

    rc = aws_buf_puts(cr, req->method, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, "\n", err);
    if (rc == LSF_OK)
        rc = append_canonical_uri(req->path, strcmp(sig->service, "s3") == 0, cr, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, "\n", err);
    if (rc == LSF_OK)
        rc = aws_sigv4_query_string(req, cr, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, "\n", err);
    if (rc == LSF_OK)
        rc = append_headers(req, extra, n_extra, cr, &parts->signed_list, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, (const char *)parts->signed_list.data, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, "\n", err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(cr, parts->payload_hash, err);
    if (rc == LSF_OK)
        rc = aws_buf_nul(cr, err);
    return rc;
}

static enum lsf_code build_string_to_sign(const struct aws_request *req,
        const struct aws_signing *sig, struct sig_parts *parts, struct lsf_buf *out,
        struct lsf_err *err)
{
    struct lsf_buf cr;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    char head[256];
    enum lsf_code rc;

    lsf_buf_init(&cr, SIGV4_MAX_CANONICAL);
    rc = build_canonical(req, sig, parts, &cr, err);
    if (rc != LSF_OK)
        goto out;
    SHA256(cr.data, cr.len, digest);
    aws_hex(digest, sizeof(digest), hex);
    snprintf(head, sizeof(head), "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n", parts->amz_date,
            parts->amz_date, sig->region, sig->service);
    rc = aws_buf_puts(out, head, err);
    if (rc == LSF_OK)
        rc = aws_buf_puts(out, hex, err);
    if (rc == LSF_OK)
        rc = aws_buf_nul(out, err);
out:
    lsf_buf_cleanup(&cr);
    return rc;
}

enum lsf_code aws_sigv4_canonical_request(const struct aws_request *req,
        const struct aws_signing *sig, struct lsf_buf *out, struct lsf_err *err)
{
    struct sig_parts parts;
    enum lsf_code rc = prepare_parts(req, sig, &parts, err);

    if (rc == LSF_OK)
        rc = build_canonical(req, sig, &parts, out, err);
    lsf_buf_cleanup(&parts.signed_list);
    return rc;
}

enum lsf_code aws_sigv4_string_to_sign(const struct aws_request *req, const struct aws_signing *sig,
        struct lsf_buf *out, struct lsf_err *err)
{
    struct sig_parts parts;
    enum lsf_code rc = prepare_parts(req, sig, &parts, err);

    if (rc == LSF_OK)
        rc = build_string_to_sign(req, sig, &parts, out, err);
    lsf_buf_cleanup(&parts.signed_list);
    return rc;
}

static void hmac_sha256(const unsigned char *key, size_t key_len, const void *msg, size_t len,
        unsigned char out[32])
{
    unsigned int out_len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &out_len);
    assert(out_len == 32);
}

void aws_sigv4_signing_key(const char *secret, const char *date8, const char *region,
        const char *service, unsigned char key[32])
{
    unsigned char k_date[32];
    unsigned char k_region[32];
    unsigned char k_service[32];
    char first[4 + AWS_SECRET_MAX];
    size_t secret_len = strlen(secret);

    assert(secret_len < AWS_SECRET_MAX);
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret, secret_len);
    hmac_sha256((const unsigned char *)first, 4 + secret_len, date8, 8, k_date);
    hmac_sha256(k_date, 32, region, strlen(region), k_region);
    hmac_sha256(k_region, 32, service, strlen(service), k_service);
    hmac_sha256(k_service, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(first, sizeof(first));
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_region, sizeof(k_region));
    OPENSSL_cleanse(k_service, sizeof(k_service));
}

enum lsf_code aws_sigv4_sign(const struct aws_request *req, const struct aws_signing *sig,
        struct aws_signature *out, struct lsf_err *err)
{
    struct sig_parts parts;
    struct lsf_buf sts;
    unsigned char key[32];
    unsigned char mac[32];
    char hex[65];
    int n;
    enum lsf_code rc;

    memset(out, 0, sizeof(*out));
    lsf_buf_init(&sts, SIGV4_MAX_CANONICAL);
    rc = prepare_parts(req, sig, &parts, err);
    if (rc != LSF_OK)
        goto out;
    if (sig->creds->access_key_id[0] == '\0' || sig->creds->secret_access_key[0] == '\0') {
        rc = lsf_fail(err, LSF_E_INTERNAL, "SigV4: signing without credentials");
        goto out;
    }
    rc = build_string_to_sign(req, sig, &parts, &sts, err);
    if (rc != LSF_OK)
        goto out;
    aws_sigv4_signing_key(
            sig->creds->secret_access_key, parts.amz_date, sig->region, sig->service, key);
    hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
    aws_hex(mac, sizeof(mac), hex);
    n = snprintf(out->authorization, sizeof(out->authorization),
            "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
            "Signature=%s",
            sig->creds->access_key_id, parts.amz_date, sig->region, sig->service,
            (const char *)parts.signed_list.data, hex);
    if (n < 0 || (size_t)n >= sizeof(out->authorization)) {
        rc = lsf_fail(err, LSF_E_INTERNAL, "SigV4: Authorization header longer than %d bytes",
                AWS_AUTH_HEADER_MAX);
        goto out;
    }
    memcpy(out->amz_date, parts.amz_date, sizeof(out->amz_date));
    if (parts.send_content_sha)
        memcpy(out->content_sha256, parts.payload_hash, sizeof(out->content_sha256));
    out->security_token = sig->creds->session_token[0] ? sig->creds->session_token : NULL;
out:
    OPENSSL_cleanse(key, sizeof(key));
    lsf_buf_cleanup(&parts.signed_list);
    lsf_buf_cleanup(&sts);
    if (rc != LSF_OK)
        out->authorization[0] = '\0';
    return rc;
}
