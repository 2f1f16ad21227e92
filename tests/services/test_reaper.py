"""The grant reaper end to end: moto (S3, DynamoDB with the by-email index, IAM in two accounts,
STS, Secrets Manager) and the fake Slack, driven through the real `lambda_handler`.

GIVEN a catalog, request history, role usage and what the reaper saw before; WHEN it runs on
2026-11-23 (UTC); THEN the DMs Slack received and the report in S3 say what a person sees.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.iam.models import iam_backends

from dbaccess import request_table as rq
from dbaccess import service_env
from dbaccess.access import load_access_text
from dbaccess.access.naming import role_name_for
from dbaccess.catalog import build_catalog, to_json
from dbaccess.iam.documents import role_arn
from dbaccess.reaper import handler
from dbaccess.reaper import settings as env
from dbaccess.reaper.core import GrantKey, parse_report
from dbaccess.reaper.run import logger, seen_key
from tests.fakes.slack import FakeSlack, dm_channel_id
from tests.services.issuer_world import TABLE as REQUESTS
from tests.services.issuer_world import create_table, powertools_lines

REGION = "eu-west-1"
PROD, STAGING = "111111111111", "222222222222"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
STATE, BUCKET = "dbaccess-reaper", "dbaccess-catalog-test"
READER = "arn:aws:iam::{}:role/dbaccess-service/dbaccess-usage-reader"

USED = "used.recently@example.com"
UNUSED_80 = "unused.eighty@example.com"
UNUSED_100 = "unused.hundred@example.com"
NEW = "new.grant@example.com"
ROLE_USER = "role.user@example.com"
UNTIL = "until.soon@example.com"
SLACK_IDS = {USED: "U0USED", UNUSED_80: "U0EIGHTY", UNUSED_100: "U0HUNDRED", UNTIL: "U0UNTIL"}

ACCESS = f"""
version: 1
databases:
  orders:
    engine: postgres
    account: "{PROD}"
    region: eu-west-1
    instance: orders-prod
    host: orders.example.internal
    port: 5432
    database: orders
    admin_login: dbaccess_admin
  payments:
    engine: aurora-postgresql
    account: "{STAGING}"
    region: eu-west-1
    cluster: payments-staging
    host: payments.example.internal
    port: 5432
    database: payments
    admin_login: dbaccess_admin
people:
  {USED}:
    grants: [{{database: orders, access: read-only}}]
  {UNUSED_80}:
    grants: [{{database: orders, access: read-only}}]
  {UNUSED_100}:
    grants: [{{database: orders, access: read-only}}]
  {NEW}:
    grants: [{{database: orders, access: read-only}}]
  {ROLE_USER}:
    grants:
      - {{database: orders, access: read-only}}
      - {{database: payments, access: read-only}}
  {UNTIL}:
    grants:
      - {{database: payments, access: read-only, until: {TODAY + dt.timedelta(days=3)}}}
