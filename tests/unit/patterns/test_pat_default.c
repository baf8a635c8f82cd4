/*
 * The default pack: it loads and compiles; every rule carries full metadata; each rule fires
 * on its own positive sample (minified and pretty-printed JSON for CloudTrail) and on nothing
 * else; near-miss samples fire nothing; on the real logs in shared/data, each Stratus Red Team
 * detonation fires exactly the rules of its technique and the Elastic auth.log the expected
 * counts. Events are scanned one by one with hs_scan, as the engine's per-event mode does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"

struct fixture {
    struct pat_set *set;
    struct pat_db *db;
    hs_scratch_t *scratch;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct lsf_err err;

    lsf_err_clear(&err);
    if (fx == NULL || pat_set_new(&fx->set, &err) != LSF_OK ||
            pat_set_add_default(fx->set, &err) != LSF_OK ||
            pat_db_build(fx->set, NULL, &fx->db, &err) != LSF_OK ||
            hs_alloc_scratch(pat_db_hs(fx->db), &fx->scratch) != HS_SUCCESS) {
        fprintf(stderr, "default pack: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    hs_free_scratch(fx->scratch);
    pat_db_free(fx->db);
    pat_set_free(fx->set);
    free(fx);
    return 0;
}

struct hit_list {
    unsigned idx[256];
    size_t n;
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
        unsigned flags, void *ctx)
{
    struct hit_list *h = ctx;

    (void)from;
    (void)to;
    (void)flags;
    for (size_t i = 0; i < h->n; i++) {
        if (h->idx[i] == id)
            return 0;
    }
    if (h->n < 256)
        h->idx[h->n++] = id;
    return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a;
    unsigned y = *(const unsigned *)b;

    return (x > y) - (x < y);
}

/* Scan one event and write the ids of the rules that fire into out ("a,b"), or "". */
static void fire(const struct fixture *fx, const char *event, size_t len, char *out, size_t cap)
{
    struct hit_list h;
    size_t n_out = 0;

    h.n = 0;
    out[0] = '\0';
    assert_int_equal(hs_scan(pat_db_hs(fx->db), event, (unsigned)len, 0, fx->scratch, on_match,
                             &h),
            HS_SUCCESS);
    qsort(h.idx, h.n, sizeof(h.idx[0]), cmp_unsigned);
    for (size_t r = 0; r < pat_set_n_rules(fx->set); r++) {
        const struct pat_rule *rule = pat_set_rule(fx->set, r);
        if (pat_rule_eval(rule, h.idx, h.n))
            n_out += (size_t)snprintf(out + n_out, cap - n_out, "%s%s", n_out ? "," : "",
                    rule->id);
    }
}

static void expect_fires(const struct fixture *fx, const char *event, const char *want)
{
    char got[1024];

    fire(fx, event, strlen(event), got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("event %s\n  fired [%s]\n  wanted [%s]", event, got, want);
}

/* The same JSON with a space after each ':' and each key on its own line, as pretty-printers
 * write it. */
static void prettify(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; *in && n + 8 < cap; in++) {
        out[n++] = *in;
        if (*in == ':' && in[-1] == '"' && in[1] != ':')
            out[n++] = ' ';
        if ((*in == ',' || *in == '{') && in[1] == '"') {
            memcpy(out + n, "\n   ", 4);
            n += 4;
        }
    }
    out[n] = '\0';
}

#define EV(name)                                                                                \
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},"  \
    "\"eventTime\":\"2024-08-01T12:00:00Z\",\"eventSource\":\"x.amazonaws.com\",\"eventName\":" \
    "\"" name "\",\"awsRegion\":\"us-east-1\",\"requestParameters\":null}"

struct sample {
    const char *rule_id;
    const char *event;
};

