"""Audit and sweep for MySQL / Aurora MySQL: readers (SQL) and decisions (pure functions).

Read as the admin login (the bootstrap grants exactly what this needs): accounts with their
authentication plugin and global privileges from `mysql.user` (named columns only - never the
password hashes), database-level privileges from `mysql.db`, sessions from
`information_schema.PROCESSLIST`, who holds the mark of db-access (MANAGED_MARKER) from
`mysql.role_edges` (MySQL 8) or `mysql.roles_mapping` (MariaDB). Not read: table/column-level
privileges, MySQL 8 dynamic privileges (`mysql.global_grants`) and other role grants.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

import pymysql
from pymysql.constants import ER

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.audit.sweep_rules import (
    DATABASE_LOST,
    DROPPED,
    NO_EXEMPTION,
    NOT_GIVEN,
    UNMARKED,
    SweepRules,
)
from dbaccess.mysql import statements as sql
from dbaccess.mysql.apply import Connection, MysqlApplyError
from dbaccess.mysql.names import ENGINE_PREFIX, ENGINE_USERS, RDS_USERS, is_system_account
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec

# mysql.user column -> privilege: the global privileges MySQL 5.7, 8.0 and MariaDB all have.
GLOBAL_PRIVILEGE_COLUMNS: Final[dict[str, str]] = {
    "Select_priv": "SELECT",
    "Insert_priv": "INSERT",
    "Update_priv": "UPDATE",
    "Delete_priv": "DELETE",
    "Create_priv": "CREATE",
    "Drop_priv": "DROP",
    "Reload_priv": "RELOAD",
    "Shutdown_priv": "SHUTDOWN",
    "Process_priv": "PROCESS",
    "File_priv": "FILE",
    "Grant_priv": "GRANT OPTION",
    "References_priv": "REFERENCES",
    "Index_priv": "INDEX",
    "Alter_priv": "ALTER",
    "Show_db_priv": "SHOW DATABASES",
    "Super_priv": "SUPER",
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Lock_tables_priv": "LOCK TABLES",
    "Execute_priv": "EXECUTE",
    "Repl_slave_priv": "REPLICATION SLAVE",
    "Repl_client_priv": "REPLICATION CLIENT",
    "Create_view_priv": "CREATE VIEW",
    "Show_view_priv": "SHOW VIEW",
    "Create_routine_priv": "CREATE ROUTINE",
    "Alter_routine_priv": "ALTER ROUTINE",
    "Create_user_priv": "CREATE USER",
    "Event_priv": "EVENT",
    "Trigger_priv": "TRIGGER",
    "Create_tablespace_priv": "CREATE TABLESPACE",
}
# mysql.db column -> privilege (database level).
DATABASE_PRIVILEGE_COLUMNS: Final[dict[str, str]] = {
    "Select_priv": "SELECT",
    "Insert_priv": "INSERT",
    "Update_priv": "UPDATE",
    "Delete_priv": "DELETE",
    "Create_priv": "CREATE",
    "Drop_priv": "DROP",
    "Grant_priv": "GRANT OPTION",
    "References_priv": "REFERENCES",
    "Index_priv": "INDEX",
    "Alter_priv": "ALTER",
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Lock_tables_priv": "LOCK TABLES",
    "Create_view_priv": "CREATE VIEW",
    "Show_view_priv": "SHOW VIEW",
    "Create_routine_priv": "CREATE ROUTINE",
    "Alter_routine_priv": "ALTER ROUTINE",
    "Execute_priv": "EXECUTE",
    "Event_priv": "EVENT",
    "Trigger_priv": "TRIGGER",
}
# Any of these makes an account an administrator of the server (or of other accounts).
ADMIN_PRIVILEGES: Final = frozenset({"SUPER", "GRANT OPTION", "CREATE USER"})
# PROCESSLIST users sweep never ends: server threads, and the system accounts (a session shows
# the client's host, not the account's, so they go by name).
_NOT_OURS: Final = frozenset(
    {"system user", "event_scheduler", "unauthenticated user", "", *RDS_USERS, *ENGINE_USERS}
)
# Who holds a role: MySQL 8 (RDS MySQL, Aurora MySQL 3) keeps it here, MariaDB in ROLES_MAPPING.
ROLE_EDGES: Final = "mysql.role_edges"
ROLES_MAPPING: Final = "mysql.roles_mapping"
_MARKED_SQL: Final = {
    ROLE_EDGES: "SELECT TO_USER FROM mysql.role_edges "
    "WHERE FROM_USER = %s AND FROM_HOST = %s AND TO_HOST = %s",
    ROLES_MAPPING: "SELECT User FROM mysql.roles_mapping WHERE Role = %s AND Host = %s",
}

# Every user may USE it; sitting there is no sign of a lost grant.
_OPEN_TO_ALL: Final = ("information_schema",)

FindingKind = Literal[
    "missing", "missing-mark", "password-login", "undeclared", "privileged", "wrong-privileges"
]


@dataclass(frozen=True)
class Account:
    user: str
    host: str
    plugin: str
    global_privileges: frozenset[str]


@dataclass(frozen=True)
class DatabaseGrant:
    user: str
    host: str
    pattern: str  # as stored: `_` and `%` are wildcards unless escaped with a backslash
    privileges: frozenset[str]


@dataclass(frozen=True)
class Session:
    id: int
    user: str
    host: str
    database: str | None


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    user: str
    detail: str


# --- readers --------------------------------------------------------------------------------


def _rows_with_privileges(
    conn: Connection, table: str, keys: str, privileges: Mapping[str, str]
) -> list[tuple[list[str], frozenset[str]]]:
    """(key columns as text, the privileges whose `*_priv` flag is Y) for each row of a grant
    table (mysql.user, mysql.db)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {keys}, {', '.join(privileges)} FROM {table}")  # noqa: S608
        width = keys.count(",") + 1
        return [
            (
                [str(v) for v in row[:width]],
                frozenset(
                    name
                    for flag, name in zip(row[width:], privileges.values(), strict=True)
                    if flag == "Y"
                ),
            )
            for row in cur.fetchall()
        ]


