"""What the program deploys for an AccessPlan: roles per person and account, users per database.

Pure (no Pulumi). Every check that could fail a deployment runs here, before the program
registers its first resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from dbaccess import catalog, policies
from dbaccess.access.errors import InvalidInput, Problem
from dbaccess.access.naming import Access, AuditLevel, highest_audit
from dbaccess.access.plan import AccessPlan, DatabaseSpec, Grant
from dbaccess.access.source import SourceMap
from dbaccess.mysql.server_audit import ServerAudit, server_audit
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec
from dbaccess.privileges import MANAGED_MARKER
from dbaccess.settings import Settings, check_accounts, check_rds_ca_bundle

# AWS: members of rds_iam can only authenticate with an IAM token.
RDS_IAM = "rds_iam"
# S3 bucket names stop at 63 characters: size policies with the longest possible.
_LONGEST_BUCKET = "b" * 63


@dataclass(frozen=True)
class RoleSpec:
    """One person's role in one account and the grants it carries there."""

    email: str
    account: str
    role_name: str
    grants: tuple[tuple[DatabaseSpec, Grant], ...]

    @property
    def arn(self) -> str:
        return policies.role_arn(self.account, self.role_name)


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

    @property
    def memberships(self) -> tuple[str, ...]:
        """The roles the login is a member of (PostgreSQL): rds_iam (IAM authentication only),
        the mark of a login db-access made (what sweep acts on), and its databases' groups."""
        return (RDS_IAM, MANAGED_MARKER, *self.groups)


@dataclass(frozen=True)
class _Server:
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


@dataclass(frozen=True)
class PostgresServerSpec(_Server):
    """One PostgreSQL server. Roles are server-wide, so logins are declared once per server."""

    logins: tuple[LoginSpec, ...]


@dataclass(frozen=True)
class MysqlServer(_Server):
    """One MySQL server (RDS instance or Aurora MySQL cluster) and what
    components/mysql_users.py creates on it."""

    spec: MysqlServerSpec

    @property
    def audit(self) -> ServerAudit:
        """What its audit plugin should hold (server-wide): computed, shown, audited; the
        parameter or option group is the operator's."""
        return server_audit(self.first.engine, ((x.login, x.query_audit) for x in self.spec.logins))


@dataclass(frozen=True)
class Deployment:
    plan: AccessPlan
    settings: Settings
    roles: tuple[RoleSpec, ...]
    postgres: tuple[PostgresServerSpec, ...]
    mysql: tuple[MysqlServer, ...]

    def dated_permissions(self) -> list[tuple[str, policies.Permission]]:
        """(email, permission) for every permission AWS itself ends, as reviewers read them."""
        result = []
        for role in self.roles:
            ids = policies.sized_resource_ids(role.grants)
            for permission in policies.database_permissions(role.grants, ids):
                if permission.until is not None:
                    result.append((role.email, permission))
        return result

    def role_arns(self) -> dict[str, dict[str, str]]:
        """email -> account -> role ARN."""
        result: dict[str, dict[str, str]] = defaultdict(dict)
        for role in self.roles:
            result[role.email][role.account] = role.arn
        return dict(result)


def prepare(
    plan: AccessPlan,
    settings: Settings,
    source: SourceMap | None = None,
    *,
    prefix: tuple[str, ...] = (),
) -> Deployment:
    """Group the plan into what gets deployed; raise InvalidInput if any of it cannot be."""
    check_accounts(plan, settings, source, prefix=prefix)
    check_rds_ca_bundle(plan, settings, source, prefix=prefix)
    if plan.unused_after_days != settings.expiry.unusedDays:
        where = source or SourceMap("Pulumi.<stack>.yaml")
        raise InvalidInput(
            [
                where.problem(
                    (*prefix, "dbaccess:expiry"),
                    f"{plan.file} says unused_after_days: {plan.unused_after_days} but "
                    f"dbaccess:expiry.unusedDays is {settings.expiry.unusedDays}",
                    "set both to the same number of days: the reaper uses the stack setting, "
                    "reviewers read access.yaml",
                    at_key=True,
                )
            ]
        )
    roles = []
    problems = []
    for person in plan.people.values():
        by_account: dict[str, list[tuple[DatabaseSpec, Grant]]] = defaultdict(list)
        for grant in person.grants:
            db = plan.databases[grant.database]
            by_account[db.account].append((db, grant))
        for account, grants in sorted(by_account.items()):
            try:
                policies.check_policy_size(
                    person.email,
                    account,
                    grants,
                    policies.s3_object_arn(_LONGEST_BUCKET, catalog.person_key(person.email)),
                )
            except policies.PolicyTooLarge as exc:
                problems.append(Problem(plan.file, person.line or 1, 1, exc.message, exc.fix))
                continue
            roles.append(RoleSpec(person.email, account, person.role_name, tuple(grants)))
    if problems:
        raise InvalidInput(problems)
    return Deployment(plan, settings, tuple(roles), postgres_servers(plan), mysql_servers(plan))


def _servers(
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


def postgres_servers(plan: AccessPlan) -> tuple[PostgresServerSpec, ...]:
    """The plan's PostgreSQL databases grouped by server, each with its logins."""
    return tuple(
        PostgresServerSpec(dbs, logins) for dbs, logins in _servers(plan, lambda d: d.is_postgres)
    )


def mysql_servers(plan: AccessPlan) -> tuple[MysqlServer, ...]:
    """The plan's MySQL / Aurora MySQL databases grouped by server, each with its users."""
    return tuple(
        MysqlServer(
            dbs,
            MysqlServerSpec(
                host=dbs[0].host,
                port=dbs[0].port,
                region=dbs[0].region,
                admin_login=str(dbs[0].admin_login),  # required for MySQL by validation
                databases=tuple(db.name for db in dbs),
                logins=tuple(
                    MysqlLogin(
                        login.login,
                        login.access,
                        tuple(db.name for db in login.databases),
                        login.query_audit,
                    )
                    for login in logins
                ),
            ),
        )
        for dbs, logins in _servers(plan, lambda d: d.is_mysql)
    )
