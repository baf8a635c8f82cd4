/*
 * pat_sigma_load: where rules come from. A path on the command line may be an hsbench rules
 * file, a Sigma .yml/.yaml file, or a directory of Sigma files (walked recursively, in name
 * order, so two runs load the same set in the same order); the bundled packs
 * (patterns/packs, embedded at build time) load the same way.
 *
 * Each Sigma file goes through parse (pat_sigma_parse.c), prefilter compilation
 * (pat_sigma_prefilter.c) and into the set (pat_set_add_sigma), all or nothing per file.
 */
#include "pat_sigma_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lsf_buf.h"

/* Frame formats (frame.h names) of each logsource kind. Firehose and cwl-export carry either
 * kind: the engine hands the evaluator the message as a JSON record or a line. */
static const char *formats_of(enum sg_log_kind kind)
{
    switch (kind) {
    case SG_LOG_JSON:
        return "cloudtrail,json-array,json-lines,json-stream,firehose,cwl-export";
    case SG_LOG_LINE:
        return "syslog,cwl-export,firehose";
    case SG_LOG_ANY:
        break;
    }
    return NULL;
}

/* The file name without folders and .yml/.yaml, plus "#N" for the Nth rule (N > 1). */
static void rule_name_of(const char *path, size_t doc_idx, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".yml") == 0)
        n -= 4;
    else if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
        n -= 5;
    if (doc_idx == 0)
        snprintf(out, len, "%.*s", (int)n, base);
    else
        snprintf(out, len, "%.*s#%zu", (int)n, base, doc_idx + 1);
}

enum lsf_code pat_sigma_add_text(struct pat_set *set, const char *name, const char *text,
        size_t len, struct lsf_err *err)
{
    struct sg_parsed *docs = NULL;
    size_t n = 0;
    struct pat_set_mark mark;
    enum lsf_code rc;

    pat_set_mark_get(set, &mark);
    rc = sg_parse_text(name, text, len, &docs, &n, err);
    for (size_t i = 0; i < n && rc == LSF_OK; i++) {
        struct sg_prefilter pf;
        char doc_name[600];

        /* A file with one rule names it ("aws_cloudtrail_stop_logging"): readable in
         * findings, alerts and metric dimensions, as SigmaHQ names its files. In a file of
         * several rules each keeps its Sigma id, or is "file#N" without one. The Sigma id
         * stays with the rule either way, for correlations and `rules check`. */
        if (n == 1 || docs[i].id == NULL) {
            rule_name_of(name, i, doc_name, sizeof(doc_name));
            docs[i].rule->sigma_id = docs[i].id;
            docs[i].id = strdup(doc_name);
            if (docs[i].id == NULL)
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading rules", name);
        } else {
            docs[i].rule->sigma_id = strdup(docs[i].id);
            if (docs[i].rule->sigma_id == NULL)
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory reading rules", name);
        }
        memset(&pf, 0, sizeof(pf));
        if (rc == LSF_OK)
            rc = sg_prefilter_build(docs[i].rule, &pf, err);
        if (rc == LSF_OK)
            rc = pat_set_add_sigma(set, name, &docs[i], &pf,
                    formats_of(docs[i].rule->log_kind), err);
        sg_prefilter_cleanup(&pf);
    }
    for (size_t i = 0; i < n; i++)
        sg_parsed_cleanup(&docs[i]);
    free(docs);
    if (rc != LSF_OK && pat_set_mark_restore(set, &mark, err) != LSF_OK)
        rc = LSF_E_NOMEM; /* all or nothing per file; the first message is kept */
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_sigma_name(const char *path)
{
    return has_suffix(path, ".yml") || has_suffix(path, ".yaml");
}

static enum lsf_code read_file(const char *path, struct lsf_buf *raw, struct lsf_err *err)
{
    unsigned char chunk[65536];
    struct lsf_err buf_err;
    enum lsf_code rc = LSF_OK;
    FILE *fp = fopen(path, "rb");

    lsf_err_clear(&buf_err);
    if (fp == NULL)
        return lsf_fail(err, LSF_E_IO, "%s: cannot open the rules file (%s); check the path",
                path, strerror(errno));
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), fp);
        if (n > 0 && lsf_buf_append(raw, chunk, n, &buf_err) != LSF_OK) {
            rc = lsf_fail(err, buf_err.code == LSF_E_NOMEM ? LSF_E_NOMEM : LSF_E_RULE,
                    "%s: rules file is larger than %zu MiB (%s); split it", path,
                    PAT_RULES_MAX_BYTES >> 20, buf_err.msg);
            break;
        }
        if (n < sizeof(chunk))
            break;
    }
    if (rc == LSF_OK && ferror(fp))
        rc = lsf_fail(err, LSF_E_IO, "%s: cannot read the rules file (%s)", path,
                strerror(errno));
    fclose(fp);
    return rc;
}

static enum lsf_code add_sigma_file(struct pat_set *set, const char *path, struct lsf_err *err)
{
    struct lsf_buf raw;
    enum lsf_code rc;

    lsf_buf_init(&raw, PAT_RULES_MAX_BYTES);
    rc = read_file(path, &raw, err);
    if (rc == LSF_OK)
        rc = pat_sigma_add_text(set, path, (const char *)raw.data, raw.len, err);
    lsf_buf_cleanup(&raw);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .yml/.yaml below dir, in name order; dot-entries are skipped. */
static enum lsf_code add_dir(struct pat_set *set, const char *dir, unsigned depth,
        struct lsf_err *err)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    enum lsf_code rc = LSF_OK;

    if (depth > 32)
        return lsf_fail(err, LSF_E_RULE, "%s: rule folders nest deeper than 32 levels (a "
                "symlink loop?)", dir);
    d = opendir(dir);
    if (d == NULL)
        return lsf_fail(err, LSF_E_IO, "%s: cannot open the rules folder (%s)", dir,
                strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char **grown;
        if (de->d_name[0] == '.')
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        if (grown == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory listing rules", dir);
            break;
        }
        names = grown;
        names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (names[n] == NULL) {
            rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory listing rules", dir);
            break;
        }
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (rc == LSF_OK)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && rc == LSF_OK; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0)
            continue; /* vanished or a dangling link: nothing to load */
        if (S_ISDIR(st.st_mode))
            rc = add_dir(set, names[i], depth + 1, err);
        else if (S_ISREG(st.st_mode) && is_sigma_name(names[i]))
            rc = add_sigma_file(set, names[i], err);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

enum lsf_code pat_set_add_path(struct pat_set *set, const char *path, struct lsf_err *err)
{
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return add_dir(set, path, 0, err);
    if (is_sigma_name(path))
        return add_sigma_file(set, path, err);
    return pat_set_add_file(set, path, err);
}

enum lsf_code pat_sigma_add_embedded(struct pat_set *set, struct lsf_err *err)
{
    enum lsf_code rc = LSF_OK;

    size_t first = set->n_rules;

    for (size_t i = 0; i < pat_default_n_packs && rc == LSF_OK; i++)
        rc = pat_sigma_add_text(set, pat_default_packs[i].name,
                (const char *)pat_default_packs[i].bytes, pat_default_packs[i].len, err);
    /* Marked here, not by file name: a -r file never counts as built in. */
    for (size_t i = first; rc == LSF_OK && i < set->n_rules; i++) {
        if (set->rules[i].sigma != NULL)
            set->rules[i].sigma->is_builtin = true;
    }
    return rc;
}
