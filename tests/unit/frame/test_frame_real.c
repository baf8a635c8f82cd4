/*
 * Framing the real logs of shared/data (see its PROVENANCE.md): every file gives the number of
 * events counted independently (python: json.load for arrays and subscription documents,
 * non-blank lines for line formats; 310 Stratus events in 35 files), in every window size, and
 * the events are the records exactly as they stand in the file.
 */
#include "frame_test_util.h"

#include <jansson.h>

#define STRATUS "cloudtrail/stratus-red-team/detonation-logs/"

struct real_file {
    const char *path; /* under LSF_SHARED_DATA */
    enum frame_format fmt;
    size_t n_events;
};

static const struct real_file real_files[] = {
        {STRATUS "aws.credential-access.ec2-get-password-data.json", FRAME_JSON_ARRAY, 34},
        {STRATUS "aws.credential-access.ec2-steal-instance-credentials.json", FRAME_JSON_ARRAY, 45},
        {STRATUS "aws.credential-access.secretsmanager-batch-retrieve-secrets.json",
                FRAME_JSON_ARRAY, 5},
        {STRATUS "aws.credential-access.secretsmanager-retrieve-secrets.json", FRAME_JSON_ARRAY,
                21},
        {STRATUS "aws.credential-access.ssm-retrieve-securestring-parameters.json",
                FRAME_JSON_ARRAY, 10},
        {STRATUS "aws.defense-evasion.cloudtrail-delete.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.defense-evasion.cloudtrail-event-selectors.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.defense-evasion.cloudtrail-stop.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.defense-evasion.dns-delete-logs.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.defense-evasion.organizations-leave.json", FRAME_JSON_ARRAY, 3},
        {STRATUS "aws.defense-evasion.vpc-remove-flow-logs.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.discovery.ec2-download-user-data.json", FRAME_JSON_ARRAY, 19},
        {STRATUS "aws.execution.ec2-launch-unusual-instances.json", FRAME_JSON_ARRAY, 3},
        {STRATUS "aws.execution.ec2-user-data.json", FRAME_JSON_ARRAY, 35},
        {STRATUS "aws.execution.ssm-send-command.json", FRAME_JSON_ARRAY, 56},
        {STRATUS "aws.execution.ssm-start-session.json", FRAME_JSON_ARRAY, 29},
        {STRATUS "aws.exfiltration.ec2-security-group-open-port-22-ingress.json", FRAME_JSON_ARRAY,
                1},
        {STRATUS "aws.exfiltration.ec2-share-ami.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.exfiltration.ec2-share-ebs-snapshot.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.exfiltration.rds-share-snapshot.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.impact.bedrock-invoke-model.json", FRAME_JSON_ARRAY, 15},
        {STRATUS "aws.initial-access.console-login-without-mfa.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.lateral-movement.ec2-instance-connect.json", FRAME_JSON_ARRAY, 3},
        {STRATUS "aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json",
                FRAME_JSON_ARRAY, 4},
        {STRATUS "aws.persistence.iam-backdoor-role.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.persistence.iam-backdoor-user.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.persistence.iam-create-admin-user.json", FRAME_JSON_ARRAY, 3},
        {STRATUS "aws.persistence.iam-create-backdoor-role.json", FRAME_JSON_ARRAY, 2},
        {STRATUS "aws.persistence.iam-create-user-login-profile.json", FRAME_JSON_ARRAY, 3},
        {STRATUS "aws.persistence.lambda-backdoor-function.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.persistence.lambda-layer-extension.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.persistence.lambda-overwrite-code.json", FRAME_JSON_ARRAY, 1},
        {STRATUS "aws.persistence.rolesanywhere-create-trust-anchor.json", FRAME_JSON_ARRAY, 2},
        {STRATUS "aws.persistence.sts-federation-token.json", FRAME_JSON_ARRAY, 2},
        {STRATUS "aws.privilege-escalation.iam-update-user-login-profile.json", FRAME_JSON_ARRAY,
                1},
        {"cloudwatch/datadog-serverless-functions/cloudwatch_log_cloudtrail.cache-test.json",
                FRAME_FIREHOSE, 3},
        {"cloudwatch/datadog-serverless-functions/cloudwatch_log_cloudtrail.json", FRAME_FIREHOSE,
                4},
        {"cloudwatch/datadog-serverless-functions/cloudwatch_logs_lambda.json", FRAME_FIREHOSE, 19},
        {"cloudtrail/crowdsec-hub/aws-bf/aws-bf.log", FRAME_JSON_LINES, 6},
        {"cloudtrail/crowdsec-hub/aws-cloudtrail-postexploit/aws-cloudtrail-postexploit.log",
                FRAME_JSON_LINES, 4},
        {"cloudtrail/crowdsec-hub/aws-cloudtrail/aws-cloudtrail.log", FRAME_JSON_LINES, 2},
        {"cloudtrail/crowdsec-hub/aws-nwo-login/aws-nwo-login.log", FRAME_JSON_LINES, 1},
        {"auth/crowdsec-hub/opnsense-sshd/opnsense-sshd.log", FRAME_SYSLOG, 10},
        {"auth/crowdsec-hub/pam-logs/pam-logs.log", FRAME_SYSLOG, 2},
        {"auth/crowdsec-hub/ssh-bf/ssh-bf.log", FRAME_SYSLOG, 6},
        {"auth/crowdsec-hub/ssh-generic-test/ssh-generic-test.log", FRAME_SYSLOG, 1},
        {"auth/crowdsec-hub/ssh-slow-bf/ssh-slow-bf.log", FRAME_SYSLOG, 22},
        {"auth/crowdsec-hub/ssh-time-based-bf/ssh-time-based-bf.log", FRAME_SYSLOG, 15},
        {"auth/crowdsec-hub/ssh-timeout/ssh-timeout.log", FRAME_SYSLOG, 8},
        {"auth/crowdsec-hub/sshd-bad-keyexchange-bf/sshd-bad-keyexchange-bf.log", FRAME_SYSLOG, 19},
        {"auth/crowdsec-hub/sshd-impossible-travel-user/sshd-success-logs.log", FRAME_SYSLOG, 2},
        {"auth/crowdsec-hub/sshd-impossible-travel/sshd-success-logs.log", FRAME_SYSLOG, 2},
        {"auth/crowdsec-hub/sshd-invalid-bf/sshd-invalid-bf.log", FRAME_SYSLOG, 6},
        {"auth/crowdsec-hub/sshd-logs-fp/sshd-logs.log", FRAME_SYSLOG, 6},
        {"auth/crowdsec-hub/sshd-logs/sshd-logs.log", FRAME_SYSLOG, 24},
        {"auth/crowdsec-hub/sshd-refused-conn/sshd-refused-conn.log", FRAME_SYSLOG, 1},
        {"auth/crowdsec-hub/sshd-success-logs/sshd-success-logs.log", FRAME_SYSLOG, 4},
        {"auth/crowdsec-hub/sshd_banner_exchange/sshd_banner_exchange.log", FRAME_SYSLOG, 12},
        {"auth/crowdsec-hub/syslog-logs/syslog-logs.log", FRAME_SYSLOG, 3},
        {"auth/elastic-examples/auth.log", FRAME_SYSLOG, 7121},
};

