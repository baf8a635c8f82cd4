/*
 * The chain walk (aws-facts 7.6) on a local copy built here the way AWS builds one (7.8): four
 * hourly digests (the first a starting digest), three gzipped logs, RSA-SHA256 signatures in
 * <digest>.sig.json sidecars. Each case damages the copy one way and checks the verdicts: a
 * valid chain, a tampered log, one deleted digest (aws-cli's verdict), two consecutive deleted
 * digests (the run aws-cli misses, #7054), a replaced older digest caught by its link even
 * without signatures, and a log file no digest lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dec_test_util.h"
#include "verify_int.h"

#define BUCKET "demo-trail-bucket"
#define DDIR   "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/15/"
#define LDIR   "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/15/"

static EVP_PKEY *key;
static char fp[33];
static char key_path[256];
static char root[] = "/tmp/logsift-verify-chain-XXXXXX";
static int n_case;

static void mkdirs(const char *path)
{
    char tmp[1024];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
}

static void put(const char *dir, const char *key_name, const void *data, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, key_name);
    mkdirs(path);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
}

static void digest_key(int end_hour, char *buf, size_t len)
{
    snprintf(buf, len, DDIR "111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1_20240115T%02d0000Z.json.gz",
            end_hour);
}

static void log_key(int hour, char *buf, size_t len)
{
    snprintf(buf, len, LDIR "111122223333_CloudTrail_us-east-1_20240115T%02d05Z_Ab12Cd34Ef56Gh%02d.json.gz",
            hour, hour);
}

static void sha_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];

    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    aws_hex(md, 32, hex);
}

static void sign_hex(const char *tbs, char *hex)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t sig_len = sizeof(sig);

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)tbs, strlen(tbs)), 1);
    EVP_MD_CTX_free(ctx);
    aws_hex(sig, sig_len, hex);
}

/* Build the chain into a fresh folder; returns it (static buffer per call). */
static const char *make_copy(bool with_sidecars)
{
    static char dir[512];
    char prev_key[512] = "";
    char prev_sha[65] = "";
    char prev_sig[1100] = "";

    snprintf(dir, sizeof(dir), "%s/case%d", root, n_case++);
    for (int end = 11; end <= 14; end++) {
        char dkey[512];
        char lkey[512];
        char log[256];
        char logs_json[1024] = "";
        char json[8192];
        char sha[65];
        char tbs[4096];
        char sig[1100];
        char sidecar[1400];
        struct tu_bytes gz;

        digest_key(end, dkey, sizeof(dkey));
        if (end > 11) {
            char lsha[65];

            log_key(end - 1, lkey, sizeof(lkey));
            snprintf(log, sizeof(log), "{\"Records\":[{\"eventTime\":\"2024-01-15T%02d:01:02Z\"}]}\n",
                    end - 1);
            gz = tu_gzip(log, strlen(log), 1);
            put(dir, lkey, gz.data, gz.len);
            free(gz.data);
            sha_hex(log, strlen(log), lsha);
            snprintf(logs_json, sizeof(logs_json),
                    "{\"s3Bucket\":\"" BUCKET "\",\"s3Object\":\"%s\",\"hashValue\":\"%s\","
                    "\"hashAlgorithm\":\"SHA-256\"}",
                    lkey, lsha);
        }
        if (end == 11)
            snprintf(json, sizeof(json),
                    "{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2024-01-15T10:00:00Z\","
                    "\"digestEndTime\":\"2024-01-15T11:00:00Z\",\"digestS3Bucket\":\"" BUCKET "\","
                    "\"digestS3Object\":\"%s\",\"digestPublicKeyFingerprint\":\"%s\","
                    "\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"previousDigestS3Bucket\":null,"
                    "\"previousDigestS3Object\":null,\"previousDigestHashValue\":null,"
                    "\"previousDigestHashAlgorithm\":null,\"previousDigestSignature\":null,"
                    "\"logFiles\":[]}",
                    dkey, fp);
        else
            snprintf(json, sizeof(json),
                    "{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2024-01-15T%02d:00:00Z\","
                    "\"digestEndTime\":\"2024-01-15T%02d:00:00Z\",\"digestS3Bucket\":\"" BUCKET "\","
                    "\"digestS3Object\":\"%s\",\"digestPublicKeyFingerprint\":\"%s\","
                    "\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"previousDigestS3Bucket\":\"" BUCKET
                    "\",\"previousDigestS3Object\":\"%s\",\"previousDigestHashValue\":\"%s\","
                    "\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"%s\","
                    "\"logFiles\":[%s]}",
                    end - 1, end, dkey, fp, prev_key, prev_sha, prev_sig, logs_json);
        sha_hex(json, strlen(json), sha);
        snprintf(tbs, sizeof(tbs), "2024-01-15T%02d:00:00Z\n" BUCKET "/%s\n%s\n%s", end, dkey, sha,
                end == 11 ? "null" : prev_sig);
        sign_hex(tbs, sig);
        gz = tu_gzip(json, strlen(json), 1);
        put(dir, dkey, gz.data, gz.len);
        free(gz.data);
        if (with_sidecars) {
            char name[600];

            snprintf(sidecar, sizeof(sidecar),
                    "{\"signature\":\"%s\",\"signatureAlgorithm\":\"SHA256withRSA\"}", sig);
            snprintf(name, sizeof(name), "%s.sig.json", dkey);
            put(dir, name, sidecar, strlen(sidecar));
        }
        snprintf(prev_key, sizeof(prev_key), "%s", dkey);
        snprintf(prev_sha, sizeof(prev_sha), "%s", sha);
        snprintf(prev_sig, sizeof(prev_sig), "%s", sig);
    }
    return dir;
}

