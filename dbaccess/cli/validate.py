"""`dbaccess validate`: check access.yaml and summarise it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dbaccess.access import InvalidInput, load_access_file
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
    """
    try:
        plan = load_access_file(file, today=parse_date(date))
    except InvalidInput as exc:
        exit_invalid(exc, fmt)
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
                }
            )
        )
    else:
        print(f"OK: {plan.summary()}")
