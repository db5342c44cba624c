"""Does a logging CloudTrail trail record the data events of a resource? Basic and advanced event selectors.

Coverage is judged conservatively: a selector that only covers part of a bucket (a key prefix, some event names,
some principals) does not count as covering the bucket.
"""

from __future__ import annotations

from typing import Any

S3_OBJECT = "AWS::S3::Object"
DYNAMODB = "AWS::DynamoDB::Table"
LAMBDA = "AWS::Lambda::Function"
_ALL_VALUES = {S3_OBJECT: ("arn:aws:s3", "arn:aws:s3:::"), DYNAMODB: ("arn:aws:dynamodb",), LAMBDA: ("arn:aws:lambda",)}
_NARROWING = ("eventName", "userIdentity.arn", "resources.ARN", "eventType", "sessionCredentialFromConsole")


def data_resource_prefix(data_type: str, arn: str) -> str:
    """The ARN prefix a selector must cover: every object of a bucket, or the table/function itself."""
    return arn.rstrip("/") + "/" if data_type == S3_OBJECT else arn


def trail_scope(trail: dict[str, Any], region: str) -> bool:
    config = trail["config"]
    return config.get("is_logging") and (config.get("multi_region") or config.get("home_region") == region)


def covers(trail: dict[str, Any], data_type: str, arn: str, mode: str) -> bool:
    """mode: 'read' or 'write'. True if the trail's selectors record every such data event on the resource."""
    config = trail["config"]
    prefix = data_resource_prefix(data_type, arn)
    for selector in config.get("event_selectors") or []:
        if _basic_covers(selector, data_type, prefix, mode):
            return True
    return any(_advanced_covers(s, data_type, prefix, mode) for s in config.get("advanced_event_selectors") or [])


def _basic_covers(selector: dict[str, Any], data_type: str, prefix: str, mode: str) -> bool:
    read_write = selector.get("ReadWriteType", "All")
    if read_write not in ("All", "ReadOnly" if mode == "read" else "WriteOnly"):
        return False
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") != data_type:
            continue
        for value in resource.get("Values") or []:
            if value in _ALL_VALUES.get(data_type, ()) or _same_resource(value, prefix, data_type):
                return True
    return False


def _same_resource(value: str, prefix: str, data_type: str) -> bool:
    if data_type == S3_OBJECT:
        return value.rstrip("/") + "/" == prefix
    return value == prefix


def _advanced_covers(selector: dict[str, Any], data_type: str, prefix: str, mode: str) -> bool:
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
    category = fields.get("eventCategory") or {}
    if "Data" not in (category.get("Equals") or []):
        return False
    kind = fields.get("resources.type") or {}
    if data_type not in (kind.get("Equals") or []):
        return False
    read_only = fields.get("readOnly")
    if read_only:
        wanted = "true" if mode == "read" else "false"
        if wanted not in [str(v).lower() for v in read_only.get("Equals") or []]:
            return False
    arn_field = fields.get("resources.ARN")
    if arn_field and not _arn_field_covers(arn_field, prefix, data_type):
        return False
    # only some events or callers (eventName, userIdentity.arn...): not the whole resource
    return not any(name in fields for name in _NARROWING if name != "resources.ARN")


def _arn_field_covers(field: dict[str, Any], prefix: str, data_type: str) -> bool:
    for operator in ("NotStartsWith", "NotEquals", "NotEndsWith"):
        for value in field.get(operator) or []:
            if operator == "NotStartsWith" and (value.startswith(prefix) or prefix.startswith(value)):
                return False
            if operator == "NotEquals" and value.startswith(prefix.rstrip("/")):
                return False
            if operator == "NotEndsWith":
                return False  # excludes some objects of any bucket
    positive = [(op, v) for op in ("StartsWith", "Equals", "EndsWith") for v in field.get(op) or []]
    if not positive:
        return True
    for operator, value in positive:
        if operator == "StartsWith" and prefix.startswith(value):
            return True
        if operator == "Equals" and data_type != S3_OBJECT and value == prefix:
            return True
    return False


def manages_all_management_events(trail: dict[str, Any]) -> bool:
    config = trail["config"]
    basic = config.get("event_selectors") or []
    advanced = config.get("advanced_event_selectors") or []
    if not basic and not advanced:
        return True  # no selectors read: a trail's default records management events, read and write
    for selector in basic:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") == "All":
            return True
    for selector in advanced:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
        if "Management" in ((fields.get("eventCategory") or {}).get("Equals") or []) and "readOnly" not in fields:
            source = fields.get("eventSource") or {}
            # excluding a noisy source (eventSource NotEquals kms.amazonaws.com) is common and still counts
            if "eventName" not in fields and not source.get("Equals") and not source.get("StartsWith"):
                return True
    return False
