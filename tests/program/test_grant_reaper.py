"""The GrantReaper component in the whole program under Pulumi's mocks: GIVEN the sample access
file and the prod settings (expiry at 09:00 Europe/London)."""

from __future__ import annotations

import json

import pytest

from components.grant_reaper import schedule_expression
from dbaccess.iam import services
from tests.program.conftest import Program, ProgramRunner

PROD, STAGING = "123456789012", "210987654321"
MOCK_ACCOUNT = "000000000000"  # the mock engine's account for default-provider resources


def document(program: Program, name: str) -> dict:
    registration = program.named(name)
    text = registration.inputs.get("policy") or registration.inputs["assumeRolePolicy"]
    return json.loads(text)


def test_the_reaper_runs_daily_at_the_configured_time_and_zone(run_sample: ProgramRunner) -> None:
    program = run_sample()
    schedule = program.named("reaper-schedule").inputs
    function = program.named("reaper-function").inputs
    assert schedule["scheduleExpression"] == "cron(0 9 * * ? *)"
    assert schedule["scheduleExpressionTimezone"] == "Europe/London"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["target"]["arn"].startswith(
        f"arn:aws:lambda:eu-west-1:{MOCK_ACCOUNT}:function:reaper-function-"
    )
    assert schedule["target"]["roleArn"].startswith(
        f"arn:aws:iam::{MOCK_ACCOUNT}:role/dbaccess-service/reaper-scheduler-role-"
    )
    assert (function["runtime"], function["architectures"]) == ("python3.13", ["arm64"])
    assert function["handler"] == "dbaccess.reaper.handler.lambda_handler"
    assert function["reservedConcurrentExecutions"] == 1
    variables = function["environment"]["variables"]
    assert (variables["DBACCESS_UNUSED_DAYS"], variables["DBACCESS_NOTICE_DAYS"]) == ("90", "14,3")
    assert variables["DBACCESS_TIMEZONE"] == "Europe/London"
    assert variables["DBACCESS_REPORT_URL"].endswith("/stale-grants.json")
    assert sorted(json.loads(variables["DBACCESS_USAGE_READER_ROLES"])) == [PROD, STAGING]
    assert program.run.outputs["staleGrantsReport"] == variables["DBACCESS_REPORT_URL"]


@pytest.mark.parametrize(
    ("run_at", "expression"),
    [
        ("09:00", "cron(0 9 * * ? *)"),
        ("07:45", "cron(45 7 * * ? *)"),
        ("00:05", "cron(5 0 * * ? *)"),
    ],
)
def test_schedule_expression(run_at: str, expression: str) -> None:
    assert schedule_expression(run_at) == expression


def test_the_lambda_role_has_exactly_its_statements_and_no_wildcard_resource(
    run_sample: ProgramRunner,
) -> None:
    program = run_sample()
    statements = document(program, "reaper-policy")["Statement"]
    by_sid = {s["Sid"]: (s["Action"], s["Resource"]) for s in statements}
    readers = sorted(by_sid["AssumeUsageReaders"][1])
    assert [r.split(":")[4] for r in readers] == [PROD, STAGING]
    assert all(":role/dbaccess-service/reaper-usage-reader-" in r for r in readers)
    table = by_sid["RequestsByEmail"][1]
    assert by_sid["RequestsByEmail"][0] == "dynamodb:Query"
    assert table.startswith(f"arn:aws:dynamodb:eu-west-1:{MOCK_ACCOUNT}:table/issuer-requests-")
    assert table.endswith("/index/by-email")
    state = by_sid["ReaperState"][1]
    assert by_sid["ReaperState"][0] == ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan"]
    assert state.startswith(f"arn:aws:dynamodb:eu-west-1:{MOCK_ACCOUNT}:table/reaper-state-")
    bucket = program.run.outputs["catalog"].removeprefix("s3://").split("/")[0]
    assert by_sid["CatalogRead"] == ("s3:GetObject", f"arn:aws:s3:::{bucket}/catalog.json")
    assert by_sid["ReportWrite"] == ("s3:PutObject", f"arn:aws:s3:::{bucket}/stale-grants.json")
    assert by_sid["SlackBotToken"] == (
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbaccess/slack-bot-token-Xy12Ab",
    )
    logs = by_sid["Logs"]
    assert logs[0] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs[1].startswith(f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:reaper-logs-")
    assert logs[1].endswith(":*")  # the group's log streams
    key = by_sid["RequestTableKey"]
    assert key[0] == "kms:Decrypt"
    assert key[1].startswith(f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:key/")
    assert list(by_sid) == [
        "AssumeUsageReaders",
        "RequestsByEmail",
        "RequestTableKey",
        "ReaperState",
        "CatalogRead",
        "ReportWrite",
        "SlackBotToken",
        "Logs",
    ]
    for s in statements:
        assert s["Effect"] == "Allow"
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert "*" not in resources
        assert all(r.count("*") == (1 if s["Sid"] == "Logs" else 0) for r in resources), s


def test_each_account_has_a_usage_reader_that_only_reads_person_roles(
    run_sample: ProgramRunner,
) -> None:
    program = run_sample()
    reaper_role = program.named("reaper-policy").inputs["role"]
    for account in (PROD, STAGING):
        assert document(program, f"reaper-usage-reader-{account}-policy") == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadPersonRoles",
                    "Effect": "Allow",
                    "Action": "iam:GetRole",
                    "Resource": f"arn:aws:iam::{account}:role/dbaccess/*",
                }
            ],
        }
        assert document(program, f"reaper-usage-reader-{account}") == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GrantReaper",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": f"arn:aws:iam::{MOCK_ACCOUNT}:role/dbaccess-service/{reaper_role}"
                    },
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        # Outside /dbaccess/: the reader is not a person role and reads none of its own kind.
        assert program.named(f"reaper-usage-reader-{account}").inputs["path"] == (
            "/dbaccess-service/"
        )


def test_only_the_scheduler_invokes_the_reaper(run_sample: ProgramRunner) -> None:
    program = run_sample()
    [statement] = document(program, "reaper-scheduler-policy")["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"].startswith(
        f"arn:aws:lambda:eu-west-1:{MOCK_ACCOUNT}:function:reaper-function-"
    )
    assert document(program, "reaper-scheduler-role") == services.scheduler_trust_policy(
        MOCK_ACCOUNT
    )


def test_the_request_table_key_is_decryptable() -> None:
    policy = services.reaper_policy(
        usage_reader_role_arns=["arn:aws:iam::123456789012:role/r"],
        request_table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/t",
        request_table_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k",
        state_table_arn="arn:aws:dynamodb:eu-west-1:123456789012:table/s",
        catalog_object_arn="arn:aws:s3:::b/catalog.json",
        report_object_arn="arn:aws:s3:::b/stale-grants.json",
        slack_token_secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
        log_group_arn="arn:aws:logs:eu-west-1:123456789012:log-group:g",
    )
    [key] = [s for s in policy["Statement"] if s["Sid"] == "RequestTableKey"]
    assert (key["Action"], key["Resource"]) == (
        "kms:Decrypt",
        "arn:aws:kms:eu-west-1:123456789012:key/k",
    )
