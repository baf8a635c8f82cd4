#!/usr/bin/env python3
"""Scale-out and listing economy of logsift's S3 source, end to end against s3rver.

- --shard K/N: for N = 1, 3 and 4 the N workers' findings add up to the unsharded run's and no
  object is scanned by two workers; auto/N reads JOB_COMPLETION_INDEX or
  AWS_BATCH_JOB_ARRAY_INDEX. The example manifests in scanner/cli/deploy/ are parsed (the
  Kubernetes Job with PyYAML, the AWS Batch SubmitJob request against botocore's model of the
  Batch API) and their own arguments are run against s3rver.
- Listing-level pruning: a CloudTrail layout with three years of days (an account trail in two
  regions, an organization trail, a digest folder and an undated sibling folder) is scanned
  with a three-month --since/--until through a counting proxy; the run lists no key before the
  window and only one page past it per region, and gives exactly the findings of a local copy
  of the objects in the window.

s3rver 3.7.1 ignores objects more than one folder below a delimiter listing's prefix (its
filesystem walk stops at the first folder), so real S3's CommonPrefixes answer is computed by
the proxy from s3rver's flat listing. Without the proxy logsift falls back to a flat listing
(test_s3.py covers that path). Run with Debian's python3 (botocore, PyYAML).
"""
import concurrent.futures
import glob
import gzip
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_s3  # noqa: E402  (S3Server, environment, helpers)

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "scanner", "cli", "deploy")
BUCKET = test_s3.BUCKET
PROXY_PAGE_KEYS = 50  # the proxy asks s3rver for pages this small, so paging is exercised

TRAILS = [
    "AWSLogs/111111111111/CloudTrail/us-east-1/",
    "AWSLogs/111111111111/CloudTrail/eu-west-1/",
    "AWSLogs/o-abcdefghij/222222222222/CloudTrail/us-east-1/",
]
SINCE, UNTIL = "2024-07-01", "2024-09-30"
DAY_RE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/")


def key_day(key):
    """The first YYYY/MM/DD/ folder run of a key, as logsift reads it (fetch_s3_key_day)."""
    m = DAY_RE.search(key)
    return "%s-%s-%s" % m.groups() if m else None


def in_window(key):
    day = key_day(key)
    return day is None or SINCE <= day <= UNTIL


def days(first, last, step):
    import datetime
    d = datetime.date.fromisoformat(first)
    end = datetime.date.fromisoformat(last)
    while d <= end:
        yield d
        d += datetime.timedelta(days=step)


def filler(day, region):
    """A small gzipped CloudTrail delivery file with one read-only event."""
    record = {"eventVersion": "1.09", "eventTime": "%sT12:00:00Z" % day.isoformat(),
              "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
              "awsRegion": region, "sourceIPAddress": "198.51.100.7", "readOnly": True,
              "userIdentity": {"type": "IAMUser", "userName": "reader"},
              "eventType": "AwsApiCall", "eventID": "%s-%s" % (day.isoformat(), region)}
    return gzip.compress(json.dumps({"Records": [record]}).encode(), mtime=0)


def build_corpus():
    """{key: body}: filler every 4th day of 2022-2024 in each trail folder, the Stratus Red
    Team detonation logs spread inside and outside the window, digests and an undated file."""
    objects = {}
    for trail in TRAILS:
        region = trail.rstrip("/").rsplit("/", 1)[1]
        for day in days("2022-01-01", "2024-12-31", 4):
            account = trail.split("/")[-4]
            objects[trail + "%s/%s_CloudTrail_%s_%sT1200Z_filler.json.gz" % (
                day.strftime("%Y/%m/%d"), account, region, day.strftime("%Y%m%d"))] = \
                filler(day, region)
    stratus = sorted(glob.glob(os.path.join(test_s3.STRATUS, "*.json")))
    spots = ["2023/03/14", "2024/06/30", "2024/07/01", "2024/08/15", "2024/09/30", "2024/10/01",
             "2024/09/02"]
    for i, path in enumerate(stratus):
        with open(path, "rb") as f:
            body = f.read()
        name = os.path.basename(path)
        if i % 2:
            body, name = gzip.compress(body, mtime=0), name + ".gz"
        objects[TRAILS[i % 3] + spots[i % len(spots)] + "/" + name] = body
    objects["AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/08/01/digest.json.gz"] = \
        gzip.compress(b'{"digestStartTime":"2024-08-01T00:00:00Z"}', mtime=0)
    objects["AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2023/08/01/digest.json.gz"] = \
        gzip.compress(b'{"digestStartTime":"2023-08-01T00:00:00Z"}', mtime=0)
    with open(stratus[0], "rb") as f:
        objects["notes/undated-export.json"] = f.read()
    return objects


