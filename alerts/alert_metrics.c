/*
 * alert_metrics: findings and scan counters as CloudWatch metrics (PutMetricData over the
 * Query protocol, shared/spec/aws-facts.md 9.1).
 *
 * Datums: "Findings" with dimension Rule=<rule id> and "Findings" with Severity=<severity>
 * (Count, summed per timestamp), and per run "EventsScanned" (Count), "BytesScanned" (Bytes)
 * and "ScanErrors" (Count); every datum also carries the --metrics-dimension pairs. Requests
 * hold at most 1000 datums and stay under 1 MB (9.2).
 *
 * Never counted twice: every (finding, counter) and (run, counter) a request carries is
 * written to the ledger (fsynced) before the request goes out and withdrawn only when the
 * answer proves it was not applied; only throttling answers are retried. A request whose
 * outcome is unknown (no answer, a 5xx, a crash while in flight) is not repeated and a warning
 * says its counters may be missing, since CloudWatch cannot drop a duplicate (aws-facts 10.4).
 */
#include "alert_deliver_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"

#define METRICS_FORM_MAX ((size_t)2 << 20)

const char *const alert_metrics_run_parts[3] = {"events", "bytes", "errors"};

/* What a datum counts: a finding's counter or a run's. */
struct datum_key {
    size_t idx;  /* record or run index */
    bool is_run;
    const char *part;
};

struct datum {
    const char *metric;
    const char *dim_name; /* NULL for run counters */
    const char *dim_value;
    const char *unit;
    int64_t ts_s;
    double value;
    struct datum_key *keys;
    size_t n_keys;
    size_t cap_keys;
};

struct datums {
    struct datum *v;
    size_t n;
    size_t cap;
};

static void datums_cleanup(struct datums *ds)
{
    for (size_t i = 0; i < ds->n; i++)
        free(ds->v[i].keys);
    free(ds->v);
}

/* The datum for (metric, dimension, timestamp), made on first use. */
static struct datum *datum_get(struct datums *ds, const char *metric, const char *dim_name,
        const char *dim_value, const char *unit, int64_t ts_s)
{
    for (size_t i = 0; i < ds->n; i++) {
        struct datum *x = &ds->v[i];
        if (strcmp(x->metric, metric) == 0 && x->ts_s == ts_s && x->dim_name && dim_name &&
                strcmp(x->dim_name, dim_name) == 0 && strcmp(x->dim_value, dim_value) == 0)
            return x;
    }
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 32;
        struct datum *g = realloc(ds->v, cap * sizeof(*g));
        if (g == NULL)
            return NULL;
        ds->v = g;
        ds->cap = cap;
    }
    ds->v[ds->n] = (struct datum){metric, dim_name, dim_value, unit, ts_s, 0, NULL, 0, 0};
    return &ds->v[ds->n++];
}

static bool datum_add_key(struct datum *x, struct datum_key key)
{
    if (x->n_keys == x->cap_keys) {
        size_t cap = x->cap_keys ? x->cap_keys * 2 : 8;
        struct datum_key *g = realloc(x->keys, cap * sizeof(*g));
        if (g == NULL)
            return false;
        x->keys = g;
        x->cap_keys = cap;
    }
    x->keys[x->n_keys++] = key;
    return true;
}

/* Event time (whole minute) when asked for and CloudWatch would take it, else now. */
static int64_t datum_time(const struct alert_delivery *d, int64_t ts_ms, int64_t now_s)
{
    int64_t t;

    if (!d->opts.metrics.use_event_time || ts_ms == LSF_TS_UNKNOWN)
        return now_s;
    t = ts_ms / 1000;
    t -= ((t % 60) + 60) % 60;
    /* A margin inside the accepted window [-2 weeks, +2 hours] (aws-facts 9.2). */
    if (t < now_s - ALERT_METRICS_MAX_AGE_S + 3600 || t > now_s + ALERT_METRICS_MAX_AHEAD_S - 600)
        return now_s;
    return t;
}

