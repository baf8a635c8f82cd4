/*
 * The zstd reader: every frame of a multi-frame stream, skippable frames anywhere, any read
 * sizes, truncation, corruption and trailing garbage reported as input errors, and constant
 * memory over a 200 MB multi-frame stream that is generated while it is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <isa-l/crc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "dec.h"
#include "dec_test_util.h"

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" not in \"%s\"", needle, haystack);
}

static struct tu_bytes decode_ok(const struct tu_bytes *in, size_t raw_step, size_t out_step)
{
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    enum lsf_code rc = tu_decode(in->data, in->len, raw_step, out_step, &out, &kind, &err);

    if (rc != LSF_OK)
        fail_msg("decode failed: %s", err.msg);
    assert_int_equal(kind, DEC_ZSTD);
    return out;
}

static void test_single_frame_round_trips(void **state)
{
    struct tu_bytes text = tu_log_text(500000, 1);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 3, true);
    struct tu_bytes out = decode_ok(&zs, 0, 65536);

    (void)state;
    assert_int_equal(out.len, text.len);
    assert_memory_equal(out.data, text.data, text.len);
    free(out.data);
    free(zs.data);
    free(text.data);
}

/*
 * skippable, frame A, skippable, frame B (empty), frame C, skippable: the output is A then C,
 * and the stream opens with a skippable frame so detection must see zstd through it.
 */
static struct tu_bytes make_frames(struct tu_bytes *want)
{
    struct tu_bytes a = tu_log_text(100000, 2);
    struct tu_bytes c = tu_log_text(77777, 3);
    struct tu_bytes all = {NULL, 0, 0};

    tu_append(&all, tu_zstd_skippable(0, 100));
    tu_append(&all, tu_zstd(a.data, a.len, 1, true));
    tu_append(&all, tu_zstd_skippable(7, 0));
    tu_append(&all, tu_zstd("", 0, 1, false));
    tu_append(&all, tu_zstd(c.data, c.len, 19, false));
    tu_append(&all, tu_zstd_skippable(15, 3000));
    want->data = NULL;
    want->len = 0;
    want->cap = 0;
    tu_append(want, a);
    tu_append(want, c);
    return all;
}

static void test_multi_frame_with_skippable_frames_is_the_concatenation(void **state)
{
    struct tu_bytes want;
    struct tu_bytes all = make_frames(&want);
    struct tu_bytes out = decode_ok(&all, 0, 65536);

    (void)state;
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    free(out.data);
    free(want.data);
    free(all.data);
}

static void test_tiny_reads_give_identical_output(void **state)
{
    struct tu_bytes want;
    struct tu_bytes all = make_frames(&want);
    static const size_t steps[][2] = {{1, 65536}, {0, 1}, {1, 1}, {3, 7}, {4097, 511}};

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct tu_bytes out = decode_ok(&all, steps[i][0], steps[i][1]);
        assert_int_equal(out.len, want.len);
        assert_memory_equal(out.data, want.data, want.len);
        free(out.data);
    }
    free(want.data);
    free(all.data);
}

static void test_only_a_skippable_frame_is_empty_output(void **state)
{
    struct tu_bytes skip = tu_zstd_skippable(3, 40);
    struct tu_bytes out = decode_ok(&skip, 0, 4096);

    (void)state;
    assert_int_equal(out.len, 0);
    free(out.data);
    free(skip.data);
}

static void test_truncated_zstd_is_input_error_after_the_bytes_before(void **state)
{
    struct tu_bytes text = tu_log_text(300000, 4);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 3, true);
    const size_t cuts[] = {4, 6, 20, zs.len / 3, zs.len / 2, zs.len - 4, zs.len - 1};

    (void)state;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        struct tu_bytes out;
        struct lsf_err err;
        enum dec_kind kind;
        char want[160];
        enum lsf_code rc = tu_decode(zs.data, cuts[i], i % 2 ? 777 : 0, 4096, &out, &kind, &err);
        assert_int_equal(rc, LSF_E_INPUT);
        snprintf(want, sizeof(want),
                "test-object: zstd stream ends at compressed byte %zu inside the frame "
                "starting at byte 0 (archive truncated)",
                cuts[i]);
        assert_contains(err.msg, want);
        assert_true(out.len <= text.len);
        assert_memory_equal(out.data, text.data, out.len);
        /* Only the 4-byte checksum missing: all data came out, then the error. */
        if (cuts[i] == zs.len - 4)
            assert_int_equal(out.len, text.len);
        free(out.data);
    }
    free(zs.data);
    free(text.data);
}

