/*
 * Fuzz target for pat_json_index: the input is one JSON record. Whatever the bytes, parsing
 * and every lookup stay inside the tokens; and when jansson accepts the input as an object,
 * the index accepts it too and finds each of its keys with a value of the same kind.
 */
/* fuzz-libs: lsf_patterns lsf_base PkgConfig::JANSSON */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pat_json_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum pat_json_kind kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return PAT_JSON_OBJECT;
    case JSON_ARRAY:
        return PAT_JSON_ARRAY;
    case JSON_STRING:
        return PAT_JSON_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return PAT_JSON_NUMBER;
    case JSON_TRUE:
        return PAT_JSON_TRUE;
    case JSON_FALSE:
        return PAT_JSON_FALSE;
    default:
        return PAT_JSON_NULL;
    }
}

/* Read every value under node (text of leaves, elements of arrays), as lookups would. */
static void read_all(const struct pat_json_index *ix, size_t node, unsigned depth)
{
    struct pat_json_text_hold hold;
    const char *s;
    size_t n;

    if (depth > 64)
        return;
    if (pat_json_kind(ix, node) == PAT_JSON_ARRAY) {
        for (size_t el = pat_json_first_element(ix, node); el != SIZE_MAX;
                el = pat_json_next_element(ix, node, el))
            read_all(ix, el, depth + 1);
    } else if (pat_json_text(ix, node, &hold, &s, &n)) {
        /* Each check reads the whole text, so ASan checks its bounds too. */
        switch (pat_json_kind(ix, node)) {
        case PAT_JSON_NUMBER:
            if (n == 0 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) ||
                    memchr(s, ' ', n) != NULL)
                abort();
            break;
        case PAT_JSON_TRUE:
        case PAT_JSON_FALSE:
            if (n != 4 + (pat_json_kind(ix, node) == PAT_JSON_FALSE) ||
                    memcmp(s, n == 4 ? "true" : "false", n) != 0)
                abort();
            break;
        default: /* a string read as written has no escape left in it */
            if (hold.decoded == NULL && memchr(s, '\\', n) != NULL)
                abort();
            break;
        }
        pat_json_text_release(&hold);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pat_json_index *ix;
    json_error_t jerr;
    json_t *root;
    bool is_parsed;

    if (ix == NULL && (ix = pat_json_index_new()) == NULL)
        abort();
    is_parsed = pat_json_index_parse(ix, (const char *)data, size);
    root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
    if (json_is_object(root) && memchr(data, '\0', size) == NULL) {
        const char *key;
        json_t *v;
        if (!is_parsed)
            abort(); /* jansson read a record the index refused */
        json_object_foreach(root, key, v) {
            size_t child = pat_json_get(ix, 0, key, strlen(key));
            if (strlen(key) != 0 && memchr(key, '\0', strlen(key)) == NULL &&
                    (child == SIZE_MAX || pat_json_kind(ix, child) != kind_of(v)))
                abort();
        }
    }
    json_decref(root);
    if (is_parsed && pat_json_kind(ix, 0) == PAT_JSON_OBJECT) {
        /* Lookups of keys the record may or may not have, and every value read. */
        static const char *const keys[] = {"a", "eventName", "userIdentity", "", "k\\"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            size_t child = pat_json_get(ix, 0, keys[i], strlen(keys[i]));
            if (child != SIZE_MAX)
                read_all(ix, child, 0);
        }
    }
    return 0;
}
