/*
 * verify_chain: walk CloudTrail digest chains and check the log files they list, as
 * `aws cloudtrail validate-logs` does (shared/spec/aws-facts.md 7.6, 7.7), plus the checks it
 * skips.
 *
 * Design. The store is listed once. Digest keys are grouped by chain (account folder, region,
 * trail, home region; backfill digests apart) and each chain is walked once, newest first:
 * follow previousDigestS3Object while it is set; after a missing or broken digest, or at a
 * starting digest, re-enter at the next older key of the listing. The walk only reads digests;
 * the log files of every digest that passed are queued and then fetched and hashed by `jobs`
 * threads at once (the store's get is thread-safe), so a trail's logs are checked in parallel
 * while the chain itself is read in order.
 *
 * Stricter than aws-cli, each reported as its own verdict:
 *   - an older digest's SHA-256 and signature must equal the newer digest's
 *     previousDigestHashValue and previousDigestSignature (7.6 note);
 *   - after a missing digest the walk re-enters at the next listed key; when that digest ends
 *     more than one delivery period (an hour, 7.1) before the missing one, the digests in
 *     between were deleted too, which aws-cli never reports (aws-cli#7054);
 *   - log files in the store, delivered inside the walked window, that no digest lists.
 * Local copies have no S3 metadata, so unless a sidecar supplies it, a digest's signature is
 * not checked: it is reported VERIFY_UNSIGNED (never valid), its links and logs still are.
 */
#include "verify_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsf_buf.h"

#define DEFAULT_JOBS        4
#define DEFAULT_MAX_OBJECT  ((size_t)1 << 30)
#define DIGEST_MAX_PLAIN    ((size_t)256 << 20)
#define DIGEST_PERIOD_S     3600
#define DIGEST_PERIOD_SLACK 600 /* delivery jitter: a digest may end minutes off the hour */
#define DETAIL_MAX          4096

struct chain_key {
    const char *key; /* borrowed from the listing */
    struct verify_digest_name name;
};

/* A log file queued for hashing. */
struct log_task {
    char *bucket;
    char *key;
    char *hash; /* NULL: an archive check only (verify_archives) */
    enum verify_verdict verdict;
    char detail[DETAIL_MAX];
    char note[DETAIL_MAX]; /* e.g. zstd frames without a checksum; "" when none */
};

struct walk {
    struct verify_store *store;
    const struct verify_keyring *kr;
    const struct verify_trail_opts *opts;
    struct verify_report *rep;
    size_t max_object;
    int64_t since_s;
    int64_t until_s;
    struct log_task *tasks;
    size_t n_tasks;
    size_t cap_tasks;
    char **listed_logs; /* keys every parsed digest names, for the unlisted check */
    size_t n_listed;
    size_t cap_listed;
    int64_t oldest_start;
    int64_t newest_end;
    pthread_mutex_t copy_mu;
    bool copy_failed; /* --copy-to could not write something */
    char regions_loaded[16][64]; /* regions whose keys load_region_keys fetched */
    size_t n_regions_loaded;
};

/* Fetch the keys of region once (opts->load_region_keys); true when new keys may be there. */
static enum lsf_code load_region_keys(struct walk *w, const char *region, bool *is_new,
        struct lsf_err *err)
{
    *is_new = false;
    if (w->opts == NULL || w->opts->load_region_keys == NULL)
        return LSF_OK;
    for (size_t i = 0; i < w->n_regions_loaded; i++)
        if (strcmp(w->regions_loaded[i], region) == 0)
            return LSF_OK;
    if (w->n_regions_loaded < sizeof(w->regions_loaded) / sizeof(w->regions_loaded[0]))
        snprintf(w->regions_loaded[w->n_regions_loaded++], sizeof(w->regions_loaded[0]), "%s",
                region);
    *is_new = true;
    return w->opts->load_region_keys(w->opts->keys_ctx, region, err);
}

static enum lsf_code nomem(struct lsf_err *err)
{
    return lsf_fail(err, LSF_E_NOMEM, "out of memory verifying digests");
}

