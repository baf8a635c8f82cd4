/*
 * pat_sigma_parse: Sigma rules' YAML (libyaml's document API, one rule per document) into the
 * detection tree of pat_sigma_int.h, refusing every feature outside the supported subset
 * (pat_sigma.h) with file:line and its name, so a rule is never silently approximated.
 *
 * Why the document API: it keeps every node's position, so each refusal points at the exact
 * line; rules are small, so building the node tree costs nothing.
 *
 * YAML 1.1 (PyYAML, which pySigma and SigmaHQ's tooling use) reads plain yes/no/on/off as
 * booleans where YAML 1.2 reads strings; such a value is refused and must be quoted, since
 * either reading would be a guess about the author's intent.
 */
#include "pat_sigma_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define WHERE_MAX 600

struct sg_parse {
    const char *name;
    yaml_document_t *doc;
    struct pat_sigma_rule *rule;
    struct lsf_err *err;
};

static unsigned node_line(const yaml_node_t *n)
{
    return (unsigned)n->start_mark.line + 1;
}

static enum lsf_code refuse(struct sg_parse *ps, const yaml_node_t *at, const char *fmt, ...)
        LSF_PRINTF(3, 4);

/* A refusal: "file:line: <what is wrong and what to do>". */
static enum lsf_code refuse(struct sg_parse *ps, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[LSF_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lsf_fail(ps->err, LSF_E_RULE, "%s:%u: %s", ps->name, at ? node_line(at) : 1, msg);
}

static enum lsf_code nomem(struct sg_parse *ps)
{
    return lsf_fail(ps->err, LSF_E_NOMEM, "%s: out of memory reading the Sigma rule", ps->name);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_plain_null(const yaml_node_t *n)
{
    const char *s = scalar(n);

    return is_plain(n) && (s[0] == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0);
}

static bool is_yaml11_bool_word(const char *s)
{
    static const char *const words[] = {"yes", "no", "on", "off", "y", "n"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasecmp(s, words[i]) == 0)
            return true;
    }
    return false;
}

static bool is_number_text(const char *s)
{
    const char *p = s;

    if (*p == '-' || *p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    return *p == '\0';
}

/* ---- frees ---- */

static void value_cleanup(struct sg_value *v)
{
    free(v->text);
    free(v->wild);
    sg_glob_plan_free(v->plan);
    if (v->re != NULL)
        hs_free_database(v->re);
    for (size_t i = 0; i < v->n_ref_path; i++)
        free(v->ref_path[i]);
    free(v->ref_path);
    free(v->ref_name);
}

static void field_cleanup(struct sg_field *f)
{
    for (size_t i = 0; i < f->n_values; i++)
        value_cleanup(&f->values[i]);
    free(f->values);
    for (size_t i = 0; i < f->n_path; i++)
        free(f->path[i]);
    free(f->path);
    free(f->name);
}

void pat_sigma_rule_free(struct pat_sigma_rule *rule)
{
    if (rule == NULL)
        return;
    for (size_t s = 0; s < rule->n_sels; s++) {
        struct sg_sel *sel = &rule->sels[s];
        for (size_t m = 0; m < sel->n_maps; m++) {
            for (size_t f = 0; f < sel->maps[m].n_fields; f++)
                field_cleanup(&sel->maps[m].fields[f]);
            free(sel->maps[m].fields);
        }
        free(sel->maps);
        free(sel->name);
    }
    free(rule->sels);
    sg_cond_free(rule->cond);
    sg_corr_free(rule->corr);
    free(rule->name);
    free(rule->sigma_id);
    free(rule->tags);
    free(rule->info);
    free(rule);
}

const char *pat_sigma_rule_info(const struct pat_sigma_rule *rule)
{
    return rule->info ? rule->info : "";
}

const char *pat_sigma_rule_tags(const struct pat_sigma_rule *rule)
{
    return rule->tags ? rule->tags : "";
}

void sg_parsed_cleanup(struct sg_parsed *p)
{
    pat_sigma_rule_free(p->rule);
    free(p->id);
    free(p->title);
    free(p->description);
    memset(p, 0, sizeof(*p));
}

/* ---- field names ---- */

static enum lsf_code split_path(struct sg_parse *ps, const char *name, char ***path,
        size_t *n_path)
{
    size_t n = 1;
    const char *p = name;
    char **parts;

    for (const char *q = name; *q; q++)
        n += *q == '.';
    parts = calloc(n, sizeof(*parts));
    if (parts == NULL)
        return nomem(ps);
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        parts[i] = strndup(p, len);
        if (parts[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                free(parts[k]);
            free(parts);
            return nomem(ps);
        }
        p = dot ? dot + 1 : p + len;
    }
    *path = parts;
    *n_path = n;
    return LSF_OK;
}

/* ---- values ---- */

struct mods {
    bool contains, startswith, endswith, all, re, re_i, re_m, re_s, exists, cidr, fieldref,
            cased;
};

/* Sigma string with \* \? \\ escapes into text + wild, wrapped in '*' per modifiers. */
static enum lsf_code make_glob(struct sg_parse *ps, const char *s, const struct mods *m,
        struct sg_value *v)
{
    size_t n = strlen(s);
    char *text = malloc(n + 3);
    unsigned char *wild = malloc(n + 3);
    size_t k = 0;

    if (text == NULL || wild == NULL) {
        free(text);
        free(wild);
        return nomem(ps);
    }
    if (m->contains || m->endswith) {
        text[k] = '*';
        wild[k++] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
            text[k] = s[++i];
            wild[k++] = 0;
        } else {
            text[k] = c;
            wild[k++] = (c == '*' || c == '?');
        }
    }
    if (m->contains || m->startswith) {
        text[k] = '*';
        wild[k++] = 1;
    }
    text[k] = '\0';
    v->kind = SG_GLOB;
    v->text = text;
    v->wild = wild;
    v->len = k;
    v->is_cased = m->cased;
    if (sg_glob_plan_build(v) != LSF_OK)
        return nomem(ps);
    return LSF_OK;
}

static enum lsf_code make_re(struct sg_parse *ps, const yaml_node_t *n, const char *s,
        const struct mods *m, struct sg_value *v)
{
    hs_compile_error_t *ce = NULL;
    unsigned flags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    char what[LSF_ERR_MSG_MAX / 2];

    if (m->re_i)
        flags |= HS_FLAG_CASELESS;
    if (m->re_m)
        flags |= HS_FLAG_MULTILINE;
    if (m->re_s)
        flags |= HS_FLAG_DOTALL;
    if (hs_compile(s, flags, HS_MODE_BLOCK, NULL, &v->re, &ce) != HS_SUCCESS) {
        snprintf(what, sizeof(what), "%s", ce && ce->message ? ce->message : "unknown error");
        hs_free_compile_error(ce);
        v->re = NULL;
        return refuse(ps, n, "re value uses a construct the regex engine (Hyperscan) does not "
                "support (%s); rewrite the regex without it", what);
    }
    v->kind = SG_RE;
    v->text = strdup(s); /* kept for the prefilter's literal extraction */
    if (v->text == NULL)
        return nomem(ps);
    v->is_cased = !m->re_i;
    ps->rule->n_regex++;
    return LSF_OK;
}

static enum lsf_code make_cidr(struct sg_parse *ps, const yaml_node_t *n, const char *s,
        struct sg_value *v)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    char *end = NULL;
    unsigned long prefix;

    if (alen == 0 || alen >= sizeof(addr))
        return refuse(ps, n, "cidr value '%s' is not an address/prefix such as 10.0.0.0/8",
                s);
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, v->net) == 1)
        v->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, v->net) == 1)
        v->family = AF_INET6;
    else
        return refuse(ps, n, "cidr value '%s' is not an IPv4 or IPv6 network", s);
    prefix = v->family == AF_INET ? 32 : 128;
    if (slash != NULL) {
        prefix = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || prefix > (v->family == AF_INET ? 32u : 128u))
            return refuse(ps, n, "cidr value '%s' has a bad prefix length", s);
    }
    v->prefix = (unsigned)prefix;
    v->kind = SG_CIDR;
    return LSF_OK;
}

