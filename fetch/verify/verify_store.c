/*
 * verify_store: where verified objects come from. This file holds the interface's helpers and
 * the local store: a copy of a bucket on disk, as `aws s3 sync s3://bucket/ DIR` leaves it.
 *
 * Such a copy has no object metadata, so CloudTrail's digest signatures (x-amz-meta-signature)
 * are lost. logsift reads them back from a sidecar next to each digest, "<digest>.sig.json":
 *   {"signature": "<hex>", "signatureAlgorithm": "SHA256withRSA"}
 * (the two metadata values verbatim; `aws s3api head-object --query Metadata` prints them
 * under the names "signature" and "signature-algorithm", which are accepted too). A digest
 * without a sidecar is checked for hashes and chain links only, and reported as such.
 *
 * Keys are paths relative to the copy's root. The root is found from the path given: the part
 * before an "AWSLogs" element, so `logsift verify DIR/AWSLogs/123/CloudTrail-Digest` works and
 * still finds logs by the s3Object keys digests name.
 */
#include "verify_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define SIDECAR_SUFFIX ".sig.json"
#define SIDECAR_MAX    ((size_t)16 << 10)

void verify_object_init(struct verify_object *obj, size_t max_len)
{
    memset(obj, 0, sizeof(*obj));
    lsf_buf_init(&obj->body, max_len);
}

void verify_object_cleanup(struct verify_object *obj)
{
    lsf_buf_cleanup(&obj->body);
}

void verify_listing_cleanup(struct verify_listing *list)
{
    for (size_t i = 0; i < list->n_keys; i++)
        free(list->keys[i]);
    free(list->keys);
    free(list->sizes);
    memset(list, 0, sizeof(*list));
}

void verify_store_close(struct verify_store *store)
{
    if (store->ops && store->ops->free)
        store->ops->free(store->self);
    store->ops = NULL;
    store->self = NULL;
}

void verify_sidecar_path(const char *root, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s%s", root, key, SIDECAR_SUFFIX);
}

/* ---- local store --------------------------------------------------------------------------- */

struct local_store {
    char *root;
};

