/*
 * logsift-bare: the "bare baseline" of the benchmark (issue 4). It measures what the hardware
 * and the libraries give with nothing of logsift around them, so bench/run can say how much
 * of that logsift keeps.
 *
 * It preloads the input files into memory, then times only:
 *   --mode scan        hs_scan over each file's pre-decompressed bytes, one block-mode call
 *                      per file, with a callback that only counts;
 *   --mode pipeline    whole-buffer decompress of each file into one reused buffer, then
 *                      hs_scan of that buffer (the minimal decompress+scan pipeline);
 *   --mode decompress  (or --decompress-only) the decompress step alone: a ceiling;
 *   --mode membw       one core summing a large buffer: the memory read-bandwidth ceiling.
 * Each figure is the median of --runs timed runs after --warmup untimed ones, in GB/s of
 * decompressed bytes (1 GB = 1e9 bytes). The match count of every run must be the same.
 *
 * Decompressors: gzip through ISA-L (what logsift uses), zlib or libdeflate (when built in),
 * all members of a multi-member file (Firehose objects are concatenated members); zstd
 * through ZSTD_decompressDCtx, which reads concatenated frames. --codec picks the gzip one.
 *
 * Pattern files are read as hsbench reads them, minimally: "ID:/regex/flags" with the regex
 * running to the last '/' of the line; '#' lines and blank lines are skipped. Flags i, s and
 * m map to HS_FLAG_CASELESS, DOTALL and MULTILINE; other letters (H 8 W P L V and any
 * "{ext}" block) are ignored and counted. A line whose flags hold C (a logical combination)
 * is skipped: combinations are evaluated outside Hyperscan by logsift. A line with Q (quiet:
 * only feeds combinations) is compiled as a plain pattern, since logsift's database holds
 * those patterns too and the baseline must do the same Hyperscan work; --skip-quiet leaves
 * them out instead. Hyperscan ids are pattern indexes; --per-pattern reports counts by ID.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <hs.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>
#ifdef LSF_BENCH_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define BARE_MAX_RUNS     101
#define BARE_PATH_MAX     4096
#define BARE_LINE_MAX     (1 << 16)
#define BARE_MAX_FILE_LEN ((size_t)UINT32_MAX) /* hs_scan and ISA-L count in 32 bits */
#define BARE_N_MODES      4

enum bare_mode {
    BARE_SCAN,
    BARE_PIPELINE,
    BARE_DECOMPRESS,
    BARE_MEMBW
};

enum bare_codec {
    CODEC_AUTO,
    CODEC_ISAL,
    CODEC_ZLIB,
    CODEC_LIBDEFLATE,
    CODEC_ZSTD,
    CODEC_NONE /* a plain file */
};

static const char *const MODE_NAMES[BARE_N_MODES] = {"scan", "pipeline", "decompress", "membw"};
static const char *const CODEC_NAMES[] = {"auto", "isal", "zlib", "libdeflate", "zstd", "none"};

struct bare_opts {
    enum bare_mode mode;            /* the one being run/printed */
    enum bare_mode modes[BARE_N_MODES];
    int n_modes;
    enum bare_codec gzip_codec;
    int runs;
    int warmup;
    bool is_json;
    bool has_per_pattern;
    bool skip_quiet;
    size_t membw_len;
    const char **pattern_files;
    size_t n_pattern_files;
    const char **inputs;
    size_t n_inputs;
};

/* ---- pattern set ----------------------------------------------------------------------------- */

struct pattern_set {
    char **exprs;
    unsigned *flags;
    unsigned *ids;        /* the file's IDs; the Hyperscan id is the index */
    unsigned *hs_ids;
    size_t n, cap;
    size_t n_skipped_combination;
    size_t n_skipped_quiet;
    size_t n_ignored_flags;
};

static int set_push(struct pattern_set *s, char *expr, unsigned flags, unsigned id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        char **e = realloc(s->exprs, cap * sizeof(*e));
        if (e)
            s->exprs = e;
        unsigned *f = realloc(s->flags, cap * sizeof(*f));
        if (f)
            s->flags = f;
        unsigned *i = realloc(s->ids, cap * sizeof(*i));
        if (i)
            s->ids = i;
        unsigned *h = realloc(s->hs_ids, cap * sizeof(*h));
        if (h)
            s->hs_ids = h;
        if (!e || !f || !i || !h)
            return -1;
        s->cap = cap;
    }
    s->exprs[s->n] = expr;
    s->flags[s->n] = flags;
    s->ids[s->n] = id;
    s->hs_ids[s->n] = (unsigned)s->n;
    s->n++;
    return 0;
}

