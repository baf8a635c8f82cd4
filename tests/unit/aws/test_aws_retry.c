/*
 * Retry policy (botocore "standard" mode, shared/spec/aws-facts.md 10.1 and 10.4): which
 * outcomes are retried, the capped full-jitter backoff with an injected random number, the
 * attempt limit, and the retry quota: what a retry costs, what success refunds, and that an
 * empty bucket stops retries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws.h"

static enum aws_retry_kind kind(long status, const char *code)
{
    struct aws_outcome o = {status, code, false, false};

    return aws_retry_classify(&o);
}

static void test_throttling_and_faults_are_retried_validation_and_denial_are_not(void **state)
{
    struct aws_outcome timeout = {0, NULL, true, false};
    struct aws_outcome reset = {0, NULL, false, true};

    (void)state;
    assert_int_equal(kind(503, "SlowDown"), AWS_RETRY_THROTTLE);
    assert_int_equal(kind(400, "ThrottlingException"), AWS_RETRY_THROTTLE);
    assert_int_equal(kind(400, "Throttling"), AWS_RETRY_THROTTLE);
    assert_int_equal(kind(429, "Throttled"), AWS_RETRY_THROTTLE); /* botocore misses this one */
    assert_int_equal(kind(429, NULL), AWS_RETRY_THROTTLE);
    assert_int_equal(kind(400, "LimitExceededException"), AWS_RETRY_THROTTLE);
    assert_int_equal(kind(400, "RequestTimeout"), AWS_RETRY_TRANSIENT);
    assert_int_equal(kind(500, "InternalError"), AWS_RETRY_TRANSIENT);
    assert_int_equal(kind(503, "ServiceUnavailableException"), AWS_RETRY_TRANSIENT);
    assert_int_equal(kind(504, NULL), AWS_RETRY_TRANSIENT);
    assert_int_equal(kind(400, "IDPCommunicationError"), AWS_RETRY_TRANSIENT);
    assert_int_equal(aws_retry_classify(&timeout), AWS_RETRY_TIMEOUT);
    assert_int_equal(aws_retry_classify(&reset), AWS_RETRY_TRANSIENT);
    assert_int_equal(kind(400, "InvalidParameterException"), AWS_RETRY_NONE);
    assert_int_equal(kind(403, "AccessDenied"), AWS_RETRY_NONE);
    assert_int_equal(kind(404, "NoSuchKey"), AWS_RETRY_NONE);
    assert_int_equal(kind(501, NULL), AWS_RETRY_NONE);
    assert_int_equal(kind(200, NULL), AWS_RETRY_NONE);
}

static void test_backoff_is_full_jitter_doubling_up_to_twenty_seconds(void **state)
{
    (void)state;
    assert_int_equal(aws_retry_delay_ms(1, 0.5), 500);
    assert_int_equal(aws_retry_delay_ms(2, 0.5), 1000);
    assert_int_equal(aws_retry_delay_ms(3, 0.5), 2000);
    assert_int_equal(aws_retry_delay_ms(5, 0.5), 8000);
    assert_int_equal(aws_retry_delay_ms(6, 0.5), 10000); /* 2^5 = 32 s capped at 20 s */
    assert_int_equal(aws_retry_delay_ms(40, 0.5), 10000);
    assert_int_equal(aws_retry_delay_ms(3, 0.0), 0);
    assert_true(aws_retry_delay_ms(6, 0.9999999) < 20000);
    assert_int_equal(aws_retry_delay_ms(1, -3.0), 0); /* a broken source cannot go negative */
}

static void test_three_attempts_then_stop(void **state)
{
    struct aws_retry r;
    struct aws_retry_quota q;
    unsigned delay;

    (void)state;
    aws_retry_quota_init(&q);
    aws_retry_init(&r, AWS_RETRY_MAX_ATTEMPTS);
    assert_true(aws_retry_next(&r, &q, AWS_RETRY_THROTTLE, 0.5, &delay));
    assert_int_equal(delay, 500);
    assert_true(aws_retry_next(&r, &q, AWS_RETRY_TRANSIENT, 0.5, &delay));
    assert_int_equal(delay, 1000);
    assert_false(aws_retry_next(&r, &q, AWS_RETRY_TRANSIENT, 0.5, &delay));
    assert_int_equal(r.attempts, 3);
    assert_int_equal(q.tokens, 500 - 2 * AWS_RETRY_COST);
}

static void test_non_retryable_outcome_stops_at_once_and_costs_nothing(void **state)
{
    struct aws_retry r;
    struct aws_retry_quota q;
    unsigned delay = 99;

    (void)state;
    aws_retry_quota_init(&q);
    aws_retry_init(&r, 5);
    assert_false(aws_retry_next(&r, &q, AWS_RETRY_NONE, 0.5, &delay));
    assert_int_equal(delay, 0);
    assert_int_equal(q.tokens, AWS_RETRY_QUOTA_INITIAL);
}

static void test_quota_charges_timeouts_double_and_refunds_on_success(void **state)
{
    struct aws_retry r;
    struct aws_retry_quota q;
    unsigned delay;

    (void)state;
    aws_retry_quota_init(&q);
    aws_retry_init(&r, 3);
    assert_true(aws_retry_next(&r, &q, AWS_RETRY_TIMEOUT, 0.5, &delay));
    assert_int_equal(q.tokens, 490);
    assert_true(aws_retry_next(&r, &q, AWS_RETRY_THROTTLE, 0.5, &delay));
    assert_int_equal(q.tokens, 485);
    aws_retry_succeeded(&r, &q); /* refunds the last acquisition only */
    assert_int_equal(q.tokens, 490);
    aws_retry_init(&r, 3);
    aws_retry_succeeded(&r, &q); /* first-try success refunds one token */
    assert_int_equal(q.tokens, 491);
    for (int i = 0; i < 20; i++)
        aws_retry_succeeded(&r, &q);
    assert_int_equal(q.tokens, AWS_RETRY_QUOTA_INITIAL); /* never above the start */
}

static void test_empty_quota_stops_retries(void **state)
{
    struct aws_retry r;
    struct aws_retry_quota q;
    unsigned delay;
    int retries = 0;

    (void)state;
    aws_retry_quota_init(&q);
    for (int request = 0; request < 200; request++) {
        aws_retry_init(&r, 3);
        while (aws_retry_next(&r, &q, AWS_RETRY_TRANSIENT, 0.1, &delay))
            retries++;
    }
    assert_int_equal(retries, AWS_RETRY_QUOTA_INITIAL / AWS_RETRY_COST);
    assert_int_equal(q.tokens, 0);
    aws_retry_init(&r, 3);
    assert_false(aws_retry_next(&r, &q, AWS_RETRY_THROTTLE, 0.1, &delay));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_throttling_and_faults_are_retried_validation_and_denial_are_not),
            cmocka_unit_test(test_backoff_is_full_jitter_doubling_up_to_twenty_seconds),
            cmocka_unit_test(test_three_attempts_then_stop),
            cmocka_unit_test(test_non_retryable_outcome_stops_at_once_and_costs_nothing),
            cmocka_unit_test(test_quota_charges_timeouts_double_and_refunds_on_success),
            cmocka_unit_test(test_empty_quota_stops_retries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
