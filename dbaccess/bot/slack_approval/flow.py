"""Approve in Slack: linking a GitHub account, announcing a request to its owners, and turning
an owner's click into their own review on the pull request.

Every click is checked again here, whatever the message showed (a forged payload gets nothing):
the request must be one the stack lets Slack decide, the clicker must not gain the access, and
their linked login must own the database. A decision is claimed in DynamoDB before GitHub is
called and marked decided only once GitHub holds the review; every failure gives the claim
back and says what to do, so the owner can click again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from github import Github
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from dbaccess import person_text
from dbaccess.access import InvalidInput, load_access_text
from dbaccess.approvals.facts import team_membership
from dbaccess.approvals.rules import is_owner
from dbaccess.bot import ids
from dbaccess.bot.access_requests.flow import OpenedRequest
from dbaccess.bot.access_requests.github_settings import GitHubSettings
from dbaccess.bot.directory import Directory, NotAllowed
from dbaccess.bot.services import tell
from dbaccess.bot.slack_approval import blocks
from dbaccess.bot.slack_approval.decisions import Announced, DecisionStore, MessageRef, Taken
from dbaccess.bot.slack_approval.links import Link, LinkStore
from dbaccess.bot.slack_approval.rules import RequestFacts, offers_buttons, refusal
from dbaccess.bot.slack_approval.settings import SlackApprovalSettings
from dbaccess.clients import github, github_user
from dbaccess.clients.github import GitHubError, GitHubUnavailable, PullRequestState
from dbaccess.clients.github_user import (
    AuthorizationGone,
    DeviceCode,
    DeviceFlowEnded,
    DeviceFlowWaiting,
    UserTokens,
)

logger = logging.getLogger(__name__)

# Refresh an access token this long before GitHub says it expires (clocks differ).
REFRESH_MARGIN_SECONDS: Final = 300
LINK_WORKERS: Final = 8  # device flows polled at once (each waits on a person)
MIN_POLL_SECONDS: Final = 0.05


@dataclass(frozen=True)
class Repository:
    name: str  # owner/name
    access_file: str
    api_url: str


class ApprovalFlow:
    def __init__(
        self,
        settings: SlackApprovalSettings,
        gh: Github,
        repository: Repository,
        links: LinkStore,
        decisions: DecisionStore,
        client: WebClient,
        directory: Directory,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._gh = gh
        self._repo = repository
        self._links = links
        self._decisions = decisions
        self._client = client
        self._directory = directory
        self._clock = clock
        self._stop = threading.Event()
        self._linking = ThreadPoolExecutor(LINK_WORKERS, thread_name_prefix="github-link")

    def stop(self) -> None:
        self._stop.set()
        self._linking.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ linking

    def linked_login(self, slack_user_id: str) -> str | None:
        return self._links.linked().get(slack_user_id)

    def start_link(self, slack_user_id: str) -> None:
        """DM the device code and link, then wait for the person in the background."""
        email = self._directory.email_of(slack_user_id)
        if isinstance(email, NotAllowed):
            tell(self._client, slack_user_id, "Only people of this workspace can link GitHub.")
            return
        try:
            code = github_user.start_device_flow(self._settings.web_url, self._settings.client_id)
        except GitHubError as error:
            logger.error("starting a device flow for %s failed: %s", slack_user_id, error)
            tell(self._client, slack_user_id, "GitHub could not start linking: try again later.")
            return
        tell(self._client, slack_user_id, blocks.link_code_text(code))
        self._linking.submit(self._finish_link, slack_user_id, email, code)

    def _finish_link(self, slack_user_id: str, email: str, code: DeviceCode) -> None:
        try:
            self._await_link(slack_user_id, email, code)
        except Exception:
            logger.exception("linking %s's GitHub account failed", slack_user_id)
            tell(self._client, slack_user_id, "Linking your GitHub account failed: try again.")

    def _await_link(self, slack_user_id: str, email: str, code: DeviceCode) -> None:
        tokens = self._wait_for_tokens(slack_user_id, code)
        if tokens is None:
            return
        login = github_user.login_of(
            github_user.connect_as_user(tokens.access_token, self._repo.api_url)
        )
        expected = self._declared_login(email)
        if expected is None or expected.lower() != login.lower():
            logger.info("%s linked @%s, access.yaml says %s", email, login, expected)
            tell(self._client, slack_user_id, _mismatch(login, expected, email))
            return
        self._links.save(slack_user_id, login, email, tokens)
        logger.info("%s linked the GitHub account @%s", email, login)
        tell(
            self._client,
            slack_user_id,
            f"Linked: you approve access requests from Slack as @{login}.",
        )

    def _wait_for_tokens(self, slack_user_id: str, code: DeviceCode) -> UserTokens | None:
        """Poll at GitHub's interval until the person approved; None once they were told
        why not (expired, cancelled) or the bot stops."""
        ends = self._clock() + code.expires_in
        interval = code.interval
        while not self._stop.wait(max(interval, MIN_POLL_SECONDS)):
            if self._clock() > ends:
                tell(self._client, slack_user_id, "Not linked: the code expired. Link again.")
                return None
            try:
                return github_user.poll_device_flow(
                    self._settings.web_url, self._settings.client_id, code, interval, self._clock()
                )
            except DeviceFlowWaiting as waiting:
                interval = waiting.interval
            except GitHubUnavailable as error:  # a blip: the code is still good
                logger.warning("polling %s's device flow: %s", slack_user_id, error)
            except DeviceFlowEnded as ended:
                tell(self._client, slack_user_id, f"Not linked: {ended}")
                return None
        return None

    def _declared_login(self, email: str) -> str | None:
        """The person's `github:` in access.yaml on the default branch."""
        text = github.read_file(self._gh, self._repo.name, self._repo.access_file).text
        try:
            plan = load_access_text(text, self._repo.access_file)
        except InvalidInput:
            return None
        person = plan.people.get(email)
        return person.github if person else None

    def unlink(self, slack_user_id: str) -> None:
        self._links.delete(slack_user_id)
        tell(
            self._client,
            slack_user_id,
            "Unlinked: the bot holds no GitHub token of yours any more. To revoke the app's "
            "authorization on GitHub too: GitHub settings, Applications, Authorized GitHub Apps.",
        )

    # ------------------------------------------------------------------ announcing

    def announce(self, opened: OpenedRequest) -> None:
        """Tell the database's linked owners (and its owners channel) about a new request.
        Never raises: the pull request is open whatever Slack does."""
        try:
            grant = opened.grant
            request = Announced(
                number=opened.number,
                url=opened.url,
                head_sha=opened.head_sha,
                facts=RequestFacts(
                    database=grant.database,
                    access=grant.access,
                    beneficiary_email=grant.email,
                    beneficiary_slack_id=opened.slack_user_id,
                    beneficiary_login=opened.requester_github,
                    owners=opened.owners,
                ),
                until=grant.until.isoformat() if grant.until else None,
                reason=grant.reason or "",
                diff=opened.diff,
            )
            self._decisions.record(request, self._clock())
            self._send(request)
        except Exception:
            logger.exception("announcing #%s to its owners failed", opened.number)

    def _send(self, request: Announced) -> None:
        """Post the request to every linked owner and the owners channel; remember where."""
        facts = request.facts
        is_member = team_membership(self._gh)
        sent: list[MessageRef] = []
        for slack_user_id, login in self._links.linked().items():
            if slack_user_id == facts.beneficiary_slack_id or (
                facts.beneficiary_login and login.lower() == facts.beneficiary_login.lower()
            ):
                continue  # never the buttons for one's own request
            try:
                if not is_owner(login, facts.owners, is_member):
                    continue
            except GitHubError as error:
                logger.warning("cannot tell whether @%s owns %s: %s", login, facts.database, error)
                continue
            buttons = offers_buttons(self._settings.policy, facts, slack_user_id, None)
            sent += self._post(slack_user_id, request, buttons)
        channel = self._settings.owners_channels.get(facts.database)
        if channel:
            allowed = self._settings.policy.allows(facts.database, facts.access)
            sent += self._post(channel, request, allowed)
        self._decisions.new_head(request.number, request.head_sha, tuple(sent))

    def _post(self, to: str, request: Announced, buttons: bool) -> list[MessageRef]:
        try:
            channel = (
                self._client.conversations_open(users=to)["channel"]["id"]
                if to.startswith(("U", "W"))
                else to
            )
            answer = self._client.chat_postMessage(
                channel=channel,
                text=f"Access request #{request.number}: {blocks.summary(request)}",
                blocks=blocks.request_blocks(request, buttons=buttons),
            )
        except SlackApiError as error:
            logger.warning("posting #%s to %s failed: %s", request.number, to, error)
            return []
        return [MessageRef(str(answer["channel"]), str(answer["ts"]))]

    def _update_all(self, request: Announced, note: str) -> None:
        for message in request.messages:
            try:
                self._client.chat_update(
                    channel=message.channel,
                    ts=message.ts,
                    text=f"Access request #{request.number}: {blocks.summary(request)}",
                    blocks=blocks.request_blocks(request, buttons=False, note=note),
                )
            except SlackApiError as error:
                logger.warning("updating a message of #%s failed: %s", request.number, error)

    # ------------------------------------------------------------------ deciding

    def check_click(
        self, slack_user_id: str, target: ids.DecisionTarget
    ) -> tuple[Announced, Link] | str:
        """The request and the clicker's link when they may decide it, else what to tell."""
        request = self._decisions.get(target.number)
        if request is None:
            return "I know of no such request: decide it on GitHub."
        if request.decision and request.decided_by:
            return f"Already {request.decision} by @{request.decided_by}."
        email = self._directory.email_of(slack_user_id)
        if isinstance(email, NotAllowed):  # a guest, another organization's user
            return "Only people of this workspace can decide requests."
        link = self._links.get(slack_user_id)
        why = refusal(
            self._settings.policy,
            request.facts,
            slack_user_id,
            email,
            link.login if link else None,
            team_membership(self._gh),
        )
        if why is not None:
            logger.info("refused %s's decision on #%s: %s", slack_user_id, request.number, why.name)
            return str(why)
        assert link is not None  # refusal says NOT_LINKED otherwise
        if target.head_sha != request.head_sha:
            return "This message is out of date: the pull request changed, see the newer one."
        return request, link

    def decide(
        self, slack_user_id: str, target: ids.DecisionTarget, event: str, reason: str = ""
    ) -> str:
        """Approve (event APPROVE) or decline (REQUEST_CHANGES with `reason`, then close) as
        the clicker; what to tell them."""
        checked = self.check_click(slack_user_id, target)
        if isinstance(checked, str):
            return checked
        request, link = checked
        try:
            request = self._decisions.claim(request.number, slack_user_id, self._clock())
        except Taken as taken:
            current = taken.request
            if current.decision and current.decided_by:
                return f"Already {current.decision} by @{current.decided_by}."
            return "Another owner is deciding this request right now."
        decided = False
        try:
            told, decided = self._decide_claimed(request, link, event, reason)
            return told
        finally:
            if not decided:  # GitHub holds no review of this click: the next one may retry
                self._decisions.release(request.number, slack_user_id)

    def _decide_claimed(
        self, request: Announced, link: Link, event: str, reason: str
    ) -> tuple[str, bool]:
        """(what to tell, whether GitHub now holds the review)."""
        number = request.number
        try:
            status = github.pull_request_status(self._gh, self._repo.name, number)
        except GitHubError as error:
            logger.error("reading #%s failed: %s", number, error)
            return "GitHub did not answer: nothing was decided, try again in a minute.", False
        if status.state is not PullRequestState.OPEN:
            self._update_all(request, blocks.CLOSED_NOTE)
            return "The pull request is no longer open: nothing to decide.", False
        if status.head_sha != request.head_sha:
            self._update_all(request, blocks.SUPERSEDED_NOTE)
            self._send(replace(request, head_sha=status.head_sha, messages=()))
            return (
                "The pull request changed since you were asked (a new commit): nothing was "
                "approved. A fresh request with the new change was sent.",
                False,
            )
        body = (
            f"Approved from Slack by @{link.login}."
            if event == "APPROVE"
            else f"Declined from Slack by @{link.login}: {person_text.markdown(reason)}"
        )
        try:
            self._review_as(link, number, request.head_sha, event, body)
        except AuthorizationGone:
            self._links.delete(link.slack_user_id)
            logger.info("@%s's GitHub authorization is gone; link deleted", link.login)
            return (
                "GitHub no longer accepts your linked account (the authorization was revoked or "
                "expired): nothing was decided. Link your GitHub account again (the bot's Home "
                "tab), then click again.",
                False,
            )
        except GitHubError as error:
            logger.error("reviewing #%s as @%s failed: %s", number, link.login, error)
            return (
                "GitHub did not take the review: nothing was decided, try again in a minute.",
                False,
            )
        decision = "approved" if event == "APPROVE" else "declined"
        if event != "APPROVE":
            try:
                github.close_pull_request(self._gh, self._repo.name, number)
            except GitHubError as error:  # changes are requested: it cannot merge anyway
                logger.warning("closing declined #%s failed: %s", number, error)
        try:
            self._decisions.decide(number, link.slack_user_id, decision, link.login)
        except (ClientError, BotoCoreError):  # the review exists: say so; the claim lapses
            logger.exception("recording #%s as %s failed", number, decision)
        self._update_all(request, blocks.decided_note(decision, link.login))
        logger.info("#%s %s by @%s from Slack", number, decision, link.login)
        verb = "Approved" if decision == "approved" else "Declined"
        return f"{verb} #{number} as @{link.login}: the review is on GitHub under your name.", True

    def _review_as(self, link: Link, number: int, commit: str, event: str, body: str) -> None:
        """Submit the review with the person's token; a token GitHub refuses before its time
        (clocks, a revoked token whose refresh token still works) is refreshed once."""
        fresh = link.tokens.access_expires_at - REFRESH_MARGIN_SECONDS > self._clock()
        token = link.tokens.access_token if fresh else self._refreshed(link)
        try:
            self._submit(token, number, commit, event, body)
        except AuthorizationGone:
            if not fresh:
                raise
            self._submit(self._refreshed(link), number, commit, event, body)

    def _submit(self, token: str, number: int, commit: str, event: str, body: str) -> None:
        gh = github_user.connect_as_user(token, self._repo.api_url)
        github_user.submit_review(gh, self._repo.name, number, commit, event, body)

    def _refreshed(self, link: Link) -> str:
        """A new access token for the link (its refresh token spent, the new pair stored);
        AuthorizationGone when GitHub no longer honours the link."""
        try:
            tokens = github_user.refresh(
                self._settings.web_url,
                self._settings.client_id,
                self._settings.client_secret,
                link.tokens.refresh_token,
                self._clock(),
            )
        except AuthorizationGone:
            current = self._links.get(link.slack_user_id)
            if current is not None and current.version != link.version:
                return current.tokens.access_token  # another replica refreshed first
            raise
        if not self._links.replace_tokens(link, tokens):
            current = self._links.get(link.slack_user_id)
            if current is None:
                raise AuthorizationGone("unlinked meanwhile")
            return current.tokens.access_token
        return tokens.access_token

    def open_decline(self, slack_user_id: str, target: ids.DecisionTarget, trigger_id: str) -> str:
        """Open the reason modal; "" when opened, else what to tell."""
        checked = self.check_click(slack_user_id, target)
        if isinstance(checked, str):
            return checked
        request, _ = checked
        self._client.views_open(
            trigger_id=trigger_id, view=blocks.decline_modal(target.value, request)
        )
        return ""


def _mismatch(login: str, expected: str | None, email: str) -> str:
    if expected is None:
        return (
            f"Not linked: access.yaml has no `github:` for {email}, so nothing says @{login} is "
            "you. Ask for `github: <your login>` under your entry in access.yaml, then link again."
        )
    return (
        f"Not linked: you authorized as @{login}, but access.yaml says your GitHub account is "
        f"@{expected}. Sign in to GitHub as @{expected} and link again (or fix access.yaml)."
    )


def approval_flow_for(
    settings: SlackApprovalSettings,
    app: GitHubSettings,
    table: str,
    client: WebClient,
    directory: Directory,
    *,
    dynamodb: Any,
    kms: Any,
    paced: bool = True,
) -> ApprovalFlow:
    """The flow the bot runs; `paced=False` only against a test's fake GitHub."""
    return ApprovalFlow(
        settings,
        github.connect(app.app, paced=paced),
        Repository(app.repository, app.access_file, app.app.api_url),
        LinkStore(dynamodb, kms, table, settings.token_key_arn),
        DecisionStore(dynamodb, table),
        client,
        directory,
    )
