/* lsf_buf and lsf_err: the ceiling is exact and reported as an input error, never an OOM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lsf_buf.h"

static void test_append_grows_up_to_the_ceiling(void **state)
{
    struct lsf_buf buf;
    struct lsf_err err;
    unsigned char block[1000];

    (void)state;
    memset(block, 'x', sizeof(block));
    lsf_err_clear(&err);
    lsf_buf_init(&buf, 10000);
    for (int i = 0; i < 10; i++)
        assert_int_equal(lsf_buf_append(&buf, block, sizeof(block), &err), LSF_OK);
    assert_int_equal(buf.len, 10000);
    assert_int_equal(lsf_buf_append(&buf, block, 1, &err), LSF_E_INPUT);
    assert_non_null(strstr(err.msg, "limit of 10000 bytes"));
    assert_int_equal(buf.len, 10000);
    lsf_buf_cleanup(&buf);
    lsf_buf_cleanup(&buf);
}

static void test_first_failure_message_is_kept(void **state)
{
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(lsf_fail(&err, LSF_E_INPUT, "first %d", 1), LSF_E_INPUT);
    assert_int_equal(lsf_fail(&err, LSF_E_IO, "second\nline"), LSF_E_IO);
    assert_int_equal(err.code, LSF_E_INPUT);
    assert_string_equal(err.msg, "first 1");
    lsf_err_prefix(&err, "%s: ", "file.gz");
    assert_string_equal(err.msg, "file.gz: first 1");
}

static void test_consume_and_take(void **state)
{
    struct lsf_buf buf;
    struct lsf_err err;
    unsigned char *bytes;
    size_t len;

    (void)state;
    lsf_err_clear(&err);
    lsf_buf_init(&buf, 64);
    assert_int_equal(lsf_buf_append(&buf, "abcdef", 6, &err), LSF_OK);
    lsf_buf_consume(&buf, 2);
    assert_memory_equal(buf.data, "cdef", 4);
    bytes = lsf_buf_take(&buf, &len);
    assert_int_equal(len, 4);
    assert_null(buf.data);
    free(bytes);
}

static void test_array_grow_doubles_and_refuses_overflow(void **state)
{
    size_t cap = 0;
    int *items = lsf_array_grow(NULL, &cap, sizeof(*items), 4);

    (void)state;
    assert_non_null(items);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++)
        items[i] = i;
    items = lsf_array_grow(items, &cap, sizeof(*items), 4);
    assert_non_null(items);
    assert_int_equal(cap, 8);
    for (int i = 0; i < 4; i++) /* kept */
        assert_int_equal(items[i], i);
    {
        size_t huge = SIZE_MAX / 4; /* doubling it overflows the byte count */
        assert_null(lsf_array_grow(items, &huge, sizeof(*items), 4));
        assert_int_equal(huge, SIZE_MAX / 4); /* left as it was */
    }
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_grows_up_to_the_ceiling),
        cmocka_unit_test(test_first_failure_message_is_kept),
        cmocka_unit_test(test_consume_and_take),
        cmocka_unit_test(test_array_grow_doubles_and_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
