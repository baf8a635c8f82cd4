/*
 * scan: inputs, workers and output of the engine (the hot path is in scan_match.c).
 *
 * Design. N worker threads share a small table of open inputs ("streams", at most N). A worker
 * claims a stream nobody is reading, reads one window of decompressed bytes from it (the bytes
 * the previous window left unframed first, then up to chunk_len new ones), frames the window
 * in place, hands the unframed tail back to the stream and releases it, and only then scans
 * the window. So with many inputs the workers read, inflate and scan different files at once,
 * and with one large input they take turns inflating it while the others scan earlier
 * windows. Memory is bounded by configuration: per worker one window (chunk_len plus the
 * largest event), per stream one pending partial event (max_event_len).
 *
 * Only the stream table and the output are locked, once per window, never per event or per
 * match. Findings are formatted into the worker's own buffer and written in whole batches, so
 * lines never interleave; with --sort they are kept and written in (input, offset, rule) order
 * at the end, which costs memory proportional to the findings, not to the input.
 */
#include "scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* An input being read. Owned by the run; one worker at a time reads it (busy). */
struct scan_stream {
    char *name;
    struct lsf_reader rd;
    struct framer *framer;
    struct lsf_buf carry;   /* bytes read but not yet framed: the start of the next window */
    uint64_t base_off;      /* input offset of carry's first byte */
    uint64_t input_idx;     /* position in the source's order */
    uint64_t n_events;      /* events framed so far, for messages */
    unsigned n_scanning;    /* windows of it read but not yet scanned and written */
    bool is_busy;
    bool is_eof;
    bool is_unlinked;       /* out of the table; freed when the last window is written */
    bool is_failed;         /* a step on it stopped the run: it never counts as done */
    struct scan_stream *next_active;
};

struct scan_run {
    struct scan_engine *eng;
    const struct scan_config *cfg;
    struct scan_source *src;
    struct scan_sink *sink;

    pthread_mutex_t mu; /* the stream table, the source, the counters below */
    pthread_cond_t cv;  /* a stream was released or finished */
    struct scan_stream *active; /* open streams, oldest first */
    unsigned n_active;
    bool is_source_done;
    uint64_t n_opened;
    uint64_t n_source_problems;
    enum lsf_code fatal; /* set when one worker hit an error that stops the run */
    struct lsf_err fatal_err;

    pthread_mutex_t out_mu; /* the sink's write and problem calls */

    atomic_uint_fast64_t bytes_done; /* for the progress line */
    atomic_uint_fast64_t events_done;
    struct timespec t_start;
    double last_progress_s;
};

static double elapsed_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void scan_config_init(struct scan_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->chunk_len = SCAN_DEFAULT_CHUNK_LEN;
    cfg->max_event_len = SCAN_DEFAULT_MAX_EVENT_LEN;
    cfg->format = FRAME_AUTO;
}

void scan_stats_cleanup(struct scan_stats *stats)
{
    free(stats->rule_findings);
    free(stats->rule_confirms);
    stats->rule_findings = NULL;
    stats->rule_confirms = NULL;
    stats->n_rules = 0;
}

/* Turn a rule's "formats=" list into a bit set of frame formats. */
static enum lsf_code rule_format_bits(const struct pat_rule *rule, unsigned *bits,
        struct lsf_err *err)
{
    char name[64];
    const char *p = rule->formats;

    if (p == NULL || *p == '\0') {
        *bits = ~0u;
        return LSF_OK;
    }
    *bits = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        enum frame_format fmt;
        struct lsf_err ferr;

        lsf_err_clear(&ferr);
        if (n == 0 || n >= sizeof(name) ||
                (memcpy(name, p, n), name[n] = '\0',
                        frame_format_parse(name, &fmt, &ferr) != LSF_OK))
            return lsf_fail(err, LSF_E_RULE, "%s:%u: rule %s: formats=%s: %s", rule->file,
                    rule->line, rule->id, rule->formats,
                    ferr.msg[0] ? ferr.msg : "empty or overlong format name");
        *bits |= 1u << fmt;
        p += n;
        if (*p == ',')
            p++;
    }
    return LSF_OK;
}

