/*
 * frame_lines: the line formats. json-lines and syslog (which also serves any plain text log)
 * make every line that is not blank an event; cwl-export (CloudWatch Logs CreateExportTask
 * output, shared/spec/aws-facts.md 5.1) starts an event at each line that begins with
 * "YYYY-MM-DDTHH:MM:SS[.fff]Z " and appends the lines that do not (multi-line messages such as
 * stack traces keep their raw newlines in an export).
 *
 * Lines are found with memchr, so these formats run at memory speed. An event never includes
 * its line terminator; a '\r' before the '\n' becomes '\n' too, and so do blank lines (only
 * blanks: space, tab, CR, FF, VT) and, in cwl-export, blank lines that trail an event.
 * No JSON is parsed in json-lines: a broken line is still an event for the rules to look at.
 *
 * State between windows: *consumed stops at the start of the pending line (or event), and
 * fl_state.scanned remembers how much of it is known to hold no '\n', so a 100 MB line fed in
 * small windows is searched once. A line (cwl-export: an event) longer than max_event_len is
 * reported once, its bytes are dropped as they arrive, and framing resumes after it.
 */
#include "frame_int.h"

#include <string.h>

static bool fl_is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

int frame_cwl_prefix(const unsigned char *p, size_t n)
{
    /* 'd' = digit; the fraction and 'Z' are handled after the fixed part. */
    static const char fixed[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;

    for (; i < sizeof(fixed) - 1; i++) {
        if (i == n)
            return -1;
        if (fixed[i] == 'd' ? !fl_is_digit(p[i]) : p[i] != (unsigned char)fixed[i])
            return 0;
    }
    if (i == n)
        return -1;
    if (p[i] == '.') {
        size_t first = ++i;
        while (i < n && fl_is_digit(p[i]) && i - first < 9)
            i++;
        if (i == n)
            return -1;
        if (i == first)
            return 0;
    }
    if (p[i] != 'Z')
        return 0;
    if (++i == n)
        return -1;
    return p[i] == ' ' ? (int)(i + 1) : 0;
}

static bool fl_is_blank_span(const unsigned char *buf, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        if (!frame_is_blank(buf[k]))
            return false;
    }
    return true;
}

/* A complete line buf[from..to) (to = its '\n' or the end of input). */
static void fl_line(struct frame_call *c, size_t from, size_t to)
{
    if (to > from && c->buf[to - 1] == '\r')
        c->buf[--to] = '\n';
    if (fl_is_blank_span(c->buf, from, to))
        frame_fill_nl(c->buf, from, to);
    else
        frame_emit(c, from, to - from, FRAME_TS_UNKNOWN);
}

static void fl_too_long(struct frame_call *c, size_t at, const char *what)
{
    frame_problem(c, c->base_off + at,
            "%s longer than the --max-event-size limit of %zu bytes; skipped (raise "
            "--max-event-size to scan it)",
            what, c->f->max_event_len);
}

void fl_feed_lines(struct frame_call *c, size_t pos)
{
    struct fl_state *s = &c->f->lines;
    unsigned char *buf = c->buf;
    const size_t len = c->len;
    const size_t max = c->f->max_event_len;
    size_t i = pos;

    while (i < len && c->rc == LSF_OK) {
        const unsigned char *nl;
        size_t lim;

        if (s->is_skipping) {
            nl = memchr(buf + i, '\n', len - i);
            lim = nl ? (size_t)(nl - buf) + 1 : len;
            frame_fill_nl(buf, i, lim);
            i = lim;
            s->is_skipping = nl == NULL;
            continue;
        }
        /* The line's '\n' may stand at most max bytes after its start. */
        lim = len - i > max + 1 ? i + max + 1 : len;
        nl = memchr(buf + i + s->scanned, '\n', lim - i - s->scanned);
        if (nl != NULL) {
            fl_line(c, i, (size_t)(nl - buf));
            i = (size_t)(nl - buf) + 1;
            s->scanned = 0;
        } else if (lim - i > max) {
            fl_too_long(c, i, "line");
            frame_fill_nl(buf, i, lim);
            i = lim;
            s->scanned = 0;
            s->is_skipping = true;
        } else if (c->is_eof) {
            fl_line(c, i, len); /* the last line has no '\n' */
            i = len;
            s->scanned = 0;
        } else {
            s->scanned = len - i; /* pending: comes back with more bytes */
            break;
        }
    }
    if (i == len && c->is_eof)
        s->is_skipping = false;
    c->consumed = i;
}

