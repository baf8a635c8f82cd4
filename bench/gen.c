/*
 * logsift-gen: writes a synthetic log corpus for the benchmarks, deterministic from a seed.
 *
 * Kinds (--kind):
 *   cloudtrail  S3 delivery files {"Records":[...]} (minified, 1-5 MB each) under
 *               AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, named as CloudTrail names them
 *               (AWS CloudTrail User Guide, "CloudTrail log file examples")
 *   auth        RFC 3164 auth.log lines (sshd, sudo, su, PAM, cron, systemd-logind)
 *   cwl-export  CloudWatch Logs CreateExportTask output: TASKID/STREAM/000000.gz, lines
 *               "2024-01-15T11:01:02.123Z <message>"
 *   firehose    CloudWatch Logs subscription records as Firehose writes them to S3: each
 *               DATA_MESSAGE (rarely a CONTROL_MESSAGE) is its own gzip member, back to back
 * cwl-export and firehose carry CloudTrail records or auth lines (--source).
 *
 * Design. Everything random comes from one xoshiro256** stream seeded through splitmix64,
 * and is drawn in a fixed order that does not depend on the compression, so a seed gives the
 * same decompressed bytes with --compress none, gzip or zstd, and the same compressed bytes
 * for the same libdeflate and zstd versions. gzip is libdeflate, not ISA-L: ISA-L's deflate
 * output changed with the process's address layout (about 1 run in 300 gave other, equally
 * valid bytes), and libdeflate compresses a whole member at once, deterministically. Memory is
 * bounded: one event is built at a time into a fixed buffer, then goes through a 1 MiB
 * staging buffer into zstd and the file, or is held until its gzip member ends (one delivery
 * file, at most about 5 MB, or one Firehose record). Strings that never change
 * (each principal's userIdentity object, user agents, IPs) are rendered once at start, so
 * the hot loop is mostly memcpy; that is what keeps generation above 200 MB/s.
 *
 * Planted attacks. With probability --attack-rate an event is replaced by an attack (for
 * auth: an attack episode starts, and a brute-force burst is many lines). Each planted event
 * gets one line in OUT/ground-truth.jsonl naming its file, its key (CloudTrail eventID; auth
 * line number, or the logEvents id inside Firehose), the attack and the default-pack rule
 * ids expected to fire. Background events never contain what those rules look for, so on
 * this corpus the findings of patterns/default.rules must equal the ground truth exactly.
 * OUT/manifest.json records the totals (bytes are decompressed bytes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>

#include <libdeflate.h>
#include <zstd.h>

#define GEN_VERSION    "1"
#define GEN_STAGE_LEN  ((size_t)1 << 20)   /* raw bytes staged before compression */
#define GEN_OUT_LEN    ((size_t)1 << 18)   /* compressed bytes per write */
#define GEN_EVENT_CAP  ((size_t)64 << 10)  /* one event (CloudTrail records stay under 4 KB) */
#define GEN_QUEUE_CAP  ((size_t)64 << 10)  /* lines of one auth attack episode */
#define GEN_PATH_MAX   1024
#define GEN_FILE_MIN   ((uint64_t)1 << 20)
#define GEN_FILE_MAX   ((uint64_t)5 << 20)
#define GEN_REC_SOFT   2300                /* list items stop growing a record past this */
#define GEN_EPOCH_S    INT64_C(1705276800) /* 2024-01-15T00:00:00Z */
#define GEN_N_ACCOUNTS 3
#define GEN_N_REGIONS  5
#define GEN_N_USERS    12
#define GEN_N_ROLES    16
#define GEN_N_IPS      192
#define GEN_N_BAD_IPS  24
#define GEN_N_HOSTS    8
#define GEN_FH_MAX_EVENTS 40

/* ---- random numbers -------------------------------------------------------------------------- */

struct gen_rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_seed(struct gen_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c). */
static inline uint64_t rng_next(struct gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32: irrelevant here, and deterministic). */
static inline uint32_t rng_below(struct gen_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline double rng_unit(struct gen_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ---- bounded text buffer --------------------------------------------------------------------- */

/*
 * A fixed-capacity buffer. Writing past the end truncates and sets is_over; the caller checks
 * it once per event (a template bug, reported, never a silent overflow).
 */
struct gbuf {
    char *p;
    size_t len;
    size_t cap;
    bool is_over;
};

static inline void gb_put(struct gbuf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        b->is_over = true;
        n = b->cap - b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

#define GB_LIT(b, s) gb_put((b), (s), sizeof(s) - 1)

static inline void gb_str(struct gbuf *b, const char *s)
{
    gb_put(b, s, strlen(s));
}

static inline void gb_ch(struct gbuf *b, char c)
{
    if (b->len < b->cap)
        b->p[b->len++] = c;
    else
        b->is_over = true;
}

static void gb_u64(struct gbuf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0)
        gb_ch(b, tmp[--n]);
}

/* v in decimal, zero-padded to width digits. */
static void gb_pad(struct gbuf *b, uint64_t v, int width)
{
    char tmp[24];

    for (int i = width - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    gb_put(b, tmp, (size_t)width);
}

static const char HEX[] = "0123456789abcdef";
static const char UPPER_ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; /* 32: 5 bits a char */
static const char LOWER_ALNUM[] = "abcdefghijklmnopqrstuvwxyz012345";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void gb_hex(struct gbuf *b, struct gen_rng *r, size_t n)
{
    while (n > 0) {
        uint64_t x = rng_next(r);
        for (int i = 0; i < 16 && n > 0; i++, n--, x >>= 4)
            gb_ch(b, HEX[x & 15]);
    }
}

/* n characters of alphabet (32 or 64 letters long: bits_per_char 5 or 6). */
static void gb_rand_chars(struct gbuf *b, struct gen_rng *r, const char *alphabet,
        int bits_per_char, size_t n)
{
    uint64_t mask = ((uint64_t)1 << bits_per_char) - 1;

    while (n > 0) {
        uint64_t x = rng_next(r);
        for (int i = 0; i + bits_per_char <= 64 && n > 0; i += bits_per_char, n--)
            gb_ch(b, alphabet[(x >> i) & mask]);
    }
}

/* A version-4 UUID, lowercase (CloudTrail eventID / requestID shape). */
static void gb_uuid(struct gbuf *b, struct gen_rng *r)
{
    uint64_t hi = rng_next(r), lo = rng_next(r);
    char u[36];
    int k = 0;

    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            u[i] = '-';
            continue;
        }
        uint64_t nib = k < 16 ? (hi >> (4 * k)) & 15 : (lo >> (4 * (k - 16))) & 15;
        k++;
        u[i] = HEX[nib];
    }
    u[14] = '4';
    u[19] = HEX[8 + ((lo >> 62) & 3)];
    gb_put(b, u, 36);
}

/* JSON string body of s (without quotes). */
static void gb_json_escape(struct gbuf *b, const char *s, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        gb_put(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            gb_ch(b, '\\');
            gb_ch(b, (char)c);
        } else {
            GB_LIT(b, "\\u00");
            gb_ch(b, HEX[c >> 4]);
            gb_ch(b, HEX[c & 15]);
        }
    }
    gb_put(b, s + run, n - run);
}

/* ---- time ------------------------------------------------------------------------------------ */

struct gen_tm {
    int y, mo, d, h, mi, s;
};

/* Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil inverse). */
static void tm_from_sec(int64_t t, struct gen_tm *tm)
{
    int64_t days = t / 86400, sod = t % 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t mo = mp < 10 ? mp + 3 : mp - 9;

    tm->y = (int)(yoe + era * 400 + (mo <= 2));
    tm->mo = (int)mo;
    tm->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->h = (int)(sod / 3600);
    tm->mi = (int)(sod / 60 % 60);
    tm->s = (int)(sod % 60);
}

static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* 2024-01-15T11:01:02 (the caller adds "Z" or ".123Z") */
static void gb_iso(struct gbuf *b, const struct gen_tm *tm)
{
    gb_pad(b, (uint64_t)tm->y, 4);
    gb_ch(b, '-');
    gb_pad(b, (uint64_t)tm->mo, 2);
    gb_ch(b, '-');
    gb_pad(b, (uint64_t)tm->d, 2);
    gb_ch(b, 'T');
    gb_pad(b, (uint64_t)tm->h, 2);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm->mi, 2);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm->s, 2);
}

/* "Jan 15, 2024, 11:01:02 AM", the date style of CloudTrail responseElements. */
static void gb_aws_date(struct gbuf *b, const struct gen_tm *tm)
{
    int h12 = tm->h % 12 == 0 ? 12 : tm->h % 12;

    gb_str(b, MONTHS[tm->mo - 1]);
    gb_ch(b, ' ');
    gb_u64(b, (uint64_t)tm->d);
    GB_LIT(b, ", ");
    gb_pad(b, (uint64_t)tm->y, 4);
    GB_LIT(b, ", ");
    gb_u64(b, (uint64_t)h12);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm->mi, 2);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm->s, 2);
    gb_str(b, tm->h < 12 ? " AM" : " PM");
}

/* ---- output: plain, gzip (libdeflate) or zstd -3, with member/frame boundaries -------------------- */

enum gen_compress {
    GEN_COMPRESS_NONE,
    GEN_COMPRESS_GZIP,
    GEN_COMPRESS_ZSTD
};

struct gen_writer {
    enum gen_compress compress;
    int gzip_level;
    FILE *fp;
    char path[GEN_PATH_MAX];
    unsigned char *stage;
    size_t stage_len;
    unsigned char *out;
    size_t stage_cap;  /* GEN_STAGE_LEN, or more while a gzip member grows */
    struct libdeflate_compressor *gz;
    unsigned char *gz_out;
    size_t gz_out_cap;
    ZSTD_CCtx *zc;
    uint64_t raw_len;  /* uncompressed bytes written to the current file */
    bool is_member_open; /* bytes went in since the last member/frame end */
    bool is_failed;
};

static int writer_init(struct gen_writer *w, enum gen_compress compress, int gzip_level)
{
    memset(w, 0, sizeof(*w));
    w->compress = compress;
    w->gzip_level = gzip_level;
    w->stage_cap = GEN_STAGE_LEN;
    w->stage = malloc(w->stage_cap);
    w->out = malloc(GEN_OUT_LEN);
    if (w->stage == NULL || w->out == NULL)
        return -1;
    if (compress == GEN_COMPRESS_GZIP) {
        w->gz = libdeflate_alloc_compressor(gzip_level);
        if (w->gz == NULL)
            return -1;
    } else if (compress == GEN_COMPRESS_ZSTD) {
        w->zc = ZSTD_createCCtx();
        if (w->zc == NULL)
            return -1;
        /* zstd(1) defaults: level 3, frame checksum on. */
        if (ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, 3)) ||
                ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)))
            return -1;
    }
    return 0;
}

static void writer_cleanup(struct gen_writer *w)
{
    if (w->fp)
        fclose(w->fp);
    w->fp = NULL;
    free(w->stage);
    free(w->out);
    free(w->gz_out);
    libdeflate_free_compressor(w->gz);
    ZSTD_freeCCtx(w->zc);
    w->stage = w->out = w->gz_out = NULL;
    w->gz = NULL;
    w->zc = NULL;
}

static void writer_emit(struct gen_writer *w, const void *p, size_t n)
{
    if (n > 0 && !w->is_failed && fwrite(p, 1, n, w->fp) != n) {
        fprintf(stderr, "logsift-gen: %s: write failed: %s; check free space and rerun\n",
                w->path, strerror(errno));
        w->is_failed = true;
    }
}

/* Push the staged bytes through the compressor; is_end closes the gzip member / zstd frame. */
static void writer_flush(struct gen_writer *w, bool is_end)
{
    if (w->compress == GEN_COMPRESS_NONE) {
        writer_emit(w, w->stage, w->stage_len);
    } else if (w->compress == GEN_COMPRESS_GZIP) {
        /* writer_put holds a gzip member whole, so only its end comes here */
        size_t bound = libdeflate_gzip_compress_bound(w->gz, w->stage_len);
        if (bound > w->gz_out_cap) {
            unsigned char *p = realloc(w->gz_out, bound);
            if (p == NULL) {
                fprintf(stderr, "logsift-gen: %s: out of memory\n", w->path);
                w->is_failed = true;
                w->stage_len = 0;
                return;
            }
            w->gz_out = p;
            w->gz_out_cap = bound;
        }
        size_t n = libdeflate_gzip_compress(w->gz, w->stage, w->stage_len, w->gz_out, bound);
        if (n == 0) {
            fprintf(stderr, "logsift-gen: %s: libdeflate_gzip_compress failed\n", w->path);
            w->is_failed = true;
        }
        writer_emit(w, w->gz_out, n);
        w->is_member_open = false;
    } else {
        ZSTD_inBuffer in = {w->stage, w->stage_len, 0};
        ZSTD_EndDirective mode = is_end ? ZSTD_e_end : ZSTD_e_continue;
        for (;;) {
            ZSTD_outBuffer o = {w->out, GEN_OUT_LEN, 0};
            size_t rem = ZSTD_compressStream2(w->zc, &o, &in, mode);
            if (ZSTD_isError(rem)) {
                fprintf(stderr, "logsift-gen: %s: zstd: %s\n", w->path, ZSTD_getErrorName(rem));
                w->is_failed = true;
                break;
            }
            writer_emit(w, w->out, o.pos);
            if (is_end ? rem == 0 : in.pos == in.size)
                break;
        }
        w->is_member_open = !is_end;
    }
    w->stage_len = 0;
}

static void writer_put(struct gen_writer *w, const void *p, size_t n)
{
    const unsigned char *s = p;

    w->raw_len += n;
    w->is_member_open = w->is_member_open || n > 0;
    if (w->compress == GEN_COMPRESS_GZIP && w->stage_len + n > w->stage_cap) {
        size_t cap = w->stage_cap;
        while (cap < w->stage_len + n)
            cap *= 2;
        unsigned char *grown = realloc(w->stage, cap);
        if (grown == NULL) {
            fprintf(stderr, "logsift-gen: %s: out of memory holding a gzip member\n", w->path);
            w->is_failed = true;
            return;
        }
        w->stage = grown;
        w->stage_cap = cap;
    }
    while (n > 0) {
        size_t room = w->stage_cap - w->stage_len;
        size_t k = n < room ? n : room;
        memcpy(w->stage + w->stage_len, s, k);
        w->stage_len += k;
        s += k;
        n -= k;
        if (w->stage_len == w->stage_cap)
            writer_flush(w, false);
    }
}

