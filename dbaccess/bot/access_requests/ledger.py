"""What the bot remembers about the access requests it turned into pull requests.

Two small item kinds in the existing request table, beside the credential requests and out of
their way: their keys start with `access-request#`, they carry no `status` (the issuer's stream
filter passes only PENDING inserts) and no `email` (so the by-email index, which counts
credential requests, never sees them).

- `access-request#count#<email>#<day>`: how many requests the person made that day (UTC),
  raised by a conditional ADD, so the daily limit holds whatever bot replica answers.
- `access-request#watch`: the pull requests still open, one attribute `pr_<number>` each
  (who asked, what, the link). The poller reads it with one GetItem; a decided pull request's
  attribute is removed with a condition that it still exists, and only the replica whose
  removal succeeded sends the DM: each person is told once. One item holds ~2,000 open
  requests (DynamoDB's 400 KB) — far more than are ever open at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from dbaccess.request_table import ACCESS_REQUEST_PREFIX as KEY_PREFIX
from dbaccess.request_table import PURGE_AT, REQUEST_ID, from_attribute, to_attribute

WATCH_KEY: Final = f"{KEY_PREFIX}watch"
COUNT: Final = "count"
_PR: Final = "pr_"
_STOPPED: Final = "auto_merge_stopped"
DAILY_LIMIT: Final = 5
COUNTER_DAYS_KEPT: Final = 2


@dataclass(frozen=True)
class WatchedRequest:
    """An open pull request the bot opened, and whom to tell when it is decided."""

    number: int
    url: str
    slack_user_id: str
    email: str
    database: str
    access: str
    head_sha: str = ""  # the bot's own commit: auto-merge merges nothing else
    auto_merge_stopped: bool = False  # the requester was told a person has to merge it


class RequestLedger:
    def __init__(self, dynamodb: Any, table: str, *, daily_limit: int = DAILY_LIMIT) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self.daily_limit = daily_limit

    def take_daily_slot(self, email: str, today: dt.date) -> bool:
        """Count one request for the person today; False (nothing counted) past the limit."""
        expires = dt.datetime.combine(today, dt.time(), dt.UTC) + dt.timedelta(
            days=COUNTER_DAYS_KEPT
        )
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={REQUEST_ID: to_attribute(self._counter(email, today))},
                UpdateExpression="ADD #count :one SET #purge = :purge",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": COUNT, "#purge": PURGE_AT},
                ExpressionAttributeValues={
                    ":one": to_attribute(1),
                    ":limit": to_attribute(self.daily_limit),
                    ":purge": to_attribute(int(expires.timestamp())),
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def give_back_daily_slot(self, email: str, today: dt.date) -> None:
        """A request that opened nothing (GitHub failed, the edit was refused) does not count."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key={REQUEST_ID: to_attribute(self._counter(email, today))},
            UpdateExpression="ADD #count :minus_one",
            ConditionExpression="#count > :zero",
            ExpressionAttributeNames={"#count": COUNT},
            ExpressionAttributeValues={":minus_one": to_attribute(-1), ":zero": to_attribute(0)},
        )

    def watch(self, request: WatchedRequest) -> None:
        fields = {
            "url": request.url,
            "slack_user_id": request.slack_user_id,
            "email": request.email,
            "database": request.database,
            "access": request.access,
            "head_sha": request.head_sha,
        }
        self._dynamodb.update_item(
            TableName=self._table,
            Key={REQUEST_ID: to_attribute(WATCH_KEY)},
            UpdateExpression="SET #pr = :fields",
            ExpressionAttributeNames={"#pr": f"{_PR}{request.number}"},
            ExpressionAttributeValues={":fields": to_attribute(fields)},
        )

    def watched(self) -> Iterator[WatchedRequest]:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={REQUEST_ID: to_attribute(WATCH_KEY)}, ConsistentRead=True
        ).get("Item", {})
        for name, value in sorted(item.items()):
            if name.startswith(_PR) and name[len(_PR) :].isdigit():
                fields = from_attribute(value)
                yield WatchedRequest(
                    number=int(name[len(_PR) :]),
                    url=str(fields["url"]),
                    slack_user_id=str(fields["slack_user_id"]),
                    email=str(fields["email"]),
                    database=str(fields["database"]),
                    access=str(fields["access"]),
                    head_sha=str(fields.get("head_sha", "")),
                    auto_merge_stopped=bool(fields.get(_STOPPED)),
                )

    def forget(self, number: int) -> bool:
        """Stop watching; False if another replica did already (then it tells the person)."""
        return self._update_if(
            UpdateExpression="REMOVE #pr",
            ConditionExpression="attribute_exists(#pr)",
            ExpressionAttributeNames={"#pr": f"{_PR}{number}"},
        )

    def stop_auto_merge(self, number: int) -> bool:
        """Auto-merge gives #`number` up; False if it did already (or the request is no longer
        watched), so the requester is told once."""
        return self._update_if(
            UpdateExpression="SET #pr.#stopped = :yes",
            ConditionExpression="attribute_exists(#pr) AND attribute_not_exists(#pr.#stopped)",
            ExpressionAttributeNames={"#pr": f"{_PR}{number}", "#stopped": _STOPPED},
            ExpressionAttributeValues={":yes": to_attribute(True)},
        )

    def _update_if(self, **update: Any) -> bool:
        """The watch item's conditional update; False when its condition did not hold."""
        try:
            self._dynamodb.update_item(
                TableName=self._table, Key={REQUEST_ID: to_attribute(WATCH_KEY)}, **update
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _counter(email: str, today: dt.date) -> str:
        return f"{KEY_PREFIX}count#{email}#{today.isoformat()}"
