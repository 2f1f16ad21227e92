""" "Request access": the Home tab's button and `/dbaccess request` open the modal; its
submission is checked in the modal, acked, and then becomes a pull request (slow, after)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from dbaccess.bot import grants, ids, views
from dbaccess.bot.access_requests import texts
from dbaccess.bot.access_requests.form import FormError, read_submission, request_form
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.bot.directory import NotAllowed
from dbaccess.bot.services import Services, services_of, tell

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(ids.OPEN_REQUEST_FORM)(open_from_home)
    # Before the plain `/dbaccess` listener: Bolt runs the first whose matchers all match.
    app.command(ids.COMMAND, matchers=[_asks_to_request])(open_from_command)
    app.view(ids.REQUEST_FORM_CALLBACK)(submit)


def _asks_to_request(command: Mapping[str, Any]) -> bool:
    return str(command.get("text") or "").strip().lower() == ids.REQUEST_SUBCOMMAND


def open_from_home(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    _open_form(client, services_of(context), body["user"]["id"], body["trigger_id"], None)


def open_from_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    user_id, channel = command["user_id"], command.get("channel_id")
    _open_form(client, services_of(context), user_id, command["trigger_id"], channel)


def _open_form(
    client: WebClient, services: Services, user_id: str, trigger_id: str, channel: str | None
) -> None:
    try:
        if services.request_flow is None:
            tell(client, user_id, texts.not_set_up(services.settings.help_channel))
            return
        email = services.directory.email_of(user_id)
        if isinstance(email, NotAllowed):  # a guest or another organization's user
            tell(client, user_id, views.refused_person(email, services.settings.help_channel))
            return
        catalog = services.read_catalog()
        if catalog is None:
            tell(client, user_id, views.failed_to_look_up(), channel=channel)
            return
        form = request_form(list(catalog.databases.values()), services.today())
        client.views_open(trigger_id=trigger_id, view=form)
    except Exception:
        logger.exception("opening the request form for %s failed", user_id)
        tell(client, user_id, texts.failed(services.settings.help_channel))


def submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Slack waits at most 3 s for the answer: only the checks that read cached state (the
    person's email, the catalog) run before it; GitHub is called after."""
    user_id = body["user"]["id"]
    services = services_of(context)
    help_channel = services.settings.help_channel
    today = services.today()
    try:
        asked = _read(services, user_id, view, today)
    except Exception:  # e.g. Slack or S3 unreachable: close the form, and say so
        logger.exception("reading %s's request form failed", user_id)
        asked = texts.failed(help_channel)
    if isinstance(asked, FormError):
        ack(response_action="errors", errors=dict(asked.errors))
        return
    ack()
    try:
        if isinstance(asked, str):
            tell(client, user_id, asked)
            return
        assert services.request_flow is not None  # _read checked
        tell(client, user_id, texts.working(asked))
        tell(client, user_id, services.request_flow.submit(asked, user_id, today))
    except Exception:
        logger.exception("opening %s's access request failed", user_id)
        tell(client, user_id, texts.failed(help_channel))


def _read(
    services: Services, user_id: str, view: dict[str, Any], today: dt.date
) -> RequestedGrant | FormError | str:
    """The grant asked for, the form's errors, or why nothing can be asked (to tell)."""
    help_channel = services.settings.help_channel
    if services.request_flow is None:
        return texts.not_set_up(help_channel)
    email = services.directory.email_of(user_id)
    if isinstance(email, NotAllowed):
        return views.refused_person(email, help_channel)
    catalog = services.read_catalog()
    if catalog is None:
        return views.failed_to_look_up()
    asked = read_submission(view, email, catalog.databases, today)
    if isinstance(asked, RequestedGrant) and grants.holds(
        catalog, email, ids.RequestChoice(asked.database, asked.access), today
    ):
        # Answered from the cached catalog, before any GitHub call or daily-limit count.
        return FormError({ids.FORM_ACCESS_BLOCK: texts.already_held(asked)})
    return asked
