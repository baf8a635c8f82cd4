#!/usr/bin/env python3
"""Large pattern sets for the benchmark, and the regex conversions the peer tools need.

  python3 bench/mkpatterns.py            rewrites bench/patterns/large.rules and large-regex.rules

large.rules: 1,200 literal-anchored CloudTrail detections in hsbench format (the shape of a
real IOC / watch-list pack: eventName watch lists, bad source IPs, leaked access key ids,
suspicious user and role names, tool user agents, buckets, error codes). Every pattern starts
from a literal of 10+ bytes, and the only repeats are bounded.

large-regex.rules: the same 1,200 detections written the way regex-happy authors write them:
short literals, character classes and bounded repeats between them, case-insensitive tool
names, a few unanchored key-shaped classes. Same IDs, same intent, far fewer literal factors.

Both are deterministic (own splitmix64 stream, no dependence on Python's random module) and
have no metadata: logsift gets their IDs as rule ids.

The converters at the bottom turn an hsbench line into what ripgrep/ugrep (Rust/PCRE-like
syntax) and GNU grep -E (POSIX ERE plus GNU escapes) accept; see to_ere for what differs.
"""
import os
import re
import sys

MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.x = seed & MASK

    def next(self):
        self.x = (self.x + 0x9E3779B97F4A7C15) & MASK
        z = self.x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chars(self, alphabet, n):
        return "".join(alphabet[self.below(len(alphabet))] for _ in range(n))


VERBS = ["Create", "Delete", "Update", "Put", "Get", "List", "Describe", "Modify", "Attach",
         "Detach", "Enable", "Disable", "Start", "Stop", "Remove", "Add", "Tag", "Reset"]
NOUNS = ["Bucket", "BucketPolicy", "BucketAcl", "Role", "RolePolicy", "User", "UserPolicy",
         "Group", "AccessKey", "LoginProfile", "Instance", "Snapshot", "Volume", "Image",
         "SecurityGroup", "Trail", "LogGroup", "LogStream", "Key", "Alias", "Secret", "Function",
         "Layer", "Stack", "Cluster", "Table", "Queue", "Topic", "Subscription", "Detector",
         "MetricFilter", "Alarm", "Dashboard", "Parameter", "Document", "Association",
         "Certificate", "Distribution", "Vpc", "Subnet", "RouteTable", "NatGateway",
         "InternetGateway", "FlowLogs", "NetworkAcl", "VpcEndpoint", "Repository", "Policy",
         "PolicyVersion", "SAMLProvider", "OpenIDConnectProvider", "MFADevice",
         "ServiceLinkedRole", "Account", "HostedZone", "KeyPair", "LaunchTemplate",
         "DBSnapshot", "DBCluster", "EventSelectors", "ConfigRule", "Recorder", "Findings"]
TOOLS = ["pacu", "kali", "parrot", "pentoo", "cloudsploit", "prowler", "scoutsuite", "weirdAAL",
         "cloudmapper", "stratus-red-team", "aws-pwn", "cloudfox", "enumerate-iam", "trufflehog",
         "gitleaks", "nmap", "masscan", "sqlmap", "nikto", "metasploit", "cobaltstrike",
         "sliver", "empire", "impacket", "hydra", "ffuf", "gobuster", "nuclei", "zgrab",
         "python-requests/2.2", "curl/7.5", "Go-http-client/1.1", "okhttp/3.1", "aiohttp/3.6",
         "Wget/1.2", "libwww-perl", "PowerShell/7.", "Boto3/1.9.", "aws-cli/1.1", "rclone"]
NAME_WORDS = ["backup", "admin", "svc", "deploy", "temp", "test", "root", "support", "audit",
              "ops", "sec", "ci", "build", "data", "ml", "billing", "finance", "legacy", "vendor",
              "contractor", "breakglass", "shadow", "helpdesk", "monitor"]
