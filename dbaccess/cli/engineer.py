"""`dbaccess list`, `dbaccess token`, `dbaccess connect`: an engineer's way into a database.

Each command resolves who you are (dbaccess.cli.identity), reads your catalog object
(dbaccess.cli.catalog_cache) and makes a credential (dbaccess.credentials). The functions
below the commands take their inputs as arguments; the commands only parse options.

Exit codes: 0 success; 1 AWS or the environment failed (no/expired AWS credentials, a role
that does not trust you, psql or the CA bundle missing); 2 usage or access (unknown database,
not granted, grant expired, read-write where only read-only is granted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import enum
import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn
from urllib.parse import quote

import boto3
import typer

from dbaccess import ca_bundles
from dbaccess.access.errors import shown
from dbaccess.access.naming import MYSQL_ENGINES, RDS_IAM_ENGINES
from dbaccess.catalog import Catalog, CatalogDatabase, CatalogGrant, CatalogPerson
from dbaccess.cli import mysql_client, token_cache
from dbaccess.cli.catalog_cache import (
    cache_dir,
    fetch_catalog,
    known_database_names,
    load_catalog_file,
    person_object_location,
)
from dbaccess.cli.identity import (
    INVALID_INPUT,
    OPERATION_FAILED,
    Config,
    EngineerError,
    Identity,
    Say,
    aws_failure,
    config_dir,
    explicit_email,
    load_config,
    quiet,
    resolve_identity,
    session_for_account,
)
from dbaccess.credentials import Credential, CredentialError, issue_credential

# The operator's commands (bootstrap, audit) reach RDS and Aurora only.
CA_BUNDLE_NAME: Final = ca_bundles.RDS.local_name
CA_BUNDLE_URL: Final = ca_bundles.RDS.url
# The Slack bot hands out credentials for existing grants; it cannot grant or renew access.
ASK_FOR_ACCESS: Final = (
    "To ask for access, open a pull request adding the grant to access.yaml; "
    "the database's owners review it."
)
NETWORK_HELP: Final = """\
If the database does not answer (psql: "Connection timed out" or "could not connect to server"),
it is in a private network: connect to the VPN, or open a tunnel (e.g. SSM port forwarding to
HOST:5432 on local port 15432) and keep the real host name for TLS verify-full:
  creds=$(dbaccess token DB) && eval "$creds" && PGHOSTADDR=127.0.0.1 PGPORT=15432 psql
(libpq connects to hostaddr but checks the certificate against PGHOST.)"""
PSQL_INSTALL: Final = """\
Install the PostgreSQL client:
  macOS:          brew install libpq && brew link --force libpq
  Debian/Ubuntu:  sudo apt-get install postgresql-client
  Fedora/RHEL:    sudo dnf install postgresql
