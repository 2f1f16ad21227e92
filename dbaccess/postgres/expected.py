"""What the program declares on each PostgreSQL server, from the AccessPlan alone (pure).

dbaccess.deployment groups the plan by server (roles are server-wide); this module adds what
the audit compares against: each declared login's memberships, the admin, RDS's own roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from dbaccess.access.naming import Access, AuditLevel
from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.postgres.privileges import PRIVILEGES
from dbaccess.postgres.spec import PostgresServerSpec, memberships, postgres_servers

# RDS's own roles besides the rds_* prefix; the bootstrap superuser (oid 10) is RDS's too.
RDS_ROLES = frozenset({"rdsadmin", "rdsrepladmin", "rdstopmgr", "rdsproxyadmin", "rdsdb"})
# RDS makes the master user a member of rds_superuser.
RDS_SUPERUSER = "rds_superuser"


@dataclass(frozen=True)
class ServerPlan:
    """One server as the program declares it (dbaccess.deployment), seen by the audit."""

    spec: PostgresServerSpec

    @property
    def label(self) -> str:
        return self.spec.name

    @property
    def databases(self) -> tuple[DatabaseSpec, ...]:
        return self.spec.databases

    @property
    def admin_logins(self) -> frozenset[str]:
        return frozenset(db.admin_login for db in self.databases if db.admin_login)

    @cached_property
    def logins(self) -> Mapping[str, frozenset[str]]:
        """Each declared login -> its expected memberships: rds_iam, the mark, its groups."""
        return {login.login: frozenset(memberships(login)) for login in self.spec.logins}

    @cached_property
    def audit_levels(self) -> Mapping[str, AuditLevel]:
        """Each declared login -> its query_audit level (the highest among its grants)."""
        return {login.login: login.query_audit for login in self.spec.logins}

    @cached_property
    def granted(self) -> Mapping[str, frozenset[str]]:
        """Each declared login -> the names of the server's databases it is granted today."""
        return {
            login.login: frozenset(db.name for db in login.databases) for login in self.spec.logins
        }

    @property
    def table_owners(self) -> frozenset[str]:
        """The applications' roles that own the managed databases' tables."""
        return frozenset(owner for db in self.databases for owner in db.table_owners)

    def database_named(self, name: str) -> DatabaseSpec | None:
        return next((db for db in self.databases if db.name == name), None)


def server_plans(plan: AccessPlan) -> list[ServerPlan]:
    """Every PostgreSQL server of the plan, in the order of its first database."""
    return [ServerPlan(spec) for spec in postgres_servers(plan)]


def select(servers: Iterable[ServerPlan], keys: Iterable[str]) -> list[ServerPlan]:
    """The servers holding the named databases (all servers when no key is named)."""
    wanted = set(keys)
    return [s for s in servers if not wanted or wanted & {db.key for db in s.databases}]


def expected_privileges(access: Access) -> Mapping[str, frozenset[str]]:
    """object type (schema, table, sequence) -> the privileges a group of `access` holds."""
    return {kind: frozenset(privs) for kind, privs in PRIVILEGES[access].items()}


def is_rds_own(name: str, *, bootstrap: bool) -> bool:
    """RDS's own roles (and the cluster's bootstrap superuser, rdsadmin on RDS)."""
    return bootstrap or name in RDS_ROLES or name.startswith("rds_")
