"""Acting on GitHub as a person: the GitHub App's OAuth device flow, its user-to-server tokens,
and the two calls the bot makes with them (who am I, and review a pull request).

The device flow needs no callback URL, which fits a Socket Mode bot: POST {web}/login/device/code
gives a user code and a device code; the person types the code at the verification link; the
bot polls POST {web}/login/oauth/access_token until GitHub answers with tokens, or says why not
(authorization_pending, slow_down, expired_token, access_denied). A GitHub App's user token
lasts 8 hours; its refresh token (6 months) is exchanged, with the client secret, for a new pair
and is then spent (GitHub rotates it). Every call is bounded (connect and total), and no token
is in a message, an exception or a repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from github import Auth, Github

from dbaccess import formats
from dbaccess.clients import http
from dbaccess.clients.github import GitHubAuthError, GitHubError, GitHubUnavailable, _translated

DEFAULT_WEB_URL: Final = "https://github.com"
DEVICE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"
BUDGET_SECONDS: Final = 10.0
# GitHub's own figures, used when an answer leaves them out.
DEFAULT_INTERVAL: Final = 5
SLOW_DOWN_STEP: Final = 5


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)  # whoever holds it gets the tokens once approved
    user_code: str
    verification_uri: str
    interval: int  # seconds between polls
    expires_in: int  # seconds the codes live


@dataclass(frozen=True)
class UserTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float  # epoch seconds
    refresh_expires_at: float


class DeviceFlowWaiting(Exception):
    """Not yet: the person has not entered the code (`interval`: wait this long, which
    slow_down raised)."""

    def __init__(self, interval: int) -> None:
        super().__init__(f"waiting; poll again in {interval} s")
        self.interval = interval


class DeviceFlowEnded(GitHubError):
    """The flow is over without tokens: `reason` is GitHub's error code (expired_token,
    access_denied, ...); the message says what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AuthorizationGone(GitHubAuthError):
    """The person's authorization no longer works (revoked, refresh token expired or spent):
    they must link again."""


def start_device_flow(web_url: str, client_id: str) -> DeviceCode:
    answer = _post_form(web_url, "/login/device/code", {"client_id": client_id})
    try:
        return DeviceCode(
            device_code=str(answer["device_code"]),
            user_code=str(answer["user_code"]),
            verification_uri=str(answer["verification_uri"]),
            interval=int(answer.get("interval", DEFAULT_INTERVAL)),
            expires_in=int(answer["expires_in"]),
        )
    except (KeyError, TypeError, ValueError):
        raise _refused("starting the device flow", answer) from None


def poll_device_flow(
    web_url: str, client_id: str, code: DeviceCode, interval: int, now: float
) -> UserTokens:
    """The tokens once the person approved; DeviceFlowWaiting while they have not;
    DeviceFlowEnded when it is over without them."""
    answer = _post_form(
        web_url,
        "/login/oauth/access_token",
        {"client_id": client_id, "device_code": code.device_code, "grant_type": DEVICE_GRANT},
    )
    error = answer.get("error")
    if error == "authorization_pending":
        raise DeviceFlowWaiting(interval)
    if error == "slow_down":
        raise DeviceFlowWaiting(int(answer.get("interval") or interval + SLOW_DOWN_STEP))
    if error == "expired_token":
        raise DeviceFlowEnded(error, "The code expired before it was entered: link again.")
    if error == "access_denied":
        raise DeviceFlowEnded(error, "The authorization was cancelled on GitHub.")
    if error:
        raise DeviceFlowEnded(str(error), _refusal_text("finishing the device flow", answer))
    return _tokens(answer, now, "finishing the device flow")


