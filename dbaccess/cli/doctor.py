"""`dbaccess doctor`: walk the way from AWS credentials to a TLS connection, one step a line.

Each step prints ✓ with what it found, or ✗ with what to do. A step that the rest depend on
stops the walk (exit 1); the others are all reported, and any ✗ exits 1. The steps reuse the
functions `list`, `token` and `connect` run, so the doctor fails where they would.
`--operator` checks what a deploy needs instead (dbaccess.cli.doctor_operator).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import socket
import ssl
import struct
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, TypeVar

import boto3
import typer

from dbaccess.access.naming import MYSQL_ENGINES
from dbaccess.catalog import CATALOG_KEY, Catalog, CatalogDatabase, CatalogGrant
from dbaccess.cli import mysql_client
from dbaccess.cli.catalog_cache import (
    cache_dir,
    fetch_catalog,
    load_catalog_file,
    object_location,
    person_object_location,
)
from dbaccess.cli.credential_text import missing_ca_bundle, resolve_ca_bundle
from dbaccess.cli.engineer import CatalogOpt, EmailOpt, complete_database
from dbaccess.cli.engineer_work import Context, catalog_url, make_credential, no_catalog_location
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.grant_choice import Level, select_grant
from dbaccess.cli.identity import (
    Config,
    EngineerError,
    Identity,
    caller_identity,
    config_dir,
    explicit_email,
    load_config,
    resolve_identity,
)
from dbaccess.clients import ca_bundles
from dbaccess.formats import parse_url
from dbaccess.preflight import Failed, Unchecked

OK: Final = "✓"
FAILED: Final = "✗"
UNCHECKED: Final = "?"
CONNECT_TIMEOUT: Final = 5.0
# PostgreSQL's SSLRequest: length 8, code 1234/5679. Redshift speaks the same protocol.
SSL_REQUEST: Final = struct.pack("!ii", 8, 80877103)
T = TypeVar("T")

NETWORK_HELP: Final = """\
If the database does not answer (psql: "Connection timed out" or "could not connect to server"),
it is in a private network: connect to the VPN, or open a tunnel (e.g. SSM port forwarding to
HOST:5432 on local port 15432) and keep the real host name for TLS verify-full:
  creds=$(dbaccess token DB) && eval "$creds" && PGHOSTADDR=127.0.0.1 PGPORT=15432 psql
(libpq connects to hostaddr but checks the certificate against PGHOST.)"""


class Blocked(Exception):
    """A failed step the later steps depend on."""


@dataclass
class Report:
    """Prints each step as it finishes; remembers whether any failed. A step returns
    (its value, what to print); an EngineerError is its ✗, with the error's own fix."""

    failed: bool = False

    def must(self, step: str, run: Callable[[], tuple[T, str]]) -> T:
        """A step the rest depend on: its failure stops the walk."""
        value = self.may(step, run)
        if value is None:
            raise Blocked(step)
        return value

    def may(self, step: str, run: Callable[[], tuple[T, str]]) -> T | None:
        try:
            value, detail = run()
        except Unchecked as exc:  # nothing known to be wrong: not a failure
            print(f"{UNCHECKED} {step}: could not check: {exc.message}")
            return None
        except (EngineerError, Failed) as exc:
            self.failed = True
            print(f"{FAILED} {step}: {exc.message}")
            for line in exc.fix.splitlines():
                print(f"    {line}")
            return None
        print(f"{OK} {step}: {detail}")
        return value


def tls_handshake(
    host: str,
    port: int,
    ca_bundle: Path,
    timeout: float = CONNECT_TIMEOUT,
    *,
    mysql: bool = False,
) -> str:
    """Connect as libpq does with sslmode=verify-full (SSLRequest), or as a MySQL client does
    with VERIFY_IDENTITY, then TLS checked against `ca_bundle` and `host`, without logging in.
    Returns the TLS version."""
    context = ssl.create_default_context(cafile=str(ca_bundle))
    refuses = EngineerError(
        f"{host}:{port} answered but refuses TLS",
        "Ask the platform team: the database must accept TLS (rds.force_ssl; MySQL: "
        "require_secure_transport).",
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if mysql:
                try:
                    mysql_client.start_tls(raw)
                except mysql_client.NoTls as exc:
                    raise EngineerError(f"{refuses.message}: {exc}", refuses.fix) from None
            else:
                raw.sendall(SSL_REQUEST)
                if raw.recv(1) != b"S":
                    raise refuses
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return str(tls.version())
    except ssl.SSLCertVerificationError as exc:
        raise EngineerError(
            f"{host}:{port}: the certificate does not verify ({exc.verify_message})",
            "Use the CA bundle of the database's engine (RDS: the global bundle; Redshift: "
            "Amazon Trust Services roots), and connect by the endpoint's real host name.",
        ) from None
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc)
        raise EngineerError(f"{host}:{port} is not reachable ({reason})", NETWORK_HELP) from None


