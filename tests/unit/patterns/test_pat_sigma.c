/*
 * Sigma rules: the parser, every modifier, conditions, and one refusal per unsupported
 * feature. Every positive and negative case also checks the prefilter is a necessary
 * condition: where the detection holds, the rule's code holds on the Hyperscan hits of the
 * event's raw bytes (a miss there would be a lost finding).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"
#include "pat_sigma.h"
#include "sigma_test_util.h"

/* One rule, one event, prefilter checked too (sigma_test_util.h). */
static bool eval_one(const char *yaml, const char *event, bool is_json)
{
    return sigma_test_eval(yaml, event, is_json, NULL);
}

#define HEAD "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n"
#define LINEHEAD "title: t\nlogsource:\n  product: linux\ndetection:\n"

static bool json_rule(const char *det, const char *event)
{
    char yaml[4096];

    snprintf(yaml, sizeof(yaml), HEAD "%s", det);
    return eval_one(yaml, event, true);
}

/* ---- matching ---- */

static void test_exact_match_is_case_insensitive_and_whole(void **state)
{
    const char *d = "  sel:\n    eventName: StopLogging\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"eventName\":\"StopLogging\"}"));
    assert_true(json_rule(d, "{\"eventName\":\"stoplogging\"}"));
    assert_false(json_rule(d, "{\"eventName\":\"StopLoggingX\"}"));
    assert_false(json_rule(d, "{\"other\":\"StopLogging\"}"));
}

static void test_map_is_and_list_is_or(void **state)
{
    const char *d = "  sel:\n    a: x1\n    b:\n      - y1\n      - y2\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"a\":\"x1\",\"b\":\"y2\"}"));
    assert_false(json_rule(d, "{\"a\":\"x1\",\"b\":\"y3\"}"));
    assert_false(json_rule(d, "{\"b\":\"y1\"}"));
}

static void test_list_of_maps_is_or(void **state)
{
    const char *d = "  sel:\n    - a: one\n    - b: two\n      c: three\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"a\":\"one\"}"));
    assert_true(json_rule(d, "{\"b\":\"two\",\"c\":\"three\"}"));
    assert_false(json_rule(d, "{\"b\":\"two\"}"));
}

static void test_dotted_fields_arrays_and_dotted_keys(void **state)
{
    const char *d = "  sel:\n    userIdentity.sessionContext.sessionIssuer.type: Role\n"
                    "  condition: sel\n";
    const char *arr = "  sel:\n    req.items.cidr: '0.0.0.0/0'\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"userIdentity\":{\"sessionContext\":{\"sessionIssuer\":"
                             "{\"type\":\"Role\"}}}}"));
    assert_false(json_rule(d, "{\"userIdentity\":{\"type\":\"Role\"}}"));
    assert_true(json_rule(arr, "{\"req\":{\"items\":[{\"cidr\":\"1.2.3.4/32\"},"
                               "{\"cidr\":\"0.0.0.0/0\"}]}}"));
    assert_true(json_rule(arr, "{\"req\":{\"items\":{\"cidr\":[\"x\",\"0.0.0.0/0\"]}}}"));
    assert_true(json_rule(arr, "{\"req\":{\"items.cidr\":\"0.0.0.0/0\"}}"));
    assert_false(json_rule(arr, "{\"req\":{\"items\":[{\"cidr\":\"0.0.0.0/1\"}]}}"));
}

static void test_json_escapes_in_events(void **state)
{
    const char *d = "  sel:\n    eventName: StopLogging\n    path: 'a/b\"c'\n"
                    "  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"eventName\":\"\\u0053topLogging\",\"path\":\"a\\/b\\\"c\"}"));
    assert_true(json_rule(d, "{\"eventName\":\"StopLogging\",\"path\":\"a/b\\\"c\"}"));
    assert_false(json_rule(d, "{\"eventName\":\"StopLogging\",\"path\":\"a/bc\"}"));
}

