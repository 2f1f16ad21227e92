"""The bot over the real Socket Mode protocol: the fake Slack drives Bolt's SocketModeHandler,
requests land in moto's DynamoDB, and the issuer's real handler turns them into a DM."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dbaccess import request_table as rq
from dbaccess.bot import ids
from dbaccess.catalog import Catalog
from tests.services.bot_world import (
    HELP_CHANNEL,
    TIMEOUT,
    BotWorld,
    bot_world,
    catalog_database,
    catalog_document,
    requested_at,
    wait_until,
    world,
)
from tests.services.issuer_world import SLACK_USERS

__all__ = ["bot_world", "world"]  # the fixtures, imported for pytest

FATIMA = "fatima.zahra@example.com"  # orders read-only, payments-staging read-only
HUGO = "hugo.henley@example.com"  # inventory ro, orders ro + rw, payments-staging rw
FATIMA_ID, HUGO_ID = SLACK_USERS[FATIMA], SLACK_USERS[HUGO]
NOBODY_ID = "U0NOBODY"


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action_id, value) of every request button, in order."""
    return [
        (element["action_id"], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith(ids.REQUEST_PREFIX)
    ]


def request(database: str, access: str) -> tuple[str, str]:
    choice = ids.RequestChoice(database, access)
    return choice.action_id, choice.value


def test_app_home_shows_exactly_the_persons_buttons(bot_world: BotWorld) -> None:
    published = bot_world.open_home(FATIMA_ID)

    assert published["user_id"] == FATIMA_ID
    assert published["view"]["type"] == "home"
    assert buttons(published["view"]["blocks"]) == [
        request("orders", "read-only"),
        request("payments-staging", "read-only"),
    ]
    text = str(published["view"]["blocks"])
    assert "Orders service (primary)" in text  # the description
    assert "Aurora PostgreSQL" in text  # the engine


def test_app_home_shows_when_a_dated_grant_ends(bot_world: BotWorld) -> None:
    # Hugo's read-write on orders ends on 2026-12-31 (access.yaml); his read-only does not end.
    text = str(bot_world.open_home(HUGO_ID)["view"]["blocks"])

    assert "Read-write until 31 December 2026" in text
    assert "Read-only until" not in text


def test_email_is_matched_case_insensitively(bot_world: BotWorld) -> None:
    bot_world.slack.add_user("U0SHOUTY", "Fatima.Zahra@EXAMPLE.com")

    published = bot_world.open_home("U0SHOUTY")

    assert buttons(published["view"]["blocks"]) == [
        request("orders", "read-only"),
        request("payments-staging", "read-only"),
    ]


def test_a_profile_email_with_a_letter_that_lower_cases_to_ascii_is_nobody(
    bot_world: BotWorld,
) -> None:
    # GIVEN a Slack profile email spelled with KELVIN SIGN (U+212A), which lower-cases to `k`
    bot_world.slack.add_user("U0KELVIN", "tomas.nova\u212a@example.com")

    published = bot_world.open_home("U0KELVIN")

    # THEN it is not Tomas's email (he has buttons): the access file's email rule refuses it
    assert buttons(published["view"]["blocks"]) == []
    assert HELP_CHANNEL in str(published["view"]["blocks"])
    assert buttons(bot_world.open_home(SLACK_USERS["tomas.novak@example.com"])["view"]["blocks"])


def test_dbaccess_command_offers_the_same_choices(bot_world: BotWorld) -> None:
    home = bot_world.open_home(HUGO_ID)

    bot_world.command(HUGO_ID, channel_id="C0GENERAL")

    message = bot_world.wait_for_message(HUGO_ID)
    assert buttons(message["blocks"]) == buttons(home["view"]["blocks"])
    assert buttons(message["blocks"]) == [
        request("inventory", "read-only"),
        request("orders", "read-only"),
        request("orders", "read-write"),
        request("payments-staging", "read-write"),
    ]
    (ephemeral,) = bot_world.slack.calls("chat.postEphemeral")  # only Hugo sees it
    assert ephemeral["channel"] == "C0GENERAL"


def test_a_click_is_acked_and_recorded_as_a_pending_request(bot_world: BotWorld) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    action_id, value = request("orders", "read-only")

    payload = bot_world.click(FATIMA_ID, action_id, value)

    told = bot_world.wait_for_message(FATIMA_ID)
    assert "request received — your link arrives in a few seconds" in told["text"].lower()
    (item,) = bot_world.items()
    assert {k: v for k, v in item.items() if k not in (rq.REQUESTED_AT, rq.PURGE_AT)} == {
        rq.REQUEST_ID: {"S": payload["trigger_id"]},
        rq.EMAIL: {"S": FATIMA},
        rq.SLACK_USER_ID: {"S": FATIMA_ID},
        rq.CHANNEL: {"S": "app_home"},
        rq.DATABASE: {"S": "orders"},
        rq.ACCESS: {"S": "read-only"},
        rq.STATUS: {"S": "PENDING"},
        rq.ATTEMPTS: {"N": "0"},
    }
    assert before <= requested_at(item) <= dt.datetime.now(dt.UTC)
    assert int(item[rq.PURGE_AT]["N"]) > requested_at(item).timestamp() + 300 * 86400


def test_a_click_in_a_channel_is_answered_ephemerally_there(bot_world: BotWorld) -> None:
    action_id, value = request("orders", "read-only")

    bot_world.click(FATIMA_ID, action_id, value, channel_id="C0ANALYSTS")

    told = bot_world.wait_for_message(FATIMA_ID)
    assert told["channel"] == "C0ANALYSTS"
    assert told["user"] == FATIMA_ID
    (item,) = bot_world.items()
    assert item[rq.CHANNEL] == {"S": "C0ANALYSTS"}


def test_end_to_end_click_to_a_link_that_opens_the_credential(bot_world: BotWorld) -> None:
    world = bot_world.world
    action_id, value = request("orders", "read-only")

    # GIVEN Fatima clicked orders read-only on her Home tab, and the bot recorded it
    bot_world.click(FATIMA_ID, action_id, value)
    bot_world.wait_for_message(FATIMA_ID)

    # WHEN the table's stream delivers the new item to the issuer's real handler
    delivery = world.deliver()

    # THEN she gets a DM with a link that opens her credential, and the request is ISSUED
    assert delivery.invocations == 1
    (request_id,) = [i[rq.REQUEST_ID]["S"] for i in bot_world.items()]
    assert world.status(request_id) == "ISSUED"
    dm = world.dms(FATIMA)[-1]
    paste = world.privatebin.read(world.link_in(dm))
    assert "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com" in paste
    assert "fzahra_ro" in paste or "_ro" in paste


def test_the_same_click_delivered_twice_makes_one_request(bot_world: BotWorld) -> None:
    action_id, value = request("orders", "read-only")
    payload = bot_world.click(FATIMA_ID, action_id, value)
    bot_world.wait_for_message(FATIMA_ID)

    envelope = bot_world.slack.send_interactive(payload)  # Slack redelivers the same click
    envelope.ack(TIMEOUT)

    bot_world.wait_for_log(
        f"request {payload['trigger_id']} by {FATIMA} for orders read-only: duplicate"
    )
    assert len(bot_world.items()) == 1
    assert len(bot_world.messages_to(FATIMA_ID)) == 1  # not told twice


def test_an_action_that_is_not_ours_is_refused_and_nothing_is_written(bot_world: BotWorld) -> None:
    bot_world.click(FATIMA_ID, "delete_everything", "orders:read-write")

    told = bot_world.wait_for_message(FATIMA_ID)
    assert "don't recognise that button" in told["text"]
    assert bot_world.items() == []


def test_a_malformed_request_button_is_refused(bot_world: BotWorld) -> None:
    # The action id says read-only, the value read-write: a forged or stale payload.
    bot_world.click(FATIMA_ID, request("orders", "read-only")[0], "orders:read-write")
    bot_world.click(FATIMA_ID, "request:orders:superuser", "orders:superuser")

    first, second = bot_world.wait_for_message(FATIMA_ID), bot_world.wait_for_message(FATIMA_ID, 2)
    assert "don't recognise that button" in first["text"]
    assert "don't recognise that button" in second["text"]
    assert bot_world.items() == []


def test_a_grant_the_catalog_no_longer_holds_is_refused(bot_world: BotWorld) -> None:
    # Fatima's Home tab still shows payments-staging, but a newer catalog took it away.
    bot_world.open_home(FATIMA_ID)
    databases = {"orders": catalog_database("orders")}
    bot_world.publish_catalog(catalog_document({FATIMA: [("orders", "read-only")]}, databases))

    bot_world.click(FATIMA_ID, *request("payments-staging", "read-only"))

    told = bot_world.wait_for_message(FATIMA_ID)
    assert "no longer have *payments-staging* (read-only)" in told["text"]
    assert f"<#{HELP_CHANNEL}>" in told["text"]
    assert bot_world.items() == []


def test_more_requests_than_the_rate_limit_are_refused(bot_world: BotWorld) -> None:
    limit = bot_world.bot.services.settings.rate_limit
    for n in range(1, limit + 1):
        bot_world.click(FATIMA_ID, *request("orders", "read-only"))
        wait_until(lambda n=n: len(bot_world.items()) == n, what=f"{n} items")

    bot_world.click(FATIMA_ID, *request("orders", "read-only"))

    told = bot_world.wait_for_message(FATIMA_ID, limit + 1)
    assert f"You have made {limit} requests in the last 10 minutes" in told["text"]
    assert len(bot_world.items()) == limit
    # Someone else is not held back by Fatima's requests.
    bot_world.click(HUGO_ID, *request("orders", "read-only"))
    wait_until(lambda: len(bot_world.items()) == limit + 1, what="Hugo's request")


def test_a_person_with_no_grants_is_told_where_to_ask(bot_world: BotWorld) -> None:
    bot_world.slack.add_user(NOBODY_ID, "new.starter@example.com")

    published = bot_world.open_home(NOBODY_ID)
    bot_world.command(NOBODY_ID)

    assert buttons(published["view"]["blocks"]) == []
    text = str(published["view"]["blocks"])
    assert "You have no database access" in text
    assert f"<#{HELP_CHANNEL}>" in text
    # The email it looked up, and what to do when that is not the address of their access
    assert "*new.starter@example.com*" in text
    assert "to have it corrected" in text
    assert "*Request access*" in text
    assert "access.yaml" not in text
    message = bot_world.wait_for_message(NOBODY_ID)
    assert "You have no database access" in str(message["blocks"])
    assert "*new.starter@example.com*" in str(message["blocks"])


def test_forty_grants_make_a_valid_home_view_and_message(bot_world: BotWorld) -> None:
    # 30 databases: 10 with both access levels, 20 read-only.
    keys = [f"warehouse-{n:02d}" for n in range(30)]
    grants = [(k, "read-only") for k in keys] + [(k, "read-write") for k in keys[:10]]
    assert len(grants) == 40
    databases = {k: catalog_database(k) for k in keys}
    bot_world.publish_catalog(catalog_document({FATIMA: grants}, databases))

    published = bot_world.open_home(FATIMA_ID)
    bot_world.command(FATIMA_ID)

    # The fake Slack accepted both (it refuses views over 100 blocks, messages over 50).
    view = published["view"]
    assert len(view["blocks"]) <= 100
    assert all(len(b.get("elements", [])) <= 25 for b in view["blocks"])
    assert sorted(buttons(view["blocks"])) == sorted(request(k, a) for k, a in grants)
    message = bot_world.wait_for_message(FATIMA_ID)
    assert len(message["blocks"]) <= 50
    shown = buttons(message["blocks"])
    assert 0 < len(shown) < 40  # the message pages: the first page, and a Next button
    pager = [b for b in message["blocks"] if b.get("block_id") == ids.PAGER_BLOCK]
    (next_button,) = pager[0]["elements"]

    bot_world.click(
        FATIMA_ID, next_button["action_id"], next_button["value"], channel_id="D0FATIMA"
    )

    second = bot_world.wait_for_message(FATIMA_ID, 2)
    assert sorted(shown + buttons(second["blocks"])) == sorted(request(k, a) for k, a in grants)


def test_the_bot_reconnects_after_a_disconnect_and_still_takes_clicks(bot_world: BotWorld) -> None:
    bot_world.slack.request_disconnect()
    bot_world.slack.wait_connected(TIMEOUT)

    bot_world.click(FATIMA_ID, *request("orders", "read-only"))

    bot_world.wait_for_message(FATIMA_ID)
    assert len(bot_world.items()) == 1
    assert bot_world.slack.connections_opened == 2


def test_the_catalog_is_reread_when_it_changes(bot_world: BotWorld) -> None:
    assert len(buttons(bot_world.open_home(FATIMA_ID)["view"]["blocks"])) == 2
    databases = {"orders": catalog_database("orders")}
    bot_world.publish_catalog(catalog_document({FATIMA: [("orders", "read-write")]}, databases))

    assert buttons(bot_world.open_home(FATIMA_ID)["view"]["blocks"]) == [
        request("orders", "read-write")
    ]
    assert Catalog  # the bot reads the same schema the program writes
