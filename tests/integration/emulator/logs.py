"""CloudWatch Logs (JSON 1.1, X-Amz-Target Logs_20140328.<Op>) held in memory.

Operations: CreateLogGroup, CreateLogStream, DeleteLogGroup, DeleteLogStream, PutRetentionPolicy,
PutLogEvents, DescribeLogGroups, DescribeLogStreams, FilterLogEvents, GetLogEvents.
Limits and messages follow ../shared/spec/aws-facts.md section 4 and the Logs API reference.
"""
import base64
import bisect
import heapq
import json
import re
import threading

from wire import ApiError

PAGE_MAX_BYTES = 1048576          # every page: at most 1 MB ...
PAGE_MAX_EVENTS = 10000           # ... or 10,000 events (FilterLogEvents/GetLogEvents default and max)
EVENT_OVERHEAD = 26               # bytes AWS adds per event when sizing batches and pages
PUT_MAX_EVENTS = 10000
PUT_MAX_BYTES = 1048576
EVENT_MAX_BYTES = 262144 - EVENT_OVERHEAD
PUT_MAX_SPAN_MS = 24 * 3600 * 1000
TOO_OLD_MS = 14 * 24 * 3600 * 1000
TOO_NEW_MS = 2 * 3600 * 1000

GROUP_RE = re.compile(r"[\.\-_/#A-Za-z0-9]+")
STREAM_RE = re.compile(r"[^:*]*")
MAX_TS = 10 ** 20 - 1


def _invalid(message):
    return ApiError("InvalidParameterException", message)


def _validation(value, name, constraint):
    return _invalid(f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
                    f"constraint: {constraint}")


def _not_found(what):
    return ApiError("ResourceNotFoundException", f"The specified {what} does not exist.")


def _serialization(name, expected):
    return ApiError("SerializationException", f"Value for '{name}' must be {expected}")


# -- parameter readers ------------------------------------------------------------------------

def _str(p, name, required=False, pattern=None, max_len=512, min_len=1):
    value = p.get(name)
    if value is None:
        if required:
            raise _validation("null", name, "Member must not be null")
        return None
    if not isinstance(value, str):
        raise _serialization(name, "a string")
    if len(value) < min_len:
        raise _validation(value, name, f"Member must have length greater than or equal to {min_len}")
    if len(value) > max_len:
        raise _validation(value, name, f"Member must have length less than or equal to {max_len}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _validation(value, name, "Member must satisfy regular expression pattern: "
                          + pattern.pattern)
    return value


def _int(p, name, lo=None, hi=None):
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise _serialization(name, "an integer")
    value = int(value)
    if lo is not None and value < lo:
        raise _validation(value, name, f"Member must have value greater than or equal to {lo}")
    if hi is not None and value > hi:
        raise _validation(value, name, f"Member must have value less than or equal to {hi}")
    return value


def _bool(p, name):
    value = p.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _serialization(name, "a boolean")
    return value


def _group_name(p):
    """logGroupName xor logGroupIdentifier (a name or a log-group ARN)."""
    name = p.get("logGroupName")
    ident = p.get("logGroupIdentifier")
    if name is not None and ident is not None:
        raise _invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if ident is not None:
        ident = _str(p, "logGroupIdentifier", max_len=2048)
        if ident.startswith("arn:"):
            parts = ident.split(":")
            if len(parts) < 7 or parts[5] != "log-group":
                raise _invalid(f"Invalid log group identifier {ident}")
            return parts[6]
        return ident
    return _str(p, "logGroupName", required=True, pattern=GROUP_RE)


def _encode_token(doc):
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def _decode_token(token):
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise _invalid("The specified nextToken is invalid.")


def _key_digits(key):
    ts, ingest, seq = key
    return f"{ts:020d}{ingest:016d}{seq:020d}"


def _digits_key(digits):
    return (int(digits[:20]), int(digits[20:36]), int(digits[36:]))


# -- filter patterns --------------------------------------------------------------------------

