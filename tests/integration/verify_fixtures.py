"""CloudTrail integrity fixtures built the way AWS builds them (shared/spec/aws-facts.md 7.8).

A trail "demo" of account 111122223333 in us-east-1 delivers one digest per hour from
2024-01-15T10:00Z to 14:00Z (d1 starting, no logs; d2..d4 each listing one log file). Digests are
compact JSON, gzipped (mtime 0), signed RSASSA-PKCS1-v1_5/SHA-256 over the 7.4 data-to-sign with
a key pair made by `openssl genpkey` for the run. Everything but the key (so the signatures) is
byte-identical from run to run.

build(root, scenario, keys) writes a bucket copy under root and returns the objects with their
metadata (for S3 uploads) and sidecars (for local copies). Scenarios, one per outcome:
  valid, tampered_log, edited_digest, deleted_digest, two_deleted_digests, moved_digest,
  unknown_fingerprint, truncated_gzip, unlisted_log
"""
import base64
import gzip
import hashlib
import json
import os
import subprocess

BUCKET = "demo-trail-bucket"
ACCOUNT = "111122223333"
REGION = "us-east-1"
TRAIL = "demo"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
LOG1 = (
    '{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333",'
    '"arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-01-15T11:01:02Z",'
    '"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",'
    '"sourceIPAddress":"203.0.113.7","userAgent":"Mozilla/5.0","requestParameters":null,'
    '"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":'
    '"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"No"},'
    '"eventID":"00000000-0000-4000-8000-000000000001","readOnly":false,"eventType":"AwsConsoleSignIn",'
    '"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}]}')
LOG1_SHA256 = "10c7449da8256a9379d9fd61539759eca2de6ec05fff756c4dc7c714c5277efd"  # 7.8 step 2

SCENARIOS = ("valid", "tampered_log", "edited_digest", "deleted_digest", "two_deleted_digests",
             "moved_digest", "unknown_fingerprint", "truncated_gzip", "unlisted_log")


class KeyPair:
    """An RSA-2048 key pair made with openssl; fingerprint = MD5 of the PKCS#1 DER (7.5)."""

    def __init__(self, folder, name):
        self.priv = os.path.join(folder, f"{name}.pem")
        self.pub_pem = os.path.join(folder, f"{name}.pub.pem")
        self.pub_der = os.path.join(folder, f"{name}.pub.der")
        run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)
        run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", self.priv)
        run("rsa", "-in", self.priv, "-RSAPublicKey_out", "-outform", "DER", "-out", self.pub_der)
        run("rsa", "-in", self.priv, "-pubout", "-out", self.pub_pem)
        with open(self.pub_der, "rb") as f:
            self.der = f.read()
        self.fingerprint = hashlib.md5(self.der).hexdigest()
        self.value = base64.b64encode(self.der).decode()

    def sign(self, data):
        proc = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.priv], input=data,
                              check=True, capture_output=True)
        return proc.stdout.hex()


def log_key(hour, unique):
    return (f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/01/15/"
            f"{ACCOUNT}_CloudTrail_{REGION}_20240115T{hour:02d}05Z_{unique}.json.gz")


def digest_key(end_hour, day=15):
    return (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2024/01/{day:02d}/"
            f"{ACCOUNT}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_202401{day:02d}T{end_hour:02d}0000Z.json.gz")


def log_body(hour):
    """Hour 11 is the 7.8 log itself; later hours the same record with another time and id."""
    if hour == 11:
        return LOG1.encode()
    return (LOG1.replace("2024-01-15T11:01:02Z", f"2024-01-15T{hour:02d}:01:02Z")
            .replace("000000000001", f"0000000000{hour:02d}")).encode()


