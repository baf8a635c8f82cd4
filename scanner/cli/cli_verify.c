/*
 * cli_verify: "logsift verify" and "logsift manifest". Parses flags, opens the store (a local
 * copy of a bucket, or s3://bucket/prefix), loads public keys, runs fetch/verify and prints the
 * verdicts the way `aws cloudtrail validate-logs` does, or as JSON lines.
 *
 * Exit status: 0 when everything checked is valid, 1 when anything is invalid (a digest, a log,
 * a chain link, a manifest entry), 2 when the run could not start (bad flags, unreadable key,
 * a listing that failed).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "frame.h"
#include "scan.h"
#include "src_s3.h"
#include "verify.h"
#include "verify_s3.h"

#include <stdint.h>

#define VERIFY_EXIT_OK      0
#define VERIFY_EXIT_INVALID 1
#define VERIFY_EXIT_ERROR   2
#define MAX_KEYS            CLI_VERIFY_MAX_KEYS

struct cli_verify_opts {
    const char *public_keys[MAX_KEYS];
    size_t n_public_keys;
    const char *since;
    const char *until;
    const char *bucket;
    const char *manifest;
    const char *manifest_key;
    const char *endpoint_url;
    const char *region;
    const char *profile;
    bool is_jsonl;
    bool is_verbose;
    bool check_unlisted;
    bool fetch_public_keys;
    bool check_archives;
    unsigned jobs;
    const char *src;
    const char *copy_to;
};

static void verify_usage(FILE *to)
{
    fprintf(to,
            "usage: logsift verify [OPTIONS] SRC\n"
            "Check a CloudTrail trail's digest chain and log files (as `aws cloudtrail\n"
            "validate-logs` does, plus stricter checks), or a backup against a manifest.\n"
            "SRC is s3://bucket/prefix or a local copy of the bucket (aws s3 sync).\n"
            "Exit status: 0 all valid, 1 something invalid, 2 the run could not start.\n"
            "      --public-key FILE   RSA public key (PEM/DER, PKCS#1/SPKI; repeatable);\n"
            "                          on S3, keys also come from cloudtrail:ListPublicKeys\n"
            "      --no-list-public-keys  never call ListPublicKeys\n"
            "      --since T, --until T  digests ending in [T, T] (YYYY-MM-DD[THH:MM:SSZ])\n"
            "      --bucket NAME       the bucket a local copy came from (default: as the\n"
            "                          digests say)\n"
            "      --manifest FILE     compare SRC with a manifest (logsift manifest create)\n"
            "      --manifest-key FILE key to check the manifest's signature (HMAC secret or\n"
            "                          Ed25519 public key; else $LOGSIFT_MANIFEST_KEY)\n"
            "      --archives          instead of digests: check every object as an archive\n"
            "                          (gzip CRC-32/ISIZE, zstd checksums, truncation, trailing\n"
            "                          bytes) and against its S3 ETag / x-amz-checksum-*\n"
            "      --no-unlisted       do not report log files that no digest lists\n"
            "      --copy-to DIR       also write every digest and log read to DIR, digests\n"
            "                          with <digest>.sig.json signature sidecars\n"
            "  -j, --jobs N            log files fetched and hashed at once (default 8)\n"
            "  -o, --output FMT        text (default) or jsonl\n"
            "  -v, --verbose           also print the valid files\n"
            "      --endpoint-url URL, --region R, --profile P   for s3:// sources\n"
            "Local copies have no S3 metadata: digest signatures are read from\n"
            "<digest>.sig.json sidecars when present, else reported as not checked.\n");
}

static int parse_verify_args(int argc, char **argv, struct cli_verify_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->check_unlisted = true;
    o->fetch_public_keys = true;
    o->jobs = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            verify_usage(stdout);
            return VERIFY_EXIT_OK;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->is_verbose = true;
            takes = false;
        } else if (strcmp(a, "--archives") == 0) {
            o->check_archives = true;
            takes = false;
        } else if (strcmp(a, "--no-unlisted") == 0) {
            o->check_unlisted = false;
            takes = false;
        } else if (strcmp(a, "--no-list-public-keys") == 0) {
            o->fetch_public_keys = false;
            takes = false;
        } else if (a[0] == '-' && a[1] != '\0') {
            if (v == NULL) {
                fprintf(stderr, "logsift verify: %s needs a value; see logsift verify --help\n", a);
                return VERIFY_EXIT_ERROR;
            }
            if (strcmp(a, "--public-key") == 0) {
                if (o->n_public_keys == MAX_KEYS) {
                    fprintf(stderr, "logsift verify: more than %d --public-key flags\n", MAX_KEYS);
                    return VERIFY_EXIT_ERROR;
                }
                o->public_keys[o->n_public_keys++] = v;
            } else if (strcmp(a, "--since") == 0) {
                o->since = v;
            } else if (strcmp(a, "--until") == 0) {
                o->until = v;
            } else if (strcmp(a, "--copy-to") == 0) {
                o->copy_to = v;
            } else if (strcmp(a, "--bucket") == 0) {
                o->bucket = v;
            } else if (strcmp(a, "--manifest") == 0) {
                o->manifest = v;
            } else if (strcmp(a, "--manifest-key") == 0) {
                o->manifest_key = v;
            } else if (strcmp(a, "--endpoint-url") == 0) {
                o->endpoint_url = v;
            } else if (strcmp(a, "--region") == 0) {
                o->region = v;
            } else if (strcmp(a, "--profile") == 0) {
                o->profile = v;
            } else if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
                char *end;
                unsigned long n = strtoul(v, &end, 10);

                if (*end != '\0' || n == 0 || n > 256) {
                    fprintf(stderr, "logsift verify: --jobs %s: give a number from 1 to 256\n", v);
                    return VERIFY_EXIT_ERROR;
                }
                o->jobs = (unsigned)n;
            } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
                if (strcmp(v, "jsonl") == 0) {
                    o->is_jsonl = true;
                } else if (strcmp(v, "text") != 0) {
                    fprintf(stderr, "logsift verify: --output %s: use text or jsonl\n", v);
                    return VERIFY_EXIT_ERROR;
                }
            } else {
                fprintf(stderr, "logsift verify: unknown option %s; see logsift verify --help\n",
                        a);
                return VERIFY_EXIT_ERROR;
            }
            i++;
            continue;
        } else {
            if (o->src != NULL) {
                fprintf(stderr, "logsift verify: one SRC only (got %s and %s)\n", o->src, a);
                return VERIFY_EXIT_ERROR;
            }
            o->src = a;
            takes = false;
        }
        (void)takes;
    }
    if (o->src == NULL) {
        fprintf(stderr, "logsift verify: no SRC; give a local copy or s3://bucket/prefix\n");
        verify_usage(stderr);
        return VERIFY_EXIT_ERROR;
    }
    return -1;
}

/* Open the store for src: S3 or a local copy. */
static enum lsf_code open_store(const struct cli_verify_opts *o, struct verify_store *store,
        struct lsf_err *err)
{
    if (fetch_s3_is_url(o->src)) {
        struct verify_s3_opts s3 = {
            .endpoint_url = o->endpoint_url,
            .region = o->region,
            .profile = o->profile,
            .concurrency = o->jobs,
        };

        return verify_store_open_s3(o->src, &s3, store, err);
    }
    return verify_store_open_local(o->src, o->bucket, store, err);
}

