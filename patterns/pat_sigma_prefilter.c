/*
 * pat_sigma_prefilter: a Sigma detection into Hyperscan literals and a boolean over them that
 * holds on every event where the detection can hold (a necessary condition, never a miss).
 *
 * Each value becomes the literal runs between its wildcards, with the bytes an event must hold
 * for the value to match there:
 *   - JSON events: a string value V is in the raw record as '"' + escaped(V) + '"', so a run
 *     at the start or end of the value carries the quote as a delimiter (unless the value
 *     could be a bare number or boolean); runs are escaped as a JSON encoder must (\" \\ and
 *     control characters). An encoder may also write any character as \uXXXX, or '/' as \/:
 *     the shared quiet pattern \\[u/] (the "escape sentinel") is OR'ed into every rule with
 *     JSON literals, so such records are always confirmed.
 *   - Lines: fields are substrings of the line, so the run itself.
 *   - Keywords: the run itself in the raw event (what the evaluator searches).
 * Runs shorter than 3 bytes say too little (and would fire on most events); a value with no
 * longer run, a value that may be a JSON number (see may_be_number), and values of kind
 * cidr, null, fieldref and exists: false, and values of the GeoIP fields (pat_geoip.h), become
 * TRUE. A regex gives the literal runs every
 * match must hold (re_node), when it has any.
 * Literals are fixed strings, so each ends at a fixed byte: no open repeat, one report per
 * occurrence. Case: caseless unless the value is cased, as the evaluator.
 *
 * The formula: fields of a map AND, maps of an identifier OR, values OR (AND for |all), and
 * the condition's and/or kept, while "not X" becomes TRUE (nothing about X's absence can be
 * read from a hit). A formula that reduces to TRUE cannot be prefiltered: the rule is then
 * evaluated on every event and its info says why.
 */
#include "pat_sigma_int.h"
#include "pat_geoip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shortest run (with delimiters) worth a literal. */
#define SG_MIN_LITERAL 3

/* The escape sentinel: a \uXXXX or \/ escape anywhere in the record. */
#define SG_SENTINEL_EXPR "\\\\[u/]"

/* Longest info line. */
#define SG_INFO_MAX 900

enum pf_op {
    PF_TRUE = 0,
    PF_LIT,
    PF_AND,
    PF_OR
};

struct pf {
    enum pf_op op;
    size_t lit;
    struct pf *a, *b;
    size_t strength; /* bytes of literal text every match of the formula must contain */
};

/*
 * In "A and B", a literal this short ("true", "all") beside one at least SG_STRONG_LITERAL
 * long adds almost no selectivity but costs a Hyperscan match and a rule evaluation on
 * most events, so it is left out of the prefilter (the confirmation still checks it):
 * dropping a conjunct keeps the prefilter a necessary condition.
 */
#define SG_WEAK_LITERAL   6
#define SG_STRONG_LITERAL 10

struct pf_build {
    struct sg_prefilter *out;
    unsigned weight; /* of the field whose values are being compiled */
    enum sg_log_kind log_kind;
    bool uses_json;  /* some literal assumes JSON text: add the sentinel */
    bool is_nomem;
    char reasons[256]; /* identifiers that gave TRUE */
};

void sg_prefilter_cleanup(struct sg_prefilter *pf)
{
    for (size_t i = 0; i < pf->n_exprs; i++)
        free(pf->exprs[i]);
    free(pf->exprs);
    free(pf->flags);
    free(pf->weights);
    free(pf->code);
    memset(pf, 0, sizeof(*pf));
}

static void pf_free(struct pf *f)
{
    if (f == NULL)
        return;
    pf_free(f->a);
    pf_free(f->b);
    free(f);
}

static struct pf *pf_new(struct pf_build *b, enum pf_op op, struct pf *x, struct pf *y,
        size_t lit)
{
    struct pf *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        b->is_nomem = true;
        pf_free(x);
        pf_free(y);
        return NULL;
    }
    f->op = op;
    f->a = x;
    f->b = y;
    f->lit = lit;
    if (op == PF_AND)
        f->strength = x->strength > y->strength ? x->strength : y->strength;
    else if (op == PF_OR)
        f->strength = x->strength < y->strength ? x->strength : y->strength;
    return f;
}

