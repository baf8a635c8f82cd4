/*
 * The gzip reader: every member of a multi-member stream, any read sizes, each class of bad
 * input reported as an input error that names the offset (truncation at several points, CRC
 * and length mismatch, bad deflate data, trailing garbage), and constant memory over a
 * 200 MB stream that is generated while it is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "dec_test_util.h"

#define PANTHER_GZ \
    LSF_SHARED_DATA "/cloudtrail/panther-analysis/panther_cloudtrail_rule_tests.jsonl.gz"

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" not in \"%s\"", needle, haystack);
}

/* Decode that must succeed; returns the output. */
static struct tu_bytes decode_ok(const struct tu_bytes *in, size_t raw_step, size_t out_step)
{
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    enum lsf_code rc = tu_decode(in->data, in->len, raw_step, out_step, &out, &kind, &err);

    if (rc != LSF_OK)
        fail_msg("decode failed: %s", err.msg);
    assert_int_equal(kind, DEC_GZIP);
    return out;
}

static void test_real_gzip_decodes_and_its_crc_checks(void **state)
{
    struct tu_bytes gz = tu_read_file(PANTHER_GZ);
    struct tu_bytes out = decode_ok(&gz, 0, 65536);

    (void)state;
    /* ISA-L verified the CRC-32 and length of the trailer, so out is what gzip(1) stored. */
    assert_true(out.len > gz.len);
    assert_int_equal(out.data[0], '{');
    assert_int_equal(out.data[out.len - 1], '\n');
    free(out.data);
    free(gz.data);
}

static void test_single_member_round_trips_at_every_level(void **state)
{
    struct tu_bytes text = tu_log_text(300000, 1);

    (void)state;
    for (int level = 0; level <= 3; level++) {
        struct tu_bytes gz = tu_gzip(text.data, text.len, level);
        struct tu_bytes out = decode_ok(&gz, 0, 65536);
        assert_int_equal(out.len, text.len);
        assert_memory_equal(out.data, text.data, text.len);
        free(out.data);
        free(gz.data);
    }
    free(text.data);
}

/* Three members of different sizes and levels, one of them empty, as Firehose concatenates. */
static struct tu_bytes make_members(struct tu_bytes parts[3], struct tu_bytes members[3])
{
    struct tu_bytes all = {NULL, 0, 0};

    parts[0] = tu_log_text(70000, 2);
    parts[1] = tu_log_text(0, 3);
    parts[2] = tu_log_text(123457, 4);
    for (int i = 0; i < 3; i++) {
        members[i] = tu_gzip(parts[i].data, parts[i].len, i + 1);
        tu_append_raw(&all, members[i].data, members[i].len);
    }
    return all;
}

static void test_multi_member_output_is_the_concatenation(void **state)
{
    struct tu_bytes parts[3];
    struct tu_bytes members[3];
    struct tu_bytes all = make_members(parts, members);
    struct tu_bytes want = {NULL, 0, 0};
    struct tu_bytes out;

    (void)state;
    for (int i = 0; i < 3; i++) {
        out = decode_ok(&members[i], 0, 65536);
        assert_int_equal(out.len, parts[i].len);
        assert_memory_equal(out.data, parts[i].data, parts[i].len);
        free(out.data);
        tu_append_raw(&want, parts[i].data, parts[i].len);
    }
    out = decode_ok(&all, 0, 65536);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    free(out.data);
    for (int i = 0; i < 3; i++) {
        free(parts[i].data);
        free(members[i].data);
    }
    free(want.data);
    free(all.data);
}