ERROR_CODES = ["AccessDenied", "UnauthorizedOperation", "Client.UnauthorizedOperation",
               "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch",
               "ExpiredToken", "NoSuchEntity", "InvalidAccessKeyId", "AuthFailure",
               "OptInRequired", "UnrecognizedClientException", "MalformedPolicyDocument",
               "LimitExceeded", "ThrottlingException", "ValidationException",
               "ResourceNotFoundException", "InvalidParameterValue", "DryRunOperation",
               "AccessDenied.Organization"]
REGIONS = ["ap-east-1", "me-south-1", "af-south-1", "ap-southeast-3", "eu-south-1",
           "me-central-1", "ap-south-2", "eu-south-2", "eu-central-2", "il-central-1",
           "ca-west-1", "ap-southeast-4", "sa-east-1", "ap-northeast-3", "us-gov-west-1",
           "us-gov-east-1", "cn-north-1", "cn-northwest-1", "ap-southeast-5", "mx-central-1"]
POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3FullAccess",
            "AmazonEC2FullAccess", "SecretsManagerReadWrite", "AWSLambda_FullAccess",
            "AmazonSSMFullAccess", "AWSOrganizationsFullAccess", "AWSCloudTrail_FullAccess",
            "AWSKeyManagementServicePowerUser", "AmazonRDSFullAccess", "CloudWatchFullAccess",
            "AmazonDynamoDBFullAccess", "AWSCodeCommitPowerUser", "AmazonVPCFullAccess",
            "AmazonRoute53FullAccess", "AWSBackupFullAccess", "AmazonECS_FullAccess",
            "AmazonEKSClusterPolicy"]
UPPER32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
META = set(".+*?()[]{}|^$\\")


def rx_escape(s):
    """Escape only regex metacharacters (re.escape also escapes '-', which older ripgrep
    and GNU grep 3.8+ reject or warn about)."""
    return "".join("\\" + c if c in META else c for c in s)
LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"