static enum lsf_code make_value(struct sg_parse *ps, const yaml_node_t *n, const struct mods *m,
        bool is_keyword, struct sg_value *v)
{
    const char *s;

    memset(v, 0, sizeof(*v));
    if (n->type != YAML_SCALAR_NODE)
        return refuse(ps, n, "%s: a field value must be a scalar or a list of scalars "
                "(nested lists or maps as values are not Sigma)", "value");
    s = scalar(n);
    if (m->exists) {
        if (!is_plain(n) || (strcasecmp(s, "true") != 0 && strcasecmp(s, "false") != 0))
            return refuse(ps, n, "exists takes true or false, not '%s'", s);
        v->kind = SG_EXISTS;
        v->want_exists = strcasecmp(s, "true") == 0;
        return LSF_OK;
    }
    if (is_plain_null(n)) {
        if (is_keyword || m->contains || m->startswith || m->endswith || m->re || m->cidr ||
                m->fieldref)
            return refuse(ps, n, "null %s: null takes no modifier and is not a keyword",
                    "value");
        v->kind = SG_NULL;
        return LSF_OK;
    }
    if (is_plain(n) && is_yaml11_bool_word(s))
        return refuse(ps, n, "plain '%s' is a boolean in YAML 1.1 (PyYAML) but a string in "
                "YAML 1.2; quote it to say which you mean", s);
    if (m->re)
        return make_re(ps, n, s, m, v);
    if (m->cidr)
        return make_cidr(ps, n, s, v);
    if (m->fieldref) {
        v->kind = SG_FIELDREF;
        v->ref_name = strdup(s);
        if (v->ref_name == NULL)
            return nomem(ps);
        return split_path(ps, s, &v->ref_path, &v->n_ref_path);
    }
    if (is_plain(n) && (is_number_text(s) || strcasecmp(s, "true") == 0 ||
                               strcasecmp(s, "false") == 0))
        v->is_bare = true;
    if (is_keyword && !m->contains && !m->startswith && !m->endswith) {
        /* Keywords are "contains" searches on the whole event text. */
        struct mods km = *m;
        km.contains = true;
        return make_glob(ps, s, &km, v);
    }
    return make_glob(ps, s, m, v);
}

