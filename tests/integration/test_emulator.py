#!/usr/bin/python3
"""Tests of the project's AWS emulator (tests/integration/emulator/), driven by the real aws CLI.

Run with Debian's /usr/bin/python3 (python3-botocore) and Debian's awscli on the machine:
    /usr/bin/python3 tests/integration/test_emulator.py
The emulator is started on a free port in a subprocess and stopped at the end. The CLI is
/usr/bin/aws unless LSF_AWS_CLI names another. What the CLI sends proves the emulator speaks AWS's
wire formats; raw http.client requests signed with botocore probe signatures and injected faults.
"""
import datetime
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import urlencode

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, HTTPClientError, ReadTimeoutError

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_DIR = os.path.join(HERE, "emulator")
sys.path.insert(0, EMULATOR_DIR)
import sigv4_check  # noqa: E402  (for the signature-vector checks)

AWS_CLI = os.environ.get("LSF_AWS_CLI", "/usr/bin/aws")
KEY = "AKIAEMULATORTEST0001"
SECRET = "emulator/test/secret/0001+wJalrXUtnFEMIK7MDENG"
SESSION_KEY, SESSION_SECRET, SESSION_TOKEN = ("ASIAEMULATORSESSION1", "emulator/session/secret/0001",
                                              "emulator-session-token-valid")
EXPIRED_KEY, EXPIRED_SECRET, EXPIRED_TOKEN = ("ASIAEMULATOREXPIRED1", "emulator/session/secret/0002",
                                              "emulator-session-token-expired")
REGION = "us-east-1"
ACCOUNT = "123456789012"
LOGS_CT = "application/x-amz-json-1.1"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"

EMU = {}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="lsf-emu-")
    port_file = os.path.join(tmp, "port")
    log = open(os.path.join(tmp, "emulator.log"), "w")
    creds_file = os.path.join(tmp, "credentials.json")
    with open(creds_file, "w") as f:
        json.dump({"credentials": [{"accessKeyId": "ASIAFILEKEYEXPIRED01", "secretAccessKey": "file-secret",
                                    "sessionToken": "file-token", "expiration": "2020-01-01T00:00:00Z"}]}, f)
    env = dict(os.environ, LSF_EMU_CREDENTIALS=json.dumps(
        [{"accessKeyId": "AKIAENVKEY0000000001", "secretAccessKey": "env-secret"}]))
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(EMULATOR_DIR, "aws_emulator.py"),
                             "--port", "0", "--port-file", port_file, "--credentials", creds_file],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 15
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"emulator did not start; see {log.name}")
        time.sleep(0.05)
    with open(port_file) as f:
        EMU.update(proc=proc, port=int(f.read()), tmp=tmp, log=log)


def tearDownModule():
    for c in _CLIENTS.values():
        c.close()
    proc = EMU.get("proc")
    if not proc:
        return
    proc.terminate()
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    EMU["log"].close()
    with open(EMU["log"].name) as f:
        log = f.read()
    shutil.rmtree(EMU["tmp"], ignore_errors=True)
    if rc != 0:
        raise RuntimeError(f"emulator exited with {rc}:\n{log[-4000:]}")
    if "Traceback" in log:
        at = log.index("Traceback")
        raise RuntimeError(f"emulator logged a traceback:\n{log[max(0, at - 300):at + 3000]}")


# -- helpers ----------------------------------------------------------------------------------

def endpoint():
    return f"http://127.0.0.1:{EMU['port']}"


def control(method, path, doc=None):
    conn = http.client.HTTPConnection("127.0.0.1", EMU["port"], timeout=30)
    conn.request(method, path, body=json.dumps(doc) if doc is not None else None)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise AssertionError(f"{method} {path}: {resp.status} {body!r}")
    return json.loads(body)


def set_faults(*rules):
    control("POST", "/_emulator/faults", {"rules": list(rules)})


def requests_log(**match):
    recs = control("GET", "/_emulator/requests")["requests"]
    return [r for r in recs if all(r.get(k) == v for k, v in match.items())]