/* End a gzip member / zstd frame here; the next byte starts a new one (Firehose). */
static void writer_end_member(struct gen_writer *w)
{
    if (w->compress != GEN_COMPRESS_NONE)
        writer_flush(w, true);
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path)
{
    char tmp[GEN_PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "logsift-gen: cannot create directory %s: %s\n", tmp,
                    strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return 0;
}

static int writer_open(struct gen_writer *w, const char *path)
{
    snprintf(w->path, sizeof(w->path), "%s", path);
    if (make_parents(path) != 0)
        return -1;
    w->fp = fopen(path, "wb");
    if (w->fp == NULL) {
        fprintf(stderr, "logsift-gen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    w->raw_len = 0;
    w->stage_len = 0;
    w->is_member_open = false;
    return 0;
}

static int writer_close(struct gen_writer *w)
{
    if (w->compress == GEN_COMPRESS_NONE || w->is_member_open)
        writer_flush(w, true);
    if (fclose(w->fp) != 0 && !w->is_failed) {
        fprintf(stderr, "logsift-gen: %s: close failed: %s\n", w->path, strerror(errno));
        w->is_failed = true;
    }
    w->fp = NULL;
    return w->is_failed ? -1 : 0;
}

/* ---- vocabulary ------------------------------------------------------------------------------ */

static const char *const REGIONS[GEN_N_REGIONS] = {"us-east-1", "us-west-2", "eu-west-1",
                                                   "eu-central-1", "ap-southeast-2"};
static const unsigned REGION_WEIGHT[GEN_N_REGIONS] = {50, 20, 15, 8, 7};

static const char *const USER_NAMES[GEN_N_USERS] = {
        "alice", "bob", "carol", "deploy", "ci-runner", "terraform",
        "jenkins", "svc-backup", "data-eng", "grafana-reader", "dave.ops", "breakglass"};

struct role_def {
    const char *name;
    const char *session; /* NULL: an instance id */
    const char *invoked_by;
};

static const struct role_def ROLE_DEFS[GEN_N_ROLES] = {
        {"AWSReservedSSO_AdministratorAccess_3f2a1b9c8d7e6f50", "alice@example.com", NULL},
        {"AWSReservedSSO_ReadOnlyAccess_a1b2c3d4e5f60718", "bob@example.com", NULL},
        {"AWSReservedSSO_PowerUserAccess_0f1e2d3c4b5a6978", "carol@example.com", NULL},
        {"eks-node-group-role", NULL, NULL},
        {"ecs-task-execution-role", "5f3c1d2e8b7a4c6d9e0f1a2b3c4d5e6f", NULL},
        {"lambda-order-processor-role", "order-processor", NULL},
        {"lambda-thumbnailer-role", "thumbnailer", NULL},
        {"github-actions-deploy", "GitHubActions", NULL},
        {"OrganizationAccountAccessRole", "botocore-session-1705300000", NULL},
        {"AWSServiceRoleForConfig", "AWSConfig-Describe", "config.amazonaws.com"},
        {"AWSServiceRoleForAutoScaling", "AutoScaling", "autoscaling.amazonaws.com"},
        {"AWSServiceRoleForSSM", "SSM", "ssm.amazonaws.com"},
        {"datadog-integration-role", "DatadogAWSIntegration", NULL},
        {"ssm-managed-instance-role", NULL, NULL},
        {"backup-operator-role", "AWSBackup-backup-operator", "backup.amazonaws.com"},
        {"cloudformation-exec-role", "AWSCloudFormation", "cloudformation.amazonaws.com"},
};

static const char *const SERVICES[] = {
        "ec2.amazonaws.com", "lambda.amazonaws.com", "config.amazonaws.com",
        "cloudformation.amazonaws.com", "autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com", "ecs-tasks.amazonaws.com", "ssm.amazonaws.com",
        "backup.amazonaws.com", "logs.amazonaws.com", "s3.amazonaws.com"};

static const char *const USER_AGENTS[] = {
        "aws-cli/2.15.10 Python/3.11.6 Linux/5.10.205-195.807.amzn2.x86_64 exe/x86_64.amzn.2 "
        "prompt/off command/ec2.describe-instances",
        "aws-cli/2.13.25 Python/3.11.5 Darwin/23.2.0 exe/x86_64 prompt/off command/s3.ls",
        "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 "
        "md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy "
        "Botocore/1.34.11",
        "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#4.14.336-257.562.amzn2.x86_64 "
        "md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython exec-env/AWS_Lambda_python3.9 "
        "cfg/retry-mode#legacy Botocore/1.31.57",
        "aws-sdk-go/1.49.13 (go1.21.5; linux; amd64)",
        "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 "
        "api/ec2#1.141.0",
        "aws-sdk-java/2.21.46 Linux/5.15.0-1051-aws OpenJDK_64-Bit_Server_VM/17.0.9+9-LTS "
        "Java/17.0.9 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
        "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) "
        "terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
        "aws-sdk-go/1.49.13 (go1.21.5; linux; amd64)",
        "console.amazonaws.com",
        "AWS Internal",
        "amazon-ssm-agent/3.2.1798.0",
        "datadog-agent/7.50.1 (+https://www.datadoghq.com)",
        "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.599 Linux/5.10.201-168.748.amzn2int."
        "x86_64 OpenJDK_64-Bit_Server_VM/25.392-b09 java/1.8.0_392 vendor/Oracle_Corporation "
        "cfg/retry-mode/standard]",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
};

static const char *const BROWSER_UA =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.2 Safari/605.1.15";

static const char *const ATTACK_UAS[] = {
        "aws-cli/2.9.1 Python/3.9.11 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off",
        "Boto3/1.26.0 Python/3.10.12 Linux/5.15.0-91-generic Botocore/1.29.0",
        "aws-sdk-go/1.44.122 (go1.19.3; linux; amd64)",
};

/*
 * SSM Parameter Store as applications use it: each application principal reads its own few
 * parameters (GetParameter, one name a call) and loads its own one or two prefixes
 * (GetParametersByPath) again and again all day; people read the parameters of the services
 * their team runs. No principal's set reaches the harvesting correlations' thresholds
 * (patterns/packs/correlations/aws_ssm_parameter_*): that is what real readers look like.
 * Names holding credentials are SecureStrings, which callers read with decryption; the others
 * are Strings, decrypted only by callers that always ask for it (decrypt_pct of their calls;
 * terraform's aws_ssm_parameter data source asks by default).
 */
#define SSM_MAX_NAMES 16
#define SSM_MAX_PATHS 4

struct ssm_app {
    const char *names[SSM_MAX_NAMES]; /* NULL-terminated when shorter */
    const char *paths[SSM_MAX_PATHS];
    unsigned decrypt_pct;
};

enum ssm_app_id {
    SA_PLATFORM, /* AWS service roles, platform team */
    SA_ORDERS,
    SA_THUMBS,
    SA_WEB_API,
    SA_DATADOG,
    SA_EKS_NODES,
    SA_INSTANCES,
    SA_DEPLOY,
    SA_CI,
    SA_TERRAFORM,
    SA_BACKUP,
    SA_DATA,
    SA_GRAFANA,
    SA_TEAM_CHECKOUT,
    SA_TEAM_MEDIA,
    SA_N
};

static const struct ssm_app SSM_APPS[SA_N] = {
        [SA_PLATFORM] = {{"/shared/platform/vpc-id", "/shared/platform/private-subnets",
                          "/shared/platform/kms-alias", "/shared/platform/pagerduty-key"},
                         {"/shared/platform/"}, 20},
        [SA_ORDERS] = {{"/prod/order-processor/db/password", "/prod/order-processor/db/host",
                        "/prod/order-processor/stripe/api-key",
                        "/prod/order-processor/queue-url"},
                       {"/prod/order-processor/"}, 60},
        [SA_THUMBS] = {{"/prod/thumbnailer/bucket-name", "/prod/thumbnailer/max-pixels",
                        "/prod/thumbnailer/cdn-signing-key"},
                       {"/prod/thumbnailer/"}, 0},
        [SA_WEB_API] = {{"/prod/web-api/db/password", "/prod/web-api/db/username",
                         "/prod/web-api/jwt-signing-key", "/prod/web-api/redis/endpoint",
                         "/prod/web-api/sentry-dsn"},
                        {"/prod/web-api/", "/prod/web-api/feature-flags/"}, 100},
        [SA_DATADOG] = {{"/shared/datadog/api-key", "/shared/datadog/app-key",
                         "/shared/datadog/site"},
                        {"/shared/datadog/"}, 100},
        [SA_EKS_NODES] = {{"/prod/eks/cluster-endpoint", "/prod/eks/cluster-ca",
                           "/prod/eks/bootstrap-token"},
                          {"/prod/eks/"}, 0},
        [SA_INSTANCES] = {{"AmazonCloudWatch-linux", "/prod/ec2/cloudwatch-agent-config",
                           "/prod/ec2/node-exporter-token"},
                          {"/prod/ec2/"}, 0},
        [SA_DEPLOY] = {{"/prod/deploy/ecr-repository", "/prod/deploy/slack-webhook-url",
                        "/staging/deploy/ecr-repository", "/prod/web-api/image-tag",
                        "/staging/web-api/image-tag", "/shared/github/deploy-key"},
                       {"/prod/deploy/", "/staging/deploy/"}, 50},
        [SA_CI] = {{"/staging/web-api/db/password", "/staging/order-processor/db/password",
                    "/staging/web-api/api-key", "/staging/ci/npm-token",
                    "/staging/ci/sonar-token"},
                   {"/staging/web-api/", "/staging/order-processor/", "/staging/ci/"}, 40},
        [SA_TERRAFORM] = {{"/prod/order-processor/db/host", "/prod/web-api/redis/endpoint",
                           "/prod/web-api/db/password", "/prod/eks/cluster-endpoint",
                           "/prod/eks/cluster-ca", "/shared/platform/vpc-id",
                           "/shared/platform/private-subnets", "/shared/platform/kms-alias",
                           "/shared/datadog/api-key", "/prod/deploy/ecr-repository",
                           "/staging/web-api/db/password", "/prod/grafana/admin-password"},
                          {"/shared/platform/"}, 100},
        [SA_BACKUP] = {{"/shared/backup/vault-name", "/shared/backup/retention-days"},
                       {"/prod/", "/staging/", "/shared/"}, 100},
        [SA_DATA] = {{"/prod/data-lake/warehouse-password", "/prod/data-lake/glue-connection-url",
                      "/prod/airflow/fernet-key", "/prod/airflow/webserver-secret-key"},
                     {"/prod/airflow/", "/prod/data-lake/"}, 80},
        [SA_GRAFANA] = {{"/prod/grafana/admin-password", "/prod/grafana/cloudwatch-role-arn"},
                        {"/prod/grafana/"}, 0},
        [SA_TEAM_CHECKOUT] = {{"/prod/order-processor/db/password",
                               "/prod/order-processor/db/host",
                               "/prod/order-processor/queue-url", "/prod/web-api/db/password",
                               "/prod/web-api/db/username", "/prod/web-api/redis/endpoint",
                               "/staging/web-api/db/password", "/staging/web-api/api-key",
                               "/staging/order-processor/db/password"},
                              {"/prod/order-processor/", "/prod/web-api/", "/staging/web-api/"},
                              30},
        [SA_TEAM_MEDIA] = {{"/prod/thumbnailer/bucket-name", "/prod/thumbnailer/max-pixels",
                            "/prod/thumbnailer/cdn-signing-key", "/prod/web-api/sentry-dsn",
                            "/prod/web-api/feature-flags/new-checkout",
                            "/staging/web-api/image-tag"},
                           {"/prod/thumbnailer/", "/prod/web-api/feature-flags/"}, 30},
};

/* Whose parameters each user and role reads (by USER_NAMES / ROLE_DEFS index). */
static const unsigned char USER_SSM_APP[GEN_N_USERS] = {
        SA_TEAM_CHECKOUT, SA_TEAM_MEDIA, SA_PLATFORM, SA_DEPLOY, SA_CI, SA_TERRAFORM,
        SA_CI, SA_BACKUP, SA_DATA, SA_GRAFANA, SA_PLATFORM, SA_PLATFORM};
static const unsigned char ROLE_SSM_APP[GEN_N_ROLES] = {
        SA_TEAM_CHECKOUT, SA_TEAM_MEDIA, SA_PLATFORM, SA_EKS_NODES, SA_WEB_API, SA_ORDERS,
        SA_THUMBS, SA_DEPLOY, SA_PLATFORM, SA_PLATFORM, SA_PLATFORM, SA_PLATFORM,
        SA_DATADOG, SA_INSTANCES, SA_BACKUP, SA_PLATFORM};

/* Credentials are stored as SecureString; the rest as String. */
static bool ssm_is_secure(const char *name)
{
    static const char *const SECRET_WORDS[] = {"password", "key", "token", "secret", "dsn",
                                               "webhook"};

    for (size_t i = 0; i < sizeof(SECRET_WORDS) / sizeof(SECRET_WORDS[0]); i++)
        if (strstr(name, SECRET_WORDS[i]))
            return true;
    return false;
}

/* Whether the application keeps a SecureString under path (its loader then decrypts). */
static bool ssm_path_has_secure(const struct ssm_app *app, const char *path)
{
    size_t len = strlen(path);

    for (unsigned i = 0; i < SSM_MAX_NAMES && app->names[i]; i++)
        if (strncmp(app->names[i], path, len) == 0 && ssm_is_secure(app->names[i]))
            return true;
    return false;
}

static unsigned ssm_count(const char *const *list, unsigned cap)
{
    unsigned n = 0;

    while (n < cap && list[n])
        n++;
    return n;
}

/* ---- CloudTrail event catalogue -------------------------------------------------------------- */

enum ct_params {
    CP_NONE,        /* requestParameters null */
    CP_EMPTY,       /* {} */
    CP_INSTANCES,
    CP_FILTERS,
    CP_BUCKET,
    CP_HOST,
    CP_IAMLIST,
    CP_ROLE,
    CP_USER,
    CP_POLICY,
    CP_ATTACH_READONLY,
    CP_ASSUME_ROLE,
    CP_KMS,
    CP_KMSKEY,
    CP_LOGSTREAM,
    CP_LOGGROUPS,
    CP_ALARMS,
    CP_METRICDATA,
    CP_LAMBDA,
    CP_SSM_INFO,
    CP_SSM_GET,     /* GetParameter: one name of the principal's application */
    CP_SSM_PARAM,   /* GetParameters: a names list */
    CP_SSM_PATH,    /* GetParametersByPath: one prefix of the principal's application */
    CP_INSTANCEID,
    CP_TRAIL,
    CP_LOOKUP,
    CP_SECRET,
    CP_TG,
    CP_TABLE,
    CP_TAGS,
    CP_SG_PRIVATE,
    CP_RUN_INSTANCES,
    CP_CONSOLE_MFA
};

#define CT_WRITE   1u /* readOnly false */
#define CT_SVC     2u /* often called by an AWS service (userIdentity type AWSService) */
#define CT_GLOBAL  4u /* global endpoint: no region in the host header */

struct ct_event {
    const char *source;
    const char *name;
    unsigned weight;
    enum ct_params params;
    unsigned flags;
};

/*
 * Background events: mostly reads, as in real trails. None of them is an event the default
 * pack flags, and the write events among them take parameters that stay below its
 * thresholds (a private CIDR, a read-only policy, an MFA console login).
 */
static const struct ct_event CT_EVENTS[] = {
        {"ec2.amazonaws.com", "DescribeInstances", 60, CP_INSTANCES, 0},
        {"ec2.amazonaws.com", "DescribeInstanceStatus", 25, CP_INSTANCES, 0},
        {"ec2.amazonaws.com", "DescribeSecurityGroups", 18, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeVolumes", 12, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeSubnets", 10, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeVpcs", 8, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeNetworkInterfaces", 14, CP_FILTERS, CT_SVC},
        {"ec2.amazonaws.com", "DescribeSnapshots", 6, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeImages", 8, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeTags", 10, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "DescribeRegions", 5, CP_EMPTY, 0},
        {"ec2.amazonaws.com", "DescribeAddresses", 4, CP_FILTERS, 0},
        {"ec2.amazonaws.com", "CreateTags", 4, CP_TAGS, CT_WRITE},
        {"ec2.amazonaws.com", "RunInstances", 1, CP_RUN_INSTANCES, CT_WRITE},
        {"ec2.amazonaws.com", "TerminateInstances", 1, CP_INSTANCES, CT_WRITE | CT_SVC},
        {"ec2.amazonaws.com", "StartInstances", 1, CP_INSTANCES, CT_WRITE},
        {"ec2.amazonaws.com", "StopInstances", 1, CP_INSTANCES, CT_WRITE},
        {"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", 1, CP_SG_PRIVATE, CT_WRITE},
        {"s3.amazonaws.com", "ListBuckets", 8, CP_HOST, 0},
        {"s3.amazonaws.com", "GetBucketAcl", 10, CP_BUCKET, CT_SVC},
        {"s3.amazonaws.com", "GetBucketLocation", 10, CP_BUCKET, 0},
        {"s3.amazonaws.com", "GetBucketPolicy", 5, CP_BUCKET, 0},
        {"s3.amazonaws.com", "GetBucketVersioning", 5, CP_BUCKET, 0},
        {"s3.amazonaws.com", "GetBucketEncryption", 5, CP_BUCKET, 0},
        {"s3.amazonaws.com", "GetBucketPublicAccessBlock", 4, CP_BUCKET, 0},
        {"s3.amazonaws.com", "GetBucketTagging", 4, CP_BUCKET, 0},
        {"s3.amazonaws.com", "PutBucketTagging", 1, CP_BUCKET, CT_WRITE},
        {"iam.amazonaws.com", "ListRoles", 6, CP_IAMLIST, CT_GLOBAL},
        {"iam.amazonaws.com", "GetRole", 8, CP_ROLE, CT_GLOBAL},
        {"iam.amazonaws.com", "ListAttachedRolePolicies", 6, CP_ROLE, CT_GLOBAL},
        {"iam.amazonaws.com", "ListRolePolicies", 4, CP_ROLE, CT_GLOBAL},
        {"iam.amazonaws.com", "GetPolicy", 4, CP_POLICY, CT_GLOBAL},
        {"iam.amazonaws.com", "GetPolicyVersion", 4, CP_POLICY, CT_GLOBAL},
        {"iam.amazonaws.com", "ListUsers", 3, CP_IAMLIST, CT_GLOBAL},
        {"iam.amazonaws.com", "GetUser", 3, CP_USER, CT_GLOBAL},
        {"iam.amazonaws.com", "ListAccessKeys", 3, CP_USER, CT_GLOBAL},
        {"iam.amazonaws.com", "ListMFADevices", 2, CP_USER, CT_GLOBAL},
        {"iam.amazonaws.com", "GetAccountPasswordPolicy", 1, CP_NONE, CT_GLOBAL},
        {"iam.amazonaws.com", "AttachRolePolicy", 1, CP_ATTACH_READONLY, CT_WRITE | CT_GLOBAL},
        {"iam.amazonaws.com", "TagRole", 1, CP_ROLE, CT_WRITE | CT_GLOBAL},
        {"sts.amazonaws.com", "AssumeRole", 60, CP_ASSUME_ROLE, CT_SVC},
        {"sts.amazonaws.com", "GetCallerIdentity", 15, CP_NONE, 0},
        {"sts.amazonaws.com", "AssumeRoleWithWebIdentity", 8, CP_ASSUME_ROLE, 0},
        {"kms.amazonaws.com", "Decrypt", 50, CP_KMS, CT_SVC},
        {"kms.amazonaws.com", "GenerateDataKey", 20, CP_KMS, CT_SVC},
        {"kms.amazonaws.com", "Encrypt", 5, CP_KMS, CT_SVC},
        {"kms.amazonaws.com", "DescribeKey", 6, CP_KMSKEY, 0},
        {"kms.amazonaws.com", "ListAliases", 3, CP_NONE, 0},
        {"logs.amazonaws.com", "CreateLogStream", 15, CP_LOGSTREAM, CT_WRITE},
        {"logs.amazonaws.com", "DescribeLogGroups", 6, CP_LOGGROUPS, 0},
        {"logs.amazonaws.com", "DescribeLogStreams", 6, CP_LOGGROUPS, 0},
        {"logs.amazonaws.com", "CreateLogGroup", 1, CP_LOGGROUPS, CT_WRITE},
        {"monitoring.amazonaws.com", "DescribeAlarms", 8, CP_ALARMS, 0},
        {"monitoring.amazonaws.com", "GetMetricData", 15, CP_METRICDATA, 0},
        {"monitoring.amazonaws.com", "GetMetricStatistics", 8, CP_METRICDATA, 0},
        {"monitoring.amazonaws.com", "ListMetrics", 5, CP_EMPTY, 0},
        {"monitoring.amazonaws.com", "PutMetricAlarm", 1, CP_ALARMS, CT_WRITE},
        {"lambda.amazonaws.com", "ListFunctions20150331", 5, CP_NONE, 0},
        {"lambda.amazonaws.com", "GetFunction20150331v2", 4, CP_LAMBDA, 0},
        {"lambda.amazonaws.com", "GetFunctionConfiguration20150331v2", 3, CP_LAMBDA, 0},
        {"lambda.amazonaws.com", "UpdateFunctionCode20150331v2", 1, CP_LAMBDA, CT_WRITE},
        {"ssm.amazonaws.com", "UpdateInstanceInformation", 30, CP_SSM_INFO, CT_WRITE},
        {"ssm.amazonaws.com", "DescribeInstanceInformation", 10, CP_SSM_INFO, 0},
        {"ssm.amazonaws.com", "GetParameter", 10, CP_SSM_GET, 0},
        {"ssm.amazonaws.com", "GetParameters", 6, CP_SSM_PARAM, 0},
        {"ssm.amazonaws.com", "GetParametersByPath", 4, CP_SSM_PATH, 0},
        {"ssm.amazonaws.com", "ListInstanceAssociations", 8, CP_INSTANCEID, 0},
        {"cloudtrail.amazonaws.com", "DescribeTrails", 3, CP_EMPTY, CT_SVC},
        {"cloudtrail.amazonaws.com", "GetTrailStatus", 3, CP_TRAIL, 0},
        {"cloudtrail.amazonaws.com", "GetEventSelectors", 2, CP_TRAIL, 0},
        {"cloudtrail.amazonaws.com", "LookupEvents", 4, CP_LOOKUP, 0},
        {"cloudtrail.amazonaws.com", "ListTrails", 1, CP_NONE, 0},
        {"signin.amazonaws.com", "ConsoleLogin", 1, CP_CONSOLE_MFA, CT_WRITE | CT_GLOBAL},
        {"secretsmanager.amazonaws.com", "GetSecretValue", 6, CP_SECRET, 0},
        {"secretsmanager.amazonaws.com", "DescribeSecret", 3, CP_SECRET, 0},
        {"secretsmanager.amazonaws.com", "ListSecrets", 1, CP_NONE, 0},
        {"elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", 4, CP_EMPTY, 0},
        {"elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", 6, CP_TG, CT_SVC},
        {"autoscaling.amazonaws.com", "DescribeAutoScalingGroups", 5, CP_EMPTY, 0},
        {"ecr.amazonaws.com", "GetAuthorizationToken", 6, CP_NONE, 0},
        {"dynamodb.amazonaws.com", "DescribeTable", 5, CP_TABLE, 0},
        {"dynamodb.amazonaws.com", "ListTables", 2, CP_NONE, 0},
        {"rds.amazonaws.com", "DescribeDBInstances", 4, CP_NONE, 0},
        {"guardduty.amazonaws.com", "ListDetectors", 2, CP_NONE, 0},
        {"organizations.amazonaws.com", "DescribeOrganization", 2, CP_NONE, CT_GLOBAL},
        {"organizations.amazonaws.com", "ListAccounts", 1, CP_NONE, CT_GLOBAL},
};
#define CT_N_EVENTS (sizeof(CT_EVENTS) / sizeof(CT_EVENTS[0]))

/* Planted attacks: label (the eventName) and the default-pack rule expected to fire. */
enum ct_attack {
    CA_STOP_LOGGING,
    CA_DELETE_TRAIL,
    CA_UPDATE_TRAIL,
    CA_PUT_EVENT_SELECTORS,
    CA_DELETE_LOG_GROUP,
    CA_PUT_RETENTION_POLICY,
    CA_DELETE_ALARMS,
    CA_DISABLE_KEY,
    CA_SCHEDULE_KEY_DELETION,
    CA_CONSOLE_LOGIN_NO_MFA,
    CA_CREATE_ACCESS_KEY,
    CA_ATTACH_ADMIN_POLICY,
    CA_SG_OPEN_WORLD,
    CA_LEAVE_ORGANIZATION,
    CA_N
};

struct attack_def {
    const char *label;
    const char *rule;
    const char *source; /* CloudTrail only */
};

static const struct attack_def CT_ATTACKS[CA_N] = {
        {"StopLogging", "aws.cloudtrail.stop_logging", "cloudtrail.amazonaws.com"},
        {"DeleteTrail", "aws.cloudtrail.delete_trail", "cloudtrail.amazonaws.com"},
        {"UpdateTrail", "aws.cloudtrail.update_trail", "cloudtrail.amazonaws.com"},
        {"PutEventSelectors", "aws.cloudtrail.put_event_selectors", "cloudtrail.amazonaws.com"},
        {"DeleteLogGroup", "aws.logs.delete_log_group", "logs.amazonaws.com"},
        {"PutRetentionPolicy", "aws.logs.put_retention_policy", "logs.amazonaws.com"},
        {"DeleteAlarms", "aws.cloudwatch.delete_alarms", "monitoring.amazonaws.com"},
        {"DisableKey", "aws.kms.disable_key", "kms.amazonaws.com"},
        {"ScheduleKeyDeletion", "aws.kms.schedule_key_deletion", "kms.amazonaws.com"},
        {"ConsoleLogin", "aws.signin.console_login_without_mfa", "signin.amazonaws.com"},
        {"CreateAccessKey", "aws.iam.create_access_key", "iam.amazonaws.com"},
        {"AttachUserPolicy", "aws.iam.attach_admin_policy", "iam.amazonaws.com"},
        {"AuthorizeSecurityGroupIngress", "aws.ec2.security_group_open_to_world",
         "ec2.amazonaws.com"},
        {"LeaveOrganization", "aws.organizations.leave_organization",
         "organizations.amazonaws.com"},
};

enum auth_attack {
    AA_FAILED_PASSWORD,
    AA_INVALID_USER,
    AA_PAM_AUTH_FAILURE,
    AA_MAX_AUTH_ATTEMPTS,
    AA_ROOT_LOGIN,
    AA_NOT_IN_SUDOERS,
    AA_SUDO_INCORRECT_PASSWORD,
    AA_SU_FAILURE,
    AA_N
};

static const struct attack_def AUTH_ATTACKS[AA_N] = {
        {"ssh_failed_password", "linux.sshd.failed_password", NULL},
        {"ssh_invalid_user", "linux.sshd.invalid_user", NULL},
        {"pam_auth_failure", "linux.pam.auth_failure", NULL},
        {"ssh_max_auth_attempts", "linux.sshd.max_auth_attempts", NULL},
        {"ssh_root_login", "linux.sshd.root_login", NULL},
        {"sudo_not_in_sudoers", "linux.sudo.not_in_sudoers", NULL},
        {"sudo_incorrect_password", "linux.sudo.incorrect_password", NULL},
        {"su_failure", "linux.su.auth_failure", NULL},
};

/* ---- generator state ------------------------------------------------------------------------- */

enum gen_kind {
    GEN_KIND_CLOUDTRAIL,
    GEN_KIND_AUTH,
    GEN_KIND_CWL_EXPORT,
    GEN_KIND_FIREHOSE
};

enum gen_source {
    GEN_SOURCE_CLOUDTRAIL,
    GEN_SOURCE_AUTH
};

struct gen_opts {
    enum gen_kind kind;
    enum gen_source source;
    enum gen_compress compress;
    int gzip_level;
    uint64_t size;
    const char *out;
    double attack_rate;
    uint64_t seed;
    bool is_quiet;
};

struct principal {
    char *identity;       /* rendered userIdentity object */
    char *console;        /* IAM users: the same without accessKeyId (console sessions) */
    char *name;
    const char *invoked_by;
    unsigned acct;
    unsigned ssm_app; /* index into SSM_APPS: whose parameters this principal reads */
};

/* One auth line waiting in an attack episode's queue. */
struct queued_line {
    size_t off, len;
    int attack;
};

/* What the current event is, for the ground truth. */
struct gen_event {
    int attack;          /* index into CT_ATTACKS / AUTH_ATTACKS, or -1 */
    char event_id[40];   /* CloudTrail eventID */
    uint64_t burst;      /* auth: the episode the line belongs to */
};

struct gen {
    struct gen_opts o;
    struct gen_rng rng;
    struct gen_writer w;
    FILE *truth;
    struct gbuf ev;       /* the current event's text */
    struct gbuf esc;      /* the current event, JSON-escaped (Firehose) */
    struct gbuf tmp;      /* paths, truth lines */
    char rel[GEN_PATH_MAX];
    char path[GEN_PATH_MAX];
    int64_t clock_ms;
    uint32_t ct_cum[CT_N_EVENTS];
    uint32_t ct_total;
    char accounts[GEN_N_ACCOUNTS][13];
    struct principal users[GEN_N_ACCOUNTS][GEN_N_USERS];
    struct principal roles[GEN_N_ACCOUNTS][GEN_N_ROLES];
    struct principal services[sizeof(SERVICES) / sizeof(SERVICES[0])];
    struct principal roots[GEN_N_ACCOUNTS];
    char ips[GEN_N_IPS][16];
    char bad_ips[GEN_N_BAD_IPS][16];
    char kms_keys[GEN_N_ACCOUNTS][4][37];
    char instance_ids[64][20];
    char task_id[37];
    unsigned cur_acct, cur_region;
    unsigned cur_host;
    /* auth episode queue */
    struct gbuf queue;
    struct queued_line qlines[256];
    size_t q_n, q_next;
    uint64_t n_bursts;
    /* totals */
    uint64_t n_files, n_bytes, n_events, n_attacks, n_messages, n_control;
    uint64_t attack_counts[(int)CA_N > (int)AA_N ? (int)CA_N : (int)AA_N];
};

static int gbuf_alloc(struct gbuf *b, size_t cap)
{
    b->p = malloc(cap);
    b->len = 0;
    b->cap = cap;
    b->is_over = false;
    return b->p ? 0 : -1;
}

static char *gb_take_str(struct gbuf *b)
{
    char *s = malloc(b->len + 1);

    if (s) {
        memcpy(s, b->p, b->len);
        s[b->len] = '\0';
    }
    b->len = 0;
    return s;
}

/* ---- identities, rendered once --------------------------------------------------------------- */

static void render_ip(struct gen_rng *r, char out[16], bool is_bad)
{
    static const unsigned bad_nets[][2] = {{185, 220}, {45, 155}, {193, 142}, {91, 240}};
    unsigned a, b2;

    if (is_bad) {
        unsigned k = rng_below(r, 4);
        a = bad_nets[k][0];
        b2 = bad_nets[k][1];
    } else {
        /* public-looking, avoiding 10/8, 127/8, 172.16/12, 192.168/16 and multicast */
        do {
            a = 3 + rng_below(r, 220);
        } while (a == 10 || a == 127 || a == 172 || a == 192 || a == 185 || a == 45 ||
                 a == 193 || a == 91);
        b2 = rng_below(r, 256);
    }
    snprintf(out, 16, "%u.%u.%u.%u", a, b2, rng_below(r, 256), 1 + rng_below(r, 254));
}

static int build_pools(struct gen *g)
{
    struct gen_rng *r = &g->rng;
    struct gbuf *b = &g->tmp;

    for (unsigned a = 0; a < GEN_N_ACCOUNTS; a++) {
        snprintf(g->accounts[a], sizeof(g->accounts[a]), "%012" PRIu64,
                 100000000000 + rng_next(r) % 899999999999);
        for (int k = 0; k < 4; k++) {
            b->len = 0;
            gb_uuid(b, r);
            memcpy(g->kms_keys[a][k], b->p, 36);
            g->kms_keys[a][k][36] = '\0';
        }
    }
    for (unsigned a = 0; a < GEN_N_ACCOUNTS; a++) {
        const char *acct = g->accounts[a];
        for (unsigned i = 0; i < GEN_N_USERS; i++) {
            struct principal *p = &g->users[a][i];
            char pid[21], key[21];
            b->len = 0;
            GB_LIT(b, "AIDA");
            gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
            memcpy(pid, b->p, 20);
            pid[20] = '\0';
            b->len = 0;
            GB_LIT(b, "AKIA");
            gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
            memcpy(key, b->p, 20);
            key[20] = '\0';
            for (int console = 0; console < 2; console++) {
                b->len = 0;
                GB_LIT(b, "{\"type\":\"IAMUser\",\"principalId\":\"");
                gb_str(b, pid);
                GB_LIT(b, "\",\"arn\":\"arn:aws:iam::");
                gb_str(b, acct);
                GB_LIT(b, ":user/");
                gb_str(b, USER_NAMES[i]);
                GB_LIT(b, "\",\"accountId\":\"");
                gb_str(b, acct);
                if (!console) {
                    GB_LIT(b, "\",\"accessKeyId\":\"");
                    gb_str(b, key);
                }
                GB_LIT(b, "\",\"userName\":\"");
                gb_str(b, USER_NAMES[i]);
                GB_LIT(b, "\"}");
                if (console)
                    p->console = gb_take_str(b);
                else
                    p->identity = gb_take_str(b);
            }
            p->name = strdup(USER_NAMES[i]);
            p->acct = a;
            p->ssm_app = USER_SSM_APP[i];
            if (!p->identity || !p->console || !p->name)
                return -1;
        }
        for (unsigned i = 0; i < GEN_N_ROLES; i++) {
            const struct role_def *d = &ROLE_DEFS[i];
            struct principal *p = &g->roles[a][i];
            char rid[21], session[64];
            b->len = 0;
            GB_LIT(b, "AROA");
            gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
            memcpy(rid, b->p, 20);
            rid[20] = '\0';
            if (d->session) {
                snprintf(session, sizeof(session), "%s", d->session);
            } else {
                b->len = 0;
                GB_LIT(b, "i-0");
                gb_hex(b, r, 16);
                memcpy(session, b->p, b->len);
                session[b->len] = '\0';
            }
            b->len = 0;
            GB_LIT(b, "{\"type\":\"AssumedRole\",\"principalId\":\"");
            gb_str(b, rid);
            gb_ch(b, ':');
            gb_str(b, session);
            GB_LIT(b, "\",\"arn\":\"arn:aws:sts::");
            gb_str(b, acct);
            GB_LIT(b, ":assumed-role/");
            gb_str(b, d->name);
            gb_ch(b, '/');
            gb_str(b, session);
            GB_LIT(b, "\",\"accountId\":\"");
            gb_str(b, acct);
            GB_LIT(b, "\",\"accessKeyId\":\"ASIA");
            gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
            GB_LIT(b, "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\","
                      "\"principalId\":\"");
            gb_str(b, rid);
            GB_LIT(b, "\",\"arn\":\"arn:aws:iam::");
            gb_str(b, acct);
            GB_LIT(b, ":role/");
            gb_str(b, d->name);
            GB_LIT(b, "\",\"accountId\":\"");
            gb_str(b, acct);
            GB_LIT(b, "\",\"userName\":\"");
            gb_str(b, d->name);
            GB_LIT(b, "\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\"2024-01-"
                      "14T");
            gb_pad(b, rng_below(r, 24), 2);
            gb_ch(b, ':');
            gb_pad(b, rng_below(r, 60), 2);
            GB_LIT(b, ":00Z\",\"mfaAuthenticated\":\"false\"}");
            if (!d->session)
                GB_LIT(b, ",\"ec2RoleDelivery\":\"2.0\"");
            gb_ch(b, '}');
            if (d->invoked_by) {
                GB_LIT(b, ",\"invokedBy\":\"");
                gb_str(b, d->invoked_by);
                gb_ch(b, '"');
            }
            gb_ch(b, '}');
            p->identity = gb_take_str(b);
            p->name = strdup(d->name);
            p->invoked_by = d->invoked_by;
            p->acct = a;
            p->ssm_app = ROLE_SSM_APP[i];
            if (!p->identity || !p->name)
                return -1;
        }
        b->len = 0;
        GB_LIT(b, "{\"type\":\"Root\",\"principalId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"arn\":\"arn:aws:iam::");
        gb_str(b, acct);
        GB_LIT(b, ":root\",\"accountId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"accessKeyId\":\"ASIA");
        gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
        GB_LIT(b, "\"}");
        g->roots[a].identity = gb_take_str(b);
        g->roots[a].acct = a;
        g->roots[a].ssm_app = SA_PLATFORM;
        if (!g->roots[a].identity)
            return -1;
    }
    for (size_t i = 0; i < sizeof(SERVICES) / sizeof(SERVICES[0]); i++) {
        b->len = 0;
        GB_LIT(b, "{\"type\":\"AWSService\",\"invokedBy\":\"");
        gb_str(b, SERVICES[i]);
        GB_LIT(b, "\"}");
        g->services[i].identity = gb_take_str(b);
        g->services[i].invoked_by = SERVICES[i];
        if (!g->services[i].identity)
            return -1;
    }
    for (unsigned i = 0; i < GEN_N_IPS; i++)
        render_ip(r, g->ips[i], false);
    for (unsigned i = 0; i < GEN_N_BAD_IPS; i++)
        render_ip(r, g->bad_ips[i], true);
    for (unsigned i = 0; i < 64; i++) {
        b->len = 0;
        GB_LIT(b, "i-0");
        gb_hex(b, r, 16);
        memcpy(g->instance_ids[i], b->p, b->len);
        g->instance_ids[i][b->len] = '\0';
    }
    b->len = 0;
    gb_uuid(b, r);
    memcpy(g->task_id, b->p, 36);
    g->task_id[36] = '\0';
    uint32_t cum = 0;
    for (size_t i = 0; i < CT_N_EVENTS; i++) {
        cum += CT_EVENTS[i].weight;
        g->ct_cum[i] = cum;
    }
    g->ct_total = cum;
    return 0;
}

static void free_pools(struct gen *g)
{
    for (unsigned a = 0; a < GEN_N_ACCOUNTS; a++) {
        for (unsigned i = 0; i < GEN_N_USERS; i++) {
            free(g->users[a][i].identity);
            free(g->users[a][i].console);
            free(g->users[a][i].name);
        }
        for (unsigned i = 0; i < GEN_N_ROLES; i++) {
            free(g->roles[a][i].identity);
            free(g->roles[a][i].name);
        }
        free(g->roots[a].identity);
    }
    for (size_t i = 0; i < sizeof(SERVICES) / sizeof(SERVICES[0]); i++)
        free(g->services[i].identity);
}

/* ---- CloudTrail records ---------------------------------------------------------------------- */

static unsigned pick_region(struct gen_rng *r)
{
    unsigned x = rng_below(r, 100), acc = 0;

    for (unsigned i = 0; i < GEN_N_REGIONS; i++) {
        acc += REGION_WEIGHT[i];
        if (x < acc)
            return i;
    }
    return 0;
}

static const struct ct_event *pick_event(struct gen *g)
{
    uint32_t x = rng_below(&g->rng, g->ct_total);
    size_t lo = 0, hi = CT_N_EVENTS - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x < g->ct_cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return &CT_EVENTS[lo];
}

/* A list of small JSON objects, item(i) per element, stopping early past the soft limit. */
static unsigned list_len(struct gen_rng *r)
{
    uint32_t x = rng_below(r, 100);

    if (x < 55)
        return 1;
    if (x < 80)
        return 2 + rng_below(r, 3);
    if (x < 95)
        return 5 + rng_below(r, 10);
    return 15 + rng_below(r, 25);
}

static bool rec_full(const struct gbuf *b, size_t start)
{
    return b->len - start > GEN_REC_SOFT;
}

static void ct_kms_key_arn(struct gen *g, struct gbuf *b)
{
    GB_LIT(b, "arn:aws:kms:");
    gb_str(b, REGIONS[g->cur_region]);
    gb_ch(b, ':');
    gb_str(b, g->accounts[g->cur_acct]);
    GB_LIT(b, ":key/");
    gb_str(b, g->kms_keys[g->cur_acct][rng_below(&g->rng, 4)]);
}

static const char *const BUCKETS[] = {"prod-app-assets", "org-cloudtrail-logs", "terraform-state",
                                      "data-lake-raw", "athena-query-results", "backups-daily",
                                      "static-website", "ml-training-data"};
static const char *const LOG_GROUPS[] = {"/aws/lambda/order-processor", "/aws/lambda/thumbnailer",
                                         "/ecs/web-api", "/aws/eks/prod/cluster",
                                         "/var/log/messages", "/aws/rds/instance/prod/postgresql"};
static const char *const FILTER_NAMES[] = {"vpc-id", "instance-state-name", "tag:Name",
                                           "tag:Environment", "group-name", "availability-zone",
                                           "owner-id", "attachment.instance-id"};
static const char *const PARAM_NAMES[] = {"/prod/db/host", "/prod/db/port", "/prod/api/base-url",
                                          "/shared/datadog/site", "/staging/feature-flags",
                                          "/prod/cache/endpoint"};
static const char *const METRICS[] = {"CPUUtilization", "NetworkIn", "Invocations", "Errors",
                                      "Duration", "RequestCount", "FreeStorageSpace",
                                      "TargetResponseTime"};
static const char *const NAMESPACES[] = {"AWS/EC2", "AWS/Lambda", "AWS/ApplicationELB", "AWS/RDS"};

/* requestParameters, responseElements and what goes with them, for background event e. */
static void ct_params(struct gen *g, struct gbuf *b, const struct ct_event *e, size_t start,
        bool is_error, const struct gen_tm *tm, const struct principal *who)
{
    struct gen_rng *r = &g->rng;
    const char *acct = g->accounts[g->cur_acct];
    const char *region = REGIONS[g->cur_region];
    unsigned n;

    GB_LIT(b, "\"requestParameters\":");
    switch (e->params) {
    case CP_NONE:
        GB_LIT(b, "null");
        break;
    case CP_EMPTY:
        GB_LIT(b, "{}");
        break;
    case CP_INSTANCES:
        GB_LIT(b, "{\"instancesSet\":{\"items\":[");
        n = list_len(r);
        for (unsigned i = 0; i < n && !rec_full(b, start); i++) {
            if (i)
                gb_ch(b, ',');
            GB_LIT(b, "{\"instanceId\":\"");
            gb_str(b, g->instance_ids[rng_below(r, 64)]);
            GB_LIT(b, "\"}");
        }
        GB_LIT(b, "]},\"filterSet\":{},\"includeAllInstances\":false}");
        break;
    case CP_FILTERS:
        GB_LIT(b, "{\"filterSet\":{\"items\":[");
        n = list_len(r);
        for (unsigned i = 0; i < n && !rec_full(b, start); i++) {
            if (i)
                gb_ch(b, ',');
            GB_LIT(b, "{\"name\":\"");
            gb_str(b, PICK(r, FILTER_NAMES));
            GB_LIT(b, "\",\"valueSet\":{\"items\":[{\"value\":\"");
            gb_rand_chars(b, r, LOWER_ALNUM, 5, 8 + rng_below(r, 12));
            GB_LIT(b, "\"}]}}");
        }
        GB_LIT(b, "]},\"maxResults\":1000}");
        break;
    case CP_BUCKET:
        GB_LIT(b, "{\"bucketName\":\"");
        gb_str(b, PICK(r, BUCKETS));
        gb_ch(b, '-');
        gb_str(b, acct);
        GB_LIT(b, "\",\"Host\":\"s3.");
        gb_str(b, region);
        GB_LIT(b, ".amazonaws.com\",\"acl\":\"\"}");
        break;
    case CP_HOST:
        GB_LIT(b, "{\"Host\":\"s3.");
        gb_str(b, region);
        GB_LIT(b, ".amazonaws.com\"}");
        break;
    case CP_IAMLIST:
        GB_LIT(b, "{\"maxItems\":1000,\"pathPrefix\":\"/\"}");
        break;
    case CP_ROLE:
        GB_LIT(b, "{\"roleName\":\"");
        gb_str(b, ROLE_DEFS[rng_below(r, GEN_N_ROLES)].name);
        GB_LIT(b, "\"}");
        break;
    case CP_USER:
        GB_LIT(b, "{\"userName\":\"");
        gb_str(b, USER_NAMES[rng_below(r, GEN_N_USERS)]);
        GB_LIT(b, "\"}");
        break;
    case CP_POLICY:
        GB_LIT(b, "{\"policyArn\":\"arn:aws:iam::");
        gb_str(b, acct);
        GB_LIT(b, ":policy/app-");
        gb_rand_chars(b, r, LOWER_ALNUM, 5, 10);
        GB_LIT(b, "\",\"versionId\":\"v");
        gb_u64(b, 1 + rng_below(r, 9));
        GB_LIT(b, "\"}");
        break;
    case CP_ATTACH_READONLY:
        GB_LIT(b, "{\"roleName\":\"");
        gb_str(b, ROLE_DEFS[rng_below(r, GEN_N_ROLES)].name);
        GB_LIT(b, "\",\"policyArn\":\"arn:aws:iam::aws:policy/");
        gb_str(b, rng_below(r, 2) ? "ReadOnlyAccess" : "CloudWatchAgentServerPolicy");
        GB_LIT(b, "\"}");
        break;
    case CP_ASSUME_ROLE: {
        const struct role_def *d = &ROLE_DEFS[rng_below(r, GEN_N_ROLES)];
        GB_LIT(b, "{\"roleArn\":\"arn:aws:iam::");
        gb_str(b, acct);
        GB_LIT(b, ":role/");
        gb_str(b, d->name);
        GB_LIT(b, "\",\"roleSessionName\":\"");
        gb_str(b, d->session ? d->session : g->instance_ids[rng_below(r, 64)]);
        GB_LIT(b, "\",\"durationSeconds\":3600}");
        if (is_error)
            break;
        GB_LIT(b, ",\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIA");
        gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
        GB_LIT(b, "\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
        gb_rand_chars(b, r, B64, 6, 300 + rng_below(r, 500));
        GB_LIT(b, "\",\"expiration\":\"");
        gb_aws_date(b, tm);
        GB_LIT(b, "\"},\"assumedRoleUser\":{\"assumedRoleId\":\"AROA");
        gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
        GB_LIT(b, ":session\",\"arn\":\"arn:aws:sts::");
        gb_str(b, acct);
        GB_LIT(b, ":assumed-role/");
        gb_str(b, d->name);
        GB_LIT(b, "/session\"}}");
        return;
    }
    case CP_KMS:
        GB_LIT(b, "{\"encryptionContext\":{\"aws:lambda:FunctionArn\":\"arn:aws:lambda:");
        gb_str(b, region);
        gb_ch(b, ':');
        gb_str(b, acct);
        GB_LIT(b, ":function:");
        gb_str(b, rng_below(r, 2) ? "order-processor" : "thumbnailer");
        GB_LIT(b, "\"},\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"keyId\":\"");
        ct_kms_key_arn(g, b);
        GB_LIT(b, "\"},\"responseElements\":null,\"resources\":[{\"accountId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"");
        ct_kms_key_arn(g, b);
        GB_LIT(b, "\"}]");
        return;
    case CP_KMSKEY:
        GB_LIT(b, "{\"keyId\":\"alias/");
        gb_str(b, rng_below(r, 2) ? "aws/ebs" : "app-data");
        GB_LIT(b, "\"}");
        break;
    case CP_LOGSTREAM:
        GB_LIT(b, "{\"logGroupName\":\"");
        gb_str(b, PICK(r, LOG_GROUPS));
        GB_LIT(b, "\",\"logStreamName\":\"2024/01/15/[$LATEST]");
        gb_hex(b, r, 32);
        GB_LIT(b, "\"}");
        break;
    case CP_LOGGROUPS:
        GB_LIT(b, "{\"logGroupNamePrefix\":\"");
        gb_str(b, PICK(r, LOG_GROUPS));
        GB_LIT(b, "\",\"limit\":50}");
        break;
    case CP_ALARMS:
        GB_LIT(b, "{\"alarmNames\":[");
        n = list_len(r);
        for (unsigned i = 0; i < n && !rec_full(b, start); i++) {
            if (i)
                gb_ch(b, ',');
            GB_LIT(b, "\"");
            gb_str(b, PICK(r, METRICS));
            GB_LIT(b, "-high-");
            gb_rand_chars(b, r, LOWER_ALNUM, 5, 6);
            GB_LIT(b, "\"");
        }
        GB_LIT(b, "],\"maxRecords\":100}");
        break;
    case CP_METRICDATA:
        GB_LIT(b, "{\"metricDataQueries\":[");
        n = list_len(r);
        for (unsigned i = 0; i < n && !rec_full(b, start); i++) {
            if (i)
                gb_ch(b, ',');
            GB_LIT(b, "{\"id\":\"m");
            gb_u64(b, i);
            GB_LIT(b, "\",\"metricStat\":{\"metric\":{\"namespace\":\"");
            gb_str(b, PICK(r, NAMESPACES));
            GB_LIT(b, "\",\"metricName\":\"");
            gb_str(b, PICK(r, METRICS));
            GB_LIT(b, "\",\"dimensions\":[{\"name\":\"InstanceId\",\"value\":\"");
            gb_str(b, g->instance_ids[rng_below(r, 64)]);
            GB_LIT(b, "\"}]},\"period\":300,\"stat\":\"Average\"},\"returnData\":true}");
        }
        GB_LIT(b, "],\"startTime\":\"Jan 15, 2024, 10:00:00 AM\",\"endTime\":\"");
        gb_aws_date(b, tm);
        GB_LIT(b, "\"}");
        break;
    case CP_LAMBDA:
        GB_LIT(b, "{\"functionName\":\"arn:aws:lambda:");
        gb_str(b, region);
        gb_ch(b, ':');
        gb_str(b, acct);
        GB_LIT(b, ":function:");
        gb_str(b, rng_below(r, 2) ? "order-processor" : "thumbnailer");
        GB_LIT(b, "\"}");
        break;
    case CP_SSM_INFO:
        GB_LIT(b, "{\"instanceId\":\"");
        gb_str(b, g->instance_ids[rng_below(r, 64)]);
        GB_LIT(b, "\",\"agentVersion\":\"3.2.1798.0\",\"agentStatus\":\"Active\",\"platformType\":"
                  "\"Linux\",\"platformName\":\"Amazon Linux\",\"platformVersion\":\"2023\","
                  "\"iPAddress\":\"10.");
        gb_u64(b, rng_below(r, 256));
        gb_ch(b, '.');
        gb_u64(b, rng_below(r, 256));
        gb_ch(b, '.');
        gb_u64(b, 1 + rng_below(r, 254));
        GB_LIT(b, "\",\"computerName\":\"ip-10-0-");
        gb_u64(b, rng_below(r, 256));
        GB_LIT(b, ".ec2.internal\",\"agentName\":\"amazon-ssm-agent\",\"availabilityZone\":\"");
        gb_str(b, region);
        GB_LIT(b, "a\"}");
        break;
    case CP_SSM_GET: {
        /* Real records: {"name","withDecryption"} and the parameter in resources. */
        const struct ssm_app *app = &SSM_APPS[who->ssm_app];
        const char *pname = app->names[rng_below(r, ssm_count(app->names, SSM_MAX_NAMES))];
        unsigned decrypt_draw = rng_below(r, 100);
        bool is_decrypt = ssm_is_secure(pname) || decrypt_draw < app->decrypt_pct;
        GB_LIT(b, "{\"name\":\"");
        gb_str(b, pname);
        GB_LIT(b, "\",\"withDecryption\":");
        gb_str(b, is_decrypt ? "true}" : "false}");
        if (is_error)
            break;
        GB_LIT(b, ",\"responseElements\":null,\"resources\":[{\"accountId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"ARN\":\"arn:aws:ssm:");
        gb_str(b, region);
        gb_ch(b, ':');
        gb_str(b, acct);
        GB_LIT(b, ":parameter");
        if (pname[0] != '/')
            gb_ch(b, '/');
        gb_str(b, pname);
        GB_LIT(b, "\"}]");
        return;
    }
    case CP_SSM_PATH: {
        /* An application loads its prefix page after page: later pages carry nextToken. */
        const struct ssm_app *app = &SSM_APPS[who->ssm_app];
        const char *path = app->paths[rng_below(r, ssm_count(app->paths, SSM_MAX_PATHS))];
        bool is_recursive = rng_below(r, 4) != 0;
        unsigned decrypt_draw = rng_below(r, 100);
        bool is_decrypt = ssm_path_has_secure(app, path) || decrypt_draw < app->decrypt_pct;
        bool is_later_page = rng_below(r, 10) < 3;
        GB_LIT(b, "{\"path\":\"");
        gb_str(b, path);
        GB_LIT(b, "\",\"recursive\":");
        gb_str(b, is_recursive ? "true" : "false");
        GB_LIT(b, ",\"withDecryption\":");
        gb_str(b, is_decrypt ? "true" : "false");
        if (is_later_page) {
            GB_LIT(b, ",\"nextToken\":\"AAEAA");
            gb_rand_chars(b, r, B64, 6, 120);
            gb_ch(b, '"');
        }
        gb_ch(b, '}');
        break;
    }
    case CP_SSM_PARAM:
        GB_LIT(b, "{\"names\":[");
        n = 1 + rng_below(r, 4);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                gb_ch(b, ',');
            gb_ch(b, '"');
            gb_str(b, PICK(r, PARAM_NAMES));
            gb_ch(b, '"');
        }
        GB_LIT(b, "],\"withDecryption\":true}");
        break;
    case CP_INSTANCEID:
        GB_LIT(b, "{\"instanceId\":\"");
        gb_str(b, g->instance_ids[rng_below(r, 64)]);
        GB_LIT(b, "\"}");
        break;
    case CP_TRAIL:
        GB_LIT(b, "{\"name\":\"arn:aws:cloudtrail:us-east-1:");
        gb_str(b, acct);
        GB_LIT(b, ":trail/org-trail\"}");
        break;
    case CP_LOOKUP:
        GB_LIT(b, "{\"lookupAttributes\":[{\"attributeKey\":\"EventSource\",\"attributeValue\":"
                  "\"ec2.amazonaws.com\"}],\"maxResults\":50}");
        break;
    case CP_SECRET:
        GB_LIT(b, "{\"secretId\":\"arn:aws:secretsmanager:");
        gb_str(b, region);
        gb_ch(b, ':');
        gb_str(b, acct);
        GB_LIT(b, ":secret:prod/app/");
        gb_str(b, rng_below(r, 2) ? "db-credentials-" : "api-key-");
        gb_rand_chars(b, r, B64, 6, 6);
        GB_LIT(b, "\"}");
        break;
    case CP_TG:
        GB_LIT(b, "{\"targetGroupArn\":\"arn:aws:elasticloadbalancing:");
        gb_str(b, region);
        gb_ch(b, ':');
        gb_str(b, acct);
        GB_LIT(b, ":targetgroup/web-");
        gb_rand_chars(b, r, LOWER_ALNUM, 5, 6);
        gb_ch(b, '/');
        gb_hex(b, r, 16);
        GB_LIT(b, "\"}");
        break;
    case CP_TABLE:
        GB_LIT(b, "{\"tableName\":\"");
        gb_str(b, rng_below(r, 2) ? "orders" : "sessions");
        GB_LIT(b, "\"}");
        break;
    case CP_TAGS:
        GB_LIT(b, "{\"resourcesSet\":{\"items\":[{\"resourceId\":\"");
        gb_str(b, g->instance_ids[rng_below(r, 64)]);
        GB_LIT(b, "\"}]},\"tagSet\":{\"items\":[");
        n = list_len(r);
        for (unsigned i = 0; i < n && !rec_full(b, start); i++) {
            if (i)
                gb_ch(b, ',');
            GB_LIT(b, "{\"key\":\"team-");
            gb_u64(b, i);
            GB_LIT(b, "\",\"value\":\"");
            gb_rand_chars(b, r, LOWER_ALNUM, 5, 4 + rng_below(r, 16));
            GB_LIT(b, "\"}");
        }
        GB_LIT(b, "]}}");
        break;
    case CP_SG_PRIVATE:
        GB_LIT(b, "{\"groupId\":\"sg-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":443,"
                  "\"toPort\":443,\"groups\":{},\"ipRanges\":{\"items\":[{\"cidrIp\":\"10.");
        gb_u64(b, rng_below(r, 256));
        GB_LIT(b, ".0.0/16\"}]},\"ipv6Ranges\":{},\"prefixListIds\":{}}]}}");
        break;
    case CP_RUN_INSTANCES:
        GB_LIT(b, "{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"minCount\":1,\"maxCount\":1}]},\"instanceType\":\"m6i.large\","
                  "\"blockDeviceMapping\":{},\"monitoring\":{\"enabled\":false},"
                  "\"disableApiTermination\":false,\"disableApiStop\":false,"
                  "\"clientToken\":\"terraform-");
        gb_hex(b, r, 26);
        GB_LIT(b, "\",\"networkInterfaceSet\":{\"items\":[{\"deviceIndex\":0,\"subnetId\":"
                  "\"subnet-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"associatePublicIpAddress\":false}]},\"iamInstanceProfile\":{\"name\":"
                  "\"ssm-managed-instance-role\"}}");
        if (is_error)
            break;
        GB_LIT(b, ",\"responseElements\":{\"requestId\":\"");
        gb_uuid(b, r);
        GB_LIT(b, "\",\"reservationId\":\"r-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"ownerId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"groupSet\":{},\"instancesSet\":{\"items\":[{\"instanceId\":\"");
        gb_str(b, g->instance_ids[rng_below(r, 64)]);
        GB_LIT(b, "\",\"imageId\":\"ami-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"instanceState\":{\"code\":0,\"name\":\"pending\"},\"privateDnsName\":"
                  "\"ip-10-0-");
        gb_u64(b, rng_below(r, 256));
        gb_ch(b, '-');
        gb_u64(b, rng_below(r, 256));
        GB_LIT(b, ".ec2.internal\",\"amiLaunchIndex\":0,\"productCodes\":{},\"instanceType\":"
                  "\"m6i.large\",\"launchTime\":1705316462000,\"placement\":{\"availabilityZone\":"
                  "\"");
        gb_str(b, region);
        GB_LIT(b, "a\",\"tenancy\":\"default\"},\"monitoring\":{\"state\":\"disabled\"},"
                  "\"subnetId\":\"subnet-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"vpcId\":\"vpc-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"privateIpAddress\":\"10.0.");
        gb_u64(b, rng_below(r, 256));
        gb_ch(b, '.');
        gb_u64(b, 1 + rng_below(r, 254));
        GB_LIT(b, "\",\"stateReason\":{\"code\":\"pending\",\"message\":\"pending\"},"
                  "\"architecture\":\"x86_64\",\"rootDeviceType\":\"ebs\",\"rootDeviceName\":"
                  "\"/dev/xvda\",\"blockDeviceMapping\":{},\"virtualizationType\":\"hvm\","
                  "\"hypervisor\":\"xen\",\"ebsOptimized\":true,\"enaSupport\":true,"
                  "\"metadataOptions\":{\"state\":\"pending\",\"httpTokens\":\"required\","
                  "\"httpPutResponseHopLimit\":2,\"httpEndpoint\":\"enabled\"}}]}}");
        return;
    case CP_CONSOLE_MFA:
        GB_LIT(b, "null,\"responseElements\":{\"ConsoleLogin\":\"Success\"},"
                  "\"additionalEventData\":{\"LoginTo\":\"https://console.aws.amazon.com/"
                  "console/home?state=hashArgs%23&isauthcode=true\",\"MobileVersion\":\"No\","
                  "\"MFAIdentifier\":\"arn:aws:iam::");
        gb_str(b, acct);
        GB_LIT(b, ":mfa/authenticator\",\"MFAUsed\":\"Yes\"}");
        return;
    }
    GB_LIT(b, ",\"responseElements\":null");
}

/* Attack requestParameters/responseElements. */
static void ct_attack_params(struct gen *g, struct gbuf *b, enum ct_attack a,
        const struct gen_tm *tm, const char *user)
{
    struct gen_rng *r = &g->rng;
    const char *acct = g->accounts[g->cur_acct];

    GB_LIT(b, "\"requestParameters\":");
    switch (a) {
    case CA_STOP_LOGGING:
    case CA_DELETE_TRAIL:
        GB_LIT(b, "{\"name\":\"arn:aws:cloudtrail:us-east-1:");
        gb_str(b, acct);
        GB_LIT(b, ":trail/org-trail\"},\"responseElements\":null");
        break;
    case CA_UPDATE_TRAIL:
        GB_LIT(b, "{\"name\":\"org-trail\",\"s3BucketName\":\"exfil-");
        gb_rand_chars(b, r, LOWER_ALNUM, 5, 10);
        GB_LIT(b, "\",\"includeGlobalServiceEvents\":false,\"isMultiRegionTrail\":false,"
                  "\"enableLogFileValidation\":false},\"responseElements\":{\"name\":"
                  "\"org-trail\",\"includeGlobalServiceEvents\":false,\"isMultiRegionTrail\":"
                  "false,\"trailARN\":\"arn:aws:cloudtrail:us-east-1:");
        gb_str(b, acct);
        GB_LIT(b, ":trail/org-trail\",\"logFileValidationEnabled\":false,"
                  "\"isOrganizationTrail\":false}");
        break;
    case CA_PUT_EVENT_SELECTORS:
        GB_LIT(b, "{\"trailName\":\"org-trail\",\"eventSelectors\":[{\"readWriteType\":"
                  "\"ReadOnly\",\"includeManagementEvents\":false,\"dataResources\":[],"
                  "\"excludeManagementEventSources\":[]}]},\"responseElements\":{\"trailARN\":"
                  "\"arn:aws:cloudtrail:us-east-1:");
        gb_str(b, acct);
        GB_LIT(b, ":trail/org-trail\",\"eventSelectors\":[{\"readWriteType\":\"ReadOnly\","
                  "\"includeManagementEvents\":false,\"dataResources\":[],"
                  "\"excludeManagementEventSources\":[]}]}");
        break;
    case CA_DELETE_LOG_GROUP:
        GB_LIT(b, "{\"logGroupName\":\"aws-cloudtrail-logs-");
        gb_str(b, acct);
        GB_LIT(b, "\"},\"responseElements\":null");
        break;
    case CA_PUT_RETENTION_POLICY:
        GB_LIT(b, "{\"logGroupName\":\"aws-cloudtrail-logs-");
        gb_str(b, acct);
        GB_LIT(b, "\",\"retentionInDays\":1},\"responseElements\":null");
        break;
    case CA_DELETE_ALARMS:
        GB_LIT(b, "{\"alarmNames\":[\"cis-root-account-usage\",\"cis-cloudtrail-config-changes\","
                  "\"cis-console-signin-without-mfa\"]},\"responseElements\":null");
        break;
    case CA_DISABLE_KEY:
        GB_LIT(b, "{\"keyId\":\"");
        ct_kms_key_arn(g, b);
        GB_LIT(b, "\"},\"responseElements\":null");
        break;
    case CA_SCHEDULE_KEY_DELETION:
        GB_LIT(b, "{\"keyId\":\"");
        ct_kms_key_arn(g, b);
        GB_LIT(b, "\",\"pendingWindowInDays\":7},\"responseElements\":{\"keyId\":\"");
        ct_kms_key_arn(g, b);
        GB_LIT(b, "\",\"deletionDate\":\"");
        gb_aws_date(b, tm);
        GB_LIT(b, "\",\"keyState\":\"PendingDeletion\",\"pendingWindowInDays\":7}");
        break;
    case CA_CONSOLE_LOGIN_NO_MFA:
        GB_LIT(b, "null,\"responseElements\":{\"ConsoleLogin\":\"Success\"},"
                  "\"additionalEventData\":{\"LoginTo\":\"https://console.aws.amazon.com/"
                  "console/home?state=hashArgs%23&isauthcode=true\",\"MobileVersion\":\"No\","
                  "\"MFAUsed\":\"No\"}");
        break;
    case CA_CREATE_ACCESS_KEY:
        GB_LIT(b, "{\"userName\":\"");
        gb_str(b, user);
        GB_LIT(b, "\"},\"responseElements\":{\"accessKey\":{\"accessKeyId\":\"AKIA");
        gb_rand_chars(b, r, UPPER_ALNUM, 5, 16);
        GB_LIT(b, "\",\"status\":\"Active\",\"userName\":\"");
        gb_str(b, user);
        GB_LIT(b, "\",\"createDate\":\"");
        gb_aws_date(b, tm);
        GB_LIT(b, "\"}}");
        break;
    case CA_ATTACH_ADMIN_POLICY:
        GB_LIT(b, "{\"userName\":\"");
        gb_str(b, user);
        GB_LIT(b, "\",\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"},"
                  "\"responseElements\":null");
        break;
    case CA_SG_OPEN_WORLD: {
        char sg[20];
        size_t at = b->len;
        unsigned port = rng_below(r, 2) ? 22 : 3389;
        gb_hex(b, r, 16);
        memcpy(sg, b->p + at, 16);
        sg[16] = '\0';
        b->len = at;
        GB_LIT(b, "{\"groupId\":\"sg-0");
        gb_str(b, sg);
        GB_LIT(b, "\",\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":");
        gb_u64(b, port);
        GB_LIT(b, ",\"toPort\":");
        gb_u64(b, port);
        GB_LIT(b, ",\"groups\":{},\"ipRanges\":{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]},"
                  "\"ipv6Ranges\":{},\"prefixListIds\":{}}]}},\"responseElements\":{"
                  "\"requestId\":\"");
        gb_uuid(b, r);
        GB_LIT(b, "\",\"_return\":true,\"securityGroupRuleSet\":{\"items\":[{\"groupOwnerId\":\"");
        gb_str(b, acct);
        GB_LIT(b, "\",\"groupId\":\"sg-0");
        gb_str(b, sg);
        GB_LIT(b, "\",\"securityGroupRuleId\":\"sgr-0");
        gb_hex(b, r, 16);
        GB_LIT(b, "\",\"isEgress\":false,\"ipProtocol\":\"tcp\",\"fromPort\":");
        gb_u64(b, port);
        GB_LIT(b, ",\"toPort\":");
        gb_u64(b, port);
        GB_LIT(b, ",\"cidrIpv4\":\"0.0.0.0/0\"}]}}");
        break;
    }
    case CA_LEAVE_ORGANIZATION:
        GB_LIT(b, "null,\"responseElements\":null");
        break;
    case CA_N:
        break;
    }
}

/*
 * One CloudTrail record into g->ev, for account/region cur_acct/cur_region, at g->clock_ms.
 * attack < 0: background. The eventID is copied to e->event_id.
 */
static void ct_record(struct gen *g, int attack, struct gen_event *e)
{
    struct gen_rng *r = &g->rng;
    struct gbuf *b = &g->ev;
    const struct ct_event *ev = NULL;
    const struct principal *who;
    const char *source, *name, *ip, *ua, *invoked_by = NULL;
    const char *acct = g->accounts[g->cur_acct];
    const char *region = REGIONS[g->cur_region];
    bool is_write, is_global, is_console, is_error = false;
    struct gen_tm tm;
    size_t start = b->len;
    unsigned acct_i = g->cur_acct;

    tm_from_sec(GEN_EPOCH_S + g->clock_ms / 1000, &tm);
    if (attack < 0) {
        ev = pick_event(g);
        source = ev->source;
        name = ev->name;
        is_write = (ev->flags & CT_WRITE) != 0;
        is_global = (ev->flags & CT_GLOBAL) != 0;
        is_console = ev->params == CP_CONSOLE_MFA;
        uint32_t x = rng_below(r, 1000);
        if (is_console) {
            who = &g->users[acct_i][rng_below(r, GEN_N_USERS)];
        } else if ((ev->flags & CT_SVC) && x < 600) {
            who = &g->services[rng_below(r, sizeof(SERVICES) / sizeof(SERVICES[0]))];
            invoked_by = who->invoked_by;
        } else if (x < 2) {
            who = &g->roots[acct_i];
        } else if (x < 250) {
            who = &g->users[acct_i][rng_below(r, GEN_N_USERS)];
        } else {
            who = &g->roles[acct_i][rng_below(r, GEN_N_ROLES)];
            invoked_by = who->invoked_by;
        }
        is_error = !is_console && rng_below(r, 100) < 2;
    } else {
        source = CT_ATTACKS[attack].source;
        name = CT_ATTACKS[attack].label;
        is_write = true;
        is_console = attack == CA_CONSOLE_LOGIN_NO_MFA;
        is_global = is_console || attack == CA_CREATE_ACCESS_KEY ||
                    attack == CA_ATTACH_ADMIN_POLICY || attack == CA_LEAVE_ORGANIZATION;
        /* a compromised user, or a compromised SSO role for the non-IAM-user actions */
        if (is_console || attack == CA_CREATE_ACCESS_KEY || attack == CA_ATTACH_ADMIN_POLICY ||
                rng_below(r, 2))
            who = &g->users[acct_i][rng_below(r, GEN_N_USERS)];
        else
            who = &g->roles[acct_i][rng_below(r, 3)];
    }
    if (invoked_by) {
        ip = invoked_by;
        ua = invoked_by;
    } else if (attack >= 0) {
        ip = g->bad_ips[rng_below(r, GEN_N_BAD_IPS)];
        ua = is_console ? BROWSER_UA : PICK(r, ATTACK_UAS);
    } else {
        ip = g->ips[rng_below(r, GEN_N_IPS)];
        ua = is_console ? BROWSER_UA : PICK(r, USER_AGENTS);
    }

    GB_LIT(b, "{\"eventVersion\":\"1.09\",\"userIdentity\":");
    gb_str(b, is_console ? who->console : who->identity);
    GB_LIT(b, ",\"eventTime\":\"");
    gb_iso(b, &tm);
    GB_LIT(b, "Z\",\"eventSource\":\"");
    gb_str(b, source);
    GB_LIT(b, "\",\"eventName\":\"");
    gb_str(b, name);
    GB_LIT(b, "\",\"awsRegion\":\"");
    gb_str(b, is_global && !is_console ? "us-east-1" : region);
    GB_LIT(b, "\",\"sourceIPAddress\":\"");
    gb_str(b, ip);
    GB_LIT(b, "\",\"userAgent\":\"");
    gb_str(b, ua);
    gb_str(b, "\",");
    if (is_error) {
        if (rng_below(r, 3) == 0) {
            GB_LIT(b, "\"errorCode\":\"ThrottlingException\",\"errorMessage\":\"Rate exceeded\",");
        } else {
            GB_LIT(b, "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: arn:aws:sts::");
            gb_str(b, acct);
            GB_LIT(b, ":assumed-role/");
            gb_str(b, ROLE_DEFS[rng_below(r, GEN_N_ROLES)].name);
            GB_LIT(b, "/session is not authorized to perform: ");
            size_t k = strcspn(source, ".");
            gb_put(b, source, k);
            gb_ch(b, ':');
            gb_str(b, name);
            GB_LIT(b, " because no identity-based policy allows the ");
            gb_put(b, source, k);
            gb_ch(b, ':');
            gb_str(b, name);
            GB_LIT(b, " action\",");
        }
    }
    if (attack < 0)
        ct_params(g, b, ev, start, is_error, &tm, who);
    else
        ct_attack_params(g, b, (enum ct_attack)attack, &tm, who->name ? who->name : "admin");
    GB_LIT(b, ",\"requestID\":\"");
    gb_uuid(b, r);
    GB_LIT(b, "\",\"eventID\":\"");
    size_t id_at = b->len;
    gb_uuid(b, r);
    memcpy(e->event_id, b->p + id_at, 36);
    e->event_id[36] = '\0';
    GB_LIT(b, "\",\"readOnly\":");
    gb_str(b, is_write ? "false" : "true");
    if (is_console)
        GB_LIT(b, ",\"eventType\":\"AwsConsoleSignIn\"");
    else
        GB_LIT(b, ",\"eventType\":\"AwsApiCall\"");
    GB_LIT(b, ",\"managementEvent\":true,\"recipientAccountId\":\"");
    gb_str(b, acct);
    GB_LIT(b, "\",");
    if (invoked_by) {
        GB_LIT(b, "\"sharedEventID\":\"");
        gb_uuid(b, r);
        GB_LIT(b, "\",");
    }
    GB_LIT(b, "\"eventCategory\":\"Management\"");
    if (!invoked_by) {
        GB_LIT(b, ",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":"
                  "\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"");
        if (is_console) {
            GB_LIT(b, "signin.aws.amazon.com");
        } else {
            gb_put(b, source, strcspn(source, "."));
            if (!is_global) {
                gb_ch(b, '.');
                gb_str(b, region);
            }
            GB_LIT(b, ".amazonaws.com");
        }
        GB_LIT(b, "\"}");
    }
    if (is_console || (attack < 0 && ua == USER_AGENTS[8]))
        GB_LIT(b, ",\"sessionCredentialFromConsole\":\"true\"");
    gb_ch(b, '}');
    e->attack = attack;
}

/* ---- auth.log lines -------------------------------------------------------------------------- */

static const char *const HOSTS[GEN_N_HOSTS] = {"ip-10-0-1-23", "ip-10-0-2-117", "bastion-01",
                                               "web-03", "db-primary", "build-07",
                                               "ip-172-31-40-5", "worker-12"};
static const char *const LOGIN_USERS[] = {"ubuntu", "ec2-user", "deploy", "alice", "bob",
                                          "carol", "ansible", "jenkins"};
static const char *const SUDO_CMDS[] = {
        "/usr/bin/systemctl restart nginx", "/usr/bin/apt-get update",
        "/usr/bin/journalctl -u app --since today", "/usr/bin/docker ps",
        "/bin/cat /var/log/nginx/error.log", "/usr/bin/tail -f /var/log/syslog",
        "/usr/sbin/service postgresql status", "/usr/bin/kubectl get pods -A"};
static const char *const BRUTE_USERS[] = {"root", "admin", "test", "oracle", "ubuntu", "postgres",
                                          "git", "user", "guest", "pi", "support", "ftpuser"};

/* "Jan 15 11:01:02 HOST " */
/* "sudo: " and the invoking user right-aligned in 8 columns, as sudo logs it. */
static void auth_sudo_user(struct gbuf *b, const char *user)
{
    GB_LIT(b, "sudo: ");
    for (size_t pad = strlen(user); pad < 8; pad++)
        gb_ch(b, ' ');
    gb_str(b, user);
}

static void auth_prefix(struct gen *g, struct gbuf *b, int64_t ms)
{
    struct gen_tm tm;

    tm_from_sec(GEN_EPOCH_S + ms / 1000, &tm);
    gb_str(b, MONTHS[tm.mo - 1]);
    gb_ch(b, ' ');
    if (tm.d < 10)
        gb_ch(b, ' ');
    gb_u64(b, (uint64_t)tm.d);
    gb_ch(b, ' ');
    gb_pad(b, (uint64_t)tm.h, 2);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm.mi, 2);
    gb_ch(b, ':');
    gb_pad(b, (uint64_t)tm.s, 2);
    gb_ch(b, ' ');
    gb_str(b, HOSTS[g->cur_host]);
    gb_ch(b, ' ');
}

static void auth_proc(struct gbuf *b, const char *name, uint32_t pid)
{
    gb_str(b, name);
    gb_ch(b, '[');
    gb_u64(b, pid);
    GB_LIT(b, "]: ");
}

static void auth_ip_port(struct gen *g, struct gbuf *b, const char *ip)
{
    gb_str(b, ip);
    GB_LIT(b, " port ");
    gb_u64(b, 1024 + rng_below(&g->rng, 64000));
}

/* One background line (no newline) into b. */
static void auth_background(struct gen *g, struct gbuf *b)
{
    struct gen_rng *r = &g->rng;
    const char *user = PICK(r, LOGIN_USERS);
    const char *ip = g->ips[rng_below(r, GEN_N_IPS)];
    uint32_t pid = 1000 + rng_below(r, 60000);
    uint32_t uid = 1000 + rng_below(r, 8);
    uint32_t x = rng_below(r, 100);

    auth_prefix(g, b, g->clock_ms);
    if (x < 14) {
        auth_proc(b, "CRON", pid);
        GB_LIT(b, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)");
    } else if (x < 28) {
        auth_proc(b, "CRON", pid);
        GB_LIT(b, "pam_unix(cron:session): session closed for user root");
    } else if (x < 33) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Accepted publickey for ");
        gb_str(b, user);
        GB_LIT(b, " from ");
        auth_ip_port(g, b, ip);
        GB_LIT(b, " ssh2: ED25519 SHA256:");
        gb_rand_chars(b, r, B64, 6, 43);
    } else if (x < 38) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "pam_unix(sshd:session): session opened for user ");
        gb_str(b, user);
        GB_LIT(b, "(uid=");
        gb_u64(b, uid);
        GB_LIT(b, ") by (uid=0)");
    } else if (x < 42) {
        auth_proc(b, "systemd-logind", 612);
        GB_LIT(b, "New session ");
        gb_u64(b, 1 + rng_below(r, 9000));
        GB_LIT(b, " of user ");
        gb_str(b, user);
        gb_ch(b, '.');
    } else if (x < 45) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Received disconnect from ");
        auth_ip_port(g, b, ip);
        GB_LIT(b, ":11: disconnected by user");
    } else if (x < 48) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Disconnected from user ");
        gb_str(b, user);
        gb_ch(b, ' ');
        auth_ip_port(g, b, ip);
    } else if (x < 53) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "pam_unix(sshd:session): session closed for user ");
        gb_str(b, user);
    } else if (x < 56) {
        auth_proc(b, "systemd-logind", 612);
        GB_LIT(b, "Removed session ");
        gb_u64(b, 1 + rng_below(r, 9000));
        gb_ch(b, '.');
    } else if (x < 62) {
        auth_sudo_user(b, user);
        GB_LIT(b, " : TTY=pts/");
        gb_u64(b, rng_below(r, 4));
        GB_LIT(b, " ; PWD=/home/");
        gb_str(b, user);
        GB_LIT(b, " ; USER=root ; COMMAND=");
        gb_str(b, PICK(r, SUDO_CMDS));
    } else if (x < 68) {
        GB_LIT(b, "sudo: pam_unix(sudo:session): session opened for user root(uid=0) by ");
        gb_str(b, user);
        GB_LIT(b, "(uid=");
        gb_u64(b, uid);
        gb_ch(b, ')');
    } else if (x < 74) {
        GB_LIT(b, "sudo: pam_unix(sudo:session): session closed for user root");
    } else if (x < 78) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Connection closed by ");
        auth_ip_port(g, b, ip);
        GB_LIT(b, " [preauth]");
    } else if (x < 80) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Connection reset by ");
        auth_ip_port(g, b, ip);
        GB_LIT(b, " [preauth]");
    } else if (x < 82) {
        auth_proc(b, "su", pid);
        GB_LIT(b, "(to postgres) ");
        gb_str(b, user);
        GB_LIT(b, " on pts/");
        gb_u64(b, rng_below(r, 4));
    } else if (x < 84) {
        auth_proc(b, "su", pid);
        GB_LIT(b, "pam_unix(su-l:session): session opened for user postgres(uid=113) by ");
        gb_str(b, user);
        GB_LIT(b, "(uid=");
        gb_u64(b, uid);
        gb_ch(b, ')');
    } else if (x < 88) {
        GB_LIT(b, "systemd[1]: Started Session ");
        gb_u64(b, 1 + rng_below(r, 9000));
        GB_LIT(b, " of User ");
        gb_str(b, user);
        gb_ch(b, '.');
    } else if (x < 92) {
        auth_proc(b, "systemd", pid);
        GB_LIT(b, "pam_unix(systemd-user:session): session opened for user ");
        gb_str(b, user);
        GB_LIT(b, "(uid=");
        gb_u64(b, uid);
        GB_LIT(b, ") by (uid=0)");
    } else if (x < 96) {
        auth_proc(b, "systemd-logind", 612);
        GB_LIT(b, "Session ");
        gb_u64(b, 1 + rng_below(r, 9000));
        GB_LIT(b, " logged out. Waiting for processes to exit.");
    } else if (x < 99) {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Accepted publickey for ");
        gb_str(b, user);
        GB_LIT(b, " from 10.0.");
        gb_u64(b, rng_below(r, 4));
        gb_ch(b, '.');
        gb_u64(b, 1 + rng_below(r, 254));
        GB_LIT(b, " port ");
        gb_u64(b, 1024 + rng_below(r, 64000));
        GB_LIT(b, " ssh2: RSA SHA256:");
        gb_rand_chars(b, r, B64, 6, 43);
    } else {
        auth_proc(b, "sshd", pid);
        GB_LIT(b, "Server listening on 0.0.0.0 port 22.");
    }
}

