"""The expiry notice a person reads in Slack. Pure functions, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dbaccess.reaper.core import GrantStatus

KEEP_HINT = "Use it once to keep it, or ask to renew."


def _day(value: dt.date) -> str:
    return value.strftime("%a %d %b %Y")


def grant_line(status: GrantStatus) -> str:
    u = status.usage
    if status.reason == "until":
        return (
            f"• *{u.key.database}* {u.key.access}: ends on {_day(status.removal_date)} "
            f"(its `until` date) — ask to renew if you still need it"
        )
    used = f"last used {_day(u.last_used)}" if u.last_used else "not used through db-access yet"
    return f"• *{u.key.database}* {u.key.access}: {used}; removal on {_day(status.removal_date)}"


def notice_message(
    due: Sequence[tuple[GrantStatus, int]], contact: str
) -> tuple[str, list[dict[str, Any]]]:
    """One DM for one person: every grant with a notice due today."""
    ordered = sorted(due, key=lambda item: (item[0].removal_date, item[0].key))
    soonest = ordered[0][0]
    count = len(ordered)
    what = "database grant" if count == 1 else "database grants"
    text = f"{count} {what} of yours will be removed soon (first on {soonest.removal_date})."
    lines = "\n".join(grant_line(status) for status, _ in ordered)
    footer = (
        f"{KEEP_HINT} Renew: {contact}."
        if any(s.reason == "unused" for s, _ in ordered)
        else f"To keep access, {contact}."
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":hourglass: {text}"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": lines}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
    ]
    return text, blocks