static enum lsf_code build(const struct alert_delivery *d, const struct alert_spooled *s,
        const struct alert_ledger *ledger, struct datums *ds, struct lsf_err *err)
{
    int64_t now_s = (int64_t)time(NULL);

    for (size_t i = 0; i < s->n_records; i++) {
        const struct alert_record *r = &s->records[i];
        int64_t ts = datum_time(d, r->ts_ms, now_s);
        struct datum *x;

        if (!alert_ledger_has(ledger, r->rule, r->event_id, ALERT_METRICS_PART_RULE)) {
            x = datum_get(ds, "Findings", "Rule", r->rule, "Count", ts);
            if (x == NULL || !datum_add_key(x, (struct datum_key){i, false,
                                                       ALERT_METRICS_PART_RULE}))
                return lsf_fail(err, LSF_E_NOMEM, "out of memory building metrics");
            x->value += 1;
        }
        if (!alert_ledger_has(ledger, r->rule, r->event_id, ALERT_METRICS_PART_SEVERITY)) {
            x = datum_get(ds, "Findings", "Severity", r->severity, "Count", ts);
            if (x == NULL || !datum_add_key(x, (struct datum_key){i, false,
                                                       ALERT_METRICS_PART_SEVERITY}))
                return lsf_fail(err, LSF_E_NOMEM, "out of memory building metrics");
            x->value += 1;
        }
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct alert_run *run = &s->runs[i];
        static const char *const metric[3] = {"EventsScanned", "BytesScanned", "ScanErrors"};
        static const char *const unit[3] = {"Count", "Bytes", "Count"};
        const double value[3] = {(double)run->n_events, (double)run->n_bytes,
                (double)run->n_errors};

        for (int p = 0; p < 3; p++) {
            struct datum *x;
            if (alert_ledger_has(ledger, ALERT_METRICS_RUN_KEY, run->run_id,
                        alert_metrics_run_parts[p]))
                continue;
            /* One datum per run and counter: runs are never merged, so each keeps its time. */
            if (ds->n == ds->cap) {
                size_t cap = ds->cap ? ds->cap * 2 : 32;
                struct datum *g = realloc(ds->v, cap * sizeof(*g));
                if (g == NULL)
                    return lsf_fail(err, LSF_E_NOMEM, "out of memory building metrics");
                ds->v = g;
                ds->cap = cap;
            }
            x = &ds->v[ds->n++];
            *x = (struct datum){metric[p], NULL, NULL, unit[p], datum_time(d, run->time_ms, now_s),
                    value[p], NULL, 0, 0};
            if (!datum_add_key(x, (struct datum_key){i, true, alert_metrics_run_parts[p]}))
                return lsf_fail(err, LSF_E_NOMEM, "out of memory building metrics");
        }
    }
    return LSF_OK;
}

static enum lsf_code add_datum(struct lsf_buf *form, size_t n, const struct alert_delivery *d,
        const struct datum *x, struct lsf_err *err)
{
    char name[128];
    char val[64];
    char when[40];
    size_t dim = 0;
    enum lsf_code rc;
    struct tm tm;
    time_t t = (time_t)x->ts_s;

#define FIELD(fmt, ...)                                                                        \
    (snprintf(name, sizeof(name), "MetricData.member.%zu." fmt, n, __VA_ARGS__), name)
    rc = aws_query_add(form, FIELD("%s", "MetricName"), x->metric, err);
    for (size_t i = 0; rc == LSF_OK && i < d->opts.metrics.n_dims; i++) {
        dim++;
        rc = aws_query_add(form, FIELD("Dimensions.member.%zu.Name", dim),
                d->opts.metrics.dim_names[i], err);
        if (rc == LSF_OK)
            rc = aws_query_add(form, FIELD("Dimensions.member.%zu.Value", dim),
                    d->opts.metrics.dim_values[i], err);
    }
    if (rc == LSF_OK && x->dim_name != NULL) {
        dim++;
        rc = aws_query_add(form, FIELD("Dimensions.member.%zu.Name", dim), x->dim_name, err);
        if (rc == LSF_OK)
            rc = aws_query_add(form, FIELD("Dimensions.member.%zu.Value", dim), x->dim_value,
                    err);
    }
    snprintf(val, sizeof(val), "%.17g", x->value);
    if (rc == LSF_OK)
        rc = aws_query_add(form, FIELD("%s", "Value"), val, err);
    if (rc == LSF_OK)
        rc = aws_query_add(form, FIELD("%s", "Unit"), x->unit, err);
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (rc == LSF_OK)
        rc = aws_query_add(form, FIELD("%s", "Timestamp"), when, err);
#undef FIELD
    return rc;
}

/* Record (or, with is_cancel, withdraw) every key of the batch, durably. */
static enum lsf_code ledger_batch(const struct alert_spooled *s, const struct datum *xs,
        size_t n, struct alert_ledger *ledger, bool is_cancel, struct lsf_err *err)
{
    enum lsf_code (*const op)(struct alert_ledger *, const char *, const char *, const char *,
            struct lsf_err *) = is_cancel ? alert_ledger_cancel : alert_ledger_add;
    enum lsf_code rc = LSF_OK;

    for (size_t i = 0; rc == LSF_OK && i < n; i++) {
        for (size_t k = 0; rc == LSF_OK && k < xs[i].n_keys; k++) {
            const struct datum_key *key = &xs[i].keys[k];
            if (key->is_run)
                rc = op(ledger, ALERT_METRICS_RUN_KEY, s->runs[key->idx].run_id, key->part, err);
            else
                rc = op(ledger, s->records[key->idx].rule, s->records[key->idx].event_id,
                        key->part, err);
        }
    }
    if (rc == LSF_OK)
        rc = alert_ledger_sync(ledger, err);
    return rc;
}

