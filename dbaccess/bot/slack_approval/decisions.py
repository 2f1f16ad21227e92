"""What the bot remembers about a request it asked owners to decide in Slack.

One item per pull request in the request table, `access-request#decision#<number>` (the
access-request items' prefix, dbaccess.request_table): the request as announced, the head
commit the buttons were sent for, the messages that carry them (to update in place), and the
decision. Deciding is two conditional writes: a click first *claims* the request (no
decision yet, and no live claim by someone else: two owners clicking at once, one wins), then,
once GitHub holds the review, *decides* it; a failure releases the claim, so the request stays
open for the next click. A claim left by a crashed replica lapses after CLAIM_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from dbaccess.bot.slack_approval.rules import RequestFacts
from dbaccess.request_table import ACCESS_REQUEST_PREFIX as KEY_PREFIX
from dbaccess.request_table import PURGE_AT, REQUEST_ID, from_attribute, to_attribute

DECISION_PREFIX: Final = f"{KEY_PREFIX}decision#"
CLAIM_SECONDS: Final = 60
KEPT_SECONDS: Final = 90 * 86400


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


@dataclass(frozen=True)
class Announced:
    """A request as the owners were shown it."""

    number: int
    url: str
    head_sha: str
    facts: RequestFacts
    until: str | None  # ISO date
    reason: str
    diff: str  # the access diff as text
    messages: tuple[MessageRef, ...] = ()
    decision: str | None = None  # approved | declined
    decided_by: str | None = None  # the GitHub login


class Taken(Exception):
    """Someone decided the request already, or is deciding it now."""

    def __init__(self, request: Announced) -> None:
        super().__init__(f"#{request.number} is decided or being decided")
        self.request = request


class DecisionStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def record(self, request: Announced, now: float) -> None:
        facts = request.facts
        fields = {
            "number": request.number,
            "url": request.url,
            "head_sha": request.head_sha,
            "database": facts.database,
            "access": facts.access,
            "beneficiary_email": facts.beneficiary_email,
            "beneficiary_slack_id": facts.beneficiary_slack_id,
            "beneficiary_login": facts.beneficiary_login,
            "owners": list(facts.owners),
            "until": request.until,
            "reason": request.reason,
            "diff": request.diff,
            "messages": [{"channel": m.channel, "ts": m.ts} for m in request.messages],
            PURGE_AT: int(now) + KEPT_SECONDS,
        }
        self._update(
            request.number,
            "SET " + ", ".join(f"#{i} = :{i}" for i in range(len(fields))),
            names={f"#{i}": name for i, name in enumerate(fields)},
            values={f":{i}": value for i, value in enumerate(fields.values())},
        )

    def get(self, number: int) -> Announced | None:
        item = self._dynamodb.get_item(
            TableName=self._table, Key=self._key(number), ConsistentRead=True
        ).get("Item")
        return _announced(item) if item else None

    def claim(self, number: int, slack_user_id: str, now: float) -> Announced:
        """Claim the request for this click; Taken if decided or claimed by a live click."""
        try:
            item = self._update(
                number,
                "SET #claim = :me, #until = :until",
                condition="attribute_exists(#number) AND attribute_not_exists(#decision) "
                "AND (attribute_not_exists(#until) OR #until < :now)",
                names={
                    "#claim": "claim",
                    "#until": "claim_until",
                    "#number": "number",
                    "#decision": "decision",
                },
                values={":me": slack_user_id, ":until": int(now) + CLAIM_SECONDS, ":now": int(now)},
                returns="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get(number)
            if current is None:
                raise
            raise Taken(current) from None
        return _announced(item)

    def release(self, number: int, slack_user_id: str) -> None:
        """Give the claim back (the decision failed): the next click may try again."""
        self._mine(number, slack_user_id, "REMOVE #claim, #until", {})

    def decide(self, number: int, slack_user_id: str, decision: str, login: str) -> None:
        self._mine(
            number,
            slack_user_id,
            "SET #decision = :decision, #by = :by REMOVE #claim, #until",
            {"#decision": "decision", "#by": "decided_by"},
            {":decision": decision, ":by": login},
        )

    def new_head(self, number: int, head_sha: str, messages: tuple[MessageRef, ...]) -> None:
        """The pull request moved on: the buttons now stand for `head_sha`."""
        self._update(
            number,
            "SET #head = :head, #messages = :messages",
            names={"#head": "head_sha", "#messages": "messages"},
            values={
                ":head": head_sha,
                ":messages": [{"channel": m.channel, "ts": m.ts} for m in messages],
            },
        )

    def _mine(
        self,
        number: int,
        slack_user_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any] | None = None,
    ) -> None:
        self._update(
            number,
            expression,
            condition="#claim = :me",
            names={"#claim": "claim", "#until": "claim_until", **names},
            values={":me": slack_user_id, **(values or {})},
        )

    def _update(
        self,
        number: int,
        expression: str,
        *,
        names: dict[str, str],
        values: dict[str, Any],
        condition: str | None = None,
        returns: str = "NONE",
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        answer = self._dynamodb.update_item(
            TableName=self._table,
            Key=self._key(number),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={k: to_attribute(v) for k, v in values.items()},
            ReturnValues=returns,
            **extra,
        )
        attributes: dict[str, Any] = answer.get("Attributes", {})
        return attributes

    @staticmethod
    def _key(number: int) -> dict[str, Any]:
        return {REQUEST_ID: to_attribute(f"{DECISION_PREFIX}{number}")}


def _announced(item: dict[str, Any]) -> Announced:
    f = {name: from_attribute(value) for name, value in item.items()}
    return Announced(
        number=int(f["number"]),
        url=str(f["url"]),
        head_sha=str(f["head_sha"]),
        facts=RequestFacts(
            database=str(f["database"]),
            access=str(f["access"]),
            beneficiary_email=str(f["beneficiary_email"]),
            beneficiary_slack_id=str(f["beneficiary_slack_id"]),
            beneficiary_login=f.get("beneficiary_login"),
            owners=tuple(str(o) for o in f.get("owners", [])),
        ),
        until=f.get("until"),
        reason=str(f.get("reason") or ""),
        diff=str(f.get("diff") or ""),
        messages=tuple(MessageRef(str(m["channel"]), str(m["ts"])) for m in f.get("messages", [])),
        decision=f.get("decision"),
        decided_by=f.get("decided_by"),
    )
