"""SNS (Query protocol, Version 2010-03-31) held in memory: CreateTopic, ListTopics, DeleteTopic,
Publish, PublishBatch. Rules from ../shared/spec/aws-facts.md section 8.

Every accepted message is kept for GET /_emulator/sns/messages. FIFO topics (.fifo) need
MessageGroupId and a MessageDeduplicationId (or ContentBasedDeduplication); a duplicate within the
dedup window (5 minutes) answers with the first message's MessageId and is not stored again.
"""
import base64
import hashlib
import json
import re
import threading
import time
import uuid

from wire import ApiError, query_list, sub_params, xml_response, xml_text

MAX_MESSAGE_BYTES = 262144
MAX_BATCH_ENTRIES = 10
TOPIC_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
FIFO_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
BATCH_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_ID_RE = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
ARN_RE = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)")


def _invalid(what, reason=None):
    text = f"Invalid parameter: {what}" + (f" Reason: {reason}" if reason else "")
    return ApiError("InvalidParameter", text)


def _attr_invalid(message):
    return ApiError("ParameterValueInvalid", message)


class _Topic:
    def __init__(self, name, arn, fifo, content_dedup, attributes):
        self.name = name
        self.arn = arn
        self.fifo = fifo
        self.content_dedup = content_dedup
        self.attributes = attributes
        self.sequence = 0
        self.dedup = {}          # MessageDeduplicationId -> (MessageId, SequenceNumber, time)


