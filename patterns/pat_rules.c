/*
 * pat_rules: the rule set and its parser for hsbench pattern files with "#@" metadata
 * (syntax in pat.h).
 *
 * Why hsbench's format: a pattern set written for Hyperscan's own benchmarking and checking
 * tools loads here unchanged, and ours can be fed to hsbench and hscollider (which check
 * Hyperscan's matches against PCRE) without conversion; our metadata hides in comments.
 *
 * Design. A set holds three growing arrays: patterns (what Hyperscan compiles, indexed by the
 * Hyperscan match id), rules (what can fire, each with postfix code over pattern indexes) and
 * defs (every ID of every file, pattern or combination, with where it was defined). Two hash
 * indexes find an ID and a rule id in O(1), because duplicate checks run once per line and a
 * big pack has tens of thousands of lines. A file is parsed line by line in one pass;
 * combinations are only recorded then, and compiled when the file ends, since they may name
 * IDs defined further down. Each add is all or nothing: on failure everything the call added
 * is dropped and the indexes are rebuilt, so a CLI that reports the bad file still holds a
 * consistent set. Once a file is in, the rules-of-pattern table (CSR arrays) is rebuilt for
 * the engine's "which rules can this hit fire" question.
 *
 * Every error names file:line, the pattern ID when there is one, what is wrong and what to
 * do, as the engine stops on LSF_E_RULE and shows the message as is.
 */
#include "pat_int.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsf_buf.h"
#include "pat_sigma_int.h"

#define NO_ENTRY SIZE_MAX

/* Room for "file:line" prefixes; longer file names are cut (the message is capped anyway). */
#define WHERE_MAX 512

/* Longest metadata id= value. */
#define RULE_ID_MAX 200

static const char *const severity_names[] = {
    "info",
    "low",
    "medium",
    "high",
    "critical",
};

const char *pat_severity_name(enum pat_severity sev)
{
    if ((unsigned)sev < sizeof(severity_names) / sizeof(severity_names[0]))
        return severity_names[sev];
    return "unknown";
}

/* ---- hash indexes ------------------------------------------------------------------- */

typedef uint64_t (*entry_hash_fn)(const struct pat_set *set, size_t entry);

