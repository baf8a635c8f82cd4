/*
 * aws_int.h: what the files of fetch/aws share and the public header does not promise: the
 * small libcurl client used for credential endpoints, the INI reader, XML and JSON field
 * extraction, time parsing, and one function per credential source.
 */
#ifndef AWS_INT_H
#define AWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"

/* ---- small helpers (aws_util.c) ---------------------------------------------------------------
 */

/* Lower-case hex of n bytes into out (2n + 1 bytes). */

/* Parse "2024-01-15T12:00:00Z" (fraction and "+00:00" accepted) into Unix seconds. */
bool aws_time_parse(const char *text, int64_t *out_s);

/* Format Unix seconds as "20240115T120000Z" (17 bytes with the NUL). */
void aws_time_amz(int64_t time_s, char out[17]);

/* Copy src into dst (cap bytes, NUL-terminated); false when it did not fit (dst then ""). */
bool aws_copy(char *dst, size_t cap, const char *src);

/* True for "true" in any case, as botocore's ensure_boolean reads environment switches. */
bool aws_is_true(const char *value);

/* Read a whole file into out (NUL-terminated). *missing is set (and LSF_OK returned) when the
 * file does not exist. LSF_E_IO names path; LSF_E_INPUT when it passes out's ceiling. */
enum lsf_code aws_read_file(
        const char *path, struct lsf_buf *out, bool *missing, struct lsf_err *err) LSF_WARN_UNUSED;

