/*
 * Database building: match ids are pattern indexes; Hyperscan's refusals name file:line, the
 * pattern and Hyperscan's own message, with size advice for patterns that are too big; the
 * cache is used on the second build, and a damaged, foreign or unwritable cache only costs a
 * recompile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pat.h"

static struct pat_set *set_of(const char *text)
{
    struct pat_set *set = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    if (pat_set_add_text(set, "t.rules", text, strlen(text), &err) != LSF_OK)
        fail_msg("%s", err.msg);
    return set;
}

/* Build and expect refusal; the message must hold both fragments. */
static void expect_refused(const char *text, const char *frag1, const char *frag2)
{
    struct pat_set *set = set_of(text);
    struct pat_db *db = (struct pat_db *)1;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_E_RULE);
    assert_null(db);
    if (strstr(err.msg, frag1) == NULL || (frag2 && strstr(err.msg, frag2) == NULL))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.msg, frag1, frag2 ? frag2 : "");
    pat_set_free(set);
}

struct hits {
    unsigned ids[16];
    size_t n;
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
        unsigned flags, void *ctx)
{
    struct hits *h = ctx;

    (void)from;
    (void)to;
    (void)flags;
    if (h->n < 16)
        h->ids[h->n++] = id;
    return 0;
}

static void scan(const struct pat_db *db, const char *text, struct hits *h)
{
    hs_scratch_t *scratch = NULL;

    h->n = 0;
    assert_int_equal(hs_alloc_scratch(pat_db_hs(db), &scratch), HS_SUCCESS);
    assert_int_equal(hs_scan(pat_db_hs(db), text, (unsigned)strlen(text), 0, scratch, on_match,
                             h),
            HS_SUCCESS);
    hs_free_scratch(scratch);
}

static char *make_temp_dir(void)
{
    char *dir = strdup("/tmp/test_pat_db_XXXXXX");

    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *ent;

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((ent = readdir(d)) != NULL) {
        char child[4096];
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, ent->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

/* The one *.hsdb file in dir (fails if there is not exactly one). */
static void cache_file(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    int n = 0;

    assert_non_null(d);
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len > 5 && strcmp(ent->d_name + len - 5, ".hsdb") == 0) {
            snprintf(out, cap, "%s/%s", dir, ent->d_name);
            n++;
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
}

static struct pat_db *build(const struct pat_set *set, const char *dir)
{
    struct pat_db *db = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    if (pat_db_build(set, dir, &db, &err) != LSF_OK)
        fail_msg("%s", err.msg);
    assert_true(pat_db_build_ms(db) >= 0.0);
    return db;
}

static const char small_rules[] = "10:/alpha/\n20:/beta/iQ\n30:/10 & 20/C\n40:/gam+a/\n";

static void test_match_ids_are_pattern_indexes(void **state)
{
    struct pat_set *set = set_of(small_rules);
    struct pat_db *db = build(set, NULL);
    struct hits h;

    (void)state;
    assert_false(pat_db_from_cache(db));
    assert_null(pat_db_cache_note(db));
    scan(db, "xx BETA yy gammma", &h);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.ids[0], 1); /* pattern 20, quiet, still reported by Hyperscan */
    assert_int_equal(h.ids[1], 2); /* pattern 40 */
    pat_db_free(db);
    pat_set_free(set);
}

static void test_invalid_regex_names_file_line_pattern_and_hyperscan_message(void **state)
{
    (void)state;
    expect_refused("1:/ok/\n\n7:/a(b/\n", "t.rules:3: pattern 7 /a(b/: Hyperscan refused it: "
            "Missing close parenthesis for group started at index 1; ", "fix the regex");
    expect_refused("1:/a\\1/\n", "t.rules:1: pattern 1 /a\\1/: Hyperscan refused it:", NULL);
}

static void test_empty_matching_regex_suggests_the_v_flag(void **state)
{
    (void)state;
    expect_refused("3:/x*/\n", "t.rules:1: pattern 3 /x*/: Hyperscan refused it: Pattern matches "
            "empty buffer", "add the V flag");
}

static void test_bounded_repeat_too_large_gets_size_advice(void **state)
{
    (void)state;
    /* Hyperscan 5.4 refuses repeats above 32767 outright. */
    expect_refused("1:/fine/\n2:/a{32768}/\n", "t.rules:2: pattern 2 /a{32768}/: Hyperscan "
            "refused it: Bounded repeat is too large; ", "split it into smaller patterns");
}

static void test_resource_limit_without_expression_index_is_traced_to_its_pattern(void **state)
{
    (void)state;
    /* a{32767} passes the parser but exhausts a resource limit while the set is built, and
     * Hyperscan reports it with expression index -1: the pattern is found by compiling the
     * patterns one by one. */
    expect_refused("1:/fine/\n2:/also fine/\n\n5:/a{32767}/\n", "t.rules:4: pattern 5 "
            "/a{32767}/: Hyperscan refused it: Resource limit exceeded; ", "reduce its bounded "
            "repeats");
}

static void test_long_regex_is_cut_in_messages(void **state)
{
    char text[600];
    size_t n = (size_t)snprintf(text, sizeof(text), "1:/(");

    (void)state;
    for (int i = 0; i < 500; i++)
        text[n++] = 'a';
    snprintf(text + n, sizeof(text) - n, "/\n");
    expect_refused(text, "t.rules:1: pattern 1 /(aaaa", ".../: Hyperscan refused it");
}

static void test_empty_set_is_a_usage_error(void **state)
{
    struct pat_set *set = set_of("# nothing\n");
    struct pat_db *db = NULL;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_db_build(set, NULL, &db, &err), LSF_E_USAGE);
    assert_null(db);
    assert_non_null(strstr(err.msg, "no patterns"));
    pat_set_free(set);
}

