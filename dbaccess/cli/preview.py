"""`dbaccess preview`: the offline plan of access.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dbaccess.access import InvalidInput, load_access_file
from dbaccess.access.matrix import render_matrix
from dbaccess.cli.common import Format, exit_invalid, parse_date


def preview(
    file: Annotated[Path, typer.Option(help="The access file.")] = Path("access.yaml"),
    date: Annotated[
        str | None,
        typer.Option(help="Evaluate expiry on this date (YYYY-MM-DD) instead of today (UTC)."),
    ] = None,
) -> None:
    """Validate the access file and print the access matrix (people × databases).

    Cells read ro, rw or ro+rw; `*` marks a time-bound grant and `expired` one past its
    `until` (both listed under the table).

    Example:

        $ dbaccess preview
    """
    try:
        plan = load_access_file(file, today=parse_date(date))
    except InvalidInput as exc:
        exit_invalid(exc, Format.text)
    print(f"Access plan for {file} on {plan.evaluated_on}: {plan.summary()}\n")
    print(render_matrix(plan))
