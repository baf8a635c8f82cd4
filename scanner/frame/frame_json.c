/*
 * frame_json: the structural JSON framer behind cloudtrail, json-array, json-stream and
 * firehose. It finds where each record starts and ends without building a tree, because
 * CloudTrail framing is the hot path of the whole product: it must run at many GB/s so that
 * it costs a small fraction of the Hyperscan scan that follows.
 *
 * Two layers.
 *
 * 1. The value scanner (fj_scan) follows one JSON value: strings, backslash escapes and the
 *    nesting of {} and [] (with a stack, so ']' closing '{' is caught). Its state (struct
 *    fj_value) is exact at every byte, so a scan can stop at the end of a window and resume on
 *    the next. Inside a container the SIMD path classifies 64 bytes at a time, the way
 *    simdjson's stage 1 does: masks of '"', '\\', '{'/'[' and '}'/']' (SSE2, which every
 *    x86-64 has, or AVX2 when the CPU has it), the escaped bytes from the backslash runs, the
 *    in-string mask as a prefix XOR of the unescaped quotes, and then only the brackets outside
 *    strings are visited one by one. Blocks without brackets (most of them) only need the
 *    parity of their quotes. A scalar version (memchr from quote to quote inside strings)
 *    handles the last partial block and other CPUs; tests and the fuzzer check all agree.
 *
 * 2. The envelope state machine (fj_feed) walks the few bytes between values: where the events
 *    sit depends on the format.
 *      json-stream, firehose  TOP: every top-level value (firehose: a document that
 *                             frame_firehose.c turns into its messages)
 *      json-array             TOP '[' -> EVENT_ARR: every element
 *      cloudtrail             TOP '{' -> ROOT_OBJ "Records": '[' -> EVENT_ARR: every element
 *                             (other members of the root object are skipped)
 *    Several documents may follow each other. The bytes between events (',', '[', blanks,
 *    the envelope and its keys) become '\n' as they are consumed, so *consumed always stops
 *    either between values or at the start of the pending value, whose scan position is kept
 *    in fj_state.scanned: a window never rescans what the previous one scanned.
 *
 * What is checked: string and escape structure, bracket nesting and matching (to 1024 levels),
 * what may stand between values (',', ':', the closing bracket), the "Records" envelope, events
 * over max_event_len, and values cut off by the end of input. What is not: the tokens inside a
 * record (numbers, literals, missing ',' or ':' inside objects, escape validity, control bytes
 * and UTF-8 in strings). A trailing ',' before ']' is tolerated.
 *
 * After a problem the framer resynchronizes (fj_resync): it searches from just after the
 * damaged value's first byte (a record cut short may hide whole records after it) for a
 * plausible record start: '{' + blanks + "eventVersion" for CloudTrail, '{' at the line
 * indentation of the last good element for pretty-printed arrays, '},{' for minified ones,
 * and '{' / '[' at the start of a line (or '}{') for a new top-level document.
 */
#include "frame_int.h"

#include <string.h>

#if defined(__x86_64__)
#define FJ_HAVE_X86 1
#include <immintrin.h>
#else
#define FJ_HAVE_X86 0
#endif

enum fj_ctx {
    FJ_TOP = 0,  /* between top-level values */
    FJ_ROOT_OBJ, /* cloudtrail: inside the root object */
    FJ_EVENT_ARR /* inside the array whose elements are events */
};

enum fj_where {
    FJ_EXPECT_VALUE = 0, /* blanks, then a value (or ']' in EVENT_ARR) */
    FJ_EXPECT_KEY,       /* ROOT_OBJ: a member key (or '}' right after '{') */
    FJ_EXPECT_COLON,     /* ROOT_OBJ: ':' after the key */
    FJ_AFTER_VALUE,      /* ROOT_OBJ / EVENT_ARR: ',' or the closing bracket */
    FJ_IN_VALUE,         /* an event-level value starts at the window's consumed point */
    FJ_SKIP_VALUE,       /* dropping a value (oversized event, other root member) */
    FJ_RESYNC            /* after a problem: searching for a plausible start */
};

/* Longest root-object key the envelope parser accepts (keys are like "Records"). */
#define FJ_KEY_MAX 200

/* ---- the value scanner ------------------------------------------------------------------- */

bool fj_value_start(struct fj_value *v, unsigned char ch)
{
    v->in_str = false;
    v->esc = false;
    v->depth = 0;
    if (ch == '{' || ch == '[') {
        v->kind = FJ_KIND_CONTAINER;
        v->stack[0] = ch & 0x20;
        v->depth = 1;
        return true;
    }
    if (ch == '"') {
        v->kind = FJ_KIND_STRING;
        v->in_str = true;
        return true;
    }
    if (ch == '-' || (ch >= '0' && ch <= '9') || ch == 't' || ch == 'f' || ch == 'n') {
        v->kind = FJ_KIND_SCALAR;
        return true;
    }
    return false;
}

