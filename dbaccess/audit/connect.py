"""How audit and sweep reach a database: as its admin_login with an RDS IAM token signed with
the account's deploy role (what the program does), or directly through a DSN.

Neither the token nor a DSN's password ever appears in a message: connection errors are
reported with them blanked out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import psycopg
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from dbaccess.access.plan import DatabaseSpec
from dbaccess.credentials import CredentialError, classify_aws_error, rds_auth_token
from dbaccess.deadline import DATABASE_SECONDS

Connection = psycopg.Connection[TupleRow]
Connector = Callable[[DatabaseSpec], Connection]

APPLICATION_NAME: Final = "dbaccess"
SESSION_NAME: Final = "dbaccess-audit"
ROLE_DURATION_SECONDS: Final = 900


class Unreachable(Exception):
    """A database could not be reached or read; the message holds no secret."""


class ConfigError(Exception):
    """Options or settings that cannot work (exit 2); the message says how to fix them."""


def _scrub(message: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return re.sub(r"\s+", " ", message).strip()


def _open(params: Mapping[str, Any], secrets: tuple[str, ...]) -> Connection:
    try:
        return psycopg.connect(
            **params, connect_timeout=DATABASE_SECONDS, application_name=APPLICATION_NAME
        )
    except psycopg.Error as exc:
        raise Unreachable(_scrub(str(exc), secrets)) from None


def dsn_connector(dsn: str, db: DatabaseSpec) -> Connector:
    """Connect to `db` through a libpq URL or key=value string (its database by default).

    Raises ConfigError, without echoing the DSN (it may hold a password), when it cannot be
    parsed or names another database than access.yaml's.
    """
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise ConfigError(
            "--dsn is not a PostgreSQL connection URL (postgresql://user@host:port/database) "
            "or key=value string"
        ) from None
    named = params.get("dbname")
    if named is not None and named != db.name:
        raise ConfigError(
            f"--dsn connects to database '{named}' but access.yaml's '{db.key}' is database "
            f"'{db.name}'; point --dsn at '{db.name}' or name the right --database"
        )
    params["dbname"] = db.name
    secrets = (str(params.get("password") or ""),)

    def connect(target: DatabaseSpec) -> Connection:
        if target.key != db.key:
            raise ConfigError(f"--dsn reaches '{db.key}' only, not '{target.key}'")
        return _open(params, secrets)

    return connect


def iam_params(db: DatabaseSpec, deploy_role_arn: str, ca_bundle: Path, sts: Any) -> dict[str, Any]:
    """libpq parameters for `db`'s admin_login: an RDS IAM token made with the deploy role
    (assumed through `sts`), TLS verified against `ca_bundle`. Raises CredentialError."""
    try:
        keys = sts.assume_role(
            RoleArn=deploy_role_arn,
            RoleSessionName=SESSION_NAME,
            DurationSeconds=ROLE_DURATION_SECONDS,
        )["Credentials"]
    except (BotoCoreError, ClientError) as exc:
        raise classify_aws_error(exc, f"assuming {deploy_role_arn}") from None
    credentials = Credentials(
        keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], method="assume-role"
    )
    assert db.admin_login is not None  # the loader requires it for PostgreSQL
    return {
        "host": db.host,
        "port": db.port,
        "dbname": db.name,
        "user": db.admin_login,
        "password": rds_auth_token(credentials, db.region, db.host, db.port, db.admin_login),
        "sslmode": "verify-full",
        "sslrootcert": str(ca_bundle),
    }


def iam_connector(
    accounts: Mapping[str, str], ca_bundle: Path, sts_for_region: Callable[[str], Any]
) -> Connector:
    """Connect as each database's admin_login, the way the program does."""

    def connect(db: DatabaseSpec) -> Connection:
        try:
            params = iam_params(db, accounts[db.account], ca_bundle, sts_for_region(db.region))
        except CredentialError as exc:
            raise Unreachable(exc.message) from None
        return _open(params, (params["password"],))

    return connect
