#!/usr/bin/env python3
"""The least-privilege IAM policies in fetch/aws/iam/ cover every AWS call logsift makes.

Every identifier inside a C string literal of the sources that may send AWS requests (fetch/
and alerts/: only they reach fetch/aws, STYLE.md section 1; scanner/ and patterns/ name
CloudTrail events such as StopLogging in rules, which are not calls) that botocore's models name as an operation of a service logsift talks to
(S3, CloudWatch Logs, SNS, CloudWatch, CloudTrail, STS) is mapped to its IAM action and must be
allowed by one of the policy files; the files must be well-formed policies without wildcard
actions, and each must grant what its command needs. Identifiers are taken from inside
literals, so "Logs_20140328.FilterLogEvents" in an X-Amz-Target and "Action=Publish" in a Query
body count too. Run with Debian's python3 (python3-botocore).
"""
import fnmatch
import glob
import json
import os
import re
import sys
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
IAM = os.path.join(ROOT, "fetch", "aws", "iam")
SOURCES = ("fetch", "alerts")
# botocore service name -> IAM action prefix
SERVICES = {"s3": "s3", "logs": "logs", "sns": "sns", "cloudwatch": "cloudwatch",
            "cloudtrail": "cloudtrail", "sts": "sts"}
# S3 operations whose IAM action has another name (Service Authorization Reference, S3).
S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket",
              "HeadBucket": "ListBucket", "HeadObject": "GetObject"}
# SNS has no action of its own for PublishBatch: sns:Publish authorizes it (SNS API
# Reference, PublishBatch).
SNS_ACTIONS = {"PublishBatch": "Publish"}
# Authorized by something other than an identity policy.
NEEDS_NO_POLICY = {
    "sts:AssumeRoleWithWebIdentity": "allowed by the role's trust policy",
    "sts:GetCallerIdentity": "always allowed",
}
# aws_error.c maps operation names to IAM actions for AccessDenied hints, for any operation a
# caller might pass; it makes no call itself.
NOT_CALLS = {os.path.join("fetch", "aws", "aws_error.c")}

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
WORD = re.compile(r"[A-Z][A-Za-z0-9]+")


def operations():
    """{operation name: [iam action, ...]} for the services above, from botocore's models."""
    import botocore.session
    session = botocore.session.get_session()
    ops = {}
    for service, prefix in SERVICES.items():
        for op in session.get_service_model(service).operation_names:
            action = (S3_ACTIONS.get(op, op) if service == "s3" else
                      SNS_ACTIONS.get(op, op) if service == "sns" else op)
            ops.setdefault(op, []).append("%s:%s" % (prefix, action))
    return ops


def named_operations(ops):
    """{operation: [file:line, ...]} for operation names inside string literals."""
    found = {}
    for top in SOURCES:
        for path in sorted(glob.glob(os.path.join(ROOT, top, "**", "*.[ch]"), recursive=True)):
            rel = os.path.relpath(path, ROOT)
            if rel in NOT_CALLS:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if line.lstrip().startswith(("*", "/*", "//")):
                        continue  # comments name operations to explain them
                    for literal in LITERAL.findall(line):
                        for word in WORD.findall(literal):
                            if word in ops:
                                found.setdefault(word, []).append("%s:%d" % (rel, n))
    return found


def load_policies():
    policies = {}
    for path in sorted(glob.glob(os.path.join(IAM, "*.json"))):
        with open(path) as f:
            policies[os.path.basename(path)] = json.load(f)
    return policies


def statements(policy):
    st = policy["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(v):
    return v if isinstance(v, list) else [v]


def allows(policy, action):
    """Whether some Allow statement of policy names action (IAM matches case-insensitively)."""
    for st in statements(policy):
        if st.get("Effect") != "Allow":
            continue
        for pattern in as_list(st.get("Action", [])):
            if fnmatch.fnmatchcase(action.lower(), pattern.lower()):
                return True
    return False


class IamPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            import botocore.session  # noqa: F401
        except ImportError:
            raise unittest.SkipTest("botocore is not installed (Debian: python3-botocore)")
        cls.ops = operations()
        cls.policies = load_policies()

    def test_policies_are_well_formed_and_name_actions_exactly(self):
        self.assertEqual(sorted(self.policies),
                         ["alerts.json", "scan-logs.json", "scan-s3.json", "verify.json"])
        for name, policy in self.policies.items():
            with self.subTest(policy=name):
                self.assertEqual(policy["Version"], "2012-10-17")
                for st in statements(policy):
                    self.assertEqual(st["Effect"], "Allow")
                    self.assertIn("Resource", st)
                    self.assertNotIn("NotAction", st)
                    for action in as_list(st["Action"]):
                        self.assertNotIn("*", action, "least privilege: no wildcard actions")
                        prefix, op = action.split(":")
                        self.assertIn(prefix, SERVICES.values())
                        known = {a for acts in self.ops.values() for a in acts}
                        self.assertIn(action, known, "not an action of the %s API" % prefix)

    def test_each_command_gets_what_it_needs(self):
        needs = {
            "scan-s3.json": ["s3:ListBucket", "s3:GetObject"],
            "scan-logs.json": ["logs:FilterLogEvents", "logs:GetLogEvents",
                               "logs:DescribeLogStreams"],
            "alerts.json": ["sns:Publish", "cloudwatch:PutMetricData"],
            "verify.json": ["s3:GetObject", "s3:ListBucket", "cloudtrail:ListPublicKeys"],
        }
        for name, actions in needs.items():
            for action in actions:
                self.assertTrue(allows(self.policies[name], action), "%s: %s" % (name, action))

    def test_listing_is_limited_by_prefix(self):
        for name in ("scan-s3.json", "verify.json"):
            for st in statements(self.policies[name]):
                if "s3:ListBucket" in as_list(st["Action"]):
                    self.assertTrue(st["Resource"].startswith("arn:aws:s3:::"))
                    self.assertNotIn("/", st["Resource"][len("arn:aws:s3:::"):])
                    self.assertIn("s3:prefix", st["Condition"]["StringLike"], name)
                if "s3:GetObject" in as_list(st["Action"]):
                    self.assertRegex(st["Resource"], r"^arn:aws:s3:::[^/*]+/.+", name)

    def test_every_operation_named_in_the_sources_is_allowed(self):
        named = named_operations(self.ops)
        self.assertIn("GetObject", named)       # the scan itself: the search works
        self.assertIn("ListObjectsV2", named)
        missing = []
        for op, where in sorted(named.items()):
            actions = self.ops[op]
            if any(a in NEEDS_NO_POLICY for a in actions):
                continue
            if not any(allows(p, a) for p in self.policies.values() for a in actions):
                missing.append("%s (%s) at %s" % (op, " or ".join(actions), ", ".join(where)))
        self.assertEqual(missing, [], "grant these in fetch/aws/iam/*.json")
        print("\noperations named in the sources: %s" % ", ".join(sorted(named)),
              file=sys.stderr)


if __name__ == "__main__":
    prog = unittest.main(verbosity=2, exit=False)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and len(result.skipped) >= result.testsRun:
        sys.exit(77)
