/*
 * cli_scan: "logsift scan". Parses the flags, loads the rules (the bundled default pack unless
 * -r is given), compiles or loads the cached database, wires local files into the engine as
 * its source and the chosen output format as its sink, then prints the summary.
 *
 * Exit status as grep's: 0 when something was found, 1 when nothing was, 2 when any input or
 * record was bad (the rest is still scanned) or the run could not start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "cli.h"
#include "cli_state.h"
#include "cli_alerts.h"
#include "cli_geoip.h"
#include "pat.h"
#include "pat_sigma.h"
#include "scan.h"
#include "src_cwl.h"
#include "src_file.h"
#include "src_s3.h"

enum cli_output {
    CLI_OUT_JSONL,
    CLI_OUT_TABLE,
    CLI_OUT_OCSF,
    CLI_OUT_NONE
};

struct cli_scan_opts {
    struct scan_config scan;
    bool verify; /* --verify: check CloudTrail digests over the scanned bytes (cli_verify.c) */
    const char *verify_keys[CLI_VERIFY_MAX_KEYS]; /* --public-key, for --verify */
    size_t n_verify_keys;
    const char **rule_files;
    size_t n_rule_files;
    bool use_default_pack;
    bool use_cache;
    const char *cache_dir;
    const char *stats_json;
    enum cli_output output;
    size_t excerpt_len;
    bool is_quiet;
    const char **paths;
    size_t n_paths;
    struct fetch_s3_opts s3; /* s3:// inputs */
    const char **s3_include;
    const char **s3_exclude;
    struct cli_logs_flags logs; /* logs:// inputs, --state, --output-file */
    struct cli_alerts_opts alerts; /* SNS, metrics, spool, report (cli_alerts.c) */
    struct cli_geoip_opts geoip;   /* --geoip (cli_geoip.c) */
};

static void scan_usage(FILE *to)
{
    fprintf(to,
            "usage: logsift scan [OPTIONS] [PATH...]\n"
            "Scan files, directories (recursively, in sorted order) or - (stdin); plain, gzip\n"
            "and zstd are recognised by their bytes. Findings go to stdout, the summary to\n"
            "stderr. Exit status: 0 findings, 1 none, 2 errors.\n"
            "  -r, --rules PATH        hsbench rule file, Sigma .yml/.yaml file or folder of\n"
            "                          Sigma rules (repeatable); replaces the default pack\n"
            "                          unless --default-rules is also given\n"
            "      --default-rules     also load the bundled default pack\n"
            "  -j, --jobs N            worker threads (default: all cores)\n"
            "      --format FMT        auto, cloudtrail, json-array, json-lines, json-stream,\n"
            "                          cwl-export, firehose, syslog (default: auto per input)\n"
            "  -o, --output FMT        jsonl (default), table, ocsf, none\n"
            "      --sort              findings in (input, offset, rule) order\n"
            "      --excerpt BYTES     event bytes kept in a JSON finding (default 4096)\n"
            "      --max-event-size N  longest event scanned (default 16M); longer: skipped\n"
            "      --chunk-size N      bytes read per step (default 256K)\n"
            "      --per-event         one Hyperscan call per event (for measuring)\n"
            "      --sigma-confirm-only  confirm every Sigma rule on every event, ignoring\n"
            "                          the Hyperscan prefilter (slow; for checking it)\n"
            "      --cache-dir DIR     compiled-rule cache (default ~/.cache/logsift)\n"
            "      --no-cache          always compile the rules\n"
            "      --stats-json FILE   write the run's counters as JSON\n"
            "S3 inputs (s3://bucket/prefix; credentials and region as the AWS CLI finds them):\n"
            "      --endpoint-url URL  S3 endpoint (also AWS_ENDPOINT_URL_S3)\n"
            "      --region R, --profile P   AWS region and profile\n"
            "      --concurrency N     objects downloaded at once (default 8)\n"
            "      --part-size SIZE    objects larger than this download as byte ranges of\n"
            "                          this size, --concurrency at a time (default 64M)\n"
            "      --since DATE, --until DATE  only keys whose YYYY/MM/DD path element\n"
            "                          (CloudTrail's delivery day) is in [DATE, DATE]\n"
            "      --include GLOB, --exclude GLOB  keys to scan or skip (repeatable)\n"
            "CloudWatch Logs inputs (logs://GROUP[/STREAM-PREFIX]; a group with '/' in it takes\n"
            "its prefix after '//'); --endpoint-url, --region, --profile as above:\n"
            "      --since T, --until T  window: ISO-8601 (2025-01-31T10:00:00Z) or back from\n"
            "                          now (15m, 2h, 7d); default the last hour, until now-lag\n"
            "      --lag SPAN          leave the newest SPAN for late events (default 2m)\n"
            "      --cwl-tps N         requests per second (default 5; 10 with --cwl-api get)\n"
            "      --cwl-page-events N  events per page (default 10000)\n"
            "      --cwl-api get       read logs://GROUP/STREAM (one stream) with GetLogEvents\n"
            "                          (its own 10 TPS quota) instead of FilterLogEvents\n"
            "      --state FILE        checkpoint: each run continues where the last stopped\n"
            "      --output-file FILE  append findings to FILE (exactly once with --state)\n"
            "      --shard K/N         scan only worker K's share (0..N-1) of the keys; auto/N\n"
            "                          takes K from JOB_COMPLETION_INDEX (Kubernetes Indexed\n"
            "                          Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)\n"
            "  -q, --quiet             no summary on stderr (problems are still reported)\n"
            "      --verify            also check the CloudTrail digests under the paths and\n"
            "                          hash each listed log as it is scanned (logsift verify)\n"
            "      --public-key FILE   CloudTrail public key for --verify (repeatable)\n"
            "      --progress          progress line on stderr (default when it is a terminal)\n"
            "Sizes take K, M or G suffixes (powers of 1024).\n");
    cli_geoip_usage(to);
    cli_alerts_usage(to);
}

