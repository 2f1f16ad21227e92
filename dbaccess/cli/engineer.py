"""`dbaccess list`, `dbaccess token`, `dbaccess connect`: an engineer's way into a database.

Each command resolves who you are (dbaccess.cli.identity), reads your catalog object
(dbaccess.cli.catalog_cache) and makes a credential (dbaccess.credentials). The functions
below the commands take their inputs as arguments; the commands only parse options.

Exit codes: 0 success; 1 AWS or the environment failed (no/expired AWS credentials, a role
that does not trust you, psql or the CA bundle missing); 2 usage or access (unknown database,
not granted, grant expired, read-write where only read-only is granted).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from dbaccess.access.naming import MYSQL_ENGINES
from dbaccess.cli import mysql_client
from dbaccess.cli.catalog_cache import (
    cache_dir,
    known_database_names,
)
from dbaccess.cli.credential_text import (
    TokenFormat,
    format_credential,
    missing_ca_bundle,
    resolve_ca_bundle,
)
from dbaccess.cli.engineer_work import PSQL_INSTALL, exec_psql, make_credential, open_context
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.grant_choice import ASK_FOR_ACCESS, Level, list_rows, render_table, select_grant
from dbaccess.cli.identity import (
    EngineerError,
    Say,
    config_dir,
    explicit_email,
    load_config,
    quiet,
)
from dbaccess.clients import ca_bundles


class ListFormat(enum.StrEnum):
    table = "table"
    json = "json"


# --- the commands ----------------------------------------------------------------------------


def complete_database(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of DATABASE from the catalog on disk (no AWS, no network)."""
    env = os.environ
    try:
        config = load_config(config_dir(env) / "config.toml")
        email, _ = explicit_email(ctx.params.get("email"), env, config)
    except EngineerError:
        email = None
    names = known_database_names(cache_dir(env), ctx.params.get("catalog"), email)
    return sorted(n for n in names if n.startswith(incomplete))


DatabaseArg = Annotated[
    str,
    typer.Argument(
        help="The database key, as in `dbaccess list`.", autocompletion=complete_database
    ),
]
EmailOpt = Annotated[
    str | None,
    typer.Option(
        "--email", help="Your email (default: DBACCESS_EMAIL, the config file, your AWS session)."
    ),
]
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Read this catalog file (catalog.json or people/<email>.json) instead of S3; "
        "`example`: the example catalog shipped with dbaccess, to try it without AWS.",
        dir_okay=False,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show each step (who, which role, which endpoint) on stderr."
    ),
]
RwOpt = Annotated[bool, typer.Option("--rw", help="Read-write access (default: read-only).")]
CaOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        help="CA bundle for sslmode=verify-full (default, per engine: RDS and Aurora "
        f"`{ca_bundles.RDS.config_key}` in the config file, else "
        f"~/.config/dbaccess/{ca_bundles.RDS.local_name}; Redshift "
        f"`{ca_bundles.REDSHIFT.config_key}`, else "
        f"~/.config/dbaccess/{ca_bundles.REDSHIFT.local_name}).",
        dir_okay=False,
    ),
]


def verbose_say(verbose: bool) -> Say:
    def say(message: str) -> None:
        print(f"dbaccess: {message}", file=sys.stderr)

    return say if verbose else quiet


