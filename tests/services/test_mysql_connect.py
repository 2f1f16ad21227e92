"""The admin's connection (dbaccess.mysql.connect) under moto and against the real MariaDB:
the token is minted with the deploy role for the admin login, and TLS is verified before it is
sent. (MariaDB cannot accept the token itself: no AWSAuthenticationPlugin.)"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from moto import mock_aws

from dbaccess.mysql.connect import admin_connection, admin_token
from dbaccess.mysql.spec import AdminTarget
from tests.mysqlserver import MariaDBServer
from tests.pgserver import write_test_pki

DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def target(
    host: str = "shop.cluster-abc.eu-west-1.rds.amazonaws.com",
    port: int = 3306,
    ca: str = "/nonexistent",
    admin: str = "dbaccess_admin",
) -> AdminTarget:
    return AdminTarget(host, port, "eu-west-1", admin, DEPLOY_ROLE, ca)


def test_the_token_is_for_the_admin_and_signed_with_the_deploy_role(aws: None) -> None:
    token = admin_token(target())
    assert token.startswith("shop.cluster-abc.eu-west-1.rds.amazonaws.com:3306/?")
    query = urllib.parse.parse_qs(token.split("?", 1)[1])
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["dbaccess_admin"]
    credential = query["X-Amz-Credential"][0]
    assert credential.endswith("/eu-west-1/rds-db/aws4_request")
    assert not credential.startswith("testing/")  # the assumed role's keys, not the caller's
    assert query["X-Amz-Expires"] == ["900"]
    assert "X-Amz-Security-Token" in query


@pytest.mark.mysql
def test_tls_is_verified_before_the_token_is_sent(
    aws: None, mysql_server: MariaDBServer, tmp_path: Path
) -> None:
    admin = "connect_admin"
    mysql_server.sql(f"CREATE USER '{admin}'@'%' IDENTIFIED BY 'not the token' REQUIRE SSL")
    try:
        other_ca, _, _ = write_test_pki(tmp_path)
        host, port = mysql_server.host, mysql_server.port
        with pytest.raises(pymysql.err.OperationalError) as untrusted:
            admin_connection(target(host, port, str(other_ca), admin))
        assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
        # With the right CA the handshake succeeds and the server judges the token (against a
        # password here, so it refuses): the token went over the verified channel only.
        with pytest.raises(pymysql.err.OperationalError) as refused:
            admin_connection(target(host, port, str(mysql_server.ca_file), admin))
        assert f"Access denied for user '{admin}'" in str(refused.value)
        assert "X-Amz" not in str(refused.value)
    finally:
        mysql_server.sql(f"DROP USER '{admin}'@'%'")
