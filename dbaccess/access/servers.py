"""The servers an AccessPlan touches: its databases grouped by server (RDS instance or Aurora
cluster), each with the logins its grants make. Roles and users are server-wide, so each engine
declares a login once per server (dbaccess.postgres.spec, dbaccess.mysql.spec). Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from dbaccess.access.naming import Access, AuditLevel, highest_audit
from dbaccess.access.plan import AccessPlan, DatabaseSpec, Grant


@dataclass(frozen=True)
class LoginSpec:
    """One person's login at one access level on one server, and where it is a member."""

    email: str
    access: Access
    login: str
    databases: tuple[DatabaseSpec, ...]  # the server's databases this login is granted
    # The highest query_audit among the grants it serves: the log setting is per login, and
    # a login serves one person's grants of one access level on every database of its server.
    query_audit: AuditLevel = "none"

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(db.group_for(self.access) for db in self.databases)


@dataclass(frozen=True)
class Server:
    """One server (RDS instance or cluster) and every database of it in the access file."""

    databases: tuple[DatabaseSpec, ...]

    @property
    def first(self) -> DatabaseSpec:
        return self.databases[0]

    @property
    def name(self) -> str:
        """A stable Pulumi name: the instance or cluster id, with its account and region (an
        instance and a cluster may share an id: they are named apart by their engine;
        PostgreSQL keeps the names of the first release)."""
        account, region, _kind, identifier = self.first.server
        engine = {"aurora-postgresql": "aurora"}.get(self.first.engine, self.first.engine)
        return f"{engine}-{identifier}-{account}-{region}"


def by_server(
    plan: AccessPlan, wanted: Callable[[DatabaseSpec], bool]
) -> list[tuple[tuple[DatabaseSpec, ...], tuple[LoginSpec, ...]]]:
    """The plan's `wanted` databases grouped by server, each server with its logins (users
    are server-wide: one login per person and level, granted on each of its databases).

    Validation has made sure databases of one server agree on host, port and admin login.
    """
    databases: dict[tuple[str, str, str, str], list[DatabaseSpec]] = defaultdict(list)
    for db in plan.databases.values():
        if wanted(db):
            databases[db.server].append(db)
    logins: dict[tuple[str, str, str, str], dict[str, list[Grant]]] = defaultdict(dict)
    for grant in plan.grants():
        db = plan.databases[grant.database]
        if wanted(db):
            logins[db.server].setdefault(grant.login, []).append(grant)
    return [
        (
            tuple(dbs),
            tuple(
                LoginSpec(
                    grants[0].email,
                    grants[0].access,
                    login,
                    tuple(plan.databases[g.database] for g in grants),
                    highest_audit(g.query_audit for g in grants),
                )
                for login, grants in logins[server].items()
            ),
        )
        for server, dbs in databases.items()
    ]
