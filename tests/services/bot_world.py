"""The bot's world for tests: the issuer's world (moto DynamoDB + stream, S3 catalog, the fake
Slack and PrivateBin) plus the real bot, connected over Socket Mode to the fake Slack.

Every wait is bounded (TIMEOUT), so a bug fails a test instead of hanging the suite.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from dbaccess import request_table as rq
from dbaccess.bot.app import Bot
from dbaccess.bot.settings import BotSettings
from tests.fakes.slack import app_home_opened_event, block_actions_payload, slash_command_payload
from tests.services.issuer_world import BUCKET, REGION, TABLE, World, world

__all__ = ["BotWorld", "bot_world", "world"]

TIMEOUT = 5.0
HELP_CHANNEL = "C0DBHELP42"


def wait_until(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what or predicate}")
        time.sleep(0.01)


def catalog_database(key: str, engine: str = "postgres", **extra: Any) -> dict[str, Any]:
    return {
        "engine": engine,
        "account": "123456789012",
        "region": REGION,
        "host": f"{key}.c9akciq32.{REGION}.rds.amazonaws.com",
        "port": 5432,
        "database": key.replace("-", "_"),
        "identifier": key,
        "resource_id": f"db-{key.upper().replace('-', '')}",
        "description": f"The {key} database",
        "production": False,
        "groups": {"read-only": "dbaccess_read_only", "read-write": "dbaccess_read_write"},
        **extra,
    }


def catalog_document(
    people: dict[str, Iterable[tuple[str, str]]], databases: dict[str, dict[str, Any]]
) -> str:
    """A catalog.json with these people's (database, access) grants."""
    return json.dumps(
        {
            "schema_version": 1,
            "databases": databases,
            "people": {
                email: {
                    "login_base": email.split("@")[0].replace(".", ""),
                    "roles": {"123456789012": "arn:aws:iam::123456789012:role/dbaccess/x"},
                    "grants": [
                        {
                            "database": db,
                            "access": access,
                            "login": f"x_{access[5:7]}",
                            "until": None,
                        }
                        for db, access in grants
                    ],
                }
                for email, grants in people.items()
            },
        }
    )


@dataclass
class BotWorld:
    world: World
    bot: Bot
    caplog: pytest.LogCaptureFixture
    s3: Any = field(default_factory=lambda: boto3.client("s3", region_name=REGION))

    @property
    def slack(self) -> Any:
        return self.world.slack

    # --- GIVEN -------------------------------------------------------------------------

    def publish_catalog(self, text: str) -> None:
        self.s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=text)

    # --- WHEN --------------------------------------------------------------------------

    def open_home(self, user_id: str) -> dict[str, Any]:
        before = len(self.slack.calls("views.publish"))
        self.slack.send_event(app_home_opened_event(user_id)).ack(TIMEOUT)
        return self.slack.wait_for_call("views.publish", before + 1, TIMEOUT)[before]

    def click(self, user_id: str, action_id: str, value: str, **kwargs: Any) -> dict[str, Any]:
        """Click a button; returns the payload after checking Slack got its ack."""
        payload = block_actions_payload(user_id, action_id, value, **kwargs)
        envelope = self.slack.send_interactive(payload)
        assert envelope.ack(TIMEOUT) == {"envelope_id": envelope.envelope_id}
        return payload

    def command(self, user_id: str, **kwargs: Any) -> None:
        envelope = self.slack.send_slash_command(
            slash_command_payload("/dbaccess", "", user_id, **kwargs)
        )
        assert envelope.ack(TIMEOUT)["envelope_id"] == envelope.envelope_id

    # --- THEN --------------------------------------------------------------------------

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """What the person was told: DMs and ephemerals, in order."""
        dm = f"D{user_id[1:]}"
        return [
            c
            for c in self.slack.history()
            if c.ok
            and (
                (c.method == "chat.postMessage" and c.args.get("channel") == dm)
                or (c.method == "chat.postEphemeral" and c.args.get("user") == user_id)
            )
        ]

    def wait_for_message(self, user_id: str, count: int = 1) -> dict[str, Any]:
        messages = wait_until(
            lambda: (m := self.messages_to(user_id)) and len(m) >= count and m,
            what=f"message {count} to {user_id}",
        )
        message: dict[str, Any] = messages[count - 1].args
        return message

    def wait_for_log(self, text: str) -> None:
        wait_until(lambda: any(text in r.getMessage() for r in self.caplog.records), what=text)

    def items(self) -> list[dict[str, Any]]:
        return self.world.dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]


def settings_for(world: World, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "bot_token": world.slack.bot_token,
        "app_token": world.slack.app_token,
        "slack_api_url": world.slack.api_url,
        "request_table": TABLE,
        "catalog_bucket": BUCKET,
        "catalog_key": "catalog.json",
        "help_channel": HELP_CHANNEL,
        "health_port": 0,
    }
    return BotSettings(**(values | overrides))


@pytest.fixture
def bot_world(world: World, caplog: pytest.LogCaptureFixture) -> Iterator[BotWorld]:
    caplog.set_level(logging.INFO, logger="dbaccess")
    bot = Bot(settings_for(world))
    bot.start()
    try:
        world.slack.wait_connected(TIMEOUT)
        yield BotWorld(world, bot, caplog)
    finally:
        bot.stop()  # before the fake Slack stops, or the client keeps reconnecting


def requested_at(item: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(item[rq.REQUESTED_AT]["S"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC
    )
