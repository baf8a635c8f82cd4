/*
 * Keys, archives and S3 checksums: an RSA key given as PKCS#1 DER, SPKI PEM or PKCS#1 PEM is
 * found under the MD5 fingerprint of either DER form (7.5) and checks RSA-SHA256 signatures; an
 * unknown fingerprint and a bad signature are told apart. Archives: gzip and zstd hash their
 * decompressed bytes; truncation, a CRC mismatch and trailing garbage are input errors naming
 * the object; zstd frames without a content checksum are counted. S3: single-part ETags are
 * MD5s (a mismatch is an integrity error), multipart ones are noted as not checkable, and
 * x-amz-checksum-* values match the reference values of aws-facts 3.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dec.h"
#include "dec_test_util.h"
#include "verify_int.h"

static EVP_PKEY *key;
static char dir[] = "/tmp/logsift-verify-keys-XXXXXX";

static int setup(void **state)
{
    (void)state;
    key = EVP_RSA_gen(2048);
    return key && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    EVP_PKEY_free(key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write key's public part to path in format ("DER"/"PEM") and structure; return its DER MD5. */
static void write_pub(const char *path, const char *format, const char *structure, char fp[33])
{
    OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(key, OSSL_KEYMGMT_SELECT_PUBLIC_KEY,
            format, structure, NULL);
    unsigned char *data = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "wb");

    assert_non_null(ctx);
    assert_int_equal(OSSL_ENCODER_to_data(ctx, &data, &len), 1);
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
    if (fp != NULL)
        verify_md5_hex(data, len, fp);
    OPENSSL_free(data);
    OSSL_ENCODER_CTX_free(ctx);
}

static void sign_hex(const unsigned char *tbs, size_t len, char *hex)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t sig_len = sizeof(sig);

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, tbs, len), 1);
    EVP_MD_CTX_free(ctx);
    aws_hex(sig, sig_len, hex);
}

static void key_files_are_found_by_either_fingerprint(void **state)
{
    static const struct {
        const char *format;
        const char *structure;
    } forms[] = {{"DER", "type-specific"}, {"PEM", "SubjectPublicKeyInfo"},
            {"PEM", "type-specific"}};
    const unsigned char tbs[] = "2024-01-15T11:00:00Z\nb/k\nabc\nnull";
    char sig[1100];
    char pkcs1_fp[33];
    char spki_fp[33];
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/fp.der", dir);
    write_pub(path, "DER", "type-specific", pkcs1_fp);
    write_pub(path, "DER", "SubjectPublicKeyInfo", spki_fp);
    sign_hex(tbs, sizeof(tbs) - 1, sig);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct verify_keyring *kr;
        struct lsf_err err;

        snprintf(path, sizeof(path), "%s/key%zu", dir, i);
        write_pub(path, forms[i].format, forms[i].structure, NULL);
        assert_int_equal(verify_keyring_new(&kr, &err), LSF_OK);
        assert_int_equal(verify_keyring_add_file(kr, path, &err), LSF_OK);
        assert_int_equal(verify_keyring_check(kr, pkcs1_fp, tbs, sizeof(tbs) - 1, sig),
                VERIFY_SIG_OK);
        assert_int_equal(verify_keyring_check(kr, spki_fp, tbs, sizeof(tbs) - 1, sig),
                VERIFY_SIG_OK);
        assert_int_equal(verify_keyring_check(kr, pkcs1_fp, tbs, sizeof(tbs) - 2, sig),
                VERIFY_SIG_BAD);
        assert_int_equal(verify_keyring_check(kr, "00000000000000000000000000000000", tbs,
                                 sizeof(tbs) - 1, sig),
                VERIFY_SIG_NO_KEY);
        assert_int_equal(verify_keyring_check(kr, pkcs1_fp, tbs, sizeof(tbs) - 1, "zz"),
                VERIFY_SIG_BAD);
        verify_keyring_free(kr);
    }
}

