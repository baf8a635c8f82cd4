/*
 * corr_test_sink: a scan sink for the correlation unit tests that keeps each finding as
 * "rule-id event-text", one line each, to compare runs with.
 */
#ifndef CORR_TEST_SINK_H
#define CORR_TEST_SINK_H

#include <stddef.h>

#include "scan.h"

#define CORR_TEST_MAX_FOUND 64

struct corr_found {
    char *lines[CORR_TEST_MAX_FOUND];
    size_t n;
    const char *run; /* the input every finding must point into, or NULL for any */
};

/* A sink writing into found (borrowed). */
struct scan_sink corr_test_sink(struct corr_found *found);
/* Sort the lines, so runs compare whatever order they wrote in. */
void corr_test_sort(struct corr_found *found);

#endif
