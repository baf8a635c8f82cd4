/*
 * cli_rules: "logsift rules check PATH...". Loads every rule file (hsbench, Sigma .yml/.yaml,
 * folders of them, walked in name order), reports each refused file with its file:line
 * message and goes on with the next, compiles the Hyperscan database of what loaded, then
 * lists every rule: where it is, its id, level and how Hyperscan prefilters it.
 *
 * Exit status: 0 when every file loaded and the database compiled, 2 otherwise.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pat.h"
#include "pat_sigma.h"

static void rules_usage(FILE *to)
{
    fprintf(to,
            "usage: logsift rules check PATH...\n"
            "       logsift rules export PATH... > FILE.rules\n"
            "Validate rule files (hsbench .rules, Sigma .yml/.yaml, or folders of Sigma rules)\n"
            "and report, per rule, whether and how Hyperscan prefilters it. Refused rules are\n"
            "listed with file:line and the reason. Exit status: 0 all valid, 2 otherwise.\n"
            "export writes the Hyperscan patterns the rules compile to, as an hsbench file\n"
            "(for hsbench, a bare hs_scan or grep-class tools: the prefilter alone).\n"
            "  --default   also load the bundled default pack\n");
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load one path, or each rule file below a folder, counting refusals instead of stopping. */
static void check_path(struct pat_set *set, const char *path, unsigned depth, unsigned *n_bad)
{
    struct stat st;
    struct lsf_err err;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lsf_err_clear(&err);
        if (pat_set_add_path(set, path, &err) != LSF_OK) {
            printf("REFUSED %s\n", err.msg);
            (*n_bad)++;
        }
        return;
    }
    if (depth > 32 || (d = opendir(path)) == NULL) {
        printf("REFUSED %s: cannot open the folder\n", path);
        (*n_bad)++;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char **grown;
        if (de->d_name[0] == '.')
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        if (grown == NULL)
            break;
        names = grown;
        names[n] = malloc(strlen(path) + strlen(de->d_name) + 2);
        if (names[n] == NULL)
            break;
        sprintf(names[n++], "%s/%s", path, de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 &&
                (S_ISDIR(st.st_mode) || has_suffix(names[i], ".yml") ||
                        has_suffix(names[i], ".yaml") || has_suffix(names[i], ".rules")))
            check_path(set, names[i], depth + 1, n_bad);
        free(names[i]);
    }
    free(names);
}

/* Does some rule of the set have this id or Sigma name? */
static bool has_rule(const struct pat_set *set, const char *ref)
{
    for (size_t i = 0; i < pat_set_n_rules(set); i++) {
        if (pat_rule_is_named(pat_set_rule(set, i), ref))
            return true;
    }
    return false;
}

/* Correlations whose base rules are not loaded (the scan would refuse to start). */
static unsigned check_correlation_refs(const struct pat_set *set)
{
    unsigned n_bad = 0;

    for (size_t i = 0; i < pat_set_n_rules(set); i++) {
        const struct pat_rule *r = pat_set_rule(set, i);
        struct lsf_err err;
        unsigned n_missing = 0;
        if (r->sigma == NULL)
            continue;
        for (size_t k = 0; k < pat_sigma_corr_n_refs(r->sigma); k++) {
            const char *ref = pat_sigma_corr_ref(r->sigma, k);
            if (ref != NULL && !has_rule(set, ref)) {
                printf("REFUSED %s:%u: correlation %s: no loaded rule has the id or name "
                       "'%s'; check it together with its base rules\n", r->file, r->line,
                        r->id, ref);
                n_missing++;
            }
        }
        /* chained correlations: group-by readable from the inner one, no cycle */
        lsf_err_clear(&err);
        if (n_missing == 0 && pat_sigma_corr_check_chain(set, i, &err) != LSF_OK) {
            printf("REFUSED %s\n", err.msg);
            n_missing++;
        }
        n_bad += n_missing;
    }
    return n_bad;
}

