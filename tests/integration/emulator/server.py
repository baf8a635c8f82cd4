"""HTTP front end: classify each request (service, protocol, operation), verify its SigV4
signature, apply quotas and injected faults, run the operation, answer in the protocol's format.
Paths under /_emulator/ are the unsigned inspection and control API for tests (not AWS).
"""
import collections
import datetime
import gzip
import io
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import sigv4_check
from cloudtrail import CloudTrailService
from faults import FaultTable
from logs import LogsService
from metrics import MAX_PAYLOAD_BYTES, MetricsService, cw_error
from sns import SnsService
from wire import (JSON10, JSON11, ApiError, Response, generic_error, internal_error, json_response,
                  new_request_id, render_error)

TARGET_PREFIXES = {
    "Logs_20140328": ("logs", "json11", JSON11),
    "GraniteServiceVersion20100801": ("monitoring", "json10q", JSON10),
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101": ("cloudtrail", "json11", JSON11),
}
QUERY_VERSIONS = {"2010-03-31": "sns", "2010-08-01": "monitoring"}
# Default per-account TPS quotas (aws-facts.md 4.4), applied only when quotas are switched on.
AWS_DEFAULT_TPS = {"FilterLogEvents": 5, "GetLogEvents": 10, "DescribeLogGroups": 5,
                   "DescribeLogStreams": 5}
MAX_RECORDED_REQUESTS = 20000


