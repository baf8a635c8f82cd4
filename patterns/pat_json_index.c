/*
 * pat_json_index: JSON records as jsmn tokens, for field lookups (see pat_json_index.h).
 *
 * jsmn is built strict (keys must be strings, primitives must be true/false/null or start
 * like a number) and with parent links, which keep its closing-bracket and comma handling
 * constant-time instead of a walk back over the tokens.
 */
#include "pat_json_index.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* Tokens allocated at first; a CloudTrail record needs 100-300. Doubled as records ask. */
#define JI_FIRST_CAP 512u

/* Digits of the longest integer read as it is written (2^63 has 19). */
#define JI_PLAIN_DIGITS_MAX 18

struct pat_json_index {
    jsmntok_t *tok;
    unsigned *end; /* end[i]: the token just past token i's subtree */
    unsigned cap;
    unsigned n;    /* tokens of the current record; 0 when it did not parse */
    const char *text;
};

struct pat_json_index *pat_json_index_new(void)
{
    return calloc(1, sizeof(struct pat_json_index));
}

void pat_json_index_free(struct pat_json_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->tok);
    free(ix->end);
    free(ix);
}

static bool grow(struct pat_json_index *ix)
{
    unsigned cap = ix->cap ? ix->cap * 2 : JI_FIRST_CAP;
    jsmntok_t *tok;
    unsigned *end;

    if (cap <= ix->cap || cap > UINT_MAX / 2)
        return false;
    tok = realloc(ix->tok, cap * sizeof(*tok));
    if (tok == NULL)
        return false;
    ix->tok = tok;
    end = realloc(ix->end, cap * sizeof(*end));
    if (end == NULL)
        return false;
    ix->end = end;
    ix->cap = cap;
    return true;
}

/* end[] for n tokens, children before parents; false when a size points past the tokens. */
static bool link_subtrees(struct pat_json_index *ix, unsigned n)
{
    for (unsigned i = n; i-- > 0;) {
        unsigned next = i + 1;
        for (int k = 0; k < ix->tok[i].size; k++) {
            if (next >= n)
                return false;
            next = ix->end[next];
        }
        ix->end[i] = next;
    }
    return true;
}

bool pat_json_index_parse(struct pat_json_index *ix, const char *text, size_t len)
{
    jsmn_parser parser;
    int r;

    ix->n = 0;
    ix->text = text;
    if (len > INT_MAX)
        return false; /* jsmn keeps offsets in int */
    if (ix->cap == 0 && !grow(ix))
        return false;
    jsmn_init(&parser);
    /* jsmn resumes where it stopped once given more tokens. */
    while ((r = jsmn_parse(&parser, text, len, ix->tok, ix->cap)) == JSMN_ERROR_NOMEM) {
        if (!grow(ix))
            return false;
    }
    if (r < 1 || !link_subtrees(ix, (unsigned)r) || ix->end[0] != (unsigned)r)
        return false; /* not JSON, or more than one value */
    ix->n = (unsigned)r;
    return true;
}

static bool is_word(const jsmntok_t *t, const char *text, const char *word)
{
    size_t n = strlen(word);

    return (size_t)(t->end - t->start) == n && memcmp(text + t->start, word, n) == 0;
}

enum pat_json_kind pat_json_kind(const struct pat_json_index *ix, size_t node)
{
    const jsmntok_t *t;
    char c;

    if (node >= ix->n)
        return PAT_JSON_INVALID;
    t = &ix->tok[node];
    switch (t->type) {
    case JSMN_OBJECT:
        return PAT_JSON_OBJECT;
    case JSMN_ARRAY:
        return PAT_JSON_ARRAY;
    case JSMN_STRING:
        return PAT_JSON_STRING;
    default:
        break;
    }
    c = ix->text[t->start];
    if (c == '-' || (c >= '0' && c <= '9'))
        return PAT_JSON_NUMBER;
    if (is_word(t, ix->text, "true"))
        return PAT_JSON_TRUE;
    if (is_word(t, ix->text, "false"))
        return PAT_JSON_FALSE;
    if (is_word(t, ix->text, "null"))
        return PAT_JSON_NULL;
    return PAT_JSON_INVALID;
}

