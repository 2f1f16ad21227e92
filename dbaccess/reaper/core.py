"""The reaper's rules, as pure functions: when a grant is due for removal, which notice is due
today, and the stale-grant report (`stale-grants.json`) that `dbaccess expire` reads.

A grant's last activity is the newest of: its last use (the newest ISSUED request for it),
the day its person's role in that account was last used (ConsoleMe, weep, the CLI), and the
day the reaper first saw it (so a new grant gets the whole window). It is due for removal
`unused_days` after that, or on its `until` date if that comes first.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

REPORT_SCHEMA_VERSION: Final = 1
REPORT_KEY: Final = "stale-grants.json"

Reason = Literal["unused", "until"]


class GrantKey(NamedTuple):
    email: str
    database: str
    access: str

    @property
    def text(self) -> str:
        """Stable text form, used in the reaper's table keys."""
        return f"{self.email}|{self.database}|{self.access}"

    @classmethod
    def parse(cls, text: str) -> GrantKey:
        email, database, access = text.split("|")
        return cls(email, database, access)


@dataclass(frozen=True)
class Usage:
    """What the reaper knows about one grant today."""

    key: GrantKey
    login: str
    account: str
    until: dt.date | None
    first_seen: dt.date
    last_used: dt.date | None  # the newest ISSUED request for this grant
    role_last_used: dt.date | None  # the person's role in the grant's account


@dataclass(frozen=True)
class GrantStatus:
    usage: Usage
    removal_date: dt.date  # the date the grant is reported for removal (or its `until`)
    reason: Reason
    days_left: int

    @property
    def key(self) -> GrantKey:
        return self.usage.key

    @property
    def stale(self) -> bool:
        """In the report: unused through the window, or past its `until`."""
        return self.days_left <= 0 if self.reason == "unused" else self.days_left < 0


def last_activity(usage: Usage) -> dt.date:
    return max(d for d in (usage.first_seen, usage.last_used, usage.role_last_used) if d)


def assess(usage: Usage, today: dt.date, unused_days: int) -> GrantStatus:
    unused_on = last_activity(usage) + dt.timedelta(days=unused_days)
    if usage.until is not None and usage.until < unused_on:
        return GrantStatus(usage, usage.until, "until", (usage.until - today).days)
    return GrantStatus(usage, unused_on, "unused", (unused_on - today).days)


def due_notice(status: GrantStatus, notice_days: Sequence[int], sent: Iterable[int]) -> int | None:
    """The notice (in days before removal) to send today, or None.

    The most urgent notice day reached is due unless it, or a more urgent one, went out for
    this removal date. A missed day is caught up once, never repeated: a grant first
    assessed 10 days before removal gets the 14-day notice, then the 3-day one.
    """
    if status.stale or status.days_left < 0:
        return None
    reached = [day for day in notice_days if status.days_left <= day]
    if not reached:
        return None
    stage = min(reached)
    if any(day <= stage for day in sent):
        return None
    return stage


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleGrant:
    email: str
    database: str
    access: str
    login: str
    reason: Reason
    removal_date: dt.date
    last_used: dt.date | None
    role_last_used: dt.date | None
    first_seen: dt.date | None

    @property
    def key(self) -> GrantKey:
        return GrantKey(self.email, self.database, self.access)


@dataclass(frozen=True)
class StaleReport:
    evaluated_on: dt.date
    unused_days: int
    grants: tuple[StaleGrant, ...]


class ReportError(ValueError):
    """The report is not a stale-grants document this version understands."""


def stale_grant(status: GrantStatus) -> StaleGrant:
    u = status.usage
    return StaleGrant(
        email=u.key.email,
        database=u.key.database,
        access=u.key.access,
        login=u.login,
        reason=status.reason,
        removal_date=status.removal_date,
        last_used=u.last_used,
        role_last_used=u.role_last_used,
        first_seen=u.first_seen,
    )


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def report_json(report: StaleReport) -> str:
    document = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "evaluated_on": report.evaluated_on.isoformat(),
        "unused_days": report.unused_days,
        "grants": [
            {
                "email": g.email,
                "database": g.database,
                "access": g.access,
                "login": g.login,
                "reason": g.reason,
                "removal_date": g.removal_date.isoformat(),
                "last_used": _day(g.last_used),
                "role_last_used": _day(g.role_last_used),
                "first_seen": _day(g.first_seen),
            }
            for g in sorted(report.grants, key=lambda g: g.key)
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _finite(text: str) -> float:
    """A JSON number as a float; 1e400 would be infinity (and NaN and Infinity are not JSON)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_report(text: str | bytes) -> StaleReport:
    try:
        document = json.loads(text, parse_float=_finite, parse_constant=_not_json)
    except RecursionError:
        raise ReportError("the report is not JSON a report could be: it nests too deep") from None
    except ValueError as exc:  # JSONDecodeError, and numbers out of range
        raise ReportError(f"the report is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ReportError("the report is not a JSON object")
    if document.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise ReportError(
            f"report schema_version {document.get('schema_version')!r} is not "
            f"{REPORT_SCHEMA_VERSION}; upgrade dbaccess"
        )

    def date(value: Any) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    try:
        grants = tuple(
            StaleGrant(
                email=str(g["email"]).lower(),
                database=str(g["database"]),
                access=str(g["access"]),
                login=str(g.get("login") or ""),
                reason=_reason(g["reason"]),
                removal_date=dt.date.fromisoformat(g["removal_date"]),
                last_used=date(g.get("last_used")),
                role_last_used=date(g.get("role_last_used")),
                first_seen=date(g.get("first_seen")),
            )
            for g in document["grants"]
        )
        return StaleReport(
            evaluated_on=dt.date.fromisoformat(document["evaluated_on"]),
            unused_days=int(document["unused_days"]),
            grants=grants,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"the report is malformed: {exc!r}") from None


def _reason(value: Any) -> Reason:
    if value == "unused":
        return "unused"
    if value == "until":
        return "until"
    raise ValueError(f"unknown reason {value!r}")


def build_report(statuses: Iterable[GrantStatus], today: dt.date, unused_days: int) -> StaleReport:
    return StaleReport(today, unused_days, tuple(stale_grant(s) for s in statuses if s.stale))


def notices_by_person(
    statuses: Iterable[GrantStatus],
    notice_days: Sequence[int],
    sent: Mapping[tuple[GrantKey, dt.date], Iterable[int]],
) -> dict[str, list[tuple[GrantStatus, int]]]:
    """email -> [(grant status, notice day)] due today: one DM per person lists them all."""
    due: dict[str, list[tuple[GrantStatus, int]]] = {}
    for status in statuses:
        stage = due_notice(status, notice_days, sent.get((status.key, status.removal_date), ()))
        if stage is not None:
            due.setdefault(status.key.email, []).append((status, stage))
    return due
