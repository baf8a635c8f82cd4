/*
 * alert_format: JSON-lines and table renderings of a finding.
 *
 * The JSON is written by hand rather than through a JSON library because the event excerpt is
 * arbitrary log bytes: libraries refuse invalid UTF-8, and a finding must never be lost for
 * that. The writer escapes per RFC 8259 and replaces each invalid UTF-8 sequence with U+FFFD.
 */
#include "alert.h"
#include "alert_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

size_t alert_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static enum lsf_code put(struct lsf_buf *out, const char *s, size_t n, struct lsf_err *err)
{
    return lsf_buf_append(out, s, n, err);
}

static enum lsf_code put_str(struct lsf_buf *out, const char *s, struct lsf_err *err)
{
    return put(out, s, strlen(s), err);
}

/* Append bytes as a JSON string (with quotes). */
static enum lsf_code put_json_string(struct lsf_buf *out, const unsigned char *s, size_t n,
        struct lsf_err *err)
{
    enum lsf_code rc = put(out, "\"", 1, err);
    size_t i = 0;

    while (rc == LSF_OK && i < n) {
        size_t run = i;
        size_t seq;

        /* Copy the longest run that needs no escaping in one go. */
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            rc = put(out, (const char *)s + i, run - i, err);
            i = run;
            continue;
        }
        if (s[i] < 0x80) {
            char esc[8];
            switch (s[i]) {
            case '"':
                rc = put(out, "\\\"", 2, err);
                break;
            case '\\':
                rc = put(out, "\\\\", 2, err);
                break;
            case '\n':
                rc = put(out, "\\n", 2, err);
                break;
            case '\r':
                rc = put(out, "\\r", 2, err);
                break;
            case '\t':
                rc = put(out, "\\t", 2, err);
                break;
            default:
                snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
                rc = put(out, esc, 6, err);
                break;
            }
            i++;
            continue;
        }
        seq = alert_utf8_seq_len(s + i, n - i);
        if (seq == 0) {
            rc = put(out, "\xEF\xBF\xBD", 3, err); /* U+FFFD */
            i++;
        } else {
            rc = put(out, (const char *)s + i, seq, err);
            i += seq;
        }
    }
    if (rc == LSF_OK)
        rc = put(out, "\"", 1, err);
    return rc;
}

static enum lsf_code put_json_cstr(struct lsf_buf *out, const char *s, struct lsf_err *err)
{
    return put_json_string(out, (const unsigned char *)s, strlen(s), err);
}

size_t alert_utf8_cut(const unsigned char *s, size_t n, size_t max)
{
    size_t cut;

    if (n <= max)
        return n;
    cut = max;
    while (cut > 0 && (s[cut] & 0xC0) == 0x80 && max - cut < 4)
        cut--;
    return cut;
}