static int cli_verify_run(int argc, char **argv);

/* ---- logsift manifest create ----------------------------------------------------------- */

/* Event time range of one object, framed as the scan would frame it. */
static void event_range(void *ctx, const char *name, const unsigned char *plain, size_t len,
        char first[32], char last[32])
{
    struct framer *f = NULL;
    struct frame_batch batch;
    struct lsf_err err;
    unsigned char *copy;
    size_t pos = 0;
    int64_t lo = INT64_MAX;
    int64_t hi = INT64_MIN;

    (void)ctx;
    (void)name;
    lsf_err_clear(&err);
    frame_batch_init(&batch);
    copy = malloc(len ? len : 1); /* the framer rewrites its window in place */
    if (copy == NULL || framer_new(FRAME_AUTO, (size_t)16 << 20, &f, &err) != LSF_OK)
        goto out;
    memcpy(copy, plain, len);
    while (pos < len && !framer_gave_up(f)) {
        size_t consumed = 0;

        frame_batch_reset(&batch);
        (void)framer_feed(f, copy + pos, len - pos, pos, true, &batch, &consumed, &err);
        lsf_err_clear(&err);
        for (size_t i = 0; i < batch.n; i++) {
            const struct frame_event *ev = &batch.ev[i];
            int64_t t = ev->ts_ms != FRAME_TS_UNKNOWN
                                ? ev->ts_ms
                                : frame_event_time(framer_format(f), copy + pos + ev->off, ev->len,
                                          (int64_t)time(NULL) * 1000);

            if (t == FRAME_TS_UNKNOWN)
                continue;
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
        }
        if (consumed == 0)
            break;
        pos += consumed;
    }
    if (lo <= hi) {
        time_t a = (time_t)(lo / 1000);
        time_t b = (time_t)(hi / 1000);
        struct tm tm;

        strftime(first, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&a, &tm));
        strftime(last, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&b, &tm));
    }