static void queue_line(struct gen *g, size_t off, int attack)
{
    if (g->q_n < sizeof(g->qlines) / sizeof(g->qlines[0])) {
        g->qlines[g->q_n].off = off;
        g->qlines[g->q_n].len = g->queue.len - off;
        g->qlines[g->q_n].attack = attack;
        g->q_n++;
    } else {
        g->queue.len = off; /* episode full: drop the line (bounded by design, never hit) */
    }
}

/* Fill the queue with one attack episode starting at g->clock_ms. */
static void auth_episode(struct gen *g)
{
    struct gen_rng *r = &g->rng;
    struct gbuf *b = &g->queue;
    const char *ip = g->bad_ips[rng_below(r, GEN_N_BAD_IPS)];
    const char *user = PICK(r, LOGIN_USERS);
    uint32_t x = rng_below(r, 100);
    int64_t t = g->clock_ms;
    size_t at;

    b->len = 0;
    g->q_n = g->q_next = 0;
    g->n_bursts++;
    if (x < 60) {
        /* ssh brute force: 4-30 attempts from one address */
        unsigned n = 4 + rng_below(r, 27);
        unsigned since_max = 0;
        uint32_t pid = 1000 + rng_below(r, 60000);
        for (unsigned i = 0; i < n; i++) {
            const char *u = PICK(r, BRUTE_USERS);
            bool is_invalid = strcmp(u, "root") != 0 && strcmp(u, "ubuntu") != 0;
            if (rng_below(r, 3) == 0)
                pid = 1000 + rng_below(r, 60000);
            t += 300 + rng_below(r, 1700);
            if (is_invalid) {
                at = b->len;
                auth_prefix(g, b, t);
                auth_proc(b, "sshd", pid);
                GB_LIT(b, "Invalid user ");
                gb_str(b, u);
                GB_LIT(b, " from ");
                auth_ip_port(g, b, ip);
                queue_line(g, at, AA_INVALID_USER);
            } else {
                at = b->len;
                auth_prefix(g, b, t);
                auth_proc(b, "sshd", pid);
                GB_LIT(b, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                          "tty=ssh ruser= rhost=");
                gb_str(b, ip);
                GB_LIT(b, "  user=");
                gb_str(b, u);
                queue_line(g, at, AA_PAM_AUTH_FAILURE);
            }
            at = b->len;
            auth_prefix(g, b, t + 2 + rng_below(r, 300));
            auth_proc(b, "sshd", pid);
            GB_LIT(b, "Failed password for ");
            if (is_invalid)
                GB_LIT(b, "invalid user ");
            gb_str(b, u);
            GB_LIT(b, " from ");
            auth_ip_port(g, b, ip);
            GB_LIT(b, " ssh2");
            queue_line(g, at, AA_FAILED_PASSWORD);
            if (!is_invalid && ++since_max == 6) {
                since_max = 0;
                at = b->len;
                auth_prefix(g, b, t + 400);
                auth_proc(b, "sshd", pid);
                GB_LIT(b, "error: maximum authentication attempts exceeded for ");
                gb_str(b, u);
                GB_LIT(b, " from ");
                auth_ip_port(g, b, ip);
                GB_LIT(b, " ssh2 [preauth]");
                queue_line(g, at, AA_MAX_AUTH_ATTEMPTS);
            }
        }
        if (rng_below(r, 10) == 0) {
            t += 500 + rng_below(r, 1500);
            at = b->len;
            auth_prefix(g, b, t);
            auth_proc(b, "sshd", pid);
            GB_LIT(b, "Accepted password for root from ");
            auth_ip_port(g, b, ip);
            GB_LIT(b, " ssh2");
            queue_line(g, at, AA_ROOT_LOGIN);
        }
    } else if (x < 75) {
        at = b->len;
        auth_prefix(g, b, t);
        auth_sudo_user(b, user);
        GB_LIT(b, " : user NOT in sudoers ; TTY=pts/");
        gb_u64(b, rng_below(r, 4));
        GB_LIT(b, " ; PWD=/tmp ; USER=root ; COMMAND=/bin/cat /etc/shadow");
        queue_line(g, at, AA_NOT_IN_SUDOERS);
    } else if (x < 90) {
        at = b->len;
        auth_prefix(g, b, t);
        auth_sudo_user(b, user);
        GB_LIT(b, " : 3 incorrect password attempts ; TTY=pts/");
        gb_u64(b, rng_below(r, 4));
        GB_LIT(b, " ; PWD=/home/");
        gb_str(b, user);
        GB_LIT(b, " ; USER=root ; COMMAND=/bin/bash");
        queue_line(g, at, AA_SUDO_INCORRECT_PASSWORD);
    } else {
        at = b->len;
        auth_prefix(g, b, t);
        auth_proc(b, "su", 1000 + rng_below(r, 60000));
        GB_LIT(b, "FAILED SU (to root) ");
        gb_str(b, user);
        GB_LIT(b, " on pts/");
        gb_u64(b, rng_below(r, 4));
        queue_line(g, at, AA_SU_FAILURE);
    }
    g->clock_ms = t;
}

