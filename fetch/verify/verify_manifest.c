/*
 * verify_manifest: signed manifests for backups that carry no digests (CloudWatch Logs
 * exports, Firehose backups, any folder of logs).
 *
 * `manifest create` records what the backup holds now; `verify --manifest` later proves it
 * still does. The format (verify.h) is JSON lines so a manifest of a million objects streams
 * and diffs well; the signature line covers every byte before it, exactly as written, so no
 * canonical JSON form is needed. SHA-256 is over the stored bytes (what a copy must preserve);
 * the archive is also decompressed on both sides, so a damaged object is "unreadable" even
 * when its bytes were damaged before the manifest was made.
 *
 * Keys: HMAC-SHA256 with a shared secret (a file's bytes, a trailing newline dropped, or
 * $LOGSIFT_MANIFEST_KEY), or Ed25519 with a PEM key (OpenSSL EVP_DigestSign with no digest).
 * A manifest whose signature does not check is refused outright (LSF_E_USAGE): comparing a
 * backup with a forged baseline would prove nothing.
 */
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MANIFEST_ENV       "LOGSIFT_MANIFEST_KEY"
#define MANIFEST_MAX       ((size_t)1 << 30)
#define KEY_MAX            ((size_t)64 << 10)
#define OBJECT_MAX_DEFAULT ((size_t)4 << 30)
#define PLAIN_MAX          ((size_t)4 << 30)
#define SIG_HEX_MAX        257

/* The signing key: an HMAC secret or an Ed25519 key. */
struct mkey {
    unsigned char *secret;
    size_t secret_len;
    EVP_PKEY *ed25519;
    bool is_private;
};

static void mkey_cleanup(struct mkey *k)
{
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->ed25519);
    memset(k, 0, sizeof(*k));
}

static enum lsf_code mkey_load(const char *path, struct mkey *k, struct lsf_err *err)
{
    unsigned char *data;
    size_t len = 0;
    FILE *f;

    memset(k, 0, sizeof(*k));
    if (path == NULL) {
        const char *env = getenv(MANIFEST_ENV);

        if (env == NULL || env[0] == '\0')
            return lsf_fail(err, LSF_E_USAGE,
                    "no manifest key: give --manifest-key FILE (an HMAC secret or an Ed25519 "
                    "PEM key) or set %s",
                    MANIFEST_ENV);
        k->secret = (unsigned char *)strdup(env);
        k->secret_len = strlen(env);
        return k->secret ? LSF_OK : lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    f = fopen(path, "rb");
    if (f == NULL)
        return lsf_fail(err, LSF_E_USAGE, "--manifest-key %s: cannot open (%s)", path,
                strerror(errno));
    data = malloc(KEY_MAX);
    if (data == NULL) {
        fclose(f);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    len = fread(data, 1, KEY_MAX, f);
    fclose(f);
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);

        k->ed25519 = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        k->is_private = k->ed25519 != NULL;
        if (k->ed25519 == NULL && bio != NULL) {
            (void)BIO_reset(bio);
            k->ed25519 = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        }
        BIO_free(bio);
        ERR_clear_error();
        free(data);
        if (k->ed25519 == NULL || EVP_PKEY_get_base_id(k->ed25519) != EVP_PKEY_ED25519) {
            mkey_cleanup(k);
            return lsf_fail(err, LSF_E_USAGE,
                    "--manifest-key %s: a PEM key but not Ed25519; make one with `openssl "
                    "genpkey -algorithm ed25519`, or use a plain secret file for HMAC",
                    path);
        }
        return LSF_OK;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len == 0) {
        free(data);
        return lsf_fail(err, LSF_E_USAGE, "--manifest-key %s: empty secret", path);
    }
    k->secret = data;
    k->secret_len = len;
    return LSF_OK;
}

static const char *mkey_alg(const struct mkey *k)
{
    return k->ed25519 ? "ed25519" : "hmac-sha256";
}

/* Sign bytes into hex (SIG_HEX_MAX). */
static bool mkey_sign(const struct mkey *k, const unsigned char *bytes, size_t len, char *hex)
{
    unsigned char sig[128];
    size_t sig_len = sizeof(sig);

    if (k->ed25519) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && k->is_private &&
                  EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->ed25519) == 1 &&
                  EVP_DigestSign(ctx, sig, &sig_len, bytes, len) == 1;

        EVP_MD_CTX_free(ctx);
        if (!ok)
            return false;
    } else if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->secret_len, bytes, len,
                       sig, sizeof(sig), &sig_len) == NULL) {
        return false;
    }
    aws_hex(sig, sig_len, hex);
    return true;
}

