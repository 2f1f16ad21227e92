"""Events: the Home tab is (re)published whenever the person opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from dbaccess.bot.services import services_of

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)


def home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    # Bolt acks events itself. The Messages tab fires this event too; it has no view to build.
    if event.get("tab") != "home":
        return
    try:
        services_of(context).publish_home(client, event["user"])
    except Exception:
        logger.exception("publishing the Home tab for %s failed", event.get("user"))
