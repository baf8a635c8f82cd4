/*
 * cli_bench: "logsift bench patterns FILE [CORPUS...]", the pattern-set tuning report for
 * benchmarkers (bench issue, part 4).
 *
 * It loads a corpus into memory once (decompressed; the bundled sample is synthesised when no
 * corpus is given), then measures: the whole set's compile time, database and scratch sizes and
 * block-mode scan throughput; each pattern alone (no pattern of a pack should scan below
 * 3 GB/s on its own); and, for sets small enough to recompile once per pattern, each pattern's
 * marginal cost (the set's scan time minus the scan time of the set without it), worst first.
 * It also flags shapes Hyperscan cannot prefilter well, with the reason. Every figure is the
 * best of a few runs over the same preloaded bytes, timed in the thread's CPU time, so only
 * the scan itself counts and other load on the machine disturbs the ranking little.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hs.h>

#include "cli.h"
#include "lsf_buf.h"
#include "pat.h"
#include "src_file.h"

#define BENCH_RUNS 3
#define BENCH_MAX_CORPUS ((size_t)512 << 20)
#define BENCH_MARGINAL_MAX_PATTERNS 300
#define BENCH_MIN_ALONE_GBPS 3.0

struct bench_row {
    size_t idx;
    double alone_gbps;
    double marginal_ms; /* scan time the pattern adds to the set */
    bool has_marginal;
    const char *flag;   /* why the shape is costly, or NULL */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_match(unsigned int id, unsigned long long from, unsigned long long to,
        unsigned int flags, void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* Best-of-N seconds to scan the corpus with db; -1 on a Hyperscan error. */
static double time_scan(const hs_database_t *db, const struct lsf_buf *corpus, uint64_t *matches)
{
    hs_scratch_t *scratch = NULL;
    double best = -1;

    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS)
        return -1;
    for (int run = 0; run < BENCH_RUNS; run++) {
        uint64_t n = 0;
        double t0 = now_s();
        size_t off = 0;

        /* hs_scan takes at most 4 GiB - 1 per call; scan in 256 MiB blocks. */
        while (off < corpus->len) {
            size_t len = corpus->len - off;
            if (len > ((size_t)256 << 20))
                len = (size_t)256 << 20;
            if (hs_scan(db, (const char *)corpus->data + off, (unsigned)len, 0, scratch,
                        count_match, &n) != HS_SUCCESS) {
                hs_free_scratch(scratch);
                return -1;
            }
            off += len;
        }
        double t = now_s() - t0;
        if (best < 0 || t < best)
            best = t;
        if (matches)
            *matches = n;
    }
    hs_free_scratch(scratch);
    return best;
}

/* Compile the set's patterns, leaving out index skip (or none when skip == SIZE_MAX). */
static hs_database_t *compile_subset(const struct pat_set *set, size_t only, size_t skip)
{
    size_t n = pat_set_n_patterns(set);
    const char **exprs = calloc(n, sizeof(*exprs));
    unsigned *flags = calloc(n, sizeof(*flags));
    unsigned *ids = calloc(n, sizeof(*ids));
    const hs_expr_ext_t **exts = calloc(n, sizeof(*exts));
    hs_database_t *db = NULL;
    hs_compile_error_t *cerr = NULL;
    unsigned k = 0;

    if (exprs && flags && ids && exts) {
        for (size_t i = 0; i < n; i++) {
            const struct pat_pattern *p = pat_set_pattern(set, i);
            if (i == skip || (only != SIZE_MAX && i != only) || p->is_dropped)
                continue;
            exprs[k] = p->expr;
            flags[k] = p->hs_flags;
            ids[k] = (unsigned)i;
            exts[k] = p->ext.flags ? &p->ext : NULL;
            k++;
        }
        if (k > 0 && hs_compile_ext_multi(exprs, flags, ids, exts, k, HS_MODE_BLOCK, NULL, &db,
                             &cerr) != HS_SUCCESS) {
            hs_free_compile_error(cerr);
            db = NULL;
        }
    }
    free(exprs);
    free(flags);
    free(ids);
    free(exts);
    return db;
}

/* Why a pattern is costly for Hyperscan, judged from its text; NULL when nothing stands out. */
static const char *shape_flag(const char *expr)
{
    size_t len = strlen(expr);

    if (strncmp(expr, ".*", 2) == 0 || strncmp(expr, "^.*", 3) == 0)
        return "leading .* (no literal to anchor on; drop it, block mode finds the match anyway)";
    if (len >= 1 && (expr[len - 1] == '+' || expr[len - 1] == '*') &&
            (len < 2 || expr[len - 2] != '\\'))
        return "open repeat at the end (fires once per extra byte; end at a delimiter)";
    if (len >= 2 && expr[len - 1] == '}' && expr[len - 2] == ',')
        return "open bounded repeat at the end (fires once per extra byte; end at a delimiter)";
    for (const char *p = strchr(expr, '{'); p; p = strchr(p + 1, '{')) {
        unsigned long lo = strtoul(p + 1, NULL, 10);
        const char *comma = strchr(p, ',');
        const char *close = strchr(p, '}');
        unsigned long hi = comma && close && comma < close ? strtoul(comma + 1, NULL, 10) : lo;
        if (lo >= 64 || hi >= 64)
            return "large bounded repeat (state grows with the bound; shorten it)";
    }
    return NULL;
}

