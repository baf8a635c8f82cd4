/*
 * pat_json_index: one JSON record cut into tokens (jsmn), so Sigma confirmation reads the few
 * fields a rule names without building a tree of the whole record.
 *
 * A record is tokenized once, in place: tokens are offsets into the caller's bytes, nothing is
 * copied or allocated per value. Lookups then walk the tokens: an object's keys are compared
 * as raw bytes and a subtree is skipped in one step (each token knows where its subtree ends).
 * Values read as the same text jansson would give: escaped strings and numbers other than
 * plain integers are decoded by jansson itself, one value at a time.
 *
 * What counts as a record: one JSON value, optionally followed by white space. jsmn checks
 * structure, strings and escapes but not UTF-8 or the spelling of numbers, so a record with a
 * stray byte is still read (jansson rejected the whole record, which let one bad byte hide an
 * event from every rule). A duplicated key reads as its last value, as in jansson.
 *
 * Thread-safety: an index belongs to one thread.
 */
#ifndef PAT_JSON_INDEX_H
#define PAT_JSON_INDEX_H

#include <stdbool.h>
#include <stddef.h>

enum pat_json_kind {
    PAT_JSON_OBJECT = 0,
    PAT_JSON_ARRAY,
    PAT_JSON_STRING,
    PAT_JSON_NUMBER,
    PAT_JSON_TRUE,
    PAT_JSON_FALSE,
    PAT_JSON_NULL,
    PAT_JSON_INVALID /* a bare word jsmn let through ("tru"): no value */
};

struct pat_json_index;

/* An empty index (NULL when out of memory). Free with pat_json_index_free (NULL is fine). */
struct pat_json_index *pat_json_index_new(void);
void pat_json_index_free(struct pat_json_index *ix);

/*
 * Tokenize text[0..len) (borrowed until the next parse). False when it is not one JSON value
 * or memory runs out: the index is then empty and every lookup finds nothing. The root is
 * node 0.
 */
bool pat_json_index_parse(struct pat_json_index *ix, const char *text, size_t len);

enum pat_json_kind pat_json_kind(const struct pat_json_index *ix, size_t node);

/* The value of key in object node (the last one when the key repeats), or SIZE_MAX. */
size_t pat_json_get(const struct pat_json_index *ix, size_t node, const char *key,
        size_t key_len);

/* Array elements: the first (SIZE_MAX when empty), then each next one (SIZE_MAX after the
 * last). */
size_t pat_json_first_element(const struct pat_json_index *ix, size_t array);
size_t pat_json_next_element(const struct pat_json_index *ix, size_t array, size_t element);

/*
 * A string, number or boolean as text, in *s and *n (for a string: its decoded value; a number:
 * as jansson prints it). A decoded value lives in *hold, which the caller owns and releases
 * with pat_json_text_release once done with *s (values read this way may nest). False for
 * objects, arrays, null, and a value jansson cannot decode.
 */
struct pat_json_text_hold {
    void *decoded;
    char num[64];
};
bool pat_json_text(const struct pat_json_index *ix, size_t node, struct pat_json_text_hold *hold,
        const char **s, size_t *n);
void pat_json_text_release(struct pat_json_text_hold *hold);

#endif
