/*
 * Rule file parsing: valid hsbench files with flags, extended parameters, slashes inside the
 * regex, metadata and combinations load as written; each class of malformed line is refused
 * with LSF_E_RULE and a message naming file:line; a refused file leaves the set unchanged.
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

static enum lsf_code add(struct pat_set *set, const char *text, struct lsf_err *err)
{
    lsf_err_clear(err);
    return pat_set_add_text(set, "t.rules", text, strlen(text), err);
}

static struct pat_set *new_set(void)
{
    struct pat_set *set = NULL;
    struct lsf_err err;

    lsf_err_clear(&err);
    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    return set;
}

/* The text must be refused as a rule error whose message holds every given fragment. */
static void expect_refused(const char *text, const char *frag1, const char *frag2)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    assert_int_equal(add(set, text, &err), LSF_E_RULE);
    assert_int_equal(err.code, LSF_E_RULE);
    if (strstr(err.msg, frag1) == NULL || (frag2 && strstr(err.msg, frag2) == NULL))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err.msg, frag1, frag2 ? frag2 : "");
    assert_int_equal(pat_set_n_patterns(set), 0);
    assert_int_equal(pat_set_n_rules(set), 0);
    pat_set_free(set);
}

static const struct pat_rule *rule_by_id(const struct pat_set *set, const char *id)
{
    for (size_t i = 0; i < pat_set_n_rules(set); i++) {
        if (strcmp(pat_set_rule(set, i)->id, id) == 0)
            return pat_set_rule(set, i);
    }
    fail_msg("no rule %s", id);
    return NULL;
}

static void test_valid_file_loads_flags_ext_and_metadata(void **state)
{
    static const char text[] =
            "# a comment\n"
            "\n"
            "#@ id=aws.cloudtrail.stop_logging severity=high formats=cloudtrail,json-array\n"
            "#@ title=CloudTrail logging was stopped\n"
            "#@ description=First line.\n"
            "#@ description=Second line.\n"
            "1001:/\"eventName\"\\s*:\\s*\"StopLogging\"/\n"
            "   # indented comment\n"
            "1002:/abc/ismV8WPL\n"
            "1003:/x.{1,5}y/s{min_offset=10,max_offset=2000, min_length=3 }\n"
            "1004:/fuzzy/{edit_distance=2}\n"
            "1005:/ham/H{hamming_distance=1}\n";
    struct pat_set *set = new_set();
    struct lsf_err err;
    const struct pat_pattern *pat;
    const struct pat_rule *rule;

    (void)state;
    assert_int_equal(add(set, text, &err), LSF_OK);
    assert_int_equal(pat_set_n_patterns(set), 5);
    assert_int_equal(pat_set_n_rules(set), 5);

    pat = pat_set_pattern(set, 0);
    assert_int_equal(pat->id, 1001);
    assert_string_equal(pat->expr, "\"eventName\"\\s*:\\s*\"StopLogging\"");
    assert_int_equal(pat->hs_flags, 0);
    assert_false(pat->is_quiet);
    assert_int_equal(pat->ext.flags, 0);
    assert_string_equal(pat->file, "t.rules");
    assert_int_equal(pat->line, 7);

    rule = pat_set_rule(set, 0);
    assert_string_equal(rule->id, "aws.cloudtrail.stop_logging");
    assert_string_equal(rule->title, "CloudTrail logging was stopped");
    assert_int_equal(rule->severity, PAT_SEV_HIGH);
    assert_string_equal(rule->formats, "cloudtrail,json-array");
    assert_string_equal(rule->description, "First line. Second line.");
    assert_int_equal(rule->n_code, 1);
    assert_int_equal(rule->code[0].op, PAT_OP_HIT);
    assert_int_equal(rule->code[0].arg, 0);
    assert_int_equal(rule->line, 7);

    pat = pat_set_pattern(set, 1);
    assert_int_equal(pat->hs_flags, HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE |
                    HS_FLAG_ALLOWEMPTY | HS_FLAG_UTF8 | HS_FLAG_UCP | HS_FLAG_PREFILTER |
                    HS_FLAG_SOM_LEFTMOST);
    /* No metadata: defaults. */
    rule = pat_set_rule(set, 1);
    assert_string_equal(rule->id, "pattern-1002");
    assert_string_equal(rule->title, "abc");
    assert_int_equal(rule->severity, PAT_SEV_MEDIUM);
    assert_null(rule->formats);
    assert_null(rule->description);

    pat = pat_set_pattern(set, 2);
    assert_int_equal(pat->hs_flags, HS_FLAG_DOTALL);
    assert_int_equal(pat->ext.flags,
            HS_EXT_FLAG_MIN_OFFSET | HS_EXT_FLAG_MAX_OFFSET | HS_EXT_FLAG_MIN_LENGTH);
    assert_int_equal(pat->ext.min_offset, 10);
    assert_int_equal(pat->ext.max_offset, 2000);
    assert_int_equal(pat->ext.min_length, 3);
    assert_int_equal(pat_set_pattern(set, 3)->ext.flags, HS_EXT_FLAG_EDIT_DISTANCE);
    assert_int_equal(pat_set_pattern(set, 3)->ext.edit_distance, 2);
    assert_int_equal(pat_set_pattern(set, 4)->ext.hamming_distance, 1);
    assert_true(pat_set_needs_event_scan(set));
    pat_set_free(set);
}

