"""db-access: access.yaml -> per-person IAM roles, database logins and the access catalog.

Thin by design: settings and the access plan in, components out. Rules live in dbaccess/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pulumi
import pulumi_aws as aws

from components.catalog import AccessCatalog, AccessCatalogArgs
from components.postgres_users import PostgresUsers, PostgresUsersArgs
from components.user_role import DatabaseUserRole, DatabaseUserRoleArgs
from dbaccess import catalog, policies
from dbaccess.access import InvalidInput, load_access_file
from dbaccess.deployment import Deployment, prepare
from dbaccess.settings import SETTING_KEYS, Settings, parse_settings


def read_settings() -> Settings:
    """Every `dbaccess:*` key of the stack, validated into one object."""
    config = pulumi.Config()
    raw: dict[str, Any] = {}
    for key in SETTING_KEYS:
        value = config.get(key)
        if value is not None:
            # Pulumi hands structured settings to programs as JSON text.
            raw[key] = json.loads(value) if value[:1] in "[{" else value
    return parse_settings(raw)


def deploy(deployment: Deployment) -> None:
    plan, settings = deployment.plan, deployment.settings
    providers = {
        account: aws.Provider(
            f"aws-{account}",
            assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=arn, session_name="dbaccess-deploy")],
            allowed_account_ids=[account],
            region=aws.config.region,
        )
        for account, arn in settings.accounts.items()
    }
    resource_ids: dict[str, pulumi.Output[str]] = {}
    for db in plan.databases.values():
        lookup = pulumi.InvokeOutputOptions(provider=providers[db.account])
        if db.engine == "postgres":
            resource_ids[db.key] = aws.rds.get_instance_output(
                db_instance_identifier=db.identifier, region=db.region, opts=lookup
            ).resource_id
        elif db.engine == "aurora-postgresql":
            resource_ids[db.key] = aws.rds.get_cluster_output(
                cluster_identifier=db.identifier, region=db.region, opts=lookup
            ).cluster_resource_id

    role_arns = deployment.role_arns()
    ids = pulumi.Output.all(**resource_ids)
    store = AccessCatalog(
        "catalog",
        AccessCatalogArgs(
            catalog_json=ids.apply(
                lambda i: catalog.to_json(catalog.build_catalog(plan, role_arns, i))
            ),
            person_objects={
                email: ids.apply(
                    lambda i, p=plan.people[email]: catalog.to_json(
                        catalog.build_person_object(plan, p, role_arns[p.email], i)
                    )
                )
                for email in role_arns
            },
            reader_accounts=sorted(settings.accounts),
        ),
    )

    roles: dict[str, dict[str, pulumi.Output[str]]] = {}
    for spec in deployment.roles:
        role = DatabaseUserRole(
            f"{spec.email}-{spec.account}",
            DatabaseUserRoleArgs(
                email=spec.email,
                role_name=spec.role_name,
                tag_key=settings.consolemeTagKey,
                trust_policy=policies.trust_policy(
                    spec.email,
                    settings.consolemeRoleArn,
                    settings.extraTrustedPrincipals,
                    settings.issuerRoleArn,
                ),
                grants=spec.grants,
                resource_ids={
                    db.key: resource_ids[db.key] for db, _ in spec.grants if db.is_postgres
                },
                catalog_object_arn=pulumi.Output.concat(
                    store.bucket_arn, "/", catalog.person_key(spec.email)
                ),
                provider=providers[spec.account],
            ),
        )
        roles.setdefault(spec.email, {})[spec.account] = role.arn

    for db, grants in deployment.postgres:
        PostgresUsers(
            f"postgres-{db.key}",
            PostgresUsersArgs(db, grants, settings.connectionLimit, settings.accounts[db.account]),
        )

    pulumi.export("roleArns", roles)
    pulumi.export("catalog", store.catalog_url)
    pulumi.export(
        "counts",
        {
            "people": len(plan.people),
            "databases": len(plan.databases),
            "grants": sum(1 for _ in plan.grants()),
            "expiredGrants": len(plan.expired),
            "roles": len(deployment.roles),
        },
    )


def evaluation_date() -> dt.date | None:
    """Expiry is evaluated today (UTC) unless a what-if preview asks for another date."""
    value = os.environ.get("DBACCESS_EVALUATION_DATE")
    return dt.date.fromisoformat(value) if value else None


try:
    _settings = read_settings()
    _plan = load_access_file(_settings.accessFile, today=evaluation_date())
    _deployment = prepare(_plan, _settings)
except InvalidInput as exc:
    # A clean message, no stack trace: the input is wrong, not the program.
    raise pulumi.RunError(exc.render()) from None
deploy(_deployment)
