"""The services' IAM: the issuer and reaper Lambdas, the scheduler, the usage readers and the
Slack bot (IRSA), each allowed what it does on resources named by ARN."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dbaccess.iam.documents import Policy, document, statement, trust_statement
from dbaccess.request_table import (
    ACCESS_REQUEST_PREFIX,
    EMAIL_INDEX,
    GITHUB_LINK_PREFIX,
    GITHUB_TOKEN_PURPOSE,
    GITHUB_TOKEN_PURPOSE_KEY,
)

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
            # whose keys start with access-request# and nothing else
            # (dbaccess.bot.access_requests.ledger).
            statement(
                "AccessRequestLedger",
                ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                [table_arn],
                Condition={
                    "ForAllValues:StringLike": {
                        "dynamodb:LeadingKeys": [f"{ACCESS_REQUEST_PREFIX}*"]
                    }
                },
            ),
            statement("CatalogRead", ["s3:GetObject"], [catalog_object_arn]),
            *(_github_link_statements(table_arn, table_key_arn) if github_links else []),
        ]
    )


def _github_link_statements(table_arn: str, table_key_arn: str) -> list[Policy]:
    return [
        statement(
            "GitHubLinks",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [table_arn],
            Condition={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{GITHUB_LINK_PREFIX}*"]}
            },
        ),
        statement(
            "GitHubTokenKey",
            ["kms:Decrypt", "kms:Encrypt"],
            [table_key_arn],
            Condition={
                "StringEquals": {
                    f"kms:EncryptionContext:{GITHUB_TOKEN_PURPOSE_KEY}": GITHUB_TOKEN_PURPOSE
                }
            },
        ),
    ]


# --- the grant reaper ------------------------------------------------------------------------


def usage_reader_trust_policy(reaper_role_arn: str) -> Policy:
    """Only the reaper's Lambda role may become an account's usage reader."""
    return document([trust_statement("GrantReaper", [reaper_role_arn], ["sts:AssumeRole"])])


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
