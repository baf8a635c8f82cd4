#!/usr/bin/env python3
"""scan --geoip end to end: the real binary on the Stratus Red Team CloudTrail detonations,
the crowdsec CloudTrail and sshd samples, with MaxMind DBs written at test time by
tests/data/geoip/make_mmdb.pl (libmaxmind-db-writer-perl) from tests/data/geoip/networks.json.

What each finding should carry is worked out here independently: Python's ipaddress parses the
source address (it refuses leading zeros, as logsift must: Stratus anonymises addresses into
forms like 075.050.255.67) and networks.json says which networks hold it. The test rules in
tests/data/geoip/rules must fire on exactly the events this file computes for them.

Run by ctest with LOGSIFT_BIN, LSF_SHARED_DATA (../shared/data) and LSF_SOURCE_DIR.
"""
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import unittest

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")
SRC = os.environ.get("LSF_SOURCE_DIR", ".")
GEO_DIR = os.path.join(SRC, "tests/data/geoip")
RULES = os.path.join(GEO_DIR, "rules")
STRATUS = os.path.join(DATA, "cloudtrail/stratus-red-team/detonation-logs")
CROWDSEC_CT = os.path.join(DATA, "cloudtrail/crowdsec-hub")
SSH_BF = os.path.join(DATA, "auth/crowdsec-hub/ssh-bf/ssh-bf.log")

TMP = tempfile.mkdtemp(prefix="lsf-geoip-")
COUNTRY_DB = os.path.join(TMP, "LogsiftTest-Country.mmdb")
ASN_DB = os.path.join(TMP, "LogsiftTest-ASN.mmdb")
GEO_ARGS = ["--geoip", COUNTRY_DB, "--geoip", ASN_DB]

with open(os.path.join(GEO_DIR, "networks.json")) as f:
    NETWORKS = json.load(f)


def setUpModule():
    subprocess.run(["perl", os.path.join(GEO_DIR, "make_mmdb.pl"), TMP], check=True)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def expected_geo(ip):
    """The "geo" member a finding from this source address must carry, or None."""
    if not isinstance(ip, str):
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None  # service names, leading zeros, anything not strictly numeric
    geo = {"ip": ip}
    for n in NETWORKS["country"]:
        if addr in ipaddress.ip_network(n["net"]):
            geo["country"] = n.get("iso_code") or n["registered_iso_code"]
            break
    for n in NETWORKS["asn"]:
        if addr in ipaddress.ip_network(n["net"]):
            geo["asn"] = n["number"]
            geo["as_org"] = n["org"]
            break
    return geo if len(geo) > 1 else None