static void test_numbers_booleans_and_null(void **state)
{
    const char *num = "  sel:\n    port: 22\n    ro: true\n  condition: sel\n";
    const char *nul = "  sel:\n    requestParameters: null\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(num, "{\"port\":22,\"ro\":true}"));
    assert_true(json_rule(num, "{\"port\":\"22\",\"ro\":\"TRUE\"}"));
    assert_false(json_rule(num, "{\"port\":2222,\"ro\":true}"));
    /* jansson prints 2.2e1 as 22: the prefilter must not look for the text "22" */
    assert_true(json_rule(num, "{\"port\":2.2e1,\"ro\":true}"));
    assert_true(json_rule(nul, "{\"requestParameters\":null}"));
    assert_true(json_rule(nul, "{\"other\":1}"));
    assert_false(json_rule(nul, "{\"requestParameters\":{}}"));
}

static void test_wildcards_and_escaped_wildcards(void **state)
{
    const char *d = "  sel:\n    arn: 'arn:aws:iam::*:ro?t'\n  condition: sel\n";
    const char *lit = "  sel:\n    v: 'a\\*b'\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(d, "{\"arn\":\"arn:aws:iam::123456789012:root\"}"));
    assert_true(json_rule(d, "{\"arn\":\"arn:aws:iam:::ro-t\"}"));
    assert_false(json_rule(d, "{\"arn\":\"arn:aws:iam::1:user/root\"}"));
    assert_true(json_rule(lit, "{\"v\":\"a*b\"}"));
    assert_false(json_rule(lit, "{\"v\":\"axxb\"}"));
}

static void test_contains_startswith_endswith_all_cased(void **state)
{
    const char *c = "  sel:\n    ua|contains: red-team\n  condition: sel\n";
    const char *s = "  sel:\n    n|startswith: Create\n  condition: sel\n";
    const char *e = "  sel:\n    n|endswith: User\n  condition: sel\n";
    const char *a = "  sel:\n    ua|contains|all:\n      - aws-cli\n      - linux\n"
                    "  condition: sel\n";
    const char *k = "  sel:\n    n|cased: ConsoleLogin\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(c, "{\"ua\":\"stratus-RED-TEAM_x\"}"));
    assert_false(json_rule(c, "{\"ua\":\"redteam\"}"));
    assert_true(json_rule(s, "{\"n\":\"createuser\"}"));
    assert_false(json_rule(s, "{\"n\":\"xCreate\"}"));
    assert_true(json_rule(e, "{\"n\":\"CreateUser\"}"));
    assert_false(json_rule(e, "{\"n\":\"UserCreate\"}"));
    assert_true(json_rule(a, "{\"ua\":\"aws-cli/2 Linux/5\"}"));
    assert_false(json_rule(a, "{\"ua\":\"aws-cli/2 Windows\"}"));
    assert_true(json_rule(k, "{\"n\":\"ConsoleLogin\"}"));
    assert_false(json_rule(k, "{\"n\":\"consolelogin\"}"));
}

static void test_re_exists_cidr_fieldref(void **state)
{
    const char *re = "  sel:\n    ua|re: '^aws-cli/[0-9]+'\n  condition: sel\n";
    const char *rei = "  sel:\n    ua|re|i: '^AWS-CLI'\n  condition: sel\n";
    const char *ex = "  sel:\n    n: X\n    errorCode|exists: false\n  condition: sel\n";
    const char *ext = "  sel:\n    a.invokedBy|exists: true\n  condition: sel\n";
    const char *ci = "  sel:\n    ip|cidr:\n      - 10.0.0.0/8\n      - 2001:db8::/32\n"
                     "  condition: sel\n";
    const char *fr = "  sel:\n    user|fieldref: target\n  condition: sel\n";
    (void)state;
    assert_true(json_rule(re, "{\"ua\":\"aws-cli/2.1\"}"));
    assert_false(json_rule(re, "{\"ua\":\"x aws-cli/2.1\"}"));
    assert_true(json_rule(rei, "{\"ua\":\"aws-cli\"}"));
    /* Literal runs a regex must hold feed the prefilter; optional parts must not. */
    assert_true(json_rule("  sel:\n    v|re: 'ab+cde?fgh(ijk)?lmn[op]qrs'\n  condition: sel\n",
            "{\"v\":\"abbbcdfghlmnoqrs\"}"));
    assert_true(json_rule("  sel:\n    v|re: 'x\\.exe(.*)?zzz{0,3}$'\n  condition: sel\n",
            "{\"v\":\"a.x.exezz\"}"));
    assert_true(json_rule("  sel:\n    v|re|i: 'Stop.+Log'\n  condition: sel\n",
            "{\"v\":\"stopXlog\"}"));
    assert_false(json_rule("  sel:\n    v|re: 'abc'\n  condition: sel\n",
            "{\"v\":\"ABC\"}"));
    assert_true(json_rule(ex, "{\"n\":\"X\"}"));
    assert_false(json_rule(ex, "{\"n\":\"X\",\"errorCode\":\"AccessDenied\"}"));
    assert_true(json_rule(ext, "{\"a\":{\"invokedBy\":\"s\"}}"));
    assert_false(json_rule(ext, "{\"a\":{\"invokedBy\":null}}"));
    assert_true(json_rule(ci, "{\"ip\":\"10.200.3.4\"}"));
    assert_true(json_rule(ci, "{\"ip\":\"2001:db8::1\"}"));
    assert_false(json_rule(ci, "{\"ip\":\"11.0.0.1\"}"));
    assert_false(json_rule(ci, "{\"ip\":\"cloudtrail.amazonaws.com\"}"));
    assert_true(json_rule(fr, "{\"user\":\"bob\",\"target\":\"bob\"}"));
    assert_false(json_rule(fr, "{\"user\":\"bob\",\"target\":\"eve\"}"));
}

