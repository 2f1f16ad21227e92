"""The bot under faults (issue 15's table): every click acked in time whatever DynamoDB does, a
true reply for each, and a Socket Mode connection that is watched for real liveness. The real
bot over Socket Mode to the fake Slack; faults injected at the AWS client and the socket."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import EndpointConnectionError

from dbaccess.bot import views
from dbaccess.bot.app import STALE_AFTER
from dbaccess.bot.ids import RequestChoice
from tests.fakes.slack import Envelope, block_actions_payload
from tests.services.bot_world import BotWorld, bot_world, wait_until, world
from tests.services.issuer_world import SLACK_USERS

__all__ = ["bot_world", "world"]

CLICKERS = {  # a grant each holds (see access.yaml)
    "fatima.zahra@example.com": RequestChoice("orders", "read-only"),
    "hugo.henley@example.com": RequestChoice("orders", "read-only"),
    "marco.rossi@example.com": RequestChoice("orders", "read-only"),
    "priya.raman@example.com": RequestChoice("analytics", "read-only"),
}


def dynamodb_events(bot_world: BotWorld) -> Any:
    return bot_world.bot.services.recorder.table.client.meta.events


def click_all(bot_world: BotWorld, per_person: int) -> list[tuple[str, Envelope]]:
    """Every clicker clicks their button `per_person` times, all at once."""
    sent = []
    for _ in range(per_person):
        for email, choice in CLICKERS.items():
            user = SLACK_USERS[email]
            payload = block_actions_payload(user, choice.action_id, choice.value)
            sent.append((user, bot_world.slack.send_interactive(payload)))
    return sent


def texts_to(bot_world: BotWorld, user: str) -> list[str]:
    return [str(c.args.get("text")) for c in bot_world.messages_to(user)]


def health(bot_world: BotWorld) -> int:
    url = f"http://127.0.0.1:{bot_world.bot.health.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_burst_of_clicks_with_slow_dynamodb_is_acked_within_a_second(
    bot_world: BotWorld,
) -> None:
    # GIVEN DynamoDB answers every call after 1 second
    dynamodb_events(bot_world).register("before-send.dynamodb", lambda **_: time.sleep(1.0))

    # WHEN 12 clicks arrive at once (more than Bolt's default 5 listener threads)
    sent = click_all(bot_world, per_person=3)

    # THEN every click was acked within a second
    latencies = [envelope.ack(5.0) and envelope.latency for _, envelope in sent]
    assert len(latencies) == 12
    assert max(latency or 99 for latency in latencies) < 1.0
    # AND each person is told, truthfully, that their 3 requests were received
    for email, choice in CLICKERS.items():
        user = SLACK_USERS[email]
        wait_until(lambda u=user: len(texts_to(bot_world, u)) >= 3, timeout=20)
        assert texts_to(bot_world, user) == [views.request_received(choice)] * 3
    assert len(bot_world.items()) == 12


def test_dynamodb_unreachable_every_click_is_acked_and_told_to_try_again(
    bot_world: BotWorld,
) -> None:
    # GIVEN DynamoDB cannot be reached (each attempt fails after half a second)
    def unreachable(**_: Any) -> None:
        time.sleep(0.5)
        raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    dynamodb_events(bot_world).register("before-send.dynamodb", unreachable)

    # WHEN 32 clicks arrive at once
    sent = click_all(bot_world, per_person=8)

    # THEN every click was acked in time
    for _, envelope in sent:
        envelope.ack(5.0)
        assert envelope.latency is not None
        assert envelope.latency < 1.0
    # AND every click got the truth: nothing recorded, try again in a minute
    for email, choice in CLICKERS.items():
        user = SLACK_USERS[email]
        wait_until(lambda u=user: len(texts_to(bot_world, u)) >= 8, timeout=30)
        assert texts_to(bot_world, user) == [views.failed_to_record(choice)] * 8
    assert "try again in a minute" in views.failed_to_record(CLICKERS["hugo.henley@example.com"])


def test_a_connection_dropped_without_a_close_frame_is_replaced_within_10_s(
    bot_world: BotWorld,
) -> None:
    # GIVEN a connected bot
    opened = bot_world.slack.connections_opened

    # WHEN the network drops the connection without a WebSocket close frame
    dropped = time.monotonic()
    bot_world.slack.drop_connection()

    # THEN a new connection is up within 10 seconds, and clicks are acked on it
    wait_until(lambda: bot_world.slack.connections_opened > opened, timeout=10)
    assert time.monotonic() - dropped < 10
    bot_world.slack.wait_connected()
    fatima = SLACK_USERS["fatima.zahra@example.com"]
    choice = CLICKERS["fatima.zahra@example.com"]
    bot_world.click(fatima, choice.action_id, choice.value)


def test_healthz_fails_when_slack_has_not_answered_for_too_long(bot_world: BotWorld) -> None:
    # GIVEN a healthy bot whose connection cannot be replaced (Slack refuses new ones)
    assert health(bot_world) == 200
    bot_world.slack.fail("apps.connections.open", "internal_error", times=1000)

    # WHEN the network drops the connection without a close frame
    dropped = time.monotonic()
    bot_world.slack.drop_connection()

    # THEN /healthz fails within 20 seconds of the last pong, so the kubelet restarts the bot
    wait_until(lambda: health(bot_world) == 503, timeout=20)
    assert time.monotonic() - dropped < 20
    assert STALE_AFTER < 20


def test_clicks_around_a_routine_reconnect_are_acked_within_2_s(bot_world: BotWorld) -> None:
    # GIVEN people clicking steadily, 5 clicks a second (Slack pings every 10 s, as in the fake)
    sent: list[Envelope] = []

    def click_steadily() -> None:
        for email, choice in list(CLICKERS.items()) * 5:
            payload = block_actions_payload(SLACK_USERS[email], choice.action_id, choice.value)
            sent.append(bot_world.slack.send_interactive(payload))
            time.sleep(0.2)

    clicker = threading.Thread(target=click_steadily)
    clicker.start()
    # WHEN Slack asks the bot to move to a new connection, as it does every few hours
    time.sleep(1.0)
    bot_world.slack.request_disconnect()
    clicker.join()

    # THEN the bot moved, and every click before, during and after was acked within 2 s
    bot_world.slack.wait_connected()
    assert bot_world.slack.connections_opened == 2
    for envelope in sent:
        envelope.ack(5.0)
    latencies = sorted(envelope.latency or 99 for envelope in sent)
    assert len(latencies) == 20
    assert latencies[-1] <= 2.0, latencies