/* x AND y / x OR y with TRUE folded away; either input may be NULL only after a failure. */
static struct pf *pf_and(struct pf_build *b, struct pf *x, struct pf *y)
{
    if (x == NULL || y == NULL) {
        pf_free(x);
        pf_free(y);
        return NULL;
    }
    if (x->op == PF_TRUE) {
        pf_free(x);
        return y;
    }
    if (y->op == PF_TRUE) {
        pf_free(y);
        return x;
    }
    if (x->strength >= SG_STRONG_LITERAL && y->strength < SG_WEAK_LITERAL) {
        pf_free(y);
        return x;
    }
    if (y->strength >= SG_STRONG_LITERAL && x->strength < SG_WEAK_LITERAL) {
        pf_free(x);
        return y;
    }
    return pf_new(b, PF_AND, x, y, 0);
}

static struct pf *pf_or(struct pf_build *b, struct pf *x, struct pf *y)
{
    if (x == NULL || y == NULL) {
        pf_free(x);
        pf_free(y);
        return NULL;
    }
    if (x->op == PF_TRUE) {
        pf_free(y);
        return x;
    }
    if (y->op == PF_TRUE) {
        pf_free(x);
        return y;
    }
    return pf_new(b, PF_OR, x, y, 0);
}

/* A regex matching exactly the bytes s[0..n) (plus tail, raw regex text). */
static char *literal_regex(const char *s, size_t n, const char *tail)
{
    size_t cap = n * 4 + strlen(tail) + 1;
    char *re = malloc(cap);
    size_t k = 0;

    if (re == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            re[k++] = (char)c;
        else
            k += (size_t)snprintf(re + k, cap - k, "\\x%02x", c);
    }
    memcpy(re + k, tail, strlen(tail) + 1);
    return re;
}

/* Local index of (expr, flags), adding it; takes expr. SIZE_MAX on failure. */
static size_t add_expr(struct pf_build *b, char *expr, unsigned flags)
{
    struct sg_prefilter *o = b->out;
    char **ge;
    unsigned *gf, *gw;

    if (expr == NULL) {
        b->is_nomem = true;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < o->n_exprs; i++) {
        if (o->flags[i] == flags && strcmp(o->exprs[i], expr) == 0) {
            free(expr);
            if (o->weights[i] < b->weight)
                o->weights[i] = b->weight;
            return i;
        }
    }
    ge = realloc(o->exprs, (o->n_exprs + 1) * sizeof(*ge));
    if (ge != NULL)
        o->exprs = ge;
    gf = realloc(o->flags, (o->n_exprs + 1) * sizeof(*gf));
    if (gf != NULL)
        o->flags = gf;
    gw = realloc(o->weights, (o->n_exprs + 1) * sizeof(*gw));
    if (gw != NULL)
        o->weights = gw;
    if (ge == NULL || gf == NULL || gw == NULL) {
        free(expr);
        b->is_nomem = true;
        return SIZE_MAX;
    }
    o->exprs[o->n_exprs] = expr;
    o->flags[o->n_exprs] = flags;
    o->weights[o->n_exprs] = b->weight;
    return o->n_exprs++;
}

static struct pf *lit_node(struct pf_build *b, const char *s, size_t n, const char *tail,
        unsigned flags)
{
    size_t idx = add_expr(b, literal_regex(s, n, tail), flags);
    struct pf *f;

    if (idx == SIZE_MAX)
        return NULL;
    f = pf_new(b, PF_LIT, NULL, NULL, idx);
    if (f != NULL)
        f->strength = n;
    return f;
}

/* JSON string escaping of s[0..n) into out (room for 6n), as an encoder must write it. */
static size_t json_escape(const char *s, size_t n, char *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            out[k++] = '\\';
            out[k++] = '"';
            break;
        case '\\':
            out[k++] = '\\';
            out[k++] = '\\';
            break;
        case '\b':
            out[k++] = '\\';
            out[k++] = 'b';
            break;
        case '\f':
            out[k++] = '\\';
            out[k++] = 'f';
            break;
        case '\n':
            out[k++] = '\\';
            out[k++] = 'n';
            break;
        case '\r':
            out[k++] = '\\';
            out[k++] = 'r';
            break;
        case '\t':
            out[k++] = '\\';
            out[k++] = 't';
            break;
        default:
            if (c < 0x20)
                k += (size_t)sprintf(out + k, "\\u%04x", c);
            else
                out[k++] = (char)c;
        }
    }
    return k;
}

