/*
 * aws_http_client: signed AWS requests over one libcurl multi handle, for the data path (S3
 * now, CloudWatch Logs later).
 *
 * One fetch thread, owned by the client, drives the multi handle: it starts transfers, signs
 * every attempt afresh (aws_sigv4_sign with the current time and credentials), retries by
 * botocore's standard mode (aws_retry_*), and moves response bodies into a bounded buffer per
 * transfer. Callers in any thread read those bodies through an lsf_reader; a full buffer pauses
 * the transfer (CURL_WRITEFUNC_PAUSE) and the reader asks the fetch thread to resume it as it
 * drains, so memory stays bounded whatever the object size. Easy handles never leave the fetch
 * thread; connections are reused by the multi handle.
 *
 * TLS peer and host verification are always on; AWS_CA_BUNDLE (aws_config_ca_bundle) only
 * chooses the CA file. HTTP redirects are not followed; an S3 answer that names the bucket's
 * region (301/307 PermanentRedirect, 400 AuthorizationHeaderMalformed, x-amz-bucket-region) is
 * re-signed for that region and sent again once, and the bucket's region is remembered for the
 * client's later requests; an ExpiredToken answer refreshes the credentials and sends the
 * request again once. Messages never contain secrets.
 */
#ifndef AWS_HTTP_CLIENT_H
#define AWS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "lsf_buf.h"
#include "lsf_err.h"
#include "lsf_reader.h"

struct aws_client;

struct aws_client_opts {
    const struct aws_config *cfg;    /* borrowed until aws_client_free */
    struct aws_creds_provider *creds; /* borrowed until aws_client_free */
    unsigned max_streams;            /* streamed transfers running at once (>= 1); calls made
                                        with aws_client_call are not counted, so a listing
                                        never waits behind paused downloads */
    long connect_timeout_ms;         /* 0: 10 s */
    long stall_timeout_s;            /* no byte for this long while not paused: 0 = 60 s */
};

/*
 * Start the client and its fetch thread. aws_global_init must have run. LSF_E_NOMEM,
 * LSF_E_INTERNAL (thread or curl multi could not start). Nothing is left allocated on failure.
 */
enum lsf_code aws_client_new(const struct aws_client_opts *opts, struct aws_client **out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Stop the fetch thread, abort what is still running and free the client. Every reader from
 * aws_client_stream must be closed first. Accepts NULL.
 */
void aws_client_free(struct aws_client *client);

/* One request; every pointer is borrowed for the duration of the call that takes it. */
struct aws_call {
    const struct aws_endpoint *ep; /* scheme, signing region and service */
    const char *method;            /* "GET", "HEAD" */
    const char *host;              /* Host header and URL host (aws_s3_address for S3) */
    const char *path;              /* wire path, already URI-encoded */
    const struct aws_kv *query;    /* raw parameters, encoded and signed by the client */
    size_t n_query;
    enum aws_protocol proto;       /* how to read error bodies */
    const char *operation;         /* for messages and the permission hint: "GetObject" */
    const char *resource;          /* for messages: "s3://bucket/key" */
};

/*
 * Perform call with retries and append the whole 2xx body to body (its ceiling applies:
 * LSF_E_INPUT past it). Errors are written once by aws_error_fail (operation, resource, HTTP
 * status, AWS code, missing permission): LSF_E_AUTH, LSF_E_INPUT (NoSuchBucket, NoSuchKey...),
 * LSF_E_TRANSIENT after the retry budget, LSF_E_USAGE when TLS verification fails.
 * Thread-safe; blocks the calling thread.
 */
enum lsf_code aws_client_call(struct aws_client *client, const struct aws_call *call,
        struct lsf_buf *body, struct lsf_err *err) LSF_WARN_UNUSED;

/* What some calls add to a struct aws_call; every pointer borrowed for the call. */
struct aws_call_extra {
    const struct aws_kv *headers; /* extra headers, sent and signed (Content-Type, X-Amz-Target,
                                     x-amz-checksum-mode); at most 8 */
    size_t n_headers;
    const void *body; /* request body (a POST to a JSON API), or NULL */
    size_t body_len;
    struct lsf_buf *resp_headers; /* NULL, or receives the final response's header lines
                                     ("name: value\r\n"): ETag, x-amz-meta-*, x-amz-checksum-* */
};

/* aws_client_call with extra (may be NULL): headers, a body, the response headers. */
enum lsf_code aws_client_call_extra(struct aws_client *client, const struct aws_call *call,
        const struct aws_call_extra *extra, struct lsf_buf *body,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Queue call as a streamed transfer and return at once; *out reads its 2xx body (the caller
 * closes it, from one thread at a time, possibly not the caller's). buf_len bounds the bytes
 * buffered for it (at least 64 KiB is used). Transfers start in the order they were queued,
 * max_streams at a time. A read returns the call's error (as aws_client_call) once the bytes
 * that arrived before it are consumed; a transfer cut off after part of the body resumes with
 * a Range request (If-Match on the ETag), so readers never see a byte twice.
 * LSF_E_NOMEM. Thread-safe.
 */
enum lsf_code aws_client_stream(struct aws_client *client, const struct aws_call *call,
        size_t buf_len, struct lsf_reader *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Queue a streamed GET of bytes [first, first + len) of call's object (len > 0), read as
 * aws_client_stream reads a whole body. Ranges are not counted against max_streams: the caller
 * bounds how many it keeps open, so a range never waits behind paused whole-object transfers.
 * etag (the object's quoted ETag, or NULL) is sent as If-Match, so every range of an object
 * comes from one version (412 otherwise). A server that answers a range with the whole object
 * (200) fails the read with LSF_E_INPUT. LSF_E_NOMEM. Thread-safe.
 */
enum lsf_code aws_client_stream_range(struct aws_client *client, const struct aws_call *call,
        uint64_t first, uint64_t len, const char *etag, size_t buf_len, struct lsf_reader *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * What every user of one AWS service holds: libcurl's global state, the configuration, the
 * service endpoint, the credential chain and a client. aws_session_open fills s (zeroed
 * first) in that order; on failure what was opened is closed again. aws_session_close is
 * safe on a zeroed or closed session.
 */
struct aws_session {
    bool has_global;
    struct aws_config *cfg;
    struct aws_endpoint ep;
    struct aws_creds_provider *creds;
    struct aws_client *client;
};

enum lsf_code aws_session_open(const struct aws_config_opts *cfg_opts, enum aws_service svc,
        const char *endpoint_url, unsigned max_streams, struct aws_session *s,
        struct lsf_err *err) LSF_WARN_UNUSED;
void aws_session_close(struct aws_session *s);

#endif
