"""CredentialIssuer under Pulumi's mock engine: GIVEN the prod-like arguments, the exact
resources, IAM statements and event-source options it declares."""

from __future__ import annotations

import json
from typing import Any

import parliament
import pulumi
import pytest

from components.credential_issuer import CredentialIssuer, CredentialIssuerArgs
from components.refs import CatalogRef
from dbaccess.cli.preview_engine import OfflineMocks, ProgramRun, run_under_mocks
from dbaccess.iam import documents, services
from tests.program.conftest import stack_config

ACCOUNT = OfflineMocks.DEFAULT_ACCOUNT  # the issuer's own account, as the mocks name it
REGION = "eu-west-1"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbaccess/slack-bot-token-Xy12Ab"
ARGS = CredentialIssuerArgs(
    person_accounts=["210987654321", "123456789012"],
    catalog=CatalogRef(
        "catalog-bucket-abc1234", "arn:aws:s3:::catalog-bucket-abc1234", "catalog.json"
    ),
    privatebin_url="https://paste.internal.example.com/",
    paste_expire="10min",
    slack_token_secret_arn=SECRET,
    slack_api_url=None,
    access_contact="ask in #db-access",
    support_contact="tell #db-access-support",
    subnet_ids=["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
    security_group_ids=["sg-0c4d5e6f7a8b9c0d1"],
    audit_retention_days=400,
    reserved_concurrency=5,
    code=pulumi.FileArchive("build/issuer/code.zip"),
    layer=pulumi.FileArchive("build/issuer/layer.zip"),
    permissions_boundary=documents.boundary_arn(ACCOUNT),
)


@pytest.fixture(scope="module")
def issuer() -> ProgramRun:
    def body() -> None:
        component = CredentialIssuer("issuer", ARGS)
        pulumi.export("role", component.role_arn)
        pulumi.export("table", component.table_name)

    return run_under_mocks(body, stack_config(), OfflineMocks())


def inputs(run: ProgramRun, name: str) -> dict[str, Any]:
    (found,) = [r for r in run.registrations if r.name == name]
    return dict(found.inputs)


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


# Registrations hold inputs; what AWS names a resource shows where another resource uses it.


def key_arn(run: ProgramRun) -> str:
    return str(inputs(run, "issuer-requests")["serverSideEncryption"]["kmsKeyArn"])


def queue_arn(run: ProgramRun) -> str:
    return str(inputs(run, "issuer-stream")["destinationConfig"]["onFailure"]["destinationArn"])


def table_name(run: ProgramRun) -> str:
    return str(inputs(run, "issuer-function")["environment"]["variables"]["DBACCESS_REQUEST_TABLE"])


def test_the_resources_are_children_of_the_component(issuer: ProgramRun) -> None:
    children = sorted(
        (r.type, r.name) for r in issuer.registrations if r.parent.endswith("::issuer")
    )
    assert children == [
        ("aws:cloudwatch/logGroup:LogGroup", "issuer-logs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "issuer-dead-letters-alarm"),
        ("aws:dynamodb/table:Table", "issuer-requests"),
        ("aws:iam/role:Role", "issuer-role"),
        ("aws:iam/rolePolicy:RolePolicy", "issuer-policy"),
        ("aws:kms/key:Key", "issuer-key"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "issuer-stream"),
        ("aws:lambda/function:Function", "issuer-function"),
        ("aws:lambda/layerVersion:LayerVersion", "issuer-layer"),
        ("aws:sqs/queue:Queue", "issuer-dead-letters"),
    ]


def test_the_exact_iam_statements(issuer: ProgramRun) -> None:
    # GIVEN the names AWS gives the table, key, queue and log group
    table = arn("dynamodb", f"table/{table_name(issuer)}")
    logs = inputs(issuer, "issuer-function")["loggingConfig"]["logGroup"]
    ec2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"

    # THEN the role's policy is exactly this
    document = json.loads(inputs(issuer, "issuer-policy")["policy"])
    assert document["Statement"] == [
        {
            "Sid": "AssumePersonRoles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            "Resource": [
                "arn:aws:iam::123456789012:role/dbaccess/*",
                "arn:aws:iam::210987654321:role/dbaccess/*",
            ],
        },
        {
            "Sid": "RequestTable",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": table,
        },
        {
            "Sid": "RequestStream",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            "Resource": f"{table}/stream/(known after deploy)",
        },
        {
            "Sid": "ListStreams",
            "Effect": "Allow",
            "Action": "dynamodb:ListStreams",
            "Resource": "*",
        },
        {
            "Sid": "CatalogRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::catalog-bucket-abc1234/catalog.json",
        },
        {
            "Sid": "SlackBotToken",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": SECRET,
        },
        {
            "Sid": "EncryptionKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn(issuer),
        },
        {
            "Sid": "DeadLetters",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn(issuer),
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": arn("logs", f"log-group:{logs}:*"),
        },
        {
            "Sid": "VpcCreateInterface",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [
                f"{ec2}:network-interface/*",
                f"{ec2}:security-group/sg-0c4d5e6f7a8b9c0d1",
                f"{ec2}:subnet/subnet-0a1b2c3d4e5f60718",
                f"{ec2}:subnet/subnet-0f1e2d3c4b5a69788",
            ],
        },
        {
            "Sid": "VpcManageInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": f"{ec2}:network-interface/*",
        },
        {
            "Sid": "VpcDescribe",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": "*",
        },
    ]
    # AND "*" stands alone only where AWS has no resource-level permissions
    wildcard_only = {s["Sid"] for s in document["Statement"] if s["Resource"] == "*"}
    assert wildcard_only == {"ListStreams", "VpcDescribe"}
    assert [f.issue for f in parliament.analyze_policy_string(json.dumps(document)).findings] == []


def test_only_lambda_may_become_the_issuer(issuer: ProgramRun) -> None:
    trust = json.loads(inputs(issuer, "issuer-role")["assumeRolePolicy"])
    assert trust == services.lambda_trust_policy()
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_the_request_table(issuer: ProgramRun) -> None:
    table = inputs(issuer, "issuer-requests")
    key = inputs(issuer, "issuer-key")
    assert key_arn(issuer).startswith(arn("kms", "key/"))
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "request_id"
    assert table["streamEnabled"] is True
    assert table["streamViewType"] == "NEW_IMAGE"
    assert table["ttl"] == {"attributeName": "purge_at", "enabled": True}
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn(issuer)}
    assert table["deletionProtectionEnabled"] is True
    assert table["globalSecondaryIndexes"] == [
        {
            "name": "by-email",
            "projectionType": "ALL",
            "keySchemas": [
                {"attributeName": "email", "keyType": "HASH"},
                {"attributeName": "requested_at", "keyType": "RANGE"},
            ],
        }
    ]
    assert key["enableKeyRotation"] is True


