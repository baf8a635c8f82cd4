/*
 * cli_state: logs:// runs with --state checkpoints (the contract is in cli_state.h).
 *
 * Inputs are numbered as the source hands them out; each input that ends a page carries the
 * source's position after that page (fetch_cwl_cursor). The engine reports finished inputs
 * (scan_sink.input_done); once every input up to a page's end is finished, that page's
 * position is committed with the output length, in cli_checkpoint_commit. One scan worker
 * writes findings in input order, so the output's length at that moment covers exactly the
 * committed inputs.
 *
 * State file, version 1 (JSON):
 *   {"version": 1, "source": "logs://GROUP[/PREFIX]",
 *    "window": {"start_ms": N, "end_ms": N},      inclusive bounds of the window being read
 *    "cursor": null | {"done": true} | {"next_token": "...", "last_ts": N, "last_ids": [...]},
 *    "output": null | {"path": "...", "length": N},  --output-file and its committed length
 *    "corr": {"generation": G}}                     the correlation sidecar (cli_carry.h)
 * A finished window ("done") makes the next run read (end_ms, now - lag]. "corr" is optional
 * (0 or absent: no sidecar yet); only the final commit of a run moves it on.
 */
#include "cli_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_carry.h"
#include "src_cwl.h"

#define CLI_STATE_VERSION    1
#define CLI_DEFAULT_SINCE_MS (3600 * 1000LL)

struct logs_input {
    json_t *cursor; /* position after this input's page, or NULL mid-page */
    bool is_done;
};

struct cli_logs {
    char *url;
    const char *state_path;
    const char *output_path;
    FILE *out;
    struct fetch_cwl_opts copts;
    struct fetch_cwl *cwl;
    bool is_idle; /* the window is empty: nothing to read */

    pthread_mutex_t mu; /* the input table and commits */
    struct logs_input *inputs;
    size_t n_inputs;
    size_t cap_inputs;
    size_t next_commit; /* first input not yet done */
    json_t *last_cursor; /* the position last committed, for the final commit */
    uint64_t n_commits;
    enum lsf_code commit_rc;
    struct lsf_err commit_err;
    struct cli_carry *carry; /* --state: correlation state from and for the next run */
    uint64_t corr_generation; /* the sidecar the state names */
    bool is_commit_at_end;    /* correlations: no checkpoint inside the run (cli_state.h) */
};

bool cli_logs_flag(struct cli_logs_flags *f, const char *flag, const char *val)
{
    if (strcmp(flag, "--state") == 0)
        f->state_path = val;
    else if (strcmp(flag, "--output-file") == 0)
        f->output_path = val;
    else if (strcmp(flag, "--lag") == 0)
        f->lag = val;
    else if (strcmp(flag, "--cwl-tps") == 0)
        f->tps = val;
    else if (strcmp(flag, "--cwl-page-events") == 0)
        f->page_events = val;
    else if (strcmp(flag, "--cwl-api") == 0)
        f->api = val;
    else
        return false;
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

FILE *cli_output_open(const char *path, struct lsf_err *err)
{
    FILE *f = fopen(path, "a");

    if (f == NULL)
        lsf_fail(err, LSF_E_IO, "--output-file %s: cannot open it for appending: %s", path,
                strerror(errno));
    return f;
}

/* ---- the commit ------------------------------------------------------------------------------ */

enum lsf_code cli_write_all(int fd, const char *text, size_t len, const char *what,
        const char *path, struct lsf_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lsf_fail(err, LSF_E_IO, "%s %s: cannot write: %s; check the disk, then "
                    "rerun (the previous checkpoint is intact)", what, path, strerror(errno));
        text += n;
        len -= (size_t)n;
    }
    return LSF_OK;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
enum lsf_code cli_sync_dir(const char *what, const char *path, struct lsf_err *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return lsf_fail(err, LSF_E_IO, "%s %s: cannot sync its directory %s: %s", what, path,
                dir, strerror(e));
    }
    close(fd);
    return LSF_OK;
}

/*
 * Commit cursor (borrowed; NULL = the window's start) as the run's checkpoint: make the
 * findings written so far durable, then replace the state file atomically. Called under
 * logs->mu, from the engine's output lock or before the scan starts.
 */
static enum lsf_code cli_checkpoint_commit(struct cli_logs *logs, const json_t *cursor,
        struct lsf_err *err)
{
    char tmp[4096];
    json_t *state = NULL;
    char *text = NULL;
    int64_t out_len = -1;
    int fd = -1;
    enum lsf_code rc = LSF_OK;