static void listed_key_that_does_not_load_is_unloadable(void **state)
{
    struct verify_keyring *kr;
    struct lsf_err err;
    const unsigned char junk[] = "not a key";

    (void)state;
    assert_int_equal(verify_keyring_new(&kr, &err), LSF_OK);
    assert_int_equal(verify_keyring_add_der(kr, junk, sizeof(junk), "abcdef", &err), LSF_OK);
    assert_int_equal(verify_keyring_check(kr, "abcdef", junk, 1, "00"), VERIFY_SIG_KEY_UNLOADABLE);
    verify_keyring_free(kr);
}

static void non_key_file_is_a_usage_error(void **state)
{
    struct verify_keyring *kr;
    struct lsf_err err;
    char path[128];
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/junk.pem", dir);
    f = fopen(path, "w");
    fputs("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", f);
    fclose(f);
    lsf_err_clear(&err);
    assert_int_equal(verify_keyring_new(&kr, &err), LSF_OK);
    assert_int_equal(verify_keyring_add_file(kr, path, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, path));
    lsf_err_clear(&err);
    assert_int_equal(verify_keyring_add_file(kr, "/nonexistent/key.pem", &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, "cannot open"));
    verify_keyring_free(kr);
}

static void archives_hash_their_decompressed_bytes(void **state)
{
    struct tu_bytes text = tu_log_text(300000, 7);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 1);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 3, true);
    struct tu_bytes zs_nock = tu_zstd(text.data, text.len, 3, false);
    struct verify_archive a;
    struct lsf_err err;
    unsigned char md[32];
    char hex[65];

    (void)state;
    EVP_Digest(text.data, text.len, md, NULL, EVP_sha256(), NULL);
    aws_hex(md, 32, hex);
    assert_int_equal(verify_archive_check("x.gz", gz.data, gz.len, &a, &err), LSF_OK);
    assert_string_equal(a.sha256_hex, hex);
    assert_int_equal(a.plain_len, text.len);
    assert_int_equal(verify_archive_check("x.zst", zs.data, zs.len, &a, &err), LSF_OK);
    assert_string_equal(a.sha256_hex, hex);
    assert_int_equal(a.n_frames, 1);
    assert_int_equal(a.n_frames_unchecked, 0);
    tu_append(&zs_nock, tu_zstd(text.data, 1000, 3, true));
    assert_int_equal(verify_archive_check("y.zst", zs_nock.data, zs_nock.len, &a, &err), LSF_OK);
    assert_int_equal(a.n_frames, 2);
    assert_int_equal(a.n_frames_unchecked, 1);
    free(text.data);
    free(gz.data);
    free(zs.data);
    free(zs_nock.data);
}

static void damaged_archives_are_input_errors_naming_the_object(void **state)
{
    struct tu_bytes text = tu_log_text(50000, 3);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 1);
    struct verify_archive a;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(verify_archive_check("cut.gz", gz.data, gz.len - 9, &a, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "cut.gz"));
    assert_non_null(strstr(err.msg, "truncated"));
    gz.data[gz.len - 6] ^= 1; /* ISIZE */
    lsf_err_clear(&err);
    assert_int_equal(verify_archive_check("crc.gz", gz.data, gz.len, &a, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "crc.gz"));
    gz.data[gz.len - 6] ^= 1;
    tu_append_raw(&gz, "garbage", 7);
    lsf_err_clear(&err);
    assert_int_equal(verify_archive_check("tail.gz", gz.data, gz.len, &a, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "tail.gz"));
    free(text.data);
    free(gz.data);
}

static struct verify_object object_of(const char *body)
{
    struct verify_object obj;
    struct lsf_err err;

    verify_object_init(&obj, 1 << 20);
    assert_int_equal(lsf_buf_append(&obj.body, body, strlen(body), &err), LSF_OK);
    return obj;
}