static void test_keywords_and_line_fields(void **state)
{
    const char *kw = LINEHEAD "  keywords:\n    - 'Failed password'\n    - 'Invalid user'\n"
                              "  condition: keywords\n";
    const char *fields = LINEHEAD "  sel:\n    program: sudo\n    message|contains: 'NOT in "
                                  "sudoers'\n  condition: sel\n";
    (void)state;
    assert_true(eval_one(kw, "Mar 27 13:06:56 host sshd[1]: failed password for root", false));
    assert_false(eval_one(kw, "Mar 27 13:06:56 host sshd[1]: Accepted password", false));
    assert_true(eval_one(fields, "Mar 27 13:06:56 host sudo: bob : user NOT in sudoers ; "
                                 "TTY=pts/0", false));
    assert_true(eval_one(fields, "2024-03-27T13:06:56.1+00:00 host sudo[12]: bob : user NOT "
                                 "in sudoers", false));
    assert_false(eval_one(fields, "Mar 27 13:06:56 host su: bob : user NOT in sudoers",
            false));
}

static void test_rule_applies_to_its_kind_of_event_only(void **state)
{
    const char *aws_not = HEAD "  s:\n    eventVersion: '1.08'\n  condition: not s\n";
    const char *linux_not = LINEHEAD "  s:\n    program: cron\n  condition: not s\n";
    const char *any_kw = "title: t\ndetection:\n  k:\n    - StopLogging\n  condition: k\n";
    (void)state;
    assert_true(eval_one(aws_not, "{\"eventVersion\":\"1.05\"}", true));
    assert_false(eval_one(aws_not, "Mar 27 13:06:56 host sshd[1]: hello", false));
    assert_true(eval_one(linux_not, "Mar 27 13:06:56 host sshd[1]: hello", false));
    assert_false(eval_one(linux_not, "{\"program\":\"sshd\"}", true));
    assert_true(eval_one(any_kw, "{\"eventName\":\"StopLogging\"}", true));
    assert_true(eval_one(any_kw, "Mar 27 13:06:56 host x: stoplogging", false));
}

static void test_auth_user_and_rhost_fields(void **state)
{
    const char *r = LINEHEAD "  sel:\n    user: admin\n    rhost: 203.0.113.9\n"
                             "  condition: sel\n";
    const char *sudo = LINEHEAD "  sel:\n    user: bob\n  condition: sel\n";
    (void)state;
    assert_true(eval_one(r, "Feb 12 14:10:21 h sshd[1]: Invalid user admin from 203.0.113.9 "
                            "port 53502", false));
    assert_true(eval_one(r, "Feb 12 14:10:21 h sshd[1]: Failed password for invalid user admin "
                            "from 203.0.113.9 port 22 ssh2", false));
    assert_true(eval_one(r, "Feb 12 14:10:21 h sshd[1]: Failed password for admin from "
                            "203.0.113.9 port 22 ssh2", false));
    assert_true(eval_one(r, "Feb 12 14:10:21 h sshd[1]: pam_unix(sshd:auth): authentication "
                            "failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  "
                            "user=admin", false));
    assert_false(eval_one(r, "Feb 12 14:10:21 h sshd[1]: Failed password for admin from "
                             "203.0.113.99 port 22 ssh2", false));
    assert_true(eval_one(r, "Feb 12 14:10:21 h sshd[1]: Disconnected from authenticating "
                            "user admin 203.0.113.9 port 22 [preauth]", false));
    assert_true(eval_one(sudo, "Feb 12 14:10:21 h sudo:      bob : user NOT in sudoers ; "
                               "TTY=pts/0 ; USER=root ; COMMAND=/bin/sh", false));
}

