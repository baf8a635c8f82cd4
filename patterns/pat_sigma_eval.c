/*
 * pat_sigma_eval: the plain evaluator of a Sigma detection on one event (semantics in
 * pat_sigma.h). It is what confirms a prefilter hit, and, in confirm-only mode, what runs on
 * every event: the differential test holds the prefilter to it.
 *
 * Design: a JSON event is tokenized at most once (pat_json_index, on the first field
 * lookup) and every field lookup walks the tokens with a visitor, so values inside arrays and
 * dotted keys need no copies, and fields no rule names are never decoded. A line event has four fields cut out of the line once (offsets, no copies).
 * Regexes run on Hyperscan with this context's scratch, sized at creation for all of the
 * set's regexes.
 */
#include "pat_sigma_int.h"
#include "pat_geoip.h"
#include "pat_json_index.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest dotted key tried when a field name's parts do not walk (keys holding dots). */
#define SG_TEXT_MAX 64

enum line_field {
    LF_HOSTNAME = 0,
    LF_PROGRAM,
    LF_PID,
    LF_MESSAGE,
    LF_USER,  /* sshd/PAM/sudo: the account named in the message */
    LF_RHOST, /* sshd/PAM: the remote address */
    LF_N
};

static const char *const line_field_names[LF_N] = {"hostname", "program", "pid", "message",
        "user", "rhost"};

struct pat_sigma_event {
    const unsigned char *bytes;
    size_t len;
    bool is_json;
    bool is_parsed;
    struct pat_json_index *json; /* the tokens of a JSON event */
    bool is_json_valid;          /* parsed, and valid JSON */
    size_t lf_off[LF_N], lf_len[LF_N];
    bool lf_has[LF_N];
    /* user and rhost are read from the message on their first lookup (most rules and
     * correlations ask for one of them at most) */
    bool is_user_pending, is_rhost_pending;
    hs_scratch_t *scratch;       /* for SG_RE values; NULL when the set has none */
    enum sg_log_kind rule_kind;  /* of the rule being evaluated */
    const struct pat_geoip *geoip; /* --geoip databases (borrowed), or NULL */
    bool is_geo_done;            /* geo looked up for this event */
    bool has_geo;
    struct lsf_geo geo;
};

enum leaf_kind {
    LEAF_TEXT = 0, /* string, number or boolean, as text */
    LEAF_NULL,
    LEAF_OTHER     /* object */
};

struct leaf {
    enum leaf_kind kind;
    const char *s;
    size_t n;
};

typedef bool (*visit_fn)(void *ctx, const struct leaf *lf);

/* ---- context ---- */

static enum lsf_code alloc_scratch_for(const struct sg_value *v, hs_scratch_t **scratch,
        struct lsf_err *err)
{
    if (v->kind != SG_RE)
        return LSF_OK;
    if (hs_alloc_scratch(v->re, scratch) != HS_SUCCESS)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory allocating regex scratch space");
    return LSF_OK;
}

enum lsf_code pat_sigma_event_new(const struct pat_set *set, struct pat_sigma_event **out,
        struct lsf_err *err)
{
    struct pat_sigma_event *ev = calloc(1, sizeof(*ev));
    enum lsf_code rc = LSF_OK;

    *out = NULL;
    if (ev == NULL || (ev->json = pat_json_index_new()) == NULL) {
        free(ev);
        return lsf_fail(err, LSF_E_NOMEM, "out of memory creating a Sigma evaluator");
    }
    for (size_t r = 0; r < pat_set_n_rules(set) && rc == LSF_OK; r++) {
        const struct pat_sigma_rule *sr = pat_set_rule(set, r)->sigma;
        if (sr == NULL || sr->n_regex == 0)
            continue;
        for (size_t s = 0; s < sr->n_sels && rc == LSF_OK; s++) {
            for (size_t m = 0; m < sr->sels[s].n_maps && rc == LSF_OK; m++) {
                const struct sg_map *map = &sr->sels[s].maps[m];
                for (size_t f = 0; f < map->n_fields && rc == LSF_OK; f++) {
                    for (size_t v = 0; v < map->fields[f].n_values && rc == LSF_OK; v++)
                        rc = alloc_scratch_for(&map->fields[f].values[v], &ev->scratch, err);
                }
            }
        }
    }
    if (rc != LSF_OK) {
        pat_sigma_event_free(ev);
        return rc;
    }
    *out = ev;
    return LSF_OK;
}

