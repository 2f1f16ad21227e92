"""Every Slack action_id, block_id and callback_id the bot uses, defined once.

A request button carries its database and access level twice: in its action_id (Slack needs
action ids unique within a block) and in its value. A click is honoured only when both agree
and parse, so a forged or stale payload is refused instead of guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from dbaccess.access.schema import DATABASE_KEY
from dbaccess.request_table import ACCESS_LEVELS

COMMAND: Final = "/dbaccess"
HOME_CALLBACK: Final = "dbaccess-home"

# Blocks
HEADER_BLOCK: Final = "header"
INTRO_BLOCK: Final = "intro"
NO_ACCESS_BLOCK: Final = "no-access"
PAGER_BLOCK: Final = "pager"
DATABASE_BLOCK_PREFIX: Final = "db:"  # + database key: the section describing a database
BUTTONS_BLOCK_PREFIX: Final = "buttons:"  # + database key: its request buttons
# `dbaccess notify`'s DM after a deploy: a request button ("Get credentials") per new grant.
CREDENTIALS_BLOCK: Final = "credentials"

# Actions
REQUEST_PREFIX: Final = "request:"  # request:<database>:<access>
REQUEST_ACTION: Final = re.compile(r"^request:")
HOME_PAGER: Final = "home-page"  # + "-prev" / "-next"; value: the page number to show
MESSAGE_PAGER: Final = "message-page"  # + "-prev" / "-next"; value: the page number to post
HOME_PAGE_ACTION: Final = re.compile(r"^home-page-(prev|next)$")
MESSAGE_PAGE_ACTION: Final = re.compile(r"^message-page-(prev|next)$")
ANY_ACTION: Final = re.compile(r".*")  # the fallback that refuses what is not ours


def pager_action_id(pager: str, direction: str) -> str:
    """`pager` is HOME_PAGER or MESSAGE_PAGER; `direction` is "prev" or "next"."""
    return f"{pager}-{direction}"


def database_block_id(database: str) -> str:
    return f"{DATABASE_BLOCK_PREFIX}{database}"


def buttons_block_id(database: str) -> str:
    return f"{BUTTONS_BLOCK_PREFIX}{database}"


@dataclass(frozen=True)
class RequestChoice:
    """What a request button asks for."""

    database: str
    access: str

    @property
    def action_id(self) -> str:
        return f"{REQUEST_PREFIX}{self.database}:{self.access}"

    @property
    def value(self) -> str:
        return f"{self.database}:{self.access}"


class MalformedAction(ValueError):
    """A click whose action id or value is not one of our request buttons."""


def parse_request_action(action_id: str, value: str | None) -> RequestChoice:
    """The choice a request button click carries; MalformedAction unless id and value agree."""
    if not action_id.startswith(REQUEST_PREFIX):
        raise MalformedAction(f"action {action_id!r} is not a request button")
    database, sep, access = (value or "").partition(":")
    if not sep or not DATABASE_KEY.fullmatch(database) or access not in ACCESS_LEVELS:
        raise MalformedAction(f"request button value {value!r} is malformed")
    choice = RequestChoice(database, access)
    if choice.action_id != action_id:
        raise MalformedAction(f"action {action_id!r} does not match its value {value!r}")
    return choice


def parse_page(value: str | None) -> int:
    """A pager button's page number (0-based); MalformedAction otherwise."""
    if value is None or not value.isdigit() or len(value) > 4:
        raise MalformedAction(f"page {value!r} is malformed")
    return int(value)


# --- "Request access": the modal that becomes a pull request on access.yaml -----------------

REQUEST_SUBCOMMAND: Final = "request"  # `/dbaccess request`
REQUEST_ACCESS_BLOCK: Final = "request-access"  # the Home tab's button row
OPEN_REQUEST_FORM: Final = "open-request-form"  # the Home tab's "Request access" button
REQUEST_FORM_CALLBACK: Final = "request-access-form"
FORM_DATABASE_BLOCK: Final = "form-database"
FORM_DATABASE_ACTION: Final = "database"
FORM_ACCESS_BLOCK: Final = "form-access"
FORM_ACCESS_ACTION: Final = "access"
FORM_UNTIL_BLOCK: Final = "form-until"
FORM_UNTIL_ACTION: Final = "until"
FORM_REASON_BLOCK: Final = "form-reason"
FORM_REASON_ACTION: Final = "reason"


# --- Approve in Slack (dbaccess.bot.slack_approval) -------------------------------------------

LINK_SUBCOMMAND: Final = "link-github"  # `/dbaccess link-github`
UNLINK_SUBCOMMAND: Final = "unlink-github"
GITHUB_LINK_BLOCK: Final = "github-link"  # the Home tab's Link / Unlink row
LINK_GITHUB: Final = "github-link-start"
UNLINK_GITHUB: Final = "github-unlink"
DECISION_BLOCK: Final = "decision"  # a request message's Approve / Decline row
APPROVE_REQUEST: Final = "approve-request"  # value: <pull request number>:<head commit>
DECLINE_REQUEST: Final = "decline-request"
DECLINE_CALLBACK: Final = "decline-request-reason"  # private_metadata: the same value
DECLINE_REASON_BLOCK: Final = "decline-reason"
DECLINE_REASON_ACTION: Final = "decline-reason-text"
_DECISION_VALUE: Final = re.compile(r"([1-9][0-9]{0,9}):([0-9a-f]{40})")


@dataclass(frozen=True)
class DecisionTarget:
    """What an Approve / Decline button stands for: a pull request at one commit."""

    number: int
    head_sha: str

    @property
    def value(self) -> str:
        return f"{self.number}:{self.head_sha}"


def parse_decision(value: str | None) -> DecisionTarget:
    """The pull request and commit a decision button carries; MalformedAction otherwise."""
    match = _DECISION_VALUE.fullmatch(value or "")
    if not match:
        raise MalformedAction(f"decision value {value!r} is malformed")
    return DecisionTarget(int(match[1]), match[2])
