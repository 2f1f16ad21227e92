"""`dbaccess expire`: take unused and past-`until` grants out of access.yaml."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from dbaccess.access import InvalidInput, today_utc
from dbaccess.access.diff import AccessDiff, diff_plans, render_json, render_markdown, render_text
from dbaccess.access.edit import EditError, Expiry, expire_grants
from dbaccess.access.source import NotAFile, read_limited, read_text
from dbaccess.cli.common import Format, exit_invalid, parse_date
from dbaccess.cli.diff import DiffFormat
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.formats import parse_s3_url
from dbaccess.person_text import markdown as as_markdown
from dbaccess.reaper.core import GrantKey, ReportError, StaleGrant, StaleReport, parse_report

UNMATCHED = "granted to nobody in access.yaml"


def expire(
    report: Annotated[
        str | None,
        typer.Option(
            help="stale-grants.json from the reaper: a file or an s3://bucket/key URL. "
            "Without it, only grants past their `until` are removed."
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the file; without it nothing changes.")
    ] = False,
    date: Annotated[
        str | None,
        typer.Option(help="Remove grants whose `until` is before this date (YYYY-MM-DD)."),
    ] = None,
    file: Annotated[Path, typer.Option(help="The access file.")] = Path("access.yaml"),
    fmt: Annotated[
        DiffFormat,
        typer.Option("--format", help="text for people, markdown for a PR body, json."),
    ] = DiffFormat.text,
) -> None:
    """Remove the grants the reaper reported unused, and those past their `until`.

    Comments, key order, quotes and flow style stay as they are: only the removed lines
    change. A person or group left with no grants is dropped (one that had none is
    left alone). Prints the access diff of the change.

    Exit 0 on success (also when nothing is due); 1 when the report cannot be fetched
    (S3, the file system); 2 when the report or the access file is invalid, or the file
    cannot be edited cleanly.

    Example:

        $ dbaccess expire --report stale-grants.json --write
    """
    today = parse_date(date) or today_utc()
    problems_format = Format.json if fmt is DiffFormat.json else Format.text
    stale = _read_report(report) if report else None
    try:
        # As bytes decoded (not Path.read_text: universal newlines would make CRLF LF).
        original = read_text(file, "pass the path of access.yaml with --file")
        stale_keys = [g.key for g in stale.grants] if stale else []
        result = expire_grants(original, stale_keys, today, file=str(file))
    except InvalidInput as exc:
        exit_invalid(exc, problems_format)
    except EditError as exc:
        _fail(str(exc), ExitCode.INVALID_INPUT)
    diff = diff_plans(result.before, result.after)
    if write and result.text != original:
        file.write_bytes(result.text.encode("utf-8"))
    print(render(result, diff, stale, fmt, written=write))


def render(
    result: Expiry,
    diff: AccessDiff,
    report: StaleReport | None,
    fmt: DiffFormat,
    *,
    written: bool,
) -> str:
    listed = {g.key: g for g in report.grants} if report else {}
    if fmt is DiffFormat.json:
        document = json.loads(render_json(diff))
        document["removed"] = [
            {"owner": r.owner, "database": r.database, "access": r.access, "why": r.why}
            for r in result.removed
        ]
        document["kept"] = [
            {"owner": k.owner, "database": k.database, "access": k.access, "reason": k.reason}
            for k in result.kept
        ]
        document["unmatched"] = [
            {"person": e, "database": d, "access": a} for e, d, a in result.unmatched
        ]
        return json.dumps(document, indent=2)
    if fmt is DiffFormat.markdown:
        return _markdown(result, diff, listed, report)
    verb = "Removed" if written else "Would remove (run with --write to change the file)"
    lines = [f"{verb}: {len(result.removed)} entries"]
    lines += [f"  {r.text}" for r in result.removed]
    lines += [f"  kept: {k.text}" for k in result.kept]
    lines += [f"  {UNMATCHED}: {' '.join(u)}" for u in result.unmatched]
    return "\n".join([*lines, "", render_text(diff)])


def _used(grant: StaleGrant | None) -> str:
    if grant is None:
        return ""
    return str(grant.last_used) if grant.last_used else "never through db-access"


def _markdown(
    result: Expiry,
    diff: AccessDiff,
    listed: Mapping[GrantKey, StaleGrant],
    report: StaleReport | None,
) -> str:
    window = f"{report.unused_days} days" if report else "the configured window"
    lines = [
        f"Grants nobody used for {window}, and grants past their `until`, come out of "
        "`access.yaml`. People were told in Slack before; anyone who still needs access "
        "can comment here or ask to renew.",
        "",
        "| Entry | Database | Access | Why | Last used |",
        "|---|---|---|---|---|",
    ]
    for r in result.removed:
        owner = as_markdown(r.owner)  # names from access.yaml and the report: data
        if r.why == "member":
            lines.append(f"| {owner} | | | member {r.database} removed (unused) | |")
            continue
        email = r.owner.removeprefix("people ")
        grant = listed.get(GrantKey(email, r.database, r.access))
        why = as_markdown(r.why)
        lines.append(f"| {owner} | `{r.database}` | {r.access} | {why} | {_used(grant)} |")
    if result.kept:
        lines += ["", "Kept, with why (edit by hand if they should go):", ""]
        lines += [f"- {as_markdown(k.text)}" for k in result.kept]
    if result.unmatched:
        lines += ["", f"In the report but {UNMATCHED} (nothing to remove):", ""]
        lines += [f"- {as_markdown(e)}: `{d}` {a}" for e, d, a in result.unmatched]
    return "\n".join([*lines, "", render_markdown(diff)])


# A report names each stale grant in about 250 bytes: 100,000 grants are 25 MB.
REPORT_MAX_BYTES = 128 * 2**20


def _read_report(location: str) -> StaleReport:
    s3 = location.startswith("s3://")
    try:
        bucket, key = parse_s3_url(location) if s3 else ("", "")
    except ValueError as exc:
        _fail(str(exc), ExitCode.INVALID_INPUT)
    try:
        if s3:
            import boto3

            stream = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            body = stream.read(REPORT_MAX_BYTES + 1)
        else:
            body = read_limited(Path(location), REPORT_MAX_BYTES)
    except NotAFile as exc:
        _fail(str(exc), ExitCode.INVALID_INPUT)
    except Exception as exc:  # noqa: BLE001 - boto3/OS errors: say which, never a trace
        _fail(f"cannot read the report {location}: {type(exc).__name__}: {exc}", ExitCode.FAILED)
    if len(body) > REPORT_MAX_BYTES:
        _fail(
            f"{location} is larger than {REPORT_MAX_BYTES // 2**20} MB: not a report",
            ExitCode.INVALID_INPUT,
        )
    try:
        return parse_report(body)
    except ReportError as exc:
        _fail(f"{location}: {exc}", ExitCode.INVALID_INPUT)


def _fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


__all__ = ["expire", "render"]
