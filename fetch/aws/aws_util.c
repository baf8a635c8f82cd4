/*
 * aws_util: the small pieces every file of fetch/aws needs: hex, AWS timestamps, bounded
 * copies, whole-file reads, debug lines, and field extraction from the XML (expat) and JSON
 * (jansson) documents that carry credentials.
 *
 * Credential documents hold secrets, so their parsers report only *what* is wrong (not JSON,
 * field missing, field too long) and never echo the text: jansson's error text quotes the
 * input near the error, which could be the secret itself, so it is never used.
 */
#include "aws.h"
#include "aws_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <expat.h>
#include <jansson.h>
#include <openssl/crypto.h>

void aws_creds_wipe(struct aws_creds *creds)
{
    OPENSSL_cleanse(creds, sizeof(*creds));
}

void aws_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char hexdig[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[bytes[i] >> 4];
        out[2 * i + 1] = hexdig[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

bool aws_copy(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);

    if (len >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

bool aws_is_true(const char *value)
{
    static const char t[] = "true";

    if (value == NULL || strlen(value) != 4)
        return false;
    for (int i = 0; i < 4; i++) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != t[i])
            return false;
    }
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool read_digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

bool aws_time_parse(const char *text, int64_t *out_s)
{
    const char *p = text;
    unsigned y, mo, d, h, mi, s;

    if (!read_digits(&p, 4, &y) || !expect_char(&p, '-') || !read_digits(&p, 2, &mo) ||
            !expect_char(&p, '-') || !read_digits(&p, 2, &d) ||
            !(expect_char(&p, 'T') || expect_char(&p, 't') || expect_char(&p, ' ')) ||
            !read_digits(&p, 2, &h) || !expect_char(&p, ':') || !read_digits(&p, 2, &mi) ||
            !expect_char(&p, ':') || !read_digits(&p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0 && strcmp(p, "+00:00") != 0 &&
            strcmp(p, "+0000") != 0 && *p != '\0')
        return false;
    *out_s = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + s;
    return true;
}

void aws_time_amz(int64_t time_s, char out[17])
{
    time_t t = (time_t)time_s;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17);
}

enum lsf_code aws_buf_puts(struct lsf_buf *buf, const char *s, struct lsf_err *err)
{
    return lsf_buf_append(buf, s, strlen(s), err);
}

enum lsf_code aws_buf_nul(struct lsf_buf *buf, struct lsf_err *err)
{
    enum lsf_code rc = lsf_buf_reserve(buf, 1, err);

    if (rc == LSF_OK)
        buf->data[buf->len] = '\0';
    return rc;
}

enum lsf_code aws_read_file(
        const char *path, struct lsf_buf *out, bool *missing, struct lsf_err *err)
{
    FILE *fp = fopen(path, "rb");
    unsigned char chunk[8192];
    size_t n;
    enum lsf_code rc = LSF_OK;

    *missing = false;
    if (fp == NULL) {
        if (errno == ENOENT) {
            *missing = true;
            return LSF_OK;
        }
        return lsf_fail(err, LSF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        rc = lsf_buf_append(out, chunk, n, err);
        if (rc != LSF_OK) {
            lsf_err_prefix(err, "%s: ", path);
            goto out;
        }
    }
    if (ferror(fp)) {
        rc = lsf_fail(err, LSF_E_IO, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    rc = aws_buf_nul(out, err);
out:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    fclose(fp);
    return rc;
}

void aws_debug(const struct aws_hooks *hooks, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (hooks == NULL || hooks->debug == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    hooks->debug(hooks->ctx, line);
}

/* ---- XML ------------------------------------------------------------------------------------ */

struct xml_state {
    XML_Parser parser;
    struct aws_xml_field *fields;
    size_t n_fields;
    struct aws_xml_field *capturing; /* field whose element is open */
    size_t captured_len;
    int depth;
    int capture_depth;
    bool refused;
};

static const char *local_name(const XML_Char *name)
{
    const char *colon = strrchr(name, ':');

    return colon ? colon + 1 : name;
}

static void XMLCALL xml_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_state *st = user;

    (void)attrs;
    st->depth++;
    if (st->capturing != NULL)
        return;
    for (size_t i = 0; i < st->n_fields; i++) {
        if (!st->fields[i].found && strcmp(st->fields[i].name, local_name(name)) == 0) {
            st->capturing = &st->fields[i];
            st->capture_depth = st->depth;
            st->captured_len = 0;
            st->capturing->buf[0] = '\0';
            return;
        }
    }
}

static void XMLCALL xml_end(void *user, const XML_Char *name)
{
    struct xml_state *st = user;

    (void)name;
    if (st->capturing != NULL && st->depth == st->capture_depth) {
        st->capturing->found = true;
        st->capturing = NULL;
    }
    st->depth--;
}

static void XMLCALL xml_text(void *user, const XML_Char *s, int len)
{
    struct xml_state *st = user;
    struct aws_xml_field *f = st->capturing;
    size_t room;
    size_t n;

    if (f == NULL || len <= 0)
        return;
    room = f->cap - 1 - st->captured_len;
    n = (size_t)len < room ? (size_t)len : room;
    memcpy(f->buf + st->captured_len, s, n);
    st->captured_len += n;
    f->buf[st->captured_len] = '\0';
}

static void XMLCALL xml_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
        const XML_Char *pubid, int has_internal_subset)
{
    struct xml_state *st = user;

    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    st->refused = true;
    XML_StopParser(st->parser, XML_FALSE);
}

bool aws_xml_fields(const char *body, size_t len, struct aws_xml_field *fields, size_t n_fields)
{
    struct xml_state st = {0};
    bool ok = false;

    for (size_t i = 0; i < n_fields; i++) {
        fields[i].found = false;
        fields[i].buf[0] = '\0';
    }
    if (len > (size_t)INT32_MAX)
        return false;
    st.parser = XML_ParserCreate(NULL);
    if (st.parser == NULL)
        return false;
    st.fields = fields;
    st.n_fields = n_fields;
    XML_SetUserData(st.parser, &st);
    XML_SetElementHandler(st.parser, xml_start, xml_end);
    XML_SetCharacterDataHandler(st.parser, xml_text);
    XML_SetStartDoctypeDeclHandler(st.parser, xml_doctype);
    ok = XML_Parse(st.parser, body, (int)len, XML_TRUE) == XML_STATUS_OK && !st.refused;
    XML_ParserFree(st.parser);
    if (!ok) {
        for (size_t i = 0; i < n_fields; i++) {
            fields[i].found = false;
            fields[i].buf[0] = '\0';
        }
    }
    return ok;
}

/* ---- JSON credential documents -------------------------------------------------------------- */

static enum lsf_code json_field(json_t *root, const char *key, char *dst, size_t cap,
        const char *what, enum lsf_code code, struct lsf_err *err)
{
    json_t *v = json_object_get(root, key);

    if (!json_is_string(v) || json_string_length(v) == 0)
        return lsf_fail(err, code, "%s: credential document has no %s", what, key);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        return lsf_fail(err, code, "%s: %s in the credential document is longer than %zu bytes",
                what, key, cap - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return LSF_OK;
}

enum lsf_code aws_creds_from_json(const char *text, size_t len, const char *token_key,
        bool expiry_required, const char *what, enum lsf_code code_on_bad, struct aws_creds *out,
        struct lsf_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *version;
    json_t *exp;
    enum lsf_code rc;

    OPENSSL_cleanse(&jerr, sizeof(jerr)); /* its text may quote the document: never used */
    if (!json_is_object(root)) {
        rc = lsf_fail(err, code_on_bad, "%s: credential document is not a JSON object", what);
        goto out;
    }
    version = json_object_get(root, "Version");
    if (version != NULL && !(json_is_integer(version) && json_integer_value(version) == 1)) {
        rc = lsf_fail(err, code_on_bad, "%s: credential document Version is not 1", what);
        goto out;
    }
    rc = json_field(root, "AccessKeyId", out->access_key_id, sizeof(out->access_key_id), what,
            code_on_bad, err);
    if (rc == LSF_OK)
        rc = json_field(root, "SecretAccessKey", out->secret_access_key,
                sizeof(out->secret_access_key), what, code_on_bad, err);
    if (rc == LSF_OK && token_key != NULL) {
        if (json_object_get(root, token_key) != NULL || expiry_required)
            rc = json_field(root, token_key, out->session_token, sizeof(out->session_token), what,
                    code_on_bad, err);
        else
            out->session_token[0] = '\0';
    }
    if (rc != LSF_OK)
        goto out;
    out->expires_s = 0;
    exp = json_object_get(root, "Expiration");
    if (exp == NULL && !expiry_required)
        goto out;
    if (!json_is_string(exp) || !aws_time_parse(json_string_value(exp), &out->expires_s))
        rc = lsf_fail(err, code_on_bad,
                "%s: credential document has no Expiration of the form 2024-01-15T12:00:00Z", what);
out:
    json_decref(root);
    return rc;
}
