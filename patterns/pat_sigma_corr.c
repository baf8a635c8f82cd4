/*
 * pat_sigma_corr: the description of a correlation (pat_sigma.h): Sigma correlation rules
 * ("correlation:" map) and legacy aggregations ("selection | count() by f > N" with
 * detection.timeframe) parsed into one struct sg_corr the engine reads through accessors.
 *
 * Only thresholds that grow with the events (gt, gte) are accepted: a "fewer than N" count
 * needs the absence of events over a window, which a log scan cannot tell from a gap in the
 * files given to it, so lt, lte and eq are refused by name.
 */
#include "pat_sigma_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum lsf_code nomem(const char *name, struct lsf_err *err)
{
    return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading a correlation", name);
}

void sg_corr_free(struct sg_corr *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_refs; i++)
        free(c->refs[i]);
    free(c->refs);
    for (size_t g = 0; g < c->n_group; g++) {
        for (size_t i = 0; i < c->group_n_path[g]; i++)
            free(c->group_paths[g][i]);
        free(c->group_paths[g]);
        free(c->group_names[g]);
    }
    free(c->group_paths);
    free(c->group_n_path);
    free(c->group_names);
    for (size_t i = 0; i < c->n_value_path; i++)
        free(c->value_path[i]);
    free(c->value_path);
    free(c->value_name);
    free(c);
}

/* "a.b.c" into parts. */
static bool split(const char *s, char ***out, size_t *n_out)
{
    size_t n = 1;
    char **parts;
    const char *p = s;

    for (const char *q = s; *q; q++)
        n += *q == '.';
    parts = calloc(n, sizeof(*parts));
    if (parts == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        parts[i] = strndup(p, len);
        if (parts[i] == NULL) {
            while (i > 0)
                free(parts[--i]);
            free(parts);
            return false;
        }
        p += len + (dot != NULL);
    }
    *out = parts;
    *n_out = n;
    return true;
}

static bool add_group(struct sg_corr *c, const char *field, size_t len)
{
    char *name = strndup(field, len);
    char ***gp = realloc(c->group_paths, (c->n_group + 1) * sizeof(*gp));
    size_t *gn;
    char **names;

    if (gp != NULL)
        c->group_paths = gp;
    gn = realloc(c->group_n_path, (c->n_group + 1) * sizeof(*gn));
    if (gn != NULL)
        c->group_n_path = gn;
    names = realloc(c->group_names, (c->n_group + 1) * sizeof(*names));
    if (names != NULL)
        c->group_names = names;
    if (name == NULL || gp == NULL || gn == NULL || names == NULL ||
            !split(name, &c->group_paths[c->n_group], &c->group_n_path[c->n_group])) {
        free(name);
        return false;
    }
    c->group_names[c->n_group++] = name;
    return true;
}

/* "30s", "5m", "1h", "1d" into ms; -1 when malformed. */
static int64_t parse_span(const char *s)
{
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    int64_t unit;

    if (end == s || n <= 0 || n > 100000000LL)
        return -1;
    switch (*end) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 86400 * 1000;
        break;
    default:
        return -1;
    }
    if (end[1] != '\0')
        return -1;
    return (int64_t)n * unit;
}

