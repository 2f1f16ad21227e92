"""`dbaccess diff`: who gains or loses what between two versions of access.yaml in git."""

from __future__ import annotations

import datetime as dt
import enum
import subprocess
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from dbaccess.access import AccessPlan, InvalidInput, load_access_text, today_utc
from dbaccess.access.background import loading
from dbaccess.access.diff import diff_plans, render_json, render_markdown, render_text
from dbaccess.access.source import read_text
from dbaccess.cli.common import Format, exit_invalid, parse_date
from dbaccess.cli.exit_codes import ExitCode


class DiffFormat(enum.StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class GitError(Exception):
    """git could not give us a version of the file; the message says what to do."""


def diff(
    base: Annotated[str, typer.Option(help="The git ref to compare against, e.g. origin/main.")],
    head: Annotated[
        str | None,
        typer.Option(help="The git ref with the change; default: the file in the working tree."),
    ] = None,
    file: Annotated[Path, typer.Option(help="The access file.")] = Path("access.yaml"),
    fmt: Annotated[
        DiffFormat,
        typer.Option("--format", help="text for people, markdown for a PR comment, json."),
    ] = DiffFormat.text,
    date: Annotated[
        str | None,
        typer.Option(
            help="Evaluate both versions' expiry on this date (YYYY-MM-DD) instead of today (UTC)."
        ),
    ] = None,
) -> None:
    """Show who gains or loses database access between two versions of access.yaml.

    Both versions are read through git and evaluated on ONE date (today or
    --date), after groups and expiry: the result is what the edit changes,
    not what time does.

    A file missing at --base counts as empty: everything is gained. Reordering,
    comments and formatting only: "No access changes".

    Exit 0 when both versions are valid; 2 when one is not (its problems are
    listed) or git cannot read a version.

    Example:

        $ dbaccess diff --base origin/main --format markdown
    """
    today = parse_date(date) or today_utc()
    problems_format = Format.json if fmt is DiffFormat.json else Format.text
    try:
        plans = plans_between(file, base, head, today)
    except InvalidInput as exc:
        exit_invalid(exc, problems_format)
    except GitError as exc:
        _fail(str(exc))
    result = diff_plans(*plans)
    renderer = {
        DiffFormat.text: render_text,
        DiffFormat.markdown: render_markdown,
        DiffFormat.json: render_json,
    }[fmt]
    print(renderer(result))


def plans_between(
    file: Path, base: str, head: str | None, today: dt.date
) -> tuple[AccessPlan, AccessPlan]:
    """The access file at git refs `base` and `head` (None: the working tree), both evaluated
    on `today`. GitError if git cannot give a version; InvalidInput if one does not validate."""
    root = _git_root(file)
    path = file.resolve().relative_to(root).as_posix()
    base_text = _text_at(root, base, path)
    if head is None:
        head_text = read_text(file, "pass --file with the path of access.yaml")
        head_name = str(file)
    elif (shown := _text_at(root, head, path)) is not None:
        head_text, head_name = shown, f"{head}:{path}"
    else:
        raise GitError(f"{path} does not exist at '{head}'; pass --file with its path at that ref")
    # The two versions load side by side (one in a forked process when large).
    with loading(base_text or "", f"{base}:{path}", today) as base_plan:
        head_plan = load_access_text(head_text, head_name, today=today)
        return (base_plan() if base_text is not None else _empty(path, today), head_plan)


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed; install git and run again") from None


def _git_root(file: Path) -> Path:
    # The directory holding the file, so the command works from anywhere inside the repository.
    start = file.resolve().parent
    if not start.is_dir():
        raise GitError(f"{start} does not exist; pass --file with the path of access.yaml")
    result = _git(["rev-parse", "--show-toplevel"], start)
    if result.returncode != 0:
        raise GitError(
            f"{start} is not inside a git repository; run from a clone of the repository "
            "that holds the access file"
        )
    return Path(result.stdout.strip()).resolve()


def _empty(path: str, today: dt.date) -> AccessPlan:
    """The plan of a file that does not exist at the base: everything is gained."""
    return AccessPlan(path, today, 90, {}, {}, {}, ())


def _text_at(root: Path, ref: str, path: str) -> str | None:
    """The file at `ref`, or None if it does not exist there."""
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise GitError(
            f"'{ref}' is not a commit in this repository; check the name, or fetch it first "
            f"(e.g. git fetch origin main)"
        )
    if _git(["cat-file", "-e", f"{ref}:{path}"], root).returncode != 0:
        return None
    shown = _git(["show", f"{ref}:{path}"], root)
    if shown.returncode != 0:
        raise GitError(f"git cannot read {path} at '{ref}': {shown.stderr.strip()}")
    return shown.stdout