static void test_singlematch_flag_is_accepted_but_not_passed_to_hyperscan(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "1:/abc/HO\n", &err), LSF_OK);
    assert_int_equal(pat_set_pattern(set, 0)->hs_flags, 0);
    assert_false(pat_set_needs_event_scan(set));
    pat_set_free(set);
}

static void test_slashes_inside_the_regex_end_at_the_last_slash(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "5:/arn:aws:iam::aws:policy/Admin/i\n6:///\n", &err), LSF_OK);
    assert_string_equal(pat_set_pattern(set, 0)->expr, "arn:aws:iam::aws:policy/Admin");
    assert_int_equal(pat_set_pattern(set, 0)->hs_flags, HS_FLAG_CASELESS);
    assert_string_equal(pat_set_pattern(set, 1)->expr, "/");
    pat_set_free(set);
}

static void test_crlf_endings_and_surrounding_blanks_are_trimmed(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "#@ id=a.b\r\n  7:/x y/i  \r\n\r\n", &err), LSF_OK);
    assert_string_equal(pat_set_pattern(set, 0)->expr, "x y");
    assert_string_equal(pat_set_rule(set, 0)->id, "a.b");
    pat_set_free(set);
}

static void test_text_without_final_newline_keeps_its_last_line(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "1:/a/\n2:/b/", &err), LSF_OK);
    assert_int_equal(pat_set_n_patterns(set), 2);
    pat_set_free(set);
}

static void test_empty_text_adds_nothing(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;
    size_t n;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_add_text(set, "empty.rules", NULL, 0, &err), LSF_OK);
    assert_int_equal(add(set, "# only comments\n\n", &err), LSF_OK);
    assert_int_equal(pat_set_n_patterns(set), 0);
    assert_int_equal(pat_set_n_rules(set), 0);
    assert_null(pat_set_rules_of_pattern(set, 0, &n));
    assert_int_equal(n, 0);
    pat_set_free(set);
}

static void test_combination_compiles_to_postfix_over_indexes(void **state)
{
    /* The combination names IDs defined after it; quiet patterns make no rule. */
    static const char text[] =
            "#@ id=combo severity=critical\n"
            "9:/10 & !(11 | 12)/C\n"
            "10:/a/Q\n"
            "11:/b/Q\n"
            "12:/c/\n";
    struct pat_set *set = new_set();
    struct lsf_err err;
    const struct pat_rule *rule;

    (void)state;
    assert_int_equal(add(set, text, &err), LSF_OK);
    assert_int_equal(pat_set_n_patterns(set), 3);
    assert_int_equal(pat_set_n_rules(set), 2); /* the combination and pattern 12 */
    assert_true(pat_set_pattern(set, 0)->is_quiet);
    rule = rule_by_id(set, "combo");
    assert_int_equal(rule->severity, PAT_SEV_CRITICAL);
    assert_string_equal(rule->title, "10 & !(11 | 12)");
    assert_int_equal(rule->line, 2);
    /* 10 11 12 | ! & over indexes 0 1 2 */
    assert_int_equal(rule->n_code, 6);
    assert_int_equal(rule->code[0].op, PAT_OP_HIT);
    assert_int_equal(rule->code[0].arg, 0);
    assert_int_equal(rule->code[1].arg, 1);
    assert_int_equal(rule->code[2].arg, 2);
    assert_int_equal(rule->code[3].op, PAT_OP_OR);
    assert_int_equal(rule->code[4].op, PAT_OP_NOT);
    assert_int_equal(rule->code[5].op, PAT_OP_AND);
    pat_set_free(set);
}

