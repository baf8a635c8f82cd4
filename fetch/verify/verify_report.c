/*
 * verify_report: the verdicts of a verify run and their two renderings.
 *
 * The text form follows `aws cloudtrail validate-logs` (shared/spec/aws-facts.md 7.7): failure
 * lines "<Digest file|Log file>\t<s3 uri>\t<verdict>" on stderr, then "N/M digest files valid"
 * style counts on stdout, so people who know the AWS tool read it at once. What the AWS tool
 * does not have is added in the same shape: digests whose signature could not be checked (local
 * copies) are counted apart and never as valid, chain findings get "Digest chain" lines, and
 * manifest results "Object" lines. The JSONL form is one object per verdict plus a summary.
 */
#include "verify.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void verify_report_init(struct verify_report *rep)
{
    memset(rep, 0, sizeof(*rep));
}

void verify_report_cleanup(struct verify_report *rep)
{
    for (size_t i = 0; i < rep->n_items; i++) {
        free(rep->items[i].uri);
        free(rep->items[i].detail);
    }
    free(rep->items);
    memset(rep, 0, sizeof(*rep));
}

enum lsf_code verify_report_add(struct verify_report *rep, enum verify_kind kind,
        enum verify_verdict verdict, const char *uri, const char *fmt, ...)
{
    struct verify_item *it;
    char detail[4096];
    va_list ap;

    if (rep->n_items == rep->cap_items) {
        size_t cap = rep->cap_items ? 2 * rep->cap_items : 64;
        struct verify_item *grown = realloc(rep->items, cap * sizeof(*grown));

        if (grown == NULL)
            return LSF_E_NOMEM;
        rep->items = grown;
        rep->cap_items = cap;
    }
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    it = &rep->items[rep->n_items];
    it->kind = kind;
    it->verdict = verdict;
    it->uri = strdup(uri ? uri : "");
    it->detail = strdup(detail);
    if (it->uri == NULL || it->detail == NULL) {
        free(it->uri);
        free(it->detail);
        return LSF_E_NOMEM;
    }
    rep->n_items++;
    return LSF_OK;
}

bool verify_verdict_is_failure(enum verify_verdict v)
{
    return v != VERIFY_VALID && v != VERIFY_UNSIGNED && v != VERIFY_GAP && v != VERIFY_NOTE;
}

const char *verify_verdict_text(enum verify_verdict v)
{
    switch (v) {
    case VERIFY_VALID:
        return "valid";
    case VERIFY_UNSIGNED:
        return "signature NOT CHECKED";
    case VERIFY_NOT_FOUND:
        return "INVALID: not found";
    case VERIFY_BAD_SIGNATURE:
        return "INVALID: signature verification failed";
    case VERIFY_INVALID_FORMAT:
        return "INVALID: invalid format";
    case VERIFY_MOVED:
        return "INVALID: has been moved from its original location";
    case VERIFY_KEY_NOT_FOUND:
        return "INVALID: public key not found";
    case VERIFY_KEY_UNLOADABLE:
        return "INVALID: Unable to load PKCS #1 key";
    case VERIFY_HASH_MISMATCH:
        return "INVALID: hash value doesn't match";
    case VERIFY_LINK_MISMATCH:
        return "INVALID: does not match the link in the next digest";
    case VERIFY_MISSING_DIGESTS:
        return "INVALID: digests missing";
    case VERIFY_UNLISTED_LOG:
        return "INVALID: not listed in any digest";
    case VERIFY_CHECKSUM_MISMATCH:
        return "INVALID: checksum doesn't match";
    case VERIFY_ADDED:
        return "INVALID: added (not in the manifest)";
    case VERIFY_REMOVED:
        return "INVALID: removed (in the manifest, gone)";
    case VERIFY_CHANGED:
        return "INVALID: changed since the manifest";
    case VERIFY_UNREADABLE:
        return "INVALID: unreadable";
    case VERIFY_GAP:
        return "gap";
    case VERIFY_NOTE:
        return "note";
    }
    return "?";
}