static void test_truncated_later_frame_names_its_start(void **state)
{
    struct tu_bytes a = tu_log_text(5000, 5);
    struct tu_bytes all = tu_zstd(a.data, a.len, 1, false);
    size_t second = all.len;
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    char want[64];

    (void)state;
    tu_append(&all, tu_zstd(a.data, a.len, 1, false));
    assert_int_equal(tu_decode(all.data, all.len - 10, 0, 4096, &out, &kind, &err), LSF_E_INPUT);
    snprintf(want, sizeof(want), "inside the frame starting at byte %zu", second);
    assert_contains(err.msg, want);
    assert_true(out.len >= a.len);
    free(out.data);
    free(all.data);
    free(a.data);
}

static void test_corrupt_zstd_is_input_error(void **state)
{
    struct tu_bytes text = tu_log_text(300000, 6);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 3, true);
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;

    (void)state;
    for (size_t i = zs.len / 2; i < zs.len / 2 + 32; i++)
        zs.data[i] ^= 0x5a;
    assert_int_equal(tu_decode(zs.data, zs.len, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "test-object: corrupt zstd data in the frame starting at "
                             "compressed byte 0 (zstd: ");
    assert_contains(err.msg, "re-copy it and rerun");
    free(out.data);
    /* A wrong content checksum alone is caught too. */
    free(zs.data);
    zs = tu_zstd(text.data, text.len, 3, true);
    zs.data[zs.len - 1] ^= 1;
    assert_int_equal(tu_decode(zs.data, zs.len, 0, 65536, &out, &kind, &err), LSF_E_INPUT);
    assert_contains(err.msg, "checksum");
    /* libzstd may hold back the last block of a frame whose checksum fails. */
    assert_true(out.len <= text.len);
    assert_memory_equal(out.data, text.data, out.len);
    free(out.data);
    free(zs.data);
    free(text.data);
}

static void test_trailing_garbage_is_input_error_naming_the_offset(void **state)
{
    struct tu_bytes text = tu_log_text(10000, 7);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 3, false);
    size_t zs_len = zs.len;
    struct tu_bytes out;
    struct lsf_err err;
    enum dec_kind kind;
    char want[160];

    (void)state;
    tu_append_raw(&zs, "junk after the end", 18);
    assert_int_equal(tu_decode(zs.data, zs.len, 5, 65536, &out, &kind, &err), LSF_E_INPUT);
    snprintf(want, sizeof(want), "test-object: garbage after the last zstd frame at byte %zu",
            zs_len);
    assert_contains(err.msg, want);
    assert_int_equal(out.len, text.len);
    free(out.data);
    free(zs.data);
    free(text.data);
}

static void test_raw_read_error_passes_through_and_sticks(void **state)
{
    struct tu_bytes text = tu_log_text(300000, 8);
    struct tu_bytes zs = tu_zstd(text.data, text.len, 1, false);
    struct tu_failing src;
    struct lsf_reader raw;
    struct lsf_reader rd;
    struct lsf_err err;
    unsigned char buf[65536];
    size_t n;
    enum lsf_code rc;

    (void)state;
    lsf_err_clear(&err);
    tu_failing_init(&src, zs.data, zs.len / 2, &raw);
    assert_int_equal(dec_open(raw, "x.zst", &rd, NULL, &err), LSF_OK);
    while ((rc = lsf_reader_read(&rd, buf, sizeof(buf), &n, &err)) == LSF_OK && n > 0)
        ;
    assert_int_equal(rc, LSF_E_IO);
    assert_string_equal(err.msg, TU_FAILING_MSG);
    lsf_err_clear(&err);
    assert_int_equal(lsf_reader_read(&rd, buf, sizeof(buf), &n, &err), LSF_E_IO);
    lsf_reader_close(&rd);
    assert_true(src.is_closed);
    free(zs.data);
    free(text.data);
}

