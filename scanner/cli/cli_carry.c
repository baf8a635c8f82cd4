/*
 * cli_carry: the correlation state carried between --state runs, in a sidecar file (the
 * format and the crash rules are in cli_carry.h).
 */
#include "cli_carry.h"
#include "cli_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define CLI_CARRY_VERSION 1

struct cli_carry {
    char *state_path;
    char *source;
    struct scan_carry_io io;
    /* loaded: groups[i].recs point into recs once loading is done */
    struct scan_carry *groups;
    size_t n_groups, cap_groups;
    struct scan_carry_rec *recs;
    size_t n_recs, cap_recs;
    size_t *rec_start; /* per group, into recs, while loading */
    char **strings;    /* every string loaded, to free */
    size_t n_strings, cap_strings;
    uint64_t n_problems;
    /* the run's carry, as the sidecar's group lines */
    bool is_ready;
    int64_t out_last_ts_ms;
    char *out_text;
    size_t out_len, out_cap;
    size_t n_out_groups;
    uint64_t n_unwritable; /* groups whose text is not UTF-8 */
};

static void sidecar_path(char *out, size_t cap, const char *state_path, uint64_t generation)
{
    snprintf(out, cap, "%s.corr.%" PRIu64, state_path, generation);
}

/* ---- loading -------------------------------------------------------------------------------- */

