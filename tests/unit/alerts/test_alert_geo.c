/*
 * --geoip data in the sinks: the JSONL "geo" member (only what is known), the OCSF
 * src_endpoint location/autonomous_system, the SNS "From:" line, the spool round trip, and the
 * HTML report's country/AS cells and country table.
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

#include <jansson.h>

#include "alert.h"
#include "alert_deliver.h"
#include "alert_record.h"
#include "alert_report.h"
#include "alert_spool.h"

static const char ct_event[] = "{\"eventID\":\"e-1\",\"eventName\":\"StopLogging\","
                               "\"sourceIPAddress\":\"86.245.153.234\"}";
static const char ssh_line[] = "Feb 12 14:10:21 h sshd[1]: Invalid user bob from 35.188.49.176 "
                               "port 53502";

static struct lsf_finding finding(const char *event, const struct lsf_geo *geo)
{
    struct lsf_finding f = {
        .rule_id = "r",
        .title = "t",
        .severity = "high",
        .source = "s",
        .format = "cloudtrail",
        .ts_ms = 1000,
        .event = (const unsigned char *)event,
        .event_len = strlen(event),
        .geo = geo,
    };
    return f;
}

static json_t *jsonl(const struct lsf_finding *f)
{
    struct lsf_buf out;
    json_t *o;

    lsf_buf_init(&out, 1 << 20);
    assert_int_equal(alert_jsonl_format(f, 4096, &out, NULL), LSF_OK);
    o = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(o);
    lsf_buf_cleanup(&out);
    return o;
}

static void test_jsonl_geo_member_holds_only_what_is_known(void **state)
{
    struct lsf_geo full = {"86.245.153.234", "FR", 3215, "Orange \"FR\""};
    struct lsf_geo country_only = {"88.223.251.9", "DE", 0, ""};
    struct lsf_finding f = finding(ct_event, &full);
    json_t *o, *g;

    (void)state;
    o = jsonl(&f);
    g = json_object_get(o, "geo");
    assert_string_equal(json_string_value(json_object_get(g, "ip")), "86.245.153.234");
    assert_string_equal(json_string_value(json_object_get(g, "country")), "FR");
    assert_int_equal(json_integer_value(json_object_get(g, "asn")), 3215);
    assert_string_equal(json_string_value(json_object_get(g, "as_org")), "Orange \"FR\"");
    assert_int_equal(json_integer_value(json_object_get(o, "v")), 1);
    json_decref(o);

    f = finding(ct_event, &country_only);
    o = jsonl(&f);
    g = json_object_get(o, "geo");
    assert_int_equal(json_object_size(g), 2);
    assert_null(json_object_get(g, "asn"));
    assert_null(json_object_get(g, "as_org"));
    json_decref(o);

    f = finding(ct_event, NULL);
    o = jsonl(&f);
    assert_null(json_object_get(o, "geo"));
    json_decref(o);
}

static void test_ocsf_src_endpoint_gets_location_and_as(void **state)
{
    struct lsf_geo full = {"86.245.153.234", "FR", 3215, "Orange"};
    struct lsf_geo line_geo = {"35.188.49.176", "US", 396982, "Google LLC"};
    struct lsf_finding f = finding(ct_event, &full);
    struct lsf_buf out;
    json_t *o, *src;

    (void)state;
    lsf_buf_init(&out, 1 << 20);
    assert_int_equal(alert_ocsf_format(&f, "why", 4096, &out, NULL), LSF_OK);
    o = json_loadb((const char *)out.data, out.len, 0, NULL);
    src = json_object_get(o, "src_endpoint");
    assert_string_equal(json_string_value(json_object_get(src, "ip")), "86.245.153.234");
    assert_string_equal(json_string_value(json_object_get(json_object_get(src, "location"),
                                "country")),
            "FR");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(src,
                                "autonomous_system"), "number")),
            3215);
    json_decref(o);
    /* A syslog line has no sourceIPAddress: the looked-up rhost is the endpoint. */
    out.len = 0;
    f = finding(ssh_line, &line_geo);
    assert_int_equal(alert_ocsf_format(&f, "why", 4096, &out, NULL), LSF_OK);
    o = json_loadb((const char *)out.data, out.len, 0, NULL);
    src = json_object_get(o, "src_endpoint");
    assert_string_equal(json_string_value(json_object_get(src, "ip")), "35.188.49.176");
    assert_string_equal(json_string_value(json_object_get(json_object_get(src,
                                "autonomous_system"), "name")),
            "Google LLC");
    json_decref(o);
    lsf_buf_cleanup(&out);
}

