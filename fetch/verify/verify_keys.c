/*
 * verify_keys: CloudTrail's public keys, looked up by fingerprint (shared/spec/aws-facts.md 7.5).
 *
 * A fingerprint is the MD5 of the DER bytes ListPublicKeys returned, which is PKCS#1 for most
 * keys and SubjectPublicKeyInfo for some. A key the user gives in a file may be in either form
 * (and PEM or DER), so it is re-encoded both ways and registered under both fingerprints: the
 * digest's fingerprint then finds it whichever encoding AWS hashed.
 *
 * Keys are loaded with OpenSSL 3's decoder API (no deprecated RSA_* calls); signatures are
 * checked with EVP_DigestVerify, RSASSA-PKCS1-v1_5 over SHA-256 (7.4). The keyring is read-only
 * once built and may be shared by threads.
 */
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define KEY_FILE_MAX ((size_t)64 << 10)
#define SIG_MAX      1024

struct key_entry {
    char fingerprint[33];
    EVP_PKEY *pkey; /* NULL: the key was listed but does not load */
};

struct verify_keyring {
    struct key_entry *keys;
    size_t n_keys;
    size_t cap_keys;
};

void verify_md5_hex(const void *bytes, size_t len, char hex[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;

    EVP_Digest(bytes, len, md, &md_len, EVP_md5(), NULL);
    aws_hex(md, md_len, hex);
}

enum lsf_code verify_keyring_new(struct verify_keyring **out, struct lsf_err *err)
{
    *out = calloc(1, sizeof(**out));
    return *out ? LSF_OK : lsf_fail(err, LSF_E_NOMEM, "out of memory for the public keys");
}

void verify_keyring_free(struct verify_keyring *kr)
{
    if (kr == NULL)
        return;
    for (size_t i = 0; i < kr->n_keys; i++)
        EVP_PKEY_free(kr->keys[i].pkey);
    free(kr->keys);
    free(kr);
}

size_t verify_keyring_count(const struct verify_keyring *kr)
{
    return kr->n_keys;
}

/* Add pkey (reference taken: up_ref'd here) under fp unless fp is already there. */
static enum lsf_code keyring_put(struct verify_keyring *kr, const char *fp, EVP_PKEY *pkey,
        struct lsf_err *err)
{
    for (size_t i = 0; i < kr->n_keys; i++)
        if (strcmp(kr->keys[i].fingerprint, fp) == 0)
            return LSF_OK;
    if (kr->n_keys == kr->cap_keys) {
        size_t cap = kr->cap_keys ? 2 * kr->cap_keys : 8;
        struct key_entry *grown = realloc(kr->keys, cap * sizeof(*grown));

        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory for the public keys");
        kr->keys = grown;
        kr->cap_keys = cap;
    }
    if (pkey != NULL)
        EVP_PKEY_up_ref(pkey);
    snprintf(kr->keys[kr->n_keys].fingerprint, 33, "%s", fp);
    kr->keys[kr->n_keys].pkey = pkey;
    kr->n_keys++;
    return LSF_OK;
}

/* Decode a public key from data in the given input type ("PEM"/"DER") and structure. */
static EVP_PKEY *decode_key(const unsigned char *data, size_t len, const char *input,
        const char *structure)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, input, structure, "RSA",
            OSSL_KEYMGMT_SELECT_PUBLIC_KEY, NULL, NULL);

    if (dctx == NULL)
        return NULL;
    if (!OSSL_DECODER_from_data(dctx, &data, &len)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    ERR_clear_error();
    return pkey;
}

/* Load PKCS#1 (type-specific) DER first, as aws-cli does, then SPKI (7.5). */
static EVP_PKEY *load_der(const unsigned char *der, size_t len)
{
    EVP_PKEY *pkey = decode_key(der, len, "DER", "type-specific");

    if (pkey == NULL)
        pkey = decode_key(der, len, "DER", "SubjectPublicKeyInfo");
    return pkey;
}

