#!/usr/bin/env python3
"""The HTML report (--report) rendered by headless Chromium (Debian's chromium): a screenshot is
taken and the page's DOM, as Chromium built it, must show the counts computed here from the same
scan's JSON lines. Exit 77 (skipped) only when Chromium is missing or cannot start. A second
scan with --geoip (MaxMind DBs written at test time by tests/data/geoip/make_mmdb.pl) must show
each source IP's country and AS, and the findings per country, as the findings' "geo" members say.

Run by ctest with LOGSIFT_BIN and LSF_SHARED_DATA.
"""
import collections
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")
DETONATIONS = os.path.join(DATA, "cloudtrail", "stratus-red-team", "detonation-logs")
GEO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "geoip")
CHROMIUM = shutil.which(os.environ.get("LSF_CHROMIUM", "chromium"))


def chromium(args, profile, timeout=90):
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}"]
                          + args, capture_output=True, timeout=timeout)


def chromium_works(tmp):
    if CHROMIUM is None:
        return False
    try:
        r = chromium(["--dump-dom", "data:text/html,<p id=x>ok</p>"], os.path.join(tmp, "probe"))
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and b'id="x"' in r.stdout


class Dom(html.parser.HTMLParser):
    """Text by element id, rule rows by data-rule, bar counts, and the top tables' rows."""

    def __init__(self):
        super().__init__()
        self.by_id, self.rules, self.bars, self.tops = {}, {}, [], collections.defaultdict(list)
        self.stack, self.row, self.table = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a.get("id")))
        if tag == "table":
            self.table = a.get("id")
        if tag == "tr":
            self.row = {"rule": a.get("data-rule"), "cells": []}
        if tag == "td" and self.row is not None:
            self.row["cells"].append("")
        if tag == "rect" and "data-count" in a:
            self.bars.append(int(a["data-count"]))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "tr" and self.row is not None:
            if self.row["rule"]:
                self.rules[self.row["rule"]] = self.row["cells"]
            elif self.table in ("top-principals", "top-source-ips", "top-countries") and \
                    self.row["cells"]:
                self.tops[self.table].append(self.row["cells"])
            self.row = None

    def handle_data(self, data):
        for _, ident in self.stack:
            if ident:
                self.by_id[ident] = self.by_id.get(ident, "") + data
        if self.row is not None and self.row["cells"]:
            self.row["cells"][-1] += data


def top(counter):
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:10]


def correlation_group(f):
    """The group of a correlation finding as a dict, or None for a finding on one event."""
    if not f["event"].startswith('{"correlation"'):
        return None
    corr = json.loads(f["event"])
    return dict(kv.split("=", 1) for kv in corr["group"].split(", "))


def event_of(f):
    """The finding's whole event, read from its file (an excerpt may be cut)."""
    with open(f["source"], "rb") as fp:
        fp.seek(f["offset"])
        ev, _ = json.JSONDecoder().raw_decode(fp.read().decode())
    return ev


