/*
 * pat_cache: compiled databases kept on disk between runs, keyed by what they depend on.
 *
 * Compiling a big pack takes seconds to minutes; loading its serialized form takes
 * milliseconds. The key is a SHA-256 over everything that shapes the database: Hyperscan's
 * version string, the platform Hyperscan tunes for (hs_populate_platform: CPU features and
 * tuning), the mode, and for each pattern in order its regex, flags and extended parameters.
 * The pattern's position is its match id, so order is part of the key; file names, line
 * numbers and metadata are not, since they do not change the database.
 *
 * File "<dir>/<64 hex digits>.hsdb":
 *     8 bytes  magic "LSFHSDB1"
 *    32 bytes  the key (a file copied under another name is caught)
 *    32 bytes  SHA-256 of the payload (a torn or damaged file is caught before Hyperscan
 *              sees it; hs_deserialize_database checks versions, not integrity)
 *     8 bytes  payload length, little-endian
 *     payload  hs_serialize_database output
 * It is written to a temp file in the same folder, fsync'd, renamed over the final name and
 * the folder fsync'd, so a reader sees the old file or the whole new one, never a part, and
 * two runs racing to store the same key both leave a valid file (as Suricata's
 * util-mpm-hs-cache.c, plus the temp file + rename it lacks).
 *
 * The cache is an optimization: every failure here becomes a note and a recompile, never an
 * error.
 */
#include "pat_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CACHE_MAGIC      "LSFHSDB1"
#define CACHE_MAGIC_LEN  8
#define CACHE_HEADER_LEN (CACHE_MAGIC_LEN + 32 + 32 + 8)
/* Larger files are not ours (the biggest real packs serialize to tens of MB). */
#define CACHE_MAX_BYTES  ((size_t)1 << 30)
/* Bumped when the key's contents or the file layout change. */
#define CACHE_KEY_SALT   "logsift-pat-cache-v1"

/* ---- key ------------------------------------------------------------------------------ */

static int digest_u64(EVP_MD_CTX *ctx, unsigned long long v)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return EVP_DigestUpdate(ctx, b, sizeof(b));
}

static int digest_str(EVP_MD_CTX *ctx, const char *s)
{
    size_t n = strlen(s);

    return digest_u64(ctx, n) && EVP_DigestUpdate(ctx, s, n);
}

bool pat_cache_key(const struct pat_set *set, unsigned char key[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    hs_platform_info_t plat;
    unsigned int key_len = 0;
    bool is_ok = false;
    size_t n = pat_set_n_patterns(set);

    memset(&plat, 0, sizeof(plat));
    if (ctx == NULL || hs_populate_platform(&plat) != HS_SUCCESS)
        goto out;
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !digest_str(ctx, CACHE_KEY_SALT) ||
            !digest_str(ctx, hs_version()) || !digest_u64(ctx, plat.tune) ||
            !digest_u64(ctx, plat.cpu_features) || !digest_u64(ctx, plat.reserved1) ||
            !digest_u64(ctx, plat.reserved2) || !digest_u64(ctx, HS_MODE_BLOCK) ||
            !digest_u64(ctx, n))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct pat_pattern *pat = pat_set_pattern(set, i);
        if (!digest_str(ctx, pat->expr) || !digest_u64(ctx, pat->hs_flags) ||
                !digest_u64(ctx, pat->ext.flags) || !digest_u64(ctx, pat->ext.min_offset) ||
                !digest_u64(ctx, pat->ext.max_offset) || !digest_u64(ctx, pat->ext.min_length) ||
                !digest_u64(ctx, pat->ext.edit_distance) ||
                !digest_u64(ctx, pat->ext.hamming_distance) ||
                !digest_u64(ctx, pat->is_dropped))
            goto out;
    }
    is_ok = EVP_DigestFinal_ex(ctx, key, &key_len) && key_len == 32;
out:
    EVP_MD_CTX_free(ctx);
    return is_ok;
}

static bool sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;

    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) && n == 32;
}

