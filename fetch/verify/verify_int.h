/*
 * verify_int.h: pieces of fetch/verify shared between its files and its tests.
 */
#ifndef VERIFY_INT_H
#define VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "verify.h"

/* One logFiles[] entry of a digest (7.2). */
struct verify_log_ref {
    char *bucket;
    char *key;
    char *hash; /* hex SHA-256 of the decompressed log */
};

/* A parsed digest (7.2). String members are NULL where the JSON has null. */
struct verify_digest {
    char *account;
    char *start; /* digestStartTime */
    char *end;   /* digestEndTime */
    char *bucket;
    char *object;
    char *fingerprint;
    char *sig_alg;
    char *prev_bucket;
    char *prev_object;
    char *prev_hash;
    char *prev_sig;
    struct verify_log_ref *logs;
    size_t n_logs;
    char sha256_hex[65]; /* of the decompressed digest bytes, as stored */
};

/*
 * Parse decompressed digest JSON. The keys aws-cli requires must be present (null allowed);
 * LSF_E_INPUT naming the missing key or the JSON error otherwise. d is cleaned up by the
 * caller, also on failure.
 */
enum lsf_code verify_digest_parse(const unsigned char *json, size_t len, struct verify_digest *d,
        struct lsf_err *err) LSF_WARN_UNUSED;
void verify_digest_cleanup(struct verify_digest *d);

/* Data-to-sign of 7.4 into out (not NUL-terminated). LSF_E_NOMEM. */
enum lsf_code verify_digest_data_to_sign(const struct verify_digest *d, struct lsf_buf *out,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* A digest key name split up (7.1). */
struct verify_digest_name {
    char group[1024]; /* key with the timestamp (and date folders) removed: one chain's id */
    char dir[1024];   /* ".../CloudTrail-Digest/<region>/" part */
    char log_dir[1024]; /* the matching ".../CloudTrail/<region>/" */
    char account[64];
    char region[64];
    char trail[256];
    char home_region[64];
    char stamp[17]; /* YYYYMMDDTHHMMSSZ */
    int64_t end_s;  /* the stamp as Unix seconds */
    bool is_backfill;
};

/* Whether key is a digest key; fills out. */
bool verify_digest_name_parse(const char *key, struct verify_digest_name *out);

/*
 * Whether key is a CloudTrail log file key (".../CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_
 * <region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz"); *dir_len gets the length of the key's
 * ".../CloudTrail/<region>/" part and *delivered_s the delivery time.
 */
bool verify_log_name_parse(const char *key, size_t *dir_len, int64_t *delivered_s);

/* "YYYY-MM-DDTHH:MM:SSZ" (or "YYYY-MM-DD") to Unix seconds; false when malformed. */
bool verify_time_parse(const char *text, int64_t *out);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SSZ" (buf >= 21). */
void verify_time_format(int64_t t, char *buf, size_t len);

/* Decode hex into bytes (cap); false when malformed or too long. */
bool verify_unhex(const char *hex, unsigned char *bytes, size_t cap, size_t *len);

/* Outcome of a signature check. */
enum verify_sig {
    VERIFY_SIG_OK = 0,
    VERIFY_SIG_BAD,
    VERIFY_SIG_NO_KEY,
    VERIFY_SIG_KEY_UNLOADABLE
};

/* Verify sig_hex (RSASSA-PKCS1-v1_5, SHA-256) over tbs with the key named fingerprint. */
enum verify_sig verify_keyring_check(const struct verify_keyring *kr, const char *fingerprint,
        const unsigned char *tbs, size_t tbs_len, const char *sig_hex);

/* Decompress raw (any kind dec_open reads) and append the bytes to out (its ceiling applies). */
enum lsf_code verify_decompress(const char *name, const unsigned char *raw, size_t len,
        struct lsf_buf *out, struct lsf_err *err) LSF_WARN_UNUSED;

/* Build the store's uri for bucket/key ("s3://bucket/key"), heap; NULL on no memory. */
char *verify_uri(const char *bucket, const char *key);

#endif