static uint64_t hash_u32(unsigned v)
{
    uint64_t h = v;

    /* splitmix64's finalizer: IDs are often sequential, this spreads them. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t def_hash(const struct pat_set *set, size_t entry)
{
    return hash_u32(set->defs[entry].id);
}

static uint64_t rule_hash(const struct pat_set *set, size_t entry)
{
    return hash_str(set->rules[entry].id);
}

static void index_place(struct pat_index *ix, uint64_t h, size_t entry)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)h & mask;

    while (ix->slots[i] != 0)
        i = (i + 1) & mask;
    ix->slots[i] = (uint32_t)(entry + 1);
    ix->n++;
}

/* Add entry, growing so the table stays at most half full. */
static enum lsf_code index_put(const struct pat_set *set, struct pat_index *ix, entry_hash_fn hf,
        size_t entry, struct lsf_err *err)
{
    if ((ix->n + 1) * 2 > ix->cap) {
        struct pat_index grown;
        grown.cap = ix->cap ? ix->cap * 2 : 64;
        grown.n = 0;
        grown.slots = calloc(grown.cap, sizeof(*grown.slots));
        if (grown.slots == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory indexing rules");
        for (size_t i = 0; i < ix->cap; i++) {
            if (ix->slots[i] != 0)
                index_place(&grown, hf(set, ix->slots[i] - 1), ix->slots[i] - 1);
        }
        free(ix->slots);
        *ix = grown;
    }
    index_place(ix, hf(set, entry), entry);
    return LSF_OK;
}

static void index_cleanup(struct pat_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = 0;
    ix->n = 0;
}

static size_t def_find(const struct pat_set *set, unsigned id)
{
    const struct pat_index *ix = &set->def_index;
    size_t i;

    if (ix->cap == 0)
        return NO_ENTRY;
    for (i = (size_t)hash_u32(id) & (ix->cap - 1); ix->slots[i] != 0; i = (i + 1) & (ix->cap - 1)) {
        if (set->defs[ix->slots[i] - 1].id == id)
            return ix->slots[i] - 1;
    }
    return NO_ENTRY;
}

static size_t rule_find(const struct pat_set *set, const char *id)
{
    const struct pat_index *ix = &set->rule_index;
    size_t i;

    if (ix->cap == 0)
        return NO_ENTRY;
    for (i = (size_t)hash_str(id) & (ix->cap - 1); ix->slots[i] != 0; i = (i + 1) & (ix->cap - 1)) {
        if (strcmp(set->rules[ix->slots[i] - 1].id, id) == 0)
            return ix->slots[i] - 1;
    }
    return NO_ENTRY;
}

/* ---- growing arrays ------------------------------------------------------------------ */

static enum lsf_code grow(void **arr, size_t *cap, size_t need, size_t elem, struct lsf_err *err)
{
    size_t new_cap;
    void *grown;

    if (need <= *cap)
        return LSF_OK;
    new_cap = *cap ? *cap * 2 : 16;
    while (new_cap < need)
        new_cap *= 2;
    if (new_cap > SIZE_MAX / elem)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory growing the rule set");
    grown = realloc(*arr, new_cap * elem);
    if (grown == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory growing the rule set");
    *arr = grown;
    *cap = new_cap;
    return LSF_OK;
}

#define GROW(arr, cap, need, err) grow((void **)&(arr), &(cap), (need), sizeof(*(arr)), (err))

/* ---- set lifetime -------------------------------------------------------------------- */

enum lsf_code pat_set_new(struct pat_set **out, struct lsf_err *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating a rule set");
    return LSF_OK;
}

static void rule_cleanup(struct pat_rule *rule)
{
    free(rule->id);
    free(rule->title);
    free(rule->formats);
    free(rule->description);
    free(rule->code);
    pat_sigma_rule_free(rule->sigma);
    memset(rule, 0, sizeof(*rule));
}

/* Drop everything past the given counts and rebuild the indexes (used on a failed add). */
static void set_truncate(struct pat_set *set, size_t n_patterns, size_t n_rules, size_t n_defs,
        size_t n_files)
{
    while (set->n_patterns > n_patterns)
        free(set->patterns[--set->n_patterns].expr);
    while (set->n_rules > n_rules)
        rule_cleanup(&set->rules[--set->n_rules]);
    set->n_defs = n_defs;
    while (set->n_files > n_files)
        free(set->files[--set->n_files]);
    index_cleanup(&set->def_index);
    index_cleanup(&set->rule_index);
    /* Re-adding into fresh tables can only fail for memory; then lookups simply miss
     * entries, which at worst lets a later duplicate through. Keep going regardless. */
    for (size_t i = 0; i < set->n_defs; i++)
        (void)index_put(set, &set->def_index, def_hash, i, NULL);
    for (size_t i = 0; i < set->n_rules; i++)
        (void)index_put(set, &set->rule_index, rule_hash, i, NULL);
}

void pat_set_free(struct pat_set *set)
{
    if (set == NULL)
        return;
    set_truncate(set, 0, 0, 0, 0);
    free(set->patterns);
    free(set->rules);
    free(set->defs);
    free(set->files);
    index_cleanup(&set->def_index);
    index_cleanup(&set->rule_index);
    free(set->rop_start);
    free(set->rop_rules);
    free(set);
}

size_t pat_set_n_patterns(const struct pat_set *set)
{
    return set->n_patterns;
}

const struct pat_pattern *pat_set_pattern(const struct pat_set *set, size_t idx)
{
    return &set->patterns[idx];
}

size_t pat_set_n_rules(const struct pat_set *set)
{
    return set->n_rules;
}

const struct pat_rule *pat_set_rule(const struct pat_set *set, size_t idx)
{
    return &set->rules[idx];
}

const unsigned *pat_set_rules_of_pattern(const struct pat_set *set, size_t idx, size_t *n)
{
    if (set->rop_start == NULL || idx >= set->n_patterns) {
        *n = 0;
        return NULL;
    }
    *n = set->rop_start[idx + 1] - set->rop_start[idx];
    return set->rop_rules + set->rop_start[idx];
}

/*
 * Does the regex use an anchor (^ $ \A \z \Z) outside a character class? In a window of many
 * events, such anchors would refer to the window's edges, not the event's.
 */
static bool expr_has_anchor(const char *expr)
{
    bool in_class = false;

    for (const char *p = expr; *p; p++) {
        if (*p == '\\') {
            if (p[1] == '\0')
                break;
            if (!in_class && (p[1] == 'A' || p[1] == 'z' || p[1] == 'Z'))
                return true;
            p++;
        } else if (in_class) {
            if (*p == ']')
                in_class = false;
        } else if (*p == '[') {
            in_class = true;
            if (p[1] == '^')
                p++;
            if (p[1] == ']')
                p++; /* a leading ']' is a literal member */
        } else if (*p == '^' || *p == '$') {
            return true;
        }
    }
    return false;
}

bool pat_set_needs_event_scan(const struct pat_set *set)
{
    for (size_t i = 0; i < set->n_patterns; i++) {
        if (set->patterns[i].ext.flags & (HS_EXT_FLAG_MIN_OFFSET | HS_EXT_FLAG_MAX_OFFSET))
            return true;
        if (expr_has_anchor(set->patterns[i].expr))
            return true;
    }
    return false;
}

/*
 * Trigger sets. A rule is listed under the patterns of one trigger set: patterns of which at
 * least one must hit wherever the rule fires. For "a AND b" either side's set will do, so the
 * cheaper one is kept; "a OR b" needs both; "NOT a" has none of its own. A pattern's cost is
 * the number of rules that mention it times its weight (a Sigma literal of a field most events
 * carry weighs more, see pat_sigma_prefilter.c), so a shared eventSource such as
 * "ec2.amazonaws.com", present in a large share of events, loses to the eventName, and the
 * rule is evaluated on the few events that name the action, not on every EC2 event. At equal
 * cost the side whose shortest literal is longer wins ("pam_unix(" loses to ":auth):
 * authentication failure"). Findings do not depend on the choice (the rule's whole condition
 * is still evaluated), only the work does.
 */
struct trig_entry {
    size_t start, len; /* patterns in the trigger buffer */
    uint64_t cost;
    size_t weakest;    /* shortest pattern text: on equal cost, the longer literal is rarer */
    bool is_none;      /* no trigger set (under a NOT) */
};

/*
 * The trigger set of rule into buf (room for its HIT instructions); returns its length, or
 * SIZE_MAX when the rule has none (it may fire on events where only some of its patterns hit
 * in a way no set captures): the caller then lists it under every pattern it mentions.
 */
static size_t rule_trigger_set(const struct pat_set *set, const struct pat_rule *rule,
        const unsigned *cost, unsigned *buf)
{
    struct trig_entry st[PAT_EVAL_STACK_MAX];
    size_t sp = 0, used = 0;

    for (size_t i = 0; i < rule->n_code; i++) {
        const struct pat_instr *in = &rule->code[i];
        struct trig_entry *a, *b;

        switch (in->op) {
        case PAT_OP_HIT:
            if (sp == PAT_EVAL_STACK_MAX)
                return SIZE_MAX;
            buf[used] = in->arg;
            st[sp++] = (struct trig_entry){used++, 1, cost[in->arg],
                    strlen(set->patterns[in->arg].expr), false};
            break;
        case PAT_OP_NOT:
            if (sp < 1)
                return SIZE_MAX;
            st[sp - 1].is_none = true;
            break;
        case PAT_OP_AND:
        case PAT_OP_OR:
            if (sp < 2)
                return SIZE_MAX;
            a = &st[sp - 2];
            b = &st[sp - 1]; /* b's patterns follow a's in buf */
            if (in->op == PAT_OP_OR) {
                a->len += b->len;
                a->cost += b->cost;
                a->weakest = b->weakest < a->weakest ? b->weakest : a->weakest;
                a->is_none = a->is_none || b->is_none;
            } else if (!b->is_none && (a->is_none || b->cost < a->cost ||
                               (b->cost == a->cost && b->weakest > a->weakest))) {
                memmove(buf + a->start, buf + b->start, b->len * sizeof(*buf));
                a->len = b->len;
                a->cost = b->cost;
                a->weakest = b->weakest;
                a->is_none = false;
            }
            used = a->start + a->len;
            sp--;
            break;
        default:
            return SIZE_MAX;
        }
    }
    if (sp != 1 || st[0].is_none)
        return SIZE_MAX;
    return st[0].len;
}

/*
 * Patterns only Sigma rules name, in none of their trigger sets, are dropped from the
 * database: reaching a Sigma rule through its trigger set is its whole prefilter, and its
 * confirmation checks every field anyway. Shared eventSource literals, which hit in most
 * events, are what this saves Hyperscan from matching.
 */
static void mark_dropped(struct pat_set *set, const unsigned *trig, const size_t *trig_start)
{
    bool *keep = calloc(set->n_patterns + 1, sizeof(*keep));
    bool *named = calloc(set->n_patterns + 1, sizeof(*named));

    for (size_t p = 0; p < set->n_patterns; p++)
        set->patterns[p].is_dropped = false;
    if (keep == NULL || named == NULL)
        goto out; /* compiling every pattern is always correct */
    for (size_t r = 0; r < set->n_rules; r++) {
        const struct pat_rule *rule = &set->rules[r];
        for (size_t i = 0; i < rule->n_code; i++) {
            if (rule->code[i].op != PAT_OP_HIT)
                continue;
            named[rule->code[i].arg] = true;
            if (rule->sigma == NULL)
                keep[rule->code[i].arg] = true;
        }
        for (size_t k = trig_start[r]; k < trig_start[r + 1]; k++)
            keep[trig[k]] = true;
    }
    for (size_t p = 0; p < set->n_patterns; p++)
        set->patterns[p].is_dropped = named[p] && !keep[p];
out:
    free(keep);
    free(named);
}

/* Rebuild the rules-of-pattern table from each rule's trigger set. Rules are visited in
 * ascending order, so each list comes out sorted, and a pattern named twice in one set is
 * listed once. */
static enum lsf_code build_rules_of_pattern(struct pat_set *set, struct lsf_err *err)
{
    unsigned *start = calloc(set->n_patterns + 1, sizeof(*start));
    unsigned *fill = calloc(set->n_patterns + 1, sizeof(*fill));
    unsigned *cost = calloc(set->n_patterns + 1, sizeof(*cost));
    size_t *trig_start = calloc(set->n_rules + 1, sizeof(*trig_start));
    unsigned *trig = NULL;
    unsigned *rules = NULL;
    size_t n_hits = 0, total = 0;
    enum lsf_code rc = LSF_OK;

    if (start == NULL || fill == NULL || cost == NULL || trig_start == NULL)
        goto nomem;
    /* cost[p]: rules mentioning p (fill[p] holds the last such rule + 1). */
    for (size_t r = 0; r < set->n_rules; r++) {
        for (size_t i = 0; i < set->rules[r].n_code; i++) {
            const struct pat_instr *in = &set->rules[r].code[i];
            if (in->op != PAT_OP_HIT)
                continue;
            n_hits++;
            if (fill[in->arg] != r + 1) {
                unsigned w = set->patterns[in->arg].weight;
                fill[in->arg] = (unsigned)(r + 1);
                cost[in->arg] += w > 1 ? w : 1;
            }
        }
    }
    trig = malloc((n_hits ? n_hits : 1) * sizeof(*trig));
    if (trig == NULL)
        goto nomem;
    /* Each rule's trigger set, then the same count-and-fill as any CSR table. */
    for (size_t r = 0; r < set->n_rules; r++) {
        const struct pat_rule *rule = &set->rules[r];
        size_t at = trig_start[r];
        size_t n = rule_trigger_set(set, rule, cost, trig + at);

        if (n == SIZE_MAX) {
            n = 0;
            for (size_t i = 0; i < rule->n_code; i++) {
                if (rule->code[i].op == PAT_OP_HIT)
                    trig[at + n++] = rule->code[i].arg;
            }
        }
        trig_start[r + 1] = at + n;
    }
    memset(fill, 0, (set->n_patterns + 1) * sizeof(*fill));
    for (size_t r = 0; r < set->n_rules; r++) {
        for (size_t k = trig_start[r]; k < trig_start[r + 1]; k++) {
            if (fill[trig[k]] == r + 1)
                continue;
            fill[trig[k]] = (unsigned)(r + 1);
            start[trig[k] + 1]++;
            total++;
        }
    }
    for (size_t p = 0; p < set->n_patterns; p++)
        start[p + 1] += start[p];
    rules = malloc((total ? total : 1) * sizeof(*rules));
    if (rules == NULL)
        goto nomem;
    memcpy(fill, start, (set->n_patterns + 1) * sizeof(*fill));
    for (size_t r = 0; r < set->n_rules; r++) {
        for (size_t k = trig_start[r]; k < trig_start[r + 1]; k++) {
            unsigned p = trig[k];
            if (fill[p] > start[p] && rules[fill[p] - 1] == r)
                continue;
            rules[fill[p]++] = (unsigned)r;
        }
    }
    mark_dropped(set, trig, trig_start);
    free(set->rop_start);
    free(set->rop_rules);
    set->rop_start = start;
    set->rop_rules = rules;
    start = NULL;
    rules = NULL;
    goto out;
nomem:
    rc = lsf_fail(err, LSF_E_NOMEM, "out of memory indexing rules by pattern");
out:
    free(start);
    free(fill);
    free(cost);
    free(trig_start);
    free(trig);
    free(rules);
    return rc;
}

/* ---- one file ------------------------------------------------------------------------ */

/* A "#@" block waiting for its pattern line. */
struct meta {
    bool is_present;
    unsigned line; /* of the block's first line */
    char *id;
    char *title;
    char *formats;
    char *description;
    int severity; /* enum pat_severity, or -1 when not given */
};

/* A combination recorded while the file is read, compiled when it ends. */
struct pending_comb {
    size_t rule_idx; /* NO_ENTRY for a quiet combination, which makes no rule */
    unsigned id;
    unsigned line;
    char *expr;
};

struct file_parse {
    struct pat_set *set;
    const char *name; /* owned by set->files */
    unsigned line;
    struct meta meta;
    struct pending_comb *combs;
    size_t n_combs, cap_combs;
    char *buf; /* NUL-terminated copy of the current line */
    size_t cap_buf;
    struct lsf_err *err;
};

static void meta_cleanup(struct meta *m)
{
    free(m->id);
    free(m->title);
    free(m->formats);
    free(m->description);
    memset(m, 0, sizeof(*m));
    m->severity = -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static enum lsf_code nomem(struct file_parse *fp)
{
    return lsf_fail(fp->err, LSF_E_NOMEM, "%s:%u: out of memory reading rules", fp->name,
            fp->line);
}

/* ---- metadata ---- */

static bool is_rule_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
            c == '_' || c == '-' || c == ':' || c == '/';
}

static bool is_format_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
            c == '_' || c == ',';
}

static enum lsf_code meta_set_word(struct file_parse *fp, const char *key, char **slot,
        const char *value, size_t n)
{
    if (*slot != NULL)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: metadata key '%s' given twice in one #@ "
                "block; keep one", fp->name, fp->line, key);
    *slot = dup_range(value, n);
    return *slot ? LSF_OK : nomem(fp);
}

/* "title=..." or "description=...": the rest of the line, already trimmed at the end. */
static enum lsf_code meta_set_text(struct file_parse *fp, const char *key, const char *value)
{
    while (is_blank(*value))
        value++;
    if (*value == '\0')
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: metadata %s= is empty; write the text "
                "after the '=' or drop the key", fp->name, fp->line, key);
    if (strcmp(key, "title") == 0)
        return meta_set_word(fp, key, &fp->meta.title, value, strlen(value));
    if (fp->meta.description == NULL) {
        fp->meta.description = strdup(value);
        return fp->meta.description ? LSF_OK : nomem(fp);
    }
    /* A second description= line continues the first. */
    {
        size_t old = strlen(fp->meta.description);
        char *joined = realloc(fp->meta.description, old + 1 + strlen(value) + 1);
        if (joined == NULL)
            return nomem(fp);
        joined[old] = ' ';
        strcpy(joined + old + 1, value);
        fp->meta.description = joined;
    }
    return LSF_OK;
}