const char *verify_verdict_name(enum verify_verdict v)
{
    static const char *const names[] = {"valid", "unsigned", "not_found", "bad_signature",
            "invalid_format", "moved", "public_key_not_found", "public_key_unloadable",
            "hash_mismatch", "link_mismatch", "missing_digests", "unlisted_log",
            "checksum_mismatch", "added", "removed", "changed", "unreadable", "gap", "note"};

    return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

const char *verify_kind_name(enum verify_kind k)
{
    switch (k) {
    case VERIFY_KIND_DIGEST:
        return "digest";
    case VERIFY_KIND_BACKFILL_DIGEST:
        return "backfill_digest";
    case VERIFY_KIND_LOG:
        return "log";
    case VERIFY_KIND_CHAIN:
        return "chain";
    case VERIFY_KIND_OBJECT:
        return "object";
    }
    return "?";
}

static const char *kind_label(enum verify_kind k)
{
    switch (k) {
    case VERIFY_KIND_DIGEST:
        return "Digest file";
    case VERIFY_KIND_BACKFILL_DIGEST:
        return "(backfill) Digest file";
    case VERIFY_KIND_LOG:
        return "Log file";
    case VERIFY_KIND_CHAIN:
        return "Digest chain";
    case VERIFY_KIND_OBJECT:
        return "Object";
    }
    return "?";
}

size_t verify_report_count(const struct verify_report *rep, enum verify_kind kind, int verdict)
{
    size_t n = 0;

    for (size_t i = 0; i < rep->n_items; i++)
        if (rep->items[i].kind == kind && (verdict < 0 || (int)rep->items[i].verdict == verdict))
            n++;
    return n;
}

/* Items of kind that are about one object (not gaps or notes). */
static void class_counts(const struct verify_report *rep, enum verify_kind kind, size_t *total,
        size_t *valid, size_t *unsigned_n, size_t *bad)
{
    *total = *valid = *unsigned_n = *bad = 0;
    for (size_t i = 0; i < rep->n_items; i++) {
        const struct verify_item *it = &rep->items[i];

        if (it->kind != kind || it->verdict == VERIFY_GAP || it->verdict == VERIFY_NOTE)
            continue;
        (*total)++;
        if (it->verdict == VERIFY_VALID)
            (*valid)++;
        else if (it->verdict == VERIFY_UNSIGNED)
            (*unsigned_n)++;
        else
            (*bad)++;
    }
}

bool verify_report_print_text(const struct verify_report *rep, bool verbose, FILE *out, FILE *err)
{
    static const struct {
        enum verify_kind kind;
        const char *noun;
    } classes[] = {{VERIFY_KIND_DIGEST, "digest files"},
            {VERIFY_KIND_BACKFILL_DIGEST, "backfill digest files"}, {VERIFY_KIND_LOG, "log files"},
            {VERIFY_KIND_OBJECT, "objects"}};
    bool is_failed = false;

    for (size_t i = 0; i < rep->n_items; i++) {
        const struct verify_item *it = &rep->items[i];
        bool is_bad = verify_verdict_is_failure(it->verdict);

        is_failed |= is_bad;
        if (it->verdict == VERIFY_GAP) {
            fprintf(err, "%s\n\n", it->detail);
            continue;
        }
        if (!is_bad && !verbose && it->verdict == VERIFY_VALID)
            continue;
        fprintf(is_bad ? err : out, "%s\t%s\t%s%s%s\n%s", kind_label(it->kind), it->uri,
                verify_verdict_text(it->verdict), it->detail[0] ? "\t" : "", it->detail,
                is_bad || it->verdict != VERIFY_VALID ? "\n" : "");
    }
    if (rep->range_start[0] != '\0')
        fprintf(out, "Results found for %s to %s:\n", rep->range_start, rep->range_end);
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        size_t total;
        size_t valid;
        size_t unsigned_n;
        size_t bad;

        class_counts(rep, classes[c].kind, &total, &valid, &unsigned_n, &bad);
        if (total == 0)
            continue;
        fprintf(out, "\n%zu/%zu %s valid", valid, total, classes[c].noun);
        if (bad > 0)
            fprintf(out, ", %zu/%zu %s INVALID", bad, total, classes[c].noun);
        if (unsigned_n > 0)
            fprintf(out, ", %zu/%zu %s with signatures NOT CHECKED (no S3 metadata and no "
                    "sidecar: a local copy; their hashes and chain links were checked)",
                    unsigned_n, total, classes[c].noun);
        fputc('\n', out);
    }
    {
        size_t chain = 0;

        for (size_t i = 0; i < rep->n_items; i++)
            chain += rep->items[i].kind == VERIFY_KIND_CHAIN &&
                     verify_verdict_is_failure(rep->items[i].verdict);
        if (chain > 0)
            fprintf(out, "\n%zu digest chain problem(s)\n", chain);
    }
    if (rep->n_items == 0)
        fprintf(out, "No digests found\n");
    fputc('\n', out);
    return is_failed;
}

bool verify_report_print_jsonl(const struct verify_report *rep, FILE *out)
{
    static const enum verify_kind kinds[] = {VERIFY_KIND_DIGEST, VERIFY_KIND_BACKFILL_DIGEST,
            VERIFY_KIND_LOG, VERIFY_KIND_OBJECT};
    bool is_failed = false;
    json_t *summary = json_object();
    json_t *line;
    char *text;

    for (size_t i = 0; i < rep->n_items; i++) {
        const struct verify_item *it = &rep->items[i];

        is_failed |= verify_verdict_is_failure(it->verdict);
        line = json_pack("{s:i, s:s, s:s, s:b, s:s, s:s}", "v", 1, "kind",
                verify_kind_name(it->kind), "verdict", verify_verdict_name(it->verdict), "valid",
                it->verdict == VERIFY_VALID, "uri", it->uri, "detail", it->detail);
        text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text)
            fprintf(out, "%s\n", text);
        free(text);
        json_decref(line);
    }
    for (size_t k = 0; summary && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t total;
        size_t valid;
        size_t unsigned_n;
        size_t bad;

        class_counts(rep, kinds[k], &total, &valid, &unsigned_n, &bad);
        json_object_set_new(summary, verify_kind_name(kinds[k]),
                json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "valid",
                        (json_int_t)valid, "invalid", (json_int_t)bad, "signature_not_checked",
                        (json_int_t)unsigned_n));
    }
    line = json_pack("{s:i, s:o, s:b}", "v", 1, "summary", summary, "failed", is_failed);
    text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text)
        fprintf(out, "%s\n", text);
    free(text);
    json_decref(line);
    return is_failed;
}
