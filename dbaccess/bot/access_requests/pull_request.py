"""The pull request a Slack access request becomes: its branch, title, body and labels.

Pure functions: the bot passes in the request and the access diff (rendered by
`dbaccess.access.diff.render_markdown`, the preview workflow's comment) and hands the result to
`dbaccess.clients.github.open_access_request`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from dbaccess import person_text
from dbaccess.approvals.requester import Requester

BRANCH_PREFIX = "access-request"
REQUEST_LABEL = "access-request"
PRODUCTION_LABEL = "production"

# Characters kept in a branch name component; everything else becomes "-". A subset of what
# git allows, so the name also reads well in a URL.
_UNSAFE_IN_BRANCH = re.compile(r"[^a-z0-9._@+-]+")
# Hex digits of the request's hash in its branch name: two requests whose readable parts are
# alike (`a-b@`, `a=b@`) still get branches of their own.
_HASH_DIGITS = 10


@dataclass(frozen=True)
class RequestedGrant:
    email: str
    database: str
    access: str  # read-only | read-write
    until: date | None
    reason: str | None

    def __post_init__(self) -> None:
        # Whatever builds a request (the Slack form checks first, with a message in the form),
        # its reason is a person's text that fits the pull request and access.yaml.
        if self.reason is not None and (why := person_text.problem(self.reason)) is not None:
            raise ValueError(f"the reason {why}")


def branch_name(email: str, database: str, access: str) -> str:
    """`access-request/<person>/<database>-<access>-<hash>`, valid under git's ref rules
    whatever the input. One branch per exact person, database and access (the hash is of
    those, as given): a second ask finds the first, and nobody else's request shares it."""
    exact = "\n".join((email, database, access)).encode()
    digest = hashlib.sha256(exact).hexdigest()[:_HASH_DIGITS]
    return f"{BRANCH_PREFIX}/{_component(email)}/{_component(f'{database}-{access}')}-{digest}"


def title(grant: RequestedGrant) -> str:
    return f"Grant {grant.email} {grant.access} on {grant.database}"


def labels(production: bool) -> tuple[str, ...]:
    return (REQUEST_LABEL, PRODUCTION_LABEL) if production else (REQUEST_LABEL,)


def body(grant: RequestedGrant, diff_markdown: str) -> str:
    until = f"{grant.until} (the last day of access)" if grant.until else "no end date"
    who, reason = person_text.markdown(grant.email), grant.reason
    return "\n".join(
        [
            f"{who} asks for **{grant.access}** on `{grant.database}`.",
            "",
            "| | |",
            "|---|---|",
            f"| Requested by | {who} |",
            f"| Database | `{grant.database}` |",
            f"| Access | {grant.access} |",
            f"| Until | {until} |",
            f"| Reason | {person_text.markdown(reason) if reason else '(none given)'} |",
            "",
            diff_markdown.rstrip(),
            "",
            "---",
            "Requested from Slack with the dbaccess bot, which edited `access.yaml` for the "
            "requester. Merge to grant (live after the next deploy), close to decline: the "
            "requester is told either way.",
        ]
    )


def _component(text: str) -> str:
    """One path component of a branch name that git accepts: no "..", no leading "." or "-",
    no trailing "." or ".lock", no "@{", nothing empty."""
    safe = _UNSAFE_IN_BRANCH.sub("-", text.lower())
    safe = re.sub(r"\.{2,}", ".", safe).strip(".-")
    safe = re.sub(r"\.lock$", "-lock", safe)
    return safe or "x"


def self_review_note(requester: Requester, database: str) -> str:
    """Said on the pull request when the requester is one of the database's owners."""
    who = person_text.markdown(requester.github or requester.email)
    return (
        f"**The requester ({who}) is an owner of "
        f"`{database}`: an owner other than the requester must approve.** The `approvals` "
        "check does not count an approval by anyone who gains access."
    )
