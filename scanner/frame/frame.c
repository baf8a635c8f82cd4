/*
 * frame: the public side of event framing (frame.h): batches, format names, the framer's
 * life cycle, auto-detection, and framer_feed, which dispatches each window to the format's
 * framer (frame_json.c, frame_lines.c).
 *
 * Detection (FRAME_AUTO) looks at the first bytes of each input, after a UTF-8 BOM and
 * blanks, and waits for up to FRAME_DETECT_MAX bytes (or the end of input) to decide:
 *   binary data         a NUL, or more than 1 in 10 control bytes, in the first 4 KiB: the
 *                       framer gives up (framer_gave_up) with one LSF_E_INPUT
 *   '['                 json-array (if what follows can start a JSON element)
 *   '{'                 first key "Records" -> cloudtrail; "messageType" (or "logEvents"
 *                       anywhere in the first document, or an "awslogs" wrapper) -> firehose;
 *                       else json-lines when the first value ends on its first line, else
 *                       json-stream
 *   text                "YYYY-MM-DDTHH:MM:SS[.f]Z " not followed by "host prog[pid]:" ->
 *                       cwl-export; anything else (RFC 3164 / 5424 / RFC 3339 syslog, and any
 *                       other text) -> syslog, which frames one event per line
 * An input that is empty or blank gets syslog and no events. A format given by the caller is
 * used as is, without the binary check (the user said what the data is).
 *
 * Problems: framer_feed returns at the first problem, with *consumed past the point where it
 * was found (so a caller that calls again with the rest always makes progress) and the
 * framer's state already set to resynchronize.
 */
#include "frame_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int frame_simd_override = -1;

static const char *const frame_names[FRAME_N_FORMATS] = {"auto", "cloudtrail", "json-array",
        "json-lines", "json-stream", "cwl-export", "firehose", "syslog"};

/* ---- batches ------------------------------------------------------------------------------ */

void frame_batch_init(struct frame_batch *batch)
{
    batch->ev = NULL;
    batch->n = 0;
    batch->cap = 0;
}

void frame_batch_reset(struct frame_batch *batch)
{
    batch->n = 0;
}

void frame_batch_cleanup(struct frame_batch *batch)
{
    free(batch->ev);
    frame_batch_init(batch);
}

/* ---- names --------------------------------------------------------------------------------- */

const char *frame_format_name(enum frame_format fmt)
{
    if ((unsigned)fmt >= FRAME_N_FORMATS)
        return "unknown";
    return frame_names[fmt];
}

enum lsf_code frame_format_parse(const char *name, enum frame_format *out, struct lsf_err *err)
{
    for (unsigned k = 0; k < FRAME_N_FORMATS; k++) {
        if (strcmp(name, frame_names[k]) == 0) {
            *out = (enum frame_format)k;
            return LSF_OK;
        }
    }
    return lsf_fail(err, LSF_E_USAGE,
            "unknown --format value '%s'; use one of auto, cloudtrail, json-array, json-lines, "
            "json-stream, cwl-export, firehose, syslog",
            name);
}

/* ---- helpers shared by the format framers -------------------------------------------------- */

void frame_fill_nl(unsigned char *buf, size_t from, size_t to)
{
    if (to > from)
        memset(buf + from, '\n', to - from);
}

bool frame_batch_grow(struct frame_call *c)
{
    struct frame_batch *b = c->out;
    size_t cap = b->cap ? b->cap * 2 : 256;
    struct frame_event *grown = realloc(b->ev, cap * sizeof(*grown));

    if (grown == NULL) {
        lsf_fail(c->err, LSF_E_NOMEM, "out of memory for the events of one window (%zu)", b->n);
        c->rc = LSF_E_NOMEM;
        c->f->has_gave_up = true;
        return false;
    }
    b->ev = grown;
    b->cap = cap;
    return true;
}

