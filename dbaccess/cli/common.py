"""Small pieces every command shares: output formats, dates, reporting invalid input."""

from __future__ import annotations

import datetime as dt
import enum
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from dbaccess.access import InvalidInput
from dbaccess.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from dbaccess.access.plan import AccessPlan
    from dbaccess.stack.settings import Settings


class Format(enum.StrEnum):
    text = "text"
    json = "json"


# Options several commands share, declared once.
FormatOption = Annotated[
    Format, typer.Option("--format", help="text for people, json for machines.")
]
# The commands that run the Pulumi program offline (preview, iam-policy).
StackOption = Annotated[str, typer.Option(help="The stack whose Pulumi.<stack>.yaml to use.")]
ProgramDirOption = Annotated[
    Path, typer.Option(help="The Pulumi project directory (with Pulumi.yaml).")
]
DateOption = Annotated[
    str | None,
    typer.Option(help="Evaluate expiry on this date (YYYY-MM-DD) instead of today (UTC)."),
]


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date; write YYYY-MM-DD") from None


def exit_invalid(exc: InvalidInput, fmt: Format) -> NoReturn:
    """Print every problem (stderr for people, stdout JSON for machines) and exit 2."""
    if fmt is Format.json:
        print(exc.as_json())
    else:
        print(exc.render(), file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def require_extra(module: str, extra: str, what: str) -> None:
    """Commands whose libraries an engineer's install leaves out (the Pulumi SDKs for the
    offline program, a PostgreSQL driver for audit/sweep): say how to add them instead of a
    ModuleNotFoundError."""
    if importlib.util.find_spec(module) is None:
        print(
            f"error: this command {what} (not installed)\n"
            "In a checkout: make .venv/.installed (or pip install -r requirements.txt -e .);\n"
            f"with pipx: pipx install 'dbaccess[{extra}] @ git+https://github.com/<org>/db-access'",
            file=sys.stderr,
        )
        raise typer.Exit(ExitCode.FAILED)


def require_program_extra() -> None:
    require_extra("pulumi_aws", "program", "runs the Pulumi program and needs its SDKs")


def stack_settings(
    stack: str, fmt: Format, *, required: bool, plan: AccessPlan | None = None
) -> Settings | None:
    """The stack's settings, checked against `plan`'s accounts when given (None when not
    `required` and Pulumi.<stack>.yaml is absent)."""
    from dbaccess.stack.file import load_stack_config
    from dbaccess.stack.settings import check_accounts, parse_settings

    if not required and not Path(f"Pulumi.{stack}.yaml").is_file():
        return None
    try:
        config = load_stack_config(Path("."), stack)
        settings = parse_settings(config.raw_settings, config.source, prefix=("config",))
        if plan is not None:
            check_accounts(plan, settings, config.source, prefix=("config",))
    except InvalidInput as exc:
        exit_invalid(exc, fmt)
    return settings
