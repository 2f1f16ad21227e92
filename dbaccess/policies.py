"""IAM policy documents as pure functions (no Pulumi): trust, database access, catalog bucket.

Sids start with NOREPO: Repokid leaves such statements alone. It would otherwise remove
rds-db and redshift grants, because Access Advisor never reports their use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.access.until import access_ends, iso_z
from dbaccess.bot.request_ledger import KEY_PREFIX as LEDGER_KEY_PREFIX
from dbaccess.bot.slack_approval.links import KEY_PREFIX as LINK_KEY_PREFIX
from dbaccess.bot.slack_approval.links import PURPOSE as LINK_PURPOSE
from dbaccess.bot.slack_approval.links import PURPOSE_KEY as LINK_PURPOSE_KEY
from dbaccess.request_item import EMAIL_INDEX

Policy = dict[str, Any]
VERSION: Final = "2012-10-17"
INLINE_POLICY_MAX: Final = 10_240  # IAM's inline role policy limit, whitespace not counted
MANAGED_POLICY_MAX: Final = 6_144  # a customer managed policy's (the boundary), likewise
# Resource ids are "db-" / "cluster-" and 26 characters: policies are sized with ids of that
# length before AWS has answered the lookups.
RESOURCE_ID_PREFIX: Final = {"instance": "db-", "cluster": "cluster-"}
RESOURCE_ID_LENGTH: Final = 26


class PolicyTooLarge(ValueError):
    def __init__(self, email: str, account: str, grants: int, size: int) -> None:
        self.email = email
        self.message = (
            f"{email}: the database-access policy for account {account} would be {size} "
            f"characters for {grants} grants; IAM allows {INLINE_POLICY_MAX}"
        )
        self.fix = (
            "remove grants this person no longer needs, or give them fewer databases "
            "in this account"
        )
        super().__init__(f"{self.message}. {self.fix}")


def one_or_list(items: Sequence[str]) -> str | list[str]:
    """IAM's own style: a single value plainly, several as a sorted list."""
    return items[0] if len(items) == 1 else sorted(items)


def statement(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Policy:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": one_or_list(actions),
        "Resource": one_or_list(resources),
        **extra,
    }


def document(statements: Iterable[Policy]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def compact_size(policy: Policy) -> int:
    return len(json.dumps(policy, separators=(",", ":")))


# --- ARNs ------------------------------------------------------------------------------


def rds_dbuser_arn(db: DatabaseSpec, resource_id: str, login: str) -> str:
    return f"arn:aws:rds-db:{db.region}:{db.account}:dbuser:{resource_id}/{login}"


def redshift_arn(db: DatabaseSpec, kind: str, name: str) -> str:
    return f"arn:aws:redshift:{db.region}:{db.account}:{kind}:{db.identifier}/{name}"


def role_arn(account: str, role_name: str) -> str:
    return f"arn:aws:iam::{account}:role/dbaccess/{role_name}"


# The services' roles (issuer, reaper, scheduler, bot, usage readers) live under their own
# path, so the deploy role's IAM writes name two paths db-access owns and nothing else.
SERVICE_ROLE_PATH: Final = "/dbaccess-service/"
# Every role db-access creates carries this customer managed policy as its permissions
# boundary (`dbaccess iam-policy boundary`); the operator creates it once per account, and the
# deploy role may neither create a role without it nor change it.
BOUNDARY_PATH: Final = "/dbaccess/"
BOUNDARY_NAME: Final = "dbaccess-boundary"
# KMS key ids are random, so no ARN names our keys before they exist: the stack tags them
# with its name, and the deploy role manages only keys that carry that tag.
STACK_TAG: Final = "dbaccess:stack"


def boundary_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:policy{BOUNDARY_PATH}{BOUNDARY_NAME}"


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


# --- person roles ------------------------------------------------------------------------


def _trust(sid: str, principals: Sequence[str], actions: Sequence[str], **extra: Any) -> Policy:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": one_or_list(principals)},
        "Action": one_or_list(actions),
        **extra,
    }