/* A string token decoded by jansson (NULL when its escapes are invalid). */
static json_t *decode_string(const struct pat_json_index *ix, const jsmntok_t *t)
{
    json_error_t jerr;

    /* The token's bytes exclude its quotes; they are right beside it. */
    return json_loadb(ix->text + t->start - 1, (size_t)(t->end - t->start) + 2,
            JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
}

static bool key_equals(const struct pat_json_index *ix, const jsmntok_t *t, const char *key,
        size_t key_len)
{
    const char *raw = ix->text + t->start;
    size_t raw_len = (size_t)(t->end - t->start);
    json_t *decoded;
    bool same;

    if (raw_len == key_len && memcmp(raw, key, key_len) == 0)
        return memchr(key, '\\', key_len) == NULL; /* raw "a\\b" is not the key a\b */
    if (raw_len < key_len || memchr(raw, '\\', raw_len) == NULL)
        return false; /* escapes only ever make the raw key longer */
    decoded = decode_string(ix, t);
    same = json_is_string(decoded) && json_string_length(decoded) == key_len &&
            memcmp(json_string_value(decoded), key, key_len) == 0;
    json_decref(decoded);
    return same;
}

size_t pat_json_get(const struct pat_json_index *ix, size_t node, const char *key,
        size_t key_len)
{
    size_t found = SIZE_MAX;
    unsigned k;

    if (node >= ix->n || ix->tok[node].type != JSMN_OBJECT)
        return SIZE_MAX;
    k = (unsigned)node + 1;
    for (int i = 0; i < ix->tok[node].size; i++) {
        /* Later duplicates win, as in jansson. */
        if (ix->tok[k].size == 1 && key_equals(ix, &ix->tok[k], key, key_len))
            found = k + 1;
        k = ix->end[k];
    }
    return found;
}

size_t pat_json_first_element(const struct pat_json_index *ix, size_t array)
{
    if (array >= ix->n || ix->tok[array].type != JSMN_ARRAY || ix->tok[array].size == 0)
        return SIZE_MAX;
    return array + 1;
}

size_t pat_json_next_element(const struct pat_json_index *ix, size_t array, size_t element)
{
    unsigned next = ix->end[element];

    return next < ix->end[array] ? next : SIZE_MAX;
}

/* "0", "-12", "123456": written exactly as jansson would print the integer. */
static bool is_plain_integer(const char *s, size_t n)
{
    size_t i = s[0] == '-' ? 1 : 0;

    if (n - i == 0 || n - i > JI_PLAIN_DIGITS_MAX)
        return false;
    if (s[i] == '0')
        return n - i == 1 && i == 0; /* "0", but not "-0" (prints 0) nor "01" */
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

bool pat_json_text(const struct pat_json_index *ix, size_t node, struct pat_json_text_hold *hold,
        const char **s, size_t *n)
{
    const jsmntok_t *t;
    const char *raw;
    size_t raw_len;
    json_t *v;
    json_error_t jerr;

    hold->decoded = NULL;
    if (node >= ix->n)
        return false;
    t = &ix->tok[node];
    raw = ix->text + t->start;
    raw_len = (size_t)(t->end - t->start);
    switch (pat_json_kind(ix, node)) {
    case PAT_JSON_STRING:
        if (memchr(raw, '\\', raw_len) == NULL) {
            *s = raw;
            *n = raw_len;
            return true;
        }
        v = decode_string(ix, t);
        if (!json_is_string(v)) {
            json_decref(v);
            return false;
        }
        hold->decoded = v;
        *s = json_string_value(v);
        *n = json_string_length(v);
        return true;
    case PAT_JSON_TRUE:
    case PAT_JSON_FALSE:
        *s = raw;
        *n = raw_len;
        return true;
    case PAT_JSON_NUMBER:
        if (is_plain_integer(raw, raw_len)) {
            *s = raw;
            *n = raw_len;
            return true;
        }
        /* Reals and odd integers: jansson's value, printed as before (1.50 reads 1.5). */
        v = json_loadb(raw, raw_len, JSON_DECODE_ANY, &jerr);
        if (json_is_integer(v))
            snprintf(hold->num, sizeof(hold->num), "%" JSON_INTEGER_FORMAT,
                    json_integer_value(v));
        else if (json_is_real(v))
            snprintf(hold->num, sizeof(hold->num), "%.15g", json_real_value(v));
        else
            hold->num[0] = '\0';
        json_decref(v);
        *s = hold->num;
        *n = strlen(hold->num);
        return *n > 0;
    default:
        return false;
    }
}

void pat_json_text_release(struct pat_json_text_hold *hold)
{
    json_decref(hold->decoded);
    hold->decoded = NULL;
}