or run `dbaccess token DB --format env` and use the client of your choice."""


class Level(enum.StrEnum):
    ro = "read-only"
    rw = "read-write"


class ListFormat(enum.StrEnum):
    table = "table"
    json = "json"


class TokenFormat(enum.StrEnum):
    env = "env"
    json = "json"
    uri = "uri"
    pgpass = "pgpass"
    password = "password"  # alone, for a GUI client's "password command" (pgAdmin, DBeaver)


# --- choosing the grant ----------------------------------------------------------------------


def _your_databases(person: CatalogPerson) -> str:
    items = sorted({f"{g.database} ({g.access})" for g in person.grants})
    return ", ".join(items) if items else "none"


def select_grant(
    catalog: Catalog, email: str, database: str, access: str, today: dt.date
) -> tuple[CatalogDatabase, CatalogGrant]:
    """The person's grant on `database` at `access`, or an EngineerError saying why not."""
    person = catalog.person(email)
    if person is None or not person.grants:
        raise EngineerError(
            f"{shown(email)} has no database grants in the catalog", ASK_FOR_ACCESS, INVALID_INPUT
        )
    mine = {g.database for g in person.grants}
    if database not in mine:
        known = sorted(set(catalog.databases) | mine)
        close = difflib.get_close_matches(database, known, n=3, cutoff=0.6)
        if database in catalog.databases:
            message = f"you have no access to '{shown(database)}'"
        else:
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            message = f"unknown database '{shown(database)}'{hint}"
        raise EngineerError(
            message, f"Your databases: {_your_databases(person)}.\n{ASK_FOR_ACCESS}", INVALID_INPUT
        )
    grant = person.grant(database, access)
    if grant is None:
        other = next(g for g in person.grants if g.database == database)
        if access == Level.rw:
            fix = f"Run without --rw for read-only access, or ask for read-write:\n{ASK_FOR_ACCESS}"
        else:
            fix = "Add --rw: you have read-write access only (chosen explicitly, never by default)."
        raise EngineerError(
            f"you have {other.access} access to {database!r}, not {access}", fix, INVALID_INPUT
        )
    if grant.expired_on(today):
        raise EngineerError(
            f"your {access} access to {database!r} expired on {grant.until}",
            "To renew it, open a pull request moving `until:` of your grant in access.yaml "
            "to a later date.",
            INVALID_INPUT,
        )
    if database not in catalog.databases:
        raise EngineerError(
            f"the catalog has no connection details for {database!r}",
            "The catalog looks incomplete; try again after the next deploy.",
            OPERATION_FAILED,
        )
    return catalog.databases[database], grant


def list_rows(catalog: Catalog, email: str, today: dt.date) -> list[dict[str, Any]]:
    person = catalog.person(email)
    rows = []
    for g in sorted(person.grants if person else (), key=lambda g: (g.database, g.access)):
        db = catalog.databases.get(g.database)
        rows.append(
            {
                "database": g.database,
                "access": g.access,
                "engine": db.engine if db else None,
                "host": db.host if db else None,
                "port": db.port if db else None,
                "dbname": db.database if db else None,
                "login": g.login,
                "until": g.until.isoformat() if g.until else None,
                "expired": g.expired_on(today),
            }
        )
    return rows


def render_table(rows: Sequence[Mapping[str, Any]]) -> str:
    header = ("DATABASE", "ACCESS", "ENGINE", "HOST", "EXPIRES")
    body = [
        (
            r["database"],
            r["access"],
            r["engine"] or "?",
            f"{r['host']}:{r['port']}" if r["host"] else "?",
            ("EXPIRED " if r["expired"] else "") + (r["until"] or "never"),
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in (header, *body)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *body)
    )


# --- showing a credential --------------------------------------------------------------------


def pg_environment(cred: Credential, ca_bundle: Path) -> dict[str, str]:
    """libpq's variables for this credential: TLS verified against `ca_bundle`."""
    return {
        "PGHOST": cred.host,
        "PGPORT": str(cred.port),
        "PGDATABASE": cred.database,
        "PGUSER": cred.user,
        "PGPASSWORD": cred.password,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(ca_bundle),
    }


def _pgpass_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def format_credential(cred: Credential, fmt: TokenFormat, ca_bundle: Path) -> str:
    mysql = cred.engine in MYSQL_ENGINES
    if fmt is TokenFormat.env:
        env = (
            mysql_client.mysql_environment(cred, ca_bundle)
            if mysql
            else pg_environment(cred, ca_bundle)
        )
        return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    if fmt is TokenFormat.json:
        tls: dict[str, object] = (
            {"ssl_mode": "VERIFY_IDENTITY", "ssl_ca": str(ca_bundle), "cleartext_plugin": True}
            if mysql
            else {"sslmode": "verify-full", "sslrootcert": str(ca_bundle)}
        )
        return json.dumps(
            {
                "engine": cred.engine,
                "host": cred.host,
                "port": cred.port,
                "database": cred.database,
                "user": cred.user,
                "password": cred.password,
                "expires_at": cred.expires_at.isoformat(),
                **tls,
            },
            indent=2,
        )
    if fmt is TokenFormat.uri:
        # MySQL: the URI form of MySQL Shell and the MySQL connectors.
        ca = quote(str(ca_bundle), safe="/")
        scheme, tls_query = (
            ("mysql", f"ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}")
            if mysql
            else ("postgresql", f"sslmode=verify-full&sslrootcert={ca}")
        )
        return (
            f"{scheme}://{quote(cred.user, safe='')}:{quote(cred.password, safe='')}"
            f"@{cred.host}:{cred.port}/{quote(cred.database, safe='')}?{tls_query}"
        )
    if fmt is TokenFormat.password:
        return cred.password
    if mysql:
        raise EngineerError(
            f"--format {fmt.value} is PostgreSQL's; {cred.database} is a {cred.engine} database",
            "use --format env, json, uri or password",
            INVALID_INPUT,
        )
    fields = (cred.host, str(cred.port), cred.database, cred.user, cred.password)
    return ":".join(_pgpass_field(f) for f in fields)