class TestReport(unittest.TestCase):
    def scan_and_render(self, extra_args):
        """Scan the detonations with --report; the findings and the DOM Chromium built."""
        report = os.path.join(self.tmp, "report.html")
        r = subprocess.run([LOGSIFT, "scan", "-q", "--sort", "--report", report] + extra_args +
                           [DETONATIONS], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        findings = [json.loads(line) for line in r.stdout.decode().splitlines()]
        r = chromium(["--dump-dom", "file://" + report], os.path.join(self.tmp, "p-geo"))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        dom = Dom()
        dom.feed(r.stdout.decode())
        return findings, dom

    def test_geoip_report_shows_country_and_as_of_the_source_ips(self):
        if shutil.which("perl") is None or subprocess.run(
                ["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"],
                capture_output=True).returncode != 0:
            self.skipTest("libmaxmind-db-writer-perl is missing (tests/install-deps.sh)")
        subprocess.run(["perl", os.path.join(GEO_DIR, "make_mmdb.pl"), self.tmp], check=True)
        findings, dom = self.scan_and_render(
            ["--geoip", os.path.join(self.tmp, "LogsiftTest-Country.mmdb"),
             "--geoip", os.path.join(self.tmp, "LogsiftTest-ASN.mmdb")])
        self.assertEqual(int(dom.by_id["total-findings"]), len(findings))
        # Expected from the JSON lines: each address's country and AS from its findings' geo
        # member, and per country the findings that carry it ("(unknown)": an address without
        # one); a correlation finding grouped by neither address nor country is left out.
        ips, countries, geo_of = collections.Counter(), collections.Counter(), {}
        left_out = 0
        for f in findings:
            geo = f.get("geo") or {}
            group = correlation_group(f)
            if group is not None:
                ip = group.get("sourceIPAddress") or group.get("rhost")
            else:
                ip = event_of(f).get("sourceIPAddress", "(unknown)")
            if ip is None and not geo:
                left_out += 1
                continue
            ips[ip or geo["ip"]] += 1
            countries[geo.get("country", "(unknown)")] += 1
            if geo:
                as_text = ("AS%d %s" % (geo["asn"], geo.get("as_org", ""))).strip() \
                    if "asn" in geo else ""
                geo_of.setdefault(ip or geo["ip"], [geo.get("country", ""), as_text])
        self.assertGreater(len(geo_of), 3)
        self.assertEqual(dom.tops["top-source-ips"],
                         [[k] + geo_of.get(k, ["", ""]) + [str(n)] for k, n in top(ips)])
        self.assertEqual(dom.tops["top-countries"], [[k, str(n)] for k, n in top(countries)])
        self.assertGreater(left_out, 0)
        note = dom.by_id.get("top-countries-unattributed")
        self.assertEqual(note.split()[0] if note else "0", str(left_out))
        shown = dom.tops["top-source-ips"]
        self.assertTrue(any(row[1] and row[2].startswith("AS") for row in shown))
        self.assertTrue(any(row[1] and not row[2] for row in shown))  # country, no AS known

    def test_report_renders_in_chromium_with_the_scan_counts(self):
        tmp = self.tmp
        report = os.path.join(tmp, "report.html")
        r = subprocess.run([LOGSIFT, "scan", "-q", "--sort", "--report", report, DETONATIONS],
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        findings = [json.loads(line) for line in r.stdout.decode().splitlines()]
        with open(report, "rb") as f:
            page = f.read()
        # Self-contained: nothing is fetched from anywhere.
        for needle in (b"http://", b"https://", b"<script", b"<link", b"src="):
            if needle == b"http://":
                self.assertNotIn(b"http://", page.replace(b"http://www.w3.org/2000/svg", b""))
            else:
                self.assertNotIn(needle, page)

        shot = os.path.join(tmp, "report.png")
        r = chromium(["--window-size=1200,2400", f"--screenshot={shot}", "file://" + report],
                     os.path.join(tmp, "p1"))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(shot, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertGreater(len(png), 20000)  # a blank page compresses to a few KB

        r = chromium(["--dump-dom", "file://" + report], os.path.join(tmp, "p2"))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        dom = Dom()
        dom.feed(r.stdout.decode())

        self.assertEqual(int(dom.by_id["total-findings"]), len(findings))
        self.assertEqual(int(dom.by_id["events"]), 310)
        sev = collections.Counter(f["severity"] for f in findings)
        for s in ("critical", "high", "medium", "low", "info"):
            self.assertEqual(int(dom.by_id[f"severity-{s}"]), sev.get(s, 0), s)
        per_rule = collections.Counter(f["rule"] for f in findings)
        self.assertEqual({k: int(v[3]) for k, v in dom.rules.items()}, dict(per_rule))
        for rule, cells in dom.rules.items():
            times = sorted(f["time"] for f in findings if f["rule"] == rule)
            self.assertEqual((cells[4], cells[5]), (times[0], times[-1]), rule)
        times = sorted(f["time"] for f in findings)
        self.assertEqual(dom.by_id["first-seen"], times[0])
        self.assertEqual(dom.by_id["last-seen"], times[-1])
        self.assertEqual(sum(dom.bars), len(findings))
        # Without --geoip nothing about GeoIP: no country table, no country or AS columns.
        self.assertNotIn("top-countries", dom.by_id)
        self.assertNotIn(b"--geoip", page)
        self.assertGreater(len(dom.bars), 1)
        # Top source IPs and principals: the most frequent value of the findings' events, with
        # its count. A correlation finding stands for many events: it counts under its group's
        # value when grouped by that field, else it is left out and noted under the table.
        ips, principals = collections.Counter(), collections.Counter()
        left_out = {"ips": 0, "principals": 0}
        for f in findings:
            corr = json.loads(f["event"]) if f["event"].startswith('{"correlation"') else None
            if corr is not None:
                group = dict(kv.split("=", 1) for kv in corr["group"].split(", "))
                ip = group.get("sourceIPAddress") or group.get("rhost")
                who = group.get("userIdentity.arn") or group.get("userIdentity.principalId")
                if ip:
                    ips[ip] += 1
                else:
                    left_out["ips"] += 1
                if who:
                    principals[who] += 1
                else:
                    left_out["principals"] += 1
                continue
            # the full event from the file: an excerpt may be cut
            with open(f["source"], "rb") as fp:
                fp.seek(f["offset"])
                ev, _ = json.JSONDecoder().raw_decode(fp.read().decode())
            ips[ev.get("sourceIPAddress", "(unknown)")] += 1
            who = ev.get("userIdentity") or {}
            principals[who.get("arn") or who.get("principalId") or who.get("type")
                       or "(unknown)"] += 1
        self.assertTrue(any(f["event"].startswith('{"correlation"') for f in findings))
        for table, counter in (("top-source-ips", ips), ("top-principals", principals)):
            top = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            self.assertEqual(dom.tops[table], [[k, str(n)] for k, n in top], table)
        self.assertGreater(left_out["ips"], 0)  # the principal-grouped bursts have no address
        for table, n in (("top-source-ips", left_out["ips"]),
                         ("top-principals", left_out["principals"])):
            note = dom.by_id.get(f"{table}-unattributed")
            self.assertEqual(note.split()[0] if note else "0", str(n), table)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lsf-report-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":
    probe = tempfile.mkdtemp(prefix="lsf-chromium-")
    ok = chromium_works(probe)
    shutil.rmtree(probe, ignore_errors=True)
    if not ok:
        print("test_report: chromium is missing or cannot start headless; skipped", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
