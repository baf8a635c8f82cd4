/*
 * alert_record: identity and CloudTrail fields of a finding (see alert_record.h).
 *
 * The event is parsed with jansson only to read a few members (eventID, userIdentity.arn,
 * sourceIPAddress, ...); anything that is not a JSON object simply has none of them, and its
 * identity is the SHA-256 of its bytes.
 */
#include "alert_record.h"
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

static void hex32(const unsigned char md[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";

    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[64] = '\0';
}

void alert_sha256_hex(const void *bytes, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;

    if (EVP_Digest(bytes, n, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    hex32(md, out);
}

int alert_severity_rank(const char *severity)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};

    for (int i = 0; i < 5; i++) {
        if (severity != NULL && strcmp(severity, names[i]) == 0)
            return i;
    }
    return -1;
}

/* The event as a JSON object, or NULL. */
static json_t *event_json(const struct lsf_finding *f)
{
    struct lsf_buf clean;
    json_t *ev;
    size_t i = 0;

    while (i < f->event_len && (f->event[i] == ' ' || f->event[i] == '\t' || f->event[i] == '\r' ||
                                       f->event[i] == '\n'))
        i++;
    if (i == f->event_len || f->event[i] != '{')
        return NULL;
    ev = json_loadb((const char *)f->event, f->event_len, JSON_DISABLE_EOF_CHECK, NULL);
    if (ev != NULL)
        return ev;
    /* jansson refuses invalid UTF-8 anywhere; one broken byte in a request parameter must
     * not cost the event its eventID, so read a repaired copy. */
    lsf_buf_init(&clean, f->event_len * 3 + 16);
    if (alert_utf8_clean(f->event, f->event_len, &clean, NULL) == LSF_OK)
        ev = json_loadb((const char *)clean.data, clean.len, JSON_DISABLE_EOF_CHECK, NULL);
    lsf_buf_cleanup(&clean);
    return ev;
}

/* A printable identifier: no control characters, not too long. */
static bool is_usable_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= ALERT_EVENT_ID_MAX - 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return false;
    }
    return true;
}

static void event_id_from(const struct lsf_finding *f, json_t *ev, const char *cwl_event_id,
        char out[ALERT_EVENT_ID_MAX])
{
    const char *ct = ev ? json_string_value(json_object_get(ev, "eventID")) : NULL;
    char hex[65];

    if (ct != NULL && is_usable_id(ct)) {
        snprintf(out, ALERT_EVENT_ID_MAX, "%s", ct);
        return;
    }
    if (cwl_event_id != NULL && is_usable_id(cwl_event_id)) {
        snprintf(out, ALERT_EVENT_ID_MAX, "cwl:%s", cwl_event_id);
        return;
    }
    if (f->ts_ms == LSF_TS_UNKNOWN) {
        alert_sha256_hex(f->event, f->event_len, hex);
    } else {
        /* The time is part of the identity: the same message logged at two moments (a
         * CloudWatch Logs line without its own timestamp) is two events. */
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char ts[32];
        int n = snprintf(ts, sizeof(ts), "%lld\n", (long long)f->ts_ms);

        if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
                EVP_DigestUpdate(ctx, ts, (size_t)n) != 1 ||
                EVP_DigestUpdate(ctx, f->event, f->event_len) != 1 ||
                EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
            alert_sha256_hex(f->event, f->event_len, hex);
        } else {
            hex32(md, hex);
        }
        EVP_MD_CTX_free(ctx);
    }
    snprintf(out, ALERT_EVENT_ID_MAX, "sha256:%s", hex);
}

void alert_event_id(const struct lsf_finding *f, const char *cwl_event_id,
        char out[ALERT_EVENT_ID_MAX])
{
    json_t *ev = event_json(f);

    event_id_from(f, ev, cwl_event_id, out);
    json_decref(ev);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* A string member of obj (jansson strings are valid UTF-8 already), or "". */
static char *member(json_t *obj, const char *name)
{
    return dup_or_empty(obj ? json_string_value(json_object_get(obj, name)) : NULL);
}

/*
 * The value of field name in a correlation group "f1=v1, f2=v2" (scan_corr's key: each
 * group-by field's first value), or "" when the group has no such field or it was empty.
 */
static char *group_value(const char *group, const char *name)
{
    size_t n = strlen(name);
    const char *p = group;

    while (p != NULL && *p) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1;
            const char *end = strstr(v, ", ");
            return strndup(v, end ? (size_t)(end - v) : strlen(v));
        }
        p = strstr(p, ", ");
        if (p != NULL)
            p += 2;
    }
    return strdup("");
}