static const struct sample aws_samples[] = {
    {"aws.cloudtrail.stop_logging", EV("StopLogging")},
    {"aws.cloudtrail.delete_trail", EV("DeleteTrail")},
    {"aws.cloudtrail.update_trail", EV("UpdateTrail")},
    {"aws.cloudtrail.put_event_selectors", EV("PutEventSelectors")},
    {"aws.ec2.delete_flow_logs", EV("DeleteFlowLogs")},
    {"aws.logs.delete_log_group", EV("DeleteLogGroup")},
    {"aws.logs.delete_log_stream", EV("DeleteLogStream")},
    {"aws.logs.put_retention_policy", EV("PutRetentionPolicy")},
    {"aws.logs.delete_retention_policy", EV("DeleteRetentionPolicy")},
    {"aws.logs.disassociate_kms_key", EV("DisassociateKmsKey")},
    {"aws.logs.delete_metric_filter", EV("DeleteMetricFilter")},
    {"aws.logs.delete_subscription_filter", EV("DeleteSubscriptionFilter")},
    {"aws.logs.create_export_task", EV("CreateExportTask")},
    {"aws.cloudwatch.delete_alarms", EV("DeleteAlarms")},
    {"aws.cloudwatch.disable_alarm_actions", EV("DisableAlarmActions")},
    {"aws.kms.schedule_key_deletion", EV("ScheduleKeyDeletion")},
    {"aws.kms.disable_key", EV("DisableKey")},
    {"aws.guardduty.delete_detector",
            "{\"eventSource\":\"guardduty.amazonaws.com\",\"eventName\":\"DeleteDetector\","
            "\"requestParameters\":{\"detectorId\":\"12abc\"}}"},
    {"aws.organizations.leave_organization", EV("LeaveOrganization")},
    {"aws.signin.console_login_without_mfa",
            "{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"},\"eventSource\":"
            "\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"responseElements\":"
            "{\"ConsoleLogin\":\"Success\"},\"additionalEventData\":{\"LoginTo\":"
            "\"https://console.aws.amazon.com/\",\"MobileVersion\":\"No\",\"MFAUsed\":\"NO\"}}"},
    {"aws.signin.root_console_login",
            "{\"userIdentity\":{\"type\":\"Root\",\"arn\":\"arn:aws:iam::1:root\"},"
            "\"eventName\":\"ConsoleLogin\",\"errorMessage\":\"Failed authentication\","
            "\"responseElements\":{\"ConsoleLogin\":\"Failure\"},\"additionalEventData\":"
            "{\"MFAUsed\":\"Yes\"}}"},
    {"aws.iam.update_assume_role_policy", EV("UpdateAssumeRolePolicy")},
    {"aws.iam.create_access_key", EV("CreateAccessKey")},
    {"aws.iam.create_login_profile", EV("CreateLoginProfile")},
    {"aws.iam.update_login_profile", EV("UpdateLoginProfile")},
    {"aws.iam.attach_admin_policy",
            "{\"eventName\":\"AttachGroupPolicy\",\"requestParameters\":{\"groupName\":\"g\","
            "\"policyArn\":\"arn:aws-us-gov:iam::aws:policy/AdministratorAccess\"}}"},
    {"aws.sts.get_federation_token", EV("GetFederationToken")},
    {"aws.ec2.security_group_open_to_world",
            "{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"requestParameters\":{\"groupId\":"
            "\"sg-1\",\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":3389,"
            "\"ipv6Ranges\":{\"items\":[{\"cidrIpv6\":\"::/0\"}]}}]}}}"},
    {"aws.ec2.snapshot_shared",
            "{\"eventName\":\"ModifySnapshotAttribute\",\"requestParameters\":{\"snapshotId\":"
            "\"snap-1\",\"createVolumePermission\":{\"add\":{\"items\":[{\"group\":\"all\"}]}}}}"},
    {"aws.ec2.ami_shared",
            "{\"eventName\":\"ModifyImageAttribute\",\"requestParameters\":{\"imageId\":\"ami-1\","
            "\"launchPermission\":{\"add\":{\"items\":[{\"userId\":\"111122223333\"}]}}}}"},
    {"aws.rds.snapshot_shared",
            "{\"eventName\":\"ModifyDBClusterSnapshotAttribute\",\"requestParameters\":"
            "{\"attributeName\":\"restore\",\"valuesToAdd\":[\"all\"]}}"},
    {"aws.ec2.send_ssh_public_key", EV("SendSSHPublicKey")},
    {"aws.ec2.send_serial_console_ssh_public_key", EV("SendSerialConsoleSSHPublicKey")},
    {"aws.ec2.modify_user_data",
            "{\"eventName\":\"ModifyInstanceAttribute\",\"requestParameters\":{\"instanceId\":"
            "\"i-1\",\"userData\":\"<sensitiveDataRemoved>\"}}"},
};