static enum lsf_code parse_meta(struct file_parse *fp, const char *p)
{
    enum lsf_code rc = LSF_OK;

    if (!fp->meta.is_present) {
        fp->meta.is_present = true;
        fp->meta.line = fp->line;
    }
    for (;;) {
        const char *key = p;
        const char *value;
        size_t n_key, n_value;

        while (is_blank(*p))
            p++;
        if (*p == '\0')
            return LSF_OK;
        key = p;
        while (*p && *p != '=' && !is_blank(*p))
            p++;
        n_key = (size_t)(p - key);
        if (*p != '=')
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: metadata '%.*s' is not key=value; "
                    "write e.g. #@ severity=high", fp->name, fp->line, (int)n_key, key);
        value = ++p;
        if (n_key == 5 && memcmp(key, "title", 5) == 0)
            return meta_set_text(fp, "title", value);
        if (n_key == 11 && memcmp(key, "description", 11) == 0)
            return meta_set_text(fp, "description", value);
        while (*p && !is_blank(*p))
            p++;
        n_value = (size_t)(p - value);
        if (n_value == 0)
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: metadata %.*s= has no value; write "
                    "one right after the '='", fp->name, fp->line, (int)n_key, key);
        if (n_key == 2 && memcmp(key, "id", 2) == 0) {
            for (size_t i = 0; i < n_value; i++) {
                if (!is_rule_id_char(value[i]))
                    return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: rule id '%.*s' has the "
                            "character '%c'; use letters, digits and . _ - : / only",
                            fp->name, fp->line, (int)n_value, value, value[i]);
            }
            if (n_value > RULE_ID_MAX)
                return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: rule id is %zu characters long "
                        "(limit %d); shorten it", fp->name, fp->line, n_value, RULE_ID_MAX);
            rc = meta_set_word(fp, "id", &fp->meta.id, value, n_value);
        } else if (n_key == 8 && memcmp(key, "severity", 8) == 0) {
            int sev = -1;
            for (size_t i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
                if (strlen(severity_names[i]) == n_value &&
                        memcmp(severity_names[i], value, n_value) == 0)
                    sev = (int)i;
            }
            if (sev < 0)
                return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: severity '%.*s' is not one of "
                        "info, low, medium, high, critical", fp->name, fp->line, (int)n_value,
                        value);
            if (fp->meta.severity >= 0)
                return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: metadata key 'severity' given "
                        "twice in one #@ block; keep one", fp->name, fp->line);
            fp->meta.severity = sev;
        } else if (n_key == 7 && memcmp(key, "formats", 7) == 0) {
            bool is_ok = value[0] != ',' && value[n_value - 1] != ',';
            for (size_t i = 0; i < n_value && is_ok; i++) {
                is_ok = is_format_char(value[i]) && !(value[i] == ',' && value[i + 1] == ',');
            }
            if (!is_ok)
                return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: formats=%.*s is not a comma list "
                        "of format names such as cloudtrail,json-lines (no spaces, no empty "
                        "items)", fp->name, fp->line, (int)n_value, value);
            rc = meta_set_word(fp, "formats", &fp->meta.formats, value, n_value);
        } else {
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: unknown metadata key '%.*s'; known "
                    "keys are id, title, severity, formats and description", fp->name,
                    fp->line, (int)n_key, key);
        }
        if (rc != LSF_OK)
            return rc;
    }
}

