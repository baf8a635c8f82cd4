/*
 * src_s3: s3://bucket/prefix inputs (the contract is in src_s3.h).
 *
 * Listing: ListObjectsV2 (shared/spec/aws-facts.md 3.2) one page at a time, only when the
 * window below needs more keys, so a huge prefix is never held in memory. encoding-type=url is
 * always sent, because keys may hold characters XML 1.0 cannot carry; keys are decoded with form
 * semantics, as botocore does. S3 already lists in UTF-8 binary order; each page is sorted
 * bytewise anyway so a store that does not (some S3-compatible ones) still gives a deterministic
 * order within a page.
 *
 * Pruning: CloudTrail writes .../CloudTrail/<region>/YYYY/MM/DD/<file> (aws-facts 6.1), so a
 * key's first YYYY/MM/DD run of directory elements is compared with --since/--until; keys
 * without one are kept. Globs filter what is left.
 *
 * With --since/--until the listing itself is pruned too, so a three-month window over years of
 * trail lists about three months of keys: the prefix is walked one level at a time with
 * delimiter "/" (AWSLogs/, org ids, accounts, CloudTrail/) to find every region folder, and each
 * region folder is listed from start-after "<region>/<since day>" and stops at the first page
 * that reaches past --until. Found folders are listed right after the folder that found them,
 * so the order stays deterministic. Only the dated day folders of a region folder are listed
 * (CloudTrail writes nothing else there); everything beside the layout is listed flat.
 *
 * Sharding (--shard K/N) and the layout rules are pure functions in src_s3_plan.c.
 *
 * Download: a window of up to --concurrency objects is queued on the aws_http_client ahead of
 * the scan; each streams into its own bounded buffer (paused when full), and next() hands out
 * the oldest one wrapped by dec_open. The window is refilled after each hand-out, so downloads
 * overlap the scan of earlier objects while memory stays (window + objects being scanned) times
 * the per-object buffer.
 *
 * Objects the listing says are larger than --part-size are fetched as byte ranges instead, up
 * to --concurrency ranges at once while the object is read (one while it waits in the window),
 * with If-Match on the listed ETag; the ranges reach the decoder in order, so the scan sees the
 * same byte stream and memory stays --concurrency buffers for the object being read
 * (src_s3_range.c).
 */
#include "src_s3.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "aws.h"
#include "aws_http_client.h"
#include "dec.h"
#include "src_s3_int.h"

#define S3_LIST_BODY_MAX ((size_t)32 << 20)
#define S3_KEY_MAX       4096

/* ---- URLs, dates and filters ---------------------------------------------------------------- */

bool fetch_s3_is_url(const char *path)
{
    return strncmp(path, "s3://", 5) == 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool fetch_s3_url_decode(char *s)
{
    char *w = s;

    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%') {
            int hi = hexval((unsigned char)r[1]);
            int lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
            if (hi < 0 || lo < 0)
                return false;
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return true;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int32_t day_of(const char *y, const char *m, const char *d)
{
    int32_t year = (y[0] - '0') * 1000 + (y[1] - '0') * 100 + (y[2] - '0') * 10 + (y[3] - '0');
    int32_t month = (m[0] - '0') * 10 + (m[1] - '0');
    int32_t day = (d[0] - '0') * 10 + (d[1] - '0');

    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31)
        return 0;
    return year * 10000 + month * 100 + day;
}

bool fetch_s3_day_parse(const char *text, int32_t *yyyymmdd)
{
    if (strlen(text) < 10 || !digits(text, 4) || text[4] != '-' || !digits(text + 5, 2) ||
            text[7] != '-' || !digits(text + 8, 2) || (text[10] != '\0' && text[10] != 'T'))
        return false;
    *yyyymmdd = day_of(text, text + 5, text + 8);
    return *yyyymmdd != 0;
}

int32_t fetch_s3_key_day(const char *key)
{
    /* Look at each element start: "YYYY/MM/DD/" with the day a directory, not the file. */
    for (const char *p = key; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p)) {
        if (strlen(p) >= 11 && digits(p, 4) && p[4] == '/' && digits(p + 5, 2) && p[7] == '/' &&
                digits(p + 8, 2) && p[10] == '/') {
            int32_t day = day_of(p, p + 5, p + 8);
            if (day != 0)
                return day;
        }
    }
    return 0;
}

