#!/usr/bin/env python3
"""Sign random requests with botocore's own signers and print them as JSON.

test_aws_botocore.c signs the same requests with aws_sigv4_sign and compares the
Authorization headers byte for byte. botocore is the reference the AWS CLI uses:
SigV4Auth for every service but S3, S3SigV4Auth for S3 (unnormalised path,
x-amz-content-sha256 always sent).

The requests are built to hit the rules that differ between signers: paths with
spaces, reserved characters, UTF-8, empty and dot segments; repeated query names,
empty values, reserved characters and UTF-8 in the query; headers with repeated
names in mixed case, runs of spaces and tabs, empty values and headers botocore
never signs; bodies, session tokens and UNSIGNED-PAYLOAD.

Headers that botocore 1.29 (Debian 12) signs but later versions do not
(connection, keep-alive, te, ...) are left out: logsift follows the later list.

Usage: botocore_sign.py [--count N] [--seed S]; exits 3 when botocore is missing.
"""
import argparse
import datetime
import json
import random
import sys
from urllib.parse import quote

try:
    import botocore
    import botocore.auth
    import botocore.awsrequest
    import botocore.config
    import botocore.credentials
except ImportError:
    print("botocore is not installed (Debian: apt-get install python3-botocore)", file=sys.stderr)
    sys.exit(3)

SEGMENT_CHARS = (
    "abcXYZ019-_.~ !$&'()*+,;=:@%?#[]"
    + "\u00fc\u00e9\u65e5\u672c\u20ac\U0001F600"
)
QUERY_CHARS = "abcXYZ019-_.~ /+=&%?#:\u00fc\u65e5\U0001F600"
HEADER_VALUE_CHARS = "abcXYZ019-_.~/+=;,:()\"'!*&%@"
HEADER_NAMES = [
    "X-Custom", "x-custom", "X-CUSTOM", "Content-Type", "Range", "X-Amz-Target",
    "x-amz-meta-owner", "X-Amz-Meta-Owner", "x-amz-expected-bucket-owner", "Accept",
    "If-None-Match", "X-A", "X-A-B", "x-amz-checksum-mode",
    "User-Agent", "Expect", "X-Amzn-Trace-Id",  # never signed
]
SERVICES = ["s3", "s3", "s3", "logs", "sns", "monitoring", "sts", "cloudtrail", "service"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
HOSTS = [
    "examplebucket.s3.eu-west-1.amazonaws.com", "s3.us-east-1.amazonaws.com",
    "logs.us-east-1.amazonaws.com", "127.0.0.1:4568", "localhost:9000",
    "Mixed.Case.Example.COM", "[::1]:8443", "example.amazonaws.com:443",
]


def rand_text(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def rand_path(rng):
    segments = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        if kind < 0.1:
            segments.append("")
        elif kind < 0.2:
            segments.append(rng.choice([".", ".."]))
        else:
            segments.append(rand_text(rng, SEGMENT_CHARS, 1, 8))
    # Most clients encode everything but unreserved characters; some leave sub-delims as is.
    safe = "~" if rng.random() < 0.7 else "~!$'()*,;:@=+&"
    path = "/" + "/".join(quote(s, safe=safe) for s in segments)
    if segments and rng.random() < 0.3:
        path += "/"
    return path


def rand_header_value(rng):
    pieces = [rand_text(rng, HEADER_VALUE_CHARS, 0, 6) for _ in range(rng.randint(0, 3))]
    seps = [" ", "  ", "\t", " \t  "]
    value = ""
    for p in pieces:
        value += rng.choice(seps) if value and rng.random() < 0.7 else ""
        value += p
    if rng.random() < 0.4:
        value = rng.choice(seps) + value
    if rng.random() < 0.4:
        value += rng.choice(seps)
    return value


def fixed_clock(when):
    """Make botocore's signers see `when` as now (1.29 calls datetime.utcnow, later
    versions botocore.compat.get_current_datetime)."""
    if hasattr(botocore.auth, "get_current_datetime"):
        botocore.auth.get_current_datetime = lambda remove_tzinfo=True: when
    else:
        class _DT(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return when

        class _Mod:
            datetime = _DT

        botocore.auth.datetime = _Mod


def one_case(rng):
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    method = rng.choice(["GET", "GET", "HEAD", "POST", "PUT", "DELETE"])
    scheme = rng.choice(["https", "https", "http"])
    host = rng.choice(HOSTS)
    path = rand_path(rng)
    params = []
    for _ in range(rng.randint(0, 6)):
        if params and rng.random() < 0.3:
            name = rng.choice(params)[0]  # a repeated name
        else:
            name = rand_text(rng, QUERY_CHARS, 1, 6)
        value = "" if rng.random() < 0.2 else rand_text(rng, QUERY_CHARS, 1, 8)
        params.append([name, value])
    headers = []
    for _ in range(rng.randint(0, 5)):
        headers.append([rng.choice(HEADER_NAMES), rand_header_value(rng)])
    body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 0, 1, 17, 130, 300])))
    token = None
    if rng.random() < 0.5:
        token = rand_text(rng, "ABCDEFabcdef0123456789+/=", 20, 60)
    unsigned = rng.random() < 0.2
    when = datetime.datetime(2015, 1, 1) + datetime.timedelta(
        seconds=rng.randint(0, 20 * 365 * 86400))

    creds = botocore.credentials.Credentials(
        "AKID" + rand_text(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16),
        rand_text(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/", 40, 40),
        token)
    url = f"{scheme}://{host}{path}"
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body,
                                             params=list(map(tuple, params)))
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay
    if service == "s3":
        signer = botocore.auth.S3SigV4Auth(creds, service, region)
        if unsigned:
            request.context["client_config"] = botocore.config.Config(
                s3={"payload_signing_enabled": False})
    else:
        signer = botocore.auth.SigV4Auth(creds, service, region)
        if unsigned:
            request.context["payload_signing_enabled"] = False
    fixed_clock(when)
    signer.add_auth(request)
    return {
        "method": method,
        "host": botocore.auth._host_from_url(url),
        "path": path,
        "params": params,
        "headers": headers,
        "body_hex": body.hex(),
        "service": service,
        "region": region,
        "time": int((when - datetime.datetime(1970, 1, 1)).total_seconds()),
        "access_key_id": creds.access_key,
        "secret_access_key": creds.secret_key,
        "session_token": token or "",
        "unsigned": unsigned,
        "authorization": request.headers["Authorization"],
        "content_sha256": request.headers.get("X-Amz-Content-SHA256", ""),
        "canonical_request": signer.canonical_request(request),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20240115)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [one_case(rng) for _ in range(args.count)]
    json.dump({"botocore": botocore.__version__, "seed": args.seed, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