/* Could the value's text be a bare JSON number or boolean (so no quotes around it)? */
static bool may_be_bare(const struct sg_value *v)
{
    for (size_t i = 0; i < v->len; i++) {
        if (v->wild[i])
            continue;
        if (!strchr("0123456789+-.eEtrufalsTRUFALS", v->text[i]))
            return false;
    }
    return true;
}

/* One literal run of a glob value, for a field (JSON and/or line) or a keyword (raw). */
static struct pf *run_node(struct pf_build *b, const struct sg_value *v, bool is_keyword,
        size_t i, size_t j)
{
    unsigned flags = v->is_cased ? 0 : HS_FLAG_CASELESS;
    const char *run = v->text + i;
    size_t n = j - i;
    struct pf *json = NULL, *line = NULL;
    char *buf;
    size_t k = 0;
    bool quote_start, quote_end;

    if (is_keyword || b->log_kind == SG_LOG_LINE) {
        if (n < SG_MIN_LITERAL)
            return pf_new(b, PF_TRUE, NULL, NULL, 0);
        return lit_node(b, run, n, "", flags);
    }
    quote_start = i == 0 && !may_be_bare(v);
    quote_end = j == v->len && !may_be_bare(v);
    buf = malloc(n * 6 + 3);
    if (buf == NULL) {
        b->is_nomem = true;
        return NULL;
    }
    if (quote_start)
        buf[k++] = '"';
    k += json_escape(run, n, buf + k);
    if (quote_end)
        buf[k++] = '"';
    if (k < SG_MIN_LITERAL)
        json = pf_new(b, PF_TRUE, NULL, NULL, 0);
    else
        json = lit_node(b, buf, k, "", flags);
    b->uses_json = true;
    if (b->log_kind == SG_LOG_ANY) {
        bool same = k - quote_start - quote_end == n &&
                memcmp(buf + quote_start, run, n) == 0;
        if (same) {
            /* The run itself is in the JSON literal: it alone covers both kinds. */
            pf_free(json);
            free(buf);
            if (n < SG_MIN_LITERAL)
                return pf_new(b, PF_TRUE, NULL, NULL, 0);
            return lit_node(b, run, n, "", flags);
        }
        line = n < SG_MIN_LITERAL ? pf_new(b, PF_TRUE, NULL, NULL, 0)
                                  : lit_node(b, run, n, "", flags);
        free(buf);
        return pf_or(b, json, line);
    }
    free(buf);
    return json;
}

/* Could the value be a JSON number? The evaluator compares a number as jansson prints it
 * (1e5 as 100000, 22.0 as 22), which need not be the record's bytes: no literal then. */
static bool may_be_number(const struct sg_value *v)
{
    bool has_digit = false;

    for (size_t i = 0; i < v->len; i++) {
        if (v->wild[i])
            continue;
        if (!strchr("0123456789+-.eE", v->text[i]))
            return false;
        has_digit |= v->text[i] >= '0' && v->text[i] <= '9';
    }
    return has_digit;
}

static struct pf *glob_node(struct pf_build *b, const struct sg_value *v, bool is_keyword)
{
    struct pf *acc = pf_new(b, PF_TRUE, NULL, NULL, 0);
    size_t i = 0;

    if (!is_keyword && b->log_kind != SG_LOG_LINE && may_be_number(v))
        return acc;

    while (acc != NULL && i < v->len) {
        size_t j = i;
        if (v->wild[i]) {
            i++;
            continue;
        }
        while (j < v->len && !v->wild[j])
            j++;
        acc = pf_and(b, acc, run_node(b, v, is_keyword, i, j));
        i = j;
    }
    return acc;
}

/* "*run*" as a glob value: its literal, unanchored, through glob_node. */
static struct pf *unanchored_run(struct pf_build *b, const char *run, size_t n, bool is_cased)
{
    struct sg_value tmp;
    struct pf *f;

    memset(&tmp, 0, sizeof(tmp));
    tmp.text = malloc(n + 2);
    tmp.wild = calloc(n + 2, 1);
    if (tmp.text == NULL || tmp.wild == NULL) {
        free(tmp.text);
        free(tmp.wild);
        b->is_nomem = true;
        return NULL;
    }
    tmp.text[0] = '*';
    memcpy(tmp.text + 1, run, n);
    tmp.text[n + 1] = '*';
    tmp.wild[0] = tmp.wild[n + 1] = 1;
    tmp.len = n + 2;
    tmp.is_cased = is_cased;
    f = glob_node(b, &tmp, false);
    free(tmp.text);
    free(tmp.wild);
    return f;
}

