"""query_audit on a real MariaDB with its server_audit plugin (RDS MySQL's MARIADB_AUDIT_PLUGIN).

GIVEN one MySQL database with `query_audit: ddl`, bob's read-write grant at `write` and cyd's
grant at `none`, WHEN the server holds the values db-access computes (set as the operator
would set the option group), THEN the audit log names ada's and bob's logins, logs bob's write
but no read, and nothing of cyd's; and `dbaccess audit` reports the plugin's drift and a
server where it is not loaded. Locally mysql_native_password plays AWSAuthenticationPlugin
(tests/mysql_local.py); the server is shared, so every global is put back afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dbaccess.access import AccessPlan, load_access_text
from dbaccess.audit.results import AuditResult
from dbaccess.mysql import apply
from dbaccess.mysql.audit import MysqlAccess, audit_mysql
from dbaccess.mysql.spec import MysqlServer, mysql_servers
from dbaccess.mysql.statements import string_literal
from tests import mysql_local
from tests.mysqlserver import MariaDBServer
from tests.program.conftest import TODAY

pytestmark = [pytest.mark.mysql]

ADMIN = "qa_admin"
DATABASE = "qa_audit"
USERS = ("qaada_ro", "qabob_rw", "qacyd_ro", ADMIN)
ACCESS = """\
version: 1
databases:
  qa-audit:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: qa
    host: localhost
    port: {port}
    database: qa_audit
    admin_login: qa_admin
    query_audit: ddl
people:
  qaada@example.com:
    grants:
      - {{database: qa-audit, access: read-only}}
  qabob@example.com:
    grants:
      - {{database: qa-audit, access: read-write, query_audit: write}}
  qacyd@example.com:
    grants:
      - {{database: qa-audit, access: read-only, query_audit: none}}