/* ---- pattern lines ---- */

struct line_flags {
    unsigned hs_flags;
    bool is_comb;
    bool is_quiet;
    char other_than_cqh; /* first flag letter a combination may not carry, or 0 */
};

/* Read flag letters from *pp, leaving *pp on the first character that is not one. */
static void parse_flags(const char **pp, struct line_flags *lf)
{
    const char *p = *pp;

    memset(lf, 0, sizeof(*lf));
    for (;; p++) {
        unsigned f = 0;
        switch (*p) {
        case 'i':
            f = HS_FLAG_CASELESS;
            break;
        case 's':
            f = HS_FLAG_DOTALL;
            break;
        case 'm':
            f = HS_FLAG_MULTILINE;
            break;
        case 'V':
            f = HS_FLAG_ALLOWEMPTY;
            break;
        case '8':
            f = HS_FLAG_UTF8;
            break;
        case 'W':
            f = HS_FLAG_UCP;
            break;
        case 'P':
            f = HS_FLAG_PREFILTER;
            break;
        case 'L':
            f = HS_FLAG_SOM_LEFTMOST;
            break;
        case 'H': /* SINGLEMATCH: accepted, not passed on (see pat.h) */
        case 'O': /* hscollider's "ordered": nothing to do here */
            continue;
        case 'C':
            lf->is_comb = true;
            continue;
        case 'Q':
            lf->is_quiet = true;
            continue;
        default:
            *pp = p;
            return;
        }
        lf->hs_flags |= f;
        if (lf->other_than_cqh == 0)
            lf->other_than_cqh = *p;
    }
}