/* The first non-empty group value among names (NULL-terminated), or "". */
static char *group_first(const char *group, const char *const *names)
{
    char *v = strdup("");

    for (size_t i = 0; names[i] != NULL && v != NULL && v[0] == '\0'; i++) {
        free(v);
        v = group_value(group, names[i]);
    }
    return v;
}

/* A correlation finding names no single event: who and from where are its group's values. */
static void from_correlation(json_t *ev, struct alert_record *rec)
{
    static const char *const principals[] = {"userIdentity.arn", "userIdentity.principalId",
            NULL};
    static const char *const addresses[] = {"sourceIPAddress", "rhost", NULL};
    const char *group = json_string_value(json_object_get(ev, "group"));

    rec->is_correlation = true;
    if (group == NULL)
        return;
    free(rec->principal);
    rec->principal = group_first(group, principals);
    free(rec->source_ip);
    rec->source_ip = group_first(group, addresses);
}

void alert_record_cleanup(struct alert_record *rec)
{
    char **fields[] = {&rec->rule, &rec->title, &rec->severity, &rec->why, &rec->source,
            &rec->format, &rec->event_id, &rec->event_name, &rec->event_source, &rec->principal,
            &rec->source_ip, &rec->region, &rec->account, &rec->excerpt, &rec->geo_as_org};

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}

enum lsf_code alert_record_from_finding(const struct lsf_finding *f, const char *why,
        const char *cwl_event_id, size_t excerpt_len, struct alert_record *rec,
        struct lsf_err *err)
{
    json_t *ev = event_json(f);
    json_t *who = ev ? json_object_get(ev, "userIdentity") : NULL;
    char id[ALERT_EVENT_ID_MAX];
    struct lsf_buf ex;
    size_t cut = alert_utf8_cut(f->event, f->event_len, excerpt_len);
    enum lsf_code rc;

    memset(rec, 0, sizeof(*rec));
    event_id_from(f, ev, cwl_event_id, id);
    rec->rule = dup_or_empty(f->rule_id);
    rec->title = dup_or_empty(f->title);
    rec->severity = dup_or_empty(f->severity);
    rec->why = dup_or_empty(why);
    rec->source = dup_or_empty(f->source);
    rec->format = dup_or_empty(f->format);
    rec->offset = f->offset;
    rec->ts_ms = f->ts_ms;
    rec->event_id = strdup(id);
    rec->event_name = member(ev, "eventName");
    rec->event_source = member(ev, "eventSource");
    rec->principal = member(who, "arn");
    if (rec->principal && rec->principal[0] == '\0') {
        free(rec->principal);
        rec->principal = member(who, "principalId");
    }
    if (rec->principal && rec->principal[0] == '\0') {
        free(rec->principal);
        rec->principal = member(who, "type");
    }
    rec->source_ip = member(ev, "sourceIPAddress");
    if (f->geo != NULL) {
        /* Lines have no sourceIPAddress: the address GeoIP looked up (sshd's rhost) stands in. */
        if (rec->source_ip && rec->source_ip[0] == '\0') {
            free(rec->source_ip);
            rec->source_ip = strdup(f->geo->ip);
        }
        snprintf(rec->geo_country, sizeof(rec->geo_country), "%s", f->geo->country);
        rec->geo_asn = f->geo->asn;
    }
    rec->geo_as_org = dup_or_empty(f->geo ? f->geo->as_org : NULL);
    rec->region = member(ev, "awsRegion");
    rec->account = member(ev, "recipientAccountId");
    if (ev != NULL && json_is_string(json_object_get(ev, "correlation")) &&
            json_object_get(ev, "eventID") == NULL)
        from_correlation(ev, rec);
    json_decref(ev);

    lsf_buf_init(&ex, excerpt_len * 3 + 16);
    rc = alert_utf8_clean(f->event, cut, &ex, err);
    if (rc == LSF_OK) {
        size_t len;
        rec->excerpt = (char *)lsf_buf_take(&ex, &len);
        if (rec->excerpt == NULL)
            rec->excerpt = strdup("");
    }
    lsf_buf_cleanup(&ex);
    rec->is_excerpt_cut = cut < f->event_len;
    if (rc == LSF_OK && (!rec->rule || !rec->title || !rec->severity || !rec->why ||
                               !rec->source || !rec->format || !rec->event_id ||
                               !rec->event_name || !rec->event_source || !rec->principal ||
                               !rec->source_ip || !rec->region || !rec->account || !rec->excerpt ||
                               !rec->geo_as_org))
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory keeping a finding for delivery");
    if (rc != LSF_OK)
        alert_record_cleanup(rec);
    return rc;
}
