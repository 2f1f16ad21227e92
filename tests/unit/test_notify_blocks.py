"""A notice's Block Kit stays within Slack's limits however many changes a deploy makes."""

from __future__ import annotations

import datetime as dt

from dbaccess.access import load_access_text
from dbaccess.access.diff import diff_plans
from dbaccess.bot.ids import RequestChoice
from dbaccess.notify import MAX_BLOCKS, MAX_BUTTONS, Notice, blocks_of, notices


def test_a_long_notice_is_cut_to_fifty_blocks_saying_how_many_more() -> None:
    lines = ["Your database access changed with the latest deploy:"]
    lines += [f"• You now have read-only on *db{n:02d}*." for n in range(80)]

    blocks = blocks_of(Notice("a@example.com", "\n".join(lines)))

    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["text"]["text"] == "… and 32 more changes."
    assert blocks[1]["text"]["text"] == "• You now have read-only on *db00*."


def test_new_grants_get_a_credentials_button_each_within_the_limits() -> None:
    lines = ["Your database access changed with the latest deploy:"]
    lines += [f"• You now have read-only on *db{n:02d}*." for n in range(80)]
    choices = tuple(RequestChoice(f"db{n:02d}", "read-only") for n in range(80))

    blocks = blocks_of(Notice("a@example.com", "\n".join(lines), choices))

    assert len(blocks) == MAX_BLOCKS
    assert blocks[-2]["text"]["text"] == "… and 33 more changes."
    buttons = blocks[-1]["elements"]
    assert len(buttons) == MAX_BUTTONS  # Slack's limit for one actions block
    assert buttons[0]["action_id"] == "request:db00:read-only"  # the bot's own request button


def test_a_notice_of_lost_access_has_no_button() -> None:
    blocks = blocks_of(Notice("a@example.com", "• You no longer have read-only on *db*."))

    assert [b["type"] for b in blocks] == ["section"]


def test_a_person_is_told_when_their_statements_start_being_logged() -> None:
    base = """\
version: 1
databases:
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders-prod
    host: orders.example.com
    port: 5432
    database: orders
    admin_login: dbaccess_admin
people:
  ana@example.com:
    grants:
      - {database: orders, access: read-only}
"""
    head = base.replace("access: read-only}", "access: read-only, query_audit: write}")
    on = dt.date(2026, 11, 23)
    diff = diff_plans(load_access_text(base, "a", today=on), load_access_text(head, "a", today=on))
    [notice] = notices(diff)
    assert notice.text.endswith(
        "• The audit log of *orders* now records the writes and schema and role changes you "
        "run as read-only."
    )
