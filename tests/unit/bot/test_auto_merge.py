"""When the bot may merge its own request: `decide`, from what GitHub says about the head."""

from __future__ import annotations

import pytest

from dbaccess.approvals.rules import STATUS_CONTEXT
from dbaccess.bot.auto_merge import Step, decide
from dbaccess.clients.github import PullRequestState
from dbaccess.clients.github_merge import Check, MergeFacts, check_run_state

HEAD = "a" * 40


def facts(*checks: Check, head: str = HEAD, state: str = "clean") -> MergeFacts:
    return MergeFacts(7, PullRequestState.OPEN, head, state, checks, ("merge",))


APPROVED = Check(STATUS_CONTEXT, "success")


@pytest.mark.parametrize(
    ("given", "step", "why"),
    [
        (facts(APPROVED, Check("preview", "success")), Step.MERGE, "approved and green"),
        (facts(Check("preview", "success")), Step.WAIT, "owner approval"),
        (facts(Check(STATUS_CONTEXT, "pending")), Step.WAIT, "owner approval"),
        (facts(APPROVED, Check("preview", "failure")), Step.WAIT, "failing: preview"),
        (facts(APPROVED, Check("lint", "pending")), Step.WAIT, "pending: lint"),
        (facts(APPROVED, state="unknown"), Step.WAIT, "GitHub says it is unknown"),
        (facts(APPROVED, state="blocked"), Step.WAIT, "GitHub says it is blocked"),
        (facts(APPROVED, state="behind"), Step.STOP, "base branch moved on"),
        (facts(APPROVED, state="dirty"), Step.STOP, "conflicts"),
        (facts(APPROVED, head="b" * 40), Step.STOP, "commits were added"),
    ],
)
def test_only_the_bots_own_approved_all_green_commit_is_merged(
    given: MergeFacts, step: Step, why: str
) -> None:
    verdict = decide(given, opened_head=HEAD)
    assert verdict.step is step
    assert why in verdict.why


def test_a_request_opened_before_auto_merge_recorded_its_commit_is_left_to_a_person() -> None:
    verdict = decide(facts(APPROVED), opened_head="")
    assert verdict.step is Step.STOP


@pytest.mark.parametrize(
    ("status", "conclusion", "state"),
    [
        ("completed", "success", "success"),
        ("completed", "neutral", "success"),
        ("completed", "skipped", "success"),
        ("completed", "failure", "failure"),
        ("completed", "cancelled", "failure"),
        ("completed", "timed_out", "failure"),
        ("completed", "action_required", "failure"),
        ("in_progress", None, "pending"),
        ("queued", None, "pending"),
    ],
)
def test_check_runs_pass_as_branch_protection_counts_them(
    status: str, conclusion: str | None, state: str
) -> None:
    assert check_run_state(status, conclusion) == state