/* ---- events (source side) -------------------------------------------------------------------- */

/* The next event's text into g->ev (replacing it). */
static void next_event(struct gen *g, struct gen_event *e)
{
    g->ev.len = 0;
    e->attack = -1;
    e->event_id[0] = '\0';
    e->burst = 0;
    if (g->o.source == GEN_SOURCE_CLOUDTRAIL) {
        g->clock_ms += rng_below(&g->rng, 200);
        int attack = -1;
        if (rng_unit(&g->rng) < g->o.attack_rate)
            attack = (int)rng_below(&g->rng, CA_N);
        ct_record(g, attack, e);
        return;
    }
    if (g->q_next == g->q_n) {
        g->clock_ms += rng_below(&g->rng, 500);
        if (rng_unit(&g->rng) < g->o.attack_rate) {
            auth_episode(g);
        } else {
            auth_background(g, &g->ev);
            return;
        }
    }
    const struct queued_line *q = &g->qlines[g->q_next++];
    gb_put(&g->ev, g->queue.p + q->off, q->len);
    e->attack = q->attack;
    e->burst = g->n_bursts;
}

/* ---- ground truth, files --------------------------------------------------------------------- */

/* One ground-truth line; key is "eventID", "line" or "logEventId", is_num says it's a number. */
static void truth_write(struct gen *g, const struct gen_event *e, const char *key,
        const char *value, bool is_num)
{
    const struct attack_def *d = g->o.source == GEN_SOURCE_CLOUDTRAIL ? &CT_ATTACKS[e->attack]
                                                                       : &AUTH_ATTACKS[e->attack];

    fprintf(g->truth, "{\"file\":\"%s\",\"%s\":%s%s%s,\"attack\":\"%s\"", g->rel, key,
            is_num ? "" : "\"", value, is_num ? "" : "\"", d->label);
    if (g->o.source == GEN_SOURCE_AUTH)
        fprintf(g->truth, ",\"burst\":%" PRIu64, e->burst);
    fprintf(g->truth, ",\"rules\":[\"%s\"]}\n", d->rule);
    g->n_attacks++;
    g->attack_counts[e->attack]++;
}

