#!/usr/bin/python3
"""Alert sinks end to end: the real logsift binary publishes to the project's AWS emulator
(tests/integration/emulator, SigV4 checked) and the tests read what the emulator received.

Run by ctest with LOGSIFT_BIN and LSF_SHARED_DATA; Debian's /usr/bin/python3 (the emulator needs
python3-botocore). What is expected is derived here from the Stratus Red Team detonation logs
themselves (the events at the offsets logsift reports, labels.json's record counts, the file
sizes), never copied from a previous run.
"""
import calendar
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")
HERE = os.path.dirname(os.path.abspath(__file__))
STRATUS = os.path.join(DATA, "cloudtrail", "stratus-red-team")
DETONATIONS = os.path.join(STRATUS, "detonation-logs")
KEY = "AKIAEMULATORTEST0001"
SECRET = "emulator/test/secret/0001+wJalrXUtnFEMIK7MDENG"
ACCOUNT = "123456789012"
SNS_LIMIT = 262144
SEVERITIES = ("info", "low", "medium", "high", "critical")

EMU = {}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="lsf-alerts-emu-")
    port_file = os.path.join(tmp, "port")
    log = open(os.path.join(tmp, "emulator.log"), "w")
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "emulator", "aws_emulator.py"),
                             "--port", "0", "--port-file", port_file, "--auto-create-topics",
                             "--quiet"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"emulator did not start; see {log.name}")
        time.sleep(0.05)
    with open(port_file) as f:
        EMU.update(proc=proc, port=int(f.read()), tmp=tmp, log=log)


def tearDownModule():
    proc = EMU.get("proc")
    if proc:
        proc.terminate()
        proc.wait(10)
        EMU["log"].close()
        shutil.rmtree(EMU["tmp"], ignore_errors=True)


def emu(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", EMU["port"], timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    assert resp.status == 200, (path, resp.status, text[:300])
    return json.loads(text) if text else None


def topic(name):
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"


def sns_messages(arn):
    return [m for m in emu("GET", "/_emulator/sns/messages")["messages"] if m["topicArn"] == arn]


def datums(ns):
    return [d for d in emu("GET", "/_emulator/metrics")["datums"] if d["namespace"] == ns]


def faults(rules):
    emu("POST", "/_emulator/faults", {"rules": rules, "append": False})


def clear_faults():
    emu("DELETE", "/_emulator/faults")


def env():
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("AWS_"):
            del e[k]
    e.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
             AWS_ENDPOINT_URL=f"http://127.0.0.1:{EMU['port']}", AWS_CONFIG_FILE=os.devnull,
             AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true",
             AWS_REGION="eu-west-1")
    return e


def logsift(args, timeout=300):
    return subprocess.run([LOGSIFT, "scan", "-j2"] + args, capture_output=True, env=env(),
                          timeout=timeout)


def severity_rank(s):
    return SEVERITIES.index(s)


