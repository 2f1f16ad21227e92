"""The db-access admin's connection to a PostgreSQL server from a Pulumi dynamic provider
(components/postgres_role_settings.py): an RDS IAM token minted with the deploy role for this
one connection, never stored, as pulumi-postgresql's provider does for the same server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbaccess.audit.results import Unreachable
from dbaccess.credentials import CredentialError, rds_auth_token
from dbaccess.postgres.connect import Connection, _open, deploy_credentials


@dataclass(frozen=True)
class AdminTarget:
    """Where and as whom to connect: no secret in it."""

    host: str
    port: int
    database: str
    region: str
    admin_login: str
    deploy_role_arn: str
    # The RDS CA bundle (dbaccess:rdsCaBundle) on the machine running `pulumi up`: TLS is
    # verified against it when named; else encrypted but unverified (sslmode=require), as the
    # pulumi-postgresql provider of the same server connects.
    ca_bundle: str = ""

    def inputs(self) -> dict[str, Any]:
        """As Pulumi inputs (plain values: they are stored in the state)."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "region": self.region,
            "admin_login": self.admin_login,
            "deploy_role_arn": self.deploy_role_arn,
            "ca_bundle": self.ca_bundle,
        }

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> AdminTarget:
        return cls(
            host=str(props["host"]),
            port=int(props["port"]),
            database=str(props["database"]),
            region=str(props["region"]),
            admin_login=str(props["admin_login"]),
            deploy_role_arn=str(props["deploy_role_arn"]),
            ca_bundle=str(props.get("ca_bundle") or ""),
        )


def admin_connection(target: AdminTarget) -> Connection:
    """Open it (autocommit). Raises Unreachable, its message without the token."""
    import boto3

    try:
        credentials = deploy_credentials(
            target.deploy_role_arn, boto3.client("sts", region_name=target.region)
        )
        token = rds_auth_token(
            credentials, target.region, target.host, target.port, target.admin_login
        )
    except CredentialError as exc:
        raise Unreachable(exc.message) from None
    tls = (
        {"sslmode": "verify-full", "sslrootcert": target.ca_bundle}
        if target.ca_bundle
        else {"sslmode": "require"}
    )
    conn = _open(
        {
            "host": target.host,
            "port": target.port,
            "dbname": target.database,
            "user": target.admin_login,
            "password": token,
            **tls,
        },
        (token,),
    )
    conn.autocommit = True
    return conn
