/*
 * scan_spill: sorted runs of correlation entries in one unlinked temporary file per worker
 * (scan_spill_int.h). The file is private to this process and read back by it, so entries
 * are stored in host byte order: a fixed header, then the key, the value and the ancestors'
 * keys, each with its NUL.
 */
#include "scan_spill_int.h"
#include "lsf_buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPILL_WRITE_BUF (1u << 20)

struct spill_hdr {
    uint64_t key_hash;
    int64_t ts_ms;
    uint64_t offset;
    uint64_t ordinal;
    uint32_t level_corr;
    uint32_t input;
    uint32_t up_len;
    uint16_t base_pos;
    uint16_t key_len; /* with the NUL */
    uint16_t val_len; /* with the NUL */
    uint8_t format;
    uint8_t pad[5];   /* zeroed: the file's bytes depend on nothing but the entries */
};

struct spill_run {
    uint64_t off, len, n;
};

struct scan_spill {
    int fd;
    char dir[512];
    uint64_t len;              /* bytes written, flushed or not */
    unsigned char *buf;        /* write buffer */
    size_t n_buf;
    struct spill_run *runs;
    size_t n_runs, cap_runs;
    uint64_t run_off, run_n;   /* the run being written */
    uint64_t n_entries;
    int64_t max_ts_ms;
};

struct scan_spill_reader {
    const struct scan_spill *s;
    uint64_t pos, end;         /* file range of the run not yet buffered */
    unsigned char *buf;
    size_t cap, lo, hi;
};

enum lsf_code scan_spill_new(const char *dir, struct scan_spill **out, struct lsf_err *err)
{
    struct scan_spill *s = calloc(1, sizeof(*s));
    char path[600];

    *out = NULL;
    if (s == NULL || (s->buf = malloc(SPILL_WRITE_BUF)) == NULL) {
        free(s);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory starting a correlation spill file");
    }
    if (strlen(dir) >= sizeof(s->dir)) {
        free(s->buf);
        free(s);
        return lsf_fail(err, LSF_E_IO, "correlations: cannot create a spill file in %.64s...: "
                "the path is longer than %zu bytes; point TMPDIR at a shorter one",
                dir, sizeof(s->dir) - 1);
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/logsift-corr-XXXXXX", dir);
    s->fd = mkstemp(path);
    if (s->fd < 0) {
        int e = errno;
        free(s->buf);
        free(s);
        return lsf_fail(err, LSF_E_IO, "correlations: cannot create a spill file in %s (%s); "
                "point TMPDIR at a writable directory with free space", dir, strerror(e));
    }
    /* Nobody else needs its name, and a crash must leave nothing behind. */
    (void)unlink(path);
    s->max_ts_ms = INT64_MIN;
    *out = s;
    return LSF_OK;
}

void scan_spill_free(struct scan_spill *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s->runs);
    free(s);
}

static enum lsf_code flush_buf(struct scan_spill *s, struct lsf_err *err)
{
    size_t done = 0;

    while (done < s->n_buf) {
        ssize_t n = write(s->fd, s->buf + done, s->n_buf - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            return lsf_fail(err, LSF_E_IO, "correlations: writing the spill file in %s failed "
                    "after %llu bytes (%s); free space there or point TMPDIR at a larger disk",
                    s->dir, (unsigned long long)(s->len - s->n_buf + done), strerror(e));
        }
        done += (size_t)n;
    }
    s->n_buf = 0;
    return LSF_OK;
}

static enum lsf_code put(struct scan_spill *s, const void *bytes, size_t n, struct lsf_err *err)
{
    const unsigned char *p = bytes;

    while (n > 0) {
        size_t k = SPILL_WRITE_BUF - s->n_buf < n ? SPILL_WRITE_BUF - s->n_buf : n;
        memcpy(s->buf + s->n_buf, p, k);
        s->n_buf += k;
        s->len += k;
        p += k;
        n -= k;
        if (s->n_buf == SPILL_WRITE_BUF) {
            enum lsf_code rc = flush_buf(s, err);
            if (rc != LSF_OK)
                return rc;
        }
    }
    return LSF_OK;
}

enum lsf_code scan_spill_add(struct scan_spill *s, const struct scan_spill_ent *e,
        struct lsf_err *err)
{
    struct spill_hdr h;
    enum lsf_code rc;

    memset(&h, 0, sizeof(h));
    h.key_hash = e->key_hash;
    h.ts_ms = e->ts_ms;
    h.offset = e->offset;
    h.ordinal = e->ordinal;
    h.level_corr = e->level_corr;
    h.input = e->input;
    h.up_len = e->up != NULL ? e->up_len : 0;
    h.base_pos = e->base_pos;
    h.key_len = (uint16_t)(strlen(e->key) + 1);
    h.val_len = (uint16_t)(strlen(e->val) + 1);
    h.format = e->format;
    rc = put(s, &h, sizeof(h), err);
    if (rc == LSF_OK)
        rc = put(s, e->key, h.key_len, err);
    if (rc == LSF_OK)
        rc = put(s, e->val, h.val_len, err);
    if (rc == LSF_OK && h.up_len > 0)
        rc = put(s, e->up, h.up_len, err);
    if (rc != LSF_OK)
        return rc;
    s->run_n++;
    s->n_entries++;
    if (e->ts_ms > s->max_ts_ms)
        s->max_ts_ms = e->ts_ms;
    return LSF_OK;
}

