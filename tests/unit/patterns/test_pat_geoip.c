/*
 * GeoIP lookups (pat_geoip) and the geoip.* Sigma fields, against small MaxMind DBs written at
 * test time by tests/data/geoip/make_mmdb.pl (libmaxmind-db-writer-perl) from networks.json.
 * Non-IP inputs must give no data and no error; the Sigma prefilter must never hide a geoip
 * match (it checks the rule's code holds on the event's raw hits wherever the rule matches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pat.h"
#include "pat_geoip.h"
#include "pat_sigma.h"
#include "sigma_test_util.h"

static char dir[64];
static char country_db[128];
static char asn_db[128];

static int make_dbs(void **state)
{
    char cmd[512];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lsf-geoip-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "perl '%s/tests/data/geoip/make_mmdb.pl' '%s'", LSF_SOURCE_DIR,
            dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make_mmdb.pl failed: install libmaxmind-db-writer-perl "
                "(tests/install-deps.sh)\n");
        return -1;
    }
    snprintf(country_db, sizeof(country_db), "%s/LogsiftTest-Country.mmdb", dir);
    snprintf(asn_db, sizeof(asn_db), "%s/LogsiftTest-ASN.mmdb", dir);
    return 0;
}

static int remove_dbs(void **state)
{
    (void)state;
    unlink(country_db);
    unlink(asn_db);
    rmdir(dir);
    return 0;
}

static struct pat_geoip *open_both(void)
{
    struct pat_geoip *geo = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(pat_geoip_new(&geo, &err), LSF_OK);
    if (pat_geoip_add(geo, country_db, &err) != LSF_OK || pat_geoip_add(geo, asn_db, &err) !=
            LSF_OK)
        fail_msg("cannot open the test databases: %s", err.msg);
    assert_int_equal(pat_geoip_n_dbs(geo), 2);
    return geo;
}

static bool lookup(const struct pat_geoip *geo, const char *s, struct lsf_geo *out)
{
    return pat_geoip_lookup(geo, s, strlen(s), out);
}

static void test_ipv4_gets_country_from_one_db_and_asn_from_the_other(void **state)
{
    struct pat_geoip *geo = open_both();
    struct lsf_geo g;

    (void)state;
    assert_true(lookup(geo, "86.245.153.234", &g));
    assert_string_equal(g.ip, "86.245.153.234");
    assert_string_equal(g.country, "FR");
    assert_int_equal(g.asn, 3215);
    assert_string_equal(g.as_org, "Orange");
    /* A different /16 inside the ASN's /15 but outside every country network. */
    assert_true(lookup(geo, "18.237.1.1", &g));
    assert_string_equal(g.country, "");
    assert_int_equal(g.asn, 16509);
    /* Country known, no ASN. */
    assert_true(lookup(geo, "88.223.251.255", &g));
    assert_string_equal(g.country, "DE");
    assert_int_equal(g.asn, 0);
    assert_string_equal(g.as_org, "");
    /* UTF-8 organization names come through intact. */
    assert_true(lookup(geo, "253.8.50.132", &g));
    assert_string_equal(g.as_org, "Test AS \xc3\xa9t\xc3\xa9");
    pat_geoip_free(geo);
}

static void test_ipv6_and_registered_country_fallback(void **state)
{
    struct pat_geoip *geo = open_both();
    struct lsf_geo g;

    (void)state;
    assert_true(lookup(geo, "2001:db8:1::5", &g));
    assert_string_equal(g.country, "JP");
    assert_int_equal(g.asn, 2497);
    assert_string_equal(g.as_org, "Internet Initiative Japan Inc.");
    assert_true(lookup(geo, "2001:DB8:2:0:0:0:0:1", &g));
    assert_string_equal(g.country, "CH"); /* only registered_country in that network */
    assert_int_equal(g.asn, 0);
    assert_false(lookup(geo, "2001:db8:3::1", &g));
    pat_geoip_free(geo);
}

static void test_unknown_address_has_no_data(void **state)
{
    struct pat_geoip *geo = open_both();
    struct lsf_geo g;

    (void)state;
    memset(&g, 'x', sizeof(g));
    assert_false(lookup(geo, "9.9.9.9", &g));
    assert_string_equal(g.ip, "");
    assert_string_equal(g.country, "");
    assert_int_equal(g.asn, 0);
    pat_geoip_free(geo);
}