/* OpenSSH's other ways of naming the client, and RFC 5424 lines (crowdsec hub samples). */
static void test_rhost_forms_and_rfc5424_lines(void **state)
{
    const char *r = LINEHEAD "  sel:\n    rhost: 203.0.113.9\n  condition: sel\n";
    const char *prog = LINEHEAD "  sel:\n    program: sshd\n    pid: '44255'\n"
                                "    hostname: OPNsense.localdomain\n  condition: sel\n";
    static const char *const lines[] = {
        "Jun  8 10:44:36 s sshd[3]: Unable to negotiate with 203.0.113.9 port 45626: no "
        "matching key exchange method found. [preauth]",
        "Jul  1 09:30:56 s sshd[8]: fatal: Timeout before authentication for 203.0.113.9 port "
        "47056",
        "Jul  1 09:30:56 s sshd[8]: Connection closed by invalid user  203.0.113.9 port 22 "
        "[preauth]",
        "Jul  1 09:30:56 s sshd[8]: refused connect from scanner.example (203.0.113.9)",
        "Jul  1 09:30:56 s sshd[8]: Invalid user tutu from 203.0.113.9",
        "<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - [meta sequenceId=\"1"
        "\"] Invalid user tutu from 203.0.113.9 port 33166",
        "<38>1 2022-01-19T14:23:55+00:00 h sshd 1 ID47 [a x=\"\\]\"][b] Failed password for x "
        "from 203.0.113.9 port 1 ssh2",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!eval_one(r, lines[i], false))
            fail_msg("no rhost 203.0.113.9 read from: %s", lines[i]);
    }
    assert_false(eval_one(r, "Jul  1 09:30:56 s sshd[8]: Invalid user tutu from "
                             "203.0.113.9x port 22", false));
    assert_true(eval_one(prog, lines[5], false));
    assert_false(eval_one(prog, "<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd - - "
                                "- Invalid user tutu", false)); /* "-": no pid */
}

/* ---- conditions ---- */

