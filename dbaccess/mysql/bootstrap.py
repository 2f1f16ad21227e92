"""The one-time SQL that creates the db-access admin user on a MySQL / Aurora MySQL server:
IAM authentication, and only what creating the person users, granting on the managed
databases, auditing and ending sessions needs. Run by `dbaccess bootstrap` as the master user
(dbaccess.mysql.apply.bootstrap); MySQL has no PUBLIC, so it takes access from nobody."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.mysql import statements as sql
from dbaccess.mysql.findings import GLOBAL_PRIVILEGE_COLUMNS, ROLE_EDGES

# RDS forbids KILL on other users' sessions and offers this procedure instead.
RDS_END_SESSIONS: Final = "EXECUTE ON PROCEDURE mysql.rds_kill"
# What the admin passes on: exactly what read-write logins get (GRANT needs the grantor to hold
# the privilege itself, WITH GRANT OPTION).
ADMIN_DATABASE_PRIVILEGES: Final = sql.PRIVILEGES["read-write"]


def bootstrap_statements(
    admin_login: str,
    databases: Iterable[str],
    *,
    auth: str = sql.IAM_AUTH,
    end_sessions: str = RDS_END_SESSIONS,
    role_grants: str = ROLE_EDGES,
) -> list[str]:
    """Statements for the RDS master user to run once per server (again when a database is
    added: every statement may be re-run). `auth`, `end_sessions` and `role_grants` differ only
    in tests, where MariaDB has neither AWSAuthenticationPlugin, mysql.rds_kill nor
    mysql.role_edges."""
    admin = sql.account(admin_login)
    audit_columns = ", ".join(["User", "Host", "plugin", *GLOBAL_PRIVILEGE_COLUMNS])
    statements = [
        f"CREATE USER IF NOT EXISTS {admin} {auth} REQUIRE SSL",
        # Create and drop the person users (MySQL has no narrower privilege for it).
        f"GRANT CREATE USER ON *.* TO {admin}",
        # See every session, for `dbaccess audit` and `dbaccess sweep`.
        f"GRANT PROCESS ON *.* TO {admin}",
        # Read accounts, plugins and privileges - named columns, never the password hashes.
        f"GRANT SELECT ({audit_columns}) ON mysql.user TO {admin}",
        f"GRANT SELECT ON mysql.db TO {admin}",
        f"GRANT {end_sessions} TO {admin}",
        # The mark of the users db-access makes (sweep ends only theirs): the admin grants it
        # and reads who holds it (MySQL 8: mysql.role_edges; MariaDB: mysql.roles_mapping).
        f"CREATE ROLE IF NOT EXISTS {MANAGED_MARKER}",
        f"GRANT {MANAGED_MARKER} TO {admin} WITH ADMIN OPTION",
        f"GRANT SELECT ON {role_grants} TO {admin}",
    ]
    for db in sorted(databases):
        privileges = ", ".join(ADMIN_DATABASE_PRIVILEGES)
        statements.append(
            f"GRANT {privileges} ON {sql.database_pattern(db)}.* TO {admin} WITH GRANT OPTION"
        )
    return statements