class _TermPattern:
    """Unstructured patterns: `A B` (all), `"exact phrase"`, `?A ?B` (any), `-A` (none).
    A term matches as a case-sensitive substring of the message."""

    def __init__(self, text):
        self.all_terms, self.any_terms, self.none_terms = [], [], []
        i = 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            mode = ""
            if text[i] in "?-" and i + 1 < len(text) and not text[i + 1].isspace():
                mode, i = text[i], i + 1
            if text[i] == '"':
                end = i + 1
                chunk = []
                while end < len(text) and text[end] != '"':
                    if text[end] == "\\" and end + 1 < len(text):
                        end += 1
                    chunk.append(text[end])
                    end += 1
                if end >= len(text):
                    raise _invalid("Invalid filter pattern: unterminated quoted term")
                term, i = "".join(chunk), end + 1
            else:
                end = i
                while end < len(text) and not text[end].isspace():
                    end += 1
                term, i = text[i:end], end
            {"": self.all_terms, "?": self.any_terms, "-": self.none_terms}[mode].append(term)

    def __call__(self, message):
        if any(t not in message for t in self.all_terms):
            return False
        if any(t in message for t in self.none_terms):
            return False
        return not self.any_terms or any(t in message for t in self.any_terms)


_JSON_TOKEN = re.compile(r"""\s*(?:(\(|\)|&&|\|\||!=|<=|>=|=|<|>)|("(?:[^"\\]|\\.)*")|([^\s()=!<>&|]+))""")
_MISSING = object()


