"""`dbaccess audit` / `dbaccess sweep` reach MySQL databases of access.yaml: GIVEN an access file
with two MySQL databases (one server: the local MariaDB) and planted findings on it.

The readers and rules are dbaccess.mysql.findings's (tests/services/test_mysql_audit.py); here:
the plan's servers are dispatched to them and the results join the report, and the CLI
reaches a MySQL server as its admin_login with an IAM token (AWS: moto). Locally
mysql_native_password plays AWSAuthenticationPlugin and KILL plays mysql.rds_kill
(tests/mysql_local.py); other test modules' users may exist meanwhile, so assertions look
at this module's users only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dbaccess.access import AccessPlan, load_access_text
from dbaccess.audit.report import render_audit
from dbaccess.audit.results import AuditResult, SweepResult
from dbaccess.audit.sweep_rules import DROPPED, NOT_GIVEN, SweepRules
from dbaccess.cli import app
from dbaccess.mysql import apply
from dbaccess.mysql.audit import MysqlAccess, audit_mysql, sweep_mysql
from dbaccess.mysql.spec import mysql_servers
from tests import mysql_local
from tests.mysqlserver import MariaDBServer
from tests.program.conftest import TODAY
from tests.services.audit_world import stack_project

pytestmark = [pytest.mark.mysql]

ADMIN = "aud_admin"
A, B = "aud_a", "aud_b"
OURS = {
    "ada_ro",
    "bob_rw",
    "cyd_ro",
    "pw_aud",
    "ghost_aud_ro",
    "boss_aud",
    "app_aud",
    "svc_aud",
    "gone_aud_ro",
    ADMIN,
}
ACCESS = """\
version: 1
databases:
  aud-a:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: aud
    host: localhost
    port: {port}
    database: aud_a
    admin_login: aud_admin
  aud-b:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: aud
    host: localhost
    port: {port}
    database: aud_b
    admin_login: aud_admin
people:
  ada@example.com:
    grants:
      - {{database: aud-a, access: read-only}}
      - {{database: aud-b, access: read-only}}
  bob@example.com:
    grants:
      - {{database: aud-b, access: read-write}}
  cyd@example.com:
    grants:
      - {{database: aud-a, access: read-only}}
