/*
 * cli_alerts: alert flags and the run order of the delivered sinks (see cli_alerts.h).
 *
 * Why deliver after the scan instead of from the sink: the engine calls a sink's format from
 * every worker at once, and a publish can take seconds or fail; spooling there costs one
 * write, keeps the scan fast, and makes the findings durable before anything is sent, so a
 * crash or an SNS outage never loses one and a rerun never sends one twice.
 */
#include "cli_alerts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "alert_deliver.h"
#include "alert_record.h"
#include "alert_report.h"
#include "alert_spool.h"

static const char *const alert_flags[] = {"--sns-topic", "--sns-min-severity", "--sns-digest",
        "--sns-max-per-rule", "--metrics-namespace", "--metrics-dimension", "--metrics-time",
        "--spool-dir", "--report"};

bool cli_alerts_is_flag(const char *flag)
{
    for (size_t i = 0; i < sizeof(alert_flags) / sizeof(alert_flags[0]); i++) {
        if (strcmp(flag, alert_flags[i]) == 0)
            return true;
    }
    return false;
}

void cli_alerts_usage(FILE *to)
{
    fprintf(to,
            "Alerts (delivered after the scan through a durable spool; each finding once):\n"
            "      --sns-topic ARN     publish findings to an SNS topic (FIFO topics too)\n"
            "      --sns-min-severity S  only findings of severity S or above\n"
            "      --sns-digest DUR    one message per window of event time (e.g. 5m, 1h)\n"
            "      --sns-max-per-rule N  messages per rule per delivery; the rest become one\n"
            "                          \"N more suppressed\" summary (default 10)\n"
            "      --metrics-namespace NS  CloudWatch counters per rule and severity, events,\n"
            "                          bytes and errors scanned\n"
            "      --metrics-dimension NAME=VALUE  added to every datum (repeatable)\n"
            "      --metrics-time scan|event  datum timestamps (default scan)\n"
            "      --spool-dir DIR     spool and delivery ledgers (default\n"
            "                          $XDG_STATE_HOME/logsift/spool)\n"
            "      --report FILE.html  self-contained HTML report of the findings\n");
}

/* "5m", "300s", "1h", "1d", or plain seconds. */
static bool parse_duration(const char *s, int64_t *out_s)
{
    char *end;
    long long v;
    int64_t mult = 1;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0)
        return false;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mult = 60, end++;
    else if (*end == 'h')
        mult = 3600, end++;
    else if (*end == 'd')
        mult = 86400, end++;
    if (*end != '\0' || v > INT64_MAX / mult / 1000)
        return false;
    *out_s = v * mult;
    return true;
}

static bool grow_dims(struct cli_alerts_opts *o)
{
    size_t n = o->n_dims + 1;
    const char **names = realloc(o->dim_names, n * sizeof(char *));
    if (names == NULL)
        return false;
    o->dim_names = names;
    const char **values = realloc(o->dim_values, n * sizeof(char *));
    if (values == NULL)
        return false;
    o->dim_values = values;
    char **storage = realloc(o->dim_storage, n * sizeof(char *));
    if (storage == NULL)
        return false;
    o->dim_storage = storage;
    return true;
}

bool cli_alerts_parse(struct cli_alerts_opts *o, const char *flag, const char *val)
{
    if (strcmp(flag, "--sns-topic") == 0) {
        o->sns_topic = val;
    } else if (strcmp(flag, "--sns-min-severity") == 0) {
        if (alert_severity_rank(val) < 0) {
            fprintf(stderr, "logsift scan: --sns-min-severity %s: use info, low, medium, high "
                    "or critical\n", val);
            return false;
        }
        o->sns_min_severity = val;
    } else if (strcmp(flag, "--sns-digest") == 0) {
        if (!parse_duration(val, &o->sns_digest_s)) {
            fprintf(stderr, "logsift scan: --sns-digest %s: give a window such as 5m, 1h or "
                    "300s\n", val);
            return false;
        }
    } else if (strcmp(flag, "--sns-max-per-rule") == 0) {
        char *end;
        unsigned long n = strtoul(val, &end, 10);
        if (*end != '\0' || n < 1 || n > 100000) {
            fprintf(stderr, "logsift scan: --sns-max-per-rule %s: give a number from 1 to "
                    "100000\n", val);
            return false;
        }
        o->sns_max_per_rule = (unsigned)n;
    } else if (strcmp(flag, "--metrics-namespace") == 0) {
        o->metrics_ns = val;
    } else if (strcmp(flag, "--metrics-dimension") == 0) {
        const char *eq = strchr(val, '=');
        size_t name_len = eq ? (size_t)(eq - val) : 0;
        if (eq == NULL || name_len == 0 || name_len > 255 || eq[1] == '\0' ||
                strlen(eq + 1) > 1024) {
            fprintf(stderr, "logsift scan: --metrics-dimension %s: give NAME=VALUE (name 1-255, "
                    "value 1-1024 characters), e.g. Account=prod\n", val);
            return false;
        }
        if (!grow_dims(o) || (o->dim_storage[o->n_dims] = strdup(val)) == NULL) {
            fprintf(stderr, "logsift: out of memory\n");
            return false;
        }
        o->dim_storage[o->n_dims][name_len] = '\0';
        o->dim_names[o->n_dims] = o->dim_storage[o->n_dims];
        o->dim_values[o->n_dims] = o->dim_storage[o->n_dims] + name_len + 1;
        o->n_dims++;
    } else if (strcmp(flag, "--metrics-time") == 0) {
        if (strcmp(val, "event") != 0 && strcmp(val, "scan") != 0) {
            fprintf(stderr, "logsift scan: --metrics-time %s: use scan or event\n", val);
            return false;
        }
        o->metrics_event_time = strcmp(val, "event") == 0;
    } else if (strcmp(flag, "--spool-dir") == 0) {
        o->spool_dir = val;
    } else if (strcmp(flag, "--report") == 0) {
        o->report_path = val;
    } else {
        return false;
    }
    return true;
}

