"""Who asked for an access change from Slack: the record the bot writes on the first line of the
pull request's body, and the owner-approval check reads back (to count no approval by them).

Written here, not in the bot, because both sides must agree on it and the check must not import
the bot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dbaccess.access.naming import GITHUB_LOGIN

_REQUESTER = re.compile(r"<!-- dbaccess-requester (\{[^<>]*\}) -->")


@dataclass(frozen=True)
class Requester:
    email: str
    github: str | None  # their `github:` login in access.yaml, if they declared one


def requester_record(requester: Requester) -> str:
    """The body's first line: who asked, as an HTML comment (invisible on the page). Only the
    first line is read back, and the bot writes it before any person-supplied text, so a
    reason cannot replace it; a copy elsewhere in the body is ignored."""
    record = json.dumps({"email": requester.email, "github": requester.github})
    return f"<!-- dbaccess-requester {record} -->"


def requester_of(body: str | None) -> Requester | None:
    """The requester the bot recorded on the body's first line, or None."""
    first = (body or "").partition("\n")[0].strip()
    match = _REQUESTER.fullmatch(first)
    if match is None:
        return None
    try:
        record = json.loads(match.group(1))
    except ValueError:
        return None
    email, github = record.get("email"), record.get("github")
    if not isinstance(email, str) or not email:
        return None
    login = github if isinstance(github, str) and GITHUB_LOGIN.fullmatch(github) else None
    return Requester(email.lower(), login)