/*
 * The literal runs every match of a regex must contain: characters (or escaped punctuation)
 * outside any group or class, cut where a quantifier could drop or repeat one. Nothing at all
 * (TRUE) when the regex has an alternation or inline options, which could make any run
 * optional or change its case.
 */
static struct pf *re_node(struct pf_build *b, const struct sg_value *v)
{
    const char *re = v->text;
    char run[256];
    size_t n = 0;
    unsigned depth = 0;
    struct pf *acc = pf_new(b, PF_TRUE, NULL, NULL, 0);

    if (strchr(re, '|') != NULL || strstr(re, "(?") != NULL || strstr(re, "\\Q") != NULL)
        return acc;
#define FLUSH()                                                                                \
    do {                                                                                       \
        if (n > 0 && acc != NULL)                                                              \
            acc = pf_and(b, acc, unanchored_run(b, run, n, v->is_cased));                      \
        n = 0;                                                                                 \
    } while (0)
    for (const char *p = re; *p && acc != NULL; p++) {
        char c = *p;
        bool is_literal = false;

        if (c == '\\' && p[1] != '\0') {
            c = *++p;
            is_literal = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9'));
            if (!is_literal)
                FLUSH(); /* \d, \w, \x41, \b ...: a class or an anchor, not text */
        } else if (c == '(') {
            FLUSH();
            depth++;
        } else if (c == ')') {
            FLUSH();
            if (depth > 0)
                depth--;
        } else if (c == '[') {
            FLUSH();
            p++;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p == '\0')
                break;
        } else if (c == '?' || c == '*' || c == '{') {
            if (n > 0)
                n--; /* the quantified character may be absent */
            FLUSH();
            if (c == '{') {
                while (*p && *p != '}')
                    p++;
                if (*p == '\0')
                    break;
            }
        } else if (c == '+') {
            FLUSH(); /* present at least once, but may repeat: the run ends here */
        } else if (c == '.' || c == '^' || c == '$') {
            FLUSH();
        } else {
            is_literal = true;
        }
        if (is_literal && depth == 0) {
            if (n == sizeof(run))
                FLUSH();
            run[n++] = c;
        }
    }
    FLUSH();
#undef FLUSH
    return acc;
}

static struct pf *value_node(struct pf_build *b, const struct sg_field *f,
        const struct sg_value *v)
{
    /* geoip.* fields come from a database, not the event's bytes: nothing to look for. */
    if (f->name != NULL && pat_geoip_is_field(f->name))
        return pf_new(b, PF_TRUE, NULL, NULL, 0);
    if (v->kind == SG_GLOB)
        return glob_node(b, v, f->name == NULL);
    if (v->kind == SG_RE)
        return re_node(b, v);
    if (v->kind == SG_EXISTS && v->want_exists && b->log_kind == SG_LOG_JSON) {
        /* The leaf key is in the record, quoted, before a colon (also inside "a.b"). */
        const char *leaf = f->path[f->n_path - 1];
        char esc[6 * 256];
        size_t n = strlen(leaf);
        if (n < 256) {
            n = json_escape(leaf, n, esc);
            b->uses_json = true;
            return lit_node(b, esc, n, "\"\\s*:", 0);
        }
    }
    return pf_new(b, PF_TRUE, NULL, NULL, 0);
}

/*
 * Fields whose few values recur across most events: a CloudTrail record's service, event
 * type and category, region, identity type and read/write flag (the CloudTrail record
 * contents reference lists each), and a log line's host and program. A literal of theirs hits
 * in a large share of events, so an action's name beside it makes the better trigger
 * (pat_rules.c). The weight is a guess at "how many times more often", nothing more: it only
 * steers which literal a rule is triggered by, never what fires.
 */
#define SG_COMMON_FIELD_WEIGHT 16

static unsigned field_weight(const struct sg_field *f)
{
    static const char *const common[] = {"eventSource", "eventType", "eventCategory",
            "awsRegion", "userIdentity.type", "readOnly", "managementEvent",
            "recipientAccountId", "hostname", "program"};

    for (size_t i = 0; f->name != NULL && i < sizeof(common) / sizeof(common[0]); i++) {
        if (strcmp(f->name, common[i]) == 0)
            return SG_COMMON_FIELD_WEIGHT;
    }
    return 1;
}