class SnsService:
    def __init__(self, account, dedup_window_s=300.0, auto_create_topics=False):
        self.account = account
        self.dedup_window_s = dedup_window_s
        self.auto_create_topics = auto_create_topics
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.topics = {}
            self.messages = []

    def handle(self, action, params, ctx):
        handler = getattr(self, "op_" + action, None)
        if handler is None:
            raise ApiError("InvalidAction", f"Could not find operation {action} for version 2010-03-31")
        with self.lock:
            return handler(params, ctx)

    # -- topics --

    def _create(self, name, attributes, region):
        fifo = str(attributes.get("FifoTopic", "false")).lower() == "true"
        if fifo and not FIFO_NAME_RE.fullmatch(name):
            raise _invalid("Fifo Topic names must end with .fifo and must be made up of only uppercase "
                           "and lowercase ASCII letters, numbers, underscores, and hyphens, and must "
                           "be between 1 and 256 characters long.")
        if not fifo and not TOPIC_NAME_RE.fullmatch(name):
            raise _invalid("Topic Name")
        arn = f"arn:aws:sns:{region}:{self.account}:{name}"
        if arn not in self.topics:
            content_dedup = str(attributes.get("ContentBasedDeduplication", "false")).lower() == "true"
            self.topics[arn] = _Topic(name, arn, fifo, content_dedup, dict(attributes))
        return self.topics[arn]

    def op_CreateTopic(self, p, ctx):
        name = p.get("Name")
        if not name:
            raise _invalid("Name", "no value for required parameter")
        attributes = {e.get("key"): e.get("value") for e in query_list(p, "Attributes.entry")}
        topic = self._create(name, attributes, ctx.region)
        return xml_response("CreateTopic", xml_text("TopicArn", topic.arn), "sns", ctx.request_id)

    def op_ListTopics(self, p, ctx):
        arns = sorted(self.topics)
        start = int(p["NextToken"]) if p.get("NextToken", "").isdigit() else 0
        page = arns[start:start + 100]
        body = "<Topics>" + "".join(f"<member>{xml_text('TopicArn', a)}</member>" for a in page) + "</Topics>"
        if start + 100 < len(arns):
            body += xml_text("NextToken", start + 100)
        return xml_response("ListTopics", body, "sns", ctx.request_id)

    def op_DeleteTopic(self, p, ctx):
        self.topics.pop(p.get("TopicArn", ""), None)
        return xml_response("DeleteTopic", None, "sns", ctx.request_id)

    def _topic(self, arn, ctx):
        if not arn:
            raise _invalid("TopicArn or TargetArn", "no value for required parameter")
        m = ARN_RE.fullmatch(arn)
        if not m:
            raise _invalid("TopicArn")
        region, account, name = m.groups()
        if region != ctx.region:
            raise _invalid("TopicArn", f"A {region} ARN must be used with the {region} endpoint; "
                           f"this request was signed for {ctx.region}")
        topic = self.topics.get(arn)
        if topic is None and self.auto_create_topics and account == self.account:
            topic = self._create(name, {"FifoTopic": "true"} if name.endswith(".fifo") else {}, region)
        if topic is None:
            raise ApiError("NotFound", "Topic does not exist", 404)
        return topic

    # -- publishing --

    @staticmethod
    def _attributes(entry):
        """MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue|BinaryValue} -> (dict, bytes)."""
        attrs, size = {}, 0
        for item in query_list(entry, "MessageAttributes.entry"):
            name = item.get("Name", "")
            value = sub_params(item, "Value")
            dtype = value.get("DataType", "")
            if not name:
                raise _attr_invalid("The message attribute name must not be empty.")
            if (not ATTR_NAME_RE.fullmatch(name) or name.startswith(".") or name.endswith(".")
                    or ".." in name or name.lower().startswith(("aws.", "amazon."))):
                raise _attr_invalid(f"The message attribute name '{name}' is invalid. Names may contain "
                                    "A-Z, a-z, 0-9, '_', '-' and '.', must not start or end with '.', "
                                    "and must not start with 'AWS.' or 'Amazon.'.")
            if name in attrs:
                raise _attr_invalid(f"Message attribute name '{name}' has been specified more than once.")
            base = dtype.split(".", 1)[0]
            if base not in ("String", "Number", "Binary"):
                raise _attr_invalid(f"The message attribute '{name}' has an invalid message attribute "
                                    "type, the set of supported type prefixes is Binary, Number, and String.")
            if base == "Binary":
                raw = value.get("BinaryValue")
                if not raw:
                    raise _attr_invalid(f"The message attribute '{name}' must contain non-empty message "
                                        f"attribute value for message attribute type '{dtype}'.")
                try:
                    data = base64.b64decode(raw, validate=True)
                except ValueError:
                    raise _attr_invalid(f"The message attribute '{name}' has an invalid binary value.")
                attrs[name] = {"DataType": dtype, "BinaryValue": raw}
                size += len(name.encode()) + len(dtype.encode()) + len(data)
                continue
            text = value.get("StringValue")
            if text is None or text == "":
                raise _attr_invalid(f"The message attribute '{name}' must contain non-empty message "
                                    f"attribute value for message attribute type '{dtype}'.")
            if base == "Number":
                try:
                    float(text)
                except ValueError:
                    raise _attr_invalid(f"The message attribute '{name}' with type 'Number' must "
                                        f"contain a valid numeric value, not '{text}'.")
            if dtype == "String.Array":
                try:
                    ok = isinstance(json.loads(text), list)
                except ValueError:
                    ok = False
                if not ok:
                    raise _attr_invalid(f"The message attribute '{name}' with type 'String.Array' must "
                                        "contain a JSON array.")
            attrs[name] = {"DataType": dtype, "StringValue": text}
            size += len(name.encode()) + len(dtype.encode()) + len(text.encode())
        return attrs, size

    def _publish_one(self, topic, entry, ctx, action, batch_id=None):
        """entry: the flattened Publish parameters of one message. -> (MessageId, SequenceNumber)."""
        message = entry.get("Message")
        if message is None:
            raise ApiError("ValidationError", "1 validation error detected: Value null at 'message' "
                           "failed to satisfy constraint: Member must not be null")
        if message == "":
            raise _invalid("Empty message")
        subject = entry.get("Subject")
        if subject is not None and (subject == "" or len(subject) >= 100
                                    or any(ord(c) < 32 or ord(c) == 127 for c in subject)):
            raise _invalid("Subject")
        structure = entry.get("MessageStructure")
        if structure is not None:
            if structure != "json":
                raise _invalid("MessageStructure")
            try:
                doc = json.loads(message)
            except ValueError:
                raise _invalid("Message Structure - JSON message body failed to parse")
            if not isinstance(doc, dict) or "default" not in doc:
                raise _invalid("Message Structure - No default entry in JSON message body")
        attrs, attr_bytes = self._attributes(entry)
        if len(message.encode()) + attr_bytes > MAX_MESSAGE_BYTES:
            raise _invalid("Message too long")
        group_id = entry.get("MessageGroupId")
        dedup_id = entry.get("MessageDeduplicationId")
        for field, value in (("MessageGroupId", group_id), ("MessageDeduplicationId", dedup_id)):
            if value is not None and not FIFO_ID_RE.fullmatch(value):
                raise _invalid(field, "must be 1-128 alphanumeric or punctuation characters")
        sequence = None
        if topic.fifo:
            if group_id is None:
                raise _invalid("The MessageGroupId parameter is required for FIFO topics")
            if dedup_id is None:
                if not topic.content_dedup:
                    raise _invalid("The topic should either have ContentBasedDeduplication enabled or "
                                   "MessageDeduplicationId provided explicitly")
                dedup_id = hashlib.sha256(message.encode()).hexdigest()
            now = time.monotonic()
            for key in [k for k, v in topic.dedup.items() if now - v[2] >= self.dedup_window_s]:
                del topic.dedup[key]
            seen = topic.dedup.get(dedup_id)
            if seen is not None:
                return seen[0], seen[1]
            topic.sequence += 1
            sequence = str(10000000000000000000 + topic.sequence)
        elif dedup_id is not None:
            raise _invalid("MessageDeduplicationId", "The request includes MessageDeduplicationId "
                           "parameter that is not valid for this topic type")
        message_id = str(uuid.uuid4())
        if topic.fifo:
            topic.dedup[dedup_id] = (message_id, sequence, time.monotonic())
        self.messages.append({
            "messageId": message_id, "topicArn": topic.arn, "message": message, "subject": subject,
            "messageStructure": structure, "messageAttributes": attrs, "messageGroupId": group_id,
            "messageDeduplicationId": entry.get("MessageDeduplicationId"), "sequenceNumber": sequence,
            "action": action, "batchEntryId": batch_id, "requestId": ctx.request_id,
            "accessKeyId": ctx.access_key, "region": ctx.region, "receivedAt": ctx.now_iso})
        return message_id, sequence

    def op_Publish(self, p, ctx):
        if p.get("PhoneNumber"):
            raise _invalid("PhoneNumber", "SMS is not supported by the logsift emulator")
        topic = self._topic(p.get("TopicArn") or p.get("TargetArn"), ctx)
        message_id, sequence = self._publish_one(topic, p, ctx, "Publish")
        body = xml_text("MessageId", message_id)
        if sequence is not None:
            body += xml_text("SequenceNumber", sequence)
        return xml_response("Publish", body, "sns", ctx.request_id)

    def op_PublishBatch(self, p, ctx):
        topic = self._topic(p.get("TopicArn"), ctx)
        entries = query_list(p, "PublishBatchRequestEntries.member")
        if not entries:
            raise ApiError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
        if len(entries) > MAX_BATCH_ENTRIES:
            raise ApiError("TooManyEntriesInBatchRequest",
                           "The batch request contains more entries than permissible.")
        ids = [e.get("Id", "") for e in entries]
        if any(not BATCH_ID_RE.fullmatch(i) for i in ids):
            raise ApiError("InvalidBatchEntryId", "The Id of a batch entry in a batch request doesn't "
                           "abide by the specification.")
        if len(set(ids)) != len(ids):
            raise ApiError("BatchEntryIdsNotDistinct",
                           "Two or more batch entries in the request have the same Id.")
        total = 0
        for entry in entries:
            total += len(entry.get("Message", "").encode())
            for item in query_list(entry, "MessageAttributes.entry"):
                total += sum(len(str(v).encode()) for v in item.values())
        if total > MAX_MESSAGE_BYTES:
            raise ApiError("BatchRequestTooLong",
                           "The length of all the messages put together is more than the limit.")
        ok, failed = [], []
        for entry in entries:
            try:
                message_id, sequence = self._publish_one(topic, entry, ctx, "PublishBatch", entry["Id"])
            except ApiError as err:
                failed.append(f"<member>{xml_text('Id', entry['Id'])}{xml_text('Code', err.code)}"
                              f"{xml_text('Message', err.message)}"
                              f"{xml_text('SenderFault', 'true' if err.sender else 'false')}</member>")
                continue
            seq = xml_text("SequenceNumber", sequence) if sequence is not None else ""
            ok.append(f"<member>{xml_text('Id', entry['Id'])}{xml_text('MessageId', message_id)}{seq}</member>")
        body = f"<Successful>{''.join(ok)}</Successful><Failed>{''.join(failed)}</Failed>"
        return xml_response("PublishBatch", body, "sns", ctx.request_id)

    # -- inspection --

    def list_messages(self, topic_arn=None):
        with self.lock:
            return [m for m in self.messages if topic_arn is None or m["topicArn"] == topic_arn]

    def list_topics(self):
        with self.lock:
            return [{"topicArn": t.arn, "fifo": t.fifo, "contentBasedDeduplication": t.content_dedup,
                     "attributes": t.attributes} for t in self.topics.values()]
