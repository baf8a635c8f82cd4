/*
 * pat_sigma: Sigma rules (YAML) loaded into a pat_set, prefiltered by Hyperscan and confirmed
 * on the event's fields.
 *
 * A Sigma rule becomes one pat_rule whose condition (pat_rule.code) is a *prefilter*: a
 * boolean over quiet literal patterns that holds on every event where the rule can be true
 * (a necessary condition, never a sufficient one). The engine evaluates the Sigma detection
 * itself (pat_sigma_rule_match) only on events where the prefilter holds. A rule whose
 * detection cannot be prefiltered (only negations, only regexes, ...) has n_code 0 and is
 * evaluated on every event of its formats (pat_sigma_rule_info says why).
 *
 * Supported subset (anything else is refused with file:line and the feature named):
 *   logsource (product aws or service cloudtrail: JSON records; product linux: lines; other
 *   or none: both); detection maps, value lists, lists of maps, keyword lists;
 *   case-insensitive exact match with * and ? wildcards (\* \? \\ escape them); modifiers
 *   contains, startswith, endswith, all, re (with i, m, s), exists, cidr, fieldref, cased;
 *   null; condition with and, or, not, parentheses, "1 of x*", "all of x*", "1 of them",
 *   "all of them"; a list of conditions (any of them); id, title, level, tags,
 *   falsepositives, description and the other informational keys; several rules in one
 *   file as YAML documents (all or nothing per file); correlations (below).
 *
 * Field semantics on JSON events (parsed with jansson): a dotted name walks nested objects
 * ("userIdentity.sessionContext.sessionIssuer.type"), a key that itself holds dots is found
 * too, and arrays on the way are searched element by element (values inside arrays).
 * Numbers and booleans compare as their JSON text ("true", "5"). null matches a missing
 * field or a JSON null; exists: true wants the field present and not null. Case folding is
 * ASCII only (as Hyperscan's caseless mode). Keywords (field-less values) match anywhere in
 * the raw event text, as a case-insensitive "contains".
 *
 * Syslog events, and Firehose or cwl-export messages that are not JSON, are lines (the
 * engine gives the evaluator a cwl-export event's message, without its leading stamp, and
 * JSON messages as records): keywords see the whole line, and
 * these fields are extracted from an RFC 3164 or ISO-timestamp line "TS host prog[pid]: msg":
 * hostname, program, pid, message, and from sshd, PAM and sudo messages user and rhost
 * ("Invalid user U from A", "Failed password for [invalid user] U from A", "user=U",
 * "rhost=A", sudo's "U : ..."). Any other field is missing on a line.
 *
 * GeoIP (--geoip, pat_geoip.h): the virtual fields geoip.country_iso_code (ISO 3166-1
 * alpha-2, e.g. "FR"), geoip.asn (the number as text, e.g. "3215") and geoip.as_org are
 * looked up from the event's source address: a JSON record's sourceIPAddress, a line's rhost.
 * They are missing when the address is no numeric IP (an AWS service name) or no database
 * knows it, so "not filter" on a country allowlist needs "geoip.country_iso_code|exists:
 * true" beside it to stay silent on unknown addresses. They are never prefiltered (the value
 * is not in the event's bytes). A scan refuses to start when a rule reads them and no
 * database is given (pat_sigma_rule_geoip_field), except for rules of the embedded default
 * packs (pat_sigma_rule_is_builtin), which read them only under an exists guard or as a
 * correlation's counted value, and so simply never fire without a database.
 *
 * Thread-safety: rules are read-only once loaded; a pat_sigma_event belongs to one thread.
 */
#ifndef PAT_SIGMA_H
#define PAT_SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsf_err.h"
#include "lsf_finding.h"
#include "pat.h"

/*
 * Add rules from path: a .yml/.yaml Sigma file, a directory (every .yml/.yaml below it,
 * recursively, in name order; hsbench .rules files in it are loaded too), or else an hsbench
 * rules file (pat_set_add_file). All or nothing per file, as pat_set_add_file. LSF_E_RULE
 * with file:line and the unsupported feature named; LSF_E_IO; LSF_E_NOMEM.
 */