void pat_sigma_event_free(struct pat_sigma_event *ev)
{
    if (ev == NULL)
        return;
    pat_json_index_free(ev->json);
    if (ev->scratch != NULL)
        hs_free_scratch(ev->scratch);
    free(ev);
}

void pat_sigma_event_reset(struct pat_sigma_event *ev, const unsigned char *bytes, size_t len,
        bool is_json)
{
    ev->is_json_valid = false;
    ev->bytes = bytes;
    ev->len = len;
    ev->is_json = is_json;
    ev->is_parsed = false;
    ev->is_user_pending = false;
    ev->is_rhost_pending = false;
    ev->is_geo_done = false;
}

bool pat_sigma_event_is_parsed(const struct pat_sigma_event *ev)
{
    return ev->is_parsed;
}

void pat_sigma_event_set_geoip(struct pat_sigma_event *ev, const struct pat_geoip *geoip)
{
    ev->geoip = geoip;
    ev->is_geo_done = false;
}

/* ---- line fields ---- */

static bool is_sp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Position just after needle in b[from..n), or SIZE_MAX. memchr finds the candidates by the
 * needle's first non-blank byte (blanks are everywhere in a log line). */
static size_t after(const unsigned char *b, size_t from, size_t n, const char *needle)
{
    const size_t k = strlen(needle);
    size_t a = 0;

    while (a + 1 < k && needle[a] == ' ')
        a++;
    while (from <= n && k <= n - from) {
        const unsigned char *hit = memchr(b + from + a, (unsigned char)needle[a], n - k + 1 - from);
        size_t i;
        if (hit == NULL)
            return SIZE_MAX;
        i = (size_t)(hit - b) - a;
        if (memcmp(b + i, needle, k) == 0)
            return i + k;
        from = i + 1;
    }
    return SIZE_MAX;
}

/* The token (up to a blank or ';') at pos, as field f; false when empty. */
static bool take_token(struct pat_sigma_event *ev, enum line_field f, size_t pos)
{
    size_t end = pos;

    if (pos == SIZE_MAX)
        return false;
    while (end < ev->len && !is_sp(ev->bytes[end]) && ev->bytes[end] != ';')
        end++;
    if (end == pos)
        return false;
    ev->lf_has[f] = true;
    ev->lf_off[f] = pos;
    ev->lf_len[f] = end - pos;
    return true;
}

static bool is_addr_char(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
            c == '.';
}

static void set_span(struct pat_sigma_event *ev, enum line_field f, size_t from, size_t to)
{
    ev->lf_has[f] = true;
    ev->lf_off[f] = from;
    ev->lf_len[f] = to - from;
}

static size_t token_end(const unsigned char *b, size_t p, size_t n)
{
    while (p < n && !is_sp(b[p]))
        p++;
    return p;
}

/*
 * rhost from "<lead>[skip tokens ]X port N", at the first place lead is followed by that
 * shape (OpenSSH: "from X port", "for X port", "negotiate with X port", "authenticating user
 * U X port", "invalid user U X port"). A skipped token may be empty ("invalid user  X").
 */
static bool take_before_port(struct pat_sigma_event *ev, size_t m, const char *lead, int skip)
{
    const unsigned char *b = ev->bytes;
    size_t n = ev->len;

    for (size_t p = after(b, m, n, lead); p != SIZE_MAX; p = after(b, p, n, lead)) {
        size_t x = p, e;
        int k = 0;
        for (; k < skip; k++) {
            x = token_end(b, x, n);
            if (x >= n || b[x] != ' ')
                break;
            x++;
        }
        if (k < skip)
            continue;
        e = token_end(b, x, n);
        if (e > x && e + 6 < n && memcmp(b + e, " port ", 6) == 0 && is_digit(b[e + 6])) {
            set_span(ev, LF_RHOST, x, e);
            return true;
        }
    }
    return false;
}

/* rhost from " from A" where A is an address ending the message or followed by a blank
 * ("Invalid user U from A"). */