static const char *const ext_names[] = {
    "min_offset",
    "max_offset",
    "min_length",
    "edit_distance",
    "hamming_distance",
};

static const unsigned long long ext_bits[] = {
    HS_EXT_FLAG_MIN_OFFSET,
    HS_EXT_FLAG_MAX_OFFSET,
    HS_EXT_FLAG_MIN_LENGTH,
    HS_EXT_FLAG_EDIT_DISTANCE,
    HS_EXT_FLAG_HAMMING_DISTANCE,
};

/* "{key=N,key=N}" starting at p (which points at '{'); must end the line. */
static enum lsf_code parse_ext(struct file_parse *fp, unsigned id, const char *p,
        hs_expr_ext_t *ext)
{
    static const char known[] = "min_offset, max_offset, min_length, edit_distance and "
                                "hamming_distance";

    p++;
    for (;;) {
        const char *key;
        size_t n_key, k;
        unsigned long long num = 0;

        while (*p == ' ')
            p++;
        key = p;
        while ((*p >= 'a' && *p <= 'z') || *p == '_')
            p++;
        n_key = (size_t)(p - key);
        for (k = 0; k < sizeof(ext_names) / sizeof(ext_names[0]); k++) {
            if (strlen(ext_names[k]) == n_key && memcmp(ext_names[k], key, n_key) == 0)
                break;
        }
        if (n_key == 0 || k == sizeof(ext_names) / sizeof(ext_names[0]))
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: unknown extended parameter "
                    "'%.*s' in {...}; known ones are %s", fp->name, fp->line, id,
                    n_key ? (int)n_key : 1, n_key ? key : p, known);
        while (*p == ' ')
            p++;
        if (*p != '=')
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: extended parameter %s "
                    "needs =<number>", fp->name, fp->line, id, ext_names[k]);
        p++;
        while (*p == ' ')
            p++;
        if (!is_digit(*p))
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: extended parameter %s "
                    "needs a decimal number after '='", fp->name, fp->line, id, ext_names[k]);
        for (; is_digit(*p); p++) {
            unsigned d = (unsigned)(*p - '0');
            if (num > (ULLONG_MAX - d) / 10)
                return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: %s is too large",
                        fp->name, fp->line, id, ext_names[k]);
            num = num * 10 + d;
        }
        if (ext->flags & ext_bits[k])
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: extended parameter %s "
                    "given twice; keep one", fp->name, fp->line, id, ext_names[k]);
        if (k >= 3 && num > UINT_MAX)
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: %s=%llu is too large",
                    fp->name, fp->line, id, ext_names[k], num);
        ext->flags |= ext_bits[k];
        switch (k) {
        case 0:
            ext->min_offset = num;
            break;
        case 1:
            ext->max_offset = num;
            break;
        case 2:
            ext->min_length = num;
            break;
        case 3:
            ext->edit_distance = (unsigned)num;
            break;
        default:
            ext->hamming_distance = (unsigned)num;
            break;
        }
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}')
            break;
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: the {...} block %s; write "
                "{key=N,key=N}", fp->name, fp->line, id,
                *p ? "has an unexpected character" : "is not closed with '}'");
    }
    if (p[1] != '\0')
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %u: text after the closing '}' of "
                "the {...} block; nothing may follow it", fp->name, fp->line, id);
    return LSF_OK;
}

/* Record the ID, refusing duplicates across the whole set. */
static enum lsf_code add_def(struct file_parse *fp, unsigned id, bool is_comb, size_t index)
{
    struct pat_set *set = fp->set;
    size_t prev = def_find(set, id);
    enum lsf_code rc;

    if (prev != NO_ENTRY)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern ID %u is already used at %s:%u; "
                "give each pattern its own ID", fp->name, fp->line, id, set->defs[prev].file,
                set->defs[prev].line);
    if (set->n_defs >= UINT32_MAX - 1)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: too many patterns in one set", fp->name,
                fp->line);
    rc = GROW(set->defs, set->cap_defs, set->n_defs + 1, fp->err);
    if (rc != LSF_OK)
        return rc;
    set->defs[set->n_defs].id = id;
    set->defs[set->n_defs].is_comb = is_comb;
    set->defs[set->n_defs].index = index;
    set->defs[set->n_defs].file = fp->name;
    set->defs[set->n_defs].line = fp->line;
    set->n_defs++;
    return index_put(set, &set->def_index, def_hash, set->n_defs - 1, fp->err);
}

/* Make the rule for pattern/combination id from the pending #@ block, which it takes. */
static enum lsf_code add_rule(struct file_parse *fp, unsigned id, const char *expr,
        const struct pat_instr *code, size_t n_code)
{
    struct pat_set *set = fp->set;
    struct pat_rule *rule;
    char default_id[32];
    size_t prev;
    enum lsf_code rc = GROW(set->rules, set->cap_rules, set->n_rules + 1, fp->err);

    if (rc != LSF_OK)
        return rc;
    rule = &set->rules[set->n_rules];
    memset(rule, 0, sizeof(*rule));
    rule->file = fp->name;
    rule->line = fp->line;
    rule->severity = fp->meta.severity >= 0 ? (enum pat_severity)fp->meta.severity
                                            : PAT_SEV_MEDIUM;
    if (fp->meta.id) {
        rule->id = fp->meta.id;
        fp->meta.id = NULL;
    } else {
        snprintf(default_id, sizeof(default_id), "pattern-%u", id);
        rule->id = strdup(default_id);
    }
    if (fp->meta.title) {
        rule->title = fp->meta.title;
        fp->meta.title = NULL;
    } else {
        rule->title = strdup(expr);
    }
    rule->formats = fp->meta.formats;
    fp->meta.formats = NULL;
    rule->description = fp->meta.description;
    fp->meta.description = NULL;
    meta_cleanup(&fp->meta);
    if (n_code > 0) {
        rule->code = malloc(n_code * sizeof(*code));
        if (rule->code != NULL)
            memcpy(rule->code, code, n_code * sizeof(*code));
        rule->n_code = n_code;
    }
    if (rule->id == NULL || rule->title == NULL || (n_code > 0 && rule->code == NULL)) {
        rule_cleanup(rule);
        return nomem(fp);
    }
    prev = rule_find(set, rule->id);
    if (prev != NO_ENTRY) {
        rc = lsf_fail(fp->err, LSF_E_RULE, "%s:%u: rule id '%s' (pattern %u) is already used "
                "by the rule at %s:%u; give each rule its own id=", fp->name, fp->line,
                rule->id, id, set->rules[prev].file, set->rules[prev].line);
        rule_cleanup(rule);
        return rc;
    }
    set->n_rules++;
    return index_put(set, &set->rule_index, rule_hash, set->n_rules - 1, fp->err);
}