static enum lsf_code parse_mods(struct sg_parse *ps, const yaml_node_t *key, const char *spec,
        struct mods *m)
{
    char buf[64];
    const char *p = spec;

    memset(m, 0, sizeof(*m));
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);

        if (n >= sizeof(buf))
            n = sizeof(buf) - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (strcmp(buf, "contains") == 0)
            m->contains = true;
        else if (strcmp(buf, "startswith") == 0)
            m->startswith = true;
        else if (strcmp(buf, "endswith") == 0)
            m->endswith = true;
        else if (strcmp(buf, "all") == 0)
            m->all = true;
        else if (strcmp(buf, "re") == 0)
            m->re = true;
        else if (strcmp(buf, "i") == 0)
            m->re_i = true;
        else if (strcmp(buf, "m") == 0)
            m->re_m = true;
        else if (strcmp(buf, "s") == 0)
            m->re_s = true;
        else if (strcmp(buf, "exists") == 0)
            m->exists = true;
        else if (strcmp(buf, "cidr") == 0)
            m->cidr = true;
        else if (strcmp(buf, "fieldref") == 0)
            m->fieldref = true;
        else if (strcmp(buf, "cased") == 0)
            m->cased = true;
        else
            return refuse(ps, key, "modifier '%s' is not supported by logsift (supported: "
                    "contains startswith endswith all re i m s exists cidr fieldref cased)",
                    buf);
        p += bar ? n + 1 : n;
        if (bar && *p == '\0')
            return refuse(ps, key, "field '%s' ends with '|'; drop it or name a modifier",
                    spec);
    }
    if (m->contains + m->startswith + m->endswith > 1)
        return refuse(ps, key, "modifiers '%s' combine contains, startswith and endswith; use "
                "one, with * wildcards for the rest", spec);
    if ((m->re_i || m->re_m || m->re_s) && !m->re)
        return refuse(ps, key, "modifiers '%s' use i, m or s without re", spec);
    if (m->re + m->cidr + m->exists + m->fieldref > 1 ||
            ((m->re || m->cidr || m->exists || m->fieldref) &&
                    (m->contains || m->startswith || m->endswith)))
        return refuse(ps, key, "modifiers '%s' cannot be combined", spec);
    if (m->cased && (m->re || m->cidr || m->exists || m->fieldref))
        return refuse(ps, key, "modifiers '%s': cased applies to plain, contains, startswith "
                "and endswith values only", spec);
    return LSF_OK;
}

