/*
 * aws_creds: the credential chain and the provider that keeps its result fresh.
 *
 * Order (botocore credentials.py create_credential_resolver; shared/spec/aws-facts.md 2.1):
 * environment, assume-role profile, web identity, SSO, shared credentials file,
 * credential_process, static keys in the config file, container endpoint, EC2 IMDS. The first
 * source that is configured decides: it either yields credentials or its error ends the
 * search, as in botocore, so a broken setup is reported instead of silently using another
 * identity. logsift does not implement assume-role chains or SSO; a profile that needs them is
 * refused with the command that exports usable credentials instead.
 *
 * The provider remembers which source answered and refreshes from that source only, as
 * botocore's RefreshableCredentials does: within AWS_CREDS_ADVISORY_REFRESH_S of expiry a failed
 * refresh keeps the old credentials, within AWS_CREDS_MANDATORY_REFRESH_S it is an error (2.7).
 * One mutex guards the cached credentials and is held across a refresh, so concurrent callers
 * wait for one fetch rather than stampeding the endpoint. The environment, files and
 * credential_process sources live here; the HTTP ones in aws_creds_http.c.
 */
#include "aws.h"
#include "aws_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/crypto.h>

#define PROCESS_OUTPUT_MAX (64u << 10)

/* ---- environment ---------------------------------------------------------------------------- */

/* Copy one credential value into place; false (message set) when it does not fit. */
static enum lsf_code put_field(char *dst, size_t cap, const char *value, const char *what,
        const char *field, struct lsf_err *err)
{
    if (!aws_copy(dst, cap, value))
        return lsf_fail(err, LSF_E_USAGE, "%s: %s is longer than %zu bytes", what, field, cap - 1);
    return LSF_OK;
}

