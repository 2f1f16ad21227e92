"""`dbaccess activity`: who ran which statement, read from the servers' audit logs in
CloudWatch Logs and attributed to people through the access plan. Pure but for the events
handed in.

Every person has their own logins (<base>_ro, <base>_rw), so a login in a log line names one
person and, with the server and database, one grant. A login no person of access.yaml has
(the admin, an application, someone since removed) is shown as it is, without a person.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dbaccess.access.naming import ACCESS_LEVELS, login_for
from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.audit.log_entry import LogEntry, UnreadableLine
from dbaccess.mysql import audit_log as mysql_log
from dbaccess.postgres import audit_log as postgres_log

STATEMENT_MAX: Final = 500  # characters of a statement shown; the rest is counted
DEFAULT_SINCE: Final = "24h"
_DURATION: Final = re.compile(r"(\d+)([mhdw])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Parser = tuple[Callable[[str], Iterable[str]], Callable[[str], LogEntry | None]]


@dataclass(frozen=True)
class LogSource:
    """One server's audit log group, and the access.yaml databases on that server."""

    group: str
    databases: tuple[DatabaseSpec, ...]

    @property
    def first(self) -> DatabaseSpec:
        return self.databases[0]

    @property
    def log_type(self) -> str:
        return postgres_log.LOG_TYPE if self.first.is_postgres else mysql_log.LOG_TYPE

    @property
    def parser(self) -> Parser:
        if self.first.is_postgres:
            return postgres_log.entries, postgres_log.parse_entry
        return mysql_log.entries, mysql_log.parse_entry


def log_group(db: DatabaseSpec) -> str:
    """The CloudWatch log group RDS exports the server's audit log to: the instance's for RDS,
    the cluster's (every member instance, one stream each) for Aurora."""
    kind = "cluster" if db.is_cluster else "instance"
    log_type = postgres_log.LOG_TYPE if db.is_postgres else mysql_log.LOG_TYPE
    return f"/aws/rds/{kind}/{db.identifier}/{log_type}"


def log_sources(plan: AccessPlan, keys: Sequence[str]) -> list[LogSource]:
    """The log groups holding the named databases' statements (all RDS databases when none is
    named), one per server, in the order of their first database. Redshift has none."""
    groups: dict[tuple[str, str, str], list[DatabaseSpec]] = {}
    for db in plan.databases.values():
        if db.uses_rds_iam and (not keys or db.key in keys):
            groups.setdefault((db.account, db.region, log_group(db)), []).append(db)
    return [LogSource(group, tuple(dbs)) for (_, _, group), dbs in groups.items()]


def log_groups(plan: AccessPlan) -> list[tuple[str, str, str]]:
    """(account, region, log group) of every log group `dbaccess activity` reads: what the
    deploy role needs logs:FilterLogEvents on."""
    return [(s.first.account, s.first.region, s.group) for s in log_sources(plan, [])]


@dataclass(frozen=True)
class Activity:
    """One statement, attributed: `person` None for a login no person of access.yaml has."""

    time: dt.datetime
    person: str | None
    database: str  # the access.yaml key, else the server's name for it
    access: str | None  # the grant's access level, when the login is a grant's
    login: str
    cls: str
    statement: str
    server: str  # the RDS instance or Aurora cluster id

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "person": self.person,
            "database": self.database,
            "access": self.access,
            "login": self.login,
            "class": self.cls,
            "statement": self.statement,
            "server": self.server,
        }


@dataclass(frozen=True)
class _Grant:
    email: str
    db: DatabaseSpec
    access: str


class Logins:
    """Who each login is on each server, from the plan: today's grants, and the grants whose
    `until` has passed (their statements stay attributed after the login is dropped)."""

    def __init__(self, plan: AccessPlan) -> None:
        # (server, login) -> database key -> the grant; today's win over expired ones.
        self._grants: dict[tuple[tuple[str, str, str, str], str], dict[str, _Grant]] = {}
        self._people: dict[str, str] = {}
        for person in plan.people.values():
            for access in ACCESS_LEVELS:
                self._people[login_for(person.base, access)] = person.email
            for grant in person.grants:
                self._add(
                    grant.login, _Grant(person.email, plan.databases[grant.database], grant.access)
                )
        for expired in plan.expired:
            owner = plan.people.get(expired.email)
            if owner is not None and expired.database in plan.databases:
                login = login_for(owner.base, expired.access)
                self._add(
                    login, _Grant(owner.email, plan.databases[expired.database], expired.access)
                )

    def _add(self, login: str, grant: _Grant) -> None:
        self._grants.setdefault((grant.db.server, login), {}).setdefault(grant.db.key, grant)

    def attribute(self, source: LogSource, entry: LogEntry) -> Activity:
        first = source.first
        grants = list(self._grants.get((first.server, entry.login), {}).values())
        grant = next((g for g in grants if g.db.name == entry.database), None)
        if grant is None and len(grants) == 1:
            grant = grants[0]  # MySQL: the session's default database may be another or none
        named = next((db.key for db in source.databases if db.name == entry.database), None)
        return Activity(
            time=entry.time,
            person=grant.email if grant else self._people.get(entry.login),
            database=grant.db.key if grant else named or entry.database,
            access=grant.access if grant else None,
            login=entry.login,
            cls=entry.cls,
            statement=shorten(redact(entry.statement)),
            server=first.identifier,
        )