def read_accounts(conn: Connection) -> list[Account]:
    rows = _rows_with_privileges(conn, "mysql.user", "User, Host, plugin", GLOBAL_PRIVILEGE_COLUMNS)
    return [Account(user, host, plugin, granted) for (user, host, plugin), granted in rows]


def read_database_grants(conn: Connection) -> list[DatabaseGrant]:
    rows = _rows_with_privileges(conn, "mysql.db", "User, Host, Db", DATABASE_PRIVILEGE_COLUMNS)
    return [DatabaseGrant(user, host, db, granted) for (user, host, db), granted in rows]


def read_sessions(conn: Connection) -> list[Session]:
    """Every session but the reader's own (the admin needs PROCESS to see the others)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT ID, USER, HOST, DB FROM information_schema.PROCESSLIST "
            "WHERE ID <> CONNECTION_ID() ORDER BY ID"
        )
        return [
            Session(
                int(r[0]), str(r[1] or ""), str(r[2] or ""), None if r[3] is None else str(r[3])
            )
            for r in cur.fetchall()
        ]


def role_table(version: str) -> str:
    """Where the server of VERSION() `version` records who holds a role."""
    return ROLES_MAPPING if "mariadb" in version.lower() else ROLE_EDGES


def read_marked(conn: Connection) -> frozenset[str]:
    """The users (at '%') holding the mark of db-access."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        table = role_table(str(cur.fetchone()[0]))
        hosts = (sql.ANY_HOST,) * (2 if table == ROLE_EDGES else 1)
        cur.execute(_MARKED_SQL[table], (MANAGED_MARKER, *hosts))
        return frozenset(str(row[0]) for row in cur.fetchall())


# --- decisions (pure) -----------------------------------------------------------------------


def audit(
    server: MysqlServerSpec,
    accounts: Collection[Account],
    grants: Collection[DatabaseGrant],
    allowed: Collection[str] = (),
    *,
    marked: Collection[str],
    iam_plugin: str = sql.IAM_PLUGIN,
) -> list[Finding]:
    """What is wrong on `server` compared with what access.yaml declares. `allowed`: user names
    that are knowingly not ours (the RDS master user, application users): neither undeclared
    nor privileged. `marked`: the users holding the mark. System accounts and the mark itself
    are skipped. `iam_plugin` differs only in tests."""
    declared = {login.login: login for login in server.logins}
    findings: list[Finding] = []
    present = {(a.user, a.host) for a in accounts}
    for login in sorted(declared):
        if (login, sql.ANY_HOST) not in present:
            findings.append(Finding("missing", login, "declared but not on the server"))
        elif login not in marked:
            findings.append(
                Finding("missing-mark", login, f"{login}@% does not hold {MANAGED_MARKER}")
            )
    ours = {*declared, server.admin_login}
    for acct in sorted(accounts, key=lambda a: (a.user, a.host)):
        name = f"{acct.user}@{acct.host}"
        if is_system_account(acct.user, acct.host) or acct.user in allowed:
            continue
        if acct.user == MANAGED_MARKER:  # the mark: a role, it cannot log in
            continue
        if acct.user in ours and acct.host == sql.ANY_HOST:
            if acct.plugin != iam_plugin:
                findings.append(
                    Finding("password-login", acct.user, f"{name} uses {acct.plugin}, not IAM")
                )
        else:
            kind = "IAM user" if acct.plugin == iam_plugin else f"{acct.plugin} user"
            made = ", made by db-access (marked)" if acct.user in marked else ""
            findings.append(
                Finding("undeclared", acct.user, f"{name}: {kind} not in access.yaml{made}")
            )
        if acct.user != server.admin_login:
            ours_here = declared.get(acct.user) if acct.host == sql.ANY_HOST else None
            findings += _privilege_findings(acct, grants, ours_here)
    return findings


