"""`dbaccess expire`: GIVEN a commented access file and a reaper report, WHEN expire runs, THEN
only the expired lines go, and the printed diff says who loses what."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbaccess.access import load_access_text
from dbaccess.access.edit import expire_grants
from dbaccess.cli import app

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.date(2026, 11, 23)
DATABASE = """\
  x:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: x-prod
    host: x.example.internal
    port: 5432
    database: x
    admin_login: dbaccess_admin
"""


@pytest.fixture
def access_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    shutil.copy(GOLDEN / "expire_access.yaml", path)
    return path


def expire(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["expire", *args])
    return result.exit_code, result.output


def test_write_removes_only_the_expired_lines_keeping_comments_and_order(
    access_file: Path,
) -> None:
    code, output = expire(
        "--file", str(access_file), "--report", str(GOLDEN / "expire_report.json"),
        "--date", "2026-11-23", "--write",
    )  # fmt: skip
    assert code == 0, output
    assert access_file.read_text() == (GOLDEN / "expire_access.expected.yaml").read_text()
    assert output == (GOLDEN / "expire_diff.txt").read_text()


def test_without_write_nothing_changes(access_file: Path) -> None:
    before = access_file.read_text()
    code, output = expire(
        "--file", str(access_file), "--report", str(GOLDEN / "expire_report.json"),
        "--date", "2026-11-23",
    )  # fmt: skip
    assert code == 0
    assert access_file.read_text() == before
    assert output.startswith("Would remove (run with --write to change the file): 4 entries")


def test_without_a_report_only_grants_past_their_until_go(access_file: Path) -> None:
    code, output = expire("--file", str(access_file), "--date", "2026-11-23", "--write")
    assert code == 0, output
    text = access_file.read_text()
    assert "auditors:" not in text
    assert "Quarter-end auditors" not in text  # the entry's own comment goes with it
    assert "ana.silva@example.com:   # left the team in the summer" in text


def test_the_json_lists_the_removals_for_the_pull_request_title(access_file: Path) -> None:
    code, output = expire(
        "--file", str(access_file), "--report", str(GOLDEN / "expire_report.json"),
        "--date", "2026-11-23", "--format", "json",
    )  # fmt: skip
    assert code == 0
    document = json.loads(output)
    assert len(document["removed"]) == 4
    assert document["summary"]["people_losing_access"] == 3


def test_the_markdown_body_has_the_reasons_and_the_access_diff(access_file: Path) -> None:
    code, output = expire(
        "--file", str(access_file), "--report", str(GOLDEN / "expire_report.json"),
        "--date", "2026-11-23", "--format", "markdown",
    )  # fmt: skip
    assert code == 0
    assert "| people ana.silva@example.com | `warehouse` | read-only | unused | 2026-08-22 |" in (
        output
    )
    assert "### Access changes" in output
    assert "#### Access lost" in output


def test_a_group_grant_still_in_use_keeps_the_member(tmp_path: Path) -> None:
    text = (GOLDEN / "expire_access.yaml").read_text()
    result = expire_grants(text, [("hugo.henley@example.com", "orders", "read-only")], TODAY)
    assert "      - hugo.henley@example.com\n" in result.text
    [kept] = result.kept
    assert kept.text == (
        "hugo.henley@example.com: orders read-only comes from group oncall, which also gives "
        "warehouse read-only (not listed): edit the group by hand if it should go"
    )
    assert [r.owner for r in result.removed] == ["group auditors"]  # past its until


def test_a_person_left_without_grants_keeps_their_username_while_a_group_needs_it() -> None:
    text = (GOLDEN / "expire_access.yaml").read_text()
    # hugo's own grant is stale; he still reads through the oncall group as `hhenley`
    result = expire_grants(text, [("hugo.henley@example.com", "orders", "read-write")], TODAY)
    assert "  hugo.henley@example.com:\n    username: hhenley\n\n  marco" in result.text
    plan = load_access_text(result.text, "access.yaml", today=TODAY)
    assert plan.people["hugo.henley@example.com"].base == "hhenley"


def test_a_person_who_never_had_grants_is_left_alone() -> None:
    text = (GOLDEN / "expire_access.yaml").read_text()
    result = expire_grants(text, [("kenji.watanabe@example.com", "orders", "read-only")], TODAY)
    assert "  kenji.watanabe@example.com:\n    username: kwatanabe\n" in result.text
    assert [r.owner for r in result.removed] == ["group auditors"]  # past its until


def test_the_sample_access_file_edits_cleanly() -> None:
    text = (ROOT / "access.yaml").read_text()
    result = expire_grants(text, [("ana.silva@example.com", "inventory", "read-only")], TODAY)
    removed = Counter(text.splitlines()) - Counter(result.text.splitlines())
    assert sorted(removed.elements()) == [
        "",
        "      - {database: inventory, access: read-only, until: 2026-10-31, reason: "
        '"stock audit Q3"}',
        "      - {database: inventory, access: read-only}",
        "    grants:",
        "  ana.silva@example.com:",
    ]
    load_access_text(result.text, "access.yaml", today=TODAY)


def test_lists_indented_differently_under_each_key_are_edited_in_place() -> None:
    # Two-space sequences under one key and four under another: no dump keeps both, an edit
    # of the text does.
    text = (
        "version: 1\ndatabases:\n" + DATABASE + "people:\n  a@example.com:\n    grants:\n"
        "    - {database: x, access: read-only, until: 2020-01-01}\n"
        "    - {database: x, access: read-write}\n"
        "  b@example.com:\n    grants:\n        - {database: x, access: read-only}\n"
    )
    result = expire_grants(text, [], TODAY)
    assert result.text == text.replace("    - {database: x, access: read-only, until: 2020-01-01}\n", "")


def test_an_unreadable_report_fails_with_exit_1(access_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    bad.write_text('{"schema_version": 7}')
    code, output = expire("--file", str(access_file), "--report", str(bad))
    assert code == 1
    assert "schema_version 7" in output