/*
 * Inside a string with no escape pending at buf[i]: find the closing quote in buf[i..to).
 * A quote preceded by an odd run of backslashes is escaped; the run cannot start before i
 * in a way that matters, because buf[i] itself is not escaped. Returns the index just past the
 * closing quote and clears in_str, or to (setting esc if the window ends in an odd run).
 */
static size_t fj_skip_string(struct fj_value *v, const unsigned char *buf, size_t i, size_t to)
{
    while (i < to) {
        const unsigned char *q = memchr(buf + i, '"', to - i);
        size_t end = q ? (size_t)(q - buf) : to;
        size_t run = 0;

        while (end - run > i && buf[end - run - 1] == '\\')
            run++;
        if (q == NULL) {
            v->esc = (run & 1) != 0;
            return to;
        }
        if ((run & 1) == 0) {
            v->in_str = false;
            return end + 1;
        }
        i = end + 1; /* an escaped quote: the string goes on */
    }
    return to;
}

static const char *fj_mismatch(unsigned char close_type)
{
    return close_type ? "'}' closes '['" : "']' closes '{'";
}

static enum fj_scan_res fj_scan_container_scalar(struct fj_value *v, const unsigned char *buf,
        size_t i, size_t to, size_t *at, const char **why)
{
    while (i < to) {
        unsigned char ch;

        if (v->esc) {
            v->esc = false;
            i++;
            continue;
        }
        if (v->in_str) {
            i = fj_skip_string(v, buf, i, to);
            continue;
        }
        ch = buf[i];
        switch (ch) {
        case '"':
            v->in_str = true;
            break;
        case '\\':
            v->esc = true;
            break;
        case '{':
        case '[':
            if (v->depth >= FRAME_JSON_MAX_DEPTH) {
                *at = i;
                *why = "nested deeper than 1024 levels";
                return FJ_SCAN_BAD;
            }
            v->stack[v->depth++] = ch & 0x20;
            break;
        case '}':
        case ']':
            if (v->stack[--v->depth] != (ch & 0x20)) {
                *at = i;
                *why = fj_mismatch(ch & 0x20);
                return FJ_SCAN_BAD;
            }
            if (v->depth == 0) {
                *at = i;
                return FJ_SCAN_END;
            }
            break;
        default:
            break;
        }
        i++;
    }
    return FJ_SCAN_MORE;
}

#if FJ_HAVE_X86

/*
 * Bits of the 64-byte block that are escaped by a backslash, given the backslash mask and the
 * carry from the previous block (1: its first byte is escaped). simdjson's json_escape_scanner.
 */
static inline uint64_t fj_escaped(uint64_t backslash, uint64_t *next_is_escaped)
{
    const uint64_t odd_bits = 0xAAAAAAAAAAAAAAAAULL;
    uint64_t potential, maybe_escaped, codes, escaped, escape;

    if (backslash == 0) {
        escaped = *next_is_escaped;
        *next_is_escaped = 0;
        return escaped;
    }
    potential = backslash & ~*next_is_escaped;
    maybe_escaped = potential << 1;
    codes = ((maybe_escaped | odd_bits) - potential) ^ odd_bits;
    escaped = codes ^ (backslash | *next_is_escaped);
    escape = codes & backslash;
    *next_is_escaped = escape >> 63;
    return escaped;
}

static inline uint64_t fj_prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/*
 * Visit the brackets outside strings of one block (bits of structural, ascending), keeping the
 * stack. '{' and '[' have bit 1 set, '}' and ']' do not; bit 5 tells '{}' from '[]'.
 * Returns FJ_SCAN_END / FJ_SCAN_BAD with *bit, or FJ_SCAN_MORE.
 */
static inline enum fj_scan_res fj_brackets(struct fj_value *v, const unsigned char *p,
        uint64_t structural, unsigned *bit, const char **why)
{
    do {
        unsigned k = (unsigned)__builtin_ctzll(structural);
        unsigned char ch = p[k];
        unsigned char type = ch & 0x20;

        structural &= structural - 1;
        if (ch & 2) {
            if (v->depth >= FRAME_JSON_MAX_DEPTH) {
                *bit = k;
                *why = "nested deeper than 1024 levels";
                return FJ_SCAN_BAD;
            }
            v->stack[v->depth++] = type;
        } else {
            if (v->stack[--v->depth] != type) {
                *bit = k;
                *why = fj_mismatch(type);
                return FJ_SCAN_BAD;
            }
            if (v->depth == 0) {
                *bit = k;
                return FJ_SCAN_END;
            }
        }
    } while (structural);
    return FJ_SCAN_MORE;
}

