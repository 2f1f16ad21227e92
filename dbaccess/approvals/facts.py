"""What the owner-approval check reads from GitHub: the pull request, its reviews, access.yaml at
the base and the head, team memberships; and the commit status it sets.

Read through PyGithub with any token (the workflow's GitHub App installation token); every
failure is one of `dbaccess.clients.github`'s errors, with a message a person can act on. Nothing
of the pull request runs: its access.yaml is read as data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from github import Github, GithubException

from dbaccess.approvals.requester import requester_of
from dbaccess.approvals.rules import STATUS_CONTEXT, PullRequestFacts, Review, TeamMembership
from dbaccess.clients import github
from dbaccess.clients.github import GitHubNotFound, GitHubPermissionError, _translated

MEMBERS_READ = (
    "reading team membership needs a token with the organization permission Members: read "
    "(the workflow's GITHUB_TOKEN has none): give the check the approvals app's token "
    "(docs/how-to/owner-approval.md)"
)
# What the approvals app needs (docs/how-to/owner-approval.md), quoted when GitHub says 403.
APPROVALS_PERMISSIONS = (
    "Contents: read, Pull requests: read, Commit statuses: read and write, and the "
    "organization permission Members: read"
)


@contextmanager
def _as_the_check(doing: str) -> Iterator[None]:
    """clients.github's translation, with the approvals app's permissions in a 403's advice
    (clients.github's names the bot's)."""
    try:
        with _translated(doing):
            yield
    except GitHubPermissionError:
        raise GitHubPermissionError(
            f"GitHub denied {doing}: the check's token needs {APPROVALS_PERMISSIONS} on the "
            "repository (docs/how-to/owner-approval.md)."
        ) from None


def read_pull(gh: Github, repo: str, number: int) -> PullRequestFacts:
    """The pull request's author, head commit, reviews and recorded requester, and the
    current head of its base branch (what it would merge into)."""
    with _as_the_check(f"reading pull request #{number} in {repo}"):
        repository = gh.get_repo(repo)
        pull = repository.get_pull(number)
        reviews = tuple(
            Review(r.user.login, r.state, r.commit_id) for r in pull.get_reviews() if r.user
        )
        base_sha = repository.get_git_ref(f"heads/{pull.base.ref}").object.sha
        return PullRequestFacts(
            number=number,
            author=pull.user.login,
            head_sha=pull.head.sha,
            base_sha=base_sha,
            requester=requester_of(pull.body),
            reviews=reviews,
        )


def access_texts(
    gh: Github, repo: str, path: str, facts: PullRequestFacts
) -> tuple[str | None, str]:
    """access.yaml at the base (None when it does not exist there) and at the head."""
    with _as_the_check(f"reading {path}"):
        try:
            base: str | None = github.read_file(gh, repo, path, facts.base_sha).text
        except GitHubNotFound:
            base = None  # a new file: everything in it is gained
        head = github.read_file(gh, repo, path, facts.head_sha).text
    return base, head


def team_membership(gh: Github) -> TeamMembership:
    """Whether a login is an active member of org/team (a pending invitation is not), one
    call per (team, login), remembered."""

    @functools.cache
    def is_member(org: str, slug: str, login: str) -> bool:
        url = f"/orgs/{org}/teams/{slug}/memberships/{login}"
        try:
            with _translated(f"reading {login}'s membership of @{org}/{slug}"):
                try:
                    _, data = gh.requester.requestJsonAndCheck("GET", url)
                except GithubException as error:
                    if error.status == 404:  # not a member (or no such team)
                        return False
                    raise
        except GitHubPermissionError as error:
            raise GitHubPermissionError(f"{MEMBERS_READ}.") from error
        return isinstance(data, dict) and data.get("state") == "active"

    return is_member


def set_status(
    gh: Github, repo: str, sha: str, state: str, description: str, target_url: str | None
) -> None:
    """The commit status branch protection requires (context `dbaccess/approvals`)."""
    status = {"state": state, "context": STATUS_CONTEXT, "description": description[:140]}
    if target_url:
        status["target_url"] = target_url
    with _as_the_check(f"setting the {STATUS_CONTEXT} status of {sha[:7]} in {repo}"):
        gh.requester.requestJsonAndCheck("POST", f"/repos/{repo}/statuses/{sha}", input=status)


def connect_with_token(token: str, api_url: str, *, timeout: int = 15) -> Github:
    """A client acting with `token` (the check's app installation token in the workflow).
    Server errors of idempotent requests are retried twice. A check makes a handful of reads,
    so PyGithub's pause between requests (made for bursts of writes) is dropped."""
    from github import Auth

    return Github(
        auth=Auth.Token(token),
        base_url=api_url,
        timeout=timeout,
        retry=2,
        seconds_between_requests=None,
    )