static void test_second_build_loads_from_cache(void **state)
{
    char *dir = make_temp_dir();
    char sub[512];
    struct pat_set *set = set_of(small_rules);
    struct pat_db *db;
    struct hits h;

    (void)state;
    /* The folder is created (with parents) on first use. */
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    db = build(set, sub);
    assert_false(pat_db_from_cache(db));
    assert_null(pat_db_cache_note(db));
    pat_db_free(db);
    db = build(set, sub);
    assert_true(pat_db_from_cache(db));
    assert_null(pat_db_cache_note(db));
    scan(db, "alpha beta", &h);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.ids[0], 0);
    assert_int_equal(h.ids[1], 1);
    pat_db_free(db);
    pat_set_free(set);
    remove_tree(dir);
    free(dir);
}

static void test_changed_flags_do_not_reuse_the_cache(void **state)
{
    char *dir = make_temp_dir();
    struct pat_set *plain = set_of("1:/abc/\n");
    struct pat_set *caseless = set_of("1:/abc/i\n");
    struct pat_set *ext = set_of("1:/abc/{min_offset=2}\n");
    struct pat_db *db;

    (void)state;
    pat_db_free(build(plain, dir));
    db = build(caseless, dir);
    assert_false(pat_db_from_cache(db));
    pat_db_free(db);
    db = build(ext, dir);
    assert_false(pat_db_from_cache(db));
    pat_db_free(db);
    db = build(plain, dir);
    assert_true(pat_db_from_cache(db));
    pat_db_free(db);
    pat_set_free(plain);
    pat_set_free(caseless);
    pat_set_free(ext);
    remove_tree(dir);
    free(dir);
}

/* Damage the cache file with fn, then expect a recompile that still works and a repaired
 * cache on the build after. */
static void damage_then_rebuild(void (*damage)(const char *path))
{
    char *dir = make_temp_dir();
    char path[4096];
    struct pat_set *set = set_of(small_rules);
    struct pat_db *db;
    struct hits h;

    pat_db_free(build(set, dir));
    cache_file(dir, path, sizeof(path));
    damage(path);
    db = build(set, dir);
    assert_false(pat_db_from_cache(db));
    assert_non_null(pat_db_cache_note(db));
    assert_non_null(strstr(pat_db_cache_note(db), "cached database ignored"));
    scan(db, "gamma", &h);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.ids[0], 2);
    pat_db_free(db);
    db = build(set, dir);
    assert_true(pat_db_from_cache(db));
    pat_db_free(db);
    pat_set_free(set);
    remove_tree(dir);
    free(dir);
}

