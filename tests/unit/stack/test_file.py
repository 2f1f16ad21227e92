"""Pulumi.<stack>.yaml of any shape: GIVEN a broken stack file WHEN it is read THEN located errors.

The offline preview reads the stack file the way the Pulumi CLI would; every shape other
than Pulumi's is refused at its line (exit 2), never with a traceback.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dbaccess.access import InvalidInput
from dbaccess.cli.preview_engine import validate_stack
from dbaccess.stack.file import load_stack_config
from tests.program.conftest import ROOT

PROD = (ROOT / "Pulumi.prod.yaml").read_text()


def stack_problems(tmp_path: Path, content: str | bytes) -> list[str]:
    (tmp_path / "Pulumi.yaml").write_text("name: dbaccess\nruntime: python\n")
    stack = tmp_path / "Pulumi.t.yaml"
    if isinstance(content, bytes):
        stack.write_bytes(content)
    else:
        stack.write_text(content)
    (tmp_path / "access.yaml").write_text((ROOT / "access.yaml").read_text())
    with pytest.raises(InvalidInput) as caught:
        validate_stack(tmp_path, load_stack_config(tmp_path, "t"))
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


CASES = [
    ("list-at-top", "- a\n- b\n", ["1:1: a stack file is a mapping with `config:`, got a list"]),
    ("config-a-list", "config:\n  - a\n", ["2:3: `config:` must be a mapping of settings"]),
    ("number-key", "config:\n  12: x\n", ["2:3: setting name 12 is not text"]),
    (
        "number-key-inside-a-setting",
        PROD.replace('"123456789012": arn', "123456789012: arn", 1),
        ["10:5: key 123456789012 is not text"],
    ),
    (
        "date-inside-a-setting",
        PROD.replace('runAt: "09:00"', "runAt: 2026-01-01"),
        ["16:12: 2026-01-01 is a date, which a setting cannot hold"],
    ),
    (
        "binary-inside-a-setting",
        PROD.replace('runAt: "09:00"', "runAt: !!binary aGVsbG8="),
        ["16:12: the YAML tag !!binary is not supported"],
    ),
    (
        "secure-null",
        PROD + "  dbaccess:slackAppToken:\n    secure: null\n",
        ["40:5: secret setting 'dbaccess:slackAppToken' must be `secure: <ciphertext>` alone"],
    ),
    (
        "secure-beside-another-key",
        PROD + "  dbaccess:slackAppToken:\n    secure: v1:cGxh\n    plain: xapp-123\n",
        ["40:5: secret setting 'dbaccess:slackAppToken' must be `secure: <ciphertext>` alone"],
    ),
    (
        # No secret in the stack file: anyone who may preview the stack can decrypt it.
        "secure-value",
        PROD + "  dbaccess:pasteExpire2:\n    secure: v1:cGxh\n",
        [
            "39:3: setting 'dbaccess:pasteExpire2' is a `secure:` value; the stack file holds "
            "no secret (anyone who may preview the stack can decrypt it)"
        ],
    ),
    (
        "unknown-region",
        PROD.replace("aws:region: eu-west-1", "aws:region: eu-westt-1"),
        ["3:15: 'eu-westt-1' is not an AWS region (did you mean 'eu-west-1'?)"],
    ),
    (
        "region-not-text",
        PROD.replace("aws:region: eu-west-1", "aws:region: [eu-west-1]"),
        ["3:15: '['eu-west-1']' is not an AWS region"],
    ),
    (
        "connection-limit-true",
        PROD.replace("dbaccess:connectionLimit: 10", "dbaccess:connectionLimit: true"),
        ["12:29: setting 'dbaccess:connectionLimit': True is true/false, not a whole number"],
    ),
    (
        "sweep-exempt-wildcard",
        PROD.replace(
            "dbaccess:connectionLimit: 10",
            "dbaccess:connectionLimit: 10\n  dbaccess:sweepExemptLogins: [orders_etl, '%']",
        ),
        [
            "13:31: setting 'dbaccess:sweepExemptLogins': '%' is not a login name: 1 to 63 of "
            "A-Z a-z 0-9 _ $ . - (not starting with $ . -), as the role or user is named on "
            "the server"
        ],
    ),
    (
        "fullwidth-account",
        PROD.replace('"210987654321": arn', '"２１０９８７６５４３２１": arn', 1),
        [
            "10:5: setting 'dbaccess:accounts': account '２１０９８７６５４３２１' is not a 12-digit id (quote it)"
        ],
    ),
    (
        "deep-nesting",
        "config:\n  dbaccess:bot: " + "[" * 100_000 + "]" * 100_000 + "\n",
        ["2:47: the YAML nests deeper than 32 levels"],
    ),
    (
        "not-utf8",
        PROD.encode().replace(b"# The prod", b"# The \xff prod"),
        ["1:7: byte 0xff is not UTF-8 text"],
    ),
    (
        "a-long-value-is-cut",
        PROD.replace("pasteExpire: 10min", "pasteExpire: " + "x" * 5_000),
        [
            "19:25: setting 'dbaccess:pasteExpire': '"
            + "x" * 79
            + "…' is not one of 5min, 10min, 1hour, 1day"
        ],
    ),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_stack_file_is_reported_at_its_line(
    tmp_path: Path, content: str | bytes, expected: list[str]
) -> None:
    assert stack_problems(tmp_path, content) == expected


def test_preview_of_a_broken_stack_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "access.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "Pulumi.prod.yaml").write_text("config: [1, 2]\n")
    result = subprocess.run(
        [sys.executable, "-m", "dbaccess", "preview", "--stack", "prod"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "Pulumi.prod.yaml:1:9: `config:` must be a mapping of settings" in result.stderr
    assert "Traceback" not in result.stderr


SETTING_LINES = [
    line.split(":", 2)[1] for line in PROD.splitlines() if line.startswith("  dbaccess:")
]


@settings(max_examples=150, deadline=None)
@given(
    key=st.sampled_from(SETTING_LINES),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates(),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    ),
)
def test_any_value_of_any_setting_is_accepted_or_located(key: str, value: object) -> None:
    # GIVEN the prod stack with one setting's value replaced by any YAML value
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    flow = flow.removesuffix("...").strip()
    lines = PROD.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  dbaccess:{key}:"))
    end = next(
        (j for j in range(at + 1, len(lines)) if not lines[j].startswith("    ")), len(lines)
    )
    text = "\n".join([*lines[:at], f"  dbaccess:{key}: {flow}", *lines[end:]]) + "\n"
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        (project / "Pulumi.yaml").write_text("name: dbaccess\nruntime: python\n")
        (project / "Pulumi.t.yaml").write_text(text)
        (project / "access.yaml").write_text((ROOT / "access.yaml").read_text())
        # WHEN it is read THEN it loads, or every problem has a line
        try:
            validate_stack(project, load_stack_config(project, "t"))
        except InvalidInput as exc:
            refused = exc.problems
        else:
            refused = []
    assert all(p.line >= 1 and p.fix for p in refused)
