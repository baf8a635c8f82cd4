/*
 * pat_sigma_cond: a Sigma condition string ("selection and not 1 of filter_*") into a tree of
 * and/or/not over the rule's search identifiers.
 *
 * Recursive descent, binding not > and > or as Sigma does; "1 of x*" / "all of x*" expand
 * at parse time into an or/and over the matching identifiers, and "them" means every
 * identifier not starting with '_' (pySigma's convention). "N of" with N other than 1 is
 * refused by name; an aggregation ("| count() ...") is split off by the caller
 * (pat_sigma_parse.c) and refused anywhere else.
 */
#include "pat_sigma_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cond_parse {
    const struct pat_sigma_rule *rule;
    const char *p;
    const char *where;
    struct lsf_err *err;
    unsigned depth;
};

struct sg_cond *sg_cond_new(enum sg_op op, struct sg_cond *a, struct sg_cond *b, size_t sel)
{
    struct sg_cond *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->op = op;
    c->a = a;
    c->b = b;
    c->sel = sel;
    return c;
}

void sg_cond_free(struct sg_cond *c)
{
    if (c == NULL)
        return;
    sg_cond_free(c->a);
    sg_cond_free(c->b);
    free(c);
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-' || c == '.' || c == '*';
}

static void skip_space(struct cond_parse *cp)
{
    while (*cp->p == ' ' || *cp->p == '\t' || *cp->p == '\n' || *cp->p == '\r')
        cp->p++;
}

/* The next word (without consuming it), its length in *n; 0 when none. */
static size_t peek_word(struct cond_parse *cp, const char **w)
{
    size_t n = 0;

    skip_space(cp);
    *w = cp->p;
    while (is_word_char(cp->p[n]))
        n++;
    return n;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static enum lsf_code nomem(struct cond_parse *cp)
{
    return lsf_fail(cp->err, LSF_E_NOMEM, "%s: out of memory parsing the condition", cp->where);
}

static enum lsf_code parse_or(struct cond_parse *cp, struct sg_cond **out);

/* Does name match a pattern with '*' wildcards? */
static bool name_glob(const char *pat, size_t n_pat, const char *name)
{
    if (n_pat == 0)
        return *name == '\0';
    if (*pat == '*') {
        for (const char *s = name;; s++) {
            if (name_glob(pat + 1, n_pat - 1, s))
                return true;
            if (*s == '\0')
                return false;
        }
    }
    return *name == *pat && name_glob(pat + 1, n_pat - 1, name + 1);
}

static enum lsf_code combine(struct cond_parse *cp, enum sg_op op, struct sg_cond **acc,
        struct sg_cond *c)
{
    struct sg_cond *o;

    if (*acc == NULL) {
        *acc = c;
        return LSF_OK;
    }
    o = sg_cond_new(op, *acc, c, 0);
    if (o == NULL) {
        sg_cond_free(c);
        return nomem(cp);
    }
    *acc = o;
    return LSF_OK;
}

/* "1 of X" / "all of X" with the quantifier already read. */
static enum lsf_code parse_of(struct cond_parse *cp, bool is_all, struct sg_cond **out)
{
    const char *w;
    size_t n = peek_word(cp, &w);
    bool is_them;
    struct sg_cond *acc = NULL;
    enum lsf_code rc;

    if (!word_is(w, n, "of"))
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: expected 'of' after '%s'",
                cp->where, is_all ? "all" : "1");
    cp->p += n;
    n = peek_word(cp, &w);
    if (n == 0)
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: expected an identifier pattern "
                "or 'them' after 'of'", cp->where);
    cp->p += n;
    is_them = word_is(w, n, "them");
    for (size_t i = 0; i < cp->rule->n_sels; i++) {
        const char *name = cp->rule->sels[i].name;
        struct sg_cond *leaf;

        if (is_them ? name[0] == '_' : !name_glob(w, n, name))
            continue;
        leaf = sg_cond_new(SGC_SEL, NULL, NULL, i);
        if (leaf == NULL) {
            sg_cond_free(acc);
            return nomem(cp);
        }
        rc = combine(cp, is_all ? SGC_AND : SGC_OR, &acc, leaf);
        if (rc != LSF_OK) {
            sg_cond_free(acc);
            return rc;
        }
    }
    if (acc == NULL)
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: '%.*s' matches no search "
                "identifier of the detection", cp->where, (int)n, w);
    *out = acc;
    return LSF_OK;
}

static enum lsf_code parse_primary(struct cond_parse *cp, struct sg_cond **out)
{
    const char *w;
    size_t n;
    enum lsf_code rc;