    /* ==== DURABILITY POINT: the alerts sink's spool must be made durable here (flush and
     * fsync its pending deliveries) before the state may advance; that spool is built in
     * alerts/, not yet wired. ==== */

    if (fflush(logs->out) != 0)
        return lsf_fail(err, LSF_E_IO, "cannot write findings: %s", strerror(errno));
    if (logs->output_path) {
        struct stat st;
        if (fsync(fileno(logs->out)) != 0 || fstat(fileno(logs->out), &st) != 0)
            return lsf_fail(err, LSF_E_IO, "--output-file %s: cannot sync it to disk: %s; "
                    "check the disk, then rerun", logs->output_path, strerror(errno));
        out_len = (int64_t)st.st_size;
    }
    if (logs->state_path == NULL)
        return LSF_OK;
    state = json_pack("{s:i, s:s, s:{s:I, s:I}, s:O?, s:n, s:{s:I}}", "version",
            CLI_STATE_VERSION, "source", logs->url, "window", "start_ms",
            (json_int_t)logs->copts.start_ms, "end_ms", (json_int_t)logs->copts.end_ms,
            "cursor", cursor, "output", "corr", "generation",
            (json_int_t)logs->corr_generation);
    if (state && out_len >= 0)
        json_object_set_new(state, "output", json_pack("{s:s, s:I}", "path",
                logs->output_path, "length", (json_int_t)out_len));
    if (state == NULL || (text = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory writing the state");
        goto out;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", logs->state_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        rc = lsf_fail(err, LSF_E_IO, "--state %s: cannot create %s: %s; check the directory's "
                "permissions", logs->state_path, tmp, strerror(errno));
        goto out;
    }
    rc = cli_write_all(fd, text, strlen(text), "--state", logs->state_path, err);
    if (rc == LSF_OK)
        rc = cli_write_all(fd, "\n", 1, "--state", logs->state_path, err);
    if (rc == LSF_OK && fsync(fd) != 0)
        rc = lsf_fail(err, LSF_E_IO, "--state %s: cannot sync %s: %s", logs->state_path, tmp,
                strerror(errno));
    close(fd);
    if (rc == LSF_OK && rename(tmp, logs->state_path) != 0)
        rc = lsf_fail(err, LSF_E_IO, "--state %s: cannot replace it with %s: %s",
                logs->state_path, tmp, strerror(errno));
    if (rc == LSF_OK)
        rc = cli_sync_dir("--state", logs->state_path, err);
    if (rc == LSF_OK)
        logs->n_commits++;
out:
    free(text);
    json_decref(state);
    return rc;
}

/* ---- the source adapter and the sink's input_done -------------------------------------------- */

static enum lsf_code logs_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct cli_logs *logs = self;
    enum lsf_code rc;

    if (logs->is_idle) {
        *name = NULL;
        *done = true;
        return LSF_OK;
    }
    rc = fetch_cwl_next(logs->cwl, name, rd, done, err);
    if (rc != LSF_OK || *done)
        return rc;
    pthread_mutex_lock(&logs->mu);
    if (logs->n_inputs == logs->cap_inputs) {
        size_t cap = logs->cap_inputs ? logs->cap_inputs * 2 : 64;
        struct logs_input *grown = realloc(logs->inputs, cap * sizeof(*grown));
        if (grown == NULL) {
            pthread_mutex_unlock(&logs->mu);
            lsf_reader_close(rd);
            return lsf_fail(err, LSF_E_NOMEM, "out of memory");
        }
        logs->inputs = grown;
        logs->cap_inputs = cap;
    }
    logs->inputs[logs->n_inputs].cursor = fetch_cwl_cursor(logs->cwl);
    logs->inputs[logs->n_inputs].is_done = false;
    logs->n_inputs++;
    pthread_mutex_unlock(&logs->mu);
    return LSF_OK;
}

void cli_logs_input_done(struct cli_logs *logs, uint64_t idx)
{
    json_t *latest = NULL;

    pthread_mutex_lock(&logs->mu);
    if (idx < logs->n_inputs)
        logs->inputs[idx].is_done = true;
    while (logs->next_commit < logs->n_inputs && logs->inputs[logs->next_commit].is_done) {
        struct logs_input *in = &logs->inputs[logs->next_commit++];
        if (in->cursor) {
            json_decref(latest);
            latest = in->cursor;
            in->cursor = NULL;
        }
    }
    if (latest && logs->commit_rc == LSF_OK && logs->is_commit_at_end) {
        json_decref(logs->last_cursor); /* committed when the run ends */
        logs->last_cursor = json_incref(latest);
    } else if (latest && logs->commit_rc == LSF_OK) {
        logs->commit_rc = cli_checkpoint_commit(logs, latest, &logs->commit_err);
        json_decref(logs->last_cursor);
        logs->last_cursor = json_incref(latest);
    }
    pthread_mutex_unlock(&logs->mu);
    json_decref(latest);
}