enum lsf_code scan_spill_end_run(struct scan_spill *s, struct lsf_err *err)
{
    enum lsf_code rc = flush_buf(s, err);

    if (rc != LSF_OK)
        return rc;
    if (s->n_runs == s->cap_runs) {
        struct spill_run *grown = lsf_array_grow(s->runs, &s->cap_runs, sizeof(*grown), 16);
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory listing correlation spill runs");
        s->runs = grown;
    }
    s->runs[s->n_runs++] = (struct spill_run){s->run_off, s->len - s->run_off, s->run_n};
    s->run_off = s->len;
    s->run_n = 0;
    return LSF_OK;
}

size_t scan_spill_n_runs(const struct scan_spill *s)
{
    return s ? s->n_runs : 0;
}

uint64_t scan_spill_n_entries(const struct scan_spill *s)
{
    return s ? s->n_entries : 0;
}

int64_t scan_spill_max_ts_ms(const struct scan_spill *s)
{
    return s ? s->max_ts_ms : INT64_MIN;
}

enum lsf_code scan_spill_reader_new(const struct scan_spill *s, size_t run, size_t buf_len,
        struct scan_spill_reader **out, struct lsf_err *err)
{
    struct scan_spill_reader *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (buf_len < sizeof(struct spill_hdr))
        buf_len = sizeof(struct spill_hdr);
    if (r == NULL || (r->buf = malloc(buf_len)) == NULL) {
        free(r);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory reading a correlation spill file");
    }
    r->s = s;
    r->cap = buf_len;
    r->pos = s->runs[run].off;
    r->end = s->runs[run].off + s->runs[run].len;
    *out = r;
    return LSF_OK;
}

void scan_spill_reader_free(struct scan_spill_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

/* At least n bytes buffered from lo; *has false when the run ends before any byte. */
static enum lsf_code fill(struct scan_spill_reader *r, size_t n, bool *has, struct lsf_err *err)
{
    *has = true;
    if (r->hi - r->lo >= n)
        return LSF_OK;
    memmove(r->buf, r->buf + r->lo, r->hi - r->lo);
    r->hi -= r->lo;
    r->lo = 0;
    if (r->cap < n) {
        unsigned char *grown = realloc(r->buf, n);
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory reading a correlation spill file");
        r->buf = grown;
        r->cap = n;
    }
    while (r->hi < n && r->pos < r->end) {
        size_t want = r->cap - r->hi;
        ssize_t got;
        if (want > r->end - r->pos)
            want = (size_t)(r->end - r->pos);
        got = pread(r->s->fd, r->buf + r->hi, want, (off_t)r->pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return lsf_fail(err, LSF_E_IO, "correlations: reading back the spill file in %s "
                    "failed at byte %llu (%s); check the disk behind TMPDIR and rerun",
                    r->s->dir, (unsigned long long)r->pos,
                    got < 0 ? strerror(errno) : "unexpected end of file");
        r->hi += (size_t)got;
        r->pos += (uint64_t)got;
    }
    if (r->hi == 0) {
        *has = false;
        return LSF_OK;
    }
    if (r->hi < n)
        return lsf_fail(err, LSF_E_INTERNAL, "correlations: a spill run in %s ends inside an "
                "entry", r->s->dir);
    return LSF_OK;
}

enum lsf_code scan_spill_read(struct scan_spill_reader *r, struct scan_spill_ent *e, bool *has,
        struct lsf_err *err)
{
    struct spill_hdr h;
    size_t total;
    const char *p;
    enum lsf_code rc = fill(r, sizeof(h), has, err);

    if (rc != LSF_OK || !*has)
        return rc;
    memcpy(&h, r->buf + r->lo, sizeof(h));
    total = sizeof(h) + h.key_len + h.val_len + (size_t)h.up_len;
    rc = fill(r, total, has, err);
    if (rc != LSF_OK)
        return rc;
    p = (const char *)r->buf + r->lo + sizeof(h);
    e->key_hash = h.key_hash;
    e->ts_ms = h.ts_ms;
    e->offset = h.offset;
    e->ordinal = h.ordinal;
    e->level_corr = h.level_corr;
    e->input = h.input;
    e->base_pos = h.base_pos;
    e->format = h.format;
    e->key = p;
    e->val = p + h.key_len;
    e->up = h.up_len > 0 ? p + h.key_len + h.val_len : NULL;
    e->up_len = h.up_len;
    r->lo += total;
    return LSF_OK;
}