static const char *keep_string(struct cli_carry *c, const char *s)
{
    static const char empty[] = "";
    char *copy;

    if (s[0] == '\0')
        return empty;
    if (c->n_strings == c->cap_strings) {
        size_t cap = c->cap_strings ? c->cap_strings * 2 : 64;
        char **grown = realloc(c->strings, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        c->strings = grown;
        c->cap_strings = cap;
    }
    copy = strdup(s);
    if (copy != NULL)
        c->strings[c->n_strings++] = copy;
    return copy;
}

static void loaded_clear(struct cli_carry *c)
{
    for (size_t i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    c->n_strings = 0;
    c->n_groups = 0;
    c->n_recs = 0;
    c->io.in = NULL;
    c->io.n_in = 0;
    c->io.in_last_ts_ms = INT64_MIN;
}

static bool format_of(const char *name, enum frame_format *out)
{
    for (int f = 0; f < FRAME_N_FORMATS; f++) {
        if (strcmp(frame_format_name((enum frame_format)f), name) == 0) {
            *out = (enum frame_format)f;
            return true;
        }
    }
    return false;
}

static bool is_count(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* One group line; false with why set when it is not one. NOMEM: *is_nomem. */
static bool load_group(struct cli_carry *c, const json_t *line, char *why, size_t why_cap,
        bool *is_nomem)
{
    const json_t *corr = json_object_get(line, "corr");
    const json_t *key = json_object_get(line, "key");
    const json_t *quiet = json_object_get(line, "quiet_until_ms");
    const json_t *recs = json_object_get(line, "recs");
    struct scan_carry *g;
    const char *prev_input = NULL;
    size_t i;
    const json_t *r;

    if (!json_is_string(corr) || !json_is_string(key) || !json_is_array(recs) ||
            !(json_is_null(quiet) || json_is_integer(quiet))) {
        snprintf(why, why_cap, "a group without its corr, key, quiet_until_ms or recs");
        return false;
    }
    if (c->n_recs + json_array_size(recs) > SCAN_CARRY_MAX_RECORDS) {
        snprintf(why, why_cap, "more than %u carried matches", (unsigned)SCAN_CARRY_MAX_RECORDS);
        return false;
    }
    if (c->n_groups == c->cap_groups) {
        size_t cap = c->cap_groups ? c->cap_groups * 2 : 64;
        struct scan_carry *grown = realloc(c->groups, cap * sizeof(*grown));
        size_t *starts = realloc(c->rec_start, cap * sizeof(*starts));
        if (grown != NULL)
            c->groups = grown;
        if (starts != NULL)
            c->rec_start = starts;
        if (grown == NULL || starts == NULL)
            return *is_nomem = true, false;
        c->cap_groups = cap;
    }
    if (c->n_recs + json_array_size(recs) > c->cap_recs) {
        size_t cap = c->cap_recs ? c->cap_recs : 256;
        struct scan_carry_rec *grown;
        while (cap < c->n_recs + json_array_size(recs))
            cap *= 2;
        grown = realloc(c->recs, cap * sizeof(*grown));
        if (grown == NULL)
            return *is_nomem = true, false;
        c->recs = grown;
        c->cap_recs = cap;
    }
    g = &c->groups[c->n_groups];
    g->corr_id = keep_string(c, json_string_value(corr));
    g->key = keep_string(c, json_string_value(key));
    g->quiet_until_ms = json_is_integer(quiet) ? json_integer_value(quiet) : INT64_MIN;
    g->recs = NULL;
    g->n_recs = json_array_size(recs);
    if (g->corr_id == NULL || g->key == NULL)
        return *is_nomem = true, false;
    c->rec_start[c->n_groups] = c->n_recs;
    json_array_foreach(recs, i, r) {
        struct scan_carry_rec *out = &c->recs[c->n_recs];
        const char *input;
        if (!json_is_array(r) || json_array_size(r) != 7 ||
                !is_count(json_array_get(r, 0)) || json_integer_value(json_array_get(r, 0)) >
                UINT16_MAX || !json_is_integer(json_array_get(r, 1)) ||
                !json_is_string(json_array_get(r, 2)) || !is_count(json_array_get(r, 3)) ||
                !is_count(json_array_get(r, 4)) || !json_is_string(json_array_get(r, 5)) ||
                !json_is_string(json_array_get(r, 6)) ||
                !format_of(json_string_value(json_array_get(r, 5)), &out->format)) {
            snprintf(why, why_cap, "match %zu of group '%s' is not [position, time, input, "
                    "offset, ordinal, format, value]", i, g->key);
            return false;
        }
        if (i > 0 && json_integer_value(json_array_get(r, 1)) < out[-1].ts_ms) {
            snprintf(why, why_cap, "the matches of group '%s' are out of time order", g->key);
            return false;
        }
        input = json_string_value(json_array_get(r, 2));
        out->base_pos = (uint32_t)json_integer_value(json_array_get(r, 0));
        out->ts_ms = json_integer_value(json_array_get(r, 1));
        out->input = prev_input && strcmp(prev_input, input) == 0 ? prev_input :
                keep_string(c, input);
        out->offset = (uint64_t)json_integer_value(json_array_get(r, 3));
        out->ordinal = (uint64_t)json_integer_value(json_array_get(r, 4));
        out->val = keep_string(c, json_string_value(json_array_get(r, 6)));
        if (out->input == NULL || out->val == NULL)
            return *is_nomem = true, false;
        prev_input = out->input;
        c->n_recs++;
    }
    c->n_groups++;
    return true;
}

/* Read path (generation G of the state's sidecar). LSF_OK, or LSF_E_INPUT with why set, or
 * LSF_E_NOMEM. */
static enum lsf_code load_file(struct cli_carry *c, const char *path, uint64_t generation,
        char *why, size_t why_cap)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t line_cap = 0, n_lines = 0;
    int64_t want_groups = -1;
    enum lsf_code rc = LSF_OK;

    if (f == NULL) {
        if (errno == ENOENT)
            snprintf(why, why_cap, "it is missing (deleted?)");
        else
            snprintf(why, why_cap, "cannot open it: %s", strerror(errno));
        return LSF_E_INPUT;
    }
    while (rc == LSF_OK && getline(&line, &line_cap, f) >= 0) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        bool is_nomem = false;

        n_lines++;
        if (j == NULL || !json_is_object(j)) {
            snprintf(why, why_cap, "line %zu is not JSON (%s)", n_lines,
                    j == NULL ? jerr.text : "not an object");
            rc = LSF_E_INPUT;
        } else if (n_lines == 1) {
            const json_t *src = json_object_get(j, "source");
            const json_t *last = json_object_get(j, "last_ts_ms");
            if (json_integer_value(json_object_get(j, "logsift_correlation_state")) !=
                    CLI_CARRY_VERSION || !json_is_string(src) ||
                    !is_count(json_object_get(j, "generation")) ||
                    !is_count(json_object_get(j, "groups")) ||
                    !(json_is_null(last) || json_is_integer(last))) {
                snprintf(why, why_cap, "line 1 is not a version %d header", CLI_CARRY_VERSION);
                rc = LSF_E_INPUT;
            } else if (strcmp(json_string_value(src), c->source) != 0) {
                snprintf(why, why_cap, "it belongs to %s", json_string_value(src));
                rc = LSF_E_INPUT;
            } else if ((uint64_t)json_integer_value(json_object_get(j, "generation")) !=
                    generation) {
                snprintf(why, why_cap, "it holds generation %lld, not %" PRIu64,
                        (long long)json_integer_value(json_object_get(j, "generation")),
                        generation);
                rc = LSF_E_INPUT;
            } else {
                want_groups = json_integer_value(json_object_get(j, "groups"));
                c->io.in_last_ts_ms = json_is_integer(last) ? json_integer_value(last)
                                                            : INT64_MIN;
            }
        } else if (!load_group(c, j, why, why_cap, &is_nomem)) {
            rc = is_nomem ? LSF_E_NOMEM : LSF_E_INPUT;
            if (rc == LSF_E_INPUT) {
                size_t len = strlen(why);
                snprintf(why + len, why_cap - len, " (line %zu)", n_lines);
            }
        }
        json_decref(j);
    }
    if (rc == LSF_OK && ferror(f)) {
        snprintf(why, why_cap, "cannot read it: %s", strerror(errno));
        rc = LSF_E_INPUT;
    }
    if (rc == LSF_OK && (n_lines == 0 || (int64_t)c->n_groups != want_groups)) {
        snprintf(why, why_cap, "it ends after %zu of %lld groups (cut short)", c->n_groups,
                (long long)(want_groups < 0 ? 0 : want_groups));
        rc = LSF_E_INPUT;
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- the engine's side ---------------------------------------------------------------------- */

static enum lsf_code out_append(struct cli_carry *c, const char *text, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        char *grown;
        while (cap < c->out_len + len)
            cap *= 2;
        grown = realloc(c->out_text, cap);
        if (grown == NULL)
            return LSF_E_NOMEM;
        c->out_text = grown;
        c->out_cap = cap;
    }
    memcpy(c->out_text + c->out_len, text, len);
    c->out_len += len;
    return LSF_OK;
}

/* A JSON integer, or null for INT64_MIN (none). */
static json_t *time_or_null(int64_t ms)
{
    return ms == INT64_MIN ? json_null() : json_integer(ms);
}

static enum lsf_code carry_out(void *self, const struct scan_carry *g, struct lsf_err *err)
{
    struct cli_carry *c = self;
    json_t *recs = json_array();
    json_t *line = json_object();
    char *text = NULL;
    bool is_utf8 = true;
    enum lsf_code rc = LSF_OK;

    if (recs == NULL || line == NULL) {
        rc = LSF_E_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < g->n_recs && rc == LSF_OK && is_utf8; k++) {
        const struct scan_carry_rec *r = &g->recs[k];
        json_t *input = json_string(r->input), *val = json_string(r->val);
        json_t *a = json_array();

        is_utf8 = input != NULL && val != NULL;
        if (a == NULL || json_array_append_new(a, json_integer(r->base_pos)) ||
                json_array_append_new(a, json_integer(r->ts_ms)) ||
                json_array_append_new(a, input ? input : json_null()) ||
                json_array_append_new(a, json_integer((json_int_t)r->offset)) ||
                json_array_append_new(a, json_integer((json_int_t)r->ordinal)) ||
                json_array_append_new(a, json_string(frame_format_name(r->format))) ||
                json_array_append_new(a, val ? val : json_null()) ||
                json_array_append_new(recs, a))
            rc = LSF_E_NOMEM;
    }
    if (rc == LSF_OK && is_utf8) {
        json_t *corr = json_string(g->corr_id), *key = json_string(g->key);
        is_utf8 = corr != NULL && key != NULL;
        if (json_object_set_new(line, "corr", corr ? corr : json_null()) ||
                json_object_set_new(line, "key", key ? key : json_null()) ||
                json_object_set_new(line, "quiet_until_ms", time_or_null(g->quiet_until_ms)) ||
                json_object_set(line, "recs", recs))
            rc = LSF_E_NOMEM;
    }
    if (rc == LSF_OK && !is_utf8) {
        c->n_unwritable++; /* a key or input name that is not UTF-8 cannot be kept in JSON */
        goto out;
    }
    if (rc == LSF_OK && (text = json_dumps(line, JSON_COMPACT)) == NULL)
        rc = LSF_E_NOMEM;
    if (rc == LSF_OK && (out_append(c, text, strlen(text)) != LSF_OK ||
            out_append(c, "\n", 1) != LSF_OK))
        rc = LSF_E_NOMEM;
    if (rc == LSF_OK)
        c->n_out_groups++;
out:
    free(text);
    json_decref(recs);
    json_decref(line);
    if (rc != LSF_OK)
        return lsf_fail(err, rc, "out of memory keeping the correlation state for the next run");
    return LSF_OK;
}

static void carry_end(void *self, int64_t last_ts_ms)
{
    struct cli_carry *c = self;

    c->out_last_ts_ms = last_ts_ms;
    c->is_ready = true;
}

enum lsf_code cli_carry_load(const char *state_path, const char *source, uint64_t generation,
        struct cli_carry **out, struct lsf_err *err)
{
    struct cli_carry *c = calloc(1, sizeof(*c));
    char path[4096], why[512];
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (c == NULL || (c->state_path = strdup(state_path)) == NULL ||
            (c->source = strdup(source)) == NULL) {
        cli_carry_free(c);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    c->io = (struct scan_carry_io){NULL, 0, INT64_MIN, carry_out, carry_end, c};
    if (generation > 0) {
        sidecar_path(path, sizeof(path), state_path, generation);
        rc = load_file(c, path, generation, why, sizeof(why));
    }
    if (rc == LSF_E_NOMEM) {
        cli_carry_free(c);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory loading the correlation state %s",
                path);
    }
    if (rc != LSF_OK) {
        loaded_clear(c);
        fprintf(stderr, "logsift: --state %s: correlation state %s: %s; this run goes on "
                "without it and writes a fresh one (a burst split between the last run and "
                "this one may be missed); nothing else to do (to start the correlations "
                "afresh on purpose, delete it)\n", state_path, path, why);
        c->n_problems++;
    }
    for (size_t i = 0; i < c->n_groups; i++)
        c->groups[i].recs = c->recs + c->rec_start[i];
    c->io.in = c->n_groups ? c->groups : NULL;
    c->io.n_in = c->n_groups;
    /* A run killed between its final commit and the removal of the generation before. */
    if (generation > 1)
        cli_carry_remove(state_path, generation - 1);
    *out = c;
    return LSF_OK;
}

const struct scan_carry_io *cli_carry_io(struct cli_carry *c)
{
    return &c->io;
}

bool cli_carry_is_ready(const struct cli_carry *c)
{
    return c != NULL && c->is_ready;
}

uint64_t cli_carry_n_problems(const struct cli_carry *c)
{
    return c ? c->n_problems : 0;
}

/* ---- writing -------------------------------------------------------------------------------- */

enum lsf_code cli_carry_write(struct cli_carry *c, uint64_t generation, struct lsf_err *err)
{
    char path[4096], tmp[4200];
    json_t *head;
    char *text = NULL;
    int fd;
    enum lsf_code rc = LSF_OK;

    if (c->n_unwritable > 0)
        fprintf(stderr, "logsift: correlations: %" PRIu64 " groups whose key or input name is "
                "not UTF-8 text were not carried to the next run\n", c->n_unwritable);
    sidecar_path(path, sizeof(path), c->state_path, generation);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    head = json_pack("{s:i, s:s, s:I, s:o, s:I}", "logsift_correlation_state",
            CLI_CARRY_VERSION, "source", c->source, "generation", (json_int_t)generation,
            "last_ts_ms", time_or_null(c->out_last_ts_ms), "groups",
            (json_int_t)c->n_out_groups);
    if (head == NULL || (text = json_dumps(head, JSON_COMPACT)) == NULL) {
        json_decref(head);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory writing the correlation state");
    }
    json_decref(head);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        free(text);
        return lsf_fail(err, LSF_E_IO, "correlation state %s: cannot create it: %s; check the "
                "directory's permissions", tmp, strerror(errno));
    }
    rc = cli_write_all(fd, text, strlen(text), "correlation state", tmp, err);
    if (rc == LSF_OK)
        rc = cli_write_all(fd, "\n", 1, "correlation state", tmp, err);
    if (rc == LSF_OK)
        rc = cli_write_all(fd, c->out_text ? c->out_text : "", c->out_len, "correlation state",
                tmp, err);
    if (rc == LSF_OK && fsync(fd) != 0)
        rc = lsf_fail(err, LSF_E_IO, "correlation state %s: cannot sync it: %s", tmp,
                strerror(errno));
    close(fd);
    if (rc == LSF_OK && rename(tmp, path) != 0)
        rc = lsf_fail(err, LSF_E_IO, "correlation state %s: cannot replace it with %s: %s",
                path, tmp, strerror(errno));
    if (rc == LSF_OK)
        rc = cli_sync_dir("correlation state", path, err);
    free(text);
    return rc;
}

void cli_carry_remove(const char *state_path, uint64_t generation)
{
    char path[4096];

    sidecar_path(path, sizeof(path), state_path, generation);
    (void)unlink(path);
}

void cli_carry_free(struct cli_carry *c)
{
    if (c == NULL)
        return;
    loaded_clear(c);
    free(c->strings);
    free(c->groups);
    free(c->rec_start);
    free(c->recs);
    free(c->out_text);
    free(c->state_path);
    free(c->source);
    free(c);
}