/* Parse "16M"-style sizes. */
static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end != '\0' || v == 0 || v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)(v << shift);
    return true;
}

static bool is_flag(const char *arg, const char *short_name, const char *long_name)
{
    return (short_name && strcmp(arg, short_name) == 0) || strcmp(arg, long_name) == 0;
}

/* Parse argv (argv[0] is "scan"). Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct cli_scan_opts *o)
{
    bool only_paths = false;

    scan_config_init(&o->scan);
    o->scan.progress = isatty(STDERR_FILENO) != 0;
    o->use_cache = true;
    o->output = CLI_OUT_JSONL;
    o->excerpt_len = SCAN_DEFAULT_EXCERPT_LEN;
    o->rule_files = calloc((size_t)argc, sizeof(char *));
    o->paths = calloc((size_t)argc + 1, sizeof(char *));
    o->s3_include = calloc((size_t)argc, sizeof(char *));
    o->s3_exclude = calloc((size_t)argc, sizeof(char *));
    o->s3.include = o->s3_include;
    o->s3.exclude = o->s3_exclude;
    if (o->rule_files == NULL || o->paths == NULL || o->s3_include == NULL ||
            o->s3_exclude == NULL) {
        fprintf(stderr, "logsift: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;
        char short_flag[3];

        /* "-j2", "-rFILE", "-otable": a short flag with its value attached. */
        if (!only_paths && a[0] == '-' && a[1] != '\0' && strchr("jro", a[1]) &&
                a[2] != '\0') {
            short_flag[0] = '-';
            short_flag[1] = a[1];
            short_flag[2] = '\0';
            val = a + 2;
            a = short_flag;
            i--; /* the value is not a separate argument */
        }

        if (only_paths || a[0] != '-' || strcmp(a, "-") == 0) {
            o->paths[o->n_paths++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_paths = true;
            continue;
        }
        if (is_flag(a, "-h", "--help")) {
            scan_usage(stdout);
            return 0;
        }
        if (is_flag(a, NULL, "--default-rules")) {
            o->use_default_pack = true;
            takes_value = false;
        } else if (is_flag(a, NULL, "--verify")) {
            o->verify = true;
            takes_value = false;
        } else if (is_flag(a, NULL, "--sort")) {
            o->scan.sort = true;
            takes_value = false;
        } else if (is_flag(a, NULL, "--per-event")) {
            o->scan.per_event = true;
            takes_value = false;
        } else if (is_flag(a, NULL, "--sigma-confirm-only")) {
            o->scan.sigma_confirm_only = true;
            takes_value = false;
        } else if (is_flag(a, NULL, "--no-cache")) {
            o->use_cache = false;
            takes_value = false;
        } else if (is_flag(a, "-q", "--quiet")) {
            o->is_quiet = true;
            o->scan.progress = false;
            takes_value = false;
        } else if (is_flag(a, NULL, "--progress")) {
            o->scan.progress = true;
            takes_value = false;
        }
        if (!takes_value)
            continue;
        if (val == NULL) {
            fprintf(stderr, "logsift scan: %s needs a value; see 'logsift scan --help'\n", a);
            return CLI_EXIT_ERROR;
        }
        i++;
        if (is_flag(a, "-r", "--rules")) {
            o->rule_files[o->n_rule_files++] = val;
        } else if (is_flag(a, "-j", "--jobs")) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 1024) {
                fprintf(stderr, "logsift scan: --jobs %s: give a number of threads from 1 to "
                        "1024\n", val);
                return CLI_EXIT_ERROR;
            }
            o->scan.n_workers = (unsigned)n;
        } else if (is_flag(a, NULL, "--format")) {
            struct lsf_err err;
            lsf_err_clear(&err);
            if (frame_format_parse(val, &o->scan.format, &err) != LSF_OK) {
                fprintf(stderr, "logsift scan: --format: %s\n", err.msg);
                return CLI_EXIT_ERROR;
            }
        } else if (is_flag(a, "-o", "--output")) {
            if (strcmp(val, "jsonl") == 0 || strcmp(val, "json") == 0) {
                o->output = CLI_OUT_JSONL;
            } else if (strcmp(val, "table") == 0) {
                o->output = CLI_OUT_TABLE;
            } else if (strcmp(val, "ocsf") == 0) {
                o->output = CLI_OUT_OCSF;
            } else if (strcmp(val, "none") == 0) {
                o->output = CLI_OUT_NONE;
            } else {
                fprintf(stderr, "logsift scan: --output %s: use jsonl, table, ocsf or none\n",
                        val);
                return CLI_EXIT_ERROR;
            }
        } else if (is_flag(a, NULL, "--excerpt")) {
            if (!parse_size(val, &o->excerpt_len)) {
                fprintf(stderr, "logsift scan: --excerpt %s: give a size in bytes\n", val);
                return CLI_EXIT_ERROR;
            }
        } else if (is_flag(a, NULL, "--max-event-size")) {
            if (!parse_size(val, &o->scan.max_event_len)) {
                fprintf(stderr, "logsift scan: --max-event-size %s: give a size such as 16M\n",
                        val);
                return CLI_EXIT_ERROR;
            }
        } else if (is_flag(a, NULL, "--chunk-size")) {
            if (!parse_size(val, &o->scan.chunk_len)) {
                fprintf(stderr, "logsift scan: --chunk-size %s: give a size such as 4M\n", val);
                return CLI_EXIT_ERROR;
            }
        } else if (is_flag(a, NULL, "--cache-dir")) {
            o->cache_dir = val;
        } else if (is_flag(a, NULL, "--public-key") && o->n_verify_keys < CLI_VERIFY_MAX_KEYS) {
            o->verify_keys[o->n_verify_keys++] = val;
        } else if (is_flag(a, NULL, "--stats-json")) {
            o->stats_json = val;
        } else if (is_flag(a, NULL, "--endpoint-url")) {
            o->s3.endpoint_url = val;
        } else if (is_flag(a, NULL, "--region")) {
            o->s3.region = val;
        } else if (is_flag(a, NULL, "--profile")) {
            o->s3.profile = val;
        } else if (is_flag(a, NULL, "--since")) {
            o->s3.since = val;
        } else if (is_flag(a, NULL, "--until")) {
            o->s3.until = val;
        } else if (is_flag(a, NULL, "--concurrency")) {
            char *end;
            unsigned long n = strtoul(val, &end, 10);
            if (*end != '\0' || n < 1 || n > 1024) {
                fprintf(stderr, "logsift scan: --concurrency %s: give a number from 1 to 1024\n",
                        val);
                return CLI_EXIT_ERROR;
            }
            o->s3.concurrency = (unsigned)n;
        } else if (is_flag(a, NULL, "--include")) {
            o->s3_include[o->s3.n_include++] = val;
        } else if (is_flag(a, NULL, "--exclude")) {
            o->s3_exclude[o->s3.n_exclude++] = val;
        } else if (cli_logs_flag(&o->logs, a, val)) {
            continue;
        } else if (is_flag(a, NULL, "--shard")) {
            o->s3.shard = val;
        } else if (cli_geoip_is_flag(a)) {
            if (!cli_geoip_parse(&o->geoip, val))
                return CLI_EXIT_ERROR;
        } else if (cli_alerts_is_flag(a)) {
            if (!cli_alerts_parse(&o->alerts, a, val))
                return CLI_EXIT_ERROR;
        } else if (is_flag(a, NULL, "--part-size")) {
            size_t part_len;
            if (!parse_size(val, &part_len) || part_len < ((size_t)64 << 10)) {
                fprintf(stderr, "logsift scan: --part-size %s: give a size of at least 64K, "
                        "such as 64M\n", val);
                return CLI_EXIT_ERROR;
            }
            o->s3.part_len = part_len;
        } else {
            fprintf(stderr, "logsift scan: unknown option %s; see 'logsift scan --help'\n", a);
            return CLI_EXIT_ERROR;
        }
    }
    if (o->n_rule_files == 0)
        o->use_default_pack = true;
    if (o->n_paths == 0) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "logsift scan: no input; give files or directories, or - for stdin\n");
            return CLI_EXIT_ERROR;
        }
        o->paths[o->n_paths++] = "-";
    }
    return -1;
}