static struct pf *field_node(struct pf_build *b, const struct sg_field *f)
{
    struct pf *acc = NULL;

    b->weight = field_weight(f);
    for (size_t i = 0; i < f->n_values; i++) {
        struct pf *one = value_node(b, f, &f->values[i]);
        if (acc == NULL)
            acc = one;
        else
            acc = f->is_all ? pf_and(b, acc, one) : pf_or(b, acc, one);
        if (acc == NULL)
            return NULL;
    }
    return acc;
}

static void note_reason(struct pf_build *b, const char *name)
{
    size_t used = strlen(b->reasons);

    if (strstr(b->reasons, name) != NULL || used + strlen(name) + 3 >= sizeof(b->reasons))
        return;
    snprintf(b->reasons + used, sizeof(b->reasons) - used, "%s%s", used ? ", " : "", name);
}

static struct pf *sel_node(struct pf_build *b, const struct sg_sel *sel)
{
    struct pf *acc = NULL;

    for (size_t m = 0; m < sel->n_maps; m++) {
        struct pf *map = pf_new(b, PF_TRUE, NULL, NULL, 0);
        for (size_t f = 0; f < sel->maps[m].n_fields && map != NULL; f++)
            map = pf_and(b, map, field_node(b, &sel->maps[m].fields[f]));
        acc = acc == NULL ? map : pf_or(b, acc, map);
        if (acc == NULL)
            return NULL;
    }
    if (acc != NULL && acc->op == PF_TRUE)
        note_reason(b, sel->name);
    return acc;
}

static struct pf *cond_node(struct pf_build *b, const struct pat_sigma_rule *r,
        const struct sg_cond *c)
{
    switch (c->op) {
    case SGC_SEL:
        return sel_node(b, &r->sels[c->sel]);
    case SGC_NOT:
        return pf_new(b, PF_TRUE, NULL, NULL, 0);
    case SGC_AND:
        return pf_and(b, cond_node(b, r, c->a), cond_node(b, r, c->b));
    case SGC_OR:
        return pf_or(b, cond_node(b, r, c->a), cond_node(b, r, c->b));
    }
    return pf_new(b, PF_TRUE, NULL, NULL, 0);
}

static void mark_used(const struct pf *f, size_t *remap)
{
    if (f->op == PF_LIT)
        remap[f->lit] = 1;
    else if (f->op != PF_TRUE) {
        mark_used(f->a, remap);
        mark_used(f->b, remap);
    }
}

static void renumber(struct pf *f, const size_t *remap)
{
    if (f->op == PF_LIT)
        f->lit = remap[f->lit];
    else if (f->op != PF_TRUE) {
        renumber(f->a, remap);
        renumber(f->b, remap);
    }
}

/* Drop the literals the formula no longer names (left out as weak conjuncts), so Hyperscan
 * does not scan for them. */
static bool drop_unused(struct pf_build *b, struct pf *f)
{
    struct sg_prefilter *o = b->out;
    size_t *remap = calloc(o->n_exprs ? o->n_exprs : 1, sizeof(*remap));
    size_t k = 0;

    if (remap == NULL)
        return false;
    mark_used(f, remap);
    for (size_t i = 0; i < o->n_exprs; i++) {
        if (remap[i]) {
            o->exprs[k] = o->exprs[i];
            o->flags[k] = o->flags[i];
            o->weights[k] = o->weights[i];
            remap[i] = k++;
        } else {
            free(o->exprs[i]);
        }
    }
    o->n_exprs = k;
    renumber(f, remap);
    free(remap);
    return true;
}

static size_t count_nodes(const struct pf *f)
{
    if (f->op == PF_LIT)
        return 1;
    return 1 + count_nodes(f->a) + count_nodes(f->b);
}

static void emit(const struct pf *f, struct pat_instr *code, size_t *n)
{
    if (f->op == PF_LIT) {
        code[*n].op = PAT_OP_HIT;
        code[*n].arg = (unsigned)f->lit;
        (*n)++;
        return;
    }
    emit(f->a, code, n);
    emit(f->b, code, n);
    code[*n].op = f->op == PF_AND ? PAT_OP_AND : PAT_OP_OR;
    code[*n].arg = 0;
    (*n)++;
}