class _JsonPattern:
    """JSON selector patterns: { $.a.b[0] = "x*" && ($.n > 5 || $.c NOT EXISTS) }.
    Supports = != < > <= >= (strings with * wildcards, numbers), IS TRUE|FALSE|NULL, [NOT] EXISTS."""

    def __init__(self, text):
        body = text.strip()[1:-1]
        self.tokens = []
        pos = 0
        while pos < len(body):
            m = _JSON_TOKEN.match(body, pos)
            if not m or m.end() == pos:
                if body[pos:].strip() == "":
                    break
                raise _invalid(f"Invalid filter pattern near '{body[pos:pos + 20]}'")
            pos = m.end()
            op, quoted, word = m.groups()
            if op:
                self.tokens.append(("op", op))
            elif quoted:
                self.tokens.append(("str", json.loads(quoted)))
            elif word:
                self.tokens.append(("word", word))
        self.pos = 0
        self.tree = self._expr()
        if self.pos != len(self.tokens):
            raise _invalid("Invalid filter pattern: unexpected trailing input")

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _next(self):
        tok = self._peek()
        if tok[0] is None:
            raise _invalid("Invalid filter pattern: unexpected end")
        self.pos += 1
        return tok

    def _expr(self):
        node = self._and()
        while self._peek() == ("op", "||"):
            self.pos += 1
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._factor()
        while self._peek() == ("op", "&&"):
            self.pos += 1
            node = ("and", node, self._factor())
        return node

    def _factor(self):
        kind, value = self._next()
        if (kind, value) == ("op", "("):
            node = self._expr()
            if self._next() != ("op", ")"):
                raise _invalid("Invalid filter pattern: missing ')'")
            return node
        if kind != "word" or not value.startswith("$"):
            raise _invalid(f"Invalid filter pattern: expected a $ selector, got '{value}'")
        path = self._path(value)
        kind2, value2 = self._next()
        if kind2 == "word" and value2.upper() == "IS":
            _, what = self._next()
            return ("is", path, str(what).upper())
        if kind2 == "word" and value2.upper() == "NOT":
            if str(self._next()[1]).upper() != "EXISTS":
                raise _invalid("Invalid filter pattern: expected EXISTS after NOT")
            return ("exists", path, False)
        if kind2 == "word" and value2.upper() == "EXISTS":
            return ("exists", path, True)
        if kind2 != "op" or value2 not in ("=", "!=", "<", ">", "<=", ">="):
            raise _invalid(f"Invalid filter pattern: expected an operator after {value}")
        vkind, operand = self._next()
        if vkind == "op":
            raise _invalid("Invalid filter pattern: expected a value")
        if vkind == "word":
            try:
                operand = float(operand)
            except ValueError:
                pass
        return ("cmp", path, value2, operand)

    @staticmethod
    def _path(selector):
        steps = []
        for m in re.finditer(r"\.([^.\[\]]+)|\[(\d+)\]", selector[1:]):
            steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        return steps

    @staticmethod
    def _lookup(doc, path):
        for step in path:
            if isinstance(step, int):
                if not isinstance(doc, list) or step >= len(doc):
                    return _MISSING
                doc = doc[step]
            else:
                if not isinstance(doc, dict) or step not in doc:
                    return _MISSING
                doc = doc[step]
        return doc

    def _eval(self, node, doc):
        kind = node[0]
        if kind == "or":
            return self._eval(node[1], doc) or self._eval(node[2], doc)
        if kind == "and":
            return self._eval(node[1], doc) and self._eval(node[2], doc)
        value = self._lookup(doc, node[1])
        if kind == "exists":
            return (value is not _MISSING) == node[2]
        if kind == "is":
            return value is not _MISSING and value == {"TRUE": True, "FALSE": False,
                                                       "NULL": None}.get(node[2], _MISSING)
        _, _, op, operand = node
        if value is _MISSING:
            return False
        if isinstance(operand, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            return {"=": value == operand, "!=": value != operand, "<": value < operand,
                    ">": value > operand, "<=": value <= operand, ">=": value >= operand}[op]
        if op not in ("=", "!="):
            raise _invalid(f"Invalid filter pattern: {op} needs a numeric value")
        if not isinstance(value, str):
            return False
        regex = "^" + ".*".join(re.escape(part) for part in str(operand).split("*")) + "$"
        hit = re.match(regex, value, re.S) is not None
        return hit if op == "=" else not hit

    def __call__(self, message):
        try:
            doc = json.loads(message)
        except ValueError:
            return False
        return self._eval(self.tree, doc)


def compile_filter(pattern):
    """-> predicate(message) or None for "match everything"."""
    if pattern is None or pattern.strip() == "":
        return None
    text = pattern.strip()
    if text.startswith("{"):
        if not text.endswith("}"):
            raise _invalid("Invalid filter pattern: missing '}'")
        return _JsonPattern(text)
    if text.startswith("["):
        raise _invalid("Space-delimited filter patterns ([a, b, ...]) are not supported by the "
                       "logsift emulator")
    return _TermPattern(text)


# -- state ------------------------------------------------------------------------------------

class _Event:
    __slots__ = ("timestamp", "message", "ingestion", "seq", "stream", "size")

    def __init__(self, timestamp, message, ingestion, seq, stream):
        self.timestamp = timestamp
        self.message = message
        self.ingestion = ingestion
        self.seq = seq
        self.stream = stream
        self.size = len(message.encode()) + EVENT_OVERHEAD

    @property
    def key(self):
        return (self.timestamp, self.ingestion, self.seq)


class _Stream:
    def __init__(self, name, created_ms, arn):
        self.name = name
        self.created_ms = created_ms
        self.arn = arn
        self.keys = []        # sorted (timestamp, ingestionTime, seq)
        self.events = []      # parallel to keys
        self.last_ingestion = None
        self.stored_bytes = 0

    def add(self, event):
        key = event.key
        idx = bisect.bisect_right(self.keys, key)
        self.keys.insert(idx, key)
        self.events.insert(idx, event)
        self.stored_bytes += event.size
        if self.last_ingestion is None or event.ingestion > self.last_ingestion:
            self.last_ingestion = event.ingestion

    def describe(self, with_bytes=True):
        out = {"logStreamName": self.name, "creationTime": self.created_ms, "arn": self.arn,
               "storedBytes": self.stored_bytes if with_bytes else 0}
        if self.events:
            out["firstEventTimestamp"] = self.keys[0][0]
            out["lastEventTimestamp"] = self.keys[-1][0]
            out["lastIngestionTime"] = self.last_ingestion
        return out


class _Group:
    def __init__(self, name, created_ms, region, account):
        self.name = name
        self.created_ms = created_ms
        self.region = region
        self.arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        self.streams = {}
        self.retention_days = None
        self.log_group_class = "STANDARD"

    def describe(self):
        out = {"logGroupName": self.name, "creationTime": self.created_ms, "metricFilterCount": 0,
               "arn": self.arn + ":*", "logGroupArn": self.arn, "logGroupClass": self.log_group_class,
               "storedBytes": sum(s.stored_bytes for s in self.streams.values())}
        if self.retention_days:
            out["retentionInDays"] = self.retention_days
        return out


class LogsService:
    RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653}

    def __init__(self, account, enforce_time_limits=True):
        self.account = account
        self.enforce_time_limits = enforce_time_limits
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.groups = {}
            self.seq = 0
            self.put_count = 0

    def _group(self, name):
        group = self.groups.get(name)
        if group is None:
            raise _not_found("log group")
        return group

    def handle(self, operation, params, ctx):
        handler = getattr(self, "op_" + operation, None)
        if handler is None:
            raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
        with self.lock:
            return handler(params, ctx)

    # -- create/delete --

    def op_CreateLogGroup(self, p, ctx):
        name = _str(p, "logGroupName", required=True, pattern=GROUP_RE)
        if name in self.groups:
            raise ApiError("ResourceAlreadyExistsException", "The specified log group already exists")
        group = _Group(name, ctx.now_ms, ctx.region, self.account)
        if p.get("logGroupClass") is not None:
            group.log_group_class = _str(p, "logGroupClass")
        self.groups[name] = group
        return None

    def op_CreateLogStream(self, p, ctx):
        group = self._group(_str(p, "logGroupName", required=True, pattern=GROUP_RE))
        name = _str(p, "logStreamName", required=True, pattern=STREAM_RE)
        if name in group.streams:
            raise ApiError("ResourceAlreadyExistsException", "The specified log stream already exists")
        group.streams[name] = _Stream(name, ctx.now_ms, f"{group.arn}:log-stream:{name}")
        return None

    def op_DeleteLogGroup(self, p, ctx):
        name = _str(p, "logGroupName", required=True, pattern=GROUP_RE)
        self._group(name)
        del self.groups[name]
        return None

    def op_DeleteLogStream(self, p, ctx):
        group = self._group(_str(p, "logGroupName", required=True, pattern=GROUP_RE))
        name = _str(p, "logStreamName", required=True, pattern=STREAM_RE)
        if name not in group.streams:
            raise _not_found("log stream")
        del group.streams[name]
        return None

    def op_PutRetentionPolicy(self, p, ctx):
        group = self._group(_str(p, "logGroupName", required=True, pattern=GROUP_RE))
        days = _int(p, "retentionInDays")
        if days not in self.RETENTION_DAYS:
            raise _validation(days, "retentionInDays", "Member must satisfy enum value set: "
                              + str(sorted(self.RETENTION_DAYS)))
        group.retention_days = days
        return None

    # -- PutLogEvents --

    def op_PutLogEvents(self, p, ctx):
        group = self._group(_str(p, "logGroupName", required=True, pattern=GROUP_RE))
        stream_name = _str(p, "logStreamName", required=True, pattern=STREAM_RE)
        events = p.get("logEvents")
        if events is None:
            raise _validation("null", "logEvents", "Member must not be null")
        if not isinstance(events, list):
            raise _serialization("logEvents", "a list")
        if not 1 <= len(events) <= PUT_MAX_EVENTS:
            raise _validation(f"[{len(events)} events]", "logEvents",
                              f"Member must have length between 1 and {PUT_MAX_EVENTS}")
        stream = group.streams.get(stream_name)
        if stream is None:
            raise _not_found("log stream")
        parsed = []
        total = 0
        for i, ev in enumerate(events):
            if not isinstance(ev, dict):
                raise _serialization(f"logEvents.{i + 1}", "a structure")
            ts = _int(ev, "timestamp", lo=0)
            message = ev.get("message")
            if ts is None:
                raise _validation("null", f"logEvents.{i + 1}.member.timestamp", "Member must not be null")
            if not isinstance(message, str):
                raise _validation("null", f"logEvents.{i + 1}.member.message", "Member must not be null")
            if message == "":
                raise _validation("", f"logEvents.{i + 1}.member.message",
                                  "Member must have length greater than or equal to 1")
            size = len(message.encode()) + EVENT_OVERHEAD
            if size - EVENT_OVERHEAD > EVENT_MAX_BYTES:
                raise _invalid(f"Log event too large: {size} bytes exceeds limit of 262144")
            if parsed and ts < parsed[-1][0]:
                raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
            total += size
            parsed.append((ts, message))
        if total > PUT_MAX_BYTES:
            raise _invalid(f"Upload too large: {total} bytes exceeds limit of {PUT_MAX_BYTES}")
        if parsed[-1][0] - parsed[0][0] > PUT_MAX_SPAN_MS:
            raise _invalid("The batch of log events in a single PutLogEvents request cannot span "
                           "more than 24 hours.")
        rejected = {}
        accept_from, accept_to = 0, len(parsed)
        if self.enforce_time_limits:
            too_old = [i for i, (ts, _) in enumerate(parsed) if ts < ctx.now_ms - TOO_OLD_MS]
            if too_old:
                rejected["tooOldLogEventEndIndex"] = too_old[-1]
                accept_from = too_old[-1] + 1
            if group.retention_days:
                limit = ctx.now_ms - group.retention_days * 86400000
                expired = [i for i, (ts, _) in enumerate(parsed) if ts < limit]
                if expired:
                    rejected["expiredLogEventEndIndex"] = expired[-1]
                    accept_from = max(accept_from, expired[-1] + 1)
            too_new = [i for i, (ts, _) in enumerate(parsed) if ts > ctx.now_ms + TOO_NEW_MS]
            if too_new:
                rejected["tooNewLogEventStartIndex"] = too_new[0]
                accept_to = too_new[0]
        for ts, message in parsed[accept_from:accept_to]:
            self.seq += 1
            stream.add(_Event(ts, message, ctx.now_ms, self.seq, stream.name))
        self.put_count += 1
        out = {"nextSequenceToken": f"{self.put_count:056d}"}
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    # -- Describe --

    def op_DescribeLogGroups(self, p, ctx):
        prefix = _str(p, "logGroupNamePrefix", pattern=GROUP_RE)
        pattern = _str(p, "logGroupNamePattern", min_len=0)
        if prefix is not None and pattern is not None:
            raise _invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive.")
        limit = _int(p, "limit", 1, 50) or 50
        names = sorted(n for n in self.groups
                       if (prefix is None or n.startswith(prefix))
                       and (not pattern or pattern in n))
        start = 0
        if p.get("nextToken") is not None:
            tok = _decode_token(_str(p, "nextToken", max_len=4096))
            start = next((i for i, n in enumerate(names) if n > tok.get("after", "")), len(names))
        page = names[start:start + limit]
        out = {"logGroups": [self.groups[n].describe() for n in page]}
        if start + limit < len(names):
            out["nextToken"] = _encode_token({"after": page[-1]})
        return out

    def op_DescribeLogStreams(self, p, ctx):
        group = self._group(_group_name(p))
        prefix = _str(p, "logStreamNamePrefix", pattern=STREAM_RE)
        order_by = _str(p, "orderBy") or "LogStreamName"
        if order_by not in ("LogStreamName", "LastEventTime"):
            raise _validation(order_by, "orderBy",
                              "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
        if order_by == "LastEventTime" and prefix is not None:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(_bool(p, "descending"))
        limit = _int(p, "limit", 1, 50) or 50
        streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]
        if order_by == "LogStreamName":
            streams.sort(key=lambda s: s.name, reverse=descending)
        else:
            streams.sort(key=lambda s: ((s.keys[-1][0] if s.keys else 0), s.name), reverse=descending)
        start = 0
        if p.get("nextToken") is not None:
            tok = _decode_token(_str(p, "nextToken", max_len=4096))
            if tok.get("g") != group.name or not isinstance(tok.get("o"), int):
                raise _invalid("The specified nextToken is invalid.")
            start = tok["o"]
        page = streams[start:start + limit]
        out = {"logStreams": [s.describe() for s in page]}
        if start + limit < len(streams):
            out["nextToken"] = _encode_token({"g": group.name, "o": start + limit})
        return out

    # -- FilterLogEvents --

    def op_FilterLogEvents(self, p, ctx):
        group = self._group(_group_name(p))
        names = p.get("logStreamNames")
        prefix = _str(p, "logStreamNamePrefix", pattern=STREAM_RE)
        if names is not None and prefix is not None:
            raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise _serialization("logStreamNames", "a list of strings")
            if not 1 <= len(names) <= 100:
                raise _validation(names, "logStreamNames",
                                  "Member must have length between 1 and 100")
        start_time = _int(p, "startTime", lo=0)
        end_time = _int(p, "endTime", lo=0)
        pattern_text = _str(p, "filterPattern", max_len=1024, min_len=0)
        predicate = compile_filter(pattern_text)
        limit = _int(p, "limit", 1, PAGE_MAX_EVENTS) or PAGE_MAX_EVENTS
        after = (-1, -1, -1)
        if p.get("nextToken") is not None:
            tok = _decode_token(_str(p, "nextToken", max_len=4096))
            if tok.get("g") != group.name or not isinstance(tok.get("k"), list) or len(tok["k"]) != 3:
                raise _invalid("The specified nextToken is invalid.")
            after = tuple(tok["k"])
        if names is not None:
            streams = [group.streams[n] for n in dict.fromkeys(names) if n in group.streams]
        else:
            streams = [s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)]

        def walk(stream):
            idx = bisect.bisect_right(stream.keys, after)
            if start_time is not None:
                idx = max(idx, bisect.bisect_left(stream.keys, (start_time,)))
            for j in range(idx, len(stream.keys)):
                yield stream.keys[j], stream.events[j]

        events, size, last, more = [], 0, None, False
        for key, ev in heapq.merge(*(walk(s) for s in streams), key=lambda kv: kv[0]):
            if end_time is not None and key[0] > end_time:
                break
            if predicate is not None and not predicate(ev.message):
                continue
            if len(events) >= limit or size + ev.size > PAGE_MAX_BYTES:
                more = True
                break
            events.append({"logStreamName": ev.stream, "timestamp": ev.timestamp,
                           "message": ev.message, "ingestionTime": ev.ingestion,
                           "eventId": _key_digits(key)})
            size += ev.size
            last = key
        out = {"events": events, "searchedLogStreams": []}
        if more:
            out["nextToken"] = _encode_token({"g": group.name, "k": list(last)})
        return out

    def empty_filter_page(self, p):
        """The 'empty-page' fault: no events, and a token that resumes where the caller stands."""
        token = p.get("nextToken")
        if not isinstance(token, str):
            token = _encode_token({"g": _group_name(p), "k": [-1, -1, -1]})
        return {"events": [], "searchedLogStreams": [], "nextToken": token}

    # -- GetLogEvents --

    def op_GetLogEvents(self, p, ctx):
        group = self._group(_group_name(p))
        stream_name = _str(p, "logStreamName", required=True, pattern=STREAM_RE)
        stream = group.streams.get(stream_name)
        if stream is None:
            raise _not_found("log stream")
        start_time = _int(p, "startTime", lo=0)
        end_time = _int(p, "endTime", lo=0)
        limit = _int(p, "limit", 1, PAGE_MAX_EVENTS) or PAGE_MAX_EVENTS
        from_head = bool(_bool(p, "startFromHead"))
        keys = stream.keys
        lo = bisect.bisect_left(keys, (start_time,)) if start_time is not None else 0
        hi = bisect.bisect_left(keys, (end_time,)) if end_time is not None else len(keys)
        hi = max(lo, hi)
        token = p.get("nextToken")
        direction, bound = None, None
        if token is not None:
            token = _str(p, "nextToken", max_len=4096)
            m = re.fullmatch(r"([fb])/(\d{56})/s", token)
            if not m:
                raise _invalid("The specified nextToken is invalid.")
            direction, bound = m.group(1), _digits_key(m.group(2))
        if direction == "f" or (direction is None and from_head):
            first = lo if bound is None else max(lo, bisect.bisect_right(keys, bound))
            idx, size, picked = first, 0, []
            while idx < hi and len(picked) < limit and size + stream.events[idx].size <= PAGE_MAX_BYTES:
                picked.append(idx)
                size += stream.events[idx].size
                idx += 1
        else:
            last = hi if bound is None else min(hi, bisect.bisect_left(keys, bound))
            idx, size, picked = last - 1, 0, []
            while idx >= lo and len(picked) < limit and size + stream.events[idx].size <= PAGE_MAX_BYTES:
                picked.append(idx)
                size += stream.events[idx].size
                idx -= 1
            picked.reverse()
        events = [{"timestamp": stream.events[i].timestamp, "message": stream.events[i].message,
                   "ingestionTime": stream.events[i].ingestion} for i in picked]
        if picked:
            fwd, back = keys[picked[-1]], keys[picked[0]]
            return {"events": events, "nextForwardToken": f"f/{_key_digits(fwd)}/s",
                    "nextBackwardToken": f"b/{_key_digits(back)}/s"}
        # Nothing to return: at the end of a forward read (or the start of a backward one) AWS
        # hands back the token it was given; the other direction resumes from the same place.
        if bound is None:
            bound = (start_time or 0, 0, 0) if (from_head or lo == hi) else keys[hi - 1]
            direction = "f"
        if direction == "f":
            return {"events": [], "nextForwardToken": f"f/{_key_digits(bound)}/s",
                    "nextBackwardToken": f"b/{_key_digits((bound[0], bound[1], bound[2] + 1))}/s"}
        prev = (bound[0], bound[1], max(bound[2] - 1, 0))
        return {"events": [], "nextForwardToken": f"f/{_key_digits(prev)}/s",
                "nextBackwardToken": f"b/{_key_digits(bound)}/s"}

    # -- emulator-only helpers (inspection API) --

    def seed(self, doc, ctx):
        """POST /_emulator/logs/events: insert events with any timestamps, creating the group and
        stream if needed, without AWS's age checks (for fixtures with historical timestamps)."""
        group_name, stream_name = doc.get("logGroupName"), doc.get("logStreamName")
        if not isinstance(group_name, str) or not isinstance(stream_name, str):
            raise ValueError("logGroupName and logStreamName are required strings")
        with self.lock:
            group = self.groups.get(group_name)
            if group is None:
                group = self.groups[group_name] = _Group(group_name, ctx.now_ms, ctx.region, self.account)
            stream = group.streams.get(stream_name)
            if stream is None:
                stream = group.streams[stream_name] = _Stream(
                    stream_name, ctx.now_ms, f"{group.arn}:log-stream:{stream_name}")
            n = 0
            for ev in doc.get("events", []):
                self.seq += 1
                stream.add(_Event(int(ev["timestamp"]), str(ev["message"]),
                                  int(ev.get("ingestionTime", ctx.now_ms)), self.seq, stream_name))
                n += 1
            return {"inserted": n}

    def snapshot(self):
        with self.lock:
            return {"logGroups": [
                {"logGroupName": g.name, "arn": g.arn,
                 "logStreams": [{"logStreamName": s.name, "events": len(s.events)}
                                for s in sorted(g.streams.values(), key=lambda s: s.name)]}
                for g in sorted(self.groups.values(), key=lambda g: g.name)]}

    def dump_events(self, group_name, stream_name):
        with self.lock:
            group = self.groups.get(group_name)
            stream = group.streams.get(stream_name) if group else None
            if stream is None:
                return None
            return [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion,
                     "eventId": _key_digits(e.key)} for e in stream.events]