static void test_combination_may_use_ids_of_an_earlier_file_but_not_a_later_one(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "1:/a/Q\n", &err), LSF_OK);
    assert_int_equal(add(set, "2:/1 & 3/C\n3:/b/\n", &err), LSF_OK);
    assert_int_equal(add(set, "4:/5 & 1/C\n", &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "t.rules:1: combination 4 refers to pattern 5"));
    assert_int_equal(add(set, "5:/c/\n", &err), LSF_OK);
    pat_set_free(set);
}

static void test_rules_of_pattern_lists_each_rule_once(void **state)
{
    static const char text[] =
            "1:/a/\n"
            "2:/b/Q\n"
            "3:/1 & !2 | 1 & 2/C\n"
            "4:/2 & 1/C\n"
            "5:/2 & !1/CQ\n";
    struct pat_set *set = new_set();
    struct lsf_err err;
    const unsigned *rules;
    size_t n;

    (void)state;
    assert_int_equal(add(set, text, &err), LSF_OK);
    assert_int_equal(pat_set_n_rules(set), 3); /* 1, 3 and 4; the quiet combination none */
    /* Pattern 1 is named by three rules, 2 by two: "1 & 2" is triggered by 2 alone, and
     * "1 & !2" by 1 (a NOT triggers nothing), so rule 3 is under both, once each. */
    rules = pat_set_rules_of_pattern(set, 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rules[0], 0);
    assert_int_equal(rules[1], 1);
    rules = pat_set_rules_of_pattern(set, 1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rules[0], 1);
    assert_int_equal(rules[1], 2);
    pat_set_free(set);
}

/* A literal many rules share gives way to one fewer rules name; an OR costs its sides
 * together. Costs here: ec2 3 (three rules), DeleteFlowLogs 1, the other two 2 each. */
