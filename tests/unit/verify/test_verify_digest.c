/*
 * The digest file itself: parsing the real digest in shared/data (its `\/` escapes included),
 * refusing digests that lack a key aws-cli requires, the 7.4 data-to-sign (with a null previous
 * signature written as the four characters "null"), and the key names digests and logs are
 * stored under (7.1, 6.1), standard, backfill and organization trails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "verify_int.h"

#define REAL_DIGEST                                                                            \
    LSF_SHARED_DATA "/cloudtrail-digest/llm-guard/327878933619_CloudTrail-Digest_ap-northeast-1_" \
                    "llm-guard-trail_us-west-2_20231015T230404Z.json"

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(1 << 20);

    assert_non_null(f);
    assert_non_null(data);
    *len = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

static void real_digest_parses_with_every_field(void **state)
{
    size_t len;
    unsigned char *json = read_all(REAL_DIGEST, &len);
    struct verify_digest d;
    struct lsf_err err;
    unsigned char md[32];
    char hex[65];

    (void)state;
    assert_int_equal(verify_digest_parse(json, len, &d, &err), LSF_OK);
    assert_string_equal(d.bucket, "llm-guard-trail");
    assert_string_equal(d.object, "AWSLogs/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/"
                                  "327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_"
                                  "us-west-2_20231015T230404Z.json.gz");
    assert_string_equal(d.fingerprint, "be2f0b997552f44942837300ba1aba9d");
    assert_string_equal(d.end, "2023-10-15T23:04:04Z");
    assert_int_equal(strlen(d.prev_sig), 512);
    assert_int_equal(d.n_logs, 5);
    for (size_t i = 0; i < d.n_logs; i++)
        assert_int_equal(strlen(d.logs[i].hash), 64);
    /* the hash is over the bytes as stored, escapes and all (PROVENANCE.md lists it) */
    EVP_Digest(json, len, md, NULL, EVP_sha256(), NULL);
    aws_hex(md, 32, hex);
    assert_string_equal(d.sha256_hex, hex);
    assert_string_equal(hex, "4277102dccf54c0c247738ca5e6e3504b7370206ef1c82855994ec23441ae1ed");
    verify_digest_cleanup(&d);
    free(json);
}

static void data_to_sign_is_four_lines_with_null_spelled_out(void **state)
{
    static const char json[] =
            "{\"digestStartTime\":\"2024-01-15T10:00:00Z\",\"digestEndTime\":\"2024-01-15T11:00:00Z\","
            "\"digestS3Bucket\":\"b\",\"digestS3Object\":\"k.json.gz\","
            "\"digestPublicKeyFingerprint\":\"00\",\"previousDigestSignature\":null,\"logFiles\":[]}";
    struct verify_digest d;
    struct lsf_err err;
    struct lsf_buf out;
    char want[512];

    (void)state;
    lsf_buf_init(&out, 4096);
    assert_int_equal(verify_digest_parse((const unsigned char *)json, strlen(json), &d, &err),
            LSF_OK);
    assert_null(d.prev_sig);
    assert_int_equal(verify_digest_data_to_sign(&d, &out, &err), LSF_OK);
    snprintf(want, sizeof(want), "2024-01-15T11:00:00Z\nb/k.json.gz\n%s\nnull", d.sha256_hex);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    verify_digest_cleanup(&d);
    lsf_buf_cleanup(&out);
}

static void digest_without_a_required_key_is_invalid_format(void **state)
{
    static const char *const bad[] = {
            "{\"digestEndTime\":\"x\"}",
            "{\"digestStartTime\":\"a\",\"digestEndTime\":\"b\",\"digestS3Bucket\":\"c\","
            "\"digestS3Object\":\"d\",\"digestPublicKeyFingerprint\":\"e\"}", /* no prev sig */
            "not json",
            "[1,2]",
    };
    static const char *const why[] = {"digestPublicKeyFingerprint", "previousDigestSignature",
            "not valid JSON", "not an object"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct verify_digest d;
        struct lsf_err err;

        lsf_err_clear(&err);
        assert_int_equal(verify_digest_parse((const unsigned char *)bad[i], strlen(bad[i]), &d,
                                 &err),
                LSF_E_INPUT);
        if (strstr(err.msg, why[i]) == NULL)
            fail_msg("\"%s\" not in \"%s\"", why[i], err.msg);
        verify_digest_cleanup(&d);
    }
}

static void digest_names_split_into_chain_parts(void **state)
{
    struct verify_digest_name n;

    (void)state;
    assert_true(verify_digest_name_parse(
            "pre/AWSLogs/o-abc1234567/111122223333/CloudTrail-Digest/eu-west-1/2024/01/15/"
            "111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20240115T110000Z.json.gz",
            &n));
    assert_string_equal(n.account, "111122223333");
    assert_string_equal(n.region, "eu-west-1");
    assert_string_equal(n.trail, "my_trail");
    assert_string_equal(n.home_region, "us-east-1");
    assert_string_equal(n.stamp, "20240115T110000Z");
    assert_false(n.is_backfill);
    assert_string_equal(n.log_dir, "pre/AWSLogs/o-abc1234567/111122223333/CloudTrail/eu-west-1/");
    assert_true(verify_digest_name_parse(
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/15/"
            "1_CloudTrail-Digest_us-east-1_t_us-east-1_20240115T110000Z_backfill.json.gz",
            &n));
    assert_true(n.is_backfill);
    assert_false(verify_digest_name_parse("AWSLogs/1/CloudTrail/us-east-1/2024/01/15/x.json.gz", &n));
    assert_false(verify_digest_name_parse(
            "AWSLogs/1/CloudTrail-Digest/us-east-1/1_CloudTrail-Digest_us-east-1_t_u_2024.json.gz",
            &n));
}

static void log_names_give_their_delivery_time(void **state)
{
    size_t dir_len;
    int64_t t;
    const char *key = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/"
                      "111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
    char text[32];

    (void)state;
    assert_true(verify_log_name_parse(key, &dir_len, &t));
    assert_int_equal(dir_len, strlen("AWSLogs/111122223333/CloudTrail/us-east-2/"));
    verify_time_format(t, text, sizeof(text));
    assert_string_equal(text, "2015-08-01T02:10:00Z");
    assert_false(verify_log_name_parse("AWSLogs/1/CloudTrail/us-east-1/notes.txt", &dir_len, &t));
}

static void times_round_trip(void **state)
{
    int64_t t;
    char text[32];

    (void)state;
    assert_true(verify_time_parse("2024-02-29T23:59:59Z", &t));
    verify_time_format(t, text, sizeof(text));
    assert_string_equal(text, "2024-02-29T23:59:59Z");
    assert_true(verify_time_parse("1970-01-02", &t));
    assert_int_equal(t, 86400);
    assert_false(verify_time_parse("2024-13-01", &t));
    assert_false(verify_time_parse("2024-01-01T10:00:00", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(real_digest_parses_with_every_field),
            cmocka_unit_test(data_to_sign_is_four_lines_with_null_spelled_out),
            cmocka_unit_test(digest_without_a_required_key_is_invalid_format),
            cmocka_unit_test(digest_names_split_into_chain_parts),
            cmocka_unit_test(log_names_give_their_delivery_time),
            cmocka_unit_test(times_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