def _privilege_findings(
    acct: Account, grants: Collection[DatabaseGrant], declared: MysqlLogin | None
) -> list[Finding]:
    name = f"{acct.user}@{acct.host}"
    mine = [g for g in grants if (g.user, g.host) == (acct.user, acct.host)]
    findings: list[Finding] = []
    admin = acct.global_privileges & ADMIN_PRIVILEGES
    if acct.global_privileges >= frozenset(GLOBAL_PRIVILEGE_COLUMNS.values()):
        admin = admin | {"ALL"}
    admin_on_db = [g.pattern for g in mine if "GRANT OPTION" in g.privileges]
    if admin or admin_on_db:
        held = sorted(admin) + [f"GRANT OPTION on {p}" for p in sorted(admin_on_db)]
        findings.append(Finding("privileged", acct.user, f"{name} holds {', '.join(held)}"))
    if declared is not None:
        expected = {
            sql.grant_pattern(db): frozenset(sql.PRIVILEGES[declared.access])
            for db in declared.databases
        }
        actual = {g.pattern: g.privileges for g in mine}
        if acct.global_privileges:
            findings.append(
                Finding(
                    "wrong-privileges",
                    acct.user,
                    f"{name} holds global {', '.join(sorted(acct.global_privileges))}",
                )
            )
        for pattern in sorted(expected.keys() | actual.keys()):
            want, have = expected.get(pattern, frozenset()), actual.get(pattern, frozenset())
            if want != have:
                extra, lacking = sorted(have - want), sorted(want - have)
                detail = f"{name} on {pattern}:" + (f" extra {', '.join(extra)}" if extra else "")
                detail += f" lacking {', '.join(lacking)}" if lacking else ""
                findings.append(Finding("wrong-privileges", acct.user, detail))
    return findings


def live_login(login: MysqlLogin, grants: Collection[DatabaseGrant]) -> MysqlLogin:
    """`login` as the server holds it: only the databases on which it has exactly its access
    level's privileges (what `pulumi refresh` records; an update then grants the rest back).
    Anything beyond that - extra privileges, wildcard patterns - is the audit's to report."""
    want = frozenset(sql.PRIVILEGES[login.access])
    databases = []
    for grant in grants:
        if (grant.user, grant.host) != (login.login, sql.ANY_HOST) or grant.privileges != want:
            continue
        database = grant.pattern.replace("\\_", "_").replace("\\%", "%")
        if sql.grant_pattern(database) == grant.pattern:  # no unescaped wildcard
            databases.append(database)
    return MysqlLogin(login.login, login.access, tuple(sorted(databases)))


def sessions_to_end(
    sessions: Iterable[Session],
    accounts: Collection[Account],
    marked: Collection[str],
    server: MysqlServerSpec,
    rules: SweepRules = NO_EXEMPTION,
    *,
    iam_plugin: str = sql.IAM_PLUGIN,
) -> list[tuple[Session, str]]:
    """The sessions `dbaccess sweep` ends, each with why: those of users that no longer exist
    (MySQL keeps a dropped user's sessions open), of marked users access.yaml no longer
    declares, and of declared marked logins sitting in a database they are no longer granted
    (MySQL re-checks database privileges only at the next USE). Never the admin's, the
    system's, `rules.exempt`'s or an unmarked user's (but with `rules.include_unmarked`, an
    undeclared IAM user's)."""
    declared = {login.login: login for login in server.logins}
    existing = {a.user for a in accounts}
    iam_users = {a.user for a in accounts if a.plugin == iam_plugin}
    ending: list[tuple[Session, str]] = []
    for session in sessions:
        user = session.user
        if user in _NOT_OURS or user.startswith(ENGINE_PREFIX):
            continue
        if user in rules.exempt or user == server.admin_login:
            continue
        login = declared.get(user)
        if user not in existing:
            ending.append((session, DROPPED))
        elif login is None and user in marked:
            ending.append((session, NOT_GIVEN))
        elif login is None and rules.include_unmarked and user in iam_users:
            ending.append((session, UNMARKED))
        elif (
            login is not None
            and user in marked
            and session.database not in (None, *_OPEN_TO_ALL, *login.databases)
        ):
            ending.append((session, DATABASE_LOST))
    return ending


def end_session_statement(session_id: int, *, rds: bool) -> str:
    """RDS gives no one the privilege to KILL another user's session; its procedure does it."""
    return (
        f"CALL mysql.rds_kill({int(session_id)})" if rds else f"KILL CONNECTION {int(session_id)}"
    )


def end_sessions(conn: Connection, sessions: Iterable[Session], *, rds: bool) -> list[int]:
    """End `sessions`; returns the ids ended. A session that ended meanwhile is not an error."""
    ended: list[int] = []
    with conn.cursor() as cur:
        for session in sessions:
            try:
                cur.execute(end_session_statement(session.id, rds=rds))
            except pymysql.MySQLError as exc:
                if exc.args and exc.args[0] == ER.NO_SUCH_THREAD:
                    continue
                raise MysqlApplyError(f"ending session {session.id}: {exc}") from None
            ended.append(session.id)
    return ended