static bool mkey_check(const struct mkey *k, const char *alg, const unsigned char *bytes,
        size_t len, const char *hex)
{
    unsigned char sig[128];
    size_t sig_len = 0;

    if (strcmp(alg, mkey_alg(k)) != 0 || !verify_unhex(hex, sig, sizeof(sig), &sig_len))
        return false;
    if (k->ed25519) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->ed25519) == 1 &&
                  EVP_DigestVerify(ctx, sig, sig_len, bytes, len) == 1;

        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        return ok;
    }
    {
        char mine[SIG_HEX_MAX];

        /* compare MACs in constant time */
        return mkey_sign(k, bytes, len, mine) && strlen(mine) == strlen(hex) &&
               CRYPTO_memcmp(mine, hex, strlen(hex)) == 0;
    }
}

static bool is_probe(const char *key)
{
    const char *base = strrchr(key, '/');

    return strcmp(base ? base + 1 : key, "aws-logs-write-test") == 0;
}

static enum lsf_code obj_uri(const struct verify_store *store, const char *key, char **uri,
        struct lsf_err *err)
{
    *uri = store->is_local && !store->bucket[0] ? strdup(key) : verify_uri(store->bucket, key);
    return *uri ? LSF_OK : lsf_fail(err, LSF_E_NOMEM, "out of memory");
}

enum lsf_code verify_manifest_create(struct verify_store *store, const char *out_path,
        const char *key_path, const char *source, verify_time_range_fn range, void *range_ctx,
        struct verify_report *rep, struct lsf_err *err)
{
    struct verify_listing list = {0};
    struct lsf_buf doc;
    struct mkey key;
    char created[24];
    char sig[SIG_HEX_MAX];
    enum lsf_code rc;
    FILE *f = NULL;

    lsf_buf_init(&doc, MANIFEST_MAX);
    rc = mkey_load(key_path, &key, err);
    if (rc != LSF_OK)
        return rc;
    if (key.ed25519 && !key.is_private) {
        mkey_cleanup(&key);
        return lsf_fail(err, LSF_E_USAGE,
                "--manifest-key %s: a public key cannot sign; give the Ed25519 private key",
                key_path);
    }
    rc = store->ops->list(store->self, store->prefix, &list, err);
    verify_time_format((int64_t)time(NULL), created, sizeof(created));
    if (rc == LSF_OK) {
        json_t *hdr = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "type", "logsift-manifest",
                "source", source, "created", created, "alg", mkey_alg(&key));
        char *text = hdr ? json_dumps(hdr, JSON_COMPACT) : NULL;

        rc = text ? lsf_buf_append(&doc, text, strlen(text), err)
                  : lsf_fail(err, LSF_E_NOMEM, "out of memory");
        if (rc == LSF_OK)
            rc = lsf_buf_append(&doc, "\n", 1, err);
        free(text);
        json_decref(hdr);
    }
    for (size_t i = 0; rc == LSF_OK && i < list.n_keys; i++) {
        const char *k = list.keys[i];
        struct verify_object obj;
        struct lsf_err e;
        bool is_missing = false;
        char sha[65];
        char first[32] = "";
        char last[32] = "";
        unsigned char md[32];
        char *uri = NULL;

        if (is_probe(k))
            continue;
        rc = obj_uri(store, k, &uri, err);
        if (rc != LSF_OK)
            break;
        verify_object_init(&obj, OBJECT_MAX_DEFAULT);
        lsf_err_clear(&e);
        if (store->ops->get(store->self, store->bucket, k, &obj, &is_missing, &e) != LSF_OK) {
            rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_UNREADABLE, uri,
                         "%s; left out of the manifest", e.msg) == LSF_OK
                         ? LSF_OK
                         : lsf_fail(err, LSF_E_NOMEM, "out of memory");
        } else {
            struct lsf_buf plain;
            json_t *line;
            char *text;

            EVP_Digest(obj.body.data ? obj.body.data : (const unsigned char *)"", obj.body.len,
                    md, NULL, EVP_sha256(), NULL);
            aws_hex(md, 32, sha);
            lsf_buf_init(&plain, PLAIN_MAX);
            if (verify_decompress(k, obj.body.data ? obj.body.data : (const unsigned char *)"",
                        obj.body.len, &plain, &e) != LSF_OK) {
                rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_UNREADABLE, uri,
                             "%s (recorded as stored; its events could not be read)", e.msg) ==
                                     LSF_OK
                             ? LSF_OK
                             : lsf_fail(err, LSF_E_NOMEM, "out of memory");
            } else if (range != NULL) {
                range(range_ctx, uri, plain.data, plain.len, first, last);
            }
            lsf_buf_cleanup(&plain);
            line = json_pack("{s:s, s:I, s:s, s:s?, s:s?, s:s?}", "key", k, "size",
                    (json_int_t)obj.body.len, "sha256", sha, "etag",
                    obj.etag[0] ? obj.etag : NULL, "first_event", first[0] ? first : NULL,
                    "last_event", last[0] ? last : NULL);
            text = line ? json_dumps(line, JSON_COMPACT) : NULL;
            if (rc == LSF_OK)
                rc = text ? lsf_buf_append(&doc, text, strlen(text), err)
                          : lsf_fail(err, LSF_E_NOMEM, "out of memory");
            if (rc == LSF_OK)
                rc = lsf_buf_append(&doc, "\n", 1, err);
            free(text);
            json_decref(line);
        }
        verify_object_cleanup(&obj);
        free(uri);
    }
    if (rc == LSF_OK && !mkey_sign(&key, doc.data, doc.len, sig))
        rc = lsf_fail(err, LSF_E_USAGE, "manifest: signing with %s failed", mkey_alg(&key));
    if (rc == LSF_OK) {
        f = fopen(out_path, "wb");
        if (f == NULL)
            rc = lsf_fail(err, LSF_E_IO, "%s: cannot write the manifest (%s)", out_path,
                    strerror(errno));
    }
    if (rc == LSF_OK) {
        fwrite(doc.data, 1, doc.len, f);
        fprintf(f, "{\"signature\":{\"alg\":\"%s\",\"value\":\"%s\"}}\n", mkey_alg(&key), sig);
        if (fflush(f) != 0 || ferror(f))
            rc = lsf_fail(err, LSF_E_IO, "%s: writing the manifest failed (%s)", out_path,
                    strerror(errno));
    }
    if (f != NULL && fclose(f) != 0 && rc == LSF_OK)
        rc = lsf_fail(err, LSF_E_IO, "%s: closing the manifest failed (%s)", out_path,
                strerror(errno));
    mkey_cleanup(&key);
    lsf_buf_cleanup(&doc);
    verify_listing_cleanup(&list);
    return rc;
}