out:
    framer_free(f);
    frame_batch_cleanup(&batch);
    free(copy);
}

static void manifest_usage(FILE *to)
{
    fprintf(to,
            "usage: logsift manifest create [OPTIONS] SRC -o MANIFEST\n"
            "Record every object of a backup (key, size, SHA-256, ETag, event time range) in a\n"
            "signed manifest; check it later with logsift verify --manifest MANIFEST SRC.\n"
            "SRC is a folder or s3://bucket/prefix (CloudWatch Logs exports, Firehose backups).\n"
            "  -o, --output FILE       where to write the manifest\n"
            "      --manifest-key FILE HMAC secret (file bytes) or Ed25519 private key (PEM);\n"
            "                          default: the value of $LOGSIFT_MANIFEST_KEY as a secret\n"
            "      --endpoint-url URL, --region R, --profile P   for s3:// sources\n");
}

static int cli_manifest(int argc, char **argv)
{
    struct cli_verify_opts o;
    const char *out_path = NULL;
    struct verify_store store = {0};
    struct verify_report rep;
    struct lsf_err err;
    int status = VERIFY_EXIT_ERROR;

    memset(&o, 0, sizeof(o));
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        manifest_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? VERIFY_EXIT_OK : VERIFY_EXIT_ERROR;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            manifest_usage(stdout);
            return VERIFY_EXIT_OK;
        }
        if (a[0] != '-') {
            if (o.src != NULL) {
                fprintf(stderr, "logsift manifest: one SRC only (got %s and %s)\n", o.src, a);
                return VERIFY_EXIT_ERROR;
            }
            o.src = a;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "logsift manifest: %s needs a value\n", a);
            return VERIFY_EXIT_ERROR;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            out_path = v;
        else if (strcmp(a, "--manifest-key") == 0)
            o.manifest_key = v;
        else if (strcmp(a, "--endpoint-url") == 0)
            o.endpoint_url = v;
        else if (strcmp(a, "--region") == 0)
            o.region = v;
        else if (strcmp(a, "--profile") == 0)
            o.profile = v;
        else {
            fprintf(stderr, "logsift manifest: unknown option %s; see logsift manifest --help\n",
                    a);
            return VERIFY_EXIT_ERROR;
        }
        i++;
    }
    if (o.src == NULL || out_path == NULL) {
        fprintf(stderr, "logsift manifest create: give SRC and -o MANIFEST\n");
        return VERIFY_EXIT_ERROR;
    }
    o.jobs = 8;
    lsf_err_clear(&err);
    verify_report_init(&rep);
    if (open_store(&o, &store, &err) == LSF_OK &&
            verify_manifest_create(&store, out_path, o.manifest_key, o.src, event_range, NULL, &rep,
                    &err) == LSF_OK) {
        size_t bad = verify_report_count(&rep, VERIFY_KIND_OBJECT, VERIFY_UNREADABLE);

        for (size_t i = 0; i < rep.n_items; i++)
            fprintf(stderr, "Object\t%s\t%s\t%s\n", rep.items[i].uri,
                    verify_verdict_text(rep.items[i].verdict), rep.items[i].detail);
        printf("manifest written to %s%s\n", out_path,
                bad ? " (with unreadable objects: see above)" : "");
        status = bad ? VERIFY_EXIT_INVALID : VERIFY_EXIT_OK;
    } else {
        fprintf(stderr, "logsift manifest: %s\n", err.msg);
    }
    verify_report_cleanup(&rep);
    verify_store_close(&store);
    return status;
}

int cli_verify(int argc, char **argv)
{
    if (strcmp(argv[0], "manifest") == 0)
        return cli_manifest(argc, argv);
    return cli_verify_run(argc, argv);
}

