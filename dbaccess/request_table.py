"""The request table: the keys of every item kind it holds, and the credential request item
(the one place that reads and writes it).

Item kinds, by their key `request_id`: a credential request (a random id), the "Request
access" feature's items, whose keys start with `ACCESS_REQUEST_PREFIX`
(dbaccess.bot.access_requests.ledger reads and writes those), and linked GitHub accounts,
`GITHUB_LINK_PREFIX` (dbaccess.bot.slack_approval.links).

One DynamoDB item per request in the request table (pk `request_id`): the Slack bot puts it,
the issuer claims and finishes it, the reaper reads who was issued what. Every expression on
the item lives in `RequestTable`, so the three cannot disagree on a field or a state. An item
never holds a password, a token or a paste link: it is an audit record, kept
`auditRetentionDays` and then expired by DynamoDB's TTL (`purge_at`).

Statuses, and who moves them:

    PENDING --(claim: attempts + 1, lease)--> ISSUING --> ISSUED | DENIED | FAILED
       ^                                          |
       +------ release (transient failure) -------+

A claim holds a lease (`lease_until`, epoch seconds) that outlives the Lambda invocation
holding it, so an ISSUING item is taken over only once its holder cannot be alive any more.
Before the DM with the link is posted, the holder records `dm_channel` and `dm_attempted_at`
("a DM may have been sent"): whoever works on the item next looks in that channel's history
for the message before making another credential (see dbaccess/issuer/flow.py).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

# The key prefix of the "Request access" items; credential requests never start with it.
ACCESS_REQUEST_PREFIX: Final = "access-request#"
# The key prefix of the linked GitHub accounts (approve in Slack), whose tokens are encrypted
# with the table's key under an encryption context naming this purpose
# (dbaccess.bot.slack_approval.links reads and writes them; the bot's IAM allows only them).
GITHUB_LINK_PREFIX: Final = "github-link#"
GITHUB_TOKEN_PURPOSE_KEY: Final = "dbaccess:purpose"
GITHUB_TOKEN_PURPOSE: Final = "github-user-token"

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
CLAIMED_BY: Final = "claimed_by"  # the holder of the current claim
CLAIMED_AT: Final = "claimed_at"  # epoch seconds of the current claim
LEASE_UNTIL: Final = "lease_until"  # epoch seconds; the claim may be taken over after it
DM_CHANNEL: Final = "dm_channel"  # where the DM with the link may have been posted
DM_ATTEMPTED_AT: Final = "dm_attempted_at"  # epoch seconds, written before posting it
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
    """A PENDING request item, as plain Python values (`RequestTable.put` stores it)."""
    if access not in ACCESS_LEVELS:
        raise ValueError(f"access must be one of {', '.join(ACCESS_LEVELS)}, not {access!r}")
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    moment = (requested_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        REQUEST_ID: request_id,
        EMAIL: email.strip().lower(),
        SLACK_USER_ID: slack_user_id,
        CHANNEL: channel,
        DATABASE: database,
        ACCESS: access,
        REQUESTED_AT: iso_utc(moment),
        STATUS: Status.PENDING.value,
        ATTEMPTS: 0,
        PURGE_AT: int((moment + dt.timedelta(days=retention_days)).timestamp()),
    }


def parse_request(image: Mapping[str, Any]) -> Request:
    """A request from a deserialised item or stream image (plain values, numbers as Decimal)."""
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


@dataclass(frozen=True)
class Claim:
    """The right to work on one request, until `lease_until` (epoch seconds)."""

    request_id: str
    holder: str
    attempt: int
    lease_until: int
    # Set when an earlier holder may already have posted the DM (see the module docstring).
    dm_channel: str | None
    dm_attempted_at: int | None


@dataclass(frozen=True)
class Refusal:
    """Why a claim was not granted: the item as it was."""

    status: Status | None
    attempts: int
    lease_until: int | None

    def lease_alive(self, now: int) -> bool:
        return self.status is Status.ISSUING and (self.lease_until or 0) >= now


@dataclass(frozen=True)
class PersonHistory:
    """What the reaper needs of one person's requests."""

    last_issued: dict[tuple[str, str], str]  # (database, access) -> newest issued_at (ISO)
    slack_user_id: str | None  # from the newest request of any status