/*
 * The block loop of the SSE2 version (the AVX2 one below has the same logic with one more
 * shortcut): MASKS(p, &quote, &bs, &brackets) classifies 64 bytes; PREFIX_XOR and PARITY are
 * the best the target has. A macro so that another target can reuse it (a NEON port would
 * only need the masks). Most blocks hold no bracket (CloudTrail:
 * 14 per 1.3 KB record): for them only the parity of the unescaped quotes is needed to carry
 * the in-string state, and no backslash (the usual case) means no escape arithmetic either.
 * (A branch-free variant that kept the top 62 levels of the stack as bits in a register
 * measured slower on CloudTrail, where brackets are few.)
 */
#define FJ_BLOCK_LOOP(MASKS, PREFIX_XOR, PARITY)                                                   \
    do {                                                                                           \
        uint64_t esc_carry = v->esc ? 1 : 0;                                                       \
        uint64_t str_carry = v->in_str ? ~0ULL : 0;                                                \
        while (to - i >= 64) {                                                                     \
            uint64_t quote, bs, brackets, in_str, structural;                                      \
            MASKS(buf + i, &quote, &bs, &brackets);                                                \
            if ((bs | esc_carry) != 0) {                                                           \
                uint64_t escaped = fj_escaped(bs, &esc_carry);                                     \
                quote &= ~escaped;                                                                 \
                brackets &= ~escaped;                                                              \
            }                                                                                      \
            if (brackets == 0) {                                                                   \
                str_carry ^= 0 - (uint64_t)PARITY(quote);                                          \
                i += 64;                                                                           \
                continue;                                                                          \
            }                                                                                      \
            in_str = PREFIX_XOR(quote) ^ str_carry;                                                \
            str_carry = (uint64_t)((int64_t)in_str >> 63);                                         \
            structural = brackets & ~in_str;                                                       \
            if (structural) {                                                                      \
                unsigned bit = 0;                                                                  \
                enum fj_scan_res res = fj_brackets(v, buf + i, structural, &bit, why);             \
                if (res != FJ_SCAN_MORE) {                                                         \
                    *at = i + bit;                                                                 \
                    return res;                                                                    \
                }                                                                                  \
            }                                                                                      \
            i += 64;                                                                               \
        }                                                                                          \
        v->esc = esc_carry != 0;                                                                   \
        v->in_str = str_carry != 0;                                                                \
    } while (0)

static inline unsigned fj_parity_sse2(uint64_t x)
{
    return (unsigned)__builtin_parityll(x);
}

static inline void fj_masks_sse2(
        const unsigned char *p, uint64_t *quote, uint64_t *bs, uint64_t *brackets)
{
    const __m128i vq = _mm_set1_epi8('"');
    const __m128i vb = _mm_set1_epi8('\\');
    const __m128i v20 = _mm_set1_epi8(0x20);
    const __m128i vo = _mm_set1_epi8('{');
    const __m128i vc = _mm_set1_epi8('}');
    uint64_t mq = 0, mb = 0, mk = 0;

    for (unsigned k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i t = _mm_or_si128(x, v20); /* '[' | 0x20 == '{', ']' | 0x20 == '}' */
        __m128i br = _mm_or_si128(_mm_cmpeq_epi8(t, vo), _mm_cmpeq_epi8(t, vc));

        mq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vq)) << (16 * k);
        mb |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vb)) << (16 * k);
        mk |= (uint64_t)(uint32_t)_mm_movemask_epi8(br) << (16 * k);
    }
    *quote = mq;
    *bs = mb;
    *brackets = mk;
}

static enum fj_scan_res fj_scan_container_sse2(struct fj_value *v, const unsigned char *buf,
        size_t i, size_t to, size_t *at, const char **why)
{
    FJ_BLOCK_LOOP(fj_masks_sse2, fj_prefix_xor, fj_parity_sse2);
    return fj_scan_container_scalar(v, buf, i, to, at, why);
}

#define FJ_AVX2_TARGET __attribute__((target("avx2,pclmul,popcnt")))

/* Prefix XOR as a carry-less multiplication by all ones (simdjson's prefix_xor). */
FJ_AVX2_TARGET static inline uint64_t fj_prefix_xor_clmul(uint64_t x)
{
    __m128i all_ones = _mm_set1_epi8((char)0xFF);
    __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), all_ones, 0);
    return (uint64_t)_mm_cvtsi128_si64(r);
}

FJ_AVX2_TARGET static inline unsigned fj_parity_popcnt(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x) & 1;
}

/*
 * The AVX2 loop first tests whether the block holds any backslash or bracket at all (one
 * vptest); in most blocks neither occurs and only the quote mask is extracted, for its parity.
 */