def iso_ms(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def event_at(path, offset):
    """The full event logsift reported, decoded from the file itself."""
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode()
    obj, _ = json.JSONDecoder().raw_decode(text)
    return obj


def rule_descriptions():
    """Rule id -> description, as the loaded rule set has them (default pack and any others):
    read from the OCSF output's finding_info.desc, which is rule metadata, not what is tested."""
    out = subprocess.run([LOGSIFT, "scan", "-q", "-o", "ocsf", DETONATIONS], capture_output=True,
                         timeout=120)
    desc = {}
    for line in out.stdout.decode().splitlines():
        rec = json.loads(line)
        desc[rec["finding_info"]["analytic"]["uid"]] = rec["finding_info"].get("desc", "")
    return desc


def correlation(f):
    """A correlation finding's summary event ({"correlation", "group": "f=v, ...", "count", ...})
    and its group as a dict; None for a finding on one log event."""
    if not f["event"].startswith('{"correlation"'):
        return None
    corr = json.loads(f["event"])
    return corr, dict(kv.split("=", 1) for kv in corr["group"].split(", "))


def time_ms(iso):
    """Epoch milliseconds of logsift's "2024-07-31T12:29:17.000Z"."""
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(iso[20:23])


def event_id(f):
    """The identity logsift gives a finding's event (alerts/alert_record.h): CloudTrail's eventID
    of the event at the reported offset; a correlation finding has no single event, so it is
    the SHA-256 of its time and summary event."""
    if correlation(f):
        data = b"%d\n" % time_ms(f["time"]) + f["event"].encode()
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return event_at(f["source"], f["offset"])["eventID"]


def who_and_from(f):
    """Principal and source address: of the event, or for a correlation of its group."""
    c = correlation(f)
    if c:
        group = c[1]
        return (group.get("userIdentity.arn") or group.get("userIdentity.principalId") or "",
                group.get("sourceIPAddress") or group.get("rhost") or "")
    ev = event_at(f["source"], f["offset"])
    who = ev.get("userIdentity") or {}
    return (who.get("arn") or who.get("principalId") or who.get("type") or "",
            ev.get("sourceIPAddress") or "")


def expected_message(f, desc):
    """The SNS message logsift must send for one JSONL finding (format: alerts/alert_sns.c)."""
    principal, address = who_and_from(f)
    unknown = "(not in the event)"
    lines = [f"logsift finding: {f['title']}", ""]
    if not correlation(f):  # a correlation names no one API call, account or region
        ev = event_at(f["source"], f["offset"])
        lines.append(f"What:   {ev['eventName']} on {ev['eventSource']}")
    lines.append(f"Who:    {principal or unknown}")
    lines.append(f"From:   {address or unknown}")
    lines.append(f"When:   {f['time']}")
    if not correlation(f):
        lines.append(f"Where:  account {ev['recipientAccountId']}, region {ev['awsRegion']}")
    lines.append(f"Rule:   {f['rule']} (severity {f['severity'].upper()})")
    text = "\n".join(lines) + "\n"
    if desc.get(f["rule"]):
        text += f"\nWhy it matters: {desc[f['rule']]}\n"
    text += (f"\nRaw event: {f['source']}, byte offset {f['offset']} ({f['format']}), "
             f"event id {f['event_id']}\n")
    text += f["event"]
    if f.get("event_truncated"):
        text += "\n[event cut to the --excerpt size]"
    return text + "\n"


def expected_subject(f):
    return f"logsift {f['severity'].upper()}: {f['title']}"[:99]


def message_keys(m):
    """The kind and (rule id, event id) keys of the findings one SNS message delivers: one, or
    past --sns-max-per-rule (default 10) the "N more suppressed" summary's list of
    "  <source> <offset> <event id>" lines (up to 20 of them)."""
    rule = m["messageAttributes"]["rule_id"]["StringValue"]
    if "more suppressed" in m["subject"]:
        listed = m["message"].split("(source, offset, event id):\n")[1]
        return "suppressed", [(rule, line.split()[-1]) for line in listed.splitlines()
                              if not line.startswith("  ... and ")]
    return "finding", [(rule, m["message"].split("event id ")[1].split("\n")[0])]


def dedup_id(kind, keys):
    data = kind.encode() + b"\0" + b"".join(r.encode() + b"\0" + e.encode() + b"\0" for r, e in keys)
    return hashlib.sha256(data).hexdigest()


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The reference scan: JSON lines, which carry rule, source, offset and the event.
        out = subprocess.run([LOGSIFT, "scan", "-q", "--sort", DETONATIONS], capture_output=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        cls.findings = [json.loads(line) for line in out.stdout.decode().splitlines()]
        for f in cls.findings:
            f["event_id"] = event_id(f)
        cls.desc = rule_descriptions()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lsf-alerts-")
        self.spool = os.path.join(self.tmp, "spool")
        clear_faults()
        self.topic_name = "t%d-%s" % (random.randrange(1 << 30), self._testMethodName[-40:])

    def tearDown(self):
        clear_faults()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scan(self, *extra, ok=(0,)):
        r = logsift(["-o", "none", "--spool-dir", self.spool] + list(extra) + [DETONATIONS])
        self.assertIn(r.returncode, ok, r.stderr.decode())
        return r

    def keys(self):
        return sorted((f["rule"], f["event_id"]) for f in self.findings)

    def assert_each_finding_once(self, msgs):
        got = [key for m in msgs for key in message_keys(m)[1]]
        self.assertEqual(sorted(got), self.keys())


class TestStratusDelivery(Base):
    def test_stratus_scan_sends_the_expected_messages_and_datums(self):
        arn, ns = topic(self.topic_name), "Stratus/" + self.topic_name
        # No per-rule limit (a sliding-window burst rule fires more than the default 10 times):
        # every finding gets its own message to compare.
        self.scan("--sns-topic", arn, "--metrics-namespace", ns, "--metrics-dimension",
                  "Account=lab", "--sns-max-per-rule", "100")
        msgs = sns_messages(arn)
        self.assertEqual(len(msgs), len(self.findings))
        by_key = {(m["messageAttributes"]["rule_id"]["StringValue"],
                   m["message"].split("event id ")[1].split("\n")[0]): m for m in msgs}
        for f in self.findings:
            m = by_key[(f["rule"], f["event_id"])]
            self.assertEqual(m["subject"], expected_subject(f))
            self.assertEqual(m["message"], expected_message(f, self.desc))
            self.assertEqual(m["messageAttributes"], {
                "severity": {"DataType": "String", "StringValue": f["severity"]},
                "rule_id": {"DataType": "String", "StringValue": f["rule"]}})
            self.assertIsNone(m["messageGroupId"])
        # 25 findings go out in PublishBatch requests of at most 10.
        self.assertEqual({m["action"] for m in msgs}, {"PublishBatch"})

        got = {}
        for d in datums(ns):
            dims = tuple(sorted((x["Name"], x["Value"]) for x in d["dimensions"]))
            self.assertIn(("Account", "lab"), dims)
            got[(d["metricName"], dims)] = got.get((d["metricName"], dims), 0) + d["value"]
            self.assertEqual(d["unit"], "Bytes" if d["metricName"] == "BytesScanned" else "Count")
        want = {}
        for f in self.findings:
            for dim in (("Rule", f["rule"]), ("Severity", f["severity"])):
                k = ("Findings", tuple(sorted([("Account", "lab"), dim])))
                want[k] = want.get(k, 0) + 1
        with open(os.path.join(STRATUS, "labels.json")) as fp:
            labels = json.load(fp)
        size = sum(os.path.getsize(os.path.join(DETONATIONS, n)) for n in os.listdir(DETONATIONS))
        want[("EventsScanned", (("Account", "lab"),))] = sum(v["records"] for v in labels.values())
        want[("BytesScanned", (("Account", "lab"),))] = size
        want[("ScanErrors", (("Account", "lab"),))] = 0
        self.assertEqual(got, want)

    def test_a_rerun_over_the_same_logs_sends_nothing_twice(self):
        arn, ns = topic(self.topic_name), "Rerun/" + self.topic_name
        self.scan("--sns-topic", arn, "--metrics-namespace", ns)
        self.scan("--sns-topic", arn, "--metrics-namespace", ns)
        self.assert_each_finding_once(sns_messages(arn))
        rules = [d for d in datums(ns) if d["metricName"] == "Findings"]
        self.assertEqual(sum(d["value"] for d in rules), 2 * len(self.findings))  # rule + severity
        # Each run's own scan counters are published once per run.
        self.assertEqual(len([d for d in datums(ns) if d["metricName"] == "EventsScanned"]), 2)

    def test_fifo_topic_gets_group_and_deduplication_ids_from_the_finding(self):
        arn = topic(self.topic_name + ".fifo")
        self.scan("--sns-topic", arn)
        msgs = sns_messages(arn)
        self.assert_each_finding_once(msgs)
        for m in msgs:
            kind, keys = message_keys(m)
            self.assertEqual(m["messageGroupId"], keys[0][0])
            self.assertEqual(m["messageDeduplicationId"], dedup_id(kind, keys))

    def test_min_severity_keeps_only_high_and_above(self):
        arn = topic(self.topic_name)
        self.scan("--sns-topic", arn, "--sns-min-severity", "high", "--sns-max-per-rule", "100")
        got = sorted(m["messageAttributes"]["rule_id"]["StringValue"] for m in sns_messages(arn))
        self.assertEqual(got, sorted(f["rule"] for f in self.findings if f["severity"] == "high"))
        self.assertTrue(0 < len(got) < len(self.findings))

    def test_alert_storm_becomes_one_summary_per_rule(self):
        arn = topic(self.topic_name)
        self.scan("--sns-topic", arn, "--sns-max-per-rule", "1")
        per_rule = {}
        for f in self.findings:
            per_rule.setdefault(f["rule"], []).append(f)
        msgs = sns_messages(arn)
        stormy = {r: fs for r, fs in per_rule.items() if len(fs) > 1}
        self.assertTrue(stormy)
        self.assertEqual(len(msgs), len(per_rule) + len(stormy))
        for rule, fs in stormy.items():
            summaries = [m for m in msgs if m["messageAttributes"]["rule_id"]["StringValue"] == rule
                         and "more suppressed" in m["subject"]]
            self.assertEqual(len(summaries), 1, rule)
            self.assertTrue(summaries[0]["subject"].startswith(
                f"logsift {fs[0]['severity'].upper()}: {len(fs) - 1} more suppressed: "))
            listed = [f["event_id"] for f in fs if f["event_id"] in summaries[0]["message"]]
            self.assertEqual(len(listed), len(fs) - 1)

    def test_digest_sends_one_message_per_window_of_event_time(self):
        arn = topic(self.topic_name)
        self.scan("--sns-topic", arn, "--sns-digest", "5m")
        windows = {}
        for f in self.findings:
            t = time.mktime(time.strptime(f["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            windows.setdefault(int(t) // 300, []).append(f)
        msgs = sns_messages(arn)
        self.assertEqual(len(msgs), len(windows))
        for m in msgs:
            n = int(m["subject"].split(": ", 1)[1].split(" findings")[0])
            ids = [f for f in self.findings if f["event_id"] in m["message"]]
            self.assertEqual(n, len(ids))
            self.assertIn(m["subject"].split()[1].rstrip(":").lower(), SEVERITIES)
        self.assertEqual(sum(int(m["subject"].split(": ", 1)[1].split(" ")[0]) for m in msgs),
                         len(self.findings))


class TestFaults(Base):
    def test_throttling_5xx_and_resets_within_the_retry_budget_deliver_once(self):
        for kind in ("throttle", "500", "503-slowdown", "reset", "close"):
            with self.subTest(kind=kind):
                arn, ns = topic(f"{self.topic_name}-{kind}"), f"Faults/{kind}/{self.topic_name}"
                faults([{"match": {"service": "sns"}, "fault": kind, "count": 2},
                        {"match": {"service": "monitoring"}, "fault": "throttle", "count": 2}])
                self.scan("--sns-topic", arn, "--metrics-namespace", ns)
                self.assert_each_finding_once(sns_messages(arn))
                self.assertEqual(sum(d["value"] for d in datums(ns) if d["metricName"] == "Findings"),
                                 2 * len(self.findings))

    def test_lost_responses_on_a_fifo_topic_are_deduplicated(self):
        arn = topic(self.topic_name + ".fifo")
        faults([{"match": {"service": "sns"}, "fault": "reset", "when": "after", "count": 2}])
        self.scan("--sns-topic", arn)
        self.assert_each_finding_once(sns_messages(arn))

    def test_lost_metrics_response_is_never_counted_twice(self):
        ns = "Lost/" + self.topic_name
        faults([{"match": {"service": "monitoring"}, "fault": "reset", "when": "after", "count": 1}])
        r = self.scan("--metrics-namespace", ns)
        self.assertIn(b"may be missing", r.stderr)
        self.scan("--metrics-namespace", ns)
        rules = [d for d in datums(ns) if d["metricName"] == "Findings"]
        self.assertEqual(sum(d["value"] for d in rules), 2 * len(self.findings))

    def test_an_outage_past_the_retries_keeps_findings_spooled_for_the_next_run(self):
        arn, ns = topic(self.topic_name), "Outage/" + self.topic_name
        faults([{"match": {}, "fault": "500", "count": -1}])
        r = self.scan("--sns-topic", arn, "--metrics-namespace", ns, ok=(2,))
        err = r.stderr.decode()
        self.assertIn("InternalError", err)
        self.assertIn("stay in " + self.spool, err)
        self.assertEqual(sns_messages(arn), [])
        clear_faults()
        # The next run over nothing new delivers what was spooled.
        empty = os.path.join(self.tmp, "empty.log")
        open(empty, "w").close()
        r = logsift(["-o", "none", "--spool-dir", self.spool, "--sns-topic", arn,
                     "--metrics-namespace", ns, empty])
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        self.assert_each_finding_once(sns_messages(arn))

    def test_metrics_that_were_certainly_not_applied_are_sent_by_the_next_run(self):
        ns = "Later/" + self.topic_name
        # Throttled past the retry budget: CloudWatch said no, so nothing was counted.
        faults([{"match": {"service": "monitoring"}, "fault": "throttle", "count": -1}])
        r = self.scan("--metrics-namespace", ns, ok=(2,))
        self.assertIn("Throttling", r.stderr.decode())
        clear_faults()
        # No connection at all: the request never left.
        e = env()
        e["AWS_ENDPOINT_URL_CLOUDWATCH"] = "http://127.0.0.1:1"
        r = subprocess.run([LOGSIFT, "scan", "-o", "none", "--spool-dir", self.spool,
                            "--metrics-namespace", ns, DETONATIONS], capture_output=True, env=e,
                           timeout=120)
        self.assertEqual(r.returncode, 2, r.stderr.decode())
        self.assertEqual(datums(ns), [])
        self.scan("--metrics-namespace", ns)
        rules = [d for d in datums(ns) if d["metricName"] == "Findings"]
        self.assertEqual(sum(d["value"] for d in rules), 2 * len(self.findings))
        self.assertEqual(len([d for d in datums(ns) if d["metricName"] == "EventsScanned"]), 3)

    def test_sigkill_at_random_points_then_reruns_deliver_every_finding_exactly_once(self):
        arn, ns = topic(self.topic_name + ".fifo"), "Kill/" + self.topic_name
        rng = random.Random(int(os.environ.get("LSF_KILL_SEED", "6")))
        # Every SNS request is applied and then answered 0.7 s later: kills land between the
        # topic accepting a batch and logsift recording it, the case FIFO dedup ids exist for.
        faults([{"match": {"service": "sns"}, "fault": "slow", "when": "after", "delay_ms": 700,
                 "count": -1}])
        args = [LOGSIFT, "scan", "-j2", "-o", "none", "--spool-dir", self.spool, "--sns-topic",
                arn, "--metrics-namespace", ns, "--sns-max-per-rule", "100", DETONATIONS]
        kills = 0
        for _ in range(12):
            p = subprocess.Popen(args, env=env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 1.0))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
        self.assertGreater(kills, 0)
        clear_faults()
        # The kills did land mid-publish: batches the topic had applied were sent again.
        sent = [r for r in emu("GET", "/_emulator/requests")["requests"]
                if r["service"] == "sns" and r["status"] == 200 and r.get("fault") == "slow"]
        print("kills", kills, "applied sns requests", len(sent), file=sys.stderr)
        self.assertGreater(len(sent), (len(self.findings) + 9) // 10)
        self.scan("--sns-topic", arn, "--metrics-namespace", ns, "--sns-max-per-rule", "100")
        self.assert_each_finding_once(sns_messages(arn))
        # Counters: never twice; at most the in-flight request of a killed run may be missing.
        per_rule = {}
        for d in datums(ns):
            if d["metricName"] == "Findings" and d["dimensions"][0]["Name"] == "Rule":
                rule = d["dimensions"][0]["Value"]
                per_rule[rule] = per_rule.get(rule, 0) + d["value"]
        for f in self.findings:
            want = sum(1 for g in self.findings if g["rule"] == f["rule"])
            self.assertLessEqual(per_rule.get(f["rule"], 0), want)


class TestLimitsAndErrors(Base):
    def test_a_message_over_256_kb_is_truncated_with_a_marker(self):
        arn = topic(self.topic_name)
        big = {"eventVersion": "1.08", "eventID": "big-event-0001", "eventTime": "2024-07-31T12:00:00Z",
               "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
               "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
               "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/x"},
               "requestParameters": {"name": "trail", "padding": "x" * 400000},
               "recipientAccountId": "111122223333"}
        path = os.path.join(self.tmp, "big.json")
        with open(path, "w") as f:
            json.dump({"Records": [big]}, f)
        r = logsift(["-o", "none", "--spool-dir", self.spool, "--excerpt", "1M", "--sns-topic", arn,
                     path])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        msgs = sns_messages(arn)
        self.assertTrue(msgs)
        for m in msgs:  # every rule that fired on the event: each message fits
            size = len(m["message"].encode()) + sum(
                len(k) + len(v["DataType"]) + len(v["StringValue"])
                for k, v in m["messageAttributes"].items())
            self.assertLessEqual(size, SNS_LIMIT)
        (m,) = [m for m in msgs
                if m["messageAttributes"]["rule_id"]["StringValue"] == "aws_cloudtrail_stop_logging"]
        size = len(m["message"].encode()) + sum(
            len(k) + len(v["DataType"]) + len(v["StringValue"]) for k, v in m["messageAttributes"].items())
        self.assertLessEqual(size, SNS_LIMIT)
        self.assertGreater(size, SNS_LIMIT - 1000)
        self.assertRegex(m["message"], r"\[truncated by logsift: \d+ bytes omitted; full event: .*big\.json offset \d+\]\n$")
        self.assertIn("Who:    arn:aws:iam::111122223333:user/x", m["message"])

    def test_bad_topic_arn_and_namespace_are_one_line_usage_errors(self):
        for args, words in ((["--sns-topic", "soc-alerts"], "not an SNS topic ARN"),
                            (["--metrics-namespace", "AWS/EC2"], "reserved"),
                            (["--metrics-dimension", "novalue"], "NAME=VALUE"),
                            (["--sns-digest", "soon"], "5m"),
                            (["--sns-min-severity", "urgent"], "critical")):
            with self.subTest(args=args):
                r = logsift(["-o", "none", "--spool-dir", self.spool] + args + [DETONATIONS])
                self.assertEqual(r.returncode, 2)
                lines = r.stderr.decode().strip().splitlines()
                self.assertEqual(len(lines), 1, lines)
                self.assertIn(words, lines[0])

    def test_denied_credentials_keep_the_findings_spooled(self):
        arn = topic(self.topic_name)
        e = env()
        e["AWS_SECRET_ACCESS_KEY"] = "wrong"
        r = subprocess.run([LOGSIFT, "scan", "-o", "none", "--spool-dir", self.spool, "--sns-topic",
                            arn, DETONATIONS], capture_output=True, env=e, timeout=120)
        self.assertEqual(r.returncode, 2)
        self.assertIn("SignatureDoesNotMatch", r.stderr.decode())
        self.assertEqual(sns_messages(arn), [])
        with open(os.path.join(self.spool, "spool.jsonl")) as f:
            # The findings only: a run's scan counters are kept for a metrics sink, not for SNS.
            self.assertEqual(len(f.readlines()), len(self.findings))

    def test_no_credentials_stop_the_run_before_the_scan(self):
        e = env()
        del e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"]
        r = subprocess.run([LOGSIFT, "scan", "-o", "none", "--spool-dir", self.spool, "--sns-topic",
                            topic(self.topic_name), DETONATIONS], capture_output=True, env=e,
                           timeout=120)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("no AWS credentials", lines[0])
        self.assertFalse(os.path.exists(os.path.join(self.spool, "spool.jsonl")))

    def test_metrics_time_event_stamps_counters_with_the_event_minute(self):
        ns = "EventTime/" + self.topic_name
        now = int(time.time())
        recent = now - 3 * 3600 - 17  # inside CloudWatch's two-week window
        old = now - 30 * 86400        # outside it: stamped with the scan time instead
        path = os.path.join(self.tmp, "ct.json")
        records = []
        for i, t in enumerate((recent, old)):
            records.append({"eventVersion": "1.08", "eventID": f"evt-{i}", "eventName": "StopLogging",
                            "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1",
                            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                            "userIdentity": {"type": "Root"}, "recipientAccountId": "1"})
        with open(path, "w") as f:
            json.dump({"Records": records}, f)
        r = logsift(["-o", "none", "--spool-dir", self.spool, "--metrics-namespace", ns,
                     "--metrics-time", "event", path])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        stamps = sorted(d["timestamp"][:19] for d in datums(ns)
                        if d["metricName"] == "Findings" and d["dimensions"] ==
                        [{"Name": "Rule", "Value": "aws_cloudtrail_stop_logging"}])
        minute = time.strftime("%Y-%m-%dT%H:%M:00", time.gmtime(recent - recent % 60))
        self.assertEqual(len(stamps), 2)
        self.assertEqual(stamps[0], minute)
        scan_time = time.mktime(time.strptime(stamps[1], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertLess(abs(scan_time - now), 600)

    def test_two_runs_on_one_spool_do_not_both_deliver(self):
        arn = topic(self.topic_name)
        os.makedirs(self.spool)
        import fcntl
        with open(os.path.join(self.spool, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            r = logsift(["-o", "none", "--spool-dir", self.spool, "--sns-topic", arn, DETONATIONS])
        self.assertEqual(r.returncode, 2)
        self.assertIn("in use by another logsift run", r.stderr.decode())


class TestOutputs(Base):
    def test_ocsf_output_is_one_detection_finding_per_finding(self):
        r = subprocess.run([LOGSIFT, "scan", "-q", "--sort", "-o", "ocsf", DETONATIONS],
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        recs = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual(len(recs), len(self.findings))
        for rec, f in zip(recs, self.findings):
            self.assertEqual((rec["class_uid"], rec["category_uid"], rec["activity_id"], rec["type_uid"]),
                             (2004, 2, 1, 200401))
            self.assertEqual(rec["severity_id"], severity_rank(f["severity"]) + 1)
            self.assertEqual(rec["finding_info"]["analytic"]["uid"], f["rule"])
            self.assertEqual(rec["finding_info"]["uid"], f"{f['rule']}/{f['event_id']}")
            self.assertEqual(iso_ms(rec["time"]), f["time"])
            self.assertEqual(rec["raw_data"], f["event"])
            principal, address = who_and_from(f)
            self.assertEqual(rec.get("actor", {}).get("user", {}).get("uid", ""), principal)
            if correlation(f):  # many events: no single API call or account
                self.assertNotIn("api", rec)
                continue
            ev = event_at(f["source"], f["offset"])
            self.assertEqual(rec["api"]["operation"], ev["eventName"])
            self.assertEqual(rec["cloud"]["account"]["uid"], ev["recipientAccountId"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
