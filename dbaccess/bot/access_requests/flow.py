"""A submitted "Request access" form -> a reviewed pull request on access.yaml -> DMs.

`submit` runs after the modal was acked (it takes seconds: GitHub is paced). It edits the file
with the same round-trip editor as `dbaccess expire` (`add_grant`, which also validates the
edited file), opens the pull request all or nothing (`github.open_access_request`) and
returns what to tell the person. `poll` tells the people whose pull requests were decided.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from github import Github

from dbaccess.access import AccessPlan, InvalidInput, load_access_text
from dbaccess.access.diff import diff_plans, render_markdown, render_text
from dbaccess.access.edit import EditError, add_grant
from dbaccess.access.naming import Access
from dbaccess.approvals.requester import Requester, requester_record
from dbaccess.bot.access_requests import pull_request, texts
from dbaccess.bot.access_requests.github_settings import GitHubSettings
from dbaccess.bot.access_requests.ledger import RequestLedger, WatchedRequest
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.bot.auto_merge import AutoMerge, advance
from dbaccess.clients import github
from dbaccess.clients.github import (
    BranchExists,
    FileChanged,
    GitHubError,
    GitHubUnavailable,
    PullRequestRef,
    PullRequestState,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessFile:
    """Where access.yaml lives on GitHub."""

    repo: str  # owner/name
    path: str  # e.g. access.yaml


@dataclass(frozen=True)
class Decision:
    """A watched pull request that was merged or closed, and the DM that says so."""

    request: WatchedRequest
    text: str


@dataclass(frozen=True)
class PreparedRequest:
    """The edited access file and what the pull request says about it."""

    text: str
    body: str
    reviewers: tuple[str, ...]  # the database's owners but the requester
    production: bool
    owners: tuple[str, ...] = ()  # all of the database's owners
    requester_github: str | None = None
    diff_text: str = ""  # the access diff, as text (for Slack)


@dataclass(frozen=True)
class OpenedRequest:
    """A request pull request just opened, as announced to its owners (slack_approval)."""

    number: int
    url: str
    head_sha: str
    grant: RequestedGrant
    slack_user_id: str
    requester_github: str | None
    owners: tuple[str, ...]
    diff: str


def prepare_request(text: str, grant: RequestedGrant, path: str, today: dt.date) -> PreparedRequest:
    """`text` with the grant added by the round-trip editor, which validates the result
    (InvalidInput, EditError: refused, nothing to push), and the body with the access diff."""
    access: Access = "read-write" if grant.access == "read-write" else "read-only"
    edited = add_grant(
        text,
        grant.email,
        grant.database,
        access,
        today,
        until=grant.until,
        reason=grant.reason,
        file=path,
    )
    before = load_access_text(text, path, today=today)
    after = load_access_text(edited, path, today=today)
    database = after.databases[grant.database]
    # add_grant checked that only this person's grants changed: diffing only them gives the
    # same result as the whole files, without comparing every other grant (1 s at 5,000 people).
    diff = diff_plans(_only(before, grant.email), _only(after, grant.email))
    known = before.people.get(grant.email)
    requester = Requester(grant.email, known.github if known else None)
    reviewers, own = _reviewers_besides(requester, database.owners)
    parts = [
        requester_record(requester),
        pull_request.body(grant, render_markdown(diff)),
    ]
    if own:
        parts.append("\n" + pull_request.self_review_note(requester, grant.database))
    return PreparedRequest(
        text=edited,
        body="\n".join(parts),
        reviewers=reviewers,
        production=database.production,
        owners=database.owners,
        requester_github=requester.github,
        diff_text=render_text(diff),
    )


def _reviewers_besides(
    requester: Requester, owners: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    """The owners to ask, never the requester (who gains the access), and whether the
    requester was one of them."""
    mine = f"@{requester.github}".lower() if requester.github else None
    others = tuple(owner for owner in owners if owner.lower() != mine)
    return others, len(others) < len(owners)


def _only(plan: AccessPlan, email: str) -> AccessPlan:
    return dataclasses.replace(plan, people={e: p for e, p in plan.people.items() if e == email})


def request_flow_for(
    settings: GitHubSettings, dynamodb: Any, table: str, help_channel: str, *, paced: bool = True
) -> RequestFlow:
    """The flow the bot runs; `paced=False` only against a test's fake GitHub."""
    return RequestFlow(
        github.connect(settings.app, paced=paced),
        AccessFile(settings.repository, settings.access_file),
        RequestLedger(dynamodb, table),
        help_channel,
        auto_merge=settings.auto_merge,
    )