def resolve_ca_bundle(
    option: Path | None, config: Config, env: Mapping[str, str], engine: str
) -> Path:
    """--ca-bundle, else the config file's key for the engine's bundle (`ca_bundle` for RDS
    and Aurora, `redshift_ca_bundle` for Redshift), else the engine's default path."""
    if option is not None:
        return option.expanduser()
    bundle = ca_bundles.for_engine(engine)
    configured: str | None = getattr(config, bundle.config_key)
    if configured:
        return Path(configured).expanduser()
    return config_dir(env) / bundle.local_name


def missing_ca_bundle(path: Path, engine: str) -> EngineerError:
    bundle = ca_bundles.for_engine(engine)
    which = "Amazon Trust Services" if bundle is ca_bundles.REDSHIFT else "AWS RDS global"
    return EngineerError(
        f"the CA bundle {path} does not exist (needed for sslmode=verify-full)",
        f"Download the {which} bundle ({engine}):\n  mkdir -p {path.parent} && "
        f"{bundle.curl(str(path))}\nor pass --ca-bundle FILE.",
        OPERATION_FAILED,
    )


# --- one place that does the work ------------------------------------------------------------


def catalog_url(env: Mapping[str, str], config: Config) -> str | None:
    """Where the catalog is: DBACCESS_CATALOG, else `catalog` in the config file."""
    return env.get("DBACCESS_CATALOG") or config.catalog


def no_catalog_location(env: Mapping[str, str]) -> EngineerError:
    return EngineerError(
        "dbaccess does not know where the catalog is",
        "set DBACCESS_CATALOG=s3://<bucket>/<prefix>/catalog.json (the stack output "
        '`catalog`: `pulumi stack output catalog`), or `catalog = "s3://…"` in '
        f"{config_dir(env) / 'config.toml'}, or pass --catalog FILE",
    )


@dataclass(frozen=True)
class Context:
    config: Config
    email: str
    email_source: str
    catalog: Catalog
    # None when offline with the email given: AWS is asked only once a credential is made.
    identity: Identity | None
    base_session: boto3.Session | None

    def signed_in(self, say: Say = quiet) -> Context:
        """This context with who you are in AWS (resolved now if it was not yet)."""
        if self.identity is not None:
            return self
        base = boto3.Session(region_name=self.config.region)
        identity = resolve_identity(
            base,
            email=self.email,
            email_source=self.email_source,
            catalog=self.catalog,
            region=self.config.region,
            say=say,
        )
        return dataclasses.replace(self, identity=identity, base_session=base)