static void flip_a_payload_byte(const char *path)
{
    int fd = open(path, O_RDWR);
    unsigned char b;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, 200), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, 200), 1);
    close(fd);
}

static void truncate_to_half(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
}

static void replace_with_garbage(const char *path)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc(i * 7 & 0xff, fp);
    fclose(fp);
}

static void test_corrupted_cache_file_is_recompiled_and_replaced(void **state)
{
    (void)state;
    damage_then_rebuild(flip_a_payload_byte);
}

static void test_truncated_cache_file_is_recompiled_and_replaced(void **state)
{
    (void)state;
    damage_then_rebuild(truncate_to_half);
}

static void test_foreign_cache_file_is_recompiled_and_replaced(void **state)
{
    (void)state;
    damage_then_rebuild(replace_with_garbage);
}

static void test_unwritable_cache_dir_builds_without_cache(void **state)
{
    char *dir = make_temp_dir();
    char file[512];
    char under_file[600];
    struct pat_set *set = set_of(small_rules);
    struct pat_db *db;
    FILE *fp;

    (void)state;
    /* A folder under a regular file can be created by nobody, root included. */
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(under_file, sizeof(under_file), "%s/cache", file);
    db = build(set, under_file);
    assert_false(pat_db_from_cache(db));
    assert_non_null(pat_db_cache_note(db));
    assert_non_null(strstr(pat_db_cache_note(db), "cannot create the cache folder"));
    assert_non_null(strstr(pat_db_cache_note(db), "LOGSIFT_CACHE_DIR"));
    pat_db_free(db);
    db = build(set, under_file);
    assert_false(pat_db_from_cache(db));
    pat_db_free(db);
    pat_set_free(set);
    remove_tree(dir);
    free(dir);
}

static void test_default_cache_dir_follows_the_environment(void **state)
{
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

    (void)state;
    setenv("LOGSIFT_CACHE_DIR", "/x/explicit", 1);
    setenv("XDG_CACHE_HOME", "/x/xdg", 1);
    setenv("HOME", "/x/home", 1);
    assert_string_equal(pat_default_cache_dir(), "/x/explicit");
    setenv("LOGSIFT_CACHE_DIR", "", 1);
    assert_string_equal(pat_default_cache_dir(), "/x/xdg/logsift");
    unsetenv("XDG_CACHE_HOME");
    assert_string_equal(pat_default_cache_dir(), "/x/home/.cache/logsift");
    unsetenv("HOME");
    unsetenv("LOGSIFT_CACHE_DIR");
    assert_null(pat_default_cache_dir());
    if (saved_home)
        setenv("HOME", saved_home, 1);
    free(saved_home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_ids_are_pattern_indexes),
        cmocka_unit_test(test_invalid_regex_names_file_line_pattern_and_hyperscan_message),
        cmocka_unit_test(test_empty_matching_regex_suggests_the_v_flag),
        cmocka_unit_test(test_bounded_repeat_too_large_gets_size_advice),
        cmocka_unit_test(test_resource_limit_without_expression_index_is_traced_to_its_pattern),
        cmocka_unit_test(test_long_regex_is_cut_in_messages),
        cmocka_unit_test(test_empty_set_is_a_usage_error),
        cmocka_unit_test(test_second_build_loads_from_cache),
        cmocka_unit_test(test_changed_flags_do_not_reuse_the_cache),
        cmocka_unit_test(test_corrupted_cache_file_is_recompiled_and_replaced),
        cmocka_unit_test(test_truncated_cache_file_is_recompiled_and_replaced),
        cmocka_unit_test(test_foreign_cache_file_is_recompiled_and_replaced),
        cmocka_unit_test(test_unwritable_cache_dir_builds_without_cache),
        cmocka_unit_test(test_default_cache_dir_follows_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