static enum lsf_code parse_pattern_line(struct file_parse *fp, char *line)
{
    struct pat_set *set = fp->set;
    char *colon = strchr(line, ':');
    char *expr, *end;
    const char *p;
    unsigned long long id = 0;
    struct line_flags lf;
    hs_expr_ext_t ext;
    enum lsf_code rc;

    if (colon == NULL)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: expected ID:/regex/flags but the line has "
                "no ':'; pattern lines look like 1001:/StopLogging/i and comments start with "
                "'#'", fp->name, fp->line);
    for (p = line; p < colon; p++) {
        if (!is_digit(*p) || id * 10 + (unsigned)(*p - '0') > UINT_MAX)
            break;
        id = id * 10 + (unsigned)(*p - '0');
    }
    if (p != colon || colon == line)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: '%.*s' before the ':' is not a pattern ID; "
                "IDs are decimal numbers from 0 to %u", fp->name, fp->line,
                (int)(colon - line > 40 ? 40 : colon - line), line, UINT_MAX);
    if (colon[1] != '/')
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %llu: expected '/' right after "
                "'%llu:'; write %llu:/regex/flags", fp->name, fp->line, id, id, id);
    expr = colon + 2;
    end = strrchr(colon + 1, '/');
    if (end == colon + 1)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %llu: the regex has no closing "
                "'/'; end it with '/' and any flags", fp->name, fp->line, id);
    *end = '\0';
    p = end + 1;
    parse_flags(&p, &lf);
    memset(&ext, 0, sizeof(ext));
    if (*p == '{') {
        rc = parse_ext(fp, (unsigned)id, p, &ext);
        if (rc != LSF_OK)
            return rc;
    } else if (*p != '\0') {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p))
            return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %llu: unknown flag '%c' after "
                    "the closing '/'; flags are i s m H V 8 W P L C Q (a '/' inside the regex "
                    "needs no escape: the last '/' of the line ends it)", fp->name, fp->line,
                    id, *p);
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: pattern %llu: unexpected '%c' after the "
                "flags; only a {key=N,...} block may follow them", fp->name, fp->line, id, *p);
    }
    if (lf.is_comb && lf.other_than_cqh)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: combination %llu has flag '%c'; a "
                "combination (C) takes no flag but Q and H, so drop it", fp->name, fp->line, id,
                lf.other_than_cqh);
    if (lf.is_comb && ext.flags)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: combination %llu has a {...} block; logsift "
                "evaluates combinations per event, where offsets mean nothing, so drop it",
                fp->name, fp->line, id);
    if (lf.is_quiet && fp->meta.is_present)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: the #@ block at line %u describes quiet "
                "pattern %llu, which is not a rule (Q patterns only feed combinations); move "
                "the block to the combination it belongs to, or drop the Q flag", fp->name,
                fp->line, fp->meta.line, id);

    if (lf.is_comb) {
        struct pending_comb *pc;
        size_t rule_idx = NO_ENTRY;

        if (!lf.is_quiet)
            rule_idx = set->n_rules;
        rc = add_def(fp, (unsigned)id, true, rule_idx);
        if (rc == LSF_OK && !lf.is_quiet)
            rc = add_rule(fp, (unsigned)id, expr, NULL, 0);
        if (rc != LSF_OK)
            return rc;
        rc = GROW(fp->combs, fp->cap_combs, fp->n_combs + 1, fp->err);
        if (rc != LSF_OK)
            return rc;
        pc = &fp->combs[fp->n_combs];
        pc->rule_idx = rule_idx;
        pc->id = (unsigned)id;
        pc->line = fp->line;
        pc->expr = strdup(expr);
        if (pc->expr == NULL)
            return nomem(fp);
        fp->n_combs++;
        return LSF_OK;
    }

    rc = add_def(fp, (unsigned)id, false, set->n_patterns);
    if (rc != LSF_OK)
        return rc;
    rc = GROW(set->patterns, set->cap_patterns, set->n_patterns + 1, fp->err);
    if (rc != LSF_OK)
        return rc;
    {
        struct pat_pattern *pat = &set->patterns[set->n_patterns];
        memset(pat, 0, sizeof(*pat));
        pat->id = (unsigned)id;
        pat->expr = strdup(expr);
        if (pat->expr == NULL)
            return nomem(fp);
        pat->hs_flags = lf.hs_flags;
        pat->is_quiet = lf.is_quiet;
        pat->ext = ext;
        pat->file = fp->name;
        pat->line = fp->line;
        set->n_patterns++;
    }
    if (!lf.is_quiet) {
        struct pat_instr hit;
        hit.op = PAT_OP_HIT;
        hit.arg = (unsigned)(set->n_patterns - 1);
        return add_rule(fp, (unsigned)id, expr, &hit, 1);
    }
    return LSF_OK;
}

static int comb_lookup(void *ctx, unsigned id, size_t *pattern_idx)
{
    const struct pat_set *set = ctx;
    size_t d = def_find(set, id);

    if (d == NO_ENTRY)
        return 1;
    if (set->defs[d].is_comb)
        return 2;
    *pattern_idx = set->defs[d].index;
    return 0;
}

/* Compile the file's combinations now that all its IDs are known. */
static enum lsf_code resolve_combinations(struct file_parse *fp)
{
    enum lsf_code rc = LSF_OK;

