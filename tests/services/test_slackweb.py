"""The Lambdas' and the CLI's Slack caller (`dbaccess.clients.slack`) against the fake Slack: what
goes on the wire, what each failure becomes, and a deadline that holds whatever Slack does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from dbaccess.clients.deadline import Deadline
from dbaccess.clients.slack import DirectMessages, SlackFailure
from tests.fakes.local_http import LocalHTTPServer
from tests.fakes.slack import FakeSlack
from tests.throwaway import free_port

ALICE, ALICE_EMAIL = "U0ALICE", "alice@example.com"
TAG = {"event_type": "dbaccess_credential", "event_payload": {"request_id": "r-1"}}


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeSlack() as fake:
        fake.add_user(ALICE, ALICE_EMAIL)
        yield fake


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def dms(slack: FakeSlack, sleeps: Sleeps | None = None, **kwargs: float) -> DirectMessages:
    return DirectMessages(
        slack.bot_token, slack.api_url, sleep=Sleeps() if sleeps is None else sleeps, **kwargs
    )


def soon(seconds: float = 10.0) -> Deadline:
    return Deadline.within(seconds)


def test_a_tagged_dm_is_posted_and_found_again_by_its_metadata(slack: FakeSlack) -> None:
    sender = dms(slack)
    channel = sender.open(ALICE, soon())
    since = int(time.time()) - 5
    assert not sender.find_tagged(channel, TAG["event_type"], {"request_id": "r-1"}, since, soon())

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    sender.post(channel, "hello", blocks, soon(), metadata=TAG)

    # The post went as JSON (blocks and metadata as structures); the reads as form fields,
    # which is all Slack reads for them (the fake, like Slack, ignores a JSON body there).
    (post,) = slack.calls("chat.postMessage")
    assert post["blocks"] == blocks
    assert post["metadata"] == TAG
    assert post["unfurl_links"] is False
    assert post["unfurl_media"] is False
    assert sender.find_tagged(channel, TAG["event_type"], {"request_id": "r-1"}, since, soon())
    assert not sender.find_tagged(channel, TAG["event_type"], {"request_id": "r-2"}, since, soon())
    (history, _) = slack.calls("conversations.history")[-2:]
    assert history["channel"] == channel
    assert history["include_all_metadata"] == "true"


def test_someone_slack_does_not_know_is_none_and_other_failures_raise(slack: FakeSlack) -> None:
    sender = dms(slack)
    assert sender.user_id_for_email(ALICE_EMAIL, soon()) == ALICE
    assert sender.user_id_for_email("nobody@example.com", soon()) is None
    slack.fail("users.lookupByEmail", "missing_scope")
    with pytest.raises(SlackFailure) as failure:
        sender.user_id_for_email(ALICE_EMAIL, soon())
    assert (failure.value.error, failure.value.transient) == ("missing_scope", False)


def test_a_429_is_waited_out_only_when_it_fits_the_deadline(slack: FakeSlack) -> None:
    sleeps = Sleeps()
    sender = dms(slack, sleeps)
    slack.rate_limit("conversations.open", times=1, retry_after=2)
    assert sender.open(ALICE, soon(10)) == "D0ALICE"
    assert sleeps == [2.0]

    slack.rate_limit("conversations.open", times=1, retry_after=30)
    with pytest.raises(SlackFailure) as failure:
        sender.open(ALICE, soon(10))
    assert (failure.value.error, failure.value.transient) == ("ratelimited", True)
    assert sleeps == [2.0]  # not waited


def test_a_5xx_on_a_post_may_have_delivered_it_and_a_read_is_tried_again(
    slack: FakeSlack,
) -> None:
    sender = dms(slack)
    slack.fail_http("chat.postMessage", 503)
    with pytest.raises(SlackFailure) as failure:
        sender.post("D0ALICE", "hello", [], soon())
    assert failure.value.transient
    assert failure.value.maybe_delivered

    slack.fail_http("conversations.open", 502)
    with pytest.raises(SlackFailure) as failure:
        sender.open(ALICE, soon())
    assert failure.value.transient
    assert not failure.value.maybe_delivered


def test_slack_unreachable_is_transient_and_a_post_that_never_left_was_not_delivered() -> None:
    sender = DirectMessages("xoxb-secret-token", f"http://127.0.0.1:{free_port()}/api/")
    with pytest.raises(SlackFailure) as failure:
        sender.post("D0ALICE", "hello", [], soon())
    assert failure.value.transient
    assert not failure.value.maybe_delivered
    assert "xoxb-secret-token" not in f"{failure.value} {sender!r}"


def test_a_trickling_answer_is_cut_at_the_deadline(slack: FakeSlack) -> None:
    # GIVEN Slack answering a byte every 0.3 s (a socket timeout never trips on that)
    slack.answer_trickling("chat.postMessage", 0.3)
    slack.answer_trickling("users.info", 0.3, times=2)
    sender = dms(slack)

    # WHEN a post has 1.5 s
    started = time.monotonic()
    with pytest.raises(SlackFailure) as failure:
        sender.post("D0ALICE", "hello", [], soon(1.5))

    # THEN it ends at the deadline, as "may have been delivered" (Slack did post it)
    assert time.monotonic() - started < 2.0
    assert failure.value.error == "timeout"
    assert failure.value.maybe_delivered
    assert len(slack.messages("D0ALICE")) == 1
    # AND the best-effort time zone lookup is "unknown", in time
    started = time.monotonic()
    assert sender.time_zone(ALICE, soon(1.0)) is None
    assert time.monotonic() - started < 1.5


class NotSlack(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(403)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>Forbidden by proxy</html>")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_that_is_not_slack_is_a_clear_lasting_failure() -> None:
    with LocalHTTPServer(NotSlack) as server:
        sender = DirectMessages("xoxb-secret-token", f"{server.origin}/api/")
        with pytest.raises(SlackFailure) as failure:
            sender.post("D0ALICE", "hello", [], soon())
    assert failure.value.error == "http_403_not_slack"
    assert not failure.value.transient
    assert not failure.value.maybe_delivered


def test_a_url_that_is_not_http_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="not an http"):
        DirectMessages("xoxb-secret-token", "slack.com/api")