static const struct sample auth_samples[] = {
    {"linux.sshd.failed_password", "Mar 29 10:00:01 host sshd[123]: Failed password for invalid "
            "user admin from 1.2.3.4 port 4242 ssh2"},
    {"linux.sshd.invalid_user", "Feb 12 14:10:21 sd-126005 sshd-session[16378]: Invalid user "
            "pascal from 35.188.49.176 port 53502"},
    {"linux.sshd.invalid_user", "<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd "
            "44255 - [meta sequenceId=\"1\"] Invalid user tutu from 1.2.3.4 port 33166"},
    {"linux.pam.auth_failure", "Dec  7 14:52:59 h sudo: pam_unix(sudo:auth): authentication "
            "failure; logname=zbadguy uid=4001 euid=0 tty=/dev/pts/12 ruser=zbadguy rhost=  "
            "user=zbadguy"},
    {"linux.sshd.max_auth_attempts", "Mar 27 13:10:01 ip-10-77-20-248 sshd[1234]: error: maximum "
            "authentication attempts exceeded for root from 1.2.3.4 port 5555 ssh2 [preauth]"},
    {"linux.sshd.root_login", "Apr  1 10:00:00 h sshd[99]: Accepted publickey for root from "
            "10.0.0.5 port 50000 ssh2: RSA SHA256:abc"},
    {"linux.sshd.root_login", "Apr  1 10:00:00 h sshd[99]: Accepted keyboard-interactive/pam for "
            "root from 10.0.0.5 port 50000 ssh2"},
    {"linux.sudo.not_in_sudoers", "Jun 22 07:07:44 h sudo:   nobody : user NOT in sudoers ; "
            "TTY=console ; PWD=/some/path ; USER=root ; COMMAND=/bin/ls"},
    {"linux.sudo.incorrect_password", "Jun 22 07:08:44 h sudo:   bob : 3 incorrect password "
            "attempts ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash"},
    {"linux.su.auth_failure", "Jun 22 07:09:00 h su[4242]: FAILED su for root by bob"},
    {"linux.su.auth_failure", "Jun 22 07:09:00 h su[4242]: FAILED SU (to root) bob on pts/1"},
    {"linux.su.auth_failure", "Jun 22 07:09:00 h su[4242]: pam_unix(su-l:auth): authentication "
            "failure; logname=bob uid=1000 euid=0 tty=pts/1 ruser=bob rhost=  user=root"},
    {"linux.account.added_to_admin_group", "Jun 22 07:10:00 h usermod[555]: add 'eve' to group "
            "'sudo'"},
    {"linux.account.added_to_admin_group", "Jun 22 07:10:00 h gpasswd[556]: user eve added by "
            "root to group wheel"},
    {"linux.account.uid0_created", "Jun 22 07:11:00 h useradd[557]: new user: name=toor, UID=0, "
            "GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0"},
    {"linux.account.uid0_created", "Jun 22 07:12:00 h usermod[558]: change user 'eve' UID from "
            "'1001' to '0'"},
};