"""


def days_ago(n: int) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


class FakeContext:
    aws_request_id = "reaper-test"
    function_name = "dbaccess-reaper"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{PROD}:function:reaper"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class World:
    slack: FakeSlack
    dynamodb: Any
    s3: Any
    roles: dict[tuple[str, str], str]  # (email, account) -> role name

    # GIVEN

    def issued(
        self, email: str, database: str, when: dt.datetime, access: str = "read-only"
    ) -> None:
        item = rq.new_request(
            request_id=str(uuid.uuid4()),
            email=email,
            slack_user_id=SLACK_IDS[email],
            channel=dm_channel_id(SLACK_IDS[email]),
            database=database,
            access=access,
            requested_at=when,
        )
        item[rq.STATUS] = rq.Status.ISSUED.value
        item[rq.ISSUED_AT] = rq.iso_utc(when + dt.timedelta(seconds=3))
        self.dynamodb.put_item(TableName=REQUESTS, Item=rq.to_item(item))

    def denied(self, email: str, database: str, when: dt.datetime) -> None:
        item = rq.new_request(
            request_id=str(uuid.uuid4()),
            email=email,
            slack_user_id=SLACK_IDS[email],
            channel="D0",
            database=database,
            access="read-only",
            requested_at=when,
        )
        item[rq.STATUS] = rq.Status.DENIED.value
        self.dynamodb.put_item(TableName=REQUESTS, Item=rq.to_item(item))

    def first_seen(self, email: str, database: str, when: dt.datetime) -> None:
        key = GrantKey(email, database, "read-only")
        self.dynamodb.put_item(
            TableName=STATE,
            Item={"key": {"S": seen_key(key)}, "first_seen": {"S": when.date().isoformat()}},
        )

    def role_used(self, email: str, account: str, when: dt.datetime) -> None:
        # moto keeps RoleLastUsed as a public attribute of its role model (moto issue #6859);
        # real IAM sets it when the role is used, which moto does only with "now".
        name = self.roles[email, account]
        iam_backends[account]["aws"].get_role(name).last_used = when

    # WHEN

    def run(self) -> dict[str, Any]:
        handler._reaper = handler.cold_start(clock=lambda: NOW)
        return handler.lambda_handler({}, FakeContext())  # type: ignore[arg-type]

    # THEN

    def dms(self, email: str) -> list[dict[str, Any]]:
        channel = dm_channel_id(SLACK_IDS[email])
        return [
            c for c in self.slack.calls("chat.postMessage", ok_only=True) if c["channel"] == channel
        ]

    def report(self) -> dict[GrantKey, str]:
        body = self.s3.get_object(Bucket=BUCKET, Key="stale-grants.json")["Body"].read()
        return {g.key: g.reason for g in parse_report(body).grants}


def text_of(message: dict[str, Any]) -> str:
    parts = []
    for block in message["blocks"]:
        if block["type"] == "section":
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts += [e["text"] for e in block["elements"]]
    return "\n".join(parts)


def in_account(account: str) -> boto3.Session:
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/dbaccess-deploy", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), FakeSlack() as slack:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb)  # the request table, as the issuer tests make it
        dynamodb.create_table(
            TableName=STATE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
        )
        plan = load_access_text(ACCESS, "access.yaml", today=TODAY)
        roles: dict[tuple[str, str], str] = {}
        arns: dict[str, dict[str, str]] = {}
        for account in (PROD, STAGING):
            iam = in_account(account).client("iam")
            iam.create_role(
                RoleName="dbaccess-usage-reader",
                Path="/dbaccess-service/",
                AssumeRolePolicyDocument="{}",
            )
            for email, person in plan.people.items():
                if account in plan.accounts_of(person):
                    iam.create_role(
                        RoleName=person.role_name, Path="/dbaccess/", AssumeRolePolicyDocument="{}"
                    )
                    roles[email, account] = person.role_name
                    arns.setdefault(email, {})[account] = role_arn(account, person.role_name)
        assert role_name_for("roleuser") == roles[ROLE_USER, PROD]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        ids = {"orders": "db-ORDERS", "payments": "cluster-PAYMENTS"}
        s3.put_object(
            Bucket=BUCKET, Key="catalog.json", Body=to_json(build_catalog(plan, arns, ids))
        )
        secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="dbaccess/slack-bot-token", SecretString=slack.bot_token
        )["ARN"]
        for email, user in SLACK_IDS.items():
            slack.add_user(user, email)
        for name, value in {
            service_env.CATALOG_URL: f"s3://{BUCKET}/catalog.json",
            env.REPORT_URL: f"s3://{BUCKET}/stale-grants.json",
            service_env.REQUEST_TABLE: REQUESTS,
            env.REAPER_TABLE: STATE,
            service_env.SLACK_TOKEN_SECRET_ARN: secret_arn,
            service_env.SLACK_API_URL: slack.api_url,
            env.UNUSED_DAYS: "90",
            env.NOTICE_DAYS: "14,3",
            env.TIMEZONE: "UTC",
            env.USAGE_READER_ROLES: json.dumps({a: READER.format(a) for a in (PROD, STAGING)}),
        }.items():
            monkeypatch.setenv(name, value)
        world = World(slack, dynamodb, s3, roles)
        # GIVEN the reaper has known every grant for 200 days, except the new one
        for email, person in plan.people.items():
            for grant in person.grants:
                seen = days_ago(5) if email == NEW else days_ago(200)
                world.first_seen(email, grant.database, seen)
        yield world
        monkeypatch.setattr(handler, "_reaper", None)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The reaper's log lines."""
    with powertools_lines(logger) as stream:
        yield stream


def test_a_grant_used_ten_days_ago_stays_and_gets_no_notice(world: World) -> None:
    world.issued(USED, "orders", days_ago(10))
    world.issued(USED, "orders", days_ago(120))
    world.run()
    assert world.dms(USED) == []
    assert GrantKey(USED, "orders", "read-only") not in world.report()


