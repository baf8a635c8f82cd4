/*
 * pat_int.h: what the files of the patterns module share and nobody else sees: the set's
 * layout, the condition compiler, the cache file helpers and the embedded default pack.
 */
#ifndef PAT_INT_H
#define PAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pat.h"

/* Deepest parenthesis nesting a combination may use (the parser recurses once per level). */
#define PAT_COND_NEST_MAX 64

/* A rules file larger than this is refused: no real pack comes near it. */
#define PAT_RULES_MAX_BYTES ((size_t)64 << 20)

/* Open-addressing hash index over entries stored elsewhere; a slot holds entry index + 1. */
struct pat_index {
    uint32_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

/* Where an ID was defined: a pattern (index into patterns) or a combination (rule index). */
struct pat_def {
    unsigned id;
    bool is_comb;
    size_t index;
    const char *file;
    unsigned line;
};

struct pat_set {
    struct pat_pattern *patterns;
    size_t n_patterns, cap_patterns;
    struct pat_rule *rules;
    size_t n_rules, cap_rules;
    struct pat_def *defs;
    size_t n_defs, cap_defs;
    char **files; /* names given to add_file/add_text, owned; patterns and rules borrow them */
    size_t n_files, cap_files;
    struct pat_index def_index;  /* pattern/combination ID -> defs[] */
    struct pat_index rule_index; /* rule id string -> rules[] */
    /* rules_of_pattern in CSR form: rules of pattern p are rop_rules[rop_start[p] ..
     * rop_start[p + 1]). Rebuilt after every successful add. */
    unsigned *rop_start;
    unsigned *rop_rules;
    unsigned next_sigma_id; /* ID for the next Sigma literal (PAT_SIGMA_ID_BASE and up) */
};

/* Sigma prefilter literals get pattern IDs from here up (hsbench files use small IDs). */
#define PAT_SIGMA_ID_BASE 4000000000u

/*
 * What the condition compiler needs from its caller: the pattern index of a referenced ID.
 * Returns 0 and sets *pattern_idx, or 1 when the ID is unknown, or 2 when it names a
 * combination.
 */
typedef int (*pat_cond_lookup_fn)(void *ctx, unsigned id, size_t *pattern_idx);

/*
 * Compile a combination expression (Hyperscan syntax) into postfix code. On failure returns
 * LSF_E_RULE with a message "<where>: combination <comb_id>: <what and what to do>" where
 * <where> is the caller's "file:line"; LSF_E_NOMEM. *code is malloc'd; the caller frees it.
 * Does not check that the condition is false on no hits (the caller does, with the rule).
 */
enum lsf_code pat_cond_compile(const char *expr, const char *where, unsigned comb_id,
        pat_cond_lookup_fn lookup, void *ctx, struct pat_instr **code, size_t *n_code,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Evaluation stack depth the code needs, or 0 when the code is malformed. */
size_t pat_cond_depth(const struct pat_instr *code, size_t n_code);

/* SHA-256 of everything a compiled database depends on (see pat_cache.c); false on failure. */
bool pat_cache_key(const struct pat_set *set, unsigned char key[32]);

/*
 * Load the database stored under key in dir. False (with a reason in note, or an empty note
 * when there simply was no file yet) for any failure; never an error.
 */
bool pat_cache_load(const char *dir, const unsigned char key[32], hs_database_t **db,
        char *note, size_t note_len);

/* Store db under key in dir (created if missing) via temp file, fsync and rename. Best effort:
 * a failure only fills note. */
void pat_cache_store(const char *dir, const unsigned char key[32], const hs_database_t *db,
        char *note, size_t note_len);

/* patterns/default.rules, generated into the build tree by embed_rules.cmake. The array holds
 * one extra NUL byte after the len bytes of the file. */
extern const unsigned char pat_default_rules[];
extern const size_t pat_default_rules_len;

/* Every .yml and .yaml file under patterns/packs, embedded by embed_rules.cmake (PACKS mode)
 * in name order. */
struct pat_embedded_file {
    const char *name; /* "packs/cloudtrail/x.yml" */
    const unsigned char *bytes;
    size_t len;
};
extern const struct pat_embedded_file pat_default_packs[];
extern const size_t pat_default_n_packs;

/* Add the embedded Sigma packs (pat_sigma_load.c). Codes as pat_sigma_add_text. */
enum lsf_code pat_sigma_add_embedded(struct pat_set *set, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
