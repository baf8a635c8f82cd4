/*
 * dec_gzip: a reader that inflates a gzip stream with ISA-L, every member of it.
 *
 * Why ISA-L: its inflate is several times faster than zlib's on x86-64 and the scanner behind
 * this reader runs at GB/s, so inflate would otherwise be the bottleneck.
 *
 * Design. One struct inflate_state (about 87 KiB, ISA-L keeps its 32 KiB window and output
 * overflow inside it) and one DEC_IN_BUF_LEN input buffer, allocated at open: memory is the
 * same for a 1 KB object and a 100 GB one. isal_inflate writes straight into the caller's
 * buffer; the only copies are the ones ISA-L makes internally for its history window.
 *
 * crc_flag = ISAL_GZIP makes ISA-L parse the member header and check the CRC-32/ISIZE
 * trailer itself (igzip_lib.h, isal_inflate). At the end of a member ISA-L stops right after
 * the trailer (check_gzip_checksum never reads past its 8 bytes), so what follows in the
 * input buffer is the next member. Firehose and `cat a.gz b.gz` both produce such
 * concatenations (RFC 1952 section 2.2: "a gzip file consists of a series of members"), so
 * after each member: another 1f 8b starts the next one (isal_inflate_reset keeps crc_flag),
 * zero bytes are tape/block padding and are skipped as gzip(1) does, anything else is
 * garbage and an input error.
 *
 * Errors name the compressed byte offset (bytes of raw consumed so far) and the member, so
 * a user can tell a cut-off copy from a damaged one. When ISA-L fails after producing some
 * output, those bytes are returned first and the failure on the next read (dec_record).
 */
#include "dec_int.h"

#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ISA-L counts in uint32_t; a larger caller buffer is filled in several calls. */
#define GZ_MAX_OUT ((size_t)1 << 30)

struct dec_gzip {
    struct inflate_state state;
    struct lsf_reader raw;
    char *name;
    unsigned char *in;     /* DEC_IN_BUF_LEN bytes; state.next_in points into it */
    uint64_t in_offset;    /* compressed offset of in[0] */
    uint64_t member_start; /* compressed offset of the current member's first byte */
    uint64_t n_members;    /* members started, the current one included */
    bool is_raw_eof;
    bool is_done;
    struct lsf_err failure; /* sticky: once set, every read returns it */
};

/* Compressed offset of the next byte ISA-L has not taken. */
static uint64_t gz_offset(const struct dec_gzip *gz)
{
    return gz->in_offset + (uint64_t)(gz->state.next_in - gz->in);
}

/*
 * Read more of raw behind the bytes ISA-L has not taken yet (kept, moved to the front). At
 * the end of raw, is_raw_eof is set and nothing else changes.
 */
static enum lsf_code gz_refill(struct dec_gzip *gz)
{
    size_t left = gz->state.avail_in;
    size_t got;
    enum lsf_code rc;

    gz->in_offset = gz_offset(gz);
    if (left > 0)
        memmove(gz->in, gz->state.next_in, left);
    gz->state.next_in = gz->in;
    rc = dec_raw_read(&gz->raw, gz->in + left, DEC_IN_BUF_LEN - left, &got, &gz->failure);
    if (rc != LSF_OK)
        return rc;
    if (got == 0)
        gz->is_raw_eof = true;
    gz->state.avail_in = (uint32_t)(left + got);
    return LSF_OK;
}

static void gz_consume(struct dec_gzip *gz, size_t n)
{
    gz->state.next_in += n;
    gz->state.avail_in -= (uint32_t)n;
}

/* Where in a member the stream stopped, for the truncation message. */
static const char *gz_truncated_where(const struct dec_gzip *gz)
{
    if (gz->state.wrapper_flag == 0)
        return "inside the header of";
    if (gz->state.block_state == ISAL_BLOCK_INPUT_DONE ||
            gz->state.block_state == ISAL_CHECKSUM_CHECK)
        return "before the trailer of";
    return "inside the compressed data of";
}

static enum lsf_code gz_fail_truncated(struct dec_gzip *gz)
{
    return dec_record(&gz->failure, LSF_E_INPUT,
            "%s: gzip stream ends at compressed byte %llu %s member %llu (archive truncated); "
            "re-copy the object and rerun",
            gz->name, dec_off(gz_offset(gz)), gz_truncated_where(gz), dec_off(gz->n_members));
}

/* Map an isal_inflate error to a message; ISA-L reads ahead a few bytes, hence "near". */
static enum lsf_code gz_fail_inflate(struct dec_gzip *gz, int ret)
{
    const char *cause;

    switch (ret) {
    case ISAL_INCORRECT_CHECKSUM:
        cause = gz->state.wrapper_flag
                        ? "CRC-32/length check of the trailer failed (data corrupted)"
                        : "gzip header CRC check failed";
        break;
    case ISAL_INVALID_WRAPPER:
    case ISAL_UNSUPPORTED_METHOD:
        cause = "invalid gzip header";
        break;
    case ISAL_INVALID_BLOCK:
    case ISAL_INVALID_SYMBOL:
    case ISAL_INVALID_LOOKBACK:
        cause = "invalid deflate data (data corrupted)";
        break;
    default:
        cause = "ISA-L inflate failed";
        break;
    }
    return dec_record(&gz->failure, LSF_E_INPUT,
            "%s: %s near compressed byte %llu, in gzip member %llu starting at byte %llu "
            "(isal_inflate %d); the object is damaged: re-copy it and rerun, or restore it "
            "from a backup",
            gz->name, cause, dec_off(gz_offset(gz)), dec_off(gz->n_members),
            dec_off(gz->member_start), ret);
}