    skip_space(cp);
    if (*cp->p == '(') {
        if (++cp->depth > SG_COND_NEST_MAX)
            return lsf_fail(cp->err, LSF_E_RULE, "%s: condition nests parentheses deeper than "
                    "%d; simplify it", cp->where, SG_COND_NEST_MAX);
        cp->p++;
        rc = parse_or(cp, out);
        if (rc != LSF_OK)
            return rc;
        skip_space(cp);
        if (*cp->p != ')') {
            sg_cond_free(*out);
            *out = NULL;
            return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: missing ')'", cp->where);
        }
        cp->p++;
        cp->depth--;
        return LSF_OK;
    }
    if (*cp->p == '|')
        return lsf_fail(cp->err, LSF_E_RULE, "%s: an aggregation ('| count() ...') may only end "
                "a single condition string, outside parentheses", cp->where);
    n = peek_word(cp, &w);
    if (n == 0)
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: expected an identifier at '%.20s'",
                cp->where, *cp->p ? cp->p : "(end)");
    if (word_is(w, n, "1") || word_is(w, n, "all") || word_is(w, n, "any")) {
        cp->p += n;
        return parse_of(cp, word_is(w, n, "all"), out);
    }
    if (w[0] >= '0' && w[0] <= '9') {
        const char *rest = w + n;
        while (*rest == ' ')
            rest++;
        if (strncmp(rest, "of", 2) == 0)
            return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: '%.*s of' is not supported; "
                    "only '1 of' and 'all of'", cp->where, (int)n, w);
    }
    if (word_is(w, n, "and") || word_is(w, n, "or") || word_is(w, n, "of") ||
            word_is(w, n, "them"))
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: unexpected '%.*s'", cp->where,
                (int)n, w);
    if (memchr(w, '*', n) != NULL)
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition: wildcard '%.*s' outside '1 of' / "
                "'all of'", cp->where, (int)n, w);
    for (size_t i = 0; i < cp->rule->n_sels; i++) {
        if (strlen(cp->rule->sels[i].name) == n && memcmp(cp->rule->sels[i].name, w, n) == 0) {
            cp->p += n;
            *out = sg_cond_new(SGC_SEL, NULL, NULL, i);
            return *out ? LSF_OK : nomem(cp);
        }
    }
    return lsf_fail(cp->err, LSF_E_RULE, "%s: condition names '%.*s', which is not a search "
            "identifier of the detection", cp->where, (int)n, w);
}

static enum lsf_code parse_not(struct cond_parse *cp, struct sg_cond **out)
{
    const char *w;
    size_t n = peek_word(cp, &w);
    struct sg_cond *inner = NULL;
    enum lsf_code rc;

    if (!word_is(w, n, "not"))
        return parse_primary(cp, out);
    if (++cp->depth > SG_COND_NEST_MAX)
        return lsf_fail(cp->err, LSF_E_RULE, "%s: condition nests deeper than %d; simplify it",
                cp->where, SG_COND_NEST_MAX);
    cp->p += n;
    rc = parse_not(cp, &inner);
    cp->depth--;
    if (rc != LSF_OK)
        return rc;
    *out = sg_cond_new(SGC_NOT, inner, NULL, 0);
    if (*out == NULL) {
        sg_cond_free(inner);
        return nomem(cp);
    }
    return LSF_OK;
}

static enum lsf_code parse_and(struct cond_parse *cp, struct sg_cond **out)
{
    struct sg_cond *acc = NULL;
    enum lsf_code rc = parse_not(cp, &acc);

    while (rc == LSF_OK) {
        const char *w;
        size_t n = peek_word(cp, &w);
        struct sg_cond *rhs = NULL;

        if (!word_is(w, n, "and"))
            break;
        cp->p += n;
        rc = parse_not(cp, &rhs);
        if (rc == LSF_OK)
            rc = combine(cp, SGC_AND, &acc, rhs);
    }
    if (rc != LSF_OK) {
        sg_cond_free(acc);
        return rc;
    }
    *out = acc;
    return LSF_OK;
}

static enum lsf_code parse_or(struct cond_parse *cp, struct sg_cond **out)
{
    struct sg_cond *acc = NULL;
    enum lsf_code rc = parse_and(cp, &acc);

    while (rc == LSF_OK) {
        const char *w;
        size_t n = peek_word(cp, &w);
        struct sg_cond *rhs = NULL;

        if (!word_is(w, n, "or"))
            break;
        cp->p += n;
        rc = parse_and(cp, &rhs);
        if (rc == LSF_OK)
            rc = combine(cp, SGC_OR, &acc, rhs);
    }
    if (rc != LSF_OK) {
        sg_cond_free(acc);
        return rc;
    }
    *out = acc;
    return LSF_OK;
}

enum lsf_code sg_cond_parse(const struct pat_sigma_rule *rule, const char *text,
        const char *where, struct sg_cond **out, struct lsf_err *err)
{
    struct cond_parse cp;
    struct sg_cond *c = NULL;
    enum lsf_code rc;

    cp.rule = rule;
    cp.p = text;
    cp.where = where;
    cp.err = err;
    cp.depth = 0;
    *out = NULL;
    rc = parse_or(&cp, &c);
    if (rc != LSF_OK)
        return rc;
    skip_space(&cp);
    if (*cp.p == '|') {
        sg_cond_free(c);
        return lsf_fail(err, LSF_E_RULE, "%s: an aggregation ('| count() ...') may only end a "
                "single condition string, outside parentheses", where);
    }
    if (*cp.p != '\0') {
        sg_cond_free(c);
        return lsf_fail(err, LSF_E_RULE, "%s: condition: unexpected text at '%.20s'; join "
                "terms with and / or", where, cp.p);
    }
    *out = c;
    return LSF_OK;
}
