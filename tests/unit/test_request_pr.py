"""The pull request a Slack access request becomes: branch name, title, body, labels."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbaccess import request_pr
from dbaccess.request_pr import RequestedGrant

GRANT = RequestedGrant(
    email="ana.silva@example.com",
    database="orders",
    access="read-write",
    until=date(2026, 12, 31),
    reason="INC-1234 backfill",
)
DIFF = "### Access changes\n\n**1 grant added**\n"


def git_accepts_branch(name: str) -> bool:
    """git itself is the judge of its ref rules."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: apt-get install git")
    return (
        subprocess.run([git, "check-ref-format", "--branch", name], capture_output=True).returncode
        == 0
    )


def test_the_branch_names_person_database_and_access() -> None:
    name = request_pr.branch_name("Ana.Silva@Example.com", "payments-staging", "read-only")

    assert name == "access-request/ana.silva@example.com/payments-staging-read-only"
    assert git_accepts_branch(name)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("..dots..@x.com", "access-request/dots.@x.com/orders-read-only"),
        ("we ird{}~^:?*[\\@x.lock", "access-request/we-ird-@x-lock/orders-read-only"),
        ("@{", "access-request/@/orders-read-only"),
        ("", "access-request/x/orders-read-only"),
    ],
)
def test_characters_git_refuses_are_replaced(email: str, expected: str) -> None:
    name = request_pr.branch_name(email, "orders", "read-only")

    assert name == expected
    assert git_accepts_branch(name)


@settings(max_examples=60, deadline=None)
@given(email=st.text(max_size=30), database=st.text(max_size=20), access=st.text(max_size=12))
def test_any_input_gives_a_branch_git_accepts(email: str, database: str, access: str) -> None:
    name = request_pr.branch_name(email, database, access)

    assert name.startswith("access-request/")
    assert name.count("/") == 2
    assert git_accepts_branch(name), name


def test_title_and_labels() -> None:
    assert request_pr.title(GRANT) == "Grant ana.silva@example.com read-write on orders"
    assert request_pr.labels(production=True) == ("access-request", "production")
    assert request_pr.labels(production=False) == ("access-request",)


def test_the_body_says_who_what_until_why_the_diff_and_that_it_came_from_slack() -> None:
    text = request_pr.body(GRANT, DIFF)

    assert "| Requested by | ana.silva&#64;example.com |" in text
    assert "| Database | `orders` |" in text
    assert "| Access | read-write |" in text
    assert "| Until | 2026-12-31 (the last day of access) |" in text
    assert "| Reason | INC-1234 backfill |" in text
    assert DIFF.rstrip() in text
    assert "Requested from Slack" in text


def test_the_body_without_until_or_reason() -> None:
    text = request_pr.body(RequestedGrant("a@x.com", "orders", "read-only", None, None), DIFF)

    assert "| Until | no end date |" in text
    assert "| Reason | (none given) |" in text


def test_a_reason_cannot_ping_people_break_the_table_or_format_the_page() -> None:
    reason = "ping @example-org/everyone | <img src=x> **now**\nsecond line"

    text = request_pr.body(RequestedGrant("a@x.com", "orders", "read-only", None, reason), DIFF)

    [row] = [line for line in text.splitlines() if line.startswith("| Reason |")]
    assert "@" not in row
    assert row == (
        r"| Reason | ping &#64;example-org/everyone \| \<img src=x\> \*\*now\*\* second line |"
    )