#define N_REAL (sizeof(real_files) / sizeof(real_files[0]))

static const size_t steps[] = {1, 2, 3, 7, 64, 4096, 0};

static unsigned char *read_real(const struct real_file *rf, size_t *n)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", LSF_SHARED_DATA, rf->path);
    return ft_read_file(path, n);
}

static void test_real_logs_give_the_expected_event_counts_in_every_window_size(void **state)
{
    size_t n_stratus = 0;

    (void)state;
    for (size_t i = 0; i < N_REAL; i++) {
        const struct real_file *rf = &real_files[i];
        struct ft_result whole;
        size_t n;
        unsigned char *data = read_real(rf, &n);

        /* Detected, then given explicitly: the same events. */
        ft_run(FRAME_AUTO, data, n, 0, 1024 * 1024, &whole);
        if (whole.n != rf->n_events || whole.fmt != rf->fmt || whole.n_problems != 0)
            fail_msg("%s: %zu events as %s (%zu problems: %s), expected %zu as %s", rf->path,
                    whole.n, frame_format_name(whole.fmt), whole.n_problems, whole.first_problem,
                    rf->n_events, frame_format_name(rf->fmt));
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            struct ft_result r;

            /* One-byte windows on the 800 KB auth.log take long; 7 is enough there. */
            if (n > 200000 && steps[s] < 7)
                continue;
            ft_run(rf->fmt, data, n, steps[s], 1024 * 1024, &r);
            ft_assert_same(&whole, &r);
            ft_result_free(&r);
            ft_run(FRAME_AUTO, data, n, steps[s], 1024 * 1024, &r);
            ft_assert_same(&whole, &r);
            ft_result_free(&r);
        }
        if (rf->fmt == FRAME_JSON_ARRAY)
            n_stratus += whole.n;
        ft_result_free(&whole);
        free(data);
    }
    assert_int_equal(n_stratus, 310);
}