static bool glob_match(const char *pattern, const char *key)
{
    const char *subject = key;

    if (strchr(pattern, '/') == NULL) {
        const char *slash = strrchr(key, '/');
        subject = slash ? slash + 1 : key;
    }
    return fnmatch(pattern, subject, 0) == 0;
}

bool fetch_s3_filter_keep(const struct fetch_s3_filter *filter, const char *key)
{
    size_t len = strlen(key);
    int32_t day;
    bool is_included;

    if (len == 0 || key[len - 1] == '/')
        return false;
    day = fetch_s3_key_day(key);
    if (day != 0 && filter->since_day != 0 && day < filter->since_day)
        return false;
    if (day != 0 && filter->until_day != 0 && day > filter->until_day)
        return false;
    is_included = filter->n_include == 0;
    for (size_t i = 0; !is_included && i < filter->n_include; i++)
        is_included = glob_match(filter->include[i], key);
    for (size_t i = 0; is_included && i < filter->n_exclude; i++) {
        if (glob_match(filter->exclude[i], key))
            return false;
    }
    if (is_included && filter->shard_count > 1)
        is_included = fetch_s3_key_shard(key, filter->shard_count) == filter->shard_index;
    return is_included;
}

/* ---- ListObjectsV2 XML ---------------------------------------------------------------------- */

enum list_field {
    LF_NONE = 0,
    LF_KEY,
    LF_SIZE,
    LF_ETAG,
    LF_PREFIX,
    LF_TRUNCATED,
    LF_TOKEN,
    LF_ENCODING
};

struct list_parse {
    XML_Parser parser;
    struct fetch_s3_page *page;
    unsigned depth;
    bool is_root_ok;
    bool in_contents;
    bool in_prefixes;
    bool is_url_encoded;
    enum list_field field;
    struct lsf_buf text;
    char *cur_key; /* of the Contents element being read */
    char *cur_etag;
    uint64_t cur_size;
    enum lsf_code rc;
    struct lsf_err *err;
};

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
    struct list_parse *lp = user;

    (void)attrs;
    lp->depth++;
    lp->field = LF_NONE;
    lp->text.len = 0;
    if (lp->depth == 1) {
        lp->is_root_ok = strcmp(name, "ListBucketResult") == 0;
    } else if (lp->depth == 2 && strcmp(name, "Contents") == 0) {
        lp->in_contents = true;
        lp->cur_size = UINT64_MAX;
    } else if (lp->depth == 2 && strcmp(name, "CommonPrefixes") == 0) {
        lp->in_prefixes = true;
    } else if (lp->depth == 2) {
        if (strcmp(name, "IsTruncated") == 0)
            lp->field = LF_TRUNCATED;
        else if (strcmp(name, "NextContinuationToken") == 0)
            lp->field = LF_TOKEN;
        else if (strcmp(name, "EncodingType") == 0)
            lp->field = LF_ENCODING;
    } else if (lp->depth == 3 && lp->in_contents) {
        if (strcmp(name, "Key") == 0)
            lp->field = LF_KEY;
        else if (strcmp(name, "Size") == 0)
            lp->field = LF_SIZE;
        else if (strcmp(name, "ETag") == 0)
            lp->field = LF_ETAG;
    } else if (lp->depth == 3 && lp->in_prefixes && strcmp(name, "Prefix") == 0) {
        lp->field = LF_PREFIX;
    }
}

static char *text_dup(struct list_parse *lp)
{
    char *s = malloc(lp->text.len + 1);

    if (s == NULL) {
        lp->rc = lsf_fail(lp->err, LSF_E_NOMEM, "out of memory reading a ListObjectsV2 page");
        return NULL;
    }
    memcpy(s, lp->text.data ? (const char *)lp->text.data : "", lp->text.len);
    s[lp->text.len] = '\0';
    return s;
}

