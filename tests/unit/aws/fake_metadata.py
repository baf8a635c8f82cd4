#!/usr/bin/env python3
"""A tiny stand-in for the AWS credential endpoints, for fetch/aws unit tests.

Serves on 127.0.0.1 at a free port, printed as "PORT <n>" on stdout. Exits when
stdin reaches end of file, so it dies with the test that started it, even if
that test crashes.

Endpoints (wire formats from shared/spec/aws-facts.md 2.4-2.6):
  PUT  /latest/api/token                          IMDSv2 session token
  GET  /latest/meta-data/iam/security-credentials/[ROLE]
  GET  /container/...                             ECS/EKS container credentials
  POST /                                          STS AssumeRoleWithWebIdentity (form body)
Control (for the tests):
  POST /__config   JSON object merged into the settings below
  GET  /__log      every request so far: method, path, headers (lower-case), body
  POST /__reset    settings back to defaults, log and counters cleared

Every credential answer hands out a new access key id (ASIAIMDS0001, ...), so a
test can tell a refresh from a cached value.
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "secret": "fakeSecretKey/ABCDEFGHIJKLMNOPQRSTUVWXYZ01",
    "token": "FakeSessionToken+EXAMPLE/=",
    "expiration": "2030-01-01T00:00:00Z",
    # IMDS
    "imds_token_status": 200,   # 404/403/405: no IMDSv2 (client falls back to v1); 400: give up
    "imds_v1_allowed": True,    # answer requests without a token
    "imds_role": "logsift-role",
    "imds_creds_status": 200,
    "imds_body": None,          # a raw body instead of the credential JSON
    # container
    "container_auth": "Bearer test-container-token",  # None: no Authorization required
    "container_fail_times": 0,
    "container_fail_status": 500,
    # STS
    "sts_error": None,          # e.g. "InvalidIdentityToken"
    "sts_error_status": 400,
    "sts_fail_times": -1,       # with sts_error: fail this many times, then succeed (<0: always)
}

lock = threading.Lock()
state = {"cfg": dict(DEFAULTS), "log": [], "tokens": set(), "n": {}}


def next_id(kind):
    state["n"][kind] = state["n"].get(kind, 0) + 1
    return "ASIA%s%04d" % (kind, state["n"][kind])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-%d" % len(state["log"]))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = self.path
        with lock:
            if not path.startswith("/__"):
                state["log"].append({
                    "method": self.command, "path": path, "body": body,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                })
            status, text, ctype = self.route(path, body)
        self.reply(status, text, ctype)

    do_GET = do_PUT = do_POST = handle_any

    def route(self, path, body):
        cfg = state["cfg"]
        if path == "/__config":
            cfg.update(json.loads(body))
            if cfg.pop("imds_revoke_tokens", False):
                state["tokens"].clear()
            return 200, "{}", "application/json"
        if path == "/__log":
            return 200, json.dumps(state["log"]), "application/json"
        if path == "/__reset":
            state.update({"cfg": dict(DEFAULTS), "log": [], "tokens": set(), "n": {}})
            return 200, "{}", "application/json"
        if path == "/latest/api/token":
            return self.imds_token(cfg)
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            return self.imds_creds(cfg, path[len("/latest/meta-data/iam/security-credentials/"):])
        if path.startswith("/container"):
            return self.container(cfg)
        if path == "/" and self.command == "POST":
            return self.sts(cfg, body)
        return 404, "not found", "text/plain"

    def imds_token(self, cfg):
        if self.command != "PUT" or "x-aws-ec2-metadata-token-ttl-seconds" not in {
                k.lower() for k in self.headers.keys()}:
            return 400, "", "text/plain"
        if cfg["imds_token_status"] != 200:
            return cfg["imds_token_status"], "", "text/plain"
        token = "imds-token-%d" % (len(state["tokens"]) + len(state["log"]))
        state["tokens"].add(token)
        return 200, token, "text/plain"

    def imds_creds(self, cfg, role):
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is not None and token not in state["tokens"]:
            return 401, "", "text/plain"
        if token is None and not cfg["imds_v1_allowed"]:
            return 401, "", "text/plain"
        if role == "":
            return 200, cfg["imds_role"], "text/plain"
        if role != cfg["imds_role"]:
            return 404, "", "text/plain"
        if cfg["imds_creds_status"] != 200:
            return cfg["imds_creds_status"], "", "text/plain"
        if cfg["imds_body"] is not None:
            return 200, cfg["imds_body"], "text/plain"
        return 200, json.dumps({
            "Code": "Success", "LastUpdated": "2024-01-15T12:00:00Z", "Type": "AWS-HMAC",
            "AccessKeyId": next_id("IMDS"), "SecretAccessKey": cfg["secret"],
            "Token": cfg["token"], "Expiration": cfg["expiration"],
        }), "text/plain"

    def container(self, cfg):
        if cfg["container_fail_times"] > 0:
            cfg["container_fail_times"] -= 1
            return cfg["container_fail_status"], "agent unavailable", "text/plain"
        if cfg["container_auth"] is not None and \
                self.headers.get("Authorization") != cfg["container_auth"]:
            return 403, '{"message": "bad token"}', "application/json"
        return 200, json.dumps({
            "AccessKeyId": next_id("CONT"), "SecretAccessKey": cfg["secret"],
            "Token": cfg["token"], "Expiration": cfg["expiration"],
            "RoleArn": "arn:aws:iam::111122223333:role/task",
        }), "application/json"

    def sts(self, cfg, body):
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        if form.get("Action") != ["AssumeRoleWithWebIdentity"] or \
                form.get("Version") != ["2011-06-15"] or "RoleArn" not in form or \
                "RoleSessionName" not in form or "WebIdentityToken" not in form:
            return 400, error_xml("MissingParameter", "bad form"), "text/xml"
        if cfg["sts_error"] and cfg["sts_fail_times"] != 0:
            if cfg["sts_fail_times"] > 0:
                cfg["sts_fail_times"] -= 1
            return cfg["sts_error_status"], error_xml(cfg["sts_error"], "Token rejected"), \
                "text/xml"
        return 200, """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>%s/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <SessionToken>%s</SessionToken>
      <SecretAccessKey>%s</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>%s</AccessKeyId>
    </Credentials>
    <Provider>oidc.example.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>sts-req-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>""" % (form["RoleArn"][0], cfg["token"], cfg["secret"],
                                           cfg["expiration"], next_id("STS")), "text/xml"


def error_xml(code, message):
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            '<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>'
            '<RequestId>err-req-1</RequestId></ErrorResponse>' % (code, message))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    sys.stdin.read()  # returns at EOF: the test closed the pipe or died
    server.shutdown()


if __name__ == "__main__":
    main()