"""


@pytest.fixture(scope="module")
def plan(mysql_server: MariaDBServer) -> AccessPlan:
    return load_access_text(ACCESS.format(port=mysql_server.port), "access.yaml", today=TODAY)


@pytest.fixture(scope="module")
def server(mysql_server: MariaDBServer, plan: AccessPlan) -> Iterator[MariaDBServer]:
    srv = mysql_server
    srv.sql(f"CREATE DATABASE {A}; CREATE DATABASE {B}")
    mysql_local.bootstrap(srv, ADMIN, [A, B])
    (deployed,) = mysql_servers(plan)
    with mysql_local.connect(srv, ADMIN) as conn:
        for login in deployed.spec.logins:
            if login.login != "cyd_ro":  # declared, never created: missing
                apply.create_login(conn, login, mysql_local.AUTH)
    srv.sql(
        ";".join(
            [
                "CREATE USER 'pw_aud'@'%' IDENTIFIED VIA unix_socket",
                # made by db-access (marked), no longer declared
                f"CREATE USER 'ghost_aud_ro'@'%' {mysql_local.AUTH} REQUIRE SSL",
                "GRANT dbaccess_managed TO 'ghost_aud_ro'@'%'",
                # an application logging in with IAM: no mark
                f"CREATE USER 'svc_aud'@'%' {mysql_local.AUTH} REQUIRE SSL",
                "GRANT SELECT ON `aud\\_a`.* TO 'svc_aud'@'%'",
                # made by db-access, to be dropped while connected
                f"CREATE USER 'gone_aud_ro'@'%' {mysql_local.AUTH} REQUIRE SSL",
                "GRANT dbaccess_managed TO 'gone_aud_ro'@'%'",
                "CREATE USER 'boss_aud'@'%' IDENTIFIED VIA unix_socket",
                "GRANT SUPER ON *.* TO 'boss_aud'@'%'",
                "CREATE USER 'app_aud'@'%' IDENTIFIED BY 'y'",
                "GRANT ALL ON *.* TO 'app_aud'@'%' WITH GRANT OPTION",
                "GRANT DROP ON `aud\\_b`.* TO 'bob_rw'@'%'",
            ]
        )
    )
    yield srv
    srv.sql(
        f"DROP DATABASE {A}; DROP DATABASE {B}; DROP USER IF EXISTS "
        + ", ".join(f"'{u}'@'%'" for u in sorted(OURS))
    )


def local_access(server: MariaDBServer, allowed: frozenset[str] = frozenset()) -> MysqlAccess:
    return MysqlAccess(
        lambda db, _instance: mysql_local.connect(server, str(db.admin_login)),
        allowed,
        iam_plugin=mysql_local.PLUGIN,
        rds=False,
    )


def test_audit_reports_the_planted_findings_under_mysql_kinds(
    server: MariaDBServer, plan: AccessPlan
) -> None:
    result = AuditResult()
    audit_mysql(plan, [], local_access(server, frozenset({"app_aud"})), result)
    mine = {(f.database, f.kind, f.subject) for f in result.findings if f.subject in OURS}
    assert mine == {
        ("aud-a", "mysql-missing-user", "cyd_ro"),
        ("aud-a", "mysql-undeclared-user", "pw_aud"),
        ("aud-a", "mysql-undeclared-user", "ghost_aud_ro"),
        ("aud-a", "mysql-undeclared-user", "svc_aud"),
        ("aud-a", "mysql-undeclared-user", "gone_aud_ro"),
        ("aud-a", "mysql-undeclared-user", "boss_aud"),
        ("aud-a", "mysql-privileged-user", "boss_aud"),
        ("aud-a", "mysql-wrong-privileges", "bob_rw"),
    }
    assert (result.databases, result.servers) == (
        ["aud-a", "aud-b"],
        ["mysql-aud-123456789012-eu-west-1"],
    )
    text = render_audit(result, "text")
    assert "mysql-privileged-user (" in text
    assert "aud-a: boss_aud: boss_aud@% holds SUPER" in text
    assert "aud-a: bob_rw: bob_rw@% on aud\\_b: extra DROP" in text


def test_sweep_ends_only_what_db_access_made(server: MariaDBServer, plan: AccessPlan) -> None:
    ghost = mysql_local.connect(server, "ghost_aud_ro")  # marked, no longer declared
    gone = mysql_local.connect(server, "gone_aud_ro")  # marked, dropped while connected
    svc = mysql_local.connect(server, "svc_aud")  # an IAM application, unmarked
    svc.select_db(A)
    ada = mysql_local.connect(server, "ada_ro")
    ada.select_db(A)
    server.sql("DROP USER 'gone_aud_ro'@'%'")
    try:
        listed = SweepResult(dry_run=True)
        sweep_mysql(plan, ["aud-b"], local_access(server), listed)
        mine = {
            (e.login, e.database, e.reason, e.instance) for e in listed.ended if e.login in OURS
        }
        assert mine == {
            ("ghost_aud_ro", "", NOT_GIVEN, "aud"),
            ("gone_aud_ro", "", DROPPED, "aud"),
        }
        ghost.ping(reconnect=False)  # a dry run ends nothing

        swept = SweepResult(dry_run=False)
        sweep_mysql(plan, ["aud-b"], local_access(server), swept)
        assert sorted(e.login for e in swept.ended if e.login in OURS) == [
            "ghost_aud_ro",
            "gone_aud_ro",
        ]
        assert swept.errors == []
        for conn in (ghost, gone):
            with pytest.raises(pymysql.err.OperationalError):
                conn.ping(reconnect=False)
        ada.ping(reconnect=False)  # a declared login in its own database keeps its session
        svc.ping(reconnect=False)  # so does the application

        # Told to, sweep ends unmarked IAM users too - never the exempt ones.
        wider = SweepResult(dry_run=True)
        rules = SweepRules(include_unmarked=True)
        sweep_mysql(plan, [], local_access(server), wider, rules)
        assert "svc_aud" in {e.login for e in wider.ended}
        exempt = SweepResult(dry_run=True)
        rules = SweepRules(frozenset({"svc_aud"}), include_unmarked=True)
        sweep_mysql(plan, [], local_access(server), exempt, rules)
        assert "svc_aud" not in {e.login for e in exempt.ended}
    finally:
        for conn in (ghost, gone, svc, ada):
            if conn.open:
                conn.close()
        server.sql(
            f"CREATE USER IF NOT EXISTS 'gone_aud_ro'@'%' {mysql_local.AUTH} REQUIRE SSL;"
            "GRANT dbaccess_managed TO 'gone_aud_ro'@'%'"
        )


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: MariaDBServer
) -> Iterator[Path]:
    """The Pulumi project with the prod stack and the MySQL access file, AWS under moto."""
    project = stack_project(tmp_path, monkeypatch, ACCESS.format(port=server.port))
    with mock_aws():
        yield project


def test_the_cli_reaches_mysql_as_the_admin_with_an_iam_token(
    project: Path, server: MariaDBServer
) -> None:
    args = ["--ca-bundle", str(server.ca_file), "--date", TODAY.isoformat(), "--format", "json"]
    result = CliRunner().invoke(app, ["audit", "--database", "aud-b", *args])
    assert result.exit_code == 1, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["database"], finding["kind"], finding["subject"]) == (
        "aud-b",
        "unreachable",
        f"localhost:{server.port}",
    )
    # TLS verified, then the server refused the admin's IAM token (it has a local password).
    assert f"Access denied for user '{ADMIN}'" in finding["detail"]
    for part in ("Action=connect", "X-Amz-", "DBUser="):
        assert part not in result.output

    swept = CliRunner().invoke(app, ["sweep", "--database", "aud-a", *args])
    assert swept.exit_code == 1, swept.output
    assert json.loads(swept.stdout)["errors"] == [
        f"mysql-aud-123456789012-eu-west-1 instance aud not swept: aud-a: {finding['detail']}"
    ]
