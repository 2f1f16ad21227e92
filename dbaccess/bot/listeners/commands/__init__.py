"""`/dbaccess`: the same choices as the Home tab, as a message only the person sees."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from dbaccess.bot import ids, views
from dbaccess.bot.services import services_of, tell

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command(ids.COMMAND)(dbaccess_command)


def dbaccess_command(
    ack: Ack,
    command: dict[str, Any],
    client: WebClient,
    context: BoltContext,
) -> None:
    ack()
    user_id, channel = command["user_id"], command.get("channel_id")
    try:
        post_choices(client, context, user_id, channel, page=0)
    except Exception:
        logger.exception("answering /dbaccess for %s failed", user_id)


def post_choices(
    client: WebClient, context: BoltContext, user_id: str, channel: str | None, page: int
) -> None:
    services = services_of(context)
    help_channel = services.settings.help_channel
    found = services.person_and_catalog(client, user_id, channel)
    if found is None:
        return
    email, catalog = found
    databases = services.choices(catalog, email)
    blocks = views.message_blocks(databases, help_channel, page, email=email)
    text = f"Your databases ({len(databases)})" if databases else "You have no database access"
    tell(client, user_id, text, channel=channel, blocks=blocks)
