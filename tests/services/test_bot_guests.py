"""Who the bot serves: members of its own workspace. GIVEN a Slack guest, or a user of another
organization seen through Slack Connect, who carries the email of someone in access.yaml,
WHEN they ask for credentials THEN they are told why not and nothing is recorded; guests may
be let in by a setting, other organizations' users never.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dbaccess.bot import ids
from dbaccess.bot.app import Bot
from tests.services.bot_world import (
    TIMEOUT,
    BotWorld,
    bot_world,
    settings_for,
    world,
)
from tests.services.issuer_world import World

__all__ = ["bot_world", "world"]  # the fixtures, imported for pytest

FATIMA = "fatima.zahra@example.com"  # orders read-only in access.yaml
ORDERS_RO = ids.RequestChoice("orders", "read-only")
GUEST = "Guest accounts can't get database credentials or request access here"
STRANGER = "your account belongs to another organization (Slack Connect)"

# (user id, add_user keywords, what the person is told)
OUTSIDERS = [
    pytest.param("U0GUESTMC", {"guest": "multi-channel"}, GUEST, id="multi-channel-guest"),
    pytest.param("U0GUESTSC", {"guest": "single-channel"}, GUEST, id="single-channel-guest"),
    pytest.param("U0CONNECT", {"team_id": "T0OTHERORG"}, STRANGER, id="slack-connect-user"),
    pytest.param("U0STRANGE", {"team_id": "T0OTHERORG", "stranger": True}, STRANGER, id="stranger"),
]


@pytest.mark.parametrize(("user_id", "kind", "told"), OUTSIDERS)
def test_an_outsider_with_a_members_email_gets_no_credentials(
    bot_world: BotWorld, user_id: str, kind: dict[str, Any], told: str
) -> None:
    bot_world.slack.add_user(user_id, FATIMA, **kind)

    bot_world.click(user_id, ORDERS_RO.action_id, ORDERS_RO.value)

    assert told in bot_world.wait_for_message(user_id)["text"]
    assert bot_world.items() == []  # no credential request recorded


@pytest.mark.parametrize(("user_id", "kind", "told"), OUTSIDERS)
def test_an_outsiders_home_tab_says_why_and_offers_nothing(
    bot_world: BotWorld, user_id: str, kind: dict[str, Any], told: str
) -> None:
    bot_world.slack.add_user(user_id, FATIMA, **kind)

    published = bot_world.open_home(user_id)

    text = str(published["view"]["blocks"])
    assert told in text
    assert ids.REQUEST_PREFIX not in text


@pytest.fixture
def guests_allowed(world: World, caplog: pytest.LogCaptureFixture) -> Iterator[BotWorld]:
    bot = Bot(settings_for(world, allow_guests=True))
    bot.start()
    try:
        world.slack.wait_connected(TIMEOUT)
        yield BotWorld(world, bot, caplog)
    finally:
        bot.stop()


def test_with_guests_allowed_a_guest_gets_credentials_and_a_stranger_still_not(
    guests_allowed: BotWorld,
) -> None:
    slack = guests_allowed.slack
    slack.add_user("U0GUESTMC", FATIMA, guest="multi-channel")
    slack.add_user("U0CONNECT", FATIMA, team_id="T0OTHERORG")

    guests_allowed.click("U0GUESTMC", ORDERS_RO.action_id, ORDERS_RO.value)
    guests_allowed.click("U0CONNECT", ORDERS_RO.action_id, ORDERS_RO.value)

    assert "Request received" in guests_allowed.wait_for_message("U0GUESTMC")["text"]
    assert STRANGER in guests_allowed.wait_for_message("U0CONNECT")["text"]
    assert len(guests_allowed.items()) == 1