/* ---- source and sink adapters ---------------------------------------------------------------- */

static enum lsf_code files_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    return fetch_files_next(self, name, rd, done, err);
}

static enum lsf_code s3_next(void *self, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    return fetch_s3_next(self, name, rd, done, err);
}

/* s3:// inputs go to src_s3, logs:// to src_cwl (through cli_state), paths to src_file; one
 * run takes one kind. */
static enum lsf_code open_source(struct cli_scan_opts *o, struct fetch_files **files,
        struct fetch_s3 **s3, struct cli_logs **logs, struct scan_source *source,
        struct lsf_err *err)
{
    size_t n_s3 = 0, n_logs = 0;
    enum lsf_code rc;

    for (size_t i = 0; i < o->n_paths; i++)
        n_logs += fetch_cwl_is_url(o->paths[i]);
    if (n_logs > 0) {
        struct cli_logs_aws aws = {o->s3.endpoint_url, o->s3.region, o->s3.profile,
                o->s3.since, o->s3.until};
        if (o->n_paths > 1)
            return lsf_fail(err, LSF_E_USAGE, "give one logs:// location per run, and nothing "
                    "else (each location with its own --state file)");
        return cli_logs_open(o->paths[0], &o->logs, &aws, &o->scan, logs, source, err);
    }
    if (o->logs.state_path)
        return lsf_fail(err, LSF_E_USAGE, "--state works with a logs:// input only");
    for (size_t i = 0; i < o->n_paths; i++)
        n_s3 += fetch_s3_is_url(o->paths[i]);
    if (n_s3 > 0 && n_s3 < o->n_paths)
        return lsf_fail(err, LSF_E_USAGE, "give either s3:// locations or local paths in one "
                "run, not both");
    if (n_s3 == 0 && o->s3.shard)
        return lsf_fail(err, LSF_E_USAGE, "--shard splits s3:// listings; local paths cannot "
                "be sharded: give each worker its own paths instead");
    if (n_s3 == 0) {
        rc = fetch_files_new(o->paths, o->n_paths, files, err);
        *source = (struct scan_source){files_next, *files};
        return rc;
    }
    rc = fetch_s3_new(o->paths, o->n_paths, &o->s3, s3, err);
    *source = (struct scan_source){s3_next, *s3};
    return rc;
}

