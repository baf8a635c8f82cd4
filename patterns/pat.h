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
 *
 * Line syntax, as Hyperscan's hsbench/hscollider read it (intel/hyperscan util/expressions.cpp
 * and util/ExpressionParser.rl), with logsift's additions marked (+):
 *
 *   - Blank lines and lines whose first non-blank character is '#' are skipped; "#@" lines
 *     are metadata (+). Lines are trimmed of surrounding white space; CR LF endings are fine.
 *   - "ID:/regex/flags{ext}": ID is a decimal unsigned int, unique across the whole set. The
 *     regex runs from the '/' right after the colon to the LAST '/' of the line, so slashes
 *     inside need no escaping and flags can never contain one.
 *   - Flags: i CASELESS, s DOTALL, m MULTILINE, H SINGLEMATCH, V ALLOWEMPTY, 8 UTF8, W UCP,
 *     P PREFILTER, L SOM_LEFTMOST, C COMBINATION, Q QUIET; O (hscollider's "ordered") is
 *     accepted and ignored. H is accepted but not passed to Hyperscan: SINGLEMATCH reports a
 *     pattern once per hs_scan call, and the engine scans many events per call, so it would
 *     lose the pattern's hits in every event after the first; the engine already records a
 *     pattern at most once per event.
 *   - "{min_offset=N,max_offset=N,min_length=N,edit_distance=N,hamming_distance=N}" right
 *     after the flags: any subset, each at most once, spaces allowed around each item.
 *     Offsets count from the start of the buffer given to hs_scan: see
 *     pat_set_needs_event_scan.
 *   - A combination (flag C) is an expression over pattern IDs with '!' (not), '&' (and),
 *     '|' (or) and parentheses, binding ! > & > | as in Hyperscan. Its IDs may be defined
 *     later in the same file or in a file added earlier to the same set. It takes no flags
 *     but Q and H and no {ext}; it may not name another combination (as in Hyperscan); a
 *     condition that holds when nothing matched ("!5") is refused. C Q makes a combination
 *     that never reports, so it is checked and then dropped.
 *   - Metadata (+): "#@ key=value ..." with keys id, severity (info, low, medium, high,
 *     critical), formats (comma list of frame formats, kept raw for the engine), title and
 *     description. title= and description= take the rest of the line; description= given
 *     again appends. Several "#@" lines form one block; comments and blank lines may sit
 *     between the block and its pattern line. A block before a quiet pattern is an error.
 *
 * Thread-safety: a set is built by one thread; once built, every const accessor below and
 * pat_rule_eval may be called from any number of threads. A pat_db is read-only once built.
 */
#ifndef PAT_H
#define PAT_H

#include <stdbool.h>
#include <stddef.h>

#include <hs.h>

#include "lsf_err.h"

struct pat_sigma_rule;

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
    unsigned hs_flags;  /* HS_FLAG_* from the flag letters (C, Q and H are not passed on) */
    bool is_quiet;      /* Q: only feeds combinations */
    bool is_dropped;    /* only Sigma rules name it, and none is triggered by it: it is not
                         * compiled (their confirmation checks that condition anyway) */
    unsigned weight;    /* how common a hit is, for choosing trigger sets: 0 or 1 plain, more
                         * for a Sigma literal of a field most events carry (eventSource) */
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

/*
 * Deepest evaluation stack a condition may need. The parser refuses deeper expressions
 * (LSF_E_RULE), so pat_rule_eval runs in a fixed array on the caller's stack.
 */
#define PAT_EVAL_STACK_MAX 32

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
    /* Sigma rules (pat_sigma.h): the detection to confirm on the event's fields once code,
     * the prefilter, holds; n_code 0 then means "evaluate on every event". NULL for hsbench
     * rules. Owned by the set. */
    struct pat_sigma_rule *sigma;
};

struct pat_set;

/* An empty set. LSF_E_NOMEM. Free with pat_set_free (NULL is fine). */
enum lsf_code pat_set_new(struct pat_set **out, struct lsf_err *err) LSF_WARN_UNUSED;
void pat_set_free(struct pat_set *set);

