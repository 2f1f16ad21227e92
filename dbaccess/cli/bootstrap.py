"""`dbaccess bootstrap`: the one-time set-up of a managed database, run as the master user.

The work lives in dbaccess.postgres.bootstrap (its SQL: dbaccess/postgres/bootstrap.sql) and
dbaccess.mysql.bootstrap; this command picks the database, connects and prints.
Exit codes: 0 done (or nothing to do); 1 unreachable or refused; 2 usage or configuration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from dbaccess.access import InvalidInput, load_access_file
from dbaccess.access.errors import did_you_mean
from dbaccess.cli.audit import FileOption
from dbaccess.cli.common import Format, exit_invalid, require_extra
from dbaccess.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from dbaccess.access.plan import AccessPlan, DatabaseSpec
    from dbaccess.postgres.bootstrap import Plan


MasterUserOption = Annotated[
    str | None,
    typer.Option(
        help="The master user to connect as (without --dsn, or a --dsn without a user).",
        envvar="DBACCESS_MASTER_USER",
        show_envvar=True,
    ),
]
MasterPasswordOption = Annotated[
    str | None,
    typer.Option(
        help="Its password. Set the environment variable rather than the option, which `ps` "
        "shows (PostgreSQL: else PGPASSWORD or ~/.pgpass).",
        envvar="DBACCESS_MASTER_PASSWORD",
        show_envvar=True,
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        help="CA bundle that verifies the server (default: "
        "~/.config/dbaccess/rds-ca-bundle.pem); unused with a --dsn that sets sslmode.",
        envvar="DBACCESS_CA_BUNDLE",
        show_envvar=True,
    ),
]
MasterDsnOption = Annotated[
    str | None,
    typer.Option(
        help="PostgreSQL: connect with this libpq URL instead of access.yaml's host "
        "(a tunnel); sslmode=verify-full with --ca-bundle unless it sets sslmode.",
        envvar="DBACCESS_MASTER_DSN",
        show_envvar=True,
    ),
]


def bootstrap(
    database: Annotated[
        str, typer.Option("--database", help="The database to set up (its access.yaml key).")
    ],
    file: FileOption = Path("access.yaml"),
    dsn: MasterDsnOption = None,
    master_user: MasterUserOption = None,
    master_password: MasterPasswordOption = None,
    ca_bundle: CaBundleOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the SQL and who keeps access; change nothing."),
    ] = False,
) -> None:
    """Set up one database for db-access, as the RDS master user: the admin login and what it
    may do. Run it once per database before the first deploy (again any time: it changes
    only what is missing and says so).

    PostgreSQL / Aurora PostgreSQL, in one transaction: creates the admin login (LOGIN,
    CREATEROLE; rds_iam WITH ADMIN OPTION, pg_signal_backend) and the mark dbaccess_managed;
    grants CONNECT directly to every login that can connect today only through PUBLIC, then
    revokes CONNECT and TEMPORARY from PUBLIC; on each schema, keeps CREATE for the roles that
    own objects there, revokes it from PUBLIC and gives the admin USAGE to pass on; makes the
    admin a member of each table owner; when a login on the server declares query_audit,
    gives the admin SET on pgaudit's settings (PostgreSQL 15 and later). MySQL / Aurora
    MySQL: creates the admin user with its privileges on the server's managed databases
    (MySQL has no PUBLIC: nobody loses access).

    Connects to access.yaml's host over TLS verified against --ca-bundle, as --master-user
    with DBACCESS_MASTER_PASSWORD; or, PostgreSQL only, with --dsn.

    Example:

        $ export DBACCESS_MASTER_PASSWORD=...

        $ dbaccess bootstrap --database orders --master-user postgres --dry-run
    """
    access, db = _database(file, database)
    bundle = _ca_bundle(ca_bundle)
    if db.is_postgres:
        # pgaudit's settings are per login, and logins are server-wide.
        audited = any(
            g.query_audit != "none"
            for g in access.grants()
            if access.databases[g.database].server == db.server
        )
        _postgres(db, dsn, master_user, master_password, bundle, dry_run, audited)
    else:
        if dsn is not None:
            _usage(
                "--dsn is for PostgreSQL; for MySQL give --master-user and DBACCESS_MASTER_PASSWORD"
            )
        _mysql(access, db, master_user, master_password, bundle, dry_run)


# --- options ---------------------------------------------------------------------------------


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def _failed(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.FAILED)


def _database(file: Path, key: str) -> tuple[AccessPlan, DatabaseSpec]:
    try:
        plan = load_access_file(file)
    except InvalidInput as exc:
        exit_invalid(exc, Format.text)
    db = plan.databases.get(key)
    if db is None:
        _usage(
            f"no database '{key}' in {plan.file}{did_you_mean(key, list(plan.databases))}; "
            f"databases: {', '.join(plan.databases)}"
        )
    if not (db.is_postgres or db.is_mysql):
        _usage(
            f"'{key}' is a {db.engine} database: bootstrap sets up PostgreSQL and MySQL "
            "databases (Redshift: create its groups by hand, see docs/how-to/add-database.md)"
        )
    return plan, db


def _ca_bundle(option: Path | None) -> Path:
    from dbaccess.cli.identity import config_dir
    from dbaccess.clients.ca_bundles import RDS

    return option or config_dir(os.environ) / RDS.local_name


# --- PostgreSQL ------------------------------------------------------------------------------


def _postgres(
    db: DatabaseSpec,
    dsn: str | None,
    user: str | None,
    password: str | None,
    bundle: Path,
    dry_run: bool,
    audited: bool,
) -> None:
    require_extra("psycopg", "audit", "connects to PostgreSQL and needs psycopg")
    from dbaccess.audit.results import ConfigError, Unreachable
    from dbaccess.postgres.bootstrap import (
        BootstrapError,
        connect_master,
        master_params,
        run_bootstrap,
    )

    try:
        params = master_params(db, dsn, user, password, bundle)
    except ConfigError as exc:
        _usage(str(exc))
    print(f"{db.key}: PostgreSQL database {db.name} on {params['host']}:{params['port']}")
    try:
        with connect_master(params) as conn:
            plan = run_bootstrap(conn, db, dry_run=dry_run, query_audit=audited)
            lines = render_postgres(plan, db, dry_run, lambda s: s.as_string(conn))
    except Unreachable as exc:
        _failed(f"cannot connect to {db.key} as the master user: {exc}")
    except BootstrapError as exc:
        _failed(str(exc))
    print("\n".join(lines))


def render_postgres(
    plan: Plan, db: DatabaseSpec, dry_run: bool, text: Callable[[Any], str]
) -> list[str]:
    """What ran (or would run), who can connect afterwards and why, the outcome."""
    lines = [f"  as {plan.master}"]
    if plan.steps:
        lines.append("Would run:" if dry_run else "Ran, in one transaction:")
        for step in plan.steps:
            lines += [f"  + {step.what}", f"      {text(step.statement)};"]
    lines.append(f"Who can connect to {db.name} {'after it' if dry_run else 'now'}:")
    width = max(len(reach.role) for reach in plan.connect)
    lines += [f"  {reach.role:<{width}}  {reach.why}" for reach in plan.connect]
    if plan.managed:
        logins = "login" if plan.managed == 1 else "logins"
        lines.append(
            f"  and {plan.managed} {logins} db-access made: through their database groups only"
        )
    if plan.shut_out:
        lines.append(f"Cannot connect, as before: {', '.join(plan.shut_out)}")
    for schema, keep in plan.create.items():
        kept = ", ".join(f"{reach.role} ({reach.why})" for reach in keep)
        lines.append(
            f"CREATE on schema {schema} from PUBLIC goes: "
            + (f"kept by {kept}; " if kept else "")
            + "no other login may create objects there"
        )
    if not plan.steps:
        lines.append(f"Nothing to change: {db.key} is already bootstrapped.")
    elif dry_run:
        lines.append(f"Dry run: {len(plan.steps)} statements would run; nothing was changed.")
    else:
        lines.append(f"Done: {len(plan.steps)} statements.")
    return lines


# --- MySQL -----------------------------------------------------------------------------------


def _mysql(
    access: AccessPlan,
    db: DatabaseSpec,
    user: str | None,
    password: str | None,
    bundle: Path,
    dry_run: bool,
) -> None:
    require_extra("pymysql", "audit", "connects to MySQL and needs PyMySQL")
    import pymysql

    from dbaccess.mysql.apply import MysqlApplyError
    from dbaccess.mysql.apply import bootstrap as run_bootstrap
    from dbaccess.mysql.bootstrap import bootstrap_statements
    from dbaccess.mysql.connect import verified_connection
    from dbaccess.mysql.spec import mysql_servers

    if not user or not password:
        _usage(
            "name the master user with --master-user NAME (or DBACCESS_MASTER_USER) and give "
            "its password in DBACCESS_MASTER_PASSWORD"
        )
    if not bundle.is_file():
        _usage(f"no CA bundle at {bundle} for verified TLS; pass --ca-bundle FILE")
    assert db.admin_login is not None  # the loader requires it for MySQL
    server = next(s for s in mysql_servers(access) if db in s.databases)
    names = sorted(d.name for d in server.databases)
    statements = bootstrap_statements(db.admin_login, names)
    print(f"{db.key}: MySQL server {db.host}:{db.port}, databases {', '.join(names)}")
    try:
        conn = verified_connection(db.host, db.port, user, password, str(bundle))
    except pymysql.MySQLError as exc:
        _failed(f"cannot connect to {db.key} as the master user: {_scrub(exc, password)}")
    try:
        with conn:
            before, after = run_bootstrap(conn, statements, db.admin_login, dry_run=dry_run)
    except MysqlApplyError as exc:
        _failed(
            f"{_scrub(exc, password)}. The statements before it have run (each may be run "
            "again); a missing privilege means: run it as the RDS master user."
        )
    print(f"  as {user}")
    print("Would run:" if dry_run else "Ran:")
    print("\n".join(f"  {s};" for s in statements))
    print(
        "MySQL has no PUBLIC: each user reaches only the databases it is granted, so nobody "
        "loses access."
    )
    if dry_run:
        exists = "exists" if before is not None else "does not exist yet"
        print(f"Dry run: the admin user {db.admin_login} {exists}; nothing was changed.")
    elif before == after:
        print(f"Nothing changed: {db.admin_login} already had every privilege.")
    else:
        print(f"Done: {db.admin_login} {'created' if before is None else 'updated'}.")


def _scrub(exc: Exception, password: str) -> str:
    return str(exc).replace(password, "***")


__all__ = ["bootstrap"]