/* The formula as text: literals quoted with their bytes (escapes shown as in the regex). */
static void describe(const struct pf *f, const struct sg_prefilter *pf, char *out, size_t cap,
        size_t *used)
{
    if (*used + 1 >= cap)
        return;
    if (f->op == PF_LIT) {
        *used += (size_t)snprintf(out + *used, cap - *used, "/%s/%s", pf->exprs[f->lit],
                (pf->flags[f->lit] & HS_FLAG_CASELESS) ? "i" : "");
    } else {
        *used += (size_t)snprintf(out + *used, cap - *used, "(");
        if (*used < cap)
            describe(f->a, pf, out, cap, used);
        if (*used < cap)
            *used += (size_t)snprintf(out + *used, cap - *used, f->op == PF_AND ? " & " : " | ");
        if (*used < cap)
            describe(f->b, pf, out, cap, used);
        if (*used < cap)
            *used += (size_t)snprintf(out + *used, cap - *used, ")");
    }
    if (*used >= cap)
        *used = cap - 1;
}

enum lsf_code sg_prefilter_build(struct pat_sigma_rule *rule, struct sg_prefilter *out,
        struct lsf_err *err)
{
    struct pf_build b;
    struct pf *f;
    char info[SG_INFO_MAX];
    size_t used = 0;
    enum lsf_code rc = LSF_OK;

    memset(out, 0, sizeof(*out));
    memset(&b, 0, sizeof(b));
    if (rule->cond == NULL) {
        /* A correlation rule: nothing to scan for, its base rules are. */
        rule->info = strdup("correlation rule: counts the findings of its base rules");
        return rule->info ? LSF_OK
                          : lsf_fail(err, LSF_E_NOMEM, "out of memory compiling a Sigma rule");
    }
    b.out = out;
    b.log_kind = rule->log_kind;
    f = cond_node(&b, rule, rule->cond);
    if (f != NULL && f->op != PF_TRUE && b.uses_json) {
        size_t s;
        b.weight = 1; /* in every trigger set anyway: it is OR'ed at the top */
        s = add_expr(&b, strdup(SG_SENTINEL_EXPR), 0);
        if (s != SIZE_MAX)
            f = pf_or(&b, f, pf_new(&b, PF_LIT, NULL, NULL, s));
    }
    if (f == NULL || b.is_nomem) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory compiling a Sigma prefilter");
        goto out;
    }
    if (f->op != PF_TRUE && !drop_unused(&b, f)) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory compiling a Sigma prefilter");
        goto out;
    }
    if (f->op == PF_TRUE) {
        if (rule->cond->op == SGC_NOT || b.reasons[0] == '\0')
            snprintf(info, sizeof(info), "not prefiltered: the condition can hold with no "
                    "positive term (it starts with 'not'); evaluated on every event");
        else
            snprintf(info, sizeof(info), "not prefiltered: %s offer no literal of %d+ bytes "
                    "(re, cidr, null, fieldref, exists: false, geoip.* or short wildcard values); "
                    "evaluated on every event", b.reasons, SG_MIN_LITERAL);
        for (size_t i = 0; i < out->n_exprs; i++)
            free(out->exprs[i]);
        out->n_exprs = 0;
    } else {
        size_t n = count_nodes(f);
        out->code = malloc(n * sizeof(*out->code));
        if (out->code == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory compiling a Sigma prefilter");
            goto out;
        }
        emit(f, out->code, &out->n_code);
        if (pat_cond_depth(out->code, out->n_code) == 0 ||
                pat_cond_depth(out->code, out->n_code) > PAT_EVAL_STACK_MAX) {
            /* Correct but too deep for the engine's fixed stack: confirm everything. */
            free(out->code);
            out->code = NULL;
            out->n_code = 0;
            snprintf(info, sizeof(info), "not prefiltered: the prefilter formula nests deeper "
                    "than %d; evaluated on every event", PAT_EVAL_STACK_MAX);
        } else {
            used = (size_t)snprintf(info, sizeof(info), "prefiltered by %zu literal%s: ",
                    out->n_exprs, out->n_exprs == 1 ? "" : "s");
            describe(f, out, info, sizeof(info), &used);
        }
    }
    rule->info = strdup(info);
    if (rule->info == NULL)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory compiling a Sigma prefilter");
out:
    pf_free(f);
    if (rc != LSF_OK)
        sg_prefilter_cleanup(out);
    return rc;
}