static enum lsf_code put_batch(struct alert_delivery *d, const struct alert_spooled *s,
        const struct datum *xs, size_t n, struct alert_ledger *ledger,
        struct alert_delivery_stats *stats, struct lsf_err *err)
{
    struct lsf_buf form;
    struct lsf_buf reply;
    bool is_ambiguous = false;
    enum lsf_code rc;

    lsf_buf_init(&form, METRICS_FORM_MAX);
    lsf_buf_init(&reply, SIZE_MAX);
    rc = aws_query_add(&form, "Action", "PutMetricData", err);
    if (rc == LSF_OK)
        rc = aws_query_add(&form, "Version", "2010-08-01", err);
    if (rc == LSF_OK)
        rc = aws_query_add(&form, "Namespace", d->opts.metrics.ns, err);
    for (size_t i = 0; rc == LSF_OK && i < n; i++)
        rc = add_datum(&form, i + 1, d, &xs[i], err);
    /* The intent is durable before the request leaves: a crash while it is in flight then
     * means "maybe missing", never "counted twice". */
    if (rc == LSF_OK)
        rc = ledger_batch(s, xs, n, ledger, false, err);
    if (rc == LSF_OK) {
        struct aws_query_call call = {
            .ep = &d->cw_ep,
            .form = (const char *)form.data,
            .form_len = form.len,
            .operation = "PutMetricData",
            .resource = d->opts.metrics.ns,
            .retry = AWS_QUERY_RETRY_UNAPPLIED,
        };
        rc = aws_query_post(d->cfg_cw, d->creds, &call, &reply, &is_ambiguous, err);
    }
    if (rc == LSF_OK) {
        if (stats)
            stats->n_datums += n;
    } else if (is_ambiguous) {
        alert_warn(d, "%s; %zu datums are not resent (CloudWatch would count them twice if the "
                "first request was applied), so these counters may be missing", err->msg, n);
        lsf_err_clear(err);
        rc = LSF_OK;
    } else if (form.len > 0 && ledger_batch(s, xs, n, ledger, true, NULL) != LSF_OK) {
        /* Not sent for sure, but the withdrawal did not stick: the counters are lost rather
         * than risked twice. err already holds the reason the request failed. */
        alert_warn(d, "PutMetricData %s: could not withdraw %zu counters from the delivery "
                "ledger; they will not be retried", d->opts.metrics.ns, n);
    }
    lsf_buf_cleanup(&form);
    lsf_buf_cleanup(&reply);
    return rc;
}

/* Form bytes one datum takes, over-estimated (every byte may need %XX). */
static size_t datum_bytes(const struct alert_delivery *d, const struct datum *x)
{
    size_t n = 200 + strlen(x->metric) * 3 + (x->dim_name ? 100 + strlen(x->dim_name) * 3 +
                                                                    strlen(x->dim_value) * 3
                                                            : 0);
    for (size_t i = 0; i < d->opts.metrics.n_dims; i++)
        n += 100 + 3 * (strlen(d->opts.metrics.dim_names[i]) +
                               strlen(d->opts.metrics.dim_values[i]));
    return n;
}

size_t alert_metrics_batch_end(const size_t *sizes, size_t n, size_t start, size_t base_bytes)
{
    size_t end = start;
    size_t bytes = base_bytes;

    /* 1000 datums and a 1 MB body per request (aws-facts 9.2). */
    while (end < n && end - start < ALERT_METRICS_MAX_DATUMS &&
            (end == start || bytes + sizes[end] <= ALERT_METRICS_MAX_BODY_BYTES)) {
        bytes += sizes[end];
        end++;
    }
    return end;
}

enum lsf_code alert_metrics_deliver(struct alert_delivery *d, const struct alert_spooled *s,
        struct alert_ledger *ledger, struct alert_delivery_stats *stats, struct lsf_err *err)
{
    struct datums ds = {NULL, 0, 0};
    enum lsf_code rc = build(d, s, ledger, &ds, err);

    size_t *sizes = malloc((ds.n ? ds.n : 1) * sizeof(size_t));

    if (rc == LSF_OK && sizes == NULL)
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == LSF_OK && i < ds.n; i++)
        sizes[i] = datum_bytes(d, &ds.v[i]);
    for (size_t i = 0; rc == LSF_OK && i < ds.n;) {
        size_t j = alert_metrics_batch_end(sizes, ds.n, i, 300 + strlen(d->opts.metrics.ns) * 3);
        rc = put_batch(d, s, ds.v + i, j - i, ledger, stats, err);
        i = j;
    }
    free(sizes);
    datums_cleanup(&ds);
    return rc;
}