    for (size_t i = 0; i < fp->n_combs && rc == LSF_OK; i++) {
        const struct pending_comb *pc = &fp->combs[i];
        struct pat_rule probe;
        struct pat_instr *code = NULL;
        size_t n_code = 0;
        char where[WHERE_MAX];

        snprintf(where, sizeof(where), "%s:%u", fp->name, pc->line);
        rc = pat_cond_compile(pc->expr, where, pc->id, comb_lookup, fp->set, &code, &n_code,
                fp->err);
        if (rc != LSF_OK)
            break;
        memset(&probe, 0, sizeof(probe));
        probe.code = code;
        probe.n_code = n_code;
        if (pat_rule_eval(&probe, NULL, 0)) {
            rc = lsf_fail(fp->err, LSF_E_RULE, "%s: combination %u fires on events where "
                    "nothing matched; add a positive term", where, pc->id);
            free(code);
            break;
        }
        if (pc->rule_idx == NO_ENTRY) {
            free(code); /* quiet combination: checked, reports nothing */
        } else {
            fp->set->rules[pc->rule_idx].code = code;
            fp->set->rules[pc->rule_idx].n_code = n_code;
        }
    }
    return rc;
}

static enum lsf_code parse_line(struct file_parse *fp, const char *b, size_t n)
{
    const char *p;

    if (memchr(b, '\0', n) != NULL)
        return lsf_fail(fp->err, LSF_E_RULE, "%s:%u: the line holds a NUL byte; rules files are "
                "text", fp->name, fp->line);
    while (n > 0 && is_blank(*b)) {
        b++;
        n--;
    }
    while (n > 0 && is_blank(b[n - 1]))
        n--;
    if (n == 0)
        return LSF_OK;
    if (b[0] == '#' && !(n >= 2 && b[1] == '@'))
        return LSF_OK;
    if (GROW(fp->buf, fp->cap_buf, n + 1, fp->err) != LSF_OK)
        return LSF_E_NOMEM;
    memcpy(fp->buf, b, n);
    fp->buf[n] = '\0';
    p = fp->buf;
    if (p[0] == '#')
        return parse_meta(fp, p + 2);
    return parse_pattern_line(fp, fp->buf);
}

enum lsf_code pat_set_add_text(struct pat_set *set, const char *name, const char *text,
        size_t len, struct lsf_err *err)
{
    const size_t n_patterns0 = set->n_patterns, n_rules0 = set->n_rules;
    const size_t n_defs0 = set->n_defs, n_files0 = set->n_files;
    struct file_parse fp;
    const char *p = text;
    const char *end = len > 0 ? text + len : text; /* text may be NULL when len is 0 */
    enum lsf_code rc;

    memset(&fp, 0, sizeof(fp));
    fp.set = set;
    fp.err = err;
    fp.meta.severity = -1;
    rc = GROW(set->files, set->cap_files, set->n_files + 1, err);
    if (rc != LSF_OK)
        goto out;
    set->files[set->n_files] = strdup(name);
    if (set->files[set->n_files] == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading rules", name);
        goto out;
    }
    fp.name = set->files[set->n_files++];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;

        if (fp.line == UINT_MAX) {
            rc = lsf_fail(err, LSF_E_RULE, "%s: too many lines; split the file", name);
            goto out;
        }
        fp.line++;
        rc = parse_line(&fp, p, (size_t)(line_end - p));
        if (rc != LSF_OK)
            goto out;
        p = nl ? nl + 1 : end;
    }
    if (fp.meta.is_present) {
        rc = lsf_fail(err, LSF_E_RULE, "%s:%u: the #@ block is not followed by a pattern line; "
                "add the pattern it describes or remove the block", name, fp.meta.line);
        goto out;
    }
    rc = resolve_combinations(&fp);
    if (rc != LSF_OK)
        goto out;
    rc = build_rules_of_pattern(set, err);
out:
    if (rc != LSF_OK)
        set_truncate(set, n_patterns0, n_rules0, n_defs0, n_files0);
    meta_cleanup(&fp.meta);
    for (size_t i = 0; i < fp.n_combs; i++)
        free(fp.combs[i].expr);
    free(fp.combs);
    free(fp.buf);
    return rc;
}

enum lsf_code pat_set_add_file(struct pat_set *set, const char *path, struct lsf_err *err)
{
    struct lsf_buf raw;
    struct lsf_err buf_err;
    unsigned char chunk[65536];
    enum lsf_code rc = LSF_OK;
    FILE *fp;

    lsf_buf_init(&raw, PAT_RULES_MAX_BYTES);
    lsf_err_clear(&buf_err);
    fp = fopen(path, "rb");
    if (fp == NULL) {
        rc = lsf_fail(err, LSF_E_IO, "%s: cannot open the rules file (%s); check the path",
                path, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), fp);
        if (n > 0 && lsf_buf_append(&raw, chunk, n, &buf_err) != LSF_OK) {
            rc = lsf_fail(err, buf_err.code == LSF_E_NOMEM ? LSF_E_NOMEM : LSF_E_RULE,
                    "%s: rules file is larger than %zu MiB (%s); split it", path,
                    PAT_RULES_MAX_BYTES >> 20, buf_err.msg);
            goto out;
        }
        if (n < sizeof(chunk))
            break;
    }
    if (ferror(fp)) {
        rc = lsf_fail(err, LSF_E_IO, "%s: cannot read the rules file (%s)", path,
                strerror(errno));
        goto out;
    }
    rc = pat_set_add_text(set, path, (const char *)raw.data, raw.len, err);
out:
    if (fp != NULL)
        fclose(fp);
    lsf_buf_cleanup(&raw);
    return rc;
}

enum lsf_code pat_set_add_default(struct pat_set *set, struct lsf_err *err)
{
    enum lsf_code rc = pat_set_add_text(set, "default.rules",
            (const char *)pat_default_rules, pat_default_rules_len, err);

    if (rc == LSF_OK)
        rc = pat_sigma_add_embedded(set, err); /* the Sigma packs under patterns/packs */
    return rc;
}

/* ---- Sigma rules (compiled by pat_sigma_*.c) ------------------------------------------- */

/* Pattern index of an earlier Sigma literal with the same text and flags, or NO_ENTRY. */
static size_t sigma_pattern_find(const struct pat_set *set, const char *expr, unsigned flags)
{
    for (size_t i = 0; i < set->n_patterns; i++) {
        const struct pat_pattern *p = &set->patterns[i];
        if (p->id >= PAT_SIGMA_ID_BASE && p->hs_flags == flags && strcmp(p->expr, expr) == 0)
            return i;
    }
    return NO_ENTRY;
}