/* One manifest entry. */
struct entry {
    char *key;
    uint64_t size;
    char sha[65];
    bool is_seen;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

/* Read and authenticate the manifest; entries sorted by key. */
static enum lsf_code manifest_load(const char *path, const struct mkey *key, struct entry **out,
        size_t *n_out, struct lsf_err *err)
{
    struct lsf_buf raw;
    struct entry *entries = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t pos = 0;
    size_t line_no = 0;
    size_t sig_start = 0;
    bool is_signed = false;
    enum lsf_code rc = LSF_OK;
    FILE *f = fopen(path, "rb");

    *out = NULL;
    *n_out = 0;
    lsf_buf_init(&raw, MANIFEST_MAX);
    if (f == NULL)
        return lsf_fail(err, LSF_E_USAGE, "--manifest %s: cannot open (%s)", path,
                strerror(errno));
    for (;;) {
        unsigned char chunk[65536];
        size_t got = fread(chunk, 1, sizeof(chunk), f);

        if (got == 0)
            break;
        rc = lsf_buf_append(&raw, chunk, got, err);
        if (rc != LSF_OK)
            break;
    }
    fclose(f);
    while (rc == LSF_OK && pos < raw.len) {
        const unsigned char *nl = memchr(raw.data + pos, '\n', raw.len - pos);
        size_t end = nl ? (size_t)(nl - raw.data) : raw.len;
        json_error_t jerr;
        json_t *line = json_loadb((const char *)raw.data + pos, end - pos, 0, &jerr);
        json_t *sig;

        line_no++;
        if (line == NULL) {
            rc = lsf_fail(err, LSF_E_USAGE, "--manifest %s: line %zu is not JSON (%s)", path,
                    line_no, jerr.text);
            break;
        }
        sig = json_object_get(line, "signature");
        if (sig != NULL) {
            const char *alg = json_string_value(json_object_get(sig, "alg"));
            const char *value = json_string_value(json_object_get(sig, "value"));

            sig_start = pos;
            if (alg == NULL || value == NULL || !mkey_check(key, alg, raw.data, sig_start, value))
                rc = lsf_fail(err, LSF_E_USAGE,
                        "--manifest %s: signature (%s) does not check with the given key: the "
                        "manifest was altered or the key is not the one that signed it",
                        path, alg ? alg : "missing");
            is_signed = true;
            json_decref(line);
            if (nl != NULL && end + 1 < raw.len && rc == LSF_OK)
                rc = lsf_fail(err, LSF_E_USAGE,
                        "--manifest %s: lines after the signature (line %zu); the manifest was "
                        "altered",
                        path, line_no);
            break;
        }
        if (json_object_get(line, "key") != NULL) {
            const char *k = json_string_value(json_object_get(line, "key"));
            const char *sha = json_string_value(json_object_get(line, "sha256"));
            json_t *size = json_object_get(line, "size");

            if (k == NULL || sha == NULL || strlen(sha) != 64 || !json_is_integer(size)) {
                rc = lsf_fail(err, LSF_E_USAGE,
                        "--manifest %s: line %zu lacks key, size or sha256", path, line_no);
            } else {
                if (n == cap) {
                    size_t c = cap ? 2 * cap : 256;
                    struct entry *grown = realloc(entries, c * sizeof(*grown));

                    if (grown == NULL) {
                        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
                        json_decref(line);
                        break;
                    }
                    entries = grown;
                    cap = c;
                }
                entries[n].key = strdup(k);
                entries[n].size = (uint64_t)json_integer_value(size);
                snprintf(entries[n].sha, sizeof(entries[n].sha), "%s", sha);
                entries[n].is_seen = false;
                if (entries[n++].key == NULL)
                    rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
            }
        }
        json_decref(line);
        pos = end + 1;
    }
    if (rc == LSF_OK && !is_signed)
        rc = lsf_fail(err, LSF_E_USAGE,
                "--manifest %s: no signature line (truncated or not made by logsift manifest "
                "create)",
                path);
    lsf_buf_cleanup(&raw);
    if (rc != LSF_OK) {
        for (size_t i = 0; i < n; i++)
            free(entries[i].key);
        free(entries);
        return rc;
    }
    qsort(entries, n, sizeof(*entries), entry_cmp);
    *out = entries;
    *n_out = n;
    return LSF_OK;
}

enum lsf_code verify_manifest_check(struct verify_store *store, const char *path,
        const char *key_path, struct verify_report *rep, struct lsf_err *err)
{
    struct mkey key;
    struct entry *entries = NULL;
    size_t n = 0;
    struct verify_listing list = {0};
    enum lsf_code rc = mkey_load(key_path, &key, err);

    if (rc != LSF_OK)
        return rc;
    rc = manifest_load(path, &key, &entries, &n, err);
    if (rc == LSF_OK)
        rc = store->ops->list(store->self, store->prefix, &list, err);
    for (size_t i = 0; rc == LSF_OK && i < list.n_keys; i++) {
        const char *k = list.keys[i];
        struct entry probe = {.key = (char *)(uintptr_t)k};
        struct entry *e;
        struct verify_object obj;
        struct lsf_err oe;
        bool is_missing = false;
        char *uri = NULL;
        enum lsf_code add_rc;

        if (is_probe(k))
            continue;
        rc = obj_uri(store, k, &uri, err);
        if (rc != LSF_OK)
            break;
        e = bsearch(&probe, entries, n, sizeof(*entries), entry_cmp);
        if (e == NULL) {
            add_rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_ADDED, uri,
                    "not in the manifest %s (added after it was made)", path);
            free(uri);
            rc = add_rc == LSF_OK ? LSF_OK : lsf_fail(err, LSF_E_NOMEM, "out of memory");
            continue;
        }
        e->is_seen = true;
        verify_object_init(&obj, OBJECT_MAX_DEFAULT);
        lsf_err_clear(&oe);
        if (store->ops->get(store->self, store->bucket, k, &obj, &is_missing, &oe) != LSF_OK) {
            add_rc = verify_report_add(rep, VERIFY_KIND_OBJECT,
                    is_missing ? VERIFY_REMOVED : VERIFY_UNREADABLE, uri, "%s", oe.msg);
        } else {
            unsigned char md[32];
            char sha[65];
            struct verify_archive ar;

            EVP_Digest(obj.body.data ? obj.body.data : (const unsigned char *)"", obj.body.len,
                    md, NULL, EVP_sha256(), NULL);
            aws_hex(md, 32, sha);
            if (obj.body.len != e->size || strcmp(sha, e->sha) != 0)
                add_rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_CHANGED, uri,
                        "size %zu sha256 %s, the manifest says size %llu sha256 %s",
                        obj.body.len, sha, (unsigned long long)e->size, e->sha);
            else if (verify_archive_check(uri,
                             obj.body.data ? obj.body.data : (const unsigned char *)"",
                             obj.body.len, &ar, &oe) != LSF_OK)
                add_rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_UNREADABLE, uri,
                        "%s (unchanged since the manifest, but damaged already then)", oe.msg);
            else
                add_rc = verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_VALID, uri, "%s", "");
        }
        verify_object_cleanup(&obj);
        free(uri);
        if (add_rc != LSF_OK)
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == LSF_OK && i < n; i++) {
        char *uri = NULL;

        if (entries[i].is_seen)
            continue;
        rc = obj_uri(store, entries[i].key, &uri, err);
        if (rc == LSF_OK &&
                verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_REMOVED, uri,
                        "in the manifest (size %llu) but no longer in the backup",
                        (unsigned long long)entries[i].size) != LSF_OK)
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
        free(uri);
    }
    for (size_t i = 0; i < n; i++)
        free(entries[i].key);
    free(entries);
    verify_listing_cleanup(&list);
    mkey_cleanup(&key);
    return rc;
}
