"""`dbaccess expire`: GIVEN a commented access file and a reaper report, WHEN expire runs, THEN
only the expired lines go, and the printed diff says who loses what."""

from __future__ import annotations

import datetime as dt
import json
import os
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
    assert result.text == text.replace(
        "    - {database: x, access: read-only, until: 2020-01-01}\n", ""
    )


def test_an_invalid_report_exits_2_and_a_missing_one_1(access_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    bad.write_text('{"schema_version": 7}')
    code, output = expire("--file", str(access_file), "--report", str(bad))
    assert code == 2
    assert "schema_version 7" in output
    code, output = expire("--file", str(access_file), "--report", "s3://bucket-without-key")
    assert code == 2
    assert "'s3://bucket-without-key' is not an s3://bucket/key URL" in output
    code, output = expire("--file", str(access_file), "--report", str(tmp_path / "nope.json"))
    assert code == 1
    assert "cannot read the report" in output
    assert "Traceback" not in output


def test_a_report_that_is_a_named_pipe_is_refused_without_waiting(
    access_file: Path, tmp_path: Path
) -> None:
    # GIVEN a FIFO nobody writes to (opening it for reading would wait forever)
    pipe = tmp_path / "report.json"
    os.mkfifo(pipe)
    code, output = expire("--file", str(access_file), "--report", str(pipe))
    assert code == 2
    assert f"{pipe} is a pipe or socket, not a file" in output


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            '{"schema_version": 1, "evaluated_on": "2026-11-23", "unused_days": 1e400, '
            '"grants": []}',
            "the number 1e400 is out of range",
        ),
        ('{"schema_version": 1, "unused_days": NaN}', "NaN is not a JSON value"),
        ("[" * 100_000 + "]" * 100_000, "it nests too deep"),
        ('{"schema_version": 1, "unused_days": ' + "9" * 5000 + "}", "the report is not JSON"),
    ],
    ids=["1e400", "nan", "deep", "huge-int"],
)
def test_a_report_with_numbers_or_nesting_json_cannot_hold_is_a_clear_error(
    access_file: Path, tmp_path: Path, body: str, said: str
) -> None:
    report = tmp_path / "report.json"
    report.write_text(body)
    code, output = expire("--file", str(access_file), "--report", str(report))
    assert code == 2
    assert said in output
    assert "Traceback" not in output


# --- the cases an adversarial review found ------------------------------------------------

HEAD = "version: 1\ndatabases:\n" + DATABASE


def write(tmp_path: Path, text: str, report: list[tuple[str, str, str]] = ()) -> tuple[Path, Path]:
    access, stale = tmp_path / "access.yaml", tmp_path / "report.json"
    access.write_bytes(text.encode())
    grants = [
        {"email": e, "database": d, "access": a, "login": "x_ro", "reason": "unused",
         "removal_date": "2026-11-20", "last_used": None, "role_last_used": None,
         "first_seen": "2026-03-01"}
        for e, d, a in report
    ]  # fmt: skip
    stale.write_text(json.dumps({"schema_version": 1, "evaluated_on": "2026-11-23",
                                 "unused_days": 90, "grants": grants}))  # fmt: skip
    return access, stale


def test_a_grants_list_shared_through_an_anchor_is_not_edited_for_one_person(
    tmp_path: Path,
) -> None:
    text = HEAD + (
        "people:\n"
        "  a@example.com:\n    grants: &g\n      - {database: x, access: read-only}\n"
        "  b@example.com:\n    grants: *g\n"
    )
    access, report = write(tmp_path, text, [("b@example.com", "x", "read-only")])
    code, output = expire("--file", str(access), "--report", str(report), "--date", "2026-11-23",
                          "--write", "--format", "markdown")  # fmt: skip
    assert code == 0, output
    assert access.read_text() == text  # a@example.com keeps the grant; so does b, said why
    # (as Markdown: "&amp;g" shows "&g")
    assert (
        "- b@example.com: x read-only is an entry that is shared through the YAML anchor &amp;g"
        in (output)
    )
    assert "**No access changes**" in output


def test_crlf_bom_quotes_and_the_comments_of_what_stays_are_kept_byte_for_byte(
    tmp_path: Path,
) -> None:
    text = "\ufeff" + (
        HEAD + "people:\n"
        "  # Ana runs the nightly jobs.\n"
        "  'a@example.com':   # since 2024\n"
        "    grants:\n"
        "      # read access for the reports\n"
        "      - {database: x, access: read-only}  # reviewed in June\n"
        "      # the backfill, done\n"
        "      - {database: x, access: read-write, until: \"2026-10-31\", reason: 'INC-7'}\n"
        "  b@example.com:\n    grants: [{database: x, access: read-only}]\n"
    ).replace("\n", "\r\n")
    access, report = write(tmp_path, text)
    code, output = expire("--file", str(access), "--report", str(report), "--date", "2026-11-23",
                          "--write")  # fmt: skip
    assert code == 0, output
    removed = "      # the backfill, done\r\n" + (
        "      - {database: x, access: read-write, until: \"2026-10-31\", reason: 'INC-7'}\r\n"
    )
    assert access.read_bytes() == text.replace(removed, "").encode()
    assert "people a@example.com: x read-write (until 2026-10-31 passed)" in output


