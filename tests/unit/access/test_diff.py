"""`dbaccess diff` on crafted pairs of access files: the pure diff, its renderings, the CLI.

Both versions are evaluated on one date (ON below), so a diff shows what an edit changes and
never what the passage of time changes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbaccess import person_text
from dbaccess.access import load_access_text
from dbaccess.access.diff import (
    AccessDiff,
    diff_plans,
    render_json,
    render_markdown,
    render_text,
)

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"
ON = dt.date(2026, 11, 23)
BASE = """\
version: 1
databases:
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders-prod
    host: orders.example.com
    port: 5432
    database: orders
    description: Orders service (primary)
    production: true
    admin_login: dbaccess_admin
  payments-staging:
    engine: aurora-postgresql
    account: "210987654321"
    region: eu-central-1
    cluster: payments-staging
    host: payments.example.com
    port: 5432
    database: payments
    description: Payments (staging)
    admin_login: dbaccess_admin
groups:
  sre:
    members: [hugo.henley@example.com, priya.raman@example.com]
    grants:
      - {database: orders, access: read-only}
people:
  marco.rossi@example.com:
    grants:
      - {database: payments-staging, access: read-write}
  tomas.novak@example.com:
    grants:
      - {database: payments-staging, access: read-only, until: 2026-12-31, reason: audit}
"""


def diff(base: str, head: str, on: dt.date = ON) -> AccessDiff:
    return diff_plans(
        load_access_text(base, "base", today=on), load_access_text(head, "head", today=on)
    )


def changes(result: AccessDiff) -> list[dict[str, str | None]]:
    return json.loads(render_json(result))["changes"]


def test_reordering_comments_and_formatting_only_is_no_access_change() -> None:
    people = BASE.index("people:")
    reordered = (
        "# reviewed by the data team\n"
        + BASE[:people].replace(
            "members: [hugo.henley@example.com, priya.raman@example.com]",
            "members:\n      - priya.raman@example.com\n      - hugo.henley@example.com",
        )
        + "people:\n"
        "  tomas.novak@example.com:   # auditor\n"
        "    grants:\n"
        "      - reason: audit\n"
        "        until: 2026-12-31\n"
        "        access: read-only\n"
        "        database: payments-staging\n"
        "  marco.rossi@example.com:\n"
        "    grants: [{access: read-write, database: payments-staging}]\n"
    )
    result = diff(BASE, reordered)
    assert result.empty
    assert result.summary() == "No access changes"
    assert render_markdown(result) == (
        "### Access changes\n\n**No access changes** (effective access on 2026-11-23)."
    )


def test_group_member_added_gains_and_member_removed_loses() -> None:
    head = BASE.replace(
        "members: [hugo.henley@example.com, priya.raman@example.com]",
        "members: [hugo.henley@example.com, ana.silva@example.com]",
    )
    result = diff(BASE, head)
    assert changes(result) == [
        {
            "person": "ana.silva@example.com",
            "database": "orders",
            "change": "gained",
            "access": "read-only",
            "from": None,
            "to": "read-only",
        },
        {
            "person": "priya.raman@example.com",
            "database": "orders",
            "change": "lost",
            "access": "read-only",
            "from": "read-only",
            "to": None,
        },
    ]
    assert result.people_added == ("ana.silva@example.com",)
    assert result.people_removed == ("priya.raman@example.com",)
    assert result.summary() == "1 person gains access, 1 person loses access"


def test_a_grant_that_expires_between_the_two_commits_is_not_a_change() -> None:
    # Evaluated after tomas's `until`: the grant is gone from both versions alike.
    after_expiry = dt.date(2027, 1, 5)
    unrelated_edit = BASE.replace("people:\n", "people:  # reviewed\n")
    assert diff(BASE, unrelated_edit, on=after_expiry).empty


def test_renewing_an_expired_grant_is_a_gain_and_extending_a_live_one_an_expiry_change() -> None:
    renewed = BASE.replace("until: 2026-12-31", "until: 2027-03-31")
    assert [(c["change"], c["from"], c["to"]) for c in changes(diff(BASE, renewed))] == [
        ("expiry-changed", "2026-12-31", "2027-03-31")
    ]
    after_expiry = dt.date(2027, 1, 5)
    assert [(c["change"], c["person"]) for c in changes(diff(BASE, renewed, on=after_expiry))] == [
        ("gained", "tomas.novak@example.com")
    ]


def test_a_username_override_changes_the_login() -> None:
    head = BASE.replace(
        "  marco.rossi@example.com:\n", "  marco.rossi@example.com:\n    username: mrossi\n"
    )
    assert [(c["change"], c["from"], c["to"]) for c in changes(diff(BASE, head))] == [
        ("login-changed", "marcorossi_rw", "mrossi_rw")
    ]


def test_a_database_moved_to_another_account_is_a_database_change() -> None:
    head = BASE.replace('account: "210987654321"', 'account: "345678901234"')
    result = diff(BASE, head)
    assert result.changes == ()
    assert [(c.database, c.field, c.before, c.after) for c in result.databases_changed] == [
        ("payments-staging", "account", "210987654321", "345678901234")
    ]
    assert result.summary() == "1 database with changed settings"


REDSHIFT = """\
  analytics:
    engine: redshift
    account: "123456789012"
    region: eu-west-1
    cluster: analytics-dwh
    host: analytics.example.com
    port: 5439
    database: analytics
    groups: {read-only: analysts_ro, read-write: analysts_rw}
