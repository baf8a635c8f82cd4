/*
 * dec: pick a decoder by the stream's magic bytes, and the plain pass-through reader.
 *
 * Files, S3 objects and Firehose deliveries are often named for what they held once, not
 * what they hold now (".gz" objects stored uncompressed, ".json" that is zstd), so only the
 * content decides. dec_open reads the first DEC_HEAD_LEN bytes (or up to the end of a shorter
 * stream), matches them against the magic table below and hands the bytes it read to the
 * chosen reader, which delivers or decodes them before it reads raw again.
 *
 * Containers and compressors logsift does not decode are recognised too, so the user gets
 * "extract it first" instead of findings-free garbage scanned as text.
 */
#include "dec_int.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A magic number: len bytes at offset; if next_in is set, the byte after them is one of those. */
struct dec_magic {
    enum dec_kind kind;
    const char *what;   /* name of an unsupported format */
    const char *noun;   /* "archive" (holds files) or "stream" (one compressed stream) */
    const char *advice; /* what the user does instead */
    size_t offset;
    size_t len;
    const char *bytes;
    const char *next_in;
};

/* Wire formats: RFC 1952 (gzip), RFC 8878 (zstd), APPNOTE.TXT (zip), POSIX pax (tar). */
static const struct dec_magic dec_magics[] = {
        {DEC_GZIP, NULL, NULL, NULL, 0, 2, "\x1f\x8b", NULL},
        {DEC_ZSTD, NULL, NULL, NULL, 0, 4, "\x28\xb5\x2f\xfd", NULL},
        {DEC_UNSUPPORTED, "zip", "archive", "extract it first (unzip) and scan the files", 0, 4,
                "PK\x03\x04", NULL},
        /* An empty zip is only its end-of-central-directory record. */
        {DEC_UNSUPPORTED, "zip", "archive", "extract it first (unzip) and scan the files", 0, 4,
                "PK\x05\x06", NULL},
        /* "BZh" plus the block size digit, so a text line starting "BZh" stays text. */
        {DEC_UNSUPPORTED, "bzip2", "stream", "decompress it first (bunzip2) and scan the result", 0,
                3, "BZh", "123456789"},
        {DEC_UNSUPPORTED, "xz", "stream", "decompress it first (unxz) and scan the result", 0, 6,
                "\xfd\x37\x7a\x58\x5a\x00", NULL},
        {DEC_UNSUPPORTED, "7z", "archive", "extract it first (7z x) and scan the files", 0, 6,
                "\x37\x7a\xbc\xaf\x27\x1c", NULL},
        {DEC_UNSUPPORTED, "lz4", "stream", "decompress it first (lz4 -d) and scan the result", 0, 4,
                "\x04\x22\x4d\x18", NULL},
        {DEC_UNSUPPORTED, "compress (.Z)", "stream",
                "decompress it first (uncompress) and scan the result", 0, 2, "\x1f\x9d", NULL},
        /* POSIX "ustar\0" and GNU "ustar  \0" both start with these 5 bytes. */
        {DEC_UNSUPPORTED, "tar", "archive", "extract it first (tar -xf) and scan the files", 257, 5,
                "ustar", NULL},
};

/* zstd skippable frames have magic 0x184D2A50..0x184D2A5F, little-endian (RFC 8878 3.1.2). */
static bool is_zstd_skippable(const unsigned char *head, size_t n)
{
    return n >= 4 && (head[0] & 0xf0) == 0x50 && head[1] == 0x2a && head[2] == 0x4d &&
            head[3] == 0x18;
}

static bool magic_matches(const struct dec_magic *m, const unsigned char *head, size_t n)
{
    size_t need = m->offset + m->len + (m->next_in ? 1 : 0);

    if (n < need || memcmp(head + m->offset, m->bytes, m->len) != 0)
        return false;
    return m->next_in == NULL || strchr(m->next_in, head[m->offset + m->len]) != NULL;
}

static const struct dec_magic *match_magic(const unsigned char *head, size_t n)
{
    for (size_t i = 0; i < sizeof(dec_magics) / sizeof(dec_magics[0]); i++) {
        if (magic_matches(&dec_magics[i], head, n))
            return &dec_magics[i];
    }
    /*
     * A stream that opens with a skippable frame is read as zstd. LZ4 frames share that magic
     * range; such a stream then fails after the skippable frame with "unknown frame".
     */
    if (is_zstd_skippable(head, n))
        return &dec_magics[1];
    return NULL;
}

enum dec_kind dec_detect(const unsigned char *head, size_t n, const char **what)
{
    const struct dec_magic *m = match_magic(head, n);

    if (m == NULL)
        return DEC_PLAIN;
    if (what != NULL && m->kind == DEC_UNSUPPORTED)
        *what = m->what;
    return m->kind;
}

