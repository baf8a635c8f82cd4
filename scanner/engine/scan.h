/*
 * scan: the engine. Pulls inputs from a source, frames them into events, scans the events with
 * one Hyperscan database, evaluates the rules per event and hands findings to a sink.
 *
 * The engine defines the two seams it works through and includes neither fetch nor alerts:
 * a source (struct scan_source: "give me the next input as a byte reader") and a sink
 * (struct scan_sink: "format this finding; write these bytes; here is a bad input").
 * Only the command line wires real sources and sinks into it.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "lsf_buf.h"
#include "lsf_err.h"
#include "lsf_finding.h"
#include "lsf_reader.h"
#include "pat.h"

struct pat_geoip;
struct scan_carry_io;

#define SCAN_DEFAULT_CHUNK_LEN ((size_t)256 << 10)
#define SCAN_DEFAULT_MAX_EVENT_LEN ((size_t)16 << 20)
#define SCAN_DEFAULT_EXCERPT_LEN ((size_t)4096)

struct scan_config {
    unsigned n_workers;      /* threads; 0 means one per online core */
    size_t chunk_len;        /* decompressed bytes read per step of one input */
    size_t max_event_len;    /* an event longer than this is reported and skipped */
    enum frame_format format; /* FRAME_AUTO: detect per input */
    bool sort;               /* write findings ordered by (input, offset, rule) at the end */
    bool per_event;          /* one hs_scan per event instead of one per chunk (for measuring) */
    bool progress;           /* a progress line on stderr while scanning */
    bool sigma_confirm_only; /* every Sigma rule confirmed on every event, prefilter ignored
                                (the differential test's reference; slow) */
    const struct pat_geoip *geoip; /* --geoip databases (borrowed), or NULL: findings carry
                                      their source address's GeoIP data (lsf_finding.geo) and
                                      Sigma rules may read geoip.* fields (pat_sigma.h) */
    const struct scan_carry_io *carry; /* correlation state carried between runs, or NULL */
};

/*
 * Correlation state carried from one run to the next (cli_state's --state runs), so that
 * consecutive runs over consecutive slices of a log find what one long run would.
 *
 * At the end of a run, for every correlation (except legacy counts over the whole run) and
 * group, the sweep hands back the base-rule matches (and chained firings) the next run may
 * still need: those after the group's last firing and not older than the run's latest event
 * time minus the correlation's timespan, plus the time until which a count correlation stays
 * quiet after firing. Matches up to a firing are never carried, so no window fires twice.
 * The next run gets them back in `in` and sweeps them with its own matches, as if recorded
 * by a worker; they sort before its own inputs at equal times, and since they fired nothing
 * by themselves, every finding it makes points at one of its own events. Matches are carried
 * by correlation id, so a changed rule set keeps what still applies and drops the rest.
 * Bound: at most SCAN_CARRY_MAX_RECORDS carried matches (as many as one group may hold),
 * each within one timespan of the latest event; more are dropped and reported.
 */
#define SCAN_CARRY_MAX_RECORDS (1u << 20)

struct scan_carry_rec {
    uint32_t base_pos;        /* which of the correlation's rules matched (its position) */
    const char *val;          /* value_count: the counted value, else "" */
    const char *input;        /* the input the event came from */
    enum frame_format format;
    int64_t ts_ms;            /* event time */
    uint64_t offset;          /* of the event in its input */
    uint64_t ordinal;
};

struct scan_carry {
    const char *corr_id;      /* the correlation rule's id */
    const char *key;          /* the group ("field=value, ...") */
    int64_t quiet_until_ms;   /* a count correlation fired: quiet until then; else INT64_MIN */
    const struct scan_carry_rec *recs; /* in time order */
    size_t n_recs;
};