/* Append the finished Contents entry (key, size, etag) to the page. */
static void add_entry(struct list_parse *lp)
{
    struct fetch_s3_page *page = lp->page;
    size_t n = page->n_keys + 1;
    char **keys = realloc(page->keys, n * sizeof(*keys));
    uint64_t *sizes = keys ? realloc(page->sizes, n * sizeof(*sizes)) : NULL;
    char **etags = sizes ? realloc(page->etags, n * sizeof(*etags)) : NULL;

    if (keys)
        page->keys = keys;
    if (sizes)
        page->sizes = sizes;
    if (etags)
        page->etags = etags;
    if (etags == NULL) {
        lp->rc = lsf_fail(lp->err, LSF_E_NOMEM, "out of memory reading a ListObjectsV2 page");
        return;
    }
    page->keys[page->n_keys] = lp->cur_key;
    page->sizes[page->n_keys] = lp->cur_size;
    page->etags[page->n_keys] = lp->cur_etag;
    page->n_keys = n;
    lp->cur_key = NULL;
    lp->cur_etag = NULL;
}

static void add_prefix(struct list_parse *lp)
{
    struct fetch_s3_page *page = lp->page;
    char **grown = realloc(page->prefixes, (page->n_prefixes + 1) * sizeof(*grown));
    char *prefix = grown ? text_dup(lp) : NULL;

    if (grown == NULL)
        lp->rc = lsf_fail(lp->err, LSF_E_NOMEM, "out of memory reading a ListObjectsV2 page");
    if (grown)
        page->prefixes = grown;
    if (prefix)
        page->prefixes[page->n_prefixes++] = prefix;
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
    struct list_parse *lp = user;
    struct fetch_s3_page *page = lp->page;

    if (lp->rc == LSF_OK && lp->field == LF_KEY) {
        free(lp->cur_key);
        lp->cur_key = text_dup(lp);
    } else if (lp->rc == LSF_OK && lp->field == LF_SIZE) {
        char digits_text[24];
        size_t n = lp->text.len < sizeof(digits_text) - 1 ? lp->text.len : 0;
        memcpy(digits_text, lp->text.data ? (const char *)lp->text.data : "", n);
        digits_text[n] = '\0';
        if (n > 0 && digits(digits_text, n))
            lp->cur_size = strtoull(digits_text, NULL, 10);
    } else if (lp->rc == LSF_OK && lp->field == LF_ETAG) {
        free(lp->cur_etag);
        lp->cur_etag = text_dup(lp);
    } else if (lp->rc == LSF_OK && lp->field == LF_PREFIX) {
        add_prefix(lp);
    } else if (lp->rc == LSF_OK && lp->field == LF_TRUNCATED) {
        page->is_truncated = lp->text.len == 4 && memcmp(lp->text.data, "true", 4) == 0;
    } else if (lp->rc == LSF_OK && lp->field == LF_TOKEN) {
        free(page->next_token);
        page->next_token = text_dup(lp);
    } else if (lp->rc == LSF_OK && lp->field == LF_ENCODING) {
        lp->is_url_encoded = lp->text.len == 3 && memcmp(lp->text.data, "url", 3) == 0;
    }
    if (lp->depth == 2 && strcmp(name, "Contents") == 0) {
        if (lp->rc == LSF_OK && lp->cur_key)
            add_entry(lp);
        free(lp->cur_key);
        free(lp->cur_etag);
        lp->cur_key = NULL;
        lp->cur_etag = NULL;
        lp->in_contents = false;
    }
    if (lp->depth == 2 && strcmp(name, "CommonPrefixes") == 0)
        lp->in_prefixes = false;
    lp->field = LF_NONE;
    lp->depth--;
    if (lp->rc != LSF_OK)
        XML_StopParser(lp->parser, XML_FALSE);
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
    struct list_parse *lp = user;

    if (lp->field == LF_NONE || lp->rc != LSF_OK)
        return;
    lp->rc = lsf_buf_append(&lp->text, s, (size_t)len, lp->err);
    if (lp->rc != LSF_OK) {
        lsf_err_prefix(lp->err, "ListObjectsV2 page: element text: ");
        XML_StopParser(lp->parser, XML_FALSE);
    }
}

