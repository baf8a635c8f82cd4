/*
 * aws: logsift's own AWS client pieces, shared by the S3 and CloudWatch Logs sources, the SNS
 * and metrics sinks and the integrity checks. No SDK: libcurl, OpenSSL, expat and jansson.
 *
 *   - SigV4 signing, done here rather than by curl's CURLOPT_AWS_SIGV4 (which in 7.88 neither
 *     sorts nor encodes the query, nor encodes the path, nor sends session tokens; see
 *     shared/spec/aws-facts.md 1.6). Checked byte for byte against the AWS vectors and botocore.
 *   - Configuration as the AWS CLI resolves it: profile, shared config and credentials files,
 *     region, endpoint overrides, CA bundle.
 *   - The credential chain in the CLI's order, behind a thread-safe provider that refreshes
 *     temporary credentials before they expire.
 *   - AWS error bodies (S3 and Query XML, JSON 1.1) turned into one-line lsf_err messages, and
 *     botocore's "standard" retry policy as pure functions.
 *
 * Secrets: no message and no debug line written by this module ever contains a secret access
 * key, a session token, a web identity token or a container authorization token. The access
 * key id may appear, to tell the user which credentials were used.
 */
#ifndef AWS_H
#define AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_buf.h"
#include "lsf_err.h"

/* ---------------------------------------------------------------------------------------------
 * Process-wide setup
 */

/*
 * Initialise libcurl once, before any other thread starts (curl_global_init is not thread-safe).
 * LSF_E_INTERNAL if libcurl cannot start. aws_global_cleanup undoes it at exit.
 */
enum lsf_code aws_global_init(struct lsf_err *err) LSF_WARN_UNUSED;
void aws_global_cleanup(void);

/*
 * The seams to the outside world. Production code passes NULL (or a struct of NULLs) and gets
 * the process's environment, clock, random source and sleep; tests swap them in here rather
 * than through environment switches. Every member may be NULL. ctx is passed to each.
 */
struct aws_hooks {
    const char *(*getenv)(void *ctx, const char *name); /* NULL when unset */
    int64_t (*now_s)(void *ctx);                        /* Unix seconds */
    double (*rand01)(void *ctx);                        /* uniform in [0, 1) */
    void (*sleep_ms)(void *ctx, unsigned ms);
    /* One line of debug trace (credential source chosen, refreshes); never holds a secret. */
    void (*debug)(void *ctx, const char *line);
    void *ctx;
};

/* ---------------------------------------------------------------------------------------------
 * Credentials
 */

#define AWS_AKID_MAX   128
#define AWS_SECRET_MAX 128
#define AWS_TOKEN_MAX  8192 /* STS does not fix a size; typical tokens are 0.5-2 KB */
#define AWS_SOURCE_MAX 256

struct aws_creds {
    char access_key_id[AWS_AKID_MAX];
    char secret_access_key[AWS_SECRET_MAX];
    char session_token[AWS_TOKEN_MAX]; /* "" for long-term keys */
    int64_t expires_s;                 /* Unix seconds; 0 = does not expire */
    char source[AWS_SOURCE_MAX];       /* where they came from, for messages: "environment",
                                          "profile prod in /home/u/.aws/credentials", ... */
};

/* Overwrite the struct with zeros in a way the compiler cannot drop. Safe on any struct. */
void aws_creds_wipe(struct aws_creds *creds);

/* ---------------------------------------------------------------------------------------------
 * SigV4 (shared/spec/aws-facts.md 1.1-1.3)
 */

#define AWS_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define AWS_EMPTY_SHA256     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AWS_AUTH_HEADER_MAX  2048

struct aws_kv {
    const char *name;
    const char *value;
};

/* A request to sign; every pointer is borrowed for the duration of the call. */
struct aws_request {
    const char *method; /* upper case: "GET", "HEAD", "POST", "PUT" */
    const char *host;   /* Host header value: host, plus ":port" only when not the default */
    const char *path;   /* path as sent on the wire, already URI-encoded (aws_uri_encode);
                           S3 keys encoded once; NULL or "" means "/" */
    const struct aws_kv *query; /* raw (unencoded) parameters; names may repeat, values may be
                                   ""; put them on the wire with aws_sigv4_query_string */
    size_t n_query;
    const struct aws_kv *headers; /* other headers sent byte for byte as given (Content-Type,
                                     X-Amz-Target, Range, ...); names in any case */
    size_t n_headers;
    const void *payload; /* body bytes, hashed unless payload_hash is set */
    size_t payload_len;
    const char *payload_hash; /* NULL, or a lower-case hex SHA-256 of the body computed
                                 elsewhere, or AWS_UNSIGNED_PAYLOAD */
};