/* The HS_FLAG_* bits of a pattern as hsbench flag letters. */
static void flag_letters(unsigned hs_flags, char *out)
{
    static const struct {
        unsigned flag;
        char letter;
    } letters[] = {
        {HS_FLAG_CASELESS, 'i'},  {HS_FLAG_DOTALL, 's'}, {HS_FLAG_MULTILINE, 'm'},
        {HS_FLAG_ALLOWEMPTY, 'V'}, {HS_FLAG_UTF8, '8'},   {HS_FLAG_UCP, 'W'},
        {HS_FLAG_PREFILTER, 'P'},  {HS_FLAG_SOM_LEFTMOST, 'L'},
    };

    for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
        if (hs_flags & letters[i].flag)
            *out++ = letters[i].letter;
    }
    *out = '\0';
}

/* The patterns whose hit makes the engine evaluate rule r: its trigger set (pat.h). */
static void print_triggers(const struct pat_set *set, size_t r)
{
    const char *sep = "    triggered by: ";

    for (size_t p = 0; p < pat_set_n_patterns(set); p++) {
        size_t n;
        const unsigned *rules = pat_set_rules_of_pattern(set, p, &n);
        for (size_t i = 0; i < n; i++) {
            if (rules[i] == r) {
                char flags[16];
                flag_letters(pat_set_pattern(set, p)->hs_flags, flags);
                printf("%s/%s/%s", sep, pat_set_pattern(set, p)->expr, flags);
                sep = " | ";
            }
        }
    }
    if (strcmp(sep, " | ") == 0)
        printf("\n");
}

static void print_rule(const struct pat_set *set, const struct pat_rule *rule)
{
    printf("%s:%u: %s [%s] \"%s\"", rule->file, rule->line, rule->id,
            pat_severity_name(rule->severity), rule->title);
    if (rule->formats)
        printf(" formats=%s", rule->formats);
    if (rule->sigma != NULL) {
        const char *tags = pat_sigma_rule_tags(rule->sigma);
        const char *sigma_id = pat_sigma_rule_sigma_id(rule->sigma);
        unsigned geo_line = 0;
        const char *geo_field = pat_sigma_rule_geoip_field(rule->sigma, &geo_line);
        if (sigma_id != NULL)
            printf(" sigma-id=%s", sigma_id);
        if (geo_field != NULL)
            printf(" needs=--geoip(%s)", geo_field);
        if (tags[0])
            printf(" tags=%s", tags);
        printf("\n    sigma, %s\n", pat_sigma_rule_info(rule->sigma));
        if (pat_sigma_corr_type(rule->sigma) != PAT_CORR_NONE) {
            static const char *const types[] = {"", "event_count", "value_count", "temporal",
                    "temporal_ordered"};
            printf("    correlation %s of", types[pat_sigma_corr_type(rule->sigma)]);
            for (size_t i = 0; i < pat_sigma_corr_n_refs(rule->sigma); i++) {
                const char *ref = pat_sigma_corr_ref(rule->sigma, i);
                printf(" %s", ref ? ref : "(this rule)");
            }
            if (pat_sigma_corr_timespan_ms(rule->sigma) == PAT_CORR_WHOLE_RUN)
                printf(" over the whole run");
            else
                printf(" within %lld s",
                        (long long)(pat_sigma_corr_timespan_ms(rule->sigma) / 1000));
            printf(", threshold %llu\n",
                    (unsigned long long)pat_sigma_corr_threshold(rule->sigma));
        }
        return;
    }
    printf("\n    hsbench, prefiltered: condition over %zu pattern reference%s, e.g. /%s/\n",
            rule->n_code, rule->n_code == 1 ? "" : "s",
            rule->n_code && rule->code[0].op == PAT_OP_HIT
                    ? pat_set_pattern(set, rule->code[0].arg)->expr
                    : "");
}

/* Load what argv names (--default for the bundled pack), counting refusals; the number of
 * sources named goes to *n_paths. */
static void load_args(struct pat_set *set, int argc, char **argv, unsigned *n_bad,
        int *n_paths)
{
    struct lsf_err err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--default") == 0) {
            lsf_err_clear(&err);
            if (pat_set_add_default(set, &err) != LSF_OK) {
                printf("REFUSED %s\n", err.msg);
                (*n_bad)++;
            }
        } else {
            check_path(set, argv[i], 0, n_bad);
        }
        (*n_paths)++;
    }
}

