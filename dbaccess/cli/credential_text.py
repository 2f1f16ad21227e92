"""How a credential is shown: the environment libpq reads, the formats of `dbaccess token`, and
the CA bundle that verifies the server."""

from __future__ import annotations

import enum
import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from dbaccess.access.naming import MYSQL_ENGINES
from dbaccess.cli import mysql_client
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.identity import (
    Config,
    EngineerError,
    config_dir,
)
from dbaccess.clients import ca_bundles
from dbaccess.credentials import Credential


class TokenFormat(enum.StrEnum):
    env = "env"
    json = "json"
    uri = "uri"
    pgpass = "pgpass"
    password = "password"  # alone, for a GUI client's "password command" (pgAdmin, DBeaver)


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
            ExitCode.INVALID_INPUT,
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
        ExitCode.FAILED,
    )