static int cli_verify_run(int argc, char **argv)
{
    struct cli_verify_opts o;
    struct verify_store store = {0};
    struct verify_keyring *kr = NULL;
    struct verify_report rep;
    struct lsf_err err;
    bool is_failed;
    int status = parse_verify_args(argc, argv, &o);

    if (status >= 0)
        return status;
    lsf_err_clear(&err);
    verify_report_init(&rep);
    status = VERIFY_EXIT_ERROR;
    if (verify_keyring_new(&kr, &err) != LSF_OK)
        goto out;
    for (size_t i = 0; i < o.n_public_keys; i++)
        if (verify_keyring_add_file(kr, o.public_keys[i], &err) != LSF_OK)
            goto out;
    if (open_store(&o, &store, &err) != LSF_OK)
        goto out;
    if (o.manifest != NULL) {
        if (verify_manifest_check(&store, o.manifest, o.manifest_key, &rep, &err) != LSF_OK)
            goto out;
    } else if (o.check_archives) {
        struct verify_trail_opts aopts = {.jobs = o.jobs};

        if (verify_archives(&store, &aopts, &rep, &err) != LSF_OK)
            goto out;
    } else {
        struct verify_s3_keys keys = {&store, kr, o.since, o.until};
        bool is_online = !store.is_local && o.fetch_public_keys;
        struct verify_trail_opts topts = {
            .since = o.since,
            .until = o.until,
            .jobs = o.jobs,
            .check_unlisted = o.check_unlisted,
            .load_region_keys = is_online ? verify_s3_load_region_keys : NULL,
            .keys_ctx = &keys,
            .copy_to = o.copy_to,
        };

        if (verify_trail(&store, kr, &topts, &rep, &err) != LSF_OK)
            goto out;
    }
    if (o.is_jsonl) {
        is_failed = verify_report_print_jsonl(&rep, stdout);
    } else {
        if (o.manifest == NULL && !o.check_archives)
            printf("Validating log files in %s\n\n", o.src);
        fflush(stdout);
        is_failed = verify_report_print_text(&rep, o.is_verbose, stdout, stderr);
    }
    status = is_failed ? VERIFY_EXIT_INVALID : VERIFY_EXIT_OK;
out:
    if (status == VERIFY_EXIT_ERROR && err.code != LSF_OK)
        fprintf(stderr, "logsift verify: %s\n", err.msg);
    verify_report_cleanup(&rep);
    verify_store_close(&store);
    verify_keyring_free(kr);
    fflush(stdout);
    return status;
}

/* ---- logsift scan --verify ------------------------------------------------------------------ */

/*
 * The digests under the scanned paths are walked first (signatures, chain, unlisted logs); the
 * logs they list are not fetched. Instead the scan's own source is wrapped: each input's
 * decompressed bytes pass through a verify_tap, and when an input ends its SHA-256 is compared
 * with the digest's. Every failure becomes a high-severity finding in the scan's output.
 */
struct cli_scan_verify {
    struct scan_source inner;
    struct verify_report rep;
    struct verify_expect expect;
    struct verify_keyring *kr;
    pthread_mutex_t mu; /* guards rep: inputs end on worker threads */
    bool is_out_of_memory;
};

static void scan_input_done(void *ctx, const char *name, const char *sha256_hex, uint64_t len)
{
    struct cli_scan_verify *v = ctx;
    const char *want = verify_expect_find(&v->expect, name);
    enum lsf_code rc;

    (void)len;
    if (want == NULL)
        return;
    pthread_mutex_lock(&v->mu);
    if (strcmp(want, sha256_hex) != 0)
        rc = verify_report_add(&v->rep, VERIFY_KIND_LOG, VERIFY_HASH_MISMATCH, name,
                "SHA-256 of the scanned bytes is %s, the digest says %s (the log was altered)",
                sha256_hex, want);
    else
        rc = verify_report_add(&v->rep, VERIFY_KIND_LOG, VERIFY_VALID, name, "%s", "");
    if (rc != LSF_OK)
        v->is_out_of_memory = true; /* reported by cli_scan_verify_end */
    pthread_mutex_unlock(&v->mu);
}

static enum lsf_code verify_source_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct cli_scan_verify *v = self;
    struct lsf_reader raw = {0};
    enum lsf_code rc = v->inner.next(v->inner.self, name, &raw, done, err);

    if (rc != LSF_OK || *done)
        return rc;
    if (verify_expect_find(&v->expect, *name) == NULL) {
        *rd = raw; /* not a log any digest lists: nothing to compare */
        return LSF_OK;
    }
    return verify_tap_wrap(raw, *name, scan_input_done, v, rd, err);
}

