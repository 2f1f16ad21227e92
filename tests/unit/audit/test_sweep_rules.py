"""Whom sweep may end, as a property over random estates (both engines, pure functions).

GIVEN any mix of roles/users (marked or not, in rds_iam or not, declared or not, owners, the
admin, RDS's, the master user, exempt logins) and sessions (some of dropped logins), THEN
sweep never ends an unmarked login's session (unless --include-unmarked and it is an
undeclared IAM login), an exempt login's, the admin's, a table owner's, RDS's or the master
user's; and it always ends a marked login no grant gives any more.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dbaccess.access import load_access_text
from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.audit.sweep_rules import DROPPED, NOT_GIVEN, UNMARKED, SweepRules
from dbaccess.mysql import findings as mysql
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec
from dbaccess.postgres.expected import ServerPlan, is_rds_own, server_plans
from dbaccess.postgres.findings import is_master
from dbaccess.postgres.spec import RDS_IAM
from dbaccess.postgres.state import Role, ServerState, Session
from dbaccess.postgres.sweep import reason_to_end
from tests.services.audit_world import ACCESS_YAML, TODAY

PLAN = load_access_text(ACCESS_YAML.format(port=5432), "access.yaml", today=TODAY)
SERVER: ServerPlan = server_plans(PLAN)[0]
# Declared (ana, bob), expired (carl), hand-made, applications, owners, the admin, RDS's.
NAMES = [
    "anasilva_ro",
    "bobjones_rw",
    "carlold_ro",
    "eve_ro",
    "app_svc",
    "orders_app",
    "inventory_app",
    "dbaccess_admin",
    "rdsadmin",
    "rds_replication",
    "master",
    "postgres",
]
MEMBERSHIPS = [RDS_IAM, MANAGED_MARKER, "rds_superuser", "dbaccess_orders_ro"]


@st.composite
def postgres_estates(draw: st.DrawFn) -> tuple[ServerState, list[Session], SweepRules]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True))
    roles = {
        name: Role(
            name,
            login=draw(st.booleans()),
            attributes=(),
            member_of=frozenset(draw(st.lists(st.sampled_from(MEMBERSHIPS), unique=True))),
            bootstrap=name == "postgres",
        )
        for name in names
    }
    sessions = [
        Session(
            pid,
            "(dropped role 1)" if dropped else draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(["orders", "inventory", "postgres"])),
            None,
            dropped,
        )
        for pid, dropped in enumerate(draw(st.lists(st.booleans(), max_size=8)))
    ]
    rules = SweepRules(
        frozenset(draw(st.lists(st.sampled_from(NAMES), unique=True))), draw(st.booleans())
    )
    return ServerState(roles, {}, "dbaccess_admin"), sessions, rules


@given(postgres_estates())
def test_postgres_sweep_ends_only_what_db_access_made(
    estate: tuple[ServerState, list[Session], SweepRules],
) -> None:
    state, sessions, rules = estate
    for session in sessions:
        why = reason_to_end(SERVER, state, session, rules)
        role = state.roles.get(session.login)
        if session.dropped:
            assert why == DROPPED
            continue
        protected = role is None or (
            role.name in rules.exempt
            or role.name in SERVER.admin_logins
            or role.name in SERVER.table_owners
            or is_rds_own(role.name, bootstrap=role.bootstrap)
            or is_master(role)
        )
        if protected:
            assert why is None, session
            continue
        assert role is not None
        marked = MANAGED_MARKER in role.member_of
        if not marked and why is not None:
            assert why == UNMARKED
            assert rules.include_unmarked
            assert role.login
            assert RDS_IAM in role.member_of
            assert role.name not in SERVER.logins
        if marked and role.name not in SERVER.logins:
            assert why == NOT_GIVEN


MYSQL = MysqlServerSpec(
    "db.example.com",
    3306,
    "eu-west-1",
    "dbaccess_admin",
    ("orders", "stock"),
    (MysqlLogin("ana_ro", "read-only", ("orders",)),),
)
USERS = ["ana_ro", "left_ro", "app", "svc_iam", "dbaccess_admin", "rdsadmin", "root", "mysql.sys"]


@given(
    accounts=st.lists(st.tuples(st.sampled_from(USERS), st.booleans()), unique_by=lambda a: a[0]),
    marked=st.lists(st.sampled_from(USERS)),
    sessions=st.lists(
        st.tuples(
            st.sampled_from([*USERS, "dropped_rw", "system user", "event_scheduler"]),
            st.sampled_from([None, "orders", "stock", "information_schema"]),
        ),
        max_size=8,
    ),
    exempt=st.lists(st.sampled_from(USERS)),
    include_unmarked=st.booleans(),
)
def test_mysql_sweep_ends_only_what_db_access_made(
    accounts: list[tuple[str, bool]],
    marked: list[str],
    sessions: list[tuple[str, str | None]],
    exempt: list[str],
    include_unmarked: bool,
) -> None:
    held = [
        mysql.Account(user, "%", "AWSAuthenticationPlugin" if iam else "x", frozenset())
        for user, iam in accounts
    ]
    iam_users = {user for user, iam in accounts if iam}
    rules = SweepRules(frozenset(exempt), include_unmarked)
    live = [mysql.Session(i, user, "10.0.0.1", db) for i, (user, db) in enumerate(sessions)]
    for session, why in mysql.sessions_to_end(live, held, frozenset(marked), MYSQL, rules):
        user = session.user
        assert user not in exempt
        assert user not in {"dbaccess_admin", "rdsadmin", "root", "system user", "event_scheduler"}
        assert not user.startswith("mysql.")
        if user not in {a.user for a in held}:
            assert why == DROPPED
        elif user not in marked:
            assert why == UNMARKED
            assert include_unmarked
            assert user in iam_users
            assert user != "ana_ro"  # declared logins are never "unmarked" targets
