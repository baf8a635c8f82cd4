/*
 * Fuzz target for the framer (scanner/frame). Byte 0 picks the format (mod FRAME_N_FORMATS)
 * and, in its high bits, max_event_len; byte 1 picks the window step. The rest is fed the way
 * the engine feeds it (keep the unconsumed tail, append the next bytes, call again after a
 * problem) and every promise of frame.h is checked, aborting on a broken one: events inside
 * the consumed part, in order, not overlapping, with the right src_off and ordinal; the bytes
 * around events '\n'; the unconsumed tail untouched; len - consumed within bounds; progress
 * after a problem. Then the same input is framed in one window, and with the scalar scanner,
 * and all three must give the same events: nothing may depend on where windows end.
 */
/* fuzz-libs: lsf_frame lsf_base */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "frame_int.h" /* frame_simd_override */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_frame: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct run {
    size_t n;
    size_t n_problems;
    uint64_t hash; /* over events: bytes, src_off, ordinal, ts */
    enum frame_format fmt;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static void frame_all(enum frame_format fmt, const uint8_t *data, size_t size, size_t step,
        size_t max_event_len, struct run *out)
{
    unsigned char *win = malloc(size + 1);
    unsigned char *orig = malloc(size + 1);
    struct framer *f = NULL;
    struct frame_batch batch;
    struct lsf_err err;
    size_t carry = 0, in_pos = 0;
    uint64_t base = 0, next_ordinal = 0;

    CHECK(win != NULL && orig != NULL);
    memset(out, 0, sizeof(*out));
    out->hash = 0xcbf29ce484222325ULL;
    lsf_err_clear(&err);
    CHECK(framer_new(fmt, max_event_len, &f, &err) == LSF_OK);
    frame_batch_init(&batch);
    for (;;) {
        size_t add = size - in_pos < step ? size - in_pos : step;
        size_t len, pos = 0;
        bool is_eof;

        memcpy(win + carry, data + in_pos, add);
        in_pos += add;
        len = carry + add;
        is_eof = in_pos == size;
        while (pos < len || (is_eof && pos == len)) {
            size_t consumed = (size_t)-1, prev_end = 0;
            enum lsf_code rc;
            unsigned char *mark;

            memcpy(orig, win + pos, len - pos);
            frame_batch_reset(&batch);
            lsf_err_clear(&err);
            rc = framer_feed(f, win + pos, len - pos, base + pos, is_eof, &batch, &consumed, &err);
            CHECK(consumed <= len - pos);
            mark = calloc(consumed + 1, 1);
            CHECK(mark != NULL);
            for (size_t k = 0; k < batch.n; k++) {
                const struct frame_event *ev = &batch.ev[k];
                CHECK(ev->len > 0);
                CHECK(ev->off >= prev_end);
                CHECK(ev->off + ev->len <= consumed);
                CHECK(ev->src_off == base + pos + ev->off);
                CHECK(ev->ordinal == next_ordinal);
                next_ordinal++;
                prev_end = ev->off + ev->len;
                memset(mark + ev->off, 1, ev->len);
                out->hash = mix(out->hash, win + pos + ev->off, ev->len);
                out->hash = mix(out->hash, &ev->src_off, sizeof(ev->src_off));
                out->hash = mix(out->hash, &ev->ts_ms, sizeof(ev->ts_ms));
                (void)frame_event_time(
                        framer_format(f), win + pos + ev->off, ev->len, INT64_C(1700000000000));
                out->n++;
            }
            if (!framer_gave_up(f)) {
                for (size_t k = 0; k < consumed; k++)
                    CHECK(mark[k] || win[pos + k] == '\n');
            }
            free(mark);
            CHECK(memcmp(win + pos + consumed, orig + consumed, len - pos - consumed) == 0);
            if (rc == LSF_OK) {
                CHECK(err.code == LSF_OK);
                if (is_eof)
                    CHECK(consumed == len - pos);
                if (framer_format(f) != FRAME_AUTO)
                    CHECK(len - pos - consumed <= max_event_len);
                else
                    CHECK(len - pos - consumed <= 64 * 1024);
                pos += consumed;
                break;
            }
            CHECK(rc == LSF_E_INPUT && err.code == LSF_E_INPUT);
            CHECK(strncmp(err.msg, "byte ", 5) == 0);
            out->n_problems++;
            if (framer_gave_up(f)) {
                pos = len;
                is_eof = true;
                break;
            }
            CHECK(consumed > 0 || pos == len);
            pos += consumed;
        }
        if (is_eof)
            break;
        memmove(win, win + pos, len - pos);
        carry = len - pos;
        base += pos;
    }
    out->fmt = framer_format(f);
    framer_free(f);
    frame_batch_cleanup(&batch);
    free(win);
    free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum frame_format fmt;
    size_t step, max_event_len;
    struct run a, b, c;

    if (size < 2)
        return 0;
    fmt = (enum frame_format)(data[0] % FRAME_N_FORMATS);
    max_event_len = FRAME_MIN_EVENT_LEN + (size_t)(data[0] / FRAME_N_FORMATS) * 97;
    step = data[1] < 192 ? 1 + (size_t)data[1] : (size_t)1 << (data[1] - 192) % 20;
    data += 2;
    size -= 2;

    frame_all(fmt, data, size, step, max_event_len, &a);
    frame_all(fmt, data, size, size ? size : 1, max_event_len, &b);
    frame_simd_override = FRAME_SIMD_SCALAR;
    frame_all(fmt, data, size, step, max_event_len, &c);
    frame_simd_override = -1;
    CHECK(a.n == b.n && a.n == c.n);
    CHECK(a.n_problems == b.n_problems && a.n_problems == c.n_problems);
    CHECK(a.hash == b.hash && a.hash == c.hash);
    CHECK(a.fmt == b.fmt && a.fmt == c.fmt);
    return 0;
}
