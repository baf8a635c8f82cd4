/*
 * verify_digest: the CloudTrail digest file itself - its JSON (shared/spec/aws-facts.md 7.2),
 * the string its signature covers (7.4), and the key names digests and logs are stored under
 * (7.1, 6.1), which is how chains are grouped and ordered before any digest is read.
 *
 * The digest's SHA-256 is taken over the decompressed bytes exactly as stored (7.3); jansson is
 * only used to read values, never to re-serialise.
 */
#include "verify_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool verify_unhex(const char *hex, unsigned char *bytes, size_t cap, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2 != 0 || n / 2 > cap)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_val(hex[2 * i]);
        int lo = hex_val(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static bool digits_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int64_t civil_seconds(int y, int mo, int d, int h, int mi, int s)
{
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

bool verify_time_parse(const char *t, int64_t *out)
{
    size_t n = strlen(t);
    int h = 0;
    int mi = 0;
    int s = 0;

    if (n < 10 || !digits_at(t, 4) || t[4] != '-' || !digits_at(t + 5, 2) || t[7] != '-' ||
            !digits_at(t + 8, 2))
        return false;
    if (n > 10) {
        if (n < 20 || t[10] != 'T' || !digits_at(t + 11, 2) || t[13] != ':' ||
                !digits_at(t + 14, 2) || t[16] != ':' || !digits_at(t + 17, 2) || t[19] != 'Z' ||
                n != 20)
            return false;
        h = num(t + 11, 2);
        mi = num(t + 14, 2);
        s = num(t + 17, 2);
    }
    if (num(t + 5, 2) < 1 || num(t + 5, 2) > 12 || num(t + 8, 2) < 1 || num(t + 8, 2) > 31 ||
            h > 23 || mi > 59 || s > 60)
        return false;
    *out = civil_seconds(num(t, 4), num(t + 5, 2), num(t + 8, 2), h, mi, s);
    return true;
}

void verify_time_format(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "?");
}

/* "YYYYMMDDTHHMMSSZ" (or "YYYYMMDDTHHMMZ" when is_short) to seconds. */
static bool stamp_parse(const char *s, bool is_short, int64_t *out)
{
    if (!digits_at(s, 8) || s[8] != 'T' || !digits_at(s + 9, is_short ? 4 : 6) ||
            s[is_short ? 13 : 15] != 'Z')
        return false;
    *out = civil_seconds(num(s, 4), num(s + 4, 2), num(s + 6, 2), num(s + 9, 2), num(s + 11, 2),
            is_short ? 0 : num(s + 13, 2));
    return true;
}

static bool copy_part(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

bool verify_digest_name_parse(const char *key, struct verify_digest_name *out)
{
    static const char marker[] = "/CloudTrail-Digest/";
    static const char kind[] = "_CloudTrail-Digest_";
    const char *base = strrchr(key, '/');
    const char *dig = NULL;
    const char *p;
    const char *region_end;
    const char *tail;
    size_t base_len;
    size_t stem_len;

    memset(out, 0, sizeof(*out));
    /* the last "/CloudTrail-Digest/" element, preceded by the account (and maybe org) */
    for (p = strstr(key, marker); p != NULL; p = strstr(p + 1, marker))
        dig = p;
    if (dig == NULL || base == NULL)
        return false;
    base++;
    base_len = strlen(base);
    if (base_len < 8 || strcmp(base + base_len - 8, ".json.gz") != 0)
        return false;
    stem_len = base_len - 8;
    if (stem_len > 9 && strncmp(base + stem_len - 9, "_backfill", 9) == 0) {
        out->is_backfill = true;
        stem_len -= 9;
    }
    /* <acct>_CloudTrail-Digest_<region>_<trail>_<home>_<stamp> */
    if (stem_len < 17 + 1 || base[stem_len - 17] != '_')
        return false;
    if (!copy_part(out->stamp, sizeof(out->stamp), base + stem_len - 16, 16) ||
            !stamp_parse(out->stamp, false, &out->end_s))
        return false;
    p = strstr(base, kind);
    if (p == NULL || p >= base + stem_len - 17)
        return false;
    if (!copy_part(out->account, sizeof(out->account), base, (size_t)(p - base)))
        return false;
    p += strlen(kind);
    region_end = strchr(p, '_');
    if (region_end == NULL || region_end >= base + stem_len - 17)
        return false;
    if (!copy_part(out->region, sizeof(out->region), p, (size_t)(region_end - p)))
        return false;
    /* home region: after the last '_' before the stamp (region names have no '_') */
    tail = base + stem_len - 17; /* the '_' before the stamp */
    for (p = tail - 1; p > region_end && *p != '_'; p--)
        ;
    if (p <= region_end + 1 || p == tail - 1)
        return false;
    if (!copy_part(out->home_region, sizeof(out->home_region), p + 1, (size_t)(tail - p - 1)) ||
            !copy_part(out->trail, sizeof(out->trail), region_end + 1,
                    (size_t)(p - region_end - 1)))
        return false;
    /* folder: ".../CloudTrail-Digest/<region>/" then YYYY/MM/DD */
    {
        const char *after = dig + strlen(marker);
        const char *slash = strchr(after, '/');
        size_t dir_len;
        size_t prefix_len = (size_t)(dig - key);

        if (slash == NULL)
            return false;
        dir_len = (size_t)(slash + 1 - key);
        if (!copy_part(out->dir, sizeof(out->dir), key, dir_len))
            return false;
        if (prefix_len + strlen("/CloudTrail/") + (size_t)(slash + 1 - after) >=
                sizeof(out->log_dir))
            return false;
        snprintf(out->log_dir, sizeof(out->log_dir), "%.*s/CloudTrail/%.*s", (int)prefix_len, key,
                (int)(slash + 1 - after), after);
        if (snprintf(out->group, sizeof(out->group), "%s%.*s%s", out->dir,
                    (int)(stem_len - 17), base, out->is_backfill ? "_backfill" : "") >=
                (int)sizeof(out->group))
            return false;
    }
    return true;
}

bool verify_log_name_parse(const char *key, size_t *dir_len, int64_t *delivered_s)
{
    static const char marker[] = "/CloudTrail/";
    const char *ct = NULL;
    const char *p;
    const char *base = strrchr(key, '/');
    const char *kind;
    const char *slash;

    for (p = strstr(key, marker); p != NULL; p = strstr(p + 1, marker))
        ct = p;
    if (ct == NULL || base == NULL)
        return false;
    slash = strchr(ct + strlen(marker), '/');
    if (slash == NULL)
        return false;
    base++;
    kind = strstr(base, "_CloudTrail_");
    if (kind == NULL)
        return false;
    /* <acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz */
    p = strchr(kind + strlen("_CloudTrail_"), '_');
    if (p == NULL || !stamp_parse(p + 1, true, delivered_s) || p[15] != '_')
        return false;
    if (strstr(base, ".json") == NULL)
        return false;
    *dir_len = (size_t)(slash + 1 - key);
    return true;
}

/* ---- digest JSON -------------------------------------------------------------------------- */

static char *dup_str(json_t *v)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

void verify_digest_cleanup(struct verify_digest *d)
{
    free(d->account);
    free(d->start);
    free(d->end);
    free(d->bucket);
    free(d->object);
    free(d->fingerprint);
    free(d->sig_alg);
    free(d->prev_bucket);
    free(d->prev_object);
    free(d->prev_hash);
    free(d->prev_sig);
    for (size_t i = 0; i < d->n_logs; i++) {
        free(d->logs[i].bucket);
        free(d->logs[i].key);
        free(d->logs[i].hash);
    }
    free(d->logs);
    memset(d, 0, sizeof(*d));
}

enum lsf_code verify_digest_parse(const unsigned char *bytes, size_t len, struct verify_digest *d,
        struct lsf_err *err)
{
    /* aws-cli's required keys (7.6 step 2): present, null allowed */
    static const char *const required[] = {"digestPublicKeyFingerprint", "digestS3Bucket",
            "digestS3Object", "previousDigestSignature", "digestEndTime", "digestStartTime"};
    json_error_t jerr;
    json_t *root;
    json_t *logs;
    enum lsf_code rc = LSF_OK;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;

    memset(d, 0, sizeof(*d));
    EVP_Digest(bytes, len, md, &md_len, EVP_sha256(), NULL);
    aws_hex(md, md_len, d->sha256_hex);
    root = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return lsf_fail(err, LSF_E_INPUT, "digest is not valid JSON (%s at line %d column %d)",
                jerr.text, jerr.line, jerr.column);
    if (!json_is_object(root)) {
        rc = lsf_fail(err, LSF_E_INPUT, "digest JSON is not an object");
        goto out;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        json_t *v = json_object_get(root, required[i]);

        if (v == NULL || !(json_is_string(v) || json_is_null(v))) {
            rc = lsf_fail(err, LSF_E_INPUT, "digest JSON lacks the key %s (or it is not a string)",
                    required[i]);
            goto out;
        }
    }
    d->account = dup_str(json_object_get(root, "awsAccountId"));
    d->start = dup_str(json_object_get(root, "digestStartTime"));
    d->end = dup_str(json_object_get(root, "digestEndTime"));
    d->bucket = dup_str(json_object_get(root, "digestS3Bucket"));
    d->object = dup_str(json_object_get(root, "digestS3Object"));
    d->fingerprint = dup_str(json_object_get(root, "digestPublicKeyFingerprint"));
    d->sig_alg = dup_str(json_object_get(root, "digestSignatureAlgorithm"));
    d->prev_bucket = dup_str(json_object_get(root, "previousDigestS3Bucket"));
    d->prev_object = dup_str(json_object_get(root, "previousDigestS3Object"));
    d->prev_hash = dup_str(json_object_get(root, "previousDigestHashValue"));
    d->prev_sig = dup_str(json_object_get(root, "previousDigestSignature"));
    if (d->end == NULL || d->start == NULL || d->bucket == NULL || d->object == NULL ||
            d->fingerprint == NULL) {
        rc = lsf_fail(err, LSF_E_INPUT,
                "digest JSON has null digestStartTime, digestEndTime, digestS3Bucket, "
                "digestS3Object or digestPublicKeyFingerprint");
        goto out;
    }
    logs = json_object_get(root, "logFiles");
    if (logs != NULL && !json_is_array(logs)) {
        rc = lsf_fail(err, LSF_E_INPUT, "digest JSON logFiles is not an array");
        goto out;
    }
    if (logs != NULL && json_array_size(logs) > 0) {
        d->logs = calloc(json_array_size(logs), sizeof(*d->logs));
        if (d->logs == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading a digest");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(logs); i++) {
            json_t *e = json_array_get(logs, i);
            struct verify_log_ref *ref = &d->logs[d->n_logs];

            ref->bucket = dup_str(json_object_get(e, "s3Bucket"));
            ref->key = dup_str(json_object_get(e, "s3Object"));
            ref->hash = dup_str(json_object_get(e, "hashValue"));
            d->n_logs++;
            if (ref->bucket == NULL || ref->key == NULL || ref->hash == NULL) {
                rc = lsf_fail(err, LSF_E_INPUT,
                        "digest JSON logFiles[%zu] lacks s3Bucket, s3Object or hashValue", i);
                goto out;
            }
        }
    }
out:
    json_decref(root);
    return rc;
}

enum lsf_code verify_digest_data_to_sign(const struct verify_digest *d, struct lsf_buf *out,
        struct lsf_err *err)
{
    const char *parts[] = {d->end, "\n", d->bucket, "/", d->object, "\n", d->sha256_hex, "\n",
            d->prev_sig ? d->prev_sig : "null"};
    enum lsf_code rc = LSF_OK;

    for (size_t i = 0; rc == LSF_OK && i < sizeof(parts) / sizeof(parts[0]); i++)
        rc = lsf_buf_append(out, parts[i], strlen(parts[i]), err);
    return rc;
}

char *verify_uri(const char *bucket, const char *key)
{
    size_t n = strlen("s3://") + strlen(bucket) + 1 + strlen(key) + 1;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "s3://%s/%s", bucket, key);
    return s;
}
