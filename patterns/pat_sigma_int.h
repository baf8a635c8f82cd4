/*
 * pat_sigma_int.h: the Sigma detection tree shared by the loader (pat_sigma_parse.c,
 * pat_sigma_cond.c), the prefilter compiler (pat_sigma_prefilter.c) and the evaluator
 * (pat_sigma_eval.c).
 */
#ifndef PAT_SIGMA_INT_H
#define PAT_SIGMA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <hs.h>
#include <yaml.h>

#include "pat_int.h"
#include "pat_sigma.h"

/* Nesting a condition may use (the parser recurses once per level). */
#define SG_COND_NEST_MAX 32

struct sg_glob_plan;

/* What a value asks of a field. */
enum sg_kind {
    SG_GLOB = 0, /* exact, contains, startswith, endswith: a pattern with * and ? */
    SG_RE,       /* re: Hyperscan regex, unanchored search */
    SG_CIDR,     /* cidr: the field is an IP address inside the network */
    SG_EXISTS,   /* exists: true/false */
    SG_NULL,     /* null: missing or JSON null */
    SG_FIELDREF  /* fieldref: equal to another field's value */
};

struct sg_value {
    enum sg_kind kind;
    /* SG_GLOB: text[i] is a wildcard when wild[i] ('*' or '?'), else a literal byte;
     * SG_RE: text is the regex source (wild NULL), is_cased false with modifier i */
    char *text;
    unsigned char *wild;
    size_t len;
    struct sg_glob_plan *plan; /* SG_GLOB without '?': its segments (pat_sigma_glob.c), or NULL */
    bool is_cased;
    bool is_bare;      /* the YAML scalar was a number or boolean (may be bare in JSON) */
    bool want_exists;  /* SG_EXISTS */
    hs_database_t *re; /* SG_RE */
    unsigned char net[16]; /* SG_CIDR: network bytes (4 for IPv4) */
    int family;            /* AF_INET or AF_INET6 */
    unsigned prefix;
    char **ref_path;       /* SG_FIELDREF: the other field */
    size_t n_ref_path;
    char *ref_name;
};

/* One "field|modifiers: values" item; name NULL for keywords (raw event text). */
struct sg_field {
    char *name;
    char **path; /* name split at '.' */
    size_t n_path;
    bool is_all; /* all values must match (modifier all) instead of any */
    struct sg_value *values;
    size_t n_values;
    unsigned line;
};

/* A map: all its fields must match. */
struct sg_map {
    struct sg_field *fields;
    size_t n_fields;
};

/* A search identifier: any of its maps matches (a lone map is a list of one). */
struct sg_sel {
    char *name;
    struct sg_map *maps;
    size_t n_maps;
    unsigned line;
};

enum sg_op {
    SGC_SEL = 0,
    SGC_NOT,
    SGC_AND,
    SGC_OR
};

struct sg_cond {
    enum sg_op op;
    size_t sel;            /* SGC_SEL */
    struct sg_cond *a, *b; /* b NULL for SGC_NOT */
};

enum sg_log_kind {
    SG_LOG_ANY = 0,
    SG_LOG_JSON, /* product aws / service cloudtrail */
    SG_LOG_LINE  /* product linux */
};

/* A correlation (pat_sigma.h): a Sigma correlation rule, or a legacy "| count() by" one. */
struct sg_corr {
    enum pat_sigma_corr_type type;
    char **refs; /* base rules by id or name; NULL entry: the rule itself (legacy) */
    size_t n_refs;
    char ***group_paths; /* each group-by field split at '.' */
    size_t *group_n_path;
    char **group_names;
    size_t n_group;
    char **value_path; /* value_count: the counted field */
    size_t n_value_path;
    char *value_name;
    int64_t timespan_ms;
    uint64_t threshold; /* the count must reach this (gt n is n + 1) */
    bool generate;      /* base rules also report on their own */
};

struct pat_sigma_rule {
    struct sg_sel *sels;
    size_t n_sels;
    struct sg_cond *cond; /* NULL for a correlation rule */
    enum sg_log_kind log_kind;
    char *name; /* Sigma "name", how correlations may refer to it */
    char *sigma_id; /* Sigma "id" (a UUID), or NULL; correlations may refer to it too */
    char *tags;
    char *info;
    size_t n_regex; /* SG_RE values below (for sizing scratch) */
    struct sg_corr *corr;
    bool is_builtin; /* from the embedded default packs (pat_sigma_add_embedded) */
};