"""
GLOBALS = ("server_audit_logging", "server_audit_events", "server_audit_incl_users")


@pytest.fixture(scope="module")
def plan(mysql_server: MariaDBServer) -> AccessPlan:
    return load_access_text(ACCESS.format(port=mysql_server.port), "access.yaml", today=TODAY)


@pytest.fixture(scope="module")
def deployed(plan: AccessPlan) -> MysqlServer:
    (server,) = mysql_servers(plan)
    return server


@pytest.fixture(scope="module")
def server(mysql_server: MariaDBServer, deployed: MysqlServer) -> Iterator[MariaDBServer]:
    srv = mysql_server
    before = {name: variable(srv, name) for name in GLOBALS}
    srv.sql(f"CREATE DATABASE {DATABASE}; CREATE TABLE {DATABASE}.stock (sku int)")
    mysql_local.bootstrap(srv, ADMIN, [DATABASE])
    with mysql_local.connect(srv, ADMIN) as conn:
        for login in deployed.spec.logins:
            apply.create_login(conn, login, mysql_local.AUTH)
    yield srv
    srv.sql(
        f"DROP DATABASE {DATABASE}; DROP USER IF EXISTS "
        + ", ".join(f"'{u}'@'%'" for u in USERS)
        + ";"
        + ";".join(f"SET GLOBAL {name} = {string_literal(v)}" for name, v in before.items())
    )


def variable(server: MariaDBServer, name: str) -> str:
    """As SHOW shows it (and SET takes it back): ON/OFF, an empty list."""
    _, _, value = server.sql(f"SHOW GLOBAL VARIABLES LIKE '{name}'").partition("\t")
    return value


def set_globals(server: MariaDBServer, values: dict[str, str]) -> None:
    server.sql(";".join(f"SET GLOBAL {k} = {string_literal(v)}" for k, v in values.items()))


def audit_findings(server: MariaDBServer, plan: AccessPlan) -> list[tuple[str, str]]:
    access = MysqlAccess(
        lambda db, _instance: mysql_local.connect(server, str(db.admin_login)),
        iam_plugin=mysql_local.PLUGIN,
        rds=False,
    )
    result = AuditResult()
    audit_mysql(plan, [], access, result)
    return [(f.kind, f.detail) for f in result.findings if f.kind.startswith("mysql-audit")]


def log_file(server: MariaDBServer) -> Path:
    return Path(variable(server, "server_audit_file_path"))


def logged(server: MariaDBServer, since: int) -> list[tuple[str, str, str]]:
    """(user, operation, object) of each line written after byte `since`:
    time,host,user,client,connection,query,operation,database,object,retcode."""
    time.sleep(0.3)
    text = log_file(server).read_bytes()[since:].decode(errors="replace")
    rows = []
    for line in text.splitlines():
        fields = line.split(",", 8)
        if len(fields) == 9 and fields[2].startswith("qa"):
            rows.append((fields[2], fields[6], fields[8].rsplit(",", 1)[0]))
    return rows


def run_as(server: MariaDBServer, user: str, statement: str) -> None:
    with mysql_local.connect(server, user) as conn, conn.cursor() as cur:
        cur.execute(statement)


def test_the_computed_values_include_the_audited_logins_at_the_servers_highest_level(
    deployed: MysqlServer,
) -> None:
    assert deployed.audit.variables() == {
        "server_audit_logging": "ON",
        # bob's write level decides the classes for ada too: events are server-wide.
        "server_audit_events": "QUERY_DCL,QUERY_DDL,QUERY_DML_NO_SELECT",
        "server_audit_incl_users": "qaada_ro,qabob_rw",
    }


def test_the_audit_log_names_each_login_and_logs_writes_not_reads(
    server: MariaDBServer, deployed: MysqlServer, plan: AccessPlan
) -> None:
    set_globals(server, deployed.audit.variables())
    since = log_file(server).stat().st_size if log_file(server).exists() else 0
    run_as(server, "qaada_ro", f"SELECT count(*) FROM {DATABASE}.stock")
    run_as(server, "qabob_rw", f"SELECT count(*) FROM {DATABASE}.stock")
    run_as(server, "qabob_rw", f"INSERT INTO {DATABASE}.stock VALUES (7)")
    run_as(server, "qacyd_ro", f"SELECT count(*) FROM {DATABASE}.stock")
    # DDL is logged even when refused (ada may not create tables): an attempt is evidence too.
    with pytest.raises(pymysql.err.OperationalError):
        run_as(server, "qaada_ro", f"CREATE TABLE {DATABASE}.mine (a int)")
    with pytest.raises(pymysql.err.OperationalError):
        run_as(server, "qacyd_ro", f"CREATE TABLE {DATABASE}.mine (a int)")
    rows = logged(server, since)
    assert ("qaada_ro", "QUERY", f"'CREATE TABLE {DATABASE}.mine (a int)'") in rows
    assert ("qabob_rw", "QUERY", f"'INSERT INTO {DATABASE}.stock VALUES (7)'") in rows
    assert [r for r in rows if "SELECT" in r[2]] == []
    assert {user for user, _, _ in rows} == {"qaada_ro", "qabob_rw"}
    assert audit_findings(server, plan) == []


def test_audit_reports_drift_of_the_server_wide_values(
    server: MariaDBServer, deployed: MysqlServer, plan: AccessPlan
) -> None:
    set_globals(
        server,
        {
            **deployed.audit.variables(),
            "server_audit_incl_users": "qaada_ro,someone_else",
            "server_audit_events": "QUERY_DDL",
        },
    )
    [(kind, detail)] = audit_findings(server, plan)
    assert kind == "mysql-audit-drift"
    assert "server_audit_incl_users lacks qabob_rw" in detail
    assert "server_audit_incl_users also names someone_else" in detail
    assert (
        "server_audit_events is QUERY_DDL, access.yaml wants QUERY_DCL,QUERY_DDL,QUERY_DML"
        in detail
    )


def test_audit_reports_a_server_without_the_plugin(server: MariaDBServer, plan: AccessPlan) -> None:
    path = variable(server, "server_audit_file_path")
    server.sql("UNINSTALL SONAME 'server_audit'")
    try:
        found = audit_findings(server, plan)
    finally:
        server.sql(
            "INSTALL SONAME 'server_audit';"
            f"SET GLOBAL server_audit_file_path = {string_literal(path)}"
        )
    assert [kind for kind, _ in found] == ["mysql-audit-not-loaded"]
