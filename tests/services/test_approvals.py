"""`dbaccess approvals` against the fake GitHub, driven by the real PyGithub: GIVEN a pull request
on access.yaml and its reviews, WHEN the check runs, THEN the verdict per database and exit code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dbaccess.approvals.requester import Requester, requester_record
from dbaccess.cli import app
from tests.fakes.github import BOT_LOGIN, FakeGitHub

REPO = "example-org/access"
# The approvals app: reads, and writes commit statuses; nothing else.
PERMISSIONS = {
    "metadata": "read",
    "contents": "read",
    "pull_requests": "read",
    "members": "read",
    "statuses": "write",
}


def database(key: str, owners: str = "") -> str:
    return (
        f'  {key}:\n    engine: postgres\n    account: "123456789012"\n    region: eu-west-1\n'
        f"    instance: {key}-prod\n    host: {key}.example.com\n    port: 5432\n"
        f"    database: {key}\n    admin_login: dbaccess_admin\n"
        + (f"    owners: {owners}\n" if owners else "")
    )


BASE = (
    "version: 1\ndatabases:\n"
    + database("orders", '["@example-org/orders-dba", "@olga"]')
    + database("inventory", '["@ivan"]')
    + database("scratch")
    + "people:\n"
    "  olga@example.com:\n    github: olga\n"
    "  ivan@example.com:\n    github: ivan\n"
    "  ana@example.com:\n    github: ana-lee\n"
    "    grants:\n      - {database: scratch, access: read-only}\n"
)


def granting(text: str, email: str, grants: list[str]) -> str:
    """`text` with `email` (already a person with `github:`) given `grants`."""
    lines = "".join(f"      - {{{g}}}\n" for g in grants)
    entry = f"  {email}:\n"
    start = text.index(entry)
    body_end = text.index("\n", text.index("\n", start) + 1) + 1  # the github: line
    if text[body_end:].startswith("    grants:\n"):
        body_end += len("    grants:\n")
        return text[:body_end] + lines + text[body_end:]
    return text[:body_end] + "    grants:\n" + lines + text[body_end:]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(permissions=PERMISSIONS) as fake:
        fake.add_repo(REPO, {"access.yaml": BASE})
        fake.add_team_member("example-org", "orders-dba", "tariq")
        fake.add_team_member("example-org", "orders-dba", "pam", state="pending")
        yield fake


def propose(github: FakeGitHub, text: str, *, author: str = "bob", body: str = "") -> int:
    """`author` pushes a branch changing access.yaml to `text` and opens a pull request."""
    branch = f"change-{len(github.pulls(REPO)) + 1}"
    repo = github.repos[REPO.lower()]
    repo.branches[branch] = repo.branches["main"]
    github.commit_file(REPO, branch, "access.yaml", text)
    return github.open_pull(REPO, branch, author=author, body=body)


def run(github: FakeGitHub, number: int, *args: str) -> Result:
    return CliRunner().invoke(
        app,
        ["approvals", "--pr", str(number), *args],
        env={
            "GITHUB_TOKEN": github.installation_token(),
            "GITHUB_REPOSITORY": REPO,
            "DBACCESS_GITHUB_API_URL": github.url,
        },
    )


def check(github: FakeGitHub, number: int, *args: str) -> tuple[Result, dict[str, Any]]:
    result = run(github, number, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result, json.loads(result.stdout)


def verdicts(report: dict[str, Any]) -> dict[str, tuple[bool, list[str]]]:
    return {d["database"]: (d["passed"], d["approved_by"]) for d in report["databases"]}


def not_counted(report: dict[str, Any], key: str) -> list[tuple[str, str]]:
    [found] = [d for d in report["databases"] if d["database"] == key]
    return [(n["login"], n["why"]) for n in found["not_counted"]]


def test_an_owner_approves_the_head_commit_green(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    github.review(REPO, number, "olga", "APPROVED")

    result, report = check(github, number)

    assert result.exit_code == 0
    assert verdicts(report) == {"orders": (True, ["olga"])}
    assert report["databases"][0]["gaining"] == ["ana@example.com"]


def test_without_an_approval_red_and_says_what_is_missing(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    head = github.head_sha(REPO, number)

    result, report = check(github, number)

    assert result.exit_code == 1
    [orders] = report["databases"]
    assert orders["missing"] == (
        f"an approval of {head[:7]} by an owner (@example-org/orders-dba, @olga) who does not "
        "gain access"
    )


def test_a_beneficiary_who_is_an_owner_approves_red(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "olga@example.com", ["database: orders, access: read-write"])
    )
    github.review(REPO, number, "Olga", "APPROVED")  # logins compare case-insensitively

    result, report = check(github, number)

    assert result.exit_code == 1
    assert verdicts(report) == {"orders": (False, [])}
    assert not_counted(report, "orders") == [("Olga", "gains access")]


def test_an_approval_before_a_new_push_red_until_approved_again(github: FakeGitHub) -> None:
    text = granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    number = propose(github, text)
    github.review(REPO, number, "olga", "APPROVED")
    branch = github.pulls(REPO)[-1].head
    github.commit_file(REPO, branch, "access.yaml", text.replace("read-only}", "read-write}"))

    assert check(github, number)[0].exit_code == 1

    github.review(REPO, number, "olga", "APPROVED")
    assert check(github, number)[0].exit_code == 0


def test_a_team_owner_is_resolved_through_team_membership(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    github.review(REPO, number, "zed", "APPROVED")  # not in the team
    github.review(REPO, number, "pam", "APPROVED")  # invited, not yet a member

    result, report = check(github, number)
    assert result.exit_code == 1
    assert not_counted(report, "orders") == [("zed", "not an owner"), ("pam", "not an owner")]

    github.review(REPO, number, "tariq", "APPROVED")  # an active member of orders-dba
    result, report = check(github, number)
    assert result.exit_code == 0
    assert verdicts(report) == {"orders": (True, ["tariq"])}
    assert "GET /orgs/example-org/teams/orders-dba/memberships/tariq" in [
        f"{c.method} {c.path}" for c in github.calls
    ]


def test_a_database_without_owners_falls_back_to_the_repository_rule(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ivan@example.com", ["database: scratch, access: read-write"])
    )
    github.review(REPO, number, "ivan", "APPROVED")  # gains access: not counted even here

    result, report = check(github, number)
    assert result.exit_code == 1
    [scratch] = report["databases"]
    assert scratch["fallback"] is True
    assert scratch["missing"].endswith("by someone with write access who does not gain access")

    github.review(REPO, number, "zed", "APPROVED")
    result, report = check(github, number)
    assert result.exit_code == 0
    text = run(github, number)
    assert "✓ scratch  approved by @zed; no owners: the repository's rule applies" in text.stdout


def test_a_change_to_two_databases_needs_an_owner_of_each(github: FakeGitHub) -> None:
    text = granting(
        BASE,
        "ana@example.com",
        ["database: orders, access: read-only", "database: inventory, access: read-only"],
    )
    number = propose(github, text)
    github.review(REPO, number, "olga", "APPROVED")

    result, report = check(github, number)
    assert result.exit_code == 1
    assert verdicts(report) == {"inventory": (False, []), "orders": (True, ["olga"])}

    github.review(REPO, number, "ivan", "APPROVED")
    assert check(github, number)[0].exit_code == 0


def test_a_dismissed_approval_does_not_count(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    review = github.review(REPO, number, "olga", "APPROVED")
    github.dismiss(REPO, number, review)

    assert check(github, number)[0].exit_code == 1


def test_changes_requested_after_an_approval_by_the_same_owner_is_not_approved(
    github: FakeGitHub,
) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    github.review(REPO, number, "olga", "APPROVED")
    github.review(REPO, number, "olga", "COMMENTED")  # a comment leaves the approval standing
    assert check(github, number)[0].exit_code == 0

    github.review(REPO, number, "olga", "CHANGES_REQUESTED")
    assert check(github, number)[0].exit_code == 1


def test_a_pull_request_cannot_appoint_its_own_owner(github: FakeGitHub) -> None:
    text = granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    number = propose(github, text.replace('"@olga"]', '"@olga", "@mallory"]'), author="mallory")
    github.review(REPO, number, "mallory", "APPROVED")  # GitHub forbids it; the check too
    github.review(REPO, number, "mal2", "APPROVED")

    result, report = check(github, number)

    assert result.exit_code == 1
    assert not_counted(report, "orders") == [
        ("mallory", "the pull request's author"),
        ("mal2", "not an owner"),
    ]


def test_the_bot_s_recorded_requester_and_undeclared_people(github: FakeGitHub) -> None:
    # bea has no `github:`: the check cannot tell whether an undeclared approver is her.
    text = BASE + "  bea@example.com:\n    grants:\n      - {database: orders, access: read-only}\n"
    body = requester_record(Requester("bea@example.com", None)) + "\nbea asks for read-only"
    number = propose(github, text, author=BOT_LOGIN, body=body)
    github.review(REPO, number, "tariq", "APPROVED")  # a team owner whom access.yaml does not name

    result, report = check(github, number)
    assert result.exit_code == 1
    assert not_counted(report, "orders") == [
        (
            "tariq",
            "cannot tell whether they gain access: no `github:` on the base branch for bea@example.com",
        )
    ]

    github.review(REPO, number, "olga", "APPROVED")  # declared for olga@, who gains nothing
    assert check(github, number)[0].exit_code == 0


def test_set_status_marks_the_head_commit_pending_then_the_verdict(github: FakeGitHub) -> None:
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    head = github.head_sha(REPO, number)

    check(github, number, "--set-status", "--details-url", "https://ci.example/run/1")
    github.review(REPO, number, "olga", "APPROVED")
    check(github, number, "--set-status")

    states = [(s["context"], s["state"]) for s in github.statuses(REPO, head)]
    assert states == [
        ("dbaccess/approvals", "pending"),
        ("dbaccess/approvals", "failure"),
        ("dbaccess/approvals", "pending"),
        ("dbaccess/approvals", "success"),
    ]
    assert github.statuses(REPO, head)[1]["description"] == "Owner approval missing: orders"
    assert github.statuses(REPO, head)[1]["target_url"] == "https://ci.example/run/1"


def test_without_members_read_a_team_owner_cannot_be_resolved_and_it_says_so(
    github: FakeGitHub,
) -> None:
    github.permissions.pop("members")
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )
    github.review(REPO, number, "tariq", "APPROVED")

    result = run(github, number)

    assert result.exit_code == 1
    assert "organization permission Members: read" in result.stderr
    assert "Traceback" not in result.output


def test_a_token_that_may_not_set_statuses_is_told_what_the_check_needs(
    github: FakeGitHub,
) -> None:
    github.permissions["statuses"] = "read"
    number = propose(
        github, granting(BASE, "ana@example.com", ["database: orders, access: read-only"])
    )

    result = run(github, number, "--set-status")

    assert result.exit_code == 1
    assert (
        "the check's token needs Contents: read, Pull requests: read, Commit statuses: read "
        in (result.stderr)
    )
    assert github.statuses(REPO, github.head_sha(REPO, number)) == []


def test_an_invalid_head_file_is_exit_2_with_its_place(github: FakeGitHub) -> None:
    number = propose(github, BASE.replace("github: olga", "github: '@olga'"))

    result = run(github, number)

    assert result.exit_code == 2
    assert "github '@olga' is not a GitHub login" in result.stderr


def test_a_change_that_touches_no_database_passes(github: FakeGitHub) -> None:
    number = propose(github, BASE + "# a comment\n")

    result, report = check(github, number)

    assert result.exit_code == 0
    assert report["summary"] == "No database's access changes"
