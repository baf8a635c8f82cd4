#!/usr/bin/python3
"""Tests of the reference Sigma evaluator and of the default packs it judges:
- the evaluator's semantics, one behaviour per test, and its refusals;
- every pack rule loads, carries full metadata, and fires on its positive test event(s) and not
  on its negative ones (patterns/packs/tests/<rule-file-stem>/)."""
import json
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PACKS = os.path.join(ROOT, "patterns", "packs")
# The networks the GeoIP test databases are written from (tests/data/geoip/make_mmdb.pl): the
# packs' GeoIP rules are judged with them, as logsift judges them with --geoip.
GEO_NETWORKS = os.path.join(ROOT, "tests", "data", "geoip", "networks.json")
sys.path.insert(0, HERE)
import sigma_ref as S  # noqa: E402

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def rule_from(text):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(text)
    try:
        rules, corrs = S.load_rules([f.name])
    finally:
        os.unlink(f.name)
    return rules[0] if rules else corrs[0]


def det(body, product="aws"):
    return ("title: t\nid: 00000000-0000-0000-0000-000000000000\nlogsource:\n    product: %s\n"
            "detection:\n%s" % (product, body))


def jev(obj):
    return S.Event(obj, json.dumps(obj), "json")


def sev(line):
    return S.Event(None, line, "syslog")