def test_the_event_source_mapping(issuer: ProgramRun) -> None:
    mapping = inputs(issuer, "issuer-stream")
    table = arn("dynamodb", f"table/{table_name(issuer)}")
    assert mapping["eventSourceArn"] == f"{table}/stream/(known after deploy)"
    assert mapping["functionName"].startswith(arn("lambda", "function:issuer-function-"))
    assert mapping["startingPosition"] == "LATEST"
    assert mapping["batchSize"] == 10
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["maximumRetryAttempts"] == 3
    assert queue_arn(issuer).startswith(arn("sqs", "issuer-dead-letters-"))
    (only,) = mapping["filterCriteria"]["filters"]
    assert json.loads(only["pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"status": {"S": ["PENDING"]}}},
    }


def test_dead_letters_are_encrypted_and_alarmed(issuer: ProgramRun) -> None:
    queue = inputs(issuer, "issuer-dead-letters")
    alarm = inputs(issuer, "issuer-dead-letters-alarm")
    assert queue["kmsMasterKeyId"] == key_arn(issuer)
    assert (alarm["namespace"], alarm["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert alarm["dimensions"] == {"QueueName": queue_arn(issuer).rsplit(":", 1)[1]}
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanThreshold", 0)


def test_the_function(issuer: ProgramRun) -> None:
    function = inputs(issuer, "issuer-function")
    assert function["runtime"] == "python3.13"
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "dbaccess.issuer.handler.lambda_handler"
    assert function["reservedConcurrentExecutions"] == 5
    assert function["layers"] == [arn("lambda", "layer:dbaccess-issuer-dependencies:1")]
    assert function["vpcConfig"] == {
        "subnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
        "securityGroupIds": ["sg-0c4d5e6f7a8b9c0d1"],
    }
    assert function["loggingConfig"]["logGroup"].startswith("issuer-logs-")
    variables = function["environment"]["variables"]
    assert variables == {
        "DBACCESS_REQUEST_TABLE": table_name(issuer),
        "DBACCESS_CATALOG_URL": "s3://catalog-bucket-abc1234/catalog.json",
        "DBACCESS_PRIVATEBIN_URL": "https://paste.internal.example.com/",
        "DBACCESS_PASTE_EXPIRE": "10min",
        "DBACCESS_SLACK_TOKEN_SECRET_ARN": SECRET,
        "DBACCESS_ACCESS_CONTACT": "ask in #db-access",
        "DBACCESS_SUPPORT_CONTACT": "tell #db-access-support",
        "DBACCESS_MAX_ATTEMPTS": "3",
        "POWERTOOLS_SERVICE_NAME": "dbaccess-issuer",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    # The token is read from Secrets Manager at cold start, never passed in the environment.
    assert not any(v.startswith("xox") for v in variables.values())
    assert inputs(issuer, "issuer-logs")["retentionInDays"] == 400
