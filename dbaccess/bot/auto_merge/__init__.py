"""Auto-merge (off by default): the bot merges its own access-request pull request once the
database's owners approved it and every check on it is green.

`decide` is the rule, pure; `advance` reads the pull request and merges it when the rule says
so. What GitHub enforces still holds: the merge names the head commit the rule looked at
(GitHub refuses it if the head moved since), and branch protection refuses what it requires
and is missing. A pull request whose head is no longer the bot's own commit (someone pushed to
it) is never merged by the bot: a person looks at it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from github import Github

from dbaccess.approvals.rules import STATUS_CONTEXT
from dbaccess.clients.github import PullRequestState
from dbaccess.clients.github_merge import (
    MERGEABLE_STATES,
    MergeFacts,
    MergeRefused,
    merge_pull,
    read_merge_facts,
)

logger = logging.getLogger(__name__)

REPOSITORY_METHOD: Final = "repository"  # the setting's word for "the repository's method"
# States only a new commit cures, which would not be the bot's: a person takes over.
_NEEDS_A_PERSON: Final = {
    "behind": "the base branch moved on and the repository requires branches to be up to date",
    "dirty": "it conflicts with the base branch",
}


@dataclass(frozen=True)
class AutoMerge:
    """The setting: on, with this merge method (None: the repository's)."""

    method: str | None = None


class Step(StrEnum):
    MERGE = "merge"
    WAIT = "wait"  # not yet: approval missing, a check pending or failing (it may be re-run)
    STOP = "stop"  # never by the bot: a person merges it (or not)


@dataclass(frozen=True)
class Verdict:
    step: Step
    why: str


def decide(facts: MergeFacts, opened_head: str) -> Verdict:
    """Merge only the bot's own commit, approved by the owner-approval check, with no check
    failing or pending and GitHub saying the pull request can merge."""
    if not opened_head:
        return Verdict(Step.STOP, "it was opened before auto-merge recorded its commit")
    if facts.head_sha != opened_head:
        return Verdict(Step.STOP, "commits were added to it after the bot opened it")
    if facts.mergeable_state in _NEEDS_A_PERSON:
        return Verdict(Step.STOP, _NEEDS_A_PERSON[facts.mergeable_state])
    approval = [c for c in facts.checks if c.name == STATUS_CONTEXT]
    if not approval or any(c.state != "success" for c in approval):
        return Verdict(Step.WAIT, f"{STATUS_CONTEXT} is not green (owner approval)")
    failing = sorted(c.name for c in facts.checks if c.state == "failure")
    if failing:
        return Verdict(Step.WAIT, f"failing: {', '.join(failing)}")
    pending = sorted(c.name for c in facts.checks if c.state == "pending")
    if pending:
        return Verdict(Step.WAIT, f"pending: {', '.join(pending)}")
    if facts.mergeable_state not in MERGEABLE_STATES:
        return Verdict(Step.WAIT, f"GitHub says it is {facts.mergeable_state}")
    return Verdict(Step.MERGE, "approved and green")


@dataclass(frozen=True)
class Progress:
    """The pull request's state after this look, and why auto-merge stopped (if it did now)."""

    state: PullRequestState
    stopped: str | None = None


def advance(gh: Github, repo: str, number: int, opened_head: str, setting: AutoMerge) -> Progress:
    """Look at #`number`; merge it if `decide` says so. GitHub's failures raise
    (`github_app.GitHubError`): the pull request stays as it was, for the next poll."""
    facts = read_merge_facts(gh, repo, number)
    if facts.state is not PullRequestState.OPEN:
        return Progress(facts.state)
    verdict = decide(facts, opened_head)
    if verdict.step is Step.WAIT:
        logger.debug("not merging #%s yet: %s", number, verdict.why)
        return Progress(PullRequestState.OPEN)
    if verdict.step is Step.STOP:
        return Progress(PullRequestState.OPEN, verdict.why)
    method = setting.method or next(iter(facts.methods), None)
    try:
        merge_pull(gh, repo, number, facts.head_sha, method)
    except MergeRefused as refused:
        again = read_merge_facts(gh, repo, number)
        if again.state is not PullRequestState.OPEN:  # another replica, or a person, was first
            return Progress(again.state)
        logger.warning("auto-merge of #%s refused: %s", number, refused)
        return Progress(PullRequestState.OPEN, str(refused))
    logger.info("merged #%s (%s)", number, method or "GitHub's default method")
    return Progress(PullRequestState.MERGED)
