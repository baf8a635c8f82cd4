/*
 * src_s3_plan: which keys an s3:// run keeps and how each prefix is listed (the contracts are
 * in src_s3.h): the --shard K/N split, and the CloudTrail layout walk that lets --since/--until
 * prune the listing itself. Pure functions, no I/O.
 *
 * Sharding: a key belongs to shard hash(key) mod N. The hash sees only the key, never the page
 * or the order it came in, so N independent workers of a scheduler (Kubernetes Indexed Job,
 * AWS Batch array job) list the same prefix and together scan every key exactly once, with no
 * coordination between them.
 *
 * Layout (shared/spec/aws-facts.md 6.1): [prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/
 * YYYY/MM/DD/file, and the same below CloudTrail-Digest/ and CloudTrail-Insight/. Folders down
 * to CloudTrail/ are discovered with delimiter listings, region folders are listed by day,
 * everything else flat.
 */
#include "src_s3.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* ---- --shard K/N ----------------------------------------------------------------------------- */

uint32_t fetch_s3_key_shard(const char *key, uint32_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    /* splitmix64's finaliser: FNV's low bits are weak for keys that differ only at the end,
     * and CloudTrail keys share long prefixes. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    h ^= h >> 31;
    return (uint32_t)(h % n);
}

static bool parse_u32(const char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = (uint32_t)v;
    return true;
}

enum lsf_code fetch_s3_shard_parse(const char *spec, const char *k8s_index,
        const char *batch_index, uint32_t *index, uint32_t *count, struct lsf_err *err)
{
    const char *slash = strchr(spec, '/');
    const char *k_text = NULL;
    const char *k_from = NULL;

    if (slash == NULL || !parse_u32(slash + 1, strlen(slash + 1), count) || *count < 1 ||
            *count > FETCH_S3_SHARD_MAX)
        return lsf_fail(err, LSF_E_USAGE, "--shard %s: give K/N (this worker's index K from 0 "
                "to N-1, N workers up to %d) or auto/N", spec, FETCH_S3_SHARD_MAX);
    if ((size_t)(slash - spec) == 4 && strncmp(spec, "auto", 4) == 0) {
        k_text = k8s_index ? k8s_index : batch_index;
        k_from = k8s_index ? "JOB_COMPLETION_INDEX" : "AWS_BATCH_JOB_ARRAY_INDEX";
        if (k_text == NULL)
            return lsf_fail(err, LSF_E_USAGE, "--shard %s: neither JOB_COMPLETION_INDEX "
                    "(Kubernetes Indexed Job) nor AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array "
                    "job) is set; outside those schedulers give the index as K/N", spec);
        if (!parse_u32(k_text, strlen(k_text), index))
            return lsf_fail(err, LSF_E_USAGE, "--shard %s: %s is \"%.32s\", not a number",
                    spec, k_from, k_text);
    } else if (!parse_u32(spec, (size_t)(slash - spec), index)) {
        return lsf_fail(err, LSF_E_USAGE, "--shard %s: give K/N (this worker's index K from 0 "
                "to N-1) or auto/N", spec);
    }
    if (*index >= *count)
        return lsf_fail(err, LSF_E_USAGE, "--shard %s: index %u%s%s%s is not below the %u "
                "workers; indexes run from 0 to %u (make N the job's completions or array size)",
                spec, *index, k_from ? " (from " : "", k_from ? k_from : "", k_from ? ")" : "",
                *count, *count - 1);
    return LSF_OK;
}

/* ---- CloudTrail layout: which prefixes to list how ----------------------------------------- */

static bool is_account(const char *s, size_t n)
{
    return n == 12 && digits(s, n);
}

/* CloudTrail/, and CloudTrail-Digest/ and CloudTrail-Insight/, which share its
 * REGION/YYYY/MM/DD/ layout (aws-facts 7.1). */
static bool is_trail_folder(const char *s, size_t n)
{
    return n >= 10 && strncmp(s, "CloudTrail", 10) == 0 && (n == 10 || s[10] == '-');
}

static bool is_org(const char *s, size_t n)
{
    return n > 2 && s[0] == 'o' && s[1] == '-';
}

enum fetch_s3_list_kind fetch_s3_list_kind(const char *prefix, bool is_root)
{
    const char *el[8];
    size_t len[8];
    size_t n = 0;
    size_t after = 0; /* elements after the last AWSLogs */
    bool has_awslogs = false;

    if (prefix[0] != '\0' && prefix[strlen(prefix) - 1] != '/')
        return FETCH_S3_LIST_FLAT; /* ends inside an element: nothing to descend */
    for (const char *p = prefix; *p;) {
        const char *slash = strchr(p, '/');
        if (slash - p == 7 && strncmp(p, "AWSLogs", 7) == 0) {
            has_awslogs = true;
            n = 0;
        } else if (has_awslogs && n < 8) {
            el[n] = p;
            len[n] = (size_t)(slash - p);
            n++;
        } else if (has_awslogs) {
            return FETCH_S3_LIST_FLAT;
        }
        p = slash + 1;
    }
    if (!has_awslogs)
        return is_root ? FETCH_S3_LIST_DISCOVER : FETCH_S3_LIST_FLAT;
    if (n > 0 && is_org(el[0], len[0]))
        after = 1; /* organization trail: AWSLogs/o-xxx/<account>/... */
    if (n == after)
        return FETCH_S3_LIST_DISCOVER; /* accounts (or org ids) below */
    if (!is_account(el[after], len[after]))
        return FETCH_S3_LIST_FLAT;
    if (n == after + 1)
        return FETCH_S3_LIST_DISCOVER; /* CloudTrail, CloudTrail-Digest, ... below */
    if (!is_trail_folder(el[after + 1], len[after + 1]))
        return FETCH_S3_LIST_FLAT;
    if (n == after + 2)
        return FETCH_S3_LIST_DISCOVER; /* regions below */
    if (n == after + 3)
        return FETCH_S3_LIST_DAYS;
    return FETCH_S3_LIST_FLAT;
}