def open_context(
    *,
    email_option: str | None,
    catalog_file: Path | None,
    env: Mapping[str, str],
    say: Say = quiet,
    session: boto3.Session | None = None,
) -> Context:
    """Config, who you are, your catalog. `session`: the base AWS session (default: boto3's
    usual credential chain, in the configured region). With --catalog and a known email,
    nothing here touches AWS."""
    config = load_config(config_dir(env) / "config.toml")
    say(f"config: {config.path or 'none'}")
    email, email_source = explicit_email(email_option, env, config)
    offline = load_catalog_file(catalog_file) if catalog_file else None
    if offline is not None:
        say(f"catalog: {catalog_file} (offline)")
        if email is not None:
            return Context(config, email, email_source, offline, None, None)

    base = session or boto3.Session(region_name=config.region)
    try:
        identity = resolve_identity(
            base,
            email=email,
            email_source=email_source,
            catalog=offline,
            region=config.region,
            say=say,
        )
    except EngineerError as exc:
        if offline is not None and email is None:
            exc.fix += (
                "\nOr, without AWS: `dbaccess list` reads the catalog file alone when you "
                "pass --email you@example.com."
            ).lstrip("\n")
        raise
    if offline is not None:
        return Context(config, identity.email, email_source, offline, identity, base)
    url = catalog_url(env, config)
    if not url:
        raise no_catalog_location(env)
    bucket, key = person_object_location(url, identity.email)
    s3 = identity.session.client("s3", region_name=config.region or base.region_name)
    catalog = fetch_catalog(s3, bucket, key, cache_dir(env), say=say)
    return Context(config, identity.email, email_source, catalog, identity, base)


def make_credential(
    ctx: Context,
    database: str,
    access: str,
    today: dt.date,
    say: Say = quiet,
    *,
    reuse: bool = True,
) -> Credential:
    """A credential for the grant; with `reuse`, the last one made for this login and
    endpoint by the same person in the same role while it still has minutes to live."""
    # The catalog answers typos and missing grants before AWS is asked anything.
    db, grant = select_grant(ctx.catalog, ctx.email, database, access, today)
    ctx = ctx.signed_in(say)
    assert ctx.identity is not None
    assert ctx.base_session is not None
    # Who made it, with which AWS login: after a new login (weep, SSO) a token signed with the
    # old keys may die with them, so it is not reused.
    base_keys = ctx.base_session.get_credentials()
    login_key = base_keys.access_key if base_keys is not None else ""
    holder = f"{ctx.identity.email} {ctx.identity.role_arn} {login_key}"
    if reuse and (
        kept := token_cache.load(cache_dir(), db, grant.login, holder, dt.datetime.now(dt.UTC))
    ):
        say(f"reusing the credential for {kept.user}, valid until {kept.expires_at:%H:%M:%S} UTC")
        return kept
    person = ctx.catalog.person(ctx.email)
    roles = person.roles if person else {}
    session = session_for_account(
        ctx.identity, ctx.base_session, db.account, roles, ctx.config.region, say
    )
    how = "RDS IAM token (signed locally)"
    if db.engine not in RDS_IAM_ENGINES:
        how = "Redshift GetClusterCredentials"
    say(
        f"{db.engine} endpoint {db.host}:{db.port}, database {db.database}, "
        f"login {grant.login} ({access}); {how} in {db.region}"
    )
    keys = session.get_credentials()
    assert keys is not None  # the session answered STS a moment ago
    try:
        cred = issue_credential(keys, db, grant)
    except CredentialError as exc:
        raise aws_failure(exc) from None
    say(f"credential for {cred.user} valid until {cred.expires_at:%Y-%m-%d %H:%M:%S} UTC")
    if reuse:
        token_cache.store(cache_dir(), db, grant.login, holder, cred)
    return cred


def exec_psql(cred: Credential, ca_bundle: Path, psql_args: Sequence[str], say: Say) -> NoReturn:
    """Replace this process with psql; the password goes in PGPASSWORD, never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(pg_environment(cred, ca_bundle))
    psql = shutil.which("psql", path=env.get("PATH"))
    if psql is None:
        raise EngineerError(
            "psql is not installed (or not on PATH)", PSQL_INSTALL, OPERATION_FAILED
        )
    say(f"running {psql} {shlex.join(psql_args)} (password in PGPASSWORD)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(psql, [psql, *psql_args], env)  # noqa: S606 - argv carries no secret


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
                "psql is not installed (or not on PATH)", PSQL_INSTALL, OPERATION_FAILED
            )
        cred = make_credential(ctx, database, level, utc_today(), say)
        if mysql:
            mysql_client.exec_mysql(cred, bundle, client_args or [], say)
        exec_psql(cred, bundle, client_args or [], say)
    except EngineerError as exc:
        fail(exc)