# http(s) and redirects between them only: urllib's default opener also reads file:// and
# ftp:// URLs (and follows a redirect to ftp://).
_HTTP_ONLY: Final = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.HTTPHandler,
    urllib.request.HTTPSHandler,
    urllib.request.HTTPRedirectHandler,
    urllib.request.HTTPDefaultErrorHandler,
    urllib.request.HTTPErrorProcessor,
):
    _HTTP_ONLY.add_handler(_handler())


def privatebin_page(url: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """GET the PrivateBin page (an http(s) URL); it must answer 200 with PrivateBin's HTML."""
    try:
        parse_url(url)  # ValueError for anything but http(s)
        request = urllib.request.Request(url, headers={"User-Agent": "dbaccess-doctor"})  # noqa: S310 - http(s) only
        with _HTTP_ONLY.open(request, timeout=timeout) as response:
            body = response.read(65536).decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as exc:
        raise EngineerError(
            f"{url} answered HTTP {exc.code}",
            "Check dbaccess:privatebinUrl (path included) and the PrivateBin service.",
        ) from None
    except (OSError, ValueError) as exc:
        raise EngineerError(
            f"{url} is not reachable ({getattr(exc, 'reason', exc)})",
            "PrivateBin is internal: run this from inside the network the issuer runs in, and "
            "check that the issuer's security group allows HTTPS out to it.",
        ) from None
    if "privatebin" not in body.lower():
        raise EngineerError(
            f"{url} answered HTTP {status}, but not with PrivateBin's page",
            "Check dbaccess:privatebinUrl: it must be the PrivateBin instance itself.",
        )
    return f"{url} answers (HTTP {status})"


@dataclass(frozen=True)
class DoctorInput:
    config: Config
    email: str | None
    email_source: str
    catalog_file: Path | None
    catalog_url: str | None
    database: str | None
    rw: bool
    ca_option: Path | None
    env: Mapping[str, str]


def _catalog_source(given: DoctorInput) -> tuple[tuple[Catalog | None], str]:
    """The offline catalog file, or (None) where the catalog is in S3, read once the role is
    assumed."""
    if given.catalog_file is not None:
        return (load_catalog_file(given.catalog_file),), f"{given.catalog_file} (offline)"
    if not given.catalog_url:
        raise no_catalog_location(given.env)
    bucket, key = object_location(given.catalog_url, CATALOG_KEY)
    return (None,), f"s3://{bucket}/{key}"


def _assume(
    base: boto3.Session, given: DoctorInput, offline: Catalog | None
) -> tuple[Identity, str]:
    found = resolve_identity(
        base,
        email=given.email,
        email_source=given.email_source,
        catalog=offline,
        region=given.config.region,
    )
    how = "assumed" if found.assumed else "already in"
    return found, f"{how} {found.role_arn} as {found.email} (SourceIdentity)"


def _own_object(base: boto3.Session, person: Identity, given: DoctorInput) -> tuple[Catalog, str]:
    bucket, key = person_object_location(given.catalog_url or "", person.email)
    s3 = person.session.client("s3", region_name=given.config.region or base.region_name)
    return fetch_catalog(s3, bucket, key, cache_dir(given.env)), f"s3://{bucket}/{key}"


def _grant(
    catalog: Catalog, email: str, given: DoctorInput, today: dt.date
) -> tuple[tuple[CatalogDatabase, CatalogGrant], str]:
    access: str
    if given.database is not None:
        database, access = given.database, Level.rw if given.rw else Level.ro
    else:  # the first current grant, read-only first
        person = catalog.person(email)
        usable = [g for g in (person.grants if person else ()) if not g.expired_on(today)]
        if not usable:
            raise EngineerError(
                f"{email} has no current grant in the catalog, so there is nothing to try",
                "Ask for access with a pull request to access.yaml.",
            )
        best = min(usable, key=lambda g: (g.access != Level.ro, g.database))
        database, access = best.database, best.access
    db, grant = select_grant(catalog, email, database, access, today)
    return (db, grant), f"{db.key} ({grant.access}) as {grant.login} on {db.host}:{db.port}"


def _ca(bundle: Path, engine: str) -> tuple[Path, str]:
    if not bundle.is_file():
        raise missing_ca_bundle(bundle, engine)
    return bundle, f"{bundle} ({ca_bundles.for_engine(engine).file_name}, for {engine})"


def privatebin_checks(report: Report, url: str | None) -> None:
    """PrivateBin answers and takes two pastes in a row; nothing to check without one (a stack
    without the issuer: a CLI-only pilot)."""
    if not url:
        print(f"{OK} PrivateBin: none set (no issuer: a CLI-only pilot)")
        return
    if report.may("PrivateBin reachable", lambda: (url, privatebin_page(url))) is not None:
        report.may("PrivateBin takes pastes without waiting", lambda: _privatebin_limit(url))


def _privatebin_limit(url: str) -> tuple[str, str]:
    """Two pastes in a row, as the issuer makes them in a burst: PrivateBin's default traffic
    limiter (one paste per address every 10 s) would hold the second. Each is a real paste:
    burn after reading, gone in 5 minutes, its text says what it is."""
    if importlib.util.find_spec("cryptography") is None:
        raise EngineerError(
            "this check encrypts a paste and needs the cryptography package",
            "pip install 'dbaccess[lambda]' (or run it from a checkout: make .venv/.installed)",
        )
    from dbaccess.clients.privatebin import PrivateBin, PrivateBinError

    waits: list[float] = []
    client = PrivateBin(url, sleep=waits.append)  # record the limiter's waits, don't sleep
    try:
        for _ in range(2):
            client.share("dbaccess doctor: a test paste, nothing secret", expire="5min")
    except PrivateBinError as exc:
        if not waits:
            raise EngineerError(
                f"PrivateBin refused a paste: {exc}",
                "If [traffic] creators is set, run this from an address it allows (the "
                "issuer's subnets); otherwise check the server's logs.",
            ) from None
    if waits:
        raise EngineerError(
            f"PrivateBin's traffic limiter made a paste wait {max(waits):.0f} s (two in a row)",
            "In PrivateBin's conf.php exempt the issuer's subnets ([traffic] exempted = "
            '"10.0.1.0/24,10.0.2.0/24") or switch the limiter off ([traffic] limit = 0), and let '
            "only the issuer create pastes ([traffic] creators). The limiter counts per "
            "address: run this check from the issuer's network.",
        )
    return url, "two pastes in a row, no wait (each burns after reading, gone in 5 minutes)"


def diagnose(given: DoctorInput, report: Report, today: dt.date) -> None:
    """The steps, in order; raises Blocked at the first failure the rest depend on."""
    base = boto3.Session(region_name=given.config.region)
    report.must("AWS identity", lambda: _caller(base, given.config.region))
    (offline,) = report.must("catalog", lambda: _catalog_source(given))
    person = report.must("person role assumable", lambda: _assume(base, given, offline))
    catalog = offline or report.must(
        "your catalog object readable", lambda: _own_object(base, person, given)
    )
    db, grant = report.must("grant", lambda: _grant(catalog, person.email, given, today))
    ctx = Context(given.config, person.email, given.email_source, catalog, person, base)
    report.may("token generated", lambda: _token(ctx, db, grant, today))
    bundle = resolve_ca_bundle(given.ca_option, given.config, given.env, db.engine)
    if report.may("CA bundle present", lambda: _ca(bundle, db.engine)) is not None:
        report.may(
            "database reachable over TLS (verify-full)",
            lambda: (
                db,
                f"{db.host}:{db.port}, "
                + tls_handshake(db.host, db.port, bundle, mysql=db.engine in MYSQL_ENGINES),
            ),
        )


def _caller(base: boto3.Session, region: str | None) -> tuple[str, str]:
    caller = caller_identity(base, region)
    return caller.arn, f"{caller.arn} (account {caller.account})"


def _token(
    ctx: Context, db: CatalogDatabase, grant: CatalogGrant, today: dt.date
) -> tuple[str, str]:
    cred = make_credential(ctx, db.key, grant.access, today, reuse=False)
    # Never the token itself: only that it exists and until when.
    return cred.user, f"for {cred.user}, valid until {cred.expires_at:%H:%M} UTC"


def _http_url(value: str | None) -> str | None:
    """A URL option: http(s) only (urllib would read file:///etc/passwd)."""
    if value is not None:
        try:
            parse_url(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is not an http(s) URL; give the PrivateBin instance's, e.g. "
                "https://paste.internal.example.com/"
            ) from None
    return value


CaBundleOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        help="CA bundle for verify-full (default: the database engine's, as for `dbaccess "
        "token`; with --operator, RDS's).",
        dir_okay=False,
        envvar="DBACCESS_CA_BUNDLE",
        show_envvar=True,
    ),
]