class ListingProxy:
    """A proxy in front of s3rver that counts the ListObjectsV2 requests it forwards and the
    keys it returns, serves delimiter listings as real S3 does (see the module note), caps
    pages of trail folders at PROXY_PAGE_KEYS keys, and passes everything else through."""

    def __init__(self, upstream_port):
        proxy = self
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.reset()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status, headers, body = proxy.handle(self.path, dict(self.headers.items()))
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.list_requests = []
            self.keys_listed = []

    def upstream(self, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, resp.getheaders(), body

    def handle(self, path, headers):
        url = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if "list-type" not in query:
            return self.upstream(path, headers)
        with self.lock:
            self.list_requests.append(query)
        if "delimiter" in query:
            status, hdrs, body = self.delimited(url.path, query)
        else:
            q = dict((k, v[0]) for k, v in query.items())
            if q.get("prefix") in TRAILS:
                # Small pages inside trail folders only: s3rver walks folders in name order
                # ("CloudTrail" before "CloudTrail-Digest"), not S3's byte order, so its
                # continuation tokens skip keys when a page ends between such siblings.
                q["max-keys"] = str(PROXY_PAGE_KEYS)
            status, hdrs, body = self.upstream(url.path + "?" + urllib.parse.urlencode(q),
                                               headers)
        if status == 200:
            keys = re.findall(r"<Key>([^<]*)</Key>", body.decode())
            with self.lock:
                self.keys_listed.extend(keys)
        return status, hdrs, body

    def delimited(self, path, query):
        """One page of Contents and CommonPrefixes for a "/" delimiter, from s3rver's flat
        listing of the prefix."""
        prefix = query.get("prefix", [""])[0]
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            status, hdrs, body = self.upstream(path + "?" + urllib.parse.urlencode(q))
            if status != 200:
                return status, hdrs, body
            text = body.decode()
            keys += re.findall(r"<Key>([^<]*)</Key>", text)
            m = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" not in text or not m:
                break
            token = m.group(1)
        direct, prefixes = [], []
        for key in keys:
            rest = key[len(prefix):]
            if "/" in rest:
                child = prefix + rest.split("/", 1)[0] + "/"
                if child not in prefixes:
                    prefixes.append(child)
            else:
                direct.append(key)
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
               "<Prefix>%s</Prefix><Delimiter>/</Delimiter>" % prefix,
               "<IsTruncated>false</IsTruncated>"]
        out += ["<Contents><Key>%s</Key></Contents>" % k for k in direct]
        out += ["<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % p for p in prefixes]
        out.append("</ListBucketResult>")
        return 200, [("Content-Type", "application/xml")], "".join(out).encode()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FrontProxy:
    """A proxy in front of s3rver that lets answer(path, headers) reply to a GET itself
    (return (status, headers, body)) or pass it on (return None); answer_head does the same
    for HEAD requests."""

    def __init__(self, upstream_port, answer, answer_head=lambda path, headers: None):
        self.requests = []
        self.methods = []
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                headers = dict(self.headers.items())
                with lock:
                    proxy.requests.append((self.path, headers))
                    proxy.methods.append(self.command)
                reply = answer(self.path, headers) if self.command == "GET" else \
                    answer_head(self.path, headers)
                if reply is None:
                    conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                    conn.request(self.command, self.path, headers=headers)
                    resp = conn.getresponse()
                    reply = (resp.status, resp.getheaders(), resp.read())
                    conn.close()
                status, hdrs, body = reply
                self.send_response(status)
                for name, value in hdrs:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def scope_region(headers):
    """The region of a SigV4 Authorization header's credential scope."""
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request", auth)
    return m.group(1) if m else None


def s3_error(status, code, extra="", headers=()):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected"
            "</Message>%s<RequestId>4442587FB7D0A2F9</RequestId></Error>" % (code, extra)).encode()
    return status, [("Content-Type", "application/xml"), *headers], body