/* Corpus: the given inputs, decompressed, or a synthetic CloudTrail-like sample. */
static int load_corpus(const char *const *paths, size_t n_paths, struct lsf_buf *corpus)
{
    static const char sample[] =
            "{\"eventVersion\":\"1.09\",\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":"
            "\"arn:aws:sts::111122223333:assumed-role/ops/s\",\"accountId\":\"111122223333\"},"
            "\"eventTime\":\"2025-03-02T10:00:05Z\",\"eventSource\":\"ec2.amazonaws.com\","
            "\"eventName\":\"DescribeInstances\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":"
            "\"198.51.100.23\",\"userAgent\":\"aws-cli/2.15.0\",\"requestParameters\":{"
            "\"maxResults\":50},\"responseElements\":null,\"readOnly\":true,\"eventType\":"
            "\"AwsApiCall\",\"recipientAccountId\":\"111122223333\"}\n"
            "Mar  2 10:31:00 bastion sshd[2100]: Connection closed by 192.0.2.7 port 40007\n";
    struct fetch_files *files = NULL;
    struct lsf_err err;
    int rc = 0;

    lsf_err_clear(&err);
    if (n_paths == 0) {
        while (corpus->len + sizeof(sample) < ((size_t)64 << 20))
            if (lsf_buf_append(corpus, sample, sizeof(sample) - 1, &err) != LSF_OK)
                break;
        fprintf(stderr, "logsift bench: no corpus given; using 64 MB of a synthetic sample "
                "(give your logs for figures that mean something)\n");
        return 0;
    }
    if (fetch_files_new(paths, n_paths, &files, &err) != LSF_OK)
        goto fail;
    for (;;) {
        struct lsf_reader rd = {NULL, NULL};
        char *name = NULL;
        bool done = false;
        enum lsf_code frc = fetch_files_next(files, &name, &rd, &done, &err);

        if (frc != LSF_OK || done) {
            free(name);
            if (frc != LSF_OK)
                goto fail;
            break;
        }
        for (;;) {
            size_t n = 0;
            if (lsf_buf_reserve(corpus, (size_t)1 << 20, &err) != LSF_OK ||
                    lsf_reader_read(&rd, corpus->data + corpus->len, (size_t)1 << 20, &n,
                            &err) != LSF_OK) {
                lsf_reader_close(&rd);
                free(name);
                goto fail;
            }
            if (n == 0)
                break;
            corpus->len += n;
        }
        lsf_reader_close(&rd);
        free(name);
    }
    goto out;
fail:
    fprintf(stderr, "logsift bench: %s (the corpus is held in memory, at most %zu MB)\n",
            err.msg, BENCH_MAX_CORPUS >> 20);
    rc = -1;
out:
    fetch_files_free(files);
    return rc;
}

static int cmp_rows(const void *a, const void *b)
{
    const struct bench_row *x = a;
    const struct bench_row *y = b;

    if (x->marginal_ms != y->marginal_ms)
        return x->marginal_ms < y->marginal_ms ? 1 : -1;
    return (x->alone_gbps > y->alone_gbps) - (x->alone_gbps < y->alone_gbps);
}

