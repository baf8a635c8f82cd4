/*
 * dec_detect and dec_open's choice: the magic bytes decide, unsupported containers are refused
 * with advice, and plain input passes through byte for byte however it is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "dec_test_util.h"

#define OTRF_DIR LSF_SHARED_DATA "/cloudtrail/otrf-security-datasets"
#define STRATUS_JSON \
    LSF_SHARED_DATA "/cloudtrail/stratus-red-team/detonation-logs/" \
                    "aws.defense-evasion.cloudtrail-stop.json"

static void expect_kind(const void *head, size_t n, enum dec_kind want, const char *want_what)
{
    const char *what = NULL;

    assert_int_equal(dec_detect(head, n, &what), want);
    if (want_what != NULL)
        assert_string_equal(what, want_what);
}

static void test_magic_bytes_pick_gzip_and_zstd(void **state)
{
    (void)state;
    expect_kind("\x1f\x8b\x08\x00", 4, DEC_GZIP, NULL);
    expect_kind("\x28\xb5\x2f\xfd\x00", 5, DEC_ZSTD, NULL);
    /* A stream that starts with a skippable frame (any of the 16 magics) is zstd too. */
    expect_kind("\x50\x2a\x4d\x18", 4, DEC_ZSTD, NULL);
    expect_kind("\x5f\x2a\x4d\x18", 4, DEC_ZSTD, NULL);
}

static void test_unsupported_formats_are_named(void **state)
{
    unsigned char tar[600];

    (void)state;
    expect_kind("PK\x03\x04\x14\x00", 6, DEC_UNSUPPORTED, "zip");
    expect_kind("PK\x05\x06\x00\x00", 6, DEC_UNSUPPORTED, "zip");
    expect_kind("BZh91AY&SY", 10, DEC_UNSUPPORTED, "bzip2");
    expect_kind("\xfd\x37\x7a\x58\x5a\x00\x00", 7, DEC_UNSUPPORTED, "xz");
    expect_kind("\x37\x7a\xbc\xaf\x27\x1c\x00", 7, DEC_UNSUPPORTED, "7z");
    expect_kind("\x04\x22\x4d\x18\x64", 5, DEC_UNSUPPORTED, "lz4");
    memset(tar, 0, sizeof(tar));
    memcpy(tar, "logs/a.json", 11);
    memcpy(tar + 257, "ustar\0" "00", 8);
    expect_kind(tar, sizeof(tar), DEC_UNSUPPORTED, "tar");
}

static void test_text_and_short_heads_are_plain(void **state)
{
    unsigned char tar[600];

    (void)state;
    expect_kind("", 0, DEC_PLAIN, NULL);
    expect_kind("{\"Records\":[", 12, DEC_PLAIN, NULL);
    /* Magic numbers cut short are not magic. */
    expect_kind("\x1f", 1, DEC_PLAIN, NULL);
    expect_kind("\x28\xb5\x2f", 3, DEC_PLAIN, NULL);
    /* A line that happens to start "BZh" is text: bzip2 needs its block-size digit. */
    expect_kind("BZhello", 7, DEC_PLAIN, NULL);
    /* "ustar" at 257 only counts when the head reaches it. */
    memset(tar, 0, sizeof(tar));
    memcpy(tar + 257, "ustar", 5);
    expect_kind(tar, 261, DEC_PLAIN, NULL);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(dec_kind_name(DEC_PLAIN), "plain");
    assert_string_equal(dec_kind_name(DEC_GZIP), "gzip");
    assert_string_equal(dec_kind_name(DEC_ZSTD), "zstd");
    assert_string_equal(dec_kind_name(DEC_UNSUPPORTED), "unsupported");
}

static void test_real_zip_is_refused_with_extract_advice_and_raw_closed(void **state)
{
    struct tu_bytes zip = tu_read_file(OTRF_DIR "/aws_s3_honeybucketlogs.zip");
    struct tu_failing src;
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    enum dec_kind kind = DEC_PLAIN;

    (void)state;
    lsf_err_clear(&err);
    tu_failing_init(&src, zip.data, zip.len, &raw);
    assert_int_equal(dec_open(raw, "x.zip", &rd, &kind, &err), LSF_E_INPUT);
    assert_int_equal(kind, DEC_UNSUPPORTED);
    assert_true(src.is_closed);
    assert_null(rd.ops);
    assert_string_equal(err.msg, "x.zip: zip archive: logsift reads plain, gzip and zstd "
                                 "streams; extract it first (unzip) and scan the files");
    free(zip.data);
}

