/*
 * corr_test_source: a scan source for the correlation unit tests over in-memory texts. Input k
 * is named "in-KK"; the inputs are given in the order k = (i * step + first) % n_inputs, so a
 * test can hand them over in an order that is not their names'.
 */
#ifndef CORR_TEST_SOURCE_H
#define CORR_TEST_SOURCE_H

#include <stddef.h>

#include "lsf_reader.h"
#include "scan.h"

#define CORR_TEST_MAX_INPUTS 64

struct corr_test_source {
    char *texts[CORR_TEST_MAX_INPUTS]; /* NUL-terminated; the test owns them */
    size_t n_inputs;
    size_t step, first;                /* giving order (step 0: as 1) */
    size_t max_step;                   /* most bytes per read: chunk boundaries anywhere */
    size_t n_given;
    struct lsf_mem_reader mem[CORR_TEST_MAX_INPUTS];
};

/* A source reading src (borrowed). */
struct scan_source corr_test_source(struct corr_test_source *src);

#endif
