"""Button clicks: a request for credentials, paging, and a refusal for anything else."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from dbaccess.bot import grants, ids, views
from dbaccess.bot.listeners.commands import post_choices
from dbaccess.bot.recorder import APP_HOME, Outcome
from dbaccess.bot.services import click_channel, services_of, tell

logger = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(ids.REQUEST_ACTION)(request_credentials)
    app.action(ids.HOME_PAGE_ACTION)(turn_home_page)
    app.action(ids.MESSAGE_PAGE_ACTION)(post_message_page)
    app.action(ids.ANY_ACTION)(refuse_unknown_action)  # registered last: the fallback


def request_credentials(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()  # Slack's limit is 3 seconds; everything below happens after
    user_id = body["user"]["id"]
    channel = click_channel(body)
    action = body["actions"][0]
    try:
        choice = ids.parse_request_action(action.get("action_id", ""), action.get("value"))
    except ids.MalformedAction as exc:
        logger.warning("refused a click from %s: %s", user_id, exc)
        tell(client, user_id, views.refused_unknown_action(), channel=channel)
        return
    try:
        services = services_of(context)
        help_channel = services.settings.help_channel
        found = services.person_and_catalog(client, user_id, channel)
        if found is None:
            return
        email, catalog = found
        if not grants.holds(catalog, email, choice, services.today()):
            logger.info("refused %s: %s %s is not granted", email, choice.database, choice.access)
            tell(client, user_id, views.refused_not_granted(choice, help_channel), channel=channel)
            return
        outcome = services.recorder.record(
            request_id=body["trigger_id"],
            email=email,
            slack_user_id=user_id,
            channel=channel or APP_HOME,
            choice=choice,
        )
        logger.info(
            "request %s by %s for %s %s: %s",
            body["trigger_id"],
            email,
            choice.database,
            choice.access,
            outcome.value,
        )
        if outcome is Outcome.RECORDED:
            tell(client, user_id, views.request_received(choice), channel=channel)
        elif outcome is Outcome.RATE_LIMITED:
            settings = services.settings
            text = views.refused_rate_limited(settings.rate_limit, settings.rate_window_seconds)
            tell(client, user_id, text, channel=channel)
        elif outcome is Outcome.FAILED:
            tell(client, user_id, views.failed_to_record(choice), channel=channel)
        # DUPLICATE: Slack delivered the same click again; the person was already answered.
    except Exception:
        logger.exception("handling a request from %s failed", user_id)


def turn_home_page(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user_id = body["user"]["id"]
    try:
        page = ids.parse_page(body["actions"][0].get("value"))
        services_of(context).publish_home(client, user_id, page)
    except ids.MalformedAction as exc:
        logger.warning("refused a page click from %s: %s", user_id, exc)
    except Exception:
        logger.exception("turning the Home page for %s failed", user_id)


def post_message_page(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    user_id = body["user"]["id"]
    try:
        page = ids.parse_page(body["actions"][0].get("value"))
        post_choices(client, context, user_id, click_channel(body), page)
    except ids.MalformedAction as exc:
        logger.warning("refused a page click from %s: %s", user_id, exc)
    except Exception:
        logger.exception("posting page for %s failed", user_id)


def refuse_unknown_action(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    user_id = body["user"]["id"]
    logger.warning(
        "refused unknown action %r from %s", body["actions"][0].get("action_id"), user_id
    )
    try:
        tell(client, user_id, views.refused_unknown_action(), channel=click_channel(body))
    except Exception:
        logger.exception("telling %s about an unknown action failed", user_id)
