"""After a deploy, the DM about new access carries a "Get credentials" button, and clicking it
goes through the bot's one request handler to the one-time link.

GIVEN the deployed access.yaml (the catalog the bot reads) gave Fatima orders read-only in this
deploy, WHEN `dbaccess notify` runs against the fake Slack and she clicks the DM's button
(delivered to the real bot over Socket Mode), THEN the issuer's real handler sends her a link
that opens her credential.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dbaccess import request_table as rq
from dbaccess.bot import ids
from dbaccess.cli import app
from tests.fakes.slack import dm_channel_id
from tests.git_repo import git
from tests.services.bot_world import BotWorld, bot_world, world
from tests.services.issuer_world import ROOT, SLACK_USERS

__all__ = ["bot_world", "world"]  # the fixtures, imported for pytest

FATIMA = "fatima.zahra@example.com"
FATIMA_ID = SLACK_USERS[FATIMA]
DEPLOYED = (ROOT / "access.yaml").read_text()  # what the world's catalog was built from
GRANT_LINE = "      - {database: orders, access: read-only}\n"


def deploy_that_grants_fatima_orders(tmp_path: Path) -> Path:
    """A repository whose previous commit lacks Fatima's orders grant and whose head has it."""
    fatima = f"  {FATIMA}:\n    grants:\n"
    assert fatima + GRANT_LINE in DEPLOYED
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "access.yaml").write_text(DEPLOYED.replace(fatima + GRANT_LINE, fatima))
    git(tmp_path, "add", "access.yaml")
    git(tmp_path, "commit", "-q", "-m", "deployed before")
    git(tmp_path, "tag", "before")
    (tmp_path / "access.yaml").write_text(DEPLOYED)
    git(tmp_path, "commit", "-q", "-am", "grant Fatima orders")
    return tmp_path


def test_the_deploy_dm_has_a_button_that_ends_in_the_one_time_link(
    bot_world: BotWorld, tmp_path: Path
) -> None:
    world = bot_world.world
    repo = deploy_that_grants_fatima_orders(tmp_path)
    choice = ids.RequestChoice("orders", "read-only")

    # WHEN notify runs after the deploy
    result = CliRunner().invoke(
        app,
        ["notify", "--base", "before", "--head", "main", "--file", str(repo / "access.yaml")],
        env={
            "SLACK_BOT_TOKEN": world.slack.bot_token,
            "DBACCESS_SLACK_API_URL": world.slack.api_url,
        },
    )

    # THEN her DM says what changed and offers the bot's own request button for it
    assert result.exit_code == 0, result.output
    (dm,) = world.slack.calls("chat.postMessage", ok_only=True)
    assert dm["channel"] == dm_channel_id(FATIMA_ID)
    (actions,) = [b for b in dm["blocks"] if b["type"] == "actions"]
    assert actions["block_id"] == ids.CREDENTIALS_BLOCK
    (button,) = actions["elements"]
    assert (button["action_id"], button["value"]) == (choice.action_id, choice.value)
    assert button["text"]["text"] == "Get credentials: orders (read-only)"

    # WHEN she clicks it in that DM (Slack sends the button's ids back)
    bot_world.click(FATIMA_ID, button["action_id"], button["value"], channel_id=dm["channel"])
    received = bot_world.wait_for_message(FATIMA_ID, 2)  # after notify's DM
    delivery = world.deliver()

    # THEN the bot's request handler recorded it and the issuer sent the one-time link
    assert "Request received" in received["text"]
    (item,) = bot_world.items()
    assert (item[rq.DATABASE]["S"], item[rq.ACCESS]["S"]) == ("orders", "read-only")
    assert delivery.invocations == 1
    assert world.status(item[rq.REQUEST_ID]["S"]) == "ISSUED"
    paste = world.privatebin.read(world.link_in(world.dms(FATIMA)[-1]))
    assert "orders" in paste
