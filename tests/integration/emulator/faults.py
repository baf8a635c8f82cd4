"""Fault injection: rules set through POST /_emulator/faults, consumed by matching AWS requests.

A rule: {"match": {...}, "fault": KIND, "count": N, "skip": K, "delay_ms": D, "when": "before|after"}
  match     keys service (logs|sns|monitoring), operation (FilterLogEvents, Publish, ...), target
            (the X-Amz-Target header), action (Query Action), accessKeyId; a value may be a list
            (any of). An empty match catches every AWS request.
  count     how many matching requests get the fault (default 1; -1 = until reset)
  skip      let the first K matching requests through untouched first (default 0)
  when      "before" (default): the operation does not run; "after": it runs (state changes, e.g.
            the SNS message is stored) and the client still sees the fault -- the lost-response case
  KIND      throttle | 500 | 503-slowdown | expired | reset | close | truncate | slow | empty-page |
            error (with "status", "code", "message")
"""
import threading

KINDS = ("throttle", "500", "503-slowdown", "expired", "reset", "close", "truncate", "slow",
         "empty-page", "error")
MATCH_KEYS = ("service", "operation", "target", "action", "accessKeyId")


class FaultRule:
    def __init__(self, doc):
        if not isinstance(doc, dict):
            raise ValueError("each rule must be an object")
        self.fault = str(doc.get("fault", ""))
        if self.fault not in KINDS:
            raise ValueError(f"unknown fault '{self.fault}'; known: {', '.join(KINDS)}")
        self.match = doc.get("match") or {}
        if not isinstance(self.match, dict) or any(k not in MATCH_KEYS for k in self.match):
            raise ValueError(f"match keys must be among {', '.join(MATCH_KEYS)}")
        self.count = int(doc.get("count", 1))
        self.skip = int(doc.get("skip", 0))
        self.delay_ms = int(doc.get("delay_ms", 2000 if self.fault == "slow" else 0))
        self.when = doc.get("when", "before")
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        self.status = int(doc.get("status", 500))
        self.code = str(doc.get("code", "InternalFailure"))
        self.message = str(doc.get("message", "Fault injected by the logsift emulator"))
        self.applied = 0

    def matches(self, info):
        for key, want in self.match.items():
            have = info.get(key)
            if isinstance(want, list):
                if have not in want:
                    return False
            elif have != want:
                return False
        return True

    def describe(self):
        return {"match": self.match, "fault": self.fault, "count": self.count, "skip": self.skip,
                "delay_ms": self.delay_ms, "when": self.when, "applied": self.applied,
                **({"status": self.status, "code": self.code, "message": self.message}
                   if self.fault == "error" else {})}


class FaultTable:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def set(self, doc):
        """{"rules": [...], "append": false}: replace (or extend) the rule list."""
        rules = [FaultRule(r) for r in doc.get("rules", [])]
        with self._lock:
            if doc.get("append"):
                self._rules.extend(rules)
            else:
                self._rules = rules

    def clear(self):
        with self._lock:
            self._rules = []

    def take(self, info):
        """The rule that applies to this request (its budget is consumed), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.count == 0 or not rule.matches(info):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.count > 0:
                    rule.count -= 1
                rule.applied += 1
                return rule
        return None

    def describe(self):
        with self._lock:
            return [r.describe() for r in self._rules]