static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
        const XML_Char *pubid, int has_internal_subset)
{
    struct list_parse *lp = user;

    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    lp->rc = lsf_fail(lp->err, LSF_E_INPUT, "ListObjectsV2 page declares a DOCTYPE; refused");
    XML_StopParser(lp->parser, XML_FALSE);
}

enum lsf_code fetch_s3_list_parse(const char *xml, size_t len, struct fetch_s3_page *page,
        struct lsf_err *err)
{
    struct list_parse lp;

    memset(page, 0, sizeof(*page));
    memset(&lp, 0, sizeof(lp));
    lp.page = page;
    lp.err = err;
    lsf_buf_init(&lp.text, S3_KEY_MAX * 4);
    lp.parser = XML_ParserCreate("UTF-8");
    if (lp.parser == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory for the XML parser");
    XML_SetUserData(lp.parser, &lp);
    XML_SetElementHandler(lp.parser, on_start, on_end);
    XML_SetCharacterDataHandler(lp.parser, on_text);
    XML_SetStartDoctypeDeclHandler(lp.parser, on_doctype);
    if (XML_Parse(lp.parser, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR && lp.rc == LSF_OK)
        lp.rc = lsf_fail(err, LSF_E_INPUT, "ListObjectsV2 page is not well-formed XML (line %lu: "
                "%s)", (unsigned long)XML_GetCurrentLineNumber(lp.parser),
                XML_ErrorString(XML_GetErrorCode(lp.parser)));
    if (lp.rc == LSF_OK && !lp.is_root_ok)
        lp.rc = lsf_fail(err, LSF_E_INPUT, "answer to ListObjectsV2 is not a ListBucketResult");
    if (lp.rc == LSF_OK && page->is_truncated && (!page->next_token || !page->next_token[0]))
        lp.rc = lsf_fail(err, LSF_E_INPUT, "ListObjectsV2 page is truncated but has no "
                "NextContinuationToken");
    for (size_t i = 0; lp.rc == LSF_OK && lp.is_url_encoded && i < page->n_keys; i++) {
        if (!fetch_s3_url_decode(page->keys[i]))
            lp.rc = lsf_fail(err, LSF_E_INPUT, "ListObjectsV2 page has a key that is not "
                    "url-encoded as encoding-type=url promises");
    }
    for (size_t i = 0; lp.rc == LSF_OK && lp.is_url_encoded && i < page->n_prefixes; i++) {
        if (!fetch_s3_url_decode(page->prefixes[i]))
            lp.rc = lsf_fail(err, LSF_E_INPUT, "ListObjectsV2 page has a common prefix that "
                    "is not url-encoded as encoding-type=url promises");
    }
    free(lp.cur_key);
    free(lp.cur_etag);
    XML_ParserFree(lp.parser);
    lsf_buf_cleanup(&lp.text);
    return lp.rc;
}

void fetch_s3_page_cleanup(struct fetch_s3_page *page)
{
    for (size_t i = 0; i < page->n_keys; i++) {
        free(page->keys[i]);
        free(page->etags[i]);
    }
    for (size_t i = 0; i < page->n_prefixes; i++)
        free(page->prefixes[i]);
    free(page->keys);
    free(page->sizes);
    free(page->etags);
    free(page->prefixes);
    free(page->next_token);
    memset(page, 0, sizeof(*page));
}

/* ---- the source ------------------------------------------------------------------------------ */

/* One listing to run: a URL the user gave, or a prefix found below one by a DISCOVER listing. */
struct s3_target {
    char *bucket;
    char *prefix;
    enum fetch_s3_list_kind kind;
    char *token;       /* continuation token of the next page */
    bool is_done;      /* every page listed (or listing failed) */
    bool has_page;     /* at least one page listed */
    size_t n_children; /* prefixes it found, inserted right after it in targets */
};

/* One entry of the download window: a started object, or a failure to hand out in order. */
struct s3_slot {
    char *name;
    struct lsf_reader rd; /* raw body; empty for a failure */
    enum lsf_code rc;
    struct lsf_err err;
};

struct fetch_s3 {
    const struct fetch_s3_opts *opts;
    struct fetch_s3_filter filter;
    struct aws_session aws; /* global state, config, endpoint, credentials, client */
    struct s3_target *targets;
    size_t n_targets;
    size_t cap_targets;
    bool is_pruned; /* --since/--until: list by the CloudTrail layout */
    size_t cur;                /* target being listed */
    struct fetch_s3_page page; /* current page, filtered keys pending from page_pos */
    size_t page_pos;
    struct s3_slot *win; /* ring of concurrency entries */
    size_t win_cap;
    size_t win_head;
    size_t win_len;
};

static enum lsf_code parse_url(const char *url, struct s3_target *t, struct lsf_err *err)
{
    const char *rest = url + 5;
    const char *slash = strchr(rest, '/');
    size_t bucket_len = slash ? (size_t)(slash - rest) : strlen(rest);

    if (!fetch_s3_is_url(url) || bucket_len == 0 || bucket_len > 63)
        return lsf_fail(err, LSF_E_USAGE, "%s: give an S3 location as s3://bucket/prefix", url);
    t->bucket = strndup(rest, bucket_len);
    t->prefix = strdup(slash ? slash + 1 : "");
    if (t->bucket == NULL || t->prefix == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    return LSF_OK;
}

enum lsf_code fetch_s3_new(const char *const *urls, size_t n_urls, const struct fetch_s3_opts *opts,
        struct fetch_s3 **out, struct lsf_err *err)
{
    struct fetch_s3 *s3 = calloc(1, sizeof(*s3));
    struct aws_config_opts cfg_opts = {opts->profile, opts->region, NULL};
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (s3 == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory");
    s3->opts = opts;
    s3->filter.include = opts->include;
    s3->filter.n_include = opts->n_include;
    s3->filter.exclude = opts->exclude;
    s3->filter.n_exclude = opts->n_exclude;
    if (opts->since && !fetch_s3_day_parse(opts->since, &s3->filter.since_day))
        rc = lsf_fail(err, LSF_E_USAGE, "--since %s: give a date as YYYY-MM-DD", opts->since);
    if (rc == LSF_OK && opts->until && !fetch_s3_day_parse(opts->until, &s3->filter.until_day))
        rc = lsf_fail(err, LSF_E_USAGE, "--until %s: give a date as YYYY-MM-DD", opts->until);
    if (rc == LSF_OK && s3->filter.since_day && s3->filter.until_day &&
            s3->filter.since_day > s3->filter.until_day)
        rc = lsf_fail(err, LSF_E_USAGE, "--since %s is after --until %s", opts->since,
                opts->until);
    if (rc == LSF_OK && opts->shard)
        rc = fetch_s3_shard_parse(opts->shard, getenv("JOB_COMPLETION_INDEX"),
                getenv("AWS_BATCH_JOB_ARRAY_INDEX"), &s3->filter.shard_index,
                &s3->filter.shard_count, err);
    s3->win_cap = opts->concurrency ? opts->concurrency : FETCH_S3_DEFAULT_CONCURRENCY;
    s3->cap_targets = n_urls ? n_urls : 1;
    s3->targets = calloc(s3->cap_targets, sizeof(*s3->targets));
    s3->is_pruned = s3->filter.since_day != 0 || s3->filter.until_day != 0;
    s3->win = calloc(s3->win_cap, sizeof(*s3->win));
    if (rc == LSF_OK && (s3->targets == NULL || s3->win == NULL))
        rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == LSF_OK && i < n_urls; i++) {
        s3->n_targets++;
        rc = parse_url(urls[i], &s3->targets[i], err);
        if (rc == LSF_OK && s3->is_pruned)
            s3->targets[i].kind = fetch_s3_list_kind(s3->targets[i].prefix, true);
    }
    if (rc == LSF_OK)
        rc = aws_session_open(&cfg_opts, AWS_SVC_S3, opts->endpoint_url,
                (unsigned)s3->win_cap, &s3->aws, err);
    if (rc != LSF_OK) {
        fetch_s3_free(s3);
        return rc;
    }
    *out = s3;
    return LSF_OK;
}

void fetch_s3_free(struct fetch_s3 *s3)
{
    if (s3 == NULL)
        return;
    for (size_t i = 0; i < s3->win_len; i++) {
        struct s3_slot *slot = &s3->win[(s3->win_head + i) % s3->win_cap];
        lsf_reader_close(&slot->rd);
        free(slot->name);
    }
    free(s3->win);
    aws_session_close(&s3->aws);
    for (size_t i = 0; i < s3->n_targets; i++) {
        free(s3->targets[i].bucket);
        free(s3->targets[i].prefix);
        free(s3->targets[i].token);
    }
    free(s3->targets);
    fetch_s3_page_cleanup(&s3->page);
    free(s3);
}

struct page_entry {
    char *key;
    uint64_t size;
    char *etag;
};

static int cmp_entries(const void *a, const void *b)
{
    return strcmp(((const struct page_entry *)a)->key, ((const struct page_entry *)b)->key);
}

/* Sort a page's entries bytewise by key, keeping sizes and ETags with their keys. */
static enum lsf_code sort_page(struct fetch_s3_page *page, struct lsf_err *err)
{
    struct page_entry *e = calloc(page->n_keys, sizeof(*e));

    if (e == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory sorting a ListObjectsV2 page");
    for (size_t i = 0; i < page->n_keys; i++)
        e[i] = (struct page_entry){page->keys[i], page->sizes[i], page->etags[i]};
    qsort(e, page->n_keys, sizeof(*e), cmp_entries);
    for (size_t i = 0; i < page->n_keys; i++) {
        page->keys[i] = e[i].key;
        page->sizes[i] = e[i].size;
        page->etags[i] = e[i].etag;
    }
    free(e);
    return LSF_OK;
}

/* Insert a listing of bucket/prefix at index at (the caller re-reads its target pointers). */
static enum lsf_code insert_target(struct fetch_s3 *s3, size_t at, const char *bucket,
        const char *prefix, struct lsf_err *err)
{
    struct s3_target t = {0};

    if (s3->n_targets == s3->cap_targets) {
        size_t cap = s3->cap_targets * 2;
        struct s3_target *grown = realloc(s3->targets, cap * sizeof(*grown));
        if (grown == NULL)
            return lsf_fail(err, LSF_E_NOMEM, "out of memory listing s3://%s/%s", bucket, prefix);
        s3->targets = grown;
        s3->cap_targets = cap;
    }
    t.bucket = strdup(bucket);
    t.prefix = strdup(prefix);
    t.kind = fetch_s3_list_kind(prefix, false);
    if (t.bucket == NULL || t.prefix == NULL) {
        free(t.bucket);
        free(t.prefix);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory listing s3://%s/%s", bucket, prefix);
    }
    memmove(&s3->targets[at + 1], &s3->targets[at], (s3->n_targets - at) * sizeof(t));
    s3->targets[at] = t;
    s3->n_targets++;
    return LSF_OK;
}

/* Bucket-level address and resource name of t, or of key in it. */
static enum lsf_code address(struct fetch_s3 *s3, const struct s3_target *t, const char *key,
        char host[AWS_HOST_MAX], struct lsf_buf *path, struct lsf_err *err)
{
    bool is_path_style = aws_s3_path_style(s3->aws.cfg, &s3->aws.ep, t->bucket);

    return aws_s3_address(&s3->aws.ep, is_path_style, t->bucket, key, host, path, err);
}

/* List the next page of t into s3->page. */
static enum lsf_code list_page(struct fetch_s3 *s3, struct s3_target *t, struct lsf_err *err)
{
    char host[AWS_HOST_MAX];
    char resource[S3_KEY_MAX + 80];
    char start_after[S3_KEY_MAX + 16];
    struct lsf_buf path;
    struct lsf_buf body;
    struct aws_kv query[6];
    size_t n_query = 0;
    enum lsf_code rc;

    snprintf(resource, sizeof(resource), "s3://%s/%s", t->bucket, t->prefix);
    lsf_buf_init(&path, S3_KEY_MAX * 4);
    lsf_buf_init(&body, S3_LIST_BODY_MAX);
    fetch_s3_page_cleanup(&s3->page);
    s3->page_pos = 0;
    query[n_query++] = (struct aws_kv){"list-type", "2"};
    query[n_query++] = (struct aws_kv){"encoding-type", "url"};
    if (t->prefix[0])
        query[n_query++] = (struct aws_kv){"prefix", t->prefix};
    if (t->token)
        query[n_query++] = (struct aws_kv){"continuation-token", t->token};
    if (t->kind == FETCH_S3_LIST_DISCOVER)
        query[n_query++] = (struct aws_kv){"delimiter", "/"};
    if (t->kind == FETCH_S3_LIST_DAYS && !t->token && s3->filter.since_day != 0) {
        /* Every key of the first day sorts after "<region>/YYYY/MM/DD", every earlier day's
         * before it (aws-facts 3.2: keys list in UTF-8 binary order). */
        int32_t d = s3->filter.since_day;
        snprintf(start_after, sizeof(start_after), "%s%04d/%02d/%02d", t->prefix,
                (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
        query[n_query++] = (struct aws_kv){"start-after", start_after};
    }
    rc = address(s3, t, NULL, host, &path, err);
    if (rc == LSF_OK) {
        struct aws_call call = {&s3->aws.ep, "GET", host, (const char *)path.data, query, n_query,
                AWS_PROTO_REST_XML, "ListObjectsV2", resource};
        rc = aws_client_call(s3->aws.client, &call, &body, err);
    }
    if (rc == LSF_OK) {
        rc = fetch_s3_list_parse((const char *)body.data, body.len, &s3->page, err);
        if (rc != LSF_OK)
            lsf_err_prefix(err, "%s: ", resource);
    }
    if (rc == LSF_OK && t->kind == FETCH_S3_LIST_DISCOVER && !t->has_page &&
            s3->page.n_keys == 0 && s3->page.n_prefixes == 0 && !s3->page.is_truncated) {
        /* Nothing at all: an empty folder, or a store that ignores delimiter below the first
         * level (s3rver 3.7.1 does). One flat listing tells them apart and loses nothing. */
        t->kind = FETCH_S3_LIST_FLAT;
        goto out;
    }
    t->has_page = true;
    free(t->token);
    t->token = NULL;
    if (rc == LSF_OK && s3->page.is_truncated) {
        t->token = strdup(s3->page.next_token);
        if (t->token == NULL)
            rc = lsf_fail(err, LSF_E_NOMEM, "out of memory");
    }
    if (rc != LSF_OK || !s3->page.is_truncated)
        t->is_done = true;
    if (rc == LSF_OK && s3->page.n_keys > 1)
        rc = sort_page(&s3->page, err);
    if (rc == LSF_OK && t->kind == FETCH_S3_LIST_DAYS && s3->filter.until_day != 0 &&
            s3->page.n_keys > 0 &&
            fetch_s3_key_day(s3->page.keys[s3->page.n_keys - 1]) > s3->filter.until_day) {
        t->is_done = true; /* the rest of the listing is after --until */
        free(t->token);
        t->token = NULL;
    }
out:
    lsf_buf_cleanup(&path);
    lsf_buf_cleanup(&body);
    return rc;
}

/* Queue one object's download into the window's tail slot: whole, or as byte ranges when the
 * listing says it is larger than --part-size. */
static void start_object(struct fetch_s3 *s3, const struct s3_target *t, const char *key,
        uint64_t size, const char *etag, struct s3_slot *slot)
{
    char host[AWS_HOST_MAX];
    struct lsf_buf path;
    size_t name_len = strlen(t->bucket) + strlen(key) + 7;
    uint64_t part_len = s3->opts->part_len ? s3->opts->part_len : FETCH_S3_DEFAULT_PART;

    lsf_buf_init(&path, S3_KEY_MAX * 4);
    slot->name = malloc(name_len);
    if (slot->name == NULL) {
        slot->rc = lsf_fail(&slot->err, LSF_E_NOMEM, "s3://%s/%s: out of memory", t->bucket, key);
        goto out;
    }
    snprintf(slot->name, name_len, "s3://%s/%s", t->bucket, key);
    slot->rc = address(s3, t, key, host, &path, &slot->err);
    if (slot->rc == LSF_OK && size != UINT64_MAX && size > part_len) {
        size_t buf_len = s3->opts->object_buf_len ? s3->opts->object_buf_len
                                                    : FETCH_S3_DEFAULT_OBJECT_BUF;
        slot->rc = fetch_s3_range_open(s3->aws.client, &s3->aws.ep, host, (const char *)path.data,
                slot->name, size, etag, part_len, buf_len, (unsigned)s3->win_cap, &slot->rd,
                &slot->err);
    } else if (slot->rc == LSF_OK) {
        struct aws_call call = {&s3->aws.ep, "GET", host, (const char *)path.data, NULL, 0,
                AWS_PROTO_REST_XML, "GetObject", slot->name};
        slot->rc = aws_client_stream(s3->aws.client, &call,
                s3->opts->object_buf_len ? s3->opts->object_buf_len : FETCH_S3_DEFAULT_OBJECT_BUF,
                &slot->rd, &slot->err);
    }
out:
    lsf_buf_cleanup(&path);
}

/* Fill the window up to its size (listing pages as needed). */
static void top_up(struct fetch_s3 *s3)
{
    while (s3->win_len < s3->win_cap && s3->cur < s3->n_targets) {
        struct s3_target *t = &s3->targets[s3->cur];
        struct s3_slot *slot = &s3->win[(s3->win_head + s3->win_len) % s3->win_cap];

        if (s3->page_pos < s3->page.n_keys) {
            size_t at = s3->page_pos++;
            const char *key = s3->page.keys[at];
            if (!fetch_s3_filter_keep(&s3->filter, key))
                continue;
            memset(slot, 0, sizeof(*slot));
            start_object(s3, t, key, s3->page.sizes[at], s3->page.etags[at], slot);
            s3->win_len++;
            continue;
        }
        if (t->is_done) {
            s3->cur++;
            continue;
        }
        memset(slot, 0, sizeof(*slot));
        slot->rc = list_page(s3, t, &slot->err);
        for (size_t i = 0; slot->rc == LSF_OK && i < s3->page.n_prefixes; i++) {
            t = &s3->targets[s3->cur];
            slot->rc = insert_target(s3, s3->cur + 1 + t->n_children, t->bucket,
                    s3->page.prefixes[i], &slot->err);
            t = &s3->targets[s3->cur];
            t->n_children += slot->rc == LSF_OK;
        }
        if (slot->rc != LSF_OK) {
            t = &s3->targets[s3->cur];
            t->is_done = true;
            /* The failure takes its place in the order; the target's listing ends. */
            size_t n = strlen(t->bucket) + strlen(t->prefix) + 7;
            slot->name = malloc(n);
            if (slot->name)
                snprintf(slot->name, n, "s3://%s/%s", t->bucket, t->prefix);
            s3->win_len++;
        }
    }
}

enum lsf_code fetch_s3_next(struct fetch_s3 *s3, char **name, struct lsf_reader *rd, bool *done,
        struct lsf_err *err)
{
    struct s3_slot slot;
    enum lsf_code rc;

    *name = NULL;
    *done = false;
    rd->ops = NULL;
    rd->self = NULL;
    top_up(s3);
    if (s3->win_len == 0) {
        *done = true;
        return LSF_OK;
    }
    slot = s3->win[s3->win_head];
    memset(&s3->win[s3->win_head], 0, sizeof(slot));
    s3->win_head = (s3->win_head + 1) % s3->win_cap;
    s3->win_len--;
    top_up(s3); /* keep the next downloads running while this one is scanned */
    *name = slot.name;
    if (slot.rc != LSF_OK) {
        lsf_reader_close(&slot.rd);
        return lsf_fail(err, slot.rc, "%s", slot.err.msg);
    }
    rc = dec_open(slot.rd, slot.name, rd, NULL, err);
    return rc;
}
