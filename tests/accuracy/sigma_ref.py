#!/usr/bin/python3
"""Reference Sigma evaluator: every rule, field by field, on every event. No prefilter, no
shortcuts: this is the oracle the C engine's findings are compared with (differential test) and
what tests/accuracy/evaluate.py scores while the engine is not there.

    sigma_ref.py [-r RULES]... [--no-correlations] INPUT...

RULES are .yml/.yaml files or directories of them (default: patterns/packs). INPUTs are files or
directories (plain or .gz): CloudTrail delivery files {"Records":[...]}, JSON arrays (Stratus
detonation logs), JSON values back to back (JSON lines, pretty-printed objects), and syslog
lines (a file that is not all JSON: one event per non-blank line, JSON or not). CloudWatch Logs
subscription envelopes and Firehose streams are taken as plain JSON, not decoded. Prints one JSON finding per line:
{"rule", "title", "level", "source", "ordinal", "eventID"?, "group"?}. ordinal is the 0-based
index of the event in its input, as logsift counts it (blank lines are not events).

Semantics (the Sigma subset issue 3 lists; anything else is refused with file:line and the
feature named):
- field names are dotted paths into the JSON event; a list on the way is searched element by
  element (a value inside an array matches);
- plain values match the whole field value, case-insensitively (`cased` makes it exact),
  with `*` and `?` wildcards (backslash escapes them); numbers and booleans compare by their
  JSON text (1, true); `null` matches a missing or null field, and `exists: true` needs a
  value that is not null;
- modifiers: contains startswith endswith all re (with i m s) exists cidr fieldref cased;
- keyword lists (field-less strings) search the event text: a keyword without wildcards is a
  substring; one with wildcards must match the whole text (so write '*...*');
- syslog events are their line for keywords; for field names they expose a documented small
  set: host, program, pid, message, and for sshd lines user, rhost, port (see
  syslog_fields());
- conditions: and, or, not, parentheses, `1 of X*`, `all of X*`, `1 of them`, `all of them`.
- correlations (event_count, value_count, temporal, temporal_ordered) run over the matches of
  their rules in event-time order across all inputs, grouped by group-by fields of the event
  that matched; when one fires, its group starts over, and a count correlation (event_count,
  value_count) stays quiet for that group for one timespan (one finding per burst). A correlation
  may refer to another correlation (its firing event is the event that completed it; the
  outer's group-by and counted field must be among the inner's group-by). Rules a
  correlation refers to make no findings of their own unless one of those correlations says
  `generate: true` (Sigma's default); without correlations (--no-correlations) every rule reports.
- GeoIP (--geoip-networks FILE): the virtual fields geoip.country_iso_code, geoip.asn and
  geoip.as_org of the event's source address (a JSON record's top-level sourceIPAddress, a
  line's rhost; numeric IPs only), read from the networks a test MaxMind DB is written from
  (tests/data/geoip/networks.json, make_mmdb.pl): the most specific network that holds the
  address. Without it, or for an unknown address, they are missing, as in logsift without
  --geoip.
"""
import argparse
import datetime
import fnmatch
import gzip
import ipaddress
import json
import os
import re
import sys

import yaml

SUPPORTED_MODIFIERS = {"contains", "startswith", "endswith", "all", "re", "i", "m", "s",
                       "exists", "cidr", "fieldref", "cased"}
RULE_KEYS = {"title", "id", "name", "status", "description", "references", "author", "date",
             "modified", "tags", "logsource", "detection", "falsepositives", "level", "fields",
             "related", "license", "correlation", "generate", "taxonomy"}
CORRELATION_TYPES = {"event_count", "value_count", "temporal", "temporal_ordered"}
CONDITION_OPS = {"gt", "gte", "lt", "lte", "eq"}


class SigmaError(Exception):
    """A rule that cannot be evaluated exactly: file:line and the feature."""


def _line_of(text, needle):
    """1-based line of the first occurrence of needle in text (1 when absent)."""
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


# ---- values ------------------------------------------------------------------------------------

def as_text(v):
    """JSON text of a scalar as Sigma compares it, or None for null/objects."""
    if v is None or isinstance(v, (dict, list)):
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return str(v)