enum lsf_code pat_set_add_sigma(struct pat_set *set, const char *name, struct sg_parsed *parsed,
        struct sg_prefilter *pf, const char *formats, struct lsf_err *err)
{
    const size_t n_patterns0 = set->n_patterns, n_rules0 = set->n_rules;
    const size_t n_defs0 = set->n_defs, n_files0 = set->n_files;
    const unsigned next_id0 = set->next_sigma_id;
    struct file_parse fp;
    size_t *map = NULL;
    struct pat_rule *rule;
    size_t prev;
    enum lsf_code rc;

    memset(&fp, 0, sizeof(fp));
    fp.set = set;
    fp.err = err;
    fp.meta.severity = -1;
    rc = GROW(set->files, set->cap_files, set->n_files + 1, err);
    if (rc != LSF_OK)
        goto out;
    set->files[set->n_files] = strdup(name);
    if (set->files[set->n_files] == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading rules", name);
        goto out;
    }
    fp.name = set->files[set->n_files++];
    fp.line = parsed->line;
    map = calloc(pf->n_exprs + 1, sizeof(*map));
    if (map == NULL) {
        rc = nomem(&fp);
        goto out;
    }
    for (size_t i = 0; i < pf->n_exprs; i++) {
        struct pat_pattern *pat;

        map[i] = sigma_pattern_find(set, pf->exprs[i], pf->flags[i]);
        if (map[i] != NO_ENTRY) {
            if (set->patterns[map[i]].weight < pf->weights[i])
                set->patterns[map[i]].weight = pf->weights[i];
            continue;
        }
        if (set->next_sigma_id < PAT_SIGMA_ID_BASE)
            set->next_sigma_id = PAT_SIGMA_ID_BASE;
        if (set->next_sigma_id == UINT_MAX) {
            rc = lsf_fail(err, LSF_E_RULE, "%s: too many Sigma literals in one set", name);
            goto out;
        }
        rc = add_def(&fp, set->next_sigma_id, false, set->n_patterns);
        if (rc == LSF_OK)
            rc = GROW(set->patterns, set->cap_patterns, set->n_patterns + 1, err);
        if (rc != LSF_OK)
            goto out;
        pat = &set->patterns[set->n_patterns];
        memset(pat, 0, sizeof(*pat));
        pat->id = set->next_sigma_id++;
        pat->expr = strdup(pf->exprs[i]);
        if (pat->expr == NULL) {
            rc = nomem(&fp);
            goto out;
        }
        pat->hs_flags = pf->flags[i];
        pat->weight = pf->weights[i];
        pat->is_quiet = true;
        pat->file = fp.name;
        pat->line = parsed->line;
        map[i] = set->n_patterns++;
    }
    if (set->n_patterns == 0) {
        /* Only unprefiltered rules so far: Hyperscan cannot compile an empty database, so
         * give it one quiet literal that no rule mentions (its hits fire nothing). */
        struct pat_pattern *pat;
        rc = GROW(set->patterns, set->cap_patterns, 1, err);
        if (rc != LSF_OK)
            goto out;
        if (set->next_sigma_id < PAT_SIGMA_ID_BASE)
            set->next_sigma_id = PAT_SIGMA_ID_BASE;
        rc = add_def(&fp, set->next_sigma_id, false, 0);
        if (rc != LSF_OK)
            goto out;
        pat = &set->patterns[0];
        memset(pat, 0, sizeof(*pat));
        pat->id = set->next_sigma_id++;
        pat->expr = strdup("\\\\u");
        if (pat->expr == NULL) {
            rc = nomem(&fp);
            goto out;
        }
        pat->is_quiet = true;
        pat->file = fp.name;
        pat->line = parsed->line;
        set->n_patterns = 1;
    }
    rc = GROW(set->rules, set->cap_rules, set->n_rules + 1, err);
    if (rc != LSF_OK)
        goto out;
    rule = &set->rules[set->n_rules];
    memset(rule, 0, sizeof(*rule));
    rule->file = fp.name;
    rule->line = parsed->line;
    rule->severity = parsed->severity;
    rule->id = parsed->id ? parsed->id : strdup(name);
    parsed->id = NULL;
    rule->title = parsed->title;
    parsed->title = NULL;
    rule->description = parsed->description;
    parsed->description = NULL;
    rule->formats = formats ? strdup(formats) : NULL;
    rule->code = pf->code;
    rule->n_code = pf->n_code;
    pf->code = NULL;
    pf->n_code = 0;
    for (size_t i = 0; i < rule->n_code; i++) {
        if (rule->code[i].op == PAT_OP_HIT)
            rule->code[i].arg = (unsigned)map[rule->code[i].arg];
    }
    rule->sigma = parsed->rule;
    parsed->rule = NULL;
    if (rule->id == NULL || rule->title == NULL || (formats && rule->formats == NULL)) {
        rule_cleanup(rule);
        rc = nomem(&fp);
        goto out;
    }
    prev = rule_find(set, rule->id);
    if (prev != NO_ENTRY) {
        rc = lsf_fail(err, LSF_E_RULE, "%s:%u: rule id '%s' is already used by the rule at "
                "%s:%u; give each rule its own id", fp.name, fp.line, rule->id,
                set->rules[prev].file, set->rules[prev].line);
        rule_cleanup(rule);
        goto out;
    }
    set->n_rules++;
    rc = index_put(set, &set->rule_index, rule_hash, set->n_rules - 1, err);
    if (rc == LSF_OK)
        rc = build_rules_of_pattern(set, err);
out:
    if (rc != LSF_OK) {
        set_truncate(set, n_patterns0, n_rules0, n_defs0, n_files0);
        set->next_sigma_id = next_id0;
    }
    free(map);
    return rc;
}

void pat_set_mark_get(const struct pat_set *set, struct pat_set_mark *mark)
{
    mark->n_patterns = set->n_patterns;
    mark->n_rules = set->n_rules;
    mark->n_defs = set->n_defs;
    mark->n_files = set->n_files;
    mark->next_sigma_id = set->next_sigma_id;
}

enum lsf_code pat_set_mark_restore(struct pat_set *set, const struct pat_set_mark *mark,
        struct lsf_err *err)
{
    set_truncate(set, mark->n_patterns, mark->n_rules, mark->n_defs, mark->n_files);
    set->next_sigma_id = mark->next_sigma_id;
    return build_rules_of_pattern(set, err);
}
