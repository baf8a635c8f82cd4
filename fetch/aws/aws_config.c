/*
 * aws_config: which profile, which files, which region, which endpoint, resolved as the AWS CLI
 * resolves them (botocore session.py, configprovider.py; shared/spec/aws-facts.md 2.2-2.3,
 * 3.1), so logsift runs with whatever `aws` would use on the same host.
 *
 * The profile is --profile, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default". A
 * profile named by any of those must exist in one of the files (botocore raises
 * ProfileNotFound); the implicit default may be absent. The config file's profiles are
 * [default] and [profile NAME]; the credentials file's are bare [NAME]; a key in the
 * credentials file wins over the same key in the config file.
 *
 * Everything is read once at load; afterwards the struct is immutable and shared by threads.
 * Environment, clock and randomness come through struct aws_hooks so tests can swap them.
 */
#include "aws.h"
#include "aws_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#define CONFIG_FILE_MAX (1u << 20)

struct aws_config {
    struct aws_hooks hooks;
    char *profile;
    bool is_profile_explicit; /* given with --profile: environment keys are skipped */
    char *region;             /* NULL when none */
    char *paths[2];           /* indexed by enum aws_cfg_file; NULL when HOME is unknown */
    struct aws_ini *files[2]; /* NULL when the file does not exist */
    char *config_section;     /* the profile's section in the config file, or NULL */
};

/* ---- default hooks -------------------------------------------------------------------------- */

static const char *default_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

static int64_t default_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static double default_rand01(void *ctx)
{
    uint64_t r = 0;

    (void)ctx;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        return 0.5;
    return (double)(r >> 11) / 9007199254740992.0; /* 53 random bits in [0, 1) */
}

