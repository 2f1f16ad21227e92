"""DatabaseUserRole: one person's IAM role in one AWS account, with their database access."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.iam import people


@dataclass(frozen=True)
class DatabaseUserRoleArgs:
    email: str
    role_name: str
    tag_key: str
    trust_policy: pulumi.Input[str]  # JSON; an Output when it names the issuer's role
    grants: Sequence[tuple[DatabaseSpec, Grant]]
    # PostgreSQL database key -> its DbiResourceId / DbClusterResourceId (known after lookup)
    resource_ids: Mapping[str, pulumi.Input[str]]
    catalog_object_arn: pulumi.Input[str]
    provider: pulumi.ProviderResource
    permissions_boundary: str  # the ARN of the account's boundary policy


class DatabaseUserRole(pulumi.ComponentResource):
    role: aws.iam.Role
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseUserRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:iam:DatabaseUserRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            path="/dbaccess/",
            description=f"Database access of {args.email}, managed by db-access",
            assume_role_policy=args.trust_policy,
            max_session_duration=3600,
            permissions_boundary=args.permissions_boundary,
            tags={
                args.tag_key: args.email,
                "dbaccess:owner": args.email,
                "managed-by": "db-access",
            },
            opts=child,
        )
        keys = sorted(args.resource_ids)
        document = pulumi.Output.all(
            args.catalog_object_arn, *(args.resource_ids[k] for k in keys)
        ).apply(
            lambda values: json.dumps(
                people.database_access_policy(
                    args.grants, dict(zip(keys, values[1:], strict=True)), values[0]
                )
            )
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            name="database-access",
            role=self.role.id,
            policy=document,
            opts=child,
        )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})