/* Close calls that must fire nothing. */
static const char *const near_misses[] = {
    EV("DisableKeyRotation"),
    EV("StopLoggingNow"),
    EV("CreateTrail"),
    "{\"userIdentity\":{\"type\":\"IAMUser\"},\"eventName\":\"ConsoleLogin\",\"responseElements\":"
    "{\"ConsoleLogin\":\"Success\"},\"additionalEventData\":{\"MFAUsed\":\"Yes\"}}",
    "{\"userIdentity\":{\"type\":\"AssumedRole\"},\"eventName\":\"ConsoleLogin\","
    "\"responseElements\":{\"ConsoleLogin\":\"Success\"},\"additionalEventData\":{\"MFAUsed\":"
    "\"No\"}}",
    "{\"userIdentity\":{\"type\":\"IAMUser\"},\"eventName\":\"ConsoleLogin\",\"responseElements\":"
    "{\"ConsoleLogin\":\"Failure\"},\"additionalEventData\":{\"MFAUsed\":\"No\"}}",
    "{\"eventSource\":\"frauddetector.amazonaws.com\",\"eventName\":\"DeleteDetector\"}",
    "{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"requestParameters\":{\"cidrIp\":"
    "\"10.0.0.0/8\"}}",
    "{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"requestParameters\":{\"cidrIp\":"
    "\"0.0.0.0/16\"}}",
    "{\"eventName\":\"AttachUserPolicy\",\"requestParameters\":{\"policyArn\":"
    "\"arn:aws:iam::aws:policy/ReadOnlyAccess\"}}",
    "{\"eventName\":\"AttachUserPolicy\",\"requestParameters\":{\"policyArn\":"
    "\"arn:aws:iam::123456789012:policy/AdministratorAccess\"}}",
    "{\"eventName\":\"ModifySnapshotAttribute\",\"requestParameters\":{\"createVolumePermission\":"
    "{\"remove\":{\"items\":[{\"userId\":\"1\"}]}}}}",
    "{\"eventName\":\"ModifyDBSnapshotAttribute\",\"requestParameters\":{\"valuesToAdd\":[],"
    "\"valuesToRemove\":[\"1\"]}}",
    "{\"eventName\":\"ModifyInstanceAttribute\",\"requestParameters\":{\"instanceType\":"
    "{\"value\":\"t3.large\"}}}",
    "{\"eventName\":\"DescribeInstanceAttribute\",\"requestParameters\":{\"attribute\":"
    "\"userData\"},\"responseElements\":{\"userData\":\"x\"}}",
    "Mar 29 10:00:02 host sshd[124]: Accepted password for bob from 1.2.3.4 port 4243 ssh2",
    "Mar 29 10:00:03 host sshd[125]: input_userauth_request: invalid user admin [preauth]",
    "Jun 22 07:10:00 h usermod[555]: add 'eve' to shadow group 'sudo'",
    "Jun 22 07:10:00 h usermod[555]: add 'eve' to group 'docker'",
    "Jun 22 07:11:00 h useradd[557]: new user: name=bob, UID=1001, GID=1001, home=/home/bob",
    "Jun 22 07:12:00 h usermod[558]: change user 'eve' UID from '1001' to '1002'",
    "Mar 27 13:06:56 h su[1]: Successful su for root by root",
    "Mar 27 13:06:56 h sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/bin/ls",
    "Mar 27 13:06:56 h sudo: pam_unix(sudo:session): session opened for user root by ubuntu(uid=0)",
};

static void test_default_pack_rules_carry_full_metadata(void **state)
{
    const struct fixture *fx = *state;

    assert_true(pat_set_n_rules(fx->set) >= 40);
    for (size_t r = 0; r < pat_set_n_rules(fx->set); r++) {
        const struct pat_rule *rule = pat_set_rule(fx->set, r);
        assert_string_equal(rule->file, "default.rules");
        if (strncmp(rule->id, "aws.", 4) != 0 && strncmp(rule->id, "linux.", 6) != 0)
            fail_msg("rule at line %u has no proper id (%s)", rule->line, rule->id);
        assert_non_null(rule->title);
        assert_non_null(rule->description);
        assert_non_null(rule->formats);
        if (strncmp(rule->id, "aws.", 4) == 0)
            assert_string_equal(rule->formats, "cloudtrail,json-array,json-lines,json-stream,"
                                               "firehose");
        else
            assert_string_equal(rule->formats, "syslog,cwl-export,firehose,json-lines");
    }
    assert_false(pat_set_needs_event_scan(fx->set));
}

static void test_every_default_rule_has_a_positive_sample(void **state)
{
    const struct fixture *fx = *state;

    for (size_t r = 0; r < pat_set_n_rules(fx->set); r++) {
        const char *id = pat_set_rule(fx->set, r)->id;
        bool found = false;
        for (size_t i = 0; i < sizeof(aws_samples) / sizeof(aws_samples[0]); i++)
            found |= strcmp(aws_samples[i].rule_id, id) == 0;
        for (size_t i = 0; i < sizeof(auth_samples) / sizeof(auth_samples[0]); i++)
            found |= strcmp(auth_samples[i].rule_id, id) == 0;
        if (!found)
            fail_msg("rule %s has no sample in this test", id);
    }
}