static void set_cleanup(struct pattern_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->exprs[i]);
    free(s->exprs);
    free(s->flags);
    free(s->ids);
    free(s->hs_ids);
    memset(s, 0, sizeof(*s));
}

static int set_load(struct pattern_set *s, const char *path, bool skip_quiet)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    unsigned lineno = 0;
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, "logsift-bare: cannot open pattern file %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *end;
        errno = 0;
        unsigned long id = strtoul(p, &end, 10);
        char *last = strrchr(p, '/');
        if (errno || end == p || end[0] != ':' || end[1] != '/' || last == end + 1 ||
                id > UINT32_MAX) {
            fprintf(stderr, "logsift-bare: %s:%u: not an \"ID:/regex/flags\" line; fix or "
                            "comment it out with '#'\n", path, lineno);
            rc = -1;
            break;
        }
        unsigned flags = 0;
        bool is_combination = false, is_quiet = false;
        for (const char *fl = last + 1; *fl && *fl != '{'; fl++) {
            switch (*fl) {
            case 'i':
                flags |= HS_FLAG_CASELESS;
                break;
            case 's':
                flags |= HS_FLAG_DOTALL;
                break;
            case 'm':
                flags |= HS_FLAG_MULTILINE;
                break;
            case 'C':
                is_combination = true;
                break;
            case 'Q':
                is_quiet = true;
                break;
            default:
                s->n_ignored_flags++;
                break;
            }
        }
        if (strchr(last + 1, '{'))
            s->n_ignored_flags++;
        if (is_combination) {
            s->n_skipped_combination++;
            continue;
        }
        if (is_quiet && skip_quiet) {
            s->n_skipped_quiet++;
            continue;
        }
        size_t len = (size_t)(last - (end + 2));
        char *expr = malloc(len + 1);
        if (expr == NULL || set_push(s, expr, flags, (unsigned)id) != 0) {
            free(expr);
            fprintf(stderr, "logsift-bare: out of memory reading %s\n", path);
            rc = -1;
            break;
        }
        memcpy(expr, end + 2, len);
        expr[len] = '\0';
    }
    free(line);
    fclose(f);
    return rc;
}

static int set_compile(const struct pattern_set *s, hs_database_t **db, double *ms)
{
    hs_compile_error_t *ce = NULL;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    hs_error_t hrc = hs_compile_multi((const char *const *)s->exprs, s->flags, s->hs_ids,
            (unsigned)s->n, HS_MODE_BLOCK, NULL, db, &ce);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (hrc == HS_SUCCESS)
        return 0;
    if (ce && ce->expression >= 0 && (size_t)ce->expression < s->n)
        fprintf(stderr, "logsift-bare: pattern %u (/%s/) does not compile: %s\n",
                s->ids[ce->expression], s->exprs[ce->expression], ce->message);
    else
        fprintf(stderr, "logsift-bare: the pattern set does not compile: %s\n",
                ce ? ce->message : "unknown error");
    hs_free_compile_error(ce);
    return -1;
}

/* ---- inputs ---------------------------------------------------------------------------------- */

struct input {
    char *path;
    unsigned char *comp;   /* file bytes as read */
    size_t comp_len;
    unsigned char *plain;  /* decompressed bytes (scan mode only) */
    size_t plain_len;
    enum bare_codec format;
};

struct input_list {
    struct input *v;
    size_t n, cap;
};