/* ---- detection ---- */

static enum lsf_code add_field(struct sg_parse *ps, struct sg_map *map, const yaml_node_t *key,
        const char *key_text, const yaml_node_t *val)
{
    const char *bar = strchr(key_text, '|');
    size_t name_len = bar ? (size_t)(bar - key_text) : strlen(key_text);
    struct sg_field *f;
    struct sg_field *grown;
    struct mods m;
    size_t n_vals;
    enum lsf_code rc;

    rc = parse_mods(ps, key, bar ? bar + 1 : "", &m);
    if (rc != LSF_OK)
        return rc;
    grown = realloc(map->fields, (map->n_fields + 1) * sizeof(*grown));
    if (grown == NULL)
        return nomem(ps);
    map->fields = grown;
    f = &map->fields[map->n_fields++];
    memset(f, 0, sizeof(*f));
    f->line = node_line(key);
    f->is_all = m.all;
    if (name_len > 0) {
        f->name = strndup(key_text, name_len);
        if (f->name == NULL)
            return nomem(ps);
        rc = split_path(ps, f->name, &f->path, &f->n_path);
        if (rc != LSF_OK)
            return rc;
    } else if (m.exists || m.fieldref || m.cidr || m.re) {
        return refuse(ps, key, "'%s': exists, cidr, fieldref and re need a field name; "
                "keywords only take contains-style text", key_text);
    }
    if (val->type == YAML_MAPPING_NODE)
        return refuse(ps, val, "field '%s' has a map as its value; Sigma values are scalars or "
                "lists of scalars", key_text);
    n_vals = val->type == YAML_SEQUENCE_NODE ? (size_t)(val->data.sequence.items.top -
                                                       val->data.sequence.items.start)
                                             : 1;
    if (n_vals == 0)
        return refuse(ps, val, "field '%s' has an empty list of values; give at least one",
                key_text);
    if (m.all && n_vals < 2 && val->type != YAML_SEQUENCE_NODE)
        return refuse(ps, key, "'%s': modifier all needs a list of values", key_text);
    f->values = calloc(n_vals, sizeof(*f->values));
    if (f->values == NULL)
        return nomem(ps);
    for (size_t i = 0; i < n_vals; i++) {
        const yaml_node_t *vn = val;
        if (val->type == YAML_SEQUENCE_NODE)
            vn = yaml_document_get_node(ps->doc, val->data.sequence.items.start[i]);
        rc = make_value(ps, vn, &m, f->name == NULL, &f->values[i]);
        f->n_values = i + 1;
        if (rc != LSF_OK)
            return rc;
    }
    return LSF_OK;
}

static enum lsf_code parse_map(struct sg_parse *ps, const yaml_node_t *node, struct sg_map *map)
{
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
            pr < node->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(ps->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(ps->doc, pr->value);
        enum lsf_code rc;

        if (k->type != YAML_SCALAR_NODE)
            return refuse(ps, k, "%s: a field name must be a scalar", "detection");
        rc = add_field(ps, map, k, scalar(k), v);
        if (rc != LSF_OK)
            return rc;
    }
    if (map->n_fields == 0)
        return refuse(ps, node, "%s: an empty map matches nothing; give it fields",
                "detection");
    return LSF_OK;
}

static enum lsf_code new_map(struct sg_parse *ps, struct sg_sel *sel, struct sg_map **out)
{
    struct sg_map *grown = realloc(sel->maps, (sel->n_maps + 1) * sizeof(*grown));

    if (grown == NULL)
        return nomem(ps);
    sel->maps = grown;
    *out = &sel->maps[sel->n_maps++];
    memset(*out, 0, sizeof(**out));
    return LSF_OK;
}

/* A keyword list: one map with one field-less field whose values are the scalars of list. */
static enum lsf_code parse_keywords(struct sg_parse *ps, struct sg_sel *sel,
        const yaml_node_t *list)
{
    struct sg_map *map;
    enum lsf_code rc = new_map(ps, sel, &map);
    const yaml_node_t *key = list;

    if (rc != LSF_OK)
        return rc;
    return add_field(ps, map, key, "", list);
}

