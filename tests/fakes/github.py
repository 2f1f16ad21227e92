"""A fake GitHub REST API over real HTTP on 127.0.0.1, for a GitHub App installation that opens
pull requests. It speaks the endpoints PyGithub calls for dbaccess.clients.github:

    POST   /app/installations/{id}/access_tokens          (app JWT, verified with the public key)
    GET    /repos/{owner}/{repo}
    GET    /repos/{owner}/{repo}/git/ref/{ref}            (PyGithub reads with the singular form)
    POST   /repos/{owner}/{repo}/git/refs
    DELETE /repos/{owner}/{repo}/git/refs/{ref}
    PATCH  /repos/{owner}/{repo}/git/refs/{ref}            (force-update a branch)
    GET    /repos/{owner}/{repo}/git/blobs/{sha}
    GET    /repos/{owner}/{repo}/contents/{path}?ref=     (no content above 1 MB, as GitHub)
    PUT    /repos/{owner}/{repo}/contents/{path}
    GET    /repos/{owner}/{repo}/pulls?state=&head=owner:branch
    POST   /repos/{owner}/{repo}/pulls
    GET    /repos/{owner}/{repo}/pulls/{number}
    PATCH  /repos/{owner}/{repo}/pulls/{number}
    POST   /repos/{owner}/{repo}/pulls/{number}/requested_reviewers
    POST   /repos/{owner}/{repo}/issues/{number}/labels
    GET    /repos/{owner}/{repo}/pulls/{number}/reviews          (the owner-approval check)
    POST   /repos/{owner}/{repo}/statuses/{sha}
    GET    /orgs/{org}/teams/{team_slug}/memberships/{username}
    GET    /repos/{owner}/{repo}/commits/{ref}                  (auto-merge: a pull request's
    GET    /repos/{owner}/{repo}/commits/{ref}/status            head, its statuses, check
    GET    /repos/{owner}/{repo}/commits/{ref}/check-runs        runs; branch protection's
    PUT    /repos/{owner}/{repo}/pulls/{number}/merge            required checks)
    POST   /repos/{owner}/{repo}/pulls/{number}/reviews          (as a person, their user token)
    POST   /login/device/code                                    (the OAuth device flow, form)
    POST   /login/oauth/access_token                             (device code or refresh token)
    GET    /user                                                 (who a user token acts as)

The device flow and user-to-server tokens are GitHub App's: a person approves a user code with
`authorize_device(user_code, login)`; tokens last 8 h, refresh tokens 6 months and are spent
when used (rotated); `expire_user_tokens` and `revoke_user` model time and a revoked
authorization. A review made with a user token is authored by that person.

Every repository call must carry a live installation token the fake minted, and the
installation's permissions are enforced per endpoint as GitHub documents them (403 "Resource not
accessible by integration"). Repository state (branches, commits, blobs, pull requests) is kept
in memory; blob shas are git's own. Faults: `fail(step, status)` answers a step with an HTTP
error, `rate_limit(step)` as an exhausted hourly quota, and `go_down_at(step)` drops that
request's connection and every one after it.
The answers carry the fields PyGithub reads, with GitHub's own status codes and messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.local_http import LocalHTTPServer

APP_ID = 424242
INSTALLATION_ID = 7777
BOT_LOGIN = "dbaccess-bot[bot]"
# What docs/how-to/set-up-github-app.md tells operators to grant (metadata read comes with every app).
DEFAULT_PERMISSIONS = {
    "metadata": "read",
    "contents": "write",
    "pull_requests": "write",
    "members": "read",
}

NOT_ACCESSIBLE = "Resource not accessible by integration"
# GitHub's contents API sends a file's content up to 1 MB; up to 100 MB it answers with
# `content: ""` and `encoding: "none"` (its raw media type and the git blobs API still give
# the content: the fake serves the blobs, which the bot reads); above, both refuse with 403
# "too_large".
CONTENTS_MAX_BYTES = 2**20
BLOB_MAX_BYTES = 100 * 2**20
TOO_LARGE = (
    "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via "
    "the API, but you can use the Git Data API to request blobs up to 100 MB in size."
)
NOT_COLLABORATOR = (
    "Reviews may only be requested from collaborators. One or more of the users or teams you "
    "specified is not a collaborator of the {repo} repository."
)

# step name -> (method, path pattern, permissions that allow it: any one of them suffices)
_ROUTES: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "mint_token": ("POST", r"/app/installations/(?P<installation>\d+)/access_tokens", ()),
    "get_repo": ("GET", r"/repos/(?P<repo>[^/]+/[^/]+)", (("metadata", "read"),)),
    "get_ref": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/git/ref/(?P<ref>.+)",
        (("contents", "read"),),
    ),
    "create_ref": ("POST", r"/repos/(?P<repo>[^/]+/[^/]+)/git/refs", (("contents", "write"),)),
    "delete_ref": (
        "DELETE",
        r"/repos/(?P<repo>[^/]+/[^/]+)/git/refs/(?P<ref>.+)",
        (("contents", "write"),),
    ),
    "update_ref": (
        "PATCH",
        r"/repos/(?P<repo>[^/]+/[^/]+)/git/refs/(?P<ref>.+)",
        (("contents", "write"),),
    ),
    "get_blob": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/git/blobs/(?P<sha>[0-9a-f]{40})",
        (("contents", "read"),),
    ),
    "get_contents": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/contents/(?P<path>.+)",
        (("contents", "read"),),
    ),
    "put_contents": (
        "PUT",
        r"/repos/(?P<repo>[^/]+/[^/]+)/contents/(?P<path>.+)",
        (("contents", "write"),),
    ),
    "list_pulls": ("GET", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls", (("pull_requests", "read"),)),
    "create_pull": ("POST", r"/repos/(?P<repo>[^/]+/[^/]+)/pulls", (("pull_requests", "write"),)),
    "get_pull": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)",
        (("pull_requests", "read"),),
    ),
    "update_pull": (
        "PATCH",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)",
        (("pull_requests", "write"),),
    ),
    "request_reviewers": (
        "POST",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/requested_reviewers",
        (("pull_requests", "write"),),
    ),
    # Labelling a pull request is an issues endpoint; either write permission allows it.
    "add_labels": (
        "POST",
        r"/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)/labels",
        (("issues", "write"), ("pull_requests", "write")),
    ),
    # The owner-approval check (dbaccess approvals).
    "list_reviews": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/reviews",
        (("pull_requests", "read"),),
    ),
    "create_status": (
        "POST",
        r"/repos/(?P<repo>[^/]+/[^/]+)/statuses/(?P<sha>[0-9a-f]{40})",
        (("statuses", "write"),),
    ),
    "create_review": (
        "POST",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/reviews",
        (("pull_requests", "write"),),
    ),
    "device_code": ("POST", r"/login/device/code", ()),
    "oauth_token": ("POST", r"/login/oauth/access_token", ()),
    "get_user": ("GET", r"/user", ()),
    "team_membership": (
        "GET",
        r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/memberships/(?P<login>[^/]+)",
        (("members", "read"),),
    ),
    # --- Auto-merge (issue 27, point 4): the checks of a commit, merging, and a review made
    # with a person's token (what the Slack Approve button does underneath).
    "get_commit": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/commits/(?P<ref>[^/]+)",
        (("contents", "read"),),
    ),
    "combined_status": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/commits/(?P<ref>[^/]+)/status",
        (("statuses", "read"),),
    ),
    "list_check_runs": (
        "GET",
        r"/repos/(?P<repo>[^/]+/[^/]+)/commits/(?P<ref>[^/]+)/check-runs",
        (("checks", "read"),),
    ),
    "merge_pull": (
        "PUT",
        r"/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/merge",
        (("contents", "write"),),
    ),
}
STEPS = tuple(_ROUTES)
# What a person's token (`user_token`) may do here: read the pull request, review it.
_USER_STEPS = frozenset({"get_repo", "get_pull", "get_commit", "create_review"})
MERGE_METHODS = ("merge", "squash", "rebase")
CLIENT_ID = "Iv1.fake0client0id"
USER_TOKEN_SECONDS = 8 * 3600  # GitHub App user tokens
REFRESH_TOKEN_SECONDS = 15_897_600  # six months
DEVICE_CODE_SECONDS = 900
_REVIEW_STATES = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


@dataclass
class DeviceGrant:
    user_code: str
    expires_at: float
    interval: int
    login: str | None = None  # set when the person approved
    denied: bool = False
    last_poll: float = 0.0


class _Answer(Exception):
    """Raised inside a handler to answer with an HTTP error."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body: dict[str, Any] = {"message": message}
        if errors:
            self.body["errors"] = errors
        self.body["documentation_url"] = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    step: str | None
    status: int  # 0: the connection was dropped
    # time.perf_counter() once answered (CLOCK_MONOTONIC: comparable across processes)
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]  # path -> blob sha
    message: str
    parent: str | None


