/*
 * frame: cut a decompressed byte stream into events, in place.
 *
 * An event is what a rule looks at: one CloudTrail record, one JSON line, one syslog line, one
 * CloudWatch Logs message. Framing is incremental: the caller presents a window of the
 * input; the framer returns the events that lie wholly inside it and says how much of the
 * window is done; the caller keeps the rest and presents it again with more bytes behind it.
 * No format builds a whole-file tree: memory is bounded by the largest event.
 *
 * The framer rewrites the window in place, so the engine can scan it as one block:
 * - a byte just before or just after an event that belongs to no event becomes '\n', so a
 *   pattern without the DOTALL flag can never match across two events;
 * - encoded events are decoded where they stand (a Firehose message loses its JSON string
 *   escapes; the decoded text is never longer than the encoded one).
 *
 * Events never include line terminators: a '\r' before '\n' and blank lines belong to no event.
 * JSON formats check strings, escapes and bracket nesting/matching, and what stands between
 * records; they do not validate the tokens inside a record (see frame_json.c). The events are
 * the same whatever the window sizes.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_err.h"

enum frame_format {
    FRAME_AUTO = 0,    /* detect from the first bytes of each input */
    FRAME_CLOUDTRAIL,  /* {"Records":[{...},...]}: one event per record */
    FRAME_JSON_ARRAY,  /* [{...},...] (Stratus Red Team detonation logs): one per element */
    FRAME_JSON_LINES,  /* one JSON value per line */
    FRAME_JSON_STREAM, /* JSON values back to back, possibly pretty-printed: one per value */
    FRAME_CWL_EXPORT,  /* CreateExportTask lines "<ISO-8601> <message>"; lines without a
                          leading timestamp continue the previous event */
    FRAME_FIREHOSE,    /* CloudWatch Logs subscription records (DATA_MESSAGE logEvents[]
                          messages; CONTROL_MESSAGE skipped), one or many per stream */
    FRAME_SYSLOG       /* RFC 3164, RFC 5424 and ISO-timestamp syslog lines (auth.log), and
                          any other text: one event per non-blank line */
};
#define FRAME_N_FORMATS 8

/* ts_ms value when the framer did not read a timestamp (see frame_event_time). */
#define FRAME_TS_UNKNOWN INT64_MIN

struct frame_event {
    size_t off;       /* start of the event in the window */
    size_t len;       /* bytes, after in-place decoding */
    uint64_t src_off; /* byte offset of the event's start in the decompressed input */
    uint64_t ordinal; /* 0-based index of the event in its input */
    int64_t ts_ms;    /* set only where the time lies outside the event bytes (Firehose
                         logEvents[].timestamp); otherwise FRAME_TS_UNKNOWN */
};

/* A growable array of events, owned by the caller; frame_batch_reset keeps the memory. */
struct frame_batch {
    struct frame_event *ev;
    size_t n;
    size_t cap;
};

void frame_batch_init(struct frame_batch *batch);
void frame_batch_reset(struct frame_batch *batch);
void frame_batch_cleanup(struct frame_batch *batch);

/* "auto", "cloudtrail", "json-array", "json-lines", "json-stream", "cwl-export", "firehose",
 * "syslog". */
const char *frame_format_name(enum frame_format fmt);

/* Parse a --format value; LSF_E_USAGE naming the valid values otherwise. */
enum lsf_code frame_format_parse(const char *name, enum frame_format *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

struct framer;

/* Smallest max_event_len framer_new accepts. */
#define FRAME_MIN_EVENT_LEN 256

/*
 * A framer for one input. fmt may be FRAME_AUTO. max_event_len bounds one event (and the
 * bytes a caller must keep between calls); it counts an event's raw bytes (before decoding,
 * including a '\r' before the '\n'; a Firehose document counts whole). A cwl-export event may
 * use max_event_len - 32 bytes: the framer must see the start of the next line to end it.
 * Returns LSF_E_NOMEM, or LSF_E_USAGE when max_event_len is below FRAME_MIN_EVENT_LEN. Each
 * framer is used by one thread at a time; different framers are independent.
 */
enum lsf_code framer_new(enum frame_format fmt, size_t max_event_len, struct framer **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void framer_free(struct framer *f);

/* The format in use: FRAME_AUTO until detection has happened. */
enum frame_format framer_format(const struct framer *f);

/* True once the framer has refused the input (binary data, unknown layout): stop reading it. */
bool framer_gave_up(const struct framer *f);

/*
 * Frame the window buf[0..len), the input's bytes from offset base_off on, appending complete
 * events to out. *consumed is set to the bytes of the window that are done: the caller must
 * present buf[*consumed..len) again at the start of the next window (base_off + *consumed),
 * followed by the next bytes. On LSF_OK, len - *consumed never exceeds max_event_len, unless
 * detection still needs bytes (at most 64 KiB); with is_eof (no byte follows this window)
 * *consumed == len. Events' off are relative to buf; every event lies in buf[0..*consumed).
 * The bytes of buf[0..*consumed) that belong to no event are '\n' when the call returns; the
 * bytes from *consumed on are left as they were. Events stay valid while buf does.
 *
 * Returns LSF_E_INPUT for malformed input (a broken record, an unterminated event at end of
 * input, an event over max_event_len that was skipped, binary data) with a one-line message
 * "byte N: ..." that gives the input offset, what is wrong and what to do. The events appended
 * before the problem are valid, *consumed is set past the place of the problem (so it is > 0
 * whenever len > 0), and the framer has resynchronized (or given up, see framer_gave_up).
 * The call stops at its first problem: the rest of the window has not been looked at, and
 * the bound above does not hold for it, so call again with buf[*consumed..len) and the same
 * is_eof before adding bytes; that call reports the next problem, if any. Once given up,
 * calls consume everything and return LSF_OK. LSF_E_NOMEM (the batch could not grow) also
 * gives up.
 */
enum lsf_code framer_feed(struct framer *f, unsigned char *buf, size_t len, uint64_t base_off,
        bool is_eof, struct frame_batch *out, size_t *consumed, struct lsf_err *err);

/* Problems found in this input so far, including any beyond the first of a call. */
uint64_t framer_n_problems(const struct framer *f);

/*
 * The event's time in ms since the Unix epoch, read from its bytes (CloudTrail "eventTime",
 * an ISO-8601 or syslog prefix), or FRAME_TS_UNKNOWN. Syslog RFC 3164 stamps have no year:
 * the year is taken so that the time is not more than a day in the future of now_ms (and,
 * having no zone either, they are read as UTC). For Firehose events prefer frame_event.ts_ms;
 * given FRAME_FIREHOSE this reads the message (a CloudTrail "eventTime" or a leading stamp).
 * Thread-safe.
 * Called only for events with findings, so it may be slower than framing.
 */
int64_t frame_event_time(enum frame_format fmt, const unsigned char *ev, size_t len,
        int64_t now_ms);

#endif