/* cwl-export: emit the pending event buf[es..ce) (nothing if it has no content). */
static void fl_cwl_emit(struct frame_call *c, size_t es, size_t ce)
{
    if (ce > es)
        frame_emit(c, es, ce - es, FRAME_TS_UNKNOWN);
}

/*
 * A cwl-export event ends where the next line starts with a timestamp, so the framer must see
 * up to FL_CWL_LOOKAHEAD bytes of that line while it still holds the event: an event may use
 * max_event_len - FL_CWL_LOOKAHEAD bytes (with its line ends), so the pending bytes never pass
 * max_event_len and the outcome never depends on where windows end.
 */
#define FL_CWL_LOOKAHEAD 32

void fl_feed_cwl(struct frame_call *c, size_t pos)
{
    struct fl_state *s = &c->f->lines;
    unsigned char *buf = c->buf;
    const size_t len = c->len;
    const size_t max = c->f->max_event_len - FL_CWL_LOOKAHEAD;
    size_t es = pos;   /* start of the pending event (s->has_event) */
    size_t ce = pos;   /* end of its last non-blank line */
    size_t q = pos;    /* start of the line being examined */
    size_t done = pos; /* consumed */
    size_t scanned = s->scanned;
    bool is_classified = s->is_classified;

    if (s->has_event) {
        q = es + s->line_rel;
        ce = es + s->content_rel;
    }
    while (c->rc == LSF_OK) {
        const unsigned char *nl;
        size_t lim, le, next;

        if (q == len) {
            if (c->is_eof) {
                if (s->has_event) {
                    fl_cwl_emit(c, es, ce);
                    frame_fill_nl(buf, ce, len);
                    s->has_event = false;
                }
                s->is_skipping = false;
                s->is_mid_line = false;
            }
            done = s->has_event ? es : q;
            break;
        }
        if (s->is_skipping && s->is_mid_line) {
            nl = memchr(buf + q, '\n', len - q);
            next = nl ? (size_t)(nl - buf) + 1 : len;
            frame_fill_nl(buf, q, next);
            q = done = next;
            s->is_mid_line = nl == NULL;
            continue;
        }
        if (!is_classified) {
            int r = frame_cwl_prefix(buf + q, len - q);

            if (r < 0 && !c->is_eof) {
                /* Cannot tell yet whether this line starts an event; the event's budget
                 * leaves room for these bytes (see FL_CWL_LOOKAHEAD). */
                done = s->has_event ? es : q;
                break;
            }
            if (r > 0) {
                if (s->has_event) {
                    fl_cwl_emit(c, es, ce);
                    frame_fill_nl(buf, ce, q);
                }
                s->is_skipping = false;
            } else if (s->is_skipping) {
                s->is_mid_line = true; /* a continuation line of the skipped event */
                continue;
            }
            if (r > 0 || !s->has_event) {
                s->has_event = true; /* a line without a timestamp may start one too */
                es = ce = done = q;
            }
            is_classified = true;
            scanned = 0;
        }
        /* Find the end of the line at q within the event's budget. */
        lim = len - es > max + 1 ? es + max + 1 : len;
        nl = memchr(buf + q + scanned, '\n', lim - q - scanned);
        if (nl == NULL) {
            if (lim - es > max) {
                fl_too_long(c, es, "event");
                frame_fill_nl(buf, done, lim);
                q = done = lim;
                s->has_event = false;
                s->is_skipping = true;
                s->is_mid_line = true;
                is_classified = false;
                scanned = 0;
                break;
            }
            if (!c->is_eof) {
                scanned = len - q; /* pending */
                done = es;
                break;
            }
            le = next = len;
        } else {
            le = (size_t)(nl - buf);
            next = le + 1;
        }
        if (le > q && buf[le - 1] == '\r')
            le--;
        if (!fl_is_blank_span(buf, q, le)) {
            ce = le;
        } else if (ce == es) {
            /* Blank lines before any content do not belong to the event. */
            frame_fill_nl(buf, es, next);
            es = ce = done = next;
        }
        q = next;
        scanned = 0;
        is_classified = false;
    }
    s->scanned = scanned;
    s->is_classified = is_classified;
    s->line_rel = q - done;
    s->content_rel = s->has_event ? ce - es : 0;
    c->consumed = done;
}
