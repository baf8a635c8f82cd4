/*
 * alert_spool: the durable spool and delivery ledgers (see alert_spool.h).
 *
 * Why a spool and ledgers rather than "publish, then move the checkpoint": a publish can fail
 * after the scan (the topic throttles, the network drops) and the process can be killed at any
 * point. Findings are appended and fsynced before the checkpoint moves, and a destination's
 * ledger is fsynced after each accepted request, so a rerun delivers what is missing and never
 * what the destination already accepted. The one window left is between the service accepting
 * a request and the ledger's fsync; FIFO topics close it with deduplication ids derived from
 * the same keys (aws-facts 8.2, 10.4).
 *
 * Lines are JSON written by jansson; records hold valid UTF-8 only (alert_record makes it so).
 * The lock is flock(2) on "lock", so two cron runs never deliver the same spool twice.
 */
#include "alert_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define SPOOL_FILE "spool.jsonl"
#define SPOOL_MAX_LINE ((size_t)64 << 20)

struct alert_spool {
    char *dir;
    int lock_fd;
    int fd; /* spool.jsonl, O_APPEND */
    pthread_mutex_t mu;
};

/* mkdir -p */
static enum lsf_code make_dirs(const char *dir, struct lsf_err *err)
{
    char *p = strdup(dir);
    enum lsf_code rc = LSF_OK;

    if (p == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    for (char *s = p + 1; rc == LSF_OK; s++) {
        bool at_end = *s == '\0';
        if (*s != '/' && !at_end)
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            rc = lsf_fail(err, LSF_E_IO, "spool directory %s: cannot create %s: %s; choose "
                    "another with --spool-dir", dir, p, strerror(errno));
        if (at_end)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

enum lsf_code alert_spool_open(const char *dir, struct alert_spool **out, struct lsf_err *err)
{
    struct alert_spool *sp = calloc(1, sizeof(*sp));
    char *lock_path = NULL;
    char *spool_path = NULL;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (sp == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    sp->lock_fd = -1;
    sp->fd = -1;
    pthread_mutex_init(&sp->mu, NULL);
    sp->dir = strdup(dir);
    lock_path = path_in(dir, "lock");
    spool_path = path_in(dir, SPOOL_FILE);
    if (sp->dir == NULL || lock_path == NULL || spool_path == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
        goto out;
    }
    rc = make_dirs(dir, err);
    if (rc != LSF_OK)
        goto out;
    sp->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lock_fd < 0) {
        rc = lsf_fail(err, LSF_E_IO, "spool %s: cannot open its lock file: %s; choose another "
                "with --spool-dir", dir, strerror(errno));
        goto out;
    }
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = lsf_fail(err, LSF_E_USAGE, "spool %s is in use by another logsift run; wait for it "
                "or give this run its own --spool-dir", dir);
        goto out;
    }
    sp->fd = open(spool_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        rc = lsf_fail(err, LSF_E_IO, "spool %s: cannot open %s: %s", dir, SPOOL_FILE,
                strerror(errno));
        goto out;
    }
    fsync_dir(dir);
out:
    free(lock_path);
    free(spool_path);
    if (rc != LSF_OK)
        alert_spool_free(sp);
    else
        *out = sp;
    return rc;
}

void alert_spool_free(struct alert_spool *sp)
{
    if (sp == NULL)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&sp->mu);
    free(sp->dir);
    free(sp);
}

const char *alert_spool_dir(const struct alert_spool *sp)
{
    return sp->dir;
}

static enum lsf_code write_all(int fd, const char *what, const char *bytes, size_t n,
        struct lsf_err *err)
{
    while (n > 0) {
        ssize_t w = write(fd, bytes, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lsf_fail(err, LSF_E_IO, "%s: write failed: %s; free space or choose another "
                    "--spool-dir", what, strerror(errno));
        bytes += w;
        n -= (size_t)w;
    }
    return LSF_OK;
}

/* obj (taken) as one line ending in '\n': heap, the caller frees. NULL when out of memory. */
static char *json_line(json_t *obj, size_t *len)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    char *line;
    size_t n;

    json_decref(obj);
    if (text == NULL)
        return NULL;
    n = strlen(text);
    line = realloc(text, n + 2);
    if (line == NULL) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
    return line;
}

/* Write obj (taken) as one line to fd. */
static enum lsf_code write_json(int fd, const char *what, json_t *obj, struct lsf_err *err)
{
    size_t n = 0;
    char *line = json_line(obj, &n);
    enum lsf_code rc;

