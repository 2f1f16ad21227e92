"""How the issuer words things for a person (pure functions)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from dbaccess.clients.privatebin import EXPIRE_DURATIONS
from dbaccess.issuer import messages
from dbaccess.issuer.messages import in_words, local_and_utc
from dbaccess.request_table import Request, Status
from dbaccess.service_env import DEFAULT_ACCESS_CONTACT


@pytest.mark.parametrize(
    ("expire", "words"),
    [("5min", "5 minutes"), ("10min", "10 minutes"), ("1hour", "1 hour"), ("1day", "1 day")],
)
def test_every_link_lifetime_reads_in_words(expire: str, words: str) -> None:
    assert in_words(EXPIRE_DURATIONS[expire]) == words


def test_a_time_is_shown_in_the_persons_zone_with_utc_beside() -> None:
    moment = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert local_and_utc(moment, "Europe/Paris") == (
        "2026-07-01 11:30 Europe/Paris (2026-07-01 09:30 UTC)"
    )


@pytest.mark.parametrize("tz", [None, "", "Not/AZone"])
def test_without_a_known_zone_the_time_is_utc_alone(tz: str | None) -> None:
    moment = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert local_and_utc(moment, tz) == "2026-07-01 09:30 UTC"


# --- DMs in plain words ---------------------------------------------------------------------

REQUEST = Request(
    request_id="req-1",
    email="ana@example.com",
    slack_user_id="U1",
    channel="D1",
    database="orders",
    access="read-only",
    requested_at="2026-12-06T10:00:00Z",
    status=Status.FAILED,
    attempts=1,
)
# Words an analyst cannot act on: how AWS or the project is built inside.
JARGON = re.compile(
    r"\b(IAM|role|trust|STS|assume|catalog|PrivateBin|access\.yaml|pull request|git)\b", re.I
)


def _words(blocks: list[dict[str, Any]]) -> str:
    return " ".join(b["text"]["text"] for b in blocks)


@pytest.mark.parametrize("code", sorted(messages.FAILURE_REASONS))
def test_every_failure_dm_says_what_happened_and_what_next_without_jargon(code: str) -> None:
    text, blocks = messages.failed_message(REQUEST, None, code, "tell #db-access-support")
    said = _words(blocks)
    assert JARGON.search(text + said) is None, said
    assert "Nothing was issued." in said
    assert "tell #db-access-support" in said
    assert "req-1" in said
    if code in messages.NEEDS_A_FIX:
        # Retrying a set-up problem wastes the person's time: say so.
        assert "trying again will not help" in said
    else:
        assert "Try again in a few minutes" in said


def test_the_default_contact_sends_analysts_to_the_request_button_not_to_git() -> None:
    _, blocks = messages.denied_message(
        REQUEST, None, "you have not been given read-only access to it", DEFAULT_ACCESS_CONTACT
    )
    said = _words(blocks)
    assert "*Request access*" in said
    assert JARGON.search(said) is None, said
