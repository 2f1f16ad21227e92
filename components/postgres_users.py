"""PostgresUsers: the group roles and one IAM-auth login per grant in one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql

from dbaccess.access.naming import ACCESS_LEVELS, SHORT_ACCESS
from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.privileges import DEFAULT_PRIVILEGE_TYPES, PRIVILEGES


@dataclass(frozen=True)
class PostgresUsersArgs:
    database: DatabaseSpec
    grants: Sequence[Grant]
    connection_limit: int
    # The role Pulumi assumes in the database's account; it signs the admin's IAM token.
    deploy_role_arn: str


class PostgresUsers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PostgresUsersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:postgres:PostgresUsers", name, None, opts)
        db = args.database
        # IAM authentication: no password exists anywhere, not even for the admin login.
        provider = postgresql.Provider(
            f"{name}-provider",
            host=db.host,
            port=db.port,
            database=db.name,
            username=db.admin_login,
            aws_rds_iam_auth=True,
            aws_rds_iam_region=db.region,
            aws_rds_iam_provider_role_arn=args.deploy_role_arn,
            superuser=False,
            sslmode="require",
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        groups: dict[str, postgresql.Role] = {}
        for access in ACCESS_LEVELS:
            group = postgresql.Role(f"{name}-{access}", name=db.group_for(access), opts=child)
            groups[access] = group
            after_group = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[group])
            privileges = PRIVILEGES[access]
            for schema in db.schemas:
                for object_type, granted in privileges.items():
                    postgresql.Grant(
                        f"{name}-{access}-{schema}-{object_type}",
                        database=db.name,
                        role=db.group_for(access),
                        schema=schema,
                        object_type=object_type,
                        privileges=list(granted),
                        opts=after_group,
                    )
                for owner in db.table_owners:
                    for object_type in DEFAULT_PRIVILEGE_TYPES:
                        postgresql.DefaultPrivileges(
                            f"{name}-{access}-{schema}-{owner}-{object_type}",
                            database=db.name,
                            role=db.group_for(access),
                            schema=schema,
                            owner=owner,
                            object_type=object_type,
                            privileges=list(privileges[object_type]),
                            opts=after_group,
                        )
        for grant in args.grants:
            postgresql.Role(
                f"{name}-{grant.email}-{SHORT_ACCESS[grant.access]}",
                name=grant.login,
                login=True,
                roles=["rds_iam", db.group_for(grant.access)],
                connection_limit=args.connection_limit,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, depends_on=[groups[grant.access]]
                ),
            )
        self.register_outputs({})