/* ---- legacy: "count([field]) [by f1, f2] (>|>=) N" ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool is_field_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-';
}

enum lsf_code sg_corr_parse_legacy(const char *agg, const char *timeframe, const char *where,
        struct pat_sigma_rule *rule, struct lsf_err *err)
{
    struct sg_corr *c;
    const char *p = skip_ws(agg);
    const char *f;
    char *end = NULL;
    unsigned long long n;
    bool is_gt;

    if (strncmp(p, "count", 5) != 0 || skip_ws(p + 5)[0] != '(')
        return lsf_fail(err, LSF_E_RULE, "%s: aggregation '%s' is not supported; only "
                "count() and count(field), optionally by fields, with > or >=", where, agg);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nomem(where, err);
    rule->corr = c;
    /* No timeframe: the count runs over everything the scan reads (Sigma's "whole search
     * period"). */
    c->timespan_ms = timeframe ? parse_span(timeframe) : PAT_CORR_WHOLE_RUN;
    if (c->timespan_ms < 0)
        return lsf_fail(err, LSF_E_RULE, "%s: timeframe '%s' is not a number followed by s, "
                "m, h or d", where, timeframe);
    c->refs = calloc(1, sizeof(*c->refs)); /* one NULL ref: this rule */
    if (c->refs == NULL)
        return nomem(where, err);
    c->n_refs = 1;
    p = skip_ws(skip_ws(p + 5) + 1);
    f = p;
    while (is_field_char(*p))
        p++;
    c->type = p > f ? PAT_CORR_VALUE_COUNT : PAT_CORR_EVENT_COUNT;
    if (p > f) {
        c->value_name = strndup(f, (size_t)(p - f));
        if (c->value_name == NULL || !split(c->value_name, &c->value_path, &c->n_value_path))
            return nomem(where, err);
    }
    p = skip_ws(p);
    if (*p != ')')
        return lsf_fail(err, LSF_E_RULE, "%s: count(...) is not closed or names more than one "
                "field", where);
    p = skip_ws(p + 1);
    if (strncmp(p, "by", 2) == 0 && (p[2] == ' ' || p[2] == '\t')) {
        p = skip_ws(p + 2);
        for (;;) {
            f = p;
            while (is_field_char(*p))
                p++;
            if (p == f)
                return lsf_fail(err, LSF_E_RULE, "%s: expected a field name after 'by'",
                        where);
            if (!add_group(c, f, (size_t)(p - f)))
                return nomem(where, err);
            p = skip_ws(p);
            if (*p != ',')
                break;
            p = skip_ws(p + 1);
        }
    }
    if (p[0] == '>' && p[1] == '=') {
        is_gt = false;
        p += 2;
    } else if (p[0] == '>') {
        is_gt = true;
        p++;
    } else {
        return lsf_fail(err, LSF_E_RULE, "%s: aggregation comparison '%s' is not supported; "
                "use > or >= (fewer-than counts need the absence of events, which a scan of "
                "the given files cannot see)", where, *p ? p : "(none)");
    }
    p = skip_ws(p);
    n = strtoull(p, &end, 10);
    if (end == p || *skip_ws(end) != '\0' || n > UINT32_MAX)
        return lsf_fail(err, LSF_E_RULE, "%s: the aggregation must end with a count such as "
                "> 20", where);
    c->threshold = n + (is_gt ? 1 : 0);
    if (c->threshold == 0)
        c->threshold = 1;
    return LSF_OK;
}

/* ---- Sigma correlation rules ---- */

static enum lsf_code refuse(const char *name, const yaml_node_t *at, struct lsf_err *err,
        const char *what)
{
    return lsf_fail(err, LSF_E_RULE, "%s:%zu: correlation: %s", name, at->start_mark.line + 1,
            what);
}

