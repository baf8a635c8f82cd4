/*
 * cli_geoip: the --geoip flag of logsift scan (see cli_geoip.h). The lookups themselves live
 * in patterns/pat_geoip.c, where the Sigma evaluator can reach them; this file only wires the
 * flag, so cli_scan.c needs a few lines.
 *
 * A rule that reads geoip.* with no database would see those fields missing on every event,
 * and a "not in allowlist" rule would then fire everywhere or nowhere without a word: the scan
 * refuses to start instead, naming the rule and the flag to add. The embedded default packs
 * are exempt: their GeoIP rules are written to stay silent without a database (exists guards,
 * counted values), and refusing would stop every scan run without --geoip.
 */
#include "cli_geoip.h"

#include <stdio.h>
#include <string.h>

#include "pat_sigma.h"

bool cli_geoip_is_flag(const char *arg)
{
    return strcmp(arg, "--geoip") == 0;
}

bool cli_geoip_parse(struct cli_geoip_opts *o, const char *val)
{
    if (o->n_paths == PAT_GEOIP_MAX_DBS) {
        fprintf(stderr, "logsift scan: --geoip %s: at most %d GeoIP databases; give a country "
                "and an ASN database\n", val, PAT_GEOIP_MAX_DBS);
        return false;
    }
    o->paths[o->n_paths++] = val;
    return true;
}

void cli_geoip_usage(FILE *to)
{
    fprintf(to,
            "      --geoip FILE.mmdb   MaxMind DB (GeoLite2-Country, GeoLite2-ASN, ...;\n"
            "                          repeatable): findings get the source IP's \"geo\", and\n"
            "                          Sigma rules may use geoip.country_iso_code, geoip.asn\n"
            "                          and geoip.as_org\n");
}

enum lsf_code cli_geoip_start(struct cli_geoip_opts *o, const struct pat_set *set,
        struct scan_config *cfg, struct lsf_err *err)
{
    enum lsf_code rc;

    if (o->n_paths == 0) {
        for (size_t i = 0; i < pat_set_n_rules(set); i++) {
            const struct pat_rule *r = pat_set_rule(set, i);
            unsigned line = 0;
            const char *field = pat_sigma_rule_geoip_field(r->sigma, &line);
            if (field == NULL || pat_sigma_rule_is_builtin(r->sigma))
                continue;
            return lsf_fail(err, LSF_E_USAGE, "rule %s (%s:%u) reads %s, which needs a GeoIP "
                    "database; pass --geoip GeoLite2-Country.mmdb (and --geoip "
                    "GeoLite2-ASN.mmdb for geoip.asn/as_org), or leave the rule out", r->id,
                    r->file ? r->file : "-", line ? line : r->line, field);
        }
        return LSF_OK;
    }
    rc = pat_geoip_new(&o->geo, err);
    for (size_t i = 0; rc == LSF_OK && i < o->n_paths; i++)
        rc = pat_geoip_add(o->geo, o->paths[i], err);
    if (rc == LSF_OK)
        cfg->geoip = o->geo;
    return rc;
}

void cli_geoip_cleanup(struct cli_geoip_opts *o)
{
    pat_geoip_free(o->geo);
    o->geo = NULL;
}