def cli_env(key=KEY, secret=SECRET, token=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION,
               AWS_PAGER="", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def aws_run(*args, cli=None, **cred):
    proc = subprocess.run([cli or AWS_CLI, "--endpoint-url", endpoint(), "--output", "json", *args],
                          capture_output=True, text=True, env=cli_env(**cred), timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def aws(*args, **kw):
    rc, out, err = aws_run(*args, **kw)
    if rc != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({rc}): {err}")
    return json.loads(out) if out.strip() else None


_CLIENTS = {}


def client(service, retries=1, key=KEY, secret=SECRET, token=None, **config):
    """A botocore client (cached, so connections are reused), by default without retries."""
    cache_key = (service, retries, key, secret, token, tuple(sorted(config.items())))
    if cache_key not in _CLIENTS:
        _CLIENTS[cache_key] = botocore.session.get_session().create_client(
            service, region_name=REGION, endpoint_url=endpoint(), aws_access_key_id=key,
            aws_secret_access_key=secret, aws_session_token=token,
            config=Config(retries={"total_max_attempts": retries, "mode": "standard"}, **config))
    return _CLIENTS[cache_key]


class FixedTimeSigner(SigV4Auth):
    """botocore's SigV4Auth with a chosen X-Amz-Date (to test clock skew)."""

    def __init__(self, credentials, service, region, amz_date):
        super().__init__(credentials, service, region)
        self.amz_date = amz_date

    def add_auth(self, request):
        request.context["timestamp"] = self.amz_date
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        self._inject_signature_to_request(
            request, self.signature(self.string_to_sign(request, canonical), request))


def amz_date(offset_s=0):
    return (datetime.datetime.utcnow() + datetime.timedelta(seconds=offset_s)).strftime("%Y%m%dT%H%M%SZ")


def signed(service, body, headers, key=KEY, secret=SECRET, token=None, offset_s=0, sign_service=None,
           send_body=None, timeout=30):
    """Sign with botocore, send with http.client. -> (status, headers dict, body bytes)."""
    request = AWSRequest(method="POST", url=endpoint() + "/", data=body, headers=headers)
    FixedTimeSigner(Credentials(key, secret, token), sign_service or service, REGION,
                    amz_date(offset_s)).add_auth(request)
    prepared = request.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", EMU["port"], timeout=timeout)
    try:
        conn.request("POST", "/", body=send_body if send_body is not None else prepared.body,
                     headers=dict(prepared.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def logs_call(operation, params, **kw):
    return signed("logs", json.dumps(params).encode(),
                  {"Content-Type": LOGS_CT, "X-Amz-Target": f"Logs_20140328.{operation}"}, **kw)


def sns_call(params, **kw):
    body = urlencode({"Version": "2010-03-31", **params}).encode()
    return signed("sns", body, {"Content-Type": FORM_CT}, **kw)


def xml_code(body):
    return body.decode().split("<Code>", 1)[1].split("</Code>", 1)[0]


def now_ms():
    return int(time.time() * 1000)


class EmulatorTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        control("POST", "/_emulator/reset")

    def make_stream(self, group, stream, messages, start=None, step=1000):
        """Group + stream with one event per message, timestamps start, start+step, ..."""
        logs = client("logs")
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        start = now_ms() - 3600 * 1000 if start is None else start
        if messages:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
                {"timestamp": start + i * step, "message": m} for i, m in enumerate(messages)])
        return start


# -- the real aws CLI --------------------------------------------------------------------------

class CliLogsTest(EmulatorTest):
    def test_populate_describe_filter_get_with_cli(self):
        group = "/logsift/cli-test"
        aws("logs", "create-log-group", "--log-group-name", group)
        for stream in ("app-1", "app-2", "other"):
            aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)
        base = now_ms() - 600000
        events = [{"timestamp": base + i * 1000, "message": f"{'ERROR' if i % 3 == 0 else 'INFO'} event {i}"}
                  for i in range(25)]
        events_file = os.path.join(EMU["tmp"], "events.json")
        with open(events_file, "w") as f:
            json.dump(events, f)
        put = aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "app-1",
                  "--log-events", f"file://{events_file}")
        self.assertIn("nextSequenceToken", put)
        aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "app-2",
            "--log-events", f"timestamp={base + 500},message=ERROR from app-2")
        aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "other",
            "--log-events", f"timestamp={base + 30000},message=ERROR from other")

        groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", "/logsift/")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], [group])
        self.assertEqual(groups[0]["arn"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*")

        streams = aws("logs", "describe-log-streams", "--log-group-name", group,
                      "--order-by", "LastEventTime", "--descending")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in streams], ["other", "app-1", "app-2"])
        self.assertEqual(streams[1]["firstEventTimestamp"], base)
        self.assertEqual(streams[1]["lastEventTimestamp"], base + 24000)
        prefixed = aws("logs", "describe-log-streams", "--log-group-name", group,
                       "--log-stream-name-prefix", "app-")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in prefixed], ["app-1", "app-2"])
        # the CLI follows nextToken itself: 3 streams with --page-size 1 is 3 requests
        before = len(requests_log(operation="DescribeLogStreams"))
        paged = aws("logs", "describe-log-streams", "--log-group-name", group, "--page-size", "1")
        self.assertEqual(len(paged["logStreams"]), 3)
        self.assertEqual(len(requests_log(operation="DescribeLogStreams")) - before, 3)

        # filter-log-events: all events, every page of 7, interleaved by timestamp
        before = len(requests_log(operation="FilterLogEvents"))
        got = aws("logs", "filter-log-events", "--log-group-name", group, "--page-size", "7")["events"]
        self.assertEqual(len(requests_log(operation="FilterLogEvents")) - before, 4)  # 27 events / 7
        self.assertEqual(len(got), 27)
        self.assertEqual([e["timestamp"] for e in got], sorted(e["timestamp"] for e in got))
        self.assertEqual(got[1]["logStreamName"], "app-2")
        self.assertEqual(len({e["eventId"] for e in got}), 27)
        for e in got:
            self.assertEqual(set(e), {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"})

        # --max-items gives a NextToken; --starting-token resumes exactly after it
        first = aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR",
                    "--max-items", "4", "--page-size", "3")
        self.assertEqual(len(first["events"]), 4)
        rest = aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR",
                   "--starting-token", first["NextToken"], "--page-size", "3")
        errors = [e for e in got if "ERROR" in e["message"]]
        self.assertEqual([e["eventId"] for e in first["events"] + rest["events"]],
                         [e["eventId"] for e in errors])
        self.assertEqual(len(errors), 11)

        # stream selection and the time window (startTime and endTime both inclusive)
        sel = aws("logs", "filter-log-events", "--log-group-name", group, "--log-stream-name-prefix",
                  "app-", "--start-time", str(base + 3000), "--end-time", str(base + 6000))["events"]
        self.assertEqual([e["timestamp"] for e in sel], [base + 3000, base + 4000, base + 5000, base + 6000])
        sel = aws("logs", "filter-log-events", "--log-group-name", group, "--log-stream-names", "other",
                  "app-2")["events"]
        self.assertEqual([e["logStreamName"] for e in sel], ["app-2", "other"])

        # get-log-events: forward from head until the token comes back unchanged
        page = aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "app-1",
                   "--start-from-head", "--limit", "10")
        seen = [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
        for _ in range(10):
            page = aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "app-1",
                       "--start-from-head", "--limit", "10", "--next-token", token)
            seen += [e["message"] for e in page["events"]]
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        self.assertEqual(seen, [e["message"] for e in events])
        self.assertEqual(page["events"], [])
        # GetLogEvents: endTime exclusive
        window = aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "app-1",
                     "--start-from-head", "--start-time", str(base), "--end-time", str(base + 2000))
        self.assertEqual([e["timestamp"] for e in window["events"]], [base, base + 1000])

    def test_cli_sees_aws_errors(self):
        rc, _, err = aws_run("logs", "describe-log-streams", "--log-group-name", "/nope")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)
        self.assertIn("The specified log group does not exist.", err)
        aws("logs", "create-log-group", "--log-group-name", "/dup")
        rc, _, err = aws_run("logs", "create-log-group", "--log-group-name", "/dup")
        self.assertIn("ResourceAlreadyExistsException", err)
        rc, _, err = aws_run("logs", "create-log-group", "--log-group-name", "bad name")
        self.assertIn("InvalidParameterException", err)
        rc, _, err = aws_run("logs", "describe-log-groups", key=KEY, secret="wrong-secret")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidSignatureException", err)

    def test_cli_with_session_token(self):
        aws("logs", "create-log-group", "--log-group-name", "/sess", key=SESSION_KEY,
            secret=SESSION_SECRET, token=SESSION_TOKEN)
        rc, _, err = aws_run("logs", "describe-log-groups", key=EXPIRED_KEY, secret=EXPIRED_SECRET,
                             token=EXPIRED_TOKEN)
        self.assertIn("ExpiredTokenException", err)

    def test_cli_retries_through_throttling(self):
        self.make_stream("/retry", "s", ["a", "b"])
        set_faults({"match": {"target": "Logs_20140328.FilterLogEvents"}, "fault": "throttle", "count": 2})
        got = aws("logs", "filter-log-events", "--log-group-name", "/retry")["events"]
        self.assertEqual([e["message"] for e in got], ["a", "b"])
        recs = requests_log(operation="FilterLogEvents")
        self.assertEqual([r["fault"] for r in recs], ["throttle", "throttle", None])
        self.assertEqual([r["status"] for r in recs], [400, 400, 200])


