"""What a person reads about their access request: pure functions returning Slack mrkdwn."""

from __future__ import annotations

from collections.abc import Sequence

from dbaccess.bot.access_requests.ledger import WatchedRequest
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.bot.views import channel_link, escape


def _what(database: str, access: str) -> str:
    return f"{access} on *{escape(database)}*"


def not_set_up(help_channel: str) -> str:
    return (
        "Requesting access from Slack is not set up here (the bot has no GitHub App). "
        f"Open a pull request on access.yaml, or ask in {channel_link(help_channel)}."
    )


def working(grant: RequestedGrant) -> str:
    return f"Opening your request for {_what(grant.database, grant.access)}… (a few seconds)"


def opened(grant: RequestedGrant, url: str, *, reviewed_by: Sequence[str]) -> str:
    who = (
        f"Reviewers: {', '.join(escape(r) for r in reviewed_by)}."
        if reviewed_by
        else "The repository's code owners review it."
    )
    return (
        f"Your request for {_what(grant.database, grant.access)} is open for review: {url}\n"
        f"{who} I'll message you when it is approved or declined."
    )


def already_open(grant: RequestedGrant, url: str) -> str:
    return (
        f"You already have an open request for {_what(grant.database, grant.access)}: {url}\n"
        "I did not open another one."
    )


def already_held(grant: RequestedGrant) -> str:
    """Shown in the form (plain text): nothing to request."""
    return (
        f"You already have {grant.access} on {grant.database}: there is nothing to request. "
        "Your databases are on the bot's Home tab."
    )


def daily_limit(limit: int) -> str:
    return (
        f"You have made {limit} access requests today, the most I accept in a day; nothing was "
        "opened. Please try again tomorrow."
    )


def refused_by_file(grant: RequestedGrant, reason: str, help_channel: str) -> str:
    return (
        f"I could not request {_what(grant.database, grant.access)}: {escape(reason)}\n"
        f"Nothing was opened. Ask in {channel_link(help_channel)} if this looks wrong."
    )


def github_unavailable(grant: RequestedGrant) -> str:
    return (
        f"GitHub is not answering, so I could not open your request for "
        f"{_what(grant.database, grant.access)}; nothing was left half-made. "
        "Please try again in a few minutes."
    )


def github_refused(grant: RequestedGrant, help_channel: str) -> str:
    return (
        f"GitHub refused to open your request for {_what(grant.database, grant.access)} (the "
        "bot's GitHub access needs attention); nothing was left half-made. Please tell "
        f"{channel_link(help_channel)}."
    )


def failed(help_channel: str) -> str:
    return (
        "Sorry, something went wrong while opening your request. Please try again, or ask in "
        f"{channel_link(help_channel)}."
    )


def approved(request: WatchedRequest) -> str:
    return (
        f"Your request for {_what(request.database, request.access)} was approved: "
        f"{request.url}\nThe merge starts a deploy (the platform team approves it); your "
        "access works once that deploy finishes, and I'll message you again when it has."
    )


def declined(request: WatchedRequest) -> str:
    return (
        f"Your request for {_what(request.database, request.access)} was declined "
        f"(the pull request was closed without merging): {request.url}"
    )


def auto_merge_stopped(request: WatchedRequest, why: str) -> str:
    return (
        f"Your request for {_what(request.database, request.access)} will not be merged "
        f"automatically ({escape(why)}): {request.url}\nOnce it is approved, one of the "
        "database's owners merges it on GitHub; I'll message you when it is decided."
    )