static void test_non_ip_inputs_give_nothing_and_no_error(void **state)
{
    /* 075.050.255.67 read as octal would be 61.40.255.67, which the test DB places in KP:
     * finding no data proves it is not read that way. */
    static const char *const bad[] = {"ec2.amazonaws.com", "075.050.255.67", "225.01.00.16",
            "253.252.51.07", "AWS Internal", "", "1.2.3", "1.2.3.4.5", "86.245.153.234 ",
            " 86.245.153.234", "86.245.153.234/32", "0x56.245.153.234", "2001:db8:1::zz",
            "2001:db8:1::5%eth0", "::::", "300.1.1.1", "localhost"};
    struct pat_geoip *geo = open_both();
    char longer[600];
    struct lsf_geo g;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (lookup(geo, bad[i], &g))
            fail_msg("'%s' was looked up as an address (country %s)", bad[i], g.country);
        assert_false(pat_geoip_is_ip(bad[i], strlen(bad[i])));
    }
    memset(longer, '1', sizeof(longer));
    assert_false(pat_geoip_lookup(geo, longer, sizeof(longer), &g));
    assert_false(pat_geoip_lookup(geo, "86.245\0.153.234", 15, &g)); /* embedded NUL */
    /* The octal reading's own address is in the DB, so the DB is not what says no. */
    assert_true(lookup(geo, "61.40.255.67", &g));
    assert_string_equal(g.country, "KP");
    pat_geoip_free(geo);
}

static void test_input_need_not_be_nul_terminated(void **state)
{
    struct pat_geoip *geo = open_both();
    const char buf[] = "86.245.153.234\",\"userAgent\"";
    struct lsf_geo g;

    (void)state;
    assert_true(pat_geoip_lookup(geo, buf, 14, &g));
    assert_string_equal(g.country, "FR");
    assert_true(pat_geoip_is_ip(buf, 14));
    assert_false(pat_geoip_lookup(NULL, buf, 14, &g)); /* no databases: nothing */
    pat_geoip_free(geo);
}

static void test_bad_database_files_are_usage_errors_naming_the_path(void **state)
{
    struct pat_geoip *geo = NULL;
    struct lsf_err err;
    char not_mmdb[128];
    FILE *f;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_geoip_new(&geo, &err), LSF_OK);
    assert_int_equal(pat_geoip_add(geo, "/nonexistent/GeoLite2-Country.mmdb", &err),
            LSF_E_USAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/GeoLite2-Country.mmdb"));
    assert_non_null(strstr(err.msg, "No such file"));
    snprintf(not_mmdb, sizeof(not_mmdb), "%s/networks.json", dir);
    f = fopen(not_mmdb, "w");
    assert_non_null(f);
    fputs("{\"not\": \"a MaxMind DB\"}\n", f);
    fclose(f);
    lsf_err_clear(&err);
    assert_int_equal(pat_geoip_add(geo, not_mmdb, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, not_mmdb));
    assert_non_null(strstr(err.msg, ".mmdb"));
    unlink(not_mmdb);
    assert_int_equal(pat_geoip_n_dbs(geo), 0);
    lsf_err_clear(&err);
    for (int i = 0; i < PAT_GEOIP_MAX_DBS; i++)
        assert_int_equal(pat_geoip_add(geo, asn_db, &err), LSF_OK);
    assert_int_equal(pat_geoip_add(geo, asn_db, &err), LSF_E_USAGE);
    assert_non_null(strstr(err.msg, "at most"));
    pat_geoip_free(geo);
    pat_geoip_free(NULL);
}

/* ---- Sigma fields ---- */

/* One rule, one event, with geo given to the evaluator (sigma_test_util.h). */
static bool eval_geo(const char *yaml, const char *event, bool is_json,
        const struct pat_geoip *geo)
{
    return sigma_test_eval(yaml, event, is_json, geo);
}

#define CT_HEAD "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n"
#define ALLOWLIST_RULE CT_HEAD \
    "  selection:\n    eventName: ConsoleLogin\n    geoip.country_iso_code|exists: true\n" \
    "  allow:\n    geoip.country_iso_code: [US, fr]\n  condition: selection and not allow\n"

static void test_country_allowlist_rule(void **state)
{
    struct pat_geoip *geo = open_both();

    (void)state;
    /* DE is outside the allowlist; FR is in it (case-insensitive, as any Sigma value). */
    assert_true(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"88.223.251.9\"}", true, geo));
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"86.245.1.1\"}", true, geo));
    /* Unknown, non-IP and leading-zero sources have no country: silent. */
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"9.9.9.9\"}", true, geo));
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"signin.amazonaws.com\"}", true,
            geo));
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"075.050.255.67\"}", true, geo));
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":42}", true, geo));
    assert_false(eval_geo(ALLOWLIST_RULE, "{\"eventName\":\"ConsoleLogin\"}", true, geo));
    /* Without databases the fields are missing: no match (the CLI refuses such a run). */
    assert_false(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"88.223.251.9\"}", true, NULL));
    /* IPv6 source. */
    assert_true(eval_geo(ALLOWLIST_RULE,
            "{\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"2001:db8:1::7\"}", true, geo));
    pat_geoip_free(geo);
}

