"""The pull request a Slack access request becomes: its branch, title, body and labels.

Pure functions: the bot passes in the request and the access diff (rendered by
`dbaccess.access.diff.render_markdown`, the preview workflow's comment) and hands the result to
`dbaccess.clients.github.open_access_request`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from dbaccess import person_text
from dbaccess.access.naming import GITHUB_LOGIN

BRANCH_PREFIX = "access-request"
REQUEST_LABEL = "access-request"
PRODUCTION_LABEL = "production"

# Characters kept in a branch name component; everything else becomes "-". A subset of what
# git allows, so the name also reads well in a URL.
_UNSAFE_IN_BRANCH = re.compile(r"[^a-z0-9._@+-]+")
# Hex digits of the request's hash in its branch name: two requests whose readable parts are
# alike (`a-b@`, `a=b@`) still get branches of their own.
_HASH_DIGITS = 10


# GitHub's names, said once: a repository is owner/name, the access file a relative path in it.
_NAME_PART = re.compile(r"[A-Za-z0-9_.-]+")


def is_repository_name(text: str) -> bool:
    """owner/name, each part of the characters GitHub allows."""
    owner, slash, name = text.partition("/")
    return bool(slash) and all(_NAME_PART.fullmatch(p) for p in (owner, name))


def is_repository_path(text: str) -> bool:
    """A relative path inside a repository (no `..`, no empty part)."""
    return all(_NAME_PART.fullmatch(p) and p != ".." for p in text.split("/"))


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


# --- who asked: recorded for the owner-approval check (`dbaccess approvals`) ----------------

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


def self_review_note(requester: Requester, database: str) -> str:
    """Said on the pull request when the requester is one of the database's owners."""
    who = person_text.markdown(requester.github or requester.email)
    return (
        f"**The requester ({who}) is an owner of "
        f"`{database}`: an owner other than the requester must approve.** The `approvals` "
        "check does not count an approval by anyone who gains access."
    )