/* The Sigma rules, and those among them with no prefilter (evaluated on every event). */
static enum lsf_code sigma_lists(struct scan_engine *eng, struct lsf_err *err)
{
    size_t n = eng->n_rules ? eng->n_rules : 1;

    eng->sigma_rules = calloc(n, sizeof(*eng->sigma_rules));
    eng->unfiltered_rules = calloc(n, sizeof(*eng->unfiltered_rules));
    if (eng->sigma_rules == NULL || eng->unfiltered_rules == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating the scan engine");
    for (size_t i = 0; i < eng->n_rules; i++) {
        const struct pat_rule *rule = pat_set_rule(eng->set, i);
        if (rule->sigma == NULL || !pat_sigma_rule_has_detection(rule->sigma))
            continue; /* correlation rules are fed by their base rules, not by events */
        eng->sigma_rules[eng->n_sigma++] = (unsigned)i;
        if (rule->n_code == 0)
            eng->unfiltered_rules[eng->n_unfiltered++] = (unsigned)i;
    }
    return LSF_OK;
}

enum lsf_code scan_engine_new(const struct pat_set *set, const struct pat_db *db,
        struct scan_engine **out, struct lsf_err *err)
{
    struct scan_engine *eng = calloc(1, sizeof(*eng));
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (eng == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating the scan engine");
    eng->set = set;
    eng->db = db;
    eng->n_rules = pat_set_n_rules(set);
    eng->n_patterns = pat_set_n_patterns(set);
    eng->needs_per_event = pat_set_needs_event_scan(set);
    eng->rule_formats = calloc(eng->n_rules ? eng->n_rules : 1, sizeof(*eng->rule_formats));
    if (eng->rule_formats == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory creating the scan engine");
        goto out;
    }
    for (size_t i = 0; i < eng->n_rules; i++) {
        rc = rule_format_bits(pat_set_rule(set, i), &eng->rule_formats[i], err);
        if (rc != LSF_OK)
            goto out;
    }
    rc = sigma_lists(eng, err);
    if (rc == LSF_OK)
        rc = scan_corr_setup(eng, err);
    if (rc != LSF_OK)
        goto out;
    if (hs_alloc_scratch(pat_db_hs(db), &eng->proto_scratch) != HS_SUCCESS) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory allocating Hyperscan scratch space");
        goto out;
    }
    *out = eng;
out:
    if (rc != LSF_OK)
        scan_engine_free(eng);
    return rc;
}

size_t scan_engine_n_correlations(const struct scan_engine *eng)
{
    return eng->n_corr;
}

void scan_engine_free(struct scan_engine *eng)
{
    if (eng == NULL)
        return;
    if (eng->proto_scratch)
        hs_free_scratch(eng->proto_scratch);
    free(eng->rule_formats);
    free(eng->sigma_rules);
    free(eng->unfiltered_rules);
    scan_corr_cleanup(eng);
    free(eng);
}

/* ---- workers ---------------------------------------------------------------------------- */

static enum lsf_code worker_init(struct scan_worker *w, struct scan_run *run, struct lsf_err *err)
{
    const struct scan_engine *eng = run->eng;
    size_t n_pat = eng->n_patterns ? eng->n_patterns : 1;
    size_t n_rules = eng->n_rules ? eng->n_rules : 1;

