/*
 * pat_geoip: country and autonomous-system lookups of IP addresses in MaxMind DB files
 * (GeoLite2/GeoIP2 Country or City, GeoLite2 ASN, or anything with the same keys), for
 * --geoip: findings carry the source address's country and ASN, and Sigma rules read them
 * through the virtual fields below.
 *
 * Only a strictly numeric address is looked up: dotted-quad IPv4 without leading zeros, or
 * IPv6 (inet_pton's forms). Anything else (an AWS service name such as "ec2.amazonaws.com", a
 * host name, "075.050.255.67") has no GeoIP data and is no error. We parse with inet_pton
 * ourselves because MMDB_lookup_string goes through getaddrinfo, which reads "075" as octal.
 *
 * Thread-safety: open and add from one thread; once built, lookups may run from any number
 * of threads (libmaxminddb lookups only read the mapped file).
 */
#ifndef PAT_GEOIP_H
#define PAT_GEOIP_H

#include <stdbool.h>
#include <stddef.h>

#include "lsf_err.h"
#include "lsf_finding.h"

/* Databases one run may open (a country and an ASN database, and room to spare). */
#define PAT_GEOIP_MAX_DBS 8

/* The virtual Sigma fields (pat_sigma.h), resolved from the event's source address. */
#define PAT_GEOIP_FIELD_COUNTRY "geoip.country_iso_code"
#define PAT_GEOIP_FIELD_ASN "geoip.asn"
#define PAT_GEOIP_FIELD_AS_ORG "geoip.as_org"

struct pat_geoip;

/* An empty lookup (no database yet). LSF_E_NOMEM. Free with pat_geoip_free (NULL is fine). */
enum lsf_code pat_geoip_new(struct pat_geoip **out, struct lsf_err *err) LSF_WARN_UNUSED;
void pat_geoip_free(struct pat_geoip *geo);

/*
 * Open a MaxMind DB file and add it to the lookup; every database is asked about every
 * address and their answers merged (the first database with a country gives it, likewise
 * for the ASN). LSF_E_USAGE naming the path and libmaxminddb's reason when the file cannot
 * be opened or is no MaxMind DB, or when PAT_GEOIP_MAX_DBS are open already; LSF_E_NOMEM.
 */
enum lsf_code pat_geoip_add(struct pat_geoip *geo, const char *path,
        struct lsf_err *err) LSF_WARN_UNUSED;

size_t pat_geoip_n_dbs(const struct pat_geoip *geo);

/* Is text[0..n) a strictly numeric IPv4 or IPv6 address (the forms we look up)? */
bool pat_geoip_is_ip(const char *text, size_t n);

/*
 * Look up text[0..n) (not NUL-terminated). True when it is an address some database knows:
 * out then holds the address, and the country, ASN and organization that were found (the
 * others empty or 0). False, with out cleared, for a non-address or an unknown one.
 */
bool pat_geoip_lookup(const struct pat_geoip *geo, const char *text, size_t n,
        struct lsf_geo *out);

/* Is name (a Sigma field name) one of the virtual fields above? */
bool pat_geoip_is_field(const char *name);

#endif