static bool take_bare_from(struct pat_sigma_event *ev, size_t m)
{
    const unsigned char *b = ev->bytes;
    size_t n = ev->len;

    for (size_t p = after(b, m, n, " from "); p != SIZE_MAX; p = after(b, p, n, " from ")) {
        size_t e = p;
        while (e < n && is_addr_char(b[e]))
            e++;
        if (e > p && (e == n || is_sp(b[e]))) {
            set_span(ev, LF_RHOST, p, e);
            return true;
        }
    }
    return false;
}

/* rhost from sshd's tcp-wrappers refusal "refused connect from H (A)". */
static bool take_refused_from(struct pat_sigma_event *ev, size_t m)
{
    const unsigned char *b = ev->bytes;
    size_t n = ev->len, p = after(b, m, n, "refused connect from "), x, e;

    if (p == SIZE_MAX)
        return false;
    x = token_end(b, p, n);
    if (x == p || x + 2 >= n || b[x + 1] != '(')
        return false;
    x += 2;
    for (e = x; e < n && b[e] != ')' && !is_sp(b[e]); e++)
        ;
    if (e == x || e >= n || b[e] != ')')
        return false;
    set_span(ev, LF_RHOST, x, e);
    return true;
}

/*
 * user and rhost from the sshd, PAM and sudo messages of auth.log, read where OpenSSH, PAM and
 * sudo write them: "invalid user U", "Invalid user U", "Failed|Accepted <method> for U from
 * A", "authenticating user U", "user=U", "rhost=A", and sudo's "U : ..." prefix; rhost also from OpenSSH's "from A port
 * N", "from A", "for A port N", "negotiate with A port N", "authenticating user U A port N",
 * "invalid user U A port N" and "refused connect from H (A)", the first that fits in that
 * order (the reference evaluator, tests/accuracy/sigma_ref.py, reads the same forms). Values
 * are substrings of the line, so prefilter literals on them stay necessary. The two are
 * independent, and each is read on its first lookup (line_field_has).
 */
static void parse_auth_user(struct pat_sigma_event *ev)
{
    const unsigned char *b = ev->bytes;
    size_t m = ev->lf_off[LF_MESSAGE], n = ev->len, p;

    if (!take_token(ev, LF_USER, after(b, m, n, "invalid user ")) &&
            !take_token(ev, LF_USER, after(b, m, n, "Invalid user ")) &&
            !((p = after(b, m, n, " for ")) != SIZE_MAX && after(b, p, n, " from ") != SIZE_MAX &&
                    take_token(ev, LF_USER, p)) &&
            !take_token(ev, LF_USER, after(b, m, n, "authenticating user ")) &&
            !take_token(ev, LF_USER, after(b, m, n, " user=")) && ev->lf_has[LF_PROGRAM] &&
            ev->lf_len[LF_PROGRAM] == 4 && memcmp(b + ev->lf_off[LF_PROGRAM], "sudo", 4) == 0 &&
            (p = after(b, m, n, " : ")) != SIZE_MAX) {
        size_t s = m;
        while (s < n && is_sp(b[s]))
            s++;
        if (p - 3 > s) {
            ev->lf_has[LF_USER] = true;
            ev->lf_off[LF_USER] = s;
            ev->lf_len[LF_USER] = p - 3 - s;
        }
    }
}

static void parse_auth_rhost(struct pat_sigma_event *ev)
{
    const unsigned char *b = ev->bytes;
    size_t m = ev->lf_off[LF_MESSAGE], n = ev->len;

    (void)(take_before_port(ev, m, " from ", 0) ||
            take_token(ev, LF_RHOST, after(b, m, n, "rhost=")) || take_bare_from(ev, m) ||
            take_before_port(ev, m, "authenticating user ", 1) ||
            take_before_port(ev, m, "invalid user ", 1) ||
            take_before_port(ev, m, " for ", 0) ||
            take_before_port(ev, m, "negotiate with ", 0) || take_refused_from(ev, m));
}

/* The message is cut out: user and rhost may be read from it when asked for. */
static void defer_auth_fields(struct pat_sigma_event *ev)
{
    ev->is_user_pending = true;
    ev->is_rhost_pending = true;
}