static const char *compress_ext(enum gen_compress c)
{
    return c == GEN_COMPRESS_GZIP ? ".gz" : c == GEN_COMPRESS_ZSTD ? ".zst" : "";
}

static int open_file(struct gen *g)
{
    int n = snprintf(g->path, sizeof(g->path), "%s/%s", g->o.out, g->rel);

    if (n < 0 || (size_t)n >= sizeof(g->path)) {
        fprintf(stderr, "logsift-gen: output path too long under %s\n", g->o.out);
        return -1;
    }
    return writer_open(&g->w, g->path);
}

static int close_file(struct gen *g)
{
    g->n_bytes += g->w.raw_len;
    g->n_files++;
    return writer_close(&g->w);
}

static uint64_t file_target(struct gen *g)
{
    uint64_t t = GEN_FILE_MIN + (rng_next(&g->rng) % (GEN_FILE_MAX - GEN_FILE_MIN));
    uint64_t left = g->o.size - g->n_bytes;

    return t < left ? t : left;
}

static bool event_over(struct gen *g)
{
    if (!g->ev.is_over && !g->esc.is_over && !g->queue.is_over)
        return false;
    fprintf(stderr, "logsift-gen: internal error: an event outgrew its %zu-byte buffer; please "
                    "report with the --seed used\n", g->ev.cap);
    return true;
}