# The one serializer of the table's items, whatever their kind (boto3's own).
to_attribute: Callable[[Any], dict[str, Any]] = TypeSerializer().serialize
from_attribute: Callable[[dict[str, Any]], Any] = TypeDeserializer().deserialize


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values -> DynamoDB attribute values (ints, str, bool, None, lists, maps)."""
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> plain values (numbers as Decimal)."""
    return {name: from_attribute(value) for name, value in item.items()}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, Decimal)) else None


class RequestTable:
    """Every read and write of request items. `now` gives epoch seconds (tests move it)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._now = now

    @property
    def client(self) -> Any:
        return self._dynamodb

    def epoch(self) -> int:
        return int(self._now().timestamp())

    # --- the bot ---------------------------------------------------------------------------

    def put(self, item: Mapping[str, Any]) -> bool:
        """Store a new request (see `new_request`); False if that request id exists already
        (a Slack redelivery of the same click)."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": REQUEST_ID},
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def recent_request_ids(self, email: str, since: dt.datetime, *, stop_after: int) -> set[str]:
        """Request ids of this person since `since`, through the by-email index; stops once
        more than `stop_after` were found."""
        found: set[str] = set()
        for item in self._query_by_email(
            email,
            KeyConditionExpression="#email = :email AND #at >= :since",
            ExpressionAttributeNames={"#email": EMAIL, "#at": REQUESTED_AT, "#id": REQUEST_ID},
            ExpressionAttributeValues=to_item({":email": email, ":since": iso_utc(since)}),
            ProjectionExpression="#id",
        ):
            found.add(str(item[REQUEST_ID]))
            if len(found) > stop_after:
                break
        return found

    # --- the reaper ------------------------------------------------------------------------

    def person_history(self, email: str) -> PersonHistory:
        """The newest ISSUED moment per (database, access), and the person's Slack user id."""
        last_issued: dict[tuple[str, str], str] = {}
        slack_user_id: str | None = None
        for item in self._query_by_email(
            email,
            KeyConditionExpression="#email = :email",
            ExpressionAttributeNames={"#email": EMAIL},
            ExpressionAttributeValues=to_item({":email": email}),
            ScanIndexForward=False,  # newest first
        ):
            if slack_user_id is None and item.get(SLACK_USER_ID):
                slack_user_id = str(item[SLACK_USER_ID])
            if item.get(STATUS) != Status.ISSUED:
                continue
            grant = (str(item[DATABASE]), str(item[ACCESS]))
            moment = str(item.get(ISSUED_AT) or item[REQUESTED_AT])
            if grant not in last_issued or moment > last_issued[grant]:
                last_issued[grant] = moment
        return PersonHistory(last_issued, slack_user_id)

    def _query_by_email(self, email: str, **query: Any) -> Iterator[dict[str, Any]]:
        args = {"TableName": self._table, "IndexName": EMAIL_INDEX, **query}
        for page in self._dynamodb.get_paginator("query").paginate(**args):
            for item in page.get("Items", []):
                yield from_item(item)

    # --- the issuer ------------------------------------------------------------------------

    def get(self, request_id: str) -> dict[str, Any] | None:
        answer = self._dynamodb.get_item(
            TableName=self._table, Key=to_item({REQUEST_ID: request_id}), ConsistentRead=True
        )
        return from_item(answer["Item"]) if "Item" in answer else None

    def claim(
        self, request_id: str, holder: str, *, lease_seconds: int, max_attempts: int
    ) -> Claim | Refusal:
        """PENDING (with attempts left) or ISSUING with its lease run out -> ISSUING, ours.

        A lease still running means its holder may be alive and mid-way: never taken over.
        """
        now = self.epoch()
        try:
            answer = self._dynamodb.update_item(
                TableName=self._table,
                Key=to_item({REQUEST_ID: request_id}),
                UpdateExpression=(
                    "SET #status = :issuing, #attempts = if_not_exists(#attempts, :zero) + :one, "
                    "#by = :me, #at = :now, #lease = :lease"
                ),
                ConditionExpression=(
                    "(#status = :pending AND (attribute_not_exists(#attempts) OR #attempts < :max))"
                    " OR (#status = :issuing AND (attribute_not_exists(#lease) OR #lease < :now))"
                ),
                ExpressionAttributeNames={
                    "#status": STATUS,
                    "#attempts": ATTEMPTS,
                    "#by": CLAIMED_BY,
                    "#at": CLAIMED_AT,
                    "#lease": LEASE_UNTIL,
                },
                ExpressionAttributeValues=to_item(
                    {
                        ":issuing": Status.ISSUING.value,
                        ":pending": Status.PENDING.value,
                        ":zero": 0,
                        ":one": 1,
                        ":me": holder,
                        ":now": now,
                        ":lease": now + lease_seconds,
                        ":max": max_attempts,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException as exc:
            old = from_item(exc.response.get("Item") or {})
            status = str(old.get(STATUS))
            return Refusal(
                status=Status(status) if status in Status.__members__ else None,
                attempts=_int(old.get(ATTEMPTS)) or 0,
                lease_until=_int(old.get(LEASE_UNTIL)),
            )
        new = from_item(answer["Attributes"])
        return Claim(
            request_id=request_id,
            holder=holder,
            attempt=int(new[ATTEMPTS]),
            lease_until=int(new[LEASE_UNTIL]),
            dm_channel=new.get(DM_CHANNEL),
            dm_attempted_at=_int(new.get(DM_ATTEMPTED_AT)),
        )

    def mark_dm_attempt(self, claim: Claim, channel: str) -> Claim:
        """Record "a DM may be sent to `channel` from now on", before posting it."""
        now = self.epoch()
        self._update_held(claim, "SET #dm = :dm, #dm_at = :dm_at", {":dm": channel, ":dm_at": now})
        return Claim(claim.request_id, claim.holder, claim.attempt, claim.lease_until, channel, now)

    def release(self, claim: Claim, code: str) -> None:
        """Hand the request back (ISSUING -> PENDING) for the next delivery."""
        self._update_held(
            claim,
            "SET #status = :pending, #code = :code REMOVE #by, #at, #lease",
            {":pending": Status.PENDING.value, ":code": code},
        )

    def finish(self, claim: Claim, status: Status, code: str | None, duration_ms: int) -> None:
        """The final status, with the error code (or none) and how long the work took."""
        values: dict[str, Any] = {":final": status.value, ":duration": duration_ms}
        sets = ["#status = :final", f"{DURATION_MS} = :duration"]
        removes = ["#by", "#at", "#lease"]
        if code is None:
            removes.append("#code")
        else:
            sets.append("#code = :code")
            values[":code"] = code
        if status is Status.ISSUED:
            sets.append(f"{ISSUED_AT} = :issued")
            values[":issued"] = iso_utc(self._now())
        self._update_held(claim, f"SET {', '.join(sets)} REMOVE {', '.join(removes)}", values)

    def _update_held(self, claim: Claim, expression: str, values: dict[str, Any]) -> None:
        """An update made only while `claim` is still the item's claim."""
        names = {
            "#status": STATUS,
            "#by": CLAIMED_BY,
            "#at": CLAIMED_AT,
            "#lease": LEASE_UNTIL,
            "#code": ERROR_CODE,
            "#dm": DM_CHANNEL,
            "#dm_at": DM_ATTEMPTED_AT,
        }
        used = set(re.findall(r"#\w+", expression)) | {"#status", "#by"}
        self._dynamodb.update_item(
            TableName=self._table,
            Key=to_item({REQUEST_ID: claim.request_id}),
            UpdateExpression=expression,
            ConditionExpression="#status = :issuing AND #by = :holder",
            # DynamoDB refuses names an expression does not use.
            ExpressionAttributeNames={k: v for k, v in names.items() if k in used},
            ExpressionAttributeValues=to_item(
                {**values, ":issuing": Status.ISSUING.value, ":holder": claim.holder}
            ),
        )


# CloudWatch Logs keeps logs for one of these numbers of days only.
_LOG_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
_LOG_RETENTION_DAYS_LONG: Final = (1096, 1827, 2192, 2557, 2922, 3288, 3653)


def log_retention_days(audit_retention_days: int) -> int:
    """The shortest CloudWatch retention that keeps the audit lines as long as the items."""
    return next(
        (d for d in (*_LOG_RETENTION_DAYS, *_LOG_RETENTION_DAYS_LONG) if d >= audit_retention_days),
        3653,
    )
