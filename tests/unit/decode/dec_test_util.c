/*
 * dec_test_util: builders of gzip and zstd test inputs and a decode-everything driver for the
 * decode tests (see dec_test_util.h). Inputs are compressed here rather than checked in, so
 * each test shows exactly what it feeds the decoder.
 */
#include "dec_test_util.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zstd.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        abort();
    return p;
}

struct tu_bytes tu_gzip(const void *data, size_t len, int level)
{
    struct isal_zstream zs;
    struct tu_bytes out;
    size_t level_buf_len = ISAL_DEF_LVL3_DEFAULT;
    unsigned char *level_buf = xmalloc(level_buf_len);
    size_t cap = len + len / 8 + 1024;

    out.data = xmalloc(cap);
    isal_deflate_init(&zs);
    zs.gzip_flag = IGZIP_GZIP;
    zs.level = (uint32_t)level;
    zs.level_buf = level_buf;
    zs.level_buf_size = (uint32_t)level_buf_len;
    zs.next_in = (uint8_t *)(uintptr_t)data;
    zs.avail_in = (uint32_t)len;
    zs.end_of_stream = 1;
    zs.flush = NO_FLUSH;
    zs.next_out = out.data;
    zs.avail_out = (uint32_t)cap;
    while (zs.internal_state.state != ZSTATE_END) {
        if (isal_deflate(&zs) != COMP_OK || zs.avail_out == 0)
            abort();
    }
    out.len = cap - zs.avail_out;
    out.cap = cap;
    free(level_buf);
    return out;
}

struct tu_bytes tu_zstd(const void *data, size_t len, int level, bool has_checksum)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(len);
    struct tu_bytes out;
    size_t n;

    out.data = xmalloc(cap);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, has_checksum ? 1 : 0);
    n = ZSTD_compress2(cctx, out.data, cap, data, len);
    if (ZSTD_isError(n))
        abort();
    out.len = n;
    out.cap = cap;
    ZSTD_freeCCtx(cctx);
    return out;
}

struct tu_bytes tu_zstd_skippable(unsigned n, size_t payload_len)
{
    struct tu_bytes out;
    uint32_t magic = 0x184D2A50u + (n & 0xf);

    out.len = 8 + payload_len;
    out.cap = out.len;
    out.data = xmalloc(out.len);
    for (int i = 0; i < 4; i++) {
        out.data[i] = (unsigned char)(magic >> (8 * i));
        out.data[4 + i] = (unsigned char)(payload_len >> (8 * i));
    }
    memset(out.data + 8, 'S', payload_len);
    return out;
}

/* Grows geometrically: tests append one byte at a time to check tiny reads. */
void tu_append_raw(struct tu_bytes *a, const void *data, size_t len)
{
    if (a->data == NULL || a->len + len + 1 > a->cap) {
        size_t cap = a->len + len + 1 > 2 * a->cap ? a->len + len + 1 : 2 * a->cap;
        unsigned char *grown = realloc(a->data, cap);
        if (grown == NULL)
            abort();
        a->data = grown;
        a->cap = cap;
    }
    if (len > 0)
        memcpy(a->data + a->len, data, len);
    a->len += len;
}

void tu_append(struct tu_bytes *a, struct tu_bytes b)
{
    tu_append_raw(a, b.data, b.len);
    free(b.data);
}

struct tu_bytes tu_read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct tu_bytes out = {NULL, 0, 0};
    unsigned char block[65536];
    size_t n;

    if (fp == NULL) {
        fprintf(stderr, "%s: cannot open test input\n", path);
        abort();
    }
    while ((n = fread(block, 1, sizeof(block), fp)) > 0)
        tu_append_raw(&out, block, n);
    fclose(fp);
    return out;
}

/* xorshift32: deterministic and fast; the values only need to vary. */
static uint32_t next_rand(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

struct tu_bytes tu_log_text(size_t len, uint32_t seed)
{
    static const char *const names[] = {"GetObject", "PutObject", "AssumeRole",
            "ConsoleLogin", "StopLogging", "DescribeInstances"};
    struct tu_bytes out = {xmalloc(len + 256), 0, len + 256};
    uint32_t state = seed ? seed : 1;
    char line[256];

    while (out.len < len) {
        uint32_t r = next_rand(&state);
        int n = snprintf(line, sizeof(line),
                "{\"eventTime\":\"2024-06-01T%02u:%02u:%02uZ\",\"eventName\":\"%s\","
                "\"sourceIPAddress\":\"10.%u.%u.%u\",\"requestID\":\"%08x\"}\n",
                r % 24, (r >> 5) % 60, (r >> 11) % 60, names[r % 6], (r >> 3) & 255,
                (r >> 13) & 255, (r >> 21) & 255, next_rand(&state));
        size_t take = (size_t)n < len - out.len ? (size_t)n : len - out.len;
        memcpy(out.data + out.len, line, take);
        out.len += take;
    }
    return out;
}

enum lsf_code tu_decode(const unsigned char *data, size_t len, size_t raw_step, size_t out_step,
        struct tu_bytes *out, enum dec_kind *kind, struct lsf_err *err)
{
    struct lsf_mem_reader mem = {data, len, 0, raw_step};
    struct lsf_reader raw;
    struct lsf_reader rd;
    unsigned char *block = xmalloc(out_step);
    size_t n;
    enum lsf_code rc;

    out->data = NULL;
    out->len = 0;
    out->cap = 0;
    tu_append_raw(out, "", 0);
    lsf_err_clear(err);
    lsf_mem_reader_init(&mem, &raw);
    rc = dec_open(raw, "test-object", &rd, kind, err);
    if (rc != LSF_OK)
        goto out;
    do {
        rc = lsf_reader_read(&rd, block, out_step, &n, err);
        if (rc == LSF_OK)
            tu_append_raw(out, block, n);
    } while (rc == LSF_OK && n > 0);
    lsf_reader_close(&rd);
out:
    free(block);
    return rc;
}

static enum lsf_code failing_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct tu_failing *src = self;
    size_t n = src->len - src->pos;

    if (n == 0) {
        *n_read = 0;
        return lsf_fail(err, LSF_E_IO, TU_FAILING_MSG);
    }
    if (n > cap)
        n = cap;
    memcpy(buf, src->data + src->pos, n);
    src->pos += n;
    *n_read = n;
    return LSF_OK;
}

static void failing_close(void *self)
{
    struct tu_failing *src = self;

    src->is_closed = true;
}

static const struct lsf_reader_ops failing_ops = {
    .read = failing_read,
    .close = failing_close,
};

void tu_failing_init(struct tu_failing *src, const void *data, size_t len, struct lsf_reader *rd)
{
    src->data = data;
    src->len = len;
    src->pos = 0;
    src->is_closed = false;
    rd->ops = &failing_ops;
    rd->self = src;
}

enum lsf_code tu_drain(struct lsf_reader *rd, uint64_t *total, uint32_t *crc,
        struct lsf_err *err)
{
    const size_t cap = ((size_t)1 << 20) + 7;
    unsigned char *buf = malloc(cap);
    enum lsf_code rc = LSF_OK;
    size_t n;

    if (buf == NULL)
        abort();
    do {
        rc = lsf_reader_read(rd, buf, cap, &n, err);
        if (rc != LSF_OK)
            break;
        *crc = crc32_gzip_refl(*crc, buf, n);
        *total += n;
    } while (n > 0);
    free(buf);
    return rc;
}

long tu_max_rss_kb(void)
{
    struct rusage usage;

    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}