def canonical(findings, strip):
    """Findings as sorted JSON lines, sources relative (strip the s3:// or local root)."""
    out = []
    for f in findings:
        f = dict(f)
        f["source"] = os.path.relpath(f["source"], strip) if not strip.startswith("s3://") \
            else f["source"][len(strip):]
        out.append(json.dumps(f, sort_keys=True))
    return sorted(out)


class ManifestTest(unittest.TestCase):
    """The example manifests parse and say what a sharded run needs."""

    def test_kubernetes_indexed_job_shards_by_completion_index(self):
        import yaml
        with open(os.path.join(DEPLOY, "k8s-indexed-job.yaml")) as f:
            job = yaml.safe_load(f)
        self.assertEqual(job["apiVersion"], "batch/v1")
        self.assertEqual(job["kind"], "Job")
        spec = job["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")  # sets JOB_COMPLETION_INDEX
        n = spec["completions"]
        self.assertGreaterEqual(n, 2)
        self.assertLessEqual(spec["parallelism"], n)
        pod = spec["template"]["spec"]
        self.assertIn(pod["restartPolicy"], ("Never", "OnFailure"))
        (container,) = pod["containers"]
        args = container["args"]
        self.assertEqual(args[0], "scan")
        self.assertEqual(args[args.index("--shard") + 1], "auto/%d" % n)
        self.assertTrue(any(a.startswith("s3://") for a in args))

    def test_aws_batch_array_job_is_a_valid_submit_job_request(self):
        import botocore.session
        from botocore.validate import ParamValidator
        with open(os.path.join(DEPLOY, "aws-batch-array-job.json")) as f:
            request = json.load(f)
        model = botocore.session.get_session().get_service_model("batch")
        report = ParamValidator().validate(request, model.operation_model("SubmitJob").input_shape)
        self.assertFalse(report.has_errors(), report.generate_report())
        n = request["arrayProperties"]["size"]
        self.assertGreaterEqual(n, 2)  # AWS_BATCH_JOB_ARRAY_INDEX is set for array jobs only
        command = request["containerOverrides"]["command"]
        self.assertEqual(command[0], "scan")
        self.assertEqual(command[command.index("--shard") + 1], "auto/%d" % n)


class ScaleTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        reason = test_s3.why_unavailable()
        if reason:
            raise unittest.SkipTest(reason)
        cls.server = test_s3.S3Server()
        cls.local = tempfile.mkdtemp(prefix="logsift-s3-scale-")
        cls.env = cls.make_env()
        cls.objects = build_corpus()
        client = cls.server.client()

        def put(item):
            client.put_object(Bucket=BUCKET, Key=item[0], Body=item[1])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, cls.objects.items()))
        for key, body in cls.objects.items():
            os.makedirs(os.path.join(cls.local, os.path.dirname(key)), exist_ok=True)
            with open(os.path.join(cls.local, key), "wb") as f:
                f.write(body)
        cls.proxy = ListingProxy(cls.server.port)

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.proxy.stop()
            cls.server.stop()
            shutil.rmtree(cls.local, True)

    @classmethod
    def make_env(cls):
        test_s3.S3SourceTest.server = cls.server
        return test_s3.S3SourceTest.make_env("S3RVER", "S3RVER")

    def scan(self, args, env=None):
        stats = os.path.join(self.server.dir, "stats-%d.json" % threading.get_ident())
        proc = subprocess.run([test_s3.LOGSIFT, "scan", "-q", "--sort", "--stats-json", stats,
                               *args], capture_output=True, env=env or self.env, timeout=300)
        with open(stats) as f:
            st = json.load(f)
        return proc.returncode, test_s3.findings(proc.stdout.decode()), st, \
            proc.stderr.decode()

    def local_copy(self, keys):
        """A folder holding only keys (from the corpus), for the expected findings."""
        root = tempfile.mkdtemp(prefix="logsift-s3-expect-", dir=self.server.dir)
        for key in keys:
            os.makedirs(os.path.join(root, os.path.dirname(key)), exist_ok=True)
            shutil.copyfile(os.path.join(self.local, key), os.path.join(root, key))
        return root

    # ---- --shard ------------------------------------------------------------------------------

    def test_shards_cover_the_listing_exactly_once(self):
        url = "s3://%s/AWSLogs/" % BUCKET
        code, whole, st, err = self.scan([url])
        self.assertEqual(code, 0, err)
        self.assertEqual(st["inputs"], sum(1 for k in self.objects if k.startswith("AWSLogs/")))
        self.assertGreater(len(whole), 20)
        expect = canonical(whole, "s3://%s/" % BUCKET)
        for n in (1, 3, 4):
            union, sources, inputs = [], [], 0
            for k in range(n):
                code, part, st, err = self.scan(["--shard", "%d/%d" % (k, n), url])
                self.assertIn(code, (0, 1), err)
                self.assertEqual(st["errors"], 0, err)
                union += part
                inputs += st["inputs"]
                sources.append({f["source"] for f in part})
                if n > 1:
                    self.assertLess(st["inputs"], len(self.objects))  # a real split
            self.assertEqual(inputs, sum(1 for k in self.objects if k.startswith("AWSLogs/")))
            for i in range(n):
                for j in range(i + 1, n):
                    self.assertEqual(sources[i] & sources[j], set(), "shards %d, %d of %d" % (
                        i, j, n))
            self.assertEqual(canonical(union, "s3://%s/" % BUCKET), expect, "N=%d" % n)

    def test_auto_shard_reads_the_scheduler_index(self):
        url = "s3://%s/AWSLogs/" % BUCKET
        for var in ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"):
            env = dict(self.env)
            env[var] = "2"
            _, auto, st_auto, err = self.scan(["--shard", "auto/3", url], env)
            _, fixed, st_fixed, _ = self.scan(["--shard", "2/3", url])
            self.assertEqual(st_auto["errors"], 0, err)
            self.assertEqual(st_auto["inputs"], st_fixed["inputs"])
            self.assertEqual(auto, fixed)

    def test_auto_shard_without_a_scheduler_is_a_usage_error(self):
        proc = subprocess.run([test_s3.LOGSIFT, "scan", "-q", "--shard", "auto/3",
                               "s3://%s/AWSLogs/" % BUCKET], capture_output=True, env=self.env,
                              timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("JOB_COMPLETION_INDEX", proc.stderr.decode())
        self.assertEqual(proc.stdout, b"")

    def test_shard_of_local_paths_is_a_usage_error(self):
        proc = subprocess.run([test_s3.LOGSIFT, "scan", "-q", "--shard", "0/2", self.local],
                              capture_output=True, env=self.env, timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--shard", proc.stderr.decode())
        self.assertEqual(proc.stdout, b"")

    def test_manifest_arguments_run_as_written(self):
        """Each manifest's own argument list (bucket swapped for the test bucket) runs under
        its scheduler's variable, and shard 0 of the window scans without a problem."""
        import yaml
        with open(os.path.join(DEPLOY, "k8s-indexed-job.yaml")) as f:
            k8s = yaml.safe_load(f)["spec"]["template"]["spec"]["containers"][0]["args"]
        with open(os.path.join(DEPLOY, "aws-batch-array-job.json")) as f:
            batch = json.load(f)["containerOverrides"]["command"]
        for args, var in ((k8s, "JOB_COMPLETION_INDEX"), (batch, "AWS_BATCH_JOB_ARRAY_INDEX")):
            args = [re.sub(r"^s3://[^/]+/", "s3://%s/" % BUCKET, a) for a in args[1:]]
            env = dict(self.env)
            env[var] = "0"
            code, _, st, err = self.scan(args, env)
            self.assertIn(code, (0, 1), err)
            self.assertEqual(st["errors"], 0, err)

    # ---- listing-level pruning ---------------------------------------------------------------

    def pruned_run(self, prefix):
        self.proxy.reset()
        code, found, st, err = self.scan(["--endpoint-url", self.proxy.url, "--since", SINCE,
                                          "--until", UNTIL, "s3://%s/%s" % (BUCKET, prefix)])
        return code, found, st, err, list(self.proxy.list_requests), list(self.proxy.keys_listed)

    def test_window_lists_only_its_days_and_finds_what_a_local_copy_does(self):
        for prefix in ("AWSLogs/", ""):
            with self.subTest(prefix=prefix):
                wanted = sorted(k for k in self.objects if k.startswith(prefix) and in_window(k))
                code, found, st, err, requests, listed = self.pruned_run(prefix)
                self.assertEqual(code, 0, err)
                self.assertEqual(st["errors"], 0, err)
                self.assertEqual(st["inputs"], len(wanted))
                root = self.local_copy(wanted)
                code_fs, local, _, err_fs = self.scan([root])
                self.assertEqual(code_fs, 0, err_fs)
                self.assertGreater(len(local), 5)
                self.assertEqual(canonical(found, "s3://%s/" % BUCKET), canonical(local, root))

                # Nothing before the window is listed in a trail folder, and each trail folder
                # stops at the first page that reaches past it.
                in_trails = [k for k in listed if any(k.startswith(t) for t in TRAILS)]
                self.assertEqual([k for k in in_trails if key_day(k) < SINCE], [])
                for trail in TRAILS:
                    past = [k for k in listed if k.startswith(trail) and key_day(k) > UNTIL]
                    self.assertLessEqual(len(past), PROXY_PAGE_KEYS, trail)
                    self.assertTrue(any(q.get("start-after", [""])[0].startswith(
                        trail + SINCE.replace("-", "/")) for q in requests), trail)

                # Without the window the same prefix lists every key, page by page.
                self.proxy.reset()
                code, _, st_all, err = self.scan(["--endpoint-url", self.proxy.url,
                                                  "-o", "none", "s3://%s/%s" % (BUCKET, prefix)])
                everything = [k for k in self.objects if k.startswith(prefix)]
                self.assertEqual(st_all["inputs"], len(everything), err)
                self.assertEqual(sorted(self.proxy.keys_listed), sorted(everything))
                print("\nlisting %r: %d requests, %d keys with --since/--until; %d requests, "
                      "%d keys without; %d keys in the window" % (
                          prefix, len(requests), len(listed), len(self.proxy.list_requests),
                          len(self.proxy.keys_listed), len(wanted)), file=sys.stderr)
                self.assertLess(len(listed) * 4, len(self.proxy.keys_listed))
                # One delimiter listing per folder level of the layout walked ("", AWSLogs/,
                # two accounts, one org, two CloudTrail/, one CloudTrail-Digest/), and per trail
                # folder only the pages of its window plus the one that reaches past it.
                self.assertLessEqual(sum(1 for q in requests if "delimiter" in q), 8)
                # Digest folders share the layout, so they are pruned alike.
                self.assertEqual([k for k in listed if "/CloudTrail-Digest/" in k and
                                  key_day(k) < SINCE], [])
                for trail in TRAILS:
                    n_window = sum(1 for k in wanted if k.startswith(trail))
                    n_pages = sum(1 for q in requests if q.get("prefix", [""])[0] == trail)
                    self.assertLessEqual(n_pages, n_window // PROXY_PAGE_KEYS + 2, trail)

    def test_store_without_nested_delimiter_support_loses_nothing(self):
        """Straight to s3rver (whose delimiter listings miss deep keys): logsift falls back
        to flat listings and still scans every object of the window."""
        wanted = [k for k in self.objects if k.startswith("AWSLogs/") and in_window(k)]
        code, _, st, err = self.scan(["--since", SINCE, "--until", UNTIL,
                                      "s3://%s/AWSLogs/" % BUCKET])
        self.assertEqual(code, 0, err)
        self.assertEqual(st["inputs"], len(wanted))

    # ---- region redirects and expired tokens ---------------------------------------------------

    REDIRECT_PREFIX = "AWSLogs/111111111111/CloudTrail/eu-west-1/2024/"

    def expected_local(self, prefix):
        root = self.local_copy([k for k in self.objects if k.startswith(prefix)])
        code, local, _, err = self.scan([root])
        self.assertEqual(code, 0, err)
        self.assertGreater(len(local), 0)
        return canonical(local, root)

    def test_wrong_region_is_followed_once_and_remembered_for_the_bucket(self):
        """The bucket lives in eu-west-1; logsift is configured for us-east-1. s3rver answers
        requests signed for any other region with a 301 PermanentRedirect carrying
        x-amz-bucket-region, or a 400 AuthorizationHeaderMalformed with <Region> in the body.
        logsift re-signs for eu-west-1, and only the first request goes to the wrong region."""
        expect = self.expected_local(self.REDIRECT_PREFIX)
        replies = {
            "301": lambda: s3_error(301, "PermanentRedirect", "<Bucket>%s</Bucket>" % BUCKET,
                                    [("x-amz-bucket-region", "eu-west-1")]),
            "400": lambda: s3_error(400, "AuthorizationHeaderMalformed",
                                    "<Region>eu-west-1</Region>"),
        }
        for style, reply in replies.items():
            with self.subTest(style=style):
                proxy = FrontProxy(self.server.port, lambda path, headers: None
                                   if scope_region(headers) == "eu-west-1" else reply())
                try:
                    code, found, st, err = self.scan(
                        ["--endpoint-url", proxy.url, "--concurrency", "8",
                         "s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX)])
                finally:
                    proxy.stop()
                self.assertEqual(code, 0, err)
                self.assertEqual(st["errors"], 0, err)
                regions = [scope_region(h) for _, h in proxy.requests]
                self.assertEqual(regions.count("us-east-1"), 1, regions)
                self.assertEqual(regions[0], "us-east-1")  # the listing, then all in eu-west-1
                self.assertEqual(len(regions) - 1, 1 + st["inputs"])
                self.assertEqual(canonical(found, "s3://%s/" % BUCKET), expect)

    def test_redirect_without_a_region_asks_the_bucket_with_head(self):
        """A 301 with neither x-amz-bucket-region nor <Region>: logsift asks HEAD on the bucket
        (answered 301 with the header, as S3 does even for a refused HEAD), then moves there."""
        expect = self.expected_local(self.REDIRECT_PREFIX)

        def wrong_region(path, headers):
            if scope_region(headers) == "eu-west-1":
                return None
            return s3_error(301, "PermanentRedirect", "<Bucket>%s</Bucket>" % BUCKET)

        def head(path, headers):
            if scope_region(headers) == "eu-west-1":
                return None
            return 301, [("x-amz-bucket-region", "eu-west-1")], b""

        proxy = FrontProxy(self.server.port, wrong_region, head)
        try:
            code, found, st, err = self.scan(["--endpoint-url", proxy.url,
                                              "s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX)])
        finally:
            proxy.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(st["errors"], 0, err)
        self.assertEqual(canonical(found, "s3://%s/" % BUCKET), expect)
        self.assertEqual(proxy.methods[:3], ["GET", "HEAD", "GET"])
        self.assertEqual(urllib.parse.urlsplit(proxy.requests[1][0]).path, "/%s" % BUCKET)
        self.assertEqual(proxy.methods.count("HEAD"), 1)  # remembered for every other request

    def test_redirect_whose_region_stays_unknown_is_a_clear_error(self):
        proxy = FrontProxy(self.server.port,
                           lambda path, headers: s3_error(301, "PermanentRedirect",
                                                          "<Bucket>%s</Bucket>" % BUCKET),
                           lambda path, headers: (403, [], b""))
        try:
            code, found, st, err = self.scan(["--endpoint-url", proxy.url,
                                              "s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX)])
        finally:
            proxy.stop()
        self.assertEqual(code, 2)
        self.assertEqual(found, [])
        self.assertIn("s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX), err)
        self.assertIn("PermanentRedirect", err)
        self.assertIn("--region", err)
        self.assertEqual(proxy.methods, ["GET", "HEAD"])  # one probe, no blind retries

    def token_env(self, tokens):
        """Credentials from a credential_process that hands out tokens[0], tokens[1], ... (the
        last one again when they run out) and counts its runs in a file."""
        folder = tempfile.mkdtemp(prefix="logsift-creds-", dir=self.server.dir)
        script = os.path.join(folder, "creds.py")
        count = os.path.join(folder, "runs")
        with open(script, "w") as f:
            f.write("import json, os, sys\n"
                    "path = %r\n"
                    "n = int(open(path).read()) if os.path.exists(path) else 0\n"
                    "open(path, 'w').write(str(n + 1))\n"
                    "tokens = %r\n"
                    "print(json.dumps({'Version': 1, 'AccessKeyId': 'S3RVER',\n"
                    "    'SecretAccessKey': 'S3RVER', 'SessionToken': tokens[min(n, len(tokens) - 1)],\n"
                    "    'Expiration': '2099-01-01T00:00:00Z'}))\n" % (count, tokens))
        config = os.path.join(folder, "config")
        with open(config, "w") as f:
            f.write("[profile scanner]\ncredential_process = %s %s\nregion = us-east-1\n" % (
                sys.executable, script))
        env = {k: v for k, v in self.env.items()
               if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        env.update({"AWS_CONFIG_FILE": config, "AWS_PROFILE": "scanner"})
        return env, count

    @staticmethod
    def expire(stale):
        def answer(path, headers):
            token = {k.lower(): v for k, v in headers.items()}.get("x-amz-security-token")
            return s3_error(400, "ExpiredToken") if token in stale else None
        return answer

    def test_expired_token_refreshes_credentials_once_and_loses_nothing(self):
        expect = self.expected_local(self.REDIRECT_PREFIX)
        env, count = self.token_env(["token-1", "token-2"])
        proxy = FrontProxy(self.server.port, self.expire({"token-1"}))
        try:
            code, found, st, err = self.scan(["--endpoint-url", proxy.url, "--concurrency", "8",
                                              "s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX)],
                                             env)
        finally:
            proxy.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(st["errors"], 0, err)
        with open(count) as f:
            self.assertEqual(f.read(), "2")  # the first fetch and one refresh
        self.assertEqual(canonical(found, "s3://%s/" % BUCKET), expect)
        tokens = [{k.lower(): v for k, v in h.items()}.get("x-amz-security-token")
                  for _, h in proxy.requests]
        self.assertEqual(tokens.count("token-1"), 1)

    def test_token_still_expired_after_a_refresh_is_an_auth_error(self):
        env, count = self.token_env(["token-1"])
        proxy = FrontProxy(self.server.port, self.expire({"token-1"}))
        try:
            code, found, _, err = self.scan(["--endpoint-url", proxy.url,
                                             "s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX)], env)
        finally:
            proxy.stop()
        self.assertEqual(code, 2)
        self.assertEqual(found, [])
        self.assertIn("ExpiredToken", err)
        self.assertIn("s3://%s/%s" % (BUCKET, self.REDIRECT_PREFIX), err)
        self.assertNotIn("token-1", err)  # the token never appears
        with open(count) as f:
            self.assertEqual(f.read(), "2")
        self.assertEqual(len(proxy.requests), 2)

    # ---- large objects as byte ranges ----------------------------------------------------------

    def big_objects(self):
        """Two objects far larger than the 1 MiB --part-size used below: about 40 MB of
        CloudTrail documents, plain and gzipped (ranges then cut the deflate stream)."""
        if getattr(self, "_big", None):
            return self._big
        records = []
        for path in sorted(glob.glob(os.path.join(test_s3.STRATUS, "*.json"))):
            with open(path) as f:
                doc = json.load(f)
            records.extend(doc["Records"] if isinstance(doc, dict) else doc)
        chunk = json.dumps({"Records": records}, indent=1).encode() + b"\n"
        plain = chunk * (40_000_000 // len(chunk) + 1)
        big = {"big/2024/08/01/plain.json": plain,
               "big/2024/08/01/packed.json.gz": gzip.compress(plain, compresslevel=1, mtime=0)}
        client = self.server.client()
        for key, body in big.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=body)
            os.makedirs(os.path.join(self.local, os.path.dirname(key)), exist_ok=True)
            with open(os.path.join(self.local, key), "wb") as f:
                f.write(body)
        type(self)._big = big
        self.objects.update(big)  # self.objects mirrors the bucket for every other test
        return big

    # A fresh interpreter starts logsift and reports its peak RSS: a child forked from this
    # (large) test process would count the parent's pages in its own ru_maxrss.
    RSS_RUNNER = ("import os, sys\n"
                  "pid = os.fork()\n"
                  "if pid == 0:\n"
                  "    os.execv(sys.argv[1], sys.argv[1:])\n"
                  "_, status, usage = os.wait4(pid, 0)\n"
                  "print(usage.ru_maxrss, file=sys.stderr)\n"
                  "sys.exit(os.waitstatus_to_exitcode(status))\n")

    def scan_rss(self, args, env=None):
        """Run a scan without output (findings held for --sort would grow with the input);
        return (status, stats, stderr, peak RSS of logsift in KiB)."""
        stats = os.path.join(self.server.dir, "rss-stats.json")
        proc = subprocess.run([sys.executable, "-c", self.RSS_RUNNER, test_s3.LOGSIFT, "scan",
                               "-q", "-o", "none", "--stats-json", stats, *args],
                              capture_output=True, env=env or self.env, timeout=300)
        err = proc.stderr.decode().rstrip().split("\n")
        with open(stats) as f:
            return proc.returncode, json.load(f), "\n".join(err[:-1]), int(err[-1])

    def test_large_objects_are_fetched_as_ranges_in_order(self):
        big = self.big_objects()
        part = 1 << 20
        proxy = FrontProxy(self.server.port, lambda path, headers: None)
        try:
            code, found, st, err = self.scan(["--endpoint-url", proxy.url, "--part-size", "1M",
                                              "--concurrency", "8", "-j", "2",
                                              "s3://%s/big/" % BUCKET])
        finally:
            proxy.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(st["inputs"], 2)
        self.assertEqual(st["errors"], 0, err)
        self.assertEqual(st["bytes"], 2 * len(big["big/2024/08/01/plain.json"]))

        # Every byte requested exactly once, in ranges of the part size, with If-Match.
        for key, body in big.items():
            ranges = []
            for path, headers in proxy.requests:
                h = {k.lower(): v for k, v in headers.items()}
                if urllib.parse.unquote(path.split("?")[0]).endswith(key) and "range" in h:
                    self.assertIn("if-match", h)
                    a, b = map(int, h["range"].split("=")[1].split("-"))
                    ranges.append((a, b))
            self.assertEqual(sorted(ranges), [(a, min(a + part, len(body)) - 1)
                                              for a in range(0, len(body), part)], key)

        # The same findings as the local copy, and as fetching each object whole.
        root = self.local_copy(list(big))
        code_fs, local, _, err_fs = self.scan(["-j", "2", root])
        self.assertEqual(code_fs, 0, err_fs)
        self.assertGreater(len(local), 1000)
        self.assertEqual(canonical(found, "s3://%s/" % BUCKET), canonical(local, root))
        code, whole, _, err = self.scan(["-j", "2", "s3://%s/big/" % BUCKET])
        self.assertEqual(code, 0, err)
        self.assertEqual(canonical(whole, "s3://%s/" % BUCKET), canonical(local, root))

    def test_ranged_object_memory_does_not_grow_with_its_size(self):
        """Peak RSS scanning the 40 MB object as 1 MiB ranges, 8 at a time, stays within the
        ranges' buffers (8 MiB) plus allocator slack of a run over one small object."""
        if os.environ.get("LOGSIFT_SANITIZE"):
            self.skipTest("sanitizer builds keep freed memory in quarantine: RSS says nothing")
        big = self.big_objects()
        code, st, err, rss_big = self.scan_rss(["--part-size", "1M", "--concurrency", "8",
                                                "s3://%s/big/2024/08/01/plain.json" % BUCKET])
        self.assertIn(code, (0, 1), err)
        self.assertEqual(st["bytes"], len(big["big/2024/08/01/plain.json"]))
        _, _, err, rss_small = self.scan_rss(["--part-size", "1M", "--concurrency", "8",
                                              "s3://%s/notes/" % BUCKET])
        print("\npeak RSS: 40 MB object as ranges %d KiB, one small object %d KiB" % (
            rss_big, rss_small), file=sys.stderr)
        self.assertLess(rss_big - rss_small, 8 * 1024 + 8192)


if __name__ == "__main__":
    prog = unittest.main(verbosity=2, exit=False)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and len(result.skipped) >= result.testsRun:
        for _, reason in result.skipped:
            print("test_s3_scale: skipped: %s" % reason, file=sys.stderr)
        sys.exit(77)