static void test_condition_precedence_and_parens(void **state)
{
    const char *sels = "  a:\n    x: '1'\n  b:\n    y: '1'\n  c:\n    z: '1'\n";
    char d[512];
    (void)state;
    /* a or b and c  ==  a or (b and c) */
    snprintf(d, sizeof(d), "%s  condition: a or b and c\n", sels);
    assert_true(json_rule(d, "{\"x\":\"1\"}"));
    assert_false(json_rule(d, "{\"y\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition: (a or b) and c\n", sels);
    assert_false(json_rule(d, "{\"x\":\"1\"}"));
    assert_true(json_rule(d, "{\"y\":\"1\",\"z\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition: a and not b\n", sels);
    assert_true(json_rule(d, "{\"x\":\"1\"}"));
    assert_false(json_rule(d, "{\"x\":\"1\",\"y\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition: not a\n", sels);
    assert_true(json_rule(d, "{\"q\":\"1\"}"));
    assert_false(json_rule(d, "{\"x\":\"1\"}"));
}

static void test_of_them_and_patterns(void **state)
{
    const char *sels = "  sel_a:\n    x: '1'\n  sel_b:\n    y: '1'\n  _helper:\n    z: '1'\n";
    char d[512];
    (void)state;
    snprintf(d, sizeof(d), "%s  condition: 1 of sel_*\n", sels);
    assert_true(json_rule(d, "{\"y\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition: all of sel_*\n", sels);
    assert_false(json_rule(d, "{\"y\":\"1\"}"));
    assert_true(json_rule(d, "{\"x\":\"1\",\"y\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition: all of them\n", sels);
    assert_true(json_rule(d, "{\"x\":\"1\",\"y\":\"1\"}")); /* _helper is not in "them" */
    snprintf(d, sizeof(d), "%s  condition: 1 of them\n", sels);
    assert_false(json_rule(d, "{\"z\":\"1\"}"));
    snprintf(d, sizeof(d), "%s  condition:\n    - sel_a and sel_b\n    - _helper\n", sels);
    assert_true(json_rule(d, "{\"z\":\"1\"}"));
    assert_false(json_rule(d, "{\"x\":\"1\"}"));
}

static void test_several_documents_in_one_file(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    const char *text = "title: base\nname: base\nlogsource:\n  product: aws\ndetection:\n"
                       "  s:\n    eventName: X\n  condition: s\n---\n"
                       "title: corr\ncorrelation:\n  type: event_count\n  rules: base\n"
                       "  group-by: a\n  timespan: 1m\n  condition:\n    gte: 3\n";
    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "m.yml", text, strlen(text), &err), LSF_OK);
    assert_int_equal(pat_set_n_rules(set), 2);
    assert_string_equal(pat_set_rule(set, 0)->id, "m");
    assert_string_equal(pat_set_rule(set, 1)->id, "m#2");
    assert_int_equal(pat_set_rule(set, 1)->line, 10);
    assert_int_equal(pat_sigma_corr_type(pat_set_rule(set, 1)->sigma), PAT_CORR_EVENT_COUNT);
    assert_int_equal(pat_sigma_corr_threshold(pat_set_rule(set, 1)->sigma), 3);
    assert_int_equal(pat_sigma_corr_timespan_ms(pat_set_rule(set, 1)->sigma), 60000);
    pat_set_free(set);
}

static void test_prefilter_info(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    const char *pre = HEAD "  sel:\n    eventName: StopLogging\n  condition: sel\n";
    const char *neg = HEAD "  sel:\n    eventName: StopLogging\n  condition: not sel\n";
    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "p.yml", pre, strlen(pre), &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "n.yml", neg, strlen(neg), &err), LSF_OK);
    /* Without an id, the file name is the rule id: the same name twice is refused. */
    assert_int_equal(pat_sigma_add_text(set, "n.yml", neg, strlen(neg), &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "already used"));
    assert_int_equal(pat_set_n_rules(set), 2);
    assert_true(pat_set_rule(set, 0)->n_code > 0);
    assert_non_null(strstr(pat_sigma_rule_info(pat_set_rule(set, 0)->sigma), "prefiltered by"));
    assert_int_equal(pat_set_rule(set, 1)->n_code, 0);
    assert_non_null(strstr(pat_sigma_rule_info(pat_set_rule(set, 1)->sigma), "not prefiltered"));
    pat_set_free(set);
}

/* A short, common literal ANDed with a long one is left to the confirmation: Hyperscan then
 * scans for the long one only, and the rule still matches exactly as before. */
static void test_weak_conjunct_is_left_to_confirmation(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    const char *text = HEAD "  sel:\n    eventName: CreatePolicyVersion\n"
                       "    requestParameters.setAsDefault: 'true'\n  condition: sel\n";
    const struct pat_rule *rule;
    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "w.yml", text, strlen(text), &err), LSF_OK);
    rule = pat_set_rule(set, 0);
    assert_null(strstr(pat_sigma_rule_info(rule->sigma), "true"));
    assert_non_null(strstr(pat_sigma_rule_info(rule->sigma), "CreatePolicyVersion"));
    for (size_t i = 0; i < pat_set_n_patterns(set); i++)
        assert_null(strstr(pat_set_pattern(set, i)->expr, "true"));
    pat_set_free(set);
    assert_true(eval_one(text, "{\"eventName\":\"CreatePolicyVersion\",\"requestParameters\":"
                               "{\"setAsDefault\":true}}", true));
    assert_false(eval_one(text, "{\"eventName\":\"CreatePolicyVersion\",\"requestParameters\":"
                                "{\"setAsDefault\":false}}", true));
}

/* An eventSource literal beside the action's name triggers nothing and is not compiled; the
 * action's literal (and the escape sentinel) trigger the rule, which still needs both fields. */