/* cloudtrail: {"Records":[...]} delivery files. */
static int gen_cloudtrail(struct gen *g)
{
    struct gen_event e;

    while (g->n_bytes < g->o.size) {
        struct gen_tm tm;
        uint64_t target = file_target(g);
        struct gbuf *t = &g->tmp;

        g->cur_acct = rng_below(&g->rng, GEN_N_ACCOUNTS);
        g->cur_region = pick_region(&g->rng);
        tm_from_sec(GEN_EPOCH_S + g->clock_ms / 1000, &tm);
        t->len = 0;
        GB_LIT(t, "AWSLogs/");
        gb_str(t, g->accounts[g->cur_acct]);
        GB_LIT(t, "/CloudTrail/");
        gb_str(t, REGIONS[g->cur_region]);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.y, 4);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.mo, 2);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.d, 2);
        gb_ch(t, '/');
        gb_str(t, g->accounts[g->cur_acct]);
        GB_LIT(t, "_CloudTrail_");
        gb_str(t, REGIONS[g->cur_region]);
        gb_ch(t, '_');
        gb_pad(t, (uint64_t)tm.y, 4);
        gb_pad(t, (uint64_t)tm.mo, 2);
        gb_pad(t, (uint64_t)tm.d, 2);
        gb_ch(t, 'T');
        gb_pad(t, (uint64_t)tm.h, 2);
        gb_pad(t, (uint64_t)tm.mi, 2);
        GB_LIT(t, "Z_");
        gb_rand_chars(t, &g->rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                  "01", 6, 16);
        GB_LIT(t, ".json");
        gb_str(t, compress_ext(g->o.compress));
        gb_ch(t, '\0');
        snprintf(g->rel, sizeof(g->rel), "%s", t->p);
        if (open_file(g) != 0)
            return -1;
        writer_put(&g->w, "{\"Records\":[", 12);
        bool is_first = true;
        while (g->w.raw_len + 2 < target) {
            next_event(g, &e);
            if (event_over(g))
                return -1;
            if (!is_first)
                writer_put(&g->w, ",", 1);
            is_first = false;
            writer_put(&g->w, g->ev.p, g->ev.len);
            g->n_events++;
            if (e.attack >= 0)
                truth_write(g, &e, "eventID", e.event_id, false);
        }
        writer_put(&g->w, "]}", 2);
        if (close_file(g) != 0)
            return -1;
        /* CloudTrail delivers about every 5 minutes */
        g->clock_ms += 1000;
    }
    return 0;
}