FJ_AVX2_TARGET static inline bool fj_masks_avx2_rare(
        const unsigned char *p, uint64_t *quote, uint64_t *bs, uint64_t *brackets)
{
    const __m256i vq = _mm256_set1_epi8('"');
    const __m256i vb = _mm256_set1_epi8('\\');
    const __m256i v20 = _mm256_set1_epi8(0x20);
    const __m256i vo = _mm256_set1_epi8('{');
    const __m256i vc = _mm256_set1_epi8('}');
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    __m256i tlo = _mm256_or_si256(lo, v20);
    __m256i thi = _mm256_or_si256(hi, v20);
    __m256i blo = _mm256_or_si256(_mm256_cmpeq_epi8(tlo, vo), _mm256_cmpeq_epi8(tlo, vc));
    __m256i bhi = _mm256_or_si256(_mm256_cmpeq_epi8(thi, vo), _mm256_cmpeq_epi8(thi, vc));
    __m256i slo = _mm256_cmpeq_epi8(lo, vb);
    __m256i shi = _mm256_cmpeq_epi8(hi, vb);
    __m256i rare = _mm256_or_si256(_mm256_or_si256(blo, bhi), _mm256_or_si256(slo, shi));

#define FJ_MOVEMASK64(a, b)                                                                        \
    ((uint64_t)(uint32_t)_mm256_movemask_epi8(a) | (uint64_t)(uint32_t)_mm256_movemask_epi8(b)     \
                                                           << 32)
    *quote = FJ_MOVEMASK64(_mm256_cmpeq_epi8(lo, vq), _mm256_cmpeq_epi8(hi, vq));
    if (_mm256_testz_si256(rare, rare))
        return false;
    *bs = FJ_MOVEMASK64(slo, shi);
    *brackets = FJ_MOVEMASK64(blo, bhi);
#undef FJ_MOVEMASK64
    return true;
}

FJ_AVX2_TARGET static enum fj_scan_res fj_scan_container_avx2(struct fj_value *v,
        const unsigned char *buf, size_t i, size_t to, size_t *at, const char **why)
{
    uint64_t esc_carry = v->esc ? 1 : 0;
    uint64_t str_carry = v->in_str ? ~0ULL : 0;

    while (to - i >= 64) {
        uint64_t quote, bs = 0, brackets = 0, in_str, structural;

        if (!fj_masks_avx2_rare(buf + i, &quote, &bs, &brackets) && esc_carry == 0) {
            str_carry ^= 0 - (uint64_t)fj_parity_popcnt(quote);
            i += 64;
            continue;
        }
        if ((bs | esc_carry) != 0) {
            uint64_t escaped = fj_escaped(bs, &esc_carry);
            quote &= ~escaped;
            brackets &= ~escaped;
        }
        in_str = fj_prefix_xor_clmul(quote) ^ str_carry;
        str_carry = (uint64_t)((int64_t)in_str >> 63);
        structural = brackets & ~in_str;
        if (structural) {
            unsigned bit = 0;
            enum fj_scan_res res = fj_brackets(v, buf + i, structural, &bit, why);
            if (res != FJ_SCAN_MORE) {
                *at = i + bit;
                return res;
            }
        }
        i += 64;
    }
    v->esc = esc_carry != 0;
    v->in_str = str_carry != 0;
    return fj_scan_container_scalar(v, buf, i, to, at, why);
}

#endif /* FJ_HAVE_X86 */

enum fj_scan_res fj_scan(int simd, struct fj_value *v, const unsigned char *buf, size_t from,
        size_t to, size_t *at, const char **why)
{
    size_t i;

    switch (v->kind) {
    case FJ_KIND_CONTAINER:
#if FJ_HAVE_X86
        if (simd == FRAME_SIMD_AVX2)
            return fj_scan_container_avx2(v, buf, from, to, at, why);
        if (simd == FRAME_SIMD_SSE2)
            return fj_scan_container_sse2(v, buf, from, to, at, why);
#else
        (void)simd;
#endif
        return fj_scan_container_scalar(v, buf, from, to, at, why);
    case FJ_KIND_STRING:
        i = from;
        while (i < to && v->in_str) {
            if (v->esc) {
                v->esc = false;
                i++;
                continue;
            }
            i = fj_skip_string(v, buf, i, to);
        }
        if (!v->in_str) {
            *at = i - 1;
            return FJ_SCAN_END;
        }
        return FJ_SCAN_MORE;
    default:
        for (i = from; i < to; i++) {
            unsigned char ch = buf[i];
            if (frame_is_blank(ch) || ch == ',' || ch == ']' || ch == '}' || ch == '[' ||
                    ch == '{' || ch == '"' || ch == ':') {
                *at = i;
                return FJ_SCAN_END;
            }
        }
        return FJ_SCAN_MORE;
    }
}

/* ---- names for messages ------------------------------------------------------------------- */

static const char *fj_value_name(enum frame_format fmt)
{
    switch (fmt) {
    case FRAME_CLOUDTRAIL:
        return "CloudTrail record";
    case FRAME_JSON_ARRAY:
        return "array element";
    case FRAME_FIREHOSE:
        return "subscription document";
    default:
        return "JSON value";
    }
}

