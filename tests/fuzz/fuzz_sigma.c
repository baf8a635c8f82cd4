/*
 * Fuzz target for the Sigma loader: the input is a rule file. It is loaded into a fresh set
 * (parse, prefilter compilation, correlation parsing; never compiled by Hyperscan), the set's
 * invariants are checked, and every rule is evaluated on fixed JSON and syslog events and on
 * the input bytes themselves taken as an event, so a rule that loads into an inconsistent
 * tree (a condition naming a missing identifier, a prefilter naming a missing pattern) is
 * caught. A refused file must leave the set empty.
 */
/* fuzz-libs: lsf_patterns lsf_base */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"
#include "pat_sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events[] = {
    ("{\"eventName\":\"StopLogging\",\"userIdentity\":{\"type\":\"Root\",\"arn\":"
     "\"arn:aws:iam::1:root\"},\"requestParameters\":{\"items\":[{\"a\":\"0.0.0.0/0\"},"
     "null,3,true]},\"sourceIPAddress\":\"10.1.2.3\"}"),
    ("Mar 27 13:06:56 host sshd[1]: Failed password for invalid user admin from 10.0.0.1 port "
     "22 ssh2"),
    "not json {",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pat_set *set = NULL;
    struct pat_sigma_event *ev = NULL;
    struct lsf_err err;
    enum lsf_code rc;

    lsf_err_clear(&err);
    if (pat_set_new(&set, &err) != LSF_OK)
        return 0;
    rc = pat_sigma_add_text(set, "fuzz.yml", (const char *)data, size, &err);
    if (rc != LSF_OK) {
        if (pat_set_n_rules(set) != 0 || pat_set_n_patterns(set) != 0 || err.msg[0] == '\0')
            abort();
        pat_set_free(set);
        return 0;
    }
    if (pat_sigma_event_new(set, &ev, &err) != LSF_OK) {
        pat_set_free(set);
        return 0;
    }
    for (size_t r = 0; r < pat_set_n_rules(set); r++) {
        const struct pat_rule *rule = pat_set_rule(set, r);
        char key[256], val[128];

        if (rule->sigma == NULL || rule->id == NULL || rule->title == NULL)
            abort();
        for (size_t i = 0; i < rule->n_code; i++) {
            if (rule->code[i].op == PAT_OP_HIT && rule->code[i].arg >= pat_set_n_patterns(set))
                abort();
        }
        (void)pat_sigma_rule_info(rule->sigma);
        for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++) {
            for (int is_json = 0; is_json < 2; is_json++) {
                pat_sigma_event_reset(ev, (const unsigned char *)events[e], strlen(events[e]),
                        is_json);
                (void)pat_sigma_rule_match(rule->sigma, ev);
                if (pat_sigma_corr_type(rule->sigma) != PAT_CORR_NONE)
                    pat_sigma_corr_keys(rule->sigma, ev, key, sizeof(key), val, sizeof(val));
            }
        }
        pat_sigma_event_reset(ev, data, size, 1);
        (void)pat_sigma_rule_match(rule->sigma, ev);
        pat_sigma_event_reset(ev, data, size, 0);
        (void)pat_sigma_rule_match(rule->sigma, ev);
    }
    pat_sigma_event_free(ev);
    pat_set_free(set);
    return 0;
}