static int list_add(struct input_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct input *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    l->v[l->n].path = strdup(path);
    if (l->v[l->n].path == NULL)
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* path, or every regular file under it in sorted order. */
static int collect(struct input_list *l, const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "logsift-bare: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return list_add(l, path);
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "logsift-bare: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (nn == NULL) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char sub[BARE_PATH_MAX];
        if (rc == 0) {
            int k = snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
            rc = (k > 0 && (size_t)k < sizeof(sub)) ? collect(l, sub) : -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int read_file(struct input *in)
{
    FILE *f = fopen(in->path, "rb");
    struct stat st;
    int rc = -1;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "logsift-bare: %s: %s\n", in->path, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size > BARE_MAX_FILE_LEN) {
        fprintf(stderr, "logsift-bare: %s: larger than 4 GiB; split it\n", in->path);
        goto out;
    }
    in->comp_len = (size_t)st.st_size;
    in->comp = malloc(in->comp_len ? in->comp_len : 1);
    if (in->comp == NULL || fread(in->comp, 1, in->comp_len, f) != in->comp_len) {
        fprintf(stderr, "logsift-bare: %s: cannot read it whole\n", in->path);
        goto out;
    }
    if (in->comp_len >= 2 && in->comp[0] == 0x1f && in->comp[1] == 0x8b)
        in->format = CODEC_ISAL;
    else if (in->comp_len >= 4 && in->comp[0] == 0x28 && in->comp[1] == 0xb5 &&
             in->comp[2] == 0x2f && in->comp[3] == 0xfd)
        in->format = CODEC_ZSTD;
    else
        in->format = CODEC_NONE;
    rc = 0;
out:
    if (f)
        fclose(f);
    return rc;
}

/* ---- decompressors: whole buffer in, whole buffer out ---------------------------------------- */

struct codecs {
    struct inflate_state *isal;
    ZSTD_DCtx *zstd;
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
    struct libdeflate_decompressor *ld;
#endif
};

static bool is_gzip_at(const unsigned char *p, size_t left)
{
    return left >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* All gzip members of in[0..n) into out; returns bytes written or -1. */
static int64_t inflate_isal(struct codecs *c, const unsigned char *in, size_t n,
        unsigned char *out, size_t cap)
{
    struct inflate_state *st = c->isal;
    size_t done = 0, used = 0;

    while (is_gzip_at(in + used, n - used)) {
        isal_inflate_init(st);
        st->crc_flag = ISAL_GZIP;
        st->next_in = (uint8_t *)(uintptr_t)(in + used);
        st->avail_in = (uint32_t)(n - used);
        st->next_out = out + done;
        st->avail_out = (uint32_t)(cap - done);
        int ret = isal_inflate(st);
        if (ret != ISAL_DECOMP_OK || st->block_state != ISAL_BLOCK_FINISH)
            return -1;
        used = n - st->avail_in;
        done = cap - st->avail_out;
    }
    return used == n ? (int64_t)done : -1;
}

#ifdef LSF_BENCH_HAVE_ZLIB
static int64_t inflate_zlib(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    size_t done = 0, used = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -1;
    while (is_gzip_at(in + used, n - used)) {
        zs.next_in = (Bytef *)(uintptr_t)(in + used);
        zs.avail_in = (uInt)(n - used);
        zs.next_out = out + done;
        zs.avail_out = (uInt)(cap - done);
        if (inflate(&zs, Z_FINISH) != Z_STREAM_END) {
            inflateEnd(&zs);
            return -1;
        }
        used = n - zs.avail_in;
        done = cap - zs.avail_out;
        inflateReset(&zs);
    }
    inflateEnd(&zs);
    return used == n ? (int64_t)done : -1;
}
#endif

#ifdef LSF_BENCH_HAVE_LIBDEFLATE
static int64_t inflate_libdeflate(struct codecs *c, const unsigned char *in, size_t n,
        unsigned char *out, size_t cap)
{
    size_t done = 0, used = 0;

    while (is_gzip_at(in + used, n - used)) {
        size_t in_used = 0, out_len = 0;
        if (libdeflate_gzip_decompress_ex(c->ld, in + used, n - used, out + done, cap - done,
                    &in_used, &out_len) != LIBDEFLATE_SUCCESS)
            return -1;
        used += in_used;
        done += out_len;
    }
    return used == n ? (int64_t)done : -1;
}
#endif

/* Decompress one input with codec (the gzip one for gzip files; zstd for zstd). */
static int64_t decompress(struct codecs *c, enum bare_codec codec, const struct input *in,
        unsigned char *out, size_t cap)
{
    if (in->format == CODEC_ZSTD) {
        size_t r = ZSTD_decompressDCtx(c->zstd, out, cap, in->comp, in->comp_len);
        return ZSTD_isError(r) ? -1 : (int64_t)r;
    }
    if (in->format == CODEC_NONE) {
        if (in->comp_len > cap)
            return -1;
        memcpy(out, in->comp, in->comp_len);
        return (int64_t)in->comp_len;
    }
    switch (codec) {
#ifdef LSF_BENCH_HAVE_ZLIB
    case CODEC_ZLIB:
        return inflate_zlib(in->comp, in->comp_len, out, cap);
#endif
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
    case CODEC_LIBDEFLATE:
        return inflate_libdeflate(c, in->comp, in->comp_len, out, cap);
#endif
    default:
        return inflate_isal(c, in->comp, in->comp_len, out, cap);
    }
}

/* Decompressed size by streaming through ISA-L / zstd once (gzip ISIZE is mod 2^32 and per
 * member; zstd frames may not record their size). */
static int64_t plain_size(struct codecs *c, const struct input *in)
{
    static unsigned char sink[1 << 20];

    if (in->format == CODEC_NONE)
        return (int64_t)in->comp_len;
    if (in->format == CODEC_ZSTD) {
        ZSTD_inBuffer ib = {in->comp, in->comp_len, 0};
        int64_t total = 0;
        ZSTD_DCtx_reset(c->zstd, ZSTD_reset_session_only);
        for (;;) {
            ZSTD_outBuffer ob = {sink, sizeof(sink), 0};
            size_t r = ZSTD_decompressStream(c->zstd, &ob, &ib);
            if (ZSTD_isError(r))
                return -1;
            total += (int64_t)ob.pos;
            if (ib.pos == ib.size && r == 0)
                return total;
            if (ib.pos == ib.size && ob.pos == 0)
                return -1; /* truncated frame */
        }
    }
    struct inflate_state *st = c->isal;
    size_t used = 0;
    int64_t total = 0;
    while (is_gzip_at(in->comp + used, in->comp_len - used)) {
        isal_inflate_init(st);
        st->crc_flag = ISAL_GZIP;
        st->next_in = in->comp + used;
        st->avail_in = (uint32_t)(in->comp_len - used);
        do {
            st->next_out = sink;
            st->avail_out = sizeof(sink);
            if (isal_inflate(st) != ISAL_DECOMP_OK)
                return -1;
            total += (int64_t)(sizeof(sink) - st->avail_out);
        } while (st->block_state != ISAL_BLOCK_FINISH && (st->avail_in > 0 ||
                 st->avail_out == 0));
        if (st->block_state != ISAL_BLOCK_FINISH)
            return -1;
        used = in->comp_len - st->avail_in;
    }
    return used == in->comp_len ? total : -1;
}

/* ---- timing ---------------------------------------------------------------------------------- */

struct match_ctx {
    uint64_t n;
    uint64_t *per; /* by Hyperscan id (pattern index) */
};

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
        unsigned flags, void *ctx)
{
    struct match_ctx *m = ctx;

    (void)from;
    (void)to;
    (void)flags;
    m->n++;
    m->per[id]++;
    return 0;
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sum 64-bit words: four independent chains so the loads, not the adds, set the pace. */
static uint64_t sum_words(const uint64_t *p, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;

    for (; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    for (; i < n; i++)
        a += p[i];
    return a + b + c + d;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: logsift-bare [OPTIONS] -p PATTERNS FILE|DIR...\n"
            "Bare baseline: preloads the files, then times hs_scan and/or the decompressor\n"
            "alone; prints the median GB/s of decompressed bytes and the match count.\n"
            "  -p, --patterns FILE   hsbench pattern file (repeatable)\n"
            "      --mode M[,M...]   scan (default; pre-decompressed input), pipeline\n"
            "                        (decompress + scan), decompress, membw; several modes\n"
            "                        share one preload and one compile, one result each\n"
            "      --decompress-only same as --mode decompress\n"
            "      --codec C         gzip decoder: isal (default)%s%s\n"
            "      --runs N          timed runs (default 5; the median is reported)\n"
            "      --warmup N        untimed runs first (default 1)\n"
            "      --skip-quiet      leave out Q (quiet) patterns; default compiles them as\n"
            "                        plain patterns, as logsift does; C lines are always skipped\n"
            "      --membw-bytes N   buffer for --mode membw (K/M/G; default 512M)\n"
            "      --per-pattern     also report match counts by pattern ID\n"
            "      --json            one JSON object on stdout\n",
#ifdef LSF_BENCH_HAVE_ZLIB
            ", zlib",
#else
            "",
#endif
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
            ", libdeflate"
#else
            ""
#endif
    );
}

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

static int parse_args(int argc, char **argv, struct bare_opts *o)
{
    o->gzip_codec = CODEC_ISAL;
    o->runs = 5;
    o->warmup = 1;
    o->membw_len = (size_t)512 << 20;
    o->pattern_files = calloc((size_t)argc, sizeof(char *));
    o->inputs = calloc((size_t)argc, sizeof(char *));
    if (!o->pattern_files || !o->inputs) {
        fprintf(stderr, "logsift-bare: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            o->inputs[o->n_inputs++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            o->is_json = true;
        } else if (strcmp(a, "--per-pattern") == 0) {
            o->has_per_pattern = true;
        } else if (strcmp(a, "--skip-quiet") == 0) {
            o->skip_quiet = true;
        } else if (strcmp(a, "--decompress-only") == 0) {
            o->modes[0] = BARE_DECOMPRESS;
            o->n_modes = 1;
        } else if (v == NULL) {
            fprintf(stderr, "logsift-bare: %s needs a value (or is unknown; see --help)\n", a);
            return 2;
        } else {
            i++;
            if (strcmp(a, "-p") == 0 || strcmp(a, "--patterns") == 0) {
                o->pattern_files[o->n_pattern_files++] = v;
            } else if (strcmp(a, "--mode") == 0) {
                o->n_modes = 0;
                for (const char *p = v; *p;) {
                    size_t k = strcspn(p, ",");
                    int m;
                    for (m = 0; m < BARE_N_MODES && (strlen(MODE_NAMES[m]) != k ||
                                                     strncmp(p, MODE_NAMES[m], k) != 0); m++)
                        ;
                    if (m == BARE_N_MODES || o->n_modes == BARE_N_MODES)
                        goto bad;
                    o->modes[o->n_modes++] = (enum bare_mode)m;
                    p += k + (p[k] == ',');
                }
                if (o->n_modes == 0)
                    goto bad;
            } else if (strcmp(a, "--codec") == 0) {
                if (strcmp(v, "isal") == 0)
                    o->gzip_codec = CODEC_ISAL;
#ifdef LSF_BENCH_HAVE_ZLIB
                else if (strcmp(v, "zlib") == 0)
                    o->gzip_codec = CODEC_ZLIB;
#endif
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
                else if (strcmp(v, "libdeflate") == 0)
                    o->gzip_codec = CODEC_LIBDEFLATE;
#endif
                else
                    goto bad;
            } else if (strcmp(a, "--runs") == 0) {
                o->runs = atoi(v);
                if (o->runs < 1 || o->runs > BARE_MAX_RUNS)
                    goto bad;
            } else if (strcmp(a, "--warmup") == 0) {
                o->warmup = atoi(v);
                if (o->warmup < 0 || o->warmup > 100)
                    goto bad;
            } else if (strcmp(a, "--membw-bytes") == 0) {
                if (!parse_size(v, &o->membw_len))
                    goto bad;
            } else {
                fprintf(stderr, "logsift-bare: unknown option %s (see --help)\n", a);
                return 2;
            }
        }
        continue;
bad:
        fprintf(stderr, "logsift-bare: bad value '%s' for %s (see --help; codecs not built in "
                        "are refused)\n", v, a);
        return 2;
    }
    if (o->n_modes == 0) {
        o->modes[0] = BARE_SCAN;
        o->n_modes = 1;
    }
    for (int k = 0; k < o->n_modes; k++) {
        if (o->modes[k] != BARE_MEMBW && o->n_inputs == 0) {
            fprintf(stderr, "logsift-bare: no input files\n");
            return 2;
        }
        if ((o->modes[k] == BARE_SCAN || o->modes[k] == BARE_PIPELINE) &&
                o->n_pattern_files == 0) {
            fprintf(stderr, "logsift-bare: --mode %s needs -p PATTERNS\n",
                    MODE_NAMES[o->modes[k]]);
            return 2;
        }
    }
    return -1;
}

/* ---- main ------------------------------------------------------------------------------------ */

struct result {
    double times[BARE_MAX_RUNS];
    double median_s;
    uint64_t bytes;
    uint64_t comp_bytes;
    uint64_t matches;
    bool is_consistent;
};

static void print_result(const struct bare_opts *o, const struct pattern_set *set,
        const struct input_list *inputs, const struct result *res, const struct match_ctx *m,
        double compile_ms, size_t db_bytes, size_t scratch_bytes)
{
    double gbps = res->median_s > 0 ? (double)res->bytes / res->median_s / 1e9 : 0.0;
    /* name the decoders that actually ran: the gzip one, zstd, or none (plain input) */
    bool has_gzip = false, has_zstd = false;
    for (size_t i = 0; i < inputs->n; i++) {
        has_gzip = has_gzip || inputs->v[i].format == CODEC_ISAL;
        has_zstd = has_zstd || inputs->v[i].format == CODEC_ZSTD;
    }
    const char *codec = "none";
    char mixed[32];
    if (o->mode == BARE_PIPELINE || o->mode == BARE_DECOMPRESS) {
        if (has_gzip && has_zstd) {
            snprintf(mixed, sizeof(mixed), "%s+zstd", CODEC_NAMES[o->gzip_codec]);
            codec = mixed;
        } else if (has_gzip) {
            codec = CODEC_NAMES[o->gzip_codec];
        } else if (has_zstd) {
            codec = "zstd";
        }
    }
    bool has_patterns = o->mode == BARE_SCAN || o->mode == BARE_PIPELINE;

    if (!o->is_json) {
        if (o->mode == BARE_MEMBW)
            printf("membw: %.1f MB read, median %.4f s of %d runs -> %.3f GB/s",
                   (double)res->bytes / 1e6, res->median_s, o->runs, gbps);
        else
            printf("%s%s%s: %zu files, %.1f MB decompressed, median %.4f s of %d runs -> %.3f "
                   "GB/s",
                   MODE_NAMES[o->mode], o->mode == BARE_SCAN ? "" : "/",
                   o->mode == BARE_SCAN ? "" : codec, inputs->n, (double)res->bytes / 1e6,
                   res->median_s, o->runs, gbps);
        if (has_patterns)
            printf(", %" PRIu64 " matches%s (%zu patterns, compiled in %.0f ms)", res->matches,
                   res->is_consistent ? "" : " INCONSISTENT between runs", set->n, compile_ms);
        printf("\n");
        if (o->has_per_pattern && has_patterns)
            for (size_t i = 0; i < set->n; i++)
                printf("  %10u %12" PRIu64 "\n", set->ids[i], m->per[i] / (uint64_t)o->runs);
        return;
    }
    printf("{\"tool\":\"logsift-bare\",\"mode\":\"%s\",\"codec\":\"%s\",\"files\":%zu,"
           "\"bytes\":%" PRIu64 ",\"compressed_bytes\":%" PRIu64 ",\"runs\":%d,\"warmup\":%d,"
           "\"times_s\":[",
           MODE_NAMES[o->mode], codec, o->mode == BARE_MEMBW ? 0 : inputs->n, res->bytes,
           res->comp_bytes, o->runs,
           o->warmup);
    for (int i = 0; i < o->runs; i++)
        printf("%s%.6f", i ? "," : "", res->times[i]);
    printf("],\"median_s\":%.6f,\"gbps\":%.4f", res->median_s, gbps);
    if (has_patterns) {
        printf(",\"matches\":%" PRIu64 ",\"matches_consistent\":%s,\"patterns\":%zu,"
               "\"skipped_combination\":%zu,\"skipped_quiet\":%zu,\"ignored_flags\":%zu,"
               "\"compile_ms\":%.1f,\"db_bytes\":%zu,\"scratch_bytes\":%zu,\"hyperscan\":\"%s\"",
               res->matches, res->is_consistent ? "true" : "false", set->n,
               set->n_skipped_combination, set->n_skipped_quiet, set->n_ignored_flags,
               compile_ms, db_bytes, scratch_bytes, hs_version());
        if (o->has_per_pattern) {
            /* IDs may repeat across files: sum by ID */
            printf(",\"per_pattern\":{");
            bool is_first = true;
            for (size_t i = 0; i < set->n; i++) {
                bool is_dup = false;
                for (size_t j = 0; j < i && !is_dup; j++)
                    is_dup = set->ids[j] == set->ids[i];
                if (is_dup)
                    continue;
                uint64_t sum = 0;
                for (size_t j = i; j < set->n; j++)
                    if (set->ids[j] == set->ids[i])
                        sum += m->per[j];
                printf("%s\"%u\":%" PRIu64, is_first ? "" : ",", set->ids[i],
                       sum / (uint64_t)o->runs);
                is_first = false;
            }
            printf("}");
        }
    }
    printf("}\n");
}

static bool has_mode(const struct bare_opts *o, enum bare_mode m)
{
    for (int k = 0; k < o->n_modes; k++)
        if (o->modes[k] == m)
            return true;
    return false;
}

/* Warm-up plus timed runs of o->mode; fills res. Returns 0, or -1 after reporting. */
static int run_mode(const struct bare_opts *o, struct input_list *inputs, struct codecs *codecs,
        hs_database_t *db, hs_scratch_t *scratch, const struct pattern_set *set,
        struct match_ctx *m, unsigned char *work, size_t work_cap, const uint64_t *membw,
        struct result *res)
{
    uint64_t first_matches = 0;
    volatile uint64_t keep = 0; /* the membw sum must not be optimised away */

    res->is_consistent = true;
    for (int run = 0; run < o->warmup + o->runs; run++) {
        bool is_timed = run >= o->warmup;
        m->n = 0;
        if (run == o->warmup && m->per)
            memset(m->per, 0, set->n * sizeof(*m->per)); /* per-pattern: timed runs only */
        double t0 = now_s();
        if (o->mode == BARE_MEMBW) {
            keep += sum_words(membw, o->membw_len / sizeof(uint64_t));
        } else {
            for (size_t i = 0; i < inputs->n; i++) {
                const struct input *in = &inputs->v[i];
                const unsigned char *p = in->plain;
                size_t len = in->plain_len;
                if (o->mode != BARE_SCAN) {
                    int64_t got = decompress(codecs, o->gzip_codec, in, work, work_cap);
                    if (got != (int64_t)in->plain_len) {
                        fprintf(stderr, "logsift-bare: %s: decompression failed with %s\n",
                                in->path, CODEC_NAMES[o->gzip_codec]);
                        return -1;
                    }
                    p = work;
                }
                if (o->mode == BARE_SCAN || o->mode == BARE_PIPELINE) {
                    if (hs_scan(db, (const char *)p, (unsigned)len, 0, scratch, on_match, m) !=
                            HS_SUCCESS) {
                        fprintf(stderr, "logsift-bare: %s: hs_scan failed\n", in->path);
                        return -1;
                    }
                }
            }
        }
        double dt = now_s() - t0;
        if (!is_timed)
            continue;
        res->times[run - o->warmup] = dt;
        if (run == o->warmup)
            first_matches = m->n;
        else if (m->n != first_matches)
            res->is_consistent = false;
    }
    (void)keep;
    res->matches = first_matches;
    double sorted[BARE_MAX_RUNS];
    memcpy(sorted, res->times, (size_t)o->runs * sizeof(double));
    qsort(sorted, (size_t)o->runs, sizeof(double), cmp_double);
    res->median_s = o->runs % 2 ? sorted[o->runs / 2]
                                : (sorted[o->runs / 2 - 1] + sorted[o->runs / 2]) / 2;
    return 0;
}

int main(int argc, char **argv)
{
    struct bare_opts o;
    struct pattern_set set;
    struct input_list inputs;
    struct codecs codecs;
    struct match_ctx m = {0, NULL};
    hs_database_t *db = NULL;
    hs_scratch_t *scratch = NULL;
    unsigned char *work = NULL;
    uint64_t *membw = NULL;
    size_t work_cap = 0, db_bytes = 0, scratch_bytes = 0;
    uint64_t total_plain = 0, total_comp = 0;
    double compile_ms = 0;
    int status = 2;

    memset(&o, 0, sizeof(o));
    memset(&set, 0, sizeof(set));
    memset(&inputs, 0, sizeof(inputs));
    memset(&codecs, 0, sizeof(codecs));
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) {
        status = rc;
        goto out;
    }
    bool needs_db = has_mode(&o, BARE_SCAN) || has_mode(&o, BARE_PIPELINE);
    bool needs_comp = has_mode(&o, BARE_PIPELINE) || has_mode(&o, BARE_DECOMPRESS);
    bool needs_inputs = needs_comp || has_mode(&o, BARE_SCAN);
    codecs.isal = malloc(sizeof(*codecs.isal));
    codecs.zstd = ZSTD_createDCtx();
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
    codecs.ld = libdeflate_alloc_decompressor();
    if (codecs.ld == NULL)
        goto nomem;
#endif
    if (codecs.isal == NULL || codecs.zstd == NULL)
        goto nomem;

    if (needs_db) {
        for (size_t i = 0; i < o.n_pattern_files; i++)
            if (set_load(&set, o.pattern_files[i], o.skip_quiet) != 0)
                goto out;
        if (set.n == 0) {
            fprintf(stderr, "logsift-bare: the pattern files hold no pattern to compile\n");
            goto out;
        }
        if (set_compile(&set, &db, &compile_ms) != 0)
            goto out;
        if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS)
            goto nomem;
        hs_database_size(db, &db_bytes);
        hs_scratch_size(scratch, &scratch_bytes);
        m.per = calloc(set.n, sizeof(*m.per));
        if (m.per == NULL)
            goto nomem;
    }

    /* preload: read everything, learn each decompressed size; scan gets the plain bytes,
     * pipeline/decompress keep the compressed ones */
    for (size_t i = 0; needs_inputs && i < o.n_inputs; i++)
        if (collect(&inputs, o.inputs[i]) != 0)
            goto out;
    for (size_t i = 0; i < inputs.n; i++) {
        struct input *in = &inputs.v[i];
        if (read_file(in) != 0)
            goto out;
        int64_t n = plain_size(&codecs, in);
        if (n < 0 || (uint64_t)n > BARE_MAX_FILE_LEN) {
            fprintf(stderr, "logsift-bare: %s: cannot decompress it (damaged or truncated, or "
                            "over 4 GiB decompressed); re-copy it or leave it out\n", in->path);
            goto out;
        }
        in->plain_len = (size_t)n;
        if (needs_comp && in->format == CODEC_NONE)
            fprintf(stderr, "logsift-bare: note: %s is not compressed; it is copied, not "
                            "decompressed\n", in->path);
        if (in->plain_len > work_cap)
            work_cap = in->plain_len;
        total_plain += in->plain_len;
        total_comp += in->comp_len;
        if (!has_mode(&o, BARE_SCAN))
            continue;
        if (in->format == CODEC_NONE && !needs_comp) {
            in->plain = in->comp;
            in->comp = NULL;
            continue;
        }
        in->plain = malloc(in->plain_len ? in->plain_len : 1);
        if (in->plain == NULL)
            goto nomem;
        if (decompress(&codecs, CODEC_ISAL, in, in->plain, in->plain_len) !=
                (int64_t)in->plain_len) {
            fprintf(stderr, "logsift-bare: %s: decompression failed\n", in->path);
            goto out;
        }
        if (!needs_comp) {
            free(in->comp);
            in->comp = NULL;
        }
    }
    if (needs_comp) {
        work = malloc(work_cap ? work_cap : 1);
        if (work == NULL)
            goto nomem;
    }
    if (has_mode(&o, BARE_MEMBW)) {
        size_t n = o.membw_len / sizeof(uint64_t);
        membw = malloc(n * sizeof(uint64_t));
        if (membw == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            membw[i] = i; /* touch every page so the timed runs do not fault */
    }

    status = 0;
    for (int k = 0; k < o.n_modes; k++) {
        struct result res;
        memset(&res, 0, sizeof(res));
        o.mode = o.modes[k];
        res.bytes = o.mode == BARE_MEMBW ? (o.membw_len / sizeof(uint64_t)) * sizeof(uint64_t)
                                         : total_plain;
        res.comp_bytes = o.mode == BARE_MEMBW ? res.bytes : total_comp;
        if (run_mode(&o, &inputs, &codecs, db, scratch, &set, &m, work, work_cap, membw,
                    &res) != 0) {
            status = 2;
            goto out;
        }
        print_result(&o, &set, &inputs, &res, &m, compile_ms, db_bytes, scratch_bytes);
        fflush(stdout);
        if (!res.is_consistent)
            status = 1;
    }
    goto out;
nomem:
    fprintf(stderr, "logsift-bare: out of memory\n");
    status = 2;
out:
    for (size_t i = 0; i < inputs.n; i++) {
        free(inputs.v[i].path);
        free(inputs.v[i].comp);
        free(inputs.v[i].plain);
    }
    free(inputs.v);
    free(work);
    free(membw);
    free(m.per);
    hs_free_scratch(scratch);
    hs_free_database(db);
    set_cleanup(&set);
    free(codecs.isal);
    ZSTD_freeDCtx(codecs.zstd);
#ifdef LSF_BENCH_HAVE_LIBDEFLATE
    libdeflate_free_decompressor(codecs.ld);
#endif
    free(o.pattern_files);
    free(o.inputs);
    return status;
}
