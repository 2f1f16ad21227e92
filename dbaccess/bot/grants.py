"""What a person may request, from the catalog: the only source of truth the bot reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dbaccess.bot.ids import RequestChoice
from dbaccess.catalog import Catalog
from dbaccess.request_table import ACCESS_LEVELS

ENGINE_NAMES = {
    "postgres": "PostgreSQL",
    "aurora-postgresql": "Aurora PostgreSQL",
    "redshift": "Redshift",
    "mysql": "MySQL",
    "aurora-mysql": "Aurora MySQL",
}


@dataclass(frozen=True)
class DatabaseChoices:
    """One database the person holds, with the access levels they may request."""

    key: str
    engine: str  # as people read it: "PostgreSQL"
    description: str | None
    production: bool
    accesses: tuple[str, ...]  # in ACCESS_LEVELS order
    ends: tuple[tuple[str, dt.date], ...] = ()  # (access, last day) of the dated ones

    @property
    def choices(self) -> tuple[RequestChoice, ...]:
        return tuple(RequestChoice(self.key, access) for access in self.accesses)


def choices_for(catalog: Catalog, email: str, today: dt.date) -> tuple[DatabaseChoices, ...]:
    """The person's unexpired grants, one entry per database, sorted by database key."""
    person = catalog.person(email)
    if person is None:
        return ()
    held: dict[str, set[str]] = {}
    ends: dict[str, dict[str, dt.date]] = {}
    for grant in person.grants:
        if grant.database in catalog.databases and not grant.expired_on(today):
            held.setdefault(grant.database, set()).add(grant.access)
            if grant.until is not None:
                ends.setdefault(grant.database, {})[grant.access] = grant.until
    result = []
    for key in sorted(held):
        db = catalog.databases[key]
        result.append(
            DatabaseChoices(
                key=key,
                engine=ENGINE_NAMES.get(db.engine, db.engine),
                description=db.description,
                production=db.production,
                accesses=tuple(a for a in ACCESS_LEVELS if a in held[key]),
                ends=tuple((a, d) for a, d in sorted(ends.get(key, {}).items())),
            )
        )
    return tuple(result)


def holds(catalog: Catalog, email: str, choice: RequestChoice, today: dt.date) -> bool:
    """Whether the catalog (as it is now, not as the view was) still grants this choice."""
    person = catalog.person(email)
    grant = person.grant(choice.database, choice.access) if person else None
    return (
        grant is not None and choice.database in catalog.databases and not grant.expired_on(today)
    )
