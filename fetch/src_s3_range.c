/*
 * src_s3_range: an S3 object read as byte ranges (the contract is in src_s3_int.h).
 *
 * Range 0 starts when the object enters the download window. Once the scan reads the object,
 * up to n_ahead ranges download at once (aws_client_stream_range: not counted against the
 * client's stream slots, so they never wait behind paused whole-object downloads), and each
 * range read to its end is closed and replaced by the next one. Memory therefore stays n_ahead
 * ring buffers whatever the object's size, and the bytes reach the decoder in object order.
 * Every range carries If-Match with the listed ETag, so an object rewritten mid-way fails
 * (412) instead of mixing versions; a range that ends short or runs long fails the read.
 */
#include "src_s3_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One object being read as byte ranges. */
struct s3_ranged {
    struct aws_client *client;     /* borrowed */
    const struct aws_endpoint *ep; /* borrowed */
    char *host;
    char *path;
    char *name;
    char *etag;
    uint64_t size;
    uint64_t part_len;
    size_t buf_len;
    unsigned n_ahead;
    struct lsf_reader *parts; /* ring of n_ahead: ranges next_read .. next_open - 1 */
    uint64_t n_parts;
    uint64_t next_open;
    uint64_t next_read;
    uint64_t got; /* bytes read from range next_read */
};

static uint64_t ranged_len(const struct s3_ranged *r, uint64_t part)
{
    uint64_t first = part * r->part_len;

    return r->size - first < r->part_len ? r->size - first : r->part_len;
}

static enum lsf_code ranged_open_next(struct s3_ranged *r, struct lsf_err *err)
{
    struct aws_call call = {r->ep, "GET", r->host, r->path, NULL, 0, AWS_PROTO_REST_XML,
            "GetObject", r->name};
    uint64_t part = r->next_open;
    enum lsf_code rc = aws_client_stream_range(r->client, &call, part * r->part_len,
            ranged_len(r, part), r->etag, r->buf_len, &r->parts[part % r->n_ahead], err);

    if (rc == LSF_OK)
        r->next_open++;
    return rc;
}

static enum lsf_code ranged_read(void *self, unsigned char *buf, size_t cap, size_t *n_read,
        struct lsf_err *err)
{
    struct s3_ranged *r = self;
    enum lsf_code rc = LSF_OK;

    *n_read = 0;
    while (r->next_read < r->n_parts) {
        while (rc == LSF_OK && r->next_open < r->n_parts &&
                r->next_open - r->next_read < r->n_ahead)
            rc = ranged_open_next(r, err);
        if (rc != LSF_OK)
            return rc;
        rc = lsf_reader_read(&r->parts[r->next_read % r->n_ahead], buf, cap, n_read, err);
        if (rc != LSF_OK)
            return rc;
        r->got += *n_read;
        if (r->got > ranged_len(r, r->next_read))
            return lsf_fail(err, LSF_E_INPUT, "%s: byte range %" PRIu64 " gave more than its "
                    "%" PRIu64 " bytes; the server does not honour Range: raise --part-size "
                    "above the object's size", r->name, r->next_read, ranged_len(r, r->next_read));
        if (*n_read > 0)
            return LSF_OK;
        if (r->got != ranged_len(r, r->next_read))
            return lsf_fail(err, LSF_E_INPUT, "%s: bytes %" PRIu64 "-%" PRIu64 " ended after %"
                    PRIu64 " bytes (the object is shorter than listed: changed while being "
                    "read?); rerun", r->name, r->next_read * r->part_len,
                    r->next_read * r->part_len + ranged_len(r, r->next_read) - 1, r->got);
        lsf_reader_close(&r->parts[r->next_read % r->n_ahead]);
        r->next_read++;
        r->got = 0;
    }
    return LSF_OK;
}

static void ranged_close(void *self)
{
    struct s3_ranged *r = self;

    if (r == NULL)
        return;
    for (uint64_t i = r->next_read; r->parts && i < r->next_open; i++)
        lsf_reader_close(&r->parts[i % r->n_ahead]);
    free(r->parts);
    free(r->host);
    free(r->path);
    free(r->name);
    free(r->etag);
    free(r);
}

static const struct lsf_reader_ops ranged_ops = {ranged_read, ranged_close};

enum lsf_code fetch_s3_range_open(struct aws_client *client, const struct aws_endpoint *ep,
        const char *host, const char *path, const char *name, uint64_t size, const char *etag,
        uint64_t part_len, size_t buf_len, unsigned n_ahead, struct lsf_reader *out,
        struct lsf_err *err)
{
    struct s3_ranged *r = calloc(1, sizeof(*r));
    enum lsf_code rc;

    assert(part_len > 0 && size > 0 && n_ahead > 0);
    if (r == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
    r->client = client;
    r->ep = ep;
    r->size = size;
    r->part_len = part_len;
    r->buf_len = buf_len > part_len ? (size_t)part_len : buf_len; /* a range needs no more */
    r->n_parts = (size + part_len - 1) / part_len;
    r->n_ahead = (unsigned)(n_ahead < r->n_parts ? n_ahead : r->n_parts);
    r->parts = calloc(r->n_ahead, sizeof(*r->parts));
    r->host = strdup(host);
    r->path = strdup(path);
    r->name = strdup(name);
    r->etag = etag ? strdup(etag) : NULL;
    if (r->parts == NULL || r->host == NULL || r->path == NULL || r->name == NULL ||
            (etag && r->etag == NULL)) {
        ranged_close(r);
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
    }
    rc = ranged_open_next(r, err); /* range 0 downloads while earlier objects are scanned */
    if (rc != LSF_OK) {
        ranged_close(r);
        return rc;
    }
    out->ops = &ranged_ops;
    out->self = r;
    return LSF_OK;
}