/* A raw reader making a multi-frame zstd stream of log text while it is read. */
#define GEN_BLOCK (64 * 1024)

struct gen_zstd {
    ZSTD_CCtx *cctx;
    struct tu_bytes text;
    unsigned char block[GEN_BLOCK];
    unsigned char out[2 * GEN_BLOCK];
    size_t out_pos;
    size_t out_len;
    uint64_t made;
    uint64_t total;
    uint64_t frame_len;
    uint32_t crc;
};

static void gen_next_block(struct gen_zstd *gen)
{
    uint64_t in_frame = gen->made % gen->frame_len;
    size_t n = GEN_BLOCK;
    size_t shift = (size_t)((gen->made / GEN_BLOCK * 4099) % GEN_BLOCK);
    ZSTD_inBuffer in;
    ZSTD_outBuffer out = {gen->out, sizeof(gen->out), 0};
    ZSTD_EndDirective mode;
    size_t left;

    if (n > gen->total - gen->made)
        n = (size_t)(gen->total - gen->made);
    if (n > gen->frame_len - in_frame)
        n = (size_t)(gen->frame_len - in_frame);
    memcpy(gen->block, gen->text.data + shift, n);
    memcpy(gen->block, &gen->made, sizeof(gen->made));
    gen->crc = crc32_gzip_refl(gen->crc, gen->block, n);
    gen->made += n;
    mode = gen->made % gen->frame_len == 0 || gen->made == gen->total ? ZSTD_e_end
                                                                        : ZSTD_e_continue;
    in.src = gen->block;
    in.size = n;
    in.pos = 0;
    do {
        left = ZSTD_compressStream2(gen->cctx, &out, &in, mode);
        assert_false(ZSTD_isError(left));
        assert_true(out.pos < out.size);
    } while (in.pos < in.size || (mode == ZSTD_e_end && left != 0));
    gen->out_pos = 0;
    gen->out_len = out.pos;
}

static enum lsf_code gen_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct gen_zstd *gen = self;
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
    struct gen_zstd *gen = calloc(1, sizeof(*gen));
    struct lsf_reader raw = {&gen_ops, gen};
    struct lsf_reader rd;
    struct lsf_err err;
    uint64_t total = 0;
    uint32_t crc = 0;
    long rss_before;

    (void)state;
    gen->cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(gen->cctx, ZSTD_c_compressionLevel, 1);
    gen->text = tu_log_text(2 * GEN_BLOCK, 9);
    gen->total = 200ull * 1000 * 1000;
    gen->frame_len = 32ull << 20;
    rss_before = tu_max_rss_kb();
    lsf_err_clear(&err);
    assert_int_equal(dec_open(raw, "gen.zst", &rd, NULL, &err), LSF_OK);
    assert_int_equal(tu_drain(&rd, &total, &crc, &err), LSF_OK);
    lsf_reader_close(&rd);
    assert_int_equal(total, gen->total);
    assert_int_equal(crc, gen->crc);
    /* The window of a level-1 frame is a few MiB; allow slack, never 200 MB. */
    assert_true(tu_max_rss_kb() - rss_before < 48 * 1024);
    ZSTD_freeCCtx(gen->cctx);
    free(gen->text.data);
    free(gen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200mb_stream_decodes_in_constant_memory),
        cmocka_unit_test(test_single_frame_round_trips),
        cmocka_unit_test(test_multi_frame_with_skippable_frames_is_the_concatenation),
        cmocka_unit_test(test_tiny_reads_give_identical_output),
        cmocka_unit_test(test_only_a_skippable_frame_is_empty_output),
        cmocka_unit_test(test_truncated_zstd_is_input_error_after_the_bytes_before),
        cmocka_unit_test(test_truncated_later_frame_names_its_start),
        cmocka_unit_test(test_corrupt_zstd_is_input_error),
        cmocka_unit_test(test_trailing_garbage_is_input_error_naming_the_offset),
        cmocka_unit_test(test_raw_read_error_passes_through_and_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