const char *dec_kind_name(enum dec_kind kind)
{
    switch (kind) {
    case DEC_PLAIN:
        return "plain";
    case DEC_GZIP:
        return "gzip";
    case DEC_ZSTD:
        return "zstd";
    case DEC_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}

/* Failures shared by the decoders (see dec_int.h). */

enum lsf_code dec_record(struct lsf_err *sticky, enum lsf_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    lsf_vfail(sticky, code, fmt, ap);
    va_end(ap);
    return code;
}

enum lsf_code dec_replay(const struct lsf_err *sticky, struct lsf_err *err)
{
    assert(sticky->code != LSF_OK);
    return lsf_fail(err, sticky->code, "%s", sticky->msg);
}

enum lsf_code dec_raw_read(struct lsf_reader *raw, unsigned char *buf, size_t cap,
        size_t *n_read, struct lsf_err *sticky)
{
    enum lsf_code rc = lsf_reader_read(raw, buf, cap, n_read, sticky);

    if (rc == LSF_OK)
        return LSF_OK;
    *n_read = 0;
    /* A source that fails without a message still gets a failure recorded. */
    if (sticky->code == LSF_OK)
        dec_record(sticky, rc, "read failed (%s error)", lsf_code_name(rc));
    return rc;
}

/* Plain pass-through: the peeked head first, then raw's reads straight into the caller's buffer. */

struct dec_plain {
    struct lsf_reader raw;
    size_t head_pos;
    size_t head_len;
    unsigned char head[DEC_HEAD_LEN];
};

static enum lsf_code plain_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct dec_plain *plain = self;
    size_t n = plain->head_len - plain->head_pos;

    if (n == 0)
        return lsf_reader_read(&plain->raw, buf, cap, n_read, err);
    if (n > cap)
        n = cap;
    memcpy(buf, plain->head + plain->head_pos, n);
    plain->head_pos += n;
    *n_read = n;
    return LSF_OK;
}

static void plain_close(void *self)
{
    struct dec_plain *plain = self;

    lsf_reader_close(&plain->raw);
    free(plain);
}

static const struct lsf_reader_ops plain_ops = {
    .read = plain_read,
    .close = plain_close,
};

static enum lsf_code plain_open(struct lsf_reader raw, const unsigned char *head,
        size_t head_len, struct lsf_reader *out, struct lsf_err *err)
{
    struct dec_plain *plain = malloc(sizeof(*plain));

    if (plain == NULL) {
        lsf_reader_close(&raw);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory opening a plain stream");
    }
    plain->raw = raw;
    plain->head_pos = 0;
    plain->head_len = head_len;
    memcpy(plain->head, head, head_len);
    out->ops = &plain_ops;
    out->self = plain;
    return LSF_OK;
}

/* Read until head is full or raw ends: a source may return fewer bytes than asked. */
static enum lsf_code read_head(struct lsf_reader *raw, unsigned char *head, size_t *head_len,
        struct lsf_err *err)
{
    size_t n = 0;
    size_t got;
    enum lsf_code rc;

    do {
        rc = lsf_reader_read(raw, head + n, DEC_HEAD_LEN - n, &got, err);
        if (rc != LSF_OK)
            return rc;
        n += got;
    } while (got > 0 && n < DEC_HEAD_LEN);
    *head_len = n;
    return LSF_OK;
}

enum lsf_code dec_open(struct lsf_reader raw, const char *name, struct lsf_reader *out,
        enum dec_kind *kind, struct lsf_err *err)
{
    unsigned char head[DEC_HEAD_LEN];
    size_t head_len = 0;
    const struct dec_magic *magic;
    enum dec_kind found;
    enum lsf_code rc;

    assert(name != NULL);
    out->ops = NULL;
    out->self = NULL;
    rc = read_head(&raw, head, &head_len, err);
    if (rc != LSF_OK)
        goto fail;
    magic = match_magic(head, head_len);
    found = magic ? magic->kind : DEC_PLAIN;
    if (kind != NULL)
        *kind = found;
    /* Each opener takes raw, closing it if it fails. */
    switch (found) {
    case DEC_PLAIN:
        return plain_open(raw, head, head_len, out, err);
    case DEC_GZIP:
        return dec_gzip_open(raw, name, head, head_len, out, err);
    case DEC_ZSTD:
        return dec_zstd_open(raw, name, head, head_len, out, err);
    case DEC_UNSUPPORTED:
        rc = lsf_fail(err, LSF_E_INPUT,
                "%s: %s %s: logsift reads plain, gzip and zstd streams; %s", name,
                magic->what, magic->noun, magic->advice);
        break;
    }
fail:
    lsf_reader_close(&raw);
    return rc;
}