enum lsf_code aws_creds_env(
        const struct aws_config *cfg, struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *akid = aws_config_env(cfg, "AWS_ACCESS_KEY_ID");
    const char *secret = aws_config_env(cfg, "AWS_SECRET_ACCESS_KEY");
    const char *token = aws_config_env(cfg, "AWS_SESSION_TOKEN");
    const char *expiry = aws_config_env(cfg, "AWS_CREDENTIAL_EXPIRATION");
    enum lsf_code rc;

    *found = false;
    if (akid == NULL && secret == NULL)
        return LSF_OK;
    if (akid == NULL || secret == NULL)
        return lsf_fail(err, LSF_E_USAGE,
                "%s is set but %s is not: set both, or unset both to use a profile",
                akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (token == NULL)
        token = aws_config_env(cfg, "AWS_SECURITY_TOKEN"); /* boto2's name, still honoured */
    memset(out, 0, sizeof(*out));
    rc = put_field(out->access_key_id, sizeof(out->access_key_id), akid, "environment",
            "AWS_ACCESS_KEY_ID", err);
    if (rc == LSF_OK)
        rc = put_field(out->secret_access_key, sizeof(out->secret_access_key), secret,
                "environment", "AWS_SECRET_ACCESS_KEY", err);
    if (rc == LSF_OK && token != NULL)
        rc = put_field(out->session_token, sizeof(out->session_token), token, "environment",
                "AWS_SESSION_TOKEN", err);
    if (rc == LSF_OK && expiry != NULL && !aws_time_parse(expiry, &out->expires_s))
        rc = lsf_fail(err, LSF_E_USAGE,
                "AWS_CREDENTIAL_EXPIRATION is not a time like 2024-01-15T12:00:00Z");
    if (rc != LSF_OK) {
        aws_creds_wipe(out);
        return rc;
    }
    aws_copy(out->source, sizeof(out->source), "environment variables");
    *found = true;
    return LSF_OK;
}

/* ---- shared files --------------------------------------------------------------------------- */

enum lsf_code aws_creds_file(const struct aws_config *cfg, enum aws_cfg_file file,
        struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *akid = aws_config_file_get(cfg, file, "aws_access_key_id");
    const char *secret = aws_config_file_get(cfg, file, "aws_secret_access_key");
    const char *token = aws_config_file_get(cfg, file, "aws_session_token");
    const char *path = aws_config_file_path(cfg, file);
    char what[AWS_SOURCE_MAX];
    enum lsf_code rc;

    *found = false;
    if (akid == NULL && secret == NULL)
        return LSF_OK;
    snprintf(what, sizeof(what), "profile %.64s in %.160s", aws_config_profile(cfg), path);
    if (akid == NULL || secret == NULL || akid[0] == '\0' || secret[0] == '\0')
        return lsf_fail(err, LSF_E_USAGE, "%s: has %s but no %s: add it or remove both", what,
                akid && akid[0] ? "aws_access_key_id" : "aws_secret_access_key",
                akid && akid[0] ? "aws_secret_access_key" : "aws_access_key_id");
    if (token == NULL)
        token = aws_config_file_get(cfg, file, "aws_security_token");
    memset(out, 0, sizeof(*out));
    rc = put_field(
            out->access_key_id, sizeof(out->access_key_id), akid, what, "aws_access_key_id", err);
    if (rc == LSF_OK)
        rc = put_field(out->secret_access_key, sizeof(out->secret_access_key), secret, what,
                "aws_secret_access_key", err);
    if (rc == LSF_OK && token != NULL)
        rc = put_field(out->session_token, sizeof(out->session_token), token, what,
                "aws_session_token", err);
    if (rc != LSF_OK) {
        aws_creds_wipe(out);
        return rc;
    }
    aws_copy(out->source, sizeof(out->source), what);
    *found = true;
    return LSF_OK;
}

/* ---- credential_process --------------------------------------------------------------------- */

/*
 * The profile's credential_process runs through /bin/sh (botocore splits it with shlex and runs
 * it without a shell; the shell accepts the same quoting). Its stdout is a JSON document with
 * Version 1 (AWS CLI "Sourcing credentials with an external process"); stderr passes through
 * to ours, so its prompts and errors reach the user. Its output is never quoted in messages.
 */
enum lsf_code aws_creds_process(
        const struct aws_config *cfg, struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const char *cmd = aws_config_get(cfg, "credential_process");
    struct lsf_buf text;
    char what[AWS_SOURCE_MAX];
    char chunk[4096];
    FILE *fp;
    size_t n;
    int status;
    enum lsf_code rc = LSF_OK;

    *found = false;
    if (cmd == NULL)
        return LSF_OK;
    snprintf(what, sizeof(what), "credential_process of profile %.64s", aws_config_profile(cfg));
    lsf_buf_init(&text, PROCESS_OUTPUT_MAX);
    fflush(NULL);
    fp = popen(cmd, "r");
    if (fp == NULL)
        return lsf_fail(err, LSF_E_USAGE, "%s: cannot start it", what);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && rc == LSF_OK)
        rc = lsf_buf_append(&text, chunk, n, err);
    while (n > 0)
        n = fread(chunk, 1, sizeof(chunk), fp); /* drain, so the child is not killed by SIGPIPE */
    status = pclose(fp);
    if (rc != LSF_OK) {
        lsf_err_prefix(err, "%s: output ", what);
        goto out;
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = lsf_fail(err, LSF_E_USAGE, "%s: the command failed (%s %d): run it by hand to see why",
                what, status != -1 && WIFEXITED(status) ? "exit status" : "wait status",
                status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
        goto out;
    }
    memset(out, 0, sizeof(*out));
    rc = aws_creds_from_json(
            (const char *)text.data, text.len, "SessionToken", false, what, LSF_E_USAGE, out, err);
    if (rc != LSF_OK) {
        aws_creds_wipe(out);
        goto out;
    }
    aws_copy(out->source, sizeof(out->source), what);
    *found = true;
out:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (text.data != NULL)
        OPENSSL_cleanse(text.data, text.cap);
    lsf_buf_cleanup(&text);
    return rc;
}

/* ---- the chain ------------------------------------------------------------------------------ */

enum source {
    SRC_NONE = 0,
    SRC_ENV,
    SRC_WEB_IDENTITY,
    SRC_CREDS_FILE,
    SRC_PROCESS,
    SRC_CONFIG_FILE,
    SRC_CONTAINER,
    SRC_IMDS
};

struct aws_creds_provider {
    const struct aws_config *cfg;
    pthread_mutex_t lock;
    enum source src; /* the source that answered; SRC_NONE before the first get */
    struct aws_creds creds;
    bool is_rejected; /* aws_creds_provider_expire was called */
    struct aws_imds_state imds;
};

static enum lsf_code load_source(struct aws_creds_provider *prov, enum source src,
        struct aws_creds *out, bool *found, struct lsf_err *err)
{
    const struct aws_config *cfg = prov->cfg;

    switch (src) {
    case SRC_ENV:
        return aws_creds_env(cfg, out, found, err);
    case SRC_WEB_IDENTITY:
        return aws_creds_web_identity(cfg, out, found, err);
    case SRC_CREDS_FILE:
        return aws_creds_file(cfg, AWS_CFG_CREDENTIALS, out, found, err);
    case SRC_PROCESS:
        return aws_creds_process(cfg, out, found, err);
    case SRC_CONFIG_FILE:
        return aws_creds_file(cfg, AWS_CFG_CONFIG, out, found, err);
    case SRC_CONTAINER:
        return aws_creds_container(cfg, out, found, err);
    case SRC_IMDS:
        return aws_creds_imds(cfg, &prov->imds, out, found, err);
    case SRC_NONE:
        break;
    }
    *found = false;
    return LSF_OK;
}

/* Profile setups botocore handles and logsift does not: say so rather than skip them. */
static enum lsf_code check_unsupported(const struct aws_config *cfg, struct lsf_err *err)
{
    const char *profile = aws_config_profile(cfg);
    bool has_role = aws_config_get(cfg, "role_arn") != NULL;
    bool is_chained = aws_config_get(cfg, "source_profile") != NULL ||
            aws_config_get(cfg, "credential_source") != NULL;

    if (has_role && is_chained)
        return lsf_fail(err, LSF_E_USAGE,
                "profile %s assumes a role (role_arn with source_profile or credential_source), "
                "which logsift does not do itself: run `eval \"$(aws configure "
                "export-credentials --profile %s --format env)\"` first",
                profile, profile);
    return LSF_OK;
}

static bool has_sso(const struct aws_config *cfg)
{
    return aws_config_get(cfg, "sso_session") != NULL ||
            aws_config_get(cfg, "sso_start_url") != NULL;
}

static enum lsf_code resolve_chain(struct aws_creds_provider *prov, struct aws_creds *out,
        enum source *src, struct lsf_err *err)
{
    static const enum source order[] = {SRC_ENV, SRC_WEB_IDENTITY, SRC_CREDS_FILE, SRC_PROCESS,
            SRC_CONFIG_FILE, SRC_CONTAINER, SRC_IMDS};
    const struct aws_config *cfg = prov->cfg;
    const char *profile = aws_config_profile(cfg);
    bool found = false;
    enum lsf_code rc;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (order[i] == SRC_ENV && aws_config_profile_explicit(cfg))
            continue; /* an explicit --profile overrides the environment keys */
        if (order[i] == SRC_WEB_IDENTITY) {
            /* Assume-role profiles come before web identity, SSO right after it. */
            rc = check_unsupported(cfg, err);
            if (rc != LSF_OK)
                return rc;
        }
        if (order[i] == SRC_CREDS_FILE && has_sso(cfg))
            return lsf_fail(err, LSF_E_USAGE,
                    "profile %s uses AWS IAM Identity Center (SSO), which logsift does not do "
                    "itself: run `aws sso login --profile %s`, then `eval \"$(aws configure "
                    "export-credentials --profile %s --format env)\"`",
                    profile, profile, profile);
        rc = load_source(prov, order[i], out, &found, err);
        if (rc != LSF_OK)
            return rc;
        if (found) {
            *src = order[i];
            return LSF_OK;
        }
    }
    return lsf_fail(err, LSF_E_USAGE,
            "no AWS credentials found for profile %s: looked at the environment "
            "(AWS_ACCESS_KEY_ID), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), %s, %s, the "
            "container endpoint (AWS_CONTAINER_CREDENTIALS_*) and EC2 instance metadata (%s); "
            "run `aws configure`, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY",
            profile, aws_config_file_path(cfg, AWS_CFG_CREDENTIALS),
            aws_config_file_path(cfg, AWS_CFG_CONFIG),
            prov->imds.note[0] ? prov->imds.note : "no answer");
}

