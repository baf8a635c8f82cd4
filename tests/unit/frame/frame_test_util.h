/*
 * Helpers for the frame tests: run a whole input through a framer the way the engine does
 * (scanner/engine/scan.c frame_window: a window is the carried tail plus `step` new bytes;
 * after a problem, call again with the rest of the same window), keep a copy of every event,
 * and check the framer's promises after every call:
 *   - events lie inside buf[0..consumed), in order, without overlapping;
 *   - src_off = base_off + off and ordinals count up from 0 without gaps;
 *   - every byte of buf[0..consumed) outside the events is '\n', the rest is untouched;
 *   - on LSF_OK, len - consumed <= max_event_len (+64 KiB while detecting), and == 0 at EOF;
 *   - after a problem, consumed > 0 (progress) unless the window was empty.
 */
#ifndef FRAME_TEST_UTIL_H
#define FRAME_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

struct ft_event {
    unsigned char *bytes;
    size_t len;
    uint64_t src_off;
    uint64_t ordinal;
    int64_t ts_ms;
};

struct ft_result {
    struct ft_event *ev;
    size_t n;
    size_t n_problems; /* LSF_E_INPUT returns */
    char first_problem[LSF_ERR_MSG_MAX];
    char problems[8192]; /* all messages, one per line (truncated) */
    enum frame_format fmt;
    bool has_gave_up;
    size_t max_keep; /* largest len - consumed seen on LSF_OK */
};

static inline void ft_result_free(struct ft_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->ev[i].bytes);
    free(r->ev);
    memset(r, 0, sizeof(*r));
}

static inline void ft_add_event(struct ft_result *r, const unsigned char *bytes, size_t len,
        uint64_t src_off, uint64_t ordinal, int64_t ts_ms)
{
    struct ft_event *e;

    r->ev = realloc(r->ev, (r->n + 1) * sizeof(*r->ev));
    assert_non_null(r->ev);
    e = &r->ev[r->n++];
    e->bytes = malloc(len + 1);
    assert_non_null(e->bytes);
    memcpy(e->bytes, bytes, len);
    e->bytes[len] = '\0';
    e->len = len;
    e->src_off = src_off;
    e->ordinal = ordinal;
    e->ts_ms = ts_ms;
}

/*
 * Frame data[0..n) with format fmt, presenting `step` new bytes per window (0: all at once).
 * Fails the test on any broken promise.
 */
