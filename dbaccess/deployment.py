"""What the program deploys for an AccessPlan: roles per person and account, users per database.

Pure (no Pulumi). Every check that could fail a deployment runs here, before the program
registers its first resource.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from dbaccess import catalog
from dbaccess.access.errors import InvalidInput, Problem
from dbaccess.access.plan import AccessPlan, DatabaseSpec, Grant
from dbaccess.access.source import SourceMap
from dbaccess.iam import documents, people
from dbaccess.mysql.spec import MysqlServer, mysql_servers
from dbaccess.postgres.spec import PostgresServerSpec, postgres_servers
from dbaccess.stack.settings import Settings, check_accounts, check_rds_ca_bundle

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
        return documents.role_arn(self.account, self.role_name)


@dataclass(frozen=True)
class Deployment:
    plan: AccessPlan
    settings: Settings
    roles: tuple[RoleSpec, ...]
    postgres: tuple[PostgresServerSpec, ...]
    mysql: tuple[MysqlServer, ...]

    def dated_permissions(self) -> list[tuple[str, people.Permission]]:
        """(email, permission) for every permission AWS itself ends, as reviewers read them."""
        result = []
        for role in self.roles:
            ids = people.sized_resource_ids(role.grants)
            for permission in people.database_permissions(role.grants, ids):
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
                people.check_policy_size(
                    person.email,
                    account,
                    grants,
                    documents.s3_object_arn(_LONGEST_BUCKET, catalog.person_key(person.email)),
                )
            except people.PolicyTooLarge as exc:
                problems.append(Problem(plan.file, person.line or 1, 1, exc.message, exc.fix))
                continue
            roles.append(RoleSpec(person.email, account, person.role_name, tuple(grants)))
    if problems:
        raise InvalidInput(problems)
    return Deployment(plan, settings, tuple(roles), postgres_servers(plan), mysql_servers(plan))