/* Does the (parsed) line have field f? Reads user and rhost on their first lookup. */
static bool line_field_has(struct pat_sigma_event *ev, enum line_field f)
{
    if (f == LF_USER && ev->is_user_pending) {
        ev->is_user_pending = false;
        parse_auth_user(ev);
    } else if (f == LF_RHOST && ev->is_rhost_pending) {
        ev->is_rhost_pending = false;
        parse_auth_rhost(ev);
    }
    return ev->lf_has[f];
}

static void set_field(struct pat_sigma_event *ev, enum line_field f, size_t from, size_t to)
{
    if (to == from || (to - from == 1 && ev->bytes[from] == '-'))
        return; /* empty, or RFC 5424's NILVALUE */
    set_span(ev, f, from, to);
}

/*
 * RFC 5424 (section 6): "<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG", SD
 * being "-" or [...] elements (with \] escapes inside). APP-NAME is the program. False when
 * the line is not of that form.
 */
static bool parse_5424(struct pat_sigma_event *ev)
{
    const unsigned char *b = ev->bytes;
    size_t n = ev->len, i = 1, tok[5][2];

    if (n < 4 || b[0] != '<')
        return false;
    while (i < n && is_digit(b[i]))
        i++;
    if (i == 1 || i + 1 >= n || b[i] != '>' || !is_digit(b[i + 1]))
        return false;
    for (i += 1; i < n && is_digit(b[i]); i++)
        ;
    for (int t = 0; t < 5; t++) { /* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID */
        if (i >= n || b[i] != ' ')
            return false;
        tok[t][0] = ++i;
        while (i < n && b[i] != ' ')
            i++;
        tok[t][1] = i;
        if (tok[t][1] == tok[t][0])
            return false;
    }
    if (i + 1 >= n || b[i] != ' ')
        return false;
    i++;
    if (b[i] == '-') {
        i++;
    } else if (b[i] == '[') {
        while (i < n && b[i] == '[') {
            for (i++; i < n && b[i] != ']'; i++) {
                if (b[i] == '\\')
                    i++;
            }
            if (i >= n)
                return false;
            i++;
        }
    } else {
        return false;
    }
    if (i < n && b[i] == ' ')
        i++;
    memset(ev->lf_has, 0, sizeof(ev->lf_has));
    set_field(ev, LF_HOSTNAME, tok[1][0], tok[1][1]);
    set_field(ev, LF_PROGRAM, tok[2][0], tok[2][1]);
    set_field(ev, LF_PID, tok[3][0], tok[3][1]);
    ev->lf_has[LF_MESSAGE] = true;
    ev->lf_off[LF_MESSAGE] = i;
    ev->lf_len[LF_MESSAGE] = n - i;
    defer_auth_fields(ev);
    return true;
}

/* Cut "TS host prog[pid]: msg" (RFC 3164 "Mmm dd hh:mm:ss" or an ISO-8601 stamp), or an RFC
 * 5424 line. */
static void parse_line(struct pat_sigma_event *ev)
{
    const unsigned char *b = ev->bytes;
    size_t n = ev->len, i = 0, start;

    memset(ev->lf_has, 0, sizeof(ev->lf_has));
    ev->is_user_pending = false;
    ev->is_rhost_pending = false;
    if (parse_5424(ev))
        return;
    if (n >= 16 && b[3] == ' ' && b[6] == ' ' && b[9] == ':' && b[12] == ':' && b[15] == ' ') {
        i = 16;
    } else if (n >= 11 && is_digit(b[0]) && is_digit(b[3]) && b[4] == '-' && b[10] == 'T') {
        while (i < n && !is_sp(b[i]))
            i++;
        while (i < n && is_sp(b[i]))
            i++;
    } else {
        ev->lf_has[LF_MESSAGE] = true;
        ev->lf_off[LF_MESSAGE] = 0;
        ev->lf_len[LF_MESSAGE] = n;
        return;
    }
    start = i;
    while (i < n && !is_sp(b[i]))
        i++;
    if (i > start) {
        ev->lf_has[LF_HOSTNAME] = true;
        ev->lf_off[LF_HOSTNAME] = start;
        ev->lf_len[LF_HOSTNAME] = i - start;
    }
    while (i < n && is_sp(b[i]))
        i++;
    start = i;
    while (i < n && b[i] != '[' && b[i] != ':' && !is_sp(b[i]))
        i++;
    if (i < n && (b[i] == '[' || b[i] == ':') && i > start) {
        ev->lf_has[LF_PROGRAM] = true;
        ev->lf_off[LF_PROGRAM] = start;
        ev->lf_len[LF_PROGRAM] = i - start;
        if (b[i] == '[') {
            size_t p0 = ++i;
            while (i < n && b[i] != ']')
                i++;
            if (i < n) {
                ev->lf_has[LF_PID] = true;
                ev->lf_off[LF_PID] = p0;
                ev->lf_len[LF_PID] = i - p0;
                i++;
            }
        }
        if (i < n && b[i] == ':')
            i++;
        while (i < n && is_sp(b[i]))
            i++;
    } else {
        i = start; /* no tag: the rest is the message */
    }
    ev->lf_has[LF_MESSAGE] = true;
    ev->lf_off[LF_MESSAGE] = i;
    ev->lf_len[LF_MESSAGE] = n - i;
    defer_auth_fields(ev);
}