/* auth and cwl-export: line-oriented files. */
static int gen_lines(struct gen *g)
{
    struct gen_event e;
    uint64_t stream_seq[GEN_N_ACCOUNTS * GEN_N_REGIONS] = {0};
    char num[24];
    bool is_cwl = g->o.kind == GEN_KIND_CWL_EXPORT;

    while (g->n_bytes < g->o.size) {
        uint64_t target = file_target(g);
        uint64_t line = 0;
        unsigned stream;

        if (g->o.source == GEN_SOURCE_CLOUDTRAIL) {
            g->cur_acct = rng_below(&g->rng, GEN_N_ACCOUNTS);
            g->cur_region = pick_region(&g->rng);
            stream = g->cur_acct * GEN_N_REGIONS + g->cur_region;
        } else {
            g->cur_host = rng_below(&g->rng, GEN_N_HOSTS);
            stream = g->cur_host;
        }
        if (is_cwl && g->o.source == GEN_SOURCE_CLOUDTRAIL)
            snprintf(g->rel, sizeof(g->rel), "%s/%s_CloudTrail_%s/%06" PRIu64 "%s", g->task_id,
                     g->accounts[g->cur_acct], REGIONS[g->cur_region], stream_seq[stream]++,
                     compress_ext(g->o.compress));
        else if (is_cwl)
            snprintf(g->rel, sizeof(g->rel), "%s/%s/%06" PRIu64 "%s", g->task_id,
                     g->instance_ids[g->cur_host], stream_seq[stream]++,
                     compress_ext(g->o.compress));
        else
            snprintf(g->rel, sizeof(g->rel), "auth/%s/auth.log.%" PRIu64 "%s",
                     HOSTS[g->cur_host], stream_seq[stream]++, compress_ext(g->o.compress));
        if (open_file(g) != 0)
            return -1;
        while (g->w.raw_len < target) {
            next_event(g, &e);
            if (event_over(g))
                return -1;
            if (is_cwl) {
                struct gbuf *t = &g->tmp;
                struct gen_tm tm;
                tm_from_sec(GEN_EPOCH_S + g->clock_ms / 1000, &tm);
                t->len = 0;
                gb_iso(t, &tm);
                gb_ch(t, '.');
                gb_pad(t, (uint64_t)(g->clock_ms % 1000), 3);
                GB_LIT(t, "Z ");
                writer_put(&g->w, t->p, t->len);
            }
            writer_put(&g->w, g->ev.p, g->ev.len);
            writer_put(&g->w, "\n", 1);
            line++;
            g->n_events++;
            if (e.attack >= 0) {
                if (g->o.source == GEN_SOURCE_CLOUDTRAIL) {
                    truth_write(g, &e, "eventID", e.event_id, false);
                } else {
                    snprintf(num, sizeof(num), "%" PRIu64, line);
                    truth_write(g, &e, "line", num, true);
                }
            }
        }
        if (close_file(g) != 0)
            return -1;
    }
    return 0;
}