def refresh(
    web_url: str, client_id: str, client_secret: str, refresh_token: str, now: float
) -> UserTokens:
    """A fresh pair for a refresh token (which is spent); AuthorizationGone when GitHub no
    longer honours it."""
    answer = _post_form(
        web_url,
        "/login/oauth/access_token",
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )
    if answer.get("error") == "bad_refresh_token":
        raise AuthorizationGone(
            "GitHub no longer honours this link (revoked, expired, or used already): link again."
        )
    if answer.get("error"):
        raise _refused("refreshing a user token", answer)
    return _tokens(answer, now, "refreshing a user token")


def connect_as_user(access_token: str, api_url: str, *, timeout: int = 15) -> Github:
    """A PyGithub client acting as the person. No retries: a retried review could be a second
    one; the caller decides what to do on a failure."""
    return Github(
        auth=Auth.Token(access_token),
        base_url=api_url,
        timeout=timeout,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def login_of(gh: Github) -> str:
    """The login the token acts as (GET /user)."""
    with _as_user("reading who the token belongs to"):
        return str(gh.get_user().login)


def submit_review(
    gh: Github, repo: str, number: int, commit_sha: str, event: str, body: str
) -> None:
    """Review pull request `number` at `commit_sha` (APPROVE or REQUEST_CHANGES) as the
    token's person."""
    with _as_user(f"reviewing pull request #{number} in {repo}"):
        gh.requester.requestJsonAndCheck(
            "POST",
            f"/repos/{repo}/pulls/{number}/reviews",
            input={"commit_id": commit_sha, "event": event, "body": body},
        )


@contextmanager
def _as_user(doing: str) -> Iterator[None]:
    """github_app's translation, where 401 means the person's authorization is gone."""
    try:
        with _translated(doing):
            yield
    except GitHubAuthError as error:
        raise AuthorizationGone(
            "GitHub refused the linked account's token (the authorization was revoked): link again."
        ) from error


def _tokens(answer: dict[str, Any], now: float, doing: str) -> UserTokens:
    try:
        return UserTokens(
            access_token=str(answer["access_token"]),
            refresh_token=str(answer["refresh_token"]),
            access_expires_at=now + int(answer["expires_in"]),
            refresh_expires_at=now + int(answer["refresh_token_expires_in"]),
        )
    except (KeyError, TypeError, ValueError):
        # A token without expiry: the GitHub App has "expire user authorization tokens" off.
        raise GitHubError(
            f"GitHub's answer {doing} has no expiring tokens: turn on 'Expire user "
            "authorization tokens' in the GitHub App's settings."
        ) from None


def _post_form(web_url: str, path: str, fields: dict[str, str]) -> dict[str, Any]:
    """POST a form to GitHub's web host, JSON back; GitHubUnavailable when it does not answer
    or fails."""
    url = formats.parse_api_url(web_url.rstrip("/") + path)
    try:
        answer = http.post(
            url,
            urlencode(fields).encode(),
            {
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "db-access",
            },
            BUDGET_SECONDS,
        )
    except http.Unanswered as error:
        raise GitHubUnavailable(
            f"GitHub could not be reached at {path} ({error.reason}): try again in a few minutes."
        ) from None
    if answer.status >= 500:
        raise GitHubUnavailable(f"GitHub failed at {path} (HTTP {answer.status}): try again.")
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GitHubError(f"GitHub answered {path} with HTTP {answer.status} and no JSON object.")
    return document


def _refusal_text(doing: str, answer: dict[str, Any]) -> str:
    # GitHub's error code and description only: never the fields of a success.
    code = str(answer.get("error") or "no error code")
    said = str(answer.get("error_description") or "")
    return f"GitHub refused {doing} ({code}{': ' + said if said else ''})."


def _refused(doing: str, answer: dict[str, Any]) -> GitHubError:
    advice = (
        " Check the GitHub App's client id and secret, and that its device flow is enabled."
        if answer.get("error")
        in ("incorrect_client_credentials", "device_flow_disabled", "unauthorized_client")
        else ""
    )
    return GitHubError(_refusal_text(doing, answer) + advice)
