/*
 * alert_deliver: sets up the AWS side of the delivered sinks and runs one delivery pass over
 * the spool (see alert_deliver.h): SNS first, then metrics, then the spool is compacted down to
 * what some destination still lacks.
 */
#include "alert_deliver_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alert_warn(const struct alert_delivery *d, const char *fmt, ...)
{
    char line[LSF_ERR_MSG_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (d->opts.warn != NULL)
        d->opts.warn(d->opts.warn_ctx, line);
    else
        fprintf(stderr, "logsift: %s\n", line);
}

static bool is_valid_namespace(const char *ns)
{
    size_t n = strlen(ns);

    if (n == 0 || n > 255 || ns[0] == ':' || strncmp(ns, "AWS/", 4) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)ns[i] < 0x20 || ns[i] == 0x7f)
            return false;
    }
    return true;
}

enum lsf_code alert_delivery_new(const struct alert_delivery_opts *opts,
        struct alert_delivery **out, struct lsf_err *err)
{
    struct alert_delivery *d = calloc(1, sizeof(*d));
    char arn_region[64] = "";
    struct aws_config_opts cfg_opts = {0};
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (d == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    d->opts = *opts;
    if (opts->sns.topic_arn != NULL) {
        size_t n = strlen(opts->sns.topic_arn);
        if (!alert_sns_arn_region(opts->sns.topic_arn, arn_region, sizeof(arn_region))) {
            rc = lsf_fail(err, LSF_E_USAGE, "--sns-topic %s: not an SNS topic ARN; give one "
                    "such as arn:aws:sns:eu-west-1:123456789012:soc-alerts", opts->sns.topic_arn);
            goto out;
        }
        d->is_fifo = n > 5 && strcmp(opts->sns.topic_arn + n - 5, ".fifo") == 0;
    }
    if (opts->metrics.ns != NULL && !is_valid_namespace(opts->metrics.ns)) {
        rc = lsf_fail(err, LSF_E_USAGE, "--metrics-namespace %s: a namespace is 1-255 printable "
                "characters, does not start with ':' and not with the reserved 'AWS/'; give one "
                "such as Security/logsift", opts->metrics.ns);
        goto out;
    }
    if (opts->metrics.n_dims + 1 > ALERT_METRICS_MAX_DIMENSIONS) {
        rc = lsf_fail(err, LSF_E_USAGE, "--metrics-dimension: %zu given, at most %d fit "
                "(CloudWatch allows %d per metric and logsift adds one)", opts->metrics.n_dims,
                ALERT_METRICS_MAX_DIMENSIONS - 1, ALERT_METRICS_MAX_DIMENSIONS);
        goto out;
    }
    rc = aws_global_init(err);
    if (rc != LSF_OK)
        goto out;
    cfg_opts.profile = opts->profile;
    /* The topic lives in one region: its ARN says which, unless --region overrides it. */
    cfg_opts.region = opts->region ? opts->region : (arn_region[0] ? arn_region : NULL);
    rc = aws_config_load(&cfg_opts, &d->cfg, err);
    if (rc == LSF_OK)
        rc = aws_creds_provider_new(d->cfg, &d->creds, err);
    if (rc == LSF_OK) {
        /* Missing or broken credentials stop the run before the scan, not after it; a
         * credential endpoint that is down only delays delivery (the spool keeps it). */
        struct aws_creds creds;
        struct lsf_err cerr;
        lsf_err_clear(&cerr);
        rc = aws_creds_provider_get(d->creds, &creds, &cerr);
        aws_creds_wipe(&creds);
        if (rc == LSF_E_TRANSIENT)
            rc = LSF_OK;
        else if (rc != LSF_OK)
            rc = lsf_fail(err, rc, "alert delivery: %s", cerr.msg);
    }
    if (rc == LSF_OK && opts->sns.topic_arn != NULL)
        rc = aws_endpoint_resolve(d->cfg, AWS_SVC_SNS, NULL, &d->sns_ep, err);
    if (rc == LSF_OK && opts->metrics.ns != NULL) {
        /* Metrics belong in the region the user works in, not necessarily the topic's. */
        cfg_opts.region = opts->region;
        rc = aws_config_load(&cfg_opts, &d->cfg_cw, err);
        if (rc == LSF_OK && aws_config_region(d->cfg_cw) == NULL && arn_region[0] != '\0') {
            aws_config_free(d->cfg_cw);
            d->cfg_cw = NULL;
            cfg_opts.region = arn_region;
            rc = aws_config_load(&cfg_opts, &d->cfg_cw, err);
        }
        if (rc == LSF_OK)
            rc = aws_endpoint_resolve(d->cfg_cw, AWS_SVC_CLOUDWATCH, NULL, &d->cw_ep, err);
    }
out:
    if (rc != LSF_OK)
        alert_delivery_free(d);
    else
        *out = d;
    return rc;
}

void alert_delivery_free(struct alert_delivery *d)
{
    if (d == NULL)
        return;
    aws_creds_provider_free(d->creds);
    aws_config_free(d->cfg_cw);
    if (d->cfg != NULL) {
        aws_config_free(d->cfg);
        aws_global_cleanup();
    }
    free(d);
}

/* Metrics destination for the ledger name: the namespace and the extra dimensions. */
static char *metrics_destination(const struct alert_delivery *d)
{
    size_t n = strlen(d->opts.metrics.ns) + 2;
    char *s;

    for (size_t i = 0; i < d->opts.metrics.n_dims; i++)
        n += strlen(d->opts.metrics.dim_names[i]) + strlen(d->opts.metrics.dim_values[i]) + 2;
    s = malloc(n);
    if (s == NULL)
        return NULL;
    strcpy(s, d->opts.metrics.ns);
    for (size_t i = 0; i < d->opts.metrics.n_dims; i++) {
        strcat(s, "\n");
        strcat(s, d->opts.metrics.dim_names[i]);
        strcat(s, "=");
        strcat(s, d->opts.metrics.dim_values[i]);
    }
    return s;
}

enum lsf_code alert_deliver_pending(struct alert_delivery *d, struct alert_spool *sp,
        struct alert_delivery_stats *stats, struct lsf_err *err)
{
    struct alert_spooled s;
    struct alert_ledger *sns = NULL;
    struct alert_ledger *met = NULL;
    bool *keep_records = NULL;
    bool *keep_runs = NULL;
    struct alert_delivery_stats local;
    enum lsf_code first = LSF_OK;
    enum lsf_code rc;

    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    rc = alert_spool_load(sp, &s, err);
    if (rc != LSF_OK)
        return rc;
    /* Each sink reports into its own error, so one's failure never hides the other's. */
    if (d->opts.sns.topic_arn != NULL) {
        struct lsf_err e;
        lsf_err_clear(&e);
        rc = alert_ledger_open(sp, "sns", d->opts.sns.topic_arn, &sns, &e);
        if (rc == LSF_OK)
            rc = alert_sns_deliver(d, &s, sns, stats, &e);
        if (rc != LSF_OK)
            first = lsf_fail(err, rc, "%s", e.msg);
    }
    if (d->opts.metrics.ns != NULL && first != LSF_E_IO && first != LSF_E_NOMEM) {
        char *dest = metrics_destination(d);
        struct lsf_err e;
        lsf_err_clear(&e);
        rc = dest ? alert_ledger_open(sp, "metrics", dest, &met, &e)
                  : lsf_fail(&e, LSF_E_NOMEM, "out of memory");
        free(dest);
        if (rc == LSF_OK)
            rc = alert_metrics_deliver(d, &s, met, stats, &e);
        if (rc != LSF_OK && first == LSF_OK)
            first = lsf_fail(err, rc, "%s", e.msg);
        else if (rc != LSF_OK)
            alert_warn(d, "%s", e.msg); /* the first error is returned; this one is shown */
    }
    /* Keep what a configured destination still lacks; drop the rest. */
    keep_records = calloc(s.n_records + 1, sizeof(bool));
    keep_runs = calloc(s.n_runs + 1, sizeof(bool));
    if (keep_records == NULL || keep_runs == NULL) {
        if (first == LSF_OK)
            first = lsf_fail(err, LSF_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s.n_records; i++) {
        const struct alert_record *r = &s.records[i];
        keep_records[i] =
                (sns && alert_sns_wants(d, r) && !alert_ledger_has(sns, r->rule, r->event_id,
                                                          NULL)) ||
                (met && (!alert_ledger_has(met, r->rule, r->event_id, ALERT_METRICS_PART_RULE) ||
                                !alert_ledger_has(met, r->rule, r->event_id,
                                        ALERT_METRICS_PART_SEVERITY)));
        stats->n_pending += keep_records[i];
    }
    for (size_t i = 0; i < s.n_runs; i++) {
        for (int p = 0; met && p < 3; p++)
            keep_runs[i] = keep_runs[i] || !alert_ledger_has(met, ALERT_METRICS_RUN_KEY,
                                                   s.runs[i].run_id, alert_metrics_run_parts[p]);
        stats->n_pending += keep_runs[i];
    }
    if (first != LSF_E_IO) {
        struct lsf_err cerr;
        lsf_err_clear(&cerr);
        rc = alert_spool_compact(sp, &s, keep_records, keep_runs, &cerr);
        if (rc != LSF_OK && first == LSF_OK)
            first = lsf_fail(err, rc, "%s", cerr.msg);
    }
out:
    free(keep_records);
    free(keep_runs);
    alert_ledger_free(sns);
    alert_ledger_free(met);
    alert_spooled_cleanup(&s);
    return first;
}