/* ---- opening a run --------------------------------------------------------------------------- */

static enum lsf_code state_bad(const char *path, const char *why, struct lsf_err *err)
{
    return lsf_fail(err, LSF_E_USAGE, "--state %s: %s; the file is damaged or was edited: "
            "restore it from a backup, or delete it to start again from --since (findings "
            "already written may then repeat)", path, why);
}

/* Read the state file into *state (NULL when it does not exist). */
static enum lsf_code state_load(const char *path, json_t **state, struct lsf_err *err)
{
    json_error_t jerr;
    const json_t *window, *cursor, *output;
    struct stat st;

    *state = NULL;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return LSF_OK;
        return lsf_fail(err, LSF_E_IO, "--state %s: %s", path, strerror(errno));
    }
    *state = json_load_file(path, 0, &jerr);
    if (*state == NULL) {
        char why[300];
        snprintf(why, sizeof(why), "not valid JSON (line %d: %s)", jerr.line, jerr.text);
        return state_bad(path, why, err);
    }
    window = json_object_get(*state, "window");
    cursor = json_object_get(*state, "cursor");
    output = json_object_get(*state, "output");
    if (!json_is_object(*state) ||
            json_integer_value(json_object_get(*state, "version")) != CLI_STATE_VERSION)
        return state_bad(path, "not a version 1 logsift state", err);
    if (!json_is_string(json_object_get(*state, "source")) ||
            !json_is_integer(json_object_get(window, "start_ms")) ||
            !json_is_integer(json_object_get(window, "end_ms")) ||
            !(json_is_null(cursor) || json_is_object(cursor)) ||
            !(json_is_null(output) || json_is_integer(json_object_get(output, "length"))) ||
            !(json_object_get(*state, "corr") == NULL ||
              (json_is_integer(json_object_get(json_object_get(*state, "corr"), "generation")) &&
               json_integer_value(json_object_get(json_object_get(*state, "corr"),
                       "generation")) >= 0)))
        return state_bad(path, "a field is missing or has the wrong type (source, window, "
                "cursor, output, corr)", err);
    return LSF_OK;
}

/* Cut the output back to the committed length and open it for appending. */
static enum lsf_code output_open(struct cli_logs *logs, const json_t *state, struct lsf_err *err)
{
    const json_t *output = json_object_get(state, "output");
    int64_t committed = -1;
    int fd;
    struct stat st;

    if (json_is_object(output))
        committed = json_integer_value(json_object_get(output, "length"));
    if (logs->output_path == NULL) {
        if (committed >= 0)
            return lsf_fail(err, LSF_E_USAGE, "--state %s was written with --output-file %s; "
                    "give that flag again so the run can resume it", logs->state_path,
                    json_string_value(json_object_get(output, "path")));
        logs->out = stdout;
        return LSF_OK;
    }
    fd = open(logs->output_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return lsf_fail(err, LSF_E_IO, "--output-file %s: cannot open it: %s",
                logs->output_path, strerror(e));
    }
    if (committed >= 0 && (int64_t)st.st_size < committed) {
        close(fd);
        return lsf_fail(err, LSF_E_USAGE, "--output-file %s holds %jd bytes but --state %s "
                "committed %jd: the file was cut or replaced; restore it, or delete the state "
                "to start over", logs->output_path, (intmax_t)st.st_size, logs->state_path,
                (intmax_t)committed);
    }
    if (committed >= 0 && (int64_t)st.st_size > committed) {
        /* A killed run's findings after its last checkpoint: they come again from the
         * position that checkpoint saved. */
        if (ftruncate(fd, (off_t)committed) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            return lsf_fail(err, LSF_E_IO, "--output-file %s: cannot cut it back to the "
                    "committed %jd bytes: %s", logs->output_path, (intmax_t)committed,
                    strerror(e));
        }
        fprintf(stderr, "logsift: --output-file %s: dropped %jd bytes an interrupted run wrote "
                "after its last checkpoint; they are scanned again\n", logs->output_path,
                (intmax_t)((int64_t)st.st_size - committed));
    }
    logs->out = fdopen(fd, "a");
    if (logs->out == NULL) {
        close(fd);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    return LSF_OK;
}

/* The window and resume position from the flags and the state. */
static enum lsf_code choose_window(struct cli_logs *logs, const struct cli_logs_flags *flags,
        const struct cli_logs_aws *aws, const json_t *state, const json_t **resume,
        struct lsf_err *err)
{
    int64_t now = now_ms();
    int64_t lag = FETCH_CWL_DEFAULT_LAG_S * 1000LL;
    const json_t *window = json_object_get(state, "window");
    const json_t *cursor = json_object_get(state, "cursor");