static enum lsf_code parse_selection(struct sg_parse *ps, const yaml_node_t *key,
        const yaml_node_t *val)
{
    struct pat_sigma_rule *rule = ps->rule;
    struct sg_sel *grown = realloc(rule->sels, (rule->n_sels + 1) * sizeof(*grown));
    struct sg_sel *sel;
    struct sg_map *map;
    enum lsf_code rc;

    if (grown == NULL)
        return nomem(ps);
    rule->sels = grown;
    sel = &rule->sels[rule->n_sels++];
    memset(sel, 0, sizeof(*sel));
    sel->line = node_line(key);
    sel->name = strdup(scalar(key));
    if (sel->name == NULL)
        return nomem(ps);
    if (val->type == YAML_MAPPING_NODE) {
        rc = new_map(ps, sel, &map);
        return rc != LSF_OK ? rc : parse_map(ps, val, map);
    }
    if (val->type == YAML_SCALAR_NODE)
        return parse_keywords(ps, sel, val);
    /* A list: maps are alternatives; scalars are keywords. */
    {
        size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
        size_t n_scalars = 0, n_maps = 0;

        if (n == 0)
            return refuse(ps, val, "search identifier '%s' is an empty list", sel->name);
        for (size_t i = 0; i < n; i++) {
            const yaml_node_t *item =
                    yaml_document_get_node(ps->doc, val->data.sequence.items.start[i]);
            if (item->type == YAML_MAPPING_NODE)
                n_maps++;
            else if (item->type == YAML_SCALAR_NODE)
                n_scalars++;
            else
                return refuse(ps, item, "search identifier '%s' holds a nested list; use "
                        "maps or keywords", sel->name);
        }
        if (n_maps > 0 && n_scalars > 0)
            return refuse(ps, val, "search identifier '%s' mixes keywords and maps in one "
                    "list; split it into two identifiers", sel->name);
        if (n_scalars > 0)
            return parse_keywords(ps, sel, val);
        for (size_t i = 0; i < n; i++) {
            const yaml_node_t *item =
                    yaml_document_get_node(ps->doc, val->data.sequence.items.start[i]);
            rc = new_map(ps, sel, &map);
            if (rc == LSF_OK)
                rc = parse_map(ps, item, map);
            if (rc != LSF_OK)
                return rc;
        }
    }
    return LSF_OK;
}

static enum lsf_code cond_or(struct sg_parse *ps, struct sg_cond **acc, struct sg_cond *c)
{
    struct sg_cond *o;

    if (*acc == NULL) {
        *acc = c;
        return LSF_OK;
    }
    o = sg_cond_new(SGC_OR, *acc, c, 0);
    if (o == NULL) {
        sg_cond_free(c);
        return nomem(ps);
    }
    *acc = o;
    return LSF_OK;
}

/* "selection | count() by f > 5": the part before '|' is the condition, the rest a legacy
 * aggregation over this rule's matches. */
static enum lsf_code parse_scalar_condition(struct sg_parse *ps, const yaml_node_t *cond,
        const char *timeframe, const char *where)
{
    const char *text = scalar(cond);
    const char *bar = strchr(text, '|');
    char *head;
    enum lsf_code rc;

    if (bar == NULL) {
        if (timeframe != NULL)
            return refuse(ps, cond, "detection.timeframe without an aggregation ('| count() "
                    "...') means nothing; drop it or add the aggregation");
        return sg_cond_parse(ps->rule, text, where, &ps->rule->cond, ps->err);
    }
    head = strndup(text, (size_t)(bar - text));
    if (head == NULL)
        return nomem(ps);
    rc = sg_cond_parse(ps->rule, head, where, &ps->rule->cond, ps->err);
    free(head);
    if (rc == LSF_OK)
        rc = sg_corr_parse_legacy(bar + 1, timeframe, where, ps->rule, ps->err);
    return rc;
}

static enum lsf_code parse_detection(struct sg_parse *ps, const yaml_node_t *det)
{
    const yaml_node_t *cond = NULL;
    const char *timeframe = NULL;
    char where[WHERE_MAX];
    enum lsf_code rc;