static enum lsf_code gz_fail_garbage(struct dec_gzip *gz)
{
    return dec_record(&gz->failure, LSF_E_INPUT,
            "%s: garbage after the last gzip member at byte %llu (members decoded: %llu); the "
            "bytes before were decoded, the rest is not gzip: check how the object was written",
            gz->name, dec_off(gz_offset(gz)), dec_off(gz->n_members));
}

/*
 * A member has ended: start the next one, skip trailing zero padding, or reject what
 * follows. Sets is_done at the clean end of the stream.
 */
static enum lsf_code gz_next_member(struct dec_gzip *gz)
{
    bool is_padded = false;
    enum lsf_code rc;

    for (;;) {
        /* Two bytes decide: the gzip magic is 1f 8b. */
        if (gz->state.avail_in < 2 && !gz->is_raw_eof) {
            rc = gz_refill(gz);
            if (rc != LSF_OK)
                return rc;
            continue;
        }
        if (gz->state.avail_in == 0) {
            gz->is_done = true;
            return LSF_OK;
        }
        if (gz->state.next_in[0] != 0)
            break;
        /* Zero padding (tape blocks, preallocated files): skip it; only zeros may follow. */
        is_padded = true;
        while (gz->state.avail_in > 0 && gz->state.next_in[0] == 0)
            gz_consume(gz, 1);
    }
    if (is_padded || gz->state.avail_in < 2 || gz->state.next_in[0] != 0x1f ||
            gz->state.next_in[1] != 0x8b)
        return gz_fail_garbage(gz);
    isal_inflate_reset(&gz->state);
    gz->member_start = gz_offset(gz);
    gz->n_members++;
    return LSF_OK;
}

static enum lsf_code gz_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct dec_gzip *gz = self;
    uint32_t avail_in_before;
    enum isal_block_state state_before;
    size_t n;
    int ret;

    *n_read = 0;
    if (cap > GZ_MAX_OUT)
        cap = GZ_MAX_OUT;
    while (!gz->is_done) {
        if (gz->failure.code != LSF_OK)
            return dec_replay(&gz->failure, err);
        if (gz->state.block_state == ISAL_BLOCK_FINISH) {
            (void)gz_next_member(gz); /* a failure is in gz->failure */
            continue;
        }
        if (gz->state.avail_in == 0 && !gz->is_raw_eof) {
            (void)gz_refill(gz);
            continue;
        }
        avail_in_before = gz->state.avail_in;
        state_before = gz->state.block_state;
        gz->state.next_out = buf;
        gz->state.avail_out = (uint32_t)cap;
        ret = isal_inflate(&gz->state);
        n = cap - gz->state.avail_out;
        if (ret != ISAL_DECOMP_OK)
            gz_fail_inflate(gz, ret);
        else if (n == 0 && gz->state.avail_in == 0 && gz->is_raw_eof &&
                gz->state.block_state != ISAL_BLOCK_FINISH)
            gz_fail_truncated(gz);
        else if (n == 0 && gz->state.avail_in == avail_in_before &&
                gz->state.block_state == state_before)
            /* ISA-L stops early only when the output is full; never spin if it does not. */
            dec_record(&gz->failure, LSF_E_INTERNAL,
                    "%s: isal_inflate made no progress at compressed byte %llu; please report "
                    "this as a logsift bug",
                    gz->name, dec_off(gz_offset(gz)));
        /* The bytes decoded before a failure go out first; the failure comes next read. */
        if (n > 0) {
            *n_read = n;
            return LSF_OK;
        }
    }
    return LSF_OK;
}

static void gz_close(void *self)
{
    struct dec_gzip *gz = self;

    lsf_reader_close(&gz->raw);
    free(gz->in);
    free(gz->name);
    free(gz);
}

static const struct lsf_reader_ops gz_ops = {
    .read = gz_read,
    .close = gz_close,
};

enum lsf_code dec_gzip_open(struct lsf_reader raw, const char *name, const unsigned char *head,
        size_t head_len, struct lsf_reader *out, struct lsf_err *err)
{
    struct dec_gzip *gz = calloc(1, sizeof(*gz));
    enum lsf_code rc = LSF_OK;

    if (gz == NULL)
        goto nomem;
    gz->in = malloc(DEC_IN_BUF_LEN);
    gz->name = strdup(name);
    if (gz->in == NULL || gz->name == NULL)
        goto nomem;
    gz->raw = raw;
    isal_inflate_init(&gz->state);
    gz->state.crc_flag = ISAL_GZIP;
    memcpy(gz->in, head, head_len);
    gz->state.next_in = gz->in;
    gz->state.avail_in = (uint32_t)head_len;
    /* dec_open read until its head was full or raw ended; a short head means the end. */
    gz->is_raw_eof = head_len < DEC_HEAD_LEN;
    gz->n_members = 1;
    lsf_err_clear(&gz->failure);
    out->ops = &gz_ops;
    out->self = gz;
    return LSF_OK;
nomem:
    rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory opening a gzip stream", name);
    if (gz != NULL) {
        free(gz->in);
        free(gz->name);
        free(gz);
    }
    lsf_reader_close(&raw);
    return rc;
}
