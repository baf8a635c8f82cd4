/*
 * pat_cond: rule conditions. Compiles an hsbench logical combination ("1001 & !(1002 | 7)")
 * into postfix code over pattern indexes, and evaluates that code against the sorted list of
 * patterns that hit in one event.
 *
 * Why our own evaluator rather than Hyperscan's HS_FLAG_COMBINATION: Hyperscan evaluates a
 * combination over everything seen since the start of the scan, but the engine scans a window
 * of many events per hs_scan call and a rule must only combine hits of one event. So the
 * combination never reaches Hyperscan; its sub-patterns do, and the engine asks this code per
 * event.
 *
 * Syntax and precedence follow Hyperscan's parser (src/parser/logical_combination.cpp):
 * operands are decimal IDs, operators '!' > '&' > '|' (left-associative), parentheses, and
 * blanks are skipped. We accept a little more than Hyperscan (a lone ID, "!!1"), never less.
 * The parser is recursive descent with the nesting depth bounded (PAT_COND_NEST_MAX), and the
 * code's stack need is bounded too (PAT_EVAL_STACK_MAX), so neither a hostile rule file nor
 * evaluation can blow the C stack; evaluation runs in a fixed array, allocation-free.
 */
#include "pat_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cond_parser {
    const char *s;
    size_t pos;
    unsigned nest;
    const char *where;
    unsigned comb_id;
    pat_cond_lookup_fn lookup;
    void *ctx;
    struct pat_instr *code;
    size_t n_code;
    struct lsf_err *err;
};

static enum lsf_code parse_or(struct cond_parser *p);

static void skip_blanks(struct cond_parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
        p->pos++;
}

/* The code array is sized for the worst case up front (see pat_cond_compile). */
static void emit(struct cond_parser *p, enum pat_op op, unsigned arg)
{
    p->code[p->n_code].op = op;
    p->code[p->n_code].arg = arg;
    p->n_code++;
}

static enum lsf_code fail_at(struct cond_parser *p, const char *what, const char *advice)
{
    char c = p->s[p->pos];

    if (c == '\0')
        return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u: %s at the end of the "
                "expression; %s", p->where, p->comb_id, what, advice);
    return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u: %s at column %zu ('%c'); %s",
            p->where, p->comb_id, what, p->pos + 1, c, advice);
}

static enum lsf_code parse_id(struct cond_parser *p)
{
    unsigned long long id = 0;
    size_t start = p->pos;
    size_t idx;
    int found;

    while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        id = id * 10 + (unsigned)(p->s[p->pos] - '0');
        if (id > UINT_MAX)
            return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u: the ID at column %zu is "
                    "larger than %u; pattern IDs are unsigned 32-bit numbers", p->where,
                    p->comb_id, start + 1, UINT_MAX);
        p->pos++;
    }
    found = p->lookup(p->ctx, (unsigned)id, &idx);
    if (found == 1)
        return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u refers to pattern %llu, which "
                "is not defined in this file or in one added before it; define it, or fix the "
                "ID", p->where, p->comb_id, id);
    if (found == 2)
        return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u refers to %llu, which is itself "
                "a combination (combinations do not nest, as in Hyperscan); write the "
                "expression of %llu in its place", p->where, p->comb_id, id, id);
    emit(p, PAT_OP_HIT, (unsigned)idx);
    return LSF_OK;
}

static enum lsf_code parse_primary(struct cond_parser *p)
{
    enum lsf_code rc;
    size_t open_pos;

    skip_blanks(p);
    if (p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        return parse_id(p);
    if (p->s[p->pos] != '(')
        return fail_at(p, "expected a pattern ID or '('",
                "operands are pattern IDs, operators are !, & and |");
    if (p->nest >= PAT_COND_NEST_MAX)
        return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u nests parentheses more than %d "
                "deep at column %zu; flatten it", p->where, p->comb_id, PAT_COND_NEST_MAX,
                p->pos + 1);
    open_pos = p->pos;
    p->pos++;
    p->nest++;
    rc = parse_or(p);
    if (rc != LSF_OK)
        return rc;
    p->nest--;
    skip_blanks(p);
    if (p->s[p->pos] != ')')
        return lsf_fail(p->err, LSF_E_RULE, "%s: combination %u: the '(' at column %zu is never "
                "closed; add the missing ')'", p->where, p->comb_id, open_pos + 1);
    p->pos++;
    return LSF_OK;
}

static enum lsf_code parse_unary(struct cond_parser *p)
{
    unsigned n_not = 0;
    enum lsf_code rc;

    for (;;) {
        skip_blanks(p);
        if (p->s[p->pos] != '!')
            break;
        n_not++;
        p->pos++;
    }
    rc = parse_primary(p);
    if (rc == LSF_OK && n_not % 2 == 1)
        emit(p, PAT_OP_NOT, 0);
    return rc;
}

static enum lsf_code parse_and(struct cond_parser *p)
{
    enum lsf_code rc = parse_unary(p);

    while (rc == LSF_OK) {
        skip_blanks(p);
        if (p->s[p->pos] != '&')
            break;
        p->pos++;
        rc = parse_unary(p);
        if (rc == LSF_OK)
            emit(p, PAT_OP_AND, 0);
    }
    return rc;
}