struct cli_sink {
    enum cli_output output;
    size_t excerpt_len;
    FILE *out;
    struct cli_logs *logs; /* logs:// runs: checkpoints as inputs finish; else NULL */
    const struct pat_set *set; /* rule descriptions for OCSF */
};

static enum lsf_code sink_format(void *self, const struct lsf_finding *f, struct lsf_buf *out,
        struct lsf_err *err)
{
    const struct cli_sink *sink = self;

    switch (sink->output) {
    case CLI_OUT_JSONL:
        return alert_jsonl_format(f, sink->excerpt_len, out, err);
    case CLI_OUT_TABLE:
        return alert_table_format(f, out, err);
    case CLI_OUT_OCSF:
        return alert_ocsf_format(f, cli_alerts_rule_why(sink->set, f->rule_id),
                sink->excerpt_len, out, err);
    case CLI_OUT_NONE:
        break;
    }
    return LSF_OK;
}

static enum lsf_code sink_write(void *self, const unsigned char *bytes, size_t n,
        struct lsf_err *err)
{
    struct cli_sink *sink = self;

    if (n == 0)
        return LSF_OK; /* -o none hands over no bytes (and may pass NULL) */
    if (fwrite(bytes, 1, n, sink->out) != n || fflush(sink->out) != 0)
        return lsf_fail(err, LSF_E_IO, "cannot write findings to %s: %s",
                sink->out == stdout ? "standard output" : "--output-file", strerror(errno));
    return LSF_OK;
}

