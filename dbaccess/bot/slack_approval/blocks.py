"""The messages of "approve in Slack", as Block Kit: pure builders, tested without Slack."""

from __future__ import annotations

from typing import Any

from dbaccess.bot import ids
from dbaccess.bot.slack_approval.decisions import Announced
from dbaccess.bot.views import escape
from dbaccess.clients.github_user import DeviceCode

Block = dict[str, Any]


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def summary(request: Announced) -> str:
    f = request.facts
    until = f" until {request.until}" if request.until else " with no end date"
    return f"{escape(f.beneficiary_email)} asks for {f.access} on {f.database}{until}"


def request_blocks(request: Announced, *, buttons: bool, note: str = "") -> list[Block]:
    """The request as owners see it: who, what, until when, why, the access diff, the pull
    request, then the buttons, or only the link, or what happened (`note`)."""
    blocks = [
        _section(f"*Access request #{request.number}*: {summary(request)}"),
        _section(f"*Why:* {escape(request.reason) or '(no reason given)'}"),
    ]
    if request.diff:
        blocks.append(_section(f"```{escape(request.diff)[:2900]}```"))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{request.url}|Pull request on GitHub>"}],
        }
    )
    if note:
        blocks.append(_section(note))
    elif buttons:
        value = ids.DecisionTarget(request.number, request.head_sha).value
        blocks.append(
            {
                "type": "actions",
                "block_id": ids.DECISION_BLOCK,
                "elements": [
                    _button("Approve", ids.APPROVE_REQUEST, value, "primary"),
                    _button("Decline", ids.DECLINE_REQUEST, value, "danger"),
                ],
            }
        )
    else:
        blocks.append(
            _section("This request is decided on GitHub only: open the pull request to review it.")
        )
    return blocks


def decided_note(decision: str, login: str) -> str:
    verb = "Approved" if decision == "approved" else "Declined"
    return f"*{verb}* by @{escape(login)} (a review on GitHub under their own name)."


SUPERSEDED_NOTE = "The pull request changed since this message: a fresh request was sent."
CLOSED_NOTE = "The pull request is no longer open."


def decline_modal(value: str, request: Announced) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.DECLINE_CALLBACK,
        "private_metadata": value,
        "title": {"type": "plain_text", "text": "Decline request"},
        "submit": {"type": "plain_text", "text": "Decline"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(summary(request)),
            {
                "type": "input",
                "block_id": ids.DECLINE_REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why (the requester sees this)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.DECLINE_REASON_ACTION,
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def link_code_text(code: DeviceCode) -> str:
    minutes = max(1, code.expires_in // 60)
    return (
        f"To link your GitHub account, open {code.verification_uri} and enter the code "
        f"*{code.user_code}* within {minutes} minutes. I will tell you here when it is done."
    )


def home_blocks(login: str | None) -> list[Block]:
    """The Home tab's row: link, or who is linked and unlink."""
    if login is None:
        text = (
            "*GitHub account:* not linked. Link it to approve access requests for your "
            "databases from Slack, as your own GitHub review."
        )
        button = _button("Link GitHub account", ids.LINK_GITHUB, "link")
    else:
        text = f"*GitHub account:* linked as @{escape(login)}."
        button = _button("Unlink", ids.UNLINK_GITHUB, "unlink")
    return [
        {"type": "divider"},
        {**_section(text, ids.GITHUB_LINK_BLOCK), "accessory": button},
    ]
