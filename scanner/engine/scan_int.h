/*
 * Private structures of the scan engine, shared by scan.c (workers, inputs, output) and
 * scan_match.c (the Hyperscan callback and per-event rule evaluation).
 */
#ifndef SCAN_INT_H
#define SCAN_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <hs.h>

#include "pat_sigma.h"
#include "scan.h"

/* Correlation state bounds (scan_corr.c): base-rule matches of one group swept at once,
 * text sizes, and the memory a run's workers keep before they spill entries to disk
 * (LOGSIFT_CORR_SPILL_BYTES overrides the default). */
#define SCAN_CORR_MAX_RECORDS (1u << 20)
#define SCAN_CORR_SPILL_BYTES_DEFAULT ((size_t)64 << 20)
#define SCAN_CORR_KEY_MAX 256
#define SCAN_CORR_VAL_MAX 128

/* A correlation a rule feeds: the correlation's rule index and the base rule's position. */
struct scan_corr_feed {
    uint32_t corr;
    uint32_t base_pos;
    uint32_t keys_like; /* the base rule's first feed (index) that reads the same group key
                         * and value as this one: this one's, or an earlier one's */
    bool needs_geoip;   /* the correlation groups by or counts a geoip.* field: without
                         * --geoip no match has one, so none is in a group */
};

/* One base-rule match kept for a correlation (or, at the end of the run, one firing of a
 * correlation kept for the correlations chained on it). */
struct scan_corr_rec {
    uint32_t corr;
    uint32_t key_off; /* group key text in the worker's corr_text */
    uint32_t val_off; /* counted value text (value_count) */
    uint32_t input;   /* index into the worker's corr_inputs */
    uint32_t up_off;  /* chained: the keys of corr's ancestors (scan_corr.c), or UINT32_MAX */
    uint16_t base_pos;
    uint8_t format;   /* enum frame_format of the event */
    uint64_t key_hash; /* of the group key text (the sort's) */
    int64_t ts_ms;
    uint64_t offset;
    uint64_t ordinal;
};

struct scan_engine {
    const struct pat_set *set;
    const struct pat_db *db;
    unsigned *rule_formats; /* per rule: bit (1 << enum frame_format) set where it applies */
    size_t n_rules;
    size_t n_patterns;
    hs_scratch_t *proto_scratch; /* cloned once per worker */
    bool needs_per_event;        /* some pattern is anchored or offset-bounded */
    /* Sigma rules (pat_sigma.h): those with no prefilter are confirmed on every event of
     * their formats; confirm-only mode does that with all of them. */
    unsigned *unfiltered_rules;
    size_t n_unfiltered;
    unsigned *sigma_rules;
    size_t n_sigma;
    /* Correlations: corr_feeds[corr_feed_start[r] .. corr_feed_start[r + 1]) are those rule
     * r feeds (r may be a correlation chained on); rule_silent[r]: r reports only through
     * them. corr_level[c]: 1 for a correlation over base rules, 1 + the deepest level it
     * chains on otherwise (0: not a correlation); corr_anc[corr_anc_start[c] ..
     * corr_anc_start[c + 1]): the correlations chained on c, directly or not. */
    uint32_t *corr_feed_start;
    struct scan_corr_feed *corr_feeds;
    bool *rule_silent;
    size_t n_corr;
    uint32_t *corr_level;
    uint32_t n_corr_levels;
    uint32_t *corr_anc_start;
    uint32_t *corr_anc;
    /* Twins: correlations with one definition (type, rules, group-by, field, timespan,
     * threshold) share the records of the first, corr_twin[c]; corr_twin_next links the
     * first to the others (UINT32_MAX ends), each firing with it. */
    uint32_t *corr_twin;
    uint32_t *corr_twin_next;
    /* corr_key_shared[c]: every correlation chained on c groups by c's group-by, in c's
     * order, and counts no value: c's matches keep no keys for them (their key is c's). */
    bool *corr_key_shared;
    /* Spilling (scan_corr.c): the run's memory budget for entries, and where they go. */
    size_t corr_spill_bytes;
    char *corr_spill_dir;
};

/* One pattern hit in one event of the current window. */
struct scan_hit {
    uint32_t event;   /* index into the window's frame_batch */
    uint32_t pattern; /* pattern index (= Hyperscan id) */
};

