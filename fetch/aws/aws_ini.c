/*
 * aws_ini: the AWS shared config and credentials files, read the way the AWS CLI reads them.
 *
 * botocore parses both files with Python's configparser.RawConfigParser (strict, default
 * delimiters and comment prefixes) and then turns any value that starts with a newline into a
 * one-level map (botocore/configloader.py raw_config_parse, _parse_nested). This file repeats
 * those rules so a file means the same to logsift as to `aws`: a line whose first non-blank
 * character is '#' or ';' is a comment, but '#' after a value is part of the value; a line
 * indented deeper than its key continues the value; "s3 =" followed by indented "k = v" lines
 * becomes keys "s3.k". Duplicate sections or keys are errors, as in configparser.
 *
 * The files hold secrets, so messages name the file and line number only, never the text.
 * The table is a flat array searched linearly: these files have tens of entries.
 */
#include "aws_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct ini_entry {
    char *section;
    char *key;
    char *value;
};

struct aws_ini {
    struct ini_entry *entries;
    size_t n_entries;
    size_t cap_entries;
    char **sections;
    size_t n_sections;
    size_t cap_sections;
};

static char *dup_range(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static void free_wiped(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void aws_ini_free(struct aws_ini *ini)
{
    if (ini == NULL)
        return;
    for (size_t i = 0; i < ini->n_entries; i++) {
        free(ini->entries[i].key);
        free_wiped(ini->entries[i].value);
    }
    for (size_t i = 0; i < ini->n_sections; i++)
        free(ini->sections[i]);
    free(ini->entries);
    free(ini->sections);
    free(ini);
}

const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key)
{
    if (ini == NULL)
        return NULL;
    for (size_t i = 0; i < ini->n_entries; i++) {
        if (strcmp(ini->entries[i].section, section) == 0 && strcmp(ini->entries[i].key, key) == 0)
            return ini->entries[i].value;
    }
    return NULL;
}

bool aws_ini_has_section(const struct aws_ini *ini, const char *section)
{
    if (ini == NULL)
        return false;
    for (size_t i = 0; i < ini->n_sections; i++) {
        if (strcmp(ini->sections[i], section) == 0)
            return true;
    }
    return false;
}

size_t aws_ini_section_count(const struct aws_ini *ini)
{
    return ini ? ini->n_sections : 0;
}

const char *aws_ini_section(const struct aws_ini *ini, size_t i)
{
    return ini->sections[i];
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

/* Add an entry, taking key and value (freed on failure). section is borrowed from the list. */
static bool add_entry(struct aws_ini *ini, char *section, char *key, char *value)
{
    if (key == NULL || value == NULL)
        goto fail;
    if (ini->n_entries == ini->cap_entries) {
        size_t cap = ini->cap_entries ? 2 * ini->cap_entries : 32;
        struct ini_entry *grown = realloc(ini->entries, cap * sizeof(*grown));
        if (grown == NULL)
            goto fail;
        ini->entries = grown;
        ini->cap_entries = cap;
    }
    ini->entries[ini->n_entries++] = (struct ini_entry){section, key, value};
    return true;
fail:
    free(key);
    free_wiped(value);
    return false;
}

static bool add_section(struct aws_ini *ini, const char *name, size_t len)
{
    char *copy = dup_range(name, len);

    if (copy == NULL)
        return false;
    if (ini->n_sections == ini->cap_sections) {
        size_t cap = ini->cap_sections ? 2 * ini->cap_sections : 8;
        char **grown = realloc(ini->sections, cap * sizeof(*grown));
        if (grown == NULL) {
            free(copy);
            return false;
        }
        ini->sections = grown;
        ini->cap_sections = cap;
    }
    ini->sections[ini->n_sections++] = copy;
    return true;
}

/* Append "\n" + piece to the value of the last entry (a continuation line). */
static bool append_line(struct ini_entry *e, const char *piece, size_t len)
{
    size_t old = strlen(e->value);
    char *grown = malloc(old + 1 + len + 1);

    if (grown == NULL)
        return false;
    memcpy(grown, e->value, old);
    grown[old] = '\n';
    memcpy(grown + old + 1, piece, len);
    grown[old + 1 + len] = '\0';
    free_wiped(e->value);
    e->value = grown;
    return true;
}

/*
 * botocore _parse_nested: a value that starts with a newline is a map of "k = v" lines, added to
 * ini as "key.k" entries. e itself is left to the caller.
 */
static enum lsf_code expand_nested(
        struct aws_ini *ini, const struct ini_entry *e, const char *name, struct lsf_err *err)
{
    const char *p = e->value;
    size_t key_len = strlen(e->key);

    while (*p) {
        size_t len = strcspn(p, "\n");
        const char *line = p;
        const char *eq = memchr(line, '=', len);
        p += len + (p[len] == '\n');
        trim(&line, &len);
        if (len == 0)
            continue;
        if (eq == NULL)
            return lsf_fail(err, LSF_E_USAGE,
                    "%s: [%s] %s: nested setting without '=' (write \"name = value\")", name,
                    e->section, e->key);
        const char *k = line;
        size_t k_len = (size_t)(eq - line);
        const char *v = eq + 1;
        size_t v_len = len - k_len - 1;
        trim(&k, &k_len);
        trim(&v, &v_len);
        char *full = malloc(key_len + 1 + k_len + 1);
        if (full != NULL) {
            memcpy(full, e->key, key_len);
            full[key_len] = '.';
            memcpy(full + key_len + 1, k, k_len);
            full[key_len + 1 + k_len] = '\0';
        }
        if (!add_entry(ini, e->section, full, dup_range(v, v_len)))
            return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
    }
    return LSF_OK;
}

/*
 * Post-processing of configparser and botocore: trailing blank lines go, nested maps open.
 * Entries are moved to a fresh table so the expansions can be appended as they come.
 */
static enum lsf_code finish(struct aws_ini *ini, const char *name, struct lsf_err *err)
{
    struct ini_entry *old = ini->entries;
    size_t n_old = ini->n_entries;
    enum lsf_code rc = LSF_OK;

    ini->entries = NULL;
    ini->n_entries = 0;
    ini->cap_entries = 0;
    for (size_t k = 0; k < n_old; k++) {
        struct ini_entry *e = &old[k];
        size_t len = strlen(e->value);
        while (len > 0 && (is_blank(e->value[len - 1]) || e->value[len - 1] == '\n'))
            e->value[--len] = '\0';
        if (rc == LSF_OK && e->value[0] == '\n') {
            rc = expand_nested(ini, e, name, err);
        } else if (rc == LSF_OK) {
            if (!add_entry(ini, e->section, e->key, e->value))
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
            continue; /* taken by add_entry, also on failure */
        }
        free(e->key);
        free_wiped(e->value);
    }
    free(old);
    return rc;
}

enum lsf_code aws_ini_parse(
        const char *text, size_t len, const char *name, struct aws_ini **out, struct lsf_err *err)
{
    struct aws_ini *ini = calloc(1, sizeof(*ini));
    char *section = NULL;          /* current section, borrowed from ini->sections */
    struct ini_entry *last = NULL; /* the key a continuation line extends */
    size_t key_indent = 0;
    size_t lineno = 0;
    size_t pos = 0;
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (ini == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
    while (pos < len && rc == LSF_OK) {
        const char *line = text + pos;
        size_t line_len = 0;
        while (pos + line_len < len && line[line_len] != '\n')
            line_len++;
        pos += line_len + 1;
        lineno++;

        const char *v = line;
        size_t v_len = line_len;
        trim(&v, &v_len);
        if (v_len == 0 || v[0] == '#' || v[0] == ';')
            continue; /* blank lines and comments neither end nor extend a value */
        size_t indent = (size_t)(v - line);
        if (last != NULL && indent > key_indent) {
            if (!append_line(last, v, v_len))
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
            continue;
        }
        key_indent = indent;
        last = NULL;
        if (v[0] == '[') {
            const char *close = v + v_len;
            while (close > v && close[-1] != ']')
                close--;
            if (close - v < 3) {
                rc = lsf_fail(
                        err, LSF_E_USAGE, "%s line %zu: malformed [section] header", name, lineno);
                break;
            }
            size_t s_len = (size_t)(close - 1 - (v + 1));
            char *dup = dup_range(v + 1, s_len);
            if (dup == NULL) {
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
                break;
            }
            bool seen = aws_ini_has_section(ini, dup);
            free(dup);
            if (seen) {
                rc = lsf_fail(err, LSF_E_USAGE, "%s line %zu: section [%.*s] appears twice", name,
                        lineno, (int)(s_len < 100 ? s_len : 100), v + 1);
                break;
            }
            if (!add_section(ini, v + 1, s_len)) {
                rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
                break;
            }
            section = ini->sections[ini->n_sections - 1];
            continue;
        }
        if (section == NULL) {
            rc = lsf_fail(err, LSF_E_USAGE, "%s line %zu: setting before any [section] header",
                    name, lineno);
            break;
        }
        size_t k_len = strcspn(v, "=:");
        if (k_len >= v_len) {
            rc = lsf_fail(err, LSF_E_USAGE, "%s line %zu: expected \"name = value\" in [%s]", name,
                    lineno, section);
            break;
        }
        const char *k = v;
        const char *val = v + k_len + 1;
        size_t val_len = v_len - k_len - 1;
        trim(&k, &k_len);
        trim(&val, &val_len);
        if (k_len == 0) {
            rc = lsf_fail(err, LSF_E_USAGE, "%s line %zu: a setting without a name in [%s]", name,
                    lineno, section);
            break;
        }
        char *key = dup_range(k, k_len);
        if (key != NULL) {
            for (char *c = key; *c; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c); /* configparser optionxform */
            if (aws_ini_get(ini, section, key) != NULL) {
                rc = lsf_fail(err, LSF_E_USAGE, "%s line %zu: [%s] sets %s twice", name, lineno,
                        section, key);
                free(key);
                break;
            }
        }
        if (!add_entry(ini, section, key, dup_range(val, val_len))) {
            rc = lsf_fail(err, LSF_E_NOMEM, "%s: out of memory", name);
            break;
        }
        last = &ini->entries[ini->n_entries - 1];
    }
    if (rc == LSF_OK)
        rc = finish(ini, name, err);
    if (rc != LSF_OK) {
        aws_ini_free(ini);
        return rc;
    }
    *out = ini;
    return LSF_OK;
}
