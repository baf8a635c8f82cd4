/*
 * src_s3_int.h: what the src_s3 files share and src_s3.h does not promise.
 */
#ifndef SRC_S3_INT_H
#define SRC_S3_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "aws_http_client.h"
#include "lsf_err.h"
#include "lsf_reader.h"

/*
 * Open a reader over an object of size bytes (> 0) fetched as byte ranges of part_len (> 0):
 * range 0 is queued now, and while the reader is read up to n_ahead ranges download at once,
 * each into a ring of at most buf_len bytes. client and ep are borrowed until the reader is
 * closed; host, path (the wire path of the object), name ("s3://bucket/key", for messages)
 * and etag (quoted, sent as If-Match; NULL for none) are copied. Read failures: the range's
 * AWS error, or LSF_E_INPUT when a range ends short or runs long. LSF_E_NOMEM.
 */
enum lsf_code fetch_s3_range_open(struct aws_client *client, const struct aws_endpoint *ep,
        const char *host, const char *path, const char *name, uint64_t size, const char *etag,
        uint64_t part_len, size_t buf_len, unsigned n_ahead, struct lsf_reader *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

#endif
