"""Every connection to a database is bounded: GIVEN a server that accepts TCP and never sends a
byte (tests/fakes/silent.py), WHEN audit or the MySQL provider reaches it, THEN it is reported
unreachable (audit) or fails with a clear error (the provider) within DATABASE_SECONDS, the
same bound for PostgreSQL and MySQL. AWS (the deploy role, the IAM token): moto.

The silent server closes each connection after a minute, so a client without a read bound
fails the timing assertion instead of hanging the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from components.mysql_users import MysqlLoginProvider
from dbaccess.cli import app
from dbaccess.clients.deadline import DATABASE_SECONDS
from dbaccess.mysql.connect import NoAnswer
from dbaccess.mysql.spec import AdminTarget, MysqlLogin, login_inputs
from tests import pgserver
from tests.fakes.silent import SilentServer
from tests.services.audit_world import stack_project

DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"  # Pulumi.prod.yaml's accounts
SLACK = 3.0  # seconds beyond the bound: starting the CLI, moto, the TLS context
ACCESS = """\
version: 1
databases:
  shop:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: shop
    host: 127.0.0.1
    port: {port}
    database: shop
    admin_login: dbaccess_admin
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders
    host: 127.0.0.1
    port: {port}
    database: orders
    admin_login: dbaccess_admin
"""


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer(hold=60) as server:
        yield server


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent: SilentServer
) -> Iterator[Path]:
    project = stack_project(tmp_path, monkeypatch, ACCESS.format(port=silent.port))
    pgserver.write_test_pki(project)  # project/ca.pem (the server never gets as far as TLS)
    with mock_aws():
        yield project


def timed_audit(database: str) -> tuple[float, dict[str, str]]:
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["audit", "--database", database, "--ca-bundle", "ca.pem", "--format", "json"]
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, (result.output, result.exception)
    [finding] = json.loads(result.stdout)["findings"]
    return elapsed, finding


@pytest.mark.parametrize("database", ["shop", "orders"])
def test_audit_reports_a_silent_server_unreachable_within_the_bound(
    project: Path, silent: SilentServer, database: str
) -> None:
    elapsed, finding = timed_audit(database)
    assert silent.accepted >= 1  # it did get through to the silent server
    assert (finding["database"], finding["kind"]) == (database, "unreachable")
    assert DATABASE_SECONDS - 1 <= elapsed <= DATABASE_SECONDS + SLACK
    if database == "shop":
        assert f"did not answer within {DATABASE_SECONDS} s" in finding["detail"]


def test_the_mysql_providers_create_fails_clearly_within_the_bound(
    project: Path, silent: SilentServer
) -> None:
    target = AdminTarget(
        silent.host, silent.port, "eu-west-1", "dbaccess_admin", DEPLOY_ROLE, "ca.pem"
    )
    props = login_inputs(MysqlLogin("ana_ro", "read-only", ("shop",)), target)
    started = time.monotonic()
    with pytest.raises(NoAnswer) as failed:
        MysqlLoginProvider().create(props)
    assert time.monotonic() - started <= DATABASE_SECONDS + SLACK
    assert str(failed.value.args[1]) == (
        f"MySQL server 127.0.0.1:{silent.port} did not answer within {DATABASE_SECONDS} s "
        "(check the host and port in access.yaml and that the server is up)"
    )


def test_a_ca_bundle_that_is_not_pem_is_reported_not_a_traceback(
    project: Path, silent: SilentServer
) -> None:
    (project / "ca.pem").write_text("not a certificate\n")
    _, finding = timed_audit("shop")
    assert finding["kind"] == "unreachable"
    assert "the CA bundle ca.pem is not usable" in finding["detail"]
