/*
 * frame_time: read an event's time from its bytes (frame_event_time), for findings only, so
 * clarity beats speed here.
 *
 * Timestamps logsift meets:
 *   CloudTrail "eventTime": "2024-07-31T13:06:24Z" (aws-facts.md 6.2); Logstash "@timestamp"
 *   CloudWatch Logs export line prefix "2024-01-15T11:01:02.123Z " (aws-facts.md 5.1)
 *   RFC 5424 syslog "<38>1 2022-01-19T14:23:55+00:00 host ..." and RFC 3339 rsyslog lines
 *   RFC 3164 syslog "Mar 27 13:06:56 host ..." (no year, no zone: read as UTC, and the year is
 *   the latest one that puts the time no more than a day after now_ms)
 * Civil dates become epoch days with Howard Hinnant's days_from_civil, which needs neither
 * timegm (not POSIX) nor the process's time zone.
 */
#include "frame_int.h"

#include <string.h>

#define FT_MS_PER_DAY INT64_C(86400000)

int64_t frame_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The year of an epoch day (the inverse of the above, year part only). */
static int64_t ft_year_of_days(int64_t z)
{
    int64_t era, doe, yoe, y, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    return mp >= 10 ? y + 1 : y; /* months 11 and 12 of the March-based year are Jan, Feb */
}

static bool ft_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned ft_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ft_is_leap(y) ? 29 : dim[m - 1];
}

static bool ft_digits(const unsigned char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return false;
        v = v * 10 + (unsigned)(s[k] - '0');
    }
    *out = v;
    return true;
}

size_t frame_iso8601_parse(const unsigned char *s, size_t n, unsigned flags, int64_t *ms)
{
    unsigned y, mo, d, hh, mi, ss, frac_ms = 0;
    int64_t offset_s = 0;
    size_t i = 19;
    bool is_strict = (flags & FRAME_ISO_STRICT_Z) != 0;

    if (n < 19 || !ft_digits(s, 4, &y) || s[4] != '-' || !ft_digits(s + 5, 2, &mo) || s[7] != '-' ||
            !ft_digits(s + 8, 2, &d) ||
            !(s[10] == 'T' || (!is_strict && (s[10] == ' ' || s[10] == 't'))) ||
            !ft_digits(s + 11, 2, &hh) || s[13] != ':' || !ft_digits(s + 14, 2, &mi) ||
            s[16] != ':' || !ft_digits(s + 17, 2, &ss))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > ft_days_in_month(y, mo) || hh > 23 || mi > 59 || ss > 60)
        return 0;
    if (i < n && (s[i] == '.' || (!is_strict && s[i] == ',')) && i + 1 < n && s[i + 1] >= '0' &&
            s[i + 1] <= '9') {
        unsigned scale = 100;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            frac_ms += (unsigned)(s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (is_strict) {
        return 0;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        size_t used;

        if (i + 6 <= n && ft_digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
                ft_digits(s + i + 4, 2, &om))
            used = 6;
        else if (i + 5 <= n && ft_digits(s + i + 1, 2, &oh) && ft_digits(s + i + 3, 2, &om))
            used = 5;
        else
            return 0;
        if (oh > 23 || om > 59)
            return 0;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += used;
    }
    *ms = (frame_days_from_civil(y, mo, d) * 86400 + (int64_t)(hh * 3600 + mi * 60 + ss) -
                  offset_s) *
                  1000 +
          frac_ms;
    return i;
}

size_t frame_rfc3164_parse(const unsigned char *s, size_t n, unsigned *mon, unsigned *day,
        unsigned *hh, unsigned *mm, unsigned *ss)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t t; /* where hh:mm:ss starts */
    unsigned m = 0;

    if (n < 14)
        return 0;
    for (unsigned k = 0; k < 12; k++) {
        if (memcmp(s, months + 3 * k, 3) == 0)
            m = k + 1;
    }
    if (m == 0 || s[3] != ' ')
        return 0;
    if (s[4] == ' ' && ft_digits(s + 5, 1, day) && s[6] == ' ')
        t = 7; /* "Mar  7" */
    else if (ft_digits(s + 4, 2, day) && s[6] == ' ')
        t = 7; /* "Mar 27" */
    else if (ft_digits(s + 4, 1, day) && s[5] == ' ')
        t = 6; /* "Mar 7", seen in hand-written logs */
    else
        return 0;
    if (n < t + 8 || !ft_digits(s + t, 2, hh) || s[t + 2] != ':' || !ft_digits(s + t + 3, 2, mm) ||
            s[t + 5] != ':' || !ft_digits(s + t + 6, 2, ss))
        return 0;
    if (*day < 1 || *day > 31 || *hh > 23 || *mm > 59 || *ss > 60)
        return 0;
    *mon = m;
    return t + 8;
}

