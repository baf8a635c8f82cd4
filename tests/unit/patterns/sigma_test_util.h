/*
 * sigma_test_util: evaluate one Sigma rule on one event the way the engine does, for the
 * pattern unit tests.
 */
#ifndef SIGMA_TEST_UTIL_H
#define SIGMA_TEST_UTIL_H

#include <stdbool.h>

struct pat_geoip;

/*
 * Does the single rule in yaml match event (a JSON record when is_json, else a syslog line),
 * with geo (NULL for none) given to the evaluator? Also asserts that the Hyperscan prefilter
 * holds wherever the rule matches, and that a rule without prefilter code says so.
 */
bool sigma_test_eval(const char *yaml, const char *event, bool is_json,
        const struct pat_geoip *geo);

#endif