# A password a statement sets (PostgreSQL's [ENCRYPTED] PASSWORD '…', MySQL's IDENTIFIED
# [WITH plugin] BY '…' / AS '…', SET PASSWORD … = '…'): the log holds it, what we print does not.
_SECRET_LITERAL: Final = re.compile(
    r"(\b(?:PASSWORD(?:\s+FOR\s+\S+)?|IDENTIFIED(?:\s+WITH\s+\S+)?\s+(?:BY|AS))\s*(?:=\s*)?(?:PASSWORD\s*\(\s*)?)"
    r"(?:'(?:[^'\\]|''|\\.)*'?|\"(?:[^\"\\]|\"\"|\\.)*\"?|\$(\w*)\$.*?(?:\$\2\$|$))",
    re.IGNORECASE | re.DOTALL,
)


def redact(statement: str) -> str:
    """The statement with every password literal it sets replaced by '***'."""
    return _SECRET_LITERAL.sub(lambda m: f"{m[1]}'***'", statement)


def shorten(statement: str, limit: int = STATEMENT_MAX) -> str:
    """At most `limit` characters of the statement, and how many were left out."""
    if len(statement) <= limit:
        return statement
    return f"{statement[:limit]}… [{len(statement) - limit} more characters]"


@dataclass(frozen=True)
class Wanted:
    """Which statements to keep: a person's (an email of access.yaml), a database's key."""

    person: str | None = None
    database: str | None = None

    def __call__(self, activity: Activity) -> bool:
        if self.person is not None and (activity.person or "").lower() != self.person.lower():
            return False
        return self.database is None or activity.database == self.database


@dataclass
class LineCount:
    """What the read lines were: statements kept, other log lines, unreadable ones."""

    statements: int = 0
    other: int = 0
    unreadable: int = 0
    why: dict[str, int] = field(default_factory=dict)

    def add(self, other: LineCount) -> None:
        self.statements += other.statements
        self.other += other.other
        self.unreadable += other.unreadable
        for reason, n in other.why.items():
            self.why[reason] = self.why.get(reason, 0) + n


def activities(
    source: LogSource,
    messages: Iterable[tuple[str, str]],
    logins: Logins,
    wanted: Wanted,
    count: LineCount,
) -> Iterator[Activity]:
    """The wanted statements of (log stream, event message) pairs, in their order. A statement
    pgaudit logged on several lines (one per relation) comes once; lines that cannot be read
    are counted in `count`, never raised."""
    split, parse = source.parser
    seen: set[tuple[str, ...]] = set()
    for stream, message in messages:
        for text in split(message):
            try:
                entry = parse(text)
            except UnreadableLine as exc:
                count.unreadable += 1
                count.why[str(exc)] = count.why.get(str(exc), 0) + 1
                continue
            if entry is None:
                count.other += 1
                continue
            if entry.key is not None:
                key = (stream, entry.time.isoformat(), *entry.key)
                if key in seen:
                    continue
                seen.add(key)
            activity = logins.attribute(source, entry)
            if wanted(activity):
                count.statements += 1
                yield activity


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_when(value: str, now: dt.datetime) -> dt.datetime:
    """24h / 30m / 7d / 2w before `now`, a date (midnight UTC) or an ISO date and time (UTC
    unless it says otherwise). Raises ValueError with the accepted forms."""
    text = value.strip()
    try:
        if match := _DURATION.fullmatch(text):
            when = now - dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
        else:
            when = dt.datetime.fromisoformat(text)
        when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    except ValueError:
        raise ValueError(
            f"'{value}' is not a time; write 24h, 30m, 7d, 2w, 2026-12-01 or "
            "2026-12-01T08:00 (UTC unless an offset is given)"
        ) from None
    except OverflowError:  # past year 1 or 9999 once in UTC, or a duration longer than that
        raise ValueError(
            f"'{value}' is outside the times a log can hold (1970 to 9999); write a nearer time"
        ) from None
    if when < _EPOCH:
        raise ValueError(
            f"'{value}' is before 1970-01-01, older than any log CloudWatch Logs holds; "
            "write a later time"
        )
    return when


def to_ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def sort_and_limit(found: Iterable[Activity], limit: int) -> tuple[list[Activity], bool]:
    """The first `limit` statements in time order, and whether there were more."""
    ordered = sorted(found, key=lambda a: a.time)
    return ordered[:limit], len(ordered) > limit


def summary_json(
    records: Sequence[Activity], since: dt.datetime, until: dt.datetime, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON document `dbaccess activity --format json` prints."""
    return {
        "since": since.isoformat().replace("+00:00", "Z"),
        "until": until.isoformat().replace("+00:00", "Z"),
        "activity": [r.as_json() for r in records],
        **extra,
    }