/*
 * Add the rules of a pattern file (path) or of text already in memory (name used in messages;
 * text need not be NUL-terminated and is not kept).
 * LSF_E_RULE for a malformed line, an unknown flag, a duplicate ID or rule id, an unknown
 * metadata key, a combination naming an unknown ID, unbalanced or too deep, or one that
 * fires when nothing matched, each with file:line and what to change; LSF_E_IO for an
 * unreadable file; LSF_E_NOMEM. On failure the set is left exactly as it was before the call,
 * so earlier files stay usable. Regexes are not compiled here: see pat_db_build.
 */
enum lsf_code pat_set_add_file(struct pat_set *set, const char *path,
        struct lsf_err *err) LSF_WARN_UNUSED;
enum lsf_code pat_set_add_text(struct pat_set *set, const char *name, const char *text,
        size_t len, struct lsf_err *err) LSF_WARN_UNUSED;

/* The bundled default pack (patterns/default.rules, compiled into the binary; "default.rules"
 * in messages). Same codes as pat_set_add_text. */
enum lsf_code pat_set_add_default(struct pat_set *set, struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * The accessors borrow from the set: pointers stay valid until the set is freed or another
 * file is added to it. idx must be below the matching count.
 */
size_t pat_set_n_patterns(const struct pat_set *set);
const struct pat_pattern *pat_set_pattern(const struct pat_set *set, size_t idx);
size_t pat_set_n_rules(const struct pat_set *set);
const struct pat_rule *pat_set_rule(const struct pat_set *set, size_t idx);

/*
 * Indexes of the rules that pattern idx triggers, ascending, each once. Each rule is listed
 * under its trigger set: patterns of which at least one hits wherever the rule fires (for
 * "a & b" only one side's, the one fewer rules share; see pat_rules.c). So every rule that
 * fires is in the list of at least one pattern that hit, and a rule is not evaluated on
 * events where only its common patterns did. For a Sigma rule a hit of its trigger set is its
 * whole prefilter: its other literals are not compiled (pat_pattern.is_dropped), since
 * confirmation checks those fields anyway. Borrowed until the set is freed or grows.
 */
const unsigned *pat_set_rules_of_pattern(const struct pat_set *set, size_t idx, size_t *n);

/*
 * True when some pattern has a min_offset or max_offset bound, or an anchor (^ $ \A \z \Z
 * outside a character class): those refer to the start or end of the buffer passed to
 * hs_scan, so the engine must then scan event by event for them to mean "in the event".
 * The default pack uses none, and keeps the faster one-scan-per-window path.
 */
bool pat_set_needs_event_scan(const struct pat_set *set);

/*
 * Does the rule fire for an event where exactly the patterns hits[0..n_hits) hit (ascending
 * pattern indexes; hits may be NULL when n_hits is 0)? Pure and thread-safe. Code that is
 * malformed (not made by this module) evaluates to false.
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
 *
 * The database's match ids are pattern indexes (pat_set_pattern(set, id)). The cache never
 * fails the build: when cache_dir cannot be created, read or written, the database is
 * compiled and pat_db_cache_note says why. Codes: LSF_E_RULE (a pattern, or the set as a
 * whole, is refused by Hyperscan), LSF_E_USAGE (empty set; CPU without SSSE3),
 * LSF_E_NOMEM, LSF_E_INTERNAL. The set must outlive nothing: the db does not borrow it.
 */
enum lsf_code pat_db_build(const struct pat_set *set, const char *cache_dir, struct pat_db **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void pat_db_free(struct pat_db *db);

const hs_database_t *pat_db_hs(const struct pat_db *db);
bool pat_db_from_cache(const struct pat_db *db);
/* Milliseconds spent compiling or loading (including hashing and storing the cache file). */
double pat_db_build_ms(const struct pat_db *db);
/*
 * NULL, or one line on why the cache was not used or not updated (e.g. "<dir>: cannot create
 * the cache folder (Permission denied); set LOGSIFT_CACHE_DIR to a writable folder"), for a
 * verbose log. Borrowed until pat_db_free.
 */
const char *pat_db_cache_note(const struct pat_db *db);

/* The default cache folder: $LOGSIFT_CACHE_DIR, else $XDG_CACHE_HOME/logsift, else
 * $HOME/.cache/logsift, else NULL (empty variables count as unset). Returns a pointer into a
 * static buffer: not thread-safe; call it once at startup. */
const char *pat_default_cache_dir(void);

#endif
