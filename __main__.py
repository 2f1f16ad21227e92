"""db-access: access.yaml -> per-person IAM roles, database logins and the access catalog.

Thin by design: settings and the access plan in, components out. Rules live in dbaccess/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.catalog import AccessCatalog, AccessCatalogArgs
from components.credential_issuer import CredentialIssuer, CredentialIssuerArgs
from components.grant_reaper import GrantReaper, GrantReaperArgs
from components.mysql_users import MysqlUsers, MysqlUsersArgs
from components.postgres_users import PostgresUsers, PostgresUsersArgs
from components.refs import CatalogRef
from components.slack_bot import GitHubAppArgs, SlackApprovalArgs, SlackBot, SlackBotArgs
from components.user_role import DatabaseUserRole, DatabaseUserRoleArgs
from dbaccess import catalog
from dbaccess import issuer as issuer_package
from dbaccess.access import AccessPlan, InvalidInput, load_access_file
from dbaccess.deployment import Deployment, prepare
from dbaccess.iam import documents, people
from dbaccess.reaper.core import REPORT_KEY
from dbaccess.stack.settings import (
    READ_KEYS,
    Secret,
    Settings,
    optional_services,
    parse_settings,
    settings_warnings,
)


def read_settings() -> Settings:
    """Every `dbaccess:*` key of the stack, validated into one object."""
    config = pulumi.Config()
    raw: dict[str, Any] = {}
    for key in READ_KEYS:
        if pulumi.runtime.config.is_config_secret(f"{config.name}:{key}"):
            raw[key] = Secret()  # refused, never decrypted: secrets live in Secrets Manager
            continue
        value = config.get(key)
        if value is not None:
            # Pulumi hands structured settings to programs as JSON text.
            raw[key] = json.loads(value) if value[:1] in "[{" else value
    return parse_settings(raw)


def account_providers(settings: Settings) -> dict[str, aws.Provider]:
    """One AWS provider per account, assuming its deploy role (its read-only role while
    previewing), never able to touch another account."""
    return {
        account: aws.Provider(
            f"aws-{account}",
            assume_roles=[
                aws.ProviderAssumeRoleArgs(
                    role_arn=settings.provider_role(account, preview=pulumi.runtime.is_dry_run()),
                    session_name="dbaccess-deploy",
                )
            ],
            allowed_account_ids=[account],
            region=aws.config.region,
        )
        for account in settings.accounts
    }


def rds_resource_ids(
    plan: AccessPlan, providers: Mapping[str, aws.Provider]
) -> dict[str, pulumi.Output[str]]:
    """Database key -> the DbiResourceId / DbClusterResourceId its rds-db ARNs name
    (PostgreSQL and MySQL, instances and Aurora clusters)."""
    resource_ids: dict[str, pulumi.Output[str]] = {}
    for db in plan.databases.values():
        if not db.uses_rds_iam:
            continue
        lookup = pulumi.InvokeOutputOptions(provider=providers[db.account])
        if not db.is_cluster:
            resource_ids[db.key] = aws.rds.get_instance_output(
                db_instance_identifier=db.identifier, region=db.region, opts=lookup
            ).resource_id
        else:
            resource_ids[db.key] = aws.rds.get_cluster_output(
                cluster_identifier=db.identifier, region=db.region, opts=lookup
            ).cluster_resource_id
    return resource_ids


def publish_catalog(
    deployment: Deployment, resource_ids: Mapping[str, pulumi.Output[str]]
) -> AccessCatalog:
    """catalog.json for the services and one object per person, readable by their role."""
    plan = deployment.plan
    role_arns = deployment.role_arns()
    ids = pulumi.Output.all(**resource_ids)
    return AccessCatalog(
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
            reader_accounts=sorted(deployment.settings.accounts),
        ),
    )


def credential_services(
    settings: Settings, store: CatalogRef, providers: Mapping[str, aws.Provider]
) -> tuple[CredentialIssuer, GrantReaper]:
    """The issuer Lambda and its request table, the grant reaper, and the Slack bot (each
    only when its settings are present: settings have checked they come all or none)."""
    # Present (settings checked all or none): narrowed for the type checker.
    assert settings.privatebinUrl is not None
    assert settings.slackBotTokenSecretArn is not None
    assert settings.network is not None
    # Not built? `make package` does it. Preview (and the mock engine) never opens these files.
    code = pulumi.FileArchive(issuer_package.CODE_ZIP)  # one code zip for both Lambdas
    # The services live in the account of the stack's own credentials.
    boundary = aws.get_caller_identity_output().account_id.apply(documents.boundary_arn)
    issuer = CredentialIssuer(
        "issuer",
        CredentialIssuerArgs(
            person_accounts=sorted(settings.accounts),
            catalog=store,
            privatebin_url=settings.privatebinUrl,
            paste_expire=settings.pasteExpire,
            slack_token_secret_arn=settings.slackBotTokenSecretArn,
            slack_api_url=settings.slackApiUrl,
            access_contact=settings.accessContact,
            support_contact=settings.support_contact,
            subnet_ids=settings.network.subnetIds,
            security_group_ids=settings.network.securityGroupIds,
            audit_retention_days=settings.auditRetentionDays,
            reserved_concurrency=settings.issuerReservedConcurrency,
            code=code,
            layer=pulumi.FileArchive(issuer_package.LAYER_ZIP),
            permissions_boundary=boundary,
        ),
    )
    reaper = GrantReaper(
        "reaper",
        GrantReaperArgs(
            expiry=settings.expiry,
            reader_providers=providers,
            catalog=store,
            report_key=REPORT_KEY,
            requests=issuer.requests,
            slack_token_secret_arn=settings.slackBotTokenSecretArn,
            slack_api_url=settings.slackApiUrl,
            access_contact=settings.accessContact,
            code=code,
            layer_arn=issuer.layer_arn,
            permissions_boundary=boundary,
        ),
    )
    if settings.bot is not None and settings.slackAppTokenSecretArn:
        SlackBot(
            "slack-bot",
            SlackBotArgs(
                cluster_name=settings.bot.cluster,
                namespace=settings.bot.namespace,
                image=settings.bot.image,
                replicas=settings.bot.replicas,
                help_channel=settings.bot.helpChannel,
                allow_guests=settings.bot.allowGuests,
                requests=issuer.requests,
                catalog=store,
                slack_bot_token_secret_arn=settings.slackBotTokenSecretArn,
                slack_app_token_secret_arn=settings.slackAppTokenSecretArn,
                secrets_key_arn=settings.secretsKmsKeyArn,
                permissions_boundary=boundary,
                slack_api_url=settings.slackApiUrl,
                region=aws.config.region,
                github=(
                    GitHubAppArgs(
                        app_id=settings.github.appId,
                        installation_id=settings.github.installationId,
                        repository=settings.github.repository,
                        access_file=settings.github.accessFile,
                        private_key_secret_arn=settings.githubAppPrivateKeySecretArn,
                        auto_merge=settings.github.autoMerge,
                        merge_method=settings.github.mergeMethod,
                    )
                    if settings.github and settings.githubAppPrivateKeySecretArn
                    else None
                ),
                slack_approval=slack_approval_args(settings),
            ),
        )
    return issuer, reaper


def slack_approval_args(settings: Settings) -> SlackApprovalArgs | None:
    approval = settings.slackApproval
    if approval is None:
        return None
    return SlackApprovalArgs(
        client_id=approval.clientId,
        client_secret_secret_arn=approval.clientSecretSecretArn,
        access_levels=approval.accessLevels,
        databases=approval.databases,
        owners_channels=tuple(sorted(approval.ownersChannels.items())),
        web_url=approval.webUrl,
    )


def person_roles(
    deployment: Deployment,
    providers: Mapping[str, aws.Provider],
    resource_ids: Mapping[str, pulumi.Output[str]],
    store: CatalogRef,
    issuer_role_arn: pulumi.Output[str] | None,
) -> dict[str, dict[str, pulumi.Output[str]]]:
    """One IAM role per person and account with their database-access policy; email ->
    account -> role ARN. The issuer's role joins the trust policy when there is an issuer
    (adding it later updates the policy in place)."""
    settings = deployment.settings
    issuer = issuer_role_arn if issuer_role_arn is not None else pulumi.Output.from_input("")
    roles: dict[str, dict[str, pulumi.Output[str]]] = {}
    for spec in deployment.roles:
        role = DatabaseUserRole(
            f"{spec.email}-{spec.account}",
            DatabaseUserRoleArgs(
                email=spec.email,
                role_name=spec.role_name,
                tag_key=settings.consolemeTagKey,
                trust_policy=issuer.apply(
                    lambda arn, email=spec.email: json.dumps(
                        people.trust_policy(
                            email,
                            settings.consolemeRoleArn,
                            settings.extraTrustedPrincipals,
                            arn or None,
                        )
                    )
                ),
                grants=spec.grants,
                resource_ids={
                    db.key: resource_ids[db.key] for db, _ in spec.grants if db.uses_rds_iam
                },
                catalog_object_arn=pulumi.Output.concat(
                    store.bucket_arn, "/", catalog.person_key(spec.email)
                ),
                provider=providers[spec.account],
                permissions_boundary=documents.boundary_arn(spec.account),
            ),
        )
        roles.setdefault(spec.email, {})[spec.account] = role.arn
    return roles


def database_logins(deployment: Deployment) -> None:
    """Per PostgreSQL server: each database's group roles and one login per person and level.
    Per MySQL server: one user per person and level, granted on each of its databases."""
    settings = deployment.settings
    for server in deployment.postgres:
        PostgresUsers(
            server.name,
            PostgresUsersArgs(
                server,
                settings.connectionLimit,
                settings.accounts[server.first.account],
                ca_bundle=str(settings.rdsCaBundle or ""),
            ),
        )
    for mysql in deployment.mysql:
        MysqlUsers(
            mysql.name,
            MysqlUsersArgs(
                mysql.spec,
                deploy_role_arn=settings.accounts[mysql.first.account],
                # prepare() has refused MySQL databases without it.
                ca_bundle=str(settings.rdsCaBundle),
            ),
        )


def deploy(deployment: Deployment) -> None:
    plan, settings = deployment.plan, deployment.settings
    providers = account_providers(settings)
    resource_ids = rds_resource_ids(plan, providers)
    store = publish_catalog(deployment, resource_ids)
    for line in optional_services(settings):
        pulumi.log.info(line)
    for warning in settings_warnings(settings):
        pulumi.log.warn(warning)
    services = (
        credential_services(settings, store.ref, providers) if settings.issuer_enabled else None
    )
    issuer_role = services[0].role_arn if services else None
    roles = person_roles(deployment, providers, resource_ids, store.ref, issuer_role)
    database_logins(deployment)

    pulumi.export("roleArns", roles)
    pulumi.export("catalog", store.catalog_url)
    if services:
        issuer, reaper = services
        pulumi.export("requestTable", issuer.table_name)
        pulumi.export("issuerRoleArn", issuer.role_arn)
        pulumi.export("staleGrantsReport", reaper.report_url)
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