def build(root, scenario, keys, other_key):
    """Write the bucket copy for scenario under root. Returns {key: {"body", "metadata"}}."""
    assert scenario in SCENARIOS, scenario
    objects = {}
    logs = {}
    for hour, unique in ((11, "Ab12Cd34Ef56Gh78"), (12, "Bc23De45Fg67Hi89"), (13, "Cd34Ef56Gh78Ij90")):
        plain = log_body(hour)
        logs[hour] = (log_key(hour, unique), plain)
        objects[log_key(hour, unique)] = {"body": gzip.compress(plain, mtime=0), "metadata": {}}

    prev = None
    for end in (11, 12, 13, 14):
        key = digest_key(end)
        listed = [] if end == 11 else [logs[end - 1]]
        doc = {
            "awsAccountId": ACCOUNT,
            "digestStartTime": f"2024-01-15T{end - 1:02d}:00:00Z",
            "digestEndTime": f"2024-01-15T{end:02d}:00:00Z",
            "digestS3Bucket": BUCKET,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": keys.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": f"2024-01-15T{end - 1:02d}:01:02Z" if listed else None,
            "oldestEventTime": f"2024-01-15T{end - 1:02d}:01:02Z" if listed else None,
            "previousDigestS3Bucket": BUCKET if prev else None,
            "previousDigestS3Object": prev["key"] if prev else None,
            "previousDigestHashValue": prev["sha256"] if prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev["signature"] if prev else None,
            "logFiles": [{"s3Bucket": BUCKET, "s3Object": k, "hashValue": hashlib.sha256(p).hexdigest(),
                          "hashAlgorithm": "SHA-256",
                          "newestEventTime": f"2024-01-15T{end - 1:02d}:01:02Z",
                          "oldestEventTime": f"2024-01-15T{end - 1:02d}:01:02Z"} for k, p in listed],
        }
        signer = keys
        if scenario == "unknown_fingerprint" and end == 14:
            signer = other_key
            doc["digestPublicKeyFingerprint"] = other_key.fingerprint
        raw = json.dumps(doc, separators=(",", ":")).encode()
        sha = hashlib.sha256(raw).hexdigest()
        to_sign = "\n".join([doc["digestEndTime"], f"{BUCKET}/{key}", sha,
                             prev["signature"] if prev else "null"]).encode()
        signature = signer.sign(to_sign)
        objects[key] = {"body": gzip.compress(raw, mtime=0),
                        "metadata": {"signature": signature, "signature-algorithm": "SHA256withRSA"}}
        prev = {"key": key, "sha256": sha, "signature": signature}

    if scenario == "tampered_log":
        key, plain = logs[12]
        objects[key]["body"] = gzip.compress(plain.replace(b"203.0.113.7", b"198.51.100.9"), mtime=0)
    elif scenario == "edited_digest":
        key = digest_key(13)
        raw = gzip.decompress(objects[key]["body"])
        doc = json.loads(raw)
        doc["logFiles"][0]["hashValue"] = "0" * 64  # what an attacker hiding an edited log does
        objects[key]["body"] = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), mtime=0)
    elif scenario == "deleted_digest":
        del objects[digest_key(12)]
    elif scenario == "two_deleted_digests":
        del objects[digest_key(12)]
        del objects[digest_key(13)]
    elif scenario == "moved_digest":
        objects[digest_key(14, day=16)] = objects.pop(digest_key(14))
    elif scenario == "truncated_gzip":
        key, _ = logs[13]
        objects[key]["body"] = objects[key]["body"][:-12]
    elif scenario == "unlisted_log":
        extra = log_key(12, "Zz99Yy88Xx77Ww66")
        objects[extra] = {"body": gzip.compress(log_body(12).replace(b"Mozilla", b"curl"), mtime=0),
                          "metadata": {}}

    for key, obj in objects.items():
        path = os.path.join(root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(obj["body"])
    return objects


def write_sidecars(root, objects):
    """The <digest>.sig.json sidecars logsift reads in local copies (fetch/verify/verify_store.c)."""
    for key, obj in objects.items():
        md = obj["metadata"]
        if "signature" in md:
            with open(os.path.join(root, key) + ".sig.json", "w") as f:
                json.dump({"signature": md["signature"],
                           "signatureAlgorithm": md["signature-algorithm"]}, f)