static void sink_problem(void *self, const struct lsf_err *err)
{
    (void)self;
    fprintf(stderr, "logsift: %s\n", err->msg);
}

static void sink_input_done(void *self, uint64_t input_idx)
{
    struct cli_sink *sink = self;

    cli_logs_input_done(sink->logs, input_idx);
}

/* ---- summary ---------------------------------------------------------------------------------- */

static void print_summary(const struct pat_set *set, const struct pat_db *db,
        const struct scan_stats *st)
{
    double mb = (double)st->n_bytes / 1e6;
    double secs = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;

    fprintf(stderr,
            "logsift: %" PRIu64 " inputs, %" PRIu64 " events, %.1f MB in %.3f s (%.0f MB/s, "
            "%.0f events/s); rules %s in %.1f ms\n",
            st->n_inputs, st->n_events, mb, st->elapsed_s, mb / secs,
            (double)st->n_events / secs, pat_db_from_cache(db) ? "loaded from cache" : "compiled",
            pat_db_build_ms(db));
    fprintf(stderr, "logsift: %" PRIu64 " findings in %" PRIu64 " events; %" PRIu64
            " problems\n", st->n_findings, st->n_events_with_findings, st->n_problems);
    for (size_t i = 0; i < st->n_rules; i++) {
        const struct pat_rule *rule = pat_set_rule(set, i);
        if (st->rule_findings[i] > 0)
            fprintf(stderr, "  %8" PRIu64 "  %-8s  %s\n", st->rule_findings[i],
                    pat_severity_name(rule->severity), rule->id);
    }
}