void frame_problem(struct frame_call *c, uint64_t byte, const char *fmt, ...)
{
    char msg[LSF_ERR_MSG_MAX];
    va_list ap;

    c->f->n_problems++;
    if (c->rc != LSF_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lsf_fail(c->err, LSF_E_INPUT, "byte %llu: %s", (unsigned long long)byte, msg);
    c->rc = LSF_E_INPUT;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int frame_pick_simd(void)
{
    if (frame_simd_override >= 0)
        return frame_simd_override;
#if defined(__x86_64__)
    /* libgcc / compiler-rt fill the CPU model in a constructor: no __builtin_cpu_init here. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") &&
            __builtin_cpu_supports("popcnt"))
        return FRAME_SIMD_AVX2;
    return FRAME_SIMD_SSE2;
#else
    return FRAME_SIMD_SCALAR;
#endif
}

enum lsf_code framer_new(
        enum frame_format fmt, size_t max_event_len, struct framer **out, struct lsf_err *err)
{
    struct framer *f;

    *out = NULL;
    if ((unsigned)fmt >= FRAME_N_FORMATS)
        return lsf_fail(err, LSF_E_USAGE, "unknown framing format %d", (int)fmt);
    if (max_event_len < FRAME_MIN_EVENT_LEN)
        return lsf_fail(err, LSF_E_USAGE,
                "--max-event-size of %zu bytes is too small; use at least %d", max_event_len,
                FRAME_MIN_EVENT_LEN);
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for a framer");
    f->fmt = fmt;
    f->is_auto = fmt == FRAME_AUTO;
    f->max_event_len = max_event_len;
    f->simd = frame_pick_simd();
    fj_reset(&f->json);
    *out = f;
    return LSF_OK;
}

void framer_free(struct framer *f)
{
    free(f);
}

enum frame_format framer_format(const struct framer *f)
{
    return f->fmt;
}

bool framer_gave_up(const struct framer *f)
{
    return f->has_gave_up;
}

uint64_t framer_n_problems(const struct framer *f)
{
    return f->n_problems;
}

/* ---- detection ------------------------------------------------------------------------------ */

/* Naive search; detection looks at 64 KiB at most, once per input. */
static bool frame_contains(const unsigned char *b, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        const unsigned char *q = memchr(b + i, needle[0], n - i - k + 1);
        if (q == NULL)
            return false;
        i = (size_t)(q - b);
        if (memcmp(q, needle, k) == 0)
            return true;
    }
    return false;
}

/* Binary data? Sets *hint to a more precise description when one is known. */
static bool frame_is_binary(const unsigned char *b, size_t n, const char **hint)
{
    size_t n_ctrl = 0;

    *hint = "";
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        *hint = " (gzip data inside the decompressed input: was it compressed twice?)";
    else if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        *hint = " (zstd data inside the decompressed input: was it compressed twice?)";
    else if (n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff)))
        *hint = " (UTF-16 text: convert it to UTF-8)";
    if (**hint)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = b[i];
        if (ch == 0)
            return true;
        if ((ch < 0x20 && !frame_is_blank(ch) && ch != 0x1b) || ch == 0x7f)
            n_ctrl++;
    }
    return n_ctrl * 10 > n;
}

static bool frame_is_scalar_start(unsigned char ch)
{
    return ch == '-' || (ch >= '0' && ch <= '9') || ch == 't' || ch == 'f' || ch == 'n';
}

/*
 * What follows "[" at b[0]: FRAME_JSON_ARRAY, FRAME_SYSLOG (text that starts with '['), or
 * FRAME_AUTO (more bytes needed).
 */
static enum frame_format frame_detect_array(const unsigned char *b, size_t n, bool is_final)
{
    size_t j = 1;

    while (j < n && frame_is_blank(b[j]))
        j++;
    if (j == n)
        return is_final ? FRAME_SYSLOG : FRAME_AUTO;
    if (b[j] == '{' || b[j] == '[' || b[j] == '"' || b[j] == ']')
        return FRAME_JSON_ARRAY;
    if (!frame_is_scalar_start(b[j]))
        return FRAME_SYSLOG;
    /* "[123, ..." is JSON; "[2024-01-01 12:00:00] INFO" is not. */
    while (j < n && (b[j] == '-' || b[j] == '+' || b[j] == '.' || (b[j] >= '0' && b[j] <= '9') ||
                            (b[j] >= 'a' && b[j] <= 'z') || (b[j] >= 'A' && b[j] <= 'Z')))
        j++;
    while (j < n && frame_is_blank(b[j]))
        j++;
    if (j == n)
        return is_final ? FRAME_SYSLOG : FRAME_AUTO;
    return b[j] == ',' || b[j] == ']' ? FRAME_JSON_ARRAY : FRAME_SYSLOG;
}