static const char *fj_char_name(unsigned char ch, char tmp[8])
{
    static const char hex[] = "0123456789abcdef";

    if (ch >= 0x20 && ch < 0x7f && ch != '\'') {
        tmp[0] = '\'';
        tmp[1] = (char)ch;
        tmp[2] = '\'';
        tmp[3] = '\0';
    } else {
        tmp[0] = '0';
        tmp[1] = 'x';
        tmp[2] = hex[ch >> 4];
        tmp[3] = hex[ch & 15];
        tmp[4] = '\0';
    }
    return tmp;
}

/* ---- resynchronization ------------------------------------------------------------------ */

void fj_reset(struct fj_state *s)
{
    memset(s, 0, sizeof(*s));
    s->ctx = FJ_TOP;
    s->where = FJ_EXPECT_VALUE;
    s->gap_at_line_start = true;
}

/*
 * The byte k positions before buf[p] in the input: from the window, else from hist (the
 * original bytes just before the window), '\n' before the input's first byte, -1 if unknown.
 */
static int fj_prev(const struct frame_call *c, size_t p, size_t k)
{
    const struct fj_state *s = &c->f->json;
    uint64_t abs_p = c->base_off + p;
    size_t back;

    if (k <= p)
        return c->buf[p - k];
    if (k > abs_p)
        return k == abs_p + 1 ? '\n' : -1;
    back = k - p;
    if (s->hist_end == c->base_off && back <= s->n_hist)
        return s->hist[s->n_hist - back];
    return -1;
}

/* Remember the original bytes before buf[end] for the next window's lookback. */
static void fj_hist_push(
        struct fj_state *s, const unsigned char *buf, uint64_t base_off, size_t end)
{
    size_t n = end < FRAME_RESYNC_CTX ? end : FRAME_RESYNC_CTX;
    size_t keep = s->hist_end == base_off ? s->n_hist : 0;

    if (keep > FRAME_RESYNC_CTX - n)
        keep = FRAME_RESYNC_CTX - n;
    memmove(s->hist, s->hist + s->n_hist - keep, keep);
    if (n > 0)
        memcpy(s->hist + keep, buf + end - n, n);
    s->n_hist = (uint32_t)(keep + n);
    s->hist_end = base_off + end;
}

/* buf[p] = '{': is it at the line indentation of the last good element? */
static bool fj_at_elem_indent(const struct frame_call *c, size_t p)
{
    const struct fj_state *s = &c->f->json;

    for (size_t k = 1; k <= s->elem_col; k++) {
        int ch = fj_prev(c, p, k);
        if (ch != ' ' && ch != '\t')
            return false;
    }
    return fj_prev(c, p, s->elem_col + 1) == '\n';
}

/* buf[p] = '{' after '}' blanks ',' blanks (a minified array's element boundary)? */
static bool fj_after_close_comma(const struct frame_call *c, size_t p)
{
    size_t k = 1;
    int ch;

    while ((ch = fj_prev(c, p, k)) >= 0 && frame_is_blank((unsigned char)ch) && k < 32)
        k++;
    if (ch != ',')
        return false;
    k++;
    while ((ch = fj_prev(c, p, k)) >= 0 && frame_is_blank((unsigned char)ch) && k < 64)
        k++;
    return ch == '}';
}

enum fj_cand {
    FJ_CAND_NO = 0,
    FJ_CAND_ELEM,     /* an element of the event array starts here */
    FJ_CAND_TOP,      /* a new top-level document starts here */
    FJ_CAND_NEED_MORE /* cannot tell before more bytes arrive */
};

/* CloudTrail: does buf[p] = '{' open an object whose first key is key? */
static enum fj_cand fj_first_key_is(const struct frame_call *c, size_t p, const char *key)
{
    size_t key_len = strlen(key);
    size_t j = p + 1;

    while (j < c->len && j - p < 33 && frame_is_blank(c->buf[j]))
        j++;
    if (c->len - j < key_len + 2)
        return c->is_eof ? FJ_CAND_NO : FJ_CAND_NEED_MORE;
    if (c->buf[j] == '"' && memcmp(c->buf + j + 1, key, key_len) == 0 &&
            c->buf[j + 1 + key_len] == '"')
        return FJ_CAND_ELEM;
    return FJ_CAND_NO;
}

static enum fj_cand fj_candidate(const struct frame_call *c, size_t p)
{
    const struct fj_state *s = &c->f->json;
    unsigned char ch = c->buf[p];
    bool is_col0 = fj_prev(c, p, 1) == '\n';
    enum fj_cand r;