static void default_sleep_ms(void *ctx, unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    (void)ctx;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- accessors ------------------------------------------------------------------------------ */

const char *aws_config_env(const struct aws_config *cfg, const char *name)
{
    const char *v = cfg->hooks.getenv(cfg->hooks.ctx, name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

int64_t aws_config_now(const struct aws_config *cfg)
{
    return cfg->hooks.now_s(cfg->hooks.ctx);
}

bool aws_config_profile_explicit(const struct aws_config *cfg)
{
    return cfg->is_profile_explicit;
}

const struct aws_hooks *aws_config_hooks(const struct aws_config *cfg)
{
    return &cfg->hooks;
}

const char *aws_config_profile(const struct aws_config *cfg)
{
    return cfg->profile;
}

const char *aws_config_region(const struct aws_config *cfg)
{
    return cfg->region;
}

const char *aws_config_file_path(const struct aws_config *cfg, enum aws_cfg_file file)
{
    return cfg->paths[file] ? cfg->paths[file] : "(no path: HOME is not set)";
}

const char *aws_config_file_get(
        const struct aws_config *cfg, enum aws_cfg_file file, const char *key)
{
    if (file == AWS_CFG_CREDENTIALS)
        return aws_ini_get(cfg->files[file], cfg->profile, key);
    return cfg->config_section ? aws_ini_get(cfg->files[file], cfg->config_section, key) : NULL;
}

const char *aws_config_get(const struct aws_config *cfg, const char *key)
{
    const char *v = aws_config_file_get(cfg, AWS_CFG_CREDENTIALS, key);

    return v ? v : aws_config_file_get(cfg, AWS_CFG_CONFIG, key);
}

const char *aws_config_ca_bundle(const struct aws_config *cfg)
{
    const char *v = aws_config_env(cfg, "AWS_CA_BUNDLE");

    return v ? v : aws_config_get(cfg, "ca_bundle");
}

unsigned aws_config_max_attempts(const struct aws_config *cfg)
{
    const char *v = aws_config_env(cfg, "AWS_MAX_ATTEMPTS");
    char *end;
    unsigned long n;

    if (v == NULL)
        v = aws_config_get(cfg, "max_attempts");
    if (v == NULL)
        return AWS_RETRY_MAX_ATTEMPTS;
    n = strtoul(v, &end, 10);
    if (*end != '\0' || n < 1)
        return AWS_RETRY_MAX_ATTEMPTS;
    return n > 20 ? 20 : (unsigned)n;
}

/* ---- load ----------------------------------------------------------------------------------- */

void aws_config_free(struct aws_config *cfg)
{
    if (cfg == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        free(cfg->paths[i]);
        aws_ini_free(cfg->files[i]);
    }
    free(cfg->profile);
    free(cfg->region);
    free(cfg->config_section);
    free(cfg);
}

/* The file's path: the variable if set ("~/" expanded), else $HOME/.aws/<name>. */
static char *file_path(const struct aws_config *cfg, const char *var, const char *name)
{
    const char *set = aws_config_env(cfg, var);
    const char *home = aws_config_env(cfg, "HOME");
    const char *tail;
    char *path;

    if (set != NULL && !(set[0] == '~' && (set[1] == '/' || set[1] == '\0')))
        return strdup(set);
    if (home == NULL)
        return NULL;
    tail = set ? set + 1 : NULL;
    path = malloc(strlen(home) + (tail ? strlen(tail) : strlen(name) + 6) + 1);
    if (path == NULL)
        return NULL;
    strcpy(path, home);
    if (tail)
        strcat(path, tail);
    else
        strcat(strcat(path, "/.aws/"), name);
    return path;
}

static enum lsf_code load_file(struct aws_config *cfg, enum aws_cfg_file file, struct lsf_err *err)
{
    struct lsf_buf text;
    bool missing = false;
    enum lsf_code rc;

    if (cfg->paths[file] == NULL)
        return LSF_OK;
    lsf_buf_init(&text, CONFIG_FILE_MAX);
    rc = aws_read_file(cfg->paths[file], &text, &missing, err);
    if (rc == LSF_OK && !missing)
        rc = aws_ini_parse(
                (const char *)text.data, text.len, cfg->paths[file], &cfg->files[file], err);
    if (text.data != NULL)
        memset(text.data, 0, text.len); /* the credentials file holds secrets */
    lsf_buf_cleanup(&text);
    return rc;
}

/* "profile NAME" (any blanks, NAME optionally quoted) names profile NAME in the config file. */
static bool section_is_profile(const char *section, const char *profile)
{
    size_t len;

    if (strncmp(section, "profile", 7) != 0 || (section[7] != ' ' && section[7] != '\t'))
        return false;
    section += 7;
    while (*section == ' ' || *section == '\t')
        section++;
    len = strlen(section);
    while (len > 0 && (section[len - 1] == ' ' || section[len - 1] == '\t'))
        len--;
    if (len >= 2 && (section[0] == '"' || section[0] == '\'') && section[len - 1] == section[0]) {
        section++;
        len -= 2;
    }
    return len == strlen(profile) && strncmp(section, profile, len) == 0;
}

static enum lsf_code find_config_section(struct aws_config *cfg, struct lsf_err *err)
{
    const struct aws_ini *ini = cfg->files[AWS_CFG_CONFIG];
    const char *found = NULL;

    if (ini == NULL)
        return LSF_OK;
    /* Sections are few; scan them for the profile's header (the last one wins, as in a dict). */
    for (size_t i = 0; i < aws_ini_section_count(ini); i++) {
        const char *s = aws_ini_section(ini, i);
        if (section_is_profile(s, cfg->profile) ||
                (strcmp(cfg->profile, "default") == 0 && strcmp(s, "default") == 0))
            found = s;
    }
    if (found != NULL) {
        cfg->config_section = strdup(found);
        if (cfg->config_section == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory reading the AWS config");
    }
    return LSF_OK;
}

static bool valid_region(const char *r)
{
    if (r[0] == '\0' || strlen(r) >= 64)
        return false;
    for (; *r; r++) {
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') ||
                    *r == '-' || *r == '_'))
            return false;
    }
    return true;
}

enum lsf_code aws_config_load(
        const struct aws_config_opts *opts, struct aws_config **out, struct lsf_err *err)
{
    struct aws_config *cfg = calloc(1, sizeof(*cfg));
    const char *profile;
    const char *region;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (cfg == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory reading the AWS config");
    if (opts->hooks != NULL)
        cfg->hooks = *opts->hooks;
    cfg->hooks.getenv = cfg->hooks.getenv ? cfg->hooks.getenv : default_getenv;
    cfg->hooks.now_s = cfg->hooks.now_s ? cfg->hooks.now_s : default_now;
    cfg->hooks.rand01 = cfg->hooks.rand01 ? cfg->hooks.rand01 : default_rand01;
    cfg->hooks.sleep_ms = cfg->hooks.sleep_ms ? cfg->hooks.sleep_ms : default_sleep_ms;

    profile = opts->profile;
    cfg->is_profile_explicit = profile != NULL;
    if (profile == NULL)
        profile = aws_config_env(cfg, "AWS_PROFILE");
    if (profile == NULL)
        profile = aws_config_env(cfg, "AWS_DEFAULT_PROFILE");
    bool is_profile_named = profile != NULL;
    cfg->profile = strdup(profile ? profile : "default");
    cfg->paths[AWS_CFG_CREDENTIALS] = file_path(cfg, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    cfg->paths[AWS_CFG_CONFIG] = file_path(cfg, "AWS_CONFIG_FILE", "config");
    if (cfg->profile == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the AWS config");
        goto out;
    }
    rc = load_file(cfg, AWS_CFG_CREDENTIALS, err);
    if (rc == LSF_OK)
        rc = load_file(cfg, AWS_CFG_CONFIG, err);
    if (rc == LSF_OK)
        rc = find_config_section(cfg, err);
    if (rc != LSF_OK)
        goto out;
    if (is_profile_named && cfg->config_section == NULL &&
            !aws_ini_has_section(cfg->files[AWS_CFG_CREDENTIALS], cfg->profile)) {
        rc = lsf_fail(err, LSF_E_USAGE,
                "AWS profile \"%s\" is in neither %s nor %s: fix --profile or AWS_PROFILE, or "
                "add [profile %s] with `aws configure --profile %s`",
                cfg->profile, aws_config_file_path(cfg, AWS_CFG_CREDENTIALS),
                aws_config_file_path(cfg, AWS_CFG_CONFIG), cfg->profile, cfg->profile);
        goto out;
    }

    region = opts->region;
    if (region == NULL)
        region = aws_config_env(cfg, "AWS_REGION");
    if (region == NULL)
        region = aws_config_env(cfg, "AWS_DEFAULT_REGION");
    if (region == NULL)
        region = aws_config_get(cfg, "region");
    if (region != NULL && !valid_region(region)) {
        rc = lsf_fail(err, LSF_E_USAGE,
                "AWS region \"%.64s\" is not a region name (like eu-west-1): fix --region, "
                "AWS_REGION, AWS_DEFAULT_REGION or region in profile %s",
                region, cfg->profile);
        goto out;
    }
    if (region != NULL && (cfg->region = strdup(region)) == NULL) {
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory reading the AWS config");
        goto out;
    }
    aws_debug(&cfg->hooks, "aws: profile %s, region %s, files %s and %s", cfg->profile,
            cfg->region ? cfg->region : "(none)", aws_config_file_path(cfg, AWS_CFG_CONFIG),
            aws_config_file_path(cfg, AWS_CFG_CREDENTIALS));
out:
    if (rc != LSF_OK) {
        aws_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return LSF_OK;
}

/* ---- endpoints ------------------------------------------------------------------------------ */

struct svc_names {
    const char *env_id;     /* AWS_ENDPOINT_URL_<env_id> */
    const char *config_key; /* key under [services NAME] */
    const char *prefix;     /* host prefix and signing name */
};

static const struct svc_names svc_table[] = {
        [AWS_SVC_S3] = {"S3", "s3", "s3"},
        [AWS_SVC_LOGS] = {"CLOUDWATCH_LOGS", "cloudwatch_logs", "logs"},
        [AWS_SVC_SNS] = {"SNS", "sns", "sns"},
        [AWS_SVC_CLOUDWATCH] = {"CLOUDWATCH", "cloudwatch", "monitoring"},
        [AWS_SVC_STS] = {"STS", "sts", "sts"},
        [AWS_SVC_CLOUDTRAIL] = {"CLOUDTRAIL", "cloudtrail", "cloudtrail"},
};

/* Fill the endpoint's scheme, host and path from url; what names the setting for messages. */
static enum lsf_code parse_endpoint_url(
        const char *url, const char *what, struct aws_endpoint *ep, struct lsf_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    char *path = NULL;
    enum lsf_code rc = LSF_OK;
    int n;

    if (u == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory parsing %s", what);
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        rc = lsf_fail(err, LSF_E_USAGE,
                "%s \"%.200s\" is not an http(s) URL like https://s3.example.com:9000", what, url);
        goto out;
    }
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when given explicitly */
    (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
    ep->is_https = strcmp(scheme, "https") == 0;
    bool is_default_port = port == NULL || (ep->is_https && strcmp(port, "443") == 0) ||
            (!ep->is_https && strcmp(port, "80") == 0);
    bool needs_brackets = strchr(host, ':') != NULL && host[0] != '[';
    n = snprintf(ep->host, sizeof(ep->host), "%s%s%s%s%s", needs_brackets ? "[" : "", host,
            needs_brackets ? "]" : "", is_default_port ? "" : ":", is_default_port ? "" : port);
    size_t path_len = path ? strlen(path) : 0;
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    if (n < 0 || (size_t)n >= sizeof(ep->host) || path_len >= sizeof(ep->base_path)) {
        rc = lsf_fail(err, LSF_E_USAGE, "%s \"%.200s\" is too long", what, url);
        goto out;
    }
    memcpy(ep->base_path, path ? path : "", path_len);
    ep->base_path[path_len] = '\0';
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

/* The configured endpoint URL for svc, and what set it (for messages), or NULL. */
static const char *configured_url(
        const struct aws_config *cfg, enum aws_service svc, char *what, size_t what_len)
{
    char var[64];
    const char *v;
    const char *services;

    if (aws_is_true(aws_config_env(cfg, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
            aws_is_true(aws_config_get(cfg, "ignore_configured_endpoint_urls")))
        return NULL;
    snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", svc_table[svc].env_id);
    if ((v = aws_config_env(cfg, var)) != NULL) {
        snprintf(what, what_len, "%s", var);
        return v;
    }
    if ((v = aws_config_env(cfg, "AWS_ENDPOINT_URL")) != NULL) {
        snprintf(what, what_len, "AWS_ENDPOINT_URL");
        return v;
    }
    services = aws_config_get(cfg, "services");
    if (services != NULL) {
        char section[160];
        char key[64];
        snprintf(section, sizeof(section), "services %s", services);
        snprintf(key, sizeof(key), "%s.endpoint_url", svc_table[svc].config_key);
        v = aws_ini_get(cfg->files[AWS_CFG_CONFIG], section, key);
        if (v != NULL) {
            snprintf(what, what_len, "[services %.64s] %s.endpoint_url in %s", services,
                    svc_table[svc].config_key, aws_config_file_path(cfg, AWS_CFG_CONFIG));
            return v;
        }
    }
    if ((v = aws_config_get(cfg, "endpoint_url")) != NULL) {
        snprintf(what, what_len, "endpoint_url of profile %s", cfg->profile);
        return v;
    }
    return NULL;
}

enum lsf_code aws_endpoint_resolve(const struct aws_config *cfg, enum aws_service svc,
        const char *override_url, struct aws_endpoint *out, struct lsf_err *err)
{
    const char *region = cfg->region;
    const char *url = override_url;
    char what[256] = "--endpoint-url";
    enum lsf_code rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->service, sizeof(out->service), "%s", svc_table[svc].prefix);
    if (region == NULL && (svc == AWS_SVC_S3 || svc == AWS_SVC_STS))
        region = "us-east-1"; /* botocore's aws-global partition endpoints sign for us-east-1 */
    if (url == NULL)
        url = configured_url(cfg, svc, what, sizeof(what));
    if (url != NULL) {
        rc = parse_endpoint_url(url, what, out, err);
        if (rc != LSF_OK)
            return rc;
        out->is_custom = true;
    } else if (svc == AWS_SVC_STS && cfg->region == NULL) {
        out->is_https = true;
        snprintf(out->host, sizeof(out->host), "sts.amazonaws.com");
    } else if (region != NULL) {
        out->is_https = true;
        snprintf(out->host, sizeof(out->host), "%s.%s.amazonaws.com%s", svc_table[svc].prefix,
                region, strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    }
    if (region == NULL)
        return lsf_fail(err, LSF_E_USAGE,
                "no AWS region for %s: pass --region, set AWS_REGION, or set region in profile "
                "%s of %s",
                svc_table[svc].prefix, cfg->profile, aws_config_file_path(cfg, AWS_CFG_CONFIG));
    snprintf(out->region, sizeof(out->region), "%s", region);
    return LSF_OK;
}

void aws_endpoint_base_url(const struct aws_endpoint *ep, char *buf, size_t len)
{
    snprintf(buf, len, "%s://%s%s", ep->is_https ? "https" : "http", ep->host, ep->base_path);
}

/* ---- S3 addressing (aws-facts 3.1) ---------------------------------------------------------- */

static bool is_dns_bucket(const char *b)
{
    size_t len = strlen(b);

    if (len < 3 || len > 63 || b[0] == '-' || b[len - 1] == '-')
        return false;
    for (; *b; b++) {
        if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '-'))
            return false; /* dots would break the *.s3 TLS wildcard certificate */
    }
    return true;
}

bool aws_s3_path_style(
        const struct aws_config *cfg, const struct aws_endpoint *ep, const char *bucket)
{
    const char *style = aws_config_get(cfg, "s3.addressing_style");

    if (!is_dns_bucket(bucket))
        return true;
    if (style != NULL && strcmp(style, "path") == 0)
        return true;
    if (style != NULL && strcmp(style, "virtual") == 0)
        return false;
    return ep->is_custom;
}

enum lsf_code aws_s3_address(const struct aws_endpoint *ep, bool path_style, const char *bucket,
        const char *key, char host[AWS_HOST_MAX], struct lsf_buf *path, struct lsf_err *err)
{
    enum lsf_code rc;
    int n;

    if (path_style)
        n = snprintf(host, AWS_HOST_MAX, "%s", ep->host);
    else
        n = snprintf(host, AWS_HOST_MAX, "%s.%s", bucket, ep->host);
    if (n < 0 || n >= AWS_HOST_MAX)
        return lsf_fail(err, LSF_E_USAGE, "s3://%s: host name for the bucket is too long", bucket);
    rc = aws_buf_puts(path, ep->base_path, err);
    if (rc == LSF_OK && path_style) {
        rc = aws_buf_puts(path, "/", err);
        if (rc == LSF_OK)
            rc = aws_uri_encode(bucket, strlen(bucket), false, path, err);
    }
    if (rc == LSF_OK && (!path_style || (key != NULL && key[0] != '\0')))
        rc = aws_buf_puts(path, "/", err);
    if (rc == LSF_OK && key != NULL)
        rc = aws_uri_encode(key, strlen(key), true, path, err);
    if (rc == LSF_OK)
        rc = aws_buf_nul(path, err);
    return rc;
}

bool aws_s3_request_bucket(const struct aws_endpoint *ep, const char *host, const char *path,
        char *bucket, size_t cap, bool *is_virtual)
{
    size_t host_len = strlen(host);
    size_t ep_len = strlen(ep->host);
    size_t base_len = strlen(ep->base_path);
    const char *p;
    size_t n;

    if (strcmp(ep->service, "s3") != 0)
        return false;
    *is_virtual = host_len > ep_len + 1 && host[host_len - ep_len - 1] == '.' &&
            strcmp(host + host_len - ep_len, ep->host) == 0;
    if (*is_virtual) {
        p = host;
        n = host_len - ep_len - 1;
    } else {
        if (strncmp(path, ep->base_path, base_len) != 0 || path[base_len] != '/')
            return false;
        p = path + base_len + 1;
        n = strcspn(p, "/");
    }
    if (n == 0 || n >= cap)
        return false;
    memcpy(bucket, p, n);
    bucket[n] = '\0';
    return true;
}

bool aws_s3_region_move(struct aws_endpoint *ep, const char *bucket, bool is_virtual,
        const char *region, char host[AWS_HOST_MAX])
{
    struct aws_endpoint moved = *ep;
    int n;

    if (!aws_copy(moved.region, sizeof(moved.region), region))
        return false;
    if (!ep->is_custom) {
        n = snprintf(moved.host, sizeof(moved.host), "s3.%s.amazonaws.com%s", region,
                strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
        if (n < 0 || (size_t)n >= sizeof(moved.host))
            return false;
    }
    n = is_virtual ? snprintf(host, AWS_HOST_MAX, "%s.%s", bucket, moved.host)
                   : snprintf(host, AWS_HOST_MAX, "%s", moved.host);
    if (n < 0 || n >= AWS_HOST_MAX)
        return false;
    *ep = moved;
    return true;
}
