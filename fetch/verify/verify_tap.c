/*
 * verify_tap: hash what a reader delivers, as it is delivered. `scan --verify` wraps every
 * input's decompressed stream with it, so the bytes the scan reads are the bytes hashed and
 * compared with the digest: no second download, no second decompression. SHA-256 runs on the
 * worker thread that reads, over data already in cache; bench/verify_bench.py measures the cost.
 */
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct tap {
    struct lsf_reader inner;
    char *name;
    EVP_MD_CTX *md;
    uint64_t len;
    bool is_done;
    verify_tap_done_fn done;
    void *ctx;
};

static enum lsf_code tap_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct tap *t = self;
    enum lsf_code rc = lsf_reader_read(&t->inner, buf, cap, n_read, err);

    if (rc != LSF_OK)
        return rc;
    if (*n_read > 0) {
        EVP_DigestUpdate(t->md, buf, *n_read);
        t->len += *n_read;
    } else if (!t->is_done) {
        unsigned char md[32];
        char hex[65];

        t->is_done = true;
        EVP_DigestFinal_ex(t->md, md, NULL);
        aws_hex(md, 32, hex);
        t->done(t->ctx, t->name, hex, t->len);
    }
    return LSF_OK;
}

static void tap_close(void *self)
{
    struct tap *t = self;

    lsf_reader_close(&t->inner);
    EVP_MD_CTX_free(t->md);
    free(t->name);
    free(t);
}

static const struct lsf_reader_ops tap_ops = {tap_read, tap_close};

enum lsf_code verify_tap_wrap(struct lsf_reader inner, const char *name, verify_tap_done_fn done,
        void *ctx, struct lsf_reader *out, struct lsf_err *err)
{
    struct tap *t = calloc(1, sizeof(*t));

    if (t != NULL) {
        t->name = strdup(name);
        t->md = EVP_MD_CTX_new();
    }
    if (t == NULL || t->name == NULL || t->md == NULL ||
            EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1) {
        if (t != NULL) {
            EVP_MD_CTX_free(t->md);
            free(t->name);
            free(t);
        }
        lsf_reader_close(&inner);
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory for --verify", name);
    }
    t->inner = inner;
    t->done = done;
    t->ctx = ctx;
    *out = (struct lsf_reader){&tap_ops, t};
    return LSF_OK;
}
