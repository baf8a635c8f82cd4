/*
 * cli_carry: the correlation state a --state run hands to the next (scan.h, struct
 * scan_carry_io), kept in a sidecar file beside the state, so a burst split across two cron
 * runs is found once, as one long run would find it.
 *
 * The sidecar of generation G is STATE.corr.G; the state names G ("corr": {"generation": G}),
 * so a sidecar the state does not name is never read. A run writes generation G + 1 (temp
 * file, fsync, rename, fsync of the directory) just before its final commit names it, then
 * removes G. A run killed before that commit leaves the state naming G, whose file is still
 * there: the sidecar never disagrees with the state.
 *
 * Sidecar, JSON lines:
 *   {"logsift_correlation_state": 1, "source": "logs://...", "generation": G,
 *    "last_ts_ms": N | null, "groups": N}
 *   then per group: {"corr": "rule id", "key": "rhost=...", "quiet_until_ms": N | null,
 *    "recs": [[base_pos, ts_ms, "input", offset, ordinal, "format", "value"], ...]}
 * Bound: the carried matches are those within one timespan of the run's latest event, at most
 * SCAN_CARRY_MAX_RECORDS (about 100 bytes each in the file).
 */
#ifndef CLI_CARRY_H
#define CLI_CARRY_H

#include <stdbool.h>
#include <stdint.h>

#include "lsf_err.h"
#include "scan.h"

struct cli_carry;

/*
 * Load generation G of state_path's sidecar (G = 0: none yet) for source. A missing or
 * damaged sidecar is reported on stderr in one line (what is wrong, and that the run goes on
 * without it) and counted in cli_carry_n_problems; the carry is then empty. Fails only with
 * LSF_E_NOMEM.
 */
enum lsf_code cli_carry_load(const char *state_path, const char *source, uint64_t generation,
        struct cli_carry **out, struct lsf_err *err) LSF_WARN_UNUSED;

/* The engine's side: what was loaded, and where the run's carry goes (scan_config.carry). */
const struct scan_carry_io *cli_carry_io(struct cli_carry *c);

/* The run handed back its carry (the engine swept its correlations). */
bool cli_carry_is_ready(const struct cli_carry *c);

/* Write the run's carry as generation G, durably. LSF_E_IO, LSF_E_NOMEM. */
enum lsf_code cli_carry_write(struct cli_carry *c, uint64_t generation,
        struct lsf_err *err) LSF_WARN_UNUSED;

/* Remove generation G's sidecar of state_path, if there (best effort). */
void cli_carry_remove(const char *state_path, uint64_t generation);

/* A missing or damaged sidecar was reported (counted as a problem of the run). */
uint64_t cli_carry_n_problems(const struct cli_carry *c);

void cli_carry_free(struct cli_carry *c);

#endif