    memset(w, 0, sizeof(*w));
    w->eng = eng;
    w->run = run;
    lsf_buf_init(&w->window, run->cfg->chunk_len + run->cfg->max_event_len + 65536);
    frame_batch_init(&w->batch);
    lsf_buf_init(&w->out, SIZE_MAX);
    lsf_buf_init(&w->sort_text, SIZE_MAX);
    lsf_buf_init(&w->corr_text, UINT32_MAX); /* entries point into it with 32-bit offsets */
    w->run_n_workers = run->cfg->n_workers;
    lsf_err_clear(&w->err);
    w->pattern_stamp = calloc(n_pat, sizeof(*w->pattern_stamp));
    w->event_patterns = calloc(n_pat, sizeof(*w->event_patterns));
    w->event_ids = calloc(n_pat, sizeof(*w->event_ids));
    w->rule_stamp = calloc(n_rules, sizeof(*w->rule_stamp));
    w->stats.rule_findings = calloc(n_rules, sizeof(*w->stats.rule_findings));
    w->stats.rule_confirms = calloc(n_rules, sizeof(*w->stats.rule_confirms));
    w->stats.n_rules = eng->n_rules;
    if (!w->pattern_stamp || !w->event_patterns || !w->event_ids || !w->rule_stamp ||
            !w->stats.rule_findings || !w->stats.rule_confirms)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory starting a scan worker");
    if (hs_clone_scratch(eng->proto_scratch, &w->scratch) != HS_SUCCESS)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory cloning Hyperscan scratch space");
    /* --geoip: the Sigma context also finds each finding's source address. */
    w->geoip = run->cfg->geoip;
    if (eng->n_sigma > 0 || run->cfg->geoip != NULL) {
        enum lsf_code rc = pat_sigma_event_new(eng->set, &w->sigma_ev, err);
        if (rc != LSF_OK)
            return rc;
        pat_sigma_event_set_geoip(w->sigma_ev, run->cfg->geoip);
    }
    return LSF_OK;
}

static void worker_cleanup(struct scan_worker *w)
{
    if (w->scratch)
        hs_free_scratch(w->scratch);
    w->scratch = NULL;
    pat_sigma_event_free(w->sigma_ev);
    w->sigma_ev = NULL;
    scan_corr_worker_cleanup(w);
    lsf_buf_cleanup(&w->window);
    frame_batch_cleanup(&w->batch);
    lsf_buf_cleanup(&w->out);
    lsf_buf_cleanup(&w->sort_text);
    free(w->hits);
    free(w->pattern_stamp);
    free(w->event_patterns);
    free(w->event_ids);
    free(w->rule_stamp);
    free(w->sorted);
    free(w->input_name);
    w->input_name = NULL;
    scan_stats_cleanup(&w->stats);
    w->hits = NULL;
    w->pattern_stamp = NULL;
    w->event_patterns = NULL;
    w->event_ids = NULL;
    w->rule_stamp = NULL;
    w->sorted = NULL;
}

/* ---- reporting ---------------------------------------------------------------------------- */

static void report_problem(struct scan_run *run, const struct lsf_err *perr)
{
    pthread_mutex_lock(&run->out_mu);
    run->sink->problem(run->sink->self, perr);
    pthread_mutex_unlock(&run->out_mu);
}

static enum lsf_code flush_output(struct scan_worker *w, struct lsf_err *err)
{
    struct scan_run *run = w->run;
    enum lsf_code rc;

