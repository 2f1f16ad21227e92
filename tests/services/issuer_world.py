"""The issuer's world for tests: moto (DynamoDB with its stream, S3, STS, Secrets Manager,
Redshift), a fake PrivateBin and a fake Slack, and a small event source mapping that reads
the real stream and calls the real `lambda_handler` the way Lambda does.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws

from dbaccess import request_table as rq
from dbaccess import service_env
from dbaccess.access import load_access_file, load_access_text
from dbaccess.catalog import build_catalog, to_json
from dbaccess.iam.documents import role_arn
from dbaccess.issuer import handler
from dbaccess.issuer import settings as env
from dbaccess.issuer.flow import logger
from tests.fakes.privatebin import FakePrivateBin
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
REGION = "eu-west-1"
TABLE = "dbaccess-requests"
ACCESS_CONTACT = "open a pull request on access.yaml"
SUPPORT_CONTACT = "tell #db-access-support"
BUCKET = "dbaccess-catalog-test"
SECRET_NAME = "dbaccess/slack-bot-token"
RESOURCE_IDS = {"orders": "db-ORDERS0000000000000000000", "inventory": "db-INVENTORY00000000000000"}
SLACK_USERS = {
    "hugo.henley@example.com": "U0HUGO",
    "priya.raman@example.com": "U0PRIYA",
    "fatima.zahra@example.com": "U0FATIMA",
    "marco.rossi@example.com": "U0MARCO",
    "tomas.novak@example.com": "U0TOMAS",
}
LINK = re.compile(r"<(http://[^|>]+)\|")


class FakeContext:
    """What Lambda passes as `context`, as far as the handler uses it: the remaining time
    counts down from `remaining_ms` as Lambda's does."""

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "dbaccess-issuer"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:issuer"
        self._ends = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def invoke_issuer(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """The issuer's handler on one batch of stream records, as Lambda invokes it."""
    from dbaccess.issuer import handler

    return handler.lambda_handler({"Records": batch}, cast(LambdaContext, FakeContext()))


def matches_filter(record: dict[str, Any]) -> bool:
    """The event source mapping's filter (see dbaccess.requests.STREAM_FILTER)."""
    pattern = rq.STREAM_FILTER
    image = record.get("dynamodb", {}).get("NewImage", {})
    return (
        record.get("eventName") in pattern["eventName"]
        and image.get(rq.STATUS, {}).get("S") in pattern["dynamodb"]["NewImage"][rq.STATUS]["S"]
    )


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from GetRecords in the shape Lambda delivers it (epoch seconds, source ARN)."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": stream, "eventSourceARN": stream_arn}


@dataclass
class Delivery:
    """What the mini event source mapping did."""

    invocations: int = 0
    responses: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)


class StreamReader:
    """Reads a DynamoDB stream's new records the way Lambda's event source mapping does."""

    def __init__(self, stream_arn: str, endpoint_url: str | None = None) -> None:
        self.stream_arn = stream_arn
        # moto knows the classic endpoint, not botocore's account-based one.
        self._streams = boto3.client(
            "dynamodbstreams",
            region_name=REGION,
            endpoint_url=endpoint_url,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        self._positions: dict[str, str] = {}

    def new_records(self) -> list[dict[str, Any]]:
        """Every record written since the last call, in order, as Lambda would see them."""
        streams = self._streams
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        found = []
        for shard in shards:
            shard_id = shard["ShardId"]
            position = self._positions.get(shard_id)
            args: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                if position
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **args
            )["ShardIterator"]
            records = streams.get_records(ShardIterator=iterator)["Records"]
            if records:
                self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            found += [lambda_record(r, self.stream_arn) for r in records]
        return found