def test_an_until_with_a_time_is_read_as_validate_reads_it(tmp_path: Path) -> None:
    text = HEAD + (
        "people:\n  a@example.com:\n    grants:\n"
        "      - {database: x, access: read-only, until: 2026-10-31T10:00:00Z}\n"
        "      - {database: x, access: read-write}\n"
    )
    access, _ = write(tmp_path, text)
    validated = CliRunner().invoke(app, ["validate", str(access), "--date", "2026-11-23"])
    code, output = expire("--file", str(access), "--date", "2026-11-23", "--write")
    assert "Traceback" not in output
    if validated.exit_code == 0:  # accepted: the entry is past, so it goes
        assert code == 0, output
        assert "until: 2026-10-31T10:00:00Z" not in access.read_text()
    else:  # refused: the same located error, nothing written
        assert code == 2
        line = next(i for i, t in enumerate(text.splitlines(), 1) if "T10:00:00Z" in t)
        assert f"{access}:{line}:" in output
        assert access.read_text() == text


def test_the_last_person_can_be_removed_and_unmatched_report_entries_are_listed(
    tmp_path: Path,
) -> None:
    text = (
        HEAD + "people:\n  a@example.com:\n    grants:\n      - {database: x, access: read-only}\n"
    )
    access, report = write(
        tmp_path, text, [("a@example.com", "x", "read-only"), ("nobody@example.com", "x", "read-only"),
                         ("a@example.com", "x", "read-write")],
    )  # fmt: skip
    code, output = expire("--file", str(access), "--report", str(report), "--date", "2026-11-23",
                          "--write", "--format", "markdown")  # fmt: skip
    assert code == 0, output
    assert access.read_text() == HEAD + "people: {}\n"
    assert load_access_text(access.read_text(), "access.yaml", today=TODAY).people == {}
    assert "In the report but granted to nobody in access.yaml (nothing to remove):" in output
    assert "- nobody@example.com: `x` read-only" in output
    assert "- a@example.com: `x` read-write" in output
    code, output = expire("--file", str(access), "--report", str(report), "--date", "2026-11-23",
                          "--write")  # fmt: skip
    assert code == 0
    assert access.read_text() == HEAD + "people: {}\n"  # a second run changes nothing
    assert output.startswith("Removed: 0 entries")


def test_a_member_goes_from_a_flow_list_and_the_comma_with_it(tmp_path: Path) -> None:
    text = HEAD + (
        "groups:\n  ops:\n"
        "    members: [a@example.com, b@example.com, c@example.com]  # on call\n"
        "    grants: [{database: x, access: read-only}]\n"
    )
    result = expire_grants(text, [("c@example.com", "x", "read-only"),
                                  ("a@example.com", "x", "read-only")], TODAY)  # fmt: skip
    assert result.text == text.replace("[a@example.com, b@example.com, c@example.com]",
                                       "[b@example.com]")  # fmt: skip


def test_an_invalid_access_file_is_a_located_error_and_exit_2(tmp_path: Path) -> None:
    access, _ = write(
        tmp_path,
        HEAD + "people:\n  a@example.com:\n    grants: [{database: nope, access: read-only}]\n",
    )
    code, output = expire("--file", str(access), "--date", "2026-11-23", "--write")
    assert code == 2
    assert f"{access}:14:25: grant names unknown database" in output
    assert "Traceback" not in output


def test_a_member_list_shared_through_an_anchor_keeps_the_member_and_says_why() -> None:
    text = HEAD + (
        "groups:\n"
        "  readers:\n    members: &team [a@example.com, b@example.com]\n"
        "    grants: [{database: x, access: read-only}]\n"
        "  writers:\n    members: *team\n    grants: [{database: x, access: read-write}]\n"
    )
    result = expire_grants(text, [("a@example.com", "x", "read-only")], TODAY)
    assert result.text == text
    [kept] = result.kept
    assert kept.text.startswith(
        "a@example.com: x read-only comes from group readers, whose member list is shared "
        "through the YAML anchor &team (line 14)"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\ndatabases: {x: [}\n", ":2:"),
        ("version: 1\n---\nversion: 1\n", ":2:"),
        ("version: 1\ndatabases:\n  x: *nope\n", ":3:"),
    ],
)
def test_a_file_that_is_not_yaml_is_a_located_error_and_exit_2(
    tmp_path: Path, text: str, where: str
) -> None:
    access, _ = write(tmp_path, text)
    code, output = expire("--file", str(access), "--date", "2026-11-23", "--write")
    assert code == 2, output
    assert f"{access}{where}" in output
    assert "Traceback" not in output
    assert access.read_text() == text