static int write_stats_json(const char *path, const struct pat_set *set,
        const struct scan_stats *st)
{
    json_t *root = json_object();
    json_t *rules = json_object();
    json_t *formats = json_object();
    json_t *confirms = json_object();
    int rc = 0;

    for (size_t i = 0; i < st->n_rules; i++) {
        json_object_set_new(rules, pat_set_rule(set, i)->id,
                json_integer((json_int_t)st->rule_findings[i]));
        if (st->rule_confirms[i] > 0)
            json_object_set_new(confirms, pat_set_rule(set, i)->id,
                    json_integer((json_int_t)st->rule_confirms[i]));
    }
    for (int f = 0; f < FRAME_N_FORMATS; f++) {
        if (st->format_events[f] > 0)
            json_object_set_new(formats, frame_format_name((enum frame_format)f),
                    json_integer((json_int_t)st->format_events[f]));
    }
    json_object_set_new(root, "inputs", json_integer((json_int_t)st->n_inputs));
    json_object_set_new(root, "events", json_integer((json_int_t)st->n_events));
    json_object_set_new(root, "bytes", json_integer((json_int_t)st->n_bytes));
    json_object_set_new(root, "findings", json_integer((json_int_t)st->n_findings));
    json_object_set_new(root, "events_with_findings",
            json_integer((json_int_t)st->n_events_with_findings));
    json_object_set_new(root, "errors", json_integer((json_int_t)st->n_problems));
    json_object_set_new(root, "elapsed_s", json_real(st->elapsed_s));
    json_object_set_new(root, "events_parsed", json_integer((json_int_t)st->n_events_parsed));
    json_object_set_new(root, "corr_spill_runs", json_integer((json_int_t)st->n_corr_spill_runs));
    json_object_set_new(root, "corr_spilled", json_integer((json_int_t)st->n_corr_spilled));
    json_object_set_new(root, "rule_confirms", confirms);
    json_object_set_new(root, "rules", rules);
    json_object_set_new(root, "formats", formats);
    if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
        fprintf(stderr, "logsift: --stats-json %s: cannot write the file\n", path);
        rc = -1;
    }
    json_decref(root);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------ */

static enum lsf_code load_rules(const struct cli_scan_opts *o, struct pat_set **set,
        struct pat_db **db, struct lsf_err *err)
{
    enum lsf_code rc = pat_set_new(set, err);
    const char *cache_dir = NULL;

    if (rc == LSF_OK && o->use_default_pack)
        rc = pat_set_add_default(*set, err);
    for (size_t i = 0; rc == LSF_OK && i < o->n_rule_files; i++)
        rc = pat_set_add_path(*set, o->rule_files[i], err); /* hsbench, Sigma file or folder */
    if (rc == LSF_OK && pat_set_n_rules(*set) == 0)
        rc = lsf_fail(err, LSF_E_RULE, "the rule files hold no rule (only quiet patterns or "
                "comments); add a pattern line such as 1:/StopLogging/");
    if (o->use_cache)
        cache_dir = o->cache_dir ? o->cache_dir : pat_default_cache_dir();
    if (rc == LSF_OK)
        rc = pat_db_build(*set, cache_dir, db, err);
    return rc;
}

