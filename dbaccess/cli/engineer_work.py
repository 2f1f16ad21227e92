"""The one place that does an engineer's work, on inputs given as arguments: find the catalog,
resolve who you are, make the credential, hand the session to psql or mysql."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

import boto3

from dbaccess.access.naming import RDS_IAM_ENGINES
from dbaccess.catalog import Catalog
from dbaccess.cli import token_cache
from dbaccess.cli.catalog_cache import (
    cache_dir,
    fetch_catalog,
    load_catalog_file,
    person_object_location,
)
from dbaccess.cli.credential_text import pg_environment
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.grant_choice import select_grant
from dbaccess.cli.identity import (
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

PSQL_INSTALL: Final = """\
Install the PostgreSQL client:
  macOS:          brew install libpq && brew link --force libpq
  Debian/Ubuntu:  sudo apt-get install postgresql-client
  Fedora/RHEL:    sudo dnf install postgresql
or run `dbaccess token DB --format env` and use the client of your choice."""


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
        raise EngineerError("psql is not installed (or not on PATH)", PSQL_INSTALL, ExitCode.FAILED)
    say(f"running {psql} {shlex.join(psql_args)} (password in PGPASSWORD)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(psql, [psql, *psql_args], env)  # noqa: S606 - argv carries no secret
