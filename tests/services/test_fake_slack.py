"""The fake Slack drives the real, unmodified slack_sdk WebClient and Bolt SocketModeHandler.

If these pass, tests of the bot and the issuer that use tests/fakes/slack.py go through the
same wire protocol (HTTP Web API, Socket Mode envelopes and acks) as production does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack import (
    FakeSlack,
    app_home_opened_event,
    block_actions_payload,
    dm_channel_id,
    slash_command_payload,
)

ALICE, ALICE_EMAIL = "U0ALICE", "alice@example.com"
REQUEST_ACTION = "request_access"
TIMEOUT = 5.0  # every wait is bounded, so a bug fails a test instead of hanging the suite


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk routes even 127.0.0.1 through HTTPS_PROXY/HTTP_PROXY (it ignores NO_PROXY).
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    # The SDK's own client closes only once its blocking recv() returns: frequent pings keep
    # these tests' teardown short (the bot's client does not need them, see bot/socket_mode.py).
    with FakeSlack(ping_interval=0.2) as fake:
        fake.add_user(ALICE, ALICE_EMAIL, name="alice", real_name="Alice Example")
        yield fake


def web_client(slack: FakeSlack, **kwargs: Any) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url, timeout=5, **kwargs)


class BoltHarness:
    """A small Bolt app with one listener per surface, wired the way dbaccess/bot wires its own."""

    def __init__(self, slack: FakeSlack) -> None:
        self.clicks: list[dict[str, Any]] = []
        self.clicked = threading.Event()
        self.app = App(client=web_client(slack))
        self.app.event("app_home_opened")(self._home)
        self.app.action(REQUEST_ACTION)(self._click)
        self.app.command("/dbaccess")(self._command)
        self.handler = SocketModeHandler(self.app, slack.app_token)

    def _home(self, event: dict[str, Any], client: WebClient) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your databases*"}}]
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    def _click(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        self.clicks.append(body)
        self.clicked.set()

    def _command(self, ack: Ack, command: dict[str, Any]) -> None:
        ack(text=f"Requesting {command['text']}…")


@pytest.fixture
def bolt(slack: FakeSlack) -> Iterator[BoltHarness]:
    harness = BoltHarness(slack)
    harness.handler.connect()  # non-blocking, unlike start()
    try:
        # The built-in client logs a failed connect instead of raising; wait for the fake's view.
        slack.wait_connected(TIMEOUT)
        yield harness
    finally:
        harness.handler.close()  # before the fake stops, or the client would keep reconnecting


def test_socket_mode_handshake_uses_app_token_and_greets_with_hello(
    slack: FakeSlack, bolt: BoltHarness
) -> None:
    assert slack.connections_opened == 1
    assert len(slack.calls("apps.connections.open", ok_only=True)) == 1
    # Bolt verified the bot token once at start-up.
    assert [c.token for c in slack.history() if c.method == "auth.test"] == [slack.bot_token]
    assert bolt.handler.client.is_connected()


def test_app_home_opened_publishes_the_home_view(slack: FakeSlack, bolt: BoltHarness) -> None:
    envelope = slack.send_event(app_home_opened_event(ALICE))

    assert envelope.ack(TIMEOUT) == {"envelope_id": envelope.envelope_id}
    (published,) = slack.wait_for_call("views.publish", timeout=TIMEOUT)
    assert published["user_id"] == ALICE
    assert published["view"]["type"] == "home"
    assert published["view"]["blocks"][0]["text"]["text"] == "*Your databases*"


def test_button_click_is_acked_and_handled(slack: FakeSlack, bolt: BoltHarness) -> None:
    payload = block_actions_payload(ALICE, REQUEST_ACTION, "orders:ro", block_id="db_orders")

    envelope = slack.send_interactive(payload)

    assert envelope.ack(TIMEOUT)["envelope_id"] == envelope.envelope_id
    assert envelope.latency is not None
    assert 0 < envelope.latency < TIMEOUT
    assert bolt.clicked.wait(TIMEOUT)
    (body,) = bolt.clicks
    assert body["user"]["id"] == ALICE
    assert body["trigger_id"] == payload["trigger_id"]
    assert body["actions"][0]["value"] == "orders:ro"
    assert body["container"]["type"] == "view"


def test_slash_command_ack_carries_the_reply(slack: FakeSlack, bolt: BoltHarness) -> None:
    envelope = slack.send_slash_command(slash_command_payload("/dbaccess", "orders", ALICE))

    ack = envelope.ack(TIMEOUT)

    assert envelope.message["accepts_response_payload"] is True
    assert ack["payload"]["text"] == "Requesting orders…"


def test_client_reconnects_after_disconnect_request_and_still_handles_clicks(
    slack: FakeSlack, bolt: BoltHarness
) -> None:
    slack.request_disconnect()

    slack.wait_connected(TIMEOUT)  # a connection other than the one told to go away
    envelope = slack.send_interactive(block_actions_payload(ALICE, REQUEST_ACTION, "orders:rw"))

    envelope.ack(TIMEOUT)
    assert bolt.clicked.wait(TIMEOUT)
    assert slack.connections_opened == 2
    assert len(slack.calls("apps.connections.open", ok_only=True)) == 2


def test_unacked_envelope_times_out_instead_of_hanging(slack: FakeSlack, bolt: BoltHarness) -> None:
    # No listener for this action: Bolt answers 404 internally and sends no ack, as documented.
    envelope = slack.send_interactive(block_actions_payload(ALICE, "nobody_listens"))

    with pytest.raises(TimeoutError, match="no ack"):
        envelope.ack(timeout=0.5)


def test_unknown_ticket_is_refused(slack: FakeSlack) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{slack.socket_mode_port}/link/?ticket=forged"
    with pytest.raises(InvalidStatus), connect(url, open_timeout=TIMEOUT):
        pass
    assert slack.connections_opened == 0


def test_rate_limited_call_is_retried_after_retry_after(slack: FakeSlack) -> None:
    client = web_client(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel=dm_channel_id(ALICE), text="Your link")

    assert response["ok"] is True
    assert time.monotonic() - started >= 1  # it waited as long as Retry-After said
    assert len(slack.calls("chat.postMessage")) == 2
    assert len(slack.calls("chat.postMessage", ok_only=True)) == 1


def test_rate_limited_call_fails_without_a_retry_handler(slack: FakeSlack) -> None:
    client = web_client(slack, retry_handlers=[])
    slack.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=dm_channel_id(ALICE), text="Your link")

    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "7"


def test_dm_flow_used_by_the_issuer(slack: FakeSlack) -> None:
    client = web_client(slack)

    channel = client.conversations_open(users=ALICE)["channel"]["id"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Your credentials"}}]
    posted = client.chat_postMessage(channel=channel, text="Your credentials", blocks=blocks)

    assert channel == dm_channel_id(ALICE)
    assert posted["channel"] == channel
    (call,) = slack.calls("chat.postMessage")
    assert call["blocks"] == blocks  # decoded, whichever encoding the client used


def test_users_info_returns_the_email_and_unknown_users_are_not_found(slack: FakeSlack) -> None:
    client = web_client(slack)

    assert client.users_info(user=ALICE)["user"]["profile"]["email"] == ALICE_EMAIL
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0NOBODY")
    assert raised.value.response["error"] == "user_not_found"


def test_tokens_are_checked(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).auth_test()
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    with pytest.raises(SlackApiError) as bot_token_for_socket:
        web_client(slack).apps_connections_open(app_token=slack.bot_token)

    assert missing.value.response["error"] == "not_authed"
    assert wrong.value.response["error"] == "invalid_auth"
    assert bot_token_for_socket.value.response["error"] == "not_allowed_token_type"


def test_planned_failures_and_unknown_methods(slack: FakeSlack) -> None:
    client = web_client(slack)
    slack.fail("chat.postMessage", "channel_not_found")

    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="D0ALICE", text="hi")
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("admin.users.remove")

    assert failed.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="D0ALICE", text="hi")["ok"] is True  # only once
    assert unknown.value.response["error"] == "unknown_method"


def test_views_publish_checks_the_view_shape(slack: FakeSlack) -> None:
    client = web_client(slack)
    too_many = [{"type": "divider"}] * 101

    with pytest.raises(SlackApiError) as modal:
        client.views_publish(user_id=ALICE, view={"type": "modal", "blocks": []})
    with pytest.raises(SlackApiError) as crowded:
        client.views_publish(user_id=ALICE, view={"type": "home", "blocks": too_many})

    assert modal.value.response["error"] == "invalid_arguments"
    assert "no more than 100 items" in crowded.value.response["response_metadata"]["messages"][0]


def test_form_encoded_bodies_are_decoded(slack: FakeSlack) -> None:
    # slack_sdk sends most methods form-encoded, with blocks as a JSON string inside the form.
    client = web_client(slack)
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "Working on it"}}]

    client.api_call(
        "chat.postEphemeral",
        params={"channel": dm_channel_id(ALICE), "user": ALICE, "blocks": json.dumps(blocks)},
    )

    (call,) = slack.calls("chat.postEphemeral")
    assert call["blocks"] == blocks
    assert call["user"] == ALICE
