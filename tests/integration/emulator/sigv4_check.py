"""SigV4 verification of incoming requests, using botocore's own signer.

The emulator rebuilds a botocore AWSRequest from what arrived on the wire (method, path, query,
the headers named in SignedHeaders, the exact body bytes), recomputes the signature with
botocore.auth.SigV4Auth for the access key's secret, the credential scope's region and service and
the request's own X-Amz-Date, and compares it with the Authorization header. Failures raise
AuthFailure with a kind that server.py turns into the protocol's real error code (see wire.py).
"""
import datetime
import hashlib
import hmac
import json
import re
import threading
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

# The fixed test key pairs, loaded unless --no-default-credentials. Documented in README.md.
DEFAULT_CREDENTIALS = [
    {"accessKeyId": "AKIAEMULATORTEST0001",
     "secretAccessKey": "emulator/test/secret/0001+wJalrXUtnFEMIK7MDENG"},
    {"accessKeyId": "ASIAEMULATORSESSION1",
     "secretAccessKey": "emulator/session/secret/0001",
     "sessionToken": "emulator-session-token-valid"},
    {"accessKeyId": "ASIAEMULATOREXPIRED1",
     "secretAccessKey": "emulator/session/secret/0002",
     "sessionToken": "emulator-session-token-expired",
     "expired": True},
]

_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)


