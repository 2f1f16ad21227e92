"""One credential request, from the stream record to the Slack DM and the final status.

    claim (PENDING -> ISSUING, with a lease) -> [a DM may have been sent already? look for it]
    -> catalog check -> open the DM -> assume the person's role -> credential -> paste
    -> record "a DM may be sent" -> DM with the link, tagged with the request id -> ISSUED

At most one link is delivered per request, whatever fails:
- A claim holds a lease that outlives its invocation (`lease_seconds`): a second delivery of
  the same record never works on it while the first may be alive; it hands the record back.
- Before posting the DM, the item records where it may go (`dm_channel`, `dm_attempted_at`),
  and the DM carries Slack message metadata (`dbaccess_credential`, `{request_id}`). Whoever
  finds that mark (the same invocation after an unclear answer, or a later delivery after the
  `ISSUED` write failed or the invocation died) looks for the tagged message in the DM's
  history first: found, the request is ISSUED without a second paste or DM; not found, nothing
  was delivered and the work is redone; unknown (Slack unreachable), nothing more is sent.
- Every call and wait is bounded by the invocation's deadline (see dbaccess/clients/deadline.py), so
  a record ends finished or handed back (ISSUING -> PENDING, `RetryLater`) in time to write
  it; transient failures back off before being handed back. The attempt that reaches
  `max_attempts` marks the request FAILED and tells the person nothing was issued.

Never logged, raised or stored: the password, the Slack token, the paste link.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess import request_table as ri
from dbaccess.catalog import Catalog, CatalogDatabase, CatalogError, CatalogSource
from dbaccess.clients.deadline import Deadline
from dbaccess.clients.privatebin import PrivateBin, PrivateBinError
from dbaccess.clients.slack import DirectMessages, SlackFailure
from dbaccess.credentials import CredentialError, assume_person_role, issue_credential
from dbaccess.issuer import messages
from dbaccess.issuer.settings import LAMBDA_TIMEOUT_SECONDS, IssuerSettings

SERVICE = "dbaccess-issuer"
logger = Logger(service=SERVICE)

DM_EVENT_TYPE: Final = "dbaccess_credential"  # Slack message metadata on the DM with a link
STATE_RESERVE: Final = 3.0  # seconds kept before the invocation's end to write the state
MIN_TIME_TO_START: Final = 5.0  # a record with less time left is handed back untouched
LEASE_MARGIN: Final = 30  # seconds past the longest its holder can live
BACKOFF_BASE: Final = 0.5  # seconds before handing back a transient failure, doubled per attempt
BACKOFF_MAX: Final = 4.0
# Slack answers a post in well under a second; past this the answer is treated as unclear
# (the DM may exist) and the history says whether it does.
SLACK_CALL_TIMEOUT: Final = 4.0
HISTORY_SKEW: Final = 60  # seconds: Slack's clock and ours may differ a little
AUDIT_KEYS: Final = ("request_id", "email", "database", "access", "attempt")

# The AWS calls of one request must fit the deadline too: short timeouts, few retries.
AWS_CONFIG: Final = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
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


@dataclass
class _Work:
    """One claimed request being worked on."""

    request: ri.Request
    claim: ri.Claim
    deadline: Deadline
    started: float
    db: CatalogDatabase | None = None
    # Whether the DM the mark speaks of is known not to exist (checked in the history).
    dm_absent: bool = False


def lease_seconds(deadline: Deadline) -> int:
    """A claim's lease: past the Lambda timeout and past this invocation's own end."""
    return math.ceil(max(LAMBDA_TIMEOUT_SECONDS, deadline.remaining() + STATE_RESERVE)) + (
        LEASE_MARGIN
    )


@contextmanager
def _slack_errors() -> Iterator[None]:
    try:
        yield
    except SlackFailure as exc:
        raise IssueError("slack_unavailable", str(exc), transient=exc.transient) from None


class Issuer:
    """Handles request records. Built once per cold start (see handler.py); holds no request
    state between calls. `clock` is the wall clock (leases, grant expiry); tests move it."""

    def __init__(
        self,
        settings: IssuerSettings,
        *,
        dynamodb: Any,
        catalog: CatalogSource,
        session: boto3.Session,
        privatebin: PrivateBin,
        slack: DirectMessages,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.table = ri.RequestTable(dynamodb, settings.request_table, now=lambda: self.clock())
        self._catalog = catalog
        self._session = session
        self._sts_clients: dict[str, Any] = {}
        self._privatebin = privatebin
        self._dms = slack
        self._sleep = sleep

    # --- the record ------------------------------------------------------------------------

    def handle(
        self, image: dict[str, Any], invocation_id: str, deadline: Deadline | None = None
    ) -> str:
        """Work on one request image; return the outcome (also in the audit line).

        Raises MalformedRequest for an image that is not a request, RetryLater when the
        request was handed back for another delivery.
        """
        started = time.monotonic()
        deadline = deadline or Deadline.within(LAMBDA_TIMEOUT_SECONDS - STATE_RESERVE)
        logger.append_keys(request_id=image.get(ri.REQUEST_ID))
        try:
            try:
                request = ri.parse_request(image)
            except ri.MalformedRequest:
                self._audit("malformed", started)
                raise
            logger.append_keys(
                email=request.email, database=request.database, access=request.access
            )
            return self._handle(request, invocation_id, deadline, started)
        finally:
            logger.remove_keys(AUDIT_KEYS)

    def _handle(
        self, request: ri.Request, invocation_id: str, deadline: Deadline, started: float
    ) -> str:
        if deadline.remaining() < MIN_TIME_TO_START:
            self._audit("handed_back", started, reason="deadline")
            raise RetryLater(f"{request.request_id}: no time left in this invocation")
        holder = f"{invocation_id}/{uuid.uuid4().hex[:8]}"
        try:
            claim = self.table.claim(
                request.request_id,
                holder,
                lease_seconds=lease_seconds(deadline),
                max_attempts=self.settings.max_attempts,
            )
        except (BotoCoreError, ClientError) as exc:
            return self._claim_failed(request, deadline, started, exc)
        if isinstance(claim, ri.Refusal):
            if claim.lease_alive(self.table.epoch()):
                # Held by a delivery that may be alive: never two at once. By the next
                # delivery it has finished, or its lease has run out and it can be taken over.
                self._audit("busy", started, status_seen=ri.Status.ISSUING.value)
                raise RetryLater(f"{request.request_id}: held by another delivery")
            self._audit("skipped", started, status_seen=claim.status)
            return "skipped"
        logger.append_keys(attempt=claim.attempt)
        work = _Work(request, claim, deadline, started)
        try:
            return self._work(work)
        except IssueError as exc:
            return self._after_failure(work, exc)

    def _work(self, work: _Work) -> str:
        if work.claim.dm_channel is not None and self._delivered_before(work):
            return self._finish(work, ri.Status.ISSUED, None, "issued", delivered_before=True)
        if work.claim.attempt > self.settings.max_attempts:
            # Taken over from a delivery that died holding the last attempt.
            raise IssueError("crashed", "the last attempt did not finish", transient=False)
        catalog = self._read_catalog()
        work.db = catalog.databases.get(work.request.database)
        denial = self._check(catalog, work.request)
        if denial is not None:
            text, blocks = messages.denied_message(
                work.request, denial.db, denial.reason, self.settings.access_contact
            )
            with _slack_errors():
                self._dms.send(work.request.slack_user_id, text, blocks, work.deadline)
            return self._finish(work, ri.Status.DENIED, "not_granted", "denied")
        assert work.db is not None  # _check denies unknown databases
        self._issue(catalog, work.db, work)
        return self._finish(work, ri.Status.ISSUED, None, "issued")

    # --- the steps -------------------------------------------------------------------------

    def _sts(self, region: str) -> Any:
        """The issuer's STS client for `region` (regional endpoint), made once."""
        if region not in self._sts_clients:
            self._sts_clients[region] = self._session.client(
                "sts", region_name=region, config=AWS_CONFIG
            )
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

    def _check(self, catalog: Catalog, request: ri.Request) -> Denial | None:
        db = catalog.databases.get(request.database)
        if db is None:
            return Denial(None, f"there is no database called {request.database} that I know of")
        person = catalog.person(request.email)
        grant = person.grant(request.database, request.access) if person else None
        if grant is None:
            return Denial(db, f"you have not been given {request.access} access to it")
        if grant.expired_on(self.clock().date()):
            return Denial(db, f"your {request.access} grant expired on {grant.until}")
        return None

    def _issue(self, catalog: Catalog, db: CatalogDatabase, work: _Work) -> None:
        request, deadline = work.request, work.deadline
        person = catalog.person(request.email)
        grant = person.grant(request.database, request.access) if person else None
        assert person is not None
        assert grant is not None
        role_arn = person.roles.get(db.account)
        if role_arn is None:
            raise IssueError("no_role", f"no role in account {db.account}", transient=False)
        # Opened first: someone Slack cannot reach gets no credential made at all.
        with _slack_errors():
            channel = self._dms.open(request.slack_user_id, deadline)
        tz = self._dms.time_zone(request.slack_user_id, deadline)
        try:
            credentials = assume_person_role(self._sts(db.region), role_arn, request.email)
            credential = issue_credential(credentials, db, grant, now=self.clock())
        except CredentialError as exc:
            code = "aws_unavailable" if exc.transient else "aws_refused"
            raise IssueError(code, exc.message, transient=exc.transient) from None
        try:
            paste = self._privatebin.share(
                messages.paste_text(db, request.access, credential, tz),
                expire=self.settings.paste_expire,
                deadline=deadline,
            )
        except PrivateBinError as exc:
            code = "privatebin_unavailable" if exc.transient else "privatebin_refused"
            raise IssueError(code, str(exc), transient=exc.transient) from None
        text, blocks = messages.issued_message(
            request, db, paste.link, self.settings.paste_expire, credential.expires_at, tz
        )
        try:
            work.claim = self.table.mark_dm_attempt(work.claim, channel)
        except (BotoCoreError, ClientError) as exc:
            raise IssueError(
                "state_unwritable", f"marking the DM: {type(exc).__name__}", transient=True
            ) from None
        work.dm_absent = False
        try:
            self._dms.post(
                channel,
                text,
                blocks,
                deadline,
                metadata={
                    "event_type": DM_EVENT_TYPE,
                    "event_payload": {"request_id": request.request_id},
                },
            )
        except SlackFailure as exc:
            # An unclear answer (timeout, cut connection, 5xx): Slack may have posted it.
            work.dm_absent = not exc.maybe_delivered
            if not (exc.maybe_delivered and self._delivered_before(work)):
                raise IssueError("slack_unavailable", str(exc), transient=exc.transient) from None

    def _delivered_before(self, work: _Work) -> bool:
        """Whether the DM the item's mark speaks of exists (then it must not be sent again)."""
        assert work.claim.dm_channel is not None
        since = (work.claim.dm_attempted_at or 0) - HISTORY_SKEW
        with _slack_errors():
            found = self._dms.find_tagged(
                work.claim.dm_channel,
                DM_EVENT_TYPE,
                {"request_id": work.request.request_id},
                since,
                work.deadline,
            )
        work.dm_absent = not found
        return found

    # --- ending ----------------------------------------------------------------------------

    def _finish(
        self, work: _Work, status: ri.Status, code: str | None, outcome: str, **audit: Any
    ) -> str:
        duration_ms = round((time.monotonic() - work.started) * 1000)
        try:
            self.table.finish(work.claim, status, code, duration_ms)
        except (BotoCoreError, ClientError) as exc:
            # The DM (if any) stays the only one: the item keeps its mark, and the delivery
            # that takes over after the lease finds the message and writes the status.
            self._audit(
                outcome, work.started, error_code=code, state="unwritten", error=type(exc).__name__
            )
            raise RetryLater(f"{work.request.request_id}: final status not written") from None
        self._audit(outcome, work.started, error_code=code, **audit)
        return outcome

    def _after_failure(self, work: _Work, exc: IssueError) -> str:
        if exc.transient and work.claim.attempt < self.settings.max_attempts:
            try:
                self.table.release(work.claim, exc.code)
            except (BotoCoreError, ClientError):
                logger.warning("could not hand the request back; its lease will run out")
            wait = work.deadline.cap(min(BACKOFF_BASE * 2 ** (work.claim.attempt - 1), BACKOFF_MAX))
            self._sleep(wait)  # the next delivery comes at once: spread the attempts out
            self._audit("retry", work.started, error_code=exc.code, backoff_ms=round(wait * 1000))
            raise RetryLater(f"{work.request.request_id}: {exc}") from None
        if work.claim.dm_channel is not None and not work.dm_absent:
            # A DM with a link may exist: saying "nothing was issued" could be untrue.
            return self._finish(work, ri.Status.FAILED, "delivery_unknown", "failed")
        told = self._tell_failed(work.request, work.db, exc.code, work.deadline)
        return self._finish(work, ri.Status.FAILED, exc.code, "failed", notified=told)

    def _claim_failed(
        self, request: ri.Request, deadline: Deadline, started: float, exc: Exception
    ) -> str:
        """DynamoDB refused the claim (after the client's retries): nothing can be issued
        now. The person is told so, unless an earlier delivery did get the link to them."""
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else ""
        try:
            channel = self._dms.open(request.slack_user_id, deadline)
            since = int(dt.datetime.fromisoformat(request.requested_at).timestamp())
            delivered = self._dms.find_tagged(
                channel, DM_EVENT_TYPE, {"request_id": request.request_id}, since, deadline
            )
        except SlackFailure as failure:
            logger.warning("could not tell the person", extra={"error": str(failure)})
            delivered, told = False, False
        else:
            told = not delivered and self._tell_failed(request, None, "claim_refused", deadline)
        outcome = "issued" if delivered else "failed"
        self._audit(
            outcome,
            started,
            error_code="claim_refused",
            aws_error=code,
            notified=told,
            state="unwritten",
        )
        return outcome

    def _tell_failed(
        self, request: ri.Request, db: CatalogDatabase | None, code: str, deadline: Deadline
    ) -> bool:
        """A DM saying nothing was issued (best effort: Slack may be the cause)."""
        text, blocks = messages.failed_message(request, db, code, self.settings.support_contact)
        try:
            self._dms.send(request.slack_user_id, text, blocks, deadline)
        except SlackFailure as exc:
            logger.warning("could not tell the person", extra={"error": str(exc)})
            return False
        return True

    def _audit(self, outcome: str, started: float, **fields: Any) -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        logger.info(
            "credential request",
            extra={
                "audit": True,
                **{k: v for k, v in fields.items() if v is not None},
                "outcome": outcome,
                "duration_ms": duration_ms,
            },
        )
