/*
 * The hsbench default pack (patterns/default.rules) after its detections moved to the Sigma
 * packs (patterns/packs): it still loads, it holds no rule of its own (so nothing fires twice
 * once the Sigma engine embeds the packs), and every retired rule id is listed with the Sigma
 * rule that replaces it, which exists and is a complete rule of the right log source. What the
 * Sigma rules detect is tested on real events by tests/accuracy (ctest packs_sigma_ref and
 * packs_accuracy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"
#include "pat_sigma.h"

/* The ids bench/gen.c's ground truth and earlier logsift releases used. */
static const char *const retired_ids[] = {
    "aws.cloudtrail.stop_logging", "aws.cloudtrail.delete_trail", "aws.cloudtrail.update_trail",
    "aws.cloudtrail.put_event_selectors", "aws.ec2.delete_flow_logs", "aws.logs.delete_log_group",
    "aws.logs.delete_log_stream", "aws.logs.put_retention_policy",
    "aws.logs.delete_retention_policy", "aws.logs.disassociate_kms_key",
    "aws.logs.delete_metric_filter", "aws.logs.delete_subscription_filter",
    "aws.logs.create_export_task", "aws.cloudwatch.delete_alarms",
    "aws.cloudwatch.disable_alarm_actions", "aws.kms.schedule_key_deletion", "aws.kms.disable_key",
    "aws.guardduty.delete_detector", "aws.organizations.leave_organization",
    "aws.signin.console_login_without_mfa", "aws.signin.root_console_login",
    "aws.iam.update_assume_role_policy", "aws.iam.create_access_key",
    "aws.iam.create_login_profile", "aws.iam.update_login_profile", "aws.iam.attach_admin_policy",
    "aws.sts.get_federation_token", "aws.ec2.security_group_open_to_world",
    "aws.ec2.snapshot_shared", "aws.ec2.ami_shared", "aws.rds.snapshot_shared",
    "aws.ec2.send_ssh_public_key", "aws.ec2.send_serial_console_ssh_public_key",
    "aws.ec2.modify_user_data", "linux.sshd.failed_password", "linux.sshd.invalid_user",
    "linux.pam.auth_failure", "linux.sshd.max_auth_attempts", "linux.sshd.root_login",
    "linux.sudo.not_in_sudoers", "linux.sudo.incorrect_password", "linux.su.auth_failure",
    "linux.account.added_to_admin_group", "linux.account.uid0_created",
};
#define N_RETIRED (sizeof(retired_ids) / sizeof(retired_ids[0]))

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        if (data && fread(data, 1, (size_t)size, fp) == (size_t)size) {
            data[size] = '\0';
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(fp);
    return data;
}

/* A set holding the embedded default packs (the test fails if they do not load). */
static struct pat_set *default_set(struct lsf_err *err)
{
    struct pat_set *set = NULL;

    lsf_err_clear(err);
    assert_int_equal(pat_set_new(&set, err), LSF_OK);
    if (pat_set_add_default(set, err) != LSF_OK)
        fail_msg("default pack: %s", err->msg);
    return set;
}

static void test_default_pack_loads_and_holds_no_hsbench_rule(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;

    (void)state;
    set = default_set(&err);
    /* Rules the Sigma engine embeds come from their .yml files, never from default.rules. */
    for (size_t r = 0; r < pat_set_n_rules(set); r++) {
        const struct pat_rule *rule = pat_set_rule(set, r);
        if (strcmp(rule->file, "default.rules") == 0)
            fail_msg("default.rules:%u: rule %s duplicates a Sigma rule of patterns/packs",
                    rule->line, rule->id);
    }
    pat_set_free(set);
}

/* Rules of the embedded packs are built in, so their GeoIP rule (geoip/) runs without --geoip;
 * the same file loaded from disk (-r) is not, and still needs the flag. */
