/*
 * pat_json_index reads fields as jansson's tree does: hand cases for escapes, numbers,
 * duplicates and bad records, then every field of every JSON record in the shared real logs,
 * each record written twice by jansson (as is, and with every non-ASCII character and '/'
 * escaped) and compared value by value against jansson's own tree.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pat_json_index.h"

static struct pat_json_index *ix;

static int setup(void **state)
{
    (void)state;
    ix = pat_json_index_new();
    return ix == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    pat_json_index_free(ix);
    return 0;
}

static bool parse(const char *text)
{
    return pat_json_index_parse(ix, text, strlen(text));
}

/* The text of key under the root, or "" when missing or not text; *kind its kind. */
static const char *text_of(const char *key, enum pat_json_kind *kind)
{
    static char out[256];
    struct pat_json_text_hold hold;
    size_t node = pat_json_get(ix, 0, key, strlen(key));
    const char *s;
    size_t n;

    out[0] = '\0';
    *kind = pat_json_kind(ix, node);
    if (pat_json_text(ix, node, &hold, &s, &n)) {
        snprintf(out, sizeof(out), "%.*s", (int)n, s);
        pat_json_text_release(&hold);
    }
    return out;
}

static void assert_text(const char *key, const char *want)
{
    enum pat_json_kind kind;

    assert_string_equal(text_of(key, &kind), want);
}

static void test_strings_escapes_and_keys(void **state)
{
    (void)state;
    assert_true(parse("{\"a\":\"plain\",\"b\":\"x\\/y\\u00e9\\n\\\"q\\\"\","
                      "\"ev\\u0065ntName\":\"StopLogging\",\"c\\\\d\":\"k\"}"));
    assert_text("a", "plain");
    assert_text("b", "x/y\xc3\xa9\n\"q\"");
    assert_text("eventName", "StopLogging"); /* an escaped key still names its field */
    assert_text("c\\d", "k");
    assert_int_equal(pat_json_get(ix, 0, "c\\\\d", 4), SIZE_MAX); /* raw is not the key */
}

static void test_numbers_read_as_jansson_prints_them(void **state)
{
    enum pat_json_kind kind;

    (void)state;
    assert_true(parse("{\"i\":42,\"neg\":-7,\"z\":-0,\"r\":1.50,\"e\":1e3,"
                      "\"big\":123456789012345678,\"t\":true,\"f\":false,\"n\":null}"));
    assert_text("i", "42");
    assert_text("neg", "-7");
    assert_text("z", "0");
    assert_text("r", "1.5");
    assert_text("e", "1000");
    assert_text("big", "123456789012345678");
    assert_text("t", "true");
    assert_text("f", "false");
    assert_string_equal(text_of("n", &kind), "");
    assert_int_equal(kind, PAT_JSON_NULL);
    assert_string_equal(text_of("missing", &kind), "");
    assert_int_equal(kind, PAT_JSON_INVALID);
}

static void test_duplicates_arrays_and_nesting(void **state)
{
    size_t arr, el, obj;
    const char *s;
    size_t n;
    struct pat_json_text_hold hold;

    (void)state;
    assert_true(parse(" {\"k\":\"first\",\"o\":{\"p\":{\"q\":[1,{\"r\":2}]}},\"k\":\"last\"}\n\n"));
    assert_text("k", "last"); /* jansson keeps the last of repeated keys */
    obj = pat_json_get(ix, pat_json_get(ix, 0, "o", 1), "p", 1);
    arr = pat_json_get(ix, obj, "q", 1);
    assert_int_equal(pat_json_kind(ix, arr), PAT_JSON_ARRAY);
    el = pat_json_first_element(ix, arr);
    assert_true(pat_json_text(ix, el, &hold, &s, &n));
    assert_int_equal(n, 1);
    assert_memory_equal(s, "1", 1);
    el = pat_json_next_element(ix, arr, el);
    assert_int_equal(pat_json_kind(ix, el), PAT_JSON_OBJECT);
    assert_int_not_equal(pat_json_get(ix, el, "r", 1), SIZE_MAX);
    assert_int_equal(pat_json_next_element(ix, arr, el), SIZE_MAX);
    assert_true(parse("{\"e\":[]}"));
    assert_int_equal(pat_json_first_element(ix, pat_json_get(ix, 0, "e", 1)), SIZE_MAX);
}

static void test_bad_records_find_nothing(void **state)
{
    static const char *const bad[] = {"{\"a\":\"x\"", "{\"a\":1} {\"b\":2}", "{\"a\":\"\\q\"}",
            "{a:1}", "", "   ", "{\"a\":[1,2}"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(parse(bad[i]));
        assert_int_equal(pat_json_get(ix, 0, "a", 1), SIZE_MAX);
    }
    /* A stray byte that is not UTF-8 does not hide the record (jansson refused it whole). */
    assert_true(parse("{\"eventName\":\"StopLogging\",\"x\":\"\xff\"}"));
    assert_text("eventName", "StopLogging");
}