struct scan_carry_io {
    const struct scan_carry *in; /* the previous run's groups (borrowed), or NULL */
    size_t n_in;
    int64_t in_last_ts_ms;      /* the previous run's latest event time, INT64_MIN: none */
    /* Optional: called at the end of the run for each group to carry (all strings borrowed
     * for the call only), then out_end once with the run's latest event time. A failure of
     * out stops the run with its code. */
    enum lsf_code (*out)(void *self, const struct scan_carry *group, struct lsf_err *err);
    void (*out_end)(void *self, int64_t last_ts_ms);
    void *self;
};

/* Fill cfg with the defaults above. */
void scan_config_init(struct scan_config *cfg);

struct scan_source {
    /*
     * Next input, in the order findings should be sorted. On success with *done false, *name
     * (heap, taken by the engine) and *rd (taken) are set. A failure to open one input returns
     * its code with err set and *name set if known; the engine reports it and asks again.
     * Called by one thread at a time.
     */
    enum lsf_code (*next)(void *self, char **name, struct lsf_reader *rd, bool *done,
            struct lsf_err *err);
    void *self;
};

struct scan_sink {
    /* Append one formatted finding to out. Called from several threads at once. */
    enum lsf_code (*format)(void *self, const struct lsf_finding *finding, struct lsf_buf *out,
            struct lsf_err *err);
    /* Write formatted findings. Called under the engine's output lock, whole batches only. */
    enum lsf_code (*write)(void *self, const unsigned char *bytes, size_t n, struct lsf_err *err);
    /* Report a bad input (err->msg names it and says what to do). Called under the lock. */
    void (*problem)(void *self, const struct lsf_err *err);
    void *self;
    /*
     * Optional (NULL: unused). Input number input_idx (0, 1, ... in the order the source gave
     * inputs; inputs the source failed to open get no number) is finished: every finding of it
     * has gone through write. Called under the output lock, once per input, in any order when
     * several workers run (with --sort: all at the end, in order). Not called for an input cut
     * short by an error that stops the run, nor after such an error.
     */
    void (*input_done)(void *self, uint64_t input_idx);
};

struct scan_stats {
    uint64_t n_inputs;            /* inputs opened */
    uint64_t n_bytes;             /* decompressed bytes framed */
    uint64_t n_events;
    uint64_t n_findings;
    uint64_t n_events_with_findings;
    uint64_t n_problems;          /* bad inputs and bad records reported */
    uint64_t *rule_findings;      /* per rule index; owned by the stats (scan_stats_cleanup) */
    uint64_t *rule_confirms;      /* per rule index: Sigma confirmations run (prefilter passed) */
    uint64_t n_events_parsed;     /* events the Sigma confirmation parsed */
    size_t n_rules;
    uint64_t format_events[FRAME_N_FORMATS]; /* events per framing format */
    uint64_t n_corr_spill_runs;   /* sorted runs of correlation entries written to disk */
    uint64_t n_corr_spilled;      /* correlation entries in them */
    double elapsed_s;
};

void scan_stats_cleanup(struct scan_stats *stats);

struct scan_engine;

/*
 * Prepare an engine over a rule set and its compiled database (both borrowed; they must
 * outlive the engine). LSF_E_RULE when a rule names an unknown format (file:line).
 */
enum lsf_code scan_engine_new(const struct pat_set *set, const struct pat_db *db,
        struct scan_engine **out, struct lsf_err *err) LSF_WARN_UNUSED;
void scan_engine_free(struct scan_engine *eng);

/* How many correlation rules the engine sweeps at the end of each run. */
size_t scan_engine_n_correlations(const struct scan_engine *eng);

/*
 * Scan every input of src, writing findings through sink. Bad inputs are reported through
 * sink->problem and counted in stats->n_problems; they never stop the run. Returns LSF_OK when
 * the run completed (even with bad inputs), or the code of what stopped it (LSF_E_NOMEM,
 * LSF_E_IO writing output, LSF_E_INTERNAL), with err set. stats is filled either way.
 */
enum lsf_code scan_run(struct scan_engine *eng, const struct scan_config *cfg,
        struct scan_source *src, struct scan_sink *sink, struct scan_stats *stats,
        struct lsf_err *err) LSF_WARN_UNUSED;

#endif
