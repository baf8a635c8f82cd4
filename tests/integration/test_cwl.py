#!/usr/bin/env python3
"""End-to-end tests of logsift's CloudWatch Logs source (logs://) and its --state checkpoints,
against the project's emulator (tests/integration/emulator) started on 127.0.0.1.

Run by ctest with LOGSIFT_BIN and LSF_SHARED_DATA, under Debian's /usr/bin/python3 (the
emulator needs python3-botocore). Log groups hold real lines from shared/data: the Elastic
auth.log, crowdsec's ssh-bf log (put with the real aws CLI, which proves the wire format), Stratus
Red Team CloudTrail events and the Datadog CloudTrail-in-CloudWatch-Logs sample.

Randomness (kill delays, appended events, slow responses) comes from one seed, printed at the
start; LSF_TEST_SEED=N repeats a run.
"""
import collections
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
EMULATOR = os.path.join(HERE, "emulator", "aws_emulator.py")
AWS_CLI = os.environ.get("LSF_AWS_CLI", "/usr/bin/aws")
KEY, SECRET = "AKIAEMULATORTEST0001", "emulator/test/secret/0001+wJalrXUtnFEMIK7MDENG"
SEED = int(os.environ.get("LSF_TEST_SEED", str(int.from_bytes(os.urandom(4), "little"))))

AUTH_LOG = os.path.join(DATA, "auth/elastic-examples/auth.log")
SSH_BF = os.path.join(DATA, "auth/crowdsec-hub/ssh-bf/ssh-bf.log")
STRATUS = os.path.join(DATA, "cloudtrail/stratus-red-team/detonation-logs")
CWL_TRAIL = os.path.join(DATA, "cloudwatch/datadog-serverless-functions/cloudwatch_log_cloudtrail.json")

EMU = {}

# Besides the default pack, a rule that fires once on every syslog line and every CloudTrail
# event, so the equality checks below see each event, not only the suspicious ones.
EVERY_EVENT_RULES = r"""#@ id=test.every_syslog_line severity=info
9001:/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9]\d \d\d:\d\d:\d\d /
#@ id=test.every_cloudtrail_event severity=info
9002:/"eventTime"/
"""


# The default pack's per-event rules, not its correlations: a correlation counts over the events
# of one run (a checkpointed run sees only its own slice), and it times syslog lines by the CWL
# timestamp in a logs:// scan but by the line's own yearless stamp in a file, so its findings
# are not expected to be equal here.
PACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "patterns", "packs")


def rule_args():
    return ["--cache-dir", os.path.join(EMU["tmp"], "cache"),
            "-r", os.path.join(PACKS, "cloudtrail"), "-r", os.path.join(PACKS, "auth"),
            "-r", EMU["rules"]]


def now_ms():
    return int(time.time() * 1000)


class Emulator:
    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="lsf-cwl-emu-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "emulator.log"), "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", EMULATOR, "--port", "0", "--port-file", port_file, "--quiet",
             *flags], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while not os.path.exists(port_file) or not os.path.getsize(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start; see " + self.log.name)
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, method, path, doc=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=json.dumps(doc) if doc is not None else None)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status != 200:
            raise AssertionError("%s %s: %d %r" % (method, path, resp.status, body[:300]))
        return json.loads(body) if body else None

    def seed(self, group, stream, events):
        for i in range(0, len(events), 2000):
            self.control("POST", "/_emulator/logs/events", {
                "logGroupName": group, "logStreamName": stream,
                "events": [{"timestamp": ts, "message": m} for ts, m in events[i:i + 2000]]})

    def faults(self, rules):
        self.control("POST", "/_emulator/faults", {"rules": rules, "append": False})

    def requests(self):
        return self.control("GET", "/_emulator/requests")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        with open(self.log.name) as f:
            text = f.read()
        shutil.rmtree(self.dir, ignore_errors=True)
        # A client killed with SIGKILL resets its connection: the stdlib server logs that as a
        # traceback, which is expected here. Any other traceback is an emulator bug.
        for block in text.split("-" * 40):
            if "Traceback" in block and not any(
                    e in block for e in ("ConnectionResetError", "BrokenPipeError")):
                raise RuntimeError("emulator logged a traceback:\n" + block[-3000:])


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1",
             AWS_CONFIG_FILE=os.path.join(EMU["tmp"], "no-config"),
             AWS_SHARED_CREDENTIALS_FILE=os.path.join(EMU["tmp"], "no-credentials"),
             AWS_EC2_METADATA_DISABLED="true")
    e.update(extra)
    return e