static void test_common_field_literal_is_left_to_confirmation(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    const char *text = HEAD "  sel:\n    eventSource: ec2.amazonaws.com\n"
                       "    eventName: DeleteFlowLogs\n  condition: sel\n";
    size_t n_dropped = 0, n_triggers = 0;
    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    assert_int_equal(pat_sigma_add_text(set, "c.yml", text, strlen(text), &err), LSF_OK);
    for (size_t i = 0; i < pat_set_n_patterns(set); i++) {
        const struct pat_pattern *p = pat_set_pattern(set, i);
        size_t n;
        (void)pat_set_rules_of_pattern(set, i, &n);
        if (strstr(p->expr, "ec2") != NULL) {
            assert_true(p->is_dropped);
            assert_int_equal(n, 0);
            n_dropped++;
        } else {
            assert_false(p->is_dropped);
            assert_int_equal(n, 1);
            n_triggers++;
        }
    }
    assert_int_equal(n_dropped, 1);
    assert_int_equal(n_triggers, 2);
    pat_set_free(set);
    assert_true(eval_one(text, "{\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":"
                               "\"DeleteFlowLogs\"}", true));
    assert_false(eval_one(text, "{\"eventSource\":\"ec2.example.com\",\"eventName\":"
                                "\"DeleteFlowLogs\"}", true));
}

/* ---- refusals: one per unsupported feature, each naming file:line and the feature ---- */

struct refusal {
    const char *yaml;
    const char *where;   /* "r.yml:N:" */
    const char *feature; /* a word the message must hold */
};

static const struct refusal refusals[] = {
    {HEAD "  sel:\n    c|base64offset|contains: x\n  condition: sel\n", "r.yml:7:", "base64offset"},
    {HEAD "  sel:\n    c|windash: x\n  condition: sel\n", "r.yml:7:", "windash"},
    {HEAD "  sel:\n    c|gt: 5\n  condition: sel\n", "r.yml:7:", "'gt'"},
    {HEAD "  sel:\n    c|utf16le: x\n  condition: sel\n", "r.yml:7:", "utf16le"},
    {HEAD "  sel:\n    c|expand: '%x%'\n  condition: sel\n", "r.yml:7:", "expand"},
    {HEAD "  sel:\n    c: x\n  condition: sel | count() by ip < 5\n", "r.yml:8:", "'< 5'"},
    {HEAD "  sel:\n    c: x\n  timeframe: 5m\n  condition: sel\n", "r.yml:9:", "timeframe"},
    {HEAD "  sel:\n    c: x\n  timeframe: 5m\n  condition: sel | count() < 5\n", "r.yml:9:",
            "'< 5'"},
    {HEAD "  sel:\n    c: x\n  timeframe: 5x\n  condition: sel | count() > 5\n", "r.yml:9:",
            "timeframe '5x'"},
    {HEAD "  sel:\n    c: x\n  timeframe: 5m\n  condition: sel | max(c) > 5\n", "r.yml:9:",
            "max(c)"},
    {"title: t\ncorrelation:\n  type: event_count\n", "r.yml:3:", "rules is missing"},
    {"title: t\ncorrelation:\n  type: event_count\n  rules: a\n  timespan: 5m\n"
     "  condition:\n    lt: 5\n", "r.yml:7:", "gt and gte only"},
    {"title: t\ncorrelation:\n  type: value_count\n  rules: a\n  timespan: 5m\n"
     "  condition:\n    gte: 5\n", "r.yml:7:", "condition.field"},
    {"title: t\ncorrelation:\n  type: temporal\n  rules: a\n  timespan: 5m\n", "r.yml:3:",
            "at least two rules"},
    {"title: t\ncorrelation:\n  type: event_count\n  rules: a\n  aliases: {}\n", "r.yml:5:",
            "aliases"},
    {"title: t\ncorrelation:\n  type: sequence\n", "r.yml:3:", "type must be"},
    {"title: t\ncorrelation:\n  type: event_count\n  rules: a\n  timespan: 5\n", "r.yml:5:",
            "timespan"},
    {"title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n"
     "detection:\n  s:\n    c: x\n  condition: s\n", "r.yml:7:", "has no detection"},
    {"title: t\naction: global\n", "r.yml:2:", "action"},
    /* the second document is refused, and the first one is dropped with it */
    {HEAD "  sel:\n    c: x\n  condition: sel\n---\ntitle: u\n", "r.yml:10:", "no detection"},
    {HEAD "  sel:\n    c: no\n  condition: sel\n", "r.yml:7:", "YAML 1.1"},
    {HEAD "  sel:\n    c: x\n  condition: sel and other\n", "r.yml:8:", "'other'"},
    {HEAD "  sel:\n    c: x\n  condition: 2 of sel\n", "r.yml:8:", "'2 of'"},
    {HEAD "  sel:\n    c|re: '(a)\\1'\n  condition: sel\n", "r.yml:7:", "Hyperscan"},
    {HEAD "  sel:\n    c: []\n  condition: sel\n", "r.yml:7:", "empty list"},
    {HEAD "  sel:\n    c:\n      k: v\n  condition: sel\n", "r.yml:8:", "map as its value"},
    {"title: t\nlogsource:\n  product: aws\n", "r.yml:1:", "detection"},
    {"logsource:\n  product: aws\ndetection:\n  s:\n    c: x\n  condition: s\n", "r.yml:1:",
            "title"},
    {"title: [unclosed\n", "r.yml:", "not valid YAML"},
    {HEAD "  sel:\n    ip|cidr: 300.1.1.1/8\n  condition: sel\n", "r.yml:7:", "cidr"},
    {HEAD "  sel:\n    c|exists: maybe\n  condition: sel\n", "r.yml:7:", "exists"},
    {HEAD "  sel:\n    c|contains|startswith: x\n  condition: sel\n", "r.yml:7:", "contains"},
    {HEAD "  sel:\n    c: x\n  condition: sel\nlevel: severe\n", "r.yml:9:", "level"},
    {HEAD "  sel:\n    c: x\n  condition: 1 of nothing*\n", "r.yml:8:", "matches no"},
    {HEAD "  sel:\n    c: x\n  condition: sel_*\n", "r.yml:8:", "wildcard"},
    {HEAD "  sel:\n    - x\n    - c: y\n  condition: sel\n", "r.yml:7:", "mixes keywords"},
    {HEAD "  sel:\n    '|re': x\n  condition: sel\n", "r.yml:7:", "field name"},
    {HEAD "  a: &m\n    c: x\n  sel:\n    - *m\n    - *m\n  condition: sel\n", "r.yml:9:",
            "aliases"},
    {HEAD "  sel:\n    c: x\n    c: y\n  condition: sel\n", "r.yml:8:", "'c' appears twice"},
};