static void test_tiny_reads_give_identical_output(void **state)
{
    struct tu_bytes parts[3];
    struct tu_bytes members[3];
    struct tu_bytes all = make_members(parts, members);
    struct tu_bytes ref = decode_ok(&all, 0, 1 << 20);
    /* raw 1 byte at a time; output 1 byte at a time; both odd. */
    static const size_t steps[][2] = {{1, 65536}, {0, 1}, {1, 1}, {3, 7}, {4097, 511}};

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct tu_bytes out = decode_ok(&all, steps[i][0], steps[i][1]);
        assert_int_equal(out.len, ref.len);
        assert_memory_equal(out.data, ref.data, ref.len);
        free(out.data);
    }
    for (int i = 0; i < 3; i++) {
        free(parts[i].data);
        free(members[i].data);
    }
    free(ref.data);
    free(all.data);
}

/* gzip of data in stored (uncompressed) deflate blocks, built by hand (RFC 1951 3.2.4). */
static struct tu_bytes stored_gzip(const unsigned char *data, size_t len, size_t block_len)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    struct tu_bytes gz = {NULL, 0, 0};
    uint32_t crc = crc32_gzip_refl(0, data, len);
    unsigned char trailer[8];
    size_t pos = 0;

    tu_append_raw(&gz, header, sizeof(header));
    do {
        size_t n = len - pos < block_len ? len - pos : block_len;
        unsigned char hdr[5] = {pos + n == len ? 1 : 0, (unsigned char)n,
                (unsigned char)(n >> 8), (unsigned char)~n, (unsigned char)(~n >> 8)};
        tu_append_raw(&gz, hdr, sizeof(hdr));
        tu_append_raw(&gz, data + pos, n);
        pos += n;
    } while (pos < len);
    for (int i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)(crc >> (8 * i));
        trailer[4 + i] = (unsigned char)(len >> (8 * i));
    }
    tu_append_raw(&gz, trailer, sizeof(trailer));
    return gz;
}

static void test_stored_blocks_decode_in_any_steps(void **state)
{
    struct tu_bytes text = tu_log_text(50000, 5);
    struct tu_bytes gz = stored_gzip(text.data, text.len, 7000);
    static const size_t steps[][2] = {{0, 65536}, {1, 1}, {5, 3}};

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct tu_bytes out = decode_ok(&gz, steps[i][0], steps[i][1]);
        assert_int_equal(out.len, text.len);
        assert_memory_equal(out.data, text.data, text.len);
        free(out.data);
    }
    free(gz.data);
    free(text.data);
}

static void test_truncated_gzip_is_input_error_after_the_bytes_before(void **state)
{
    struct tu_bytes gz = tu_read_file(PANTHER_GZ);
    struct tu_bytes ref = decode_ok(&gz, 0, 65536);
    const size_t cuts[] = {2, 5, 10, 11, 100, gz.len / 2, gz.len - 9, gz.len - 8, gz.len - 5,
            gz.len - 1};

    (void)state;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        struct tu_bytes out;
        struct lsf_err err;
        enum dec_kind kind;
        char where[64];
        enum lsf_code rc = tu_decode(gz.data, cuts[i], i % 2 ? 1000 : 0, 4096, &out, &kind, &err);
        assert_int_equal(rc, LSF_E_INPUT);
        assert_contains(err.msg, "test-object: gzip stream ends at compressed byte");
        assert_contains(err.msg, "(archive truncated); re-copy the object and rerun");
        snprintf(where, sizeof(where), "compressed byte %zu ", cuts[i]);
        assert_contains(err.msg, where);
        /* Every byte decoded before the cut was delivered, and nothing else. */
        assert_true(out.len <= ref.len);
        assert_memory_equal(out.data, ref.data, out.len);
        if (cuts[i] >= gz.len - 8) {
            assert_int_equal(out.len, ref.len);
            assert_contains(err.msg, "before the trailer of member 1");
        }
        if (cuts[i] == 5)
            assert_contains(err.msg, "inside the header of member 1");
        if (cuts[i] == gz.len / 2) {
            assert_contains(err.msg, "inside the compressed data of member 1");
            assert_true(out.len > 0);
        }
        free(out.data);
    }
    free(ref.data);
    free(gz.data);
}