enum lsf_code pat_set_add_path(struct pat_set *set, const char *path,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* One Sigma rule file's text (name used in messages). Same codes as pat_set_add_path. */
enum lsf_code pat_sigma_add_text(struct pat_set *set, const char *name, const char *text,
        size_t len, struct lsf_err *err) LSF_WARN_UNUSED;

/* The parsed detection of one Sigma rule (owned by its pat_rule). */
struct pat_sigma_rule;

/* Free a rule's detection (NULL is fine). Called by the set. */
void pat_sigma_rule_free(struct pat_sigma_rule *rule);

/*
 * How the rule is prefiltered, one line: "prefiltered: <formula over literals>" or
 * "not prefiltered: <why>; evaluated on every event". Borrowed from the rule.
 */
const char *pat_sigma_rule_info(const struct pat_sigma_rule *rule);
/* ATT&CK and other tags, comma-separated, or "" . Borrowed from the rule. */
const char *pat_sigma_rule_tags(const struct pat_sigma_rule *rule);

/*
 * Correlations. A Sigma correlation rule ("correlation:" with type event_count, value_count,
 * temporal or temporal_ordered, rules, group-by, timespan, condition gt/gte, generate) or a
 * legacy aggregation ("condition: selection | count([field]) [by f1, f2] > N" with
 * detection.timeframe, or over the whole run without one) counts the events its base rules fire on, per group of field values,
 * within a time window. The engine keeps the state; these accessors describe the rule.
 */
enum pat_sigma_corr_type {
    PAT_CORR_NONE = 0,
    PAT_CORR_EVENT_COUNT,    /* at least threshold events in the window */
    PAT_CORR_VALUE_COUNT,    /* at least threshold distinct values of a field */
    PAT_CORR_TEMPORAL,       /* every base rule fires within the window */
    PAT_CORR_TEMPORAL_ORDERED /* ... in the listed order */
};

enum pat_sigma_corr_type pat_sigma_corr_type(const struct pat_sigma_rule *rule);
/* Base rule i by id or Sigma name; NULL means the rule itself (legacy aggregation). */
size_t pat_sigma_corr_n_refs(const struct pat_sigma_rule *rule);
const char *pat_sigma_corr_ref(const struct pat_sigma_rule *rule, size_t i);
/* The window; PAT_CORR_WHOLE_RUN for a legacy count without timeframe. */
#define PAT_CORR_WHOLE_RUN INT64_MAX
int64_t pat_sigma_corr_timespan_ms(const struct pat_sigma_rule *rule);
uint64_t pat_sigma_corr_threshold(const struct pat_sigma_rule *rule);
bool pat_sigma_corr_generate(const struct pat_sigma_rule *rule);
/* The rule's Sigma "name", or NULL. */
const char *pat_sigma_rule_name(const struct pat_sigma_rule *rule);
/* The rule's Sigma "id" (a UUID), or NULL. logsift names a Sigma rule after its file instead
 * (see pat_sigma_add_text), so findings, metrics and alerts read "aws_cloudtrail_stop_logging". */
const char *pat_sigma_rule_sigma_id(const struct pat_sigma_rule *rule);
/* Does ref name rule r: its logsift id, its Sigma id or its Sigma name? */
bool pat_rule_is_named(const struct pat_rule *r, const char *ref);
/* Does the rule have a detection to evaluate per event (false for correlation rules)? */
bool pat_sigma_rule_has_detection(const struct pat_sigma_rule *rule);

/*
 * Chained correlations: a correlation's rules may name other Sigma correlation rules. Each
 * firing of the inner one is then an event of the outer one, at the time of the event that
 * completed the inner window, with that event's fields; the outer's group-by fields (and
 * value_count's counted field) must all be group-by fields of the inner one.
 */
size_t pat_sigma_corr_n_group(const struct pat_sigma_rule *rule);
const char *pat_sigma_corr_group_name(const struct pat_sigma_rule *rule, size_t g);
/* value_count's counted field, or NULL. */
const char *pat_sigma_corr_value_field(const struct pat_sigma_rule *rule);
/* Is r a Sigma correlation rule (no detection of its own), one a correlation can chain on? */
bool pat_rule_is_correlation(const struct pat_rule *r);
/* The index of the rule that ref names (pat_rule_is_named), or SIZE_MAX. */
size_t pat_sigma_corr_find(const struct pat_set *set, const char *ref);
/* Check correlation rule c of set against the correlations it refers to: group-by fields
 * readable from their firings, and no reference chain leading back to c. LSF_E_RULE with
 * c's file:line, the field or the cycle, and what to change; LSF_E_NOMEM. LSF_OK for any
 * other rule. Unknown references are not checked here. */
enum lsf_code pat_sigma_corr_check_chain(const struct pat_set *set, size_t c,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* A per-thread evaluation context: the current event, parsed once on demand. */
struct pat_sigma_event;

/* A context able to evaluate every Sigma rule of set (its regex scratch is sized for them).
 * LSF_E_NOMEM, LSF_E_INTERNAL. */
enum lsf_code pat_sigma_event_new(const struct pat_set *set, struct pat_sigma_event **out,
        struct lsf_err *err) LSF_WARN_UNUSED;
void pat_sigma_event_free(struct pat_sigma_event *ev);

/* Point the context at a new event (borrowed until the next reset). is_json: the event is a
 * JSON record; otherwise it is a text line. */
void pat_sigma_event_reset(struct pat_sigma_event *ev, const unsigned char *bytes, size_t len,
        bool is_json);

/* Whether a field lookup has parsed the current event (for the engine's statistics). */
bool pat_sigma_event_is_parsed(const struct pat_sigma_event *ev);

/* Give the context the --geoip databases (borrowed; they must outlive it), or NULL. */
struct pat_geoip;
void pat_sigma_event_set_geoip(struct pat_sigma_event *ev, const struct pat_geoip *geoip);

/* GeoIP data of the current event's source address (see above), looked up once per event
 * and borrowed until the next reset; NULL without databases, address or data. */
const struct lsf_geo *pat_sigma_event_geo(struct pat_sigma_event *ev);

/* The first GeoIP field the rule reads (its detection, a fieldref, or a correlation's
 * group-by or counted field), with its line in *line (0 for a correlation), or NULL. */
const char *pat_sigma_rule_geoip_field(const struct pat_sigma_rule *rule, unsigned *line);

/* Does the rule come from the embedded default packs (not from a -r file)? */
bool pat_sigma_rule_is_builtin(const struct pat_sigma_rule *rule);

/* Does the rule's detection hold on the current event? A rule for JSON records (aws) never
 * holds on a line, nor a rule for lines (linux) on a record. An event that is not valid JSON
 * has no fields (keywords still apply). */
bool pat_sigma_rule_match(const struct pat_sigma_rule *rule, struct pat_sigma_event *ev);

/*
 * The correlation's group key of the current event: "f1=v1, f2=v2" with each field's first
 * value (empty when missing), cut to cap - 1 bytes; and for value_count, the counted field's
 * first value in val (empty: missing, and then the event is not counted). False when a
 * group-by field has no value: the event belongs to no group and is not counted (events
 * without a source address are no burst from one). Thread-safe per context.
 */
bool pat_sigma_corr_keys(const struct pat_sigma_rule *corr_rule, struct pat_sigma_event *ev,
        char *key, size_t cap, char *val, size_t val_cap);

#endif