static void run(const char *dir, struct verify_report *rep)
{
    struct verify_store store;
    struct verify_keyring *kr;
    struct verify_trail_opts opts = {.jobs = 3, .check_unlisted = true};
    struct lsf_err err;

    lsf_err_clear(&err);
    verify_report_init(rep);
    assert_int_equal(verify_keyring_new(&kr, &err), LSF_OK);
    assert_int_equal(verify_keyring_add_file(kr, key_path, &err), LSF_OK);
    assert_int_equal(verify_store_open_local(dir, NULL, &store, &err), LSF_OK);
    if (verify_trail(&store, kr, &opts, rep, &err) != LSF_OK)
        fail_msg("verify_trail: %s", err.msg);
    verify_store_close(&store);
    verify_keyring_free(kr);
}

/* The verdict of the item about key_name (of kind), or -1. */
static int verdict_of(const struct verify_report *rep, enum verify_kind kind, const char *key_name)
{
    for (size_t i = 0; i < rep->n_items; i++) {
        const char *uri = rep->items[i].uri;
        const char *k = strstr(uri, "AWSLogs/");

        if (rep->items[i].kind == kind && k && strcmp(k, key_name) == 0)
            return (int)rep->items[i].verdict;
    }
    return -1;
}

static void remove_key(const char *dir, const char *key_name)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, key_name);
    assert_int_equal(unlink(path), 0);
}

static int setup(void **state)
{
    OSSL_ENCODER_CTX *ctx;
    unsigned char *der = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    key = EVP_RSA_gen(2048);
    if (key == NULL || mkdtemp(root) == NULL)
        return -1;
    ctx = OSSL_ENCODER_CTX_new_for_pkey(key, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, "DER",
            "type-specific", NULL);
    if (ctx == NULL || OSSL_ENCODER_to_data(ctx, &der, &len) != 1)
        return -1;
    verify_md5_hex(der, len, fp); /* the fingerprint CloudTrail would list (7.5) */
    snprintf(key_path, sizeof(key_path), "%s/pub.der", root);
    f = fopen(key_path, "wb");
    fwrite(der, 1, len, f);
    fclose(f);
    OPENSSL_free(der);
    OSSL_ENCODER_CTX_free(ctx);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    EVP_PKEY_free(key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void valid_chain_is_all_valid(void **state)
{
    struct verify_report rep;
    char k[512];

    (void)state;
    run(make_copy(true), &rep);
    for (int h = 11; h <= 14; h++) {
        digest_key(h, k, sizeof(k));
        assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k), VERIFY_VALID);
    }
    for (int h = 11; h <= 13; h++) {
        log_key(h, k, sizeof(k));
        assert_int_equal(verdict_of(&rep, VERIFY_KIND_LOG, k), VERIFY_VALID);
    }
    assert_int_equal(rep.n_items, 7);
    assert_string_equal(rep.range_start, "2024-01-15T10:00:00Z");
    assert_string_equal(rep.range_end, "2024-01-15T14:00:00Z");
    verify_report_cleanup(&rep);
}

