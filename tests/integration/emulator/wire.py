"""Wire-format helpers shared by the services: error shapes per protocol, Query parameter lists.

Protocols (names used across the emulator):
  "json11"  CloudWatch Logs, application/x-amz-json-1.1, X-Amz-Target Logs_20140328.<Op>
  "json10q" CloudWatch awsQueryCompatible JSON, application/x-amz-json-1.0,
            X-Amz-Target GraniteServiceVersion20100801.<Op>; errors also carry x-amzn-query-error
  "query"   SNS and CloudWatch Query, form-encoded POST (or GET), XML responses
"""
import json
import uuid
from xml.sax.saxutils import escape

JSON11 = "application/x-amz-json-1.1"
JSON10 = "application/x-amz-json-1.0"
XML = "text/xml"

SERVICE_XMLNS = {
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
}


class ApiError(Exception):
    """An AWS error. code is what the body names; query_code (json10q only) goes to the
    x-amzn-query-error header; type_prefix is prepended to __type (e.g. com.amazonaws.cloudwatch#)."""

    def __init__(self, code, message, status=400, sender=True, query_code=None, type_prefix=""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.query_code = query_code
        self.type_prefix = type_prefix


class Response:
    def __init__(self, status=200, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.content_type = content_type
        self.headers = list(headers or [])


def new_request_id():
    return str(uuid.uuid4())


# Errors every AWS protocol has, by kind: (json code, json status, query code, query status, msg).
# JSON-protocol and Query-protocol services name these differently; the message is the real one.
_GENERIC = {
    "missing": ("MissingAuthenticationTokenException", 400, "MissingAuthenticationToken", 403,
                "Missing Authentication Token"),
    "incomplete": ("IncompleteSignatureException", 400, "IncompleteSignature", 400, None),
    "unknown_key": ("UnrecognizedClientException", 400, "InvalidClientTokenId", 403,
                    "The security token included in the request is invalid."),
    "bad_signature": ("InvalidSignatureException", 400, "SignatureDoesNotMatch", 403, None),
    "skew": ("InvalidSignatureException", 400, "SignatureDoesNotMatch", 403, None),
    "expired_token": ("ExpiredTokenException", 400, "ExpiredToken", 403,
                      "The security token included in the request is expired"),
    "throttle": ("ThrottlingException", 400, "Throttling", 400, "Rate exceeded"),
    "slowdown": ("SlowDown", 503, "SlowDown", 503, "Please reduce your request rate."),
}

# HTTP 500 per service: the model's own internal-error code.
_INTERNAL = {
    "logs": ("ServiceUnavailableException", "The service cannot complete the request."),
    "sns": ("InternalError", "An internal service error occurred."),
    "monitoring": ("InternalServiceError", "An internal service error occurred."),
}


def generic_error(kind, protocol, message=None):
    json_code, json_status, q_code, q_status, default_msg = _GENERIC[kind]
    msg = message or default_msg
    sender = kind != "slowdown"
    if protocol == "query":
        return ApiError(q_code, msg, q_status, sender)
    return ApiError(json_code, msg, json_status, sender,
                    query_code=q_code if protocol == "json10q" else None)


def internal_error(service, protocol):
    code, msg = _INTERNAL.get(service, _INTERNAL["logs"])
    if protocol == "json10q":
        return ApiError("InternalServiceFault", msg, 500, False, query_code=code,
                        type_prefix="com.amazonaws.cloudwatch#")
    return ApiError(code, msg, 500, False)


def render_error(err, protocol, service, request_id):
    """-> Response in the protocol's error shape."""
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "query":
        xmlns = SERVICE_XMLNS.get(service, SERVICE_XMLNS["sns"])
        body = (f'<ErrorResponse xmlns="{xmlns}"><Error><Type>{"Sender" if err.sender else "Receiver"}'
                f"</Type><Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return Response(err.status, body, XML, headers)
    body = {"__type": err.type_prefix + err.code, "message": err.message}
    if err.query_code:
        headers.append(("x-amzn-query-error",
                        f"{err.query_code};{'Sender' if err.sender else 'Receiver'}"))
    return Response(err.status, json.dumps(body), JSON10 if protocol == "json10q" else JSON11, headers)


def json_response(doc, protocol, request_id):
    body = b"" if doc is None else json.dumps(doc).encode()
    return Response(200, body, JSON10 if protocol == "json10q" else JSON11,
                    [("x-amzn-RequestId", request_id)])


def xml_response(action, result_xml, service, request_id):
    """<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata/></ActionResponse>."""
    xmlns = SERVICE_XMLNS[service]
    result = f"<{action}Result>{result_xml}</{action}Result>" if result_xml is not None else ""
    body = (f'<{action}Response xmlns="{xmlns}">{result}<ResponseMetadata><RequestId>{request_id}'
            f"</RequestId></ResponseMetadata></{action}Response>")
    return Response(200, body, XML, [("x-amzn-RequestId", request_id)])


def xml_text(tag, value):
    return f"<{tag}>{escape(str(value))}</{tag}>"


def query_list(params, prefix):
    """Query flattening: prefix.1.X=a&prefix.1.Y=b&prefix.2.X=c -> [{"X": "a", "Y": "b"}, {"X": "c"}].

    Scalar lists (prefix.1=a) come back as [{"": "a"}]. Ordered by index N (AWS starts at 1).
    """
    items = {}
    head = prefix + "."
    for key, value in params.items():
        if not key.startswith(head):
            continue
        index, _, rest = key[len(head):].partition(".")
        if not index.isdigit():
            continue
        items.setdefault(int(index), {})[rest] = value
    return [items[i] for i in sorted(items)]


def sub_params(entry, prefix):
    """The keys of one flattened entry below prefix (prefix.A -> A)."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in entry.items() if k.startswith(head)}
