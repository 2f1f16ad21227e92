"""One credential request, from the stream record to the Slack DM and the final status.

    claim (PENDING -> ISSUING, attempts + 1, conditional) -> catalog check -> open the DM
    -> assume the person's role -> credential -> PrivateBin paste -> DM with the link
    -> ISSUED

The claim makes stream retries harmless: a request already issued, denied or failed is
skipped, so each request gets one DM. A transient failure hands the request back (ISSUING
-> PENDING) and raises `RetryLater`, so the batch reports the record failed and the event
source mapping delivers it again; the next delivery claims it again. The attempt that
reaches `max_attempts` marks it FAILED and tells the person nothing was issued.

Never logged, raised or stored: the password, the Slack token, the paste link.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from dbaccess import requests as rq
from dbaccess.catalog import Catalog, CatalogDatabase, CatalogError, CatalogSource
from dbaccess.credentials import CredentialError, assume_person_role, issue_credential
from dbaccess.issuer import messages
from dbaccess.issuer.settings import IssuerSettings
from dbaccess.privatebin import PrivateBin, PrivateBinError

SERVICE = "dbaccess-issuer"
logger = Logger(service=SERVICE)

# Slack errors worth another delivery; anything else (user_not_found, …) will not heal.
SLACK_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class IssueError(Exception):
    """A request could not be completed. `code` becomes the item's error_code; the message is
    ours, never a secret."""

    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class RetryLater(Exception):
    """Raised out of the record handler: the record is reported failed and delivered again."""


@dataclass(frozen=True)
class Denial:
    db: CatalogDatabase | None
    reason: str


class Slack:
    """The two Web API calls the issuer makes, with Slack's errors turned into IssueErrors."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def open_dm(self, user_id: str) -> str:
        answer = self._call("conversations.open", users=user_id)
        return str(answer["channel"]["id"])

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> None:
        # Links stay links: no unfurl, so Slack's crawler never opens (and burns) the paste.
        self._call(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    def _call(self, method: str, **args: Any) -> Any:
        try:
            return self._client.api_call(method, json=args)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            status = exc.response.status_code
            transient = status == 429 or status >= 500 or error in SLACK_TRANSIENT_ERRORS
            raise IssueError(
                "slack_unavailable", f"Slack {method}: {error}", transient=transient
            ) from None
        except (SlackClientError, OSError) as exc:
            raise IssueError(
                "slack_unavailable", f"Slack {method}: {type(exc).__name__}", transient=True
            ) from None


class Issuer:
    """Handles request records. Built once per cold start (see handler.py); holds no request
    state between calls."""

    def __init__(
        self,
        settings: IssuerSettings,
        *,
        dynamodb: Any,
        catalog: CatalogSource,
        session: boto3.Session,
        privatebin: PrivateBin,
        slack: Slack,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self._dynamodb = dynamodb
        self._catalog = catalog
        self._session = session
        self._sts_clients: dict[str, Any] = {}
        self._privatebin = privatebin
        self._slack = slack
        self._clock = clock

    # --- the record ------------------------------------------------------------------------

    def handle(self, image: dict[str, Any], invocation_id: str) -> str:
        """Work on one request image; return the outcome (also in the audit line).

        Raises MalformedRequest for an image that is not a request, RetryLater when the
        request was handed back for another delivery.
        """
        started = time.monotonic()
        audit: dict[str, Any] = {"request_id": image.get(rq.REQUEST_ID)}
        try:
            request = rq.parse_request(image)
        except rq.MalformedRequest:
            self._audit(audit, "malformed", started)
            raise
        audit |= {"email": request.email, "database": request.database, "access": request.access}
        attempt, seen = self._claim(request, invocation_id)
        if attempt is None:
            if seen == rq.Status.ISSUING:  # claimed by a delivery that died after max attempts
                self._give_up(request, None, "crashed", invocation_id, audit, started)
                return "failed"
            self._audit(audit | {"status_seen": seen}, "skipped", started)
            return "skipped"
        audit["attempt"] = attempt
        claim = _Claim(request, attempt, invocation_id, started)
        db: CatalogDatabase | None = None
        try:
            catalog = self._read_catalog()
            db = catalog.databases.get(request.database)
            denial = self._check(catalog, request)
            if denial is not None:
                channel = self._slack.open_dm(request.slack_user_id)
                text, blocks = messages.denied_message(
                    request, denial.db, denial.reason, self.settings.access_contact
                )
                self._slack.post(channel, text, blocks)
                self._finish(claim, rq.Status.DENIED, "not_granted")
                self._audit(audit | {"error_code": "not_granted"}, "denied", started)
                return "denied"
            assert db is not None  # _check denies unknown databases
            self._issue(catalog, db, request)
        except IssueError as exc:
            if exc.transient and attempt < self.settings.max_attempts:
                self._release(claim, exc.code)
                self._audit(audit | {"error_code": exc.code}, "retry", started)
                raise RetryLater(f"{request.request_id}: {exc}") from None
            self._give_up(request, claim, exc.code, invocation_id, audit, started, db)
            return "failed"
        self._finish(claim, rq.Status.ISSUED, None)
        self._audit(audit, "issued", started)
        return "issued"

    # --- the steps -------------------------------------------------------------------------

    def _sts(self, region: str) -> Any:
        """The issuer's STS client for `region` (regional endpoint), made once."""
        if region not in self._sts_clients:
            self._sts_clients[region] = self._session.client("sts", region_name=region)
        return self._sts_clients[region]

    def _read_catalog(self) -> Catalog:
        try:
            return self._catalog.get()
        except CatalogError as exc:
            raise IssueError("catalog_unreadable", str(exc), transient=False) from None
        except (BotoCoreError, ClientError) as exc:
            raise IssueError(
                "catalog_unreadable", f"reading the catalog: {type(exc).__name__}", transient=True
            ) from None

    def _check(self, catalog: Catalog, request: rq.Request) -> Denial | None:
        db = catalog.databases.get(request.database)
        if db is None:
            return Denial(None, f"there is no database called {request.database} in access.yaml")
        person = catalog.person(request.email)
        grant = person.grant(request.database, request.access) if person else None
        if grant is None:
            return Denial(db, f"access.yaml does not give you {request.access} access to it")
        if grant.expired_on(self._clock().date()):
            return Denial(db, f"your {request.access} grant expired on {grant.until}")
        return None

    def _issue(self, catalog: Catalog, db: CatalogDatabase, request: rq.Request) -> None:
        person = catalog.person(request.email)
        grant = person.grant(request.database, request.access) if person else None
        assert person is not None
        assert grant is not None
        role_arn = person.roles.get(db.account)
        if role_arn is None:
            raise IssueError("no_role", f"no role in account {db.account}", transient=False)
        # Opened first: someone Slack cannot reach gets no credential made at all.
        channel = self._slack.open_dm(request.slack_user_id)
        try:
            credentials = assume_person_role(self._sts(db.region), role_arn, request.email)
            credential = issue_credential(credentials, db, grant, now=self._clock())
        except CredentialError as exc:
            code = "aws_unavailable" if exc.transient else "aws_refused"
            raise IssueError(code, exc.message, transient=exc.transient) from None
        try:
            paste = self._privatebin.share(
                messages.paste_text(db, request.access, credential),
                expire=self.settings.paste_expire,
            )
        except PrivateBinError as exc:
            code = "privatebin_unavailable" if exc.transient else "privatebin_refused"
            raise IssueError(code, str(exc), transient=exc.transient) from None
        text, blocks = messages.issued_message(
            request, db, paste.link, self.settings.paste_expire, credential.expires_at
        )
        self._slack.post(channel, text, blocks)

    def _give_up(
        self,
        request: rq.Request,
        claim: _Claim | None,
        code: str,
        invocation_id: str,
        audit: dict[str, Any],
        started: float,
        db: CatalogDatabase | None = None,
    ) -> None:
        """FAILED, and a DM saying nothing was issued (best effort: Slack may be the cause)."""
        try:
            channel = self._slack.open_dm(request.slack_user_id)
            text, blocks = messages.failed_message(request, db, code, self.settings.access_contact)
            self._slack.post(channel, text, blocks)
            told = True
        except IssueError as exc:
            logger.warning("could not tell the person", extra={"error": str(exc)})
            told = False
        if claim is None:
            self._update(
                request.request_id,
                "SET #status = :final, error_code = :code REMOVE claimed_by",
                "#status = :issuing",
                {":final": _s(rq.Status.FAILED), ":code": _s(code), ":issuing": _s("ISSUING")},
            )
        else:
            self._finish(claim, rq.Status.FAILED, code)
        self._audit(audit | {"error_code": code, "notified": told}, "failed", started)

    # --- the item --------------------------------------------------------------------------

    def _claim(self, request: rq.Request, invocation_id: str) -> tuple[int | None, str | None]:
        """(attempt, None) when claimed; (None, current status) when not ours to work on.

        ISSUING held by another invocation means that one died mid-way (a shard's records
        are delivered one batch at a time), so it may be claimed again.
        """
        try:
            answer = self._dynamodb.update_item(
                TableName=self.settings.request_table,
                Key={rq.REQUEST_ID: _s(request.request_id)},
                UpdateExpression=(
                    "SET #status = :issuing, attempts = if_not_exists(attempts, :zero) + :one, "
                    "claimed_by = :me, claimed_at = :now"
                ),
                ConditionExpression=(
                    "(#status = :pending OR (#status = :issuing AND claimed_by <> :me)) "
                    "AND (attribute_not_exists(attempts) OR attempts < :max)"
                ),
                ExpressionAttributeNames={"#status": rq.STATUS},
                ExpressionAttributeValues={
                    ":issuing": _s(rq.Status.ISSUING),
                    ":pending": _s(rq.Status.PENDING),
                    ":zero": _n(0),
                    ":one": _n(1),
                    ":me": _s(invocation_id),
                    ":now": _n(int(self._clock().timestamp())),
                    ":max": _n(self.settings.max_attempts),
                },
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item") or {}
            return None, old.get(rq.STATUS, {}).get("S")
        return int(answer["Attributes"][rq.ATTEMPTS]["N"]), None

    def _release(self, claim: _Claim, code: str) -> None:
        self._update(
            claim.request.request_id,
            "SET #status = :pending, error_code = :code REMOVE claimed_by, claimed_at",
            "#status = :issuing AND claimed_by = :me",
            {
                ":pending": _s(rq.Status.PENDING),
                ":code": _s(code),
                ":issuing": _s(rq.Status.ISSUING),
                ":me": _s(claim.invocation_id),
            },
        )

    def _finish(self, claim: _Claim, status: rq.Status, code: str | None) -> None:
        now = self._clock()
        values = {
            ":final": _s(status),
            ":issuing": _s(rq.Status.ISSUING),
            ":me": _s(claim.invocation_id),
            ":duration": _n(round((time.monotonic() - claim.started) * 1000)),
        }
        sets = ["#status = :final", "duration_ms = :duration"]
        removes = ["claimed_by", "claimed_at"]
        if code is None:
            removes.append(rq.ERROR_CODE)
        else:
            sets.append("error_code = :code")
            values[":code"] = _s(code)
        if status == rq.Status.ISSUED:
            sets.append("issued_at = :issued")
            values[":issued"] = _s(rq.iso_utc(now))
        self._update(
            claim.request.request_id,
            f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            "#status = :issuing AND claimed_by = :me",
            values,
        )

    def _update(
        self, request_id: str, expression: str, condition: str, values: dict[str, Any]
    ) -> None:
        self._dynamodb.update_item(
            TableName=self.settings.request_table,
            Key={rq.REQUEST_ID: _s(request_id)},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": rq.STATUS},
            ExpressionAttributeValues=values,
        )

    def _audit(self, fields: dict[str, Any], outcome: str, started: float) -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        logger.info(
            "credential request",
            extra={"audit": True, **fields, "outcome": outcome, "duration_ms": duration_ms},
        )


@dataclass(frozen=True)
class _Claim:
    request: rq.Request
    attempt: int
    invocation_id: str
    started: float


def _s(value: str) -> dict[str, str]:
    return {"S": str(value)}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}