/* Parse a correlation map (top-level "correlation:") into rule->corr. */
enum lsf_code sg_corr_parse_map(const char *name, yaml_document_t *doc, const yaml_node_t *node,
        struct pat_sigma_rule *rule, struct lsf_err *err) LSF_WARN_UNUSED;
/* Parse a legacy aggregation ("count() by f > 5", text after '|') with the detection's
 * timeframe (NULL when absent). where is "file:line". */
enum lsf_code sg_corr_parse_legacy(const char *agg, const char *timeframe, const char *where,
        struct pat_sigma_rule *rule, struct lsf_err *err) LSF_WARN_UNUSED;
void sg_corr_free(struct sg_corr *c);

/* A parsed rule with the metadata the set needs (filled by pat_sigma_parse_doc). */
struct sg_parsed {
    struct pat_sigma_rule *rule;
    char *id;
    char *title;
    char *description;
    enum pat_severity severity;
    unsigned line; /* the document's first line */
};

void sg_parsed_cleanup(struct sg_parsed *p);

/* Most rules (YAML documents, "---" separated) one file may hold. */
#define SG_MAX_DOCS 4096

/*
 * Parse a Sigma YAML text, one rule per document, into *out (n_out entries, malloc'd; clean
 * each with sg_parsed_cleanup, then free). LSF_E_RULE naming "name:line: ..." and the
 * unsupported feature; LSF_E_NOMEM. Nothing is returned on failure.
 */
enum lsf_code sg_parse_text(const char *name, const char *text, size_t len,
        struct sg_parsed **out, size_t *n_out, struct lsf_err *err) LSF_WARN_UNUSED;

/* A set's size, to undo several adds at once (pat_rules.c). */
struct pat_set_mark {
    size_t n_patterns, n_rules, n_defs, n_files;
    unsigned next_sigma_id;
};
void pat_set_mark_get(const struct pat_set *set, struct pat_set_mark *mark);
/* Drop everything added since mark was taken. LSF_E_NOMEM when the rules-of-pattern table
 * cannot be rebuilt: the set must then not be scanned with. */
enum lsf_code pat_set_mark_restore(struct pat_set *set, const struct pat_set_mark *mark,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Parse a condition string into a tree over rule->sels. where is "file:line" for messages.
 * LSF_E_RULE, LSF_E_NOMEM.
 */
enum lsf_code sg_cond_parse(const struct pat_sigma_rule *rule, const char *text,
        const char *where, struct sg_cond **out, struct lsf_err *err) LSF_WARN_UNUSED;
struct sg_cond *sg_cond_new(enum sg_op op, struct sg_cond *a, struct sg_cond *b, size_t sel);
void sg_cond_free(struct sg_cond *c);

/* Match a SG_GLOB value against s[0..n) (whole string): through v->plan when it has one. */
bool sg_glob_match(const struct sg_value *v, const char *s, size_t n);
/* The same by backtracking over text and wild alone (values with '?', and tests). */
bool sg_glob_match_general(const struct sg_value *v, const char *s, size_t n);
/* Set v->plan for a SG_GLOB value without '?' (NULL otherwise). LSF_E_NOMEM only; the caller
 * writes the message. */
enum lsf_code sg_glob_plan_build(struct sg_value *v) LSF_WARN_UNUSED;
void sg_glob_plan_free(struct sg_glob_plan *plan);

/*
 * A Sigma rule compiled for the set: prefilter literals (regex text, flags) and postfix code
 * over their local indexes (n_code 0: not prefiltered). Filled by sg_prefilter_build.
 */
struct sg_prefilter {
    char **exprs;
    unsigned *flags;
    unsigned *weights; /* how common the field's values are (pat_pattern.weight) */
    size_t n_exprs;
    struct pat_instr *code;
    size_t n_code;
};

void sg_prefilter_cleanup(struct sg_prefilter *pf);

/* Build the prefilter of rule and set rule->info. LSF_E_NOMEM only: a rule that cannot be
 * prefiltered gets n_code 0 and says why in its info. */
enum lsf_code sg_prefilter_build(struct pat_sigma_rule *rule, struct sg_prefilter *pf,
        struct lsf_err *err) LSF_WARN_UNUSED;

/*
 * Add compiled Sigma rules to the set (pat_rules.c): the prefilter literals become quiet
 * patterns (shared with identical ones already in the set), each rule takes its parsed
 * tree. All or nothing. formats: the frame formats for the rule's logsource, or NULL.
 */
enum lsf_code pat_set_add_sigma(struct pat_set *set, const char *name, struct sg_parsed *parsed,
        struct sg_prefilter *pf, const char *formats, struct lsf_err *err) LSF_WARN_UNUSED;

#endif
