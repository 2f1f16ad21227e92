"""Audit and sweep decisions as pure functions: what the readers' rows mean."""

from __future__ import annotations

from dbaccess.audit.sweep_rules import DATABASE_LOST, DROPPED, NOT_GIVEN, SweepRules
from dbaccess.mysql.findings import (
    GLOBAL_PRIVILEGE_COLUMNS,
    Account,
    DatabaseGrant,
    Session,
    audit,
    end_session_statement,
    live_login,
    sessions_to_end,
)
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec

IAM = "AWSAuthenticationPlugin"
SERVER = MysqlServerSpec(
    host="db.example.com",
    port=3306,
    region="eu-west-1",
    admin_login="dbaccess_admin",
    databases=("orders",),
    logins=(MysqlLogin("ana_ro", "read-only", ("orders",)),),
)
ANA = Account("ana_ro", "%", IAM, frozenset())
ANA_GRANT = DatabaseGrant("ana_ro", "%", "orders", frozenset({"SELECT", "SHOW VIEW"}))
ADMIN = Account("dbaccess_admin", "%", IAM, frozenset({"CREATE USER", "PROCESS"}))
# Who holds the mark (dbaccess_managed): what the program made.
MARKED = frozenset({"ana_ro", "dbaccess_admin"})


def test_a_server_as_declared_has_no_finding() -> None:
    system = [
        Account("rdsadmin", "localhost", "mysql_native_password", frozenset({"SUPER"})),
        Account("mysql.sys", "localhost", "caching_sha2_password", frozenset()),
        Account("mysql.infoschema", "localhost", "caching_sha2_password", frozenset({"SELECT"})),
    ]
    assert audit(SERVER, [ANA, ADMIN, *system], [ANA_GRANT], marked=MARKED) == []


def test_all_privileges_and_an_admin_in_password_mode() -> None:
    everything = frozenset(GLOBAL_PRIVILEGE_COLUMNS.values())
    found = audit(
        SERVER,
        [
            ANA,
            Account("dbaccess_admin", "%", "mysql_native_password", frozenset()),
            Account("master", "%", "mysql_native_password", everything),
        ],
        [ANA_GRANT],
        marked=MARKED,
    )
    kinds = {(f.kind, f.user) for f in found}
    assert ("password-login", "dbaccess_admin") in kinds
    assert ("undeclared", "master") in kinds
    privileged = next(f for f in found if f.kind == "privileged")
    assert privileged.detail.startswith("master@% holds ALL, CREATE USER, GRANT OPTION, SUPER")
    # Told that `master` is the RDS master user: no longer a finding.
    assert {
        f.user
        for f in audit(
            SERVER,
            [ANA, ADMIN, Account("master", "%", "x", everything)],
            [ANA_GRANT],
            allowed=["master"],
            marked=MARKED,
        )
    } == set()


def test_a_declared_login_at_another_host_is_undeclared_and_missing() -> None:
    found = audit(
        SERVER, [Account("ana_ro", "10.0.0.1", IAM, frozenset()), ADMIN], [], marked=MARKED
    )
    assert {(f.kind, f.user) for f in found} == {("missing", "ana_ro"), ("undeclared", "ana_ro")}


def test_global_privileges_on_a_person_login_are_wrong() -> None:
    found = audit(
        SERVER,
        [Account("ana_ro", "%", IAM, frozenset({"SELECT"})), ADMIN],
        [ANA_GRANT],
        marked=MARKED,
    )
    assert [(f.kind, f.detail) for f in found] == [
        ("wrong-privileges", "ana_ro@% holds global SELECT")
    ]