static void test_truncated_second_member_names_it(void **state)
{
    struct tu_bytes parts[3];
    struct tu_bytes members[3];
    struct tu_bytes all = make_members(parts, members);
    size_t cut = members[0].len + members[1].len + members[2].len / 2;
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    (void)state;
    assert_int_equal(tu_decode(all.data, cut, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "inside the compressed data of member 3 (archive truncated)");
    assert_true(out.len >= parts[0].len);
    assert_memory_equal(out.data, parts[0].data, parts[0].len);
    for (int i = 0; i < 3; i++) {
        free(parts[i].data);
        free(members[i].data);
    }
    free(out.data);
    free(all.data);
}

/* Flip one bit at pos and expect an input error containing want, after the data. */
static void expect_corrupt(size_t pos_from_end, const char *want)
{
    struct tu_bytes text = tu_log_text(100000, 6);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 1);
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    gz.data[gz.len - pos_from_end] ^= 0x10;
    assert_int_equal(tu_decode(gz.data, gz.len, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, want);
    assert_contains(err.msg, "in gzip member 1 starting at byte 0");
    assert_contains(err.msg, "re-copy it and rerun");
    /* The data itself was intact, so all of it came out before the trailer check failed. */
    assert_int_equal(out.len, text.len);
    free(out.data);
    free(gz.data);
    free(text.data);
}

static void test_crc_mismatch_is_input_error(void **state)
{
    (void)state;
    expect_corrupt(8, "test-object: CRC-32/length check of the trailer failed");
}

static void test_length_mismatch_is_input_error(void **state)
{
    (void)state;
    expect_corrupt(3, "test-object: CRC-32/length check of the trailer failed");
}

static void test_bad_deflate_data_is_input_error(void **state)
{
    /* A gzip header, then a final block of the reserved type 3 (RFC 1951 3.2.3). */
    static const unsigned char bad[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07, 0, 0, 0, 0};
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    (void)state;
    assert_int_equal(tu_decode(bad, sizeof(bad), 0, 4096, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "test-object: invalid deflate data (data corrupted) near "
                             "compressed byte");
    assert_int_equal(out.len, 0);
    free(out.data);
}

static void test_corrupt_data_mid_stream_delivers_bytes_before(void **state)
{
    struct tu_bytes text = tu_log_text(400000, 8);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 1);
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    enum lsf_code rc;

    (void)state;
    /* Scramble a stretch in the middle: decoding or the CRC must fail, never succeed. */
    for (size_t i = gz.len / 2; i < gz.len / 2 + 64; i++)
        gz.data[i] = (unsigned char)(i * 131);
    rc = tu_decode(gz.data, gz.len, 0, 65536, &out, &kind, &err);
    assert_int_equal(rc, LSF_E_INPUT);
    assert_contains(err.msg, "the object is damaged");
    /*
     * Bad deflate bits can still decode to wrong bytes for a while before ISA-L or the CRC
     * notices; the bytes from before the damaged stretch (about the first half) are right.
     */
    assert_true(out.len >= text.len / 4);
    assert_memory_equal(out.data, text.data, text.len / 4);
    free(out.data);
    free(gz.data);
    free(text.data);
}

static void test_trailing_garbage_is_input_error_naming_the_offset(void **state)
{
    struct tu_bytes text = tu_log_text(10000, 9);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 2);
    size_t gz_len = gz.len;
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    char want[128];

    (void)state;
    tu_append_raw(&gz, "junk after the end", 18);
    assert_int_equal(tu_decode(gz.data, gz.len, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    snprintf(want, sizeof(want),
            "test-object: garbage after the last gzip member at byte %zu (members decoded: 1)",
            gz_len);
    assert_contains(err.msg, want);
    assert_int_equal(out.len, text.len);
    free(out.data);
    /* One stray byte (not even a whole magic) is garbage too. */
    gz.len = gz_len;
    tu_append_raw(&gz, "\x1f", 1);
    assert_int_equal(tu_decode(gz.data, gz.len, 1, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "garbage after the last gzip member");
    free(out.data);
    free(gz.data);
    free(text.data);
}

static void test_trailing_zero_padding_is_ignored(void **state)
{
    struct tu_bytes text = tu_log_text(10000, 10);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 2);
    unsigned char zeros[5000];
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    (void)state;
    memset(zeros, 0, sizeof(zeros));
    tu_append_raw(&gz, zeros, sizeof(zeros));
    assert_int_equal(tu_decode(gz.data, gz.len, 333, 65536, &out, &kind, &err), LSF_OK);
    assert_int_equal(out.len, text.len);
    free(out.data);
    /* ... but not padding followed by something else. */
    tu_append_raw(&gz, "x", 1);
    assert_int_equal(tu_decode(gz.data, gz.len, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "garbage after the last gzip member");
    free(out.data);
    free(gz.data);
    free(text.data);
}

static void test_raw_read_error_passes_through_and_sticks(void **state)
{
    struct tu_bytes text = tu_log_text(200000, 11);
    struct tu_bytes gz = tu_gzip(text.data, text.len, 1);
    struct tu_failing src;
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    unsigned char buf[65536];
    size_t total = 0;
    size_t n;
    enum lsf_code rc;

    (void)state;
    lsf_err_clear(&err);
    tu_failing_init(&src, gz.data, gz.len / 2, &raw);
    assert_int_equal(dec_open(raw, "x.gz", &rd, NULL, &err), LSF_OK);
    while ((rc = lsf_reader_read(&rd, buf, sizeof(buf), &n, &err)) == LSF_OK && n > 0)
        total += n;
    assert_int_equal(rc, LSF_E_IO);
    assert_string_equal(err.msg, TU_FAILING_MSG);
    assert_true(total > 0 && total < text.len);
    /* Reading again repeats the failure rather than decoding garbage. */
    lsf_err_clear(&err);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_E_IO);
    assert_int_equal(n, 0);
    assert_string_equal(err.msg, TU_FAILING_MSG);
    lsf_reader_close(&rd);
    assert_true(src.is_closed);
    free(gz.data);
    free(text.data);
}

/*
 * A raw reader that makes a multi-member gzip stream of log text while it is read, so 200 MB
 * pass through the decoder without ever being in memory.
 */
#define GEN_BLOCK (64 * 1024)

struct gen_gzip {
    struct isal_zstream zs;
    unsigned char *level_buf;
    struct tu_bytes text; /* 2 * GEN_BLOCK of log text to cut blocks from */
    unsigned char block[GEN_BLOCK];
    unsigned char out[2 * GEN_BLOCK];
    size_t out_pos;
    size_t out_len;
    uint64_t made;       /* plain bytes compressed so far */
    uint64_t total;      /* plain bytes to make */
    uint64_t member_len; /* plain bytes per member */
    bool is_in_member;
    uint32_t crc; /* CRC-32 of the plain bytes */
};

static void gen_start_member(struct gen_gzip *gen)
{
    isal_deflate_init(&gen->zs);
    gen->zs.gzip_flag = IGZIP_GZIP;
    gen->zs.level = 1;
    gen->zs.level_buf = gen->level_buf;
    gen->zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    gen->is_in_member = true;
}

/* Compress the next block into out (possibly producing nothing yet). */
static void gen_next_block(struct gen_gzip *gen)
{
    uint64_t in_member = gen->made % gen->member_len;
    size_t n = GEN_BLOCK;
    size_t shift = (size_t)((gen->made / GEN_BLOCK * 4099) % GEN_BLOCK);

    if (!gen->is_in_member)
        gen_start_member(gen);
    if (n > gen->total - gen->made)
        n = (size_t)(gen->total - gen->made);
    if (n > gen->member_len - in_member)
        n = (size_t)(gen->member_len - in_member);
    memcpy(gen->block, gen->text.data + shift, n);
    memcpy(gen->block, &gen->made, sizeof(gen->made)); /* every block differs */
    gen->crc = crc32_gzip_refl(gen->crc, gen->block, n);
    gen->made += n;
    gen->zs.next_in = gen->block;
    gen->zs.avail_in = (uint32_t)n;
    gen->zs.end_of_stream = gen->made % gen->member_len == 0 || gen->made == gen->total;
    gen->zs.next_out = gen->out;
    gen->zs.avail_out = sizeof(gen->out);
    do {
        assert_int_equal(isal_deflate(&gen->zs), COMP_OK);
        assert_true(gen->zs.avail_out > 0);
    } while (gen->zs.avail_in > 0 ||
            (gen->zs.end_of_stream && gen->zs.internal_state.state != ZSTATE_END));
    if (gen->zs.end_of_stream)
        gen->is_in_member = false;
    gen->out_pos = 0;
    gen->out_len = sizeof(gen->out) - gen->zs.avail_out;
}

static enum lsf_code gen_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct gen_gzip *gen = self;
    size_t n;

    (void)err;
    while (gen->out_pos == gen->out_len && gen->made < gen->total)
        gen_next_block(gen);
    n = gen->out_len - gen->out_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, gen->out + gen->out_pos, n);
    gen->out_pos += n;
    *n_read = n;
    return LSF_OK;
}

