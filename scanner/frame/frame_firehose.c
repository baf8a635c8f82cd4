/*
 * frame_firehose: one CloudWatch Logs subscription document -> its log events, in place.
 *
 * CloudWatch Logs delivers subscription data (to Firehose, Kinesis, Lambda) as JSON documents
 * {"messageType":"DATA_MESSAGE","owner":..,"logGroup":..,"logStream":..,
 *  "subscriptionFilters":[..],"logEvents":[{"id":..,"timestamp":<ms>,"message":".."},..]}
 * and CONTROL_MESSAGE documents that only probe the destination (shared/spec/aws-facts.md 5.2).
 * frame_json.c finds where each document ends (documents may be pretty-printed, newline
 * separated or back to back as Firehose concatenates them); this file reads one complete
 * document, bounded by max_event_len, so a small recursive-descent walk is safe.
 *
 * Why not jansson: the events must stay in the window (the engine scans the window in place,
 * and src_off must point at the message), so the walk needs each message's position, which a
 * DOM does not give. The walk is strict about the document's own syntax (object, members,
 * logEvents entries) and lenient about values it skips (only their structure is checked, as
 * in frame_json.c) and about message text: an invalid escape is kept verbatim and a lone
 * UTF-16 surrogate becomes U+FFFD, so no message is dropped for one bad character. The unit
 * tests compare every decoded message with jansson's.
 *
 * Two passes: the walk records each message's raw span as a tentative event (so a syntax
 * error or a CONTROL_MESSAGE found late rolls them back), then each message is unescaped where
 * it stands (JSON string escapes never expand: \uXXXX is 6 bytes for at most 3 of UTF-8, a
 * surrogate pair 12 for 4) and every other byte of the document becomes '\n'.
 */
#include "frame_int.h"

#include <string.h>

enum fh_type {
    FH_TYPE_NONE = 0,
    FH_TYPE_DATA,
    FH_TYPE_CONTROL,
    FH_TYPE_OTHER
};

struct fh_doc {
    struct frame_call *c;
    unsigned char *buf;
    size_t i;   /* cursor */
    size_t end; /* the document's end (exclusive) */
    const char *why;
    size_t why_at;
    enum fh_type type;
    bool has_log_events;
    bool has_awslogs;
    struct fj_value skip; /* scratch for skipping nested values */
};

static bool fh_fail(struct fh_doc *d, const char *why)
{
    if (d->why == NULL) {
        d->why = why;
        d->why_at = d->i;
    }
    return false;
}

static void fh_ws(struct fh_doc *d)
{
    while (d->i < d->end && frame_is_blank(d->buf[d->i]))
        d->i++;
}

/* Consume ch after blanks, if it is there. */
static bool fh_lit(struct fh_doc *d, unsigned char ch)
{
    fh_ws(d);
    if (d->i < d->end && d->buf[d->i] == ch) {
        d->i++;
        return true;
    }
    return false;
}

static bool fh_peek(struct fh_doc *d, unsigned char ch)
{
    fh_ws(d);
    return d->i < d->end && d->buf[d->i] == ch;
}

/* A string: [*s, *e) is its raw content (without the quotes). */
static bool fh_string(struct fh_doc *d, size_t *s, size_t *e)
{
    size_t j;

    fh_ws(d);
    if (d->i >= d->end || d->buf[d->i] != '"')
        return fh_fail(d, "expected a string");
    j = d->i + 1;
    for (;;) {
        const unsigned char *q = memchr(d->buf + j, '"', d->end - j);
        size_t qi, run = 0;

        if (q == NULL)
            return fh_fail(d, "unterminated string");
        qi = (size_t)(q - d->buf);
        while (qi - run > d->i + 1 && d->buf[qi - run - 1] == '\\')
            run++;
        if (run & 1) {
            j = qi + 1;
            continue;
        }
        *s = d->i + 1;
        *e = qi;
        d->i = qi + 1;
        return true;
    }
}

static bool fh_raw_is(const struct fh_doc *d, size_t s, size_t e, const char *text)
{
    size_t n = strlen(text);
    return e - s == n && memcmp(d->buf + s, text, n) == 0;
}

