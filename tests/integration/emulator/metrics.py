"""CloudWatch PutMetricData over both wire protocols AWS accepts (aws-facts.md section 9):

  Query     Action=PutMetricData&Version=2010-08-01&Namespace=..&MetricData.member.N.*  (botocore 1.29,
            Debian's aws CLI v2, most C clients)
  json10q   awsQueryCompatible JSON 1.0, X-Amz-Target GraniteServiceVersion20100801.PutMetricData
            (botocore >= 1.3x); errors name the JSON shape and carry x-amzn-query-error

Both are parsed into the same datum form and checked against the section 9.2 limits; accepted datums
are kept for GET /_emulator/metrics.
"""
import datetime
import math
import re
import threading

from wire import ApiError, json_response, query_list, sub_params, xml_response

MAX_DATUMS = 1000
MAX_DIMENSIONS = 30
MAX_VALUES = 150
MAX_PAYLOAD_BYTES = 1048576
VALUE_LIMIT = 2.0 ** 360
PAST_LIMIT_S = 14 * 86400
FUTURE_LIMIT_S = 2 * 3600
NAMESPACE_RE = re.compile(r"[A-Za-z0-9.\-_/#: ]{1,255}")
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
}
# Query error code -> JSON shape name (CloudWatch model, awsQueryCompatible).
JSON_SHAPES = {
    "InvalidParameterValue": "InvalidParameterValueException",
    "MissingParameter": "MissingRequiredParameterException",
    "InvalidParameterCombination": "InvalidParameterCombinationException",
    "InternalServiceError": "InternalServiceFault",
}


def cw_error(code, message, protocol, status=400):
    if protocol == "json10q":
        return ApiError(JSON_SHAPES.get(code, code), message, status, query_code=code,
                        type_prefix="com.amazonaws.cloudwatch#" if code in JSON_SHAPES else "")
    return ApiError(code, message, status)


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Check:
    """Validation with AWS's Query-style parameter paths in the messages."""

    def __init__(self, protocol):
        self.protocol = protocol

    def missing(self, path):
        return cw_error("MissingParameter", f"The parameter {path} is required.", self.protocol)

    def invalid(self, path, value):
        return cw_error("InvalidParameterValue", f"The value {value} for parameter {path} is invalid.",
                        self.protocol)

    def number(self, path, raw):
        if isinstance(raw, bool):
            raise self.invalid(path, raw)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise self.invalid(path, raw)
        if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
            raise self.invalid(path, raw)
        return value

    def timestamp(self, path, raw):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        try:
            text = str(raw).strip().replace("Z", "+00:00")
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise self.invalid(path, raw)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()


def _from_query(p):
    """Query parameters -> (namespace, [raw datum dicts with JSON-style keys])."""
    datums = []
    for item in query_list(p, "MetricData.member"):
        datum = {k: v for k, v in item.items() if "." not in k}
        dims = query_list(item, "Dimensions.member")
        if dims:
            datum["Dimensions"] = dims
        values = [v.get("") for v in query_list(item, "Values.member")]
        counts = [v.get("") for v in query_list(item, "Counts.member")]
        if values:
            datum["Values"] = values
        if counts:
            datum["Counts"] = counts
        stats = sub_params(item, "StatisticValues")
        if stats:
            datum["StatisticValues"] = stats
        datums.append(datum)
    return p.get("Namespace"), datums, any(k.startswith("MetricData.") for k in p)


