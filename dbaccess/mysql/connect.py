"""The db-access admin's connection to an RDS / Aurora MySQL server: an IAM token minted with
the deploy role for this one connection (never stored), sent in clear text inside TLS that
verifies the server against the RDS CA bundle and its host name."""

from __future__ import annotations

import ssl
from typing import Final

import boto3
import pymysql
from pymysql.constants import CR

from dbaccess.clients.deadline import DATABASE_SECONDS
from dbaccess.mysql.spec import AdminTarget

SESSION_NAME: Final = "dbaccess-mysql-admin"


def admin_token(target: AdminTarget) -> str:
    """A 15-minute RDS auth token for `target.admin_login`, signed with the deploy role."""
    sts = boto3.client("sts", region_name=target.region)
    keys = sts.assume_role(
        RoleArn=target.deploy_role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=900
    )["Credentials"]
    rds = boto3.client(
        "rds",
        region_name=target.region,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    return str(
        rds.generate_db_auth_token(
            DBHostname=target.host,
            Port=target.port,
            DBUsername=target.admin_login,
            Region=target.region,
        )
    )


class NoAnswer(pymysql.err.OperationalError):
    """The server did not answer within DATABASE_SECONDS: not there, or it accepted TCP and
    then said nothing."""


def admin_connection(target: AdminTarget) -> pymysql.Connection:
    """Raises pymysql's errors; NoAnswer for a server that stays silent."""
    return verified_connection(
        target.host, target.port, target.admin_login, admin_token(target), target.ca_bundle
    )


def verified_connection(
    host: str, port: int, user: str, password: str, ca_bundle: str
) -> pymysql.Connection:
    """`user` over TLS verified against `ca_bundle` and the host name: the admin with its
    token, or the master user with its password (`dbaccess bootstrap`). Raises pymysql's
    errors; NoAnswer for a server that stays silent."""
    try:
        # The server asks for mysql_clear_password (AWSAuthenticationPlugin); PyMySQL answers
        # it with the token, which is why TLS must be on and verified before anything is sent.
        return pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            ssl_ca=ca_bundle,
            ssl_verify_cert=True,
            ssl_verify_identity=True,
            autocommit=True,
            # PyMySQL waits forever for the greeting and for answers unless told otherwise.
            connect_timeout=DATABASE_SECONDS,
            read_timeout=DATABASE_SECONDS,
            write_timeout=DATABASE_SECONDS,
            charset="utf8mb4",
        )
    except ssl.SSLError as exc:  # PyMySQL reads the CA bundle before it connects
        raise pymysql.err.OperationalError(
            CR.CR_SSL_CONNECTION_ERROR,
            f"the CA bundle {ca_bundle} is not usable ({exc.reason or exc}): it must be "
            "RDS's global bundle (PEM)",
        ) from None
    except pymysql.err.OperationalError as exc:
        if isinstance(exc.__context__, TimeoutError):
            raise NoAnswer(
                exc.args[0],
                f"MySQL server {host}:{port} did not answer within "
                f"{DATABASE_SECONDS} s (check the host and port in access.yaml and that the "
                "server is up)",
            ) from None
        raise
