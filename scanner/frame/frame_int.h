/*
 * frame_int.h: what the framer's files share (not part of the public contract in frame.h).
 *
 * One struct framer per input. framer_feed (frame.c) builds a struct frame_call for the window,
 * detects the format once, then hands the window to the format's framer:
 *   frame_json.c     cloudtrail, json-array, json-stream, firehose (structural scanner)
 *   frame_firehose.c one complete Firehose / subscription document -> its messages
 *   frame_lines.c    json-lines, syslog, cwl-export
 *   frame_time.c     timestamps (also used by detection)
 */
#ifndef FRAME_INT_H
#define FRAME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* Deepest JSON nesting the structural scanner follows (jansson's default limit is 2048). */
#define FRAME_JSON_MAX_DEPTH 1024

/* Most bytes auto-detection looks at (and may ask the caller to keep) before deciding. */
#define FRAME_DETECT_MAX (64 * 1024)

/* Bytes of context kept while resynchronizing after a damaged JSON record. */
#define FRAME_RESYNC_CTX 64

/* What kind of JSON value fj_value follows. */
enum fj_kind {
    FJ_KIND_CONTAINER = 0, /* object or array: ends when its depth returns to 0 */
    FJ_KIND_STRING,        /* ends at the unescaped closing quote */
    FJ_KIND_SCALAR         /* number or literal: ends before the first delimiter */
};

/*
 * Scan state of one JSON value, kept between windows while the value is incomplete. The state
 * is exact at any byte boundary, so a scan can stop anywhere and resume on the next window.
 * stack[d] is 0x20 for '{' and 0 for '[' (bit 0x20 of the bracket byte).
 */
struct fj_value {
    uint8_t kind;
    bool in_str;
    bool esc; /* the previous byte was a backslash that escapes this one */
    uint32_t depth;
    uint8_t stack[FRAME_JSON_MAX_DEPTH];
};

/* Where the JSON framer stands between two bytes; see frame_json.c for the state machine. */
struct fj_state {
    uint8_t ctx;         /* enum fj_ctx */
    uint8_t where;       /* enum fj_where */
    bool is_first;       /* just after '[' or '{': a close bracket is fine here */
    bool is_records_key; /* the member value about to start is the "Records" array */
    bool saw_records;    /* the current root object had a "Records" array */
    bool skip_reported;  /* the value being skipped was already reported */
    size_t scanned;      /* in a value: bytes already scanned; in resync: bytes searched */
    uint64_t n_values;   /* event-level values started (framed or not), for messages */
    /* Where elements start, for resynchronization in pretty-printed arrays. */
    bool gap_at_line_start; /* since the last non-blank gap byte a newline came... */
    uint32_t gap_col;       /* ...followed by this many blanks */
    bool elem_at_line_start;
    uint32_t elem_col;
    /* The original bytes just before the window (newest last), for resync lookback. */
    unsigned char hist[FRAME_RESYNC_CTX];
    uint32_t n_hist;
    uint64_t hist_end; /* input offset just after hist's last byte */
    struct fj_value v;
};

/* Line formats (json-lines, syslog, cwl-export). */
struct fl_state {
    bool is_skipping;   /* inside an oversized event: drop bytes until it ends */
    bool is_mid_line;   /* cwl-export, skipping: inside a line being dropped */
    bool has_event;     /* cwl-export: an event starts at the window's first byte */
    bool is_classified; /* cwl-export: the line being examined is known to start or continue
                           the pending event */
    size_t line_rel;    /* cwl-export: start of the line being examined, from the event start */
    size_t scanned;     /* bytes of the pending line already known to hold no '\n' */
    size_t content_rel; /* cwl-export: end of the event's last non-blank line, from its start */
};

struct framer {
    enum frame_format fmt; /* the format in use; FRAME_AUTO until detected */
    bool is_auto;          /* fmt was detected, not given */
    bool has_gave_up;
    bool is_bom_checked;
    bool is_finished; /* end of input handled: later calls only consume */
    size_t max_event_len;
    size_t keep; /* len - *consumed of the previous call (protocol check) */
    uint64_t next_ordinal;
    uint64_t n_problems;
    /* SIMD implementation of the structural scan, chosen at framer_new. */
    int simd;
    struct fj_state json;
    struct fl_state lines;
};

