"""What the program declares on each PostgreSQL server, from the AccessPlan alone (pure).

Roles are server-wide: the logins declared on a server are those of every grant on every
access.yaml database of that server, and each one's memberships are `rds_iam` plus the group
of each of its grants there. Groups, CONNECT and schema privileges are per database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dbaccess.access.naming import ACCESS_LEVELS, Access
from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.privileges import PRIVILEGES

# AWS: members of rds_iam can only authenticate with an IAM token.
RDS_IAM = "rds_iam"
# RDS's own roles besides the rds_* prefix; the bootstrap superuser (oid 10) is RDS's too.
RDS_ROLES = frozenset({"rdsadmin", "rdsrepladmin", "rdstopmgr", "rdsproxyadmin", "rdsdb"})
# RDS makes the master user a member of rds_superuser.
RDS_SUPERUSER = "rds_superuser"


@dataclass(frozen=True)
class ServerPlan:
    """One server: the access.yaml databases on it and the roles the program declares."""

    server: tuple[str, str, str, str]  # DatabaseSpec.server
    databases: tuple[DatabaseSpec, ...]
    admin_logins: frozenset[str]
    logins: Mapping[str, frozenset[str]]  # declared login -> its expected memberships

    @property
    def label(self) -> str:
        account, region, kind, identifier = self.server
        return f"{kind} {identifier} ({account}, {region})"

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(db.group_for(a) for db in self.databases for a in ACCESS_LEVELS)

    def database_named(self, name: str) -> DatabaseSpec | None:
        return next((db for db in self.databases if db.name == name), None)


def server_plans(plan: AccessPlan) -> list[ServerPlan]:
    """Every PostgreSQL server of the plan, in the order of its first database."""
    by_server: dict[tuple[str, str, str, str], list[DatabaseSpec]] = defaultdict(list)
    for db in plan.databases.values():
        if db.is_postgres:
            by_server[db.server].append(db)
    result = []
    for server, databases in by_server.items():
        keys = {db.key: db for db in databases}
        logins: dict[str, set[str]] = defaultdict(lambda: {RDS_IAM})
        for grant in plan.grants():
            if grant.database in keys:
                logins[grant.login].add(keys[grant.database].group_for(grant.access))
        result.append(
            ServerPlan(
                server=server,
                databases=tuple(databases),
                admin_logins=frozenset(db.admin_login for db in databases if db.admin_login),
                logins={login: frozenset(groups) for login, groups in logins.items()},
            )
        )
    return result


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
