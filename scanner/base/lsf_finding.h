/*
 * lsf_finding: one detection, as the engine hands it to the output sinks. Every pointer is
 * borrowed from the engine and valid only during the sink call that receives it.
 */
#ifndef LSF_FINDING_H
#define LSF_FINDING_H

#include <stddef.h>
#include <stdint.h>

/* ts_ms value when the event has no timestamp logsift could read. */
#define LSF_TS_UNKNOWN INT64_MIN

/* GeoIP data of the event's source address (--geoip): copies, so sinks may keep them. */
#define LSF_GEO_IP_MAX 46     /* INET6_ADDRSTRLEN */
#define LSF_GEO_ORG_MAX 128
struct lsf_geo {
    char ip[LSF_GEO_IP_MAX];      /* the address as the event wrote it */
    char country[8];              /* ISO 3166-1 alpha-2 code, or "" when unknown */
    uint32_t asn;                 /* autonomous system number, 0 when unknown */
    char as_org[LSF_GEO_ORG_MAX]; /* its organization, or "" (cut to fit) */
};

struct lsf_finding {
    const char *rule_id;        /* stable rule id, e.g. "aws.cloudtrail.stop_logging" */
    const char *title;          /* one line for humans */
    const char *severity;       /* "info", "low", "medium", "high" or "critical" */
    const char *source;         /* input name: path, "-" for stdin, s3://bucket/key, ... */
    const char *format;         /* event framing, e.g. "cloudtrail", "syslog" */
    uint64_t offset;            /* byte offset of the event in the decompressed input */
    uint64_t ordinal;           /* 0-based index of the event in its input */
    int64_t ts_ms;              /* event time, ms since the Unix epoch, or LSF_TS_UNKNOWN */
    const unsigned *pattern_ids; /* ids of the patterns that hit in this event, ascending */
    size_t n_pattern_ids;
    const unsigned char *event; /* the event bytes (decoded: e.g. a Firehose message unescaped) */
    size_t event_len;
    const struct lsf_geo *geo;  /* NULL: no --geoip, no source IP, or no database knows it */
};

#endif