/* The value of the JSON string member "key" (first occurrence) parsed as ISO 8601. */
static int64_t ft_json_member_time(const unsigned char *ev, size_t len, const char *key)
{
    size_t key_len = strlen(key);

    for (size_t i = 0; i + key_len + 2 <= len; i++) {
        const unsigned char *q = memchr(ev + i, '"', len - i);
        size_t j;
        int64_t ms;

        if (q == NULL)
            break;
        i = (size_t)(q - ev);
        if (len - i < key_len + 2 || memcmp(ev + i + 1, key, key_len) != 0 ||
                ev[i + 1 + key_len] != '"')
            continue;
        j = i + key_len + 2;
        while (j < len && frame_is_blank(ev[j]))
            j++;
        if (j >= len || ev[j] != ':')
            continue;
        for (j++; j < len && frame_is_blank(ev[j]); j++)
            ;
        if (j < len && ev[j] == '"' && frame_iso8601_parse(ev + j + 1, len - j - 1, 0, &ms))
            return ms;
    }
    return FRAME_TS_UNKNOWN;
}

static int64_t ft_json_time(const unsigned char *ev, size_t len)
{
    int64_t ms = ft_json_member_time(ev, len, "eventTime");

    if (ms == FRAME_TS_UNKNOWN)
        ms = ft_json_member_time(ev, len, "@timestamp");
    return ms;
}

/* "Mmm dd hh:mm:ss" with the latest year that is at most a day after now_ms. */
static int64_t ft_rfc3164_time(const unsigned char *s, size_t n, int64_t now_ms)
{
    unsigned mon, day, hh, mm, ss;
    int64_t now_year;

    if (frame_rfc3164_parse(s, n, &mon, &day, &hh, &mm, &ss) == 0)
        return FRAME_TS_UNKNOWN;
    now_year = ft_year_of_days(now_ms >= 0 ? now_ms / FT_MS_PER_DAY
                                           : -((-now_ms + FT_MS_PER_DAY - 1) / FT_MS_PER_DAY));
    for (int64_t y = now_year + 1; y >= now_year - 8; y--) {
        int64_t t;

        if (day > ft_days_in_month(y, mon))
            continue; /* Feb 29 outside a leap year */
        t = (frame_days_from_civil(y, mon, day) * 86400 + (int64_t)(hh * 3600 + mm * 60 + ss)) *
            1000;
        if (t <= now_ms + FT_MS_PER_DAY)
            return t;
    }
    return FRAME_TS_UNKNOWN;
}

/* Syslog and other text lines: [<PRI>[version ]] then an ISO or RFC 3164 stamp. */
static int64_t ft_line_time(const unsigned char *ev, size_t len, int64_t now_ms)
{
    size_t i = 0;
    int64_t ms;

    if (len > 2 && ev[0] == '<') {
        size_t j = 1;
        while (j < len && j < 5 && ev[j] >= '0' && ev[j] <= '9')
            j++;
        if (j > 1 && j < len && ev[j] == '>') {
            i = j + 1;
            /* RFC 5424: "<PRI>1 " */
            if (i + 1 < len && ev[i] >= '1' && ev[i] <= '9' && ev[i + 1] == ' ')
                i += 2;
        }
    }
    if (frame_iso8601_parse(ev + i, len - i, 0, &ms) > 0)
        return ms;
    return ft_rfc3164_time(ev + i, len - i, now_ms);
}

int64_t frame_event_time(enum frame_format fmt, const unsigned char *ev, size_t len, int64_t now_ms)
{
    int64_t ms;

    switch (fmt) {
    case FRAME_CLOUDTRAIL:
    case FRAME_JSON_ARRAY:
    case FRAME_JSON_LINES:
    case FRAME_JSON_STREAM:
        return ft_json_time(ev, len);
    case FRAME_CWL_EXPORT:
        return frame_iso8601_parse(ev, len, FRAME_ISO_STRICT_Z, &ms) > 0 ? ms : FRAME_TS_UNKNOWN;
    case FRAME_SYSLOG:
        return ft_line_time(ev, len, now_ms);
    case FRAME_FIREHOSE: /* the message: CloudTrail JSON, a Lambda line, anything */
    case FRAME_AUTO:
    default:
        ms = len > 0 && ev[0] == '{' ? ft_json_time(ev, len) : FRAME_TS_UNKNOWN;
        return ms != FRAME_TS_UNKNOWN ? ms : ft_line_time(ev, len, now_ms);
    }
}