def trust_policy(
    email: str,
    consoleme_role_arn: str | None,
    extra_principals: Sequence[str] = (),
    issuer_role_arn: str | None = None,
) -> Policy:
    """Who may become this person: ConsoleMe (which checks the role's tag), the person through
    an extra principal (their own session only), and the credential issuer on their behalf.
    ConsoleMe is optional (it is archived); settings then require an extra principal."""
    statements = []
    if consoleme_role_arn:
        # ConsoleMe assumes the role with RoleSessionName = the signed-in user, lower-cased,
        # and sets no SourceIdentity: the narrowest it allows is that session name.
        statements.append(
            _trust(
                "ConsoleMe",
                [consoleme_role_arn],
                ["sts:AssumeRole"],
                Condition={"StringEquals": {"sts:RoleSessionName": email}},
            )
        )
    if extra_principals:
        # Identity Center sessions are named after the user: the session must be this
        # person's, and must carry their email as SourceIdentity (the CLI sets it).
        statements.append(
            _trust(
                "PersonThroughExtraPrincipal",
                extra_principals,
                ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition={
                    "StringEquals": {"sts:SourceIdentity": email},
                    "StringLike": {"aws:userid": f"*:{email}"},
                },
            )
        )
    if issuer_role_arn:
        statements.append(
            _trust(
                "CredentialIssuer",
                [issuer_role_arn],
                ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition={"StringEquals": {"sts:SourceIdentity": email}},
            )
        )
    return document(statements)


# How long a person's access lasts in IAM: `until` is the last day of access (UTC), so AWS
# ends it at 00:00 UTC the day after. rds-db:connect is conditioned on aws:TokenIssueTime
# (when the role session was created): a public report (aws/aws-cli#5271) found aws:CurrentTime
# denies every IAM database login, and person roles are only used through temporary credentials,
# which always carry it. The Redshift actions use aws:CurrentTime, evaluated on each call.
RDS_DATE_KEY: Final = "aws:TokenIssueTime"
REDSHIFT_DATE_KEY: Final = "aws:CurrentTime"


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    """Merge two ends of the same permission: the undated one (None) wins, else the later."""
    return None if a is None or b is None else max(a, b)


@dataclass(frozen=True)
class Permission:
    """One resource of a person's database-access policy, and the last day it is allowed."""

    sid: str  # the statement family: NOREPORdsDbConnect, NOREPORedshiftCredentials, ...
    actions: tuple[str, ...]
    resource: str
    until: dt.date | None
    date_key: str
    # Extra conditions that keep the statement to one database (Redshift: redshift:DbName).
    scope: tuple[tuple[str, str], ...] = ()
    # For reviewers: what this permission is about (login, database key).
    login: str = ""
    database: str = ""


def database_permissions(
    grants: Sequence[tuple[DatabaseSpec, Grant]], resource_ids: Mapping[str, str]
) -> list[Permission]:
    """Every (statement family, resource) the person gets, merged to one end date each.

    A login is server-wide: the same rds-db ARN granted by two databases of one server, or an
    undated and a dated grant, is one permission whose end is the later (undated wins).
    """
    ends: dict[tuple[str, str, tuple[tuple[str, str], ...]], dt.date | None] = {}
    meta: dict[tuple[str, str, tuple[tuple[str, str], ...]], Permission] = {}

    def add(
        db: DatabaseSpec,
        grant: Grant,
        family: str,
        action: str,
        resource: str,
        date_key: str,
        scope: tuple[tuple[str, str], ...] = (),
    ) -> None:
        key = (family, resource, scope)
        ends[key] = _later(ends[key], grant.until) if key in ends else grant.until
        meta.setdefault(
            key,
            Permission(
                family, (action,), resource, grant.until, date_key, scope, grant.login, db.key
            ),
        )

    for db, grant in grants:
        if db.uses_rds_iam:
            arn = rds_dbuser_arn(db, resource_ids[db.key], grant.login)
            add(db, grant, "NOREPORdsDbConnect", "rds-db:connect", arn, RDS_DATE_KEY)
            continue
        user = redshift_arn(db, "dbuser", grant.login)
        group = redshift_arn(db, "dbgroup", db.group_for(grant.access))
        # Credentials are asked for one database at a time: one statement per database, held
        # to it by redshift:DbName, so a login granted on database A never pairs with B's name.
        scope = (("redshift:DbName", db.name),)
        for resource in (redshift_arn(db, "dbname", db.name), user, group):
            credentials = "redshift:GetClusterCredentials"
            add(
                db,
                grant,
                "NOREPORedshiftCredentials",
                credentials,
                resource,
                REDSHIFT_DATE_KEY,
                scope,
            )
        add(
            db,
            grant,
            "NOREPORedshiftCreateUser",
            "redshift:CreateClusterUser",
            user,
            REDSHIFT_DATE_KEY,
        )
        add(db, grant, "NOREPORedshiftJoinGroup", "redshift:JoinGroup", group, REDSHIFT_DATE_KEY)
    return [dataclasses.replace(meta[key], until=until) for key, until in ends.items()]