void alert_format_time(int64_t ts_ms, char *buf, size_t len)
{
    struct tm tm;
    time_t secs;
    int64_t ms;

    if (ts_ms == LSF_TS_UNKNOWN) {
        snprintf(buf, len, "-");
        return;
    }
    secs = (time_t)(ts_ms / 1000);
    ms = ts_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

/* ,"geo":{"ip":..,"country":..,"asn":..,"as_org":..}: members only for what is known (schema v1,
 * an additive member; README, Output). */
static enum lsf_code put_geo(struct lsf_buf *out, const struct lsf_geo *g, struct lsf_err *err)
{
    char num[32];
    enum lsf_code rc = put_str(out, ",\"geo\":{\"ip\":", err);

    if (rc == LSF_OK)
        rc = put_json_cstr(out, g->ip, err);
    if (rc == LSF_OK && g->country[0] != '\0') {
        rc = put_str(out, ",\"country\":", err);
        if (rc == LSF_OK)
            rc = put_json_cstr(out, g->country, err);
    }
    if (rc == LSF_OK && g->asn != 0) {
        snprintf(num, sizeof(num), ",\"asn\":%" PRIu32, g->asn);
        rc = put_str(out, num, err);
    }
    if (rc == LSF_OK && g->as_org[0] != '\0') {
        rc = put_str(out, ",\"as_org\":", err);
        if (rc == LSF_OK)
            rc = put_json_cstr(out, g->as_org, err);
    }
    if (rc == LSF_OK)
        rc = put_str(out, "}", err);
    return rc;
}

enum lsf_code alert_jsonl_format(const struct lsf_finding *f, size_t excerpt_len,
        struct lsf_buf *out, struct lsf_err *err)
{
    char num[64];
    size_t cut = alert_utf8_cut(f->event, f->event_len, excerpt_len);
    enum lsf_code rc;

    snprintf(num, sizeof(num), "{\"v\":%d,\"rule\":", ALERT_JSONL_SCHEMA_VERSION);
    rc = put_str(out, num, err);
    if (rc == LSF_OK)
        rc = put_json_cstr(out, f->rule_id, err);
    if (rc == LSF_OK)
        rc = put_str(out, ",\"title\":", err);
    if (rc == LSF_OK)
        rc = put_json_cstr(out, f->title, err);
    if (rc == LSF_OK)
        rc = put_str(out, ",\"severity\":", err);
    if (rc == LSF_OK)
        rc = put_json_cstr(out, f->severity, err);
    if (rc == LSF_OK)
        rc = put_str(out, ",\"source\":", err);
    if (rc == LSF_OK)
        rc = put_json_cstr(out, f->source, err);
    if (rc == LSF_OK)
        rc = put_str(out, ",\"format\":", err);
    if (rc == LSF_OK)
        rc = put_json_cstr(out, f->format, err);
    if (rc == LSF_OK) {
        snprintf(num, sizeof(num), ",\"offset\":%" PRIu64 ",\"ordinal\":%" PRIu64 ",\"time\":",
                f->offset, f->ordinal);
        rc = put_str(out, num, err);
    }
    if (rc == LSF_OK) {
        if (f->ts_ms == LSF_TS_UNKNOWN) {
            rc = put_str(out, "null", err);
        } else {
            alert_format_time(f->ts_ms, num, sizeof(num));
            rc = put_json_cstr(out, num, err);
        }
    }
    if (rc == LSF_OK)
        rc = put_str(out, ",\"patterns\":[", err);
    for (size_t i = 0; rc == LSF_OK && i < f->n_pattern_ids; i++) {
        snprintf(num, sizeof(num), "%s%u", i ? "," : "", f->pattern_ids[i]);
        rc = put_str(out, num, err);
    }
    if (rc == LSF_OK)
        rc = put_str(out, "]", err);
    if (rc == LSF_OK && f->geo != NULL)
        rc = put_geo(out, f->geo, err);
    if (rc == LSF_OK)
        rc = put_str(out, ",\"event\":", err);
    if (rc == LSF_OK)
        rc = put_json_string(out, f->event, cut, err);
    if (rc == LSF_OK && cut < f->event_len)
        rc = put_str(out, ",\"event_truncated\":true", err);
    if (rc == LSF_OK)
        rc = put_str(out, "}\n", err);
    return rc;
}

enum lsf_code alert_table_format(const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    char line[1024];
    char when[32];
    int n;

    alert_format_time(f->ts_ms, when, sizeof(when));
    n = snprintf(line, sizeof(line), "%-24s  %-8s  %-44s  %s:%" PRIu64 "  %s\n", when,
            f->severity, f->rule_id, f->source, f->offset, f->title);
    if (n < 0)
        return lsf_fail(err, LSF_E_INTERNAL, "cannot format a table line");
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    return put(out, line, (size_t)n, err);
}

enum lsf_code alert_utf8_clean(const unsigned char *s, size_t n, struct lsf_buf *out,
        struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;
    size_t i = 0;

    while (rc == LSF_OK && i < n) {
        size_t run = i;
        size_t seq;

        /* Copy the longest plain-ASCII run in one go. */
        while (run < n && s[run] > 0 && s[run] < 0x80)
            run++;
        if (run > i) {
            rc = put(out, (const char *)s + i, run - i, err);
            i = run;
            continue;
        }
        seq = alert_utf8_seq_len(s + i, n - i);
        /* NUL would end the C string early: it is as unwelcome as a broken sequence. */
        if (seq == 0 || s[i] == 0) {
            rc = put(out, "\xEF\xBF\xBD", 3, err);
            i++;
        } else {
            rc = put(out, (const char *)s + i, seq, err);
            i += seq;
        }
    }
    if (rc == LSF_OK)
        rc = put(out, "", 1, err);
    if (rc == LSF_OK)
        out->len--;
    return rc;
}
