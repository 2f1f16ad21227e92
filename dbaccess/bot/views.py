"""Block Kit builders: pure functions from what a person holds to Slack blocks (no Slack calls).

Built with slack_sdk.models, whose `to_dict()` checks Slack's limits (25 elements per actions
block, 100 blocks per view, text lengths). Each database takes two blocks (a description and
its buttons), so a page holds at most HOME_PAGE_SIZE databases on the Home tab (limit 100
blocks) and MESSAGE_PAGE_SIZE in a message (limit 50); more are paged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from dbaccess.bot import ids
from dbaccess.bot.access_requests.form import request_access_button
from dbaccess.bot.directory import NotAllowed
from dbaccess.bot.grants import DatabaseChoices
from dbaccess.bot.ids import RequestChoice

HOME_MAX_BLOCKS: Final = 100
MESSAGE_MAX_BLOCKS: Final = 50
FIXED_BLOCKS: Final = 5  # header, intro, divider, pager, footer
HOME_PAGE_SIZE: Final = 40  # 5 + 2 x 40 = 85 blocks, + the Home tab's "Request access" row
MESSAGE_PAGE_SIZE: Final = 20  # 5 + 2 x 20 = 45 blocks
ACCESS_LABELS: Final = {"read-only": "Read-only", "read-write": "Read-write"}
LINK_LIFETIME: Final = "15 minutes"


def escape(text: str) -> str:
    """Slack mrkdwn needs only these three escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def channel_link(channel: str) -> str:
    """A clickable channel for an id; the plain #name otherwise (apps cannot link by name)."""
    if channel[:1] in "CG" and channel.isalnum() and channel.isupper():
        return f"<#{channel}>"
    return channel if channel.startswith("#") else f"#{channel}"


def page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


def _database_blocks(db: DatabaseChoices) -> list[Block]:
    tags = [db.engine] + (["production"] if db.production else [])
    text = f"*{escape(db.key)}*  ·  {' · '.join(tags)}"
    if db.description:
        text += f"\n{escape(db.description)}"
    for access, last_day in db.ends:
        text += f"\n_{ACCESS_LABELS[access]} until {last_day:%-d %B %Y}_"
    buttons = [
        ButtonElement(
            text=f"{ACCESS_LABELS[choice.access]}",
            action_id=choice.action_id,
            value=choice.value,
            # Read-write on production is the one to think twice about.
            style="danger" if db.production and choice.access == "read-write" else "primary",
            accessibility_label=f"Get a {choice.access} password for {db.key}",
        )
        for choice in db.choices
    ]
    return [
        SectionBlock(block_id=ids.database_block_id(db.key), text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=ids.buttons_block_id(db.key), elements=buttons),
    ]


def _pager(page: int, pages: int, pager: str) -> list[Block]:
    if pages <= 1:
        return []
    buttons = []
    if page > 0:
        buttons.append(
            ButtonElement(
                text="‹ Previous", action_id=ids.pager_action_id(pager, "prev"), value=str(page - 1)
            )
        )
    if page < pages - 1:
        buttons.append(
            ButtonElement(
                text="Next ›", action_id=ids.pager_action_id(pager, "next"), value=str(page + 1)
            )
        )
    return [ActionsBlock(block_id=ids.PAGER_BLOCK, elements=buttons)]


def _help(help_channel: str) -> Block:
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text=(
                    "Missing a database, or need other access? "
                    f"Ask in {channel_link(help_channel)}."
                )
            )
        ]
    )


def choices_blocks(
    databases: Sequence[DatabaseChoices],
    help_channel: str,
    *,
    page: int = 0,
    page_size: int,
    pager: str,
    email: str | None = None,
) -> list[Block]:
    """The person's databases, one page of them, with buttons; or the no-access message
    (naming `email`, the address their access was looked up by)."""
    if not databases:
        return no_access_blocks(help_channel, email)
    pages = page_count(len(databases), page_size)
    page = min(max(page, 0), pages - 1)
    shown = databases[page * page_size : (page + 1) * page_size]
    where = f"  Page {page + 1} of {pages}." if pages > 1 else ""
    blocks: list[Block] = [
        HeaderBlock(block_id=ids.HEADER_BLOCK, text="Your databases"),
        ContextBlock(
            block_id=ids.INTRO_BLOCK,
            elements=[
                MarkdownTextObject(
                    text=(
                        "Click an access level: a one-time link to a password valid for "
                        f"{LINK_LIFETIME} arrives by direct message in a few seconds.{where}"
                    )
                )
            ],
        ),
        DividerBlock(),
    ]
    for db in shown:
        blocks += _database_blocks(db)
    blocks += _pager(page, pages, pager)
    blocks.append(_help(help_channel))
    return blocks