static void test_asn_and_org_fields_and_modifiers(void **state)
{
    struct pat_geoip *geo = open_both();
    const char *ev = "{\"eventName\":\"GetSecretValue\",\"sourceIPAddress\":\"18.236.253.47\"}";

    (void)state;
    assert_true(eval_geo(CT_HEAD "  s:\n    geoip.asn: 16509\n  condition: s\n", ev, true, geo));
    assert_false(eval_geo(CT_HEAD "  s:\n    geoip.asn: 3215\n  condition: s\n", ev, true, geo));
    assert_true(eval_geo(CT_HEAD "  s:\n    geoip.as_org|startswith: amazon\n  condition: s\n",
            ev, true, geo));
    assert_true(eval_geo(CT_HEAD "  s:\n    geoip.asn|re: '^165'\n  condition: s\n", ev, true,
            geo));
    assert_true(eval_geo(CT_HEAD "  s:\n    eventName: GetSecretValue\n"
                                 "    geoip.country_iso_code: US\n  condition: s\n",
            ev, true, geo));
    /* An ordinary field that happens to start with geoip. is still read from the event. */
    assert_true(eval_geo(CT_HEAD "  s:\n    geoip.city: Paris\n  condition: s\n",
            "{\"geoip\":{\"city\":\"Paris\"}}", true, geo));
    pat_geoip_free(geo);
}

static void test_sshd_rhost_is_the_source_on_lines(void **state)
{
    struct pat_geoip *geo = open_both();
    const char *rule = "title: t\nlogsource:\n  product: linux\ndetection:\n"
                       "  s:\n    program: sshd\n    geoip.asn: 396982\n  condition: s\n";

    (void)state;
    assert_true(eval_geo(rule, "Feb 12 14:10:21 h sshd[1]: Invalid user bob from 35.188.49.176 "
                               "port 53502", false, geo));
    assert_true(eval_geo(rule, "Feb 12 14:10:21 h sshd[1]: pam_unix(sshd:auth): authentication "
                               "failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=35.188.1.2",
            false, geo));
    assert_false(eval_geo(rule, "Feb 12 14:10:21 h sshd[1]: Invalid user bob from 9.9.9.9 "
                                "port 53502", false, geo));
    assert_false(eval_geo(rule, "Feb 12 14:10:21 h sshd[1]: Invalid user bob from "
                                "host.example.com port 53502", false, geo));
    pat_geoip_free(geo);
}

static void test_rule_geoip_field_is_named_for_the_cli(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    unsigned line = 0;
    const struct pat_rule *rule;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "a.yml", ALLOWLIST_RULE, strlen(ALLOWLIST_RULE),
                             &err),
            LSF_OK);
    rule = pat_set_rule(set, 0);
    assert_string_equal(pat_sigma_rule_geoip_field(rule->sigma, &line), "geoip.country_iso_code");
    assert_int_equal(line, 8);
    /* The geoip values give no literal: only eventName's does. */
    assert_null(strstr(pat_sigma_rule_info(rule->sigma), "FR"));
    assert_non_null(strstr(pat_sigma_rule_info(rule->sigma), "ConsoleLogin"));
    pat_set_free(set);
    set = NULL;
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    {
        const char *plain = CT_HEAD "  s:\n    eventName: ConsoleLogin\n  condition: s\n";
        assert_int_equal(pat_sigma_add_text(set, "b.yml", plain, strlen(plain), &err), LSF_OK);
    }
    assert_null(pat_sigma_rule_geoip_field(pat_set_rule(set, 0)->sigma, &line));
    assert_null(pat_sigma_rule_geoip_field(NULL, &line)); /* hsbench rules have no Sigma */
    pat_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_gets_country_from_one_db_and_asn_from_the_other),
        cmocka_unit_test(test_ipv6_and_registered_country_fallback),
        cmocka_unit_test(test_unknown_address_has_no_data),
        cmocka_unit_test(test_non_ip_inputs_give_nothing_and_no_error),
        cmocka_unit_test(test_input_need_not_be_nul_terminated),
        cmocka_unit_test(test_bad_database_files_are_usage_errors_naming_the_path),
        cmocka_unit_test(test_country_allowlist_rule),
        cmocka_unit_test(test_asn_and_org_fields_and_modifiers),
        cmocka_unit_test(test_sshd_rhost_is_the_source_on_lines),
        cmocka_unit_test(test_rule_geoip_field_is_named_for_the_cli),
    };

    return cmocka_run_group_tests(tests, make_dbs, remove_dbs);
}
