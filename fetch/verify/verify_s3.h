/*
 * verify_s3: fetch/verify's store over S3 and CloudTrail's ListPublicKeys, through the signed
 * client of fetch/aws. Kept out of verify.h so the checks and the local store need no network
 * libraries in their tests.
 */
#ifndef VERIFY_S3_H
#define VERIFY_S3_H

#include "lsf_err.h"
#include "verify.h"

struct verify_s3_opts {
    const char *endpoint_url; /* --endpoint-url, or NULL (AWS_ENDPOINT_URL_S3 etc. apply) */
    const char *region;       /* --region, or NULL */
    const char *profile;      /* --profile, or NULL */
    unsigned concurrency;     /* requests at once; 0: 8 */
};

/*
 * A store over s3://bucket/prefix: ListObjectsV2 for listings, GetObject with
 * x-amz-checksum-mode: ENABLED for objects, whose ETag, x-amz-meta-signature(-algorithm) and
 * x-amz-checksum-* headers fill struct verify_object. Calls aws_global_init. opts is copied.
 * LSF_E_USAGE for a malformed URL or AWS configuration, LSF_E_NOMEM, LSF_E_INTERNAL.
 */
enum lsf_code verify_store_open_s3(const char *url, const struct verify_s3_opts *opts,
        struct verify_store *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Add CloudTrail's public keys valid between since and until (NULL: 2013-11-01 .. now + 2 h,
 * as aws-cli asks for end + 2 h) to kr: ListPublicKeys in the store's region (endpoint from
 * AWS_ENDPOINT_URL_CLOUDTRAIL and the like), every page. LSF_E_AUTH naming
 * cloudtrail:ListPublicKeys when denied, LSF_E_INPUT for an answer that does not parse.
 */
enum lsf_code verify_s3_list_public_keys(struct verify_store *store, struct verify_keyring *kr,
        const char *since, const char *until, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * verify_s3_list_public_keys for one region: the keys CloudTrail lists in region (the endpoint
 * cloudtrail.<region>.amazonaws.com, or a configured CloudTrail endpoint signed for region).
 * Shaped for verify_trail_opts.load_region_keys: ctx is a struct verify_s3_keys.
 */
struct verify_s3_keys {
    struct verify_store *store;
    struct verify_keyring *kr;
    const char *since;
    const char *until;
};
enum lsf_code verify_s3_load_region_keys(void *ctx, const char *region,
        struct lsf_err *err) LSF_WARN_UNUSED;

#endif