static const char *scalar_of(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar or a list of scalars, each passed to fn. */
static enum lsf_code each_scalar(const char *name, yaml_document_t *doc, const yaml_node_t *v,
        struct sg_corr *c, bool is_group, struct lsf_err *err)
{
    const yaml_node_item_t *it = NULL, *top = NULL;

    if (v->type == YAML_SEQUENCE_NODE) {
        it = v->data.sequence.items.start;
        top = v->data.sequence.items.top;
    }
    for (size_t i = 0;; i++) {
        const yaml_node_t *item = v;
        const char *s;
        if (v->type == YAML_SEQUENCE_NODE) {
            if (it + i >= top)
                break;
            item = yaml_document_get_node(doc, it[i]);
        } else if (i > 0) {
            break;
        }
        s = scalar_of(item);
        if (s == NULL || s[0] == '\0')
            return refuse(name, item, err, is_group ? "group-by takes field names"
                                                    : "rules takes rule ids or names");
        if (is_group) {
            if (!add_group(c, s, strlen(s)))
                return nomem(name, err);
        } else {
            char **grown = realloc(c->refs, (c->n_refs + 1) * sizeof(*grown));
            if (grown == NULL)
                return nomem(name, err);
            c->refs = grown;
            c->refs[c->n_refs] = strdup(s);
            if (c->refs[c->n_refs] == NULL)
                return nomem(name, err);
            c->n_refs++;
        }
    }
    return LSF_OK;
}

static enum lsf_code parse_condition(const char *name, yaml_document_t *doc,
        const yaml_node_t *v, struct sg_corr *c, struct lsf_err *err)
{
    bool has_threshold = false;

    if (v->type != YAML_MAPPING_NODE)
        return refuse(name, v, err, "condition must be a map such as {gte: 10}");
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
            pr++) {
        const char *k = scalar_of(yaml_document_get_node(doc, pr->key));
        const yaml_node_t *vn = yaml_document_get_node(doc, pr->value);
        const char *val = scalar_of(vn);
        char *end = NULL;
        unsigned long long n;

        if (k == NULL || val == NULL)
            return refuse(name, vn, err, "condition keys and values must be scalars");
        if (strcmp(k, "field") == 0) {
            free(c->value_name);
            c->value_name = strdup(val);
            if (c->value_name == NULL || !split(val, &c->value_path, &c->n_value_path))
                return nomem(name, err);
            continue;
        }
        if (strcmp(k, "gt") != 0 && strcmp(k, "gte") != 0)
            return refuse(name, vn, err, "condition supports gt and gte only (lt, lte, eq "
                    "need the absence of events, which a scan of the given files cannot see)");
        n = strtoull(val, &end, 10);
        if (end == val || *end != '\0' || n > UINT32_MAX)
            return refuse(name, vn, err, "condition threshold must be a whole number");
        c->threshold = n + (strcmp(k, "gt") == 0 ? 1 : 0);
        if (c->threshold == 0)
            c->threshold = 1;
        has_threshold = true;
    }
    if (!has_threshold)
        return refuse(name, v, err, "condition needs gt or gte");
    return LSF_OK;
}

enum lsf_code sg_corr_parse_map(const char *name, yaml_document_t *doc, const yaml_node_t *node,
        struct pat_sigma_rule *rule, struct lsf_err *err)
{
    struct sg_corr *c;
    const yaml_node_t *cond = NULL;
    enum lsf_code rc = LSF_OK;

