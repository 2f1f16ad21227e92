"""`dbaccess activity`: who ran which statement, from the audit logs RDS exports to CloudWatch
Logs. The work lives in dbaccess.audit.activity; this command parses options, reads the log
groups as each account's deploy role and prints.

Exit codes: 0 read; 1 a log group could not be read (exports off, permission, credentials),
the others are still printed; 2 usage or configuration.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer

from dbaccess.access import InvalidInput, load_access_file
from dbaccess.access.errors import did_you_mean
from dbaccess.audit.activity import (
    DEFAULT_SINCE,
    Activity,
    LineCount,
    Logins,
    LogSource,
    Wanted,
    activities,
    log_sources,
    parse_when,
    sort_and_limit,
    summary_json,
    to_ms,
)
from dbaccess.cli.common import Format, FormatOption, exit_invalid, stack_settings
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.credentials import AwsCredentialsExpired, AwsCredentialsMissing, CredentialError

if TYPE_CHECKING:
    from botocore.credentials import Credentials

    from dbaccess.access import AccessPlan
    from dbaccess.access.plan import DatabaseSpec
    from dbaccess.clients.cloudwatch_logs import Reading

SESSION_NAME: Final = "dbaccess-activity"
DEFAULT_LIMIT: Final = 1000
PROGRESS_EVERY_PAGES: Final = 5
ENABLE_EXPORTS: Final = {
    "instance": "aws rds modify-db-instance --db-instance-identifier {id} "
    '--cloudwatch-logs-export-configuration \'{{"EnableLogTypes":["{log}"]}}\' --apply-immediately',
    "cluster": "aws rds modify-db-cluster --db-cluster-identifier {id} "
    '--cloudwatch-logs-export-configuration \'{{"EnableLogTypes":["{log}"]}}\' --apply-immediately',
}


def activity(
    person: Annotated[
        str | None,
        typer.Option(
            help="Only this person's statements (their email in the access file; for someone "
            "since removed, pass with --file the access file of when they had access)."
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Only this database (its access.yaml key); reads only its server's log."),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            help="From: 30m, 24h, 7d, 2w ago, a date (2026-12-01, midnight UTC) or a time "
            "(2026-12-01T08:00, UTC unless an offset is given)."
        ),
    ] = DEFAULT_SINCE,
    until: Annotated[
        str | None, typer.Option(help="Up to (same forms as --since; default: now).")
    ] = None,
    fmt: FormatOption = Format.text,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many statements, the earliest first.")
    ] = DEFAULT_LIMIT,
    file: Annotated[Path, typer.Option(help="The access file.")] = Path("access.yaml"),
    stack: Annotated[
        str,
        typer.Option(help="The stack whose Pulumi.<stack>.yaml names each account's deploy role."),
    ] = "prod",
) -> None:
    """Who ran which statement: the audit log lines of each PostgreSQL and MySQL server, with
    the person and grant behind each login. Changes nothing.

    Reads the log group RDS exports each server's log to, as the account's deploy role
    (logs:FilterLogEvents): /aws/rds/instance/<id>/postgresql or /aws/rds/cluster/<id>/postgresql
    (pgaudit), /aws/rds/instance/<id>/audit or /aws/rds/cluster/<id>/audit (the MariaDB audit
    plugin on RDS for MySQL, Advanced Auditing on Aurora MySQL). Each login is one person's
    (<base>_ro, <base>_rw): the line's login, server and database give the person, the database
    and the access level. A login of nobody in access.yaml (the admin, an application) is shown
    with no person; --person leaves it out. Expired grants still name their person.

    What is logged is what the server was told to log (query_audit in access.yaml; see
    docs/explanation/query-audit.md). Redshift logs cluster-wide, not here.

    Statements longer than 500 characters are cut, with "… [N more characters]". Text is a
    timeline (UTC); --format json prints one document: {"since", "until", "activity": [{"time",
    "person", "database", "access", "login", "class", "statement", "server"}, ...],
    "truncated", "lines", "errors"}. Reads stop at 200,000 events per log group (say so on
    stderr): narrow --since/--until. Lines that cannot be read are counted, never fatal.

    Exit 0 when every log group was read; 1 when one could not be (exports off, a missing
    permission, no AWS credentials); 2 for usage.

    Examples:

        $ dbaccess activity --database orders --since 7d
        $ dbaccess activity --person bob.jones@example.com --since 2026-12-01 --until 2026-12-02
        $ dbaccess activity --since 2h --format json | jq '.activity[] | select(.class == "DDL")'
    """
    now = dt.datetime.now(dt.UTC)
    start, end = _window(since, until, now)
    plan = _plan(file, fmt)
    keys = _keys(plan, database)
    wanted = Wanted(_person(plan, person), database)
    sources = log_sources(plan, keys)
    if not sources:
        _usage("no PostgreSQL or MySQL database to read (Redshift logs cluster-wide, not here)")
    settings = stack_settings(stack, fmt, required=True, plan=plan)
    assert settings is not None  # required
    logins = Logins(plan)
    count = LineCount()
    found: list[Activity] = []
    errors: list[str] = []
    sessions = _Sessions(settings.accounts)
    for source in sources:
        try:
            found += _read(source, sessions, start, end, logins, wanted, count, limit)
        except _Unread as exc:
            errors.append(str(exc))
            print(f"error: {exc}", file=sys.stderr)
    records, more = sort_and_limit(found, limit)
    _print(records, more, count, errors, start, end, fmt)
    if errors:
        raise typer.Exit(ExitCode.FAILED)


# --- reading ---------------------------------------------------------------------------------


class _Unread(Exception):
    """A log group that could not be read; the message says which database and the fix."""


class _Sessions:
    """One deploy-role session per account, assumed once."""

    def __init__(self, accounts: Mapping[str, str]) -> None:
        self._roles = accounts
        self._keys: dict[str, Credentials] = {}

    def logs(self, db: DatabaseSpec) -> Any:
        """A CloudWatch Logs client in the database's region, as its account's deploy role."""
        import boto3

        from dbaccess.credentials import assume_role, client_as

        role = self._roles[db.account]
        if db.account not in self._keys:
            sts = boto3.client("sts", region_name=db.region)
            self._keys[db.account] = assume_role(sts, role, SESSION_NAME)
        return client_as(self._keys[db.account], "logs", db.region)


def _read(
    source: LogSource,
    sessions: _Sessions,
    start: dt.datetime,
    end: dt.datetime,
    logins: Logins,
    wanted: Wanted,
    count: LineCount,
    limit: int,
) -> list[Activity]:
    from botocore.exceptions import BotoCoreError, ClientError

    from dbaccess.clients.cloudwatch_logs import Reading, read_events

    db = source.first
    reading = Reading(source.group)
    where = f"{source.group} (account {db.account}, {db.region})"
    found: list[Activity] = []
    try:
        logs = sessions.logs(db)
        events = read_events(logs, reading, to_ms(start), to_ms(end), progress=_progress)
        messages = ((e.stream, e.message) for e in events)
        for record in activities(source, messages, logins, wanted, count):
            found.append(record)
            # The group's earliest `limit` hold the overall earliest; one more says "more".
            if len(found) > limit:
                break
    except (AwsCredentialsMissing, AwsCredentialsExpired) as exc:
        # Every log group would fail the same way: say it once and stop.
        print(f"error: {exc.message}", file=sys.stderr)
        raise typer.Exit(ExitCode.FAILED) from None
    except CredentialError as exc:
        raise _Unread(exc.message) from None
    except ClientError as exc:
        raise _Unread(explain(exc, source, where)) from None
    except BotoCoreError as exc:
        raise _Unread(f"reading {where}: {type(exc).__name__}: {exc}") from None
    if reading.capped:
        print(
            f"warning: stopped reading {source.group} after {reading.events:,} events; "
            "narrow --since/--until to see the rest",
            file=sys.stderr,
        )
    return found


def explain(exc: Any, source: LogSource, where: str) -> str:
    """What a ClientError from reading `source` means, and the fix."""
    code = exc.response.get("Error", {}).get("Code", "")
    db = source.first
    names = ", ".join(d.key for d in source.databases)
    if code == "ResourceNotFoundException":
        kind = "cluster" if db.is_cluster else "instance"
        enable = ENABLE_EXPORTS[kind].format(id=db.identifier, log=source.log_type)
        return (
            f"no log group {where}: {kind} {db.identifier} ({names}) does not export its "
            f"{source.log_type} log to CloudWatch Logs. Enable it:\n  {enable}\n"
            "then check with: dbaccess doctor --operator"
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return (
            f"reading {where}: access denied: the deploy role needs logs:FilterLogEvents on "
            f"this log group; update it from `dbaccess iam-policy deploy` ({names})"
        )
    from dbaccess.credentials import classify_aws_error

    return classify_aws_error(exc, f"reading {where}").message


def _progress(reading: Reading) -> None:
    if reading.pages % PROGRESS_EVERY_PAGES == 0:
        print(f"  {reading.group}: {reading.events:,} events read…", file=sys.stderr)


# --- options and output ----------------------------------------------------------------------


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def _window(since: str, until: str | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    try:
        start = parse_when(since, now)
        end = parse_when(until, now) if until is not None else now
    except ValueError as exc:
        _usage(str(exc))
    if start >= end:
        _usage(
            f"--since ({start:%Y-%m-%d %H:%M} UTC) is not before --until ({end:%Y-%m-%d %H:%M} UTC)"
        )
    return start, end


def _plan(file: Path, fmt: Format) -> AccessPlan:
    try:
        return load_access_file(file)
    except InvalidInput as exc:
        exit_invalid(exc, fmt)


def _keys(plan: AccessPlan, database: str | None) -> list[str]:
    if database is None:
        return []
    db = plan.databases.get(database)
    if db is None:
        _usage(
            f"no database '{database}' in {plan.file}"
            f"{did_you_mean(database, list(plan.databases))}; "
            f"databases: {', '.join(plan.databases)}"
        )
    if not db.uses_rds_iam:
        _usage(
            f"'{database}' is a Redshift database: its user activity log is cluster-wide and "
            "not read by activity (see docs/explanation/query-audit.md)"
        )
    return [database]


def _person(plan: AccessPlan, person: str | None) -> str | None:
    if person is None:
        return None
    emails = {email.lower(): email for email in plan.people}
    if person.lower() not in emails:
        _usage(
            f"no person '{person}' in {plan.file}{did_you_mean(person, list(plan.people))}; "
            "for someone since removed, read the access file of when they had access: "
            "`git show <commit>:access.yaml > then.yaml`, then add `--file then.yaml`"
        )
    return emails[person.lower()]


def _print(
    records: list[Activity],
    more: bool,
    count: LineCount,
    errors: list[str],
    start: dt.datetime,
    end: dt.datetime,
    fmt: Format,
) -> None:
    if count.unreadable:
        reasons = "; ".join(f"{n} {why}" for why, n in sorted(count.why.items()))
        print(
            f"warning: {count.unreadable} log lines could not be read ({reasons})", file=sys.stderr
        )
    if more:
        print(
            f"note: more statements than --limit {len(records)}; narrow the window", file=sys.stderr
        )
    if fmt is Format.json:
        extra = {
            "truncated": more,
            "lines": {
                "statements": count.statements,
                "other": count.other,
                "unreadable": count.unreadable,
            },
            "errors": errors,
        }
        print(json.dumps(summary_json(records, start, end, extra), indent=2))
        return
    for line in _timeline(records):
        print(line)
    if not records:
        print(
            f"No statements from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC.",
            file=sys.stderr,
        )


def _timeline(records: list[Activity]) -> Iterator[str]:
    """One line per statement: time, who, database (access), class, statement on one line."""
    people = [r.person or f"{r.login} (no person)" for r in records]
    dbs = [f"{r.database} ({r.access})" if r.access else r.database for r in records]
    width = max(map(len, people), default=0)
    db_width = max(map(len, dbs), default=0)
    for record, who, db in zip(records, people, dbs, strict=True):
        statement = " ".join(record.statement.split())
        yield (
            f"{record.time:%Y-%m-%d %H:%M:%S}  {who:<{width}}  {db:<{db_width}}  "
            f"{record.cls:<8}  {statement}"
        )


__all__ = ["activity", "explain"]