def fail(exc: EngineerError) -> NoReturn:
    print(exc.render(), file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def list_databases(
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="table for people, json for machines.")
    ] = ListFormat.table,
    email: EmailOpt = None,
    catalog: CatalogOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List your databases: access level, engine, host, and when time-bound grants expire.

    Example:

    \b
        $ dbaccess list
        DATABASE  ACCESS     ENGINE    HOST                                         EXPIRES
        orders    read-only  postgres  orders-prod.c9akciq32.eu-west-1.rds…:5432    never
    """
    say = verbose_say(verbose)
    try:
        ctx = open_context(email_option=email, catalog_file=catalog, env=os.environ, say=say)
    except EngineerError as exc:
        fail(exc)
    rows = list_rows(ctx.catalog, ctx.email, utc_today())
    if fmt is ListFormat.json:
        print(json.dumps({"email": ctx.email, "databases": rows}, indent=2))
    elif rows:
        print(render_table(rows))
    else:
        print(f"{ctx.email} has no database grants. {ASK_FOR_ACCESS}")


def token(
    database: DatabaseArg,
    rw: RwOpt = False,
    fmt: Annotated[
        TokenFormat,
        typer.Option(
            "--format",
            help="env (for eval), json, uri, a pgpass line, or password (the password alone, "
            "for a GUI client's password command, e.g. pgAdmin's).",
        ),
    ] = TokenFormat.env,
    ca_bundle: CaOpt = None,
    email: EmailOpt = None,
    catalog: CatalogOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Print a 15-minute credential for DATABASE (RDS IAM token or Redshift password).

    The last one is printed again while it has 5 minutes left (kept in ~/.cache/dbaccess,
    readable by you alone); after that, a new one.

    When it expires is printed on stderr, so stdout stays ready for `eval`. Assign first, so
    psql never starts when `token` failed (`eval "$(…)"` alone succeeds on empty output).

    Example:

        $ creds=$(dbaccess token orders) && eval "$creds" && psql

        $ dbaccess token analytics --rw --format json

        $ dbaccess token orders --format password    # for pgAdmin

    For MySQL it prints MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD (which mysql and mariadb read)
    and MYSQL_USER, MYSQL_DATABASE, MYSQL_SSL_CA for the rest of the command line:

    \b
        $ creds=$(dbaccess token shop) && eval "$creds" && mysql -u "$MYSQL_USER" \\
            --ssl-mode=VERIFY_IDENTITY --ssl-ca="$MYSQL_SSL_CA" --enable-cleartext-plugin \\
            "$MYSQL_DATABASE"
    """
    say = verbose_say(verbose)
    try:
        ctx = open_context(email_option=email, catalog_file=catalog, env=os.environ, say=say)
        cred = make_credential(ctx, database, Level.rw if rw else Level.ro, utc_today(), say)
    except EngineerError as exc:
        fail(exc)
    bundle = resolve_ca_bundle(ca_bundle, ctx.config, os.environ, cred.engine)
    if not bundle.is_file():
        print(f"warning: {missing_ca_bundle(bundle, cred.engine).render()}", file=sys.stderr)
    try:
        print(format_credential(cred, fmt, bundle))
    except EngineerError as exc:
        fail(exc)
    print(
        f"# {cred.user}@{database}: valid until {cred.expires_at:%Y-%m-%d %H:%M} UTC",
        file=sys.stderr,
    )


def connect(
    database: DatabaseArg,
    client_args: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments for psql (or mysql / mariadb), after `--`."),
    ] = None,
    rw: RwOpt = False,
    ca_bundle: CaOpt = None,
    email: EmailOpt = None,
    catalog: CatalogOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Open psql (PostgreSQL) or mysql / mariadb (MySQL) on DATABASE with a 15-minute credential.

    TLS verifies the server's certificate and host name; the password goes in PGPASSWORD or
    MYSQL_PWD, the client's environment only, never on its command line.

    Example:

        $ dbaccess connect orders

        $ dbaccess connect orders --rw -- -c "select current_user"

        $ dbaccess connect shop -- -e "select current_user()"

    The database is in a private network. If psql says "Connection timed out" or "could not
    connect to server", connect to the VPN, or open a tunnel and keep the real host name for
    verify-full (libpq connects to PGHOSTADDR, checks the certificate against PGHOST):

    \b
        $ creds=$(dbaccess token orders) && eval "$creds" && PGHOSTADDR=127.0.0.1 PGPORT=15432 psql
    """
    say = verbose_say(verbose)
    try:
        ctx = open_context(email_option=email, catalog_file=catalog, env=os.environ, say=say)
        level = Level.rw if rw else Level.ro
        # The name and the grant first: a typo is answered before anything about the machine.
        db, _ = select_grant(ctx.catalog, ctx.email, database, level, utc_today())
        bundle = resolve_ca_bundle(ca_bundle, ctx.config, os.environ, db.engine)
        if not bundle.is_file():
            raise missing_ca_bundle(bundle, db.engine)
        mysql = db.engine in MYSQL_ENGINES
        if mysql and mysql_client.find_client(None) is None:
            raise mysql_client.missing_client()
        if not mysql and shutil.which("psql") is None:
            raise EngineerError(
                "psql is not installed (or not on PATH)", PSQL_INSTALL, ExitCode.FAILED
            )
        cred = make_credential(ctx, database, level, utc_today(), say)
        if mysql:
            mysql_client.exec_mysql(cred, bundle, client_args or [], say)
        exec_psql(cred, bundle, client_args or [], say)
    except EngineerError as exc:
        fail(exc)
