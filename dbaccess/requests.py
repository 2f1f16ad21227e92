"""The credential request item: written by the Slack bot, worked on by the issuer.

One DynamoDB item per request in the request table (pk `request_id`), defined here once so
the bot and the issuer cannot disagree on a field name. An item never holds a password, a
token or a paste link: it is an audit record, kept `auditRetentionDays` and then expired by
DynamoDB's TTL (`purge_at`).

Statuses, and who moves them:

    PENDING --(issuer claims, attempts + 1)--> ISSUING --> ISSUED | DENIED | FAILED
       ^                                          |
       +------- transient failure, attempts < max +
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Field names, as stored.
REQUEST_ID: Final = "request_id"
EMAIL: Final = "email"
SLACK_USER_ID: Final = "slack_user_id"
CHANNEL: Final = "channel"
DATABASE: Final = "database"
ACCESS: Final = "access"
REQUESTED_AT: Final = "requested_at"  # ISO 8601 UTC, seconds: sorts as text (GSI sort key)
STATUS: Final = "status"
ATTEMPTS: Final = "attempts"
CLAIMED_AT: Final = "claimed_at"  # epoch seconds of the current claim
ERROR_CODE: Final = "error_code"
ISSUED_AT: Final = "issued_at"
DURATION_MS: Final = "duration_ms"  # time from the claim to the final status
PURGE_AT: Final = "purge_at"  # the table's TTL attribute (epoch seconds)

EMAIL_INDEX: Final = "by-email"  # GSI: (email, requested_at), for audit queries
DEFAULT_AUDIT_RETENTION_DAYS: Final = 400
MAX_ATTEMPTS: Final = 3
ACCESS_LEVELS: Final = ("read-only", "read-write")


# The issuer's event source mapping passes only new requests (an EventBridge-style pattern).
STREAM_FILTER: Final[dict[str, Any]] = {
    "eventName": ["INSERT"],
    "dynamodb": {"NewImage": {STATUS: {"S": ["PENDING"]}}},
}


class Status(enum.StrEnum):
    PENDING = "PENDING"
    ISSUING = "ISSUING"
    ISSUED = "ISSUED"
    DENIED = "DENIED"
    FAILED = "FAILED"


FINAL_STATUSES: Final = frozenset({Status.ISSUED, Status.DENIED, Status.FAILED})


class MalformedRequest(ValueError):
    """A stream image that is not a request item (missing or wrong fields)."""


@dataclass(frozen=True)
class Request:
    request_id: str
    email: str
    slack_user_id: str
    channel: str
    database: str
    access: str
    requested_at: str
    status: Status
    attempts: int


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_request(
    *,
    request_id: str,
    email: str,
    slack_user_id: str,
    channel: str,
    database: str,
    access: str,
    requested_at: dt.datetime | None = None,
    retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS,
) -> dict[str, Any]:
    """A PENDING request item in DynamoDB's attribute-value format (for `put_item`).

    Put it with `ConditionExpression="attribute_not_exists(request_id)"`, so a Slack retry
    with the same trigger id never makes a second request.
    """
    if access not in ACCESS_LEVELS:
        raise ValueError(f"access must be one of {', '.join(ACCESS_LEVELS)}, not {access!r}")
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    moment = (requested_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    purge_at = int((moment + dt.timedelta(days=retention_days)).timestamp())
    return {
        REQUEST_ID: {"S": request_id},
        EMAIL: {"S": email.strip().lower()},
        SLACK_USER_ID: {"S": slack_user_id},
        CHANNEL: {"S": channel},
        DATABASE: {"S": database},
        ACCESS: {"S": access},
        REQUESTED_AT: {"S": iso_utc(moment)},
        STATUS: {"S": Status.PENDING.value},
        ATTEMPTS: {"N": "0"},
        PURGE_AT: {"N": str(purge_at)},
    }


def parse_request(image: Mapping[str, Any]) -> Request:
    """A request from a deserialised stream image (plain Python values, numbers as Decimal)."""
    try:
        values = {
            name: image[name]
            for name in (REQUEST_ID, EMAIL, SLACK_USER_ID, CHANNEL, DATABASE, ACCESS, REQUESTED_AT)
        }
        status = Status(image[STATUS])
        attempts = int(image.get(ATTEMPTS, 0))
    except (KeyError, ValueError, TypeError) as exc:
        raise MalformedRequest(f"not a request item: {type(exc).__name__} {exc}") from None
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise MalformedRequest(f"not a request item: {name} is not a non-empty string")
    if values[ACCESS] not in ACCESS_LEVELS:
        raise MalformedRequest(f"not a request item: access {values[ACCESS]!r}")
    return Request(**values, status=status, attempts=attempts)


# CloudWatch Logs keeps logs for one of these numbers of days only.
_LOG_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
_LOG_RETENTION_DAYS_LONG: Final = (1096, 1827, 2192, 2557, 2922, 3288, 3653)


def log_retention_days(audit_retention_days: int) -> int:
    """The shortest CloudWatch retention that keeps the audit lines as long as the items."""
    return next(
        (d for d in (*_LOG_RETENTION_DAYS, *_LOG_RETENTION_DAYS_LONG) if d >= audit_retention_days),
        3653,
    )