def build(seed=20240115):
    """[(id, literal_form, regex_form, caseless_in_regex_form)], 1,200 entries."""
    r = SplitMix(seed)
    out = []
    nid = [10000]

    def add(lit, rx, ci=False):
        out.append((nid[0], lit, rx, ci))
        nid[0] += 1

    # 395 eventName watch-list entries (a few also occur in the background corpus)
    pairs = [(v, n) for v in VERBS for n in NOUNS]
    seen = set()
    while len(seen) < 395:
        v, n = r.pick(pairs)
        if (v, n) in seen:
            continue
        seen.add((v, n))
        add(r'"eventName"\s*:\s*"%s%s"' % (v, n),
            r'"eventName"\s*:\s*"%s[A-Za-z]{0,24}%s[A-Za-z0-9]{0,12}"' % (v, n))
    # 240 bad source addresses (regex form: their /24)
    for _ in range(240):
        a, b, c, d = 5 + r.below(218), r.below(256), r.below(256), 1 + r.below(254)
        add(r'"sourceIPAddress"\s*:\s*"%d\.%d\.%d\.%d"' % (a, b, c, d),
            r'"sourceIPAddress"\s*:\s*"%d\.%d\.%d\.\d{1,3}"' % (a, b, c))
    # 150 leaked access key ids (regex form: the key's middle, any prefix/suffix letters)
    for _ in range(150):
        key = r.chars(UPPER32, 16)
        add(r'"accessKeyId"\s*:\s*"AKIA%s"' % key,
            r'(?:AKIA|ASIA)[A-Z2-7]{4}%s[A-Z2-7]{4}' % key[4:12])
    # 150 suspicious user names
    for _ in range(150):
        name = "%s-%s-%d" % (r.pick(NAME_WORDS), r.pick(NAME_WORDS), r.below(1000))
        w1, w2, _n = name.split("-")
        add(r'"userName"\s*:\s*"%s"' % name,
            r'"userName"\s*:\s*"[a-z0-9]{0,8}%s[-_.]%s[-_.]?\d{1,4}"' % (w1, w2), ci=True)
    # 80 tool user agents
    for i in range(80):
        tool = TOOLS[i % len(TOOLS)]
        lit_tool = rx_escape(tool) if i < len(TOOLS) else rx_escape(tool) + r"\d"
        add(r'"userAgent"\s*:\s*"[^"]{0,160}%s' % lit_tool,
            r'"userAgent"\s*:\s*"[^"]{0,200}%s[/ _-]?[0-9.]{0,8}' % lit_tool, ci=True)
    # 60 role names used by attackers for persistence
    for _ in range(60):
        role = "%s-%s%d" % (r.pick(NAME_WORDS), r.pick(NAME_WORDS), r.below(100))
        add(r'arn:aws:iam::\d{12}:role/%s"' % role,
            r'arn:aws:(?:iam|sts)::\d{12}:(?:role|assumed-role)/[A-Za-z0-9+=,.@_-]{0,24}%s'
            % role, ci=True)
    # 60 buckets that must never be touched
    for _ in range(60):
        bucket = "%s-%s-%s" % (r.pick(NAME_WORDS), r.pick(["logs", "data", "exports", "dumps"]),
                               r.chars(LOWER, 6))
        add(r'"bucketName"\s*:\s*"%s"' % bucket,
            r'"bucketName"\s*:\s*"[a-z0-9.-]{0,16}%s[a-z0-9.-]{0,16}"' % bucket)
    # 20 error codes, 20 unusual regions, 20 managed policies
    for code in ERROR_CODES:
        add(r'"errorCode"\s*:\s*"%s"' % rx_escape(code),
            r'"error(?:Code|Message)"\s*:\s*"[A-Za-z.]{0,16}%s' % rx_escape(code))
    for region in REGIONS:
        add(r'"awsRegion"\s*:\s*"%s"' % region,
            r'"(?:awsRegion|region)"\s*:\s*"%s[a-z0-9-]{0,4}"' % region)
    for pol in POLICIES:
        add(r'"policyArn"\s*:\s*"arn:aws:iam::aws:policy/%s"' % pol,
            r'arn:aws[a-z-]{0,12}:iam::(?:aws|\d{12}):policy/[A-Za-z0-9/_-]{0,32}%s' % pol)
    # a few unanchored key-shaped classes, as secret scanners write them
    extra = [r'\b(?:AKIA|ASIA)[A-Z2-7]{16}\b', r'\bsg-0[0-9a-f]{16}\b',
             r'\bi-0[0-9a-f]{16}\b', r'\bAROA[A-Z2-7]{16}:[A-Za-z0-9._@-]{2,64}',
             r'"sessionToken"\s*:\s*"[A-Za-z0-9+/=]{64}']
    for e in extra:
        add(r'"recipientAccountId"\s*:\s*"%012d"' % r.below(10 ** 12), e)
    assert len(out) == 1200
    return out


HEADER = """# %s: %s
# Generated by bench/mkpatterns.py (deterministic; do not edit by hand). hsbench format
# "ID:/regex/flags"; synthetic watch-list content, realistic in shape, not real indicators.
"""


def write_sets(dirpath):
    sets = build()
    with open(os.path.join(dirpath, "large.rules"), "w") as f:
        f.write(HEADER % ("large.rules", "1,200 literal-anchored CloudTrail detections"))
        for pid, lit, _rx, _ci in sets:
            f.write("%d:/%s/\n" % (pid, lit))
    with open(os.path.join(dirpath, "large-regex.rules"), "w") as f:
        f.write(HEADER % ("large-regex.rules", "the same 1,200 detections, regex-heavy"))
        for pid, _lit, rx, ci in sets:
            f.write("%d:/%s/%s\n" % (pid, rx, "i" if ci else ""))


# ---- hsbench lines and peer conversions -----------------------------------------------------


def parse_rules(path):
    """[(id, regex, flags)] for every non-combination line (quiet ones included, as logsift's
    database holds them); flags keep only i, s, m."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\r\n").strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^(\d+):/", line)
            last = line.rfind("/")
            if not m or last < m.end():
                continue
            flags = line[last + 1:].split("{")[0]
            if "C" in flags:
                continue
            out.append((int(m.group(1)), line[m.end():last], "".join(c for c in flags if c in "ism")))
    return out


def to_pcre(rx, flags):
    """ripgrep / ugrep: the syntax is Hyperscan's (PCRE subset); flags become a prefix."""
    return ("(?%s)" % flags if flags else "") + rx