def _statement_sid(family: str, scope: tuple[tuple[str, str], ...], until: dt.date | None) -> str:
    # Sids are [A-Za-z0-9]: the database name and the date, without separators.
    parts = [family, *(re.sub(r"[^A-Za-z0-9]", "", v).capitalize() for _, v in scope)]
    if until is not None:
        parts.append("Until" + until.strftime("%Y%m%d"))
    return "".join(parts)


def database_access_policy(
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    resource_ids: Mapping[str, str],
    catalog_object_arn: str,
) -> Policy:
    """The person's `database-access` policy in one account.

    resource_ids maps each PostgreSQL database key to its DbiResourceId (instance) or
    DbClusterResourceId (Aurora). Redshift ARNs use the cluster id from access.yaml.
    Permissions with the same statement family, scope and end share one statement; a dated
    one carries `DateLessThan` on its key, ending at 00:00 UTC the day after `until`.
    """
    grouped: dict[tuple[str, tuple[tuple[str, str], ...], dt.date | None], list[Permission]] = {}
    for permission in database_permissions(grants, resource_ids):
        key = (permission.sid, permission.scope, permission.until)
        grouped.setdefault(key, []).append(permission)
    statements = []
    for (family, scope, until), members in sorted(grouped.items(), key=_statement_order):
        condition: dict[str, dict[str, str]] = {}
        if scope:
            condition["StringEquals"] = dict(scope)
        if until is not None:
            condition["DateLessThan"] = {members[0].date_key: iso_z(access_ends(until))}
        statements.append(
            statement(
                _statement_sid(family, scope, until),
                members[0].actions,
                _unique(m.resource for m in members),
                **({"Condition": condition} if condition else {}),
            )
        )
    statements.append(statement("NOREPOCatalogRead", ["s3:GetObject"], [catalog_object_arn]))
    return document(statements)


_FAMILY_ORDER: Final = (
    "NOREPORdsDbConnect",
    "NOREPORedshiftCredentials",
    "NOREPORedshiftCreateUser",
    "NOREPORedshiftJoinGroup",
)


def _statement_order(
    item: tuple[tuple[str, tuple[tuple[str, str], ...], dt.date | None], list[Permission]],
) -> tuple[int, tuple[tuple[str, str], ...], bool, dt.date]:
    (family, scope, until), _ = item  # undated statements first, then by end date
    return (_FAMILY_ORDER.index(family), scope, until is not None, until or dt.date.min)


def sized_resource_ids(grants: Sequence[tuple[DatabaseSpec, Grant]]) -> dict[str, str]:
    """Stand-in resource ids before AWS has answered: one per server, of the longest length."""
    return {
        db.key: RESOURCE_ID_PREFIX["cluster" if db.is_cluster else "instance"]
        + hashlib.sha256(repr(db.server).encode()).hexdigest()[:RESOURCE_ID_LENGTH]
        for db, _ in grants
    }


def check_policy_size(
    email: str,
    account: str,
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    catalog_object_arn: str,
) -> None:
    """Raise PolicyTooLarge when the policy could exceed IAM's limit: sized with the longest
    ids AWS issues; conditions, dates and names are the real ones."""
    policy = database_access_policy(grants, sized_resource_ids(grants), catalog_object_arn)
    size = compact_size(policy)
    if size > INLINE_POLICY_MAX:
        raise PolicyTooLarge(email, account, len(grants), size)


# --- the catalog bucket --------------------------------------------------------------------