/* firehose: objects of DATA_MESSAGE records, each its own gzip member / zstd frame. */
static int gen_firehose(struct gen *g)
{
    struct gen_event e;
    struct gbuf *t = &g->tmp;

    while (g->n_bytes < g->o.size) {
        uint64_t target = file_target(g);
        struct gen_tm tm;

        tm_from_sec(GEN_EPOCH_S + g->clock_ms / 1000, &tm);
        t->len = 0;
        GB_LIT(t, "firehose/");
        gb_pad(t, (uint64_t)tm.y, 4);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.mo, 2);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.d, 2);
        gb_ch(t, '/');
        gb_pad(t, (uint64_t)tm.h, 2);
        GB_LIT(t, "/cwl-to-s3-1-");
        gb_pad(t, (uint64_t)tm.y, 4);
        gb_ch(t, '-');
        gb_pad(t, (uint64_t)tm.mo, 2);
        gb_ch(t, '-');
        gb_pad(t, (uint64_t)tm.d, 2);
        gb_ch(t, '-');
        gb_pad(t, (uint64_t)tm.h, 2);
        gb_ch(t, '-');
        gb_pad(t, (uint64_t)tm.mi, 2);
        gb_ch(t, '-');
        gb_pad(t, (uint64_t)tm.s, 2);
        gb_ch(t, '-');
        gb_uuid(t, &g->rng);
        gb_ch(t, '\0');
        snprintf(g->rel, sizeof(g->rel), "%s", t->p);
        if (open_file(g) != 0)
            return -1;
        while (g->w.raw_len < target) {
            g->n_messages++;
            if (rng_below(&g->rng, 500) == 0) {
                /* CloudWatch Logs checks the destination now and then */
                t->len = 0;
                GB_LIT(t, "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\","
                          "\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],"
                          "\"logEvents\":[{\"id\":\"\",\"timestamp\":");
                gb_u64(t, (uint64_t)(GEN_EPOCH_S * 1000 + g->clock_ms));
                GB_LIT(t, ",\"message\":\"CWL CONTROL MESSAGE: Checking health of destination "
                          "Firehose.\"}]}");
                writer_put(&g->w, t->p, t->len);
                writer_end_member(&g->w);
                g->n_control++;
                continue;
            }
            unsigned n_ev = 1 + rng_below(&g->rng, GEN_FH_MAX_EVENTS);
            t->len = 0;
            GB_LIT(t, "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"");
            if (g->o.source == GEN_SOURCE_CLOUDTRAIL) {
                g->cur_acct = rng_below(&g->rng, GEN_N_ACCOUNTS);
                g->cur_region = pick_region(&g->rng);
                gb_str(t, g->accounts[g->cur_acct]);
                GB_LIT(t, "\",\"logGroup\":\"aws-cloudtrail-logs-");
                gb_str(t, g->accounts[g->cur_acct]);
                GB_LIT(t, "\",\"logStream\":\"");
                gb_str(t, g->accounts[g->cur_acct]);
                GB_LIT(t, "_CloudTrail_");
                gb_str(t, REGIONS[g->cur_region]);
            } else {
                g->cur_host = rng_below(&g->rng, GEN_N_HOSTS);
                gb_str(t, g->accounts[0]);
                GB_LIT(t, "\",\"logGroup\":\"/var/log/auth.log\",\"logStream\":\"");
                gb_str(t, g->instance_ids[g->cur_host]);
            }
            GB_LIT(t, "\",\"subscriptionFilters\":[\"to-firehose\"],\"logEvents\":[");
            writer_put(&g->w, t->p, t->len);
            for (unsigned i = 0; i < n_ev; i++) {
                next_event(g, &e);
                g->esc.len = 0;
                gb_json_escape(&g->esc, g->ev.p, g->ev.len);
                if (event_over(g))
                    return -1;
                t->len = 0;
                if (i)
                    gb_ch(t, ',');
                GB_LIT(t, "{\"id\":\"");
                size_t id_at = t->len;
                gb_pad(t, (uint64_t)(GEN_EPOCH_S * 1000 + g->clock_ms), 16);
                /* 56 digits, as CloudWatch Logs event ids */
                gb_pad(t, rng_next(&g->rng) % UINT64_C(10000000000000000000), 20);
                gb_pad(t, rng_next(&g->rng) % UINT64_C(10000000000000000000), 20);
                char id[64];
                memcpy(id, t->p + id_at, 56);
                id[56] = '\0';
                GB_LIT(t, "\",\"timestamp\":");
                gb_u64(t, (uint64_t)(GEN_EPOCH_S * 1000 + g->clock_ms));
                GB_LIT(t, ",\"message\":\"");
                writer_put(&g->w, t->p, t->len);
                writer_put(&g->w, g->esc.p, g->esc.len);
                writer_put(&g->w, "\"}", 2);
                g->n_events++;
                if (e.attack >= 0) {
                    if (g->o.source == GEN_SOURCE_CLOUDTRAIL)
                        truth_write(g, &e, "eventID", e.event_id, false);
                    else
                        truth_write(g, &e, "logEventId", id, false);
                }
            }
            writer_put(&g->w, "]}", 2);
            writer_end_member(&g->w);
        }
        if (close_file(g) != 0)
            return -1;
    }
    return 0;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: logsift-gen --out DIR [OPTIONS]\n"
            "Write a synthetic, seed-deterministic log corpus with planted attacks.\n"
            "  --kind KIND          cloudtrail (default), auth, cwl-export, firehose\n"
            "  --source SRC         what cwl-export/firehose carry: cloudtrail (default), auth\n"
            "  --size BYTES         decompressed bytes to write (K, M, G suffixes; default 64M)\n"
            "  --out DIR            output directory (created; must be empty)\n"
            "  --compress C         none, gzip (libdeflate), zstd (level 3); default none. Firehose\n"
            "                       objects get one gzip member / zstd frame per record\n"
            "  --gzip-level N       libdeflate level 0-12 (default 1)\n"
            "  --attack-rate P      per event (auth: per attack episode); default 0.001\n"
            "  --seed N             default 1\n"
            "  -q, --quiet          no summary on stderr\n"
            "Writes DIR/ground-truth.jsonl (one line per planted event) and DIR/manifest.json.\n");
}

static bool parse_size(const char *s, uint64_t *out)
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
    if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

/* 0: go on; else the exit status. */
static int parse_args(int argc, char **argv, struct gen_opts *o)
{
    o->kind = GEN_KIND_CLOUDTRAIL;
    o->source = GEN_SOURCE_CLOUDTRAIL;
    o->compress = GEN_COMPRESS_NONE;
    o->gzip_level = 1;
    o->size = (uint64_t)64 << 20;
    o->attack_rate = 0.001;
    o->seed = 1;
    bool has_source = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->is_quiet = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "logsift-gen: %s needs a value (or is unknown)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--kind") == 0) {
            if (strcmp(v, "cloudtrail") == 0)
                o->kind = GEN_KIND_CLOUDTRAIL;
            else if (strcmp(v, "auth") == 0)
                o->kind = GEN_KIND_AUTH;
            else if (strcmp(v, "cwl-export") == 0)
                o->kind = GEN_KIND_CWL_EXPORT;
            else if (strcmp(v, "firehose") == 0)
                o->kind = GEN_KIND_FIREHOSE;
            else
                goto bad;
        } else if (strcmp(a, "--source") == 0) {
            has_source = true;
            if (strcmp(v, "cloudtrail") == 0)
                o->source = GEN_SOURCE_CLOUDTRAIL;
            else if (strcmp(v, "auth") == 0)
                o->source = GEN_SOURCE_AUTH;
            else
                goto bad;
        } else if (strcmp(a, "--compress") == 0) {
            if (strcmp(v, "none") == 0)
                o->compress = GEN_COMPRESS_NONE;
            else if (strcmp(v, "gzip") == 0)
                o->compress = GEN_COMPRESS_GZIP;
            else if (strcmp(v, "zstd") == 0)
                o->compress = GEN_COMPRESS_ZSTD;
            else
                goto bad;
        } else if (strcmp(a, "--gzip-level") == 0) {
            char *end;
            long level = strtol(v, &end, 10);
            if (end == v || *end != '\0' || level < 0 || level > 12)
                goto bad;
            o->gzip_level = (int)level;
        } else if (strcmp(a, "--size") == 0) {
            if (!parse_size(v, &o->size))
                goto bad;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--attack-rate") == 0) {
            char *end;
            o->attack_rate = strtod(v, &end);
            if (*end != '\0' || !(o->attack_rate >= 0.0 && o->attack_rate <= 1.0))
                goto bad;
        } else if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 0);
            if (errno || *end != '\0' || end == v)
                goto bad;
        } else {
            fprintf(stderr, "logsift-gen: unknown option %s (see --help)\n", a);
            return 2;
        }
        continue;
bad:
        fprintf(stderr, "logsift-gen: bad value '%s' for %s (see --help)\n", v, a);
        return 2;
    }
    if (o->out == NULL) {
        fprintf(stderr, "logsift-gen: --out DIR is required\n");
        return 2;
    }
    if (o->kind == GEN_KIND_CLOUDTRAIL && has_source && o->source != GEN_SOURCE_CLOUDTRAIL) {
        fprintf(stderr, "logsift-gen: --kind cloudtrail carries CloudTrail only; use "
                        "--kind auth, or cwl-export/firehose with --source auth\n");
        return 2;
    }
    if (o->kind == GEN_KIND_AUTH)
        o->source = GEN_SOURCE_AUTH;
    if (o->kind == GEN_KIND_CLOUDTRAIL)
        o->source = GEN_SOURCE_CLOUDTRAIL;
    return 0;
}

/* DIR must be missing or empty: stale files from another run would join the corpus. */
static int prepare_out(const char *dir)
{
    DIR *d;
    struct dirent *de;
    char probe[GEN_PATH_MAX];

    snprintf(probe, sizeof(probe), "%s/x", dir);
    if (make_parents(probe) != 0)
        return -1;
    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "logsift-gen: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            closedir(d);
            fprintf(stderr, "logsift-gen: %s is not empty; remove it or choose another --out\n",
                    dir);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

static const char *const KIND_NAMES[] = {"cloudtrail", "auth", "cwl-export", "firehose"};
static const char *const COMPRESS_NAMES[] = {"none", "gzip", "zstd"};

static int write_manifest(struct gen *g)
{
    char path[GEN_PATH_MAX];
    FILE *f;
    const char *root = g->o.kind == GEN_KIND_CLOUDTRAIL ? "AWSLogs"
                       : g->o.kind == GEN_KIND_AUTH      ? "auth"
                       : g->o.kind == GEN_KIND_FIREHOSE  ? "firehose"
                                                         : g->task_id;
    const struct attack_def *defs =
            g->o.source == GEN_SOURCE_CLOUDTRAIL ? CT_ATTACKS : AUTH_ATTACKS;
    int n_defs = g->o.source == GEN_SOURCE_CLOUDTRAIL ? CA_N : AA_N;

    snprintf(path, sizeof(path), "%s/manifest.json", g->o.out);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "logsift-gen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "{\"generator\":\"logsift-gen %s\",\"kind\":\"%s\",\"source\":\"%s\","
            "\"compress\":\"%s\",\"gzip_level\":%d,\"seed\":%" PRIu64 ",\"attack_rate\":%g,"
            "\"root\":\"%s\",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"events\":%" PRIu64
            ",\"messages\":%" PRIu64 ",\"control_messages\":%" PRIu64 ",\"attacks\":%" PRIu64
            ",\"attack_counts\":{",
            GEN_VERSION, KIND_NAMES[g->o.kind],
            g->o.source == GEN_SOURCE_CLOUDTRAIL ? "cloudtrail" : "auth",
            COMPRESS_NAMES[g->o.compress], g->o.gzip_level, g->o.seed, g->o.attack_rate, root,
            g->n_files, g->n_bytes, g->n_events, g->n_messages, g->n_control, g->n_attacks);
    for (int i = 0; i < n_defs; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", defs[i].label, g->attack_counts[i]);
    fprintf(f, "},\"rules\":{");
    for (int i = 0; i < n_defs; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", defs[i].rule, g->attack_counts[i]);
    /* no elapsed time: the manifest is part of the deterministic output */
    fprintf(f, "}}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "logsift-gen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct gen *g = calloc(1, sizeof(*g));
    struct timespec t0, t1;
    char path[GEN_PATH_MAX];
    int status = 2, rc;

    if (g == NULL) {
        fprintf(stderr, "logsift-gen: out of memory\n");
        return 2;
    }
    rc = parse_args(argc, argv, &g->o);
    if (rc != 0) {
        status = rc < 0 ? 0 : rc;
        goto out;
    }
    if (gbuf_alloc(&g->ev, GEN_EVENT_CAP) || gbuf_alloc(&g->esc, 2 * GEN_EVENT_CAP) ||
            gbuf_alloc(&g->tmp, GEN_EVENT_CAP) || gbuf_alloc(&g->queue, GEN_QUEUE_CAP) ||
            writer_init(&g->w, g->o.compress, g->o.gzip_level) != 0) {
        fprintf(stderr, "logsift-gen: out of memory\n");
        goto out;
    }
    rng_seed(&g->rng, g->o.seed);
    if (build_pools(g) != 0) {
        fprintf(stderr, "logsift-gen: out of memory\n");
        goto out;
    }
    if (prepare_out(g->o.out) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/ground-truth.jsonl", g->o.out);
    g->truth = fopen(path, "w");
    if (g->truth == NULL) {
        fprintf(stderr, "logsift-gen: cannot create %s: %s\n", path, strerror(errno));
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (g->o.kind == GEN_KIND_CLOUDTRAIL)
        rc = gen_cloudtrail(g);
    else if (g->o.kind == GEN_KIND_FIREHOSE)
        rc = gen_firehose(g);
    else
        rc = gen_lines(g);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (fclose(g->truth) != 0 && rc == 0) {
        fprintf(stderr, "logsift-gen: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    g->truth = NULL;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == 0)
        rc = write_manifest(g);
    if (rc != 0)
        goto out;
    if (!g->o.is_quiet)
        fprintf(stderr,
                "logsift-gen: %s/%s: %" PRIu64 " files, %.1f MB decompressed, %" PRIu64
                " events, %" PRIu64 " planted in %.2f s (%.0f MB/s)\n",
                KIND_NAMES[g->o.kind], COMPRESS_NAMES[g->o.compress], g->n_files,
                (double)g->n_bytes / 1e6, g->n_events, g->n_attacks, secs,
                secs > 0 ? (double)g->n_bytes / 1e6 / secs : 0.0);
    status = 0;
out:
    if (g->truth)
        fclose(g->truth);
    writer_cleanup(&g->w);
    free_pools(g);
    free(g->ev.p);
    free(g->esc.p);
    free(g->tmp.p);
    free(g->queue.p);
    free(g);
    return status;
}
