/*
 * aws_retry: when to retry an AWS call and how long to wait, as botocore's "standard" retry
 * mode does (botocore/retries/standard.py, quota.py; shared/spec/aws-facts.md 10.1), widened
 * as 10.4 recommends: any 429 and SNS's Throttled count as throttling (botocore misses them),
 * and ServiceUnavailableException, InternalError and IDPCommunicationError as transient.
 *
 * Pure functions over small structs: no clock, no sleep, no global random source. The caller
 * passes a uniform random number in, so tests can check the exact backoff, and sleeps itself
 * (or arms a timer in the multi loop). Full jitter keeps many workers that were throttled
 * together from retrying together.
 */
#include "aws.h"

#include <string.h>

static bool in_list(const char *code, const char *const *list, size_t n)
{
    if (code == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(code, list[i]) == 0)
            return true;
    }
    return false;
}

/* botocore standard.py _THROTTLED_ERROR_CODES, plus Throttled (SNS, 429). */
static const char *const throttle_codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "Throttled",
};

/* botocore _TRANSIENT_ERROR_CODES, plus the service faults of aws-facts 10.4. */
static const char *const transient_codes[] = {
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "InternalServiceError",
        "IDPCommunicationError",
};

enum aws_retry_kind aws_retry_classify(const struct aws_outcome *o)
{
    if (o->is_timeout)
        return AWS_RETRY_TIMEOUT;
    if (o->is_network_error)
        return AWS_RETRY_TRANSIENT;
    if (o->http_status == 429 ||
            in_list(o->error_code, throttle_codes,
                    sizeof(throttle_codes) / sizeof(*throttle_codes)))
        return AWS_RETRY_THROTTLE;
    if (in_list(o->error_code, transient_codes, sizeof(transient_codes) / sizeof(*transient_codes)))
        return AWS_RETRY_TRANSIENT;
    if (o->http_status == 500 || o->http_status == 502 || o->http_status == 503 ||
            o->http_status == 504)
        return AWS_RETRY_TRANSIENT;
    return AWS_RETRY_NONE;
}

unsigned aws_retry_delay_ms(unsigned attempt, double rand01)
{
    unsigned base_s = AWS_RETRY_MAX_BACKOFF_S;

    if (attempt == 0)
        return 0;
    if (attempt - 1 < 5 && (1u << (attempt - 1)) < AWS_RETRY_MAX_BACKOFF_S)
        base_s = 1u << (attempt - 1);
    if (rand01 < 0)
        rand01 = 0;
    if (rand01 >= 1)
        rand01 = 0.999999;
    return (unsigned)(rand01 * base_s * 1000.0);
}

void aws_retry_quota_init(struct aws_retry_quota *quota)
{
    quota->tokens = AWS_RETRY_QUOTA_INITIAL;
}

void aws_retry_init(struct aws_retry *retry, unsigned max_attempts)
{
    retry->attempts = 0;
    retry->max_attempts = max_attempts ? max_attempts : 1;
    retry->held = 0;
}

bool aws_retry_next(struct aws_retry *retry, struct aws_retry_quota *quota,
        enum aws_retry_kind kind, double rand01, unsigned *delay_ms)
{
    unsigned cost = kind == AWS_RETRY_TIMEOUT ? AWS_RETRY_TIMEOUT_COST : AWS_RETRY_COST;

    retry->attempts++;
    *delay_ms = 0;
    if (kind == AWS_RETRY_NONE || retry->attempts >= retry->max_attempts)
        return false;
    if (quota->tokens < cost)
        return false; /* the client is failing a lot: stop adding load (quota.py) */
    quota->tokens -= cost;
    retry->held = cost; /* botocore refunds only the last acquisition */
    *delay_ms = aws_retry_delay_ms(retry->attempts, rand01);
    return true;
}

void aws_retry_succeeded(struct aws_retry *retry, struct aws_retry_quota *quota)
{
    unsigned refund = retry->held ? retry->held : AWS_RETRY_NO_RETRY_REFUND;

    quota->tokens += refund;
    if (quota->tokens > AWS_RETRY_QUOTA_INITIAL)
        quota->tokens = AWS_RETRY_QUOTA_INITIAL;
    retry->held = 0;
}