void cli_alerts_opts_cleanup(struct cli_alerts_opts *o)
{
    for (size_t i = 0; i < o->n_dims; i++)
        free(o->dim_storage[i]);
    free(o->dim_storage);
    free(o->dim_names);
    free(o->dim_values);
    o->dim_storage = NULL;
    o->dim_names = NULL;
    o->dim_values = NULL;
    o->n_dims = 0;
}

const char *cli_alerts_rule_why(const struct pat_set *set, const char *rule_id)
{
    size_t n = set ? pat_set_n_rules(set) : 0;

    for (size_t i = 0; i < n; i++) {
        const struct pat_rule *rule = pat_set_rule(set, i);
        if (rule->id == rule_id || strcmp(rule->id, rule_id) == 0)
            return rule->description;
    }
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

struct cli_alerts {
    const struct pat_set *set;
    size_t excerpt_len;
    struct alert_spool *spool;       /* when SNS or metrics are on */
    struct alert_delivery *delivery;
    struct alert_report *report;     /* when --report is given */
    const char *report_path;
    char *spool_dir;
    struct scan_sink inner;
};

void cli_alerts_set_state_path(struct cli_alerts_opts *o, const char *state_path)
{
    o->state_path = state_path;
}

static char *default_spool_dir(const struct cli_alerts_opts *o)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *dir;
    size_t n;

    if (o->state_path != NULL) {
        n = strlen(o->state_path) + 8;
        dir = malloc(n);
        if (dir)
            snprintf(dir, n, "%s.spool", o->state_path);
        return dir;
    }
    if (state != NULL && state[0] == '/') {
        n = strlen(state) + 32;
        dir = malloc(n);
        if (dir)
            snprintf(dir, n, "%s/logsift/spool", state);
        return dir;
    }
    if (home == NULL || home[0] == '\0')
        return NULL;
    n = strlen(home) + 40;
    dir = malloc(n);
    if (dir)
        snprintf(dir, n, "%s/.local/state/logsift/spool", home);
    return dir;
}

static void warn_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "logsift: warning: %s\n", line);
}

static void print_delivery(const struct cli_alerts *a, const struct alert_delivery_stats *st,
        const char *when)
{
    fprintf(stderr, "logsift: delivered %s: %zu findings in %zu SNS messages (%zu suppressed "
            "into summaries), %zu metric datums; %zu spooled entries pending in %s\n", when,
            st->n_findings, st->n_messages, st->n_suppressed, st->n_datums, st->n_pending,
            a->spool_dir);
}

enum lsf_code cli_alerts_start(const struct cli_alerts_opts *o, const struct pat_set *set,
        const char *region, const char *profile, size_t excerpt_len, struct cli_alerts **out,
        struct lsf_err *err)
{
    struct cli_alerts *a;
    enum lsf_code rc = LSF_OK;
    bool is_delivered = o->sns_topic != NULL || o->metrics_ns != NULL;