int cli_scan_verify_begin(const char *const *paths, size_t n_paths, const char *const *key_files,
        size_t n_key_files, const struct fetch_s3_opts *s3, struct scan_source *source,
        struct cli_scan_verify **out)
{
    struct cli_scan_verify *v = calloc(1, sizeof(*v));
    struct lsf_err err;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    lsf_err_clear(&err);
    if (v == NULL) {
        fprintf(stderr, "logsift: out of memory for --verify\n");
        return -1;
    }
    pthread_mutex_init(&v->mu, NULL);
    verify_report_init(&v->rep);
    rc = verify_keyring_new(&v->kr, &err);
    for (size_t i = 0; rc == LSF_OK && i < n_key_files; i++)
        rc = verify_keyring_add_file(v->kr, key_files[i], &err);
    for (size_t i = 0; rc == LSF_OK && i < n_paths; i++) {
        struct cli_verify_opts o;
        struct verify_store store = {0};
        /* the scan's --since/--until (S3 day paths) also bound the digests walked */
        struct verify_trail_opts topts = {.since = s3->since, .until = s3->until, .jobs = 8,
                .check_unlisted = true, .expect = &v->expect};
        struct verify_s3_keys keys;

        memset(&o, 0, sizeof(o));
        o.src = paths[i];
        o.endpoint_url = s3->endpoint_url;
        o.region = s3->region;
        o.profile = s3->profile;
        o.jobs = 8;
        if (!fetch_s3_is_url(paths[i])) {
            struct stat st;

            if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode))
                continue; /* a single file or stdin: no digests beside it */
        }
        rc = open_store(&o, &store, &err);
        keys = (struct verify_s3_keys){&store, v->kr, s3->since, s3->until};
        if (!store.is_local) {
            topts.load_region_keys = verify_s3_load_region_keys; /* each digest region's keys */
            topts.keys_ctx = &keys;
        }
        if (rc == LSF_OK)
            rc = verify_trail(&store, v->kr, &topts, &v->rep, &err);
        verify_store_close(&store);
    }
    if (rc != LSF_OK) {
        fprintf(stderr, "logsift: --verify: %s\n", err.msg);
        cli_scan_verify_free(v);
        return -1;
    }
    v->inner = *source;
    *source = (struct scan_source){verify_source_next, v};
    *out = v;
    return 0;
}

/* One integrity failure as a finding line, in the scan's JSONL schema or as a table row. */
/*
 * Hand one integrity failure to the scan's sink as a high-severity finding, so it reaches the
 * same outputs (JSONL, table, OCSF), the alert spool (SNS, metrics) and the report as the
 * detections do. false when the sink failed (its message is on stderr).
 */
static bool emit_integrity_finding(const struct verify_item *it, struct scan_sink *sink)
{
    char rule[96];
    struct lsf_buf out;
    struct lsf_err err;
    struct lsf_finding f;
    enum lsf_code rc;

    snprintf(rule, sizeof(rule), "logsift.integrity.%s", verify_verdict_name(it->verdict));
    memset(&f, 0, sizeof(f));
    f.rule_id = rule;
    f.title = verify_verdict_text(it->verdict);
    f.severity = "high";
    f.source = it->uri;
    f.format = verify_kind_name(it->kind);
    f.ts_ms = LSF_TS_UNKNOWN;
    f.event = (const unsigned char *)it->detail;
    f.event_len = strlen(it->detail);
    lsf_err_clear(&err);
    lsf_buf_init(&out, (size_t)1 << 20);
    rc = sink->format(sink->self, &f, &out, &err);
    if (rc == LSF_OK)
        rc = sink->write(sink->self, out.data, out.len, &err);
    lsf_buf_cleanup(&out);
    if (rc != LSF_OK)
        fprintf(stderr, "logsift: --verify: %s\n", err.msg);
    return rc == LSF_OK;
}

size_t cli_scan_verify_end(struct cli_scan_verify *v, struct scan_sink *sink, bool is_quiet,
        bool *is_sink_failed)
{
    size_t n_bad = 0;
    size_t n_logs = 0;
    size_t n_ok = 0;

    for (size_t i = 0; i < v->rep.n_items; i++) {
        const struct verify_item *it = &v->rep.items[i];

        if (it->kind == VERIFY_KIND_LOG && it->verdict != VERIFY_UNLISTED_LOG) {
            n_logs++;
            n_ok += it->verdict == VERIFY_VALID;
        }
        if (!verify_verdict_is_failure(it->verdict))
            continue;
        n_bad++;
        if (!emit_integrity_finding(it, sink))
            *is_sink_failed = true;
    }
    if (v->is_out_of_memory) {
        fprintf(stderr, "logsift: --verify: out of memory recording results; some log files "
                "were not compared\n");
        n_bad++;
    }
    if (!is_quiet)
        fprintf(stderr, "logsift: --verify: %zu/%zu scanned log files match their digests, "
                "%zu integrity findings (%zu digests checked)\n", n_ok, n_logs, n_bad,
                verify_report_count(&v->rep, VERIFY_KIND_DIGEST, -1));
    return n_bad;
}

void cli_scan_verify_free(struct cli_scan_verify *v)
{
    if (v == NULL)
        return;
    verify_report_cleanup(&v->rep);
    verify_expect_cleanup(&v->expect);
    verify_keyring_free(v->kr);
    pthread_mutex_destroy(&v->mu);
    free(v);
}
