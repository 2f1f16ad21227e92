"""Auto-merge against the fake GitHub through PyGithub: the bot merges its own access-request
pull request only when the owner-approval status and every check on its head are green.

GIVEN a request the real flow opened (the repository's own access.yaml, DynamoDB in moto),
WHEN checks report and the poller looks, THEN what GitHub holds and what the requester is told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from dbaccess.approvals.rules import STATUS_CONTEXT
from dbaccess.bot.access_requests.flow import AccessFile, Decision, RequestFlow
from dbaccess.bot.access_requests.ledger import RequestLedger
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.bot.auto_merge import AutoMerge
from dbaccess.clients import github
from tests.fakes.github import DEFAULT_PERMISSIONS, FakeGitHub, Pull
from tests.services.issuer_world import REGION, ROOT, TABLE, create_table

REPO = "example-org/access"
ACCESS_YAML = (ROOT / "access.yaml").read_text()
FATIMA = "fatima.zahra@example.com"
GRANT = RequestedGrant(FATIMA, "inventory", "read-only", None, None)
# What docs/how-to/auto-merge.md asks the bot's app for on top of the request permissions.
PERMISSIONS = DEFAULT_PERMISSIONS | {"checks": "read", "statuses": "read"}
ON = AutoMerge()  # the repository's merge method


@dataclass
class MergeWorld:
    github: FakeGitHub
    ledger: RequestLedger
    dynamodb: object

    def flow(self, auto_merge: AutoMerge | None = ON) -> RequestFlow:
        app = github.GitHubAppCredentials(
            self.github.app_id, self.github.installation_id, self.github.private_key_pem,
            self.github.url,
        )  # fmt: skip
        gh = github.connect(app, paced=False)
        return RequestFlow(gh, AccessFile(REPO, "access.yaml"), self.ledger, "C0HELP",
                           auto_merge=auto_merge)  # fmt: skip

    def request(self) -> Pull:
        told = self.flow().submit(GRANT, "U0FATIMA", dt.datetime.now(dt.UTC).date())
        assert "is open for review" in told
        (pull,) = self.github.pulls(REPO)
        return pull

    def green(self, pull: Pull, *, approval: str = "success", preview: str = "success") -> None:
        """The approvals app's status and the preview workflow's check run on the head."""
        head = self.github.head_sha(REPO, pull.number)
        self.github.set_status(REPO, head, STATUS_CONTEXT, approval)
        status = "in_progress" if preview == "pending" else "completed"
        self.github.add_check_run(REPO, head, "preview", status, preview)

    def merges(self) -> int:
        return [c.step for c in self.github.calls if c.status == 200].count("merge_pull")


@pytest.fixture
def mw(monkeypatch: pytest.MonkeyPatch) -> Iterator[MergeWorld]:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws(), FakeGitHub(permissions=PERMISSIONS) as github:
        repo = github.add_repo(REPO, {"access.yaml": ACCESS_YAML})
        repo.required_checks = {STATUS_CONTEXT, "preview"}  # branch protection
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb)
        yield MergeWorld(github, RequestLedger(dynamodb, TABLE), dynamodb)


def texts(decisions: list[Decision]) -> list[str]:
    return [d.text for d in decisions]


def test_an_approved_green_request_is_merged_once_and_announced(mw: MergeWorld) -> None:
    pull = mw.request()
    flow = mw.flow()
    assert flow.poll() == []  # nothing reported yet
    mw.green(pull, approval="pending")
    assert flow.poll() == []  # checks green, owners not yet

    mw.green(pull)
    (decision,) = flow.poll()

    assert "was approved" in decision.text
    assert pull.merged
    assert "{database: inventory, access: read-only}" in (
        mw.github.file_text(REPO, "main", "access.yaml") or ""
    )
    assert mw.merges() == 1
    assert flow.poll() == []  # decided once, merged once
    assert mw.merges() == 1


@pytest.mark.parametrize(
    ("approval", "preview"),
    [
        pytest.param("success", "failure", id="a-check-failed"),
        pytest.param("success", "pending", id="a-check-is-running"),
        pytest.param("failure", "success", id="owners-have-not-approved"),
    ],
)
def test_nothing_is_merged_while_a_check_fails_or_is_pending(
    mw: MergeWorld, approval: str, preview: str
) -> None:
    pull = mw.request()
    mw.green(pull, approval=approval, preview=preview)
    # A check that is not required still counts: the bot merges only an all-green head.
    mw.github.add_check_run(REPO, mw.github.head_sha(REPO, pull.number), "lint", "completed")

    assert mw.flow().poll() == []

    assert not pull.merged
    assert "merge_pull" not in mw.github.steps_called()


def test_a_failing_optional_check_blocks_too(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.green(pull)
    mw.github.add_check_run(
        REPO, mw.github.head_sha(REPO, pull.number), "docs", "completed", "failure"
    )

    assert mw.flow().poll() == []
    assert not pull.merged


def test_off_by_default_nothing_is_merged(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.green(pull)

    assert mw.flow(auto_merge=None).poll() == []

    assert not pull.merged
    assert not {"merge_pull", "list_check_runs"} & set(mw.github.steps_called())


def test_a_head_someone_pushed_to_is_left_to_a_person_and_told_once(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.github.commit_file(REPO, pull.head, "README.md", "not the bot's change\n")
    mw.green(pull)  # on the new head
    flow = mw.flow()

    (told,) = flow.poll()
    assert flow.poll() == []  # told once

    assert "will not be merged automatically" in told.text
    assert "commits were added to it after the bot opened it" in told.text
    assert not pull.merged
    assert "merge_pull" not in mw.github.steps_called()
    mw.github.merge(REPO, pull.number)  # an owner merges it by hand
    assert "was approved" in texts(flow.poll())[0]


def test_a_request_behind_a_strict_base_is_left_to_a_person(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.github.repos[REPO].strict = True  # "Require branches to be up to date before merging"
    mw.github.commit_file(REPO, "main", "README.md", "another change merged first\n")
    mw.green(pull)

    (told,) = mw.flow().poll()

    assert "the base branch moved on" in told.text
    assert not pull.merged
    assert "merge_pull" not in mw.github.steps_called()


def test_github_failing_at_the_merge_leaves_it_for_the_next_poll(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.green(pull)
    mw.github.fail("merge_pull", 503, times=3)  # the client's 2 retries included
    flow = mw.flow()

    assert flow.poll() == []  # GitHub is down: nobody is told anything
    assert not pull.merged
    assert [r.number for r in mw.ledger.watched()] == [pull.number]  # still watched

    (decision,) = flow.poll()
    assert "was approved" in decision.text
    assert mw.merges() == 1


def test_a_merge_github_refuses_is_reported_once_not_retried(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.github.repos[REPO].merge_methods = ("squash",)  # no merge commits here
    mw.green(pull)
    flow = mw.flow(AutoMerge("merge"))

    (told,) = flow.poll()
    assert flow.poll() == []

    assert "will not be merged automatically" in told.text
    assert "Merge commits are not allowed on this repository" in told.text
    assert mw.github.steps_called().count("merge_pull") == 1  # not asked again
    assert not pull.merged


def test_the_repositorys_method_is_used_when_none_is_set(mw: MergeWorld) -> None:
    pull = mw.request()
    mw.github.repos[REPO].merge_methods = ("squash", "rebase")
    mw.green(pull)

    (decision,) = mw.flow(AutoMerge()).poll()

    assert "was approved" in decision.text
    assert pull.merged


def test_a_request_merged_by_another_replica_meanwhile_is_not_merged_again(
    mw: MergeWorld,
) -> None:
    pull = mw.request()
    mw.green(pull)
    first, second = mw.flow(), mw.flow()

    assert "was approved" in first.poll()[0].text
    assert second.poll() == []  # the other replica had claimed it

    assert mw.merges() == 1


def test_without_the_checks_permission_it_waits_and_says_nothing(
    mw: MergeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    pull = mw.request()
    mw.green(pull)
    mw.github.permissions.pop("checks")

    assert mw.flow().poll() == []

    assert not pull.merged
    assert "will retry" in caplog.text
    assert "ghs_" not in caplog.text


def test_a_request_waiting_for_its_owners_costs_a_poll_two_reads(mw: MergeWorld) -> None:
    # The installation's hourly quota is shared by every watched request at every poll.
    pull = mw.request()
    flow = mw.flow()
    flow.poll()  # the token is minted
    before = len(mw.github.calls)

    assert flow.poll() == []

    assert mw.github.steps_called()[before:] == ["get_repo", "get_pull"]
    assert not pull.merged