/* ---- provider ------------------------------------------------------------------------------- */

enum lsf_code aws_creds_provider_new(
        const struct aws_config *cfg, struct aws_creds_provider **out, struct lsf_err *err)
{
    struct aws_creds_provider *prov = calloc(1, sizeof(*prov));

    *out = NULL;
    if (prov == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating the AWS credential provider");
    if (pthread_mutex_init(&prov->lock, NULL) != 0) {
        free(prov);
        return lsf_fail(err, LSF_E_INTERNAL, "cannot create a mutex");
    }
    prov->cfg = cfg;
    *out = prov;
    return LSF_OK;
}

void aws_creds_provider_free(struct aws_creds_provider *prov)
{
    if (prov == NULL)
        return;
    pthread_mutex_destroy(&prov->lock);
    OPENSSL_cleanse(prov, sizeof(*prov));
    free(prov);
}

void aws_creds_provider_expire(struct aws_creds_provider *prov)
{
    pthread_mutex_lock(&prov->lock);
    prov->is_rejected = true;
    pthread_mutex_unlock(&prov->lock);
}

static void log_creds(const struct aws_config *cfg, const char *verb, const struct aws_creds *c)
{
    aws_debug(aws_config_hooks(cfg), "aws: %s credentials from %s: access key %s, %s %lld", verb,
            c->source, c->access_key_id, c->expires_s ? "expiring at" : "no expiry",
            (long long)c->expires_s);
}

/* Fetch again from the source that answered before; called with the lock held. */
static enum lsf_code refresh(struct aws_creds_provider *prov, int64_t now, struct lsf_err *err)
{
    struct aws_creds fresh;
    struct lsf_err local;
    bool found = false;
    bool is_mandatory = prov->is_rejected || prov->creds.expires_s == 0 ||
            now >= prov->creds.expires_s - AWS_CREDS_MANDATORY_REFRESH_S;
    enum lsf_code rc;

    lsf_err_clear(&local);
    memset(&fresh, 0, sizeof(fresh));
    rc = load_source(prov, prov->src, &fresh, &found, &local);
    if (rc == LSF_OK && !found && prov->src == SRC_IMDS)
        rc = lsf_fail(&local, LSF_E_TRANSIENT, "%s no longer provides credentials (%s)",
                prov->creds.source, prov->imds.note);
    else if (rc == LSF_OK && !found)
        rc = lsf_fail(&local, LSF_E_AUTH, "%s no longer provides credentials", prov->creds.source);
    if (rc == LSF_OK) {
        prov->creds = fresh;
        prov->is_rejected = false;
        log_creds(prov->cfg, "refreshed", &prov->creds);
    } else if (!is_mandatory) {
        aws_debug(aws_config_hooks(prov->cfg),
                "aws: refresh failed, keeping credentials valid until %lld: %s",
                (long long)prov->creds.expires_s, local.msg);
        rc = LSF_OK;
    } else {
        lsf_fail(err, rc, "refreshing AWS credentials: %s", local.msg);
    }
    aws_creds_wipe(&fresh);
    return rc;
}

enum lsf_code aws_creds_provider_get(
        struct aws_creds_provider *prov, struct aws_creds *out, struct lsf_err *err)
{
    int64_t now;
    enum lsf_code rc = LSF_OK;

    pthread_mutex_lock(&prov->lock);
    now = aws_config_now(prov->cfg);
    if (prov->src == SRC_NONE) {
        rc = resolve_chain(prov, &prov->creds, &prov->src, err);
        if (rc == LSF_OK)
            log_creds(prov->cfg, "using", &prov->creds);
        else
            aws_creds_wipe(&prov->creds);
    } else if (prov->is_rejected ||
            (prov->creds.expires_s != 0 &&
                    now >= prov->creds.expires_s - AWS_CREDS_ADVISORY_REFRESH_S)) {
        rc = refresh(prov, now, err);
    }
    if (rc == LSF_OK && prov->creds.expires_s != 0 && now >= prov->creds.expires_s)
        rc = lsf_fail(err, LSF_E_AUTH,
                "AWS credentials from %s (access key %s) expired %lld s ago and no fresh ones "
                "are available: renew them",
                prov->creds.source, prov->creds.access_key_id,
                (long long)(now - prov->creds.expires_s));
    if (rc == LSF_OK)
        *out = prov->creds;
    pthread_mutex_unlock(&prov->lock);
    return rc;
}
