"""Who may decide which request from Slack: pure functions over plain values.

The stack says which requests may be approved from Slack at all (`SlackApprovalPolicy`); the
rest is the owner-approval rule seen from a click: the clicker's linked login must be an owner
of the database, and never the person who gains the access.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dbaccess.approvals.rules import TeamMembership, is_owner

# Read-only by default: a stolen Slack session can at most let someone read a database they
# asked for; writing needs the owner's own GitHub session (2FA, SSO) on github.com.
DEFAULT_ACCESS_LEVELS: Final = frozenset({"read-only"})


@dataclass(frozen=True)
class SlackApprovalPolicy:
    """Requests that may be decided from Slack: the access level is listed, and the database
    too when `databases` is set (None: any database)."""

    access_levels: frozenset[str] = DEFAULT_ACCESS_LEVELS
    databases: frozenset[str] | None = None

    def allows(self, database: str, access: str) -> bool:
        return access in self.access_levels and (
            self.databases is None or database in self.databases
        )


class Refusal(StrEnum):
    """Why a click may not decide a request (the value is what the person is told)."""

    NOT_FROM_SLACK = "This request may not be decided from Slack: review it on GitHub."
    BENEFICIARY = "You cannot decide your own request: another owner must review it."
    NOT_AN_OWNER = "Only an owner of the database can decide this request."
    NOT_LINKED = "Link your GitHub account first (the bot's Home tab, Link GitHub account)."


@dataclass(frozen=True)
class RequestFacts:
    """What a decision depends on, as recorded when the pull request opened."""

    database: str
    access: str
    beneficiary_email: str
    beneficiary_slack_id: str
    beneficiary_login: str | None  # their `github:` in access.yaml, if any
    owners: tuple[str, ...]  # `@login` / `@org/team`, from access.yaml


def is_beneficiary(
    request: RequestFacts, slack_user_id: str, email: str | None, login: str | None
) -> bool:
    """The clicker gains the access: same Slack user, email or GitHub login."""
    return (
        slack_user_id == request.beneficiary_slack_id
        or (email is not None and email.lower() == request.beneficiary_email.lower())
        or (
            login is not None
            and request.beneficiary_login is not None
            and login.lower() == request.beneficiary_login.lower()
        )
    )


def refusal(
    policy: SlackApprovalPolicy,
    request: RequestFacts,
    slack_user_id: str,
    email: str | None,
    login: str | None,
    is_member: TeamMembership,
) -> Refusal | None:
    """None when the clicker may decide the request from Slack; otherwise why not."""
    if not policy.allows(request.database, request.access):
        return Refusal.NOT_FROM_SLACK
    if is_beneficiary(request, slack_user_id, email, login):
        return Refusal.BENEFICIARY
    if login is None:
        return Refusal.NOT_LINKED
    if not is_owner(login, request.owners, is_member):
        return Refusal.NOT_AN_OWNER
    return None


def offers_buttons(
    policy: SlackApprovalPolicy, request: RequestFacts, slack_user_id: str, email: str | None
) -> bool:
    """Whether a message to this person carries Approve / Decline (else only the link)."""
    return policy.allows(request.database, request.access) and not is_beneficiary(
        request, slack_user_id, email, None
    )