    if (w->out.len == 0)
        return LSF_OK;
    pthread_mutex_lock(&run->out_mu);
    rc = run->sink->write(run->sink->self, w->out.data, w->out.len, err);
    pthread_mutex_unlock(&run->out_mu);
    w->out.len = 0;
    return rc;
}

static void print_progress(struct scan_run *run)
{
    double t = elapsed_since(&run->t_start);
    uint64_t bytes = atomic_load(&run->bytes_done);

    if (t - run->last_progress_s < 0.25)
        return;
    run->last_progress_s = t;
    fprintf(stderr, "\rlogsift: %llu inputs, %llu events, %.1f MB, %.0f MB/s   ",
            (unsigned long long)run->n_opened, (unsigned long long)atomic_load(&run->events_done),
            (double)bytes / 1e6, t > 0 ? (double)bytes / 1e6 / t : 0.0);
    fflush(stderr);
}

/* ---- the stream table ---------------------------------------------------------------------- */

static void stream_free(struct scan_stream *s)
{
    if (s == NULL)
        return;
    lsf_reader_close(&s->rd);
    framer_free(s->framer);
    lsf_buf_cleanup(&s->carry);
    free(s->name);
    free(s);
}

/* Open the source's next input as a stream (called with mu held). */
static enum lsf_code open_next(struct scan_run *run, struct scan_stream **out, struct lsf_err *err)
{
    struct scan_stream *s;
    struct lsf_err oerr;
    enum lsf_code rc;
    bool is_done = false;
    char *name = NULL;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory opening an input");
    lsf_buf_init(&s->carry, run->cfg->max_event_len + 65536);
    lsf_err_clear(&oerr);
    rc = run->src->next(run->src->self, &name, &s->rd, &is_done, &oerr);
    s->name = name;
    if (rc == LSF_E_NOMEM) {
        stream_free(s);
        return lsf_fail(err, rc, "%s", oerr.msg);
    }
    if (rc != LSF_OK) {
        /* One bad input never ends the run: report it and let the caller ask again. */
        report_problem(run, &oerr);
        run->n_source_problems++;
        stream_free(s);
        return LSF_OK;
    }
    if (is_done) {
        run->is_source_done = true;
        stream_free(s);
        return LSF_OK;
    }
    rc = framer_new(run->cfg->format, run->cfg->max_event_len, &s->framer, err);
    if (rc != LSF_OK) {
        stream_free(s);
        return rc;
    }
    s->input_idx = run->n_opened++;
    *out = s;
    return LSF_OK;
}

/*
 * Claim a stream to read from: an open one nobody is reading, else a newly opened one.
 * Called with mu held; waits while every stream is busy. NULL when all input is done or the
 * run is stopping.
 */
static struct scan_stream *claim_stream(struct scan_run *run)
{
    for (;;) {
        struct scan_stream *s;

        if (run->fatal != LSF_OK)
            return NULL;
        for (s = run->active; s; s = s->next_active) {
            if (!s->is_busy) {
                s->is_busy = true;
                return s;
            }
        }
        if (!run->is_source_done && run->n_active < run->cfg->n_workers) {
            struct scan_stream *opened = NULL;
            struct scan_stream **tail = &run->active;
            enum lsf_code rc = open_next(run, &opened, &run->fatal_err);

            if (rc != LSF_OK) {
                run->fatal = rc;
                pthread_cond_broadcast(&run->cv);
                return NULL;
            }
            if (opened == NULL)
                continue;
            while (*tail)
                tail = &(*tail)->next_active;
            *tail = opened;
            run->n_active++;
            opened->is_busy = true;
            return opened;
        }
        if (run->is_source_done && run->n_active == 0)
            return NULL;
        pthread_cond_wait(&run->cv, &run->mu);
    }
}

/*
 * Every window of s has been written: tell the sink (unless --sort holds the findings back
 * until the end, or the run is stopping) and free it. Called with mu held.
 */
static void finish_stream(struct scan_run *run, struct scan_stream *s)
{
    if (run->sink->input_done && !run->cfg->sort && !s->is_failed && run->fatal == LSF_OK) {
        pthread_mutex_lock(&run->out_mu);
        run->sink->input_done(run->sink->self, s->input_idx);
        pthread_mutex_unlock(&run->out_mu);
    }
    stream_free(s);
}

/* Give a stream back; a finished one leaves the table, and is freed once no worker still
 * scans a window of it (called with mu held). */
static void release_stream(struct scan_run *run, struct scan_stream *s)
{
    s->is_busy = false;
    if (s->is_eof) {
        struct scan_stream **p = &run->active;
        while (*p != s)
            p = &(*p)->next_active;
        *p = s->next_active;
        run->n_active--;
        s->is_unlinked = true;
        if (s->n_scanning == 0)
            finish_stream(run, s);
    }
    pthread_cond_broadcast(&run->cv);
}

/* ---- reading and framing one window ---------------------------------------------------------- */

/* Fill the window: the stream's carried bytes, then up to chunk_len new ones. */
static enum lsf_code fill_window(struct scan_worker *w, struct scan_stream *s,
        struct lsf_err *read_err, struct lsf_err *err)
{
    struct lsf_buf *win = &w->window;
    size_t target;
    enum lsf_code rc;