    if (node->type != YAML_MAPPING_NODE)
        return refuse(name, node, err, "must be a map (type, rules, group-by, timespan, "
                "condition)");
    if (rule->corr != NULL)
        return refuse(name, node, err, "the rule already has an aggregation or correlation");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nomem(name, err);
    rule->corr = c;
    c->timespan_ms = -1;
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
            pr < node->data.mapping.pairs.top && rc == LSF_OK; pr++) {
        const yaml_node_t *kn = yaml_document_get_node(doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
        const char *k = scalar_of(kn);
        const char *s = scalar_of(v);

        if (k == NULL)
            return refuse(name, kn, err, "keys must be scalars");
        if (strcmp(k, "type") == 0) {
            if (s && strcmp(s, "event_count") == 0)
                c->type = PAT_CORR_EVENT_COUNT;
            else if (s && strcmp(s, "value_count") == 0)
                c->type = PAT_CORR_VALUE_COUNT;
            else if (s && strcmp(s, "temporal") == 0)
                c->type = PAT_CORR_TEMPORAL;
            else if (s && strcmp(s, "temporal_ordered") == 0)
                c->type = PAT_CORR_TEMPORAL_ORDERED;
            else
                return refuse(name, v, err, "type must be event_count, value_count, temporal "
                        "or temporal_ordered");
        } else if (strcmp(k, "rules") == 0) {
            rc = each_scalar(name, doc, v, c, false, err);
        } else if (strcmp(k, "group-by") == 0) {
            rc = each_scalar(name, doc, v, c, true, err);
        } else if (strcmp(k, "timespan") == 0 || strcmp(k, "timeframe") == 0) {
            c->timespan_ms = s ? parse_span(s) : -1;
            if (c->timespan_ms < 0)
                return refuse(name, v, err, "timespan must be a number followed by s, m, h or "
                        "d, e.g. 5m");
        } else if (strcmp(k, "condition") == 0) {
            cond = v;
        } else if (strcmp(k, "generate") == 0) {
            if (s == NULL || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
                return refuse(name, v, err, "generate must be true or false");
            c->generate = strcmp(s, "true") == 0;
        } else if (strcmp(k, "aliases") == 0) {
            return refuse(name, kn, err, "aliases (field names that differ per rule) are not "
                    "supported");
        } else {
            return refuse(name, kn, err, "unknown key; known are type, rules, group-by, "
                    "timespan, condition, generate");
        }
    }
    if (rc != LSF_OK)
        return rc;
    if (c->type == PAT_CORR_NONE)
        return refuse(name, node, err, "type is missing");
    if (c->n_refs == 0)
        return refuse(name, node, err, "rules is missing: name the base rules");
    if (c->timespan_ms < 0)
        return refuse(name, node, err, "timespan is missing");
    if (c->type == PAT_CORR_EVENT_COUNT || c->type == PAT_CORR_VALUE_COUNT) {
        if (cond == NULL)
            return refuse(name, node, err, "condition is missing, e.g. condition: {gte: 10}");
        rc = parse_condition(name, doc, cond, c, err);
        if (rc == LSF_OK && c->type == PAT_CORR_VALUE_COUNT && c->value_name == NULL)
            return refuse(name, cond, err, "value_count needs condition.field");
    } else {
        if (c->n_refs < 2)
            return refuse(name, node, err, "temporal correlations need at least two rules");
        if (c->n_refs > 32)
            return refuse(name, node, err, "temporal correlations take at most 32 rules");
        c->threshold = c->n_refs;
    }
    return rc;
}

/* ---- accessors ---- */

enum pat_sigma_corr_type pat_sigma_corr_type(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->type : PAT_CORR_NONE;
}

size_t pat_sigma_corr_n_refs(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->n_refs : 0;
}

const char *pat_sigma_corr_ref(const struct pat_sigma_rule *rule, size_t i)
{
    return rule->corr->refs[i];
}

int64_t pat_sigma_corr_timespan_ms(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->timespan_ms : 0;
}

uint64_t pat_sigma_corr_threshold(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->threshold : 0;
}

bool pat_sigma_corr_generate(const struct pat_sigma_rule *rule)
{
    return rule->corr != NULL && rule->corr->generate;
}

const char *pat_sigma_rule_name(const struct pat_sigma_rule *rule)
{
    return rule->name;
}

const char *pat_sigma_rule_sigma_id(const struct pat_sigma_rule *rule)
{
    return rule->sigma_id;
}

bool pat_rule_is_named(const struct pat_rule *r, const char *ref)
{
    const char *name = r->sigma ? r->sigma->name : NULL;
    const char *sigma_id = r->sigma ? r->sigma->sigma_id : NULL;

    return strcmp(r->id, ref) == 0 || (name != NULL && strcmp(name, ref) == 0) ||
           (sigma_id != NULL && strcmp(sigma_id, ref) == 0);
}

bool pat_sigma_rule_has_detection(const struct pat_sigma_rule *rule)
{
    return rule->cond != NULL;
}

/* ---- chained correlations ---- */

size_t pat_sigma_corr_n_group(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->n_group : 0;
}

const char *pat_sigma_corr_group_name(const struct pat_sigma_rule *rule, size_t g)
{
    return rule->corr->group_names[g];
}

bool pat_rule_is_correlation(const struct pat_rule *r)
{
    return r->sigma != NULL && r->sigma->cond == NULL && r->sigma->corr != NULL;
}

size_t pat_sigma_corr_find(const struct pat_set *set, const char *ref)
{
    for (size_t i = 0; i < pat_set_n_rules(set); i++) {
        if (pat_rule_is_named(pat_set_rule(set, i), ref))
            return i;
    }
    return SIZE_MAX;
}

static bool has_group(const struct sg_corr *c, const char *field)
{
    for (size_t g = 0; g < c->n_group; g++) {
        if (strcmp(c->group_names[g], field) == 0)
            return true;
    }
    return false;
}

/* The fields an outer correlation reads from a firing of inner must be inner's group-by. */
static enum lsf_code check_derivable(const struct pat_rule *outer, const struct pat_rule *inner,
        struct lsf_err *err)
{
    const struct sg_corr *o = outer->sigma->corr, *in = inner->sigma->corr;

    for (size_t g = 0; g < o->n_group; g++) {
        if (!has_group(in, o->group_names[g]))
            return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: group-by field '%s' is "
                    "not a group-by field of correlation %s (%s:%u), so a firing of that "
                    "correlation has no value for it; add it to that correlation's group-by "
                    "or group by fewer fields here", outer->file, outer->line, outer->id,
                    o->group_names[g], inner->id, inner->file, inner->line);
    }
    if (o->value_name != NULL && !has_group(in, o->value_name))
        return lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s: the counted field '%s' is not "
                "a group-by field of correlation %s (%s:%u), so a firing of that correlation "
                "has no value for it; add it to that correlation's group-by", outer->file,
                outer->line, outer->id, o->value_name, inner->id, inner->file, inner->line);
    return LSF_OK;
}