static const struct lsf_reader_ops gen_ops = {
    .read = gen_read,
    .close = NULL,
};

static void test_200mb_stream_decodes_in_constant_memory(void **state)
{
    struct gen_gzip *gen = calloc(1, sizeof(*gen));
    struct lsf_reader raw = {&gen_ops, gen};
    struct lsf_reader rd;
    struct lsf_err err;
    uint64_t total = 0;
    uint32_t crc = 0;
    long rss_before;

    (void)state;
    gen->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    gen->text = tu_log_text(2 * GEN_BLOCK, 12);
    gen->total = 200ull * 1000 * 1000;
    gen->member_len = 32ull << 20; /* 7 members, the last one short */
    rss_before = tu_max_rss_kb();
    lsf_err_clear(&err);
    assert_int_equal(dec_open(raw, "gen.gz", &rd, NULL, &err), LSF_OK);
    assert_int_equal(tu_drain(&rd, &total, &crc, &err), LSF_OK);
    lsf_reader_close(&rd);
    assert_int_equal(total, gen->total);
    assert_int_equal(crc, gen->crc);
    /* The decoder holds well under 1 MiB; allow slack for the allocator, never 200 MB. */
    assert_true(tu_max_rss_kb() - rss_before < 32 * 1024);
    free(gen->text.data);
    free(gen->level_buf);
    free(gen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200mb_stream_decodes_in_constant_memory),
        cmocka_unit_test(test_real_gzip_decodes_and_its_crc_checks),
        cmocka_unit_test(test_single_member_round_trips_at_every_level),
        cmocka_unit_test(test_multi_member_output_is_the_concatenation),
        cmocka_unit_test(test_tiny_reads_give_identical_output),
        cmocka_unit_test(test_stored_blocks_decode_in_any_steps),
        cmocka_unit_test(test_truncated_gzip_is_input_error_after_the_bytes_before),
        cmocka_unit_test(test_truncated_second_member_names_it),
        cmocka_unit_test(test_crc_mismatch_is_input_error),
        cmocka_unit_test(test_length_mismatch_is_input_error),
        cmocka_unit_test(test_bad_deflate_data_is_input_error),
        cmocka_unit_test(test_corrupt_data_mid_stream_delivers_bytes_before),
        cmocka_unit_test(test_trailing_garbage_is_input_error_naming_the_offset),
        cmocka_unit_test(test_trailing_zero_padding_is_ignored),
        cmocka_unit_test(test_raw_read_error_passes_through_and_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