@dataclass
class Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str = "open"
    merged: bool = False
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    author: str = BOT_LOGIN
    reviews: list[Review] = field(default_factory=list)


@dataclass
class Review:
    id: int
    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    commit_id: str
    submitted_at: str


@dataclass
class Repo:
    owner: str
    name: str
    default_branch: str
    collaborators: set[str]
    teams: set[str]
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    commits: dict[str, Commit] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> statuses
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> runs
    # Branch protection of the default branch: the status or check names required to merge.
    required_checks: set[str] = field(default_factory=set)
    merge_methods: tuple[str, ...] = MERGE_METHODS  # what the repository allows
    strict: bool = False  # branch protection: "Require branches to be up to date"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def blob_sha(data: bytes) -> str:
    """git's object id for a blob, as GitHub reports it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class FakeGitHub(LocalHTTPServer):
    """Use as `with FakeGitHub() as github:`; `github.url` is the API base URL."""

    def __init__(
        self,
        *,
        app_id: int = APP_ID,
        installation_id: int = INSTALLATION_ID,
        permissions: dict[str, str] | None = None,
        token_lifetime: float = 3600.0,
        blob_max_bytes: int = BLOB_MAX_BYTES,
        device_interval: int = 5,
    ) -> None:
        self.app_id = app_id
        self.installation_id = installation_id
        self.permissions = dict(DEFAULT_PERMISSIONS if permissions is None else permissions)
        self.token_lifetime = token_lifetime
        self.blob_max_bytes = blob_max_bytes  # lower it to test GitHub's 100 MB refusal cheaply
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        self._public_key = key.public_key()
        self.repos: dict[str, Repo] = {}
        self.calls: list[Call] = []
        self.tokens_minted: list[str] = []
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._faults: dict[str, list[_Answer]] = {}  # step -> refusals still to answer
        self._down_at: str | None = None
        self._down = False
        self._next_number = 1
        self.team_members: dict[tuple[str, str], dict[str, str]] = {}  # (org, slug) -> state
        # The GitHub App's OAuth side: device flow and user-to-server tokens.
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_hex(20)
        self.device_interval = device_interval
        self.devices: dict[str, DeviceGrant] = {}  # device code -> grant
        self.user_tokens_issued: list[str] = []  # access and refresh tokens, to scan logs for
        self._user_tokens: dict[str, tuple[str, float]] = {}  # token -> (login, expiry)
        self._refresh_tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.RLock()
        super().__init__(_handler_for(self))

    @property
    def url(self) -> str:
        return self.origin

    # ------------------------------------------------------------------ set-up and inspection

    def add_repo(
        self,
        full_name: str,
        files: dict[str, str],
        *,
        default_branch: str = "main",
        collaborators: tuple[str, ...] = (),
        teams: tuple[str, ...] = (),
    ) -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(owner, name, default_branch, set(collaborators), set(teams))
        tree = {path: _store_blob(repo, text.encode()) for path, text in files.items()}
        repo.branches[default_branch] = _commit(repo, tree, "Initial commit", None)
        self.repos[full_name.lower()] = repo
        return repo

    def file_text(self, repo: str, branch: str, path: str) -> str | None:
        r = self.repos[repo.lower()]
        if branch not in r.branches:
            return None
        sha = r.commits[r.branches[branch]].tree.get(path)
        return None if sha is None else r.blobs[sha].decode()

    def commit_file(self, repo: str, branch: str, path: str, text: str) -> None:
        """Someone else pushes a change (to test edits made on a stale read)."""
        with self._lock:
            r = self.repos[repo.lower()]
            head = r.commits[r.branches[branch]]
            tree = {**head.tree, path: _store_blob(r, text.encode())}
            r.branches[branch] = _commit(r, tree, f"Update {path}", head.sha)

    def branch_names(self, repo: str) -> set[str]:
        return set(self.repos[repo.lower()].branches)

    def pulls(self, repo: str) -> list[Pull]:
        return list(self.repos[repo.lower()].pulls.values())

    def merge(self, repo: str, number: int) -> None:
        """What a reviewer's merge does: the base branch gets the head's tree."""
        with self._lock:
            r = self.repos[repo.lower()]
            pull = r.pulls[number]
            head_tree = r.commits[r.branches[pull.head]].tree
            r.branches[pull.base] = _commit(
                r, dict(head_tree), f"Merge #{number}", r.branches[pull.base]
            )
            pull.state, pull.merged = "closed", True

    def close(self, repo: str, number: int) -> None:
        with self._lock:
            self.repos[repo.lower()].pulls[number].state = "closed"

    # -- the owner-approval check: people's pull requests, reviews, teams, statuses

    def installation_token(self) -> str:
        """A live installation token, as `actions/create-github-app-token` hands a workflow."""
        with self._lock:
            return str(self._mint()["token"])

    def open_pull(self, repo: str, head: str, *, author: str, body: str = "") -> int:
        """A person opens a pull request from `head` (a branch) to the default branch."""
        with self._lock:
            r = self.repos[repo.lower()]
            pull = Pull(self._next_number, f"Change from {head}", body, head, r.default_branch)
            pull.author = author
            self._next_number += 1
            r.pulls[pull.number] = pull
            return pull.number

    def head_sha(self, repo: str, number: int) -> str:
        r = self.repos[repo.lower()]
        return r.branches[r.pulls[number].head]

    def review(
        self, repo: str, number: int, login: str, state: str, commit: str | None = None
    ) -> int:
        """`login` submits a review (on the head commit unless `commit` says otherwise)."""
        with self._lock:
            pull = self.repos[repo.lower()].pulls[number]
            review = Review(
                len(pull.reviews) + 1,
                login,
                state,
                commit or self.head_sha(repo, number),
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            pull.reviews.append(review)
            return review.id

    def dismiss(self, repo: str, number: int, review_id: int) -> None:
        """A review dismissed (by an admin, or by "dismiss stale approvals" on a push)."""
        with self._lock:
            for review in self.repos[repo.lower()].pulls[number].reviews:
                if review.id == review_id:
                    review.state = "DISMISSED"

    def add_team_member(self, org: str, slug: str, login: str, state: str = "active") -> None:
        with self._lock:
            self.team_members.setdefault((org.lower(), slug.lower()), {})[login.lower()] = state

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return list(self.repos[repo.lower()].statuses.get(sha, []))

    def steps_called(self) -> list[str]:
        return [call.step or "?" for call in self.calls]

    # ------------------------------------------------------------------ faults

    def fail(self, step: str, status: int = 503, times: int = 1000) -> None:
        """Answer the next `times` calls of `step` with `status` (403: a missing permission)."""
        assert step in _ROUTES, f"unknown step {step}; one of {STEPS}"
        message = NOT_ACCESSIBLE if status == 403 else "Server Error"
        self._faults[step] = [_Answer(status, message) for _ in range(times)]

    def rate_limit(self, step: str, times: int = 1000) -> None:
        """Answer `step` as GitHub does when the installation's hourly quota is used up."""
        assert step in _ROUTES, f"unknown step {step}; one of {STEPS}"
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)}
        message = f"API rate limit exceeded for installation ID {self.installation_id}."
        self._faults[step] = [_Answer(403, message, headers=headers) for _ in range(times)]

    def go_down_at(self, step: str) -> None:
        """When `step` is called, drop the connection and refuse every request after it."""
        assert step in _ROUTES, f"unknown step {step}; one of {STEPS}"
        self._down_at = step

    def revoke_tokens(self) -> None:
        """Installation tokens stop working (the app was reinstalled, or GitHub revoked them)."""
        with self._lock:
            self._tokens.clear()

    # -- people acting through the app: device flow, user tokens

    def authorize_device(self, user_code: str, login: str) -> None:
        """`login` enters the user code at the verification page and authorizes the app."""
        with self._lock:
            [grant] = [g for g in self.devices.values() if g.user_code == user_code]
            grant.login = login

    def deny_device(self, user_code: str) -> None:
        with self._lock:
            [grant] = [g for g in self.devices.values() if g.user_code == user_code]
            grant.denied = True

    def expire_user_tokens(self, login: str) -> None:
        """8 hours pass: the person's access tokens stop working (refresh tokens still do)."""
        with self._lock:
            for token, (who, _) in list(self._user_tokens.items()):
                if who == login:
                    self._user_tokens[token] = (who, 0.0)

    def revoke_user(self, login: str) -> None:
        """The person revokes the app's authorization (github.com/settings/apps/authorizations)."""
        with self._lock:
            for tokens in (self._user_tokens, self._refresh_tokens):
                for token, (who, _) in list(tokens.items()):
                    if who == login:
                        del tokens[token]

    def reviews(self, repo: str, number: int) -> list[Review]:
        return list(self.repos[repo.lower()].pulls[number].reviews)

    # ------------------------------------------------------------------ request handling

    def _dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, Any, dict[str, str]] | None:
        """(status, JSON body, headers) to answer, or None to drop the connection."""
        url = urlsplit(raw_path)
        step, params = _route(method, url.path)
        with self._lock:
            if self._down or (step is not None and step == self._down_at):
                self._down = True
                self.calls.append(Call(method, url.path, step, 0))
                return None
        try:
            if step is None:
                raise _Answer(404, "Not Found")
            faults = self._faults.get(step)
            if faults:
                raise faults.pop(0)
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body: Any = {k: v[-1] for k, v in parse_qs(raw_body.decode()).items()}
            else:
                body = json.loads(raw_body) if raw_body else None
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with self._lock:
                status, answer = self._handle(step, params, query, headers, body)
        except _Answer as refusal:
            self.calls.append(Call(method, url.path, step, refusal.status))
            return refusal.status, refusal.body, refusal.headers
        except ValueError:
            status, answer = 400, {"message": "Problems parsing JSON"}
        self.calls.append(Call(method, url.path, step, status))
        return status, answer, {}

    def _handle(
        self,
        step: str,
        params: dict[str, str],
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        if step == "mint_token":
            self._check_app_jwt(headers.get("authorization", ""))
            if int(params["installation"]) != self.installation_id:
                raise _Answer(404, "Not Found")
            return 201, self._mint()
        if step == "device_code":
            return 200, self._device_code(body)
        if step == "oauth_token":
            return 200, self._oauth_token(body)
        authorization = headers.get("authorization", "")
        user = self._user_of(authorization)
        if step == "get_user":
            if user is None:
                raise _Answer(401, "Bad credentials")
            return 200, {"login": user, "id": abs(hash(user)) % 10**6, "type": "User"}
        if user is not None:
            return self._as_user(step, params, query, body, user)
        self._check_installation_token(authorization)
        if step == "team_membership":
            return self._team_membership(params)
        repo = self.repos.get(params["repo"].lower())
        if repo is None:  # GitHub answers 404 for repositories the installation cannot see
            raise _Answer(404, "Not Found")
        allowed_by = _ROUTES[step][2]
        if not any(_grants(self.permissions.get(p), level) for p, level in allowed_by):
            raise _Answer(403, NOT_ACCESSIBLE)
        handler = getattr(self, f"_{step}")
        result: tuple[int, Any] = handler(repo, params, query, body)
        return result

    def _check_app_jwt(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise _Answer(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise _Answer(401, f"A JSON web token could not be decoded ({error})") from None
        if str(claims["iss"]) != str(self.app_id):
            raise _Answer(401, "'Issuer' claim ('iss') must be an Integer")
        if claims["exp"] - claims["iat"] > 600:  # GitHub's limit on an app JWT's lifetime
            raise _Answer(401, "'Expiration time' claim ('exp') is too far in the future")

    def _check_installation_token(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        expiry = self._tokens.get(token) if scheme.lower() in ("token", "bearer") else None
        if expiry is None or expiry <= time.time():
            raise _Answer(401, "Bad credentials")

    def _user_of(self, authorization: str) -> str | None:
        """The person a live user token acts as; None for any other credential."""
        scheme, _, token = authorization.partition(" ")
        found = self._user_tokens.get(token) if scheme.lower() in ("token", "bearer") else None
        if found is None:
            return None
        login, expiry = found
        if expiry <= time.time():
            raise _Answer(401, "Bad credentials")
        return login

    def _device_code(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("client_id") != self.client_id:
            return {"error": "unauthorized_client", "error_description": "unknown client_id"}
        device_code = secrets.token_hex(20)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        self.devices[device_code] = DeviceGrant(
            user_code, time.time() + DEVICE_CODE_SECONDS, self.device_interval
        )
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{self.url}/login/device",
            "expires_in": DEVICE_CODE_SECONDS,
            "interval": self.device_interval,
        }

    def _oauth_token(self, body: Any) -> dict[str, Any]:
        """GitHub answers these with 200 and an `error` field."""
        body = body if isinstance(body, dict) else {}
        if body.get("client_id") != self.client_id:
            return {"error": "incorrect_client_credentials"}
        grant_type = body.get("grant_type")
        if grant_type == "refresh_token":
            if body.get("client_secret") != self.client_secret:
                return {"error": "incorrect_client_credentials"}
            found = self._refresh_tokens.pop(str(body.get("refresh_token")), None)
            if found is None or found[1] <= time.time():
                return {"error": "bad_refresh_token"}
            return self._user_token_pair(found[0])
        if grant_type != "urn:ietf:params:oauth:grant-type:device_code":
            return {"error": "unsupported_grant_type"}
        grant = self.devices.get(str(body.get("device_code")))
        now = time.time()
        if grant is None:
            return {"error": "incorrect_device_code"}
        if grant.expires_at <= now:
            return {"error": "expired_token"}
        if now - grant.last_poll < grant.interval:
            grant.interval += 5
            grant.last_poll = now
            return {"error": "slow_down", "interval": grant.interval}
        grant.last_poll = now
        if grant.denied:
            return {"error": "access_denied"}
        if grant.login is None:
            return {"error": "authorization_pending"}
        del self.devices[str(body["device_code"])]  # a device code gives tokens once
        return self._user_token_pair(grant.login)

    def _user_token_pair(self, login: str) -> dict[str, Any]:
        access, refresh = "ghu_" + secrets.token_hex(18), "ghr_" + secrets.token_hex(38)
        now = time.time()
        self._user_tokens[access] = (login, now + USER_TOKEN_SECONDS)
        self._refresh_tokens[refresh] = (login, now + REFRESH_TOKEN_SECONDS)
        self.user_tokens_issued += [access, refresh]
        return {
            "access_token": access,
            "expires_in": USER_TOKEN_SECONDS,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
            "token_type": "bearer",
            "scope": "",
        }

    def _mint(self) -> dict[str, Any]:
        token = "ghs_" + secrets.token_hex(18)
        expiry = time.time() + self.token_lifetime
        self._tokens[token] = expiry
        self.tokens_minted.append(token)
        return {
            "token": token,
            "expires_at": datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": self.permissions,
            "repository_selection": "selected",
        }

    # The endpoints: each takes (repo, path params, query, JSON body) -> (status, JSON).

    def _get_repo(self, repo: Repo, *_: Any) -> tuple[int, Any]:
        return 200, {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": {"login": repo.owner, "type": "Organization"},
            "private": True,
            "default_branch": repo.default_branch,
            "allow_merge_commit": "merge" in repo.merge_methods,
            "allow_squash_merge": "squash" in repo.merge_methods,
            "allow_rebase_merge": "rebase" in repo.merge_methods,
            "url": self._repo_url(repo),
            "html_url": f"https://github.com/{repo.full_name}",
        }

    def _get_ref(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        branch = unquote(params["ref"]).removeprefix("heads/")
        if branch not in repo.branches:
            raise _Answer(404, "Not Found")
        return 200, self._ref_json(repo, branch)

    def _create_ref(self, repo: Repo, _p: Any, _q: Any, body: Any) -> tuple[int, Any]:
        ref, sha = _field(body, "ref"), _field(body, "sha")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise _Answer(422, "Reference name is invalid")
        branch = ref.removeprefix("refs/heads/")
        if not _valid_ref_name(branch):
            raise _Answer(422, "Reference name is invalid")
        if branch in repo.branches:
            raise _Answer(422, "Reference already exists")
        if sha not in repo.commits:
            raise _Answer(422, "Object does not exist")
        repo.branches[branch] = sha
        return 201, self._ref_json(repo, branch)

    def _delete_ref(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        branch = unquote(params["ref"]).removeprefix("heads/")
        if branch not in repo.branches:
            raise _Answer(422, "Reference does not exist")
        del repo.branches[branch]
        for pull in repo.pulls.values():  # GitHub closes pull requests whose head is deleted
            if pull.head == branch and pull.state == "open":
                pull.state = "closed"
        return 204, None

    def _get_contents(
        self, repo: Repo, params: dict[str, str], query: dict[str, str], _b: Any
    ) -> tuple[int, Any]:
        path = unquote(params["path"])
        commit = self._commit_at(repo, query.get("ref", repo.default_branch))
        sha = commit.tree.get(path)
        if sha is None:
            raise _Answer(404, "Not Found")
        data = self._blob_data(repo, sha)
        large = len(data) > CONTENTS_MAX_BYTES
        return 200, {
            **self._content_json(repo, path, sha, len(data)),
            "type": "file",
            "encoding": "none" if large else "base64",
            "content": "" if large else _base64(data),
        }

    def _get_blob(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        sha = params["sha"]
        if sha not in repo.blobs:
            raise _Answer(404, "Not Found")
        data = self._blob_data(repo, sha)
        return 200, {
            "sha": sha,
            "node_id": f"B_{sha[:12]}",
            "size": len(data),
            "url": f"{self._repo_url(repo)}/git/blobs/{sha}",
            "content": _base64(data),
            "encoding": "base64",
        }

    def _update_ref(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        branch = unquote(params["ref"]).removeprefix("heads/")
        sha = _field(body, "sha")
        if branch not in repo.branches:
            raise _Answer(422, "Reference does not exist")
        if sha not in repo.commits:
            raise _Answer(422, "Object does not exist")
        if not body.get("force") and not _descends(repo, sha, repo.branches[branch]):
            raise _Answer(422, "Update is not a fast forward")
        repo.branches[branch] = sha
        return 200, self._ref_json(repo, branch)

    def _put_contents(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        path = unquote(params["path"])
        branch = body.get("branch", repo.default_branch) if isinstance(body, dict) else ""
        message, content = _field(body, "message"), _field(body, "content")
        if branch not in repo.branches:
            raise _Answer(404, f"Branch {branch} not found")
        head = repo.commits[repo.branches[branch]]
        current = head.tree.get(path)
        if current is not None and "sha" not in body:
            raise _Answer(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and body["sha"] != current:
            raise _Answer(409, f"{path} does not match {body['sha']}")
        try:
            data = base64.b64decode(content, validate=True)
        except ValueError:
            raise _Answer(422, "content is not valid Base64") from None
        sha = _store_blob(repo, data)
        commit = _commit(repo, {**head.tree, path: sha}, message, head.sha)
        repo.branches[branch] = commit
        return 200 if current else 201, {
            "content": self._content_json(repo, path, sha, len(data)),
            "commit": {"sha": commit, "message": message, "url": self._repo_url(repo)},
        }

    def _list_pulls(self, repo: Repo, _p: Any, query: dict[str, str], _b: Any) -> tuple[int, Any]:
        state = query.get("state", "open")
        head = query.get("head")
        found = [
            self._pull_json(repo, pull)
            for pull in repo.pulls.values()
            if state in ("all", pull.state)
            and (head is None or head == f"{repo.owner}:{pull.head}")
        ]
        return 200, found

    def _create_pull(self, repo: Repo, _p: Any, _q: Any, body: Any) -> tuple[int, Any]:
        head, base = _field(body, "head"), _field(body, "base")
        title = _field(body, "title")
        head = head.removeprefix(f"{repo.owner}:")
        invalid = [
            {"resource": "PullRequest", "field": name, "code": "invalid"}
            for name, branch in (("head", head), ("base", base))
            if branch not in repo.branches
        ]
        if invalid:
            raise _Answer(422, "Validation Failed", invalid)
        if repo.branches[head] == repo.branches[base]:
            raise _Answer(422, "Validation Failed", [f"No commits between {base} and {head}"])
        for pull in repo.pulls.values():
            if pull.state == "open" and (pull.head, pull.base) == (head, base):
                message = f"A pull request already exists for {repo.owner}:{head}."
                raise _Answer(422, "Validation Failed", [{"message": message}])
        pull = Pull(self._next_number, title, body.get("body") or "", head, base)
        self._next_number += 1
        repo.pulls[pull.number] = pull
        return 201, self._pull_json(repo, pull)

    def _get_pull(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        return 200, self._pull_json(repo, self._pull(repo, params))

    def _update_pull(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        if isinstance(body, dict) and body.get("state") in ("open", "closed") and not pull.merged:
            pull.state = body["state"]
        return 200, self._pull_json(repo, pull)

    def _request_reviewers(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        users = list(body.get("reviewers") or []) if isinstance(body, dict) else []
        teams = list(body.get("team_reviewers") or []) if isinstance(body, dict) else []
        if teams and not _grants(self.permissions.get("members"), "read"):
            # What GitHub answers when the app cannot read the organization's teams.
            missing = base64.b64encode(f"04:Team{teams[0]}".encode()).decode()
            detail = f"Could not resolve to a node with the global id of '{missing}'"
            raise _Answer(422, "Validation Failed", [detail])
        known_users = {login.lower() for login in repo.collaborators}
        known_teams = {slug.lower() for slug in repo.teams}
        if any(u.lower() not in known_users for u in users) or any(
            t.lower() not in known_teams for t in teams
        ):
            raise _Answer(422, NOT_COLLABORATOR.format(repo=repo.full_name))
        pull.reviewers += [u for u in users if u not in pull.reviewers]
        pull.teams += [t for t in teams if t not in pull.teams]
        return 201, self._pull_json(repo, pull)

    def _add_labels(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        names = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _Answer(422, "Invalid request.\n\nFor 'items', nil is not a string.")
        pull.labels += [name for name in names if name not in pull.labels]
        return 200, [_label_json(name) for name in pull.labels]

    def _create_review(
        self,
        repo: Repo,
        params: dict[str, str],
        _q: Any,
        body: Any,
        login: str = BOT_LOGIN,
    ) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        event = body.get("event") if isinstance(body, dict) else None
        commit = body.get("commit_id") if isinstance(body, dict) else None
        if event not in _REVIEW_STATES:
            raise _Answer(422, "Validation Failed", [{"field": "event", "code": "invalid"}])
        if commit is not None and commit not in repo.commits:
            raise _Answer(
                422, "Unprocessable Entity", ["commit_id is not part of the pull request"]
            )
        if event == "REQUEST_CHANGES" and not body.get("body"):
            raise _Answer(422, "Unprocessable Entity", ["Review body is required"])
        if event != "COMMENT" and login.lower() == pull.author.lower():
            raise _Answer(422, "Unprocessable Entity", ["Can not approve your own pull request"])
        if pull.state != "open":
            raise _Answer(422, "Unprocessable Entity", ["Pull request is closed"])
        review = Review(
            len(pull.reviews) + 1,
            login,
            _REVIEW_STATES[event],
            commit or repo.branches[pull.head],
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        pull.reviews.append(review)
        return 200, self._review_json(repo, pull, review)

    def _list_reviews(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        return 200, [self._review_json(repo, pull, review) for review in pull.reviews]

    def _review_json(self, repo: Repo, pull: Pull, review: Review) -> dict[str, Any]:
        url = f"{self._repo_url(repo)}/pulls/{pull.number}"
        return {
            "id": review.id,
            "node_id": f"PRR_{review.id}",
            "user": {
                "login": review.login,
                "id": abs(hash(review.login)) % 10**6,
                "type": "User",
            },
            "body": "",
            "state": review.state,
            "html_url": f"https://github.com/{repo.full_name}/pull/{pull.number}"
            f"#pullrequestreview-{review.id}",
            "pull_request_url": url,
            "author_association": "MEMBER",
            "submitted_at": review.submitted_at,
            "commit_id": review.commit_id,
        }

    def _create_status(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        sha = params["sha"]
        if sha not in repo.commits:
            raise _Answer(422, f"No commit found for SHA: {sha}")
        state = _field(body, "state")
        if state not in ("error", "failure", "pending", "success"):
            raise _Answer(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
        status = {
            "state": state,
            "context": body.get("context") or "default",
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "creator": {"login": BOT_LOGIN, "type": "Bot"},
        }
        repo.statuses.setdefault(sha, []).append(status)
        return 201, {"url": f"{self._repo_url(repo)}/statuses/{sha}", "id": 1, **status}

    def _team_membership(self, params: dict[str, str]) -> tuple[int, Any]:
        if not _grants(self.permissions.get("members"), "read"):
            raise _Answer(403, NOT_ACCESSIBLE)
        org, slug, login = (unquote(params[k]).lower() for k in ("org", "team", "login"))
        state = self.team_members.get((org, slug), {}).get(login)
        if state is None:  # not a member, or no such team: GitHub says the same
            raise _Answer(404, "Not Found")
        return 200, {
            "url": f"{self.url}/organizations/1/team/1/memberships/{login}",
            "role": "member",
            "state": state,
        }

    # JSON shapes (the fields PyGithub reads, and the URLs it follows).

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.url}/repos/{repo.full_name}"

    def _ref_json(self, repo: Repo, branch: str) -> dict[str, Any]:
        sha = repo.branches[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "url": f"{self._repo_url(repo)}/git/refs/heads/{branch}",
            "object": {
                "sha": sha,
                "type": "commit",
                "url": f"{self._repo_url(repo)}/git/commits/{sha}",
            },
        }

    def _content_json(self, repo: Repo, path: str, sha: str, size: int) -> dict[str, Any]:
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": size,
            "url": f"{self._repo_url(repo)}/contents/{path}",
            "html_url": f"https://github.com/{repo.full_name}/blob/{repo.default_branch}/{path}",
        }

    def _pull_json(self, repo: Repo, pull: Pull) -> dict[str, Any]:
        url = f"{self._repo_url(repo)}/pulls/{pull.number}"
        return {
            "url": url,
            "id": pull.number * 1000,
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "merged": pull.merged,
            "html_url": f"https://github.com/{repo.full_name}/pull/{pull.number}",
            "issue_url": f"{self._repo_url(repo)}/issues/{pull.number}",
            "user": {"login": pull.author, "type": "Bot" if pull.author == BOT_LOGIN else "User"},
            "head": _branch_json(repo, pull.head),
            "base": _branch_json(repo, pull.base),
            "requested_reviewers": [{"login": login} for login in pull.reviewers],
            "requested_teams": [{"slug": slug, "name": slug} for slug in pull.teams],
            "labels": [_label_json(name) for name in pull.labels],
            **self._mergeability(repo, pull),
        }

    def _blob_data(self, repo: Repo, sha: str) -> bytes:
        data = repo.blobs[sha]
        if len(data) > self.blob_max_bytes:
            errors = [{"resource": "Blob", "field": "data", "code": "too_large"}]
            raise _Answer(403, TOO_LARGE, errors)
        return data

    def _pull(self, repo: Repo, params: dict[str, str]) -> Pull:
        pull = repo.pulls.get(int(params["number"]))
        if pull is None:
            raise _Answer(404, "Not Found")
        return pull

    def _commit_at(self, repo: Repo, ref: str) -> Commit:
        sha = repo.branches.get(ref.removeprefix("refs/heads/"), ref)
        if sha not in repo.commits:
            raise _Answer(404, f"No commit found for the ref {ref}")
        return repo.commits[sha]

    # --- Auto-merge (issue 27, point 4): set-up, and the endpoints of its route-table block.

    def add_check_run(
        self, repo: str, sha: str, name: str, status: str = "completed", conclusion: str = "success"
    ) -> None:
        """A CI job reports on a commit (`status`: queued, in_progress, completed)."""
        with self._lock:
            run = {"name": name, "status": status, "conclusion": conclusion}
            self.repos[repo.lower()].check_runs.setdefault(sha, []).append(run)

    def set_status(self, repo: str, sha: str, context: str, state: str) -> None:
        """A commit status from someone else's token (a CI system, the approvals app)."""
        with self._lock:
            status = {"state": state, "context": context, "description": None}
            self.repos[repo.lower()].statuses.setdefault(sha, []).append(status)

    def user_token(self, login: str) -> str:
        """A person's token (what the bot holds for a linked owner): acts as `login`."""
        with self._lock:
            return str(self._user_token_pair(login)["access_token"])

    def _as_user(
        self, step: str, params: dict[str, str], query: dict[str, str], body: Any, login: str
    ) -> tuple[int, Any]:
        """What a person's token may do here: read the pull request, review it."""
        if step not in _USER_STEPS:
            raise _Answer(403, "Resource not accessible by personal access token")
        repo = self.repos.get(params["repo"].lower())
        if repo is None:
            raise _Answer(404, "Not Found")
        if step == "create_review":
            return self._create_review(repo, params, query, body, login=login)
        result: tuple[int, Any] = getattr(self, f"_{step}")(repo, params, query, body)
        return result

    def _latest_statuses(self, repo: Repo, sha: str) -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for status in repo.statuses.get(sha, []):
            latest[status["context"]] = status
        return latest

    def _get_commit(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        commit = self._commit_at(repo, unquote(params["ref"]))
        url = f"{self._repo_url(repo)}/commits/{commit.sha}"
        parents = [{"sha": commit.parent}] if commit.parent else []
        return 200, {
            "sha": commit.sha,
            "url": url,
            "commit": {"message": commit.message},
            "parents": parents,
        }

    def _combined_status(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        sha = self._commit_at(repo, unquote(params["ref"])).sha
        statuses = list(self._latest_statuses(repo, sha).values())
        states = {s["state"] for s in statuses}
        state = (
            "failure"
            if states & {"failure", "error"}
            else "pending"
            if not statuses or "pending" in states
            else "success"
        )
        return 200, {
            "state": state,
            "sha": sha,
            "total_count": len(statuses),
            "statuses": [{"id": n, **s} for n, s in enumerate(statuses, start=1)],
            "url": f"{self._repo_url(repo)}/commits/{sha}/status",
        }

    def _list_check_runs(self, repo: Repo, params: dict[str, str], *_: Any) -> tuple[int, Any]:
        sha = self._commit_at(repo, unquote(params["ref"])).sha
        runs = [
            {
                "id": n,
                "head_sha": sha,
                "name": run["name"],
                "status": run["status"],
                "conclusion": run["conclusion"] if run["status"] == "completed" else None,
                "url": f"{self._repo_url(repo)}/check-runs/{n}",
            }
            for n, run in enumerate(repo.check_runs.get(sha, []), start=1)
        ]
        return 200, {"total_count": len(runs), "check_runs": runs}

    def _unmet_required_checks(self, repo: Repo, sha: str) -> list[str]:
        """Branch protection: the required names without a green status or check run."""
        green = {c for c, s in self._latest_statuses(repo, sha).items() if s["state"] == "success"}
        green |= {
            run["name"]
            for run in repo.check_runs.get(sha, [])
            if run["status"] == "completed"
            and run["conclusion"] in ("success", "neutral", "skipped")
        }
        return sorted(repo.required_checks - green)

    def _mergeability(self, repo: Repo, pull: Pull) -> dict[str, Any]:
        if pull.state != "open":
            return {"mergeable": None, "mergeable_state": "unknown"}
        sha = repo.branches.get(pull.head)
        if sha is not None and repo.strict and not _descends(repo, sha, repo.branches[pull.base]):
            return {"mergeable": True, "mergeable_state": "behind"}
        blocked = sha is None or self._unmet_required_checks(repo, sha)
        return {"mergeable": True, "mergeable_state": "blocked" if blocked else "clean"}

    def _merge_pull(
        self, repo: Repo, params: dict[str, str], _q: Any, body: Any
    ) -> tuple[int, Any]:
        pull = self._pull(repo, params)
        body = body if isinstance(body, dict) else {}
        if pull.state != "open":
            raise _Answer(405, "Pull Request is not mergeable")
        head = repo.branches[pull.head]
        if body.get("sha") and body["sha"] != head:
            raise _Answer(409, "Head branch was modified. Review and try the merge again.")
        method = body.get("merge_method") or "merge"
        if method not in repo.merge_methods:
            kind = {"merge": "Merge commits", "squash": "Squash merges", "rebase": "Rebase merges"}
            raise _Answer(405, f"{kind.get(method, method)} are not allowed on this repository.")
        if self._mergeability(repo, pull)["mergeable_state"] == "behind":
            raise _Answer(405, "Head branch is out of date. Review and try the merge again.")
        unmet = self._unmet_required_checks(repo, head)
        if unmet:
            raise _Answer(405, f'Required status check "{unmet[0]}" is expected.')
        self.merge(repo.full_name, pull.number)
        return 200, {
            "sha": repo.branches[pull.base],
            "merged": True,
            "message": "Pull Request successfully merged",
        }


def _route(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    for step, (verb, pattern, _) in _ROUTES.items():
        match = re.fullmatch(pattern, path)
        if verb == method and match:
            return step, match.groupdict()
    return None, {}


def _grants(held: str | None, needed: str) -> bool:
    return held == "write" or (held == "read" and needed == "read")


def _field(body: Any, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise _Answer(422, "Invalid request.", [f'"{name}" wasn\'t supplied.'])
    return value


def _valid_ref_name(branch: str) -> bool:
    """The parts of git's check-ref-format rules a branch name can break."""
    return not (
        re.search(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)", branch)
        or branch.startswith(("/", ".", "-"))
        or branch.endswith(("/", "."))
        or branch == "@"
    )


def _base64(data: bytes) -> str:
    """As GitHub sends content: base64 wrapped at 60 characters."""
    return "\n".join(re.findall(".{1,60}", base64.b64encode(data).decode())) + "\n"


def _descends(repo: Repo, sha: str, ancestor: str) -> bool:
    commit: Commit | None = repo.commits.get(sha)
    while commit is not None:
        if commit.sha == ancestor:
            return True
        commit = repo.commits.get(commit.parent) if commit.parent else None
    return False


def _store_blob(repo: Repo, data: bytes) -> str:
    sha = blob_sha(data)
    repo.blobs[sha] = data
    return sha


def _commit(repo: Repo, tree: dict[str, str], message: str, parent: str | None) -> str:
    content = json.dumps([sorted(tree.items()), message, parent, len(repo.commits)])
    sha = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
    repo.commits[sha] = Commit(sha, tree, message, parent)
    return sha


def _branch_json(repo: Repo, branch: str) -> dict[str, Any]:
    return {"ref": branch, "label": f"{repo.owner}:{branch}", "sha": repo.branches.get(branch)}


def _label_json(name: str) -> dict[str, Any]:
    return {"name": name, "color": "ededed"}


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as GitHub; requests reuses connections

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = fake._dispatch(self.command, self.path, headers, raw)
            if answer is None:  # down: drop the connection without a word
                self.close_connection = True
                return
            status, document, extra_headers = answer
            payload = b"" if document is None else json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: `fake.calls` has every request."""

    return Handler
