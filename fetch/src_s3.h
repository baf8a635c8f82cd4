/*
 * src_s3: S3 inputs. Expands s3://bucket/prefix URLs into objects (ListObjectsV2, in the
 * order S3 lists keys: UTF-8 binary), pruned by CloudTrail's date path (--since/--until) and by
 * --include/--exclude globs, and streams each object's body through fetch/decode while the next
 * ones download (--concurrency at once, a bounded buffer each). The API has the shape of
 * src_file's, so the command line drives either the same way.
 */
#ifndef SRC_S3_H
#define SRC_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_err.h"
#include "lsf_reader.h"

#define FETCH_S3_DEFAULT_CONCURRENCY 8
#define FETCH_S3_DEFAULT_OBJECT_BUF  ((size_t)4 << 20)
#define FETCH_S3_DEFAULT_PART        ((uint64_t)64 << 20)

struct fetch_s3_opts {
    const char *endpoint_url; /* --endpoint-url, or NULL (AWS_ENDPOINT_URL_S3 etc. still apply) */
    const char *profile;      /* --profile, or NULL */
    const char *region;       /* --region, or NULL */
    unsigned concurrency;     /* objects downloading at once; 0: FETCH_S3_DEFAULT_CONCURRENCY */
    size_t object_buf_len;    /* bytes buffered per object; 0: FETCH_S3_DEFAULT_OBJECT_BUF */
    uint64_t part_len;        /* objects listed larger than this are fetched as byte ranges of
                                 this size, up to concurrency at once; 0: FETCH_S3_DEFAULT_PART */
    const char *since;        /* "YYYY-MM-DD" (a time after it is ignored), or NULL */
    const char *until;        /* same, inclusive */
    const char *const *include; /* fnmatch globs (see fetch_s3_filter_keep); borrowed */
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const char *shard; /* --shard "K/N" or "auto/N" (fetch_s3_shard_parse), or NULL */
};

/* True when path names an S3 location ("s3://..."). */
bool fetch_s3_is_url(const char *path);

struct fetch_s3;

/*
 * Check the URLs and options, load the AWS configuration and start the client (nothing is
 * listed or fetched yet). Calls aws_global_init, so call it before other threads use libcurl.
 * urls and opts are borrowed until fetch_s3_free. LSF_E_USAGE for a malformed URL or date, a
 * bad AWS configuration or endpoint; LSF_E_NOMEM, LSF_E_INTERNAL.
 */
enum lsf_code fetch_s3_new(const char *const *urls, size_t n_urls, const struct fetch_s3_opts *opts,
        struct fetch_s3 **out, struct lsf_err *err) LSF_WARN_UNUSED;

/* Stop the downloads and free everything. Readers handed out must be closed first. NULL ok. */
void fetch_s3_free(struct fetch_s3 *s3);

/*
 * Open the next object, as fetch_files_next: *name ("s3://bucket/key", heap, the caller frees)
 * and *rd (decompressed bytes, the caller closes) on success; *done at the end. A listing that
 * fails (NoSuchBucket, AccessDenied naming s3:ListBucket, ...) or an object that cannot be
 * opened returns its code with the message and *name set; the next call moves on (the rest of
 * that URL's listing is skipped after a listing failure). Thread-compatible.
 */
enum lsf_code fetch_s3_next(struct fetch_s3 *s3, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err);

/* ---- pieces exposed for tests ------------------------------------------------------------------
 */

/* One ListObjectsV2 page: keys as S3 stores them (url-decoded when the page was url-encoded). */
struct fetch_s3_page {
    char **keys;
    uint64_t *sizes; /* Size of keys[i]; UINT64_MAX when the page did not say */
    char **etags;    /* ETag of keys[i] as sent (quoted), or NULL */
    size_t n_keys;
    char **prefixes; /* CommonPrefixes (listed with a delimiter), decoded like keys */
    size_t n_prefixes;
    bool is_truncated;
    char *next_token; /* NextContinuationToken, or NULL */
};

/*
 * Parse a ListObjectsV2 response body into page (which the caller cleans up, also on failure).
 * LSF_E_INPUT (and the message says why) for a body that is not well-formed XML, declares a
 * DOCTYPE, is not a ListBucketResult, has a key that does not url-decode, or is truncated
 * without a continuation token; LSF_E_NOMEM.
 */