static void test_xz_is_refused_with_decompress_advice(void **state)
{
    static const unsigned char xz[] = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04};
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    (void)state;
    assert_int_equal(tu_decode(xz, sizeof(xz), 0, 4096, &out, &kind, &err), LSF_E_INPUT);
    assert_int_equal(kind, DEC_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "test-object: xz stream:"));
    assert_non_null(strstr(err.msg, "decompress it first (unxz)"));
    free(out.data);
}

static void test_empty_input_is_plain_with_no_bytes(void **state)
{
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind = DEC_GZIP;

    (void)state;
    assert_int_equal(tu_decode((const unsigned char *)"", 0, 0, 4096, &out, &kind, &err), LSF_OK);
    assert_int_equal(kind, DEC_PLAIN);
    assert_int_equal(out.len, 0);
    free(out.data);
}

static void test_plain_passes_through_unchanged_in_any_steps(void **state)
{
    struct tu_bytes json = tu_read_file(STRATUS_JSON);
    static const size_t raw_steps[] = {0, 1, 7, 511, 513};
    static const size_t out_steps[] = {65536, 1, 3, 512, 100000};

    (void)state;
    for (size_t i = 0; i < sizeof(raw_steps) / sizeof(raw_steps[0]); i++) {
        struct tu_bytes out;
        struct lsf_err err;
        enum dec_kind kind;
        assert_int_equal(tu_decode(json.data, json.len, raw_steps[i], out_steps[i], &out, &kind,
                                 &err),
                LSF_OK);
        assert_int_equal(kind, DEC_PLAIN);
        assert_int_equal(out.len, json.len);
        assert_memory_equal(out.data, json.data, json.len);
        free(out.data);
    }
    free(json.data);
}

static void test_plain_passes_a_read_error_through(void **state)
{
    struct tu_bytes text = tu_log_text(2000, 7);
    struct tu_failing src;
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    unsigned char buf[4096];
    size_t total = 0;
    size_t n;
    enum lsf_code rc;

    (void)state;
    lsf_err_clear(&err);
    tu_failing_init(&src, text.data, text.len, &raw);
    /* The error comes while dec_open peeks only if the stream is shorter than the peek. */
    assert_int_equal(dec_open(raw, "x.log", &rd, NULL, &err), LSF_OK);
    while ((rc = lsf_reader_read(&rd, buf, sizeof(buf), &n, &err)) == LSF_OK && n > 0)
        total += n;
    assert_int_equal(rc, LSF_E_IO);
    assert_string_equal(err.msg, TU_FAILING_MSG);
    assert_int_equal(total, text.len);
    lsf_reader_close(&rd);
    assert_true(src.is_closed);
    free(text.data);
}

static void test_read_error_while_peeking_fails_open_and_closes_raw(void **state)
{
    struct tu_failing src;
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    tu_failing_init(&src, "\x1f\x8b", 2, &raw);
    assert_int_equal(dec_open(raw, "x.gz", &rd, NULL, &err), LSF_E_IO);
    assert_string_equal(err.msg, TU_FAILING_MSG);
    assert_true(src.is_closed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic_bytes_pick_gzip_and_zstd),
        cmocka_unit_test(test_unsupported_formats_are_named),
        cmocka_unit_test(test_text_and_short_heads_are_plain),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_real_zip_is_refused_with_extract_advice_and_raw_closed),
        cmocka_unit_test(test_xz_is_refused_with_decompress_advice),
        cmocka_unit_test(test_empty_input_is_plain_with_no_bytes),
        cmocka_unit_test(test_plain_passes_through_unchanged_in_any_steps),
        cmocka_unit_test(test_plain_passes_a_read_error_through),
        cmocka_unit_test(test_read_error_while_peeking_fails_open_and_closes_raw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
