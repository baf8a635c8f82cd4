/*
 * pat_geoip: MaxMind DB lookups for --geoip (contract in pat_geoip.h).
 *
 * Design: every database is opened once (MMDB_MODE_MMAP) and shared read-only by all workers.
 * A lookup asks each database in the order given and keeps the first country and the first
 * ASN it finds, so one country database plus one ASN database answer as one. The keys read are
 * those of MaxMind's published layouts (GeoLite2/GeoIP2 Country and City: country.iso_code,
 * else registered_country.iso_code; GeoLite2 ASN: autonomous_system_number and
 * autonomous_system_organization), see libmaxminddb's doc/libmaxminddb.md, MMDB_get_value.
 */
#include "pat_geoip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <maxminddb.h>

struct pat_geoip {
    MMDB_s dbs[PAT_GEOIP_MAX_DBS];
    size_t n_dbs;
};

enum lsf_code pat_geoip_new(struct pat_geoip **out, struct lsf_err *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return lsf_fail(err, LSF_E_NOMEM, "out of memory setting up GeoIP lookups");
    return LSF_OK;
}

void pat_geoip_free(struct pat_geoip *geo)
{
    if (geo == NULL)
        return;
    for (size_t i = 0; i < geo->n_dbs; i++)
        MMDB_close(&geo->dbs[i]);
    free(geo);
}

enum lsf_code pat_geoip_add(struct pat_geoip *geo, const char *path, struct lsf_err *err)
{
    int status;

    if (geo->n_dbs == PAT_GEOIP_MAX_DBS)
        return lsf_fail(err, LSF_E_USAGE, "--geoip %s: at most %d GeoIP databases per run; "
                "give a country and an ASN database", path, PAT_GEOIP_MAX_DBS);
    errno = 0;
    status = MMDB_open(path, MMDB_MODE_MMAP, &geo->dbs[geo->n_dbs]);
    if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && errno != 0)
        return lsf_fail(err, LSF_E_USAGE, "--geoip %s: cannot read it: %s; give the path of a "
                "GeoLite2/GeoIP2 .mmdb file", path, strerror(errno));
    if (status == MMDB_OUT_OF_MEMORY_ERROR)
        return lsf_fail(err, LSF_E_NOMEM, "--geoip %s: out of memory opening it", path);
    if (status != MMDB_SUCCESS)
        return lsf_fail(err, LSF_E_USAGE, "--geoip %s: cannot open it as a MaxMind DB (%s); "
                "give a GeoLite2/GeoIP2 .mmdb file such as GeoLite2-Country.mmdb", path,
                MMDB_strerror(status));
    geo->n_dbs++;
    return LSF_OK;
}

size_t pat_geoip_n_dbs(const struct pat_geoip *geo)
{
    return geo == NULL ? 0 : geo->n_dbs;
}

/* Parse text[0..n) into *ss (family set); false when it is no numeric address. */
static bool parse_ip(const char *text, size_t n, struct sockaddr_storage *ss, char *buf)
{
    memset(ss, 0, sizeof(*ss));
    if (n == 0 || n >= LSF_GEO_IP_MAX)
        return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    /* glibc's inet_pton refuses leading zeros ("075") and short forms ("10.1"), as we want. */
    if (memchr(buf, ':', n) == NULL) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
        in4->sin_family = AF_INET;
        return inet_pton(AF_INET, buf, &in4->sin_addr) == 1;
    }
    {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        return inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1;
    }
}

bool pat_geoip_is_ip(const char *text, size_t n)
{
    struct sockaddr_storage ss;
    char buf[LSF_GEO_IP_MAX];

    return parse_ip(text, n, &ss, buf);
}

/* Copy a UTF-8 string value into out (cap bytes with the NUL); false when absent. */
static bool get_string(MMDB_entry_s *entry, char *out, size_t cap, const char *const *path)
{
    MMDB_entry_data_s data;
    size_t n;

    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
            data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size == 0)
        return false;
    n = data.data_size < cap - 1 ? data.data_size : cap - 1;
    /* Cut on a character boundary, so a long organization stays valid UTF-8. */
    while (n < data.data_size && n > 0 && ((unsigned char)data.utf8_string[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, data.utf8_string, n);
    out[n] = '\0';
    return true;
}

static bool get_asn(MMDB_entry_s *entry, uint32_t *asn)
{
    static const char *const path[] = {"autonomous_system_number", NULL};
    MMDB_entry_data_s data;

    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data)
        return false;
    switch (data.type) {
    case MMDB_DATA_TYPE_UINT32:
        *asn = data.uint32;
        return *asn != 0;
    case MMDB_DATA_TYPE_UINT16:
        *asn = data.uint16;
        return *asn != 0;
    case MMDB_DATA_TYPE_UINT64:
        if (data.uint64 == 0 || data.uint64 > UINT32_MAX)
            return false;
        *asn = (uint32_t)data.uint64;
        return true;
    default:
        return false;
    }
}

bool pat_geoip_lookup(const struct pat_geoip *geo, const char *text, size_t n,
        struct lsf_geo *out)
{
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const registered[] = {"registered_country", "iso_code", NULL};
    static const char *const org[] = {"autonomous_system_organization", NULL};
    struct sockaddr_storage ss;
    bool found = false;

    memset(out, 0, sizeof(*out));
    if (geo == NULL || !parse_ip(text, n, &ss, out->ip)) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    for (size_t i = 0; i < geo->n_dbs; i++) {
        int mmdb_err = MMDB_SUCCESS;
        MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&geo->dbs[i],
                (const struct sockaddr *)&ss, &mmdb_err);

        /* An IPv6 address in an IPv4-only database is simply unknown there. */
        if (mmdb_err != MMDB_SUCCESS || !res.found_entry)
            continue;
        if (out->country[0] == '\0' &&
                (get_string(&res.entry, out->country, sizeof(out->country), country) ||
                        get_string(&res.entry, out->country, sizeof(out->country), registered)))
            found = true;
        if (out->asn == 0 && get_asn(&res.entry, &out->asn)) {
            found = true;
            (void)get_string(&res.entry, out->as_org, sizeof(out->as_org), org);
        }
    }
    if (!found)
        memset(out, 0, sizeof(*out));
    return found;
}

bool pat_geoip_is_field(const char *name)
{
    return strcmp(name, PAT_GEOIP_FIELD_COUNTRY) == 0 || strcmp(name, PAT_GEOIP_FIELD_ASN) == 0 ||
            strcmp(name, PAT_GEOIP_FIELD_AS_ORG) == 0;
}