class CliSnsMetricsTest(EmulatorTest):
    def test_sns_publish_with_cli(self):
        arn = aws("sns", "create-topic", "--name", "soc-alerts")["TopicArn"]
        self.assertEqual(arn, f"arn:aws:sns:{REGION}:{ACCOUNT}:soc-alerts")
        out = aws("sns", "publish", "--topic-arn", arn, "--subject", "Root login",
                  "--message", "Root ConsoleLogin from 203.0.113.9",
                  "--message-attributes", json.dumps({
                      "severity": {"DataType": "String", "StringValue": "high"},
                      "score": {"DataType": "Number", "StringValue": "9.5"}}))
        msgs = control("GET", "/_emulator/sns/messages")["messages"]
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["messageId"], out["MessageId"])
        self.assertEqual((m["topicArn"], m["subject"], m["message"]),
                         (arn, "Root login", "Root ConsoleLogin from 203.0.113.9"))
        self.assertEqual(m["messageAttributes"], {
            "severity": {"DataType": "String", "StringValue": "high"},
            "score": {"DataType": "Number", "StringValue": "9.5"}})
        rc, _, err = aws_run("sns", "publish", "--topic-arn", arn + "-missing", "--message", "x")
        self.assertIn("NotFound", err)

    def test_sns_size_limit_and_fifo_with_cli(self):
        arn = aws("sns", "create-topic", "--name", "big")["TopicArn"]
        path = os.path.join(EMU["tmp"], "msg.txt")
        with open(path, "w") as f:
            f.write("x" * 262144)
        aws("sns", "publish", "--topic-arn", arn, "--message", f"file://{path}")
        with open(path, "w") as f:
            f.write("x" * 262145)
        rc, _, err = aws_run("sns", "publish", "--topic-arn", arn, "--message", f"file://{path}")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidParameter", err)
        self.assertIn("Message too long", err)

        fifo = aws("sns", "create-topic", "--name", "alerts.fifo", "--attributes",
                   "FifoTopic=true")["TopicArn"]
        rc, _, err = aws_run("sns", "publish", "--topic-arn", fifo, "--message", "m",
                             "--message-deduplication-id", "d1")
        self.assertIn("MessageGroupId", err)
        first = aws("sns", "publish", "--topic-arn", fifo, "--message", "m", "--message-group-id", "g",
                    "--message-deduplication-id", "rule1-evt1")
        again = aws("sns", "publish", "--topic-arn", fifo, "--message", "m", "--message-group-id", "g",
                    "--message-deduplication-id", "rule1-evt1")
        other = aws("sns", "publish", "--topic-arn", fifo, "--message", "m", "--message-group-id", "g",
                    "--message-deduplication-id", "rule1-evt2")
        self.assertEqual(first["MessageId"], again["MessageId"])
        self.assertEqual(first["SequenceNumber"], again["SequenceNumber"])
        self.assertNotEqual(first["MessageId"], other["MessageId"])
        stored = control("GET", f"/_emulator/sns/messages?topicArn={fifo}")["messages"]
        self.assertEqual([m["messageDeduplicationId"] for m in stored], ["rule1-evt1", "rule1-evt2"])

    def test_put_metric_data_with_cli(self):
        ts = datetime.datetime.utcnow().replace(microsecond=0)
        data = [
            {"MetricName": "Findings", "Dimensions": [{"Name": "Rule", "Value": "root-login"},
                                                      {"Name": "Severity", "Value": "high"}],
             "Value": 2, "Unit": "Count", "Timestamp": ts.isoformat() + "Z", "StorageResolution": 60},
            {"MetricName": "Latency", "Values": [1.5, 2.0], "Counts": [3, 1], "Unit": "Milliseconds"},
            {"MetricName": "Bytes", "StatisticValues": {"SampleCount": 2, "Sum": 300, "Minimum": 100,
                                                        "Maximum": 200}, "Unit": "Bytes"},
        ]
        aws("cloudwatch", "put-metric-data", "--namespace", "Security/logsift", "--metric-data",
            json.dumps(data))
        aws("cloudwatch", "put-metric-data", "--namespace", "Security/logsift", "--metric-name",
            "EventsScanned", "--value", "12345", "--unit", "Count")
        datums = control("GET", "/_emulator/metrics?namespace=Security/logsift")["datums"]
        self.assertEqual([d["metricName"] for d in datums], ["Findings", "Latency", "Bytes", "EventsScanned"])
        self.assertEqual(datums[0]["dimensions"], data[0]["Dimensions"])
        self.assertEqual((datums[0]["value"], datums[0]["unit"], datums[0]["storageResolution"]),
                         (2.0, "Count", 60))
        self.assertEqual(datums[0]["timestamp"], ts.strftime("%Y-%m-%dT%H:%M:%S.000000Z"))
        self.assertEqual((datums[1]["values"], datums[1]["counts"]), ([1.5, 2.0], [3.0, 1.0]))
        self.assertEqual(datums[2]["statisticValues"],
                         {"SampleCount": 2.0, "Sum": 300.0, "Minimum": 100.0, "Maximum": 200.0})
        self.assertEqual(datums[3]["value"], 12345.0)
        rc, _, err = aws_run("cloudwatch", "put-metric-data", "--namespace", "AWS/EC2",
                             "--metric-name", "x", "--value", "1")
        self.assertIn("InvalidParameterValue", err)

    def test_put_metric_data_with_a_json_protocol_cli(self):
        """A newer aws CLI (botocore >= 1.3x) sends CloudWatch as awsQueryCompatible JSON 1.0."""
        candidates = [os.environ.get("LSF_AWS_CLI_JSON"), shutil.which("aws")]
        cli = next((c for c in candidates if c and os.path.realpath(c) != os.path.realpath(AWS_CLI)), None)
        if cli is None:
            self.skipTest("no second aws CLI (set LSF_AWS_CLI_JSON to a botocore >= 1.3x aws)")
        rc, _, err = aws_run("cloudwatch", "put-metric-data", "--namespace", "Security/logsift",
                             "--metric-name", "Findings", "--value", "1", "--dimensions", "Rule=r1",
                             cli=cli)
        recs = requests_log(operation="PutMetricData")
        if not recs or recs[-1]["protocol"] != "json10q":
            self.skipTest(f"{cli} does not use the JSON protocol for CloudWatch")
        self.assertEqual(rc, 0, err)
        datums = control("GET", "/_emulator/metrics")["datums"]
        self.assertEqual([(d["metricName"], d["value"], d["protocol"]) for d in datums],
                         [("Findings", 1.0, "json10q")])
        rc, _, err = aws_run("cloudwatch", "put-metric-data", "--namespace", "AWS/x", "--metric-name",
                             "F", "--value", "1", cli=cli)
        self.assertIn("(InvalidParameterValue)", err)  # from x-amzn-query-error