    if (line == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory spooling a finding");
    rc = write_all(fd, what, line, n, err);
    free(line);
    return rc;
}

/* Append one JSON line (takes obj) to the spool. */
static enum lsf_code append_json(struct alert_spool *sp, json_t *obj, struct lsf_err *err)
{
    enum lsf_code rc;

    /* One write per line under the lock: concurrent workers never interleave. */
    pthread_mutex_lock(&sp->mu);
    rc = write_json(sp->fd, sp->dir, obj, err);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static json_t *record_json(const struct alert_record *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:s, s:s, s:s, "
                     "s:s, s:s, s:s, s:s}",
            "k", "finding", "rule", r->rule, "title", r->title, "severity", r->severity, "why",
            r->why, "source", r->source, "format", r->format, "offset", (json_int_t)r->offset,
            "ts_ms", (json_int_t)r->ts_ms, "cut", r->is_excerpt_cut, "event_id", r->event_id,
            "event_name", r->event_name, "event_source", r->event_source, "principal",
            r->principal, "source_ip", r->source_ip, "region", r->region, "account", r->account,
            "excerpt", r->excerpt);

    /* --geoip data only when there is some, so spools without it read the same. */
    if (o != NULL && (r->geo_country[0] || r->geo_asn)) {
        json_object_set_new(o, "geo_country", json_string(r->geo_country));
        json_object_set_new(o, "geo_asn", json_integer((json_int_t)r->geo_asn));
        json_object_set_new(o, "geo_as_org", json_string(r->geo_as_org));
    }
    return o;
}

enum lsf_code alert_spool_add(struct alert_spool *sp, const struct alert_record *rec,
        struct lsf_err *err)
{
    return append_json(sp, record_json(rec), err);
}

static json_t *run_json(const struct alert_run *run)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "k", "run", "run_id", run->run_id,
            "time_ms", (json_int_t)run->time_ms, "events", (json_int_t)run->n_events, "bytes",
            (json_int_t)run->n_bytes, "errors", (json_int_t)run->n_errors);
}

enum lsf_code alert_spool_add_run(struct alert_spool *sp, const struct alert_run *run,
        struct lsf_err *err)
{
    return append_json(sp, run_json(run), err);
}

enum lsf_code alert_spool_sync(struct alert_spool *sp, struct lsf_err *err)
{
    if (fsync(sp->fd) != 0)
        return lsf_fail(err, LSF_E_IO, "spool %s: fsync failed: %s; the findings of this run "
                "may not survive a crash", sp->dir, strerror(errno));
    return LSF_OK;
}

/* ---- key sets: the ledgers, and duplicate detection while loading ------------------------- */

struct alert_ledger {
    char *path;
    int fd;
    char **slots; /* open addressing; NULL = empty */
    size_t cap;   /* power of two */
    size_t n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static char *ledger_key(const char *a, const char *b, const char *part)
{
    size_t n = strlen(a) + strlen(b) + (part ? strlen(part) + 1 : 0) + 2;
    char *k = malloc(n);

    if (k != NULL)
        snprintf(k, n, "%s\t%s%s%s", a, b, part ? "\t" : "", part ? part : "");
    return k;
}

/* A removed key's slot: occupied for probing, never equal to a key. */
static char tombstone[] = "";

static bool set_find(const struct alert_ledger *lg, const char *key, size_t *slot)
{
    size_t i = (size_t)fnv1a(key) & (lg->cap - 1);

    while (lg->slots[i] != NULL) {
        if (lg->slots[i] != tombstone && strcmp(lg->slots[i], key) == 0) {
            *slot = i;
            return true;
        }
        i = (i + 1) & (lg->cap - 1);
    }
    *slot = i;
    return false;
}

/* Insert key (taken). False on out of memory (key freed). */
static bool set_insert(struct alert_ledger *lg, char *key)
{
    size_t slot;

    if ((lg->n + 1) * 2 > lg->cap) {
        size_t cap = lg->cap ? lg->cap * 2 : 256;
        char **old = lg->slots;
        size_t old_cap = lg->cap;
        lg->slots = calloc(cap, sizeof(char *));
        if (lg->slots == NULL) {
            lg->slots = old;
            free(key);
            return false;
        }
        lg->cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i] != NULL && old[i] != tombstone && !set_find(lg, old[i], &slot))
                lg->slots[slot] = old[i];
        }
        free(old);
    }
    if (set_find(lg, key, &slot)) {
        free(key);
        return true;
    }
    lg->slots[slot] = key;
    lg->n++;
    return true;
}

