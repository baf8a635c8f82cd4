/*
 * verify: backup integrity. CloudTrail digest chains (shared/spec/aws-facts.md 7), archive
 * integrity (gzip CRC-32/ISIZE, zstd frame checksums, truncation, trailing garbage), S3 ETag and
 * x-amz-checksum-* values (3.4), and signed manifests for backups that carry no digests.
 *
 * Objects are read through a store (struct verify_store): a local copy of a bucket or S3 itself.
 * Every check ends as a struct verify_item in a struct verify_report; nothing is printed here
 * except by verify_report_print_*. Integrity failures are verdicts, not errors: a function
 * returns an lsf_code only when it could not do its job (usage, memory, a listing that failed).
 */
#ifndef VERIFY_H
#define VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lsf_buf.h"
#include "lsf_err.h"
#include "lsf_reader.h"

/* ---------------------------------------------------------------------------------------------
 * Verdicts and the report
 */

enum verify_verdict {
    VERIFY_VALID = 0,
    VERIFY_UNSIGNED,         /* digest hashes/links checked, its signature could not be */
    VERIFY_NOT_FOUND,        /* INVALID: not found */
    VERIFY_BAD_SIGNATURE,    /* INVALID: signature verification failed */
    VERIFY_INVALID_FORMAT,   /* INVALID: invalid format (gunzip, JSON, required keys, archive) */
    VERIFY_MOVED,            /* INVALID: has been moved from its original location */
    VERIFY_KEY_NOT_FOUND,    /* INVALID: public key not found ... for fingerprint */
    VERIFY_KEY_UNLOADABLE,   /* INVALID: Unable to load PKCS #1 key with fingerprint */
    VERIFY_HASH_MISMATCH,    /* INVALID: hash value doesn't match */
    VERIFY_LINK_MISMATCH,    /* stricter: older digest differs from its newer digest's link */
    VERIFY_MISSING_DIGESTS,  /* stricter: digests missing that the CLI does not report */
    VERIFY_UNLISTED_LOG,     /* stricter: a log file in the store that no digest lists */
    VERIFY_CHECKSUM_MISMATCH, /* S3 ETag / x-amz-checksum-* / size differ from the bytes */
    VERIFY_ADDED,            /* manifest: object not in the manifest */
    VERIFY_REMOVED,          /* manifest: object in the manifest, gone */
    VERIFY_CHANGED,          /* manifest: size or SHA-256 differ */
    VERIFY_UNREADABLE,       /* manifest: object could not be read */
    VERIFY_GAP,              /* information: no logs delivered between two times (CLI line) */
    VERIFY_NOTE              /* information: e.g. a zstd frame without a content checksum */
};

enum verify_kind {
    VERIFY_KIND_DIGEST = 0,
    VERIFY_KIND_BACKFILL_DIGEST,
    VERIFY_KIND_LOG,
    VERIFY_KIND_CHAIN, /* gaps and missing-digest runs, about the chain not one object */
    VERIFY_KIND_OBJECT /* manifest entries and archive checks */
};

struct verify_item {
    enum verify_kind kind;
    enum verify_verdict verdict;
    char *uri;    /* "s3://bucket/key" (also for local copies: the key as S3 named it) */
    char *detail; /* one line: why, and what to do; never NULL */
};

struct verify_report {
    struct verify_item *items;
    size_t n_items;
    size_t cap_items;
    char range_start[24]; /* oldest digestStartTime validated, "" when none */
    char range_end[24];   /* newest digestEndTime validated */
};

void verify_report_init(struct verify_report *rep);
void verify_report_cleanup(struct verify_report *rep);

/* Append an item (uri and detail copied; detail printf-style). LSF_E_NOMEM. */
enum lsf_code verify_report_add(struct verify_report *rep, enum verify_kind kind,
        enum verify_verdict verdict, const char *uri, const char *fmt, ...) LSF_PRINTF(5, 6)
        LSF_WARN_UNUSED;

/* Whether v makes the run fail (exit status 1): every INVALID, mismatch, missing or unread. */
bool verify_verdict_is_failure(enum verify_verdict v);

/* validate-logs' wording for v ("valid", "INVALID: not found", ...); stable JSON name too. */
const char *verify_verdict_text(enum verify_verdict v);
const char *verify_verdict_name(enum verify_verdict v);
const char *verify_kind_name(enum verify_kind k);

