"""Hostile or odd YAML: GIVEN such a file WHEN it loads THEN one located problem, no crash or hang.

Each case failed on the PyYAML node composer: alias bombs hung, deep nesting crashed the
interpreter, impossible dates raised, NUL was reported at 1:1, `port: 1:30` read as 90.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dbaccess.access import InvalidInput, load_access_file, load_access_text
from dbaccess.access.errors import MAX_PROBLEMS, SHOWN_MAX, Problem
from dbaccess.access.source import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH
from dbaccess.cli import app
from tests.unit.access.test_validation import DB, TODAY, doc, problems


def billion_laughs() -> str:
    """Ten levels of ten aliases each: 10^10 nodes once expanded, 11 lines of text."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 11):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


CASES = [
    (
        # Stopped at the 8th alias of the fifth level, the first to pass the limit.
        "alias-bomb",
        billion_laughs(),
        [
            f"5:45: aliases repeat more than {MAX_ALIAS_NODES:,} nodes or are used more than 1,000 times"
        ],
    ),
    (
        "recursive-alias",
        "version: 1\ndatabases: &d {orders: *d}\n",
        ["2:24: alias *d refers to no anchor defined before it (or to the node that contains it)"],
    ),
    (
        "deep-flow-nesting",
        "version: 1\ndatabases: " + "[" * 100_000 + "]" * 100_000 + "\n",
        [f"2:{12 + MAX_DEPTH - 1}: the YAML nests deeper than {MAX_DEPTH} levels"],
    ),
    (
        "deep-block-nesting",
        "".join("  " * i + "k:\n" for i in range(5_000)),
        [f"{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}: the YAML nests deeper than {MAX_DEPTH} levels"],
    ),
    (
        "impossible-day",
        doc(rest="x: 2026-02-30\n"),
        ["12:4: '2026-02-30' is not a valid date: day is out of range for month"],
    ),
    (
        "impossible-month",
        doc(rest="x: 2026-13-01\n"),
        ["12:4: '2026-13-01' is not a valid date: month must be in 1..12"],
    ),
    (
        "hour-25",
        doc(rest="x: 2026-01-01 25:00:00\n"),
        ["12:4: '2026-01-01 25:00:00' is not a valid date: hour must be in 0..23"],
    ),
    (
        "int-tag-on-text",
        doc(rest="x: !!int abc\n"),
        ["12:4: 'abc' is not a valid whole number: only digits, optionally signed"],
    ),
    (
        "timestamp-tag-on-text",
        doc(rest="x: !!timestamp tomorrow\n"),
        [
            "12:4: 'tomorrow' is not a valid date: it is not written YYYY-MM-DD "
            "(or YYYY-MM-DD HH:MM:SS)"
        ],
    ),
    (
        "binary-tag",
        doc(rest="x: !!binary aGVsbG8=\n"),
        ["12:4: the YAML tag !!binary is not supported"],
    ),
    (
        "local-tag",
        doc(rest="x: !python/name:os.system x\n"),
        ["12:4: the YAML tag !python/name:os.system is not supported"],
    ),
    ("set-tag", doc(rest="x: !!set {a, b}\n"), ["12:4: the YAML tag !!set is not supported"]),
    (
        "merge-key",
        doc(DB.replace("    engine: postgres\n", "    <<: {engine: postgres}\n")),
        ["4:5: merge keys ('<<') are not supported"],
    ),
    (
        "quoted-merge-key-is-text",
        doc(DB + '    "<<": {engine: postgres}\n'),
        ["12:5: unknown key '<<'"],
    ),
    (
        "nul-in-a-comment",
        doc(rest="# a comment \x00 with NUL\n"),
        ["12:13: character U+0000 (a control character) is not allowed in YAML"],
    ),
    (
        "bell-in-a-value",
        doc(DB.replace("orders.example.com", "ord\x07.example.com")),
        ["8:14: character U+0007 (a control character) is not allowed in YAML"],
    ),
    (
        "escaped-nul-in-a-value",
        doc(DB + '    description: "Orders\\x00"\n'),
        ["12:18: the text writes character U+0000 (a control character) through an escape"],
    ),
    (
        "huge-number",
        doc(DB.replace("port: 5432", "port: " + "9" * 5_000)),
        [f"9:11: '{'9' * (SHOWN_MAX - 1)}…' is not a valid whole number: more than 30 digits"],
    ),
    (
        "sexagesimal-port",
        doc(DB.replace("port: 5432", "port: 1:30")),
        ["9:11: 'port' must be a whole number, got text '1:30'"],
    ),
    (
        "yes-is-not-true",
        doc(DB + "    production: yes\n"),
        ["12:17: 'production' must be true or false, got text 'yes'"],
    ),
    (
        "second-document",
        doc(rest="---\nversion: 1\n"),
        ["12:1: a second YAML document starts here ('---')"],
    ),
    (
        "null-key",
        doc(rest="~: x\n"),
        ["12:1: a key must be a plain word, got NoneType None"],
    ),
    (
        "list-as-key",
        doc(rest="? [a, b]\n: x\n"),
        ["12:3: a key must be a plain word, got a list"],
    ),
    (
        "number-as-database-key",
        doc(DB.replace("  orders:", "  12:")),
        ["3:3: key number 12 must be text"],
    ),
    (
        "version-true",
        "version: true\ndatabases: {}\n",
        ["1:10: version must be the number 1, got True"],
    ),
    (
        "version-float",
        "version: 1.0\ndatabases: {}\n",
        ["1:10: version must be the number 1, got 1.0"],
    ),
    (
        "fullwidth-account",
        doc(DB.replace('"123456789012"', '"１２３４５６７８９０１２"')),
        ["5:14: account '１２３４５６７８９０１２' is not a 12-digit AWS account id"],
    ),
    (
        "arabic-indic-account",
        doc(DB.replace('"123456789012"', '"١٢٣٤٥٦٧٨٩٠١٢"')),
        ["5:14: account '١٢٣٤٥٦٧٨٩٠١٢' is not a 12-digit AWS account id"],
    ),
    (
        "host-over-253",
        doc(DB.replace("orders.example.com", ".".join(["a" * 60] * 5))),
        [f"8:11: host '{('.'.join(['a' * 60] * 5))[: SHOWN_MAX - 1]}…' is not a valid host name"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_yaml_is_one_located_problem(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


GRANT_WITH_REASON = "people:\n  ana@example.com:\n    grants:\n      - {database: orders, access: read-only, reason: %s}\n"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        # A right-to-left override makes a reviewer read "read-only" where the file says more.
        (
            '"INC-1 \\u202Eylno-daer\\u202C"',
            "the reason contains the invisible or control character U+202E",
        ),
        ('"zero\\u200Bwidth"', "the reason contains the invisible or control character U+200B"),
        ("x" * 501, "the reason is 501 characters long; at most 500 are allowed"),
    ],
)
def test_a_reason_with_invisible_characters_or_over_the_limit_is_refused_at_its_line(
    reason: str, expected: str
) -> None:
    [message] = problems(doc(rest=GRANT_WITH_REASON % reason))
    assert message.startswith(f"15:55: {expected}")


def test_a_long_value_is_quoted_cut_to_80_characters() -> None:
    # GIVEN a 5,000-character database name
    text = doc(DB.replace("database: orders", "database: " + "x" * 5_000))
    # THEN the message quotes at most SHOWN_MAX characters of it
    [message] = problems(text)
    assert message == f"10:15: '{'x' * (SHOWN_MAX - 1)}…' is not a plain SQL name"


def test_a_file_that_is_not_an_access_file_is_not_echoed(tmp_path: Path) -> None:
    # GIVEN accessFile pointing at a password file (plain text, no key: value)
    secret = (
        "root:x:0:0:root:/root:/bin/bash\nhugo:x:1000:1000:Hugo SECRET-PHRASE:/home/hugo:/bin/sh\n"
    )
    path = tmp_path / "passwd"
    path.write_text(secret)
    with pytest.raises(InvalidInput) as caught:
        load_access_file(path, today=TODAY)
    # THEN it is refused without a word of its content
    rendered = caught.value.render()
    assert "'file' must be a mapping (key: value lines), got text" in rendered
    assert "/bin/bash" not in rendered
    assert "SECRET" not in rendered


def test_a_file_that_is_not_utf8_is_refused_at_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_bytes(doc().encode() + b"# caf\xe9\n")
    with pytest.raises(InvalidInput) as caught:
        load_access_file(path, today=TODAY)
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.message) == (
        12,
        6,
        "byte 0xe9 is not UTF-8 text",
    )


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    with path.open("wb") as stream:
        stream.write(doc().encode())
        stream.truncate(MAX_BYTES + 1)
    with pytest.raises(InvalidInput) as caught:
        load_access_file(path, today=TODAY)
    assert [p.message for p in caught.value.problems] == [
        f"{path} is larger than {MAX_BYTES // 2**20} MB"
    ]


def test_a_named_pipe_is_refused_instead_of_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    os.mkfifo(path)
    with pytest.raises(InvalidInput) as caught:
        load_access_file(path, today=TODAY)
    assert [p.message for p in caught.value.problems] == [f"{path} is a pipe or socket, not a file"]


def test_bom_crlf_and_aliases_within_limits_still_load() -> None:
    text = "\ufeff" + doc(
        rest="groups:\n  a:\n    members: [a@example.com]\n    grants: &g\n"
        "      - {database: orders, access: read-only}\n"
        "  b:\n    members: [b@example.com]\n    grants: *g\n"
    ).replace("\n", "\r\n")
    plan = load_access_text(text, "access.yaml", today=TODAY)
    assert sorted((g.email, g.database) for g in plan.grants()) == [
        ("a@example.com", "orders"),
        ("b@example.com", "orders"),
    ]


def test_explicit_tags_that_make_sense_are_honoured() -> None:
    # !!str keeps an unquoted account as text; a quoted date is a date.
    text = doc(
        DB.replace('account: "123456789012"', "account: !!str 123456789012"),
        "people:\n  p@example.com:\n    grants:\n"
        "      - {database: orders, access: read-only, until: '2026-12-31'}\n",
    )
    plan = load_access_text(text, "access.yaml", today=TODAY)
    assert plan.databases["orders"].account == "123456789012"
    assert [g.until for g in plan.grants()] == [dt.date(2026, 12, 31)]


def refusals(text: str) -> list[Problem]:
    """The problems loading text reports; none when it loads."""
    try:
        load_access_text(text, "access.yaml", today=TODAY)
    except InvalidInput as exc:
        return exc.problems or [Problem("InvalidInput without a problem", 0, 0, "", "")]
    return []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_or_is_refused_with_located_problems(text: str) -> None:
    # Whatever the text: a plan, or InvalidInput whose every problem has a place and a fix.
    for problem in refusals(text):
        assert problem.line >= 1
        assert problem.column >= 1
        assert problem.fix
        assert len(problem.message) < 400


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.dates(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_any_value_in_a_valid_file_is_refused_or_loaded(value: object) -> None:
    # GIVEN a valid file whose `description` (or a whole grant) is replaced by any YAML value
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    if flow.endswith("..."):
        flow = flow.removesuffix("...").strip()
    for text in (
        doc(DB + f"    description: {flow}\n"),
        doc(rest=f"people:\n  p@example.com:\n    grants: [{flow}]\n"),
    ):
        assert all(p.line >= 3 for p in refusals(text)), text


def test_a_file_of_mistakes_lists_the_first_hundred_not_megabytes() -> None:
    # GIVEN 50,000 people whose keys are not emails (the wrong file, say)
    text = doc(rest="people:\n" + "".join(f"  p{i}: {{}}\n" for i in range(50_000)))
    with pytest.raises(InvalidInput) as caught:
        load_access_text(text, "access.yaml", today=TODAY)
    # THEN the first MAX_PROBLEMS are listed, and the count says there were more
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert caught.value.problems[0].line == 13
    assert caught.value.render().endswith(
        f"more than {MAX_PROBLEMS} errors found, the first {MAX_PROBLEMS} listed; "
        "nothing was changed."
    )
    assert '"truncated": true' in caught.value.as_json()


def test_a_long_username_is_quoted_cut_too() -> None:
    text = doc(rest="people:\n  p@example.com:\n    username: " + "a" * 5_000 + "\n")
    [message] = problems(text)
    assert message == (
        f"14:5: IAM role name 'dbaccess-{'a' * (SHOWN_MAX - 10)}…' of p@example.com is 5009 "
        "characters; IAM allows 64"
    )


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELD_LINES = [
    *DB.splitlines()[1:],
    "people:",
    "  p@example.com:",
    "    username: pee",
    "    grants:",
    "      - database: orders",
    "        access: read-only",
    "        until: 2026-12-01",
    "        reason: why",
]


@settings(max_examples=300, deadline=None)
@given(index=st.sampled_from(range(len(FIELD_LINES))), value=YAML_VALUES)
def test_any_value_of_any_field_is_loaded_or_located(index: int, value: object) -> None:
    # GIVEN a valid file whose one field has any YAML value
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    flow = flow.removesuffix("...").strip()
    lines = list(FIELD_LINES)
    key = lines[index].split(":", 1)[0]
    lines[index] = f"{key}: {flow}"
    text = "version: 1\ndatabases:\n  orders:\n" + "\n".join(lines) + "\n"
    # THEN it loads, or every problem is at a line of the file with a fix
    count = text.count("\n")
    for problem in refusals(text):
        assert 1 <= problem.line <= count + 1
        assert problem.fix


KELVIN_KATE = "\u212aate@example.com"  # KELVIN SIGN: lower-cases to kate@example.com


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["doctor", "--email", KELVIN_KATE], {}),
        (["doctor"], {"DBACCESS_EMAIL": KELVIN_KATE}),
    ],
)
def test_the_cli_takes_emails_by_the_access_files_rule(
    argv: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN an email that would lower-case to someone else's
    env = {"XDG_CONFIG_HOME": str(tmp_path), **env}
    result = CliRunner().invoke(app, argv, env=env)
    # THEN refused before anything else, as access.yaml refuses it
    assert result.exit_code == 2
    assert f"'{KELVIN_KATE}' is not a valid email address" in result.stderr
    assert "ASCII letters, digits" in result.stderr
    assert result.stdout == ""
