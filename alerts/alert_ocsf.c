/*
 * alert_ocsf: findings as OCSF Detection Finding records (class_uid 2004, OCSF 1.1.0), one JSON
 * object a line, for Security Lake and SIEMs that ingest OCSF.
 *
 * The record is built with jansson from the same alert_record the delivered sinks use, so the
 * CloudTrail fields (actor, source address, API, cloud account and region) and the event
 * identity are read one way everywhere. alert_record has already made every string valid
 * UTF-8, which jansson requires.
 */
#include "alert.h"
#include "alert_record.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* OCSF severity_id: 1 Informational .. 5 Critical; 0 Unknown. */
static int severity_id(const char *sev)
{
    int rank = alert_severity_rank(sev);
    return rank < 0 ? 0 : rank + 1;
}

static const char *severity_caption(int id)
{
    static const char *const names[] = {"Unknown", "Informational", "Low", "Medium", "High",
            "Critical"};
    return names[id];
}

/* sourceIPAddress holds an address or, for calls made by AWS services, a host name. */
static bool looks_like_ip(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == ':' || (*s >= 'a' && *s <= 'f') ||
                    (*s >= 'A' && *s <= 'F')))
            return false;
    }
    return true;
}

/* Set key to a string when it is not empty. */
static void set_str(json_t *obj, const char *key, const char *value)
{
    if (value != NULL && value[0] != '\0')
        json_object_set_new(obj, key, json_string(value));
}

static json_t *ocsf_object(const struct alert_record *r)
{
    int sev = severity_id(r->severity);
    json_int_t t = r->ts_ms != LSF_TS_UNKNOWN ? (json_int_t)r->ts_ms
                                              : (json_int_t)time(NULL) * 1000;
    json_t *o = json_object();
    json_t *info = json_object();
    json_t *analytic = json_object();
    json_t *meta = json_object();
    json_t *product = json_object();
    json_t *unmapped = json_object();
    char *uid = malloc(strlen(r->rule) + strlen(r->event_id) + 2);

    if (!o || !info || !analytic || !meta || !product || !unmapped || !uid) {
        json_decref(o);
        json_decref(info);
        json_decref(analytic);
        json_decref(meta);
        json_decref(product);
        json_decref(unmapped);
        free(uid);
        return NULL;
    }
    strcpy(uid, r->rule);
    strcat(uid, "/");
    strcat(uid, r->event_id);

    json_object_set_new(o, "class_uid", json_integer(2004));
    json_object_set_new(o, "class_name", json_string("Detection Finding"));
    json_object_set_new(o, "category_uid", json_integer(2));
    json_object_set_new(o, "category_name", json_string("Findings"));
    json_object_set_new(o, "activity_id", json_integer(1));
    json_object_set_new(o, "activity_name", json_string("Create"));
    json_object_set_new(o, "type_uid", json_integer(200401));
    json_object_set_new(o, "type_name", json_string("Detection Finding: Create"));
    json_object_set_new(o, "severity_id", json_integer(sev));
    json_object_set_new(o, "severity", json_string(severity_caption(sev)));
    json_object_set_new(o, "status_id", json_integer(1));
    json_object_set_new(o, "status", json_string("New"));
    json_object_set_new(o, "time", json_integer(t));
    json_object_set_new(o, "message", json_string(r->title));

    json_object_set_new(product, "name", json_string("logsift"));
    json_object_set_new(product, "vendor_name", json_string("logsift"));
    json_object_set_new(meta, "version", json_string(ALERT_OCSF_VERSION));
    json_object_set_new(meta, "product", product);
    json_object_set_new(o, "metadata", meta);

    json_object_set_new(analytic, "uid", json_string(r->rule));
    json_object_set_new(analytic, "name", json_string(r->title));
    json_object_set_new(analytic, "type_id", json_integer(1));
    json_object_set_new(analytic, "type", json_string("Rule"));
    json_object_set_new(info, "uid", json_string(uid));
    json_object_set_new(info, "title", json_string(r->title));
    set_str(info, "desc", r->why);
    json_object_set_new(info, "analytic", analytic);
    json_object_set_new(info, "first_seen_time", json_integer(t));
    json_object_set_new(info, "last_seen_time", json_integer(t));
    json_object_set_new(info, "data_sources", json_pack("[s]", r->source));
    json_object_set_new(o, "finding_info", info);

    if (r->account[0] || r->region[0]) {
        json_t *cloud = json_pack("{s:s}", "provider", "AWS");
        set_str(cloud, "region", r->region);
        if (r->account[0])
            json_object_set_new(cloud, "account", json_pack("{s:s}", "uid", r->account));
        json_object_set_new(o, "cloud", cloud);
    }
    if (r->principal[0])
        json_object_set_new(o, "actor", json_pack("{s:{s:s}}", "user", "uid", r->principal));
    if (r->source_ip[0]) {
        json_t *src = json_pack("{s:s}", looks_like_ip(r->source_ip) ? "ip" : "domain",
                r->source_ip);
        /* --geoip: OCSF network_endpoint's location.country and autonomous_system. */
        if (r->geo_country[0])
            json_object_set_new(src, "location", json_pack("{s:s}", "country", r->geo_country));
        if (r->geo_asn) {
            json_t *as = json_pack("{s:I}", "number", (json_int_t)r->geo_asn);
            set_str(as, "name", r->geo_as_org);
            json_object_set_new(src, "autonomous_system", as);
        }
        json_object_set_new(o, "src_endpoint", src);
    }
    if (r->event_name[0]) {
        json_t *api = json_pack("{s:s}", "operation", r->event_name);
        if (r->event_source[0])
            json_object_set_new(api, "service", json_pack("{s:s}", "name", r->event_source));
        json_object_set_new(o, "api", api);
    }
    json_object_set_new(o, "raw_data", json_string(r->excerpt));
    json_object_set_new(unmapped, "source", json_string(r->source));
    json_object_set_new(unmapped, "offset", json_integer((json_int_t)r->offset));
    json_object_set_new(unmapped, "format", json_string(r->format));
    json_object_set_new(unmapped, "event_id", json_string(r->event_id));
    if (r->is_excerpt_cut)
        json_object_set_new(unmapped, "raw_data_truncated", json_true());
    json_object_set_new(o, "unmapped", unmapped);
    free(uid);
    return o;
}

enum lsf_code alert_ocsf_format(const struct lsf_finding *f, const char *why, size_t excerpt_len,
        struct lsf_buf *out, struct lsf_err *err)
{
    struct alert_record r;
    json_t *o;
    char *text;
    enum lsf_code rc;

    rc = alert_record_from_finding(f, why, NULL, excerpt_len, &r, err);
    if (rc != LSF_OK)
        return rc;
    o = ocsf_object(&r);
    alert_record_cleanup(&r);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory formatting an OCSF finding");
    rc = lsf_buf_append(out, text, strlen(text), err);
    if (rc == LSF_OK)
        rc = lsf_buf_append(out, "\n", 1, err);
    free(text);
    return rc;
}
