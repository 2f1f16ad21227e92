"""PostgresUsers: on one PostgreSQL server, each database's group roles and one IAM-auth login
per person and access level, with its pgaudit settings when its query_audit is not none."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql

from components.postgres_role_settings import (
    PostgresRoleSettings,
    PostgresRoleSettingsProvider,
)
from dbaccess.access.naming import ACCESS_LEVELS, SHORT_ACCESS, Access
from dbaccess.access.plan import DatabaseSpec
from dbaccess.postgres.admin import AdminTarget
from dbaccess.postgres.privileges import DATABASE_PRIVILEGES, DEFAULT_PRIVILEGE_TYPES, PRIVILEGES
from dbaccess.postgres.query_audit import role_settings
from dbaccess.postgres.spec import PostgresServerSpec, memberships


@dataclass(frozen=True)
class PostgresUsersArgs:
    server: PostgresServerSpec
    connection_limit: int
    # The role Pulumi assumes in the server's account; it signs the admin's IAM token.
    deploy_role_arn: str
    # The RDS CA bundle on the machine that runs `pulumi up` (dbaccess:rdsCaBundle), if named:
    # the pgaudit settings' connection verifies TLS against it.
    ca_bundle: str = ""


# Our roles never own anything: group roles get no CREATE and person logins only memberships.
# If one owns something anyway, deleting it must fail the deploy rather than let the provider
# `REASSIGN OWNED` it to the admin login (a SECURITY DEFINER function would then run as the
# admin for everyone) and `DROP OWNED` it. With skip_reassign_owned the provider runs only
# `DROP ROLE`, which PostgreSQL refuses while the role owns or holds anything in any database.
NEVER_REASSIGN = True


class PostgresUsers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PostgresUsersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:postgres:PostgresUsers", name, None, opts)
        server = args.server
        first = server.first
        # IAM authentication: no password exists anywhere, not even for the admin login. One
        # provider per server; each Grant names its own database.
        provider = postgresql.Provider(
            f"{name}-provider",
            host=first.host,
            port=first.port,
            database=first.name,
            username=first.admin_login,
            aws_rds_iam_auth=True,
            aws_rds_iam_region=first.region,
            aws_rds_iam_provider_role_arn=args.deploy_role_arn,
            superuser=False,
            sslmode="require",
            opts=pulumi.ResourceOptions(parent=self),
        )
        groups: dict[str, postgresql.Role] = {}
        for db in server.databases:
            for access in ACCESS_LEVELS:
                groups[db.group_for(access)] = self._group(name, provider, db, access)
        target = AdminTarget(
            host=first.host,
            port=first.port,
            database=first.name,
            region=first.region,
            admin_login=str(first.admin_login),  # required for PostgreSQL by validation
            deploy_role_arn=args.deploy_role_arn,
            ca_bundle=args.ca_bundle,
        )
        audit = PostgresRoleSettingsProvider()
        for login in server.logins:
            key = f"{name}-{login.email}-{SHORT_ACCESS[login.access]}"
            role = postgresql.Role(
                key,
                name=login.login,
                login=True,
                roles=list(memberships(login)),
                connection_limit=args.connection_limit,
                skip_reassign_owned=NEVER_REASSIGN,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=provider,
                    depends_on=[groups[g] for g in login.groups],
                ),
            )
            if login.query_audit != "none":
                PostgresRoleSettings(
                    f"{key}-audit",
                    {
                        "login": login.login,
                        "query_audit": login.query_audit,
                        "settings": role_settings(login.query_audit),
                        **target.inputs(),
                    },
                    audit,
                    pulumi.ResourceOptions(parent=self, depends_on=[role]),
                )
        self.register_outputs({})

    def _group(
        self, name: str, provider: postgresql.Provider, db: DatabaseSpec, access: Access
    ) -> postgresql.Role:
        """The database's group role for one access level, with CONNECT on that database
        only, and its privileges on the database's schemas."""
        role = db.group_for(access)
        prefix = f"{name}-{db.key}-{access}"
        group = postgresql.Role(
            prefix,
            name=role,
            skip_reassign_owned=NEVER_REASSIGN,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        after_group = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[group])
        postgresql.Grant(
            f"{prefix}-database",
            database=db.name,
            role=role,
            object_type="database",
            privileges=list(DATABASE_PRIVILEGES),
            opts=after_group,
        )
        privileges = PRIVILEGES[access]
        for schema in db.schemas:
            for object_type, granted in privileges.items():
                postgresql.Grant(
                    f"{prefix}-{schema}-{object_type}",
                    database=db.name,
                    role=role,
                    schema=schema,
                    object_type=object_type,
                    privileges=list(granted),
                    opts=after_group,
                )
            for owner in db.table_owners:
                for object_type in DEFAULT_PRIVILEGE_TYPES:
                    postgresql.DefaultPrivileges(
                        f"{prefix}-{schema}-{owner}-{object_type}",
                        database=db.name,
                        role=role,
                        schema=schema,
                        owner=owner,
                        object_type=object_type,
                        privileges=list(privileges[object_type]),
                        opts=after_group,
                    )
        return group