static void test_refusals_name_line_and_feature(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        struct pat_set *set = NULL;
        struct lsf_err err;
        const struct refusal *r = &refusals[i];

        lsf_err_clear(&err);
        assert_int_equal(pat_set_new(&set, &err), LSF_OK);
        if (pat_sigma_add_text(set, "r.yml", r->yaml, strlen(r->yaml), &err) != LSF_E_RULE)
            fail_msg("case %zu was not refused:\n%s", i, r->yaml);
        if (strncmp(err.msg, r->where, strlen(r->where)) != 0 ||
                strstr(err.msg, r->feature) == NULL)
            fail_msg("case %zu: message '%s' should start with '%s' and name '%s'", i, err.msg,
                    r->where, r->feature);
        /* A refused file leaves the set as it was. */
        assert_int_equal(pat_set_n_rules(set), 0);
        assert_int_equal(pat_set_n_patterns(set), 0);
        pat_set_free(set);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_match_is_case_insensitive_and_whole),
        cmocka_unit_test(test_map_is_and_list_is_or),
        cmocka_unit_test(test_list_of_maps_is_or),
        cmocka_unit_test(test_dotted_fields_arrays_and_dotted_keys),
        cmocka_unit_test(test_json_escapes_in_events),
        cmocka_unit_test(test_numbers_booleans_and_null),
        cmocka_unit_test(test_wildcards_and_escaped_wildcards),
        cmocka_unit_test(test_contains_startswith_endswith_all_cased),
        cmocka_unit_test(test_re_exists_cidr_fieldref),
        cmocka_unit_test(test_keywords_and_line_fields),
        cmocka_unit_test(test_auth_user_and_rhost_fields),
        cmocka_unit_test(test_rhost_forms_and_rfc5424_lines),
        cmocka_unit_test(test_rule_applies_to_its_kind_of_event_only),
        cmocka_unit_test(test_condition_precedence_and_parens),
        cmocka_unit_test(test_of_them_and_patterns),
        cmocka_unit_test(test_prefilter_info),
        cmocka_unit_test(test_weak_conjunct_is_left_to_confirmation),
        cmocka_unit_test(test_common_field_literal_is_left_to_confirmation),
        cmocka_unit_test(test_several_documents_in_one_file),
        cmocka_unit_test(test_refusals_name_line_and_feature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