    switch (c->f->fmt) {
    case FRAME_CLOUDTRAIL:
        if (ch != '{')
            return FJ_CAND_NO;
        r = fj_first_key_is(c, p, "eventVersion");
        if (r != FJ_CAND_NO)
            return r;
        r = fj_first_key_is(c, p, "Records");
        if (r != FJ_CAND_NO)
            return r == FJ_CAND_ELEM ? FJ_CAND_TOP : r;
        if (s->elem_at_line_start && fj_at_elem_indent(c, p))
            return FJ_CAND_ELEM;
        return FJ_CAND_NO;
    case FRAME_JSON_ARRAY:
        if (ch == '[')
            return is_col0 ? FJ_CAND_TOP : FJ_CAND_NO;
        if (s->elem_at_line_start)
            return fj_at_elem_indent(c, p) ? FJ_CAND_ELEM : FJ_CAND_NO;
        return fj_after_close_comma(c, p) ? FJ_CAND_ELEM : FJ_CAND_NO;
    default:
        if (is_col0 || (ch == '{' && fj_prev(c, p, 1) == '}'))
            return FJ_CAND_TOP;
        return FJ_CAND_NO;
    }
}

/*
 * Search buf[from..len) for a plausible start. Returns its kind and sets *p, or FJ_CAND_NO with
 * *p = where the search must resume next time (len, or a candidate needing more bytes).
 */
static enum fj_cand fj_resync(const struct frame_call *c, size_t from, size_t *p)
{
    for (size_t i = from; i < c->len; i++) {
        enum fj_cand r;

        if (c->buf[i] != '{' && c->buf[i] != '[')
            continue;
        r = fj_candidate(c, i);
        if (r == FJ_CAND_NO)
            continue;
        *p = i;
        return r == FJ_CAND_NEED_MORE ? FJ_CAND_NO : r;
    }
    *p = c->len;
    return FJ_CAND_NO;
}

/* ---- the envelope state machine ----------------------------------------------------------- */

static void fj_after_value(struct fj_state *s)
{
    s->where = s->ctx == FJ_TOP ? FJ_EXPECT_VALUE : FJ_AFTER_VALUE;
    s->gap_at_line_start = false;
    s->gap_col = 0;
    s->scanned = 0;
}

/* A complete event-level value buf[start..end): an event, or a Firehose document. */
static void fj_value_done(struct frame_call *c, size_t start, size_t end)
{
    if (c->f->fmt == FRAME_FIREHOSE)
        fh_process_doc(c, start, end);
    else
        frame_emit(c, start, end - start, FRAME_TS_UNKNOWN);
}

