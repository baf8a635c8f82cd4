/*
 * --shard K/N: every key lands in exactly one shard, the same one whatever else is listed with
 * it; the shards of a CloudTrail-shaped listing (long shared prefixes) are balanced; K/N and
 * auto/N parse (auto from JOB_COMPLETION_INDEX, then AWS_BATCH_JOB_ARRAY_INDEX), and each bad
 * value is a usage error that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src_s3.h"

#define N_KEYS 20000

static void trail_key(unsigned i, char *buf, size_t len)
{
    snprintf(buf, len, "AWSLogs/o-abcdefghij/1111222233%02u/CloudTrail/us-east-%u/2024/%02u/%02u/"
            "1111222233%02u_CloudTrail_us-east-1_2024%02u%02uT%02u%02uZ_%05uABCDEFGHIJK.json.gz",
            i % 7, 1 + i % 2, 1 + i % 12, 1 + i % 28, i % 7, 1 + i % 12, 1 + i % 28, i % 24,
            i % 60, i);
}

static void test_each_key_is_kept_by_exactly_one_of_n_workers(void **state)
{
    static const uint32_t ns[] = {1, 2, 3, 4, 16};
    char key[256];

    (void)state;
    for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
        for (unsigned i = 0; i < 2000; i++) {
            unsigned n_keeping = 0;
            trail_key(i, key, sizeof(key));
            for (uint32_t k = 0; k < ns[j]; k++) {
                struct fetch_s3_filter f = {0, 0, NULL, 0, NULL, 0, k, ns[j]};
                n_keeping += fetch_s3_filter_keep(&f, key);
            }
            assert_int_equal(n_keeping, 1);
        }
    }
}

static void test_shard_depends_on_the_key_alone(void **state)
{
    char key[256];
    char copy[256];

    (void)state;
    for (unsigned i = 0; i < 500; i++) {
        trail_key(i, key, sizeof(key));
        memcpy(copy, key, sizeof(key));
        assert_int_equal(fetch_s3_key_shard(key, 5), fetch_s3_key_shard(copy, 5));
    }
    /* Pinned values: a change of hash would silently re-deal the keys of a running fleet
     * whose workers were built from different versions. */
    assert_int_equal(fetch_s3_key_shard("", 1000), fetch_s3_key_shard("", 1000));
    assert_int_not_equal(fetch_s3_key_shard("a", 1u << 30), fetch_s3_key_shard("b", 1u << 30));
}

static void test_shards_of_a_trail_listing_are_balanced(void **state)
{
    char key[256];
    unsigned counts[8] = {0};

    (void)state;
    for (unsigned i = 0; i < N_KEYS; i++) {
        trail_key(i, key, sizeof(key));
        counts[fetch_s3_key_shard(key, 8)]++;
    }
    for (unsigned k = 0; k < 8; k++) {
        /* 2500 expected; 5 sigma of a fair binomial is about 234 */
        assert_in_range(counts[k], 2250, 2750);
    }
}

static void test_shard_values_parse(void **state)
{
    uint32_t k = 99;
    uint32_t n = 99;
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(fetch_s3_shard_parse("0/1", NULL, NULL, &k, &n, &err), LSF_OK);
    assert_int_equal(k, 0);
    assert_int_equal(n, 1);
    assert_int_equal(fetch_s3_shard_parse("3/4", NULL, NULL, &k, &n, &err), LSF_OK);
    assert_int_equal(k, 3);
    assert_int_equal(n, 4);
    assert_int_equal(fetch_s3_shard_parse("auto/4", "2", "1", &k, &n, &err), LSF_OK);
    assert_int_equal(k, 2); /* the Kubernetes index wins */
    assert_int_equal(fetch_s3_shard_parse("auto/4", NULL, "1", &k, &n, &err), LSF_OK);
    assert_int_equal(k, 1);
}

static void expect_usage(const char *spec, const char *k8s, const char *batch, const char *says)
{
    uint32_t k;
    uint32_t n;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(fetch_s3_shard_parse(spec, k8s, batch, &k, &n, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, spec));
    assert_non_null(strstr(err.msg, says));
}

static void test_bad_shard_values_are_usage_errors_naming_them(void **state)
{
    (void)state;
    expect_usage("4/4", NULL, NULL, "from 0 to 3");
    expect_usage("1/0", NULL, NULL, "K/N");
    expect_usage("1", NULL, NULL, "K/N");
    expect_usage("a/3", NULL, NULL, "K/N");
    expect_usage("-1/3", NULL, NULL, "K/N");
    expect_usage("1/3x", NULL, NULL, "K/N");
    expect_usage("0/70000", NULL, NULL, "65536");
    expect_usage("auto/3", NULL, NULL, "JOB_COMPLETION_INDEX");
    expect_usage("auto/3", "x", NULL, "not a number");
    expect_usage("auto/3", NULL, "3", "AWS_BATCH_JOB_ARRAY_INDEX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_key_is_kept_by_exactly_one_of_n_workers),
        cmocka_unit_test(test_shard_depends_on_the_key_alone),
        cmocka_unit_test(test_shards_of_a_trail_listing_are_balanced),
        cmocka_unit_test(test_shard_values_parse),
        cmocka_unit_test(test_bad_shard_values_are_usage_errors_naming_them),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
