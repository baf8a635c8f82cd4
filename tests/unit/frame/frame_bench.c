/*
 * frame_bench: framing throughput on a file, the way the engine feeds a framer (windows of
 * --window bytes plus the carried tail). Not a test (no timing assertions in tests): build it
 * with `make frame_bench` and run
 *     frame_bench FILE FORMAT [WINDOW_MB] [REPS] [SIMD]
 * FORMAT is a --format name; SIMD is -1 (best), 0 scalar, 1 SSE2, 2 AVX2. Prints the best of
 * REPS runs in MB/s of thread CPU time (1 MB = 10^6 bytes) with the event count, which must agree
 * between runs. A memchr-over-the-same-bytes baseline is printed beside it for scale.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "frame_int.h" /* frame_simd_override */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the host may be shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    FILE *fp;
    unsigned char *data, *win;
    size_t n, window;
    long size;
    int reps;
    enum frame_format fmt;
    struct lsf_err err;
    double best = 1e30, best_memchr = 1e30;
    uint64_t n_events_first = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE FORMAT [WINDOW_MB] [REPS] [SIMD]\n", argv[0]);
        return 2;
    }
    lsf_err_clear(&err);
    if (frame_format_parse(argv[2], &fmt, &err) != LSF_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    window = (size_t)(argc > 3 ? atof(argv[3]) * 1024 * 1024 : 16 * 1024 * 1024);
    reps = argc > 4 ? atoi(argv[4]) : 5;
    frame_simd_override = argc > 5 ? atoi(argv[5]) : -1;
    fp = fopen(argv[1], "rb");
    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    n = (size_t)size;
    data = malloc(n);
    win = malloc(n + window);
    if (data == NULL || win == NULL || fread(data, 1, n, fp) != n) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    fclose(fp);

    for (int rep = 0; rep < reps; rep++) {
        struct framer *f = NULL;
        struct frame_batch batch;
        size_t in_pos = 0, carry = 0;
        uint64_t base = 0, n_events = 0, n_problems = 0;
        double t = 0, t0;
        volatile size_t sink = 0;

        /* memchr baseline: one pass over the same bytes. */
        t0 = now_s();
        for (size_t i = 0; i < n;) {
            const unsigned char *q = memchr(data + i, 0, n - i);
            sink += q ? 1 : 0;
            i = n;
        }
        if (now_s() - t0 < best_memchr)
            best_memchr = now_s() - t0;

        if (framer_new(fmt, 1024 * 1024, &f, &err) != LSF_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        frame_batch_init(&batch);
        for (;;) {
            size_t add = n - in_pos < window ? n - in_pos : window;
            size_t len, pos = 0;
            bool is_eof;

            memcpy(win + carry, data + in_pos, add); /* stands in for the read */
            in_pos += add;
            len = carry + add;
            is_eof = in_pos == n;
            t0 = now_s();
            frame_batch_reset(&batch);
            while (pos < len || (is_eof && pos == len)) {
                size_t consumed = 0;
                enum lsf_code rc = framer_feed(
                        f, win + pos, len - pos, base + pos, is_eof, &batch, &consumed, &err);
                pos += consumed;
                if (rc == LSF_OK)
                    break;
                n_problems++;
                lsf_err_clear(&err);
                if (framer_gave_up(f))
                    break;
            }
            t += now_s() - t0;
            n_events += batch.n;
            if (is_eof)
                break;
            memmove(win, win + pos, len - pos);
            carry = len - pos;
            base += pos;
        }
        if (rep == 0) {
            n_events_first = n_events;
            printf("%s as %s: %llu events, %llu problems\n", argv[1],
                    frame_format_name(framer_format(f)), (unsigned long long)n_events,
                    (unsigned long long)n_problems);
        } else if (n_events != n_events_first) {
            fprintf(stderr, "event count differs between runs\n");
            return 1;
        }
        if (t < best)
            best = t;
        framer_free(f);
        frame_batch_cleanup(&batch);
    }
    printf("framing: %.0f MB/s (best of %d, %.1f MB, window %.1f MB); memchr baseline %.0f MB/s\n",
            (double)n / best / 1e6, reps, (double)n / 1e6, (double)window / 1048576.0,
            (double)n / best_memchr / 1e6);
    free(data);
    free(win);
    return 0;
}