def test_sessions_to_end_only_what_db_access_made() -> None:
    accounts = [
        ANA,
        ADMIN,
        Account("left_ro", "%", IAM, frozenset()),
        Account("app", "%", "mysql_native_password", frozenset()),
        Account("orders_svc", "%", IAM, frozenset()),  # an application using IAM, unmarked
        Account("keep_ro", "%", IAM, frozenset()),
        Account("dbaccess_managed", "%", "", frozenset()),  # the mark itself (a role)
    ]
    marked = MARKED | {"left_ro", "keep_ro"}
    sessions = [
        Session(1, "ana_ro", "10.0.0.1:5000", "orders"),  # declared, in its database
        Session(2, "ana_ro", "10.0.0.1:5001", None),  # declared, no database
        Session(3, "ana_ro", "10.0.0.1:5002", "billing"),  # in a database it lost
        Session(4, "left_ro", "10.0.0.2:5000", None),  # marked, no longer declared
        Session(5, "gone_rw", "10.0.0.3:5000", "orders"),  # user already dropped
        Session(6, "app", "10.0.0.4:5000", "orders"),  # someone else's password user
        Session(7, "dbaccess_admin", "10.0.0.5:5000", None),
        Session(8, "rdsadmin", "localhost", "mysql"),
        Session(9, "event_scheduler", "localhost", None),
        Session(10, "system user", "", None),
        Session(11, "ana_ro", "10.0.0.1:5003", "information_schema"),  # open to all
        Session(12, "orders_svc", "10.0.0.6:5000", "orders"),  # unmarked IAM application
        Session(13, "keep_ro", "10.0.0.7:5000", None),  # marked but exempt
    ]
    rules = SweepRules(exempt=frozenset({"keep_ro"}))
    ending = sessions_to_end(sessions, accounts, marked, SERVER, rules)
    assert [(s.id, why) for s, why in ending] == [
        (3, DATABASE_LOST),
        (4, NOT_GIVEN),
        (5, DROPPED),
    ]
    # Asked to, sweep also ends the unmarked IAM user - never the exempt one.
    wider = SweepRules(exempt=frozenset({"keep_ro"}), include_unmarked=True)
    assert [s.id for s, _ in sessions_to_end(sessions, accounts, marked, SERVER, wider)] == [
        3,
        4,
        5,
        12,
    ]
    # Unmarked (made before the mark, or by hand), a declared login in a lost database stays.
    assert [s.id for s, _ in sessions_to_end(sessions, accounts, frozenset(), SERVER)] == [5]


def test_a_declared_login_without_the_mark_is_a_finding() -> None:
    found = audit(SERVER, [ANA, ADMIN], [ANA_GRANT], marked=frozenset())
    assert [(f.kind, f.user, f.detail) for f in found] == [
        ("missing-mark", "ana_ro", "ana_ro@% does not hold dbaccess_managed")
    ]


def test_kill_locally_rds_kill_on_rds() -> None:
    assert end_session_statement(42, rds=True) == "CALL mysql.rds_kill(42)"
    assert end_session_statement(42, rds=False) == "KILL CONNECTION 42"


def test_engine_accounts_count_as_system_only_at_localhost() -> None:
    found = audit(
        SERVER,
        [
            ANA,
            ADMIN,
            Account("root", "localhost", "unix_socket", frozenset({"SUPER"})),
            Account("root", "%", "mysql_native_password", frozenset({"SUPER"})),
        ],
        [ANA_GRANT],
        marked=MARKED,
    )
    assert {(f.kind, f.detail) for f in found} == {
        ("undeclared", "root@%: mysql_native_password user not in access.yaml"),
        ("privileged", "root@% holds SUPER"),
    }


def test_live_login_keeps_only_databases_with_exactly_its_privileges() -> None:
    login = MysqlLogin("ana_ro", "read-only", ("orders", "shop_a", "stock"))
    ro = frozenset({"SELECT", "SHOW VIEW"})
    grants = [
        DatabaseGrant("ana_ro", "%", "orders", ro),
        DatabaseGrant("ana_ro", "%", "shop\\_a", ro),  # escaped: the database shop_a
        DatabaseGrant("ana_ro", "%", "stock", frozenset({"SELECT"})),  # lacks SHOW VIEW
        DatabaseGrant("ana_ro", "%", "shop_b", ro),  # a wildcard pattern, not a database
        DatabaseGrant("ana_ro", "10.0.0.1", "billing", ro),  # another account
        DatabaseGrant("bo_rw", "%", "billing", ro),
    ]
    assert live_login(login, grants) == MysqlLogin("ana_ro", "read-only", ("orders", "shop_a"))
