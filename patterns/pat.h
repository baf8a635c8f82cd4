/*
 * pat: rules and their compiled Hyperscan database.
 *
 * Rule files are hsbench pattern files ("ID:/regex/flags", '#' comments), so a benchmarker's
 * existing sets load unchanged, plus optional metadata comments that hsbench ignores:
 *
 *     #@ id=aws.cloudtrail.stop_logging severity=high formats=cloudtrail,json-array
 *     #@ title=CloudTrail logging was stopped
 *     1001:/"eventName"\s*:\s*"StopLogging"/
 *
 * A "#@" block applies to the next pattern line. A rule is a set of pattern hits combined by
 * a boolean condition: a plain pattern is a rule whose condition is "this pattern hit"; an
 * hsbench logical combination ("ID:/1001 & !1002/C") is a rule over other patterns, and
 * patterns flagged Q (quiet) only feed combinations. Unlike Hyperscan's own combinations,
 * logsift evaluates the condition per event, so hits in two different events never combine.
 * (Field confirmation on parsed events comes with Sigma rules; the model leaves room for it.)
 */
#ifndef PAT_H
#define PAT_H

#include <stdbool.h>
#include <stddef.h>

#include <hs.h>

#include "lsf_err.h"

enum pat_severity {
    PAT_SEV_INFO = 0,
    PAT_SEV_LOW,
    PAT_SEV_MEDIUM,
    PAT_SEV_HIGH,
    PAT_SEV_CRITICAL
};

/* "info" ... "critical". */
const char *pat_severity_name(enum pat_severity sev);

/* One regex given to Hyperscan. Its index in the set is its Hyperscan match id. */
struct pat_pattern {
    unsigned id;        /* the ID from the pattern file */
    char *expr;         /* regex text, without the slashes */
    unsigned hs_flags;  /* HS_FLAG_* from the flag letters (C and Q are not passed on) */
    bool is_quiet;      /* Q: only feeds combinations */
    hs_expr_ext_t ext;  /* {min_offset=..., edit_distance=...}; ext.flags 0 when absent */
    const char *file;   /* borrowed from the set */
    unsigned line;
};

/* A condition as postfix code over pattern indexes, evaluated per event. */
enum pat_op {
    PAT_OP_HIT = 0, /* push: did pattern arg hit? */
    PAT_OP_NOT,
    PAT_OP_AND,
    PAT_OP_OR
};

struct pat_instr {
    enum pat_op op;
    unsigned arg; /* pattern index for PAT_OP_HIT */
};

struct pat_rule {
    char *id;                 /* from "#@ id=", else "pattern-<ID>" */
    char *title;              /* from "#@ title=", else the regex */
    enum pat_severity severity; /* from "#@ severity=", else medium */
    char *formats;            /* comma-separated frame format names, NULL for all */
    char *description;        /* from "#@ description=", may be NULL */
    struct pat_instr *code;   /* the condition */
    size_t n_code;
    const char *file;
    unsigned line;
};

struct pat_set;

enum lsf_code pat_set_new(struct pat_set **out, struct lsf_err *err) LSF_WARN_UNUSED;
void pat_set_free(struct pat_set *set);

/*
 * Add the rules of a pattern file (path) or of text already in memory (name used in messages).
 * LSF_E_RULE for a malformed line, an unknown flag, a duplicate ID, an unknown metadata key or
 * a combination naming an unknown ID, each with file:line; LSF_E_IO for an unreadable file.
 */
enum lsf_code pat_set_add_file(struct pat_set *set, const char *path,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code pat_set_add_text(struct pat_set *set, const char *name, const char *text,
        size_t len, struct lsf_err *err) LSF_WARN_UNUSED;

/* The bundled default pack, compiled into the binary. */
enum lsf_code pat_set_add_default(struct pat_set *set, struct lsf_err *err) LSF_WARN_UNUSED;

size_t pat_set_n_patterns(const struct pat_set *set);
const struct pat_pattern *pat_set_pattern(const struct pat_set *set, size_t idx);
size_t pat_set_n_rules(const struct pat_set *set);
const struct pat_rule *pat_set_rule(const struct pat_set *set, size_t idx);

/*
 * Indexes of the rules whose condition mentions pattern idx (so an event can only fire those
 * rules when that pattern hit there). Borrowed until the set is freed.
 */
const unsigned *pat_set_rules_of_pattern(const struct pat_set *set, size_t idx, size_t *n);

/*
 * Does the rule fire for an event where exactly the patterns hits[0..n_hits) hit (ascending
 * pattern indexes)? Pure and thread-safe.
 */
bool pat_rule_eval(const struct pat_rule *rule, const unsigned *hits, size_t n_hits);

/* A compiled block-mode database for a set. Read-only once built: share it across threads. */
struct pat_db;

/*
 * Compile the set's patterns (quiet or not) into one database, or load it from cache_dir
 * (NULL: no cache) where a previous run stored it under a hash of the patterns, their flags
 * and the Hyperscan version; a new database is stored there atomically (temp file + rename).
 * A damaged or foreign cache file is ignored and replaced. LSF_E_RULE names the pattern
 * (file:line, ID) and Hyperscan's message when a pattern does not compile.
 */
enum lsf_code pat_db_build(const struct pat_set *set, const char *cache_dir, struct pat_db **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void pat_db_free(struct pat_db *db);

const hs_database_t *pat_db_hs(const struct pat_db *db);
bool pat_db_from_cache(const struct pat_db *db);
/* Milliseconds spent compiling or loading. */
double pat_db_build_ms(const struct pat_db *db);

/* The default cache folder: $LOGSIFT_CACHE_DIR, else $XDG_CACHE_HOME/logsift, else
 * $HOME/.cache/logsift, else NULL. Returns a pointer into a static buffer. */
const char *pat_default_cache_dir(void);

#endif
