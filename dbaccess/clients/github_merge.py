"""What auto-merge reads from GitHub (a pull request's head, its checks) and the merge itself.

Through the bot's GitHub App installation client (`github_app.connect`); every failure is one
of `github_app`'s errors. A merge GitHub refuses for a reason that waiting does not cure
(405: branch protection or a merge method the repository does not allow; 409: the head
moved) is `MergeRefused`, so the caller reports it instead of asking again at every poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from github import Github, GithubException

from dbaccess.clients.github import GitHubRejected, PullRequestState, _github_message, _translated

MERGE_METHODS: Final = ("merge", "squash", "rebase")
# GitHub's mergeable_state values that let a merge through (has_hooks: clean, with hooks).
MERGEABLE_STATES: Final = frozenset({"clean", "has_hooks"})
# Check-run conclusions that let a merge through (GitHub's own rule for required checks).
_PASSING_CONCLUSIONS: Final = frozenset({"success", "neutral", "skipped"})


class MergeRefused(GitHubRejected):
    """GitHub refused the merge (405 or 409): a person has to look at the pull request."""


@dataclass(frozen=True)
class Check:
    """A commit status (by context) or a check run (by name), reduced to what a merge needs."""

    name: str
    state: str  # "success", "pending" or "failure"


@dataclass(frozen=True)
class MergeFacts:
    number: int
    state: PullRequestState
    head_sha: str
    mergeable_state: str  # GitHub's: clean, blocked, behind, dirty, unstable, unknown, ...
    # The head commit's statuses (latest per context) and check runs; read only when GitHub
    # says the pull request can merge (MERGEABLE_STATES): otherwise they decide nothing.
    checks: tuple[Check, ...]
    methods: tuple[str, ...]  # the merge methods the repository allows, in GitHub's order


def read_merge_facts(gh: Github, repo: str, number: int) -> MergeFacts:
    """Two requests for a pull request that cannot merge yet (most polls), five for one that
    can."""
    with _translated(f"reading pull request #{number} and its checks in {repo}"):
        repository = gh.get_repo(repo)
        pull = repository.get_pull(number)
        head, mergeable = pull.head.sha, pull.mergeable_state or "unknown"
        state = (
            PullRequestState.MERGED
            if pull.merged
            else PullRequestState.CLOSED
            if pull.state == "closed"
            else PullRequestState.OPEN
        )
        checks: list[Check] = []
        if state is PullRequestState.OPEN and mergeable in MERGEABLE_STATES:
            commit = repository.get_commit(head)
            checks += [
                Check(status.context, commit_status_state(status.state))
                for status in commit.get_combined_status().statuses
            ]
            checks += [
                Check(run.name, check_run_state(run.status, run.conclusion))
                for run in commit.get_check_runs()
            ]
        allowed = {
            "merge": repository.allow_merge_commit,
            "squash": repository.allow_squash_merge,
            "rebase": repository.allow_rebase_merge,
        }
    methods = tuple(method for method in MERGE_METHODS if allowed[method] is True)
    return MergeFacts(number, state, head, mergeable, tuple(checks), methods)


def commit_status_state(state: str) -> str:
    return state if state in ("success", "pending") else "failure"  # error, failure


def check_run_state(status: str, conclusion: str | None) -> str:
    if status != "completed":
        return "pending"  # queued, in_progress, waiting
    return "success" if conclusion in _PASSING_CONCLUSIONS else "failure"


def merge_pull(gh: Github, repo: str, number: int, head_sha: str, method: str | None) -> None:
    """Merge #`number` if its head is still `head_sha` (GitHub checks it: 409 otherwise);
    `method` None: GitHub's default. One request."""
    doing = f"merging pull request #{number} in {repo}"
    merge = {"sha": head_sha} | ({"merge_method": method} if method else {})
    with _translated(doing):
        try:
            gh.requester.requestJsonAndCheck(
                "PUT", f"/repos/{repo}/pulls/{number}/merge", input=merge
            )
        except GithubException as error:
            if error.status in (405, 409):
                raise MergeRefused(
                    f"GitHub refused {doing} (HTTP {error.status}): {_github_message(error)}"
                ) from error
            raise