# -- signatures ---------------------------------------------------------------------------------

class SignatureTest(EmulatorTest):
    def test_published_vectors_verify(self):
        """aws-facts.md 1.5 V2 and V4 verify, and fail after a one-byte change."""
        store = sigv4_check.CredentialStore(load_defaults=False)
        store.add({"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
        when = datetime.datetime(2024, 1, 15, 12, tzinfo=datetime.timezone.utc).timestamp()
        v2_body = (b'{"logGroupName": "/aws/lambda/demo", "startTime": 1705276800000, "endTime": '
                   b'1705320000000, "filterPattern": "ERROR", "limit": 100}')
        self.assertEqual(len(v2_body), 130)
        v2 = [("Content-Type", LOGS_CT), ("Host", "logs.us-east-1.amazonaws.com"),
              ("X-Amz-Date", "20240115T120000Z"), ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
              ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/logs/"
               "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
               "a84e4133c08d8a3fbe84928b9ebecc53f87db0e73af49bd04d612ddce35417bc")]
        info = sigv4_check.verify("POST", "/", v2, v2_body, store, when, 900)
        self.assertEqual((info.service, info.region), ("logs", "us-east-1"))
        with self.assertRaises(sigv4_check.AuthFailure) as cm:
            sigv4_check.verify("POST", "/", v2, v2_body.replace(b"100", b"101"), store, when, 900)
        self.assertEqual(cm.exception.kind, "bad_signature")
        self.assertIn("Logs_20140328.FilterLogEvents", cm.exception.message)  # canonical request shown
        v4_body = (b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012"
                   b"%3Aalerts&Subject=Anomaly&Message=3+failed+ConsoleLogin+events")
        v4 = [("Content-Type", FORM_CT), ("Host", "sns.us-east-1.amazonaws.com"),
              ("X-Amz-Date", "20240115T120000Z"), ("X-Amz-Security-Token", "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/="),
              ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/sns/aws4_request, "
               "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
               "9713e83822e8396ccf46e62d5bced827283f6b26550a7dd6e3a329266babed07")]
        # V4 uses the same key pair with a session token
        store.add({"accessKeyId": "AKIDEXAMPLE", "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/="})
        self.assertEqual(sigv4_check.verify("POST", "/", v4, v4_body, store, when, 900).service, "sns")
        with self.assertRaises(sigv4_check.AuthFailure) as cm:
            sigv4_check.verify("POST", "/", v4, v4_body, store, when + 3600, 900)
        self.assertEqual(cm.exception.kind, "skew")

    def test_wrong_secret(self):
        status, hdrs, body = logs_call("DescribeLogGroups", {}, secret="not-the-secret")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "InvalidSignatureException")
        self.assertTrue(json.loads(body)["message"].startswith(
            "The request signature we calculated does not match the signature you provided."))
        self.assertIn("x-amzn-requestid", hdrs)
        status, _, body = sns_call({"Action": "ListTopics"}, secret="not-the-secret")
        self.assertEqual((status, xml_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertIn("<Type>Sender</Type>", body.decode())
        recs = requests_log()
        self.assertEqual([r["verified"] for r in recs], [False, False])

    def test_unknown_key_and_missing_auth(self):
        status, _, body = logs_call("DescribeLogGroups", {}, key="AKIAUNKNOWN000000000")
        self.assertEqual((status, json.loads(body)["__type"]), (400, "UnrecognizedClientException"))
        status, _, body = sns_call({"Action": "ListTopics"}, key="AKIAUNKNOWN000000000")
        self.assertEqual((status, xml_code(body)), (403, "InvalidClientTokenId"))
        conn = http.client.HTTPConnection("127.0.0.1", EMU["port"], timeout=10)
        conn.request("POST", "/", body=b"{}", headers={"Content-Type": LOGS_CT,
                                                       "X-Amz-Target": "Logs_20140328.DescribeLogGroups"})
        resp = conn.getresponse()
        self.assertEqual((resp.status, json.loads(resp.read())["__type"]),
                         (400, "MissingAuthenticationTokenException"))
        conn.close()

    def test_tampered_body_is_rejected_and_not_applied(self):
        arn = client("sns").create_topic(Name="t")["TopicArn"]
        good = urlencode({"Action": "Publish", "Version": "2010-03-31", "TopicArn": arn,
                          "Message": "pay 10"}).encode()
        status, _, body = signed("sns", good, {"Content-Type": FORM_CT},
                                 send_body=good.replace(b"10", b"99"))
        self.assertEqual((status, xml_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertEqual(control("GET", "/_emulator/sns/messages")["messages"], [])
        params = json.dumps({"logGroupName": "/a"}).encode()
        status, _, body = signed("logs", params, {"Content-Type": LOGS_CT,
                                                  "X-Amz-Target": "Logs_20140328.CreateLogGroup"},
                                 send_body=params.replace(b"/a", b"/b"))
        self.assertEqual((status, json.loads(body)["__type"]), (400, "InvalidSignatureException"))
        self.assertEqual(control("GET", "/_emulator/logs")["logGroups"], [])

    def test_clock_skew(self):
        status, _, body = logs_call("DescribeLogGroups", {}, offset_s=-20 * 60)
        self.assertEqual((status, json.loads(body)["__type"]), (400, "InvalidSignatureException"))
        self.assertIn("Signature expired", json.loads(body)["message"])
        status, _, body = logs_call("DescribeLogGroups", {}, offset_s=20 * 60)
        self.assertIn("Signature not yet current", json.loads(body)["message"])
        status, _, body = sns_call({"Action": "ListTopics"}, offset_s=-20 * 60)
        self.assertEqual((status, xml_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertIn("Signature expired", body.decode())
        status, hdrs, _ = logs_call("DescribeLogGroups", {}, offset_s=-10 * 60)
        self.assertEqual(status, 200)
        self.assertIn("date", hdrs)   # the server's clock, for skew correction

    def test_session_tokens(self):
        status, _, _ = logs_call("DescribeLogGroups", {}, key=SESSION_KEY, secret=SESSION_SECRET,
                                 token=SESSION_TOKEN)
        self.assertEqual(status, 200)
        status, _, body = logs_call("DescribeLogGroups", {}, key=SESSION_KEY, secret=SESSION_SECRET)
        self.assertEqual(json.loads(body)["__type"], "UnrecognizedClientException")
        status, _, body = logs_call("DescribeLogGroups", {}, key=EXPIRED_KEY, secret=EXPIRED_SECRET,
                                    token=EXPIRED_TOKEN)
        self.assertEqual((status, json.loads(body)["__type"]), (400, "ExpiredTokenException"))
        status, _, body = sns_call({"Action": "ListTopics"}, key=EXPIRED_KEY, secret=EXPIRED_SECRET,
                                   token=EXPIRED_TOKEN)
        self.assertEqual((status, xml_code(body)), (403, "ExpiredToken"))
        # expire the valid session at run time, then restore it
        control("POST", "/_emulator/credentials", {"credentials": [{"accessKeyId": SESSION_KEY, "expired": True}]})
        try:
            with self.assertRaises(ClientError) as cm:
                client("logs", key=SESSION_KEY, secret=SESSION_SECRET, token=SESSION_TOKEN).describe_log_groups()
            self.assertEqual(cm.exception.response["Error"]["Code"], "ExpiredTokenException")
        finally:
            control("POST", "/_emulator/credentials",
                    {"credentials": [{"accessKeyId": SESSION_KEY, "expired": False}]})

    def test_credentials_from_file_and_env(self):
        status, _, _ = logs_call("DescribeLogGroups", {}, key="AKIAENVKEY0000000001", secret="env-secret")
        self.assertEqual(status, 200)
        status, _, body = logs_call("DescribeLogGroups", {}, key="ASIAFILEKEYEXPIRED01", secret="file-secret",
                                    token="file-token")
        self.assertEqual(json.loads(body)["__type"], "ExpiredTokenException")  # expiration in the past
        keys = [c["accessKeyId"] for c in control("GET", "/_emulator/credentials")["credentials"]]
        self.assertIn("AKIAENVKEY0000000001", keys)
        self.assertIn("ASIAFILEKEYEXPIRED01", keys)

    def test_scope_must_name_the_service(self):
        status, _, body = logs_call("DescribeLogGroups", {}, sign_service="sns")
        self.assertEqual(json.loads(body)["__type"], "InvalidSignatureException")
        self.assertIn("Credential should be scoped to correct service: 'logs'", json.loads(body)["message"])


# -- injected faults ---------------------------------------------------------------------------

class FaultTest(EmulatorTest):
    def test_throttle_count_and_skip(self):
        self.make_stream("/f", "s", ["a"])
        set_faults({"match": {"target": "Logs_20140328.FilterLogEvents"}, "fault": "throttle",
                    "count": 3, "skip": 1})
        logs = client("logs")
        codes = []
        for _ in range(5):
            try:
                logs.filter_log_events(logGroupName="/f")
                codes.append("ok")
            except ClientError as err:
                codes.append(err.response["Error"]["Code"])
                self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(codes, ["ok", "ThrottlingException", "ThrottlingException",
                                 "ThrottlingException", "ok"])
        # other operations are not matched
        logs.describe_log_groups()
        # SNS throttling is the Query code
        set_faults({"match": {"service": "sns"}, "fault": "throttle"})
        with self.assertRaises(ClientError) as cm:
            client("sns").list_topics()
        self.assertEqual(cm.exception.response["Error"]["Code"], "Throttling")

    def test_botocore_retries_through_5xx(self):
        self.make_stream("/r", "s", ["a"])
        set_faults({"match": {"operation": "FilterLogEvents"}, "fault": "500"},
                   {"match": {"operation": "FilterLogEvents"}, "fault": "503-slowdown"})
        events = client("logs", retries=3).filter_log_events(logGroupName="/r")["events"]
        self.assertEqual([e["message"] for e in events], ["a"])
        self.assertEqual([(r["status"], r["error"]) for r in requests_log(operation="FilterLogEvents")],
                         [(500, "ServiceUnavailableException"), (503, "SlowDown"), (200, None)])

    def test_500_and_503_shapes(self):
        set_faults({"match": {"service": "sns"}, "fault": "500"},
                   {"match": {"service": "sns"}, "fault": "503-slowdown"},
                   {"match": {"service": "monitoring"}, "fault": "500"})
        status, _, body = sns_call({"Action": "ListTopics"})
        self.assertEqual((status, xml_code(body)), (500, "InternalError"))
        self.assertIn("<Type>Receiver</Type>", body.decode())
        status, _, body = sns_call({"Action": "ListTopics"})
        self.assertEqual((status, xml_code(body)), (503, "SlowDown"))
        with self.assertRaises(ClientError) as cm:
            client("cloudwatch").put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InternalServiceError")
        self.assertEqual(control("GET", "/_emulator/metrics")["datums"], [])

    def test_reset_close_and_truncate(self):
        set_faults({"match": {"operation": "DescribeLogGroups"}, "fault": "reset"},
                   {"match": {"operation": "DescribeLogGroups"}, "fault": "close"},
                   {"match": {"operation": "DescribeLogGroups"}, "fault": "truncate"})
        with self.assertRaises(ConnectionResetError):
            logs_call("DescribeLogGroups", {})
        with self.assertRaises(http.client.RemoteDisconnected):
            logs_call("DescribeLogGroups", {})
        with self.assertRaises(http.client.IncompleteRead):
            logs_call("DescribeLogGroups", {})
        self.assertEqual(logs_call("DescribeLogGroups", {})[0], 200)
        faults = [r["fault"] for r in requests_log(operation="DescribeLogGroups")]
        self.assertEqual(faults, ["reset", "close", "truncate", None])
        # botocore sees the same as a connection error / a short body
        set_faults({"match": {"operation": "DescribeLogGroups"}, "fault": "close"})
        with self.assertRaises(ConnectionClosedError):
            client("logs").describe_log_groups()

    def test_slow(self):
        set_faults({"match": {"operation": "DescribeLogGroups"}, "fault": "slow", "delay_ms": 1500})
        started = time.monotonic()
        self.assertEqual(logs_call("DescribeLogGroups", {})[0], 200)
        self.assertGreaterEqual(time.monotonic() - started, 1.4)
        set_faults({"match": {"operation": "DescribeLogGroups"}, "fault": "slow", "delay_ms": 2000})
        with self.assertRaises(ReadTimeoutError):
            client("logs", read_timeout=0.5).describe_log_groups()
        # The server is still sleeping on that request: let it finish here, so its log entry
        # does not land in the next test.
        deadline = time.monotonic() + 10
        while len(requests_log(operation="DescribeLogGroups")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

    def test_expired(self):
        set_faults({"match": {"service": "logs"}, "fault": "expired"},
                   {"match": {"service": "sns"}, "fault": "expired"})
        status, _, body = logs_call("DescribeLogGroups", {})
        self.assertEqual((status, json.loads(body)["__type"]), (400, "ExpiredTokenException"))
        status, _, body = sns_call({"Action": "ListTopics"})
        self.assertEqual((status, xml_code(body)), (403, "ExpiredToken"))

    def test_empty_page_then_the_rest(self):
        self.make_stream("/e", "s", [f"m{i}" for i in range(5)])
        set_faults({"match": {"operation": "FilterLogEvents"}, "fault": "empty-page", "count": 2})
        logs = client("logs")
        pages, token = [], None
        for _ in range(10):
            kw = {"nextToken": token} if token else {}
            page = logs.filter_log_events(logGroupName="/e", limit=3, **kw)
            pages.append([e["message"] for e in page["events"]])
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(pages, [[], [], ["m0", "m1", "m2"], ["m3", "m4"]])

    def test_lost_response_after_publish(self):
        """when=after: the message is stored but the client sees a reset; a FIFO retry with the same
        dedup id gets the same MessageId and nothing is stored twice."""
        sns = client("sns")
        arn = sns.create_topic(Name="x.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        set_faults({"match": {"operation": "Publish"}, "fault": "reset", "when": "after"})
        with self.assertRaises(HTTPClientError):
            sns.publish(TopicArn=arn, Message="m", MessageGroupId="g", MessageDeduplicationId="d")
        stored = control("GET", "/_emulator/sns/messages")["messages"]
        self.assertEqual(len(stored), 1)
        retry = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g", MessageDeduplicationId="d")
        self.assertEqual(retry["MessageId"], stored[0]["messageId"])
        self.assertEqual(len(control("GET", "/_emulator/sns/messages")["messages"]), 1)

    def test_custom_error(self):
        set_faults({"match": {"operation": "Publish"}, "fault": "error", "status": 429,
                    "code": "Throttled", "message": "Rate exceeded"})
        arn = client("sns").create_topic(Name="c")["TopicArn"]
        with self.assertRaises(ClientError) as cm:
            client("sns").publish(TopicArn=arn, Message="m")
        self.assertEqual((cm.exception.response["Error"]["Code"],
                          cm.exception.response["ResponseMetadata"]["HTTPStatusCode"]), ("Throttled", 429))

    def test_bad_rules_are_refused(self):
        conn = http.client.HTTPConnection("127.0.0.1", EMU["port"], timeout=10)
        conn.request("POST", "/_emulator/faults", body=json.dumps({"rules": [{"fault": "explode"}]}))
        resp = conn.getresponse()
        self.assertEqual(resp.status, 400)
        self.assertIn("unknown fault", json.loads(resp.read())["error"])
        conn.close()


# -- CloudWatch Logs semantics -------------------------------------------------------------------

class LogsSemanticsTest(EmulatorTest):
    def test_filter_order_limits_and_tokens(self):
        base = now_ms() - 60000
        logs = client("logs")
        self.make_stream("/o", "a", ["a0", "a1", "a2"], start=base, step=10)
        self.make_stream("/o", "b", ["b0", "b1", "b2"], start=base, step=10)
        got = logs.filter_log_events(logGroupName="/o")["events"]
        # equal timestamps: earlier ingestion first (stream a was written first)
        self.assertEqual([e["message"] for e in got], ["a0", "b0", "a1", "b1", "a2", "b2"])
        self.assertNotIn("nextToken", logs.filter_log_events(logGroupName="/o", limit=6))
        self.assertIn("nextToken", logs.filter_log_events(logGroupName="/o", limit=5))
        for bad in (0, 10001):  # botocore would refuse to send these; http.client does not
            status, _, body = logs_call("FilterLogEvents", {"logGroupName": "/o", "limit": bad})
            self.assertEqual((status, json.loads(body)["__type"]), (400, "InvalidParameterException"))
            self.assertIn("failed to satisfy constraint", json.loads(body)["message"])
        status, _, body = logs_call("FilterLogEvents", {"logGroupName": "/o", "nextToken": "garbage!"})
        self.assertEqual(json.loads(body), {"__type": "InvalidParameterException",
                                            "message": "The specified nextToken is invalid."})
        with self.assertRaises(ClientError) as cm:
            logs.filter_log_events(logGroupName="/o", logStreamNames=["a"], logStreamNamePrefix="a")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterException")
        with self.assertRaises(ClientError) as cm:
            logs.filter_log_events(logGroupName="/missing")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_page_stops_at_one_megabyte(self):
        big = "x" * 200000
        start = self.make_stream("/big", "s", [big] * 4)
        logs = client("logs")
        for n in (4, 8):  # a PutLogEvents batch is at most 1 MB too
            logs.put_log_events(logGroupName="/big", logStreamName="s", logEvents=[
                {"timestamp": start + (n + i) * 1000, "message": big} for i in range(4)])
        sizes, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = logs.filter_log_events(logGroupName="/big", **kw)
            sizes.append(len(page["events"]))
            total = sum(len(e["message"]) + 26 for e in page["events"])
            self.assertLessEqual(total, 1048576)
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(sizes, [5, 5, 2])

    def test_filter_patterns(self):
        self.make_stream("/p", "s", [
            "ERROR disk full", "WARN disk slow", "INFO ok", "ERROR [auth] bad password",
            json.dumps({"eventName": "ConsoleLogin", "errorMessage": "Failed authentication",
                        "n": 7, "user": {"type": "Root"}}),
            json.dumps({"eventName": "ConsoleLogin", "n": 2, "user": {"type": "IAMUser"}})])
        logs = client("logs")

        def match(pattern):
            return [e["message"][:14] for e in logs.filter_log_events(logGroupName="/p",
                                                                     filterPattern=pattern)["events"]]
        self.assertEqual(len(match("")), 6)
        self.assertEqual(match("ERROR disk"), ["ERROR disk ful"])
        self.assertEqual(match("?ERROR ?WARN"), ["ERROR disk ful", "WARN disk slow", "ERROR [auth] b"])
        self.assertEqual(match("ERROR -disk"), ["ERROR [auth] b"])
        self.assertEqual(match('"[auth] bad"'), ["ERROR [auth] b"])
        self.assertEqual(len(match('{ $.eventName = "ConsoleLogin" }')), 2)
        self.assertEqual(len(match('{ $.eventName = "Console*" && $.errorMessage = "Failed authentication" }')), 1)
        self.assertEqual(len(match('{ $.n > 5 || $.user.type = "IAMUser" }')), 2)
        self.assertEqual(len(match("{ $.errorMessage NOT EXISTS && $.eventName EXISTS }")), 1)
        with self.assertRaises(ClientError):
            match("{ $.eventName = ")

    def test_get_log_events_backward_and_forward(self):
        base = self.make_stream("/g", "s", [f"m{i}" for i in range(7)])
        logs = client("logs")
        page = logs.get_log_events(logGroupName="/g", logStreamName="s", limit=3)
        self.assertEqual([e["message"] for e in page["events"]], ["m4", "m5", "m6"])  # newest by default
        seen = [e["message"] for e in page["events"]]
        token = page["nextBackwardToken"]
        while True:
            page = logs.get_log_events(logGroupName="/g", logStreamName="s", limit=3, nextToken=token)
            if page["nextBackwardToken"] == token:
                self.assertEqual(page["events"], [])
                break
            seen = [e["message"] for e in page["events"]] + seen
            token = page["nextBackwardToken"]
        self.assertEqual(seen, [f"m{i}" for i in range(7)])
        # a live tail: the forward token at the end returns new events once they arrive
        page = logs.get_log_events(logGroupName="/g", logStreamName="s", startFromHead=True)
        end = page["nextForwardToken"]
        again = logs.get_log_events(logGroupName="/g", logStreamName="s", startFromHead=True, nextToken=end)
        self.assertEqual((again["events"], again["nextForwardToken"]), ([], end))
        logs.put_log_events(logGroupName="/g", logStreamName="s",
                            logEvents=[{"timestamp": base + 7000, "message": "m7"}])
        new = logs.get_log_events(logGroupName="/g", logStreamName="s", startFromHead=True, nextToken=end)
        self.assertEqual([e["message"] for e in new["events"]], ["m7"])
        with self.assertRaises(ClientError) as cm:
            logs.get_log_events(logGroupName="/g", logStreamName="nope")
        self.assertEqual(cm.exception.response["Error"]["Message"], "The specified log stream does not exist.")

    def test_put_log_events_rules(self):
        self.make_stream("/put", "s", [])
        logs = client("logs")
        now = now_ms()
        with self.assertRaises(ClientError) as cm:
            logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
                {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
        self.assertIn("chronological order", cm.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as cm:
            logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
                {"timestamp": now - 25 * 3600000, "message": "a"}, {"timestamp": now, "message": "b"}])
        self.assertIn("cannot span more than 24 hours", cm.exception.response["Error"]["Message"])
        day = 86400000
        out = logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
            {"timestamp": now - 14 * day - 3600000, "message": "too old"},
            {"timestamp": now - 14 * day + 3600000, "message": "old but ok"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 0})
        out = logs.put_log_events(logGroupName="/put", logStreamName="s", logEvents=[
            {"timestamp": now, "message": "ok"}, {"timestamp": now + 3 * 3600000, "message": "too new"}])
        self.assertEqual(out["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 1})
        got = control("GET", "/_emulator/logs/events?logGroupName=/put&logStreamName=s")["events"]
        self.assertEqual([e["message"] for e in got], ["old but ok", "ok"])
        # historical fixtures go in through the seed endpoint instead
        control("POST", "/_emulator/logs/events", {"logGroupName": "/put", "logStreamName": "old",
                                                   "events": [{"timestamp": 1600000000000, "message": "2020"}]})
        self.assertEqual([e["message"] for e in logs.filter_log_events(logGroupName="/put",
                                                                      logStreamNames=["old"])["events"]], ["2020"])

    def test_describe_pagination(self):
        logs = client("logs")
        for i in range(5):
            logs.create_log_group(logGroupName=f"/d/{i}")
            logs.create_log_stream(logGroupName="/d/0", logStreamName=f"s{i}")
        page = logs.describe_log_groups(limit=2)
        names = [g["logGroupName"] for g in page["logGroups"]]
        while "nextToken" in page:
            page = logs.describe_log_groups(limit=2, nextToken=page["nextToken"])
            names += [g["logGroupName"] for g in page["logGroups"]]
        self.assertEqual(names, [f"/d/{i}" for i in range(5)])
        pages = list(logs.get_paginator("describe_log_streams").paginate(
            logGroupName="/d/0", descending=True, PaginationConfig={"PageSize": 2}))
        self.assertEqual([[s["logStreamName"] for s in p["logStreams"]] for p in pages],
                         [["s4", "s3"], ["s2", "s1"], ["s0"]])
        with self.assertRaises(ClientError) as cm:
            logs.describe_log_streams(logGroupName="/d/0", orderBy="LastEventTime", logStreamNamePrefix="s")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterException")

    def test_quota_throttles(self):
        self.make_stream("/q", "s", ["a"])
        control("POST", "/_emulator/quotas", {"tps": {"FilterLogEvents": 2}})
        logs = client("logs")
        codes = []
        for _ in range(3):
            try:
                logs.filter_log_events(logGroupName="/q")
                codes.append("ok")
            except ClientError as err:
                codes.append(err.response["Error"]["Code"])
        self.assertEqual(codes, ["ok", "ok", "ThrottlingException"])
        time.sleep(1.1)
        logs.filter_log_events(logGroupName="/q")


# -- SNS and metrics semantics -------------------------------------------------------------------

class SnsMetricsSemanticsTest(EmulatorTest):
    def test_publish_batch(self):
        sns = client("sns")
        arn = sns.create_topic(Name="b.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        out = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "1", "Message": "one", "MessageGroupId": "g", "MessageDeduplicationId": "d1",
             "MessageAttributes": {"rule": {"DataType": "String", "StringValue": "r1"}}},
            {"Id": "2", "Message": "two", "MessageDeduplicationId": "d2"},
            {"Id": "3", "Message": "three", "MessageGroupId": "g", "MessageDeduplicationId": "d3"}])
        self.assertEqual([s["Id"] for s in out["Successful"]], ["1", "3"])
        self.assertEqual([(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]],
                         [("2", "InvalidParameter", True)])
        stored = control("GET", "/_emulator/sns/messages")["messages"]
        self.assertEqual([(m["message"], m["batchEntryId"]) for m in stored], [("one", "1"), ("three", "3")])
        self.assertEqual(stored[0]["messageAttributes"], {"rule": {"DataType": "String", "StringValue": "r1"}})
        for entries, code in (([{"Id": "x", "Message": "a"}] * 2, "BatchEntryIdsNotDistinct"),
                              ([{"Id": str(i), "Message": "a"} for i in range(11)], "TooManyEntriesInBatchRequest")):
            with self.assertRaises(ClientError) as cm:
                sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
            self.assertEqual(cm.exception.response["Error"]["Code"], code)

    def test_publish_validation(self):
        sns = client("sns")
        arn = sns.create_topic(Name="v")["TopicArn"]
        cases = [
            ({"Message": "m", "Subject": "line\nbreak"}, "InvalidParameter"),
            ({"Message": "m", "MessageDeduplicationId": "d"}, "InvalidParameter"),
            ({"Message": "m", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "x"}}},
             "ParameterValueInvalid"),
            ({"Message": "m", "MessageAttributes": {"a": {"DataType": "Date", "StringValue": "x"}}},
             "ParameterValueInvalid"),
            ({"Message": '{"email": "x"}', "MessageStructure": "json"}, "InvalidParameter"),
        ]
        for kwargs, code in cases:
            with self.assertRaises(ClientError, msg=str(kwargs)) as cm:
                sns.publish(TopicArn=arn, **kwargs)
            self.assertEqual(cm.exception.response["Error"]["Code"], code, kwargs)
        # the attribute bytes count toward the 256 KB
        with self.assertRaises(ClientError) as cm:
            sns.publish(TopicArn=arn, Message="x" * 262140,
                        MessageAttributes={"sev": {"DataType": "String", "StringValue": "high"}})
        self.assertIn("Message too long", cm.exception.response["Error"]["Message"])
        # a topic ARN of another region is refused
        with self.assertRaises(ClientError) as cm:
            sns.publish(TopicArn=arn.replace(REGION, "eu-west-1"), Message="m")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameter")
        self.assertEqual(control("GET", "/_emulator/sns/messages")["messages"], [])

    def test_metric_limits(self):
        cw = client("cloudwatch")

        def code(**kw):
            with self.assertRaises(ClientError) as cm:
                cw.put_metric_data(**kw)
            return cm.exception.response["Error"]["Code"]
        many = [{"MetricName": "m", "Value": 1}] * 1001
        self.assertEqual(code(Namespace="N", MetricData=many), "InvalidParameterValue")
        cw.put_metric_data(Namespace="N", MetricData=many[:1000])
        dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
        self.assertEqual(code(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1, "Dimensions": dims}]),
                         "InvalidParameterValue")
        cw.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1, "Dimensions": dims[:30]}])
        self.assertEqual(code(Namespace=":bad", MetricData=[{"MetricName": "m", "Value": 1}]),
                         "InvalidParameterValue")
        self.assertEqual(code(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1, "Unit": "Apples"}]),
                         "InvalidParameterValue")
        self.assertEqual(code(Namespace="N", MetricData=[{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]),
                         "InvalidParameterValue")
        self.assertEqual(code(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1, "Timestamp":
                                                          datetime.datetime.utcnow() - datetime.timedelta(days=15)}]),
                         "InvalidParameterValue")
        self.assertEqual(code(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1,
                                                          "StatisticValues": {"SampleCount": 1, "Sum": 1,
                                                                              "Minimum": 1, "Maximum": 1}}]),
                         "InvalidParameterCombination")
        self.assertEqual(len(control("GET", "/_emulator/metrics")["datums"]), 1001)
        # > 1 MB request body -> 413
        huge = [{"MetricName": "m" * 250, "Value": 1, "Dimensions": [{"Name": "n" * 250, "Value": "v" * 1000}]}] * 800
        with self.assertRaises(ClientError) as cm:
            cw.put_metric_data(Namespace="N", MetricData=huge)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 413)

    def test_json_protocol_put_metric_data(self):
        body = json.dumps({"Namespace": "Security/logsift", "MetricData": [
            {"MetricName": "Findings", "Dimensions": [{"Name": "Rule", "Value": "r1"}], "Value": 1.0,
             "Unit": "Count", "Timestamp": int(time.time()), "StorageResolution": 60}]}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}
        status, _, _ = signed("monitoring", body, headers)
        self.assertEqual(status, 200)
        datums = control("GET", "/_emulator/metrics")["datums"]
        self.assertEqual([(d["metricName"], d["protocol"]) for d in datums], [("Findings", "json10q")])
        bad = json.dumps({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1}]}).encode()
        status, hdrs, body = signed("monitoring", bad, headers)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "com.amazonaws.cloudwatch#InvalidParameterValueException")
        self.assertEqual(hdrs["x-amzn-query-error"], "InvalidParameterValue;Sender")


class InspectionTest(EmulatorTest):
    def test_requests_log_and_reset(self):
        client("logs").create_log_group(logGroupName="/i")
        # A request an earlier test left sleeping in a "slow" fault may finish and be logged
        # after that test's reset: look at this test's operation only.
        recs = requests_log(operation="CreateLogGroup")
        self.assertEqual(len(recs), 1)
        rec = recs[0]
        self.assertEqual((rec["service"], rec["operation"], rec["accessKeyId"], rec["region"],
                          rec["verified"], rec["status"]),
                         ("logs", "CreateLogGroup", KEY, REGION, True, 200))
        self.assertEqual(control("GET", "/_emulator/logs")["logGroups"][0]["logGroupName"], "/i")
        control("POST", "/_emulator/reset")
        self.assertEqual(control("GET", "/_emulator/logs")["logGroups"], [])
        self.assertEqual(requests_log(), [])
        self.assertNotIn("secretAccessKey", json.dumps(control("GET", "/_emulator/credentials")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