void fj_feed(struct frame_call *c, size_t pos)
{
    struct framer *f = c->f;
    struct fj_state *s = &f->json;
    unsigned char *buf = c->buf;
    const size_t len = c->len;
    const char *what = fj_value_name(f->fmt);
    size_t i = pos;        /* next byte to look at */
    size_t done = pos;     /* bytes consumed */
    size_t unfilled = pos; /* consumed bytes from here to done still need their '\n' */
    char tmp[8];

    while (c->rc == LSF_OK) {
        unsigned char ch;
        size_t at = 0;
        const char *why = NULL;
        enum fj_scan_res res;

        switch (s->where) {
        case FJ_IN_VALUE: {
            /* The value starts at done; s->scanned bytes of it are scanned already. */
            size_t lim = len - done > f->max_event_len ? done + f->max_event_len : len;
            uint64_t idx = s->n_values - 1;

            res = fj_scan(f->simd, &s->v, buf, done + s->scanned, lim, &at, &why);
            if (res == FJ_SCAN_MORE && lim == len && c->is_eof && s->v.kind == FJ_KIND_SCALAR) {
                res = FJ_SCAN_END;
                at = len;
            }
            if (res == FJ_SCAN_END) {
                size_t end = s->v.kind == FJ_KIND_SCALAR ? at : at + 1;
                fj_value_done(c, done, end);
                i = done = unfilled = end;
                fj_after_value(s);
                continue;
            }
            if (res == FJ_SCAN_BAD) {
                frame_problem(c, c->base_off + at,
                        "%s %llu (starting at byte %llu) is not valid JSON (%s); skipped, "
                        "the file may be damaged; re-copy it",
                        what, (unsigned long long)idx, (unsigned long long)(c->base_off + done),
                        why);
                /* Search again from just after its first byte: a record cut short may hide
                 * whole records after its start. */
                done = done + 1;
                s->where = FJ_RESYNC;
                s->scanned = 0;
                goto out;
            }
            if (lim < len) {
                frame_problem(c, c->base_off + done,
                        "%s %llu is longer than the --max-event-size limit of %zu bytes; "
                        "skipped (raise --max-event-size to scan it)",
                        what, (unsigned long long)idx, f->max_event_len);
                frame_fill_nl(buf, unfilled, lim);
                i = done = unfilled = lim;
                s->where = FJ_SKIP_VALUE;
                s->skip_reported = true;
                goto out;
            }
            if (c->is_eof) {
                frame_problem(c, c->base_off + done,
                        "%s %llu is truncated (the input ends inside it, %zu bytes after its "
                        "start); skipped, the file may be damaged; re-copy it",
                        what, (unsigned long long)idx, len - done);
                done = done + 1;
                s->where = FJ_RESYNC;
                s->scanned = 0;
                goto out;
            }
            s->scanned = len - done; /* pending: the caller brings it back with more bytes */
            goto out;
        }
        case FJ_SKIP_VALUE:
            res = fj_scan(f->simd, &s->v, buf, i, len, &at, &why);
            if (res == FJ_SCAN_MORE && c->is_eof && s->v.kind == FJ_KIND_SCALAR) {
                res = FJ_SCAN_END;
                at = len;
            }
            if (res == FJ_SCAN_END) {
                size_t end = s->v.kind == FJ_KIND_SCALAR ? at : at + 1;
                frame_fill_nl(buf, unfilled, end);
                i = done = unfilled = end;
                s->skip_reported = false;
                fj_after_value(s);
                continue;
            }
            if (res == FJ_SCAN_BAD) {
                frame_problem(c, c->base_off + at,
                        "JSON structure broken (%s) inside a value that was being skipped; "
                        "the file may be damaged; re-copy it",
                        why);
                frame_fill_nl(buf, unfilled, at);
                unfilled = at;
                done = at + 1;
                s->where = FJ_RESYNC;
                s->scanned = 0;
                s->skip_reported = false;
                goto out;
            }
            frame_fill_nl(buf, unfilled, len);
            i = done = unfilled = len;
            if (c->is_eof) {
                if (!s->skip_reported)
                    frame_problem(c, c->base_off + len,
                            "the input ends inside a JSON value; the file may be truncated; "
                            "re-copy it");
                f->is_finished = true;
            }
            goto out;
        case FJ_RESYNC: {
            size_t p = 0;
            enum fj_cand r = fj_resync(c, done + s->scanned, &p);

            if (r == FJ_CAND_NO) {
                /* Keep the bytes from p on (a candidate waiting for lookahead). */
                done = p;
                s->scanned = 0;
                if (done == len && c->is_eof)
                    f->is_finished = true;
                goto out;
            }
            /* Read what precedes the start before those bytes become '\n'. */
            s->gap_at_line_start = fj_prev(c, p, 1) == '\n';
            s->gap_col = 0;
            frame_fill_nl(buf, unfilled, p);
            i = done = unfilled = p;
            s->scanned = 0;
            s->where = FJ_EXPECT_VALUE;
            s->is_first = false;
            if (r == FJ_CAND_ELEM) {
                s->ctx = FJ_EVENT_ARR;
                if (f->fmt == FRAME_CLOUDTRAIL)
                    s->saw_records = true;
            } else {
                s->ctx = FJ_TOP;
            }
            continue;
        }
        default:
            break;
        }

        /* Between values: blanks become '\n' as they go. */
        while (i < len && frame_is_blank(buf[i])) {
            ch = buf[i];
            if (ch == '\n') {
                s->gap_at_line_start = true;
                s->gap_col = 0;
            } else if (ch == ' ' || ch == '\t') {
                s->gap_col++;
            }
            buf[i++] = '\n';
        }
        done = unfilled = i;
        if (i == len) {
            if (c->is_eof) {
                if (s->ctx != FJ_TOP)
                    frame_problem(c, c->base_off + len,
                            "the input ends inside the %s (after %llu events); the file is "
                            "truncated; re-copy it",
                            f->fmt == FRAME_CLOUDTRAIL ? "{\"Records\":[...]} envelope"
                                                       : "top-level array",
                            (unsigned long long)f->next_ordinal);
                f->is_finished = true;
            }
            goto out;
        }
        ch = buf[i];
        switch (s->where) {
        case FJ_EXPECT_VALUE:
            if (s->ctx == FJ_EVENT_ARR && ch == ']') {
                goto close_array;
            } else if (s->ctx == FJ_EVENT_ARR ||
                       (s->ctx == FJ_TOP &&
                               (f->fmt == FRAME_JSON_STREAM || f->fmt == FRAME_FIREHOSE))) {
                if (!fj_value_start(&s->v, ch))
                    goto unexpected;
                /* Indentation deeper than the lookback history cannot be checked. */
                s->elem_at_line_start = s->gap_at_line_start && s->gap_col < FRAME_RESYNC_CTX - 1;
                s->elem_col = s->gap_col;
                s->n_values++;
                s->where = FJ_IN_VALUE;
                s->scanned = 1;
                continue;
            } else if (s->ctx == FJ_TOP && f->fmt == FRAME_JSON_ARRAY && ch == '[') {
                s->ctx = FJ_EVENT_ARR;
                s->is_first = true;
            } else if (s->ctx == FJ_TOP && f->fmt == FRAME_CLOUDTRAIL && ch == '{') {
                s->ctx = FJ_ROOT_OBJ;
                s->where = FJ_EXPECT_KEY;
                s->is_first = true;
                s->saw_records = false;
            } else if (s->ctx == FJ_ROOT_OBJ && s->is_records_key && ch == '[') {
                s->ctx = FJ_EVENT_ARR;
                s->is_first = true;
                s->saw_records = true;
            } else if (s->ctx == FJ_ROOT_OBJ && fj_value_start(&s->v, ch)) {
                s->where = FJ_SKIP_VALUE; /* a member other than "Records" */
                s->skip_reported = false;
                buf[i++] = '\n';
                done = unfilled = i;
                continue;
            } else {
                goto unexpected;
            }
            break;
        case FJ_EXPECT_KEY:
            if (ch == '}' && s->is_first) {
                goto close_root;
            } else if (ch == '"') {
                size_t lim = len - i > FJ_KEY_MAX ? i + FJ_KEY_MAX : len;
                struct fj_value key;
                size_t end;

                fj_value_start(&key, ch);
                if (fj_scan(FRAME_SIMD_SCALAR, &key, buf, i + 1, lim, &end, &why) == FJ_SCAN_END) {
                    s->is_records_key = end - i - 1 == 7 && memcmp(buf + i + 1, "Records", 7) == 0;
                    frame_fill_nl(buf, i, end + 1);
                    i = done = unfilled = end + 1;
                    s->where = FJ_EXPECT_COLON;
                    continue;
                }
                if (lim < len) {
                    why = "an object key longer than 200 bytes";
                    goto unexpected_why;
                }
                if (c->is_eof) {
                    frame_problem(c, c->base_off + i,
                            "the input ends inside an object key; the file is truncated; "
                            "re-copy it");
                    done = len;
                    f->is_finished = true;
                }
                goto out; /* the key is pending */
            }
            goto unexpected;
        case FJ_EXPECT_COLON:
            if (ch != ':')
                goto unexpected;
            s->where = FJ_EXPECT_VALUE;
            break;
        case FJ_AFTER_VALUE:
            if (ch == ',') {
                s->where = s->ctx == FJ_ROOT_OBJ ? FJ_EXPECT_KEY : FJ_EXPECT_VALUE;
                s->is_first = false;
            } else if (ch == ']' && s->ctx == FJ_EVENT_ARR) {
                goto close_array;
            } else if (ch == '}' && s->ctx == FJ_ROOT_OBJ) {
                goto close_root;
            } else {
                goto unexpected;
            }
            break;
        default:
            break;
        }
        /* A one-byte structural token: ',', ':', '[' or '{' of the envelope. */
        buf[i++] = '\n';
        done = unfilled = i;
        s->gap_at_line_start = false;
        s->gap_col = 0;
        continue;

    close_array:
        buf[i++] = '\n';
        done = unfilled = i;
        s->gap_at_line_start = false;
        s->gap_col = 0;
        if (f->fmt == FRAME_CLOUDTRAIL) {
            s->ctx = FJ_ROOT_OBJ;
            s->where = FJ_AFTER_VALUE;
        } else {
            s->ctx = FJ_TOP;
            s->where = FJ_EXPECT_VALUE;
        }
        continue;

    close_root:
        buf[i++] = '\n';
        done = unfilled = i;
        s->gap_at_line_start = false;
        s->gap_col = 0;
        s->ctx = FJ_TOP;
        s->where = FJ_EXPECT_VALUE;
        if (!s->saw_records)
            frame_problem(c, c->base_off + i - 1,
                    "a JSON object without a \"Records\" array ends here: not a CloudTrail "
                    "log file; skipped (for one JSON record per line use --format "
                    "json-lines)");
        continue;

    unexpected:
        why = NULL;
    unexpected_why:
        if (why == NULL) {
            if (s->ctx == FJ_TOP && f->fmt == FRAME_CLOUDTRAIL)
                why = "expected the {\"Records\":[...]} envelope of a CloudTrail log file; "
                      "for other JSON use --format json-lines or json-array";
            else if (s->ctx == FJ_TOP && f->fmt == FRAME_JSON_ARRAY)
                why = "expected '[' (a JSON array)";
            else if (s->where == FJ_AFTER_VALUE)
                why = s->ctx == FJ_ROOT_OBJ ? "expected ',' or '}'" : "expected ',' or ']'";
            else if (s->where == FJ_EXPECT_KEY)
                why = "expected an object key";
            else if (s->where == FJ_EXPECT_COLON)
                why = "expected ':'";
            else
                why = "expected a JSON value";
        }
        frame_problem(c, c->base_off + i,
                "unexpected %s (%s) between %ss; skipped to the next plausible record "
                "start, the file may be damaged; re-copy it",
                fj_char_name(ch, tmp), why, what);
        done = i + 1;
        s->where = FJ_RESYNC;
        s->scanned = 0;
        goto out;
    }
out:
    /* The bytes before the next window, for the resync lookback: as framing left them, except
     * those still to be filled (skipped by a resync search, or the byte of a problem), which
     * keep their original value. The same whatever the window sizes. */
    fj_hist_push(s, buf, c->base_off, done);
    if (unfilled < done)
        frame_fill_nl(buf, unfilled, done);
    c->consumed = done;
}