class MetricsService:
    def __init__(self, enforce_time_limits=True):
        self.enforce_time_limits = enforce_time_limits
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.datums = []

    def handle(self, operation, params, ctx, protocol):
        if operation != "PutMetricData":
            if protocol == "query":
                raise ApiError("InvalidAction", f"Could not find operation {operation} for version "
                               "2010-08-01")
            raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
        if protocol == "query":
            namespace, raw, present = _from_query(params)
        else:
            namespace, raw = params.get("Namespace"), params.get("MetricData")
            present = raw is not None
            if raw is not None and (not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw)):
                raise ApiError("SerializationException", "MetricData must be a list of structures")
        datums = self._validate(namespace, raw, present, ctx, protocol)
        with self.lock:
            self.datums.extend(datums)
        if protocol == "query":
            return xml_response("PutMetricData", None, "monitoring", ctx.request_id)
        return json_response(None, protocol, ctx.request_id)

    def _validate(self, namespace, raw, present, ctx, protocol):
        check = _Check(protocol)
        if namespace is None or namespace == "":
            raise check.missing("Namespace")
        if (not isinstance(namespace, str) or not NAMESPACE_RE.fullmatch(namespace)
                or namespace.startswith(":") or namespace.startswith("AWS/") or not namespace.strip()):
            raise check.invalid("Namespace", namespace)
        if not present or not raw:
            raise check.missing("MetricData")
        if len(raw) > MAX_DATUMS:
            raise cw_error("InvalidParameterValue", "The collection MetricData must not have a size "
                           f"greater than {MAX_DATUMS}.", protocol)
        out = []
        for n, d in enumerate(raw, 1):
            path = f"MetricData.member.{n}"
            name = d.get("MetricName")
            if not name:
                raise check.missing(path + ".MetricName")
            if not isinstance(name, str) or len(name) > 255:
                raise check.invalid(path + ".MetricName", name)
            dims = d.get("Dimensions") or []
            if len(dims) > MAX_DIMENSIONS:
                raise cw_error("InvalidParameterValue", f"The collection {path}.Dimensions must not have "
                               f"a size greater than {MAX_DIMENSIONS}.", protocol)
            clean_dims = []
            for m, dim in enumerate(dims, 1):
                dpath = f"{path}.Dimensions.member.{m}"
                for field, limit in (("Name", 255), ("Value", 1024)):
                    value = dim.get(field)
                    if value is None or value == "":
                        raise check.missing(f"{dpath}.{field}")
                    if not isinstance(value, str) or len(value) > limit:
                        raise check.invalid(f"{dpath}.{field}", value)
                clean_dims.append({"Name": dim["Name"], "Value": dim["Value"]})
            given = [k for k in ("Value", "Values", "StatisticValues") if d.get(k) not in (None, [], {})]
            if len(given) > 1:
                raise cw_error("InvalidParameterCombination", f"The parameters {path}.{given[0]} and "
                               f"{path}.{given[1]} are mutually exclusive and you have specified both.",
                               protocol)
            datum = {"namespace": namespace, "metricName": name, "dimensions": clean_dims,
                     "value": None, "values": None, "counts": None, "statisticValues": None}
            if "Value" in given:
                datum["value"] = check.number(path + ".Value", d["Value"])
            if "Values" in given:
                values = [check.number(f"{path}.Values.member.{i}", v) for i, v in enumerate(d["Values"], 1)]
                if len(values) > MAX_VALUES:
                    raise cw_error("InvalidParameterValue", f"The collection {path}.Values must not have "
                                   f"a size greater than {MAX_VALUES}.", protocol)
                counts = d.get("Counts")
                if counts:
                    counts = [check.number(f"{path}.Counts.member.{i}", c) for i, c in enumerate(counts, 1)]
                    if len(counts) != len(values):
                        raise cw_error("InvalidParameterValue", f"The parameters {path}.Values and "
                                       f"{path}.Counts must be of the same size.", protocol)
                datum["values"] = values
                datum["counts"] = counts or [1.0] * len(values)
            elif d.get("Counts"):
                raise cw_error("InvalidParameterCombination", f"The parameter {path}.Counts requires "
                               f"{path}.Values.", protocol)
            if "StatisticValues" in given:
                stats = {}
                for field in ("SampleCount", "Sum", "Minimum", "Maximum"):
                    if d["StatisticValues"].get(field) is None:
                        raise check.missing(f"{path}.StatisticValues.{field}")
                    stats[field] = check.number(f"{path}.StatisticValues.{field}",
                                                d["StatisticValues"][field])
                if stats["SampleCount"] <= 0 or stats["Minimum"] > stats["Maximum"]:
                    raise cw_error("InvalidParameterValue", f"The parameter {path}.StatisticValues must "
                                   "have SampleCount > 0 and Minimum <= Maximum.", protocol)
                datum["statisticValues"] = stats
            unit = d.get("Unit")
            if unit is not None and unit not in UNITS:
                raise check.invalid(path + ".Unit", unit)
            datum["unit"] = unit
            resolution = d.get("StorageResolution")
            if resolution is not None:
                try:
                    resolution = int(resolution)
                except (TypeError, ValueError):
                    raise check.invalid(path + ".StorageResolution", resolution)
                if resolution not in (1, 60):
                    raise check.invalid(path + ".StorageResolution", resolution)
            datum["storageResolution"] = resolution
            ts = d.get("Timestamp")
            if ts is not None:
                ts = check.timestamp(path + ".Timestamp", ts)
                if self.enforce_time_limits and ts < ctx.now - PAST_LIMIT_S:
                    raise cw_error("InvalidParameterValue", f"The parameter {path}.Timestamp must "
                                   "specify a time no more than two weeks in the past.", protocol)
                if self.enforce_time_limits and ts > ctx.now + FUTURE_LIMIT_S:
                    raise cw_error("InvalidParameterValue", f"The parameter {path}.Timestamp must "
                                   "specify a time no more than two hours in the future.", protocol)
            datum["timestamp"] = _iso(ts) if ts is not None else None
            datum.update({"requestId": ctx.request_id, "protocol": protocol,
                          "accessKeyId": ctx.access_key, "region": ctx.region, "receivedAt": ctx.now_iso})
            out.append(datum)
        return out

    def list_datums(self, namespace=None):
        with self.lock:
            return [d for d in self.datums if namespace is None or d["namespace"] == namespace]