static int chain_key_cmp(const void *a, const void *b)
{
    const struct chain_key *x = a;
    const struct chain_key *y = b;
    int c = strcmp(x->name.group, y->name.group);

    if (c != 0)
        return c;
    if (x->name.end_s != y->name.end_s)
        return x->name.end_s < y->name.end_s ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *bucket_of(const struct walk *w, const char *fallback)
{
    return w->store->bucket[0] ? w->store->bucket : (fallback ? fallback : "");
}

static enum lsf_code add_item(struct walk *w, enum verify_kind kind, enum verify_verdict v,
        const char *bucket, const char *key, const char *detail, struct lsf_err *err)
{
    /* a local copy whose bucket is unknown: name objects by their path in the copy */
    char *uri = bucket[0] ? verify_uri(bucket, key) : strdup(key);
    enum lsf_code rc;

    if (uri == NULL)
        return nomem(err);
    rc = verify_report_add(w->rep, kind, v, uri, "%s", detail);
    free(uri);
    return rc == LSF_OK ? LSF_OK : nomem(err);
}

static enum lsf_code queue_logs(struct walk *w, const struct verify_digest *d, bool do_hash,
        struct lsf_err *err)
{
    for (size_t i = 0; i < d->n_logs; i++) {
        if (w->n_listed == w->cap_listed) {
            size_t cap = w->cap_listed ? 2 * w->cap_listed : 64;
            char **grown = realloc(w->listed_logs, cap * sizeof(*grown));

            if (grown == NULL)
                return nomem(err);
            w->listed_logs = grown;
            w->cap_listed = cap;
        }
        w->listed_logs[w->n_listed] = strdup(d->logs[i].key);
        if (w->listed_logs[w->n_listed] == NULL)
            return nomem(err);
        w->n_listed++;
        if (!do_hash)
            continue;
        if (w->n_tasks == w->cap_tasks) {
            size_t cap = w->cap_tasks ? 2 * w->cap_tasks : 64;
            struct log_task *grown = realloc(w->tasks, cap * sizeof(*grown));

            if (grown == NULL)
                return nomem(err);
            w->tasks = grown;
            w->cap_tasks = cap;
        }
        memset(&w->tasks[w->n_tasks], 0, sizeof(w->tasks[0]));
        w->tasks[w->n_tasks].bucket = strdup(d->logs[i].bucket);
        w->tasks[w->n_tasks].key = strdup(d->logs[i].key);
        w->tasks[w->n_tasks].hash = strdup(d->logs[i].hash);
        w->n_tasks++;
        if (!w->tasks[w->n_tasks - 1].bucket || !w->tasks[w->n_tasks - 1].key ||
                !w->tasks[w->n_tasks - 1].hash)
            return nomem(err);
    }
    return LSF_OK;
}

/* What the newer digest said about the one being read (its previous* link). */
struct link {
    bool is_set;
    char *hash; /* borrowed from the newer digest, which outlives the check */
    char *sig;
    char newer_uri[1100];
};

/* Result of reading one digest. */
struct digest_outcome {
    bool is_found;
    bool is_parsed;   /* d holds the digest */
    bool is_trusted;  /* signature valid, or unsigned local copy: its logs are checked */
    enum verify_verdict verdict;
};

/*
 * Read and check one digest; add its item to the report. d is filled when parsed (the caller
 * cleans it up).
 */
static enum lsf_code check_digest(struct walk *w, const struct chain_key *ck, const char *key,
        const struct link *link, struct verify_digest *d, struct digest_outcome *res,
        struct lsf_err *err)
{
    enum verify_kind kind = ck->name.is_backfill ? VERIFY_KIND_BACKFILL_DIGEST : VERIFY_KIND_DIGEST;
    struct verify_object obj;
    struct lsf_buf plain;
    struct lsf_buf tbs;
    struct lsf_err e;
    char detail[DETAIL_MAX];
    const char *bucket = bucket_of(w, NULL);
    bool is_missing = false;
    enum lsf_code rc = LSF_OK;
    enum verify_verdict v = VERIFY_VALID;

    memset(res, 0, sizeof(*res));
    detail[0] = '\0';
    verify_object_init(&obj, w->max_object);
    lsf_buf_init(&plain, DIGEST_MAX_PLAIN);
    lsf_buf_init(&tbs, 64 << 10);
    lsf_err_clear(&e);
    if (w->store->ops->get(w->store->self, bucket, key, &obj, &is_missing, &e) != LSF_OK) {
        if (e.code == LSF_E_NOMEM) {
            rc = lsf_fail(err, LSF_E_NOMEM, "%s", e.msg);
            goto out;
        }
        v = is_missing ? VERIFY_NOT_FOUND : VERIFY_INVALID_FORMAT;
        snprintf(detail, sizeof(detail), "%s", is_missing ? "" : e.msg);
        goto report;
    }
    res->is_found = true;
    if (w->opts && w->opts->copy_to && verify_copy_object(w->opts->copy_to, key, &obj, &e) != LSF_OK)
        w->copy_failed = true; /* the verdicts stand; the copy is reported incomplete */
    if (obj.has_metadata && obj.signature[0] == '\0') {
        v = VERIFY_BAD_SIGNATURE;
        snprintf(detail, sizeof(detail),
                "the object has no x-amz-meta-signature metadata (was it copied without "
                "metadata?)");
        goto report;
    }
    if (verify_decompress(key, obj.body.data ? obj.body.data : (const unsigned char *)"",
                obj.body.len, &plain, &e) != LSF_OK ||
            verify_digest_parse(plain.data ? plain.data : (const unsigned char *)"", plain.len, d,
                    &e) != LSF_OK) {
        v = VERIFY_INVALID_FORMAT;
        snprintf(detail, sizeof(detail), "%s", e.msg);
        goto report;
    }
    res->is_parsed = true;
    if (!bucket[0] && w->store->is_local) {
        /* a local copy of unknown origin: the bucket is the one its digests name */
        snprintf(w->store->bucket, sizeof(w->store->bucket), "%s", d->bucket);
        bucket = w->store->bucket;
    }
    if (strcmp(d->object, key) != 0 || strcmp(d->bucket, bucket) != 0) {
        v = VERIFY_MOVED;
        snprintf(detail, sizeof(detail), "the digest says it was written to s3://%s/%s",
                d->bucket, d->object);
        goto report;
    }
    if (obj.signature[0] == '\0') {
        /* local copy, no sidecar: nothing to check the signature against */
        v = VERIFY_UNSIGNED;
        res->is_trusted = true;
        snprintf(detail, sizeof(detail),
                "no signature (local copy without S3 metadata and no %s sidecar)%s",
                ".sig.json", link && link->is_set ? "" : "; nothing vouches for this digest");
    } else {
        enum verify_sig s = VERIFY_SIG_BAD;

        if (obj.signature_algorithm[0] && strcmp(obj.signature_algorithm, "SHA256withRSA") != 0) {
            v = VERIFY_BAD_SIGNATURE;
            snprintf(detail, sizeof(detail), "unsupported signature algorithm %s",
                    obj.signature_algorithm);
            goto report;
        }
        if (verify_digest_data_to_sign(d, &tbs, err) != LSF_OK) {
            rc = LSF_E_NOMEM;
            goto out;
        }
        s = verify_keyring_check(w->kr, d->fingerprint, tbs.data, tbs.len, obj.signature);
        if (s == VERIFY_SIG_NO_KEY) {
            bool is_new = false;

            /* keys are listed by the region that delivered the digest (7.5) */
            rc = load_region_keys(w, ck->name.region, &is_new, err);
            if (rc != LSF_OK)
                goto out;
            if (is_new)
                s = verify_keyring_check(w->kr, d->fingerprint, tbs.data, tbs.len, obj.signature);
        }
        if (s == VERIFY_SIG_NO_KEY) {
            v = VERIFY_KEY_NOT_FOUND;
            snprintf(detail, sizeof(detail),
                    "public key not found in region %s for fingerprint %s; pass the key with "
                    "--public-key or let logsift call cloudtrail:ListPublicKeys",
                    ck->name.region, d->fingerprint);
        } else if (s == VERIFY_SIG_KEY_UNLOADABLE) {
            v = VERIFY_KEY_UNLOADABLE;
            snprintf(detail, sizeof(detail), "with fingerprint %s", d->fingerprint);
        } else if (s == VERIFY_SIG_BAD) {
            v = VERIFY_BAD_SIGNATURE;
            snprintf(detail, sizeof(detail), "the %s signature does not match the digest "
                    "(edited digest or wrong signature); its log files were not checked",
                    obj.signature_source[0] ? obj.signature_source : "stored");
        } else {
            res->is_trusted = true;
        }
        if (v != VERIFY_VALID)
            goto report;
    }
    /* stricter: the newer digest's link must describe exactly this file */
    if (link != NULL && link->is_set) {
        if (link->hash && strcmp(link->hash, d->sha256_hex) != 0) {
            v = VERIFY_LINK_MISMATCH;
            res->is_trusted = false;
            snprintf(detail, sizeof(detail),
                    "SHA-256 %s differs from previousDigestHashValue %s in %s (the file was "
                    "replaced or edited)",
                    d->sha256_hex, link->hash, link->newer_uri);
        } else if (obj.signature[0] && link->sig && strcmp(link->sig, obj.signature) != 0) {
            v = VERIFY_LINK_MISMATCH;
            res->is_trusted = false;
            snprintf(detail, sizeof(detail),
                    "its signature differs from previousDigestSignature in %s",
                    link->newer_uri);
        } else if (v == VERIFY_UNSIGNED) {
            snprintf(detail, sizeof(detail),
                    "no signature (local copy without S3 metadata and no .sig.json sidecar); "
                    "its SHA-256 matches the link in %s",
                    link->newer_uri);
        }
    }
report:
    res->verdict = v;
    rc = add_item(w, kind, v, bucket_of(w, bucket), key, detail, err);
out:
    lsf_buf_cleanup(&tbs);
    lsf_buf_cleanup(&plain);
    verify_object_cleanup(&obj);
    return rc;
}

/* Index of the newest listed key of the chain [lo, hi) that ends before end_s, or -1. */
static long older_than(const struct chain_key *keys, size_t lo, size_t hi, int64_t end_s)
{
    for (size_t i = hi; i > lo; i--)
        if (keys[i - 1].name.end_s < end_s)
            return (long)(i - 1);
    return -1;
}

/* Walk one chain: keys[lo, hi) share a group, ascending by end time. */
static enum lsf_code walk_chain(struct walk *w, const struct chain_key *keys, size_t lo, size_t hi,
        struct lsf_err *err)
{
    struct verify_digest newer;
    struct verify_digest cur;
    bool has_newer = false;
    long idx = (long)hi - 1;
    char key_buf[1024];
    const char *key;
    struct link link = {0};
    int64_t missing_end = -1; /* end time of the last digest found missing, -1: none */
    char missing_uri[1100] = "";
    const struct chain_key *ck;
    enum lsf_code rc = LSF_OK;

    memset(&newer, 0, sizeof(newer));
    memset(&cur, 0, sizeof(cur));
    /* start at the newest key inside the window (7.6 step 1) */
    while (idx >= (long)lo && keys[idx].name.end_s > w->until_s + DIGEST_PERIOD_S)
        idx--;
    if (idx < (long)lo)
        return LSF_OK;
    snprintf(key_buf, sizeof(key_buf), "%s", keys[idx].key);
    key = key_buf;
    ck = &keys[idx];
    while (key != NULL) {
        struct digest_outcome res;
        struct verify_digest_name name;
        int64_t start_s = 0;
        int64_t end_s;
        bool is_named = verify_digest_name_parse(key, &name);

        end_s = is_named ? name.end_s : ck->name.end_s;
        if (end_s < w->since_s)
            break;
        rc = check_digest(w, ck, key, &link, &cur, &res, err);
        if (rc != LSF_OK)
            break;
        if (!res.is_found) {
            missing_end = end_s;
            snprintf(missing_uri, sizeof(missing_uri), "%s", key);
            idx = older_than(keys, lo, hi, end_s);
        } else {
            if (res.is_parsed) {
                rc = queue_logs(w, &cur, res.is_trusted, err);
                if (rc != LSF_OK)
                    break;
                if (res.is_trusted && verify_time_parse(cur.start, &start_s)) {
                    int64_t e_s = end_s;

                    (void)verify_time_parse(cur.end, &e_s);
                    if (w->oldest_start < 0 || start_s < w->oldest_start)
                        w->oldest_start = start_s;
                    if (e_s > w->newest_end)
                        w->newest_end = e_s;
                }
            }
            /* stricter: digests deleted between a missing one and this one (aws-cli#7054) */
            if (missing_end >= 0 && end_s < missing_end - DIGEST_PERIOD_S - DIGEST_PERIOD_SLACK) {
                char a[24];
                char b[24];
                char msg[DETAIL_MAX];

                verify_time_format(end_s, a, sizeof(a));
                verify_time_format(missing_end, b, sizeof(b));
                snprintf(msg, sizeof(msg),
                        "more digests are missing between %s and %s than the one reported "
                        "missing (%s): about %lld consecutive digests deleted (aws-cli does not "
                        "report these, aws-cli#7054)",
                        a, b, missing_uri,
                        (long long)((missing_end - end_s + DIGEST_PERIOD_S / 2) / DIGEST_PERIOD_S));
                rc = add_item(w, VERIFY_KIND_CHAIN, VERIFY_MISSING_DIGESTS, bucket_of(w, cur.bucket),
                        key, msg, err);
                if (rc != LSF_OK)
                    break;
            }
            missing_end = -1;
            idx = older_than(keys, lo, hi, end_s);
            if (res.is_parsed && cur.prev_object != NULL && cur.prev_bucket != NULL) {
                /* follow the link; re-find our place in the listing */
                verify_digest_cleanup(&newer);
                newer = cur;
                memset(&cur, 0, sizeof(cur));
                has_newer = true;
                snprintf(key_buf, sizeof(key_buf), "%s", newer.prev_object);
                key = key_buf;
                link.is_set = true;
                link.hash = newer.prev_hash;
                link.sig = newer.prev_sig;
                snprintf(link.newer_uri, sizeof(link.newer_uri), "s3://%s/%s",
                        bucket_of(w, newer.bucket), newer.object);
                if (res.is_trusted && verify_time_parse(newer.start, &start_s) &&
                        start_s < w->since_s)
                    break; /* 7.6 step 5 */
                {
                    struct verify_digest_name pn;

                    if (verify_digest_name_parse(key, &pn)) {
                        long j = older_than(keys, lo, hi, pn.end_s + 1);

                        ck = j >= 0 && strcmp(keys[j].key, key) == 0 ? &keys[j] : ck;
                    }
                }
                continue;
            }
            if (res.is_parsed && res.is_trusted && cur.prev_object == NULL && idx >= 0) {
                /* a starting digest with older digests listed: a gap in the chain (7.7) */
                char msg[DETAIL_MAX];
                char older_end[24];

                verify_time_format(keys[idx].name.end_s, older_end, sizeof(older_end));
                snprintf(msg, sizeof(msg),
                        "No log files were delivered by CloudTrail between %s and %s", older_end,
                        cur.start);
                rc = add_item(w, VERIFY_KIND_CHAIN, VERIFY_GAP, bucket_of(w, cur.bucket), key, msg,
                        err);
                if (rc != LSF_OK)
                    break;
            }
        }
        verify_digest_cleanup(&cur);
        link.is_set = false;
        link.hash = link.sig = NULL;
        if (idx < 0) {
            key = NULL;
            break;
        }
        ck = &keys[idx];
        snprintf(key_buf, sizeof(key_buf), "%s", keys[idx].key);
        key = key_buf;
    }
    verify_digest_cleanup(&cur);
    if (has_newer)
        verify_digest_cleanup(&newer);
    return rc;
}

/* ---- expected hashes for scan --verify ----------------------------------------------------- */

static const char *from_awslogs(const char *name)
{
    const char *p = strstr(name, "AWSLogs/");

    return p ? p : name;
}

struct expect_pair {
    char *key;
    char *hash;
};

static int expect_pair_cmp(const void *a, const void *b)
{
    return strcmp(from_awslogs(((const struct expect_pair *)a)->key),
            from_awslogs(((const struct expect_pair *)b)->key));
}

static void verify_expect_sort(struct verify_expect *ex)
{
    struct expect_pair *pairs = malloc((ex->n ? ex->n : 1) * sizeof(*pairs));

    if (pairs == NULL)
        return; /* left unsorted: lookups then fall back to a scan */
    for (size_t i = 0; i < ex->n; i++)
        pairs[i] = (struct expect_pair){ex->keys[i], ex->hashes[i]};
    qsort(pairs, ex->n, sizeof(*pairs), expect_pair_cmp);
    for (size_t i = 0; i < ex->n; i++) {
        ex->keys[i] = pairs[i].key;
        ex->hashes[i] = pairs[i].hash;
    }
    free(pairs);
}

void verify_expect_cleanup(struct verify_expect *ex)
{
    for (size_t i = 0; i < ex->n; i++) {
        free(ex->keys[i]);
        free(ex->hashes[i]);
    }
    free(ex->keys);
    free(ex->hashes);
    memset(ex, 0, sizeof(*ex));
}

const char *verify_expect_find(const struct verify_expect *ex, const char *name)
{
    const char *want = from_awslogs(name);
    size_t lo = 0;
    size_t hi = ex->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(from_awslogs(ex->keys[mid]), want);

        if (c == 0)
            return ex->hashes[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- parallel log hashing ------------------------------------------------------------------ */

struct pool {
    struct walk *w;
    pthread_mutex_t mu;
    size_t next;
};

static void check_log(struct walk *w, struct log_task *t)
{
    struct verify_object obj;
    struct verify_archive ar;
    struct lsf_err e;
    bool is_missing = false;
    char note[256];

    verify_object_init(&obj, w->max_object);
    lsf_err_clear(&e);
    t->verdict = VERIFY_VALID;
    t->detail[0] = '\0';
    if (w->store->ops->get(w->store->self, t->bucket, t->key, &obj, &is_missing, &e) != LSF_OK) {
        t->verdict = is_missing ? VERIFY_NOT_FOUND : VERIFY_INVALID_FORMAT;
        if (!is_missing)
            snprintf(t->detail, sizeof(t->detail), "%s", e.msg);
        goto out;
    }
    if (w->opts && w->opts->copy_to &&
            verify_copy_object(w->opts->copy_to, t->key, &obj, &e) != LSF_OK) {
        pthread_mutex_lock(&w->copy_mu);
        w->copy_failed = true;
        pthread_mutex_unlock(&w->copy_mu);
    }
    if (verify_object_checksums(t->key, &obj, note, sizeof(note), &e) != LSF_OK) {
        t->verdict = VERIFY_CHECKSUM_MISMATCH;
        snprintf(t->detail, sizeof(t->detail), "%s", e.msg);
        goto out;
    }
    if (verify_archive_check(t->key, obj.body.data ? obj.body.data : (const unsigned char *)"",
                obj.body.len, &ar, &e) != LSF_OK) {
        /* aws-cli inflates what it can of a cut-off gzip and reports the hash; say the same,
         * with the cause. Other damage it cannot inflate is "invalid format" there too. */
        t->verdict = strstr(e.msg, "truncated") && t->hash ? VERIFY_HASH_MISMATCH
                                                          : VERIFY_INVALID_FORMAT;
        snprintf(t->detail, sizeof(t->detail), "%s", e.msg);
        goto out;
    }
    if (ar.n_frames_unchecked > 0)
        snprintf(t->note, sizeof(t->note),
                "%u of %u zstd frames carry no content checksum (written without one): "
                "corruption inside them is caught only by a digest or manifest hash",
                ar.n_frames_unchecked, ar.n_frames);
    if (t->hash != NULL && strcmp(ar.sha256_hex, t->hash) != 0) {
        t->verdict = VERIFY_HASH_MISMATCH;
        snprintf(t->detail, sizeof(t->detail),
                "SHA-256 of the decompressed log is %s, the digest says %s (the log was altered)",
                ar.sha256_hex, t->hash);
        goto out;
    }
    if (note[0])
        snprintf(t->detail, sizeof(t->detail), "%s", note);
out:
    verify_object_cleanup(&obj);
}

static void *pool_main(void *arg)
{
    struct pool *p = arg;

    for (;;) {
        size_t i;

        pthread_mutex_lock(&p->mu);
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->w->n_tasks)
            return NULL;
        check_log(p->w, &p->w->tasks[i]);
    }
}

static enum lsf_code hash_logs(struct walk *w, struct lsf_err *err)
{
    unsigned jobs = w->opts && w->opts->jobs ? w->opts->jobs : DEFAULT_JOBS;
    pthread_t *threads;
    struct pool p = {.w = w, .next = 0};
    unsigned started = 0;
    enum lsf_code rc = LSF_OK;

    if (w->n_tasks == 0)
        return LSF_OK;
    if (w->opts && w->opts->expect) {
        /* scan --verify: hand the expected hashes over instead of fetching the logs */
        struct verify_expect *ex = w->opts->expect;
        size_t n = ex->n + w->n_tasks;
        char **keys = realloc(ex->keys, n * sizeof(*keys));

        if (keys == NULL)
            return nomem(err);
        ex->keys = keys;
        keys = realloc(ex->hashes, n * sizeof(*keys));
        if (keys == NULL)
            return nomem(err);
        ex->hashes = keys;
        for (size_t i = 0; i < w->n_tasks; i++) {
            ex->keys[ex->n] = w->tasks[i].key;
            ex->hashes[ex->n++] = w->tasks[i].hash;
            w->tasks[i].key = w->tasks[i].hash = NULL;
        }
        verify_expect_sort(ex);
        return LSF_OK;
    }
    if (jobs > w->n_tasks)
        jobs = (unsigned)w->n_tasks;
    threads = calloc(jobs, sizeof(*threads));
    if (threads == NULL)
        return nomem(err);
    pthread_mutex_init(&p.mu, NULL);
    for (unsigned i = 1; i < jobs; i++)
        if (pthread_create(&threads[i], NULL, pool_main, &p) == 0)
            started++;
        else
            break;
    pool_main(&p); /* the calling thread works too */
    for (unsigned i = 1; i <= started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&p.mu);
    free(threads);
    for (size_t i = 0; rc == LSF_OK && i < w->n_tasks; i++) {
        enum verify_kind kind = w->tasks[i].hash ? VERIFY_KIND_LOG : VERIFY_KIND_OBJECT;

        rc = add_item(w, kind, w->tasks[i].verdict, bucket_of(w, w->tasks[i].bucket),
                w->tasks[i].key, w->tasks[i].detail, err);
        if (rc == LSF_OK && w->tasks[i].note[0])
            rc = add_item(w, kind, VERIFY_NOTE, bucket_of(w, w->tasks[i].bucket),
                    w->tasks[i].key, w->tasks[i].note, err);
    }
    return rc;
}

/* Log files under the chains' log folders, delivered inside the walked window, in no digest. */
static enum lsf_code check_unlisted(struct walk *w, const struct verify_listing *list,
        const struct chain_key *keys, size_t n_keys, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    if (w->oldest_start < 0)
        return LSF_OK;
    qsort(w->listed_logs, w->n_listed, sizeof(char *), str_cmp);
    for (size_t i = 0; rc == LSF_OK && i < list->n_keys; i++) {
        const char *key = list->keys[i];
        size_t dir_len;
        int64_t delivered;
        bool is_chain_dir = false;
        char msg[DETAIL_MAX];

        if (!verify_log_name_parse(key, &dir_len, &delivered))
            continue;
        if (delivered < w->oldest_start || delivered > w->newest_end)
            continue;
        for (size_t k = 0; k < n_keys && !is_chain_dir; k++)
            is_chain_dir = strlen(keys[k].name.log_dir) == dir_len &&
                           strncmp(keys[k].name.log_dir, key, dir_len) == 0;
        if (!is_chain_dir)
            continue;
        if (bsearch(&key, w->listed_logs, w->n_listed, sizeof(char *), str_cmp) != NULL)
            continue;
        snprintf(msg, sizeof(msg),
                "delivered inside the validated window but listed in no digest (added to the "
                "bucket, or its digest is missing); treat its events as unverified");
        rc = add_item(w, VERIFY_KIND_LOG, VERIFY_UNLISTED_LOG, bucket_of(w, NULL), key, msg, err);
    }
    return rc;
}

enum lsf_code verify_trail(struct verify_store *store, const struct verify_keyring *kr,
        const struct verify_trail_opts *opts, struct verify_report *rep, struct lsf_err *err)
{
    struct verify_listing list = {0};
    struct chain_key *keys = NULL;
    size_t n_keys = 0;
    struct walk w = {.store = store, .kr = kr, .opts = opts, .rep = rep};
    enum lsf_code rc;

    w.max_object = opts && opts->max_object_len ? opts->max_object_len : DEFAULT_MAX_OBJECT;
    w.since_s = INT64_MIN / 2;
    w.until_s = INT64_MAX / 2;
    w.oldest_start = -1;
    if (opts && opts->since && !verify_time_parse(opts->since, &w.since_s))
        return lsf_fail(err, LSF_E_USAGE,
                "--since %s: not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", opts->since);
    if (opts && opts->until && !verify_time_parse(opts->until, &w.until_s))
        return lsf_fail(err, LSF_E_USAGE,
                "--until %s: not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", opts->until);
    if (opts && opts->until && strlen(opts->until) == 10)
        w.until_s += 86400 - 1; /* a day is inclusive */
    rc = store->ops->list(store->self, store->prefix, &list, err);
    if (rc != LSF_OK)
        return rc;
    pthread_mutex_init(&w.copy_mu, NULL);
    keys = calloc(list.n_keys ? list.n_keys : 1, sizeof(*keys));
    if (keys == NULL) {
        rc = nomem(err);
        goto out;
    }
    for (size_t i = 0; i < list.n_keys; i++)
        if (verify_digest_name_parse(list.keys[i], &keys[n_keys].name))
            keys[n_keys++].key = list.keys[i];
    qsort(keys, n_keys, sizeof(*keys), chain_key_cmp);
    for (size_t lo = 0; rc == LSF_OK && lo < n_keys;) {
        size_t hi = lo + 1;

        while (hi < n_keys && strcmp(keys[hi].name.group, keys[lo].name.group) == 0)
            hi++;
        rc = walk_chain(&w, keys, lo, hi, err);
        lo = hi;
    }
    if (rc == LSF_OK)
        rc = hash_logs(&w, err);
    if (rc == LSF_OK && (!opts || opts->check_unlisted))
        rc = check_unlisted(&w, &list, keys, n_keys, err);
    if (rc == LSF_OK && w.copy_failed &&
            verify_report_add(rep, VERIFY_KIND_OBJECT, VERIFY_UNREADABLE, opts->copy_to,
                    "some objects could not be written to the copy (disk full or permissions?); "
                    "the verdicts are complete, the copy is not") != LSF_OK)
        rc = nomem(err);
    if (w.oldest_start >= 0) {
        verify_time_format(w.oldest_start, rep->range_start, sizeof(rep->range_start));
        verify_time_format(w.newest_end, rep->range_end, sizeof(rep->range_end));
    }
out:
    for (size_t i = 0; i < w.n_tasks; i++) {
        free(w.tasks[i].bucket);
        free(w.tasks[i].key);
        free(w.tasks[i].hash);
    }
    free(w.tasks);
    for (size_t i = 0; i < w.n_listed; i++)
        free(w.listed_logs[i]);
    free(w.listed_logs);
    free(keys);
    verify_listing_cleanup(&list);
    pthread_mutex_destroy(&w.copy_mu);
    return rc;
}

/* ---- archive integrity of every object ------------------------------------------------------ */

enum lsf_code verify_archives(struct verify_store *store, const struct verify_trail_opts *opts,
        struct verify_report *rep, struct lsf_err *err)
{
    struct verify_listing list = {0};
    struct walk w = {.store = store, .opts = opts, .rep = rep};
    enum lsf_code rc;

    w.max_object = opts && opts->max_object_len ? opts->max_object_len : DEFAULT_MAX_OBJECT;
    rc = store->ops->list(store->self, store->prefix, &list, err);
    if (rc != LSF_OK)
        return rc;
    pthread_mutex_init(&w.copy_mu, NULL);
    w.tasks = calloc(list.n_keys ? list.n_keys : 1, sizeof(*w.tasks));
    if (w.tasks == NULL)
        rc = nomem(err);
    for (size_t i = 0; rc == LSF_OK && i < list.n_keys; i++) {
        const char *base = strrchr(list.keys[i], '/');

        if (list.keys[i][strlen(list.keys[i]) - 1] == '/' ||
                strcmp(base ? base + 1 : list.keys[i], "aws-logs-write-test") == 0)
            continue; /* folder markers and CloudWatch Logs' permission probe */
        w.tasks[w.n_tasks].key = strdup(list.keys[i]);
        w.tasks[w.n_tasks].bucket = strdup(store->bucket);
        if (w.tasks[w.n_tasks++].key == NULL || w.tasks[w.n_tasks - 1].bucket == NULL)
            rc = nomem(err);
    }
    if (rc == LSF_OK)
        rc = hash_logs(&w, err);
    for (size_t i = 0; i < w.n_tasks; i++) {
        free(w.tasks[i].bucket);
        free(w.tasks[i].key);
    }
    free(w.tasks);
    pthread_mutex_destroy(&w.copy_mu);
    verify_listing_cleanup(&list);
    return rc;
}
