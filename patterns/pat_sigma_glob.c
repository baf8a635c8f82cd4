/*
 * pat_sigma_glob: matching a Sigma glob value (exact, contains, startswith, endswith, and
 * '*' / '?' wildcards) against a whole string.
 *
 * Design. Most values are one of a few shapes: "lit", "lit*", "*lit", "*lit*" (every keyword
 * value, searched for in the whole line), sometimes "*a*b*". Those hold no '?', so each is a
 * prefix segment, middle segments and a suffix segment: the prefix and suffix are compared in
 * place and each middle segment is searched for, leftmost, after the previous one (leftmost
 * is always right when only '*' separates them). The plan of those segments is made once,
 * when the rule is loaded (sg_glob_plan_build); the general backtracking matcher
 * (sg_glob_match_general) stays for values with '?', and is what the plan is tested
 * against. Case folding is ASCII only, as in the general matcher: other bytes compare as
 * they are.
 */
#include "pat_sigma_int.h"

#include <stdlib.h>
#include <string.h>

/* One literal run: lowercased unless the value is cased; anchor is the place of its byte
 * that memchr looks for (pick_anchor). */
struct sg_glob_seg {
    const unsigned char *lit;
    size_t len;
    size_t anchor;
};

/* segs[0] is the prefix and segs[n_segs - 1] the suffix (either may be empty); with no '*'
 * (is_exact) the one segment is the whole value. */
struct sg_glob_plan {
    bool is_exact;
    bool is_cased;
    size_t n_segs;
    struct sg_glob_seg *segs;
    unsigned char *text;
};

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool sg_glob_match_general(const struct sg_value *v, const char *s, size_t n)
{
    size_t p = 0, i = 0;
    size_t star_p = SIZE_MAX, star_i = 0;

    /* Iterative wildcard match: on a mismatch, let the last '*' swallow one more byte. */
    while (i < n) {
        if (p < v->len && v->wild[p] && v->text[p] == '*') {
            star_p = p++;
            star_i = i;
            continue;
        }
        if (p < v->len && ((v->wild[p] && v->text[p] == '?') ||
                                  (!v->wild[p] && (v->is_cased
                                                          ? (unsigned char)v->text[p] ==
                                                                    (unsigned char)s[i]
                                                          : fold((unsigned char)v->text[p]) ==
                                                                    fold((unsigned char)s[i]))))) {
            p++;
            i++;
            continue;
        }
        if (star_p == SIZE_MAX)
            return false;
        p = star_p + 1;
        i = ++star_i;
    }
    while (p < v->len && v->wild[p] && v->text[p] == '*')
        p++;
    return p == v->len;
}

/*
 * How common byte c is in log text, roughly (English letter frequencies, blanks and digits
 * everywhere): the anchor is the rarest byte of a segment, so that memchr stops seldom.
 * Without case, a letter counts with its other case.
 */
static unsigned commonness(unsigned char c, bool is_cased)
{
    static const unsigned char letter[26] = {80, 15, 28, 42, 120, 22, 20, 60, 70, 2, 8, 40,
            24, 70, 75, 19, 1, 60, 63, 90, 28, 10, 24, 2, 20, 1};

    if (c >= 'a' && c <= 'z')
        return letter[c - 'a'] + (is_cased ? 0 : 5);
    if (c >= 'A' && c <= 'Z')
        return is_cased ? 5 : letter[c - 'A'] + 5;
    if (c >= '0' && c <= '9')
        return 50;
    switch (c) {
    case ' ':
        return 200;
    case '.':
        return 30;
    case ':':
        return 20;
    case '-':
        return 15;
    case '/':
    case '=':
        return 10;
    default:
        return c < 0x80 ? 4 : 2;
    }
}

static size_t pick_anchor(const unsigned char *lit, size_t len, bool is_cased)
{
    size_t best = 0;

    for (size_t i = 1; i < len; i++) {
        if (commonness(lit[i], is_cased) < commonness(lit[best], is_cased))
            best = i;
    }
    return best;
}

enum lsf_code sg_glob_plan_build(struct sg_value *v)
{
    struct sg_glob_plan *plan;
    size_t n_stars = 0, n_segs, k = 0, start = 0;