"""


def rendered(result: AccessDiff) -> tuple[str, str, dict[str, object]]:
    return render_text(result), render_markdown(result), json.loads(render_json(result))


@pytest.mark.parametrize(
    ("old", "new", "field", "before", "after"),
    [
        (
            "groups: {read-only: analysts_ro, read-write: analysts_rw}",
            "groups: {read-only: analysts_rw, read-write: analysts_ro}",
            "groups",
            "{read-only: analysts_ro, read-write: analysts_rw}",
            "{read-only: analysts_rw, read-write: analysts_ro}",
        ),
        (
            "    admin_login: dbaccess_admin\n  payments",
            "    admin_login: dbaccess_admin\n    schemas: [public, billing]\n  payments",
            "schemas",
            "[public]",
            "[public, billing]",
        ),
        (
            "    admin_login: dbaccess_admin\n  payments",
            "    admin_login: dbaccess_admin\n    table_owners: [orders_app]\n  payments",
            "table_owners",
            "[]",
            "[orders_app]",
        ),
        (
            "    admin_login: dbaccess_admin\n  payments",
            "    admin_login: orders_admin\n  payments",
            "admin_login",
            "dbaccess_admin",
            "orders_admin",
        ),
        ("    production: true\n", "", "production", "true", "false"),
    ],
)
def test_every_database_field_is_a_change_in_all_three_formats(
    old: str, new: str, field: str, before: str, after: str
) -> None:
    base = BASE.replace("groups:\n", REDSHIFT + "groups:\n", 1)
    assert old in base
    text, markdown, document = rendered(diff(base, base.replace(old, new, 1)))
    database = "analytics" if field == "groups" else "orders"
    assert f"database {database}: {field} {before} → {after}" in text
    assert f"| {person_text.markdown(f'{field}: {before} → {after}')} |" in markdown
    assert document["databases"]["changed"] == [  # type: ignore[index]
        {"database": database, "field": field, "from": before, "to": after}
    ]


def test_a_reason_change_is_shown_in_all_three_formats() -> None:
    head = BASE.replace("reason: audit}", 'reason: "AUD-7 year-end audit"}')
    text, markdown, document = rendered(diff(BASE, head))
    assert text.splitlines()[0] == "1 reason change"
    assert "reason audit → AUD-7 year-end audit" in text
    assert "#### Expiry, reason, login and query audit changes" in markdown
    assert "| reason audit → AUD-7 year-end audit |" in markdown
    assert document["changes"] == [  # type: ignore[index]
        {
            "person": "tomas.novak@example.com",
            "database": "payments-staging",
            "change": "reason-changed",
            "access": "read-only",
            "from": "audit",
            "to": "AUD-7 year-end audit",
        }
    ]


def test_dropping_production_in_the_same_edit_keeps_the_escalation_warning() -> None:
    head = BASE.replace("    production: true\n", "").replace(
        "members: [hugo.henley@example.com, priya.raman@example.com]",
        "members: [priya.raman@example.com]",
    ) + (
        "  hugo.henley@example.com:\n    grants:\n      - {database: orders, access: read-write}\n"
    )
    result = diff(BASE, head)
    text, markdown, _ = rendered(result)
    assert "| ⚠️ hugo.henley@example.com | `orders` — Orders service (primary) **(production)**" in (
        markdown
    )
    assert (
        "| ⚠️ changed | `orders` — Orders service (primary) **(production)** | production: true → false |"
        in (markdown)
    )
    assert "escalated      hugo.henley@example.com  orders [production]" in text


def test_a_file_setting_change_is_shown() -> None:
    head = "settings:\n  unused_after_days: 30\n" + BASE
    text, markdown, document = rendered(diff(BASE, head))
    assert "setting unused_after_days: 90 → 30" in text
    assert "| unused_after_days | 90 → 30 |" in markdown
    assert document["settings"]["changed"] == [  # type: ignore[index]
        {"field": "unused_after_days", "from": "90", "to": "30"}
    ]


def test_a_github_login_change_is_shown_in_all_three_formats() -> None:
    # The owner-approval check tells by these logins who gains access: reviewers must see them.
    head = BASE.replace(
        "  marco.rossi@example.com:\n", "  marco.rossi@example.com:\n    github: marco-r\n"
    )
    result = diff(BASE, head)
    text, markdown, document = rendered(result)
    assert result.summary() == "1 GitHub login changed"
    assert "person marco.rossi@example.com: github none → marco-r" in text
    assert "| ⚠️ GitHub login none → `marco-r` | marco.rossi@example.com |" in markdown
    assert document["people"]["github_changed"] == [  # type: ignore[index]
        {"person": "marco.rossi@example.com", "from": None, "to": "marco-r"}
    ]


def test_escalation_on_production_is_listed_first() -> None:
    head = BASE.replace(
        "      - {database: payments-staging, access: read-write}\n",
        "      - {database: payments-staging, access: read-write}\n"
        "      - {database: orders, access: read-only}\n",
    ).replace(
        "people:\n",
        "people:\n"
        "  hugo.henley@example.com:\n"
        "    grants:\n"
        '      - {database: orders, access: read-write, until: 2026-12-31, reason: "INC-1"}\n',
    )
    result = diff(BASE, head)
    assert [(c["change"], c["person"], c["database"]) for c in changes(result)] == [
        ("escalated", "hugo.henley@example.com", "orders"),
        ("gained", "marco.rossi@example.com", "orders"),
    ]
    assert result.summary() == (
        "1 person gains access, 1 escalation to read-write on a production database"
    )


def test_dropping_read_write_but_keeping_read_only_is_a_deescalation() -> None:
    head = BASE.replace(
        "payments-staging, access: read-write}", "payments-staging, access: read-only}"
    )
    assert [(c["change"], c["from"], c["to"]) for c in changes(diff(BASE, head))] == [
        ("deescalated", "read-write", "read-only")
    ]


def test_json_summary_counts() -> None:
    head = BASE.replace(
        "members: [hugo.henley@example.com, priya.raman@example.com]",
        "members: [hugo.henley@example.com]",
    )
    summary = json.loads(render_json(diff(BASE, head)))["summary"]
    assert summary["people_losing_access"] == 1
    assert summary["people_gaining_access"] == 0
    assert summary["changes"] == 1


# --- markdown golden ----------------------------------------------------------------------

SAMPLE_EDIT = [
    # hugo's temporary write access to orders grows into a second production database
    (
        '      - {database: orders, access: read-write, until: 2026-12-31, reason: "INC-1234 backfill"}\n',
        '      - {database: orders, access: read-write, until: 2026-12-31, reason: "INC-1234 backfill"}\n'
        '      - {database: inventory, access: read-write, until: 2026-12-07, reason: "INC-1240 stock fix"}\n',
    ),
    # priya leaves the on-call rotation; lea joins it
    (
        "      - hugo.henley@example.com\n      - priya.raman@example.com\n",
        "      - hugo.henley@example.com\n      - lea.dubois@example.com\n",
    ),
    # marco moves from read-only to read-write on orders for a migration
    (
        "      - {database: orders, access: read-only}\n\n  ana.silva",
        '      - {database: orders, access: read-write, until: 2026-12-15, reason: "MIG-7 migration"}\n'
        "\n  ana.silva",
    ),
    # tomas's audit is extended
    ("until: 2026-10-31", "until: 2027-01-31"),
    # payments-staging moves account
    ('account: "210987654321"          # staging', 'account: "345678901234"          # staging'),
]


def sample_pair() -> tuple[str, str]:
    base = (ROOT / "access.yaml").read_text()
    head = base
    for old, new in SAMPLE_EDIT:
        assert old in head, old
        head = head.replace(old, new)
    return base, head


def test_markdown_of_a_sample_edit_matches_the_reviewed_golden_file() -> None:
    base, head = sample_pair()
    rendered = render_markdown(diff(base, head, on=dt.date(2026, 9, 1))) + "\n"
    assert rendered == (GOLDEN / "sample-edit.md").read_text()


# --- the command, in a real git repository -------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    base, _ = sample_pair()
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    (tmp_path / "access.yaml").write_text(base)
    git(tmp_path, "add", "access.yaml")
    git(
        tmp_path,
        "-c",
        "user.name=Test",
        "-c",
        "user.email=test@example.com",
        "commit",
        "--quiet",
        "-m",
        "access",
    )
    return tmp_path


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dbaccess", "diff", *args, "--date", "2026-09-01"],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        check=False,
    )


def test_cli_working_tree_against_a_commit_in_markdown(repo: Path) -> None:
    _, head = sample_pair()
    (repo / "access.yaml").write_text(head)
    result = run(repo, "--base", "main", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (GOLDEN / "sample-edit.md").read_text()


def test_cli_unchanged_working_tree_is_no_access_changes(repo: Path) -> None:
    result = run(repo, "--base", "HEAD")
    assert (result.returncode, result.stdout) == (0, "No access changes\n")


def test_cli_file_missing_at_base_means_everything_is_gained(repo: Path) -> None:
    git(
        repo,
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "empty",
    )
    git(repo, "rm", "--quiet", "--cached", "access.yaml")
    git(
        repo,
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.com",
        "commit",
        "--quiet",
        "-m",
        "removed",
    )
    result = run(repo, "--base", "HEAD", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {c["change"] for c in document["changes"]} == {"gained"}
    assert document["summary"]["people_gaining_access"] == 9


def test_cli_invalid_head_lists_the_problems_and_exits_2(repo: Path) -> None:
    (repo / "access.yaml").write_text(
        (repo / "access.yaml").read_text().replace("access: read-only}", "access: read-onyl}", 1)
    )
    result = run(repo, "--base", "HEAD")
    assert result.returncode == 2
    assert "access.yaml:" in result.stderr
    assert "read-onyl" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_invalid_version_at_a_ref_names_the_ref(repo: Path) -> None:
    (repo / "access.yaml").write_text("version: 2\ndatabases: {}\n")
    git(
        repo,
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.com",
        "commit",
        "--quiet",
        "-am",
        "broken",
    )
    result = run(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert result.returncode == 2
    assert result.stderr.startswith("HEAD:access.yaml:1:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--base", "no-such-branch"), "'no-such-branch' is not a commit in this repository"),
        (("--base", "HEAD", "--head", "HEAD", "--file", "other.yaml"), "does not exist at 'HEAD'"),
    ],
)
def test_cli_git_errors_say_what_to_do_and_exit_2(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    (repo / "other.yaml").write_text("")
    result = run(repo, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_outside_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "access.yaml").write_text("version: 1\n")
    result = run(tmp_path, "--base", "main")
    assert result.returncode == 2
    assert "is not inside a git repository" in result.stderr


def test_a_query_audit_level_is_an_access_change_per_grant_and_the_database_default_too() -> None:
    # A grant's own level overrides the database's; raising the database's changes each of
    # its grants that has none of its own.
    head = BASE.replace(
        "      - {database: payments-staging, access: read-write}",
        "      - {database: payments-staging, access: read-write, query_audit: all}",
    ).replace(
        "    description: Payments (staging)\n",
        "    description: Payments (staging)\n    query_audit: write\n",
    )
    result = diff(BASE, head)
    assert [(c["change"], c["person"], c["from"], c["to"]) for c in changes(result)] == [
        ("audit-changed", "marco.rossi@example.com", "none", "all"),
        ("audit-changed", "tomas.novak@example.com", "none", "write"),
    ]
    assert [(c.database, c.field, c.before, c.after) for c in result.databases_changed] == [
        ("payments-staging", "query_audit", "none", "write")
    ]
    assert result.summary() == "2 query audit changes, 1 database with changed settings"
    text = render_text(result)
    assert "marco.rossi@example.com  payments-staging: query_audit none → all" in text
    assert "#### Expiry, reason, login and query audit changes" in render_markdown(result)


def test_a_gained_grant_shows_its_query_audit_level() -> None:
    head = BASE.replace(
        "      - {database: orders, access: read-only}",
        "      - {database: orders, access: read-only}\n"
        "      - {database: orders, access: read-write, until: 2026-12-01, reason: INC-9,"
        " query_audit: all}",
    )
    text = render_text(diff(BASE, head))
    assert '(until 2026-12-01, "INC-9", query_audit all)' in text
