"""What listeners share: settings, the catalog, the recorder, the directory, and how to answer.

app.py builds one `Services` and puts it in every request's Bolt context (`services_of`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from dbaccess.bot import views
from dbaccess.bot.access_requests.flow import RequestFlow
from dbaccess.bot.directory import Directory, NotAllowed
from dbaccess.bot.grants import DatabaseChoices, choices_for
from dbaccess.bot.recorder import RequestRecorder
from dbaccess.bot.settings import BotSettings
from dbaccess.bot.slack_approval.blocks import home_blocks
from dbaccess.catalog import Catalog, CatalogError, CatalogSource

if TYPE_CHECKING:
    from dbaccess.bot.slack_approval.flow import ApprovalFlow

logger = logging.getLogger(__name__)
CONTEXT_KEY = "dbaccess_services"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass
class Services:
    settings: BotSettings
    catalog: CatalogSource
    recorder: RequestRecorder
    directory: Directory
    today: Callable[[], dt.date] = field(default=_today)
    request_flow: RequestFlow | None = None  # None: GitHub is not configured
    approval: ApprovalFlow | None = None  # None: approve in Slack is off

    def read_catalog(self) -> Catalog | None:
        """The catalog (re-read only when its ETag changed); None, logged, if unreadable."""
        try:
            return self.catalog.get()
        except (CatalogError, ClientError, BotoCoreError):
            logger.exception("reading the catalog failed")
            return None

    def person_and_catalog(
        self, client: WebClient, user_id: str, channel: str | None
    ) -> tuple[str, Catalog] | None:
        """The clicker's email and the catalog; None once the person has been told why not
        (Slack has no email for them in access.yaml terms, or the catalog is unreadable)."""
        email = self.directory.email_of(user_id)
        if isinstance(email, NotAllowed):
            tell(
                client,
                user_id,
                views.refused_person(email, self.settings.help_channel),
                channel=channel,
            )
            return None
        catalog = self.read_catalog()
        if catalog is None:
            tell(client, user_id, views.failed_to_look_up(), channel=channel)
            return None
        return email, catalog

    def choices(self, catalog: Catalog, email: str) -> tuple[DatabaseChoices, ...]:
        return choices_for(catalog, email, self.today())

    def publish_home(self, client: WebClient, user_id: str, page: int = 0) -> None:
        email = self.directory.email_of(user_id)
        help_channel = self.settings.help_channel
        if isinstance(email, NotAllowed):
            view: dict[str, Any] = _text_view(views.refused_person(email, help_channel))
        elif (catalog := self.read_catalog()) is None:
            view = _text_view(views.failed_to_look_up())
        else:
            view = views.home_view_dict(
                self.choices(catalog, email), help_channel, page, email=email
            )
            if self.approval is not None:
                view["blocks"] += home_blocks(self.approval.linked_login(user_id))
        client.views_publish(user_id=user_id, view=view)


def _text_view(text: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def services_of(context: BoltContext) -> Services:
    services = context[CONTEXT_KEY]
    assert isinstance(services, Services)
    return services


def click_channel(body: Mapping[str, Any]) -> str | None:
    """Where a click happened: a channel or DM id, or None for the Home tab."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return str(channel) if channel else None


def tell(
    client: WebClient,
    user_id: str,
    text: str,
    *,
    channel: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """Answer the person: ephemeral in the channel they were in, otherwise by DM.

    Falls back to a DM where the bot cannot post ephemerals (a channel it is not in).
    """
    if channel and not channel.startswith("D"):
        try:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text, blocks=blocks)
            return
        except SlackApiError as exc:
            logger.info(
                "ephemeral in %s failed (%s); sending a DM", channel, exc.response.get("error")
            )
    dm = client.conversations_open(users=user_id)["channel"]["id"]
    client.chat_postMessage(channel=dm, text=text, blocks=blocks)