static void test_embedded_rules_are_builtin_and_files_are_not(void **state)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    size_t n_geo = 0;
    unsigned line = 0;

    (void)state;
    set = default_set(&err);
    for (size_t r = 0; r < pat_set_n_rules(set); r++) {
        const struct pat_rule *rule = pat_set_rule(set, r);
        if (rule->sigma == NULL)
            continue;
        assert_true(pat_sigma_rule_is_builtin(rule->sigma));
        n_geo += pat_sigma_rule_geoip_field(rule->sigma, &line) != NULL;
    }
    assert_int_equal(n_geo, 1);
    pat_set_free(set);

    assert_int_equal(pat_set_new(&set, &err), LSF_OK);
    if (pat_set_add_path(set, LSF_SOURCE_DIR "/patterns/packs/correlations/"
                "linux_sshd_accepted_login.yml", &err) != LSF_OK ||
            pat_set_add_path(set, LSF_SOURCE_DIR "/patterns/packs/geoip", &err) != LSF_OK)
        fail_msg("packs from disk: %s", err.msg);
    assert_true(pat_set_n_rules(set) == 2);
    for (size_t r = 0; r < pat_set_n_rules(set); r++)
        assert_false(pat_sigma_rule_is_builtin(pat_set_rule(set, r)->sigma));
    pat_set_free(set);
}

/* The "#   ID -> PATH" line of default.rules for id, or NULL. Writes PATH into path. */
static const char *find_mapping(const char *rules, const char *id, char *path, size_t cap)
{
    size_t id_len = strlen(id);

    for (const char *p = rules; (p = strstr(p, id)) != NULL; p += id_len) {
        const char *arrow;
        size_t n;
        if (p < rules + 4 || memcmp(p - 4, "#   ", 4) != 0 || p[id_len] != ' ')
            continue;
        arrow = strstr(p, "-> ");
        if (arrow == NULL || memchr(p, '\n', (size_t)(arrow - p)) != NULL)
            continue;
        arrow += 3;
        n = strcspn(arrow, " \n");
        if (n + 1 > cap)
            return NULL;
        memcpy(path, arrow, n);
        path[n] = '\0';
        return p;
    }
    return NULL;
}

static void test_every_retired_id_names_its_sigma_rule(void **state)
{
    char *rules = read_file(LSF_SOURCE_DIR "/patterns/default.rules");
    size_t n_arrows = 0;

    (void)state;
    assert_non_null(rules);
    for (const char *p = rules; (p = strstr(p, " -> ")) != NULL; p += 4)
        n_arrows++;
    /* One mapping line per retired id, plus the heading line "Retired id -> Sigma rule". */
    assert_int_equal(n_arrows, N_RETIRED + 1);
    for (size_t i = 0; i < N_RETIRED; i++) {
        char rel[256];
        char full[512];
        char *yml;
        const bool is_aws = strncmp(retired_ids[i], "aws.", 4) == 0;
        if (find_mapping(rules, retired_ids[i], rel, sizeof(rel)) == NULL)
            fail_msg("default.rules does not say which Sigma rule replaces %s", retired_ids[i]);
        assert_true(strncmp(rel, is_aws ? "cloudtrail/" : "auth/", is_aws ? 11 : 5) == 0);
        snprintf(full, sizeof(full), "%s/patterns/packs/%s", LSF_SOURCE_DIR, rel);
        yml = read_file(full);
        if (yml == NULL)
            fail_msg("%s: the Sigma rule replacing %s is missing", rel, retired_ids[i]);
        for (const char *key = "title:\0id:\0description:\0tags:\0detection:\0condition:\0"
                               "falsepositives:\0level:\0";
                *key; key += strlen(key) + 1) {
            if (strstr(yml, key) == NULL)
                fail_msg("%s has no %s", rel, key);
        }
        if (strstr(yml, is_aws ? "product: aws" : "product: linux") == NULL)
            fail_msg("%s: wrong logsource for %s", rel, retired_ids[i]);
        free(yml);
    }
    free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_pack_loads_and_holds_no_hsbench_rule),
        cmocka_unit_test(test_every_retired_id_names_its_sigma_rule),
        cmocka_unit_test(test_embedded_rules_are_builtin_and_files_are_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