static void etags_and_checksums_match_the_reference_values(void **state)
{
    static const struct {
        const char *alg;
        const char *value;
    } ok[] = {{"crc32", "DUoRhQ=="}, {"crc32c", "yZRlqg=="}, {"sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
            {"sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="}};
    struct verify_object obj = object_of("hello world");
    struct lsf_err err;
    char note[256];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(obj.checksum_algorithm, sizeof(obj.checksum_algorithm), "%s", ok[i].alg);
        snprintf(obj.checksum, sizeof(obj.checksum), "%s", ok[i].value);
        lsf_err_clear(&err);
        if (verify_object_checksums("o", &obj, note, sizeof(note), &err) != LSF_OK)
            fail_msg("%s: %s", ok[i].alg, err.msg);
    }
    snprintf(obj.checksum, sizeof(obj.checksum), "AAAAAA==");
    snprintf(obj.checksum_algorithm, sizeof(obj.checksum_algorithm), "crc32");
    lsf_err_clear(&err);
    assert_int_equal(verify_object_checksums("o", &obj, note, sizeof(note), &err),
            LSF_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "x-amz-checksum-crc32"));
    snprintf(obj.checksum_type, sizeof(obj.checksum_type), "COMPOSITE");
    assert_int_equal(verify_object_checksums("o", &obj, note, sizeof(note), &err), LSF_OK);
    assert_non_null(strstr(note, "composite"));
    obj.checksum[0] = '\0';
    /* MD5("hello world") */
    snprintf(obj.etag, sizeof(obj.etag), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert_int_equal(verify_object_checksums("o", &obj, note, sizeof(note), &err), LSF_OK);
    snprintf(obj.etag, sizeof(obj.etag), "5eb63bbbe01eeed093cb22bb8f5acdc4");
    lsf_err_clear(&err);
    assert_int_equal(verify_object_checksums("o", &obj, note, sizeof(note), &err),
            LSF_E_INTEGRITY);
    assert_non_null(strstr(err.msg, "ETag"));
    snprintf(obj.etag, sizeof(obj.etag), "5eb63bbbe01eeed093cb22bb8f5acdc4-3");
    assert_int_equal(verify_object_checksums("o", &obj, note, sizeof(note), &err), LSF_OK);
    assert_non_null(strstr(note, "multipart"));
    verify_object_cleanup(&obj);
}

struct tap_result {
    int calls;
    char hex[65];
    uint64_t len;
};

static void on_tap_done(void *ctx, const char *name, const char *sha256_hex, uint64_t len)
{
    struct tap_result *r = ctx;

    assert_string_equal(name, "s3://b/k.json.gz");
    r->calls++;
    snprintf(r->hex, sizeof(r->hex), "%s", sha256_hex);
    r->len = len;
}

static void tap_hashes_every_byte_it_passes_on_and_reports_once(void **state)
{
    struct tu_bytes text = tu_log_text(100000, 11);
    struct lsf_mem_reader mem = {.data = text.data, .len = text.len, .max_step = 777};
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    struct tap_result r = {0};
    unsigned char buf[4096];
    unsigned char md[32];
    char want[65];
    size_t total = 0;
    size_t n;

    (void)state;
    lsf_mem_reader_init(&mem, &raw);
    assert_int_equal(verify_tap_wrap(raw, "s3://b/k.json.gz", on_tap_done, &r, &rd, &err), LSF_OK);
    do {
        assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_OK);
        assert_memory_equal(buf, text.data + total, n);
        total += n;
    } while (n > 0);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_OK); /* EOF again */
    lsf_reader_close(&rd);
    EVP_Digest(text.data, text.len, md, NULL, EVP_sha256(), NULL);
    aws_hex(md, 32, want);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.hex, want);
    assert_int_equal(r.len, text.len);
    free(text.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(key_files_are_found_by_either_fingerprint),
            cmocka_unit_test(listed_key_that_does_not_load_is_unloadable),
            cmocka_unit_test(non_key_file_is_a_usage_error),
            cmocka_unit_test(archives_hash_their_decompressed_bytes),
            cmocka_unit_test(damaged_archives_are_input_errors_naming_the_object),
            cmocka_unit_test(etags_and_checksums_match_the_reference_values),
            cmocka_unit_test(tap_hashes_every_byte_it_passes_on_and_reports_once),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