def records(path):
    """The CloudTrail records of one file in input order (logsift's ordinals)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(doc, dict) and "Records" in doc:
        return doc["Records"]
    return doc if isinstance(doc, list) else [doc]


def files_under(top):
    out = []
    for root, _, names in os.walk(top):
        out += [os.path.join(root, n) for n in names if n.endswith((".json", ".log"))]
    return sorted(out)


def run(args):
    env = dict(os.environ, LOGSIFT_CACHE_DIR=os.path.join(TMP, "cache"))
    proc = subprocess.run([LOGSIFT, *args], capture_output=True, env=env, timeout=600)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def scan(args):
    rc, out, err = run(["scan", "-q", "-j", "2", "--sort", "--excerpt", "4M", *args])
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()], err


class Enrichment(unittest.TestCase):
    def test_stratus_findings_carry_the_geo_of_their_source_ip(self):
        rc, found, err = scan(GEO_ARGS + [STRATUS])
        self.assertEqual(rc, 0, err)
        with_geo = without = 0
        for f in found:
            ev = json.loads(f["event"])
            want = expected_geo(ev.get("sourceIPAddress"))
            self.assertEqual(f.get("geo"), want, (f["rule"], ev.get("sourceIPAddress")))
            with_geo += want is not None
            without += want is None
        # Both kinds occur: enriched sources, and unknown or leading-zero ones left alone.
        self.assertGreaterEqual(with_geo, 5)
        self.assertGreaterEqual(without, 10)
        ips = {json.loads(f["event"]).get("sourceIPAddress") for f in found}
        self.assertIn("075.050.255.67", ips)  # its octal reading is a KP network in the DB

    def test_without_geoip_findings_have_no_geo_member(self):
        rc, found, err = scan([STRATUS])
        self.assertEqual(rc, 0, err)
        self.assertTrue(found)
        self.assertFalse([f for f in found if "geo" in f])

    def test_sshd_findings_carry_the_geo_of_rhost(self):
        rc, found, err = scan(GEO_ARGS + [SSH_BF])
        self.assertEqual(rc, 0, err)
        self.assertTrue(found)
        want = expected_geo("35.188.49.176")
        self.assertEqual(want["asn"], 396982)
        for f in found:
            if "from 35.188.49.176 " in f["event"] or "rhost=35.188.49.176" in f["event"]:
                self.assertEqual(f.get("geo"), want, f["event"])
            else:
                self.assertNotIn("geo", f, f["event"])

    def test_ipv6_and_service_name_sources(self):
        path = os.path.join(TMP, "v6.jsonl")
        base = {"eventVersion": "1.08", "eventSource": "signin.amazonaws.com",
                "eventName": "ConsoleLogin", "eventTime": "2026-01-01T00:00:00Z",
                "responseElements": {"ConsoleLogin": "Success"}}
        srcs = ["2001:db8:1::7", "signin.amazonaws.com", "2001:db8:9::1", "AWS Internal"]
        with open(path, "w") as f:
            for s in srcs:
                f.write(json.dumps(dict(base, sourceIPAddress=s)) + "\n")
        rc, found, err = scan(GEO_ARGS + ["-r", RULES, path])
        self.assertEqual(rc, 0, err)
        self.assertEqual([(f["ordinal"], f["rule"]) for f in found],
                         [(0, "geoip_api_call_foreign_asn"),
                          (0, "geoip_console_login_foreign_country")])
        self.assertEqual(found[0]["geo"], {"ip": "2001:db8:1::7", "country": "JP", "asn": 2497,
                                           "as_org": "Internet Initiative Japan Inc."})


class GeoRules(unittest.TestCase):
    def expected(self, paths):
        want = set()
        for path in paths:
            for i, r in enumerate(records(path)):
                geo = expected_geo(r.get("sourceIPAddress")) or {}
                if (r.get("eventSource") == "signin.amazonaws.com"
                        and r.get("eventName") == "ConsoleLogin" and "country" in geo
                        and geo["country"].upper() not in ("US", "FR", "DE")):
                    want.add(("geoip_console_login_foreign_country", path, i))
                if "asn" in geo and geo["asn"] != 16509:
                    want.add(("geoip_api_call_foreign_asn", path, i))
        return want

    def test_geo_rules_fire_exactly_on_the_events_they_should(self):
        paths = files_under(STRATUS) + files_under(CROWDSEC_CT)
        rc, found, err = scan(GEO_ARGS + ["-r", RULES, STRATUS, CROWDSEC_CT])
        self.assertEqual(rc, 0, err)
        got = {(f["rule"], f["source"], f["ordinal"]) for f in found}
        want = self.expected(paths)
        self.assertEqual(got, want)
        rules = {w[0] for w in want}
        self.assertEqual(rules, {"geoip_console_login_foreign_country",
                                 "geoip_api_call_foreign_asn"})
        # The prefilter never hides a geo match: confirm-only gives the same findings.
        rc2, slow, err2 = scan(GEO_ARGS + ["--sigma-confirm-only", "-r", RULES, STRATUS,
                                           CROWDSEC_CT])
        self.assertEqual(rc2, 0, err2)
        self.assertEqual(found, slow)

    def test_sshd_geo_rule_fires_on_invalid_users_from_the_watched_asn(self):
        rc, found, err = scan(GEO_ARGS + ["-r", RULES, SSH_BF])
        self.assertEqual(rc, 0, err)
        with open(SSH_BF) as f:
            lines = [l for l in f.read().split("\n") if l]
        want = [i for i, l in enumerate(lines)
                if "sshd[" in l and "Invalid user" in l and " from 35.188." in l]
        self.assertTrue(want)
        self.assertEqual([f["ordinal"] for f in found], want)
        self.assertEqual({f["rule"] for f in found}, {"geoip_sshd_invalid_user_from_asn"})


class NewCountryForAPrincipal(unittest.TestCase):
    """A value_count correlation over geoip.country_iso_code grouped by principal."""

    def test_two_countries_within_a_day_fire_once_per_principal(self):
        corr = os.path.join(GEO_DIR, "corr")
        path = os.path.join(TMP, "logins.jsonl")

        def login(user, ip, hour):
            return {"eventVersion": "1.08", "eventSource": "signin.amazonaws.com",
                    "eventName": "ConsoleLogin", "sourceIPAddress": ip,
                    "userIdentity": {"type": "IAMUser",
                                     "arn": f"arn:aws:iam::111122223333:user/{user}"},
                    "eventTime": f"2026-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z",
                    "responseElements": {"ConsoleLogin": "Success"}}
        events = [login("alice", "86.245.1.1", 0), login("alice", "88.223.251.9", 1),   # FR, DE
                  login("bob", "86.245.1.1", 0), login("bob", "86.245.9.9", 2),         # FR, FR
                  login("carol", "86.245.1.1", 0), login("carol", "signin.amazonaws.com", 1),
                  login("carol", "075.050.255.67", 2),                                  # no geo
                  login("dave", "86.245.1.1", 0), login("dave", "88.223.251.9", 50)]    # 2 days
        with open(path, "w") as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
        rc, found, err = scan(GEO_ARGS + ["-r", corr, path])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(found), 1, found)
        ev = json.loads(found[0]["event"])
        self.assertEqual(ev["correlation"], "value_count")
        self.assertIn("user/alice", ev["group"])
        self.assertEqual(ev["count"], 2)
        rc, out, err = run(["scan", "-q", "-r", corr, path])
        self.assertEqual(rc, 2)
        self.assertIn("reads geoip.country_iso_code", err)


class DefaultPackImpossibleTravel(unittest.TestCase):
    """The default packs' linux_sshd_impossible_travel (accepted SSH logins of one user from
    two countries within an hour) on crowdsec's impossible-travel test: fires with --geoip;
    without it the built-in rule loads and stays silent instead of refusing the scan."""
    LOG = os.path.join(DATA, "auth/crowdsec-hub/sshd-impossible-travel/sshd-success-logs.log")

    def test_fires_once_for_the_user_with_geoip(self):
        rc, found, err = scan(GEO_ARGS + [self.LOG])
        self.assertEqual(rc, 0, err)
        self.assertEqual([f["rule"] for f in found], ["linux_sshd_impossible_travel"])
        ev = json.loads(found[0]["event"])
        self.assertEqual((ev["group"], ev["count"]), ("user=vagrant", 2))
        self.assertEqual(found[0]["ordinal"], 1)  # the login from the second country

    def test_loads_and_never_fires_without_geoip(self):
        rc, found, err = scan([self.LOG])
        self.assertEqual(rc, 1, err)
        self.assertEqual(found, [])
        self.assertNotIn("geoip", err)

    def test_same_rule_from_a_file_still_needs_geoip(self):
        packs = os.path.join(SRC, "patterns", "packs")
        rc, out, err = run(["scan", "-q", "-r", os.path.join(packs, "correlations"),
                            "-r", os.path.join(packs, "geoip"), self.LOG])
        self.assertEqual(rc, 2)
        self.assertIn("rule linux_sshd_impossible_travel", err)
        self.assertIn("--geoip", err)
        # the other correlations (with their base rules) need no database
        rc, out, err = run(["scan", "-q", "-r", os.path.join(packs, "correlations"),
                            "-r", os.path.join(packs, "auth"),
                            "-r", os.path.join(packs, "cloudtrail"), self.LOG])
        self.assertEqual(rc, 1, err)


class Errors(unittest.TestCase):
    def test_geo_rules_without_geoip_refuse_to_start(self):
        rc, out, err = run(["scan", "-q", "-r", RULES, STRATUS])
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn("--geoip", lines[0])
        self.assertRegex(lines[0], r"rule geoip_\w+ \(.*geoip_\w+\.yml:\d+\) reads geoip\.")

    def test_rules_check_says_which_rules_need_geoip(self):
        rc, out, err = run(["rules", "check", RULES, os.path.join(SRC, "patterns", "packs", "auth")])
        self.assertEqual(rc, 0, out + err)
        heads = [l for l in out.splitlines() if ".yml:" in l and not l.startswith(" ")]
        geo = [l for l in heads if "geoip_" in l.split(":", 1)[0]]
        self.assertEqual(len(geo), len(os.listdir(RULES)))
        for line in geo:
            self.assertRegex(line, r"needs=--geoip\(geoip\.(country_iso_code|asn|as_org)\)")
        self.assertTrue(all("needs=" not in l for l in heads if l not in geo))

    def test_bad_database_file_is_one_line_naming_it(self):
        not_db = os.path.join(TMP, "networks.mmdb")
        shutil.copy(os.path.join(GEO_DIR, "networks.json"), not_db)
        for path, cause in ((not_db, "cannot open it as a MaxMind DB"),
                            (os.path.join(TMP, "missing.mmdb"), "No such file")):
            rc, out, err = run(["scan", "-q", "--geoip", path, STRATUS])
            self.assertEqual(rc, 2)
            self.assertEqual(out, "")
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(path, err)
            self.assertIn(cause, err)

    def test_geoip_needs_a_value(self):
        rc, _, err = run(["scan", "-q", STRATUS, "--geoip"])
        self.assertEqual(rc, 2)
        self.assertIn("--geoip needs a value", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
