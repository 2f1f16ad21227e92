"""How audit and sweep reach a database: as its admin_login with an RDS IAM token signed with
the account's deploy role (what the program does), or directly through a DSN.

Neither the token nor a DSN's password ever appears in a message: connection errors are
reported with them blanked out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from botocore.credentials import Credentials
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.instances import Instance, Members, rds_members, the_instance
from dbaccess.audit.results import ConfigError, Unreachable
from dbaccess.clients.deadline import DATABASE_SECONDS
from dbaccess.credentials import CredentialError, assume_role, client_as, rds_auth_token

Connection = psycopg.Connection[TupleRow]
# One database on one instance of its server.
Connector = Callable[[DatabaseSpec, Instance], Connection]

APPLICATION_NAME: Final = "dbaccess"
SESSION_NAME: Final = "dbaccess-audit"
ROLE_DURATION_SECONDS: Final = 900


@dataclass(frozen=True)
class Reach:
    """How audit and sweep reach a server: the instances to visit, and a connection to one
    database on one of them."""

    connect: Connector
    members: Members = the_instance


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


def dsn_params(dsn: str, db: DatabaseSpec, user: str = "user") -> dict[str, Any]:
    """libpq parameters from --dsn, connected to `db`'s database (named by access.yaml when
    the DSN names none). Raises ConfigError, without echoing the DSN (it may hold a password),
    when it cannot be parsed or names another database."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise ConfigError(
            f"--dsn is not a PostgreSQL connection URL (postgresql://{user}@host:port/database) "
            "or key=value string"
        ) from None
    named = params.get("dbname")
    if named is not None and named != db.name:
        raise ConfigError(
            f"--dsn connects to database '{named}' but access.yaml's '{db.key}' is database "
            f"'{db.name}'; point --dsn at '{db.name}' or name the right --database"
        )
    params["dbname"] = db.name
    return params


def dsn_connector(dsn: str, db: DatabaseSpec) -> Reach:
    """Reach `db` through a libpq URL or key=value string (its database by default). For an
    Aurora cluster, the DSN lists every instance as libpq's multi-host form does
    (postgresql://admin@writer:5432,reader:5432/orders): each host is one instance, named
    host:port; an RDS instance takes one host.

    Raises ConfigError, without echoing the DSN (it may hold a password), when it cannot be
    parsed, names another database than access.yaml's, or lists several hosts for an instance.
    """
    params = dsn_params(dsn, db)
    secrets = (str(params.get("password") or ""),)
    hosts = str(params.get("host") or db.host).split(",")
    ports = [p or str(db.port) for p in str(params.get("port") or "").split(",")]
    if len(ports) == 1:
        ports *= len(hosts)
    if len(ports) != len(hosts) or not all(p.isdigit() for p in ports):
        raise ConfigError("--dsn: give one port, or one port per host")
    if len(hosts) > 1 and not db.is_cluster:
        raise ConfigError(
            f"--dsn lists {len(hosts)} hosts but '{db.key}' is an RDS instance: give its one host "
            "(several hosts are for the instances of an Aurora cluster)"
        )
    if db.is_cluster:
        instances = [Instance(f"{h}:{p}", h, int(p)) for h, p in zip(hosts, ports, strict=True)]
    else:
        instances = [Instance(db.identifier, hosts[0], int(ports[0]))]

    def connect(target: DatabaseSpec, instance: Instance) -> Connection:
        if target.key != db.key:
            raise ConfigError(f"--dsn reaches '{db.key}' only, not '{target.key}'")
        return _open({**params, "host": instance.host, "port": instance.port}, secrets)

    return Reach(connect, lambda _db: instances)


def deploy_credentials(deploy_role_arn: str, sts: Any) -> Credentials:
    """The deploy role's keys (assumed through `sts`), as the program uses them. Raises
    CredentialError."""
    return assume_role(sts, deploy_role_arn, SESSION_NAME, duration=ROLE_DURATION_SECONDS)


def iam_params(
    db: DatabaseSpec, instance: Instance, deploy_role_arn: str, ca_bundle: Path, sts: Any
) -> dict[str, Any]:
    """libpq parameters for `db` on `instance` as its admin_login: an RDS IAM token made with
    the deploy role, TLS verified against `ca_bundle`. Raises CredentialError."""
    credentials = deploy_credentials(deploy_role_arn, sts)
    assert db.admin_login is not None  # the loader requires it for PostgreSQL
    return {
        "host": instance.host,
        "port": instance.port,
        "dbname": db.name,
        "user": db.admin_login,
        "password": rds_auth_token(
            credentials, db.region, instance.host, instance.port, db.admin_login
        ),
        "sslmode": "verify-full",
        "sslrootcert": str(ca_bundle),
    }


def iam_members(accounts: Mapping[str, str], sts_for_region: Callable[[str], Any]) -> Members:
    """An Aurora cluster's members, listed with the account's deploy role (what the program
    already assumes there); an RDS instance is the host access.yaml names."""

    def rds_for(db: DatabaseSpec) -> Any:
        try:
            keys = deploy_credentials(accounts[db.account], sts_for_region(db.region))
        except CredentialError as exc:
            raise Unreachable(exc.message) from None
        return client_as(keys, "rds", db.region)

    return rds_members(rds_for)


def iam_connector(
    accounts: Mapping[str, str], ca_bundle: Path, sts_for_region: Callable[[str], Any]
) -> Reach:
    """Reach each instance as the database's admin_login, the way the program does."""

    def connect(db: DatabaseSpec, instance: Instance) -> Connection:
        try:
            params = iam_params(
                db, instance, accounts[db.account], ca_bundle, sts_for_region(db.region)
            )
        except CredentialError as exc:
            raise Unreachable(exc.message) from None
        return _open(params, (params["password"],))

    return Reach(connect, iam_members(accounts, sts_for_region))