/* One framer_feed call: the window and where its results go. */
struct frame_call {
    struct framer *f;
    unsigned char *buf;
    size_t len;
    uint64_t base_off;
    bool is_eof;
    struct frame_batch *out;
    struct lsf_err *err;
    enum lsf_code rc; /* LSF_OK until a problem (or NOMEM) stops the call */
    size_t consumed;
};

/* Structural-scan implementations (struct framer.simd). */
enum {
    FRAME_SIMD_SCALAR = 0,
    FRAME_SIMD_SSE2,
    FRAME_SIMD_AVX2
};

/* Tests may force an implementation; -1 means pick the best the CPU has. Not thread-safe. */
extern int frame_simd_override;

/* Make room for more events in c->out; on LSF_E_NOMEM sets c->rc and returns false. */
bool frame_batch_grow(struct frame_call *c);

/* Append an event (assigns the ordinal). On LSF_E_NOMEM sets call->rc and returns false. */
static inline bool frame_emit(struct frame_call *c, size_t off, size_t len, int64_t ts_ms)
{
    struct frame_batch *b = c->out;
    struct frame_event *ev;

    if (b->n == b->cap && !frame_batch_grow(c))
        return false;
    ev = &b->ev[b->n++];
    ev->off = off;
    ev->len = len;
    ev->src_off = c->base_off + off;
    ev->ordinal = c->f->next_ordinal++;
    ev->ts_ms = ts_ms;
    return true;
}

/*
 * Record a problem: the first of the call sets err and call->rc to LSF_E_INPUT; the framer
 * then returns at the next clean point. Messages start with "byte N: ".
 */
void frame_problem(struct frame_call *c, uint64_t byte, const char *fmt, ...) LSF_PRINTF(3, 4);

/* Set buf[from..to) to '\n'. */
void frame_fill_nl(unsigned char *buf, size_t from, size_t to);

static inline bool frame_is_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Per-format framers: frame c->buf[pos..len), set c->consumed. */
void fj_feed(struct frame_call *c, size_t pos);
void fl_feed_lines(struct frame_call *c, size_t pos);
void fl_feed_cwl(struct frame_call *c, size_t pos);
void fj_reset(struct fj_state *s);

/*
 * Frame one complete Firehose / subscription document buf[start..end) (end exclusive):
 * decode its messages in place, append them, set every other byte of it to '\n'.
 * Problems are reported through frame_problem.
 */
void fh_process_doc(struct frame_call *c, size_t start, size_t end);

/*
 * Scan a JSON value with v's state over buf[from..to). Returns FJ_SCAN_END with *at = index of
 * the value's last byte (containers, strings) or of the first byte after it (scalars),
 * FJ_SCAN_MORE when to was reached first, FJ_SCAN_BAD with *at = the offending byte and *why.
 */
enum fj_scan_res {
    FJ_SCAN_MORE = 0,
    FJ_SCAN_END,
    FJ_SCAN_BAD
};
enum fj_scan_res fj_scan(int simd, struct fj_value *v, const unsigned char *buf, size_t from,
        size_t to, size_t *at, const char **why);

/* Start v on the value whose first byte is ch; false if ch cannot start a JSON value. */
bool fj_value_start(struct fj_value *v, unsigned char ch);

/* ---- time (frame_time.c) ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
int64_t frame_days_from_civil(int64_t y, unsigned m, unsigned d);

/*
 * Parse an ISO-8601 / RFC 3339 timestamp at s[0..n): YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH:MM|
 * +HHMM]; no zone means UTC. Returns the bytes used (0: not a timestamp) and sets *ms.
 * FRAME_ISO_STRICT_Z accepts only the CloudWatch Logs export form: 'T', optional fraction, 'Z'.
 */
#define FRAME_ISO_STRICT_Z 1u
size_t frame_iso8601_parse(const unsigned char *s, size_t n, unsigned flags, int64_t *ms);

/*
 * Does p[0..n) start with the CloudWatch Logs export prefix "YYYY-MM-DDTHH:MM:SS[.f]Z "?
 * Returns its length, 0 if not, -1 if all n bytes match but more are needed to tell.
 */
int frame_cwl_prefix(const unsigned char *p, size_t n);

/* "Mmm dd hh:mm:ss" (RFC 3164) at s[0..n): bytes used (15) or 0; month 1-12 etc. */
size_t frame_rfc3164_parse(const unsigned char *s, size_t n, unsigned *mon, unsigned *day,
        unsigned *hh, unsigned *mm, unsigned *ss);

#endif