/* ---- loading ------------------------------------------------------------------------------ */

static char *get_str(json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));
    return strdup(s ? s : "");
}

static bool record_from_json(json_t *o, struct alert_record *r)
{
    memset(r, 0, sizeof(*r));
    r->rule = get_str(o, "rule");
    r->title = get_str(o, "title");
    r->severity = get_str(o, "severity");
    r->why = get_str(o, "why");
    r->source = get_str(o, "source");
    r->format = get_str(o, "format");
    r->offset = (uint64_t)json_integer_value(json_object_get(o, "offset"));
    r->ts_ms = (int64_t)json_integer_value(json_object_get(o, "ts_ms"));
    r->is_excerpt_cut = json_is_true(json_object_get(o, "cut"));
    r->event_id = get_str(o, "event_id");
    r->event_name = get_str(o, "event_name");
    r->event_source = get_str(o, "event_source");
    r->principal = get_str(o, "principal");
    r->source_ip = get_str(o, "source_ip");
    r->region = get_str(o, "region");
    r->account = get_str(o, "account");
    r->excerpt = get_str(o, "excerpt");
    r->geo_as_org = get_str(o, "geo_as_org");
    snprintf(r->geo_country, sizeof(r->geo_country), "%s",
            json_string_value(json_object_get(o, "geo_country")) ? json_string_value(
                    json_object_get(o, "geo_country")) : "");
    r->geo_asn = (uint32_t)json_integer_value(json_object_get(o, "geo_asn"));
    if (!r->geo_as_org || !r->rule || !r->title || !r->severity || !r->why || !r->source || !r->format ||
            !r->event_id || !r->event_name || !r->event_source || !r->principal ||
            !r->source_ip || !r->region || !r->account || !r->excerpt) {
        alert_record_cleanup(r);
        return false;
    }
    return true;
}

void alert_spooled_cleanup(struct alert_spooled *s)
{
    for (size_t i = 0; i < s->n_records; i++)
        alert_record_cleanup(&s->records[i]);
    free(s->records);
    free(s->runs);
    memset(s, 0, sizeof(*s));
}

/* Whether r's key was seen already; records it otherwise. *is_oom on allocation failure. */
static bool seen_before(struct alert_ledger *seen, const struct alert_record *r, bool *is_oom)
{
    char *key = ledger_key(r->rule, r->event_id, NULL);
    size_t slot;

    if (key == NULL || (seen->cap == 0 && !set_insert(seen, strdup("\t")))) {
        free(key);
        *is_oom = true;
        return false;
    }
    if (set_find(seen, key, &slot)) {
        free(key);
        return true;
    }
    if (!set_insert(seen, key))
        *is_oom = true;
    return false;
}

static void seen_cleanup(struct alert_ledger *seen)
{
    for (size_t i = 0; i < seen->cap; i++) {
        if (seen->slots[i] != tombstone)
            free(seen->slots[i]);
    }
    free(seen->slots);
}

enum lsf_code alert_spool_load(struct alert_spool *sp, struct alert_spooled *out,
        struct lsf_err *err)
{
    char *path = path_in(sp->dir, SPOOL_FILE);
    FILE *fp = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    struct alert_ledger seen = {NULL, -1, NULL, 0, 0};
    bool is_oom = false;
    size_t cap_records = 0;
    size_t cap_runs = 0;
    ssize_t n;
    enum lsf_code rc = LSF_OK;