/* "<dir>/<hex>.hsdb" into path; false when it does not fit. */
static bool cache_path(const char *dir, const unsigned char key[32], char *path, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    char name[64 + 6];
    int n;

    for (int i = 0; i < 32; i++) {
        name[2 * i] = hex[key[i] >> 4];
        name[2 * i + 1] = hex[key[i] & 15];
    }
    memcpy(name + 64, ".hsdb", 6);
    n = snprintf(path, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

/* ---- load ----------------------------------------------------------------------------- */

static bool read_all(int fd, unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static unsigned long long get_u64(const unsigned char *b)
{
    unsigned long long v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

bool pat_cache_load(const char *dir, const unsigned char key[32], hs_database_t **db,
        char *note, size_t note_len)
{
    char path[PATH_MAX];
    unsigned char *raw = NULL;
    unsigned char digest[32];
    const char *why = NULL;
    struct stat st;
    size_t size;
    int fd = -1;
    bool is_ok = false;

    *db = NULL;
    note[0] = '\0';
    if (!cache_path(dir, key, path, sizeof(path))) {
        snprintf(note, note_len, "%s: cache folder path is too long; compiled without the "
                "cache; set LOGSIFT_CACHE_DIR to a shorter path", dir);
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            snprintf(note, note_len, "%s: cannot open the cached database (%s); recompiled",
                    path, strerror(errno));
        return false;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = "not a readable regular file";
        goto out;
    }
    if (st.st_size < CACHE_HEADER_LEN || (unsigned long long)st.st_size > CACHE_MAX_BYTES) {
        why = "its size is impossible (truncated or foreign)";
        goto out;
    }
    size = (size_t)st.st_size;
    raw = malloc(size);
    if (raw == NULL) {
        why = "out of memory reading it";
        goto out;
    }
    if (!read_all(fd, raw, size)) {
        why = "reading it failed";
        goto out;
    }
    if (memcmp(raw, CACHE_MAGIC, CACHE_MAGIC_LEN) != 0 ||
            memcmp(raw + CACHE_MAGIC_LEN, key, 32) != 0) {
        why = "it is not a logsift cache file for these rules";
        goto out;
    }
    if (get_u64(raw + CACHE_MAGIC_LEN + 64) != size - CACHE_HEADER_LEN) {
        why = "it is truncated";
        goto out;
    }
    if (!sha256(raw + CACHE_HEADER_LEN, size - CACHE_HEADER_LEN, digest) ||
            memcmp(digest, raw + CACHE_MAGIC_LEN + 32, 32) != 0) {
        why = "its checksum does not match (damaged)";
        goto out;
    }
    if (hs_deserialize_database((const char *)raw + CACHE_HEADER_LEN, size - CACHE_HEADER_LEN,
                db) != HS_SUCCESS) {
        *db = NULL;
        why = "Hyperscan could not load it";
        goto out;
    }
    is_ok = true;
out:
    if (why != NULL)
        snprintf(note, note_len, "%s: cached database ignored: %s; recompiled and replaced it",
                path, why);
    if (fd >= 0)
        close(fd);
    free(raw);
    return is_ok;
}

/* ---- store ---------------------------------------------------------------------------- */

/* mkdir -p with mode 0700 (a cache may reveal which rules a host runs). */
static bool make_dirs(const char *dir, char *note, size_t note_len)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path))
        goto fail;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            goto fail;
        if (i < n)
            path[i] = '/';
    }
    return true;
fail:
    snprintf(note, note_len, "%s: cannot create the cache folder (%s); the database was "
            "compiled but not cached; set LOGSIFT_CACHE_DIR to a writable folder", dir,
            n == 0 || n >= sizeof(path) ? "path too long" : strerror(errno));
    return false;
}

static bool write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Make the rename durable; best effort (some file systems refuse fsync on folders). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

void pat_cache_store(const char *dir, const unsigned char key[32], const hs_database_t *db,
        char *note, size_t note_len)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    unsigned char header[CACHE_HEADER_LEN];
    char *bytes = NULL;
    size_t len = 0;
    const char *why = NULL;
    int fd = -1;
    int n;

    note[0] = '\0';
    tmp[0] = '\0';
    if (!cache_path(dir, key, path, sizeof(path))) {
        snprintf(note, note_len, "%s: cache folder path is too long; compiled without the "
                "cache; set LOGSIFT_CACHE_DIR to a shorter path", dir);
        return;
    }
    if (!make_dirs(dir, note, note_len))
        return;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
        bytes = NULL;
        why = "Hyperscan could not serialize the database";
        goto out;
    }
    memcpy(header, CACHE_MAGIC, CACHE_MAGIC_LEN);
    memcpy(header + CACHE_MAGIC_LEN, key, 32);
    if (!sha256(bytes, len, header + CACHE_MAGIC_LEN + 32)) {
        why = "OpenSSL SHA-256 failed";
        goto out;
    }
    for (int i = 0; i < 8; i++)
        header[CACHE_MAGIC_LEN + 64 + i] = (unsigned char)((unsigned long long)len >> (8 * i));
    n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        tmp[0] = '\0';
        why = "the temp file path is too long";
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        tmp[0] = '\0';
        why = strerror(errno);
        goto out;
    }
    if (!write_all(fd, header, sizeof(header)) ||
            !write_all(fd, (const unsigned char *)bytes, len) || fsync(fd) != 0) {
        why = strerror(errno ? errno : EIO);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        why = strerror(errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        why = strerror(errno);
        goto out;
    }
    tmp[0] = '\0';
    sync_dir(dir);
out:
    if (why != NULL)
        snprintf(note, note_len, "%s: cannot store the compiled database (%s); it will be "
                "compiled again next run; check the folder's space and permissions or set "
                "LOGSIFT_CACHE_DIR", dir, why);
    if (fd >= 0)
        close(fd);
    if (why != NULL && tmp[0] != '\0')
        (void)unlink(tmp);
    free(bytes); /* hs_serialize_database uses the misc allocator, malloc by default */
}

/* ---- default folder ------------------------------------------------------------------- */

const char *pat_default_cache_dir(void)
{
    static char dir[PATH_MAX];
    const char *v;
    int n = -1;

    if ((v = getenv("LOGSIFT_CACHE_DIR")) != NULL && v[0] != '\0')
        n = snprintf(dir, sizeof(dir), "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) != NULL && v[0] != '\0')
        n = snprintf(dir, sizeof(dir), "%s/logsift", v);
    else if ((v = getenv("HOME")) != NULL && v[0] != '\0')
        n = snprintf(dir, sizeof(dir), "%s/.cache/logsift", v);
    if (n <= 0 || (size_t)n >= sizeof(dir))
        return NULL;
    return dir;
}