/*
 * The validate-logs style text: one TAB-separated line per failure (to err), then the summary
 * (to out): "N/M digest files valid", "K/M digest files INVALID", "U/M digest files without a
 * checkable signature (...)", the same for backfill digests and logs, and object counts.
 * verbose adds the valid lines. Returns whether anything failed.
 */
bool verify_report_print_text(const struct verify_report *rep, bool verbose, FILE *out, FILE *err);

/* One JSON object per item ({"v":1,"kind","verdict","valid","uri","detail"}), then a summary
 * object {"v":1,"summary":{...}}. Returns whether anything failed. */
bool verify_report_print_jsonl(const struct verify_report *rep, FILE *out);

/* Count items of kind with verdict (or with any verdict when verdict is -1). */
size_t verify_report_count(const struct verify_report *rep, enum verify_kind kind, int verdict);

/* ---------------------------------------------------------------------------------------------
 * Stores: where objects come from
 */

/* One stored object, as fetched. */
struct verify_object {
    struct lsf_buf body;          /* the stored (compressed) bytes */
    bool has_metadata;            /* the store keeps S3 metadata (false: local copy) */
    char signature[1100];         /* x-amz-meta-signature or the sidecar's, "" when none */
    char signature_algorithm[64]; /* x-amz-meta-signature-algorithm, "" when none */
    char signature_source[32];    /* "s3 metadata", "sidecar", "" */
    char etag[128];               /* ETag without quotes, "" when none */
    char checksum_algorithm[16];  /* "crc32", "crc32c", "crc64nvme", "sha1", "sha256", "" */
    char checksum[128];           /* base64 x-amz-checksum-<alg> value */
    char checksum_type[32];       /* x-amz-checksum-type, "" when none */
};

void verify_object_init(struct verify_object *obj, size_t max_len);
void verify_object_cleanup(struct verify_object *obj);

/* A listed key and its size. */
struct verify_listing {
    char **keys;
    uint64_t *sizes;
    size_t n_keys;
};

void verify_listing_cleanup(struct verify_listing *list);

struct verify_store_ops {
    /* Every key under prefix, ascending bytewise, into out (cleaned up by the caller). */
    enum lsf_code (*list)(void *self, const char *prefix, struct verify_listing *out,
            struct lsf_err *err);
    /*
     * Fetch bucket/key into obj (body appended). A missing object sets *is_missing and returns
     * LSF_E_INPUT with a message. Must be thread-safe: log files are fetched in parallel.
     */
    enum lsf_code (*get)(void *self, const char *bucket, const char *key, struct verify_object *obj,
            bool *is_missing, struct lsf_err *err);
    void (*free)(void *self);
};

struct verify_store {
    const struct verify_store_ops *ops;
    void *self;
    char bucket[256]; /* the bucket this store holds; "" for a local copy of unknown origin */
    char prefix[1024]; /* where to list under, "" for everything */
    bool is_local;
};

/* Free what the store owns and reset it; safe twice. */
void verify_store_close(struct verify_store *store);

/*
 * A local copy of a bucket (as `aws s3 sync s3://b/ DIR` makes). path may be the copy's root or
 * any folder inside it: when it contains an "AWSLogs" element, the root is the part before and
 * the rest becomes the listing prefix, so keys match the digests' s3Object values. bucket names
 * the original bucket ("" or NULL: unknown, taken from the digests). Signatures come from
 * sidecar files (verify_sidecar_path). LSF_E_USAGE when path is not a directory, LSF_E_NOMEM.
 */