    *resume = NULL;
    if (flags->lag && !fetch_cwl_span_parse(flags->lag, &lag))
        return lsf_fail(err, LSF_E_USAGE, "--lag %s: give a span such as 0, 90s, 2m or 1h",
                flags->lag);
    logs->copts.start_ms = now - CLI_DEFAULT_SINCE_MS;
    logs->copts.end_ms = now - lag;
    if (aws->since && !fetch_cwl_time_parse(aws->since, now, &logs->copts.start_ms))
        return lsf_fail(err, LSF_E_USAGE, "--since %s: give an ISO-8601 time "
                "(2025-01-31T10:00:00Z) or a span back from now (15m, 2h, 7d)", aws->since);
    if (aws->until && !fetch_cwl_time_parse(aws->until, now, &logs->copts.end_ms))
        return lsf_fail(err, LSF_E_USAGE, "--until %s: give an ISO-8601 time "
                "(2025-01-31T10:00:00Z) or a span back from now (15m, 2h, 7d)", aws->until);
    /* Never past now - lag: a window that ended in the future would be marked read while
     * events for its last part are still to come. */
    if (logs->copts.end_ms > now - lag)
        logs->copts.end_ms = now - lag;
    if (state == NULL)
        return LSF_OK;
    if (strcmp(json_string_value(json_object_get(state, "source")), logs->url) != 0)
        return lsf_fail(err, LSF_E_USAGE, "--state %s belongs to %s, not %s; give each source "
                "its own state file", logs->state_path,
                json_string_value(json_object_get(state, "source")), logs->url);
    if (json_is_true(json_object_get(cursor, "done"))) {
        /* The next window starts right after the finished one, whatever --since says. */
        logs->copts.start_ms = json_integer_value(json_object_get(window, "end_ms")) + 1;
        return LSF_OK;
    }
    /* An unfinished window is read to its end as it was chosen. */
    logs->copts.start_ms = json_integer_value(json_object_get(window, "start_ms"));
    logs->copts.end_ms = json_integer_value(json_object_get(window, "end_ms"));
    *resume = json_is_object(cursor) ? cursor : NULL;
    return LSF_OK;
}

enum lsf_code cli_logs_open(const char *url, const struct cli_logs_flags *flags,
        const struct cli_logs_aws *aws, struct scan_config *scan, struct cli_logs **out,
        struct scan_source *src, struct lsf_err *err)
{
    struct cli_logs *logs = calloc(1, sizeof(*logs));
    json_t *state = NULL;
    const json_t *resume = NULL;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (logs == NULL || (logs->url = strdup(url)) == NULL) {
        free(logs);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&logs->mu, NULL);
    lsf_err_clear(&logs->commit_err);
    logs->state_path = flags->state_path;
    logs->is_commit_at_end = flags->state_path != NULL && flags->has_correlations;
    logs->output_path = flags->output_path;
    logs->copts.endpoint_url = aws->endpoint_url;
    logs->copts.region = aws->region;
    logs->copts.profile = aws->profile;
    if (flags->tps) {
        char *end;
        logs->copts.filter_tps = strtod(flags->tps, &end);
        if (*end != '\0' || !(logs->copts.filter_tps > 0 && logs->copts.filter_tps <= 1000))
            rc = lsf_fail(err, LSF_E_USAGE, "--cwl-tps %s: give requests per second, more than "
                    "0 (AWS's shared FilterLogEvents quota is 5)", flags->tps);
    }
    if (rc == LSF_OK && flags->page_events) {
        char *end;
        unsigned long n = strtoul(flags->page_events, &end, 10);
        if (*end != '\0' || n < 1 || n > 10000)
            rc = lsf_fail(err, LSF_E_USAGE, "--cwl-page-events %s: give a number from 1 to "
                    "10000", flags->page_events);
        logs->copts.page_events = (unsigned)n;
    }
    if (rc == LSF_OK && flags->api && strcmp(flags->api, "get") == 0)
        logs->copts.one_stream = true;
    else if (rc == LSF_OK && flags->api && strcmp(flags->api, "filter") != 0)
        rc = lsf_fail(err, LSF_E_USAGE, "--cwl-api %s: use filter (FilterLogEvents, the "
                "default) or get (GetLogEvents, for logs://GROUP/STREAM naming one stream)",
                flags->api);
    if (rc == LSF_OK && logs->state_path)
        rc = state_load(logs->state_path, &state, err);
    if (rc == LSF_OK)
        rc = choose_window(logs, flags, aws, state, &resume, err);
    if (rc == LSF_OK)
        rc = output_open(logs, state, err);
    if (rc == LSF_OK && logs->state_path) {
        logs->corr_generation = (uint64_t)json_integer_value(json_object_get(
                json_object_get(state, "corr"), "generation"));
        rc = cli_carry_load(logs->state_path, url, logs->corr_generation, &logs->carry, err);
    }
    logs->copts.resume = resume;
    logs->is_idle = rc == LSF_OK && logs->copts.start_ms > logs->copts.end_ms;
    if (rc == LSF_OK && logs->is_idle && state == NULL)
        rc = lsf_fail(err, LSF_E_USAGE, "%s: the time window starts after it ends; check "
                "--since, --until and --lag", url);
    if (rc == LSF_OK && !logs->is_idle)
        rc = fetch_cwl_new(url, &logs->copts, &logs->cwl, err);
    logs->copts.resume = NULL;
    /* A first run commits its start at once, so a kill before its first page still leaves a
     * state that cuts the output back. */
    if (rc == LSF_OK && logs->state_path && state == NULL)
        rc = cli_checkpoint_commit(logs, NULL, err);
    json_decref(state);
    if (rc != LSF_OK) {
        cli_logs_free(logs);
        return rc;
    }
    if (logs->state_path) {
        scan->n_workers = 1;
        scan->carry = cli_carry_io(logs->carry);
    }
    if (scan->format == FRAME_AUTO)
        scan->format = FRAME_FIREHOSE;
    *src = (struct scan_source){logs_next, logs};
    *out = logs;
    return LSF_OK;
}

FILE *cli_logs_output(struct cli_logs *logs)
{
    return logs->out;
}

enum lsf_code cli_logs_finish(struct cli_logs *logs, struct lsf_err *err)
{
    enum lsf_code rc;