class AuthFailure(Exception):
    """kind is one of: missing, incomplete, unknown_key, bad_signature, skew, expired_token."""

    def __init__(self, kind, message, access_key=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.access_key = access_key


class AuthInfo:
    def __init__(self, access_key, region, service, amz_date, signed_headers, token):
        self.access_key = access_key
        self.region = region
        self.service = service
        self.amz_date = amz_date
        self.signed_headers = signed_headers
        self.session_token = token


def _parse_expiration(value):
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


class CredentialStore:
    """Known key pairs: accessKeyId -> {secretAccessKey, sessionToken?, expired?, expiration?}."""

    def __init__(self, load_defaults=True):
        self._lock = threading.Lock()
        self._creds = {}
        if load_defaults:
            for entry in DEFAULT_CREDENTIALS:
                self.add(entry)

    def add(self, entry):
        """Add or update one key pair. An entry naming a known key may only change flags."""
        akid = entry.get("accessKeyId")
        if not akid:
            raise ValueError("credential entry needs accessKeyId")
        with self._lock:
            cur = dict(self._creds.get(akid, {}))
            for field in ("secretAccessKey", "sessionToken", "expired", "expiration"):
                if field in entry:
                    cur[field] = entry[field]
            if "secretAccessKey" not in cur:
                raise ValueError(f"credential {akid}: secretAccessKey missing")
            cur["expiration_ts"] = _parse_expiration(cur.get("expiration"))
            self._creds[akid] = cur

    def load_file(self, path):
        with open(path) as f:
            self.load_json(json.load(f))

    def load_json(self, doc):
        entries = doc.get("credentials", []) if isinstance(doc, dict) else doc
        for entry in entries:
            self.add(entry)

    def get(self, akid):
        with self._lock:
            cur = self._creds.get(akid)
            return dict(cur) if cur else None

    def public_list(self):
        """Key ids and flags, never secrets."""
        with self._lock:
            return [{"accessKeyId": k, "hasSessionToken": bool(v.get("sessionToken")),
                     "expired": bool(v.get("expired")), "expiration": v.get("expiration")}
                    for k, v in sorted(self._creds.items())]


def load_store(path=None, env_value=None, load_defaults=True):
    store = CredentialStore(load_defaults)
    if env_value:
        if env_value.lstrip().startswith(("{", "[")):
            store.load_json(json.loads(env_value))
        else:
            store.load_file(env_value)
    if path:
        store.load_file(path)
    return store


class _ExactSigner(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed in SignedHeaders.

    botocore's own headers_to_sign() drops a few names (user-agent, expect, ...) that a client such
    as curl may legitimately sign; AWS verifies whatever SignedHeaders lists, so we do too.
    """

    def __init__(self, credentials, service, region, signed_names):
        super().__init__(credentials, service, region)
        self._signed_names = signed_names

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed_names:
                header_map[name.lower()] = value
        return header_map


def _parse_authorization(value):
    match = _AUTH_RE.match(value.strip())
    if not match:
        raise AuthFailure("incomplete", "Authorization header requires the AWS4-HMAC-SHA256 algorithm "
                          "with 'Credential', 'SignedHeaders' and 'Signature' parameters.")
    parts = {}
    for item in match.group(1).split(","):
        key, _, val = item.strip().partition("=")
        parts[key.strip()] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not parts.get(k)]
    if missing:
        raise AuthFailure("incomplete", " ".join(
            f"Authorization header requires '{k}' parameter." for k in missing)
            + f" Authorization={value}")
    scope = parts["Credential"].split("/")
    if len(scope) != 5:
        raise AuthFailure("incomplete", "Credential should be scoped to a valid region, not "
                          f"'{parts['Credential']}'. ")
    return scope, parts["SignedHeaders"].split(";"), parts["Signature"]


def _fmt(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(AMZ_DATE_FORMAT)


def verify(method, raw_path, headers, body, store, now, max_skew_s):
    """Check one request. headers: list of (name, value) as received. Returns AuthInfo.

    Order of checks follows what AWS reports first: missing/incomplete auth, unknown key or
    invalid token, expired token, signature, then clock skew.
    """
    hdr = {}
    for name, value in headers:
        hdr.setdefault(name.lower(), []).append(value)
    auth_values = hdr.get("authorization")
    if not auth_values:
        raise AuthFailure("missing", "Missing Authentication Token")
    scope, signed_names, signature = _parse_authorization(auth_values[0])
    akid, scope_date, region, service, terminator = scope
    if terminator != "aws4_request":
        raise AuthFailure("incomplete", f"Credential should be scoped with a valid terminator: "
                          f"'aws4_request', not '{terminator}'.", akid)
    amz_date = (hdr.get("x-amz-date") or [None])[0]
    if not amz_date:
        raise AuthFailure("incomplete", "Authorization header requires existence of either a "
                          "'X-Amz-Date' or a 'Date' header.", akid)
    try:
        req_time = datetime.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise AuthFailure("incomplete", f"X-Amz-Date '{amz_date}' is not in ISO-8601 basic format "
                          "YYYYMMDD'T'HHMMSS'Z'.", akid)
    if "host" not in signed_names:
        raise AuthFailure("incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                          "Authorization.", akid)

    cred = store.get(akid)
    if cred is None:
        raise AuthFailure("unknown_key", "The security token included in the request is invalid.", akid)
    token = (hdr.get("x-amz-security-token") or [None])[0]
    if (cred.get("sessionToken") or None) != (token or None):
        raise AuthFailure("unknown_key", "The security token included in the request is invalid.", akid)
    if cred.get("expired") or (cred.get("expiration_ts") is not None and cred["expiration_ts"] <= now):
        raise AuthFailure("expired_token", "The security token included in the request is expired", akid)

    if scope_date != amz_date[:8]:
        raise AuthFailure("bad_signature", "Date in Credential scope does not match YYYYMMDD from "
                          f"ISO-8601 version of date from HTTP: '{scope_date}' != '{amz_date[:8]}', "
                          f"from '{amz_date}'.", akid)
    missing = [n for n in signed_names if n not in hdr]
    if missing:
        raise AuthFailure("bad_signature", "The request signature we calculated does not match the "
                          "signature you provided: signed header(s) not present in the request: "
                          + ", ".join(missing), akid)

    path, _, query = raw_path.partition("?")
    params = []
    if query:
        for pair in query.split("&"):
            key, _, val = pair.partition("=")
            params.append((unquote(key), unquote(val)))
    request = AWSRequest(method=method, url="http://" + hdr["host"][0] + path, data=body,
                         params=params)
    for name, value in headers:
        if name.lower() in signed_names:
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    signer = _ExactSigner(Credentials(akid, cred["secretAccessKey"], token), service, region,
                          set(signed_names))
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, signature):
        raise AuthFailure("bad_signature", "The request signature we calculated does not match the "
                          "signature you provided. Check your AWS Secret Access Key and signing method. "
                          "Consult the service documentation for details.\n\nThe Canonical String for "
                          f"this request should have been\n'{canonical}'\n\nThe String-to-Sign should "
                          f"have been\n'{string_to_sign}'\n", akid)
    declared = (hdr.get("x-amz-content-sha256") or [None])[0]
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        raise AuthFailure("bad_signature", "The provided 'x-amz-content-sha256' header does not match "
                          "what was computed.", akid)

    if req_time < now - max_skew_s:
        raise AuthFailure("skew", f"Signature expired: {amz_date} is now earlier than "
                          f"{_fmt(now - max_skew_s)} ({_fmt(now)} - {max_skew_s // 60} min.)", akid)
    if req_time > now + max_skew_s:
        raise AuthFailure("skew", f"Signature not yet current: {amz_date} is still later than "
                          f"{_fmt(now + max_skew_s)} ({_fmt(now)} + {max_skew_s // 60} min.)", akid)
    return AuthInfo(akid, region, service, amz_date, signed_names, token)