static void test_sns_from_line_names_country_and_as(void **state)
{
    struct lsf_geo full = {"86.245.153.234", "FR", 3215, "Orange"};
    struct lsf_geo asn_only = {"18.237.1.1", "", 16509, ""};
    struct lsf_finding f = finding(ct_event, &full);
    struct alert_record r;
    struct lsf_buf out;

    (void)state;
    lsf_buf_init(&out, 1 << 20);
    assert_int_equal(alert_record_from_finding(&f, "why", NULL, 4096, &r, NULL), LSF_OK);
    assert_int_equal(alert_sns_message(&r, &out, NULL), LSF_OK);
    assert_int_equal(lsf_buf_append(&out, "", 1, NULL), LSF_OK);
    assert_non_null(strstr((const char *)out.data, "From:   86.245.153.234 (FR, AS3215 Orange)\n"));
    alert_record_cleanup(&r);
    out.len = 0;
    f = finding("{\"sourceIPAddress\":\"18.237.1.1\"}", &asn_only);
    assert_int_equal(alert_record_from_finding(&f, "why", NULL, 4096, &r, NULL), LSF_OK);
    assert_int_equal(alert_sns_message(&r, &out, NULL), LSF_OK);
    assert_int_equal(lsf_buf_append(&out, "", 1, NULL), LSF_OK);
    assert_non_null(strstr((const char *)out.data, "From:   18.237.1.1 (AS16509)\n"));
    alert_record_cleanup(&r);
    lsf_buf_cleanup(&out);
}