static int bench_patterns(int argc, char **argv)
{
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct bench_row *rows = NULL;
    struct lsf_buf corpus;
    struct lsf_err err;
    size_t db_size = 0;
    size_t scratch_size = 0;
    hs_scratch_t *scratch = NULL;
    uint64_t matches = 0;
    double whole_s;
    size_t n_pat;
    size_t n_slow = 0;
    bool with_marginal;
    int status = CLI_EXIT_ERROR;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: logsift bench patterns FILE [CORPUS...]\n"
                "Per-pattern cost of an hsbench pattern file over a corpus held in memory.\n");
        return argc < 2 ? CLI_EXIT_ERROR : 0;
    }
    lsf_err_clear(&err);
    lsf_buf_init(&corpus, BENCH_MAX_CORPUS);
    if (pat_set_new(&set, &err) != LSF_OK || pat_set_add_file(set, argv[1], &err) != LSF_OK ||
            pat_db_build(set, NULL, &db, &err) != LSF_OK) {
        fprintf(stderr, "logsift bench: %s\n", err.msg);
        goto out;
    }
    if (load_corpus((const char *const *)argv + 2, (size_t)argc - 2, &corpus) != 0 ||
            corpus.len == 0) {
        if (corpus.len == 0)
            fprintf(stderr, "logsift bench: the corpus is empty\n");
        goto out;
    }
    hs_database_size(pat_db_hs(db), &db_size);
    if (hs_alloc_scratch(pat_db_hs(db), &scratch) == HS_SUCCESS)
        hs_scratch_size(scratch, &scratch_size);
    hs_free_scratch(scratch);
    whole_s = time_scan(pat_db_hs(db), &corpus, &matches);
    n_pat = 0; /* the compiled ones: a Sigma set drops literals no rule is triggered by */
    for (size_t i = 0; i < pat_set_n_patterns(set); i++)
        n_pat += !pat_set_pattern(set, i)->is_dropped;
    printf("pattern set %s: %zu patterns, compiled in %.1f ms, database %zu bytes, scratch %zu "
           "bytes\ncorpus: %.1f MB; whole set scans at %.3f GB/s (%" PRIu64 " matches, best of "
           "%d)\n",
            argv[1], n_pat, pat_db_build_ms(db), db_size, scratch_size,
            (double)corpus.len / 1e6, (double)corpus.len / whole_s / 1e9, matches, BENCH_RUNS);
    rows = calloc(n_pat ? n_pat : 1, sizeof(*rows));
    if (rows == NULL)
        goto out;
    with_marginal = n_pat <= BENCH_MARGINAL_MAX_PATTERNS;
    if (!with_marginal)
        printf("(%zu patterns: marginal costs skipped, they need one compile per pattern; "
               "ranking by each pattern alone)\n", n_pat);
    for (size_t i = 0, idx = 0; i < n_pat; i++, idx++) {
        hs_database_t *alone;
        while (pat_set_pattern(set, idx)->is_dropped)
            idx++;
        alone = compile_subset(set, idx, SIZE_MAX);
        rows[i].idx = idx;
        rows[i].marginal_ms = 0;
        rows[i].has_marginal = false;
        rows[i].alone_gbps = 0;
        rows[i].flag = shape_flag(pat_set_pattern(set, idx)->expr);
        if (alone) {
            double t = time_scan(alone, &corpus, NULL);
            rows[i].alone_gbps = t > 0 ? (double)corpus.len / t / 1e9 : 0;
            hs_free_database(alone);
        }
        if (with_marginal && n_pat > 1) {
            hs_database_t *without = compile_subset(set, SIZE_MAX, idx);
            if (without) {
                /* Time the whole set again right before, so drift in the machine's speed
                 * does not show up as a cost. */
                double t_whole = time_scan(pat_db_hs(db), &corpus, NULL);
                double t = time_scan(without, &corpus, NULL);
                rows[i].marginal_ms = (t_whole - t) * 1e3;
                rows[i].has_marginal = true;
                hs_free_database(without);
            }
        }
        if (rows[i].alone_gbps < BENCH_MIN_ALONE_GBPS)
            n_slow++;
    }
    qsort(rows, n_pat, sizeof(*rows), cmp_rows);
    printf("\n%10s  %12s  %11s  %-6s  %s\n", "ID", "marginal ms", "alone GB/s", "alone", "pattern");
    for (size_t i = 0; i < n_pat; i++) {
        const struct pat_pattern *p = pat_set_pattern(set, rows[i].idx);
        char marginal[32];

        if (!rows[i].has_marginal)
            snprintf(marginal, sizeof(marginal), "-");
        else
            snprintf(marginal, sizeof(marginal), "%.2f", rows[i].marginal_ms);
        printf("%10u  %12s  %11.2f  %-6s  /%.70s/%s\n", p->id, marginal, rows[i].alone_gbps,
                rows[i].alone_gbps >= BENCH_MIN_ALONE_GBPS ? "PASS" : "FAIL", p->expr,
                strlen(p->expr) > 70 ? "..." : "");
        if (rows[i].flag)
            printf("%10s  flagged: %s\n", "", rows[i].flag);
    }
    printf("\n%zu of %zu patterns scan below %.1f GB/s on their own\n", n_slow, n_pat,
            BENCH_MIN_ALONE_GBPS);
    status = 0;
out:
    free(rows);
    lsf_buf_cleanup(&corpus);
    pat_db_free(db);
    pat_set_free(set);
    return status;
}

int cli_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "patterns") == 0)
        return bench_patterns(argc - 1, argv + 1);
    fprintf(stderr, "usage: logsift bench patterns FILE [CORPUS...]\n"
                    "(the full side-by-side benchmark is bench/run in the source tree)\n");
    return CLI_EXIT_ERROR;
}
