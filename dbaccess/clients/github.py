"""The bot's GitHub side: a GitHub App installation client and the pull-request operations
behind "request access in Slack, decide in a pull request".

PyGithub does the wire work: `Auth.AppInstallationAuth` signs the app's JWT with the private key,
mints a one-hour installation token and mints a new one shortly before it expires. This module
adds what the bot needs on top: each operation is a function taking its inputs as arguments,
every failure becomes one of the `GitHubError` types below with a message a person can act on,
and opening a request is all or nothing (no branch is left behind when a later step fails).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NoReturn

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from github.Consts import DEFAULT_SECONDS_BETWEEN_REQUESTS, DEFAULT_SECONDS_BETWEEN_WRITES
from github.GitRef import GitRef
from github.PullRequest import PullRequest
from urllib3.util.retry import Retry

from dbaccess.formats import is_repository_name, parse_api_url

logger = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.github.com"
MAX_RATE_LIMIT_WAIT_SECONDS = 30

# What docs/how-to/set-up-github-app.md tells operators to grant; quoted in permission errors.
APP_PERMISSIONS = (
    "Contents: read and write, Pull requests: read and write "
    "(and Members: read, an organization permission, for team reviewers)"
)


class GitHubError(Exception):
    """Any failure talking to GitHub; the message says what failed and what to do."""


class GitHubUnavailable(GitHubError):
    """GitHub could not be reached, answered 5xx, or rate-limited the app: try again later."""


class GitHubAuthError(GitHubError):
    """The app's credentials were refused (401) or are malformed."""


class GitHubPermissionError(GitHubError):
    """The installation lacks a permission (403)."""


class GitHubNotFound(GitHubError):
    """The repository, branch or file does not exist, or the app is not installed there (404)."""


class BranchExists(GitHubError):
    """The request's branch exists already (422): an earlier request or its leftover."""


class FileChanged(GitHubError):
    """The file changed on GitHub since it was read (409): read it again and redo the edit."""


class GitHubRejected(GitHubError):
    """GitHub refused the request for another reason (e.g. a reviewer is not a collaborator)."""


class InvalidRequest(GitHubError):
    """Our own input cannot work (e.g. a team of another organization); nothing was sent."""