static void test_spool_keeps_geo(void **state)
{
    struct lsf_geo full = {"86.245.153.234", "FR", 3215, "Orange"};
    struct lsf_finding with = finding(ct_event, &full);
    struct lsf_finding without = finding("{\"eventID\":\"e-2\"}", NULL);
    char dir[64], cmd[128];
    struct alert_spool *sp = NULL;
    struct alert_spooled s;
    struct alert_record r;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lsf-geo-spool-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(alert_spool_open(dir, &sp, NULL), LSF_OK);
    assert_int_equal(alert_record_from_finding(&with, "why", NULL, 4096, &r, NULL), LSF_OK);
    assert_int_equal(alert_spool_add(sp, &r, NULL), LSF_OK);
    alert_record_cleanup(&r);
    assert_int_equal(alert_record_from_finding(&without, "why", NULL, 4096, &r, NULL), LSF_OK);
    assert_int_equal(alert_spool_add(sp, &r, NULL), LSF_OK);
    alert_record_cleanup(&r);
    assert_int_equal(alert_spool_sync(sp, NULL), LSF_OK);
    memset(&s, 0, sizeof(s));
    assert_int_equal(alert_spool_load(sp, &s, NULL), LSF_OK);
    assert_int_equal(s.n_records, 2);
    assert_string_equal(s.records[0].geo_country, "FR");
    assert_int_equal(s.records[0].geo_asn, 3215);
    assert_string_equal(s.records[0].geo_as_org, "Orange");
    assert_string_equal(s.records[1].geo_country, "");
    assert_int_equal(s.records[1].geo_asn, 0);
    assert_string_equal(s.records[1].geo_as_org, "");
    alert_spooled_cleanup(&s);
    alert_spool_free(sp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The HTML of a report over these findings (a NULL-terminated list), as a string to free. */
static char *report_html(const struct lsf_finding *const *fs)
{
    struct alert_report *rep = NULL;
    struct alert_report_scan scan = {1, 10, 100, 0, 0};
    struct alert_record r;
    char path[] = "/tmp/lsf-geo-report-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp;
    long n;
    char *html;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(alert_report_new(&rep, NULL), LSF_OK);
    for (; *fs; fs++) {
        assert_int_equal(alert_record_from_finding(*fs, "why", NULL, 4096, &r, NULL), LSF_OK);
        assert_int_equal(alert_report_add(rep, &r, NULL), LSF_OK);
        alert_record_cleanup(&r);
    }
    assert_int_equal(alert_report_write(rep, &scan, path, NULL), LSF_OK);
    alert_report_free(rep);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    html = calloc(1, (size_t)n + 1);
    assert_non_null(html);
    assert_int_equal(fread(html, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    unlink(path);
    return html;
}

static void test_report_shows_country_and_as_per_source_ip(void **state)
{
    struct lsf_geo full = {"86.245.153.234", "FR", 3215, "Orange <\"FR\">"};
    struct lsf_geo country_only = {"88.223.251.9", "DE", 0, ""};
    static const char de_event[] = "{\"eventID\":\"e-3\",\"sourceIPAddress\":\"88.223.251.9\"}";
    static const char svc_event[] = "{\"eventID\":\"e-4\","
                                    "\"sourceIPAddress\":\"ec2.amazonaws.com\"}";
    struct lsf_finding fr_bare = finding(ct_event, NULL); /* same address, before it was located */
    struct lsf_finding fr = finding(ct_event, &full);
    struct lsf_finding de = finding(de_event, &country_only);
    struct lsf_finding svc = finding(svc_event, NULL);
    const struct lsf_finding *const fs[] = {&fr_bare, &fr, &fr, &de, &svc, NULL};
    char *html;

    (void)state;
    html = report_html(fs);
    assert_non_null(strstr(html, "<td class=\"key\">86.245.153.234</td><td class=\"country\">FR"
                                 "</td><td class=\"asn\">AS3215 Orange &lt;&quot;FR&quot;&gt;</td>"
                                 "<td class=\"count\">3</td>"));
    assert_non_null(strstr(html, "<td class=\"key\">88.223.251.9</td><td class=\"country\">DE"
                                 "</td><td class=\"asn\"></td><td class=\"count\">1</td>"));
    assert_non_null(strstr(html, "<td class=\"key\">ec2.amazonaws.com</td><td class=\"country\">"
                                 "</td><td class=\"asn\"></td><td class=\"count\">1</td>"));
    /* per country: the unlocated finding of the French address counts as unknown */
    assert_non_null(strstr(html, "<table id=\"top-countries\">"));
    assert_non_null(strstr(html, "<tr><td class=\"key\">(unknown)</td><td class=\"count\">2</td>"
                                 "</tr>\n<tr><td class=\"key\">FR</td><td class=\"count\">2</td>"
                                 "</tr>\n<tr><td class=\"key\">DE</td><td class=\"count\">1</td>"));
    free(html);
}

static void test_report_without_geo_has_no_geo_columns(void **state)
{
    struct lsf_finding f = finding(ct_event, NULL);
    const struct lsf_finding *const fs[] = {&f, NULL};
    char *html;

    (void)state;
    html = report_html(fs);
    assert_non_null(strstr(html, "<tr><td class=\"key\">86.245.153.234</td><td class=\"count\">1"));
    assert_null(strstr(html, "top-countries"));
    assert_null(strstr(html, "class=\"country\""));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_geo_member_holds_only_what_is_known),
        cmocka_unit_test(test_ocsf_src_endpoint_gets_location_and_as),
        cmocka_unit_test(test_sns_from_line_names_country_and_as),
        cmocka_unit_test(test_spool_keeps_geo),
        cmocka_unit_test(test_report_shows_country_and_as_per_source_ip),
        cmocka_unit_test(test_report_without_geo_has_no_geo_columns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
