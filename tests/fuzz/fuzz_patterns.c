/*
 * Fuzz target for the rule-file parser: the input is a rules file. It is parsed into a fresh
 * set (never compiled: Hyperscan's compiler is not ours to fuzz and is slow), then every
 * accessor and every rule's condition is exercised, so a parse that "succeeds" into an
 * inconsistent set (a HIT past the pattern array, malformed code, a bad rules-of-pattern
 * table) is caught too. A second parse of the same bytes into the same set must fail (every
 * ID is then a duplicate) and leave the set as it was.
 */
/* fuzz-libs: lsf_patterns lsf_base */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_set(const struct pat_set *set)
{
    size_t n_patterns = pat_set_n_patterns(set);
    size_t n_rules = pat_set_n_rules(set);
    unsigned all[64];
    size_t n_all = 0;

    for (size_t i = 0; i < n_patterns; i++) {
        const struct pat_pattern *pat = pat_set_pattern(set, i);
        size_t n;
        const unsigned *rules = pat_set_rules_of_pattern(set, i, &n);

        if (pat->expr == NULL || pat->file == NULL)
            abort();
        for (size_t r = 0; r < n; r++) {
            if (rules[r] >= n_rules || (r > 0 && rules[r] <= rules[r - 1]))
                abort();
        }
        if (n_all < 64)
            all[n_all++] = (unsigned)i;
    }
    for (size_t r = 0; r < n_rules; r++) {
        const struct pat_rule *rule = pat_set_rule(set, r);

        if (rule->id == NULL || rule->title == NULL || rule->n_code == 0)
            abort();
        for (size_t i = 0; i < rule->n_code; i++) {
            if (rule->code[i].op == PAT_OP_HIT && rule->code[i].arg >= n_patterns)
                abort();
        }
        /* The parser refuses conditions that hold on an event with no hits. */
        if (pat_rule_eval(rule, NULL, 0))
            abort();
        (void)pat_rule_eval(rule, all, n_all);
        (void)pat_severity_name(rule->severity);
    }
    (void)pat_set_needs_event_scan(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    size_t n_patterns, n_rules;

    lsf_err_clear(&err);
    if (pat_set_new(&set, &err) != LSF_OK)
        return 0;
    if (pat_set_add_text(set, "fuzz.rules", (const char *)data, size, &err) == LSF_OK) {
        check_set(set);
        n_patterns = pat_set_n_patterns(set);
        n_rules = pat_set_n_rules(set);
        lsf_err_clear(&err);
        if (n_patterns + n_rules > 0 &&
                pat_set_add_text(set, "again.rules", (const char *)data, size, &err) == LSF_OK)
            abort();
        if (pat_set_n_patterns(set) != n_patterns || pat_set_n_rules(set) != n_rules)
            abort();
        check_set(set);
    } else if (err.code == LSF_OK || strlen(err.msg) == 0) {
        abort(); /* a refusal always explains itself */
    }
    pat_set_free(set);
    return 0;
}