static void test_rules_of_pattern_prefers_the_rarer_side(void **state)
{
    static const char text[] =
            "1:/ec2/Q\n"
            "2:/DeleteFlowLogs/Q\n"
            "3:/ModifyInstanceAttribute/Q\n"
            "4:/userData/Q\n"
            "10:/1 & 2/C\n"
            "11:/1 & (3 | 4)/C\n"
            "12:/1 & 3 & 4/C\n";
    struct pat_set *set = new_set();
    struct lsf_err err;
    const unsigned *rules;
    size_t n;

    (void)state;
    assert_int_equal(add(set, text, &err), LSF_OK);
    assert_int_equal(pat_set_n_rules(set), 3);
    rules = pat_set_rules_of_pattern(set, 0, &n); /* only where (3 | 4), cost 4, is dearer */
    assert_int_equal(n, 1);
    assert_int_equal(rules[0], 1);
    rules = pat_set_rules_of_pattern(set, 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(rules[0], 0);
    rules = pat_set_rules_of_pattern(set, 2, &n); /* 1 & 3 & 4: 3 first, 4 ties and loses */
    assert_int_equal(n, 1);
    assert_int_equal(rules[0], 2);
    (void)pat_set_rules_of_pattern(set, 3, &n);
    assert_int_equal(n, 0);
    pat_set_free(set);
}

static void test_rules_file_on_disk_is_named_in_messages(void **state)
{
    char path[] = "/tmp/test_pat_rules_XXXXXX";
    struct pat_set *set = new_set();
    struct lsf_err err;
    int fd = mkstemp(path);
    static const char text[] = "1:/a/\n2:/b/x\n";

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    lsf_err_clear(&err);
    assert_int_equal(pat_set_add_file(set, path, &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, ":2: pattern 2: unknown flag 'x'"));
    unlink(path);
    lsf_err_clear(&err);
    assert_int_equal(pat_set_add_file(set, path, &err), LSF_E_IO);
    assert_non_null(strstr(err.msg, "cannot open the rules file"));
    pat_set_free(set);
}

static void test_refused_file_leaves_the_set_as_it_was(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_int_equal(add(set, "#@ id=keep\n1:/a/\n", &err), LSF_OK);
    /* IDs 2 and 3 and rule id "later" are taken by this file until its last line fails. */
    assert_int_equal(add(set, "#@ id=later\n2:/b/\n3:/c/Q\n4:/2 & 99/C\n", &err), LSF_E_RULE);
    assert_int_equal(pat_set_n_patterns(set), 1);
    assert_int_equal(pat_set_n_rules(set), 1);
    assert_string_equal(pat_set_rule(set, 0)->id, "keep");
    /* Everything the failed call added is gone, so its IDs and rule ids are free again. */
    assert_int_equal(add(set, "#@ id=later\n2:/b/\n3:/c/\n", &err), LSF_OK);
    assert_int_equal(pat_set_n_patterns(set), 3);
    assert_int_equal(add(set, "1:/dup/\n", &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "pattern ID 1 is already used at t.rules:2"));
    pat_set_free(set);
}

static void test_refuses_line_without_colon(void **state)
{
    (void)state;
    expect_refused("1:/a/\n/StopLogging/\n", "t.rules:2: expected ID:/regex/flags", "no ':'");
}

static void test_refuses_id_that_is_not_a_number(void **state)
{
    (void)state;
    expect_refused("abc:/a/\n", "t.rules:1: 'abc' before the ':' is not a pattern ID", NULL);
    expect_refused("4294967296:/a/\n", "t.rules:1: '4294967296'", "0 to 4294967295");
    expect_refused(":/a/\n", "t.rules:1: '' before the ':'", NULL);
}

static void test_refuses_regex_without_slashes(void **state)
{
    (void)state;
    expect_refused("7:abc/\n", "t.rules:1: pattern 7: expected '/' right after '7:'", NULL);
    expect_refused("7:/abc\n", "t.rules:1: pattern 7: the regex has no closing '/'", NULL);
}

static void test_refuses_unknown_flag_letter(void **state)
{
    (void)state;
    expect_refused("\n12:/abc/iX\n", "t.rules:2: pattern 12: unknown flag 'X'",
            "flags are i s m H V 8 W P L C Q");
    expect_refused("12:/abc/i;\n", "t.rules:1: pattern 12: unexpected ';'", NULL);
}

static void test_refuses_malformed_ext_block(void **state)
{
    (void)state;
    expect_refused("3:/a/{min_ofset=3}\n", "t.rules:1: pattern 3: unknown extended parameter "
            "'min_ofset'", "min_offset, max_offset");
    expect_refused("3:/a/{min_offset=3\n", "t.rules:1: pattern 3", "not closed with '}'");
    expect_refused("3:/a/{min_offset=}\n", "pattern 3: extended parameter min_offset needs a "
            "decimal number", NULL);
    expect_refused("3:/a/{min_length=1,min_length=2}\n", "min_length given twice", NULL);
    expect_refused("3:/a/{edit_distance=4294967296}\n", "edit_distance=4294967296 is too large",
            NULL);
    expect_refused("3:/a/{min_length=1}x\n", "t.rules:1: pattern 3: text after the closing '}'",
            NULL);
}

static void test_refuses_unknown_metadata_key(void **state)
{
    (void)state;
    expect_refused("#@ id=a.b sevrity=high\n1:/a/\n", "t.rules:1: unknown metadata key "
            "'sevrity'", "known keys are id, title, severity, formats and description");
}

static void test_refuses_bad_metadata_values(void **state)
{
    (void)state;
    expect_refused("#@ severity=urgent\n1:/a/\n", "t.rules:1: severity 'urgent' is not one of",
            NULL);
    expect_refused("#@ id=has\"quote\n1:/a/\n", "t.rules:1: rule id 'has\"quote'", NULL);
    expect_refused("#@ formats=cloudtrail,,syslog\n1:/a/\n", "t.rules:1: formats=", NULL);
    expect_refused("#@ id=a\n#@ id=b\n1:/a/\n", "t.rules:2: metadata key 'id' given twice",
            NULL);
    expect_refused("#@ title=\n1:/a/\n", "t.rules:1: metadata title= is empty", NULL);
    expect_refused("#@ id\n1:/a/\n", "t.rules:1: metadata 'id' is not key=value", NULL);
    expect_refused("1:/a/\n#@ id=dangling\n", "t.rules:2: the #@ block is not followed by a "
            "pattern line", NULL);
    expect_refused("#@ id=q\n1:/a/Q\n", "t.rules:2: the #@ block at line 1 describes quiet "
            "pattern 1", NULL);
}

static void test_refuses_duplicate_id(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    expect_refused("1:/a/\n\n1:/b/\n", "t.rules:3: pattern ID 1 is already used at t.rules:1",
            "give each pattern its own ID");
    expect_refused("1:/a/\n1:/1/C\n", "t.rules:2: pattern ID 1 is already used", NULL);
    /* Across files of one set. */
    assert_int_equal(add(set, "1:/a/\n", &err), LSF_OK);
    assert_int_equal(add(set, "2:/b/\n1:/c/\n", &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "t.rules:2: pattern ID 1 is already used at t.rules:1"));
    pat_set_free(set);
}

static void test_refuses_duplicate_rule_id(void **state)
{
    (void)state;
    expect_refused("#@ id=x.y\n1:/a/\n#@ id=x.y\n2:/b/\n", "t.rules:4: rule id 'x.y' (pattern "
            "2) is already used by the rule at t.rules:2", NULL);
    expect_refused("#@ id=pattern-2\n1:/a/\n2:/b/\n", "rule id 'pattern-2'", NULL);
}

static void test_refuses_combination_with_unknown_id(void **state)
{
    (void)state;
    expect_refused("1:/a/\n9:/1 & 77/C\n", "t.rules:2: combination 9 refers to pattern 77, "
            "which is not defined", NULL);
}

static void test_refuses_combination_true_when_nothing_matched(void **state)
{
    (void)state;
    expect_refused("5:/a/\n9:/!5/C\n",
            "t.rules:2: combination 9 fires on events where nothing matched; add a positive "
            "term", NULL);
    expect_refused("5:/a/\n6:/b/\n9:/5 | !6/C\n", "t.rules:3: combination 9 fires on events "
            "where nothing matched", NULL);
    expect_refused("5:/a/\n9:/!5/CQ\n", "combination 9 fires on events where nothing", NULL);
}

static void test_refuses_unbalanced_parentheses(void **state)
{
    (void)state;
    expect_refused("1:/a/\n2:/b/\n9:/(1 & 2/C\n", "t.rules:3: combination 9: the '(' at column "
            "1 is never closed", NULL);
    expect_refused("1:/a/\n2:/b/\n9:/1 & 2)/C\n", "t.rules:3: combination 9: the ')' at column "
            "6 has no matching '('", NULL);
    expect_refused("1:/a/\n9:/()/C\n", "combination 9: expected a pattern ID or '(' at column "
            "2", NULL);
}

static void test_refuses_malformed_combination_expressions(void **state)
{
    (void)state;
    expect_refused("1:/a/\n9:/1 &/C\n", "combination 9: expected a pattern ID or '(' at the "
            "end", NULL);
    expect_refused("1:/a/\n9:/1 2/C\n", "combination 9: expected an operator", NULL);
    expect_refused("1:/a/\n9:/1 + 1/C\n", "column 3 ('+')", NULL);
    expect_refused("9:/ /C\n", "t.rules:1: combination 9 is empty", NULL);
    expect_refused("1:/a/\n9:/1 & 99999999999/C\n", "larger than 4294967295", NULL);
    expect_refused("1:/a/\n2:/1/C\n9:/1 & 2/C\n", "combination 9 refers to 2, which is itself "
            "a combination", NULL);
    expect_refused("1:/a/\n9:/1/Ci\n", "t.rules:2: combination 9 has flag 'i'", NULL);
    expect_refused("1:/a/\n9:/1/C{min_offset=1}\n", "combination 9 has a {...} block", NULL);
}

static void test_refuses_combinations_nested_too_deep(void **state)
{
    char text[2048];
    size_t n = 0;

    (void)state;
    /* 70 levels of parentheses. */
    n += (size_t)snprintf(text + n, sizeof(text) - n, "1:/a/\n9:/");
    for (int i = 0; i < 70; i++)
        text[n++] = '(';
    text[n++] = '1';
    for (int i = 0; i < 70; i++)
        text[n++] = ')';
    snprintf(text + n, sizeof(text) - n, "/C\n");
    expect_refused(text, "combination 9 nests parentheses more than", NULL);
    /* Right-nested ORs keep 40 operands pending at once. */
    n = (size_t)snprintf(text, sizeof(text), "1:/a/\n9:/");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "1 | (");
    text[n++] = '1';
    for (int i = 0; i < 40; i++)
        text[n++] = ')';
    snprintf(text + n, sizeof(text) - n, "/C\n");
    expect_refused(text, "combination 9 needs 41 operands pending at once", "regroup");
}