static void ensure_parsed(struct pat_sigma_event *ev)
{
    if (ev->is_parsed)
        return;
    ev->is_parsed = true;
    if (ev->is_json)
        ev->is_json_valid = pat_json_index_parse(ev->json, (const char *)ev->bytes, ev->len);
    else
        parse_line(ev);
}

/* ---- walking fields ---- */

static bool visit_node(const struct pat_json_index *ix, size_t node, visit_fn fn, void *ctx)
{
    struct leaf lf = {LEAF_OTHER, "", 0};
    struct pat_json_text_hold hold = {0};
    bool stop;

    switch (pat_json_kind(ix, node)) {
    case PAT_JSON_ARRAY:
        for (size_t el = pat_json_first_element(ix, node); el != SIZE_MAX;
                el = pat_json_next_element(ix, node, el)) {
            if (visit_node(ix, el, fn, ctx))
                return true;
        }
        return false;
    case PAT_JSON_NULL:
        lf.kind = LEAF_NULL;
        break;
    case PAT_JSON_OBJECT:
    case PAT_JSON_INVALID:
        break;
    default:
        if (pat_json_text(ix, node, &hold, &lf.s, &lf.n))
            lf.kind = LEAF_TEXT;
        break;
    }
    stop = fn(ctx, &lf);
    pat_json_text_release(&hold);
    return stop;
}

/* Visit every value at path under node; true as soon as fn says stop. */
static bool walk(const struct pat_json_index *ix, size_t node, char *const *path, size_t n_path,
        visit_fn fn, void *ctx)
{
    char key[256];
    size_t used;
    size_t child;

    if (n_path == 0)
        return visit_node(ix, node, fn, ctx);
    if (pat_json_kind(ix, node) == PAT_JSON_ARRAY) {
        for (size_t el = pat_json_first_element(ix, node); el != SIZE_MAX;
                el = pat_json_next_element(ix, node, el)) {
            if (walk(ix, el, path, n_path, fn, ctx))
                return true;
        }
        return false;
    }
    if (pat_json_kind(ix, node) != PAT_JSON_OBJECT)
        return false;
    used = strlen(path[0]);
    child = pat_json_get(ix, node, path[0], used);
    if (child != SIZE_MAX && walk(ix, child, path + 1, n_path - 1, fn, ctx))
        return true;
    /* Keys that hold dots themselves ("a.b"): try the parts joined. */
    if (used >= sizeof(key))
        return false;
    memcpy(key, path[0], used + 1);
    for (size_t k = 1; k < n_path; k++) {
        size_t add = strlen(path[k]);
        if (used + 1 + add >= sizeof(key))
            break;
        key[used++] = '.';
        memcpy(key + used, path[k], add + 1);
        used += add;
        child = pat_json_get(ix, node, key, used);
        if (child != SIZE_MAX && walk(ix, child, path + k + 1, n_path - k - 1, fn, ctx))
            return true;
    }
    return false;
}

/* ---- GeoIP virtual fields ---- */

/*
 * The event's source address: a JSON record's top-level sourceIPAddress (CloudTrail), a
 * line's rhost (sshd, PAM). Looked up once per event; a value that is no address (an AWS
 * service name) simply has no GeoIP data.
 */