def wildcard_regex(s, prefix_any=False, suffix_any=False):
    """Regex source for a Sigma string: * and ? are wildcards, backslash escapes them."""
    out = [".*"] if prefix_any else []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in "*?\\":
            out.append(re.escape(s[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    if suffix_any:
        out.append(".*")
    return "".join(out)


def resolve(obj, path):
    """Every value at a dotted path; lists on the way (and at the end) are searched element-wise.
    Returns (found, values)."""
    found = False
    values = []

    def walk(node, parts):
        nonlocal found
        if isinstance(node, list):
            for el in node:
                walk(el, parts)
            return
        if not parts:
            found = True
            values.append(node)
            return
        if not isinstance(node, dict):
            return
        # The longest key first, so a key that itself contains dots still resolves.
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in node:
                walk(node[key], parts[n:])

    walk(obj, path.split("."))
    flat = []
    for v in values:
        if isinstance(v, list):
            flat.extend(v)
        else:
            flat.append(v)
    return found, flat


# ---- field conditions --------------------------------------------------------------------------

class FieldCond:
    def __init__(self, field, modifiers, values, where):
        self.field = field
        self.mods = modifiers
        self.where = where
        for m in modifiers:
            if m not in SUPPORTED_MODIFIERS:
                raise SigmaError("%s: modifier '%s' is not supported" % (where, m))
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise SigmaError("%s: empty value list" % where)
        for v in values:
            if isinstance(v, (dict, list)):
                raise SigmaError("%s: a value must be a scalar, not a %s" % (
                    where, type(v).__name__))
        self.values = values
        self.match_all = "all" in modifiers
        self.cased = "cased" in modifiers
        kinds = [m for m in modifiers if m in ("contains", "startswith", "endswith", "re",
                                                "exists", "cidr", "fieldref")]
        if len(kinds) > 1:
            raise SigmaError("%s: modifiers %s cannot be combined" % (where, "|".join(kinds)))
        self.kind = kinds[0] if kinds else "eq"
        if any(m in modifiers for m in ("i", "m", "s")) and self.kind != "re":
            raise SigmaError("%s: i/m/s apply only to re" % where)
        if self.kind == "exists":
            if len(values) != 1 or not isinstance(values[0], bool):
                raise SigmaError("%s: exists takes true or false" % where)
        self.matchers = [self._compile(v) for v in values]

    def _compile(self, v):
        where = self.where
        if self.kind == "exists" or self.kind == "fieldref":
            return v
        if v is None:
            if self.kind != "eq":
                raise SigmaError("%s: null cannot take modifier %s" % (where, self.kind))
            return None
        text = as_text(v)
        if self.kind == "cidr":
            try:
                return ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise SigmaError("%s: '%s' is not a CIDR network" % (where, text)) from None
        flags = re.DOTALL
        if self.kind == "re":
            rflags = 0
            if "i" in self.mods:
                rflags |= re.IGNORECASE
            if "m" in self.mods:
                rflags |= re.MULTILINE
            if "s" in self.mods:
                rflags |= re.DOTALL
            try:
                return re.compile(text, rflags)
            except re.error as e:
                raise SigmaError("%s: bad regular expression '%s': %s" % (where, text, e)) \
                    from None
        if not self.cased:
            flags |= re.IGNORECASE
        src = wildcard_regex(text, self.kind in ("contains", "endswith"),
                             self.kind in ("contains", "startswith"))
        return re.compile(src, flags)

    def _one(self, matcher, found, vals, event):
        if self.kind == "exists":
            # JSON null is "no value": CloudTrail writes "errorCode": null on some records
            return (found and any(x is not None for x in vals)) == matcher
        if self.kind == "fieldref":
            rfound, rvals = event.field(as_text(matcher))
            if not rfound:
                return False
            left = [as_text(x) for x in vals]
            right = [as_text(x) for x in rvals]
            for a in left:
                for b in right:
                    if a is not None and b is not None and (
                            a == b if self.cased else a.lower() == b.lower()):
                        return True
            return False
        if matcher is None:
            return not found or all(x is None for x in vals)
        for x in vals:
            t = as_text(x)
            if t is None:
                continue
            if self.kind == "cidr":
                try:
                    if ipaddress.ip_address(t) in matcher:
                        return True
                except ValueError:
                    pass
            elif self.kind == "re":
                if matcher.search(t):
                    return True
            elif matcher.fullmatch(t):
                return True
        return False

    def match(self, event):
        found, vals = event.field(self.field)
        results = (self._one(m, found, vals, event) for m in self.matchers)
        return all(results) if self.match_all else any(results)


class KeywordCond:
    def __init__(self, values, modifiers, where):
        if modifiers:
            raise SigmaError("%s: modifiers on keyword lists are not supported" % where)
        self.matchers = []
        for v in values:
            t = as_text(v)
            if t is None:
                raise SigmaError("%s: a keyword must be a string or number" % where)
            if "*" in t or "?" in t:
                self.matchers.append(("full", re.compile(wildcard_regex(t),
                                                         re.IGNORECASE | re.DOTALL)))
            else:
                self.matchers.append(("sub", t.lower()))

    def match(self, event):
        text = event.text
        low = None
        for kind, m in self.matchers:
            if kind == "sub":
                if low is None:
                    low = text.lower()
                if m in low:
                    return True
            elif m.fullmatch(text):
                return True
        return False


# ---- detection ---------------------------------------------------------------------------------

def parse_selection(name, node, where):
    """A selection: map (AND of fields), list of maps (OR), or keyword list. Returns a callable."""
    if isinstance(node, dict):
        conds = []
        for key, vals in node.items():
            if not isinstance(key, str):
                raise SigmaError("%s: field name %r is not a string" % (where, key))
            if key == "" or key.startswith("|"):
                raise SigmaError("%s: keyword modifiers ('%s') are not supported" % (where, key))
            parts = key.split("|")
            conds.append(FieldCond(parts[0], parts[1:], vals, "%s (%s)" % (where, key)))
        return lambda ev: all(c.match(ev) for c in conds)
    if isinstance(node, list):
        if node and all(isinstance(x, dict) for x in node):
            alts = [parse_selection(name, x, where) for x in node]
            return lambda ev: any(a(ev) for a in alts)
        if any(isinstance(x, (dict, list)) for x in node):
            raise SigmaError("%s: a list mixing maps and values is not supported" % where)
        kw = KeywordCond(node, [], where)
        return kw.match
    if isinstance(node, (str, int)):
        kw = KeywordCond([node], [], where)
        return kw.match
    raise SigmaError("%s: selection '%s' must be a map, a list or a keyword" % (where, name))


_TOKEN = re.compile(r"\s*(\(|\)|\||[A-Za-z0-9_*]+)")


def tokenize(cond, where):
    toks = []
    pos = 0
    cond = cond.strip()
    while pos < len(cond):
        m = _TOKEN.match(cond, pos)
        if not m:
            raise SigmaError("%s: cannot read condition at '%s'" % (where, cond[pos:]))
        toks.append(m.group(1))
        pos = m.end()
        while pos < len(cond) and cond[pos].isspace():
            pos += 1
    return toks


class ConditionParser:
    """or < and < not < atoms; atoms: name, (expr), 1 of X, all of X (X may be 'them' or a
    wildcard pattern)."""

    def __init__(self, toks, selections, where):
        self.toks = toks
        self.i = 0
        self.sel = selections
        self.where = where

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        if "|" in self.toks:
            raise SigmaError("%s: aggregation conditions ('| count() ...') are not supported; "
                             "write a Sigma correlation rule" % self.where)
        e = self.expr()
        if self.peek() is not None:
            raise SigmaError("%s: unexpected '%s' in condition" % (self.where, self.peek()))
        return e

    def expr(self):
        left = self.term()
        while self.peek() == "or":
            self.take()
            right = self.term()
            left = (lambda a, b: lambda ev: a(ev) or b(ev))(left, right)
        return left

    def term(self):
        left = self.factor()
        while self.peek() == "and":
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda ev: a(ev) and b(ev))(left, right)
        return left

    def factor(self):
        t = self.take()
        if t is None:
            raise SigmaError("%s: condition ends too early" % self.where)
        if t == "not":
            inner = self.factor()
            return lambda ev: not inner(ev)
        if t == "(":
            e = self.expr()
            if self.take() != ")":
                raise SigmaError("%s: missing ')' in condition" % self.where)
            return e
        if t in ("1", "all") and self.peek() == "of":
            self.take()
            pat = self.take()
            if pat is None:
                raise SigmaError("%s: '%s of' needs a name pattern or 'them'" % (self.where, t))
            names = [n for n in self.sel if (pat == "them" and not n.startswith("_"))
                     or (pat != "them" and fnmatch.fnmatchcase(n, pat))]
            if not names:
                raise SigmaError("%s: '%s of %s' matches no selection" % (self.where, t, pat))
            fns = [self.sel[n] for n in names]
            if t == "1":
                return lambda ev: any(f(ev) for f in fns)
            return lambda ev: all(f(ev) for f in fns)
        if t in ("and", "or", ")", "of"):
            raise SigmaError("%s: unexpected '%s' in condition" % (self.where, t))
        if re.fullmatch(r"[0-9]+", t):
            raise SigmaError("%s: '%s of' is not supported (only '1 of' and 'all of')" %
                             (self.where, t))
        if t not in self.sel:
            raise SigmaError("%s: condition names unknown selection '%s'" % (self.where, t))
        return self.sel[t]


class Rule:
    def __init__(self, doc, path, text):
        self.path = path
        self.id = str(doc.get("id") or "")
        self.name = doc.get("name")
        self.title = doc.get("title") or self.id
        self.level = doc.get("level") or "medium"
        self.logsource = doc.get("logsource") or {}
        det = doc.get("detection")
        where = "%s:%d" % (path, _line_of(text, "detection:"))
        if not isinstance(det, dict) or "condition" not in det:
            raise SigmaError("%s: detection needs selections and a condition" % where)
        sels = {}
        for name, node in det.items():
            if name in ("condition", "timeframe"):
                continue
            sels[name] = parse_selection(name, node, "%s:%d selection '%s'" % (
                path, _line_of(text, "    " + name + ":"), name))
        cond = det["condition"]
        if isinstance(cond, list):
            if len(cond) != 1:
                raise SigmaError("%s: several conditions in one rule are not supported" % where)
            cond = cond[0]
        if "timeframe" in det:
            raise SigmaError("%s: timeframe without a correlation rule is not supported" % where)
        cwhere = "%s:%d condition" % (path, _line_of(text, "condition:"))
        if "|" in str(cond):
            raise SigmaError("%s: aggregation conditions ('| count() ...') are not supported; "
                             "write a Sigma correlation rule" % cwhere)
        self.match = ConditionParser(tokenize(str(cond), cwhere), sels, cwhere).parse()
        self.is_syslog = str(self.logsource.get("product", "")).lower() == "linux"


def parse_timespan(s, where):
    m = re.fullmatch(r"([0-9]+)([smhd])", str(s))
    if not m:
        raise SigmaError("%s: timespan '%s' is not N followed by s, m, h or d" % (where, s))
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


class Correlation:
    def __init__(self, doc, path, text):
        c = doc["correlation"]
        where = "%s:%d" % (path, _line_of(text, "correlation:"))
        self.path = path
        self.id = str(doc.get("id") or "")
        self.name = doc.get("name")
        self.title = doc.get("title") or self.id
        self.level = doc.get("level") or "medium"
        self.type = c.get("type")
        if self.type not in CORRELATION_TYPES:
            raise SigmaError("%s: correlation type '%s' is not supported" % (where, self.type))
        self.rules = [str(r) for r in (c.get("rules") or [])]
        if not self.rules:
            raise SigmaError("%s: a correlation needs rules" % where)
        self.group_by = [str(g) for g in (c.get("group-by") or [])]
        if "aliases" in c:
            raise SigmaError("%s: correlation aliases are not supported" % where)
        self.timespan = parse_timespan(c.get("timespan"), where)
        # Sigma: the referred rules make no findings of their own unless generate is true
        gen = c.get("generate", doc.get("generate", False))
        if not isinstance(gen, bool):
            raise SigmaError("%s: generate must be true or false" % where)
        self.generate = gen
        cond = c.get("condition") or {}
        self.field = cond.get("field")
        self.ops = {k: v for k, v in cond.items() if k != "field"}
        for k in self.ops:
            if k not in CONDITION_OPS:
                raise SigmaError("%s: condition operator '%s' is not supported" % (where, k))
        if self.type in ("event_count", "value_count") and not self.ops:
            raise SigmaError("%s: %s needs a condition" % (where, self.type))
        if self.type == "value_count" and not self.field:
            raise SigmaError("%s: value_count needs condition.field" % where)

    def holds(self, n):
        checks = {"gt": n.__gt__, "gte": n.__ge__, "lt": n.__lt__, "lte": n.__le__,
                  "eq": n.__eq__}
        return all(checks[k](int(v)) for k, v in self.ops.items())


def load_rules(paths):
    """Rules and correlations from files/directories, sorted by path. Raises SigmaError."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                # hunting/ is not in the default pack (patterns/packs/README.md); name the
                # folder explicitly to evaluate it.
                dirs[:] = sorted(d for d in dirs if d != "hunting")
                files += [os.path.join(root, n) for n in sorted(names)
                          if n.endswith((".yml", ".yaml"))]
        else:
            files.append(p)
    rules, corrs = [], []
    for f in files:
        with open(f, encoding="utf-8") as fp:
            text = fp.read()
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            raise SigmaError("%s: not valid YAML: %s" % (f, e)) from None
        for doc in docs:
            if not isinstance(doc, dict):
                raise SigmaError("%s:1: a rule must be a YAML map" % f)
            for key in doc:
                if key not in RULE_KEYS:
                    raise SigmaError("%s:%d: rule attribute '%s' is not supported" % (
                        f, _line_of(text, str(key) + ":"), key))
            if "correlation" in doc:
                corrs.append(Correlation(doc, f, text))
            else:
                rules.append(Rule(doc, f, text))
    return rules, corrs


# ---- events ------------------------------------------------------------------------------------

_SYSLOG_3164 = re.compile(r"^(?:<\d+>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) "
                          r"([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$")
_SYSLOG_5424 = re.compile(r"^<\d+>\d+ (\S+) (\S+) (\S+) (\S+) \S+ "
                          r"(?:(?:\[(?:[^\]\\]|\\.)*\])+|-) ?(.*)$")
_MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
_SSHD_USER = [re.compile(p) for p in (
    r"Invalid user (\S*) from ", r"Failed \S+ for invalid user (\S*) from ",
    r"Failed \S+ for (\S+) from ", r"Accepted \S+ for (\S+) from ",
    r"authenticating user (\S+) ", r"invalid user (\S+) ", r"\buser=(\S+)")]
_SSHD_RHOST = [re.compile(p) for p in (
    r" from (\S+) port (\d+)", r"\brhost=(\S+)", r" from ([0-9A-Fa-f:.]+)(?:\s|$)",
    r"Connection from (\S+) port (\d+)",
    r"authenticating user \S+ (\S+) port (\d+)", r"invalid user \S* (\S+) port (\d+)",
    r" for (\S+) port (\d+)", r"negotiate with (\S+) port (\d+)", r"refused connect from \S+ \((\S+)\)")]


def parse_iso(s):
    try:
        s = s.replace("Z", "+00:00")
        return datetime.datetime.fromisoformat(s).timestamp()
    except (ValueError, AttributeError):
        return None


def syslog_fields(line):
    """host, program, pid, message; for sshd also user, rhost, port; and the time (seconds; RFC
    3164 lines have no year, 2000 is assumed). Returns (fields, ts)."""
    f = {}
    ts = None
    m = _SYSLOG_3164.match(line)
    if m:
        mon, day, hh, mm, ss, host, prog, pid, msg = m.groups()
        if mon in _MONTHS:
            ts = datetime.datetime(2000, _MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                                   tzinfo=datetime.timezone.utc).timestamp()
        f.update(host=host, program=prog, message=msg)
        if pid:
            f["pid"] = pid
    else:
        m = _SYSLOG_5424.match(line)
        if m:
            when, host, prog, pid, msg = m.groups()
            ts = parse_iso(when)
            f.update(host=host, program=prog, message=msg)
            if pid != "-":
                f["pid"] = pid
    msg = f.get("message", line)
    if f.get("program", "").startswith("sshd"):
        for p in _SSHD_USER:
            u = p.search(msg)
            if u:
                f["user"] = u.group(1)
                break
        for p in _SSHD_RHOST:
            r = p.search(msg)
            if r:
                f["rhost"] = r.group(1)
                if r.lastindex and r.lastindex >= 2:
                    f["port"] = r.group(2)
                break
    return f, ts


GEOIP_FIELDS = ("geoip.country_iso_code", "geoip.asn", "geoip.as_org")
_GEO = None  # GeoNetworks of --geoip-networks, or None


class GeoNetworks:
    """Country and ASN networks in tests/data/geoip/networks.json form; lookups pick the most
    specific network holding the address, as a MaxMind DB tree answers."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as fp:
            src = json.load(fp)
        self.country = self._nets(src.get("country", []))
        self.asn = self._nets(src.get("asn", []))

    @staticmethod
    def _nets(items):
        nets = [(ipaddress.ip_network(x["net"]), x) for x in items]
        return sorted(nets, key=lambda n: -n[0].prefixlen)

    @staticmethod
    def _find(nets, addr):
        return next((x for net, x in nets if net.version == addr.version and addr in net), None)

    def lookup(self, text):
        """{field: value} for a numeric IP (leading zeros refused, as logsift does)."""
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return {}
        out = {}
        c = self._find(self.country, addr)
        if c is not None and (c.get("iso_code") or c.get("registered_iso_code")):
            out["geoip.country_iso_code"] = c.get("iso_code") or c["registered_iso_code"]
        a = self._find(self.asn, addr)
        if a is not None:
            if a.get("number"):
                out["geoip.asn"] = str(a["number"])
            if a.get("org"):
                out["geoip.as_org"] = a["org"]
        return out


def set_geoip_networks(path):
    """Use the networks of path for geoip.* fields (None: no GeoIP, the fields are missing)."""
    global _GEO
    _GEO = GeoNetworks(path) if path else None


def geoip_field(event, path):
    if _GEO is None:
        return False, []
    if event.kind == "json":
        ip = event.obj.get("sourceIPAddress") if isinstance(event.obj, dict) else None
    else:
        ip = event.obj.get("rhost")
    v = _GEO.lookup(ip).get(path) if isinstance(ip, str) else None
    return (True, [v]) if v is not None else (False, [])


class Event:
    __slots__ = ("obj", "raw", "kind", "_text", "ts")

    def __init__(self, obj, raw, kind):
        self.obj = obj
        self.raw = raw
        self.kind = kind
        self._text = None
        self.ts = None
        if kind == "json" and isinstance(obj, dict):
            t = obj.get("eventTime") or obj.get("@timestamp")
            self.ts = parse_iso(t) if isinstance(t, str) else None
        elif kind == "syslog":
            self.obj, self.ts = syslog_fields(raw)

    @property
    def text(self):
        return self.raw

    def field(self, path):
        if path in GEOIP_FIELDS:
            return geoip_field(self, path)
        return resolve(self.obj, path)


def _iter_array(text, start):
    """(raw, obj) of each element of the JSON array whose '[' is at text[start]."""
    dec = json.JSONDecoder()
    i = start + 1
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            return
        obj, end = dec.raw_decode(text, i)
        yield text[i:end], obj
        i = end


def read_events(path):
    """(ordinal, Event) for each event of one input file, framed as logsift frames it."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fp:
        text = fp.read()
    head = text.lstrip()[:64]
    if head.startswith("["):
        for k, (raw, obj) in enumerate(_iter_array(text, text.index("["))):
            yield k, Event(obj, raw, "json")
        return
    m = re.match(r'\s*\{\s*"Records"\s*:\s*\[', text)
    if m:
        for k, (raw, obj) in enumerate(_iter_array(text, m.end() - 1)):
            yield k, Event(obj, raw, "json")
        return
    if head.startswith("{"):
        # JSON values back to back (JSON lines, or pretty-printed objects): one event each
        dec = json.JSONDecoder()
        values, i, n = [], 0, len(text)
        try:
            while True:
                while i < n and text[i] in " \t\r\n":
                    i += 1
                if i >= n:
                    break
                obj, end = dec.raw_decode(text, i)
                values.append((text[i:end], obj))
                i = end
        except ValueError:
            values = None
        if values is not None:
            for k, (raw, obj) in enumerate(values):
                yield k, Event(obj, raw, "json")
            return
    k = 0
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip(" \t\r\f\v"):
            continue
        if line.lstrip().startswith("{"):
            try:
                yield k, Event(json.loads(line), line, "json")
                k += 1
                continue
            except ValueError:
                pass
        yield k, Event(None, line, "syslog")
        k += 1


def input_files(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                out += [os.path.join(root, n) for n in sorted(names)]
        else:
            out.append(p)
    return out


# ---- evaluation --------------------------------------------------------------------------------

def applies(rule, event):
    """CloudTrail rules look at JSON events, Linux rules at syslog lines."""
    return rule.is_syslog == (event.kind == "syslog")


def finding(rule, source, ordinal, event, group=None):
    f = {"rule": rule.id, "title": rule.title, "level": rule.level, "source": source,
         "ordinal": ordinal}
    if event.kind == "json" and isinstance(event.obj, dict) and "eventID" in event.obj:
        f["eventID"] = event.obj["eventID"]
    if group is not None:
        f["group"] = group
    return f


def silent_rules(rules, corrs):
    """Ids of the rules (and correlations) that only feed correlations: referred to by
    correlations, none of which says generate: true."""
    names = {}
    for r in list(rules) + list(corrs):
        names[r.id] = r.id
        if r.name:
            names[str(r.name)] = r.id
    referred, generated = set(), set()
    for c in corrs:
        ids = {names.get(x, x) for x in c.rules}
        referred |= ids
        if c.generate:
            generated |= ids
    return referred - generated


def evaluate(rules, corrs, inputs, with_correlations=True, silence=True):
    """All findings: per-event rules in input order, then correlations. With correlations,
    rules that only feed them report nothing themselves (Sigma's generate: false)."""
    silent = silent_rules(rules, corrs) if with_correlations and silence else set()
    out = []
    matches = {}  # rule id -> [(ts, seq, source, ordinal, event)]
    # Correlations take events of one second in input-name order, then in file order, as
    # logsift does (its findings do not depend on the order of the command line).
    name_rank = {p: i for i, p in enumerate(sorted(set(inputs)))}
    for path in inputs:
        for ordinal, ev in read_events(path):
            seq = (name_rank[path], ordinal)
            for r in rules:
                if applies(r, ev) and r.match(ev):
                    if r.id not in silent:
                        out.append(finding(r, path, ordinal, ev))
                    if with_correlations:
                        matches.setdefault(r.id, []).append((ev.ts, seq, path, ordinal, ev))
    if with_correlations:
        out += run_correlations(corrs, rules, matches, silent)
    return out


def _group_key(corr, ev):
    key = []
    for g in corr.group_by:
        found, vals = ev.field(g)
        vals = [as_text(v) for v in vals if as_text(v) is not None]
        if not vals:
            return None
        key.append(vals[0])
    return tuple(key)


def run_correlations(corrs, rules, matches, silent=frozenset()):
    by_name = {}
    for r in list(rules) + list(corrs):
        by_name[r.id] = r.id
        if r.name:
            by_name[str(r.name)] = r.id
    done = {}
    out = []
    pending = list(corrs)
    while pending:
        progress = False
        for c in list(pending):
            refs = [by_name.get(x) for x in c.rules]
            if any(x is None for x in refs):
                raise SigmaError("%s: correlation refers to unknown rule(s) %s" % (
                    c.path, [x for x, y in zip(c.rules, refs) if y is None]))
            for inner in (cc for cc in corrs if cc.id in refs):
                # a firing of inner has inner's group-by fields only (as logsift requires)
                missing = [g for g in c.group_by + ([c.field] if c.field else [])
                           if g not in inner.group_by]
                if missing:
                    raise SigmaError("%s: correlation %s reads %s, which correlation %s does "
                                     "not group by" % (c.path, c.id, missing, inner.id))
            if any(x in (cc.id for cc in pending) for x in refs):
                continue
            fired = _correlate(c, refs, matches)
            matches[c.id] = fired
            for (ts, seq, src, ordinal, ev, group) in fired:
                if c.id not in silent:
                    out.append(finding(c, src, ordinal, ev, group))
            pending.remove(c)
            progress = True
        if not progress:
            raise SigmaError("correlation rules refer to each other in a cycle: %s" %
                             [c.path for c in pending])
    return out


def _correlate(c, refs, matches):
    stream = []
    for k, rid in enumerate(refs):
        for m in matches.get(rid, []):
            ts, seq, src, ordinal, ev = m[:5]
            if ts is None:
                continue
            stream.append((ts, seq, k, src, ordinal, ev))
    # Same time: temporal_ordered takes its rules in their listed order (steps a log stamped
    # with one second), the others take events in input-name order.
    ordered = c.type == "temporal_ordered"
    stream.sort(key=lambda x: (x[0], x[2] if ordered else 0, x[1]))
    state = {}
    quiet = {}  # group -> time before which a count correlation does not fire again
    fired = []
    for ts, seq, k, src, ordinal, ev in stream:
        key = _group_key(c, ev)
        if key is None:
            continue
        group = dict(zip(c.group_by, key))
        st = state.setdefault(key, [])
        if c.type in ("event_count", "value_count"):
            val = None
            if c.type == "value_count":
                found, vals = ev.field(c.field)
                vals = [as_text(v) for v in vals if as_text(v) is not None]
                if not vals:
                    continue
                val = vals[0]
            st.append((ts, val))
            while st and st[0][0] < ts - c.timespan:
                st.pop(0)
            n = len(st) if c.type == "event_count" else len({v for _, v in st})
            if c.holds(n) and ts >= quiet.get(key, ts):
                fired.append((ts, seq, src, ordinal, ev, group))
                st.clear()
                quiet[key] = ts + c.timespan
        elif c.type == "temporal":
            st.append((ts, k))
            while st and st[0][0] < ts - c.timespan:
                st.pop(0)
            if len({kk for _, kk in st}) == len(refs):
                fired.append((ts, seq, src, ordinal, ev, group))
                st.clear()
        else:  # temporal_ordered: rule 0, then rule 1, ... within timespan of rule 0's event
            if not st:
                st.extend([None, 0])  # [start ts, next step]
            if st[0] is not None and ts - st[0] > c.timespan:
                st[0], st[1] = None, 0
            if k == 0:
                st[0], st[1] = ts, 1
            elif st[0] is not None and k == st[1]:
                st[1] += 1
            if st[0] is not None and st[1] == len(refs):
                fired.append((ts, seq, src, ordinal, ev, group))
                st[0], st[1] = None, 0
    return fired


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Reference Sigma evaluator (plain field-by-field).")
    ap.add_argument("-r", "--rules", action="append",
                    help="rule file or directory (repeatable); default patterns/packs")
    ap.add_argument("--no-correlations", action="store_true",
                    help="evaluate per-event rules only")
    ap.add_argument("--geoip-networks", metavar="FILE",
                    help="networks JSON of a test GeoIP database (tests/data/geoip/networks.json)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args(argv)
    try:
        set_geoip_networks(a.geoip_networks)
        rules, corrs = load_rules(a.rules or [os.path.join(here, "..", "..", "patterns",
                                                           "packs")])
        for f in evaluate(rules, corrs, input_files(a.inputs), not a.no_correlations):
            print(json.dumps(f, sort_keys=True))
    except SigmaError as e:
        print("sigma_ref: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("sigma_ref: %s: %s (check the path)" % (e.filename, e.strerror), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
