"""After a deploy: tell each person who gained or lost access what changed for them, by Slack DM.

`notices` is pure: from the access diff between the deployed and the newly deployed versions of
access.yaml to one message per person. `send_notices` DMs them (users.lookupByEmail, then
clients.slack's DM sender); a person Slack does not know is reported, not fatal:
the deploy has happened either way. A message about new access carries a "Get credentials"
button per new grant: the bot's own request button (same action id and value as on its Home
tab), so a click goes through the bot's one handler and ends in the one-time link.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dbaccess.access.diff import AccessDiff, Change
from dbaccess.bot import ids
from dbaccess.bot.ids import RequestChoice
from dbaccess.clients.deadline import Deadline
from dbaccess.clients.slack import DirectMessages, SlackFailure

logger = logging.getLogger(__name__)

# What a person can do with a new grant; the same two ways everywhere in the docs.
HOW_TO_USE: Final = (
    "To connect: the buttons on the db-access Home tab in Slack (or `/dbaccess`), "
    "or `dbaccess connect {database}` in a terminal."
)


MAX_BLOCKS: Final = 50  # Slack's limit for a message
MAX_BUTTONS: Final = 25  # Slack's limit for an actions block
SECONDS_PER_PERSON: Final = 30.0  # lookup, open and post, rate limits waited out within it


@dataclass(frozen=True)
class Notice:
    email: str
    text: str
    credentials: tuple[RequestChoice, ...] = ()  # the new grants: a button each


@dataclass(frozen=True)
class Delivery:
    sent: tuple[str, ...]
    not_found: tuple[str, ...]  # no Slack user has that email
    failed: tuple[str, ...]  # Slack refused; the log says why


# What the audit log records of a login at each query_audit level, as people read it.
AUDIT_LOGGED: Final = {
    "none": "none of the statements",
    "ddl": "the schema and role changes",
    "write": "the writes and schema and role changes",
    "all": "every statement",
}


def _until(change: Change) -> str:
    until = change.grant.until if change.grant else None
    return f" until {until} (the last day)" if until else ""


def _line(change: Change) -> str | None:
    db = f"*{change.database}*"
    if change.change in ("gained", "escalated"):
        how = HOW_TO_USE.format(database=change.database)
        return f"• You now have {change.access} on {db}{_until(change)}. {how}"
    if change.change == "lost":
        return f"• You no longer have {change.access} on {db}."
    if change.change == "deescalated":
        return f"• You no longer have read-write on {db}; read-only stays."
    if change.change == "expiry-changed":
        end = f"now ends on {change.after}" if change.after else "no longer has an end date"
        return f"• Your {change.access} on {db} {end}."
    if change.change == "audit-changed":
        logged = AUDIT_LOGGED[change.after or "none"]
        return f"• The audit log of {db} now records {logged} you run as {change.access}."
    return None  # a reason or login change is not news to the person


def notices(diff: AccessDiff) -> list[Notice]:
    """One message per person whose access changed, in email order."""
    lines: dict[str, list[str]] = defaultdict(list)
    usable: dict[str, list[RequestChoice]] = defaultdict(list)
    for change in diff.changes:
        if (line := _line(change)) is not None:
            lines[change.person].append(line)
        if change.change in ("gained", "escalated"):
            usable[change.person].append(RequestChoice(change.database, change.access))
    return [
        Notice(
            email,
            "Your database access changed with the latest deploy:\n" + "\n".join(text),
            tuple(usable[email]),
        )
        for email, text in sorted(lines.items())
    ]


def blocks_of(notice: Notice) -> list[dict[str, Any]]:
    """One section per line (each well under Slack's 3,000 characters), then the "Get
    credentials" buttons; at most 50 blocks."""
    buttons = [_credentials_button(choice) for choice in notice.credentials[:MAX_BUTTONS]]
    room = MAX_BLOCKS - (1 if buttons else 0)
    lines = notice.text.split("\n")
    if len(lines) > room:
        lines = [*lines[: room - 1], f"… and {len(lines) - room + 1} more changes."]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": ids.CREDENTIALS_BLOCK, "elements": buttons})
    return blocks


def _credentials_button(choice: RequestChoice) -> dict[str, Any]:
    label = f"Get credentials: {choice.database} ({choice.access})"
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75]},  # Slack's limit for a button
        "action_id": choice.action_id,
        "value": choice.value,
        "style": "primary",
    }


def send_notices(dms: DirectMessages, to_send: Sequence[Notice]) -> Delivery:
    """DM each notice through the services' one DM sender (`clients.slack.DirectMessages`)."""
    sent: list[str] = []
    not_found: list[str] = []
    failed: list[str] = []
    for notice in to_send:
        deadline = Deadline.within(SECONDS_PER_PERSON)
        try:
            user = dms.user_id_for_email(notice.email, deadline)
            if user is None:
                not_found.append(notice.email)
                continue
            dms.send(user, notice.text, blocks_of(notice), deadline)
        except SlackFailure as error:
            logger.warning("telling %s failed: %s", notice.email, error)
            failed.append(notice.email)
            continue
        sent.append(notice.email)
    return Delivery(tuple(sent), tuple(not_found), tuple(failed))


def summary(delivery: Delivery) -> Iterable[str]:
    yield f"{len(delivery.sent)} people told"
    if delivery.not_found:
        yield f"not in Slack (not told): {', '.join(delivery.not_found)}"
    if delivery.failed:
        yield f"Slack refused (not told): {', '.join(delivery.failed)}"