/* Who signs, for where, and when. */
struct aws_signing {
    const struct aws_creds *creds; /* borrowed; the session token is sent and signed if set */
    const char *region;            /* "eu-west-1" */
    const char *service;           /* signing name: "s3" (selects S3's rules), "logs", "sns",
                                      "monitoring", "sts", "cloudtrail" */
    int64_t time_s;                /* request time, Unix seconds (re-sign on every retry) */
};

/* The headers the signer adds; send them with the request's own headers. */
struct aws_signature {
    char amz_date[17];                       /* X-Amz-Date, "20240115T120000Z" */
    char content_sha256[65];                 /* X-Amz-Content-SHA256, or "" when not sent
                                                (it is sent for S3 and for UNSIGNED-PAYLOAD) */
    char authorization[AWS_AUTH_HEADER_MAX]; /* Authorization */
    const char *security_token;              /* X-Amz-Security-Token: borrowed from the creds,
                                                NULL when there is none */
};

/*
 * Append the RFC 3986 encoding of in[0..len) to out: A-Z a-z 0-9 - _ . ~ stay, every other byte
 * becomes %XX with upper-case hex; '/' stays too when keep_slash. Use keep_slash for paths and
 * S3 keys, not for query names and values. out is NUL-terminated (the NUL is not counted in
 * out->len). LSF_E_INPUT when out's ceiling is reached, LSF_E_NOMEM.
 */