/* Append a C string to buf; append a NUL that is not counted in len (so data is a C string). */
enum lsf_code aws_buf_puts(struct lsf_buf *buf, const char *s, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_buf_nul(struct lsf_buf *buf, struct lsf_err *err) LSF_WARN_UNUSED;

/* Emit one debug line through the hooks (printf-style; never pass a secret). */
void aws_debug(const struct aws_hooks *hooks, const char *fmt, ...) LSF_PRINTF(2, 3);

/* ---- XML and JSON field extraction (aws_util.c) -----------------------------------------------
 */

struct aws_xml_field {
    const char *name; /* element local name, matched at any depth; the first one wins */
    char *buf;
    size_t cap;
    bool found;
};

/*
 * Collect the text of the named elements of an XML document. False when the body is not
 * well-formed XML or declares a DOCTYPE (refused, so entity tricks never reach expat).
 * Text longer than a field's cap is cut.
 */
bool aws_xml_fields(const char *body, size_t len, struct aws_xml_field *fields, size_t n_fields);

/*
 * Fill creds from a JSON credential document (IMDS, container endpoint, credential_process):
 * AccessKeyId, SecretAccessKey, token_key ("Token" or "SessionToken"), Expiration (optional
 * unless expiry_required). what names the source in messages. LSF_E_USAGE (or code_on_bad)
 * for a document that is not JSON or lacks a field; the message never quotes the document.
 */
enum lsf_code aws_creds_from_json(const char *text, size_t len, const char *token_key,
        bool expiry_required, const char *what, enum lsf_code code_on_bad, struct aws_creds *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* ---- HTTP for the credential endpoints (aws_http.c) -------------------------------------------
 */

struct aws_http_req {
    const char *method; /* "GET", "PUT", "POST" */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const void *body;
    size_t body_len;
    long timeout_ms;
    const char *ca_bundle; /* NULL: the system store; TLS is always verified */
    size_t max_body;       /* response ceiling */
    const char *what;      /* names the service in messages: "EC2 instance metadata" */
    bool no_proxy;         /* link-local and loopback endpoints: ignore *_proxy variables */
};

struct aws_http_resp {
    long status; /* 0 when no response arrived */
    bool is_timeout;
    bool is_not_sent;     /* no connection was made: the request certainly did not arrive */
    struct lsf_buf body;  /* NUL-terminated; initialised by aws_http_perform */
    char request_id[128]; /* x-amzn-RequestId or x-amz-request-id */
};

/*
 * One request with a fresh easy handle. LSF_OK whenever a response arrived (any status);
 * LSF_E_TRANSIENT when none did (message: what, URL without its query, curl's reason);
 * LSF_E_INPUT when the body passes max_body. Never follows redirects. The caller cleans
 * resp->body with lsf_buf_cleanup, also on failure.
 */
enum lsf_code aws_http_perform(const struct aws_http_req *req, struct aws_http_resp *resp,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* ---- INI files (aws_ini.c) --------------------------------------------------------------------
 */

struct aws_ini;

/*
 * Parse text as Python's configparser does for the AWS files: [section] headers, "key = value"
 * or "key: value" (keys lower-cased, values trimmed, inline '#' kept), full-line '#' and ';'
 * comments, indented continuation lines, and "key =" followed by indented "k = v" lines as
 * nested keys "key.k". name prefixes messages, which give the line number but never its text.
 * LSF_E_USAGE for a malformed file or a duplicate section or key, LSF_E_NOMEM.
 */
enum lsf_code aws_ini_parse(const char *text, size_t len, const char *name, struct aws_ini **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void aws_ini_free(struct aws_ini *ini);

/* Value of key in section, or NULL. */
const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key);
bool aws_ini_has_section(const struct aws_ini *ini, const char *section);

/* Section names in file order (for the "profile NAME" spellings). */
size_t aws_ini_section_count(const struct aws_ini *ini);
const char *aws_ini_section(const struct aws_ini *ini, size_t i);

/* ---- configuration internals (aws_config.c) ---------------------------------------------------
 */

const char *aws_config_env(const struct aws_config *cfg, const char *name); /* NULL if unset/"" */
int64_t aws_config_now(const struct aws_config *cfg);
bool aws_config_profile_explicit(const struct aws_config *cfg);

/* A key from one file's profile section only (file: 0 credentials, 1 config), NULL if unset. */
enum aws_cfg_file {
    AWS_CFG_CREDENTIALS = 0,
    AWS_CFG_CONFIG = 1
};
const char *aws_config_file_get(
        const struct aws_config *cfg, enum aws_cfg_file file, const char *key);
const char *aws_config_file_path(const struct aws_config *cfg, enum aws_cfg_file file);

/* ---- credential sources (aws_creds_*.c) -------------------------------------------------------
 */

/*
 * Each source sets *found when it is configured and has produced creds, leaves it false when it
 * is not configured (the chain moves on), and fails when it is configured but broken.
 */
enum lsf_code aws_creds_env(const struct aws_config *cfg, struct aws_creds *out, bool *found,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_creds_file(const struct aws_config *cfg, enum aws_cfg_file file,
        struct aws_creds *out, bool *found, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_creds_process(const struct aws_config *cfg, struct aws_creds *out, bool *found,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_creds_web_identity(const struct aws_config *cfg, struct aws_creds *out,
        bool *found, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_creds_container(const struct aws_config *cfg, struct aws_creds *out, bool *found,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* IMDSv2 state kept between fetches: the session token, reused until it expires (a 401 drops
 * it), and why the last fetch found nothing, for the "no credentials" message. */
struct aws_imds_state {
    char token[256];
    int64_t token_expires_s;
    char note[256];
};
#define AWS_IMDS_TOKEN_TTL_S 21600

enum lsf_code aws_creds_imds(const struct aws_config *cfg, struct aws_imds_state *state,
        struct aws_creds *out, bool *found, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---- S3 region redirects (aws_config.c; shared/spec/aws-facts.md 3.5) ------------------------
 */

/*
 * The bucket an S3 request to ep addresses: the labels before ep->host in host (virtual-host
 * style) or the first path element after ep->base_path (path style). False when the endpoint
 * is not S3's, there is no bucket, or it does not fit cap.
 */
bool aws_s3_request_bucket(const struct aws_endpoint *ep, const char *host, const char *path,
        char *bucket, size_t cap, bool *is_virtual);

/*
 * Move ep to region for bucket and write the request's new Host into host: the signing region
 * always; for AWS's own endpoints also the regional host s3.<region>.amazonaws.com (.com.cn in
 * China), virtual-host style when is_virtual. A custom endpoint (VPC endpoint, S3-compatible
 * store) keeps its host. False, with ep unchanged, when a name does not fit.
 */
bool aws_s3_region_move(struct aws_endpoint *ep, const char *bucket, bool is_virtual,
        const char *region, char host[AWS_HOST_MAX]);

#endif