enum lsf_code fetch_s3_list_parse(const char *xml, size_t len, struct fetch_s3_page *page,
        struct lsf_err *err) LSF_WARN_UNUSED;
void fetch_s3_page_cleanup(struct fetch_s3_page *page);

/* Decode s in place with form semantics ('+' is a space, %XX a byte). False if malformed. */
bool fetch_s3_url_decode(char *s);

/* "YYYY-MM-DD" (anything after the date, such as "T12:00:00Z", is ignored) as YYYYMMDD. */
bool fetch_s3_day_parse(const char *text, int32_t *yyyymmdd);

/*
 * The first YYYY/MM/DD run of directory elements in key (CloudTrail's
 * .../CloudTrail/<region>/YYYY/MM/DD/file), as YYYYMMDD; 0 when there is none.
 */
int32_t fetch_s3_key_day(const char *key);

struct fetch_s3_filter {
    int32_t since_day; /* YYYYMMDD, 0: no lower bound */
    int32_t until_day; /* YYYYMMDD inclusive, 0: no upper bound */
    const char *const *include;
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    uint32_t shard_index; /* this worker's K in [0, shard_count) */
    uint32_t shard_count; /* N workers; 0 or 1: no sharding */
};

/*
 * Whether to scan key: not a "folder" key ending in '/'; its date element (if any) within
 * [since, until] (the date is CloudTrail's delivery day, so events of the last minutes of a day
 * may sit in the next day's files); matching an include glob when any are given and no exclude
 * glob. A glob with a '/' is matched against the whole key, one without against the key's last
 * element (fnmatch, '*' crossing '/').
 */
bool fetch_s3_filter_keep(const struct fetch_s3_filter *filter, const char *key);

/* How a prefix is listed when --since/--until prune by CloudTrail's layout (aws-facts 6.1:
 * [prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/file). */
enum fetch_s3_list_kind {
    FETCH_S3_LIST_FLAT = 0, /* every key below it, filtered key by key */
    FETCH_S3_LIST_DISCOVER, /* one level with delimiter "/": its files, and its folders to list
                               in turn (accounts, org ids, CloudTrail, regions) */
    FETCH_S3_LIST_DAYS      /* a CloudTrail/REGION/ folder: from --since's day (start-after)
                               until a page reaches past --until */
};

/*
 * Kind of listing for prefix under the layout above: DISCOVER down to CloudTrail/ (or
 * CloudTrail-Digest/, CloudTrail-Insight/, laid out alike), DAYS at a region, FLAT below a
 * region, beside the layout (other folders) and for a prefix that ends inside an element. A prefix above any AWSLogs/ element is DISCOVER when is_root
 * (the user's own prefix, whose AWSLogs/ folder may be below) and FLAT otherwise (a sibling of
 * AWSLogs/ found while discovering is not CloudTrail's).
 */
enum fetch_s3_list_kind fetch_s3_list_kind(const char *prefix, bool is_root);

/* ---- scale-out: --shard K/N ----------------------------------------------------------------- */

#define FETCH_S3_SHARD_MAX 65536

/*
 * The shard of key among n (n >= 1): a 64-bit hash of the key's bytes alone, so it is the same
 * in every run, every worker, and whatever page size or prefix the listing used. Every key has
 * exactly one shard, so N workers each keeping shard K cover the listing exactly once.
 */
uint32_t fetch_s3_key_shard(const char *key, uint32_t n);

/*
 * Parse a --shard value: "K/N" (0 <= K < N <= FETCH_S3_SHARD_MAX), or "auto/N", which takes K
 * from k8s_index (JOB_COMPLETION_INDEX, set in each pod of a Kubernetes Indexed Job) or, when
 * that is NULL, batch_index (AWS_BATCH_JOB_ARRAY_INDEX, set in each child of an AWS Batch array
 * job). LSF_E_USAGE, naming the value and the fix, for anything else, an index out of range, or
 * auto with neither variable set.
 */
enum lsf_code fetch_s3_shard_parse(const char *spec, const char *k8s_index,
        const char *batch_index, uint32_t *index, uint32_t *count,
        struct lsf_err *err) LSF_WARN_UNUSED;

#endif