def catalog_bucket_policy(bucket_arn: str, accounts: Sequence[str], people_prefix: str) -> Policy:
    """TLS only; person roles in the configured accounts may read under people/.

    Which object each role reads is narrowed by the role's own policy (its own key only):
    across accounts S3 needs both to allow, so the bucket policy stays one statement however
    many people there are (bucket policies stop at 20 KB).
    """
    deny_plain_http = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    principals = [f"arn:aws:iam::{a}:root" for a in sorted(set(accounts))]
    person_roles = statement(
        "PersonRolesReadPeopleObjects",
        ["s3:GetObject"],
        [f"{bucket_arn}/{people_prefix}*"],
        Principal={"AWS": one_or_list(principals)},
        Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dbaccess/dbaccess-*"}},
    )
    return document([deny_plain_http, person_roles])


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- the credential issuer -------------------------------------------------------------------


def lambda_trust_policy() -> Policy:
    """Only the Lambda service may become the issuer's role."""
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    )


def person_roles_arn(account: str) -> str:
    """Every person role in an account: they all live under the /dbaccess/ path."""
    return f"arn:aws:iam::{account}:role/dbaccess/*"


def issuer_policy(
    *,
    person_accounts: Iterable[str],
    table_arn: str,
    stream_arn: str,
    catalog_object_arn: str,
    slack_token_secret_arn: str,
    key_arn: str,
    log_group_arn: str,
    dead_letter_queue_arn: str,
    subnet_ids: Sequence[str] = (),
    security_group_ids: Sequence[str] = (),
) -> Policy:
    """The issuer Lambda's own permissions, each on the one resource it needs.

    The issuer's account and region are read from the table ARN. Two statements name no
    resource because AWS has no resource-level permissions for those actions:
    dynamodb:ListStreams and the EC2 Describe calls Lambda makes to attach to the VPC.
    """
    _, _, _, region, account, _ = table_arn.split(":", 5)
    ec2 = f"arn:aws:ec2:{region}:{account}"
    statements = [
        statement(
            "AssumePersonRoles",
            ["sts:AssumeRole", "sts:SetSourceIdentity"],
            [person_roles_arn(a) for a in sorted(set(person_accounts))],
        ),
        statement("RequestTable", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table_arn]),
        statement(
            "RequestStream",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [stream_arn],
        ),
        statement("ListStreams", ["dynamodb:ListStreams"], ["*"]),
        statement("CatalogRead", ["s3:GetObject"], [catalog_object_arn]),
        statement("SlackBotToken", ["secretsmanager:GetSecretValue"], [slack_token_secret_arn]),
        # The table, its stream and the dead-letter queue are encrypted with this key.
        statement("EncryptionKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]),
        statement("DeadLetters", ["sqs:SendMessage"], [dead_letter_queue_arn]),
        statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    if subnet_ids:
        interfaces = f"{ec2}:network-interface/*"
        statements += [
            statement(
                "VpcCreateInterface",
                ["ec2:CreateNetworkInterface"],
                [
                    interfaces,
                    *(f"{ec2}:subnet/{s}" for s in subnet_ids),
                    *(f"{ec2}:security-group/{g}" for g in security_group_ids),
                ],
            ),
            statement(
                "VpcManageInterfaces",
                [
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                [interfaces],
            ),
            statement(
                "VpcDescribe", ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], ["*"]
            ),
        ]
    return document(statements)


# --- the Slack bot (IRSA) --------------------------------------------------------------------


def oidc_provider_host(issuer_url: str) -> str:
    """The EKS cluster's OIDC issuer URL without its scheme, as IAM condition keys name it."""
    return issuer_url.removeprefix("https://")


def irsa_trust_policy(
    oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str
) -> Policy:
    """Only pods running as this one ServiceAccount of the cluster may become the role."""
    host = oidc_provider_host(issuer_url)
    return document(
        [
            {
                "Sid": "ServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{host}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ]
    )


def slack_bot_policy(
    table_arn: str,
    table_key_arn: str,
    catalog_object_arn: str,
    secret_arns: Sequence[str],
    secrets_key_arn: str | None = None,
    *,
    github_links: bool = False,
) -> Policy:
    """The bot reads its secrets at start, writes requests, counts a person's recent ones, and
    reads the catalog. With `github_links` (approve in Slack) it also keeps people's linked
    GitHub accounts, their tokens encrypted with the table's key under an encryption context
    that names the purpose (dbaccess.bot.slack_approval.links)."""
    secrets = [statement("ServiceSecrets", ["secretsmanager:GetSecretValue"], list(secret_arns))]
    if secrets_key_arn:
        # A customer managed key: decrypt through Secrets Manager only (the key's region).
        region = secrets_key_arn.split(":")[3]
        secrets.append(
            statement(
                "ServiceSecretsKey",
                ["kms:Decrypt"],
                [secrets_key_arn],
                Condition={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                },
            )
        )
    return document(
        [
            *secrets,
            statement("RecordRequests", ["dynamodb:PutItem"], [table_arn]),
            # The table is encrypted with the issuer's customer managed key: writing an item
            # needs a data key, reading the index needs to decrypt.
            statement("RequestTableKey", ["kms:Decrypt", "kms:GenerateDataKey"], [table_key_arn]),
            # The rate limit counts the person's recent requests on the by-email index.
            statement(
                "CountRecentRequests", ["dynamodb:Query"], [f"{table_arn}/index/{EMAIL_INDEX}"]
            ),
            # Access requests (pull requests): the daily counters and the watch list, items
            # whose keys start with access-request# and nothing else (dbaccess.bot.request_ledger).
            statement(
                "AccessRequestLedger",
                ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                [table_arn],
                Condition={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{LEDGER_KEY_PREFIX}*"]}
                },
            ),
            statement("CatalogRead", ["s3:GetObject"], [catalog_object_arn]),
            *(_github_link_statements(table_arn, table_key_arn) if github_links else []),
        ]
    )


def _github_link_statements(table_arn: str, table_key_arn: str) -> list[dict[str, Any]]:
    return [
        statement(
            "GitHubLinks",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [table_arn],
            Condition={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{LINK_KEY_PREFIX}*"]}
            },
        ),
        statement(
            "GitHubTokenKey",
            ["kms:Decrypt", "kms:Encrypt"],
            [table_key_arn],
            Condition={"StringEquals": {f"kms:EncryptionContext:{LINK_PURPOSE_KEY}": LINK_PURPOSE}},
        ),
    ]


# --- the grant reaper ------------------------------------------------------------------------


def usage_reader_trust_policy(reaper_role_arn: str) -> Policy:
    """Only the reaper's Lambda role may become an account's usage reader."""
    return document([_trust("GrantReaper", [reaper_role_arn], ["sts:AssumeRole"])])


def usage_reader_policy(account: str) -> Policy:
    """Read the person roles of one account, RoleLastUsed included: nothing else.

    IAM roles have no resource policies, so another account's roles can only be read by a
    principal of that account; the reaper assumes this role in each account."""
    return document([statement("ReadPersonRoles", ["iam:GetRole"], [person_roles_arn(account)])])


def scheduler_trust_policy(account: str) -> Policy:
    """EventBridge Scheduler, for schedules of this account only (confused-deputy guard)."""
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ]
    )


def scheduler_policy(function_arn: str) -> Policy:
    return document([statement("InvokeGrantReaper", ["lambda:InvokeFunction"], [function_arn])])


def reaper_policy(
    *,
    usage_reader_role_arns: Iterable[str],
    request_table_arn: str,
    request_table_key_arn: str,
    state_table_arn: str,
    catalog_object_arn: str,
    report_object_arn: str,
    slack_token_secret_arn: str,
    log_group_arn: str,
) -> Policy:
    """The reaper Lambda's permissions, each on the one resource it needs."""
    statements = [
        statement("AssumeUsageReaders", ["sts:AssumeRole"], sorted(set(usage_reader_role_arns))),
        statement(
            "RequestsByEmail", ["dynamodb:Query"], [f"{request_table_arn}/index/{EMAIL_INDEX}"]
        ),
        statement(
            "ReaperState",
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan"],
            [state_table_arn],
        ),
        statement("CatalogRead", ["s3:GetObject"], [catalog_object_arn]),
        statement("ReportWrite", ["s3:PutObject"], [report_object_arn]),
        statement("SlackBotToken", ["secretsmanager:GetSecretValue"], [slack_token_secret_arn]),
        statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
    ]
    # The request table is encrypted with the issuer's customer managed key.
    statements.insert(2, statement("RequestTableKey", ["kms:Decrypt"], [request_table_key_arn]))
    return document(statements)
