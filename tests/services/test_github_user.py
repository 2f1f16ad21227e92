"""The GitHub App's device flow and user tokens, against the fake GitHub over real HTTP (the
wire calls of dbaccess.clients.github_user, and PyGithub with a user token): every answer
GitHub documents for the device flow, refresh-token rotation, revocation, and failures."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from dbaccess.clients import github_user
from dbaccess.clients.github import GitHubError, GitHubUnavailable
from dbaccess.clients.github_user import (
    AuthorizationGone,
    DeviceCode,
    DeviceFlowEnded,
    DeviceFlowWaiting,
)
from tests.fakes.github import USER_TOKEN_SECONDS, FakeGitHub


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(device_interval=0) as fake:
        yield fake


def poll(github: FakeGitHub, code: DeviceCode, interval: int = 0) -> github_user.UserTokens:
    return github_user.poll_device_flow(github.url, github.client_id, code, interval, time.time())


def test_the_device_flow_gives_tokens_that_act_as_the_person(github: FakeGitHub) -> None:
    code = github_user.start_device_flow(github.url, github.client_id)
    assert code.verification_uri == f"{github.url}/login/device"
    assert code.expires_in == 900
    with pytest.raises(DeviceFlowWaiting):
        poll(github, code)  # authorization_pending
    github.authorize_device(code.user_code, "olga")

    tokens = poll(github, code)

    assert tokens.access_expires_at == pytest.approx(time.time() + USER_TOKEN_SECONDS, abs=5)
    gh = github_user.connect_as_user(tokens.access_token, github.url)
    assert github_user.login_of(gh) == "olga"
    assert tokens.access_token not in repr(tokens)
    assert code.device_code not in repr(code)
    with pytest.raises(DeviceFlowEnded):
        poll(github, code)  # a device code gives tokens once


def test_polling_too_fast_is_told_to_slow_down_by_five_seconds() -> None:
    with FakeGitHub(device_interval=5) as github:
        code = github_user.start_device_flow(github.url, github.client_id)
        with pytest.raises(DeviceFlowWaiting) as first:
            poll(github, code, 5)
        with pytest.raises(DeviceFlowWaiting) as second:
            poll(github, code, first.value.interval)
    assert first.value.interval == 5  # authorization_pending
    assert second.value.interval == 10  # slow_down: GitHub adds 5 seconds


def test_a_cancelled_or_expired_code_ends_the_flow(github: FakeGitHub) -> None:
    denied = github_user.start_device_flow(github.url, github.client_id)
    github.deny_device(denied.user_code)
    with pytest.raises(DeviceFlowEnded) as ended:
        poll(github, denied)
    assert ended.value.reason == "access_denied"

    late = github_user.start_device_flow(github.url, github.client_id)
    for grant in github.devices.values():
        grant.expires_at = 0
    with pytest.raises(DeviceFlowEnded) as expired:
        poll(github, late)
    assert expired.value.reason == "expired_token"


def test_a_refresh_rotates_the_refresh_token_and_a_revoked_authorization_is_gone(
    github: FakeGitHub,
) -> None:
    code = github_user.start_device_flow(github.url, github.client_id)
    github.authorize_device(code.user_code, "olga")
    first = poll(github, code)

    second = github_user.refresh(
        github.url, github.client_id, github.client_secret, first.refresh_token, time.time()
    )
    assert second.refresh_token != first.refresh_token
    with pytest.raises(AuthorizationGone):  # spent
        github_user.refresh(
            github.url, github.client_id, github.client_secret, first.refresh_token, time.time()
        )

    github.revoke_user("olga")
    with pytest.raises(AuthorizationGone):
        github_user.login_of(github_user.connect_as_user(second.access_token, github.url))
    with pytest.raises(AuthorizationGone):
        github_user.refresh(
            github.url, github.client_id, github.client_secret, second.refresh_token, time.time()
        )


def test_a_wrong_client_says_what_to_check_and_a_failing_github_is_unavailable(
    github: FakeGitHub,
) -> None:
    with pytest.raises(GitHubError, match="client id and secret"):
        github_user.start_device_flow(github.url, "Iv1.not-this-app")
    github.fail("device_code", 502, times=1)
    with pytest.raises(GitHubUnavailable):
        github_user.start_device_flow(github.url, github.client_id)


def test_a_github_that_never_answers_is_given_up_on_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()  # accepts, never answers
    monkeypatch.setattr(github_user, "BUDGET_SECONDS", 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(GitHubUnavailable):
            github_user.start_device_flow(
                f"http://127.0.0.1:{server.getsockname()[1]}", "Iv1.anything"
            )
    finally:
        server.close()
    assert time.monotonic() - started < 3