const struct lsf_geo *pat_sigma_event_geo(struct pat_sigma_event *ev)
{
    const char *ip = NULL;
    size_t ip_len = 0;
    struct pat_json_text_hold hold = {0};

    if (ev->geoip == NULL)
        return NULL;
    if (ev->is_geo_done)
        return ev->has_geo ? &ev->geo : NULL;
    ev->is_geo_done = true;
    ev->has_geo = false;
    ensure_parsed(ev);
    if (ev->is_json) {
        size_t v = ev->is_json_valid ? pat_json_get(ev->json, 0, "sourceIPAddress", 15) : SIZE_MAX;
        if (pat_json_kind(ev->json, v) == PAT_JSON_STRING &&
                pat_json_text(ev->json, v, &hold, &ip, &ip_len))
            ev->has_geo = pat_geoip_lookup(ev->geoip, ip, ip_len, &ev->geo);
        pat_json_text_release(&hold);
    } else if (line_field_has(ev, LF_RHOST)) {
        ip = (const char *)ev->bytes + ev->lf_off[LF_RHOST];
        ip_len = ev->lf_len[LF_RHOST];
        ev->has_geo = pat_geoip_lookup(ev->geoip, ip, ip_len, &ev->geo);
    }
    return ev->has_geo ? &ev->geo : NULL;
}

/* A geoip.* field (pat_geoip.h): true when path names one, with *handled set. */
static bool geo_visit(struct pat_sigma_event *ev, char *const *path, size_t n_path,
        visit_fn fn, void *ctx, bool *handled)
{
    const struct lsf_geo *g;
    struct leaf lf;
    char num[16];

    *handled = false;
    if (n_path != 2 || strcmp(path[0], "geoip") != 0)
        return false;
    if (strcmp(path[1], "country_iso_code") != 0 && strcmp(path[1], "asn") != 0 &&
            strcmp(path[1], "as_org") != 0)
        return false; /* not ours: an ordinary field named geoip.x */
    *handled = true;
    g = pat_sigma_event_geo(ev);
    if (g == NULL)
        return false; /* missing: no --geoip, no address, or no database knows it */
    lf.kind = LEAF_TEXT;
    if (path[1][0] == 'c') {
        lf.s = g->country;
    } else if (strcmp(path[1], "asn") == 0) {
        if (g->asn == 0)
            return false;
        snprintf(num, sizeof(num), "%u", (unsigned)g->asn);
        lf.s = num;
    } else {
        lf.s = g->as_org;
    }
    lf.n = strlen(lf.s);
    if (lf.n == 0)
        return false;
    return fn(ctx, &lf);
}

static bool field_visit(struct pat_sigma_event *ev, char *const *path, size_t n_path,
        visit_fn fn, void *ctx)
{
    bool is_geo;
    bool geo_stop;

    /* A rule for one kind of event sees no fields on the other kind (a Firehose stream may
     * mix JSON records and lines): its prefilter assumed that kind's text. */
    if ((ev->rule_kind == SG_LOG_JSON && !ev->is_json) ||
            (ev->rule_kind == SG_LOG_LINE && ev->is_json))
        return false;
    geo_stop = geo_visit(ev, path, n_path, fn, ctx, &is_geo);
    if (is_geo)
        return geo_stop;
    ensure_parsed(ev);
    if (ev->is_json)
        return ev->is_json_valid && walk(ev->json, 0, path, n_path, fn, ctx);
    if (n_path != 1)
        return false;
    for (size_t i = 0; i < LF_N; i++) {
        if (path[0][0] == line_field_names[i][0] && strcmp(path[0], line_field_names[i]) == 0) {
            struct leaf lf;
            if (!line_field_has(ev, (enum line_field)i))
                return false; /* names are unique: no other field has it */
            lf.kind = LEAF_TEXT;
            lf.s = (const char *)ev->bytes + ev->lf_off[i];
            lf.n = ev->lf_len[i];
            return fn(ctx, &lf);
        }
    }
    return false;
}

/* ---- value tests ---- */

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int on_re_match(unsigned int id, unsigned long long from, unsigned long long to,
        unsigned int flags, void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    *(bool *)ctx = true;
    return 1;
}