static void test_refuses_nul_byte(void **state)
{
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    lsf_err_clear(&err);
    assert_int_equal(pat_set_add_text(set, "t.rules", "1:/a/\n2:/b\0/\n", 12, &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "t.rules:2: the line holds a NUL byte"));
    pat_set_free(set);
}

static void test_severity_names(void **state)
{
    (void)state;
    assert_string_equal(pat_severity_name(PAT_SEV_INFO), "info");
    assert_string_equal(pat_severity_name(PAT_SEV_LOW), "low");
    assert_string_equal(pat_severity_name(PAT_SEV_MEDIUM), "medium");
    assert_string_equal(pat_severity_name(PAT_SEV_HIGH), "high");
    assert_string_equal(pat_severity_name(PAT_SEV_CRITICAL), "critical");
}

static void test_many_patterns_index_by_id(void **state)
{
    /* Enough IDs to grow the hash index several times; the last line duplicates an early ID. */
    size_t cap = 5000 * 24;
    char *text = malloc(cap);
    size_t n = 0;
    struct pat_set *set = new_set();
    struct lsf_err err;

    (void)state;
    assert_non_null(text);
    for (unsigned i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%u:/p%u/\n", i * 7, i);
    assert_int_equal(add(set, text, &err), LSF_OK);
    assert_int_equal(pat_set_n_rules(set), 5000);
    assert_int_equal(add(set, "20993:/x/\n", &err), LSF_E_RULE);
    assert_non_null(strstr(err.msg, "pattern ID 20993 is already used at t.rules:3000"));
    free(text);
    pat_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_loads_flags_ext_and_metadata),
        cmocka_unit_test(test_singlematch_flag_is_accepted_but_not_passed_to_hyperscan),
        cmocka_unit_test(test_slashes_inside_the_regex_end_at_the_last_slash),
        cmocka_unit_test(test_crlf_endings_and_surrounding_blanks_are_trimmed),
        cmocka_unit_test(test_text_without_final_newline_keeps_its_last_line),
        cmocka_unit_test(test_empty_text_adds_nothing),
        cmocka_unit_test(test_combination_compiles_to_postfix_over_indexes),
        cmocka_unit_test(test_combination_may_use_ids_of_an_earlier_file_but_not_a_later_one),
        cmocka_unit_test(test_rules_of_pattern_lists_each_rule_once),
        cmocka_unit_test(test_rules_of_pattern_prefers_the_rarer_side),
        cmocka_unit_test(test_rules_file_on_disk_is_named_in_messages),
        cmocka_unit_test(test_refused_file_leaves_the_set_as_it_was),
        cmocka_unit_test(test_refuses_line_without_colon),
        cmocka_unit_test(test_refuses_id_that_is_not_a_number),
        cmocka_unit_test(test_refuses_regex_without_slashes),
        cmocka_unit_test(test_refuses_unknown_flag_letter),
        cmocka_unit_test(test_refuses_malformed_ext_block),
        cmocka_unit_test(test_refuses_unknown_metadata_key),
        cmocka_unit_test(test_refuses_bad_metadata_values),
        cmocka_unit_test(test_refuses_duplicate_id),
        cmocka_unit_test(test_refuses_duplicate_rule_id),
        cmocka_unit_test(test_refuses_combination_with_unknown_id),
        cmocka_unit_test(test_refuses_combination_true_when_nothing_matched),
        cmocka_unit_test(test_refuses_unbalanced_parentheses),
        cmocka_unit_test(test_refuses_malformed_combination_expressions),
        cmocka_unit_test(test_refuses_combinations_nested_too_deep),
        cmocka_unit_test(test_refuses_nul_byte),
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_many_patterns_index_by_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