    pthread_mutex_lock(&logs->mu);
    rc = logs->commit_rc;
    if (rc != LSF_OK)
        lsf_fail(err, rc, "%s", logs->commit_err.msg);
    /* Correlation findings come after the last page's commit: commit the same position
     * again with the output that holds them, or the next run would cut them off. The
     * correlation state for the next run is made durable first, and this commit names it. */
    else if (logs->last_cursor != NULL) {
        uint64_t before = logs->corr_generation;
        if (cli_carry_is_ready(logs->carry)) {
            rc = cli_carry_write(logs->carry, before + 1, err);
            if (rc == LSF_OK)
                logs->corr_generation = before + 1;
        }
        if (rc == LSF_OK)
            rc = cli_checkpoint_commit(logs, logs->last_cursor, err);
        if (rc == LSF_OK && logs->corr_generation != before && before > 0)
            cli_carry_remove(logs->state_path, before);
        if (rc != LSF_OK)
            logs->corr_generation = before;
    }
    pthread_mutex_unlock(&logs->mu);
    if (rc == LSF_OK && fflush(logs->out) != 0)
        rc = lsf_fail(err, LSF_E_IO, "cannot write findings: %s", strerror(errno));
    return rc;
}

uint64_t cli_logs_n_problems(const struct cli_logs *logs)
{
    return cli_carry_n_problems(logs->carry);
}

uint64_t cli_logs_n_pages(const struct cli_logs *logs)
{
    return logs->cwl ? fetch_cwl_n_pages(logs->cwl) : 0;
}

void cli_logs_free(struct cli_logs *logs)
{
    if (logs == NULL)
        return;
    fetch_cwl_free(logs->cwl);
    cli_carry_free(logs->carry);
    if (logs->out && logs->out != stdout)
        fclose(logs->out);
    for (size_t i = 0; i < logs->n_inputs; i++)
        json_decref(logs->inputs[i].cursor);
    free(logs->inputs);
    json_decref(logs->last_cursor);
    pthread_mutex_destroy(&logs->mu);
    free(logs->url);
    free(logs);
}
