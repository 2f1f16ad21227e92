"""`dbaccess validate`: check access.yaml and summarise it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dbaccess.access import InvalidInput, load_access_file
from dbaccess.access.matrix import audit_lines
from dbaccess.access.until import access_ends, iso_z
from dbaccess.cli.common import DateOption, Format, FormatOption, exit_invalid, parse_date


def validate(
    file: Annotated[Path, typer.Argument(help="The access file.")] = Path("access.yaml"),
    fmt: FormatOption = Format.text,
    date: DateOption = None,
) -> None:
    """Check an access file and summarise it; list every problem with file:line:column.

    Exit code 0 when valid, 2 when not (every problem is listed, not just the first).

    Example:

    \b
        $ dbaccess validate access.yaml
        OK: 9 people, 4 databases, 19 grants (1 expired)

        Dated grants: until is the last day of access, in UTC; AWS ends each at the next 00:00 UTC.
          until 2026-12-31 (ends 2027-01-01T00:00:00Z): hugo.henley@example.com read-write on orders
    """
    try:
        plan = load_access_file(file, today=parse_date(date))
    except InvalidInput as exc:
        exit_invalid(exc, fmt)
    dated = sorted(
        (g.until, access_ends(g.until), g.email, g.database, g.access)
        for g in plan.grants()
        if g.until is not None
    )
    if fmt is Format.json:
        grants = sum(1 for _ in plan.grants())
        print(
            json.dumps(
                {
                    "ok": True,
                    "people": len(plan.people),
                    "databases": len(plan.databases),
                    "grants": grants,
                    "expired": len(plan.expired),
                    "dated": [
                        {
                            "email": email,
                            "database": database,
                            "access": access,
                            "until": until.isoformat(),
                            "ends": iso_z(ends),
                        }
                        for until, ends, email, database, access in dated
                    ],
                    "query_audit": [
                        {
                            "email": g.email,
                            "database": g.database,
                            "access": g.access,
                            "login": g.login,
                            "level": g.query_audit,
                        }
                        for g in plan.grants()
                        if g.query_audit != "none"
                    ],
                }
            )
        )
        return
    print(f"OK: {plan.summary()}")
    if dated:
        print(
            "\nDated grants: until is the last day of access, in UTC; "
            "AWS ends each at the next 00:00 UTC."
        )
        for until, ends, email, database, access in dated:
            print(f"  until {until} (ends {iso_z(ends)}): {email} {access} on {database}")
    if audited := audit_lines(plan):
        print("", *audited, sep="\n")
