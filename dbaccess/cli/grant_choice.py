"""Which of a person's grants a command means: the database named, the access level asked for,
and the rows `dbaccess list` shows."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dbaccess.access.errors import shown
from dbaccess.catalog import Catalog, CatalogDatabase, CatalogGrant, CatalogPerson
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.identity import (
    EngineerError,
)

# The Slack bot hands out credentials for existing grants; it cannot grant or renew access.
ASK_FOR_ACCESS: Final = (
    "To ask for access, open a pull request adding the grant to access.yaml; "
    "the database's owners review it."
)


class Level(enum.StrEnum):
    ro = "read-only"
    rw = "read-write"


# --- choosing the grant ----------------------------------------------------------------------


def _your_databases(person: CatalogPerson) -> str:
    items = sorted({f"{g.database} ({g.access})" for g in person.grants})
    return ", ".join(items) if items else "none"


def select_grant(
    catalog: Catalog, email: str, database: str, access: str, today: dt.date
) -> tuple[CatalogDatabase, CatalogGrant]:
    """The person's grant on `database` at `access`, or an EngineerError saying why not."""
    person = catalog.person(email)
    if person is None or not person.grants:
        raise EngineerError(
            f"{shown(email)} has no database grants in the catalog",
            ASK_FOR_ACCESS,
            ExitCode.INVALID_INPUT,
        )
    mine = {g.database for g in person.grants}
    if database not in mine:
        known = sorted(set(catalog.databases) | mine)
        close = difflib.get_close_matches(database, known, n=3, cutoff=0.6)
        if database in catalog.databases:
            message = f"you have no access to '{shown(database)}'"
        else:
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            message = f"unknown database '{shown(database)}'{hint}"
        raise EngineerError(
            message,
            f"Your databases: {_your_databases(person)}.\n{ASK_FOR_ACCESS}",
            ExitCode.INVALID_INPUT,
        )
    grant = person.grant(database, access)
    if grant is None:
        other = next(g for g in person.grants if g.database == database)
        if access == Level.rw:
            fix = f"Run without --rw for read-only access, or ask for read-write:\n{ASK_FOR_ACCESS}"
        else:
            fix = "Add --rw: you have read-write access only (chosen explicitly, never by default)."
        raise EngineerError(
            f"you have {other.access} access to {database!r}, not {access}",
            fix,
            ExitCode.INVALID_INPUT,
        )
    if grant.expired_on(today):
        raise EngineerError(
            f"your {access} access to {database!r} expired on {grant.until}",
            "To renew it, open a pull request moving `until:` of your grant in access.yaml "
            "to a later date.",
            ExitCode.INVALID_INPUT,
        )
    if database not in catalog.databases:
        raise EngineerError(
            f"the catalog has no connection details for {database!r}",
            "The catalog looks incomplete; try again after the next deploy.",
            ExitCode.FAILED,
        )
    return catalog.databases[database], grant


def list_rows(catalog: Catalog, email: str, today: dt.date) -> list[dict[str, Any]]:
    person = catalog.person(email)
    rows = []
    for g in sorted(person.grants if person else (), key=lambda g: (g.database, g.access)):
        db = catalog.databases.get(g.database)
        rows.append(
            {
                "database": g.database,
                "access": g.access,
                "engine": db.engine if db else None,
                "host": db.host if db else None,
                "port": db.port if db else None,
                "dbname": db.database if db else None,
                "login": g.login,
                "until": g.until.isoformat() if g.until else None,
                "expired": g.expired_on(today),
            }
        )
    return rows


def render_table(rows: Sequence[Mapping[str, Any]]) -> str:
    header = ("DATABASE", "ACCESS", "ENGINE", "HOST", "EXPIRES")
    body = [
        (
            r["database"],
            r["access"],
            r["engine"] or "?",
            f"{r['host']}:{r['port']}" if r["host"] else "?",
            ("EXPIRED " if r["expired"] else "") + (r["until"] or "never"),
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in (header, *body)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *body)
    )