    if (det->type != YAML_MAPPING_NODE)
        return refuse(ps, det, "%s must be a map of search identifiers and a condition",
                "detection");
    for (yaml_node_pair_t *pr = det->data.mapping.pairs.start; pr < det->data.mapping.pairs.top;
            pr++) {
        const yaml_node_t *k = yaml_document_get_node(ps->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(ps->doc, pr->value);

        if (k->type != YAML_SCALAR_NODE)
            return refuse(ps, k, "%s: keys must be scalars", "detection");
        if (strcmp(scalar(k), "condition") == 0) {
            cond = v;
            continue;
        }
        if (strcmp(scalar(k), "timeframe") == 0) {
            if (v->type != YAML_SCALAR_NODE)
                return refuse(ps, v, "detection.%s must be a duration such as 5m",
                        "timeframe");
            timeframe = scalar(v);
            continue;
        }
        rc = parse_selection(ps, k, v);
        if (rc != LSF_OK)
            return rc;
    }
    if (cond == NULL)
        return refuse(ps, det, "%s has no condition; add one, e.g. condition: selection",
                "detection");
    if (cond->type == YAML_SCALAR_NODE) {
        snprintf(where, sizeof(where), "%s:%u", ps->name, node_line(cond));
        return parse_scalar_condition(ps, cond, timeframe, where);
    }
    if (timeframe != NULL)
        return refuse(ps, cond, "detection.%s needs a single condition with an aggregation",
                "timeframe");
    if (cond->type != YAML_SEQUENCE_NODE)
        return refuse(ps, cond, "%s must be a string or a list of strings", "condition");
    /* A list of conditions: the rule matches when any does. */
    for (yaml_node_item_t *it = cond->data.sequence.items.start;
            it < cond->data.sequence.items.top; it++) {
        const yaml_node_t *c = yaml_document_get_node(ps->doc, *it);
        struct sg_cond *one = NULL;

        if (c->type != YAML_SCALAR_NODE)
            return refuse(ps, c, "%s list items must be strings", "condition");
        snprintf(where, sizeof(where), "%s:%u", ps->name, node_line(c));
        rc = sg_cond_parse(ps->rule, scalar(c), where, &one, ps->err);
        if (rc == LSF_OK)
            rc = cond_or(ps, &ps->rule->cond, one);
        if (rc != LSF_OK)
            return rc;
    }
    if (ps->rule->cond == NULL)
        return refuse(ps, cond, "%s is an empty list", "condition");
    return LSF_OK;
}

/* ---- top level ---- */

static enum lsf_code take_string(struct sg_parse *ps, const yaml_node_t *v, const char *key,
        char **slot)
{
    if (v->type != YAML_SCALAR_NODE)
        return refuse(ps, v, "%s must be a string", key);
    free(*slot);
    *slot = strdup(scalar(v));
    return *slot ? LSF_OK : nomem(ps);
}

/* A list of strings (or one string) joined with ", ". */
static enum lsf_code take_list(struct sg_parse *ps, const yaml_node_t *v, const char *key,
        char **slot)
{
    size_t len = 1;
    char *out;

    if (v->type == YAML_SCALAR_NODE)
        return take_string(ps, v, key, slot);
    if (v->type != YAML_SEQUENCE_NODE)
        return refuse(ps, v, "%s must be a list of strings", key);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
            it++) {
        const yaml_node_t *s = yaml_document_get_node(ps->doc, *it);
        if (s->type != YAML_SCALAR_NODE)
            return refuse(ps, s, "%s must be a list of strings", key);
        len += strlen(scalar(s)) + 2;
    }
    out = calloc(1, len);
    if (out == NULL)
        return nomem(ps);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
            it++) {
        if (out[0])
            strcat(out, ", ");
        strcat(out, scalar(yaml_document_get_node(ps->doc, *it)));
    }
    free(*slot);
    *slot = out;
    return LSF_OK;
}

static enum lsf_code parse_level(struct sg_parse *ps, const yaml_node_t *v, struct sg_parsed *p)
{
    static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};

    if (v->type == YAML_SCALAR_NODE) {
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
            if (strcmp(scalar(v), levels[i]) == 0) {
                p->severity = (enum pat_severity)i;
                return LSF_OK;
            }
        }
    }
    return refuse(ps, v, "level '%s' is not one of informational, low, medium, high, critical",
            v->type == YAML_SCALAR_NODE ? scalar(v) : "?");
}