@dataclass(frozen=True)
class GitHubAppCredentials:
    """What the bot is given: the app id, its installation on our org, and its private key (PEM)."""

    app_id: int
    installation_id: int
    private_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    def __post_init__(self) -> None:
        try:
            parse_api_url(self.api_url)  # the app's tokens go there
        except ValueError as exc:
            raise InvalidRequest(f"The GitHub API URL {exc}") from None
        for name in ("app_id", "installation_id"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise InvalidRequest(
                    f"The GitHub App's {name} must be a positive whole number, not {value!r}: "
                    "copy it from the app's settings page (installation id: the installation "
                    "page's URL)."
                )


@dataclass(frozen=True)
class FileVersion:
    text: str
    sha: str  # the blob sha: an update must name the version it replaces


@dataclass(frozen=True)
class PullRequestRef:
    number: int
    url: str  # the page a person opens
    head_sha: str  # its head commit; for one just opened, the bot's own commit


class PullRequestState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"  # closed without merging


def connect(
    app: GitHubAppCredentials,
    *,
    retries: int = 2,
    paced: bool = True,
    timeout: int = 15,
) -> Github:
    """A client acting as the app's installation; tokens are minted on first use.

    `paced` keeps PyGithub's pauses (0.25 s between requests, 1 s between writes), which keep
    the bot clear of GitHub's secondary rate limits; tests against the fake turn them off.
    `retries` applies to 5xx answers of idempotent requests only, so a retried POST can never
    open a second pull request.
    """
    try:
        key = load_pem_private_key(app.private_key.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise GitHubAuthError(
            f"The GitHub App private key is not a readable unencrypted PEM key ({error}): "
            "use the .pem file GitHub generated for the app."
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise GitHubAuthError("The GitHub App private key must be an RSA key (GitHub's .pem).")
    _redact_tokens_in_pygithub_logs()
    auth = Auth.AppAuth(app.app_id, app.private_key).get_installation_auth(app.installation_id)
    return Github(
        auth=auth,
        base_url=app.api_url,
        timeout=timeout,
        retry=GithubRetry(
            total=retries,
            backoff_factor=0.5,
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
            # Waiting for an exhausted hourly quota to reset would hold a bot thread for up to
            # an hour: give up and tell the person instead.
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_SECONDS,
        ),
        seconds_between_requests=DEFAULT_SECONDS_BETWEEN_REQUESTS if paced else None,
        seconds_between_writes=DEFAULT_SECONDS_BETWEEN_WRITES if paced else None,
    )


def read_file(gh: Github, repo: str, path: str, ref: str | None = None) -> FileVersion:
    """The text and blob sha of `path` at `ref` (branch, tag or commit; None: default branch)."""
    _owner(repo)
    doing = f"reading {path} in {repo}" + (f" at {ref}" if ref else "")
    with _translated(doing):
        repository = gh.get_repo(repo)
        content = repository.get_contents(path, ref=ref) if ref else repository.get_contents(path)
    if isinstance(content, list) or content.type != "file":
        raise InvalidRequest(f"{path} in {repo} is not a file: name the access file's path.")
    if content.encoding == "base64":
        data = content.decoded_content
    else:
        # Over 1 MB the contents API sends no content (encoding "none"); the git blob of the
        # same sha has it, up to GitHub's 100 MB.
        with _translated(f"reading {path} in {repo} as a git blob ({content.size:,} bytes)"):
            blob = repository.get_git_blob(content.sha)
        data = base64.b64decode(blob.content)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path} in {repo} is not UTF-8 text.") from None
    return FileVersion(text=text, sha=content.sha)


def find_open_request(gh: Github, repo: str, branch: str) -> PullRequestRef | None:
    """The open pull request from `branch`, if any: a request is never opened twice."""
    owner = _owner(repo)
    with _translated(f"looking for an open pull request from {branch} in {repo}"):
        pulls = gh.get_repo(repo).get_pulls(state="open", head=f"{owner}:{branch}")
        for pull in pulls:
            return PullRequestRef(number=pull.number, url=pull.html_url, head_sha=pull.head.sha)
    return None


@dataclass(frozen=True)
class PullRequestStatus:
    state: PullRequestState
    head_sha: str  # its head commit now


def pull_request_status(gh: Github, repo: str, number: int) -> PullRequestStatus:
    """Whether the pull request is open, merged or closed, and its head commit: one read."""
    _owner(repo)
    with _translated(f"reading pull request #{number} in {repo}"):
        pull = gh.get_repo(repo).get_pull(number)
        if pull.merged:
            state = PullRequestState.MERGED
        else:
            state = PullRequestState.CLOSED if pull.state == "closed" else PullRequestState.OPEN
        return PullRequestStatus(state, str(pull.head.sha))


def open_access_request(
    gh: Github,
    repo: str,
    *,
    path: str,
    new_text: str,
    file_sha: str,
    branch: str,
    title: str,
    body: str,
    reviewers: Sequence[str] = (),
    labels: Sequence[str] = (),
    base: str | None = None,
) -> PullRequestRef:
    """Branch `branch` from the head of `base` (default: the repository's default branch),
    commit `new_text` as `path` (replacing the version `file_sha`, so an edit made on a stale
    read fails instead of undoing someone's change), open the pull request, request
    `reviewers` (`@user` or `@org/team`) and add `labels`.

    If any step after the branch exists fails, the pull request (if opened) is closed and the
    branch deleted before the error is raised; if even that fails, the error says what is left.
    """
    users, teams = split_reviewers(_owner(repo), reviewers)
    with _translated(f"reading the head of the base branch in {repo}"):
        repository = gh.get_repo(repo)
        base = base or repository.default_branch
        head_sha = repository.get_git_ref(f"heads/{base}").object.sha
    try:
        with _translated(f"creating the branch {branch} in {repo}"):
            created = repository.create_git_ref(f"refs/heads/{branch}", head_sha)
    except BranchExists:
        created = _replace_leftover(gh, repo, branch, head_sha)
    pull: PullRequest | None = None
    try:
        with _translated(f"committing {path} on {branch} in {repo}"):
            committed = repository.update_file(path, title, new_text, file_sha, branch=branch)
        with _translated(f"opening the pull request from {branch} in {repo}"):
            pull = repository.create_pull(base=base, head=branch, title=title, body=body)
        if users or teams:
            with _translated(f"requesting reviews from {', '.join(reviewers)} in {repo}"):
                pull.create_review_request(reviewers=users, team_reviewers=teams)
        if labels:
            with _translated(f"labelling pull request #{pull.number} in {repo}"):
                pull.add_to_labels(*labels)
        return PullRequestRef(
            number=pull.number, url=pull.html_url, head_sha=committed["commit"].sha
        )
    except GitHubError as error:
        _undo(repo, branch, created, pull, error)


def close_pull_request(gh: Github, repo: str, number: int) -> None:
    _owner(repo)
    with _translated(f"closing pull request #{number} in {repo}"):
        gh.get_repo(repo).get_pull(number).edit(state="closed")


def delete_branch(gh: Github, repo: str, branch: str) -> None:
    """Delete `branch`; one already gone (GitHub deletes merged branches if set to) is fine."""
    _owner(repo)
    try:
        with _translated(f"deleting the branch {branch} in {repo}"):
            gh.get_repo(repo).get_git_ref(f"heads/{branch}").delete()
    except GitHubNotFound:
        return


def _replace_leftover(gh: Github, repo: str, branch: str, head_sha: str) -> GitRef:
    """`branch` exists already. With an open pull request it is that request (BranchExists);
    without one it is a leftover (a decided request's branch nobody deleted, a failed
    clean-up): it is pointed at `head_sha` so the request is opened afresh on it."""
    if find_open_request(gh, repo, branch) is not None:
        raise BranchExists(f"The branch {branch} in {repo} has an open pull request already.")
    with _translated(f"replacing the leftover branch {branch} in {repo}"):
        ref = gh.get_repo(repo).get_git_ref(f"heads/{branch}")
        ref.edit(head_sha, force=True)
    logger.info("replaced the leftover branch %s in %s", branch, repo)
    return ref


def split_reviewers(owner: str, reviewers: Sequence[str]) -> tuple[list[str], list[str]]:
    """`@user` and `@org/team` (as access.yaml's `owners:` writes them) into the user logins
    and team slugs the review-request API takes. A team must belong to the repository's owner:
    GitHub requests only teams of the repository's organization, by slug."""
    users: list[str] = []
    teams: list[str] = []
    for reviewer in reviewers:
        name = reviewer.removeprefix("@")
        org, slash, team = name.partition("/")
        if not slash:
            users.append(name)
        elif org.lower() == owner.lower() and team:
            teams.append(team)
        else:
            raise InvalidRequest(
                f"The reviewer {reviewer} is not a team of {owner}, which owns the repository: "
                f"use a team of {owner} (@{owner}/<team>) or a person (@<login>)."
            )
    return users, teams


def _owner(repo: str) -> str:
    """The owner part of `owner/name`, or a clear error before anything is sent."""
    if not is_repository_name(repo):
        raise InvalidRequest(
            f"{repo!r} is not a GitHub repository name: write it as owner/name "
            "(e.g. example-org/access)."
        )
    return repo.partition("/")[0]


def _undo(
    repo: str, branch: str, created: GitRef, pull: PullRequest | None, error: GitHubError
) -> NoReturn:
    """Close the pull request and delete the branch, each tried even if the other fails, then
    raise `error`, naming what is left if GitHub refused the clean-up too."""
    pull_left: GitHubError | None = None
    if pull is not None:
        try:
            with _translated(f"closing pull request #{pull.number}"):
                pull.edit(state="closed")
        except GitHubError as refused:
            pull_left = refused
    try:
        with _translated(f"deleting the branch {branch}"):
            created.delete()
    except GitHubError as branch_left:
        # Deleting a pull request's head branch closes it, so a pull request is left only
        # when the branch is.
        leftover = f"the pull request #{pull.number} and " if pull and pull_left is not None else ""
        raise type(error)(
            f"{error} Cleaning up failed too ({branch_left}): delete {leftover}the branch "
            f"{branch} in {repo} by hand."
        ) from error
    raise error


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """Turn PyGithub's and requests' exceptions into ours, saying what we were doing."""
    try:
        yield
    except GithubException as error:
        raise _from_status(error, doing) from error
    except requests.RequestException as error:
        raise GitHubUnavailable(
            f"GitHub could not be reached while {doing} ({type(error).__name__}): "
            "try again in a few minutes."
        ) from error


def _from_status(error: GithubException, doing: str) -> GitHubError:
    status, said = error.status, _github_message(error)
    if isinstance(error, RateLimitExceededException):
        return GitHubUnavailable(
            f"GitHub's rate limit stopped {doing} ({said}): try again in a few minutes."
        )
    if status == 401:
        return GitHubAuthError(
            f"GitHub refused the app's credentials while {doing} ({said}): check the app id, "
            "the installation id and the private key, and that the app is still installed."
        )
    if status == 403 and "too_large" in said:
        return GitHubRejected(
            f"GitHub refused {doing}: the file is over GitHub's API limit of 100 MB ({said})."
        )
    if status == 403:
        return GitHubPermissionError(
            f"GitHub denied {doing} ({said}): the GitHub App needs {APP_PERMISSIONS} on the "
            "repository; after changing them an organization owner must accept them."
        )
    if status == 404:
        return GitHubNotFound(
            f"GitHub found nothing while {doing} ({said}): check the repository, branch and "
            "path, and that the GitHub App is installed on the repository."
        )
    if status == 409:
        return FileChanged(
            f"The file changed on GitHub while {doing} ({said}): read it again and redo the edit."
        )
    if status == 422 and "Reference already exists" in said:
        return BranchExists(f"GitHub refused {doing}: the branch exists already.")
    if status >= 500:
        return GitHubUnavailable(
            f"GitHub failed while {doing} (HTTP {status}): try again in a few minutes."
        )
    return GitHubRejected(f"GitHub refused {doing} (HTTP {status}): {said}")


def _github_message(error: GithubException) -> str:
    """GitHub's own `message`, plus its validation details when it gives them."""
    data = error.data if isinstance(error.data, dict) else {}
    parts = [str(data.get("message") or error.message or "no message")]
    for detail in data.get("errors") or ():
        parts.append(str(detail.get("message") or detail) if isinstance(detail, dict) else detail)
    return "; ".join(str(part) for part in parts)


# An installation token ("ghs_..."), or any JSON "token" field, as PyGithub's DEBUG log of the
# token-minting response would show it.
_TOKENS = re.compile(r"ghs_[A-Za-z0-9]+|(?<=['\"]token['\"]: ['\"])[^'\"]+")


class _RedactTokens(logging.Filter):
    """PyGithub masks the Authorization header in its DEBUG log but prints response bodies, and
    the body that mints an installation token is the token. Redact it there, whatever the level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKENS.sub("[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_tokens_in_pygithub_logs() -> None:
    requester_logger = logging.getLogger("github.Requester")
    if not any(isinstance(f, _RedactTokens) for f in requester_logger.filters):
        requester_logger.addFilter(_RedactTokens())