    memset(out, 0, sizeof(*out));
    if (path == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    fp = fopen(path, "re");
    if (fp == NULL) {
        rc = errno == ENOENT ? LSF_OK
                             : lsf_fail(err, LSF_E_IO, "spool %s: cannot read %s: %s", sp->dir,
                                       SPOOL_FILE, strerror(errno));
        goto out;
    }
    while (rc == LSF_OK && (n = getline(&line, &line_cap, fp)) > 0) {
        json_t *o;
        const char *kind;

        if (line[n - 1] != '\n')
            break; /* torn by a crash: it was never fsynced, the scan will find it again */
        o = json_loadb(line, (size_t)n, 0, NULL);
        kind = json_string_value(json_object_get(o, "k"));
        if (kind != NULL && strcmp(kind, "finding") == 0) {
            struct alert_record r;
            if (!record_from_json(o, &r)) {
                rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the spool");
            } else if (seen_before(&seen, &r, &is_oom) || is_oom) {
                alert_record_cleanup(&r);
                if (is_oom)
                    rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the spool");
            } else {
                if (out->n_records == cap_records) {
                    size_t cap = cap_records ? cap_records * 2 : 64;
                    struct alert_record *g = realloc(out->records, cap * sizeof(*g));
                    if (g == NULL) {
                        alert_record_cleanup(&r);
                        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the spool");
                        json_decref(o);
                        break;
                    }
                    out->records = g;
                    cap_records = cap;
                }
                out->records[out->n_records++] = r;
            }
        } else if (kind != NULL && strcmp(kind, "run") == 0) {
            struct alert_run run;
            const char *run_id = json_string_value(json_object_get(o, "run_id"));
            memset(&run, 0, sizeof(run));
            snprintf(run.run_id, sizeof(run.run_id), "%s", run_id ? run_id : "");
            run.time_ms = (int64_t)json_integer_value(json_object_get(o, "time_ms"));
            run.n_events = (uint64_t)json_integer_value(json_object_get(o, "events"));
            run.n_bytes = (uint64_t)json_integer_value(json_object_get(o, "bytes"));
            run.n_errors = (uint64_t)json_integer_value(json_object_get(o, "errors"));
            if (out->n_runs == cap_runs) {
                size_t cap = cap_runs ? cap_runs * 2 : 8;
                struct alert_run *g = realloc(out->runs, cap * sizeof(*g));
                if (g == NULL) {
                    rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the spool");
                    json_decref(o);
                    break;
                }
                out->runs = g;
                cap_runs = cap;
            }
            out->runs[out->n_runs++] = run;
        }
        /* Anything else is a line a newer logsift wrote: skipped, not fatal. */
        json_decref(o);
    }
out:
    if (fp != NULL)
        fclose(fp);
    free(line);
    free(path);
    seen_cleanup(&seen);
    if (rc != LSF_OK)
        alert_spooled_cleanup(out);
    return rc;
}

enum lsf_code alert_spool_compact(struct alert_spool *sp, const struct alert_spooled *s,
        const bool *keep_records, const bool *keep_runs, struct lsf_err *err)
{
    char *path = path_in(sp->dir, SPOOL_FILE);
    char *tmp = path_in(sp->dir, SPOOL_FILE ".tmp");
    int fd = -1;
    enum lsf_code rc = LSF_OK;

    if (path == NULL || tmp == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = lsf_fail(err, LSF_E_IO, "spool %s: cannot write %s: %s", sp->dir, tmp,
                strerror(errno));
        goto out;
    }
    for (size_t i = 0; rc == LSF_OK && i < s->n_records; i++) {
        if (keep_records[i])
            rc = write_json(fd, tmp, record_json(&s->records[i]), err);
    }
    for (size_t i = 0; rc == LSF_OK && i < s->n_runs; i++) {
        if (keep_runs[i])
            rc = write_json(fd, tmp, run_json(&s->runs[i]), err);
    }
    if (rc == LSF_OK && fsync(fd) != 0)
        rc = lsf_fail(err, LSF_E_IO, "spool %s: fsync failed: %s", sp->dir, strerror(errno));
    close(fd);
    fd = -1;
    if (rc == LSF_OK && rename(tmp, path) != 0)
        rc = lsf_fail(err, LSF_E_IO, "spool %s: cannot replace %s: %s", sp->dir, SPOOL_FILE,
                strerror(errno));
    if (rc == LSF_OK) {
        fsync_dir(sp->dir);
        /* Later appends of this run go to the new file. */
        int nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (nfd < 0) {
            rc = lsf_fail(err, LSF_E_IO, "spool %s: cannot reopen %s: %s", sp->dir, SPOOL_FILE,
                    strerror(errno));
        } else {
            pthread_mutex_lock(&sp->mu);
            close(sp->fd);
            sp->fd = nfd;
            pthread_mutex_unlock(&sp->mu);
        }
    } else {
        unlink(tmp);
    }
out:
    free(path);
    free(tmp);
    return rc;
}

/* ---- ledgers ------------------------------------------------------------------------------ */

enum lsf_code alert_ledger_open(struct alert_spool *sp, const char *sink, const char *destination,
        struct alert_ledger **out, struct lsf_err *err)
{
    struct alert_ledger *lg = calloc(1, sizeof(*lg));
    char hex[65];
    char name[128];
    FILE *fp = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t n;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (lg == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    lg->fd = -1;
    alert_sha256_hex(destination, strlen(destination), hex);
    snprintf(name, sizeof(name), "%s-%.16s.ledger", sink, hex);
    lg->path = path_in(sp->dir, name);
    /* A first key no record can have ("\t" alone) sizes the table, so lookups never see an
     * empty one. */
    if (lg->path == NULL || !set_insert(lg, strdup("\t"))) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
        goto out;
    }
    fp = fopen(lg->path, "re");
    while (fp != NULL && (n = getline(&line, &line_cap, fp)) > 0) {
        if (line[n - 1] != '\n')
            break; /* torn: that publish is not recorded, so it is redone */
        line[n - 1] = '\0';
        if (line[0] == '!') {
            /* A cancelled intent (alert_ledger_cancel). */
            size_t slot;
            if (set_find(lg, line + 1, &slot)) {
                free(lg->slots[slot]);
                lg->slots[slot] = tombstone;
            }
            continue;
        }
        if (!set_insert(lg, strdup(line))) {
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading %s", lg->path);
            goto out;
        }
    }
    if (fp == NULL && errno != ENOENT) {
        rc = lsf_fail(err, LSF_E_IO, "delivery ledger %s: cannot read: %s", lg->path,
                strerror(errno));
        goto out;
    }
    lg->fd = open(lg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lg->fd < 0)
        rc = lsf_fail(err, LSF_E_IO, "delivery ledger %s: cannot open: %s", lg->path,
                strerror(errno));
out:
    if (fp != NULL)
        fclose(fp);
    free(line);
    if (rc != LSF_OK)
        alert_ledger_free(lg);
    else
        *out = lg;
    return rc;
}

void alert_ledger_free(struct alert_ledger *lg)
{
    if (lg == NULL)
        return;
    if (lg->fd >= 0)
        close(lg->fd);
    for (size_t i = 0; i < lg->cap; i++) {
        if (lg->slots[i] != tombstone)
            free(lg->slots[i]);
    }
    free(lg->slots);
    free(lg->path);
    free(lg);
}

bool alert_ledger_has(const struct alert_ledger *lg, const char *a, const char *b,
        const char *part)
{
    char *key = ledger_key(a, b, part);
    size_t slot;
    bool has = key != NULL && set_find(lg, key, &slot);

    free(key);
    return has;
}

enum lsf_code alert_ledger_add(struct alert_ledger *lg, const char *a, const char *b,
        const char *part, struct lsf_err *err)
{
    char *key = ledger_key(a, b, part);
    enum lsf_code rc;
    size_t n;

    if (key == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    n = strlen(key);
    key[n] = '\n'; /* temporarily, to write the line in one call */
    rc = write_all(lg->fd, lg->path, key, n + 1, err);
    key[n] = '\0';
    if (rc != LSF_OK) {
        free(key);
        return rc;
    }
    if (!set_insert(lg, key))
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    return LSF_OK;
}

enum lsf_code alert_ledger_sync(struct alert_ledger *lg, struct lsf_err *err)
{
    if (fsync(lg->fd) != 0)
        return lsf_fail(err, LSF_E_IO, "delivery ledger %s: fsync failed: %s", lg->path,
                strerror(errno));
    return LSF_OK;
}

enum lsf_code alert_ledger_cancel(struct alert_ledger *lg, const char *a, const char *b,
        const char *part, struct lsf_err *err)
{
    char *key = ledger_key(a, b, part);
    char *line;
    size_t n;
    size_t slot;
    enum lsf_code rc;

    if (key == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    n = strlen(key);
    line = malloc(n + 3);
    if (line == NULL) {
        free(key);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    snprintf(line, n + 3, "!%s\n", key);
    rc = write_all(lg->fd, lg->path, line, n + 2, err);
    if (rc == LSF_OK && set_find(lg, key, &slot)) {
        free(lg->slots[slot]);
        lg->slots[slot] = tombstone;
    }
    free(line);
    free(key);
    return rc;
}
