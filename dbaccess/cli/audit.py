"""`dbaccess audit` and `dbaccess sweep`: what is in the PostgreSQL and MySQL servers against
access.yaml.

The work lives in dbaccess.audit; these commands parse options, pick how to connect and print.
Exit codes: 0 clean (audit) or swept (sweep); 1 findings, an unreachable database or a session
that could not be ended; 2 usage or configuration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from dbaccess.access import InvalidInput, load_access_file
from dbaccess.access.errors import did_you_mean
from dbaccess.cli.common import (
    DateOption,
    Format,
    exit_invalid,
    parse_date,
    require_extra,
    stack_settings,
)
from dbaccess.cli.diff import DiffFormat
from dbaccess.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from dbaccess.access import AccessPlan
    from dbaccess.mysql.audit import MysqlAccess
    from dbaccess.postgres.connect import Reach


def _require_driver() -> None:
    require_extra("psycopg", "audit", "connects to PostgreSQL and needs psycopg")


FileOption = Annotated[Path, typer.Option(help="The access file.")]
StackOption = Annotated[
    str,
    typer.Option(help="The stack whose Pulumi.<stack>.yaml names each account's deploy role."),
]
DatabaseOption = Annotated[
    list[str] | None,
    typer.Option("--database", help="Only this database (its access.yaml key); repeatable."),
]
DsnOption = Annotated[
    str | None,
    typer.Option(
        help="Connect directly with this libpq URL instead (one PostgreSQL --database). For "
        "an Aurora cluster, list every instance: postgresql://admin@writer:5432,reader:5432/db "
        "(each host is one instance, named host:port). Prefer the environment variable, "
        "which `ps` does not show.",
        envvar="DBACCESS_DSN",
        show_envvar=True,
    ),
]
AllowUserOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-user",
        help="MySQL: a user knowingly not db-access's (the RDS master user, an application): "
        "not a finding, its sessions never ended; repeatable.",
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        help="CA bundle for sslmode=verify-full (without --dsn; default: "
        "~/.config/dbaccess/rds-ca-bundle.pem).",
        envvar="DBACCESS_CA_BUNDLE",
        show_envvar=True,
    ),
]


def audit(
    file: FileOption = Path("access.yaml"),
    stack: StackOption = "prod",
    database: DatabaseOption = None,
    dsn: DsnOption = None,
    fmt: Annotated[
        DiffFormat,
        typer.Option("--format", help="text for people, markdown for a job summary, json."),
    ] = DiffFormat.text,
    date: DateOption = None,
    ca_bundle: CaBundleOption = None,
    allow_user: AllowUserOption = None,
) -> None:
    """Check that what is in each PostgreSQL and MySQL database matches access.yaml.
    Changes nothing.

    Connects to each PostgreSQL / Aurora PostgreSQL database of the access file (or those
    named with --database) as its admin_login, with an RDS IAM token signed with the
    account's deploy role from the stack settings, over sslmode=verify-full. An Aurora
    cluster is read on its writer, and every member instance (rds:DescribeDBClusters) is
    connected to; each finding names its instance. --dsn connects directly instead.
    Reports logins that can use a password, privileged roles, undeclared and missing logins,
    declared logins without db-access's mark, wrong memberships, PUBLIC's CONNECT and CREATE,
    and group privileges. MySQL / Aurora MySQL servers, read once each as the admin_login with
    an IAM token over verified TLS: password users, undeclared, privileged and missing users,
    users without the mark, wrong privileges.

    Exit 0 when clean (master-login is reported but does not fail); 1 on findings or an
    unreachable database (the others are still checked); 2 for usage or configuration.

    Example:

        $ dbaccess audit --database orders --dsn "postgresql://admin@localhost:5433/orders"
    """
    # Imported here so the other commands start without the PostgreSQL driver (`audit` extra).
    _require_driver()
    from dbaccess.audit.report import render_audit
    from dbaccess.audit.results import failing
    from dbaccess.postgres.audit import run_audit

    problems_format = Format.json if fmt is DiffFormat.json else Format.text
    plan = _plan(file, date, problems_format)
    keys = _keys(plan, database, dsn)
    connect, mysql = _connectors(plan, keys, dsn, stack, ca_bundle, allow_user, problems_format)
    result = run_audit(plan, keys, connect)
    if mysql is not None:
        from dbaccess.mysql.audit import audit_mysql

        audit_mysql(plan, keys, mysql, result)
    print(render_audit(result, fmt.value))
    if failing(result.findings):
        raise typer.Exit(ExitCode.FAILED)


def sweep(
    file: FileOption = Path("access.yaml"),
    stack: StackOption = "prod",
    database: DatabaseOption = None,
    dsn: DsnOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the sessions without ending them.")
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", help="text for people, json for machines.")
    ] = Format.text,
    date: DateOption = None,
    ca_bundle: CaBundleOption = None,
    allow_user: AllowUserOption = None,
    include_unmarked: Annotated[
        bool,
        typer.Option(
            "--include-unmarked",
            help="Also end the sessions of undeclared IAM logins WITHOUT db-access's mark "
            "(made by hand or before db-access; applications in rds_iam look the same). "
            "Never the exempt logins, the admin, the master user, RDS's or table owners.",
        ),
    ] = False,
) -> None:
    """End the sessions of logins db-access made that access.yaml no longer gives.

    On every instance of each server (every member of an Aurora cluster), ends: sessions of
    logins carrying db-access's mark (dbaccess_managed) that no grant on the server gives
    today (removed, past `until`); sessions whose login no longer exists (dropped while
    connected); sessions of declared logins in a managed database they are not granted.
    PostgreSQL: pg_terminate_backend (the admin needs pg_signal_backend); MySQL:
    CALL mysql.rds_kill(id).

    Never touched: the admin, the master user, RDS's roles, table_owners, --allow-user, the
    stack's dbaccess:sweepExemptLogins (read from Pulumi.<stack>.yaml, also with --dsn when
    the file is there), and any login without the mark (applications) unless
    --include-unmarked.

    Exit 0 when done; 1 when a server or instance is unreachable or a session could not be
    ended; 2 for usage or configuration.

    Example:

        $ dbaccess sweep --dry-run
    """
    _require_driver()
    from dbaccess.audit.report import render_sweep
    from dbaccess.audit.sweep_rules import SweepRules
    from dbaccess.postgres.sweep import run_sweep

    plan = _plan(file, date, fmt)
    keys = _keys(plan, database, dsn)
    connect, mysql = _connectors(plan, keys, dsn, stack, ca_bundle, allow_user, fmt)
    settings = stack_settings(stack, fmt, required=dsn is None)
    exempt = frozenset(settings.sweepExemptLogins if settings else ())
    rules = SweepRules(exempt, include_unmarked)
    result = run_sweep(plan, keys, connect, dry_run=dry_run, rules=rules)
    if mysql is not None:
        from dbaccess.mysql.audit import sweep_mysql

        sweep_mysql(plan, keys, mysql, result, rules)
    print(render_sweep(result, fmt.value))
    if result.errors:
        raise typer.Exit(ExitCode.FAILED)


# --- options ---------------------------------------------------------------------------------


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def _plan(file: Path, date: str | None, fmt: Format) -> AccessPlan:
    try:
        return load_access_file(file, today=parse_date(date))
    except InvalidInput as exc:
        exit_invalid(exc, fmt)


def _keys(plan: AccessPlan, database: Sequence[str] | None, dsn: str | None) -> list[str]:
    keys = list(dict.fromkeys(database or ()))
    for key in keys:
        if key not in plan.databases:
            _usage(
                f"no database '{key}' in {plan.file}{did_you_mean(key, list(plan.databases))}; "
                f"databases: {', '.join(plan.databases)}"
            )
    if dsn is not None:
        if len(keys) != 1:
            _usage("--dsn reaches one database: name it with exactly one --database")
        if not plan.databases[keys[0]].is_postgres:
            _usage(f"'{keys[0]}' is not a PostgreSQL database; --dsn is for PostgreSQL only")
    return keys


def _connectors(
    plan: AccessPlan,
    keys: Sequence[str],
    dsn: str | None,
    stack: str,
    ca_bundle: Path | None,
    allow_user: Sequence[str] | None,
    fmt: Format,
) -> tuple[Reach, MysqlAccess | None]:
    """How to reach the PostgreSQL databases, and the MySQL ones when any is selected (--dsn
    selects one PostgreSQL database)."""
    from dbaccess.audit.results import ConfigError
    from dbaccess.postgres.connect import dsn_connector

    try:
        if dsn is not None:
            return dsn_connector(dsn, plan.databases[keys[0]]), None
        return _iam_connectors(plan, keys, stack, ca_bundle, allow_user, fmt)
    except ConfigError as exc:
        _usage(str(exc))


def _iam_connectors(
    plan: AccessPlan,
    keys: Sequence[str],
    stack: str,
    ca_bundle: Path | None,
    allow_user: Sequence[str] | None,
    fmt: Format,
) -> tuple[Reach, MysqlAccess | None]:
    import boto3

    from dbaccess.audit.results import ConfigError
    from dbaccess.cli.identity import config_dir
    from dbaccess.clients.ca_bundles import RDS
    from dbaccess.postgres.connect import iam_connector, iam_members

    settings = stack_settings(stack, fmt, required=True, plan=plan)
    assert settings is not None  # required
    bundle = ca_bundle or config_dir(os.environ) / RDS.local_name
    if not bundle.is_file():
        raise ConfigError(
            f"no CA bundle at {bundle} for sslmode=verify-full; download RDS's with\n"
            f"  curl -fsSL {RDS.url} -o {bundle}\nor pass --ca-bundle FILE"
        )
    clients: dict[str, object] = {}

    def sts_for_region(region: str) -> object:
        if region not in clients:
            clients[region] = boto3.client("sts", region_name=region)
        return clients[region]

    mysql = None
    if any(db.is_mysql for key, db in plan.databases.items() if not keys or key in keys):
        require_extra("pymysql", "audit", "connects to MySQL and needs PyMySQL")
        from dbaccess.mysql.audit import MysqlAccess, iam_mysql_connector

        mysql = MysqlAccess(
            iam_mysql_connector(settings.accounts, bundle),
            frozenset(allow_user or ()),
            iam_members(settings.accounts, sts_for_region),
        )
    return iam_connector(settings.accounts, bundle, sts_for_region), mysql


__all__ = ["audit", "sweep"]