static void test_stratus_events_are_the_exact_record_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_REAL; i++) {
        const struct real_file *rf = &real_files[i];
        struct ft_result r;
        json_error_t jerr;
        json_t *all;
        size_t n;
        unsigned char *data;

        if (rf->fmt != FRAME_JSON_ARRAY)
            continue;
        data = read_real(rf, &n);
        all = json_loadb((const char *)data, n, 0, &jerr);
        assert_non_null(all);
        ft_run(FRAME_AUTO, data, n, 0, 1024 * 1024, &r);
        assert_int_equal(r.n, json_array_size(all));
        for (size_t k = 0; k < r.n; k++) {
            json_t *one = json_loadb((const char *)r.ev[k].bytes, r.ev[k].len, 0, &jerr);

            /* The bytes are the file's, unchanged, and they are exactly element k. */
            assert_memory_equal(r.ev[k].bytes, data + r.ev[k].src_off, r.ev[k].len);
            assert_int_equal(r.ev[k].bytes[0], '{');
            assert_int_equal(r.ev[k].bytes[r.ev[k].len - 1], '}');
            assert_non_null(one);
            assert_true(json_equal(one, json_array_get(all, k)));
            assert_true(r.ev[k].ts_ms == FRAME_TS_UNKNOWN);
            json_decref(one);
        }
        json_decref(all);
        ft_result_free(&r);
        free(data);
    }
}

static void test_datadog_firehose_messages_match_jansson_decoding(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_REAL; i++) {
        const struct real_file *rf = &real_files[i];
        struct ft_result r;
        json_error_t jerr;
        json_t *doc, *events;
        size_t n;
        unsigned char *data;

        if (rf->fmt != FRAME_FIREHOSE)
            continue;
        data = read_real(rf, &n);
        doc = json_loadb((const char *)data, n, 0, &jerr);
        assert_non_null(doc);
        events = json_object_get(doc, "logEvents");
        ft_run(FRAME_AUTO, data, n, 0, 1024 * 1024, &r);
        assert_int_equal(r.n, json_array_size(events));
        for (size_t k = 0; k < r.n; k++) {
            json_t *le = json_array_get(events, k);
            json_t *msg = json_object_get(le, "message");
            const char *raw = strstr((const char *)data + r.ev[k].src_off - 1, "\"");

            assert_int_equal(r.ev[k].len, json_string_length(msg));
            assert_memory_equal(r.ev[k].bytes, json_string_value(msg), r.ev[k].len);
            assert_true(r.ev[k].ts_ms == json_integer_value(json_object_get(le, "timestamp")));
            /* src_off is where the message's text starts in the file, after its quote. */
            assert_true(raw == (const char *)data + r.ev[k].src_off - 1);
        }
        json_decref(doc);
        ft_result_free(&r);
        free(data);
    }
}

static void test_log_lines_are_events_without_their_terminators(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_REAL; i++) {
        const struct real_file *rf = &real_files[i];
        struct ft_result r;
        size_t n;
        unsigned char *data;

        if (rf->fmt != FRAME_SYSLOG && rf->fmt != FRAME_JSON_LINES)
            continue;
        data = read_real(rf, &n);
        ft_run(FRAME_AUTO, data, n, 0, 1024 * 1024, &r);
        for (size_t k = 0; k < r.n; k++) {
            uint64_t off = r.ev[k].src_off, end = off + r.ev[k].len;

            assert_memory_equal(r.ev[k].bytes, data + off, r.ev[k].len);
            assert_null(memchr(r.ev[k].bytes, '\n', r.ev[k].len));
            assert_true(off == 0 || data[off - 1] == '\n');
            assert_true(end == n || data[end] == '\n' || data[end] == '\r');
        }
        ft_result_free(&r);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_real_logs_give_the_expected_event_counts_in_every_window_size),
            cmocka_unit_test(test_stratus_events_are_the_exact_record_text),
            cmocka_unit_test(test_datadog_firehose_messages_match_jansson_decoding),
            cmocka_unit_test(test_log_lines_are_events_without_their_terminators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