/* ---- differential: every field of real records against jansson's tree ---- */

static size_t n_records, n_values;

static void expect_same(json_t *want, size_t node, const char *where);

static void expect_leaf(const json_t *want, size_t node, const char *where)
{
    char num[64];
    const char *wtext = NULL, *s;
    size_t wlen = 0, n;
    struct pat_json_text_hold hold;
    bool has;

    switch (json_typeof(want)) {
    case JSON_STRING:
        wtext = json_string_value(want);
        wlen = json_string_length(want);
        break;
    case JSON_INTEGER:
        wlen = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                json_integer_value(want));
        wtext = num;
        break;
    case JSON_REAL:
        wlen = (size_t)snprintf(num, sizeof(num), "%.15g", json_real_value(want));
        wtext = num;
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        wtext = json_is_true(want) ? "true" : "false";
        wlen = strlen(wtext);
        break;
    default: /* null */
        if (pat_json_kind(ix, node) != PAT_JSON_NULL)
            fail_msg("%s: null expected", where);
        return;
    }
    has = pat_json_text(ix, node, &hold, &s, &n);
    if (!has || n != wlen || memcmp(s, wtext, n) != 0)
        fail_msg("%s: read '%.*s', jansson has '%s'", where, has ? (int)n : 0, has ? s : "",
                wtext);
    pat_json_text_release(&hold);
    n_values++;
}

static void expect_same(json_t *want, size_t node, const char *where)
{
    char sub[512];

    if (json_is_object(want)) {
        const char *key;
        json_t *v;
        if (pat_json_kind(ix, node) != PAT_JSON_OBJECT)
            fail_msg("%s: object expected", where);
        json_object_foreach(want, key, v) {
            size_t child = pat_json_get(ix, node, key, strlen(key));
            snprintf(sub, sizeof(sub), "%.200s.%.200s", where, key);
            if (child == SIZE_MAX)
                fail_msg("%s: key not found", sub);
            expect_same(v, child, sub);
        }
    } else if (json_is_array(want)) {
        size_t i = 0, el = pat_json_first_element(ix, node);
        if (pat_json_kind(ix, node) != PAT_JSON_ARRAY)
            fail_msg("%s: array expected", where);
        for (; el != SIZE_MAX; el = pat_json_next_element(ix, node, el), i++) {
            snprintf(sub, sizeof(sub), "%.300s[%zu]", where, i);
            if (i >= json_array_size(want))
                fail_msg("%s: more elements than jansson's", sub);
            expect_same(json_array_get(want, i), el, sub);
        }
        if (i != json_array_size(want))
            fail_msg("%s: %zu elements, jansson has %zu", where, i, json_array_size(want));
    } else {
        expect_leaf(want, node, where);
    }
}

static void check_record(json_t *rec, const char *file)
{
    static const size_t dump_flags[] = {JSON_COMPACT,
            JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH};

    for (size_t d = 0; d < 2; d++) {
        char *text = json_dumps(rec, dump_flags[d]);
        assert_non_null(text);
        if (!pat_json_index_parse(ix, text, strlen(text)))
            fail_msg("%s: a record jansson wrote did not parse: %.200s", file, text);
        expect_same(rec, 0, file);
        free(text);
    }
    n_records++;
}

/* A file of one record per line (what json_load_file refuses as a whole). */
static void check_json_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    json_error_t jerr;

    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_t *rec = json_loads(line, 0, &jerr);
        if (json_is_object(rec))
            check_record(rec, path);
        json_decref(rec);
    }
    free(line);
    fclose(f);
}

static int visit_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    json_error_t jerr;
    json_t *root, *records;
    size_t len = strlen(path);

    (void)st;
    (void)ftw;
    if (type != FTW_F || len < 5 || strcmp(path + len - 5, ".json") != 0)
        return 0;
    root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        check_json_lines(path);
        return 0;
    }
    records = json_object_get(root, "Records");
    if (json_is_array(records)) {
        size_t i;
        json_t *rec;
        json_array_foreach(records, i, rec)
            check_record(rec, path);
    } else if (json_is_array(root)) {
        size_t i;
        json_t *rec;
        json_array_foreach(root, i, rec)
            check_record(rec, path);
    } else {
        check_record(root, path);
    }
    json_decref(root);
    return 0;
}

static void test_every_field_of_the_shared_records_reads_as_jansson(void **state)
{
    char dir[4096];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/cloudtrail", LSF_SHARED_DATA);
    assert_int_equal(nftw(dir, visit_file, 16, FTW_PHYS), 0);
    printf("compared %zu values of %zu records\n", n_values, n_records);
    assert_true(n_records > 300); /* the corpus was found and read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_escapes_and_keys),
        cmocka_unit_test(test_numbers_read_as_jansson_prints_them),
        cmocka_unit_test(test_duplicates_arrays_and_nesting),
        cmocka_unit_test(test_bad_records_find_nothing),
        cmocka_unit_test(test_every_field_of_the_shared_records_reads_as_jansson),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