static enum frame_format frame_detect_object(const unsigned char *b, size_t n, bool is_final)
{
    struct fj_value *v;
    size_t j = 1, at = 0;
    const char *why = NULL;
    enum fj_scan_res res;
    enum frame_format fmt;

    while (j < n && frame_is_blank(b[j]))
        j++;
    if (j == n)
        return is_final ? FRAME_JSON_STREAM : FRAME_AUTO;
    if (b[j] != '"' && b[j] != '}')
        return FRAME_SYSLOG; /* "{" starting plain text */
    if (b[j] == '"') {
        const unsigned char *q = memchr(b + j + 1, '"', n - j - 1);
        size_t k;

        if (q == NULL)
            return is_final ? FRAME_JSON_STREAM : FRAME_AUTO;
        k = (size_t)(q - b) - j - 1;
        if (k == 7 && memcmp(b + j + 1, "Records", 7) == 0)
            return FRAME_CLOUDTRAIL;
        if ((k == 11 && memcmp(b + j + 1, "messageType", 11) == 0) ||
                (k == 7 && memcmp(b + j + 1, "awslogs", 7) == 0))
            return FRAME_FIREHOSE;
    }
    /* Follow the first value to its end (or as far as we may look). */
    v = malloc(sizeof(*v));
    if (v == NULL)
        return FRAME_JSON_STREAM; /* detection is best effort; framing reports memory */
    fj_value_start(v, '{');
    res = fj_scan(FRAME_SIMD_SCALAR, v, b, 1, n, &at, &why);
    free(v);
    if (frame_contains(b, res == FJ_SCAN_END ? at + 1 : n, "\"logEvents\""))
        return FRAME_FIREHOSE;
    if (res == FJ_SCAN_MORE && !is_final)
        return FRAME_AUTO;
    fmt = FRAME_JSON_STREAM;
    if (res == FJ_SCAN_END && memchr(b, '\n', at) == NULL) {
        /* One value on the first line, and nothing else on that line: JSON lines. */
        size_t k = at + 1;
        while (k < n && b[k] != '\n' && frame_is_blank(b[k]))
            k++;
        if (k == n || b[k] == '\n')
            fmt = FRAME_JSON_LINES;
    }
    return fmt;
}

/* "host prog[pid]:" after a timestamp: a syslog header, not a CloudWatch message. */
static bool frame_is_syslog_header(const unsigned char *b, size_t n)
{
    size_t j = 0, prog;

    while (j < n && b[j] != ' ' && b[j] != '\n')
        j++;
    if (j == 0 || j >= n || b[j] != ' ')
        return false;
    prog = ++j;
    while (j < n && (b[j] == '_' || b[j] == '.' || b[j] == '/' || b[j] == '-' ||
                            (b[j] >= '0' && b[j] <= '9') || (b[j] >= 'a' && b[j] <= 'z') ||
                            (b[j] >= 'A' && b[j] <= 'Z')))
        j++;
    if (j == prog || j >= n || b[j] != '[')
        return false;
    for (j++; j < n && b[j] >= '0' && b[j] <= '9'; j++)
        ;
    return j + 1 < n && b[j] == ']' && b[j + 1] == ':';
}

static enum frame_format frame_detect_text(const unsigned char *b, size_t n, bool is_final)
{
    const unsigned char *nl = memchr(b, '\n', n < 512 ? n : 512);
    size_t line = nl ? (size_t)(nl - b) : n < 512 ? n : 512;
    int r;

    if (nl == NULL && n < 512 && !is_final)
        return FRAME_AUTO; /* the first line, or its first 512 bytes */
    r = frame_cwl_prefix(b, line);
    if (r > 0 && !frame_is_syslog_header(b + r, line - (size_t)r))
        return FRAME_CWL_EXPORT;
    return FRAME_SYSLOG;
}