class Ctx:
    """Per-request facts the services need."""

    def __init__(self, request_id, region, access_key):
        self.request_id = request_id
        self.region = region
        self.access_key = access_key
        self.now = time.time()
        self.now_ms = int(self.now * 1000)
        self.now_iso = datetime.datetime.fromtimestamp(
            self.now, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Emulator:
    """All state; shared by the handler threads."""

    def __init__(self, opts, creds):
        self.opts = opts
        self.creds = creds
        self.logs = LogsService(opts.account_id, not opts.no_time_limits)
        self.sns = SnsService(opts.account_id, opts.sns_dedup_seconds, opts.auto_create_topics)
        self.metrics = MetricsService(not opts.no_time_limits)
        self.cloudtrail = CloudTrailService()
        self.faults = FaultTable()
        self.lock = threading.Lock()
        self.requests = collections.deque(maxlen=MAX_RECORDED_REQUESTS)
        self.request_counter = 0
        self.tps = dict(AWS_DEFAULT_TPS) if opts.aws_quotas else {}
        self.tps_window = collections.defaultdict(collections.deque)

    def reset(self):
        self.logs.reset()
        self.sns.reset()
        self.metrics.reset()
        self.cloudtrail.reset()
        self.faults.clear()
        with self.lock:
            self.requests.clear()
            self.tps = dict(AWS_DEFAULT_TPS) if self.opts.aws_quotas else {}
            self.tps_window.clear()

    def over_quota(self, operation):
        """Sliding one-second window per operation, like the per-account TPS quotas."""
        with self.lock:
            limit = self.tps.get(operation)
            if not limit:
                return False
            window = self.tps_window[operation]
            now = time.monotonic()
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return True
            window.append(now)
            return False

    def arrival(self):
        """The next request number, taken when a request arrives: the log is in arrival
        order even when two requests (a retry racing a reset) finish the other way round."""
        with self.lock:
            self.request_counter += 1
            return self.request_counter

    def record(self, rec):
        with self.lock:
            self.requests.append(rec)
        if not self.opts.quiet:
            print(f"{rec['time']} {rec['requestId'][:8]} {rec.get('service')}.{rec.get('operation')} "
                  f"key={rec.get('accessKeyId')} region={rec.get('region')} "
                  f"sig={'ok' if rec['verified'] else 'REJECTED'} status={rec['status']}"
                  + (f" error={rec['error']}" if rec.get("error") else "")
                  + (f" fault={rec['fault']}" if rec.get("fault") else ""), file=sys.stderr, flush=True)


class _Abort(Exception):
    """Raised to end a request without a (complete) response."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "logsift-aws-emulator"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # the emulator logs each request itself
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    # -- transport --

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, resp):
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _send_truncated(self, resp):
        """Headers promise the whole body; half of it is sent, then the connection closes."""
        body = resp.body
        declared = len(body) if len(body) >= 2 else len(body) + 64
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _drop(self, hard):
        """No response at all: RST (hard, SO_LINGER 0) or an orderly close."""
        self.close_connection = True
        if hard:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()          # drops the last reference, so close() really closes
            self.connection.close()
            self.wfile = io.BytesIO()   # http.server flushes wfile after every request

    # -- main path --

    def _handle(self):
        started = time.monotonic()
        emu = self.server.emu
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if self.path.startswith("/_emulator"):
            return self._control(raw)
        rid = new_request_id()
        rec = {"id": emu.arrival(), "requestId": rid, "method": self.command, "path": self.path,
               "verified": False, "status": None, "error": None, "fault": None,
               "time": Ctx(rid, None, None).now_iso}
        try:
            resp = self._aws(raw, rid, rec)
        except _Abort:
            resp = None
        rec["durationMs"] = round((time.monotonic() - started) * 1000, 1)
        if resp is not None:
            rec["status"] = resp.status
        # Logged before the reply leaves: a client that reads /_emulator/requests right after
        # its answer must find its own request there.
        emu.record(rec)
        if resp is not None:
            try:
                self._send(resp)
            except OSError:
                self.close_connection = True

    def _classify(self, raw, headers):
        """-> (service, protocol, operation, target, form params or None, decoded body)."""
        body = raw
        if self.headers.get("Content-Encoding", "").lower() == "gzip" and raw:
            try:
                body = gzip.decompress(raw)
            except OSError:
                raise ApiError("InvalidParameterValue", "The request body is not valid gzip data.")
        target = self.headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.rpartition(".")
            if prefix not in TARGET_PREFIXES:
                raise ApiError("UnknownOperationException", f"Unknown X-Amz-Target {target}")
            service, protocol, ctype = TARGET_PREFIXES[prefix]
            if not self.headers.get("Content-Type", "").startswith(ctype):
                raise ApiError("UnknownOperationException", f"Content-Type must be {ctype} for "
                               f"{target} (got '{self.headers.get('Content-Type', '')}')")
            return service, protocol, operation, target, None, body
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        service = QUERY_VERSIONS.get(params.get("Version"))
        if service is None:
            auth = self.headers.get("Authorization", "")
            scope = auth.split("Credential=", 1)[1].split(",")[0].split("/") if "Credential=" in auth else []
            service = scope[3] if len(scope) == 5 and scope[3] in ("sns", "monitoring") else "sns"
        return service, "query", params.get("Action", ""), None, params, body

    def _aws(self, raw, rid, rec):
        emu = self.server.emu
        headers = list(self.headers.items())
        try:
            service, protocol, operation, target, params, body = self._classify(raw, headers)
        except ApiError as err:
            rec["error"] = err.code
            return render_error(err, "json11" if self.headers.get("X-Amz-Target") else "query",
                                "sns", rid)
        rec.update(service=service, protocol=protocol, operation=operation, target=target)
        if protocol == "query" and not operation:
            err = ApiError("MissingAction", "Request is missing Action parameter")
            rec["error"] = err.code
            return render_error(err, protocol, service, rid)

        try:
            info = sigv4_check.verify(self.command, self.path, headers, raw, emu.creds, time.time(),
                                      emu.opts.max_skew_seconds)
        except sigv4_check.AuthFailure as failure:
            rec.update(accessKeyId=failure.access_key, error=None)
            err = generic_error(failure.kind, protocol, failure.message)
            rec["error"] = err.code
            return render_error(err, protocol, service, rid)
        rec.update(accessKeyId=info.access_key, region=info.region, verified=True)
        if info.service != service:
            err = generic_error("bad_signature", protocol,
                                f"Credential should be scoped to correct service: '{service}'. ")
            rec.update(verified=False, error=err.code)
            return render_error(err, protocol, service, rid)

        ctx = Ctx(rid, info.region, info.access_key)
        if emu.over_quota(operation):
            err = generic_error("throttle", protocol)
            rec["error"] = err.code
            return render_error(err, protocol, service, rid)

        fault_info = {"service": service, "operation": operation, "target": target,
                      "action": operation if protocol == "query" else None,
                      "accessKeyId": info.access_key}
        rule = emu.faults.take(fault_info)

        def execute():
            try:
                return self._execute(service, protocol, operation, params, body, raw, ctx)
            except ApiError as err:
                return render_error(err, protocol, service, rid)

        if rule is None:
            resp = execute()
            rec["error"] = _error_code(resp)
            return resp
        rec["fault"] = rule.fault
        if rule.fault == "slow":
            if rule.when == "after":
                resp = execute()
                time.sleep(rule.delay_ms / 1000)
            else:
                time.sleep(rule.delay_ms / 1000)
                resp = execute()
            rec["error"] = _error_code(resp)
            return resp
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000)
        if rule.fault == "truncate":
            resp = execute()
            rec["status"] = resp.status
            self._send_truncated(resp)
            raise _Abort()
        if rule.fault in ("reset", "close"):
            if rule.when == "after":
                execute()
            self._drop(hard=rule.fault == "reset")
            raise _Abort()
        if rule.fault == "empty-page":
            if operation != "FilterLogEvents":
                return execute()
            try:
                doc = emu.logs.empty_filter_page(self._json_params(body))
            except ApiError as err:
                return render_error(err, protocol, service, rid)
            return json_response(doc, protocol, rid)
        if rule.when == "after":
            execute()
        if rule.fault == "throttle":
            err = generic_error("throttle", protocol)
        elif rule.fault == "500":
            err = internal_error(service, protocol)
        elif rule.fault == "503-slowdown":
            err = generic_error("slowdown", protocol)
        elif rule.fault == "expired":
            err = generic_error("expired_token", protocol)
        else:
            err = ApiError(rule.code, rule.message, rule.status, sender=rule.status < 500)
        rec["error"] = err.code
        return render_error(err, protocol, service, rid)

    @staticmethod
    def _json_params(body):
        if not body.strip():
            return {}
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ApiError("SerializationException", f"Request body is not valid JSON: {exc}")
        if not isinstance(doc, dict):
            raise ApiError("SerializationException", "Request body must be a JSON object")
        return doc

    def _execute(self, service, protocol, operation, params, body, raw, ctx):
        emu = self.server.emu
        if service == "logs":
            return json_response(emu.logs.handle(operation, self._json_params(body), ctx),
                                 protocol, ctx.request_id)
        if service == "sns":
            return emu.sns.handle(operation, params, ctx)
        if service == "cloudtrail":
            return json_response(emu.cloudtrail.handle(operation, self._json_params(body), ctx),
                                 protocol, ctx.request_id)
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise cw_error("RequestEntityTooLarge", f"Request size {len(raw)} exceeded "
                           f"{MAX_PAYLOAD_BYTES} bytes", protocol, status=413)
        if protocol == "json10q":
            params = self._json_params(body)
        return emu.metrics.handle(operation, params, ctx, protocol)

    # -- /_emulator control and inspection API --

    def _control(self, raw):
        emu = self.server.emu
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        method = self.command
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self._json(400, {"error": "body is not valid JSON"})
        try:
            if path == "/_emulator/health":
                return self._json(200, {"ok": True, "port": self.server.server_address[1]})
            if path == "/_emulator/reset" and method == "POST":
                emu.reset()
                return self._json(200, {"reset": True})
            if path == "/_emulator/requests":
                since = int(query.get("since", 0))
                with emu.lock:
                    recs = sorted((r for r in emu.requests if r["id"] > since),
                                  key=lambda r: r["id"])
                return self._json(200, {"requests": recs})
            if path == "/_emulator/sns/messages":
                return self._json(200, {"messages": emu.sns.list_messages(query.get("topicArn"))})
            if path == "/_emulator/sns/topics":
                return self._json(200, {"topics": emu.sns.list_topics()})
            if path == "/_emulator/metrics":
                return self._json(200, {"datums": emu.metrics.list_datums(query.get("namespace"))})
            if path == "/_emulator/logs":
                return self._json(200, emu.logs.snapshot())
            if path == "/_emulator/logs/events" and method == "POST":
                return self._json(200, emu.logs.seed(doc, Ctx("seed", query.get("region", "us-east-1"), None)))
            if path == "/_emulator/logs/events":
                events = emu.logs.dump_events(query.get("logGroupName"), query.get("logStreamName"))
                if events is None:
                    return self._json(404, {"error": "no such log group/stream"})
                return self._json(200, {"events": events})
            if path == "/_emulator/faults":
                if method == "POST":
                    emu.faults.set(doc)
                elif method == "DELETE":
                    emu.faults.clear()
                return self._json(200, {"rules": emu.faults.describe()})
            if path == "/_emulator/quotas":
                if method == "POST":
                    tps = doc.get("tps", {})
                    with emu.lock:
                        emu.tps = dict(AWS_DEFAULT_TPS) if tps == "aws" else {k: float(v) for k, v in tps.items()}
                        emu.tps_window.clear()
                with emu.lock:
                    return self._json(200, {"tps": emu.tps})
            if path == "/_emulator/cloudtrail/public-keys" and method == "POST":
                return self._json(200, emu.cloudtrail.set_keys(doc))
            if path == "/_emulator/credentials":
                if method == "POST":
                    emu.creds.load_json(doc)
                return self._json(200, {"credentials": emu.creds.public_list()})
        except (ValueError, KeyError, TypeError) as exc:
            return self._json(400, {"error": str(exc)})
        return self._json(404, {"error": f"unknown emulator endpoint {method} {url.path}"})

    def _json(self, status, doc):
        self._send(Response(status, json.dumps(doc, indent=1), "application/json"))


def _error_code(resp):
    if resp.status < 300:
        return None
    try:
        if resp.content_type == "text/xml":
            text = resp.body.decode()
            return text.split("<Code>", 1)[1].split("</Code>", 1)[0]
        return json.loads(resp.body).get("__type", "").split("#")[-1]
    except (IndexError, ValueError, AttributeError):
        return str(resp.status)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emu):
        super().__init__(address, Handler)
        self.emu = emu