class Unsupported(Exception):
    pass


def to_ere(rx, flags):
    """GNU grep -E: (?: becomes (, (?i:X) and the i flag become [xX] letter classes, \\d
    becomes [0-9]; \\s \\w \\b stay (GNU extensions); inside brackets \\d and escaped
    punctuation are rewritten and \\n dropped (lines hold no newline). Raises Unsupported
    for anything else (lookaround, \\x escapes of unprintable bytes, s/m flags)."""
    if "s" in flags or "m" in flags:
        raise Unsupported("s/m flags")
    out = []
    i, n = 0, len(rx)
    ci = "i" in flags
    groups = []
    while i < n:
        c = rx[i]
        if c == "[":
            j = i + 1
            neg = ""
            if j < n and rx[j] == "^":
                neg = "^"
                j += 1
            items = []
            has_dash = False
            while j < n and rx[j] != "]":
                d = rx[j]
                if d == "\\" and j + 1 < n:
                    e = rx[j + 1]
                    j += 2
                    if e == "d":
                        items.append("0-9")
                    elif e == "n":
                        pass
                    elif e == "-":
                        has_dash = True
                    elif e == "\\" or (not e.isalnum() and e != "]"):
                        items.append(e)
                    else:
                        raise Unsupported("\\%s in a class" % e)
                    continue
                if d == "-" and (not items or rx[j + 1:j + 2] == "]"):
                    has_dash = True
                    j += 1
                    continue
                if j + 2 < n and rx[j + 1] == "-" and rx[j + 2] != "]":
                    items.append(rx[j:j + 3])
                    j += 3
                    continue
                items.append(d)
                j += 1
            if j >= n:
                raise Unsupported("unterminated class")
            if ci:
                items += [it.swapcase() for it in items
                          if (it.isalpha() or (len(it) == 3 and it[0].isalpha() and
                                               it[2].isalpha())) and it.swapcase() not in items]
            if "^" in items:  # a literal caret must not come first
                items.remove("^")
                items.append("^")
            body = "".join(items) + ("-" if has_dash else "")
            if not body:
                raise Unsupported("empty class")
            out.append("[" + neg + body + "]")
            i = j + 1
            continue
        if c == "\\" and rx[i + 1:i + 2] == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", rx[i + 2:i + 4]):
            # \xHH (logsift rules export writes literals so): the character itself
            ch = chr(int(rx[i + 2:i + 4], 16))
            if not (" " <= ch <= "~"):
                raise Unsupported("\\x%s" % rx[i + 2:i + 4])
            if ci and ch.isalpha():
                out.append("[" + ch.lower() + ch.upper() + "]")
            else:
                out.append("\\" + ch if ch in META else ch)
            i += 4
            continue
        if c == "\\" and i + 1 < n:
            e = rx[i + 1]
            if e == "d":
                out.append("[0-9]")
            elif e in "swbSWB":
                out.append("\\" + e)
            elif e.isalnum():
                raise Unsupported("\\" + e)
            elif e in META:
                out.append("\\" + e)
            else:
                out.append(e)  # GNU grep 3.8+ warns about a stray \\ before other punctuation
            i += 2
            continue
        if rx.startswith("(?:", i):
            groups.append(None)
            out.append("(")
            i += 3
            continue
        if rx.startswith("(?i:", i):
            groups.append(ci)
            ci = True
            out.append("(")
            i += 4
            continue
        if rx.startswith("(?", i):
            raise Unsupported("(? group")
        if c == "(":
            groups.append(None)
            out.append("(")
        elif c == ")":
            if not groups:
                raise Unsupported("unbalanced )")
            g = groups.pop()
            if g is not None:
                ci = g
            out.append(")")
        elif ci and c.isalpha():
            out.append("[%s%s]" % (c.lower(), c.upper()))
        else:
            out.append(c)
        i += 1
    return "".join(out)


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "patterns")
    write_sets(here)
    print("wrote %s/large.rules and large-regex.rules" % here, file=sys.stderr)