/* Skip any value, checking only its structure (strings, bracket matching). */
static bool fh_skip_value(struct fh_doc *d)
{
    size_t at = 0, s, e;
    const char *why = NULL;
    enum fj_scan_res res;

    fh_ws(d);
    if (d->i >= d->end)
        return fh_fail(d, "expected a value");
    if (d->buf[d->i] == '"')
        return fh_string(d, &s, &e);
    if (!fj_value_start(&d->skip, d->buf[d->i]))
        return fh_fail(d, "expected a value");
    res = fj_scan(FRAME_SIMD_SCALAR, &d->skip, d->buf, d->i + 1, d->end, &at, &why);
    if (res == FJ_SCAN_BAD) {
        d->i = at;
        return fh_fail(d, why);
    }
    if (d->skip.kind == FJ_KIND_SCALAR) {
        d->i = res == FJ_SCAN_END ? at : d->end;
        return true;
    }
    if (res != FJ_SCAN_END)
        return fh_fail(d, "unterminated value");
    d->i = at + 1;
    return true;
}

/* An integer number (the timestamp); false with *is_int = false for other values. */
static bool fh_int64(struct fh_doc *d, int64_t *out)
{
    size_t j;
    bool is_neg = false;
    uint64_t v = 0;

    fh_ws(d);
    j = d->i;
    if (j < d->end && d->buf[j] == '-') {
        is_neg = true;
        j++;
    }
    if (j >= d->end || d->buf[j] < '0' || d->buf[j] > '9')
        return false;
    for (; j < d->end && d->buf[j] >= '0' && d->buf[j] <= '9'; j++) {
        if (v > (UINT64_C(1) << 62) / 10)
            return false; /* far beyond any timestamp */
        v = v * 10 + (uint64_t)(d->buf[j] - '0');
    }
    if (j < d->end && (d->buf[j] == '.' || d->buf[j] == 'e' || d->buf[j] == 'E'))
        return false;
    d->i = j;
    *out = is_neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* One logEvents[] entry: {"id":..,"timestamp":..,"message":".."}. */
static bool fh_log_event(struct fh_doc *d)
{
    int64_t ts = FRAME_TS_UNKNOWN;
    size_t ms = 0, me = 0;
    bool has_message = false;

    if (!fh_lit(d, '{'))
        return fh_fail(d, "a logEvents entry is not an object");
    if (!fh_lit(d, '}')) {
        for (;;) {
            size_t ks, ke;

            if (!fh_string(d, &ks, &ke))
                return false;
            if (!fh_lit(d, ':'))
                return fh_fail(d, "expected ':'");
            if (fh_raw_is(d, ks, ke, "timestamp")) {
                if (!fh_int64(d, &ts) && !fh_skip_value(d))
                    return false;
            } else if (fh_raw_is(d, ks, ke, "message") && fh_peek(d, '"')) {
                if (!fh_string(d, &ms, &me))
                    return false;
                has_message = true;
            } else if (!fh_skip_value(d)) {
                return false;
            }
            if (fh_lit(d, ','))
                continue;
            if (fh_lit(d, '}'))
                break;
            return fh_fail(d, "expected ',' or '}' in a logEvents entry");
        }
    }
    /* Tentative: off/len are the raw span until the document is known to be good. */
    if (has_message && me > ms && !frame_emit(d->c, ms, me - ms, ts))
        return fh_fail(d, "out of memory");
    return true;
}

static bool fh_log_events(struct fh_doc *d)
{
    d->has_log_events = true;
    if (!fh_lit(d, '['))
        return fh_fail(d, "\"logEvents\" is not an array");
    if (fh_lit(d, ']'))
        return true;
    for (;;) {
        if (!fh_log_event(d))
            return false;
        if (fh_lit(d, ','))
            continue;
        if (fh_lit(d, ']'))
            return true;
        return fh_fail(d, "expected ',' or ']' in \"logEvents\"");
    }
}

static bool fh_walk(struct fh_doc *d)
{
    if (!fh_lit(d, '{'))
        return fh_fail(d, "it is not a JSON object");
    if (fh_lit(d, '}'))
        return true;
    for (;;) {
        size_t ks, ke, vs, ve;

        if (!fh_string(d, &ks, &ke))
            return false;
        if (!fh_lit(d, ':'))
            return fh_fail(d, "expected ':'");
        if (fh_raw_is(d, ks, ke, "messageType") && fh_peek(d, '"')) {
            if (!fh_string(d, &vs, &ve))
                return false;
            if (fh_raw_is(d, vs, ve, "DATA_MESSAGE"))
                d->type = FH_TYPE_DATA;
            else if (fh_raw_is(d, vs, ve, "CONTROL_MESSAGE"))
                d->type = FH_TYPE_CONTROL;
            else
                d->type = FH_TYPE_OTHER;
        } else if (fh_raw_is(d, ks, ke, "logEvents") && !d->has_log_events) {
            if (!fh_log_events(d))
                return false;
        } else {
            if (fh_raw_is(d, ks, ke, "awslogs"))
                d->has_awslogs = true;
            if (!fh_skip_value(d))
                return false;
        }
        if (fh_lit(d, ','))
            continue;
        if (fh_lit(d, '}'))
            break;
        return fh_fail(d, "expected ',' or '}'");
    }
    fh_ws(d);
    if (d->i != d->end)
        return fh_fail(d, "bytes after the document");
    return true;
}

static bool fh_hex4(const unsigned char *b, size_t at, size_t end, uint32_t *out)
{
    uint32_t v = 0;

    if (end - at < 4)
        return false;
    for (size_t k = 0; k < 4; k++) {
        unsigned char h = b[at + k];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (uint32_t)(h - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

static size_t fh_put_utf8(unsigned char *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (unsigned char)(0xC0 | (cp >> 6));
        w[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (unsigned char)(0xE0 | (cp >> 12));
        w[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (unsigned char)(0xF0 | (cp >> 18));
    w[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescape the JSON string content b[s..e) in place; returns the decoded length. */
static size_t fh_unescape(unsigned char *b, size_t s, size_t e)
{
    size_t r = s, w = s;

    while (r < e) {
        const unsigned char *bs = memchr(b + r, '\\', e - r);
        size_t plain_end = bs ? (size_t)(bs - b) : e;
        unsigned char x;
        uint32_t cp, lo;

        if (w != r)
            memmove(b + w, b + r, plain_end - r);
        w += plain_end - r;
        r = plain_end;
        if (r >= e)
            break;
        if (r + 1 >= e) { /* cannot happen in a well-formed string; keep the byte */
            b[w++] = b[r++];
            break;
        }
        x = b[r + 1];
        switch (x) {
        case '"':
        case '\\':
        case '/':
            b[w++] = x;
            r += 2;
            break;
        case 'b':
            b[w++] = '\b';
            r += 2;
            break;
        case 'f':
            b[w++] = '\f';
            r += 2;
            break;
        case 'n':
            b[w++] = '\n';
            r += 2;
            break;
        case 'r':
            b[w++] = '\r';
            r += 2;
            break;
        case 't':
            b[w++] = '\t';
            r += 2;
            break;
        case 'u':
            if (!fh_hex4(b, r + 2, e, &cp)) {
                b[w++] = b[r++];
                b[w++] = b[r++];
                break;
            }
            r += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - r >= 6 && b[r] == '\\' && b[r + 1] == 'u' && fh_hex4(b, r + 2, e, &lo) &&
                        lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    r += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            w += fh_put_utf8(b + w, cp);
            break;
        default: /* not a JSON escape: keep it as it is */
            b[w++] = b[r++];
            b[w++] = b[r++];
            break;
        }
    }
    return w - s;
}

void fh_process_doc(struct frame_call *c, size_t start, size_t end)
{
    struct frame_batch *out = c->out;
    size_t n_before = out->n;
    uint64_t ord_before = c->f->next_ordinal;
    struct fh_doc *d;
    struct fh_doc doc;
    size_t prev_end = start;
    const char *problem = NULL;

    d = &doc;
    memset(d, 0, sizeof(*d));
    d->c = c;
    d->buf = c->buf;
    d->i = start;
    d->end = end;
    if (!fh_walk(d)) {
        if (c->rc == LSF_E_NOMEM)
            return;
        problem = d->why;
    } else if (d->type == FH_TYPE_CONTROL) {
        problem = ""; /* a reachability probe: no events, nothing wrong */
    } else if (d->type == FH_TYPE_NONE && !d->has_log_events) {
        problem =
                d->has_awslogs
                        ? "it is a Lambda/Kinesis {\"awslogs\":{\"data\":...}} wrapper whose data "
                          "is "
                          "base64 gzip; decode it first"
                        : "it has neither \"messageType\" nor \"logEvents\": not a CloudWatch Logs "
                          "subscription record (for other JSON use --format json-stream)";
    }
    if (problem != NULL) {
        out->n = n_before;
        c->f->next_ordinal = ord_before;
        frame_fill_nl(c->buf, start, end);
        if (problem[0] != '\0')
            frame_problem(c, c->base_off + (d->why ? d->why_at : start),
                    "subscription document at byte %llu skipped: %s%s",
                    (unsigned long long)(c->base_off + start), problem,
                    d->why ? "; the file may be damaged; re-copy it" : "");
        return;
    }
    for (size_t k = n_before; k < out->n; k++) {
        struct frame_event *ev = &out->ev[k];
        size_t raw_end = ev->off + ev->len;

        frame_fill_nl(c->buf, prev_end, ev->off);
        ev->len = fh_unescape(c->buf, ev->off, raw_end);
        prev_end = ev->off + ev->len;
    }
    frame_fill_nl(c->buf, prev_end, end);
}