/*
 * "logsift rules export": the Hyperscan patterns a rule set compiles to, as an hsbench
 * file (ID:/regex/flags), so hsbench, a bare hs_scan or a grep-class tool can scan exactly
 * the literals logsift's prefilter scans. Rule logic (combinations, Sigma confirmation) is
 * not in it: each pattern stands alone.
 */
static int rules_export(int argc, char **argv)
{
    struct pat_set *set = NULL;
    struct lsf_err err;
    unsigned n_bad = 0;
    int n_paths = 0;

    lsf_err_clear(&err);
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        rules_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_ERROR : 0;
    }
    if (pat_set_new(&set, &err) != LSF_OK) {
        fprintf(stderr, "logsift rules: %s\n", err.msg);
        return CLI_EXIT_ERROR;
    }
    load_args(set, argc, argv, &n_bad, &n_paths);
    if (n_bad > 0) {
        fprintf(stderr, "logsift rules export: %u refused (run 'logsift rules check' on the same "
                "paths for the reasons)\n", n_bad);
        pat_set_free(set);
        return CLI_EXIT_ERROR;
    }
    printf("# Hyperscan patterns of: logsift rules export");
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    for (size_t i = 0; i < pat_set_n_patterns(set); i++) {
        const struct pat_pattern *p = pat_set_pattern(set, i);
        char flags[16];
        if (p->is_dropped)
            continue; /* not compiled (pat.h) */
        flag_letters(p->hs_flags, flags);
        printf("%u:/%s/%s", p->id, p->expr, flags);
        if (p->ext.flags & HS_EXT_FLAG_MIN_OFFSET)
            printf("{min_offset=%llu}", (unsigned long long)p->ext.min_offset);
        printf("\n");
    }
    pat_set_free(set);
    return fflush(stdout) == 0 ? 0 : CLI_EXIT_ERROR;
}

static int rules_check(int argc, char **argv)
{
    struct pat_set *set = NULL;
    struct pat_db *db = NULL;
    struct lsf_err err;
    unsigned n_bad = 0;
    size_t n_sigma = 0, n_unfiltered = 0, n_corr = 0, n_dropped = 0;
    int n_paths = 0;
    int status = CLI_EXIT_ERROR;

    lsf_err_clear(&err);
    if (pat_set_new(&set, &err) != LSF_OK) {
        fprintf(stderr, "logsift rules: %s\n", err.msg);
        return CLI_EXIT_ERROR;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        rules_usage(stdout);
        status = 0;
        goto out;
    }
    load_args(set, argc, argv, &n_bad, &n_paths);
    if (n_paths == 0) {
        rules_usage(stderr);
        goto out;
    }
    for (size_t r = 0; r < pat_set_n_rules(set); r++) {
        const struct pat_rule *rule = pat_set_rule(set, r);
        print_rule(set, rule);
        print_triggers(set, r);
        if (rule->sigma != NULL) {
            n_sigma++;
            if (!pat_sigma_rule_has_detection(rule->sigma))
                n_corr++;
            else
                n_unfiltered += rule->n_code == 0;
        }
    }
    n_bad += check_correlation_refs(set);
    for (size_t p = 0; p < pat_set_n_patterns(set); p++)
        n_dropped += pat_set_pattern(set, p)->is_dropped;
    if (pat_set_n_patterns(set) > 0) {
        lsf_err_clear(&err);
        if (pat_db_build(set, NULL, &db, &err) != LSF_OK) {
            printf("REFUSED %s\n", err.msg);
            n_bad++;
        }
    }
    printf("%zu rules loaded (%zu Sigma: %zu prefiltered, %zu confirmed on every event, %zu "
           "correlations); %zu Hyperscan patterns (%zu more left to confirmation); %u "
           "refused\n",
            pat_set_n_rules(set), n_sigma, n_sigma - n_unfiltered - n_corr, n_unfiltered, n_corr,
            pat_set_n_patterns(set) - n_dropped, n_dropped, n_bad);
    status = n_bad == 0 && pat_set_n_rules(set) > 0 ? 0 : CLI_EXIT_ERROR;
out:
    pat_db_free(db);
    pat_set_free(set);
    return status;
}

int cli_rules(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return rules_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return rules_export(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        rules_usage(stdout);
        return 0;
    }
    rules_usage(stderr);
    return CLI_EXIT_ERROR;
}