/* "a -> b -> ... -> a" for the cycle through c that parent[] records, into out. */
static void cycle_text(const struct pat_set *set, size_t c, size_t last, const size_t *parent,
        char *out, size_t cap)
{
    size_t chain[64], n = 0, len = 0;

    for (size_t x = last; n < 64; x = parent[x]) {
        chain[n++] = x;
        if (x == c)
            break;
    }
    out[0] = '\0';
    for (size_t i = n; i > 0 && len + 1 < cap; i--) {
        int w = snprintf(out + len, cap - len, "%s -> ", pat_set_rule(set, chain[i - 1])->id);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < cap)
        snprintf(out + len, cap - len, "%s", pat_set_rule(set, c)->id);
}

enum lsf_code pat_sigma_corr_check_chain(const struct pat_set *set, size_t c,
        struct lsf_err *err)
{
    const struct pat_rule *cr = pat_set_rule(set, c);
    const size_t n_rules = pat_set_n_rules(set);
    size_t *parent, *stack, n_stack = 0;
    enum lsf_code rc = LSF_OK;

    if (!pat_rule_is_correlation(cr))
        return LSF_OK;
    for (size_t i = 0; i < cr->sigma->corr->n_refs; i++) {
        const char *ref = cr->sigma->corr->refs[i];
        size_t in = ref ? pat_sigma_corr_find(set, ref) : SIZE_MAX;
        if (in != SIZE_MAX && pat_rule_is_correlation(pat_set_rule(set, in)) &&
                (rc = check_derivable(cr, pat_set_rule(set, in), err)) != LSF_OK)
            return rc;
    }
    /* Depth-first over the correlations c refers to, each visited once: reaching c again
     * is a cycle, which has no order to sweep in. */
    parent = malloc(n_rules * sizeof(*parent));
    stack = malloc(n_rules * sizeof(*stack));
    if (parent == NULL || stack == NULL) {
        free(parent);
        free(stack);
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory checking correlation chains",
                cr->file);
    }
    for (size_t i = 0; i < n_rules; i++)
        parent[i] = SIZE_MAX;
    stack[n_stack++] = c;
    while (n_stack > 0 && rc == LSF_OK) {
        const struct pat_rule *r = pat_set_rule(set, stack[--n_stack]);
        size_t from = stack[n_stack];
        for (size_t i = 0; i < r->sigma->corr->n_refs && rc == LSF_OK; i++) {
            const char *ref = r->sigma->corr->refs[i];
            size_t to = ref ? pat_sigma_corr_find(set, ref) : SIZE_MAX;
            char chain[512];
            if (to == SIZE_MAX || !pat_rule_is_correlation(pat_set_rule(set, to)))
                continue;
            if (to == c) {
                cycle_text(set, c, from, parent, chain, sizeof(chain));
                rc = lsf_fail(err, LSF_E_RULE, "%s:%u: correlation %s refers back to itself "
                        "through its rules (%s); correlations must form chains without "
                        "cycles: remove one of these references", cr->file, cr->line, cr->id,
                        chain);
            } else if (parent[to] == SIZE_MAX) {
                parent[to] = from;
                stack[n_stack++] = to;
            }
        }
    }
    free(parent);
    free(stack);
    return rc;
}

const char *pat_sigma_corr_value_field(const struct pat_sigma_rule *rule)
{
    return rule->corr ? rule->corr->value_name : NULL;
}
