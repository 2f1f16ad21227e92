"""The GitHub App client, driven through PyGithub against a fake GitHub over real HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from github import Auth, Github

from dbaccess.clients import github
from dbaccess.clients.github import (
    BranchExists,
    FileChanged,
    GitHubAppCredentials,
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubPermissionError,
    GitHubRejected,
    GitHubUnavailable,
    InvalidRequest,
    PullRequestState,
)
from tests.fakes.github import FakeGitHub, blob_sha

REPO = "example-org/access"
ACCESS = "version: 1\npeople:\n  ana@example.com:\n    grants: []\n"
EDITED = ACCESS.replace("grants: []", "grants:\n      - {database: orders, access: read-only}")
BRANCH = "access-request/ana/orders-read-only"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    # requests would send even 127.0.0.1 through a proxy set in the environment.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with FakeGitHub() as server:
        server.add_repo(
            REPO,
            {"access.yaml": ACCESS, "README.md": "hello\n"},
            collaborators=("hugo", "olivia"),
            teams=("dba",),
        )
        yield server


def credentials(fake: FakeGitHub) -> GitHubAppCredentials:
    return GitHubAppCredentials(fake.app_id, fake.installation_id, fake.private_key_pem, fake.url)


@pytest.fixture
def gh(fake: FakeGitHub) -> Github:
    # Unpaced: the fake has no rate limits. One retry keeps retrying proven.
    return github.connect(credentials(fake), retries=1, paced=False)


def open_request(gh: Github, **overrides: object) -> github.PullRequestRef:
    current = github.read_file(gh, REPO, "access.yaml")
    arguments: dict[str, object] = {
        "path": "access.yaml",
        "new_text": EDITED,
        "file_sha": current.sha,
        "branch": BRANCH,
        "title": "Grant ana@example.com read-only on orders",
        "body": "Requested from Slack.",
        "reviewers": ["@hugo", "@example-org/dba"],
        "labels": ["access-request", "production"],
    }
    arguments.update(overrides)
    return github.open_access_request(gh, REPO, **arguments)  # type: ignore[arg-type]


def nothing_half_made(fake: FakeGitHub) -> None:
    assert fake.branch_names(REPO) == {"main"}
    assert all(pull.state == "closed" for pull in fake.pulls(REPO))
    assert fake.file_text(REPO, "main", "access.yaml") == ACCESS


# ---------------------------------------------------------------------- happy path


def test_a_request_becomes_a_branch_a_commit_and_a_reviewed_labelled_pull_request(
    fake: FakeGitHub, gh: Github
) -> None:
    # GIVEN the current access file read through the app
    current = github.read_file(gh, REPO, "access.yaml")
    assert current.text == ACCESS
    assert current.sha == blob_sha(ACCESS.encode())

    # WHEN a request is opened
    opened = open_request(gh)

    # THEN the branch holds exactly the edited file and main is untouched
    assert fake.file_text(REPO, BRANCH, "access.yaml") == EDITED
    assert fake.file_text(REPO, BRANCH, "README.md") == "hello\n"
    assert fake.file_text(REPO, "main", "access.yaml") == ACCESS
    # AND one pull request from it to main, reviewer-routed and labelled
    [pull] = fake.pulls(REPO)
    assert (pull.number, pull.state, pull.head, pull.base) == (
        opened.number,
        "open",
        BRANCH,
        "main",
    )
    assert pull.title == "Grant ana@example.com read-only on orders"
    assert pull.body == "Requested from Slack."
    assert (pull.reviewers, pull.teams) == (["hugo"], ["dba"])
    assert pull.labels == ["access-request", "production"]
    assert opened.url == f"https://github.com/{REPO}/pull/{opened.number}"
    # AND one installation token served every call
    assert len(fake.tokens_minted) == 1


def test_without_reviewers_or_labels_only_the_pull_request_is_opened(
    fake: FakeGitHub, gh: Github
) -> None:
    open_request(gh, reviewers=(), labels=())

    [pull] = fake.pulls(REPO)
    assert (pull.reviewers, pull.teams, pull.labels) == ([], [], [])
    assert "request_reviewers" not in fake.steps_called()
    assert "add_labels" not in fake.steps_called()


def test_read_file_reads_at_a_ref(fake: FakeGitHub, gh: Github) -> None:
    open_request(gh)

    assert github.read_file(gh, REPO, "access.yaml", ref=BRANCH).text == EDITED
    assert github.read_file(gh, REPO, "access.yaml", ref="main").text == ACCESS


@pytest.mark.parametrize(
    ("repo", "path", "ref"),
    [(REPO, "missing.yaml", None), ("example-org/elsewhere", "access.yaml", None)],
)
def test_reading_what_is_not_there_is_not_found(
    gh: Github, repo: str, path: str, ref: None
) -> None:
    with pytest.raises(GitHubNotFound, match=f"reading {path} in {repo}.*installed"):
        github.read_file(gh, repo, path, ref)


# ---------------------------------------------------------------------- duplicates


def test_an_open_request_is_found_by_its_branch(fake: FakeGitHub, gh: Github) -> None:
    assert github.find_open_request(gh, REPO, BRANCH) is None
    opened = open_request(gh)

    assert github.find_open_request(gh, REPO, BRANCH) == opened
    assert github.find_open_request(gh, REPO, BRANCH + "-other") is None


def test_a_closed_or_merged_request_is_no_longer_open(fake: FakeGitHub, gh: Github) -> None:
    opened = open_request(gh)
    fake.close(REPO, opened.number)

    assert github.find_open_request(gh, REPO, BRANCH) is None


def test_opening_the_same_branch_twice_is_refused_and_leaves_the_first_alone(
    fake: FakeGitHub, gh: Github
) -> None:
    first = open_request(gh)

    with pytest.raises(BranchExists, match="has an open pull request already"):
        open_request(gh)

    # The existing branch is not ours to delete: it still holds the first request.
    assert fake.branch_names(REPO) == {"main", BRANCH}
    assert [(p.number, p.state) for p in fake.pulls(REPO)] == [(first.number, "open")]


@pytest.mark.parametrize("decided", ["closed", "merged"])
def test_a_leftover_branch_without_an_open_request_is_replaced(
    fake: FakeGitHub, gh: Github, decided: str
) -> None:
    # GIVEN a decided request whose branch nobody deleted (declined, or merged without
    # GitHub's branch auto-delete)
    first = open_request(gh)
    if decided == "merged":
        fake.merge(REPO, first.number)
    else:
        fake.close(REPO, first.number)
    main = github.read_file(gh, REPO, "access.yaml")

    # WHEN the same request is made again
    again = open_request(
        gh, new_text=main.text + "# asked again\n", file_sha=main.sha, reviewers=(), labels=()
    )

    # THEN the branch now holds the new request, on top of today's main, in a new pull request
    assert again.number != first.number
    assert fake.file_text(REPO, BRANCH, "access.yaml") == main.text + "# asked again\n"
    assert [p.state for p in fake.pulls(REPO)] == [
        "closed",
        "open",
    ]
    assert "update_ref" in fake.steps_called()


def test_delete_branch_deletes_it_and_a_branch_already_gone_is_fine(
    fake: FakeGitHub, gh: Github
) -> None:
    opened = open_request(gh)
    fake.close(REPO, opened.number)

    github.delete_branch(gh, REPO, BRANCH)
    github.delete_branch(gh, REPO, BRANCH)

    assert fake.branch_names(REPO) == {"main"}


def test_a_file_over_one_megabyte_is_read_whole(fake: FakeGitHub, gh: Github) -> None:
    # GIVEN an access file of ~1,500 people: 1.5 MB, past the contents API's 1 MB
    people = "".join(
        f"  person{n:05d}@example.com:\n    grants:\n"
        + "      - {database: orders, access: read-only, reason: padding to a megabyte...}\n" * 10
        for n in range(1_500)
    )
    big = "version: 1\npeople:\n" + people
    assert len(big.encode()) > 2**20
    fake.commit_file(REPO, "main", "access.yaml", big)

    # WHEN the bot reads it
    current = github.read_file(gh, REPO, "access.yaml")

    # THEN it has every byte, and the sha an update must name
    assert current.text == big
    assert current.sha == blob_sha(big.encode())
    assert fake.steps_called()[-2:] == ["get_contents", "get_blob"]
    opened = open_request(gh, new_text=big + "# edited\n", reviewers=(), labels=())
    assert fake.file_text(REPO, BRANCH, "access.yaml") == big + "# edited\n"
    assert opened.number == 1


def test_a_file_over_githubs_limit_is_refused_as_too_large_not_as_a_permission(
    fake: FakeGitHub, gh: Github
) -> None:
    fake.blob_max_bytes = 2**20 + 10  # GitHub's is 100 MB: lowered, so no such file is held
    fake.commit_file(REPO, "main", "access.yaml", "#" * (2**20 + 11))

    with pytest.raises(GitHubRejected, match="over GitHub's API limit of 100 MB") as raised:
        github.read_file(gh, REPO, "access.yaml")

    assert "too_large" in str(raised.value)
    assert not isinstance(raised.value, GitHubPermissionError)


# ---------------------------------------------------------------------- states (polling)


def test_pull_request_status_follows_merge_and_close(fake: FakeGitHub, gh: Github) -> None:
    merged = open_request(gh)
    status = github.pull_request_status(gh, REPO, merged.number)
    assert status == github.PullRequestStatus(PullRequestState.OPEN, merged.head_sha)

    fake.merge(REPO, merged.number)
    assert github.pull_request_status(gh, REPO, merged.number).state is PullRequestState.MERGED
    assert fake.file_text(REPO, "main", "access.yaml") == EDITED

    declined = open_request(gh, branch=BRANCH + "-again", new_text=EDITED + "# more\n")
    fake.close(REPO, declined.number)
    assert github.pull_request_status(gh, REPO, declined.number).state is PullRequestState.CLOSED


def test_the_state_of_an_unknown_pull_request_is_not_found(gh: Github) -> None:
    with pytest.raises(GitHubNotFound, match="pull request #99"):
        github.pull_request_status(gh, REPO, 99)


# ---------------------------------------------------------------------- failures

STEPS_BEFORE_THE_BRANCH = ["mint_token", "get_repo", "get_ref", "create_ref"]
STEPS_AFTER_THE_BRANCH = ["put_contents", "create_pull", "request_reviewers", "add_labels"]


@pytest.mark.parametrize("step", STEPS_BEFORE_THE_BRANCH + STEPS_AFTER_THE_BRANCH)
def test_github_failing_at_any_step_leaves_nothing_half_made(
    fake: FakeGitHub, gh: Github, step: str
) -> None:
    current = github.read_file(gh, REPO, "access.yaml")
    # A fresh client, so minting its token is a step of opening the request too.
    gh = github.connect(credentials(fake), retries=1, paced=False)
    fake.fail(step, 503)

    with pytest.raises(GitHubUnavailable, match="try again in a few minutes"):
        open_request(gh, file_sha=current.sha)

    nothing_half_made(fake)
    # A branch made before the failure was deleted again, not never made.
    assert ("delete_ref" in fake.steps_called()) == (step in STEPS_AFTER_THE_BRANCH)


@pytest.mark.parametrize("step", STEPS_BEFORE_THE_BRANCH[1:] + STEPS_AFTER_THE_BRANCH)
def test_a_missing_permission_at_any_step_names_the_permissions_and_leaves_nothing(
    fake: FakeGitHub, gh: Github, step: str
) -> None:
    current = github.read_file(gh, REPO, "access.yaml")
    fake.fail(step, 403)

    with pytest.raises(GitHubPermissionError) as refused:
        open_request(gh, file_sha=current.sha)

    message = str(refused.value)
    assert "Resource not accessible by integration" in message
    assert "Contents: read and write, Pull requests: read and write" in message
    nothing_half_made(fake)


def test_permissions_are_those_the_readme_names(fake: FakeGitHub) -> None:
    # GIVEN an app granted only read access to pull requests
    fake.permissions["pull_requests"] = "read"
    gh = github.connect(credentials(fake), retries=0, paced=False)

    # THEN it reads but cannot open a request, and the branch it made is gone again
    with pytest.raises(GitHubPermissionError, match="opening the pull request"):
        open_request(gh)
    nothing_half_made(fake)


@pytest.mark.parametrize("step", STEPS_BEFORE_THE_BRANCH)
def test_github_going_down_before_the_branch_exists_leaves_nothing(
    fake: FakeGitHub, step: str
) -> None:
    gh = github.connect(credentials(fake), retries=1, paced=False)
    current_sha = blob_sha(ACCESS.encode())
    fake.go_down_at(step)

    with pytest.raises(GitHubUnavailable, match="could not be reached") as failed:
        open_request_without_reading(gh, current_sha)

    assert "by hand" not in str(failed.value)
    nothing_half_made(fake)


@pytest.mark.parametrize("step", STEPS_AFTER_THE_BRANCH)
def test_github_going_down_after_the_branch_exists_says_what_is_left(
    fake: FakeGitHub, gh: Github, step: str
) -> None:
    # Cleaning up needs GitHub too: the person is told exactly what to remove.
    current = github.read_file(gh, REPO, "access.yaml")
    fake.go_down_at(step)

    with pytest.raises(GitHubUnavailable) as failed:
        open_request(gh, file_sha=current.sha)

    message = str(failed.value)
    assert message.startswith("GitHub could not be reached while ")
    assert f"the branch {BRANCH} in {REPO} by hand" in message
    if step in ("request_reviewers", "add_labels"):
        assert "the pull request #1 and the branch" in message


def test_when_closing_the_pull_request_fails_deleting_its_branch_still_closes_it(
    fake: FakeGitHub, gh: Github
) -> None:
    fake.fail("add_labels", 503)
    fake.fail("update_pull", 503)

    with pytest.raises(GitHubUnavailable) as failed:
        open_request(gh)

    assert "by hand" not in str(failed.value)
    nothing_half_made(fake)


def open_request_without_reading(gh: Github, file_sha: str) -> github.PullRequestRef:
    return github.open_access_request(
        gh,
        REPO,
        path="access.yaml",
        new_text=EDITED,
        file_sha=file_sha,
        branch=BRANCH,
        title="t",
        body="b",
    )


def test_github_entirely_down_is_unavailable(fake: FakeGitHub, gh: Github) -> None:
    fake.stop()

    with pytest.raises(GitHubUnavailable, match=r"reading access\.yaml in example-org/access"):
        github.read_file(gh, REPO, "access.yaml")


def test_a_transient_server_error_on_a_read_is_retried(fake: FakeGitHub, gh: Github) -> None:
    fake.fail("get_ref", 502, times=1)

    open_request(gh)

    assert fake.steps_called().count("get_ref") == 2
    assert fake.pulls(REPO)[0].state == "open"


@pytest.mark.parametrize("step", ["get_ref", "create_pull"])
def test_an_exhausted_rate_limit_is_reported_without_waiting_for_the_reset(
    fake: FakeGitHub, gh: Github, step: str
) -> None:
    # The reset is an hour away: the bot must not hold the person's request that long, so
    # the refused call is not retried after a wait, and the person hears why.
    fake.rate_limit(step)

    with pytest.raises(GitHubUnavailable, match="rate limit stopped"):
        open_request(gh)

    assert fake.steps_called().count(step) == 1
    nothing_half_made(fake)


def test_a_failed_post_is_not_retried(fake: FakeGitHub, gh: Github) -> None:
    # A retried POST could open a second pull request.
    fake.fail("create_pull", 502, times=1)

    with pytest.raises(GitHubUnavailable):
        open_request(gh)

    assert fake.steps_called().count("create_pull") == 1
    nothing_half_made(fake)


def test_an_edit_made_on_a_stale_read_is_refused(fake: FakeGitHub, gh: Github) -> None:
    # GIVEN the file read, then changed on main by someone else
    stale = github.read_file(gh, REPO, "access.yaml")
    fake.commit_file(REPO, "main", "access.yaml", ACCESS + "# reviewed change\n")

    # THEN the request does not silently undo that change
    with pytest.raises(FileChanged, match="read it again"):
        open_request(gh, file_sha=stale.sha)
    assert fake.branch_names(REPO) == {"main"}
    assert fake.pulls(REPO) == []


def test_a_reviewer_who_is_not_a_collaborator_is_refused_with_githubs_reason(
    fake: FakeGitHub, gh: Github
) -> None:
    with pytest.raises(GitHubRejected, match="may only be requested from collaborators"):
        open_request(gh, reviewers=["@stranger"])

    nothing_half_made(fake)


def test_team_reviewers_need_the_members_permission(fake: FakeGitHub) -> None:
    del fake.permissions["members"]
    gh = github.connect(credentials(fake), retries=0, paced=False)

    with pytest.raises(GitHubRejected, match="Could not resolve to a node"):
        open_request(gh, reviewers=["@example-org/dba"])
    nothing_half_made(fake)
    # People as reviewers work without it.
    open_request(gh, reviewers=["@hugo"])
    assert fake.pulls(REPO)[-1].reviewers == ["hugo"]


def test_a_team_of_another_organization_is_refused_before_anything_is_sent(
    fake: FakeGitHub, gh: Github
) -> None:
    current = github.read_file(gh, REPO, "access.yaml")
    calls_before = len(fake.calls)

    with pytest.raises(InvalidRequest, match="not a team of example-org"):
        github.open_access_request(
            gh,
            REPO,
            path="access.yaml",
            new_text=EDITED,
            file_sha=current.sha,
            branch=BRANCH,
            title="t",
            body="b",
            reviewers=["@other-org/dba"],
        )

    assert len(fake.calls) == calls_before


def test_split_reviewers_turns_owners_into_logins_and_team_slugs() -> None:
    assert github.split_reviewers("Example-Org", ["@hugo", "@example-org/dba", "olivia"]) == (
        ["hugo", "olivia"],
        ["dba"],
    )


# ---------------------------------------------------------------------- credentials and tokens


def test_the_installation_token_is_refreshed_before_it_expires(fake: FakeGitHub) -> None:
    # GIVEN tokens that live two seconds longer than PyGithub's refresh margin (GitHub's
    # expires_at is in whole seconds, so the client sees between one and two)
    fake.token_lifetime = Auth.TOKEN_REFRESH_THRESHOLD_TIMEDELTA.total_seconds() + 2
    gh = github.connect(credentials(fake), retries=0, paced=False)
    github.read_file(gh, REPO, "access.yaml")
    assert len(fake.tokens_minted) == 1

    # WHEN the token enters its last seconds
    time.sleep(2.1)

    # THEN the next call mints a new token first, and uses only that one
    github.read_file(gh, REPO, "access.yaml")
    assert len(fake.tokens_minted) == 2
    assert fake.steps_called()[-3:] == ["mint_token", "get_repo", "get_contents"]


def test_a_revoked_token_is_an_auth_error(fake: FakeGitHub, gh: Github) -> None:
    github.read_file(gh, REPO, "access.yaml")
    fake.revoke_tokens()

    with pytest.raises(GitHubAuthError, match=r"Bad credentials.*installation id"):
        github.read_file(gh, REPO, "access.yaml")


def test_a_key_that_is_not_the_apps_is_refused(fake: FakeGitHub) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    gh = github.connect(
        GitHubAppCredentials(fake.app_id, fake.installation_id, pem, fake.url),
        retries=0,
        paced=False,
    )

    with pytest.raises(GitHubAuthError, match="JSON web token could not be decoded"):
        github.read_file(gh, REPO, "access.yaml")
    assert fake.tokens_minted == []


def test_a_wrong_installation_id_is_not_found(fake: FakeGitHub) -> None:
    wrong = GitHubAppCredentials(fake.app_id, 1, fake.private_key_pem, fake.url)
    gh = github.connect(wrong, retries=0, paced=False)

    with pytest.raises(GitHubNotFound, match="installed"):
        github.read_file(gh, REPO, "access.yaml")


def test_a_malformed_private_key_is_refused_at_connect() -> None:
    for bad in ("not a key", ec_key_pem()):
        with pytest.raises(GitHubAuthError, match="private key"):
            github.connect(GitHubAppCredentials(1, 2, bad))


def ec_key_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize("app_id", [0, -1, "123", 1.5, True])
def test_ids_that_are_not_positive_whole_numbers_are_refused(
    fake: FakeGitHub, app_id: object
) -> None:
    with pytest.raises(InvalidRequest, match="app_id must be a positive whole number"):
        GitHubAppCredentials(app_id, fake.installation_id, fake.private_key_pem, fake.url)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="installation_id must be a positive whole number"):
        GitHubAppCredentials(fake.app_id, app_id, fake.private_key_pem, fake.url)  # type: ignore[arg-type]


@pytest.mark.parametrize("repo", ["access", "example-org/", "/access", "a/b/c", "a b/c"])
def test_a_repository_not_written_owner_slash_name_is_refused_before_anything_is_sent(
    fake: FakeGitHub, gh: Github, repo: str
) -> None:
    with pytest.raises(InvalidRequest, match="owner/name"):
        github.read_file(gh, repo, "access.yaml")
    with pytest.raises(InvalidRequest, match="owner/name"):
        github.find_open_request(gh, repo, BRANCH)
    with pytest.raises(InvalidRequest, match="owner/name"):
        github.pull_request_status(gh, repo, 1)

    assert fake.calls == []


def test_the_private_key_is_not_in_the_credentials_repr(fake: FakeGitHub) -> None:
    assert "PRIVATE KEY" not in repr(credentials(fake))


def test_no_token_reaches_the_logs_or_the_errors_even_at_debug(
    fake: FakeGitHub, gh: Github, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN PyGithub logging at DEBUG, which prints response bodies (the minted token's too)
    github_logger = logging.getLogger("github")
    level = github_logger.level
    github_logger.setLevel(logging.DEBUG)
    errors: list[GitHubError] = []
    try:
        with caplog.at_level(logging.DEBUG):
            # WHEN requests succeed and fail
            open_request(gh)
            fake.fail("get_pull", 403)
            with pytest.raises(GitHubError) as failed:
                github.pull_request_status(gh, REPO, 1)
            errors.append(failed.value)
    finally:
        github_logger.setLevel(level)

    # THEN the token-minting response was logged, but redacted, and no token appears anywhere
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "access_tokens" in logged
    assert "[redacted]" in logged
    for token in fake.tokens_minted:
        assert token not in logged
        assert all(token not in str(error) for error in errors)