static enum lsf_code parse_or(struct cond_parser *p)
{
    enum lsf_code rc = parse_and(p);

    while (rc == LSF_OK) {
        skip_blanks(p);
        if (p->s[p->pos] != '|')
            break;
        p->pos++;
        rc = parse_and(p);
        if (rc == LSF_OK)
            emit(p, PAT_OP_OR, 0);
    }
    return rc;
}

size_t pat_cond_depth(const struct pat_instr *code, size_t n_code)
{
    size_t sp = 0;
    size_t max = 0;

    for (size_t i = 0; i < n_code; i++) {
        switch (code[i].op) {
        case PAT_OP_HIT:
            sp++;
            if (sp > max)
                max = sp;
            break;
        case PAT_OP_NOT:
            if (sp < 1)
                return 0;
            break;
        case PAT_OP_AND:
        case PAT_OP_OR:
            if (sp < 2)
                return 0;
            sp--;
            break;
        default:
            return 0;
        }
    }
    return sp == 1 ? max : 0;
}

enum lsf_code pat_cond_compile(const char *expr, const char *where, unsigned comb_id,
        pat_cond_lookup_fn lookup, void *ctx, struct pat_instr **code, size_t *n_code,
        struct lsf_err *err)
{
    struct cond_parser p;
    enum lsf_code rc;
    size_t depth;

    *code = NULL;
    *n_code = 0;
    memset(&p, 0, sizeof(p));
    p.s = expr;
    p.where = where;
    p.comb_id = comb_id;
    p.lookup = lookup;
    p.ctx = ctx;
    p.err = err;
    skip_blanks(&p);
    if (expr[p.pos] == '\0')
        return lsf_fail(err, LSF_E_RULE, "%s: combination %u is empty; write a condition over "
                "pattern IDs, e.g. 1001 & !1002", where, comb_id);
    /* Every instruction consumes at least one character of the expression (a run of '!'
     * becomes at most one NOT), so strlen bounds the code length. */
    p.code = malloc((strlen(expr) + 1) * sizeof(*p.code));
    if (p.code == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory compiling combination %u", where,
                comb_id);
    rc = parse_or(&p);
    if (rc != LSF_OK)
        goto out;
    skip_blanks(&p);
    if (p.s[p.pos] == ')') {
        rc = lsf_fail(err, LSF_E_RULE, "%s: combination %u: the ')' at column %zu has no "
                "matching '('; remove it or add the '('", where, comb_id, p.pos + 1);
        goto out;
    }
    if (p.s[p.pos] != '\0') {
        rc = fail_at(&p, "expected an operator (&, |) or the end",
                "operands are pattern IDs, operators are !, & and |");
        goto out;
    }
    depth = pat_cond_depth(p.code, p.n_code);
    if (depth == 0) {
        rc = lsf_fail(err, LSF_E_INTERNAL, "%s: combination %u compiled to malformed code; "
                "please report this as a bug", where, comb_id);
        goto out;
    }
    if (depth > PAT_EVAL_STACK_MAX) {
        rc = lsf_fail(err, LSF_E_RULE, "%s: combination %u needs %zu operands pending at once "
                "(limit %d); regroup it so the chain nests to the left, e.g. (1 | 2) | 3 "
                "instead of 1 | (2 | (3 ...))", where, comb_id, depth, PAT_EVAL_STACK_MAX);
        goto out;
    }
    *code = p.code;
    *n_code = p.n_code;
    p.code = NULL;
out:
    free(p.code);
    return rc;
}

/* Is idx in the ascending array hits[0..n)? */
static bool has_hit(const unsigned *hits, size_t n, unsigned idx)
{
    size_t lo = 0;
    size_t hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hits[mid] < idx)
            lo = mid + 1;
        else if (hits[mid] > idx)
            hi = mid;
        else
            return true;
    }
    return false;
}

bool pat_rule_eval(const struct pat_rule *rule, const unsigned *hits, size_t n_hits)
{
    bool stack[PAT_EVAL_STACK_MAX];
    size_t sp = 0;

    /* The common case: a plain pattern rule. */
    if (rule->n_code == 1 && rule->code[0].op == PAT_OP_HIT)
        return has_hit(hits, n_hits, rule->code[0].arg);
    for (size_t i = 0; i < rule->n_code; i++) {
        const struct pat_instr *in = &rule->code[i];

        switch (in->op) {
        case PAT_OP_HIT:
            if (sp == PAT_EVAL_STACK_MAX)
                return false;
            stack[sp++] = has_hit(hits, n_hits, in->arg);
            break;
        case PAT_OP_NOT:
            if (sp < 1)
                return false;
            stack[sp - 1] = !stack[sp - 1];
            break;
        case PAT_OP_AND:
            if (sp < 2)
                return false;
            stack[sp - 2] = stack[sp - 2] && stack[sp - 1];
            sp--;
            break;
        case PAT_OP_OR:
            if (sp < 2)
                return false;
            stack[sp - 2] = stack[sp - 2] || stack[sp - 1];
            sp--;
            break;
        default:
            return false;
        }
    }
    return sp == 1 && stack[0];
}