enum lsf_code verify_store_open_local(const char *path, const char *bucket,
        struct verify_store *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Sidecar signature file of a digest in a local copy: "<digest path>.sig.json" holding
 * {"signature": "<hex>", "signatureAlgorithm": "SHA256withRSA"} - the two S3 metadata values
 * that `aws s3 sync` drops. Writes the path for key under root into buf.
 */
void verify_sidecar_path(const char *root, const char *key, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Public keys (7.5)
 */

struct verify_keyring;

enum lsf_code verify_keyring_new(struct verify_keyring **out, struct lsf_err *err) LSF_WARN_UNUSED;
void verify_keyring_free(struct verify_keyring *kr);

/*
 * Add the RSA public key in path: PEM or DER, PKCS#1 RSAPublicKey or SubjectPublicKeyInfo. It is
 * registered under the MD5 fingerprints of both DER encodings, since CloudTrail fingerprints
 * whichever encoding ListPublicKeys returned. LSF_E_USAGE (naming the file and the cause) when
 * it cannot be read or is not an RSA public key.
 */
enum lsf_code verify_keyring_add_file(struct verify_keyring *kr, const char *path,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Add one key as ListPublicKeys returns it: der (PKCS#1, else SPKI) and its fingerprint (NULL:
 * the MD5 of der). A key that does not load is kept as unloadable, so a digest that names it
 * gets "Unable to load PKCS #1 key". LSF_E_NOMEM.
 */
enum lsf_code verify_keyring_add_der(struct verify_keyring *kr, const unsigned char *der,
        size_t len, const char *fingerprint, struct lsf_err *err) LSF_WARN_UNUSED;

size_t verify_keyring_count(const struct verify_keyring *kr);

/* Lower-case hex MD5 of bytes, into hex[33]. */
void verify_md5_hex(const void *bytes, size_t len, char hex[33]);

/* ---------------------------------------------------------------------------------------------
 * Archives and S3 checksums
 */

struct verify_archive {
    int kind;                  /* enum dec_kind */
    uint64_t stored_len;       /* bytes as stored */
    uint64_t plain_len;        /* bytes after decompression */
    unsigned char sha256[32];  /* SHA-256 of the decompressed bytes */
    char sha256_hex[65];
    unsigned n_frames;         /* zstd frames */
    unsigned n_frames_unchecked; /* zstd frames without a content checksum */
};

/*
 * Decompress raw (plain, gzip: every member's CRC-32 and ISIZE, zstd: every frame, its content
 * checksum when present) and hash the result. Damage (truncation, CRC mismatch, trailing
 * garbage) is LSF_E_INPUT with the decoder's message naming name and the byte offset.
 */
enum lsf_code verify_archive_check(const char *name, const unsigned char *raw, size_t len,
        struct verify_archive *out, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Check the stored bytes against the object's ETag (only a 32-hex single-part ETag is an MD5;
 * "<hex>-N" multipart ETags cannot be recomputed without the part size and are reported in
 * *note) and its x-amz-checksum-* value (FULL_OBJECT only; COMPOSITE values cannot be checked).
 * LSF_E_INTEGRITY on a mismatch, naming name, the header and both values.
 */
enum lsf_code verify_object_checksums(const char *name, const struct verify_object *obj,
        char *note, size_t note_len, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---------------------------------------------------------------------------------------------
 * CloudTrail digest chains (7.6, 7.7)
 */

/* Expected SHA-256 of log files, by key, for a scan that hashes the logs as it reads them. */
struct verify_expect {
    char **keys;   /* sorted bytewise */
    char **hashes; /* lower-case hex, same order */
    size_t n;
};

void verify_expect_cleanup(struct verify_expect *ex);

/* The expected hash of the log whose name (a path or s3:// uri) ends in key; NULL if none. The
 * name is matched from its "AWSLogs/" element on, so local copies and S3 agree. */
const char *verify_expect_find(const struct verify_expect *ex, const char *name);

struct verify_trail_opts {
    const char *since; /* "YYYY-MM-DD[THH:MM:SSZ]" or NULL: from the oldest digest */
    const char *until; /* same, or NULL: to the newest */
    unsigned jobs;     /* log files fetched and hashed at once; 0: 4 */
    size_t max_object_len; /* largest object read; 0: 1 GiB */
    bool check_unlisted;   /* report log files in no digest (stricter check) */
    struct verify_expect *expect; /* non-NULL: do not fetch the logs; put what trusted digests
                                     list here instead (scan --verify hashes them itself) */
    /* Optional: called once per region the first time a digest of that region names a
     * fingerprint the keyring lacks (CloudTrail keys are per region, 7.5); it adds that
     * region's keys to the keyring given to verify_trail (e.g. verify_s3_load_region_keys).
     * A failure is returned by verify_trail. */
    enum lsf_code (*load_region_keys)(void *ctx, const char *region, struct lsf_err *err);
    void *keys_ctx;
    const char *copy_to; /* non-NULL: write every digest and log read to this folder at its
                            key, each digest with its sidecar (verify_sidecar_path), so the copy
                            can be verified offline with its signatures */
};

/*
 * Check every object under the store's prefix as an archive (verify_archive_check) and against
 * its S3 ETag and x-amz-checksum-* (verify_object_checksums), `jobs` at a time: one
 * VERIFY_KIND_OBJECT item each (valid, invalid_format with the decoder's message naming the
 * offset, checksum_mismatch), plus a VERIFY_NOTE for zstd frames that carry no checksum. For
 * backups without digests or a manifest. Returns the listing's code, LSF_E_NOMEM.
 */
enum lsf_code verify_archives(struct verify_store *store, const struct verify_trail_opts *opts,
        struct verify_report *rep, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Write obj's bytes to root/key (folders made as needed) and, when obj has a signature, its
 * sidecar. LSF_E_IO naming the path.
 */
enum lsf_code verify_copy_object(const char *root, const char *key, const struct verify_object *obj,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Find every digest chain under the store's prefix (one per account, region, trail and home
 * region; standard then backfill), walk each from its newest digest as aws-cli does, verify
 * signatures with kr, hash the listed logs in parallel and add every verdict to rep. Returns
 * LSF_OK when the walk ran (whatever the verdicts), LSF_E_USAGE for bad times, the listing's
 * code when the store cannot be listed, LSF_E_NOMEM.
 */
enum lsf_code verify_trail(struct verify_store *store, const struct verify_keyring *kr,
        const struct verify_trail_opts *opts, struct verify_report *rep,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * A reader that passes inner's bytes through and hashes them (SHA-256). When inner ends, done
 * is called once with the name, the hex hash and the byte count. inner is taken; name is copied;
 * ctx is borrowed until the reader is closed. LSF_E_NOMEM.
 */
typedef void (*verify_tap_done_fn)(void *ctx, const char *name, const char *sha256_hex,
        uint64_t len);
enum lsf_code verify_tap_wrap(struct lsf_reader inner, const char *name, verify_tap_done_fn done,
        void *ctx, struct lsf_reader *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* ---------------------------------------------------------------------------------------------
 * Manifests: what a backup without digests should hold (CloudWatch Logs exports, Firehose)
 */

/*
 * A manifest is JSON lines: a header {"v":1,"type":"logsift-manifest","source","created"},
 * one line per object {"key","size","sha256" (of the stored bytes),"etag","first_event",
 * "last_event"}, and a last line {"signature":{"alg":"hmac-sha256"|"ed25519","value":hex}}
 * over every byte before it. Keys: an HMAC secret is a file's bytes (or $LOGSIFT_MANIFEST_KEY's
 * value); Ed25519 keys are PEM files (private to create, public or private to check).
 */

/* Event time range of an object's decompressed bytes; "" when unknown. Borrowed callback. */
typedef void (*verify_time_range_fn)(void *ctx, const char *name, const unsigned char *plain,
        size_t len, char first[32], char last[32]);

/*
 * Record every object of the store (skipping "aws-logs-write-test" probes) into the manifest at
 * out_path, signed with key_path (NULL: $LOGSIFT_MANIFEST_KEY as an HMAC secret). range may be
 * NULL. An object that cannot be read is reported in rep (VERIFY_UNREADABLE) and left out.
 * LSF_E_USAGE without a key, LSF_E_IO when the manifest cannot be written.
 */
enum lsf_code verify_manifest_create(struct verify_store *store, const char *out_path,
        const char *key_path, const char *source, verify_time_range_fn range, void *range_ctx,
        struct verify_report *rep, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Compare the store with the manifest at path: added, removed, changed and unreadable objects,
 * each a VERIFY_KIND_OBJECT item (valid ones too). key_path: the key that checks the signature
 * (NULL: $LOGSIFT_MANIFEST_KEY). LSF_E_USAGE for a manifest that does not parse or whose
 * signature does not check (a tampered manifest is no baseline), or no key.
 */
enum lsf_code verify_manifest_check(struct verify_store *store, const char *path,
        const char *key_path, struct verify_report *rep, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