/* Detect from c->buf[pos..len): a format, FRAME_AUTO (more bytes needed) or gives up. */
static enum frame_format frame_detect(struct frame_call *c, size_t pos)
{
    const unsigned char *b = c->buf + pos;
    size_t n = c->len - pos;
    bool is_final = c->is_eof || c->len >= FRAME_DETECT_MAX;
    size_t sample = n < 4096 ? n : 4096;
    const char *hint;
    size_t j = 0;

    if (c->len > FRAME_DETECT_MAX)
        n = FRAME_DETECT_MAX - pos; /* the same bytes whatever the window size */
    if (n == 0)
        return is_final ? FRAME_SYSLOG : FRAME_AUTO;
    if (memchr(b, 0, sample) == NULL && sample < 4096 && !is_final)
        return FRAME_AUTO;
    if (frame_is_binary(b, sample, &hint)) {
        frame_problem(c, c->base_off + pos,
                "binary data, not a text log%s; logsift reads plain/gzip/zstd text logs; "
                "skipped",
                hint);
        c->f->has_gave_up = true;
        return FRAME_AUTO;
    }
    while (j < n && frame_is_blank(b[j]))
        j++;
    if (j == n)
        return is_final ? FRAME_SYSLOG : FRAME_AUTO;
    if (b[j] == '[')
        return frame_detect_array(b + j, n - j, is_final);
    if (b[j] == '{')
        return frame_detect_object(b + j, n - j, is_final);
    return frame_detect_text(b + j, n - j, is_final);
}

/* ---- feeding ---------------------------------------------------------------------------- */

enum lsf_code framer_feed(struct framer *f, unsigned char *buf, size_t len, uint64_t base_off,
        bool is_eof, struct frame_batch *out, size_t *consumed, struct lsf_err *err)
{
    struct frame_call c;
    size_t pos = 0;

    assert(f != NULL && out != NULL && consumed != NULL);
    assert(len >= f->keep); /* the caller brings back what was not consumed */
    *consumed = 0;
    if (len == 0 && !is_eof)
        return LSF_OK;
    if (f->has_gave_up || f->is_finished) {
        *consumed = len;
        f->keep = 0;
        return LSF_OK;
    }
    memset(&c, 0, sizeof(c));
    c.f = f;
    c.buf = buf;
    c.len = len;
    c.base_off = base_off;
    c.is_eof = is_eof;
    c.out = out;
    c.err = err;
    c.rc = LSF_OK;

    if (!f->is_bom_checked) {
        /* A UTF-8 byte order mark opens some exported files: it belongs to no event. */
        static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

        if (len < 3 && !is_eof && memcmp(buf, bom, len) == 0) {
            f->keep = len;
            return LSF_OK;
        }
        if (len >= 3 && memcmp(buf, bom, 3) == 0)
            pos = 3;
    }
    if (f->fmt == FRAME_AUTO) {
        enum frame_format fmt = frame_detect(&c, pos);

        if (f->has_gave_up) {
            *consumed = len;
            f->keep = 0;
            return c.rc;
        }
        if (fmt == FRAME_AUTO) {
            f->keep = len;
            return LSF_OK;
        }
        f->fmt = fmt;
    }
    f->is_bom_checked = true;
    switch (f->fmt) {
    case FRAME_CLOUDTRAIL:
    case FRAME_JSON_ARRAY:
    case FRAME_JSON_STREAM:
    case FRAME_FIREHOSE:
        fj_feed(&c, pos);
        break;
    case FRAME_CWL_EXPORT:
        fl_feed_cwl(&c, pos);
        break;
    default:
        fl_feed_lines(&c, pos);
        break;
    }
    assert(c.consumed >= pos && c.consumed <= len);
    frame_fill_nl(buf, 0, pos); /* the BOM */
    *consumed = c.consumed;
    f->keep = len - c.consumed;
    if (is_eof && c.rc == LSF_OK) {
        assert(c.consumed == len);
        f->is_finished = true;
    }
    return c.rc;
}