    win->len = 0;
    rc = lsf_buf_append(win, s->carry.data, s->carry.len, err);
    if (rc != LSF_OK)
        return rc;
    s->carry.len = 0;
    target = win->len + w->run->cfg->chunk_len;
    rc = lsf_buf_reserve(win, target - win->len, err);
    if (rc != LSF_OK)
        return rc;
    while (win->len < target) {
        size_t n = 0;
        enum lsf_code rrc = lsf_reader_read(&s->rd, win->data + win->len, target - win->len, &n,
                read_err);

        win->len += n;
        w->stats.n_bytes += n;
        atomic_fetch_add(&w->run->bytes_done, n);
        if (rrc != LSF_OK || n == 0) {
            /* A read error ends the input; what was read before it is still framed. */
            s->is_eof = true;
            break;
        }
    }
    return LSF_OK;
}

static void report_frame_problem(struct scan_worker *w, struct scan_stream *s,
        struct lsf_err *ferr)
{
    lsf_err_prefix(ferr, "%s: ", s->name);
    report_problem(w->run, ferr);
    w->stats.n_problems++;
}

/* Frame the window into w->batch; the unframed tail goes back to the stream. */
static enum lsf_code frame_window(struct scan_worker *w, struct scan_stream *s,
        struct lsf_err *err)
{
    unsigned char *buf = w->window.data;
    size_t len = w->window.len;
    size_t pos = 0;
    enum lsf_code rc;

    frame_batch_reset(&w->batch);
    while (pos < len || (s->is_eof && pos == len)) {
        struct lsf_err ferr;
        size_t consumed = 0;
        size_t n_before = w->batch.n;

        lsf_err_clear(&ferr);
        rc = framer_feed(s->framer, buf + pos, len - pos, s->base_off + pos, s->is_eof,
                &w->batch, &consumed, &ferr);
        for (size_t i = n_before; i < w->batch.n; i++)
            w->batch.ev[i].off += pos;
        pos += consumed;
        if (rc == LSF_OK)
            break;
        report_frame_problem(w, s, &ferr);
        if (framer_gave_up(s->framer)) {
            s->is_eof = true;
            pos = len;
            break;
        }
        if (consumed == 0 && pos == len)
            break; /* a problem found at the very end (an envelope left open): reported */
        if (consumed == 0) {
            /* The framer promises progress after a problem; never spin if it makes none. */
            lsf_err_clear(&ferr);
            lsf_fail(&ferr, LSF_E_INTERNAL, "%s: framing made no progress at byte %llu; "
                    "the rest of this input was skipped (please report this)", s->name,
                    (unsigned long long)(s->base_off + pos));
            report_problem(w->run, &ferr);
            s->is_eof = true;
            pos = len;
            break;
        }
    }
    w->format = framer_format(s->framer);
    w->stats.format_events[w->format] += w->batch.n;
    w->stats.n_events += w->batch.n;
    s->n_events += w->batch.n;
    atomic_fetch_add(&w->run->events_done, w->batch.n);
    if (s->is_eof)
        return LSF_OK; /* the framer has seen the end: nothing is left to carry */
    rc = lsf_buf_append(&s->carry, buf + pos, len - pos, err);
    s->base_off += pos;
    return rc;
}

/* Read, frame and scan one window of stream s (claimed by this worker). */
static enum lsf_code step(struct scan_worker *w, struct scan_stream *s, struct lsf_err *err)
{
    struct scan_run *run = w->run;
    struct lsf_err read_err;
    enum lsf_code rc;