    v->plan = NULL;
    if (v->kind != SG_GLOB || v->wild == NULL)
        return LSF_OK;
    for (size_t i = 0; i < v->len; i++) {
        if (v->wild[i] && v->text[i] == '?')
            return LSF_OK; /* the general matcher's */
        n_stars += v->wild[i] != 0;
    }
    n_segs = n_stars + 1;
    plan = calloc(1, sizeof(*plan));
    if (plan == NULL)
        return LSF_E_NOMEM;
    plan->segs = calloc(n_segs, sizeof(*plan->segs));
    plan->text = malloc(v->len + 1);
    if (plan->segs == NULL || plan->text == NULL) {
        sg_glob_plan_free(plan);
        return LSF_E_NOMEM;
    }
    plan->is_exact = n_stars == 0;
    plan->is_cased = v->is_cased;
    for (size_t i = 0; i < v->len; i++)
        plan->text[i] = v->is_cased ? (unsigned char)v->text[i] : fold((unsigned char)v->text[i]);
    /* Cut at every '*'; empty middle segments ("**") are dropped. */
    for (size_t i = 0; i <= v->len; i++) {
        if (i < v->len && !v->wild[i])
            continue;
        if (i - start > 0 || k == 0 || i == v->len) {
            struct sg_glob_seg *sg = &plan->segs[k++];
            sg->lit = plan->text + start;
            sg->len = i - start;
            sg->anchor = pick_anchor(sg->lit, sg->len, v->is_cased);
        }
        start = i + 1;
    }
    plan->n_segs = k;
    v->plan = plan;
    return LSF_OK;
}

void sg_glob_plan_free(struct sg_glob_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->segs);
    free(plan->text);
    free(plan);
}

/* Does s[0..len) equal the segment (folded unless cased)? */
static bool seg_equal(const struct sg_glob_plan *plan, const struct sg_glob_seg *sg,
        const unsigned char *s)
{
    if (plan->is_cased)
        return memcmp(s, sg->lit, sg->len) == 0;
    for (size_t i = 0; i < sg->len; i++) {
        if (fold(s[i]) != sg->lit[i])
            return false;
    }
    return true;
}

/* Leftmost start of the segment in s[from..to), or SIZE_MAX. memchr finds the candidate
 * places of the anchor byte (without case, of a letter anchor in either case). */
static size_t seg_find(const struct sg_glob_plan *plan, const struct sg_glob_seg *sg,
        const unsigned char *s, size_t from, size_t to)
{
    const unsigned char a = sg->lit[sg->anchor];
    size_t first, last; /* the anchor's possible places, inclusive */

    if (to - from < sg->len)
        return SIZE_MAX;
    first = from + sg->anchor;
    last = to - (sg->len - sg->anchor);
    if (!plan->is_cased && is_letter(a)) {
        const unsigned char up_a = (unsigned char)(a - 32);
        const unsigned char *lo = memchr(s + first, a, last - first + 1);
        const unsigned char *up = memchr(s + first, up_a, last - first + 1);
        while (lo != NULL || up != NULL) {
            const bool is_lo = up == NULL || (lo != NULL && lo < up);
            const size_t i = (size_t)((is_lo ? lo : up) - s);
            if (seg_equal(plan, sg, s + i - sg->anchor))
                return i - sg->anchor;
            if (is_lo)
                lo = memchr(s + i + 1, a, last - i);
            else
                up = memchr(s + i + 1, up_a, last - i);
        }
        return SIZE_MAX;
    }
    for (size_t i = first; i <= last; i++) {
        const unsigned char *hit = memchr(s + i, a, last - i + 1);
        if (hit == NULL)
            return SIZE_MAX;
        i = (size_t)(hit - s);
        if (seg_equal(plan, sg, s + i - sg->anchor))
            return i - sg->anchor;
    }
    return SIZE_MAX;
}

bool sg_glob_match(const struct sg_value *v, const char *str, size_t n)
{
    const struct sg_glob_plan *plan = v->plan;
    const unsigned char *s = (const unsigned char *)str;
    const struct sg_glob_seg *head, *tail;
    size_t from, to;

    if (plan == NULL)
        return sg_glob_match_general(v, str, n);
    head = &plan->segs[0];
    if (plan->is_exact)
        return n == head->len && seg_equal(plan, head, s);
    tail = &plan->segs[plan->n_segs - 1];
    if (n < head->len + tail->len || !seg_equal(plan, head, s) ||
            !seg_equal(plan, tail, s + n - tail->len))
        return false;
    from = head->len;
    to = n - tail->len;
    for (size_t k = 1; k + 1 < plan->n_segs; k++) {
        size_t at = seg_find(plan, &plan->segs[k], s, from, to);
        if (at == SIZE_MAX)
            return false;
        from = at + plan->segs[k].len;
    }
    return true;
}