static void test_each_cloudtrail_sample_fires_its_rule_minified_and_pretty(void **state)
{
    const struct fixture *fx = *state;
    char pretty[2048];

    for (size_t i = 0; i < sizeof(aws_samples) / sizeof(aws_samples[0]); i++) {
        expect_fires(fx, aws_samples[i].event, aws_samples[i].rule_id);
        prettify(aws_samples[i].event, pretty, sizeof(pretty));
        expect_fires(fx, pretty, aws_samples[i].rule_id);
    }
}

static void test_each_auth_sample_fires_its_rule(void **state)
{
    const struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof(auth_samples) / sizeof(auth_samples[0]); i++)
        expect_fires(fx, auth_samples[i].event, auth_samples[i].rule_id);
}

static void test_near_misses_fire_nothing(void **state)
{
    const struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof(near_misses) / sizeof(near_misses[0]); i++)
        expect_fires(fx, near_misses[i], "");
}

/* ---- real logs ---- */

static char *read_file(const char *path, size_t *len)
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
            *len = (size_t)size;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(fp);
    return data;
}

struct tally {
    char ids[64][96];
    unsigned counts[64];
    size_t n;
};

static void tally_add(struct tally *t, const char *fired)
{
    while (*fired) {
        size_t n = strcspn(fired, ",");
        size_t i;
        for (i = 0; i < t->n; i++) {
            if (strlen(t->ids[i]) == n && memcmp(t->ids[i], fired, n) == 0)
                break;
        }
        if (i == t->n) {
            assert_true(t->n < 64 && n < 96);
            memcpy(t->ids[i], fired, n);
            t->ids[i][n] = '\0';
            t->counts[i] = 0;
            t->n++;
        }
        t->counts[i]++;
        fired += n;
        if (*fired == ',')
            fired++;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* "id=count;id=count" sorted by id. */
static void tally_format(const struct tally *t, char *out, size_t cap)
{
    char lines[64][128];
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        snprintf(lines[i], sizeof(lines[i]), "%s=%u", t->ids[i], t->counts[i]);
    qsort(lines, t->n, sizeof(lines[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < t->n; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ";" : "", lines[i]);
}

/* Call fn on each top-level object of a JSON array (strings and escapes respected). */
static size_t each_array_element(const struct fixture *fx, const char *json, size_t len,
        struct tally *t)
{
    int depth = 0;
    bool in_string = false;
    size_t start = 0;
    size_t n = 0;
    char fired[1024];

    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (depth == 1 && c == '{')
                start = i;
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            if (depth == 1 && c == '}') {
                fire(fx, json + start, i + 1 - start, fired, sizeof(fired));
                tally_add(t, fired);
                n++;
            }
        }
    }
    return n;
}

/* What each Stratus Red Team detonation must fire (per event, counted); others fire nothing. */
static const struct {
    const char *technique;
    const char *fired;
} stratus_expected[] = {
    {"aws.defense-evasion.cloudtrail-delete", "aws.cloudtrail.delete_trail=1"},
    {"aws.defense-evasion.cloudtrail-event-selectors", "aws.cloudtrail.put_event_selectors=1"},
    {"aws.defense-evasion.cloudtrail-stop", "aws.cloudtrail.stop_logging=1"},
    {"aws.defense-evasion.organizations-leave", "aws.organizations.leave_organization=1"},
    {"aws.defense-evasion.vpc-remove-flow-logs", "aws.ec2.delete_flow_logs=1"},
    {"aws.execution.ec2-user-data", "aws.ec2.modify_user_data=1"},
    {"aws.exfiltration.ec2-security-group-open-port-22-ingress",
            "aws.ec2.security_group_open_to_world=1"},
    {"aws.exfiltration.ec2-share-ami", "aws.ec2.ami_shared=1"},
    {"aws.exfiltration.ec2-share-ebs-snapshot", "aws.ec2.snapshot_shared=1"},
    {"aws.exfiltration.rds-share-snapshot", "aws.rds.snapshot_shared=1"},
    {"aws.initial-access.console-login-without-mfa", "aws.signin.console_login_without_mfa=1"},
    {"aws.lateral-movement.ec2-instance-connect", "aws.ec2.send_ssh_public_key=3"},
    {"aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
            "aws.ec2.send_serial_console_ssh_public_key=3"},
    {"aws.persistence.iam-backdoor-role", "aws.iam.update_assume_role_policy=1"},
    {"aws.persistence.iam-backdoor-user", "aws.iam.create_access_key=1"},
    {"aws.persistence.iam-create-admin-user",
            "aws.iam.attach_admin_policy=1;aws.iam.create_access_key=1"},
    {"aws.persistence.iam-create-backdoor-role", "aws.iam.attach_admin_policy=1"},
    {"aws.persistence.iam-create-user-login-profile", "aws.iam.create_login_profile=1"},
    {"aws.persistence.sts-federation-token", "aws.sts.get_federation_token=1"},
    {"aws.privilege-escalation.iam-update-user-login-profile", "aws.iam.update_login_profile=1"},
};

static void test_stratus_detonations_fire_exactly_their_rules(void **state)
{
    const struct fixture *fx = *state;
    const char *dir_path = LSF_SHARED_DATA "/cloudtrail/stratus-red-team/detonation-logs";
    DIR *dir = opendir(dir_path);
    struct dirent *ent;
    size_t n_files = 0;
    size_t n_events = 0;

    if (dir == NULL)
        skip();
    while ((ent = readdir(dir)) != NULL) {
        char path[1024];
        char got[2048];
        const char *want = "";
        struct tally t;
        size_t len = 0;
        size_t name_len = strlen(ent->d_name);
        char *json;

        if (name_len < 6 || strcmp(ent->d_name + name_len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir_path, ent->d_name);
        json = read_file(path, &len);
        assert_non_null(json);
        memset(&t, 0, sizeof(t));
        n_events += each_array_element(fx, json, len, &t);
        free(json);
        tally_format(&t, got, sizeof(got));
        for (size_t i = 0; i < sizeof(stratus_expected) / sizeof(stratus_expected[0]); i++) {
            if (strlen(stratus_expected[i].technique) == name_len - 5 &&
                    memcmp(stratus_expected[i].technique, ent->d_name, name_len - 5) == 0)
                want = stratus_expected[i].fired;
        }
        if (strcmp(got, want) != 0)
            fail_msg("%s: fired [%s], wanted [%s]", ent->d_name, got, want);
        n_files++;
    }
    closedir(dir);
    assert_int_equal(n_files, 35);
    assert_int_equal(n_events, 310);
}

static void test_elastic_auth_log_fires_the_expected_counts(void **state)
{
    const struct fixture *fx = *state;
    size_t len = 0;
    char *log = read_file(LSF_SHARED_DATA "/auth/elastic-examples/auth.log", &len);
    struct tally t;
    char got[2048];
    char fired[1024];
    size_t n_lines = 0;

    if (log == NULL)
        skip();
    memset(&t, 0, sizeof(t));
    for (char *p = log; p < log + len;) {
        char *nl = memchr(p, '\n', (size_t)(log + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(log + len - p);
        fire(fx, p, n, fired, sizeof(fired));
        tally_add(&t, fired);
        n_lines++;
        p += n + 1;
    }
    free(log);
    tally_format(&t, got, sizeof(got));
    assert_int_equal(n_lines, 7121);
    /* Counted independently with Python's re over the same lines. */
    assert_string_equal(got, "linux.pam.auth_failure=343;linux.sshd.failed_password=713;"
                             "linux.sshd.invalid_user=178;linux.sshd.max_auth_attempts=189");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_pack_rules_carry_full_metadata),
        cmocka_unit_test(test_every_default_rule_has_a_positive_sample),
        cmocka_unit_test(test_each_cloudtrail_sample_fires_its_rule_minified_and_pretty),
        cmocka_unit_test(test_each_auth_sample_fires_its_rule),
        cmocka_unit_test(test_near_misses_fire_nothing),
        cmocka_unit_test(test_stratus_detonations_fire_exactly_their_rules),
        cmocka_unit_test(test_elastic_auth_log_fires_the_expected_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