def no_access_blocks(help_channel: str, email: str | None = None) -> list[Block]:
    looked_up = (
        f"I looked for your Slack email, *{escape(email)}*, and found no access for it. "
        "If your access was given to another address, ask in "
        f"{channel_link(help_channel)} to have it corrected.\n"
        if email
        else ""
    )
    return [
        HeaderBlock(block_id=ids.HEADER_BLOCK, text="Your databases"),
        SectionBlock(
            block_id=ids.NO_ACCESS_BLOCK,
            text=MarkdownTextObject(
                text=(
                    "You have no database access through db-access yet.\n"
                    f"{looked_up}"
                    "To get some, click *Request access* on this app's Home tab, or ask in "
                    f"{channel_link(help_channel)}; the database's owners review each request."
                )
            ),
        ),
    ]


def home_view(
    databases: Sequence[DatabaseChoices],
    help_channel: str,
    page: int = 0,
    *,
    email: str | None = None,
) -> View:
    blocks = choices_blocks(
        databases,
        help_channel,
        page=page,
        page_size=HOME_PAGE_SIZE,
        pager=ids.HOME_PAGER,
        email=email,
    )
    blocks.insert(1, request_access_button())  # under the header
    return View(type="home", callback_id=ids.HOME_CALLBACK, blocks=blocks)


def home_view_dict(
    databases: Sequence[DatabaseChoices],
    help_channel: str,
    page: int = 0,
    *,
    email: str | None = None,
) -> dict[str, Any]:
    """The view as views.publish takes it; raises SlackObjectFormationError past a limit."""
    return home_view(databases, help_channel, page, email=email).to_dict()


def message_blocks(
    databases: Sequence[DatabaseChoices],
    help_channel: str,
    page: int = 0,
    *,
    email: str | None = None,
) -> list[dict[str, Any]]:
    """The /dbaccess answer (a message: 50 blocks at most)."""
    blocks = choices_blocks(
        databases,
        help_channel,
        page=page,
        page_size=MESSAGE_PAGE_SIZE,
        pager=ids.MESSAGE_PAGER,
        email=email,
    )
    if len(blocks) > MESSAGE_MAX_BLOCKS:  # a guard for the page-size arithmetic above
        raise ValueError(f"{len(blocks)} blocks exceed a message's {MESSAGE_MAX_BLOCKS}")
    return [block.to_dict() for block in blocks]


# --- texts: what the person reads after a click ---------------------------------------------


def choice_label(choice: RequestChoice) -> str:
    return f"*{escape(choice.database)}* ({choice.access})"


def request_received(choice: RequestChoice) -> str:
    return (
        "Request received — your link arrives in a few seconds, by direct message: "
        f"{choice_label(choice)}."
    )


def refused_unknown_action() -> str:
    return (
        "Sorry, I don't recognise that button, so I did nothing. "
        "Open my Home tab or type `/dbaccess` for your current choices."
    )


def refused_not_granted(choice: RequestChoice, help_channel: str) -> str:
    return (
        f"You no longer have {choice_label(choice)} access, so I did not request anything. "
        f"Open my Home tab for your current choices, or ask in {channel_link(help_channel)}."
    )


def refused_rate_limited(limit: int, window_seconds: int) -> str:
    minutes = max(1, window_seconds // 60)
    return (
        f"You have made {limit} requests in the last {minutes} minutes, the most I accept; "
        "nothing was requested. Please wait a few minutes and try again."
    )


def refused_person(why: NotAllowed, help_channel: str) -> str:
    """Why the bot serves nobody behind this Slack account (credentials and requests alike)."""
    if why is NotAllowed.GUEST:
        return (
            "Guest accounts can't get database credentials or request access here. If you "
            f"need access, ask in {channel_link(help_channel)}."
        )
    if why is NotAllowed.OTHER_WORKSPACE:
        return (
            "This bot serves members of its own workspace only, and your account belongs to "
            "another organization (Slack Connect): I can't give you database credentials or "
            f"take access requests. Ask in {channel_link(help_channel)} if this looks wrong."
        )
    return (
        "I couldn't find your email address in Slack, so I can't tell which databases are "
        f"yours. Please ask in {channel_link(help_channel)}."
    )


def failed_to_record(choice: RequestChoice) -> str:
    return (
        f"Sorry, I couldn't record your request for {choice_label(choice)} (the request "
        "store is busy); nothing was requested. Please try again in a minute."
    )


def failed_to_look_up() -> str:
    return "Sorry, I couldn't look up your access just now. Please try again in a minute."
