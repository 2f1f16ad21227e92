"""Approve in Slack: Link / Unlink GitHub (Home tab and `/dbaccess link-github`), and the
Approve / Decline buttons of a request message with the decline reason's modal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from dbaccess import person_text
from dbaccess.bot import ids
from dbaccess.bot.services import click_channel, services_of, tell
from dbaccess.bot.slack_approval.flow import ApprovalFlow

logger = logging.getLogger(__name__)
NOT_SET_UP = "Approving from Slack is not set up on this bot: review requests on GitHub."


def register(app: App) -> None:
    app.action(ids.LINK_GITHUB)(link_from_home)
    app.action(ids.UNLINK_GITHUB)(unlink_from_home)
    app.command(ids.COMMAND, matchers=[_subcommand(ids.LINK_SUBCOMMAND)])(link_from_command)
    app.command(ids.COMMAND, matchers=[_subcommand(ids.UNLINK_SUBCOMMAND)])(unlink_from_command)
    app.action(ids.APPROVE_REQUEST)(approve)
    app.action(ids.DECLINE_REQUEST)(open_decline)
    app.view(ids.DECLINE_CALLBACK)(decline)


def _subcommand(name: str) -> Callable[[Mapping[str, Any]], bool]:
    def matches(command: Mapping[str, Any]) -> bool:
        return str(command.get("text") or "").strip().lower() == name

    return matches


def _flow(client: WebClient, context: BoltContext, user_id: str) -> ApprovalFlow | None:
    flow = services_of(context).approval
    if flow is None:
        tell(client, user_id, NOT_SET_UP)
    return flow


def _link(client: WebClient, context: BoltContext, user_id: str) -> None:
    try:
        if (flow := _flow(client, context, user_id)) is not None:
            flow.start_link(user_id)
    except Exception:
        logger.exception("starting %s's GitHub link failed", user_id)
        tell(client, user_id, "Linking could not start: try again in a minute.")


def _unlink(client: WebClient, context: BoltContext, user_id: str) -> None:
    try:
        if (flow := _flow(client, context, user_id)) is not None:
            flow.unlink(user_id)
            services_of(context).publish_home(client, user_id)
    except Exception:
        logger.exception("unlinking %s's GitHub account failed", user_id)
        tell(client, user_id, "Unlinking failed: try again in a minute.")


def link_from_home(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    _link(client, context, body["user"]["id"])


def unlink_from_home(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    _unlink(client, context, body["user"]["id"])


def link_from_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    _link(client, context, command["user_id"])


def unlink_from_command(
    ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    _unlink(client, context, command["user_id"])


def _target(client: WebClient, user_id: str, value: str | None) -> ids.DecisionTarget | None:
    try:
        return ids.parse_decision(value)
    except ids.MalformedAction as malformed:
        logger.warning("refused a decision click by %s: %s", user_id, malformed)
        tell(client, user_id, "That button is not one of mine: nothing was decided.")
        return None


def approve(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()  # Slack's 3 seconds; GitHub is called after
    user_id = body["user"]["id"]
    try:
        flow = _flow(client, context, user_id)
        target = _target(client, user_id, body["actions"][0].get("value"))
        if flow is not None and target is not None:
            text = flow.decide(user_id, target, "APPROVE")
            tell(client, user_id, text, channel=click_channel(body))
    except Exception:
        logger.exception("approving for %s failed", user_id)
        tell(client, user_id, "Approving failed: nothing was decided, try again in a minute.")


def open_decline(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    user_id = body["user"]["id"]
    try:
        flow = _flow(client, context, user_id)
        target = _target(client, user_id, body["actions"][0].get("value"))
        if flow is not None and target is not None:
            refused = flow.open_decline(user_id, target, body["trigger_id"])
            if refused:
                tell(client, user_id, refused, channel=click_channel(body))
    except Exception:
        logger.exception("opening the decline form for %s failed", user_id)
        tell(client, user_id, "Declining failed: nothing was decided, try again in a minute.")


def decline(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    view = body["view"]
    user_id = body["user"]["id"]
    values = view["state"]["values"]
    reason = str(
        (values.get(ids.DECLINE_REASON_BLOCK, {}).get(ids.DECLINE_REASON_ACTION) or {}).get("value")
        or ""
    ).strip()
    why = "is empty: say why" if not reason else person_text.problem(reason)
    if why:
        ack(response_action="errors", errors={ids.DECLINE_REASON_BLOCK: f"The reason {why}."})
        return
    ack()
    try:
        flow = _flow(client, context, user_id)
        target = _target(client, user_id, view.get("private_metadata"))
        if flow is not None and target is not None:
            tell(client, user_id, flow.decide(user_id, target, "REQUEST_CHANGES", reason))
    except Exception:
        logger.exception("declining for %s failed", user_id)
        tell(client, user_id, "Declining failed: nothing was decided, try again in a minute.")