int cli_scan(int argc, char **argv)
{
    struct cli_scan_opts opts;
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct scan_engine *eng = NULL;
    struct fetch_files *files = NULL;
    struct fetch_s3 *s3 = NULL;
    struct cli_logs *logs = NULL;
    FILE *out_file = NULL;
    struct scan_source source;
    struct cli_scan_verify *verify = NULL;
    struct scan_stats stats;
    struct cli_alerts *alerts = NULL;
    struct lsf_err err;
    enum lsf_code rc;
    int status;

    memset(&opts, 0, sizeof(opts));
    memset(&stats, 0, sizeof(stats));
    lsf_err_clear(&err);
    status = parse_args(argc, argv, &opts);
    if (status >= 0)
        goto out;
    status = CLI_EXIT_ERROR;
    cli_alerts_set_state_path(&opts.alerts, opts.logs.state_path); /* spool beside the state */
    rc = load_rules(&opts, &set, &db, &err);
    if (rc == LSF_OK)
        rc = cli_geoip_start(&opts.geoip, set, &opts.scan, &err);
    if (rc == LSF_OK)
        rc = scan_engine_new(set, db, &eng, &err);
    if (rc == LSF_OK) /* logs:// --state: correlations are committed with the run's end */
        opts.logs.has_correlations = scan_engine_n_correlations(eng) > 0;
    if (rc == LSF_OK)
        rc = cli_alerts_start(&opts.alerts, set, opts.s3.region, opts.s3.profile,
                opts.excerpt_len, &alerts, &err);
    if (rc == LSF_OK)
        rc = open_source(&opts, &files, &s3, &logs, &source, &err);
    if (rc == LSF_OK && logs == NULL && opts.logs.output_path) {
        out_file = cli_output_open(opts.logs.output_path, &err);
        rc = out_file ? LSF_OK : LSF_E_IO;
    }
    if (rc == LSF_OK && opts.verify &&
            cli_scan_verify_begin(opts.paths, opts.n_paths, opts.verify_keys, opts.n_verify_keys,
                    &opts.s3, &source, &verify) != 0)
        goto out;
    if (rc == LSF_OK) {
        FILE *out = logs ? cli_logs_output(logs) : out_file ? out_file : stdout;
        struct cli_sink sink_state = {opts.output, opts.excerpt_len, out, logs, set};
        struct scan_sink sink = {sink_format, sink_write, sink_problem, &sink_state,
                logs ? sink_input_done : NULL};

        cli_alerts_wrap(alerts, &sink);
        rc = scan_run(eng, &opts.scan, &source, &sink, &stats, &err);
        if (rc == LSF_OK && verify != NULL) {
            bool is_sink_failed = false;
            stats.n_findings += cli_scan_verify_end(verify, &sink, opts.is_quiet,
                    &is_sink_failed);
            stats.n_problems += is_sink_failed;
        }
        /* The spool is fsynced before the final checkpoint, and delivery comes after it. */
        if (rc == LSF_OK)
            rc = cli_alerts_after_scan(alerts, &stats, &err);
        if (rc == LSF_OK && logs)
            rc = cli_logs_finish(logs, &err);
        if (logs)
            stats.n_problems += cli_logs_n_problems(logs); /* e.g. a damaged sidecar */
        if (rc == LSF_OK && cli_alerts_deliver(alerts, opts.is_quiet, &err) != LSF_OK) {
            fprintf(stderr, "logsift: %s\n", err.msg); /* undelivered stays spooled */
            lsf_err_clear(&err);
            stats.n_problems++;
        }
        if (logs && !opts.is_quiet)
            fprintf(stderr, "logsift: %" PRIu64 " CloudWatch Logs pages\n",
                    cli_logs_n_pages(logs));
        if (!opts.is_quiet)
            print_summary(set, db, &stats);
        if (opts.stats_json && write_stats_json(opts.stats_json, set, &stats) != 0)
            stats.n_problems++;
    }
    if (rc != LSF_OK) {
        fprintf(stderr, "logsift: %s\n", err.msg);
        goto out;
    }
    if (stats.n_problems > 0)
        status = CLI_EXIT_ERROR;
    else
        status = stats.n_findings > 0 ? CLI_EXIT_FINDINGS : CLI_EXIT_NO_FINDINGS;
out:
    cli_alerts_free(alerts);
    cli_alerts_opts_cleanup(&opts.alerts);
    cli_geoip_cleanup(&opts.geoip);
    scan_stats_cleanup(&stats);
    cli_scan_verify_free(verify);
    fetch_files_free(files);
    fetch_s3_free(s3);
    cli_logs_free(logs);
    if (out_file)
        fclose(out_file);
    scan_engine_free(eng);
    pat_db_free(db);
    pat_set_free(set);
    free(opts.rule_files);
    free(opts.paths);
    free(opts.s3_include);
    free(opts.s3_exclude);
    return status;
}