class RequestFlow:
    def __init__(
        self,
        gh: Github,
        access_file: AccessFile,
        ledger: RequestLedger,
        help_channel: str,
        *,
        auto_merge: AutoMerge | None = None,  # None: people merge
    ) -> None:
        self._gh = gh
        self._file = access_file
        self._ledger = ledger
        self._help = help_channel
        self._auto_merge = auto_merge
        # Told of every pull request opened (approve in Slack announces it to its owners).
        self.on_opened: Callable[[OpenedRequest], None] | None = None

    def submit(self, grant: RequestedGrant, slack_user_id: str, today: dt.date) -> str:
        """Open the pull request for `grant`; the text to tell the person, whatever happened."""
        branch = pull_request.branch_name(grant.email, grant.database, grant.access)
        try:
            open_already = github.find_open_request(self._gh, self._file.repo, branch)
        except GitHubError as error:
            return self._github_failed(grant, error)
        if open_already is not None:
            return texts.already_open(grant, open_already.url)
        if not self._ledger.take_daily_slot(grant.email, today):
            return texts.daily_limit(self._ledger.daily_limit)
        text, counts = self._open(grant, slack_user_id, today, branch)
        if not counts:
            self._ledger.give_back_daily_slot(grant.email, today)
        return text

    def _open(
        self, grant: RequestedGrant, slack_user_id: str, today: dt.date, branch: str
    ) -> tuple[str, bool]:
        """(what to tell, whether it counts toward the daily limit). A request counts when it
        became a pull request or the file refused it (reading and editing a large file is
        what costs): only GitHub's own failures and a request already open give it back."""
        try:
            try:
                return self._open_once(grant, slack_user_id, today, branch)
            except FileChanged:
                # Someone's edit landed between our read and our commit (and ours was undone):
                # read and edit once more; a second change in a row gives up.
                return self._open_once(grant, slack_user_id, today, branch)
        except BranchExists as error:
            # The same request opened a moment ago by another replica: its link. (A leftover
            # branch without an open pull request was replaced by open_access_request.)
            found = self._open_request(branch)
            if found is not None:
                return texts.already_open(grant, found.url), False
            return self._github_failed(grant, error), False
        except GitHubError as error:
            return self._github_failed(grant, error), False

    def _open_request(self, branch: str) -> PullRequestRef | None:
        try:
            return github.find_open_request(self._gh, self._file.repo, branch)
        except GitHubError:
            return None

    def _open_once(
        self, grant: RequestedGrant, slack_user_id: str, today: dt.date, branch: str
    ) -> tuple[str, bool]:
        repo, path = self._file.repo, self._file.path
        current = github.read_file(self._gh, repo, path)
        try:
            prepared = prepare_request(current.text, grant, path, today)
        except (InvalidInput, EditError) as refused:
            logger.info("refused %s's request: %s", grant.email, refused)
            return texts.refused_by_file(grant, str(refused), self._help), True
        pull = github.open_access_request(
            self._gh,
            repo,
            path=path,
            new_text=prepared.text,
            file_sha=current.sha,
            branch=branch,
            title=pull_request.title(grant),
            body=prepared.body,
            reviewers=prepared.reviewers,
            labels=pull_request.labels(prepared.production),
        )
        watched = WatchedRequest(
            number=pull.number,
            url=pull.url,
            slack_user_id=slack_user_id,
            email=grant.email,
            database=grant.database,
            access=grant.access,
            head_sha=pull.head_sha,
        )
        try:
            self._ledger.watch(watched)
        except (ClientError, BotoCoreError):
            # The pull request is open: the person still gets its link, only not the DM
            # when it is decided.
            logger.exception("watching #%s failed; its decision will not be DMed", pull.number)
        logger.info(
            "opened #%s for %s %s on %s", pull.number, grant.email, grant.access, grant.database
        )
        if self.on_opened is not None:
            self.on_opened(
                OpenedRequest(
                    number=pull.number,
                    url=pull.url,
                    head_sha=pull.head_sha,
                    grant=grant,
                    slack_user_id=slack_user_id,
                    requester_github=prepared.requester_github,
                    owners=prepared.owners,
                    diff=prepared.diff_text,
                )
            )
        return texts.opened(grant, pull.url, reviewed_by=prepared.reviewers), True

    def _github_failed(self, grant: RequestedGrant, error: GitHubError) -> str:
        # The whole message is for operators (permissions, ids); the person gets what to do.
        logger.error("GitHub failed for %s's request: %s", grant.email, error)
        if isinstance(error, GitHubUnavailable):
            return texts.github_unavailable(grant)
        return texts.github_refused(grant, self._help)

    def _delete_branch(self, request: WatchedRequest) -> None:
        """A decided request's branch goes, so the same request can be made again (a new ask
        would replace a branch left behind anyway) — unless it was asked again already
        before this poll: the branch is then that open request's."""
        branch = pull_request.branch_name(request.email, request.database, request.access)
        try:
            if github.find_open_request(self._gh, self._file.repo, branch) is None:
                github.delete_branch(self._gh, self._file.repo, branch)
        except GitHubError as error:
            logger.warning("deleting the branch of #%s failed: %s", request.number, error)

    def poll(self) -> list[Decision]:
        """The watched pull requests decided since the last poll, each claimed once (a
        replica that loses the claim leaves the DM to the one that won). With auto-merge on,
        an approved and green one is merged first (and so decided in this same poll)."""
        decided = []
        for request in self._ledger.watched():
            try:
                state, stopped = self._state_after_merging(request)
            except GitHubError as error:
                logger.warning("reading #%s failed, will retry: %s", request.number, error)
                continue
            if stopped is not None and self._ledger.stop_auto_merge(request.number):
                decided.append(Decision(request, texts.auto_merge_stopped(request, stopped)))
            if state is PullRequestState.OPEN or not self._ledger.forget(request.number):
                continue
            self._delete_branch(request)
            text = (
                texts.approved(request)
                if state is PullRequestState.MERGED
                else texts.declined(request)
            )
            decided.append(Decision(request, text))
        return decided

    def _state_after_merging(self, request: WatchedRequest) -> tuple[PullRequestState, str | None]:
        """The pull request's state, merged first if auto-merge may; and why auto-merge gave
        it up, if it did just now."""
        repo = self._file.repo
        if self._auto_merge is None or request.auto_merge_stopped:
            return github.pull_request_status(self._gh, repo, request.number).state, None
        progress = advance(self._gh, repo, request.number, request.head_sha, self._auto_merge)
        return progress.state, progress.stopped