static bool cidr_match(const struct sg_value *v, const char *s, size_t n)
{
    char buf[64];
    unsigned char addr[16];
    unsigned full, rest;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(v->family, buf, addr) != 1)
        return false;
    full = v->prefix / 8;
    rest = v->prefix % 8;
    if (memcmp(addr, v->net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((addr[full] ^ v->net[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

struct value_visit {
    const struct sg_value *v;
    struct pat_sigma_event *ev;
    bool saw_value;  /* any node */
    bool saw_null;
    bool saw_nonnull;
    const struct leaf *outer; /* fieldref: the field's value being compared */
    bool matched;
};

static bool ref_equal(void *ctx, const struct leaf *lf)
{
    struct value_visit *vv = ctx;

    if (lf->kind != LEAF_TEXT || lf->n != vv->outer->n)
        return false;
    for (size_t i = 0; i < lf->n; i++) {
        if (fold((unsigned char)lf->s[i]) != fold((unsigned char)vv->outer->s[i]))
            return false;
    }
    vv->matched = true;
    return true;
}

static bool value_leaf(void *ctx, const struct leaf *lf)
{
    struct value_visit *vv = ctx;
    const struct sg_value *v = vv->v;

    vv->saw_value = true;
    if (lf->kind == LEAF_NULL) {
        vv->saw_null = true;
        return v->kind == SG_NULL;
    }
    vv->saw_nonnull = true;
    if (lf->kind != LEAF_TEXT)
        return v->kind == SG_EXISTS;
    switch (v->kind) {
    case SG_GLOB:
        vv->matched = sg_glob_match(v, lf->s, lf->n);
        break;
    case SG_RE: {
        bool hit = false;
        if (lf->n <= UINT32_MAX && vv->ev->scratch != NULL)
            (void)hs_scan(v->re, lf->s, (unsigned)lf->n, 0, vv->ev->scratch, on_re_match, &hit);
        vv->matched = hit;
        break;
    }
    case SG_CIDR:
        vv->matched = cidr_match(v, lf->s, lf->n);
        break;
    case SG_FIELDREF: {
        struct value_visit inner = *vv;
        inner.outer = lf;
        inner.matched = false;
        (void)field_visit(vv->ev, v->ref_path, v->n_ref_path, ref_equal, &inner);
        vv->matched = inner.matched;
        break;
    }
    case SG_EXISTS:
        return true;
    case SG_NULL:
        return false;
    }
    return vv->matched;
}

static bool keyword_match(const struct sg_value *v, const struct pat_sigma_event *ev)
{
    if (v->kind != SG_GLOB)
        return false;
    return sg_glob_match(v, (const char *)ev->bytes, ev->len);
}

static bool value_match(const struct sg_field *f, const struct sg_value *v,
        struct pat_sigma_event *ev)
{
    struct value_visit vv;

    if (f->name == NULL)
        return keyword_match(v, ev);
    memset(&vv, 0, sizeof(vv));
    vv.v = v;
    vv.ev = ev;
    (void)field_visit(ev, f->path, f->n_path, value_leaf, &vv);
    switch (v->kind) {
    case SG_EXISTS:
        return v->want_exists == vv.saw_nonnull;
    case SG_NULL:
        return !vv.saw_value || vv.saw_null;
    default:
        return vv.matched;
    }
}

static bool field_match(const struct sg_field *f, struct pat_sigma_event *ev)
{
    for (size_t i = 0; i < f->n_values; i++) {
        bool ok = value_match(f, &f->values[i], ev);
        if (f->is_all && !ok)
            return false;
        if (!f->is_all && ok)
            return true;
    }
    return f->is_all;
}

static bool sel_match(const struct sg_sel *sel, struct pat_sigma_event *ev)
{
    for (size_t m = 0; m < sel->n_maps; m++) {
        bool all = true;
        for (size_t f = 0; f < sel->maps[m].n_fields && all; f++)
            all = field_match(&sel->maps[m].fields[f], ev);
        if (all)
            return true;
    }
    return false;
}

static bool cond_match(const struct pat_sigma_rule *rule, const struct sg_cond *c,
        struct pat_sigma_event *ev)
{
    switch (c->op) {
    case SGC_SEL:
        return sel_match(&rule->sels[c->sel], ev);
    case SGC_NOT:
        return !cond_match(rule, c->a, ev);
    case SGC_AND:
        return cond_match(rule, c->a, ev) && cond_match(rule, c->b, ev);
    case SGC_OR:
        return cond_match(rule, c->a, ev) || cond_match(rule, c->b, ev);
    }
    return false;
}

bool pat_sigma_rule_match(const struct pat_sigma_rule *rule, struct pat_sigma_event *ev)
{
    /* A rule for JSON records does not apply to a line, nor the reverse (a Firehose or
     * cwl-export stream may mix them): not even a negation in it can hold there. */
    if ((rule->log_kind == SG_LOG_JSON && !ev->is_json) ||
            (rule->log_kind == SG_LOG_LINE && ev->is_json))
        return false;
    ev->rule_kind = rule->log_kind;
    return rule->cond != NULL && cond_match(rule, rule->cond, ev);
}

/* ---- rules that read GeoIP fields ---- */

bool pat_sigma_rule_is_builtin(const struct pat_sigma_rule *rule)
{
    return rule != NULL && rule->is_builtin;
}

const char *pat_sigma_rule_geoip_field(const struct pat_sigma_rule *rule, unsigned *line)
{
    if (rule == NULL)
        return NULL;
    for (size_t s = 0; s < rule->n_sels; s++) {
        for (size_t m = 0; m < rule->sels[s].n_maps; m++) {
            const struct sg_map *map = &rule->sels[s].maps[m];
            for (size_t f = 0; f < map->n_fields; f++) {
                const struct sg_field *fd = &map->fields[f];
                *line = fd->line;
                if (fd->name != NULL && pat_geoip_is_field(fd->name))
                    return fd->name;
                for (size_t v = 0; v < fd->n_values; v++) {
                    if (fd->values[v].kind == SG_FIELDREF &&
                            pat_geoip_is_field(fd->values[v].ref_name))
                        return fd->values[v].ref_name;
                }
            }
        }
    }
    if (rule->corr != NULL) {
        *line = 0;
        for (size_t g = 0; g < rule->corr->n_group; g++) {
            if (pat_geoip_is_field(rule->corr->group_names[g]))
                return rule->corr->group_names[g];
        }
        if (rule->corr->value_name != NULL && pat_geoip_is_field(rule->corr->value_name))
            return rule->corr->value_name;
    }
    return NULL;
}

/* ---- correlation keys ---- */

struct first_text {
    char *out;
    size_t cap;
    size_t len;
    bool found;
};

static bool take_first_text(void *ctx, const struct leaf *lf)
{
    struct first_text *ft = ctx;
    size_t n;

    if (lf->kind != LEAF_TEXT)
        return false;
    n = lf->n < ft->cap - ft->len - 1 ? lf->n : ft->cap - ft->len - 1;
    memcpy(ft->out + ft->len, lf->s, n);
    ft->len += n;
    ft->out[ft->len] = '\0';
    ft->found = true;
    return true;
}

static void append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (n > cap - *len - 1)
        n = cap - *len - 1;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

bool pat_sigma_corr_keys(const struct pat_sigma_rule *corr_rule, struct pat_sigma_event *ev,
        char *key, size_t cap, char *val, size_t val_cap)
{
    const struct sg_corr *c = corr_rule->corr;
    size_t len = 0;
    bool has_all = true;

    key[0] = '\0';
    val[0] = '\0';
    ev->rule_kind = SG_LOG_ANY; /* group-by fields are read from whatever the event is */
    for (size_t g = 0; g < c->n_group && len + 1 < cap; g++) {
        struct first_text ft = {key, cap, 0, false};
        if (g > 0)
            append(key, cap, &len, ", ");
        append(key, cap, &len, c->group_names[g]);
        append(key, cap, &len, "=");
        ft.len = len;
        (void)field_visit(ev, c->group_paths[g], c->group_n_path[g], take_first_text, &ft);
        len = ft.len;
        has_all = has_all && ft.found;
    }
    if (c->value_path != NULL) {
        struct first_text ft = {val, val_cap, 0, false};
        (void)field_visit(ev, c->value_path, c->n_value_path, take_first_text, &ft);
    }
    return has_all;
}