/* DER of pkey in the given structure ("type-specific" = PKCS#1, "SubjectPublicKeyInfo"). */
static bool encode_der(EVP_PKEY *pkey, const char *structure, unsigned char **der, size_t *len)
{
    OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, OSSL_KEYMGMT_SELECT_PUBLIC_KEY,
            "DER", structure, NULL);
    bool ok;

    *der = NULL;
    *len = 0;
    if (ectx == NULL)
        return false;
    ok = OSSL_ENCODER_to_data(ectx, der, len) == 1;
    OSSL_ENCODER_CTX_free(ectx);
    ERR_clear_error();
    return ok;
}

enum lsf_code verify_keyring_add_der(struct verify_keyring *kr, const unsigned char *der,
        size_t len, const char *fingerprint, struct lsf_err *err)
{
    char fp[33];
    EVP_PKEY *pkey = load_der(der, len);
    enum lsf_code rc;

    if (fingerprint != NULL)
        snprintf(fp, sizeof(fp), "%s", fingerprint);
    else
        verify_md5_hex(der, len, fp);
    rc = keyring_put(kr, fp, pkey, err);
    EVP_PKEY_free(pkey);
    return rc;
}

enum lsf_code verify_keyring_add_file(struct verify_keyring *kr, const char *path,
        struct lsf_err *err)
{
    static const char *const structures[] = {"type-specific", "SubjectPublicKeyInfo"};
    unsigned char *data = NULL;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    enum lsf_code rc = LSF_OK;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return lsf_fail(err, LSF_E_USAGE, "--public-key %s: cannot open (%s); give a readable key file",
                path, strerror(errno));
    data = malloc(KEY_FILE_MAX);
    if (data == NULL) {
        fclose(f);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory reading %s", path);
    }
    len = fread(data, 1, KEY_FILE_MAX, f);
    fclose(f);
    pkey = decode_key(data, len, "PEM", NULL);
    if (pkey == NULL)
        pkey = load_der(data, len);
    if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        rc = lsf_fail(err, LSF_E_USAGE,
                "--public-key %s: not an RSA public key in PEM or DER (PKCS#1 RSAPublicKey or "
                "SubjectPublicKeyInfo); export it with `openssl rsa -pubin -RSAPublicKey_out`",
                path);
        goto out;
    }
    for (size_t i = 0; rc == LSF_OK && i < 2; i++) {
        unsigned char *der = NULL;
        size_t der_len = 0;
        char fp[33];

        if (!encode_der(pkey, structures[i], &der, &der_len))
            continue;
        verify_md5_hex(der, der_len, fp);
        OPENSSL_free(der);
        rc = keyring_put(kr, fp, pkey, err);
    }
out:
    EVP_PKEY_free(pkey);
    free(data);
    return rc;
}

enum verify_sig verify_keyring_check(const struct verify_keyring *kr, const char *fingerprint,
        const unsigned char *tbs, size_t tbs_len, const char *sig_hex)
{
    const struct key_entry *key = NULL;
    unsigned char sig[SIG_MAX];
    size_t sig_len = 0;
    EVP_MD_CTX *ctx;
    int ok;

    for (size_t i = 0; i < kr->n_keys; i++)
        if (strcmp(kr->keys[i].fingerprint, fingerprint) == 0)
            key = &kr->keys[i];
    if (key == NULL)
        return VERIFY_SIG_NO_KEY;
    if (key->pkey == NULL)
        return VERIFY_SIG_KEY_UNLOADABLE;
    if (!verify_unhex(sig_hex, sig, sizeof(sig), &sig_len) || sig_len == 0)
        return VERIFY_SIG_BAD;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return VERIFY_SIG_BAD;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, sig_len, tbs, tbs_len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? VERIFY_SIG_OK : VERIFY_SIG_BAD;
}