enum lsf_code aws_uri_encode(const char *in, size_t len, bool keep_slash, struct lsf_buf *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Append the canonical query of req (encoded, sorted by name then value, joined with '&') to
 * out, NUL-terminated. Use the same string after '?' in the URL, so what is signed is what is
 * sent. Appends nothing when there are no parameters. LSF_E_NOMEM, LSF_E_INPUT (ceiling).
 */
enum lsf_code aws_sigv4_query_string(
        const struct aws_request *req, struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Append the canonical request (1.1) and the string to sign (1.2) to out, NUL-terminated: the
 * intermediate steps of aws_sigv4_sign, for tests and for comparing with the CanonicalRequest
 * an S3 SignatureDoesNotMatch error returns. Same codes as aws_sigv4_sign.
 */
enum lsf_code aws_sigv4_canonical_request(const struct aws_request *req,
        const struct aws_signing *sig, struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code aws_sigv4_string_to_sign(const struct aws_request *req, const struct aws_signing *sig,
        struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * The signing key HMAC chain of 1.2 for secret, date "YYYYMMDD", region and service: 32 bytes.
 */
void aws_sigv4_signing_key(const char *secret, const char *date8, const char *region,
        const char *service, unsigned char key[32]);

/*
 * Sign req. Canonical URI: S3 signs the wire path as is; other services remove dot segments and
 * empty segments and encode the wire path again. Headers in aws_request are lower-cased,
 * trimmed, inner whitespace collapsed, same names joined with ',' in order, and all signed
 * except those botocore never signs (user-agent, expect, connection, ...). host and x-amz-date
 * are always signed, x-amz-security-token with temporary credentials, x-amz-content-sha256 for
 * S3 and for UNSIGNED-PAYLOAD.
 *
 * Returns LSF_E_INTERNAL for a request logsift should never build (a header named host,
 * authorization, x-amz-date, x-amz-security-token or x-amz-content-sha256, a control character
 * in a header, a malformed payload_hash, more signed headers than fit AWS_AUTH_HEADER_MAX),
 * LSF_E_NOMEM. The message never contains the secret or the token. Thread-safe.
 */
enum lsf_code aws_sigv4_sign(const struct aws_request *req, const struct aws_signing *sig,
        struct aws_signature *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---------------------------------------------------------------------------------------------
 * Configuration: profile, files, region, endpoints (shared/spec/aws-facts.md 2.2-2.3)
 */

struct aws_config;

struct aws_config_opts {
    const char *profile; /* --profile; NULL: AWS_PROFILE, AWS_DEFAULT_PROFILE, "default".
                            A profile given here also skips environment credentials. */
    const char *region;  /* --region; NULL: AWS_REGION, AWS_DEFAULT_REGION, profile region */
    const struct aws_hooks *hooks; /* copied; NULL for the real process */
};

/*
 * Read the environment and the shared config and credentials files (AWS_CONFIG_FILE,
 * AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/config and ~/.aws/credentials; missing files
 * are fine). Returns LSF_E_USAGE for a file that does not parse (naming file and line, never
 * the line's text, which may hold a secret), a named profile found in neither file, or an
 * invalid region name; LSF_E_IO for a file that exists but cannot be read; LSF_E_NOMEM.
 * The config is read-only afterwards and may be shared between threads.
 */
enum lsf_code aws_config_load(const struct aws_config_opts *opts, struct aws_config **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void aws_config_free(struct aws_config *cfg);

/* Name of the selected profile ("default" unless set). Borrowed until aws_config_free. */
const char *aws_config_profile(const struct aws_config *cfg);

/* Resolved region, or NULL when none is configured. Borrowed until aws_config_free. */
const char *aws_config_region(const struct aws_config *cfg);

/*
 * A profile setting, credentials file first, then config file; nested keys as
 * "s3.addressing_style". NULL when unset. Borrowed until aws_config_free.
 */
const char *aws_config_get(const struct aws_config *cfg, const char *key);

/* AWS_CA_BUNDLE, else profile ca_bundle, else NULL (the system store). */
const char *aws_config_ca_bundle(const struct aws_config *cfg);

/* Total attempts per request: AWS_MAX_ATTEMPTS, profile max_attempts, else 3. At least 1. */
unsigned aws_config_max_attempts(const struct aws_config *cfg);

/* The hooks the config was loaded with (defaults filled in). */
const struct aws_hooks *aws_config_hooks(const struct aws_config *cfg);

enum aws_service {
    AWS_SVC_S3,
    AWS_SVC_LOGS,
    AWS_SVC_SNS,
    AWS_SVC_CLOUDWATCH,
    AWS_SVC_STS,
    AWS_SVC_CLOUDTRAIL
};

#define AWS_HOST_MAX        256
#define AWS_PATH_PREFIX_MAX 256

struct aws_endpoint {
    bool is_https;
    bool is_custom;                      /* from an override: S3 then uses path style */
    char host[AWS_HOST_MAX];             /* Host header: host[:port], port only if not default */
    char base_path[AWS_PATH_PREFIX_MAX]; /* path prefix of a custom endpoint, "" or "/x" */
    char region[64];                     /* signing region */
    char service[16];                    /* signing name */
};

/*
 * Where to send requests for svc. In order: override_url (the --endpoint-url flag; NULL if
 * none), AWS_ENDPOINT_URL_<SERVICE> (S3, CLOUDWATCH_LOGS, SNS, CLOUDWATCH, STS, CLOUDTRAIL),
 * AWS_ENDPOINT_URL, the [services NAME] section named by the profile's "services" key, the
 * profile's endpoint_url; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips all but override_url.
 * Otherwise https://<service>.<region>.amazonaws.com (.com.cn in China; STS without a region
 * uses the global https://sts.amazonaws.com; S3 without a region uses us-east-1).
 * Returns LSF_E_USAGE for a malformed URL or a missing region (naming the variable or flag to
 * set).
 */
enum lsf_code aws_endpoint_resolve(const struct aws_config *cfg, enum aws_service svc,
        const char *override_url, struct aws_endpoint *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* "https://host[:port]/base-path" into buf (at least AWS_HOST_MAX + AWS_PATH_PREFIX_MAX + 9). */
void aws_endpoint_base_url(const struct aws_endpoint *ep, char *buf, size_t len);

/*
 * Whether to address bucket path style (https://host/bucket/key) rather than virtual-host
 * style (https://bucket.host/key): when the profile says s3.addressing_style = path, when the
 * endpoint is custom (unless addressing_style = virtual), or when the bucket name is not a
 * DNS label (dots, upper case, '_').
 */
bool aws_s3_path_style(
        const struct aws_config *cfg, const struct aws_endpoint *ep, const char *bucket);

/*
 * Host header and wire path for bucket/key (key may be NULL or "" for bucket-level requests):
 * the key is URI-encoded once with '/' kept, as S3 signs it. host gets at most AWS_HOST_MAX
 * bytes; path is appended to and NUL-terminated. LSF_E_USAGE when the virtual host is too long,
 * LSF_E_NOMEM, LSF_E_INPUT (path ceiling).
 */
enum lsf_code aws_s3_address(const struct aws_endpoint *ep, bool path_style, const char *bucket,
        const char *key, char host[AWS_HOST_MAX], struct lsf_buf *path,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* ---------------------------------------------------------------------------------------------
 * Credential chain and provider (shared/spec/aws-facts.md 2.1, 2.4-2.7)
 */

/* Refresh temporary credentials this long before they expire; a failed refresh inside the
 * advisory window keeps the old ones, inside the mandatory window it is an error. */
#define AWS_CREDS_ADVISORY_REFRESH_S  (15 * 60)
#define AWS_CREDS_MANDATORY_REFRESH_S (10 * 60)

struct aws_creds_provider;

/*
 * A provider for cfg (borrowed until aws_creds_provider_free). Nothing is resolved until the
 * first get. LSF_E_NOMEM.
 */
enum lsf_code aws_creds_provider_new(const struct aws_config *cfg, struct aws_creds_provider **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void aws_creds_provider_free(struct aws_creds_provider *prov);

/*
 * Copy current credentials into out. The first call walks the chain in the AWS CLI's order:
 * environment (unless a profile was given explicitly), web identity (AWS_WEB_IDENTITY_TOKEN_FILE
 * + AWS_ROLE_ARN, or the profile's web_identity_token_file + role_arn) via STS
 * AssumeRoleWithWebIdentity, the shared credentials file, the profile's credential_process,
 * static keys in the config file, container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * or _FULL_URI), EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true). Later calls return the same
 * source's credentials, refreshed from that source once within AWS_CREDS_ADVISORY_REFRESH_S of
 * expiry.
 *
 * Returns LSF_E_USAGE when no source has credentials or a source is misconfigured (partial
 * keys, a profile that assumes a role with source_profile or SSO, which logsift does not do),
 * LSF_E_AUTH when STS rejects the web identity or refreshed credentials are already expired,
 * LSF_E_TRANSIENT when a credential endpoint cannot be reached or fails (5xx), LSF_E_NOMEM.
 * Thread-safe: one mutex, held while a refresh runs.
 */
enum lsf_code aws_creds_provider_get(struct aws_creds_provider *prov, struct aws_creds *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Mark the current credentials as rejected (an ExpiredToken answer): the next get fetches new
 * ones from the same source. Thread-safe.
 */
void aws_creds_provider_expire(struct aws_creds_provider *prov);

/* ---------------------------------------------------------------------------------------------
 * AWS error bodies (shared/spec/aws-facts.md 3.6, 4.4, 8.4)
 */

enum aws_protocol {
    AWS_PROTO_REST_XML, /* S3: <Error><Code>.. */
    AWS_PROTO_QUERY,    /* SNS, STS, CloudWatch: <ErrorResponse><Error><Code>.. */
    AWS_PROTO_JSON      /* CloudWatch Logs: {"__type": "..", "message": ".."} */
};

struct aws_error_info {
    long http_status;
    char code[128];    /* AWS error code, or "" when the body had none */
    char message[384]; /* AWS message, control characters removed, maybe cut */
    char request_id[128];
    char region[64]; /* S3: the bucket's region in redirect and malformed-header errors */
};

/*
 * Parse an error response: status, body (may be empty, as for HEAD, or not what proto says)
 * and the x-amzn-RequestId / x-amz-request-id header value (may be NULL). Never fails: what
 * cannot be read stays "". A JSON __type is reduced as botocore does ("a.b#Code:detail" ->
 * "Code").
 */
void aws_error_parse(enum aws_protocol proto, long http_status, const char *body, size_t len,
        const char *request_id, struct aws_error_info *out);

/*
 * The lsf_code for an AWS answer: LSF_E_TRANSIENT for 429, 5xx and throttling or timeout codes
 * (aws_retry_classify), LSF_E_AUTH for 401/403 and credential or signature codes
 * (AccessDenied*, ExpiredToken*, InvalidClientTokenId, SignatureDoesNotMatch, ...), else
 * LSF_E_INPUT (NoSuchKey, ResourceNotFound, validation: this object or group fails, the run
 * goes on).
 */
enum lsf_code aws_error_code_class(long http_status, const char *code);

/*
 * The IAM action an operation needs, for AccessDenied hints: ("s3", "ListObjectsV2") ->
 * "s3:ListBucket", ("logs", "FilterLogEvents") -> "logs:FilterLogEvents", ("monitoring",
 * "PutMetricData") -> "cloudwatch:PutMetricData". Writes into buf.
 */
void aws_error_permission(const char *service, const char *operation, char *buf, size_t len);

/*
 * Record info as one lsf_err line and return its class (aws_error_code_class), e.g.
 * "s3 GetObject s3://bk/k.gz: HTTP 403 AccessDenied: Access Denied (request id X); the
 * credentials lack s3:GetObject on it: grant it or use another profile". service and operation
 * name the call, resource the object (bucket/key, log group). Keeps an existing message, as
 * lsf_fail does.
 */
enum lsf_code aws_error_fail(struct lsf_err *err, const struct aws_error_info *info,
        const char *service, const char *operation, const char *resource);

/* ---------------------------------------------------------------------------------------------
 * Retries: botocore "standard" mode (shared/spec/aws-facts.md 10.1, 10.4), as pure functions
 */

#define AWS_RETRY_MAX_ATTEMPTS    3
#define AWS_RETRY_MAX_BACKOFF_S   20
#define AWS_RETRY_QUOTA_INITIAL   500
#define AWS_RETRY_COST            5
#define AWS_RETRY_TIMEOUT_COST    10
#define AWS_RETRY_NO_RETRY_REFUND 1

enum aws_retry_kind {
    AWS_RETRY_NONE = 0,  /* success, or an error retrying cannot fix */
    AWS_RETRY_TRANSIENT, /* 500/502/503/504, connection reset, RequestTimeout, InternalError */
    AWS_RETRY_THROTTLE,  /* 429, Throttling*, SlowDown, TooManyRequestsException, ... */
    AWS_RETRY_TIMEOUT    /* the request timed out (costs more quota) */
};

/* What one attempt ended with. */
struct aws_outcome {
    long http_status;       /* 0 when no response arrived */
    const char *error_code; /* AWS error code or NULL */
    bool is_timeout;        /* transport timeout */
    bool is_network_error;  /* connect failed, connection reset, truncated response */
};

/* Classify one attempt (aws-facts 10.4: botocore standard mode plus any 429 and Throttled). */
enum aws_retry_kind aws_retry_classify(const struct aws_outcome *outcome);

/*
 * Backoff before retry number attempt (1 = after the first failure), in ms: full jitter,
 * rand01 * min(2^(attempt-1), AWS_RETRY_MAX_BACKOFF_S) seconds. rand01 in [0, 1).
 */
unsigned aws_retry_delay_ms(unsigned attempt, double rand01);

/* The retry token bucket of one client. Not thread-safe: owned by the thread driving that
 * client's transfers. */
struct aws_retry_quota {
    unsigned tokens;
};

void aws_retry_quota_init(struct aws_retry_quota *quota);

/* One request's retry state. */
struct aws_retry {
    unsigned attempts; /* attempts made so far */
    unsigned max_attempts;
    unsigned held; /* quota tokens taken for the retry in flight */
};

void aws_retry_init(struct aws_retry *retry, unsigned max_attempts);

/*
 * After attempt number retry->attempts + 1 failed with kind: true and *delay_ms set when it
 * should be retried (attempts left, kind retryable, quota tokens available, which are taken).
 * Counts the attempt either way.
 */
bool aws_retry_next(struct aws_retry *retry, struct aws_retry_quota *quota,
        enum aws_retry_kind kind, double rand01, unsigned *delay_ms);

/* After the request succeeded: refund the retry's tokens, or AWS_RETRY_NO_RETRY_REFUND. */
void aws_retry_succeeded(struct aws_retry *retry, struct aws_retry_quota *quota);

/* Lower-case hex of bytes into out (room for 2 * n + 1). */
void aws_hex(const unsigned char *bytes, size_t n, char *out);

#endif
