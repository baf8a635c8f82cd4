"""CloudTrail (JSON 1.1, X-Amz-Target com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>)
held in memory: just ListPublicKeys, for log-file integrity validation (aws-facts.md 7.5).

Tests load keys with POST /_emulator/cloudtrail/public-keys
{"keys": [{"Value": "<base64 DER>", "Fingerprint": "<32 hex>", "ValidityStartTime": <epoch s>,
"ValidityEndTime": <epoch s>}]}; a key overlaps the request's [StartTime, EndTime] to be listed.
"""
import threading

from wire import ApiError


class CloudTrailService:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = []

    def reset(self):
        with self.lock:
            self.keys = []

    def set_keys(self, doc):
        keys = doc["keys"]
        for k in keys:
            for field in ("Value", "Fingerprint"):
                if not isinstance(k.get(field), str):
                    raise ValueError(f"public key lacks {field}")
        with self.lock:
            self.keys = [dict(k) for k in keys]
        return {"keys": len(keys)}

    def handle(self, operation, params, ctx):
        if operation != "ListPublicKeys":
            raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
        start = params.get("StartTime", 0)
        end = params.get("EndTime", 2 ** 62)
        for name, value in (("StartTime", start), ("EndTime", end)):
            if not isinstance(value, (int, float)):
                raise ApiError("SerializationException", f"Value for '{name}' must be a timestamp")
        with self.lock:
            listed = [k for k in self.keys
                      if k.get("ValidityStartTime", 0) <= end and k.get("ValidityEndTime", 2 ** 62) >= start]
        return {"PublicKeyList": listed}