static enum lsf_code parse_logsource(struct sg_parse *ps, const yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE)
        return refuse(ps, v, "%s must be a map (product, service, category)", "logsource");
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
            pr++) {
        const yaml_node_t *k = yaml_document_get_node(ps->doc, pr->key);
        const yaml_node_t *val = yaml_document_get_node(ps->doc, pr->value);
        const char *name;

        if (k->type != YAML_SCALAR_NODE || val->type != YAML_SCALAR_NODE)
            continue;
        name = scalar(k);
        if (strcmp(name, "product") == 0 && strcasecmp(scalar(val), "aws") == 0)
            ps->rule->log_kind = SG_LOG_JSON;
        else if (strcmp(name, "service") == 0 && strcasecmp(scalar(val), "cloudtrail") == 0)
            ps->rule->log_kind = SG_LOG_JSON;
        else if (strcmp(name, "product") == 0 && strcasecmp(scalar(val), "linux") == 0)
            ps->rule->log_kind = SG_LOG_LINE;
    }
    return LSF_OK;
}

static enum lsf_code parse_root(struct sg_parse *ps, const yaml_node_t *root, struct sg_parsed *p)
{
    const yaml_node_t *det = NULL;
    enum lsf_code rc = LSF_OK;

    if (root->type != YAML_MAPPING_NODE)
        return refuse(ps, root, "%s: a Sigma rule is a YAML map (title, logsource, detection, "
                "...)", "rule");
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
            pr < root->data.mapping.pairs.top && rc == LSF_OK; pr++) {
        const yaml_node_t *k = yaml_document_get_node(ps->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(ps->doc, pr->value);
        const char *key;

        if (k->type != YAML_SCALAR_NODE)
            return refuse(ps, k, "%s: top-level keys must be scalars", "rule");
        key = scalar(k);
        if (strcmp(key, "title") == 0)
            rc = take_string(ps, v, key, &p->title);
        else if (strcmp(key, "id") == 0)
            rc = take_string(ps, v, key, &p->id);
        else if (strcmp(key, "description") == 0)
            rc = take_string(ps, v, key, &p->description);
        else if (strcmp(key, "level") == 0)
            rc = parse_level(ps, v, p);
        else if (strcmp(key, "tags") == 0)
            rc = take_list(ps, v, key, &ps->rule->tags);
        else if (strcmp(key, "logsource") == 0)
            rc = parse_logsource(ps, v);
        else if (strcmp(key, "detection") == 0)
            det = v;
        else if (strcmp(key, "name") == 0)
            rc = take_string(ps, v, key, &ps->rule->name);
        else if (strcmp(key, "correlation") == 0)
            rc = sg_corr_parse_map(ps->name, ps->doc, v, ps->rule, ps->err);
        else if (strcmp(key, "action") == 0)
            rc = refuse(ps, k, "rule collections (%s: global/reset/repeat) are not supported; "
                    "write each rule as its own file", "action");
        else if (strcmp(key, "filter") == 0)
            rc = refuse(ps, k, "Sigma %s rules (meta filters) are not supported", "filter");
        /* Everything else (status, references, author, date, modified, falsepositives,
         * fields, related, license, ...) is informational and does not change matching. */
    }
    if (rc != LSF_OK)
        return rc;
    if (p->title == NULL)
        return refuse(ps, root, "the rule has no %s; add one", "title");
    if (ps->rule->corr != NULL) {
        if (det != NULL)
            return refuse(ps, det, "a correlation rule has no %s; its base rules do",
                    "detection");
        return LSF_OK;
    }
    if (det == NULL)
        return refuse(ps, root, "the rule has no %s; add one", "detection");
    return parse_detection(ps, det);
}

/*
 * Refuse a map that holds one key twice: YAML readers disagree on which value wins (PyYAML
 * keeps the last, others refuse), so either reading would be a guess.
 */
static enum lsf_code refuse_duplicate_keys(const char *name, yaml_document_t *doc,
        struct lsf_err *err)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
                a < n->data.mapping.pairs.top; a++) {
            const yaml_node_t *ka = yaml_document_get_node(doc, a->key);
            if (ka == NULL || ka->type != YAML_SCALAR_NODE)
                continue;
            for (yaml_node_pair_t *b = a + 1; b < n->data.mapping.pairs.top; b++) {
                const yaml_node_t *kb = yaml_document_get_node(doc, b->key);
                if (kb != NULL && kb->type == YAML_SCALAR_NODE &&
                        strcmp((const char *)ka->data.scalar.value,
                                (const char *)kb->data.scalar.value) == 0)
                    return lsf_fail(err, LSF_E_RULE, "%s:%zu: key '%s' appears twice in one "
                            "map (first at line %zu); YAML readers disagree on which wins, so "
                            "keep one", name, kb->start_mark.line + 1,
                            (const char *)kb->data.scalar.value, ka->start_mark.line + 1);
            }
        }
    }
    return LSF_OK;
}