static void tampered_log_hash_does_not_match(void **state)
{
    const char *dir = make_copy(true);
    struct verify_report rep;
    char k[512];
    struct tu_bytes gz = tu_gzip("{\"Records\":[]}\n", 15, 1);

    (void)state;
    log_key(12, k, sizeof(k));
    put(dir, k, gz.data, gz.len);
    free(gz.data);
    run(dir, &rep);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_LOG, k), VERIFY_HASH_MISMATCH);
    log_key(11, k, sizeof(k));
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_LOG, k), VERIFY_VALID);
    verify_report_cleanup(&rep);
}

static void deleted_digest_is_not_found_and_its_log_unlisted(void **state)
{
    const char *dir = make_copy(true);
    struct verify_report rep;
    char k[512];

    (void)state;
    digest_key(12, k, sizeof(k));
    remove_key(dir, k);
    run(dir, &rep);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k), VERIFY_NOT_FOUND);
    digest_key(11, k, sizeof(k));
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k), VERIFY_VALID);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_CHAIN, k), -1); /* one missing: no more */
    log_key(11, k, sizeof(k));
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_LOG, k), VERIFY_UNLISTED_LOG);
    verify_report_cleanup(&rep);
}

static void two_consecutive_deleted_digests_are_reported(void **state)
{
    const char *dir = make_copy(true);
    struct verify_report rep;
    char k[512];

    (void)state;
    digest_key(12, k, sizeof(k));
    remove_key(dir, k);
    digest_key(13, k, sizeof(k));
    remove_key(dir, k);
    run(dir, &rep);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k), VERIFY_NOT_FOUND);
    digest_key(11, k, sizeof(k));
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_CHAIN, k), VERIFY_MISSING_DIGESTS);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k), VERIFY_VALID);
    verify_report_cleanup(&rep);
}

static void unsigned_copy_catches_a_replaced_digest_by_its_link(void **state)
{
    const char *dir = make_copy(false);
    struct verify_report rep;
    char k12[512];
    char k13[512];
    char path[1024];
    char cmd[2200];

    (void)state;
    /* put digest 12's file in digest 13's place: parses, but is not what 14 links to */
    digest_key(12, k12, sizeof(k12));
    digest_key(13, k13, sizeof(k13));
    snprintf(path, sizeof(path), "%s/%s", dir, k13);
    snprintf(cmd, sizeof(cmd), "cp %s/%s %s", dir, k12, path);
    assert_int_equal(system(cmd), 0);
    run(dir, &rep);
    digest_key(14, k12, sizeof(k12));
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k12), VERIFY_UNSIGNED);
    assert_int_equal(verdict_of(&rep, VERIFY_KIND_DIGEST, k13), VERIFY_MOVED);
    verify_report_cleanup(&rep);
}

static void printed_summary_counts_like_validate_logs(void **state)
{
    const char *dir = make_copy(true);
    struct verify_report rep;
    char k[512];
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    FILE *err = fopen("/dev/null", "w");

    (void)state;
    digest_key(12, k, sizeof(k));
    remove_key(dir, k);
    run(dir, &rep);
    assert_true(verify_report_print_text(&rep, false, out, err));
    fclose(out);
    fclose(err);
    assert_non_null(strstr(text, "3/4 digest files valid, 1/4 digest files INVALID"));
    free(text);
    verify_report_cleanup(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(valid_chain_is_all_valid),
            cmocka_unit_test(tampered_log_hash_does_not_match),
            cmocka_unit_test(deleted_digest_is_not_found_and_its_log_unlisted),
            cmocka_unit_test(two_consecutive_deleted_digests_are_reported),
            cmocka_unit_test(unsigned_copy_catches_a_replaced_digest_by_its_link),
            cmocka_unit_test(printed_summary_counts_like_validate_logs),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
