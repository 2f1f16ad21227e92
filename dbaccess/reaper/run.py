"""One reaper run: read the catalog and usage, record first sightings, send the notices due
today, write `stale-grants.json`.

I/O only; the rules are in `core`. Safe to run twice a day: a notice is recorded in the
reaper's table once its DM is posted, and a recorded notice is never sent again.
Never logged: the Slack token (the client holds it), message bodies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess import request_table as rq
from dbaccess.catalog import Catalog
from dbaccess.clients.deadline import Deadline
from dbaccess.clients.slack import DirectMessages, SlackFailure
from dbaccess.reaper import core, messages
from dbaccess.reaper.settings import KEY, PURGE_AT, SERVICE, ReaperSettings

logger = Logger(service=SERVICE)

FIRST_SEEN = "first_seen"
SENT_ON = "sent_on"
NOTICE_RETENTION_DAYS = 30  # kept past the removal date they were about
NOTICE_SEND_SECONDS = 30.0  # for one person's notice, Slack's Retry-After waits included


def seen_key(grant: core.GrantKey) -> str:
    return f"seen|{grant.text}"


def notice_key(grant: core.GrantKey, removal: dt.date, stage: int) -> str:
    return f"notice|{grant.text}|{removal.isoformat()}|{stage}"


@dataclass(frozen=True)
class State:
    first_seen: dict[core.GrantKey, dt.date]
    sent: dict[tuple[core.GrantKey, dt.date], set[int]]


@dataclass(frozen=True)
class PersonRequests:
    last_used: dict[tuple[str, str], dt.date]  # (database, access) -> newest ISSUED day
    slack_user_id: str | None  # from the newest request of any status


@dataclass
class RunSummary:
    today: dt.date
    grants: int = 0
    first_seen: int = 0
    stale: int = 0
    notices_sent: int = 0
    people_notified: int = 0
    people_unreachable: list[str] = field(default_factory=list)
    accounts_unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "grants": self.grants,
            "first_seen": self.first_seen,
            "stale": self.stale,
            "notices_sent": self.notices_sent,
            "people_notified": self.people_notified,
            "people_unreachable": self.people_unreachable,
            "accounts_unreadable": self.accounts_unreadable,
        }


class Reaper:
    """Built once per cold start (see handler.py); holds no state between runs."""

    def __init__(
        self,
        settings: ReaperSettings,
        *,
        s3: Any,
        dynamodb: Any,
        iam_in: Callable[[str], Any],  # account id -> an IAM client able to GetRole there
        slack: DirectMessages,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self._s3 = s3
        self._dynamodb = dynamodb
        self._iam_in = iam_in
        self._dms = slack
        self._requests_table = rq.RequestTable(dynamodb, settings.request_table, now=clock)
        self._clock = clock

    def today(self) -> dt.date:
        return self._clock().astimezone(self.settings.timezone).date()

    def run(self) -> RunSummary:
        today = self.today()
        summary = RunSummary(today)
        catalog = self._catalog()
        state = self._state()
        requests = {email: self._requests(email) for email in sorted(catalog.people)}
        role_used, unreadable = self._role_usage(catalog)
        summary.accounts_unreadable = sorted(unreadable)

        statuses: list[core.GrantStatus] = []
        current: set[core.GrantKey] = set()
        for email, person in sorted(catalog.people.items()):
            for grant in person.grants:
                key = core.GrantKey(email, grant.database, grant.access)
                current.add(key)
                first_seen = state.first_seen.get(key)
                if first_seen is None:
                    first_seen = today
                    self._record_first_seen(key, today)
                    summary.first_seen += 1
                account = catalog.databases[grant.database].account
                if account in unreadable:
                    continue  # never expire what may be in use: no signal, no verdict
                usage = core.Usage(
                    key=key,
                    login=grant.login,
                    account=account,
                    until=grant.until,
                    first_seen=first_seen,
                    last_used=requests[email].last_used.get((grant.database, grant.access)),
                    role_last_used=role_used.get((email, account)),
                )
                statuses.append(core.assess(usage, today, self.settings.unused_days))
        summary.grants = len(current)
        self._forget(set(state.first_seen) - current)

        due = core.notices_by_person(statuses, self.settings.notice_days, state.sent)
        for email, items in sorted(due.items()):
            if self._notify(email, requests[email].slack_user_id, items, today):
                summary.notices_sent += len(items)
                summary.people_notified += 1
            else:
                summary.people_unreachable.append(email)

        report = core.build_report(statuses, today, self.settings.unused_days)
        summary.stale = len(report.grants)
        self._s3.put_object(
            Bucket=self.settings.report_bucket,
            Key=self.settings.report_key,
            Body=core.report_json(report).encode(),
            ContentType="application/json",
        )
        logger.info("reaper run", extra={"summary": summary.as_dict()})
        return summary

    # --- reading ---------------------------------------------------------------------------

    def _catalog(self) -> Catalog:
        answer = self._s3.get_object(
            Bucket=self.settings.catalog_bucket, Key=self.settings.catalog_key
        )
        return Catalog.from_json(answer["Body"].read())

    def _items(self, operation: str, **args: Any) -> Iterator[dict[str, Any]]:
        for page in self._dynamodb.get_paginator(operation).paginate(**args):
            yield from page.get("Items", [])

    def _state(self) -> State:
        first_seen: dict[core.GrantKey, dt.date] = {}
        sent: dict[tuple[core.GrantKey, dt.date], set[int]] = defaultdict(set)
        for item in self._items("scan", TableName=self.settings.reaper_table):
            kind, _, rest = item[KEY]["S"].partition("|")
            if kind == "seen":
                first_seen[core.GrantKey.parse(rest)] = dt.date.fromisoformat(item[FIRST_SEEN]["S"])
            elif kind == "notice":
                grant, removal, stage = rest.rsplit("|", 2)
                sent[core.GrantKey.parse(grant), dt.date.fromisoformat(removal)].add(int(stage))
        return State(first_seen, sent)

    def _requests(self, email: str) -> PersonRequests:
        """The person's requests, through the request table's by-email index."""
        history = self._requests_table.person_history(email)
        last_used = {
            grant: self._local_day(dt.datetime.fromisoformat(moment))
            for grant, moment in history.last_issued.items()
        }
        return PersonRequests(last_used, history.slack_user_id)

    def _local_day(self, moment: dt.datetime) -> dt.date:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.settings.timezone).date()

    def _role_usage(self, catalog: Catalog) -> tuple[dict[tuple[str, str], dt.date], set[str]]:
        """(email, account) -> the day the person's role there was last used; and the accounts
        whose roles could not be read (their grants get no verdict today)."""
        used: dict[tuple[str, str], dt.date] = {}
        unreadable: set[str] = set()
        by_account: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for email, person in catalog.people.items():
            for account, arn in person.roles.items():
                by_account[account].append((email, arn))
        for account, roles in sorted(by_account.items()):
            try:
                iam = self._iam_in(account)
                for email, arn in roles:
                    day = self._role_last_used(iam, arn)
                    if day is not None:
                        used[email, account] = day
            except (BotoCoreError, ClientError, KeyError) as exc:
                code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else ""
                logger.error(
                    "cannot read role usage; no verdict on this account's grants today",
                    extra={"account": account, "error": type(exc).__name__, "code": code},
                )
                unreadable.add(account)
        return used, unreadable

    def _role_last_used(self, iam: Any, role_arn: str) -> dt.date | None:
        name = role_arn.rsplit("/", 1)[1]
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None
        last = (role.get("RoleLastUsed") or {}).get("LastUsedDate")
        return self._local_day(last) if last else None

    # --- writing ---------------------------------------------------------------------------

    def _record_first_seen(self, grant: core.GrantKey, today: dt.date) -> None:
        # A concurrent run may have seen it first: its date stands.
        with contextlib.suppress(self._dynamodb.exceptions.ConditionalCheckFailedException):
            self._dynamodb.put_item(
                TableName=self.settings.reaper_table,
                Item={KEY: {"S": seen_key(grant)}, FIRST_SEEN: {"S": today.isoformat()}},
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": KEY},
            )

    def _forget(self, gone: set[core.GrantKey]) -> None:
        """A grant removed from access.yaml starts a new window if it is granted again."""
        for grant in sorted(gone):
            self._dynamodb.delete_item(
                TableName=self.settings.reaper_table, Key={KEY: {"S": seen_key(grant)}}
            )

    def _notify(
        self,
        email: str,
        user_id: str | None,
        items: list[tuple[core.GrantStatus, int]],
        today: dt.date,
    ) -> bool:
        """One DM listing the grants; recorded only once posted. False if Slack failed."""
        text, blocks = messages.notice_message(items, self.settings.access_contact)
        user_id = user_id or self._lookup(email)
        if user_id is None:
            logger.warning("no Slack user for this person", extra={"email": email})
            return False
        try:
            self._dms.send(user_id, text, blocks, Deadline.within(NOTICE_SEND_SECONDS))
        except SlackFailure as exc:
            logger.warning("expiry notice not sent", extra={"email": email, "error": exc.error})
            return False
        for status, stage in items:
            purge = status.removal_date + dt.timedelta(days=NOTICE_RETENTION_DAYS)
            self._dynamodb.put_item(
                TableName=self.settings.reaper_table,
                Item={
                    KEY: {"S": notice_key(status.key, status.removal_date, stage)},
                    SENT_ON: {"S": today.isoformat()},
                    PURGE_AT: {
                        "N": str(int(dt.datetime.combine(purge, dt.time(), dt.UTC).timestamp()))
                    },
                },
            )
        logger.info(
            "expiry notice sent",
            extra={
                "email": email,
                "grants": [f"{s.key.database} {s.key.access}" for s, _ in items],
                "notice_days": sorted({stage for _, stage in items}),
            },
        )
        return True

    def _lookup(self, email: str) -> str | None:
        """Someone who never requested through Slack: find them by email
        (users.lookupByEmail, scope users:read.email)."""
        try:
            return self._dms.user_id_for_email(email, Deadline.within(NOTICE_SEND_SECONDS))
        except SlackFailure as exc:
            logger.warning("users.lookupByEmail failed", extra={"email": email, "error": exc.error})
            return None