/* One document (doc loaded, root not NULL) into out. */
static enum lsf_code parse_doc(const char *name, yaml_document_t *doc, struct sg_parsed *out,
        struct lsf_err *err)
{
    struct sg_parse ps;
    yaml_node_t *root = yaml_document_get_root_node(doc);

    memset(out, 0, sizeof(*out));
    out->severity = PAT_SEV_MEDIUM;
    memset(&ps, 0, sizeof(ps));
    ps.name = name;
    ps.err = err;
    ps.doc = doc;
    out->line = node_line(root);
    if (refuse_duplicate_keys(name, doc, err) != LSF_OK)
        return LSF_E_RULE;
    ps.rule = calloc(1, sizeof(*ps.rule));
    if (ps.rule == NULL)
        return nomem(&ps);
    out->rule = ps.rule;
    return parse_root(&ps, root, out);
}

/*
 * Refuse YAML aliases (*name): a list of aliases to big maps expands multiplicatively when the
 * tree is walked, and no Sigma rule needs them. One event pass, before the documents load.
 */
static enum lsf_code refuse_aliases(const char *name, const char *text, size_t len,
        struct lsf_err *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    enum lsf_code rc = LSF_OK;

    if (!yaml_parser_initialize(&parser))
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory starting the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        bool is_end;
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the syntax error is reported by the load below */
        is_end = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_ALIAS_EVENT)
            rc = lsf_fail(err, LSF_E_RULE, "%s:%zu: YAML aliases (*%s) are not supported in "
                    "rules; write the value out", name, ev.start_mark.line + 1,
                    (const char *)ev.data.alias.anchor);
        yaml_event_delete(&ev);
        if (is_end || rc != LSF_OK)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

enum lsf_code sg_parse_text(const char *name, const char *text, size_t len,
        struct sg_parsed **out, size_t *n_out, struct lsf_err *err)
{
    yaml_parser_t parser;
    struct sg_parsed *docs = NULL;
    size_t n = 0;
    enum lsf_code rc;

    *out = NULL;
    *n_out = 0;
    rc = refuse_aliases(name, text, len, err);
    if (rc != LSF_OK)
        return rc;
    if (!yaml_parser_initialize(&parser))
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory starting the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        yaml_document_t doc;
        struct sg_parsed *grown;

        if (!yaml_parser_load(&parser, &doc)) {
            rc = lsf_fail(err, LSF_E_RULE, "%s:%zu: not valid YAML (%s); fix the syntax", name,
                    parser.problem_mark.line + 1,
                    parser.problem ? parser.problem : "parse error");
            break;
        }
        if (yaml_document_get_root_node(&doc) == NULL) {
            yaml_document_delete(&doc);
            break; /* end of the stream */
        }
        if (n == SG_MAX_DOCS) {
            rc = lsf_fail(err, LSF_E_RULE, "%s: more than %d YAML documents in one file; "
                    "split it", name, SG_MAX_DOCS);
            yaml_document_delete(&doc);
            break;
        }
        grown = realloc(docs, (n + 1) * sizeof(*grown));
        if (grown == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading Sigma rules", name);
            yaml_document_delete(&doc);
            break;
        }
        docs = grown;
        rc = parse_doc(name, &doc, &docs[n], err);
        yaml_document_delete(&doc);
        if (rc != LSF_OK) {
            sg_parsed_cleanup(&docs[n]);
            break;
        }
        n++;
    }
    yaml_parser_delete(&parser);
    if (rc == LSF_OK && n == 0)
        rc = lsf_fail(err, LSF_E_RULE, "%s:1: the file holds no YAML document; a Sigma rule is "
                "a map with title, logsource and detection", name);
    if (rc != LSF_OK) {
        for (size_t i = 0; i < n; i++)
            sg_parsed_cleanup(&docs[i]);
        free(docs);
        return rc;
    }
    *out = docs;
    *n_out = n;
    return LSF_OK;
}
