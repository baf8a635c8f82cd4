/*
 * cli_geoip: scan --geoip FILE.mmdb (repeatable): opens the databases, refuses a rule set that
 * reads geoip.* fields when none is given (rules of the built-in packs excepted), and hands the
 * lookup to the engine.
 */
#ifndef CLI_GEOIP_H
#define CLI_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lsf_err.h"
#include "pat.h"
#include "pat_geoip.h"
#include "scan.h"

struct cli_geoip_opts {
    const char *paths[PAT_GEOIP_MAX_DBS];
    size_t n_paths;
    struct pat_geoip *geo; /* opened by cli_geoip_start */
};

/* Is arg the --geoip flag? */
bool cli_geoip_is_flag(const char *arg);
/* Keep --geoip's value; false after printing the error (too many databases). */
bool cli_geoip_parse(struct cli_geoip_opts *o, const char *val);
/* One usage line for scan --help. */
void cli_geoip_usage(FILE *to);

/*
 * Open the databases and point cfg->geoip at them, or, with none given, refuse a set whose
 * -r rules read geoip.* fields (built-in pack rules then simply find no country): LSF_E_USAGE
 * naming the rule, file:line and the field, and what to pass. LSF_E_USAGE for a file that is
 * no MaxMind DB; LSF_E_NOMEM.
 */
enum lsf_code cli_geoip_start(struct cli_geoip_opts *o, const struct pat_set *set,
        struct scan_config *cfg, struct lsf_err *err) LSF_WARN_UNUSED;
void cli_geoip_cleanup(struct cli_geoip_opts *o);

#endif