def deliver_batches(
    records: list[dict[str, Any]],
    invoke: Callable[[list[dict[str, Any]]], dict[str, Any]],
    *,
    batch_size: int = 10,
    max_retries: int = 3,
) -> Delivery:
    """Lambda's event source mapping, in small: filter, batch, and on reported failures retry
    from the first failed record, at most `max_retries` times, then dead-letter."""
    delivery = Delivery()
    pending = [r for r in records if matches_filter(r)]
    while pending:
        batch, pending = pending[:batch_size], pending[batch_size:]
        retries = 0
        while batch:
            response = invoke(batch)
            delivery.invocations += 1
            delivery.responses.append(response)
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            if not failed:
                break
            first = min(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
            if retries == max_retries:
                delivery.dead_letters += batch[first:]
                break
            retries += 1
            batch = batch[first:]
    return delivery


@dataclass
class Fault:
    """An injected fault: the calls it refused; `active = False` ends it."""

    refused: list[dict[str, Any]] = field(default_factory=list)
    active: bool = True


@dataclass
class World:
    slack: FakeSlack
    privatebin: FakePrivateBin
    stream_arn: str
    bot_token: str
    dynamodb: Any = field(default_factory=lambda: boto3.client("dynamodb", region_name=REGION))
    assume_role_calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stream = StreamReader(self.stream_arn)

    # --- GIVEN -------------------------------------------------------------------------

    def request(
        self, email: str, database: str, access: str = "read-only", request_id: str | None = None
    ) -> str:
        request_id = request_id or f"{uuid.uuid4()}"
        user = SLACK_USERS[email]
        stored = rq.RequestTable(self.dynamodb, TABLE).put(
            rq.new_request(
                request_id=request_id,
                email=email,
                slack_user_id=user,
                channel=f"D{user[1:]}",
                database=database,
                access=access,
            )
        )
        assert stored, f"request {request_id} exists already"
        return request_id

    # --- WHEN --------------------------------------------------------------------------

    def new_stream_records(self) -> list[dict[str, Any]]:
        """Every record written since the last call, in order, as Lambda would see them."""
        return self._stream.new_records()

    def invoke(self, records: list[dict[str, Any]], remaining_ms: int = 60_000) -> dict[str, Any]:
        context = FakeContext(remaining_ms)
        return handler.lambda_handler({"Records": records}, context)  # type: ignore[arg-type]

    def deliver(
        self,
        batch_size: int = 10,
        max_retries: int = 3,
        records: list[dict[str, Any]] | None = None,
    ) -> Delivery:
        """Lambda's event source mapping, in small: filter, batch, and on reported failures
        retry from the first failed record, at most `max_retries` times, then dead-letter.
        `records`: these (e.g. dead letters being re-driven) instead of the stream's new ones."""
        return deliver_batches(
            self.new_stream_records() if records is None else records,
            self.invoke,
            batch_size=batch_size,
            max_retries=max_retries,
        )

    def advance_clock(self, seconds: float) -> None:
        """Move the issuer's wall clock (leases, grant expiry) forward."""
        issuer = handler.issuer()
        now = issuer.clock()
        issuer.clock = lambda: now + dt.timedelta(seconds=seconds)

    def refuse_dynamodb(
        self, operation: str, code: str, when: Callable[[dict[str, Any]], bool]
    ) -> Fault:
        """Until the fault is ended, DynamoDB answers the issuer's `operation` calls for which
        `when(params)` holds with the error `code` (HTTP 400; 500 for InternalServerError)."""
        fault = Fault()
        status = 500 if code == "InternalServerError" else 400

        def answer(params: dict[str, Any], **_: Any) -> Any:
            # `params` is the serialised request here: DynamoDB's is a JSON body.
            api_params = json.loads(params["body"])
            if not (fault.active and when(api_params)):
                return None
            fault.refused.append(api_params)
            error = {"Error": {"Code": code, "Message": "injected by the test"}}
            return AWSResponse("https://dynamodb", status, {}, None), {
                **error,
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

        events = handler.issuer().table.client.meta.events
        events.register(f"before-call.dynamodb.{operation}", answer)
        return fault

    # --- THEN --------------------------------------------------------------------------

    def item(self, request_id: str) -> dict[str, Any]:
        return self.dynamodb.get_item(
            TableName=TABLE, Key={rq.REQUEST_ID: {"S": request_id}}, ConsistentRead=True
        )["Item"]

    def status(self, request_id: str) -> str:
        return self.item(request_id)[rq.STATUS]["S"]

    def dms(self, email: str) -> list[dict[str, Any]]:
        """The messages Slack accepted in this person's DM."""
        channel = f"D{SLACK_USERS[email][1:]}"
        return [
            c for c in self.slack.calls("chat.postMessage", ok_only=True) if c["channel"] == channel
        ]

    @staticmethod
    def dm_text(message: dict[str, Any]) -> str:
        return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")

    def link_in(self, message: dict[str, Any]) -> str:
        found = LINK.search(self.dm_text(message))
        assert found, self.dm_text(message)
        return found.group(1)


def catalog_document(access_text: str | None = None) -> str:
    """The catalog the program writes for the repository's access.yaml (or `access_text`)."""
    today = dt.datetime.now(dt.UTC).date()
    plan = (
        load_access_text(access_text, "access.yaml", today=today)
        if access_text is not None
        else load_access_file(ROOT / "access.yaml", today=today)
    )
    roles = {
        email: {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}
        for email, person in plan.people.items()
    }
    return to_json(build_catalog(plan, roles, RESOURCE_IDS))


def create_table(dynamodb: Any) -> str:
    """The request table as the component declares it (key, stream, GSI)."""
    answer = dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": rq.REQUEST_ID, "AttributeType": "S"},
            {"AttributeName": rq.EMAIL, "AttributeType": "S"},
            {"AttributeName": rq.REQUESTED_AT, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": rq.REQUEST_ID, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": rq.EMAIL_INDEX,
                "KeySchema": [
                    {"AttributeName": rq.EMAIL, "KeyType": "HASH"},
                    {"AttributeName": rq.REQUESTED_AT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(answer["TableDescription"]["LatestStreamArn"])


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
    with mock_aws(), FakeSlack() as slack, FakePrivateBin() as privatebin:
        stream_arn = create_table(boto3.client("dynamodb", region_name=REGION))
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=catalog_document())
        secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_NAME, SecretString=slack.bot_token
        )["ARN"]
        for email, user in SLACK_USERS.items():
            slack.add_user(user, email)
        for name, value in {
            service_env.REQUEST_TABLE: TABLE,
            service_env.CATALOG_URL: f"s3://{BUCKET}/catalog.json",
            env.PRIVATEBIN_URL: privatebin.url,
            env.PASTE_EXPIRE: "10min",
            service_env.SLACK_TOKEN_SECRET_ARN: secret_arn,
            service_env.SLACK_API_URL: slack.api_url,
            service_env.ACCESS_CONTACT: ACCESS_CONTACT,
            service_env.SUPPORT_CONTACT: SUPPORT_CONTACT,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handler, "_issuer", None)
        world = World(slack, privatebin, stream_arn, slack.bot_token)
        # Record what the issuer asks STS for (moto accepts but does not keep SourceIdentity).
        issuer = handler.issuer()
        issuer._session.events.register(
            "provide-client-params.sts.AssumeRole",
            lambda params, **_: world.assume_role_calls.append(dict(params)),
        )
        yield world
        monkeypatch.setattr(handler, "_issuer", None)


@contextmanager
def powertools_lines(powertools_logger: Logger) -> Iterator[io.StringIO]:
    """What a Powertools logger writes (the lines CloudWatch would get), while open."""
    stream = io.StringIO()
    handler_ = powertools_logger.registered_handler
    assert isinstance(handler_, logging.StreamHandler)
    previous = handler_.setStream(stream)
    try:
        yield stream
    finally:
        handler_.setStream(previous)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The issuer's log lines."""
    with powertools_lines(logger) as stream:
        yield stream


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())
