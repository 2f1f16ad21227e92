"""dbaccess.mysql.findings against a real MariaDB with planted findings, read as the
least-privileged admin: GIVEN access.yaml declares ana_ro (read-only on shop_a and shop_b),
bo_rw (read-write on shop_b) and cy_ro (never created), and the server also holds a password
user, an undeclared "IAM" user, a SUPER user, an allowed application user and a few wrong
grants. Then sweep ends the sessions of a dropped user and of a login in a database it lost.

Locally mysql_native_password stands in for AWSAuthenticationPlugin (tests/mysql_local.py);
a "password user" is one with another plugin (unix_socket here, MariaDB's built-in one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pymysql
import pytest

from dbaccess.mysql import apply, findings
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec
from tests import mysql_local
from tests.mysqlserver import MariaDBServer

pytestmark = [pytest.mark.mysql]

ADMIN = "audit_admin"
A, B = "shop_a", "shop_b"
SERVER = MysqlServerSpec(
    host="localhost",
    port=3306,
    region="eu-west-1",
    admin_login=ADMIN,
    databases=(A, B),
    logins=(
        MysqlLogin("ana_ro", "read-only", (A, B)),
        MysqlLogin("bo_rw", "read-write", (B,)),
        MysqlLogin("cy_ro", "read-only", (A,)),
    ),
)
PLANTED_USERS = ("ana_ro", "bo_rw", "pw_user", "ghost_ro", "boss", "app")


@pytest.fixture(scope="module")
def server(mysql_server: MariaDBServer) -> Iterator[MariaDBServer]:
    srv = mysql_server
    srv.sql(
        f"CREATE DATABASE {A}; CREATE DATABASE {B};"
        f"CREATE TABLE {A}.t (id INT); CREATE TABLE {B}.t (id INT)"
    )
    mysql_local.bootstrap(srv, ADMIN, [A, B])
    with mysql_local.connect(srv, ADMIN) as conn:
        for login in SERVER.logins[:2]:
            apply.create_login(conn, login, mysql_local.AUTH)
    srv.sql(
        ";".join(
            [
                # an undeclared password user, an undeclared "IAM" user, a superuser
                "CREATE USER 'pw_user'@'%' IDENTIFIED VIA unix_socket",
                f"CREATE USER 'ghost_ro'@'%' {mysql_local.AUTH} REQUIRE SSL",
                "GRANT dbaccess_managed TO 'ghost_ro'@'%'",  # made by db-access, then undeclared
                "CREATE USER 'boss'@'%' IDENTIFIED VIA unix_socket",
                "GRANT SUPER ON *.* TO 'boss'@'%'",
                # an application user db-access is told about: not a finding
                "CREATE USER 'app'@'%' IDENTIFIED BY 'y'",
                "GRANT ALL ON *.* TO 'app'@'%' WITH GRANT OPTION",
                # wrong grants on declared logins: DROP, GRANT OPTION, a wildcard database
                "GRANT DROP ON `shop\\_b`.* TO 'bo_rw'@'%'",
                "GRANT SELECT ON `shop\\_a`.* TO 'bo_rw'@'%' WITH GRANT OPTION",
                "GRANT SELECT ON `shop%`.* TO 'ana_ro'@'%'",
            ]
        )
    )
    yield srv
    srv.sql(
        f"DROP DATABASE {A}; DROP DATABASE {B};"
        f"DROP USER IF EXISTS '{ADMIN}'@'%', " + ", ".join(f"'{u}'@'%'" for u in PLANTED_USERS)
    )


@pytest.fixture
def admin(server: MariaDBServer) -> Iterator[pymysql.Connection]:
    with mysql_local.connect(server, ADMIN) as conn:
        yield conn


def found_on(admin: pymysql.Connection) -> set[tuple[str, str, str]]:
    found = findings.audit(
        SERVER,
        findings.read_accounts(admin),
        findings.read_database_grants(admin),
        allowed=("app",),
        marked=findings.read_marked(admin),
        iam_plugin=mysql_local.PLUGIN,
    )
    return {(f.kind, f.user, f.detail) for f in found}


def test_every_planted_finding_and_nothing_else(admin: pymysql.Connection) -> None:
    assert found_on(admin) == {
        ("missing", "cy_ro", "declared but not on the server"),
        ("undeclared", "pw_user", "pw_user@%: unix_socket user not in access.yaml"),
        (
            "undeclared",
            "ghost_ro",
            "ghost_ro@%: IAM user not in access.yaml, made by db-access (marked)",
        ),
        ("undeclared", "boss", "boss@%: unix_socket user not in access.yaml"),
        ("privileged", "boss", "boss@% holds SUPER"),
        ("privileged", "bo_rw", "bo_rw@% holds GRANT OPTION on shop\\_a"),
        ("wrong-privileges", "bo_rw", "bo_rw@% on shop\\_a: extra GRANT OPTION, SELECT"),
        ("wrong-privileges", "bo_rw", "bo_rw@% on shop\\_b: extra DROP"),
        ("wrong-privileges", "ana_ro", "ana_ro@% on shop%: extra SELECT"),
    }


def test_a_declared_login_turned_password_user_is_found(
    server: MariaDBServer, admin: pymysql.Connection
) -> None:
    server.sql("ALTER USER 'ana_ro'@'%' IDENTIFIED VIA unix_socket")
    try:
        assert (
            "password-login",
            "ana_ro",
            "ana_ro@% uses unix_socket, not IAM",
        ) in found_on(admin)
    finally:
        server.sql(f"ALTER USER 'ana_ro'@'%' {mysql_local.AUTH}")


def test_sweep_ends_dropped_users_and_logins_in_lost_databases(
    server: MariaDBServer, admin: pymysql.Connection
) -> None:
    # GIVEN ana_ro sits in shop_a, bo_rw in shop_b, ghost_ro anywhere; ana_ro then loses
    # shop_a and ghost_ro (undeclared) is dropped, both while connected.
    ana = mysql_local.connect(server, "ana_ro")
    ana.select_db(A)
    bo = mysql_local.connect(server, "bo_rw")
    bo.select_db(B)
    ghost = mysql_local.connect(server, "ghost_ro")
    try:
        server.sql("DROP USER 'ghost_ro'@'%'")
        ghost.ping(reconnect=False)  # MySQL keeps a dropped user's session open
        now = dataclasses.replace(
            SERVER, logins=(MysqlLogin("ana_ro", "read-only", (B,)), *SERVER.logins[1:])
        )
        accounts = findings.read_accounts(admin)
        marked = findings.read_marked(admin)
        assert {"ana_ro", "bo_rw"} <= marked  # what apply.create_login made
        sessions = findings.read_sessions(admin)
        assert {s.user for s in sessions} >= {"ana_ro", "bo_rw", "ghost_ro"}
        ending = [
            s
            for s, _why in findings.sessions_to_end(
                sessions, accounts, marked, now, iam_plugin=mysql_local.PLUGIN
            )
        ]
        assert sorted((s.user, s.database) for s in ending) == [("ana_ro", A), ("ghost_ro", None)]

        ended = findings.end_sessions(admin, ending, rds=False)
        assert sorted(ended) == sorted(s.id for s in ending)
        for conn in (ana, ghost):
            with pytest.raises(pymysql.err.OperationalError):
                conn.ping(reconnect=False)
        bo.ping(reconnect=False)  # a login in its own database keeps its session
        # Ending a session that is already gone is not an error.
        assert findings.end_sessions(admin, ending, rds=False) == []
    finally:
        for conn in (ana, bo, ghost):
            if conn.open:
                conn.close()