    *out = NULL;
    if (!is_delivered && o->report_path == NULL)
        return LSF_OK;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    a->set = set;
    a->excerpt_len = excerpt_len;
    a->report_path = o->report_path;
    if (o->report_path != NULL)
        rc = alert_report_new(&a->report, err);
    if (rc == LSF_OK && is_delivered) {
        struct alert_delivery_opts d = {
            .sns = {o->sns_topic,
                    o->sns_min_severity ? alert_severity_rank(o->sns_min_severity) : 0,
                    o->sns_digest_s,
                    o->sns_max_per_rule ? o->sns_max_per_rule : CLI_ALERTS_DEFAULT_MAX_PER_RULE},
            .metrics = {o->metrics_ns, o->dim_names, o->dim_values, o->n_dims,
                    o->metrics_event_time},
            .region = region,
            .profile = profile,
            .warn = warn_line,
        };
        a->spool_dir = o->spool_dir ? strdup(o->spool_dir) : default_spool_dir(o);
        if (a->spool_dir == NULL)
            rc = lsf_fail(err, LSF_E_USAGE, "no place for the alert spool: HOME is not set; give "
                    "--spool-dir DIR");
        if (rc == LSF_OK)
            rc = alert_delivery_new(&d, &a->delivery, err);
        if (rc == LSF_OK)
            rc = alert_spool_open(a->spool_dir, &a->spool, err);
        if (rc == LSF_OK) {
            /* Step 1: what an earlier run could not deliver goes first. */
            struct alert_delivery_stats st;
            struct lsf_err derr;
            lsf_err_clear(&derr);
            if (alert_deliver_pending(a->delivery, a->spool, &st, &derr) != LSF_OK)
                fprintf(stderr, "logsift: %s (kept in the spool %s; retried after the scan)\n",
                        derr.msg, a->spool_dir);
            else if (st.n_findings + st.n_datums > 0)
                print_delivery(a, &st, "from earlier runs");
        }
    }
    if (rc != LSF_OK) {
        cli_alerts_free(a);
        return rc;
    }
    *out = a;
    return LSF_OK;
}

static enum lsf_code alerts_format(void *self, const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    struct cli_alerts *a = self;
    struct alert_record rec;
    enum lsf_code rc;

    rc = alert_record_from_finding(f, cli_alerts_rule_why(a->set, f->rule_id), NULL,
            a->excerpt_len, &rec, err);
    if (rc != LSF_OK)
        return rc;
    if (a->spool != NULL)
        rc = alert_spool_add(a->spool, &rec, err);
    if (rc == LSF_OK && a->report != NULL)
        rc = alert_report_add(a->report, &rec, err);
    alert_record_cleanup(&rec);
    if (rc == LSF_OK && a->inner.format != NULL)
        rc = a->inner.format(a->inner.self, f, out, err);
    return rc;
}

static enum lsf_code alerts_write(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    struct cli_alerts *a = self;
    return a->inner.write(a->inner.self, bytes, n, err);
}

static void alerts_problem(void *self, const struct lsf_err *err)
{
    struct cli_alerts *a = self;
    a->inner.problem(a->inner.self, err);
}

void cli_alerts_wrap(struct cli_alerts *a, struct scan_sink *sink)
{
    if (a == NULL)
        return;
    a->inner = *sink;
    *sink = (struct scan_sink){alerts_format, alerts_write, alerts_problem, a};
}

enum lsf_code cli_alerts_after_scan(struct cli_alerts *a, const struct scan_stats *st,
        struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;
    struct timespec now;

    if (a == NULL)
        return LSF_OK;
    clock_gettime(CLOCK_REALTIME, &now);
    if (a->spool != NULL) {
        struct alert_run run;
        memset(&run, 0, sizeof(run));
        run.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        snprintf(run.run_id, sizeof(run.run_id), "%" PRId64 "-%ld-%ld", run.time_ms,
                (long)getpid(), (long)now.tv_nsec);
        run.n_events = st->n_events;
        run.n_bytes = st->n_bytes;
        run.n_errors = st->n_problems;
        rc = alert_spool_add_run(a->spool, &run, err);
        if (rc == LSF_OK)
            rc = alert_spool_sync(a->spool, err);
    }
    if (rc == LSF_OK && a->report != NULL) {
        struct alert_report_scan scan = {st->n_inputs, st->n_events, st->n_bytes,
                st->n_problems, (int64_t)now.tv_sec * 1000};
        rc = alert_report_write(a->report, &scan, a->report_path, err);
    }
    return rc;
}

enum lsf_code cli_alerts_deliver(struct cli_alerts *a, bool is_quiet, struct lsf_err *err)
{
    struct alert_delivery_stats st;
    enum lsf_code rc;

    if (a == NULL || a->delivery == NULL)
        return LSF_OK;
    rc = alert_deliver_pending(a->delivery, a->spool, &st, err);
    if (rc != LSF_OK)
        lsf_err_prefix(err, "alert delivery: %zu spooled entries stay in %s for the next run: ",
                st.n_pending, a->spool_dir);
    if (!is_quiet || rc != LSF_OK)
        print_delivery(a, &st, "now");
    return rc;
}

void cli_alerts_free(struct cli_alerts *a)
{
    if (a == NULL)
        return;
    alert_spool_free(a->spool);
    alert_delivery_free(a->delivery);
    alert_report_free(a->report);
    free(a->spool_dir);
    free(a);
}