def test_unused_for_80_days_gets_the_14_day_notice_once_even_when_run_twice(
    world: World,
) -> None:
    world.issued(UNUSED_80, "orders", days_ago(80))
    world.denied(UNUSED_80, "orders", days_ago(2))  # a denied request is no use
    world.run()
    world.run()
    [dm] = world.dms(UNUSED_80)
    text = text_of(dm)
    assert "*orders* read-only: last used Fri 04 Sep 2026" in text
    assert "removal on Thu 03 Dec 2026" in text
    assert "Use it once to keep it, or ask to renew." in text
    assert dm["unfurl_links"] is False
    assert GrantKey(UNUSED_80, "orders", "read-only") not in world.report()


def test_unused_for_100_days_is_in_the_report_and_not_noticed(world: World) -> None:
    world.issued(UNUSED_100, "orders", days_ago(100))
    world.run()
    assert world.report()[GrantKey(UNUSED_100, "orders", "read-only")] == "unused"
    body = world.s3.get_object(Bucket=BUCKET, Key="stale-grants.json")["Body"].read()
    [entry] = [g for g in json.loads(body)["grants"] if g["email"] == UNUSED_100]
    assert entry == {
        "email": UNUSED_100,
        "database": "orders",
        "access": "read-only",
        "login": "unusedhundred_ro",
        "reason": "unused",
        "removal_date": "2026-11-13",
        "last_used": "2026-08-15",
        "role_last_used": None,
        "first_seen": "2026-05-07",
    }
    assert world.dms(UNUSED_100) == []


def test_a_grant_first_seen_five_days_ago_is_never_stale(world: World) -> None:
    world.run()
    assert GrantKey(NEW, "orders", "read-only") not in world.report()
    # and a grant the reaper never saw before is recorded today, not reported
    summary = world.run()
    assert summary["first_seen"] == 0


def test_a_recently_used_role_keeps_its_grants_in_that_account_only(world: World) -> None:
    world.role_used(ROLE_USER, PROD, days_ago(20))
    world.run()
    report = world.report()
    assert GrantKey(ROLE_USER, "orders", "read-only") not in report
    assert report[GrantKey(ROLE_USER, "payments", "read-only")] == "unused"


def test_a_grant_whose_until_is_three_days_ahead_gets_the_3_day_notice(world: World) -> None:
    world.issued(UNTIL, "payments", days_ago(1))
    world.run()
    [dm] = world.dms(UNTIL)
    assert "*payments* read-only: ends on Thu 26 Nov 2026 (its `until` date)" in text_of(dm)
    assert GrantKey(UNTIL, "payments", "read-only") not in world.report()


def test_someone_who_never_used_slack_is_found_by_email(world: World) -> None:
    # GIVEN a grant used through the CLI (the role), never requested through Slack
    world.role_used(UNTIL, STAGING, days_ago(2))
    world.run()
    # THEN its owner is looked up by email and told about the removal
    assert world.slack.calls("users.lookupByEmail", ok_only=True)
    [dm] = world.dms(UNTIL)
    assert "*payments* read-only: ends on Thu 26 Nov 2026 (its `until` date)" in text_of(dm)


def test_one_dm_per_person_lists_every_grant_due(world: World) -> None:
    # GIVEN two grants of one person, both unused for 80 days
    world.issued(UNUSED_80, "orders", days_ago(80))
    world.issued(UNUSED_80, "orders", days_ago(80), access="read-write")
    world.run()
    # the read-write one is not in the catalog: only granted grants are noticed
    [dm] = world.dms(UNUSED_80)
    assert text_of(dm).count("• *orders*") == 1


def test_the_slack_token_and_messages_never_reach_the_logs(
    world: World, json_logs: io.StringIO
) -> None:
    world.issued(UNUSED_80, "orders", days_ago(80))
    world.run()
    logs = json_logs.getvalue()
    assert "expiry notice sent" in logs
    assert world.slack.bot_token not in logs
    assert "Use it once" not in logs
    [summary] = [json.loads(line) for line in logs.splitlines() if '"reaper run"' in line]
    assert summary["summary"]["notices_sent"] >= 1


def test_a_person_slack_cannot_reach_is_retried_the_next_run(world: World) -> None:
    world.issued(UNUSED_80, "orders", days_ago(80))
    world.slack.fail("chat.postMessage", "internal_error")
    first = world.run()
    assert UNUSED_80 in first["people_unreachable"]
    world.run()
    assert len(world.dms(UNUSED_80)) == 1


def test_an_account_whose_roles_cannot_be_read_gets_no_verdict(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.USAGE_READER_ROLES, json.dumps({PROD: READER.format(PROD)}))
    world.run()
    summary = world.run()
    assert summary["accounts_unreadable"] == [STAGING]
    report = world.report()
    assert GrantKey(ROLE_USER, "payments", "read-only") not in report
    assert GrantKey(ROLE_USER, "orders", "read-only") in report