/* A formatted finding kept for --sort, ordered by (input, offset, rule). */
struct scan_sorted {
    uint64_t input_idx;
    uint64_t offset;
    uint32_t rule;
    size_t text_off; /* into the worker's sort_text */
    size_t text_len;
};

struct scan_run;

/* Everything one thread owns: made at start, freed at exit, never shared. */
struct scan_spill;

struct scan_worker {
    const struct scan_engine *eng;
    struct scan_run *run;
    const struct scan_worker *first_worker; /* the one that prints progress */
    hs_scratch_t *scratch;
    struct lsf_buf window;     /* the bytes being framed and scanned */
    struct frame_batch batch;  /* events of the window */
    enum frame_format format;  /* format of the window's events */
    char *input_name;          /* copy of the window's input name */
    uint64_t input_idx;

    /* match collection, reset per window */
    struct scan_hit *hits;
    size_t n_hits;
    size_t cap_hits;
    bool hits_unordered;
    size_t cursor;           /* event the last match fell in */
    size_t scan_base;        /* window offset of the scanned block's first byte */
    uint64_t *pattern_stamp; /* per pattern: (window generation << 32 | event + 1) */
    uint64_t generation;

    /* per-event rule evaluation */
    unsigned *event_patterns; /* unique pattern indexes of one event, ascending */
    unsigned *event_ids;      /* their file IDs, ascending, for the finding */
    uint32_t *rule_stamp;     /* per rule: last event stamp it was evaluated for */
    uint32_t stamp;
    struct pat_sigma_event *sigma_ev; /* Sigma confirmation context, NULL without Sigma rules */
    const struct pat_geoip *geoip;    /* --geoip (the run's config), or NULL */
    bool sigma_ev_stale;              /* not yet pointed at the current event */
    int64_t window_now_ms; /* wall clock as the window's events are evaluated: the "now" that
                            * dates year-less syslog stamps (frame_event_time) */

    /* correlation entries (scan_corr.c), kept until the run ends */
    struct scan_corr_rec *corr_recs;
    size_t n_corr_recs, cap_corr_recs;
    struct lsf_buf corr_text;
    struct scan_corr_slot *corr_shared; /* equal key and value texts kept once (scan_corr.c) */
    size_t n_corr_shared, cap_corr_shared;
    char **corr_inputs;
    size_t n_corr_inputs, cap_corr_inputs;
    bool has_corr_input;     /* corr_input is corr_inputs' index of input corr_input_idx */
    uint32_t corr_input;
    uint64_t corr_input_idx;
    struct scan_spill *corr_spill; /* sorted runs written past the budget, or NULL */
    uint64_t n_corr_dropped;  /* out of memory */
    uint64_t n_corr_no_time;  /* no readable timestamp */
    unsigned run_n_workers;

    /* output */
    struct lsf_buf out;           /* findings formatted since the last flush */
    struct lsf_buf sort_text;     /* --sort: every finding's text */
    struct scan_sorted *sorted;   /* --sort: their keys */
    size_t n_sorted;
    size_t cap_sorted;

    struct scan_stats stats;      /* merged into the run's at exit */
    enum lsf_code rc;             /* what stopped this worker, if anything */
    struct lsf_err err;
};

/* scan_corr.c: resolve correlation references (LSF_E_RULE naming an unknown base rule),
 * record a base-rule match (sev points at the event), and at the end of the run sweep every
 * worker's entries and write the correlation findings. */
enum lsf_code scan_corr_setup(struct scan_engine *eng, struct lsf_err *err) LSF_WARN_UNUSED;
void scan_corr_cleanup(struct scan_engine *eng);
enum lsf_code scan_corr_record(struct scan_worker *w, size_t rule_idx,
        const struct frame_event *ev, struct pat_sigma_event *sev,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code scan_corr_finish(const struct scan_engine *eng, struct scan_worker *workers,
        unsigned n_workers, const struct scan_carry_io *carry, struct scan_sink *sink,
        struct lsf_err *err) LSF_WARN_UNUSED;
void scan_corr_worker_cleanup(struct scan_worker *w);

/* Scan the worker's window (batch and window set) and emit its findings. */
enum lsf_code scan_window(struct scan_worker *w, const struct scan_config *cfg,
        struct scan_sink *sink, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