def logsift(args, emu=None, extra_env=None, timeout=120):
    emu = emu or EMU["emu"]
    cmd = [LOGSIFT, "scan", *rule_args(), "--endpoint-url", emu.url, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env(**(extra_env or {})))


def scan_local(path, *args):
    cmd = [LOGSIFT, "scan", *rule_args(), *args, path]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def rule_events(stdout):
    """(rule, event text) of every finding: what must not depend on where the lines came from."""
    return collections.Counter((f["rule"], f["event"]) for f in map(json.loads, stdout.splitlines()))


def normalized(text):
    """Findings as sorted canonical lines without offset/ordinal, which depend on how the
    pages were cut; everything else (source, rule, time, event) must match exactly."""
    out = []
    for line in text.splitlines():
        f = json.loads(line)
        f.pop("offset", None)
        f.pop("ordinal", None)
        out.append(json.dumps(f, sort_keys=True))
    return sorted(out)


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def stratus_events():
    events = []
    for name in sorted(os.listdir(STRATUS)):
        if name.endswith(".json") and name != "labels.json":
            with open(os.path.join(STRATUS, name)) as f:
                events.extend(json.load(f))
    return events


def setUpModule():
    print("test_cwl: seed %d (LSF_TEST_SEED=%d repeats this run)" % (SEED, SEED), flush=True)
    EMU["tmp"] = tempfile.mkdtemp(prefix="lsf-cwl-")
    EMU["rules"] = os.path.join(EMU["tmp"], "every.rules")
    with open(EMU["rules"], "w") as f:
        f.write(EVERY_EVENT_RULES)
    emu = Emulator()
    EMU["emu"] = emu
    base = now_ms() - 40 * 60 * 1000
    # prod-auth: the Elastic auth.log over two streams, blocks of 250 lines each.
    auth = read_lines(AUTH_LOG)
    streams = {"host-a": [], "host-b": []}
    for i, line in enumerate(auth):
        streams["host-a" if (i // 250) % 2 == 0 else "host-b"].append((base + i, line))
    for name, evs in streams.items():
        emu.seed("prod-auth", name, evs)
    EMU["auth"] = auth
    # trail: Stratus CloudTrail events, one compact JSON message each, plus the Datadog
    # CloudTrail-in-CloudWatch-Logs sample's messages; trail-pretty: the same pretty-printed.
    compact = [json.dumps(e, separators=(",", ":")) for e in stratus_events()]
    with open(CWL_TRAIL) as f:
        compact += [ev["message"] for ev in json.load(f)["logEvents"]]
    emu.seed("trail", "ct", [(base + i, m) for i, m in enumerate(compact)])
    emu.seed("trail-pretty", "ct", [(base + i, json.dumps(json.loads(m), indent=2))
                                    for i, m in enumerate(compact)])
    EMU["compact"] = compact


def tearDownModule():
    EMU["emu"].stop()
    shutil.rmtree(EMU["tmp"], ignore_errors=True)


class Source(unittest.TestCase):
    def test_auth_findings_equal_local_file(self):
        r = logsift(["logs://prod-auth", "--since", "1d", "--lag", "0"])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        local = scan_local(AUTH_LOG)
        self.assertGreater(len(local.stdout.splitlines()), 100)
        self.assertEqual(rule_events(r.stdout), rule_events(local.stdout))
        sources = {json.loads(l)["source"] for l in r.stdout.splitlines()}
        self.assertEqual(sources, {"logs://prod-auth/host-a", "logs://prod-auth/host-b"})

    def test_stream_prefix_reads_only_those_streams(self):
        r = logsift(["logs://prod-auth/host-b", "--since", "1d", "--lag", "0"])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        sources = {json.loads(l)["source"] for l in r.stdout.splitlines()}
        self.assertEqual(sources, {"logs://prod-auth/host-b"})
        whole = logsift(["logs://prod-auth", "--since", "1d", "--lag", "0"])
        want = collections.Counter(
            (f["rule"], f["event"]) for f in map(json.loads, whole.stdout.splitlines())
            if f["source"].endswith("/host-b"))
        self.assertEqual(rule_events(r.stdout), want)

    def test_get_log_events_reads_one_stream_as_filter_does(self):
        emu = EMU["emu"]
        before = len(emu.requests()["requests"])
        r = logsift(["logs://prod-auth/host-a", "--since", "1d", "--lag", "0", "--cwl-api", "get",
                     "--cwl-page-events", "500", "--cwl-tps", "100"])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        ops = collections.Counter(q.get("operation") for q in emu.requests()["requests"][before:])
        self.assertEqual(set(ops), {"GetLogEvents"})
        self.assertGreater(ops["GetLogEvents"], 3)
        filtered = logsift(["logs://prod-auth/host-a", "--since", "1d", "--lag", "0"])
        self.assertEqual(normalized(r.stdout), normalized(filtered.stdout))
        self.assertGreater(len(r.stdout.splitlines()), 50)

    def test_cloudtrail_findings_equal_local_file(self):
        path = os.path.join(EMU["tmp"], "trail.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(EMU["compact"]) + "\n")
        r = logsift(["logs://trail", "--since", "1d", "--lag", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        local = scan_local(path)
        self.assertGreater(len(local.stdout.splitlines()), 10)
        self.assertEqual(rule_events(r.stdout), rule_events(local.stdout))

    def test_multiline_messages_stay_one_event(self):
        stats = os.path.join(EMU["tmp"], "pretty-stats.json")
        r = logsift(["logs://trail-pretty", "--since", "1d", "--lag", "0", "--stats-json", stats])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(stats) as f:
            self.assertEqual(json.load(f)["events"], len(EMU["compact"]))
        compact = logsift(["logs://trail", "--since", "1d", "--lag", "0"])
        rules = collections.Counter(json.loads(l)["rule"] for l in r.stdout.splitlines())
        self.assertEqual(rules, collections.Counter(
            json.loads(l)["rule"] for l in compact.stdout.splitlines()))
        self.assertTrue(all("\n" in json.loads(l)["event"] for l in r.stdout.splitlines()))

    def test_events_put_with_the_aws_cli_are_read(self):
        if not os.path.exists(AWS_CLI):
            self.skipTest("the aws CLI is not installed (Debian: awscli)")
        lines = read_lines(SSH_BF)
        aws_env = env(AWS_PAGER="")
        base = now_ms() - 60 * 1000
        for cmd in (["logs", "create-log-group", "--log-group-name", "cli-group"],
                    ["logs", "create-log-stream", "--log-group-name", "cli-group",
                     "--log-stream-name", "sshd"],
                    ["logs", "put-log-events", "--log-group-name", "cli-group",
                     "--log-stream-name", "sshd", "--log-events",
                     json.dumps([{"timestamp": base + i, "message": m}
                                 for i, m in enumerate(lines)])]):
            p = subprocess.run([AWS_CLI, "--endpoint-url", EMU["emu"].url, *cmd],
                               capture_output=True, text=True, env=aws_env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        r = logsift(["logs://cli-group", "--since", "10m", "--lag", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rule_events(r.stdout), rule_events(scan_local(SSH_BF).stdout))

    def test_missing_group_is_one_clear_line(self):
        r = logsift(["logs://no-such-group", "--since", "1h", "--lag", "0"])
        self.assertEqual(r.returncode, 2)
        lines = [l for l in r.stderr.splitlines() if "no-such-group" in l]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("ResourceNotFoundException", lines[0])

    def test_access_denied_names_the_permission(self):
        emu = EMU["emu"]
        emu.faults([{"match": {"target": "Logs_20140328.FilterLogEvents"}, "fault": "error",
                     "status": 400, "code": "AccessDeniedException",
                     "message": "User is not authorized to perform logs:FilterLogEvents",
                     "count": -1}])
        try:
            r = logsift(["logs://prod-auth", "--since", "1h", "--lag", "0"])
        finally:
            emu.faults([])
        self.assertEqual(r.returncode, 2)
        self.assertIn("logs:FilterLogEvents", r.stderr)
        self.assertIn("logs://prod-auth", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_flags_are_refused(self):
        for args, word in ((["--since", "yesterday"], "--since"), (["--lag", "5x"], "--lag"),
                           (["--cwl-tps", "0"], "--cwl-tps"),
                           (["--cwl-api", "get"], "one stream"),
                           (["--cwl-api", "insights"], "--cwl-api"),
                           (["--since", "1h", "--until", "2h"], "window")):
            r = logsift(["logs://prod-auth", *args])
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(word, r.stderr)


def paged(extra=()):
    return ["--since", "1d", "--lag", "0", "--cwl-page-events", "150", "--cwl-tps", "200",
            *extra]


class Faults(unittest.TestCase):
    """Every fault on a later page: the findings are exactly those of a clean run."""

    @classmethod
    def setUpClass(cls):
        emu = EMU["emu"]
        base = now_ms() - 30 * 60 * 1000
        cls.lines = EMU["auth"][:3000]
        emu.seed("faulty", "s1", [(base + i, m) for i, m in enumerate(cls.lines)])
        emu.faults([])
        clean = logsift(["logs://faulty", *paged()])
        assert clean.returncode == 0, clean.stderr
        cls.want = normalized(clean.stdout)
        assert len(cls.want) > 50

    def run_with(self, rule, api="filter"):
        emu = EMU["emu"]
        op = "GetLogEvents" if api == "get" else "FilterLogEvents"
        rule = dict(rule, match={"target": "Logs_20140328." + op})
        rule.setdefault("skip", 3)
        before = len(emu.requests()["requests"])
        emu.faults([rule])
        try:
            r = logsift(["logs://faulty" + ("/s1" if api == "get" else ""),
                         *paged(["--cwl-api", api])])
        finally:
            emu.faults([])
        fired = [q for q in emu.requests()["requests"][before:] if q.get("fault")]
        self.assertTrue(fired, "the fault %s never fired" % rule["fault"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(normalized(r.stdout), self.want)
        return r

    def test_throttling_is_retried(self):
        self.run_with({"fault": "throttle", "count": 2})

    def test_500_is_retried(self):
        self.run_with({"fault": "500", "count": 2})

    def test_connection_reset_is_retried(self):
        self.run_with({"fault": "reset", "count": 1})

    def test_truncated_body_is_retried(self):
        self.run_with({"fault": "truncate", "count": 1})

    def test_slow_response_is_waited_for(self):
        self.run_with({"fault": "slow", "count": 2, "delay_ms": 1200})

    def test_empty_pages_are_followed(self):
        self.run_with({"fault": "empty-page", "count": 3})

    def test_expired_token_restarts_without_loss_or_repeat(self):
        r = self.run_with({"fault": "error", "status": 400, "code": "InvalidParameterException",
                           "message": "The specified nextToken has expired.", "count": 1,
                           "skip": 4})
        self.assertIn("refused the saved page token", r.stderr)

    def test_get_log_events_faults_lose_nothing(self):
        self.run_with({"fault": "throttle", "count": 2}, api="get")
        self.run_with({"fault": "truncate", "count": 1}, api="get")
        r = self.run_with({"fault": "error", "status": 400, "code": "InvalidParameterException",
                           "message": "The specified nextToken has expired.", "count": 1,
                           "skip": 5}, api="get")
        self.assertIn("refused the saved page token", r.stderr)


class State(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lsf-cwl-state-", dir=EMU["tmp"])
        self.state = os.path.join(self.dir, "s.state")
        self.out = os.path.join(self.dir, "f.jsonl")

    def test_second_run_reads_only_new_events(self):
        emu = EMU["emu"]
        lines = EMU["auth"][3000:3600]
        t0 = now_ms() - 5000
        emu.seed("incr", "s", [(t0 + i, m) for i, m in enumerate(lines[:300])])
        args = ["logs://incr", *paged(["--state", self.state, "--output-file", self.out])]
        r1 = logsift(args)
        self.assertIn(r1.returncode, (0, 1), r1.stderr)
        n1 = len(read_lines(self.out))
        r2 = logsift(args)
        self.assertEqual(r2.returncode, 1, r2.stderr)  # nothing new: no findings
        self.assertEqual(len(read_lines(self.out)), n1)
        time.sleep(0.01)
        t1 = now_ms()
        emu.seed("incr", "s", [(t1 + i, m) for i, m in enumerate(lines[300:])])
        time.sleep(0.01 + len(lines) / 1000)
        r3 = logsift(args)
        self.assertIn(r3.returncode, (0, 1), r3.stderr)
        whole = logsift(["logs://incr", "--since", "1h", "--lag", "0"])
        self.assertEqual(normalized("\n".join(read_lines(self.out))), normalized(whole.stdout))
        with open(self.state) as f:
            state = json.load(f)
        self.assertEqual(state["source"], "logs://incr")
        self.assertEqual(state["cursor"], {"done": True})
        self.assertEqual(state["output"]["length"], os.path.getsize(self.out))

    def test_correlation_findings_stay_in_the_output_of_the_next_run(self):
        # Correlation findings are written when the run ends, after the last page's commit:
        # the run commits once more, so the next run does not cut them off as unconfirmed.
        t0 = now_ms() - 5000
        fails = ["Mar 30 15:54:%02d ip-10-77-20-248 sshd[14356]: Failed password for "
                 "elastic_user_0 from 24.151.103.17 port 57443 ssh2" % k for k in range(8)]
        EMU["emu"].seed("corr-state", "s", [(t0 + k, m) for k, m in enumerate(fails)])
        args = ["logs://corr-state", "-r", os.path.join(PACKS, "correlations"),
                *paged(["--state", self.state, "--output-file", self.out])]
        r1 = logsift(args)
        self.assertEqual(r1.returncode, 0, r1.stderr)
        first = read_lines(self.out)
        self.assertIn("linux_sshd_bruteforce", [json.loads(l)["rule"] for l in first])
        r2 = logsift(args)
        self.assertEqual(r2.returncode, 1, r2.stderr)  # nothing new
        self.assertNotIn("dropped", r2.stderr)
        self.assertEqual(read_lines(self.out), first)
        with open(self.state) as f:
            self.assertEqual(json.load(f)["output"]["length"], os.path.getsize(self.out))

    def test_window_never_ends_after_now_minus_lag(self):
        t = now_ms()
        r = logsift(["logs://trail", "--state", self.state, "--since", "1d",
                     "--until", "2099-01-01", "--lag", "5m"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.state) as f:
            end_ms = json.load(f)["window"]["end_ms"]
        self.assertLessEqual(end_ms, now_ms() - 5 * 60 * 1000)
        self.assertGreaterEqual(end_ms, t - 5 * 60 * 1000)

    def test_corrupt_state_is_refused_and_kept(self):
        with open(self.state, "w") as f:
            f.write('{"version": 1, "source": "logs://prod-auth", "window": {"start_ms": 1')
        r = logsift(["logs://prod-auth", "--state", self.state, "--lag", "0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--state %s" % self.state, r.stderr)
        self.assertIn("delete it", r.stderr)
        with open(self.state) as f:
            self.assertTrue(f.read().endswith('"start_ms": 1'))
        self.assertEqual(r.stdout, "")

    def test_state_of_another_source_is_refused(self):
        r = logsift(["logs://trail", "--state", self.state, "--since", "1d", "--lag", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = logsift(["logs://prod-auth", "--state", self.state, "--lag", "0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("belongs to logs://trail", r.stderr)

    def test_failed_run_resumes_from_its_checkpoint_after_token_expiry(self):
        self.resume_after_expiry("filter")

    def test_failed_get_run_resumes_from_its_checkpoint_after_token_expiry(self):
        self.resume_after_expiry("get")

    def resume_after_expiry(self, api):
        emu = EMU["emu"]
        group = "resume-%s-%d" % (api, random.Random(SEED).randrange(10**6))
        url = "logs://" + group + ("/s" if api == "get" else "")
        base = now_ms() - 20 * 60 * 1000
        # Three events per millisecond (and 150-event pages): checkpoints fall inside one.
        emu.seed(group, "s", [(base + i // 3, m) for i, m in enumerate(EMU["auth"][:2400])])
        args = [url, *paged(["--state", self.state, "--output-file", self.out, "--cwl-api", api])]
        emu.faults([{"match": {"service": "logs"}, "fault": "500", "skip": 5, "count": -1}])
        try:
            r1 = logsift(args, extra_env={"AWS_MAX_ATTEMPTS": "1"})
        finally:
            emu.faults([])
        self.assertEqual(r1.returncode, 2, r1.stderr)
        self.assertIn("GetLogEvents" if api == "get" else "FilterLogEvents", r1.stderr)
        self.assertIn("--cwl-tps", r1.stderr)
        with open(self.state) as f:
            state = json.load(f)
        self.assertIn("next_token", state["cursor"])
        # The token "expires" (the service no longer accepts it): the run restarts at the
        # last committed event's millisecond and skips the ids already done there.
        state["cursor"]["next_token"] = "expired-token-from-yesterday"
        with open(self.state, "w") as f:
            json.dump(state, f)
        r2 = logsift(args)
        self.assertIn(r2.returncode, (0, 1), r2.stderr)
        self.assertIn("refused the saved page token", r2.stderr)
        whole = logsift([url, "--since", "1h", "--lag", "0"])
        self.assertEqual(normalized("\n".join(read_lines(self.out))), normalized(whole.stdout))


def sshd_failure(ts_ms, k, rhost="198.51.100.23"):
    """A real-looking sshd failure line (the auth pack's linux_sshd_auth_failure_any)."""
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(ts_ms / 1000)).replace(" 0", "  ", 1)
    return ("%s web-01 sshd[%d]: Failed password for invalid user admin%d from %s port %d ssh2"
            % (stamp, 20311 + k, k, rhost, 40022 + 7 * k))


def iso_ms(ts_ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000)) + ".%03dZ" % (ts_ms % 1000)


class CorrelationCarry(unittest.TestCase):
    """Correlations across --state runs (cli_carry.h): a burst split between two cron runs is
    found once, as one long run finds it; the quiet time after a finding carries over too."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lsf-cwl-carry-", dir=EMU["tmp"])
        self.state = os.path.join(self.dir, "s.state")
        self.out = os.path.join(self.dir, "f.jsonl")
        self.group = "carry-%s-%d" % (self._testMethodName[5:25], random.Random(SEED).randrange(10**6))
        self.args = ["logs://" + self.group, "-r", os.path.join(PACKS, "correlations"),
                     *paged(["--state", self.state, "--output-file", self.out])]

    def put(self, times, first_k=0):
        EMU["emu"].seed(self.group, "host", [(t, sshd_failure(t, first_k + k))
                                             for k, t in enumerate(times)])

    def put_now(self, n, first_k, step_ms=1000):
        """n failures stamped from now on, then wait until they are all in the past."""
        t = now_ms() + 5
        times = [t + k * step_ms for k in range(n)]
        self.put(times, first_k)
        time.sleep(max(0, (times[-1] - now_ms()) / 1000) + 0.05)
        return times

    def bruteforce(self):
        return [f for f in map(json.loads, read_lines(self.out)) if f["rule"] == "linux_sshd_bruteforce"]

    def sidecar(self):
        with open(self.state) as f:
            gen = json.load(f)["corr"]["generation"]
        return gen, self.state + ".corr.%d" % gen

    def whole(self):
        r = logsift(["logs://" + self.group, "-r", os.path.join(PACKS, "correlations"),
                     "--since", "1d", "--lag", "0"])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return normalized(r.stdout)

    def test_burst_split_over_two_runs_is_found_once(self):
        first = [now_ms() - 100 * 1000 + k * 10 * 1000 for k in range(3)]
        self.put(first)
        r1 = logsift(self.args)
        self.assertEqual(r1.returncode, 0, r1.stderr)  # the three failures' own findings
        self.assertEqual(self.bruteforce(), [])
        gen, path = self.sidecar()
        self.assertEqual(gen, 1)
        with open(path) as f:
            lines = [json.loads(l) for l in f]
        self.assertEqual(lines[0]["source"], "logs://" + self.group)
        self.assertIn("rhost=198.51.100.23", [g["key"] for g in lines[1:]])
        second = self.put_now(3, 3)
        r2 = logsift(self.args)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        found = self.bruteforce()
        self.assertEqual(len(found), 1, found)
        event = json.loads(found[0]["event"])
        self.assertEqual(event["count"], 6)
        self.assertEqual(event["first"], iso_ms(first[0]))
        self.assertEqual(event["last"], iso_ms(second[-1]))
        # the finding points at the event that completed the window, read by this run
        self.assertEqual(found[0]["time"], iso_ms(second[-1]))
        self.assertFalse(os.path.exists(path), "generation 1 is removed once 2 is named")
        self.assertEqual(self.sidecar()[0], 2)
        n = len(read_lines(self.out))
        r3 = logsift(self.args)  # nothing new
        self.assertEqual(r3.returncode, 1, r3.stderr)
        self.assertEqual(len(read_lines(self.out)), n)
        self.assertEqual(normalized("\n".join(read_lines(self.out))), self.whole())

    def test_burst_going_on_within_the_quiet_time_is_not_found_again(self):
        self.put([now_ms() - 60 * 1000 + k * 5 * 1000 for k in range(6)])
        r1 = logsift(self.args)
        self.assertEqual(r1.returncode, 0, r1.stderr)
        self.assertEqual(len(self.bruteforce()), 1)
        self.put_now(7, 6, step_ms=200)  # seven more within the five quiet minutes
        r2 = logsift(self.args)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(len(self.bruteforce()), 1, self.bruteforce())
        self.assertEqual(normalized("\n".join(read_lines(self.out))), self.whole())

    def test_damaged_sidecar_is_reported_and_the_run_goes_on(self):
        self.put([now_ms() - 100 * 1000 + k * 10 * 1000 for k in range(3)])
        r1 = logsift(self.args)
        self.assertEqual(r1.returncode, 0, r1.stderr)
        gen, path = self.sidecar()
        with open(path, "r+") as f:
            text = f.read()
            f.seek(0)
            f.write(text[:len(text) // 2])  # cut short, as a bad disk or an editor might
            f.truncate()
        self.put_now(3, 3)
        n1 = len(read_lines(self.out))
        r2 = logsift(self.args)
        self.assertEqual(r2.returncode, 2, r2.stderr)
        problem = [l for l in r2.stderr.splitlines() if "correlation state" in l]
        self.assertEqual(len(problem), 1, r2.stderr)
        self.assertIn(path, problem[0])
        self.assertIn("goes on without it", problem[0])
        self.assertIn("delete it", problem[0])
        # the run went on: the new failures' own findings, and a fresh sidecar
        self.assertEqual(len(read_lines(self.out)), n1 + 3)
        self.assertEqual(self.bruteforce(), [])  # the first half was lost with the sidecar
        gen2, path2 = self.sidecar()
        self.assertEqual(gen2, gen + 1)
        with open(path2) as f:
            self.assertEqual(json.loads(f.readline())["generation"], gen2)
        r3 = logsift(self.args)
        self.assertEqual(r3.returncode, 1, r3.stderr)
        self.assertNotIn("correlation state", r3.stderr)

    def test_sidecar_the_state_does_not_name_is_not_read(self):
        self.put([now_ms() - 100 * 1000 + k * 10 * 1000 for k in range(3)])
        r1 = logsift(self.args)
        self.assertEqual(r1.returncode, 0, r1.stderr)
        gen, path = self.sidecar()
        # a run killed after writing its next generation and before its state named it
        with open(path) as f:
            lines = f.readlines()
        head = json.loads(lines[0])
        head["generation"] = gen + 1
        with open(self.state + ".corr.%d" % (gen + 1), "w") as f:
            f.write(json.dumps(head) + "\n" + "".join(lines[1:]))
        # and a damaged generation the state does not name either
        with open(self.state + ".corr.%d" % (gen + 7), "w") as f:
            f.write("not json\n")
        self.put_now(3, 3)
        r2 = logsift(self.args)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertNotIn("correlation state", r2.stderr)
        self.assertEqual(len(self.bruteforce()), 1)
        self.assertEqual(self.sidecar()[0], gen + 1)


class Kill(unittest.TestCase):
    """SIGKILL at random points, new events between runs: the output file ends up holding
    exactly the findings of one uninterrupted run."""

    @staticmethod
    def committed_length(state):
        try:
            with open(state) as f:
                return json.load(f)["output"]["length"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def run_once(self, cmd, state, out, rng, may_kill):
        """One run; killed after a random delay, or (every other run) as soon as findings
        past the last checkpoint are visible in the output, the window a kill must survive."""
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
        killed = False
        if not may_kill:
            p.wait(120)
        elif rng.random() < 0.5:
            try:
                p.wait(rng.uniform(0.005, 0.3))
            except subprocess.TimeoutExpired:
                killed = True
        else:
            deadline = time.monotonic() + 5
            while p.poll() is None and time.monotonic() < deadline:
                committed = self.committed_length(state)
                if (committed is not None and os.path.exists(out) and
                        os.path.getsize(out) > committed):
                    killed = True
                    break
                time.sleep(0.0003)
        if killed:
            p.send_signal(signal.SIGKILL)
        p.wait()
        err = p.stderr.read().decode()
        p.stderr.close()
        return p.returncode, err

    def test_sigkill_at_random_points_loses_and_repeats_nothing(self):
        self.kill_chain("filter")

    def test_sigkill_with_get_log_events(self):
        self.kill_chain("get")

    def test_sigkill_with_correlations_carried_between_runs(self):
        # Brute force, spraying and brute force then success over the Elastic auth.log, each
        # run carrying its correlation state to the next (cli_carry.h): the runs' findings,
        # correlations included, are still exactly those of one run over everything.
        self.kill_chain("filter", ["-r", os.path.join(PACKS, "correlations")])

    def kill_chain(self, api, rules=()):
        rng = random.Random(SEED + (api == "get") + 2 * bool(rules))
        emu = EMU["emu"]
        d = tempfile.mkdtemp(prefix="lsf-cwl-kill-", dir=EMU["tmp"])
        state, out = os.path.join(d, "s.state"), os.path.join(d, "f.jsonl")
        group = "killed-" + api + ("-corr" if rules else "")
        url = "logs://" + group + ("/a" if api == "get" else "")
        pool = EMU["auth"]
        base = now_ms() - 10 * 60 * 1000
        # Several events per millisecond, so a checkpoint often falls inside one.
        emu.seed(group, "a", [(base + i // 4, m) for i, m in enumerate(pool[:1500])])
        emu.seed(group, "b", [(base + i, m) for i, m in enumerate(pool[1500:2500])])
        used = 2500
        # Slow answers now and then, and small read steps (--chunk-size) so findings of a
        # page reach the file bit by bit before its checkpoint.
        emu.faults([{"match": {"service": "logs"}, "fault": "slow", "delay_ms": 60, "count": -1,
                     "skip": 5}])
        args = [url, "--since", "1h", "--lag", "0", "--cwl-page-events", "300", "--cwl-api", api,
                "--cwl-tps", "100", "--chunk-size", "4K", "--state", state, "--output-file", out]
        cmd = [LOGSIFT, "scan", *rule_args(), *rules, "--endpoint-url", emu.url, "-q", *args]
        kills = completed = drops = 0
        deadline = time.monotonic() + 75
        try:
            while True:
                may_kill = kills < 60 and time.monotonic() < deadline
                rc, err = self.run_once(cmd, state, out, rng, may_kill)
                drops += "interrupted run wrote" in err
                self.assertNotIn("correlation state", err)  # no sidecar out of step
                if rc in (0, 1):
                    completed += 1
                elif rc == -signal.SIGKILL:
                    kills += 1
                else:
                    self.fail("run failed (%d): %s" % (rc, err))
                if completed and (kills >= 20 or not may_kill):
                    break
                # New events between runs, timestamped now (after every window so far).
                n = rng.randrange(10, 80)
                stream = "a" if api == "get" else rng.choice("ab")
                t = now_ms()
                emu.seed(group, stream, [(t + i // 10, m)
                                         for i, m in enumerate(pool[used:used + n])])
                used += n
                time.sleep(0.02 + n / 10000)
            # Catch up as cron would: the first run finishes a window a killed run left open
            # (it may end before the last events appended); the second reads from its end to
            # now, which holds everything appended since.
            for _ in range(2):
                rc, err = self.run_once(cmd, state, out, rng, False)
                self.assertIn(rc, (0, 1), err)
        finally:
            emu.faults([])
        print("test_cwl: %s: %d kills (%d left a tail the next run cut off), %d completed runs, "
              "%d events" % (api, kills, drops, completed, used), flush=True)
        self.assertGreaterEqual(kills, 1)
        whole = logsift([url, *rules, "--since", "1h", "--lag", "0"])
        self.assertEqual(whole.returncode, 0, whole.stderr)
        if rules:
            self.assertTrue('"rule":"linux_sshd_bruteforce"' in whole.stdout)
        self.assertEqual(normalized("\n".join(read_lines(out))), normalized(whole.stdout))


class RateLimit(unittest.TestCase):
    def test_default_rate_stays_within_the_aws_quota(self):
        """With the emulator enforcing AWS's 5 TPS, the default limiter is never throttled
        (and a run far above it is throttled, retried, and still complete)."""
        emu = EMU["emu"]
        emu.control("POST", "/_emulator/quotas", {"tps": "aws"})
        try:
            before = len(emu.requests()["requests"])
            t = time.monotonic()
            r = logsift(["logs://prod-auth", "--since", "1d", "--lag", "0",
                         "--cwl-page-events", "400"])
            elapsed = time.monotonic() - t
            reqs = [q for q in emu.requests()["requests"][before:]
                    if q.get("operation") == "FilterLogEvents"]
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([q for q in reqs if q.get("status") != 200], [])
            print("test_cwl: %d FilterLogEvents pages in %.2f s with the default limiter "
                  "(%.2f pages/s) under --aws-quotas" % (len(reqs), elapsed, len(reqs) / elapsed),
                  flush=True)
            ref = logsift(["logs://prod-auth", "--since", "1d", "--lag", "0"])
            self.assertEqual(rule_events(r.stdout), rule_events(ref.stdout))
            # Far above the quota: throttled, retried with backoff, and still complete.
            before = len(emu.requests()["requests"])
            fast = logsift(["logs://prod-auth", "--since", "1d", "--lag", "0",
                            "--cwl-page-events", "400", "--cwl-tps", "200"],
                           extra_env={"AWS_MAX_ATTEMPTS": "10"})
            throttled = [q for q in emu.requests()["requests"][before:]
                         if q.get("error") == "ThrottlingException"]
            self.assertEqual(fast.returncode, 0, fast.stderr)
            self.assertGreater(len(throttled), 0)
            self.assertEqual(rule_events(fast.stdout), rule_events(ref.stdout))
        finally:
            emu.control("POST", "/_emulator/quotas", {"tps": {}})


if __name__ == "__main__":
    unittest.main(verbosity=2)
