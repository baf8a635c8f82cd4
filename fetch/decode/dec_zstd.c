/*
 * dec_zstd: a reader that decompresses a zstd stream with libzstd, every frame of it.
 *
 * ZSTD_decompressStream already walks a concatenation of frames and skips skippable frames
 * (zstd.h, "Streaming decompression"), and it returns 0 exactly when a frame is complete and
 * fully flushed. So this reader only feeds input, keeps that return value to know whether
 * the stream stopped at a frame boundary, and turns libzstd's error codes into messages.
 *
 * Memory: one DEC_IN_BUF_LEN input buffer and the ZSTD_DCtx, whose window is capped by
 * libzstd's default ZSTD_d_windowLogMax (128 MiB, the most `zstd -19` uses without --long);
 * a frame asking for more is refused with advice rather than allocated. Output goes straight
 * into the caller's buffer.
 *
 * Errors name the compressed offset of the frame they happened in: libzstd buffers frame
 * headers and blocks, so the offset of the failing byte itself is not known.
 */
#include "dec_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

struct dec_zstd {
    ZSTD_DCtx *dctx;
    struct lsf_reader raw;
    char *name;
    unsigned char *in_buf; /* DEC_IN_BUF_LEN bytes */
    ZSTD_inBuffer in;      /* the unread part of in_buf */
    uint64_t in_offset;    /* compressed offset of in_buf[0] */
    uint64_t frame_start;  /* compressed offset of the current frame */
    size_t last_ret;       /* last ZSTD_decompressStream result: 0 at a frame boundary */
    bool is_raw_eof;
    struct lsf_err failure; /* sticky: once set, every read returns it */
};

static uint64_t zs_offset(const struct dec_zstd *zs)
{
    return zs->in_offset + zs->in.pos;
}

/* Called only when all input is used up (libzstd always takes what it can). */
static enum lsf_code zs_refill(struct dec_zstd *zs)
{
    size_t got;
    enum lsf_code rc;

    zs->in_offset += zs->in.size;
    zs->in.pos = 0;
    zs->in.size = 0;
    rc = dec_raw_read(&zs->raw, zs->in_buf, DEC_IN_BUF_LEN, &got, &zs->failure);
    if (rc != LSF_OK)
        return rc;
    if (got == 0)
        zs->is_raw_eof = true;
    zs->in.size = got;
    return LSF_OK;
}

static enum lsf_code zs_fail_truncated(struct dec_zstd *zs)
{
    return dec_record(&zs->failure, LSF_E_INPUT,
            "%s: zstd stream ends at compressed byte %llu inside the frame starting at byte "
            "%llu (archive truncated); re-copy the object and rerun",
            zs->name, dec_off(zs_offset(zs)), dec_off(zs->frame_start));
}

static enum lsf_code zs_fail(struct dec_zstd *zs, size_t ret)
{
    ZSTD_ErrorCode code = ZSTD_getErrorCode(ret);

    /* An unknown magic where a frame should begin: the frames ended, something else follows. */
    if (code == ZSTD_error_prefix_unknown && zs->last_ret == 0)
        return dec_record(&zs->failure, LSF_E_INPUT,
                "%s: garbage after the last zstd frame at byte %llu; the bytes before were "
                "decoded, the rest is not zstd: check how the object was written",
                zs->name, dec_off(zs->frame_start));
    if (code == ZSTD_error_frameParameter_windowTooLarge)
        return dec_record(&zs->failure, LSF_E_INPUT,
                "%s: the zstd frame starting at compressed byte %llu needs a window over "
                "128 MiB (written with --long=28 or more?); recompress it without --long and "
                "rerun",
                zs->name, dec_off(zs->frame_start));
    return dec_record(&zs->failure, LSF_E_INPUT,
            "%s: corrupt zstd data in the frame starting at compressed byte %llu (zstd: %s); "
            "the object is damaged: re-copy it and rerun, or restore it from a backup",
            zs->name, dec_off(zs->frame_start), ZSTD_getErrorName(ret));
}

static enum lsf_code zs_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct dec_zstd *zs = self;
    ZSTD_outBuffer out = {buf, cap, 0};
    size_t pos_before;
    size_t ret;

    *n_read = 0;
    for (;;) {
        if (zs->failure.code != LSF_OK)
            return dec_replay(&zs->failure, err);
        if (zs->in.pos == zs->in.size && !zs->is_raw_eof) {
            (void)zs_refill(zs); /* a failure is in zs->failure */
            continue;
        }
        /* At the end of raw, stop at a frame boundary; otherwise flush what libzstd holds. */
        if (zs->in.pos == zs->in.size && zs->last_ret == 0)
            return LSF_OK;
        if (zs->last_ret == 0)
            zs->frame_start = zs_offset(zs);
        pos_before = zs->in.pos;
        ret = ZSTD_decompressStream(zs->dctx, &out, &zs->in);
        if (ZSTD_isError(ret))
            zs_fail(zs, ret);
        else
            zs->last_ret = ret;
        if (!ZSTD_isError(ret) && out.pos == 0 && zs->in.pos == pos_before) {
            /* Input left means libzstd is stuck (never seen); none left means a cut frame. */
            if (zs->in.pos < zs->in.size)
                dec_record(&zs->failure, LSF_E_INTERNAL,
                        "%s: ZSTD_decompressStream made no progress at compressed byte %llu; "
                        "please report this as a logsift bug",
                        zs->name, dec_off(zs_offset(zs)));
            else
                zs_fail_truncated(zs);
        }
        /* The bytes decoded before a failure go out first; the failure comes next read. */
        if (out.pos > 0) {
            *n_read = out.pos;
            return LSF_OK;
        }
    }
}

static void zs_close(void *self)
{
    struct dec_zstd *zs = self;

    lsf_reader_close(&zs->raw);
    ZSTD_freeDCtx(zs->dctx);
    free(zs->in_buf);
    free(zs->name);
    free(zs);
}

static const struct lsf_reader_ops zs_ops = {
    .read = zs_read,
    .close = zs_close,
};

enum lsf_code dec_zstd_open(struct lsf_reader raw, const char *name, const unsigned char *head,
        size_t head_len, struct lsf_reader *out, struct lsf_err *err)
{
    struct dec_zstd *zs = calloc(1, sizeof(*zs));
    enum lsf_code rc;

    if (zs == NULL)
        goto nomem;
    zs->dctx = ZSTD_createDCtx();
    zs->in_buf = malloc(DEC_IN_BUF_LEN);
    zs->name = strdup(name);
    if (zs->dctx == NULL || zs->in_buf == NULL || zs->name == NULL)
        goto nomem;
    zs->raw = raw;
    memcpy(zs->in_buf, head, head_len);
    zs->in.src = zs->in_buf;
    zs->in.size = head_len;
    zs->in.pos = 0;
    /* dec_open read until its head was full or raw ended; a short head means the end. */
    zs->is_raw_eof = head_len < DEC_HEAD_LEN;
    zs->last_ret = 0;
    lsf_err_clear(&zs->failure);
    out->ops = &zs_ops;
    out->self = zs;
    return LSF_OK;
nomem:
    rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory opening a zstd stream", name);
    if (zs != NULL) {
        ZSTD_freeDCtx(zs->dctx);
        free(zs->in_buf);
        free(zs->name);
        free(zs);
    }
    lsf_reader_close(&raw);
    return rc;
}