    lsf_err_clear(&read_err);
    rc = fill_window(w, s, &read_err, err);
    if (rc == LSF_OK)
        rc = frame_window(w, s, err);
    if (read_err.code != LSF_OK) {
        size_t used = strlen(read_err.msg);
        snprintf(read_err.msg + used, sizeof(read_err.msg) - used,
                "; %llu events before it were scanned", (unsigned long long)s->n_events);
        report_problem(run, &read_err);
        w->stats.n_problems++;
    }
    /* The stream may leave the table while this one scans (it is freed only after this
     * window is written); keep our own copy of its name for the findings anyway. */
    free(w->input_name);
    w->input_name = strdup(s->name);
    if (w->input_name == NULL && rc == LSF_OK)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    w->input_idx = s->input_idx;
    pthread_mutex_lock(&run->mu);
    if (rc != LSF_OK) {
        s->is_eof = true;
        s->is_failed = true;
    }
    s->n_scanning++;
    release_stream(run, s);
    pthread_mutex_unlock(&run->mu);
    if (rc == LSF_OK)
        rc = scan_window(w, run->cfg, run->sink, err);
    if (rc == LSF_OK)
        rc = flush_output(w, err);
    pthread_mutex_lock(&run->mu);
    if (rc != LSF_OK)
        s->is_failed = true;
    if (--s->n_scanning == 0 && s->is_unlinked)
        finish_stream(run, s);
    pthread_mutex_unlock(&run->mu);
    return rc;
}

static void *worker_main(void *arg)
{
    struct scan_worker *w = arg;
    struct scan_run *run = w->run;

    for (;;) {
        struct scan_stream *s;
        enum lsf_code rc;

        pthread_mutex_lock(&run->mu);
        s = claim_stream(run);
        pthread_mutex_unlock(&run->mu);
        if (s == NULL)
            break;
        rc = step(w, s, &w->err);
        if (rc != LSF_OK) {
            pthread_mutex_lock(&run->mu);
            if (run->fatal == LSF_OK) {
                run->fatal = rc;
                run->fatal_err = w->err;
            }
            pthread_cond_broadcast(&run->cv);
            pthread_mutex_unlock(&run->mu);
            break;
        }
        if (run->cfg->progress && w == w->first_worker) {
            pthread_mutex_lock(&run->mu);
            print_progress(run);
            pthread_mutex_unlock(&run->mu);
        }
    }
    return NULL;
}

static void merge_stats(struct scan_stats *into, const struct scan_stats *from)
{
    into->n_bytes += from->n_bytes;
    into->n_events += from->n_events;
    into->n_findings += from->n_findings;
    into->n_events_with_findings += from->n_events_with_findings;
    into->n_problems += from->n_problems;
    into->n_events_parsed += from->n_events_parsed;
    into->n_corr_spill_runs += from->n_corr_spill_runs;
    into->n_corr_spilled += from->n_corr_spilled;
    for (size_t i = 0; i < into->n_rules; i++) {
        into->rule_findings[i] += from->rule_findings[i];
        into->rule_confirms[i] += from->rule_confirms[i];
    }
    for (size_t i = 0; i < FRAME_N_FORMATS; i++)
        into->format_events[i] += from->format_events[i];
}

/* --sort: every worker's findings, ordered, written in one pass. */
struct sorted_ref {
    const struct scan_sorted *key;
    const unsigned char *text;
};

static int cmp_sorted(const void *a, const void *b)
{
    const struct scan_sorted *x = ((const struct sorted_ref *)a)->key;
    const struct scan_sorted *y = ((const struct sorted_ref *)b)->key;

    if (x->input_idx != y->input_idx)
        return x->input_idx < y->input_idx ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return (x->rule > y->rule) - (x->rule < y->rule);
}

static enum lsf_code write_sorted(struct scan_run *run, struct scan_worker *workers,
        unsigned n_workers, struct lsf_err *err)
{
    struct sorted_ref *refs;
    size_t n = 0;
    enum lsf_code rc = LSF_OK;

    for (unsigned i = 0; i < n_workers; i++)
        n += workers[i].n_sorted;
    if (n == 0)
        return LSF_OK;
    refs = malloc(n * sizeof(*refs));
    if (refs == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory sorting %zu findings", n);
    n = 0;
    for (unsigned i = 0; i < n_workers; i++) {
        for (size_t j = 0; j < workers[i].n_sorted; j++) {
            refs[n].key = &workers[i].sorted[j];
            refs[n].text = workers[i].sort_text.data;
            n++;
        }
    }
    qsort(refs, n, sizeof(*refs), cmp_sorted);
    for (size_t i = 0; i < n && rc == LSF_OK; i++)
        rc = run->sink->write(run->sink->self, refs[i].text + refs[i].key->text_off,
                refs[i].key->text_len, err);
    free(refs);
    return rc;
}

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}

enum lsf_code scan_run(struct scan_engine *eng, const struct scan_config *cfg_in,
        struct scan_source *src, struct scan_sink *sink, struct scan_stats *stats,
        struct lsf_err *err)
{
    struct scan_config cfg = *cfg_in;
    struct scan_run run;
    struct scan_worker *workers = NULL;
    pthread_t *threads = NULL;
    unsigned n_started = 0;
    enum lsf_code rc = LSF_OK;