class Semantics(unittest.TestCase):
    def test_exact_match_is_case_insensitive_and_whole_value(self):
        r = rule_from(det("    s:\n        eventName: StopLogging\n    condition: s\n"))
        self.assertTrue(r.match(jev({"eventName": "stoplogging"})))
        self.assertFalse(r.match(jev({"eventName": "StopLoggingNow"})))
        self.assertFalse(r.match(jev({"other": "StopLogging"})))

    def test_cased_is_exact(self):
        r = rule_from(det("    s:\n        eventName|cased: StopLogging\n    condition: s\n"))
        self.assertTrue(r.match(jev({"eventName": "StopLogging"})))
        self.assertFalse(r.match(jev({"eventName": "stoplogging"})))

    def test_wildcards_and_escapes(self):
        r = rule_from(det("    s:\n        a: 'Get*Val?e'\n        b: 'x\\*y'\n    condition: s\n"))
        self.assertTrue(r.match(jev({"a": "GetSecretValue", "b": "x*y"})))
        self.assertFalse(r.match(jev({"a": "GetSecretValue", "b": "xzy"})))
        self.assertFalse(r.match(jev({"a": "GetSecretValues", "b": "x*y"})))

    def test_contains_startswith_endswith_all(self):
        r = rule_from(det("    s:\n        a|contains|all:\n            - foo\n            - bar\n"
                          "        b|startswith: pre\n        c|endswith: '/0'\n    condition: s\n"))
        self.assertTrue(r.match(jev({"a": "xbarxfoo", "b": "prefix", "c": "1.2.3.4/0"})))
        self.assertFalse(r.match(jev({"a": "xfoo", "b": "prefix", "c": "1.2.3.4/0"})))
        self.assertFalse(r.match(jev({"a": "foobar", "b": "xpre", "c": "1.2.3.4/0"})))
        self.assertFalse(r.match(jev({"a": "foobar", "b": "pre", "c": "1.2.3.4/01"})))

    def test_dotted_paths_search_arrays(self):
        r = rule_from(det("    s:\n        rp.items.ranges.items.cidrIp|endswith: '/0'\n"
                          "    condition: s\n"))
        ev = {"rp": {"items": [{"ranges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
                               {"ranges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}
        self.assertTrue(r.match(jev(ev)))
        ev["rp"]["items"].pop()
        self.assertFalse(r.match(jev(ev)))

    def test_value_in_array_and_star_needs_an_element(self):
        r = rule_from(det("    s:\n        names: '*'\n    condition: s\n"))
        self.assertTrue(r.match(jev({"names": ["a"]})))
        self.assertFalse(r.match(jev({"names": []})))
        self.assertFalse(r.match(jev({"names": None})))

    def test_numbers_and_booleans_compare_as_json_text(self):
        r = rule_from(det("    s:\n        n: 1\n        b: false\n    condition: s\n"))
        self.assertTrue(r.match(jev({"n": 1, "b": False})))
        self.assertTrue(r.match(jev({"n": "1", "b": "false"})))
        self.assertFalse(r.match(jev({"n": 10, "b": False})))
        self.assertFalse(r.match(jev({"n": 1, "b": True})))

    def test_null_matches_missing_or_null(self):
        r = rule_from(det("    s:\n        x: null\n    condition: s\n"))
        self.assertTrue(r.match(jev({})))
        self.assertTrue(r.match(jev({"x": None})))
        self.assertFalse(r.match(jev({"x": ""})))

    def test_exists(self):
        r = rule_from(det("    s:\n        a.b|exists: true\n        c|exists: false\n"
                          "    condition: s\n"))
        self.assertTrue(r.match(jev({"a": {"b": 0}})))
        self.assertTrue(r.match(jev({"a": {"b": 1}, "c": None})))
        self.assertFalse(r.match(jev({"a": {"b": None}})))
        self.assertFalse(r.match(jev({"a": {"b": 1}, "c": 2})))
        self.assertFalse(r.match(jev({"a": {}})))

    def test_fieldref(self):
        r = rule_from(det("    s:\n        rp.userName|fieldref: ui.userName\n    condition: s\n"))
        self.assertTrue(r.match(jev({"rp": {"userName": "Bob"}, "ui": {"userName": "bob"}})))
        self.assertFalse(r.match(jev({"rp": {"userName": "eve"}, "ui": {"userName": "bob"}})))
        self.assertFalse(r.match(jev({"rp": {"userName": "eve"}})))

    def test_cidr(self):
        r = rule_from(det("    s:\n        ip|cidr:\n            - 10.0.0.0/8\n            - '::1/128'\n"
                          "    condition: s\n"))
        self.assertTrue(r.match(jev({"ip": "10.2.3.4"})))
        self.assertTrue(r.match(jev({"ip": "::1"})))
        self.assertFalse(r.match(jev({"ip": "11.0.0.1"})))
        self.assertFalse(r.match(jev({"ip": "ec2.amazonaws.com"})))

    def test_re_and_re_i(self):
        r = rule_from(det("    s:\n        p|re: '\"Action\"\\s*:\\s*\"\\*\"'\n    condition: s\n"))
        self.assertTrue(r.match(jev({"p": '{"Action": "*"}'})))
        self.assertFalse(r.match(jev({"p": '{"action": "*"}'})))
        ri = rule_from(det("    s:\n        p|re|i: '^abc$'\n    condition: s\n"))
        self.assertTrue(ri.match(jev({"p": "ABC"})))

    def test_list_of_maps_is_or(self):
        r = rule_from(det("    s:\n        - a: 1\n        - b: 2\n    condition: s\n"))
        self.assertTrue(r.match(jev({"b": 2})))
        self.assertFalse(r.match(jev({"a": 2, "b": 1})))

    def test_keywords_substring_and_wildcard_full_match(self):
        r = rule_from(det("    k1:\n        - 'failed password for '\n    k2:\n"
                          "        - '*Accepted * for root from *'\n    condition: k1 or k2\n",
                          "linux"))
        self.assertTrue(r.match(sev("Mar 1 00:00:00 h sshd[1]: Failed password for x from y")))
        self.assertTrue(r.match(sev("h sshd[1]: Accepted publickey for root from 1.2.3.4")))
        self.assertFalse(r.match(sev("h sshd[1]: Accepted publickey for bob from 1.2.3.4")))

    def test_conditions(self):
        body = ("    sel_a:\n        a: 1\n    sel_b:\n        b: 1\n    f:\n        c: 1\n"
                "    condition: %s\n")
        one = rule_from(det(body % "1 of sel_* and not f"))
        self.assertTrue(one.match(jev({"b": 1})))
        self.assertFalse(one.match(jev({"b": 1, "c": 1})))
        allof = rule_from(det(body % "all of sel_*"))
        self.assertTrue(allof.match(jev({"a": 1, "b": 1})))
        self.assertFalse(allof.match(jev({"a": 1})))
        them = rule_from(det(body % "all of them"))
        self.assertFalse(them.match(jev({"a": 1, "b": 1})))
        self.assertTrue(them.match(jev({"a": 1, "b": 1, "c": 1})))
        paren = rule_from(det(body % "not (sel_a or sel_b) and f"))
        self.assertTrue(paren.match(jev({"c": 1})))
        self.assertFalse(paren.match(jev({"c": 1, "a": 1})))

    def test_syslog_fields(self):
        f, ts = S.syslog_fields("Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from "
                                "35.188.49.176 port 53502")
        self.assertEqual((f["program"], f["pid"], f["user"], f["rhost"], f["port"]),
                         ("sshd", "16378", "pascal", "35.188.49.176", "53502"))
        self.assertIsNotNone(ts)
        f, ts = S.syslog_fields('<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 '
                                '- [meta sequenceId="1"] Invalid user tutu from 1.2.3.4 port 33166')
        self.assertEqual((f["host"], f["user"], f["rhost"]), ("OPNsense.localdomain", "tutu",
                                                              "1.2.3.4"))

    def test_refusals_name_file_line_and_feature(self):
        cases = [
            (det("    s:\n        a|base64offset: x\n    condition: s\n"), "base64offset"),
            (det("    s:\n        a: x\n    condition: s | count() by b > 3\n"), "aggregation"),
            (det("    s:\n        a: x\n    condition: 2 of s\n"), "'2 of'"),
            (det("    s:\n        a: x\n    condition: s and t\n"), "unknown selection 't'"),
            (det("    s:\n        a|contains|startswith: x\n    condition: s\n"), "combined"),
            (det("    s:\n        '|all':\n            - x\n    condition: s\n"), "keyword"),
            ("title: t\nfrobnicate: 1\n" + det("    s:\n        a: x\n    condition: s\n")[9:],
             "frobnicate"),
            ("title: c\ncorrelation:\n    type: event_count\n    rules: [x]\n    group-by: [a]\n"
             "    timespan: 5 minutes\n    condition:\n        gte: 2\n", "timespan"),
            ("title: c\ncorrelation:\n    type: sequence\n    rules: [x]\n", "sequence"),
        ]
        for text, feature in cases:
            with self.subTest(feature=feature):
                with self.assertRaises(S.SigmaError) as cm:
                    rule_from(text)
                msg = str(cm.exception)
                self.assertIn(feature, msg)
                self.assertRegex(msg, r"\.yml(:\d+)?")


class Framing(unittest.TestCase):
    def frame(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(text)
        try:
            return [(k, ev.kind, ev.raw) for k, ev in S.read_events(f.name)]
        finally:
            os.unlink(f.name)

    def test_cloudtrail_envelope_and_array_give_one_event_per_record(self):
        got = self.frame('{"Records":[{"a":1},\n {"b":"]"}]}')
        self.assertEqual(got, [(0, "json", '{"a":1}'), (1, "json", '{"b":"]"}')])
        self.assertEqual(len(self.frame('[\n  {"a": 1},\n  {"a": 2}\n]\n')), 2)

    def test_json_values_back_to_back_and_lines(self):
        self.assertEqual([r for _, _, r in self.frame('{\n "a": 1\n}\n{"b": 2}\n\n{"c":3}')],
                         ['{\n "a": 1\n}', '{"b": 2}', '{"c":3}'])

    def test_syslog_lines_skip_blank_lines_and_keep_json_lines_json(self):
        got = self.frame('Mar  1 00:00:00 h sshd[1]: x\n  \r\n{"a":1}\nnot json {\n')
        self.assertEqual([(k, kind) for k, kind, _ in got], [(0, "syslog"), (1, "json"),
                                                              (2, "syslog")])


class Correlations(unittest.TestCase):
    def test_referred_rules_are_silent_unless_generate(self):
        c = self.corr("event_count", "    condition:\n        gte: 3\n")
        got = self.run_pack([self.BASE, c], self.lines(3), everything=True)
        self.assertEqual([f["title"] for f in got], ["c"])
        gen = c.replace("    timespan:", "    generate: true\n    timespan:")
        got = self.run_pack([self.BASE, gen], self.lines(3), everything=True)
        self.assertEqual([f["title"] for f in got], ["fail", "fail", "fail", "c"])

    def run_pack(self, texts, lines, everything=False):
        d = tempfile.mkdtemp()
        for k, t in enumerate(texts):
            with open(os.path.join(d, "r%d.yml" % k), "w") as f:
                f.write(t)
        log = os.path.join(d, "in.log")
        with open(log, "w") as f:
            f.write("\n".join(lines) + "\n")
        rules, corrs = S.load_rules([os.path.join(d, "r%d.yml" % k) for k in range(len(texts))])
        return [x for x in S.evaluate(rules, corrs, [log]) if everything or "group" in x]

    BASE = ("title: fail\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n"
            "    product: linux\ndetection:\n    k:\n        - 'Failed password for '\n"
            "    condition: k\n")

    def corr(self, typ, cond, span="5m", rules=("11111111-1111-1111-1111-111111111111",)):
        return ("title: c\nid: 22222222-2222-2222-2222-222222222222\ncorrelation:\n"
                "    type: %s\n    rules:\n%s    group-by:\n        - rhost\n"
                "    timespan: %s\n%s" % (typ, "".join("        - %s\n" % r for r in rules),
                                         span, cond))

    def lines(self, n, ip="1.2.3.4", step=10, user=None):
        out = []
        for k in range(n):
            t = 10 * 60 + k * step
            out.append("Mar  1 00:%02d:%02d h sshd[1]: Failed password for %s from %s port 22 ssh2"
                       % (t // 60, t % 60, user or "u%d" % k, ip))
        return out

    def test_event_count_fires_once_per_burst_and_per_group(self):
        c = self.corr("event_count", "    condition:\n        gte: 3\n", span="1m")
        # 6 failures in 50 s: one finding; 3 more after the quiet minute: a second one
        got = self.run_pack([self.BASE, c], self.lines(6) + self.lines(2, ip="5.6.7.8") +
                            self.lines(9, step=20)[6:])
        self.assertEqual([(g["group"], g["ordinal"]) for g in got],
                         [({"rhost": "1.2.3.4"}, 2), ({"rhost": "1.2.3.4"}, 10)])

    def test_event_count_respects_the_window(self):
        c = self.corr("event_count", "    condition:\n        gte: 3\n", span="15s")
        self.assertEqual(self.run_pack([self.BASE, c], self.lines(6)), [])

    def test_value_count(self):
        c = self.corr("value_count", "    condition:\n        field: user\n        gte: 3\n")
        self.assertEqual(len(self.run_pack([self.BASE, c], self.lines(3))), 1)
        self.assertEqual(self.run_pack([self.BASE, c], self.lines(5, user="root")), [])

    def test_temporal_ordered(self):
        ok = ("title: ok\nid: 33333333-3333-3333-3333-333333333333\nlogsource:\n"
              "    product: linux\ndetection:\n    k:\n        - 'Accepted password for '\n"
              "    condition: k\n")
        c = self.corr("temporal_ordered", "", span="10m",
                      rules=("11111111-1111-1111-1111-111111111111",
                             "33333333-3333-3333-3333-333333333333"))
        good = self.lines(1) + ["Mar  1 00:11:00 h sshd[2]: Accepted password for u from 1.2.3.4 "
                                "port 22 ssh2"]
        self.assertEqual(len(self.run_pack([self.BASE, ok, c], good)), 1)
        early = self.lines(1) + ["Mar  1 00:09:00 h sshd[2]: Accepted password for u from "
                                 "1.2.3.4 port 22 ssh2"]
        self.assertEqual(self.run_pack([self.BASE, ok, c], early), [])

    def burst(self, group="        - rhost\n", rid="44444444-4444-4444-4444-444444444444",
              rules=("11111111-1111-1111-1111-111111111111",)):
        return ("title: burst\nid: %s\ncorrelation:\n    type: event_count\n    rules:\n%s"
                "    group-by:\n%s    timespan: 1m\n    condition:\n        gte: 3\n"
                % (rid, "".join("        - %s\n" % r for r in rules), group))

    OK = ("title: ok\nid: 33333333-3333-3333-3333-333333333333\nlogsource:\n"
          "    product: linux\ndetection:\n    k:\n        - 'Accepted password for '\n"
          "    condition: k\n")

    def test_chained_correlation_fires_at_the_event_that_completed_the_inner(self):
        c = self.corr("temporal_ordered", "", span="10m",
                      rules=("44444444-4444-4444-4444-444444444444",
                             "33333333-3333-3333-3333-333333333333"))
        login = ("Mar  1 00:%s h sshd[2]: Accepted password for u from 1.2.3.4 port 22 ssh2")
        # the burst completes at its third failure (00:10:20): a login before it is too early
        got = self.run_pack([self.BASE, self.OK, self.burst(), c],
                            self.lines(3) + [login % "10:30"])
        self.assertEqual([(g["title"], g["ordinal"]) for g in got], [("c", 3)])
        early = self.lines(2) + [login % "10:15"] + self.lines(3)[2:]
        self.assertEqual(self.run_pack([self.BASE, self.OK, self.burst(), c], early), [])
        # the burst stays silent (generate: false), another address does not count
        other = self.lines(3, ip="9.9.9.9") + [login % "10:30"]
        self.assertEqual(self.run_pack([self.BASE, self.OK, self.burst(), c], other), [])

    def test_chained_group_by_must_come_from_the_inner(self):
        c = self.corr("event_count", "    condition:\n        gte: 1\n",
                      rules=("44444444-4444-4444-4444-444444444444",))
        with self.assertRaisesRegex(S.SigmaError, "rhost.*does not group by"):
            self.run_pack([self.BASE, self.burst(group="        - user\n"), c], self.lines(3))

    def test_correlations_in_a_cycle_are_refused(self):
        a = self.burst(rules=("11111111-1111-1111-1111-111111111111",
                              "22222222-2222-2222-2222-222222222222"))
        c = self.corr("event_count", "    condition:\n        gte: 1\n",
                      rules=("44444444-4444-4444-4444-444444444444",))
        with self.assertRaisesRegex(S.SigmaError, "cycle"):
            self.run_pack([self.BASE, a, c], self.lines(3))


class GeoIP(unittest.TestCase):
    def setUp(self):
        S.set_geoip_networks(GEO_NETWORKS)

    def tearDown(self):
        S.set_geoip_networks(None)

    def test_country_and_asn_of_the_source_address(self):
        ev = jev({"sourceIPAddress": "86.245.1.2"})
        self.assertEqual(ev.field("geoip.country_iso_code"), (True, ["FR"]))
        self.assertEqual(ev.field("geoip.asn"), (True, ["3215"]))
        self.assertEqual(ev.field("geoip.as_org"), (True, ["Orange"]))
        self.assertEqual(jev({"sourceIPAddress": "2001:db8:2::1"}).field(
            "geoip.country_iso_code"), (True, ["CH"]))  # registered country only

    def test_syslog_lines_use_rhost(self):
        ev = sev("Sep  6 09:57:24 h sshd[812]: Accepted publickey for vagrant from 9.8.8.8 "
                 "port 56302 ssh2: RSA SHA256:x")
        self.assertEqual(ev.field("geoip.country_iso_code"), (True, ["US"]))

    def test_no_address_no_data_or_no_networks_is_missing(self):
        for ip in ("ec2.amazonaws.com", "AWS Internal", "075.050.255.67", "192.0.2.1"):
            self.assertEqual(jev({"sourceIPAddress": ip}).field("geoip.country_iso_code"),
                             (False, []), ip)
        self.assertEqual(jev({"sourceIPAddress": "1.2.3.4"}).field("geoip.asn"), (False, []))
        S.set_geoip_networks(None)
        self.assertEqual(jev({"sourceIPAddress": "86.245.1.2"}).field(
            "geoip.country_iso_code"), (False, []))

    def test_pack_geoip_correlation_needs_the_networks(self):
        rules, corrs = pack_rules()
        c = next(c for c in corrs if c.path.endswith("linux_sshd_impossible_travel.yml"))
        pos = test_files("linux_sshd_impossible_travel", "positive")
        got = [f for f in S.evaluate(rules, corrs, [pos], silence=False) if f["rule"] == c.id]
        self.assertEqual(len(got), 1)
        S.set_geoip_networks(None)
        got = [f for f in S.evaluate(rules, corrs, [pos], silence=False) if f["rule"] == c.id]
        self.assertEqual(got, [])


def pack_rules():
    rules, corrs = S.load_rules([PACKS])
    return rules, corrs


def test_files(stem, kind):
    d = os.path.join(PACKS, "tests", stem)
    for ext in (".jsonl", ".log"):
        p = os.path.join(d, kind + ext)
        if os.path.exists(p):
            return p
    return None


class Packs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules, cls.corrs = pack_rules()
        S.set_geoip_networks(GEO_NETWORKS)

    @classmethod
    def tearDownClass(cls):
        S.set_geoip_networks(None)

    def test_every_rule_has_full_metadata(self):
        ids = set()
        for r in self.rules + self.corrs:
            import yaml
            with open(r.path) as f:
                doc = yaml.safe_load(f)
            with self.subTest(rule=r.path):
                for key in ("title", "id", "status", "description", "author", "date", "tags",
                            "falsepositives", "level"):
                    self.assertIn(key, doc)
                self.assertRegex(doc["id"], UUID)
                self.assertNotIn(doc["id"], ids)
                ids.add(doc["id"])
                self.assertEqual(doc["author"], "logsift")
                self.assertTrue(any(re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", t)
                                    for t in doc["tags"]), "an ATT&CK technique tag")
                self.assertTrue(all(t.startswith("attack.") for t in doc["tags"]))
                self.assertIn(doc["level"], ("informational", "low", "medium", "high",
                                             "critical"))
                if "correlation" not in doc:
                    self.assertIn(doc["logsource"].get("product"), ("aws", "linux"))
                    self.assertNotIn("/correlations/", r.path.replace(os.sep, "/")) if \
                        doc["level"] != "informational" else None

    def test_correlations_and_their_building_blocks_live_apart(self):
        # GeoIP correlations apart again (geoip/): given with -r they need --geoip, and
        # `-r correlations` should not.
        for r in self.corrs:
            folder = os.path.basename(os.path.dirname(r.path))
            self.assertIn(folder, ("correlations", "geoip"), r.path)
            self.assertEqual(folder == "geoip", "geoip." in open(r.path).read(), r.path)
        for r in self.rules:
            if r.level == "informational":
                self.assertIn("correlations", r.path)

    def test_every_rule_fires_on_its_positive_and_not_its_negative(self):
        for r in self.rules:
            stem = os.path.basename(r.path)[:-4]
            with self.subTest(rule=stem):
                pos, neg = test_files(stem, "positive"), test_files(stem, "negative")
                self.assertIsNotNone(pos, "patterns/packs/tests/%s/positive.*" % stem)
                self.assertIsNotNone(neg, "patterns/packs/tests/%s/negative.*" % stem)
                evs = list(S.read_events(pos))
                self.assertTrue(evs)
                for _, ev in evs:
                    self.assertTrue(S.applies(r, ev) and r.match(ev), "positive event")
                for _, ev in S.read_events(neg):
                    self.assertFalse(S.applies(r, ev) and r.match(ev), "negative event")

    def test_every_correlation_fires_on_its_positive_and_not_its_negative(self):
        for c in self.corrs:
            stem = os.path.basename(c.path)[:-4]
            with self.subTest(rule=stem):
                pos, neg = test_files(stem, "positive"), test_files(stem, "negative")
                self.assertIsNotNone(pos)
                self.assertIsNotNone(neg)
                got = [f for f in S.evaluate(self.rules, self.corrs, [pos], silence=False)
                       if f["rule"] == c.id]
                self.assertTrue(got, "positive sequence")
                got = [f for f in S.evaluate(self.rules, self.corrs, [neg], silence=False)
                       if f["rule"] == c.id]
                self.assertEqual(got, [], "negative sequence")

    def test_retired_hsbench_samples_still_hold(self):
        # The auth samples and the near misses of the retired hsbench pack's test
        # (tests/unit/patterns/test_pat_default.c): same verdicts from the Sigma rules.
        by_stem = {os.path.basename(r.path)[:-4]: r for r in self.rules
                   if r.level != "informational"}
        auth = [
            ("linux_sshd_failed_password", "Mar 29 10:00:01 host sshd[123]: Failed password for "
             "invalid user admin from 1.2.3.4 port 4242 ssh2"),
            ("linux_sshd_invalid_user", "Feb 12 14:10:21 sd-126005 sshd-session[16378]: Invalid "
             "user pascal from 35.188.49.176 port 53502"),
            ("linux_sshd_invalid_user", '<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain '
             'sshd 44255 - [meta sequenceId="1"] Invalid user tutu from 1.2.3.4 port 33166'),
            ("linux_pam_auth_failure", "Dec  7 14:52:59 h sudo: pam_unix(sudo:auth): "
             "authentication failure; logname=zbadguy uid=4001 euid=0 tty=/dev/pts/12 "
             "ruser=zbadguy rhost=  user=zbadguy"),
            ("linux_sshd_max_auth_attempts", "Mar 27 13:10:01 ip-10-77-20-248 sshd[1234]: error: "
             "maximum authentication attempts exceeded for root from 1.2.3.4 port 5555 ssh2 "
             "[preauth]"),
            ("linux_sshd_root_login", "Apr  1 10:00:00 h sshd[99]: Accepted keyboard-interactive/"
             "pam for root from 10.0.0.5 port 50000 ssh2"),
            ("linux_sudo_not_in_sudoers", "Jun 22 07:07:44 h sudo:   nobody : user NOT in sudoers "
             "; TTY=console ; PWD=/some/path ; USER=root ; COMMAND=/bin/ls"),
            ("linux_sudo_incorrect_password", "Jun 22 07:08:44 h sudo:   bob : 3 incorrect "
             "password attempts ; TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash"),
            ("linux_su_auth_failure", "Jun 22 07:09:00 h su[4242]: FAILED SU (to root) bob on "
             "pts/1"),
            ("linux_su_auth_failure", "Jun 22 07:09:00 h su[4242]: pam_unix(su-l:auth): "
             "authentication failure; logname=bob uid=1000 euid=0 tty=pts/1 ruser=bob rhost=  "
             "user=root"),
            ("linux_account_added_to_admin_group", "Jun 22 07:10:00 h gpasswd[556]: user eve "
             "added by root to group wheel"),
            ("linux_account_uid0_created", "Jun 22 07:12:00 h usermod[558]: change user 'eve' "
             "UID from '1001' to '0'"),
        ]
        for stem, line in auth:
            fired = [os.path.basename(r.path)[:-4] for r in by_stem.values()
                     if S.applies(r, sev(line)) and r.match(sev(line))]
            self.assertEqual(fired, [stem], line)
        quiet = [
            "Mar 29 10:00:02 host sshd[124]: Accepted password for bob from 1.2.3.4 port 4243 ssh2",
            "Mar 29 10:00:03 host sshd[125]: input_userauth_request: invalid user admin [preauth]",
            "Jun 22 07:10:00 h usermod[555]: add 'eve' to shadow group 'sudo'",
            "Jun 22 07:10:00 h usermod[555]: add 'eve' to group 'docker'",
            "Jun 22 07:11:00 h useradd[557]: new user: name=bob, UID=1001, GID=1001, home=/home/bob",
            "Jun 22 07:12:00 h usermod[558]: change user 'eve' UID from '1001' to '1002'",
            "Mar 27 13:06:56 h su[1]: Successful su for root by root",
            "Mar 27 13:06:56 h sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; "
            "COMMAND=/bin/ls",
            '{"eventSource":"frauddetector.amazonaws.com","eventName":"DeleteDetector"}',
            '{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress",'
            '"requestParameters":{"cidrIp":"10.0.0.0/8"}}',
            '{"eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy",'
            '"requestParameters":{"policyArn":"arn:aws:iam::123456789012:policy/'
            'AdministratorAccess"}}',
            '{"eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute",'
            '"requestParameters":{"createVolumePermission":{"remove":{"items":[{"userId":"1"}]}}}}',
            '{"eventSource":"rds.amazonaws.com","eventName":"ModifyDBSnapshotAttribute",'
            '"requestParameters":{"attributeName":"restore","valuesToAdd":[],'
            '"valuesToRemove":["1"]}}',
            '{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstanceAttribute",'
            '"requestParameters":{"attribute":"userData"},"responseElements":{"userData":"x"}}',
            '{"userIdentity":{"type":"AssumedRole"},"eventSource":"signin.amazonaws.com",'
            '"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"},'
            '"additionalEventData":{"MFAUsed":"No"}}',
        ]
        for text in quiet:
            ev = jev(json.loads(text)) if text.startswith("{") else sev(text)
            fired = [os.path.basename(r.path)[:-4] for r in by_stem.values()
                     if S.applies(r, ev) and r.match(ev)]
            self.assertEqual(fired, [], text)

    def test_advanced_event_selectors_without_management_events(self):
        r = next(r for r in self.rules if r.path.endswith("aws_cloudtrail_put_event_selectors.yml"))

        def ev(*categories):
            return jev({"eventSource": "cloudtrail.amazonaws.com", "eventName": "PutEventSelectors",
                        "requestParameters": {"trailName": "t", "advancedEventSelectors": [
                            {"name": c, "fieldSelectors": [{"field": "eventCategory", "equals": [c]}]}
                            for c in categories]}})
        self.assertTrue(r.match(ev("Data")))
        self.assertFalse(r.match(ev("Data", "Management")))
        self.assertFalse(r.match(ev("Management")))

    def test_sources_md_cites_every_test_file(self):
        with open(os.path.join(PACKS, "tests", "SOURCES.md")) as f:
            text = f.read()
        for stem in os.listdir(os.path.join(PACKS, "tests")):
            if os.path.isdir(os.path.join(PACKS, "tests", stem)):
                for name in os.listdir(os.path.join(PACKS, "tests", stem)):
                    self.assertIn("| %s | %s |" % (stem, name), text)


if __name__ == "__main__":
    unittest.main()
