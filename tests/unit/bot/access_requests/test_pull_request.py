"""The pull request a Slack access request becomes: branch name, title, body, labels."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbaccess import person_text
from dbaccess.bot.access_requests import pull_request
from dbaccess.bot.access_requests.pull_request import RequestedGrant

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
    name = pull_request.branch_name("Ana.Silva@Example.com", "payments-staging", "read-only")

    assert name.startswith("access-request/ana.silva@example.com/payments-staging-read-only-")
    assert git_accepts_branch(name)


@pytest.mark.parametrize(
    ("email", "readable"),
    [
        ("..dots..@x.com", "access-request/dots.@x.com/orders-read-only-"),
        ("we ird{}~^:?*[\\@x.lock", "access-request/we-ird-@x-lock/orders-read-only-"),
        ("@{", "access-request/@/orders-read-only-"),
        ("", "access-request/x/orders-read-only-"),
    ],
)
def test_characters_git_refuses_are_replaced(email: str, readable: str) -> None:
    name = pull_request.branch_name(email, "orders", "read-only")

    assert name.startswith(readable)
    assert git_accepts_branch(name)


def test_emails_that_read_alike_get_branches_of_their_own() -> None:
    # All three read "a-b@x.com" in a branch name; each person asks on a branch of their own.
    names = {
        pull_request.branch_name(e, "orders", "read-only")
        for e in ("a-b@x.com", "a=b@x.com", "a,b@x.com")
    }

    assert len(names) == 3
    assert all(n.startswith("access-request/a-b@x.com/orders-read-only-") for n in names)


def test_the_same_request_always_gets_the_same_branch() -> None:
    assert pull_request.branch_name("a@x.com", "orders", "read-only") == pull_request.branch_name(
        "a@x.com", "orders", "read-only"
    )
    assert pull_request.branch_name("a@x.com", "orders", "read-only") != pull_request.branch_name(
        "a@x.com", "orders", "read-write"
    )


@settings(max_examples=60, deadline=None)
@given(email=st.text(max_size=30), database=st.text(max_size=20), access=st.text(max_size=12))
def test_any_input_gives_a_branch_git_accepts(email: str, database: str, access: str) -> None:
    name = pull_request.branch_name(email, database, access)

    assert name.startswith("access-request/")
    assert name.count("/") == 2
    assert git_accepts_branch(name), name


def test_title_and_labels() -> None:
    assert pull_request.title(GRANT) == "Grant ana.silva@example.com read-write on orders"
    assert pull_request.labels(production=True) == ("access-request", "production")
    assert pull_request.labels(production=False) == ("access-request",)


def test_the_body_says_who_what_until_why_the_diff_and_that_it_came_from_slack() -> None:
    text = pull_request.body(GRANT, DIFF)

    assert "| Requested by | ana.silva@example.com |" in text
    assert "| Database | `orders` |" in text
    assert "| Access | read-write |" in text
    assert "| Until | 2026-12-31 (the last day of access) |" in text
    assert "| Reason | INC-1234 backfill |" in text
    assert DIFF.rstrip() in text
    assert "Requested from Slack" in text


def test_the_body_without_until_or_reason() -> None:
    text = pull_request.body(RequestedGrant("a@x.com", "orders", "read-only", None, None), DIFF)

    assert "| Until | no end date |" in text
    assert "| Reason | (none given) |" in text


def test_a_reason_cannot_ping_people_break_the_table_or_format_the_page() -> None:
    reason = "ping @example-org/everyone | <img src=x> **now**\nsecond line"

    text = pull_request.body(RequestedGrant("a@x.com", "orders", "read-only", None, reason), DIFF)

    [row] = [line for line in text.splitlines() if line.startswith("| Reason |")]
    assert row == (
        r"| Reason | ping @<!-- -->example-org/everyone \| &lt;img src=x&gt; \*\*now\*\* second line |"
    )


def test_the_issue_example_is_shown_as_typed_in_the_body() -> None:
    reason = "@org/security-team LGTM [approved by DBA](https://evil.example/) <!--"

    text = pull_request.body(RequestedGrant("a@x.com", "orders", "read-only", None, reason), DIFF)

    assert f"| Reason | {person_text.markdown(reason)} |" in text
    assert "<!--" not in text.replace("<!-- -->", "")
    assert r"[approved by DBA\](https:" in text  # an escaped bracket: no link


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("x" * 100_000, "is 100,000 characters long; at most 500 are allowed"),
        ("INC-1 \u202eevil", "contains the invisible or control character U+202E"),
    ],
)
def test_a_request_with_a_reason_that_is_not_acceptable_cannot_be_built(
    reason: str, why: str
) -> None:
    with pytest.raises(ValueError, match=f"^the reason {re.escape(why)}"):
        RequestedGrant("a@x.com", "orders", "read-only", None, reason)