    memset(stats, 0, sizeof(*stats));
    if (cfg.n_workers == 0)
        cfg.n_workers = default_workers();
    memset(&run, 0, sizeof(run));
    run.eng = eng;
    run.cfg = &cfg;
    run.src = src;
    run.sink = sink;
    lsf_err_clear(&run.fatal_err);
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    pthread_mutex_init(&run.out_mu, NULL);
    atomic_init(&run.bytes_done, 0);
    atomic_init(&run.events_done, 0);
    clock_gettime(CLOCK_MONOTONIC, &run.t_start);

    stats->n_rules = eng->n_rules;
    stats->rule_findings = calloc(eng->n_rules ? eng->n_rules : 1, sizeof(*stats->rule_findings));
    stats->rule_confirms = calloc(eng->n_rules ? eng->n_rules : 1, sizeof(*stats->rule_confirms));
    workers = calloc(cfg.n_workers, sizeof(*workers));
    threads = calloc(cfg.n_workers, sizeof(*threads));
    if (stats->rule_findings == NULL || stats->rule_confirms == NULL || workers == NULL ||
            threads == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory starting %u workers", cfg.n_workers);
        goto out;
    }
    for (unsigned i = 0; i < cfg.n_workers; i++) {
        rc = worker_init(&workers[i], &run, err);
        if (rc != LSF_OK)
            goto out;
        workers[i].first_worker = &workers[0];
    }
    for (; n_started < cfg.n_workers; n_started++) {
        if (pthread_create(&threads[n_started], NULL, worker_main, &workers[n_started]) != 0) {
            rc = lsf_fail(err, LSF_E_NOMEM, "cannot start worker thread %u", n_started + 1);
            pthread_mutex_lock(&run.mu);
            run.fatal = rc;
            pthread_cond_broadcast(&run.cv);
            pthread_mutex_unlock(&run.mu);
            break;
        }
    }
    for (unsigned i = 0; i < n_started; i++)
        pthread_join(threads[i], NULL);
    if (cfg.progress)
        fprintf(stderr, "\r%*s\r", 72, "");
    if (rc == LSF_OK && run.fatal != LSF_OK)
        rc = lsf_fail(err, run.fatal, "%s", run.fatal_err.msg);
    if (rc == LSF_OK && cfg.sort)
        rc = write_sorted(&run, workers, cfg.n_workers, err);
    if (rc == LSF_OK && eng->n_corr > 0)
        rc = scan_corr_finish(eng, workers, cfg.n_workers, cfg.carry, sink, err);
    /* --sort wrote every finding just now: every input is done, in order. */
    for (uint64_t i = 0; rc == LSF_OK && cfg.sort && sink->input_done && i < run.n_opened; i++)
        sink->input_done(sink->self, i);
out:
    /* Inputs still open after a fatal error are closed here. */
    while (run.active) {
        struct scan_stream *s = run.active;
        run.active = s->next_active;
        stream_free(s);
    }
    for (unsigned i = 0; workers && i < cfg.n_workers; i++) {
        if (workers[i].stats.rule_confirms && stats->rule_confirms)
            merge_stats(stats, &workers[i].stats);
        worker_cleanup(&workers[i]);
    }
    stats->n_inputs = run.n_opened;
    stats->n_problems += run.n_source_problems;
    stats->elapsed_s = elapsed_since(&run.t_start);
    free(workers);
    free(threads);
    pthread_mutex_destroy(&run.mu);
    pthread_cond_destroy(&run.cv);
    pthread_mutex_destroy(&run.out_mu);
    return rc;
}