static enum lsf_code listing_push(struct verify_listing *out, size_t *cap, const char *key,
        uint64_t size, struct lsf_err *err)
{
    if (out->n_keys == *cap) {
        size_t n = *cap ? 2 * *cap : 256;
        char **keys = realloc(out->keys, n * sizeof(*keys));
        uint64_t *sizes;

        if (keys == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory listing objects");
        out->keys = keys;
        sizes = realloc(out->sizes, n * sizeof(*sizes));
        if (sizes == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory listing objects");
        out->sizes = sizes;
        *cap = n;
    }
    out->keys[out->n_keys] = strdup(key);
    if (out->keys[out->n_keys] == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory listing objects");
    out->sizes[out->n_keys++] = size;
    return LSF_OK;
}

static bool is_sidecar(const char *name)
{
    size_t n = strlen(name);
    size_t s = strlen(SIDECAR_SUFFIX);

    return n > s && strcmp(name + n - s, SIDECAR_SUFFIX) == 0;
}

/* Walk root/rel recursively, appending regular files' keys. */
static enum lsf_code walk(const char *root, const char *rel, struct verify_listing *out,
        size_t *cap, struct lsf_err *err)
{
    char path[4096];
    DIR *dir;
    struct dirent *de;
    enum lsf_code rc = LSF_OK;

    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    dir = opendir(path);
    if (dir == NULL)
        return lsf_fail(err, LSF_E_IO, "%s: cannot list (%s); check the path and permissions",
                path, strerror(errno));
    while (rc == LSF_OK && (de = readdir(dir)) != NULL) {
        char child[4096];
        char child_path[4096];
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
                (int)sizeof(child))
            continue;
        if (snprintf(child_path, sizeof(child_path), "%s/%s", root, child) >=
                        (int)sizeof(child_path) ||
                lstat(child_path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(root, child, out, cap, err);
        else if (S_ISREG(st.st_mode) && !is_sidecar(de->d_name))
            rc = listing_push(out, cap, child, (uint64_t)st.st_size, err);
    }
    closedir(dir);
    return rc;
}

struct key_size {
    char *key;
    uint64_t size;
};

static int key_size_cmp(const void *a, const void *b)
{
    return strcmp(((const struct key_size *)a)->key, ((const struct key_size *)b)->key);
}

static enum lsf_code local_list(void *self, const char *prefix, struct verify_listing *out,
        struct lsf_err *err)
{
    struct local_store *ls = self;
    size_t cap = 0;
    enum lsf_code rc;
    char start[1024];
    char *slash;

    memset(out, 0, sizeof(*out));
    /* walk from the deepest folder of the prefix, then keep keys that start with it */
    snprintf(start, sizeof(start), "%s", prefix);
    slash = strrchr(start, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        start[0] = '\0';
    rc = walk(ls->root, start, out, &cap, err);
    if (rc != LSF_OK)
        return rc;
    /* sort keys with their sizes, then keep those under the prefix */
    {
        struct key_size *pairs = malloc((out->n_keys ? out->n_keys : 1) * sizeof(*pairs));
        size_t kept = 0;

        if (pairs == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory listing objects");
        for (size_t i = 0; i < out->n_keys; i++)
            pairs[i] = (struct key_size){out->keys[i], out->sizes[i]};
        qsort(pairs, out->n_keys, sizeof(*pairs), key_size_cmp);
        for (size_t i = 0; i < out->n_keys; i++) {
            if (strncmp(pairs[i].key, prefix, strlen(prefix)) != 0) {
                free(pairs[i].key);
                continue;
            }
            out->keys[kept] = pairs[i].key;
            out->sizes[kept++] = pairs[i].size;
        }
        out->n_keys = kept;
        free(pairs);
    }
    return LSF_OK;
}

/* Read the sidecar of key, if any, into obj's signature fields. */
static void read_sidecar(const char *root, const char *key, struct verify_object *obj)
{
    char path[4096];
    json_t *doc;
    json_t *sig;
    json_t *alg;

    verify_sidecar_path(root, key, path, sizeof(path));
    doc = json_load_file(path, 0, NULL);
    if (doc == NULL)
        return;
    sig = json_object_get(doc, "signature");
    alg = json_object_get(doc, "signatureAlgorithm");
    if (alg == NULL)
        alg = json_object_get(doc, "signature-algorithm");
    if (json_is_string(sig)) {
        snprintf(obj->signature, sizeof(obj->signature), "%s", json_string_value(sig));
        snprintf(obj->signature_source, sizeof(obj->signature_source), "sidecar");
    }
    if (json_is_string(alg))
        snprintf(obj->signature_algorithm, sizeof(obj->signature_algorithm), "%s",
                json_string_value(alg));
    json_decref(doc);
}

static enum lsf_code local_get(void *self, const char *bucket, const char *key,
        struct verify_object *obj, bool *is_missing, struct lsf_err *err)
{
    struct local_store *ls = self;
    char path[4096];
    unsigned char chunk[65536];
    enum lsf_code rc = LSF_OK;
    int fd;

    (void)bucket;
    *is_missing = false;
    if (snprintf(path, sizeof(path), "%s/%s", ls->root, key) >= (int)sizeof(path))
        return lsf_fail(err, LSF_E_INPUT, "%s: key too long for a local path", key);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        *is_missing = errno == ENOENT || errno == ENOTDIR;
        return lsf_fail(err, *is_missing ? LSF_E_INPUT : LSF_E_IO,
                "%s: cannot open (%s)%s", path, strerror(errno),
                *is_missing ? "; the object is missing from the copy" : "");
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = lsf_fail(err, LSF_E_IO, "%s: read failed (%s)", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = lsf_buf_append(&obj->body, chunk, (size_t)n, err);
        if (rc != LSF_OK) {
            lsf_err_prefix(err, "%s: ", path);
            break;
        }
    }
    close(fd);
    if (rc == LSF_OK)
        read_sidecar(ls->root, key, obj);
    return rc;
}

static void local_free(void *self)
{
    struct local_store *ls = self;

    if (ls == NULL)
        return;
    free(ls->root);
    free(ls);
}

static const struct verify_store_ops local_ops = {local_list, local_get, local_free};

enum lsf_code verify_store_open_local(const char *path, const char *bucket,
        struct verify_store *out, struct lsf_err *err)
{
    struct stat st;
    struct local_store *ls;
    size_t n = strlen(path);
    const char *aws = NULL;
    const char *p;

    memset(out, 0, sizeof(*out));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lsf_fail(err, LSF_E_USAGE,
                "%s: not a directory; give the folder of a local copy of the bucket (or s3://...)",
                path);
    ls = calloc(1, sizeof(*ls));
    if (ls == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    while (n > 1 && path[n - 1] == '/')
        n--;
    /* the last "AWSLogs" element splits root and prefix */
    for (p = path; (p = strstr(p, "AWSLogs")) != NULL; p++)
        if ((p == path || p[-1] == '/') && (p[7] == '/' || p[7] == '\0'))
            aws = p;
    if (aws != NULL && aws - path < (ptrdiff_t)n) {
        size_t root_len = (size_t)(aws - path);

        while (root_len > 1 && path[root_len - 1] == '/')
            root_len--;
        ls->root = root_len == 0 ? strdup(".") : strndup(path, root_len);
        snprintf(out->prefix, sizeof(out->prefix), "%.*s%s", (int)(n - (size_t)(aws - path)),
                aws, "/");
    } else {
        ls->root = strndup(path, n);
    }
    if (ls->root == NULL) {
        free(ls);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    out->ops = &local_ops;
    out->self = ls;
    out->is_local = true;
    snprintf(out->bucket, sizeof(out->bucket), "%s", bucket ? bucket : "");
    return LSF_OK;
}

/* ---- writing a local copy ------------------------------------------------------------------ */

static enum lsf_code write_file(const char *path, const void *data, size_t len, struct lsf_err *err)
{
    char tmp[4200];
    FILE *f;

    /* folders first; a concurrent writer making the same folder is fine (EEXIST) */
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return lsf_fail(err, LSF_E_IO, "%s: cannot make the folder (%s)", tmp,
                    strerror(errno));
        *p = '/';
    }
    f = fopen(path, "wb");
    if (f == NULL)
        return lsf_fail(err, LSF_E_IO, "%s: cannot write (%s)", path, strerror(errno));
    if (len > 0 && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return lsf_fail(err, LSF_E_IO, "%s: write failed (%s)", path, strerror(errno));
    }
    if (fclose(f) != 0)
        return lsf_fail(err, LSF_E_IO, "%s: write failed (%s)", path, strerror(errno));
    return LSF_OK;
}

enum lsf_code verify_copy_object(const char *root, const char *key, const struct verify_object *obj,
        struct lsf_err *err)
{
    char path[4200];
    enum lsf_code rc;

    if (strstr(key, "..") != NULL || key[0] == '/')
        return lsf_fail(err, LSF_E_INPUT, "%s: key not copied (it would leave %s)", key, root);
    snprintf(path, sizeof(path), "%s/%s", root, key);
    rc = write_file(path, obj->body.data, obj->body.len, err);
    if (rc == LSF_OK && obj->signature[0] != '\0') {
        json_t *doc = json_pack("{s:s, s:s}", "signature", obj->signature, "signatureAlgorithm",
                obj->signature_algorithm[0] ? obj->signature_algorithm : "SHA256withRSA");
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

        verify_sidecar_path(root, key, path, sizeof(path));
        rc = text ? write_file(path, text, strlen(text), err)
                  : lsf_fail(err, LSF_E_NOMEM, "out of memory");
        free(text);
        json_decref(doc);
    }
    return rc;
}