static inline void ft_run(enum frame_format fmt, const unsigned char *data, size_t n, size_t step,
        size_t max_event_len, struct ft_result *r)
{
    struct framer *f = NULL;
    struct lsf_err err;
    struct frame_batch batch;
    unsigned char *win = malloc(n + 1);
    unsigned char *orig = malloc(n + 1);
    size_t carry = 0;  /* bytes at the start of win carried from the last window */
    size_t in_pos = 0; /* next byte of data to present */
    uint64_t base = 0; /* input offset of win[0] */
    uint64_t next_ordinal = 0;

    memset(r, 0, sizeof(*r));
    assert_non_null(win);
    assert_non_null(orig);
    lsf_err_clear(&err);
    assert_int_equal(framer_new(fmt, max_event_len, &f, &err), LSF_OK);
    frame_batch_init(&batch);
    if (step == 0)
        step = n ? n : 1;
    for (;;) {
        size_t add = n - in_pos < step ? n - in_pos : step;
        size_t len, pos = 0;
        bool is_eof;

        memcpy(win + carry, data + in_pos, add);
        in_pos += add;
        len = carry + add;
        is_eof = in_pos == n;
        while (pos < len || (is_eof && pos == len)) {
            size_t consumed = 12345;
            enum lsf_code rc;

            memcpy(orig, win + pos, len - pos);
            lsf_err_clear(&err);
            frame_batch_reset(&batch);
            rc = framer_feed(f, win + pos, len - pos, base + pos, is_eof, &batch, &consumed, &err);
            assert_true(consumed <= len - pos);
            /* Events: in order, inside the consumed part, no overlap, offsets and ordinals. */
            {
                size_t prev_end = 0;
                unsigned char *mark = calloc(consumed + 1, 1);
                assert_non_null(mark);
                for (size_t k = 0; k < batch.n; k++) {
                    const struct frame_event *ev = &batch.ev[k];
                    assert_true(ev->off >= prev_end);
                    assert_true(ev->off + ev->len <= consumed);
                    assert_true(ev->len > 0);
                    assert_int_equal(ev->src_off, base + pos + ev->off);
                    assert_int_equal(ev->ordinal, next_ordinal);
                    next_ordinal++;
                    memset(mark + ev->off, 1, ev->len);
                    prev_end = ev->off + ev->len;
                    ft_add_event(
                            r, win + pos + ev->off, ev->len, ev->src_off, ev->ordinal, ev->ts_ms);
                }
                if (!framer_gave_up(f)) {
                    for (size_t k = 0; k < consumed; k++) {
                        if (!mark[k] && win[pos + k] != '\n') {
                            fail_msg("byte %llu (window %zu) outside events is 0x%02x, not '\\n'",
                                    (unsigned long long)(base + pos + k), k, win[pos + k]);
                        }
                    }
                }
                free(mark);
            }
            assert_memory_equal(win + pos + consumed, orig + consumed, len - pos - consumed);
            if (rc == LSF_OK) {
                assert_int_equal(err.code, LSF_OK);
                if (is_eof)
                    assert_int_equal(consumed, len - pos);
                if (framer_format(f) != FRAME_AUTO) {
                    assert_true(len - pos - consumed <= max_event_len);
                    if (len - pos - consumed > r->max_keep)
                        r->max_keep = len - pos - consumed;
                } else {
                    assert_true(len - pos - consumed <= 64 * 1024);
                }
                pos += consumed;
                break;
            }
            assert_int_equal(rc, LSF_E_INPUT);
            assert_int_equal(err.code, LSF_E_INPUT);
            assert_true(strncmp(err.msg, "byte ", 5) == 0);
            if (r->n_problems == 0)
                snprintf(r->first_problem, sizeof(r->first_problem), "%s", err.msg);
            {
                size_t used = strlen(r->problems);
                snprintf(r->problems + used, sizeof(r->problems) - used, "%s\n", err.msg);
            }
            r->n_problems++;
            if (framer_gave_up(f)) {
                pos = len;
                is_eof = true;
                break;
            }
            assert_true(consumed > 0 || pos == len);
            pos += consumed;
        }
        if (is_eof)
            break;
        memmove(win, win + pos, len - pos);
        carry = len - pos;
        base += pos;
    }
    assert_int_equal(framer_n_problems(f) >= r->n_problems, 1);
    r->fmt = framer_format(f);
    r->has_gave_up = framer_gave_up(f);
    framer_free(f);
    frame_batch_cleanup(&batch);
    free(win);
    free(orig);
}

/* The same input framed with window steps 1, 2, 3, 7, 64, 4096 and whole gives the same events. */
static inline void ft_assert_same(const struct ft_result *a, const struct ft_result *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_problems, b->n_problems);
    assert_int_equal(a->fmt, b->fmt);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].len, b->ev[i].len);
        assert_memory_equal(a->ev[i].bytes, b->ev[i].bytes, a->ev[i].len);
        assert_int_equal(a->ev[i].src_off, b->ev[i].src_off);
        assert_int_equal(a->ev[i].ordinal, b->ev[i].ordinal);
        assert_true(a->ev[i].ts_ms == b->ev[i].ts_ms);
    }
}

static inline unsigned char *ft_read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data;
    long size;

    if (fp == NULL)
        fail_msg("%s: cannot open", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size >= 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    data[size] = '\0';
    *n = (size_t)size;
    return data;
}

/* Frame a NUL-terminated string in one window. */
static inline void ft_run_str(enum frame_format fmt, const char *text, struct ft_result *r)
{
    ft_run(fmt, (const unsigned char *)text, strlen(text), 0, 1024 * 1024, r);
}

static inline void ft_assert_event(const struct ft_result *r, size_t i, const char *text)
{
    assert_true(i < r->n);
    if (r->ev[i].len != strlen(text) || memcmp(r->ev[i].bytes, text, r->ev[i].len) != 0)
        fail_msg("event %zu is '%s', expected '%s'", i, (const char *)r->ev[i].bytes, text);
}

#endif