def doctor(
    database: Annotated[
        str | None,
        typer.Argument(
            help="The database to try (default: your first current grant); with --operator, "
            "the one to check (default: all).",
            autocompletion=complete_database,
        ),
    ] = None,
    operator: Annotated[
        bool,
        typer.Option(
            "--operator",
            help="Check what a deploy needs instead (the platform team; before `pulumi up`).",
        ),
    ] = False,
    file: Annotated[Path, typer.Option(help="With --operator: the access file.")] = Path(
        "access.yaml"
    ),
    stack: Annotated[
        str, typer.Option(help="With --operator: the stack (Pulumi.<stack>.yaml).")
    ] = "prod",
    dsn: Annotated[
        str | None,
        typer.Option(
            help="With --operator and one PostgreSQL database: connect with this libpq URL "
            "instead of the admin's IAM token.",
            envvar="DBACCESS_DSN",
            show_envvar=True,
        ),
    ] = None,
    privatebin_url: Annotated[
        str | None,
        typer.Option(
            envvar="DBACCESS_PRIVATEBIN_URL",
            help="With --operator: check this PrivateBin (http or https) instead of the "
            "stack's dbaccess:privatebinUrl.",
            callback=_http_url,
        ),
    ] = None,
    rw: Annotated[bool, typer.Option("--rw", help="Try read-write (default: read-only).")] = False,
    ca_bundle: CaBundleOpt = None,
    email: EmailOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Check each step from your AWS credentials to a verified TLS connection to a database.

    One line per step, ✓ or ✗ with what to do: AWS identity, catalog, your person role
    (assumed with SourceIdentity), your catalog object, your grant, a token, the CA bundle,
    and a TLS handshake with verify-full (no login). Exit 1 if any step fails; the walk stops
    at the first failure the rest depend on.

    With --operator (before a deploy, with the deploy role's credentials): per database of
    the access file, the instance or cluster exists with IAM database authentication and
    TLS enforced; its admin login signs in with IAM; the bootstrap has run. Per stack,
    PrivateBin answers and takes two pastes in a row. ✗ says the fix; ? could not check.

    Example:

    \b
        $ dbaccess doctor orders
        ✓ AWS identity: arn:aws:sts::123456789012:assumed-role/…
        $ dbaccess doctor --operator --stack prod
    """
    env = os.environ
    report = Report()
    config = Config()
    try:
        config = load_config(config_dir(env) / "config.toml")
        if operator:
            from dbaccess.cli.doctor_operator import operator_diagnose, operator_input

            ca = resolve_ca_bundle(ca_bundle, config, env, "postgres")  # RDS's bundle
            given_op = operator_input(file, stack, database, dsn, ca, privatebin_url)
            operator_diagnose(given_op, report)
            _finish(report)
            return
        who, source = explicit_email(email, env, config)
    except EngineerError as exc:
        print(exc.render(), file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    given = DoctorInput(
        config=config,
        email=who,
        email_source=source,
        catalog_file=catalog,
        catalog_url=catalog_url(env, config),
        database=database,
        rw=rw,
        ca_option=ca_bundle,
        env=env,
    )
    try:
        diagnose(given, report, dt.datetime.now(dt.UTC).date())
    except Blocked:
        print("Stopped: the steps after this one need it.")
    _finish(report)


def _finish(report: Report) -> None:
    if report.failed:
        raise typer.Exit(ExitCode.FAILED)
    print("All good.")
