"""Help texts as a person reads them: plain text, examples that hold for the sample."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from dbaccess.cli import app
from tests.unit.cli.test_validate import ROOT


def help_of(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_bracketed_words_survive_in_help() -> None:
    # Rich markup would take "[secret]" for a style tag and print nothing.
    assert "Secrets show as [secret]" in help_of("preview")


def test_the_validate_example_is_what_validate_says_about_the_sample() -> None:
    (shown,) = re.findall(r"^\s+(OK: .+)$", help_of("validate"), re.MULTILINE)
    result = CliRunner().invoke(
        app, ["validate", str(ROOT / "access.yaml"), "--date", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == shown


def test_token_help_shows_the_and_safe_eval_and_the_password_format() -> None:
    text = help_of("token")
    assert '$ creds=$(dbaccess token orders) && eval "$creds" && psql' in text
    assert 'eval "$(dbaccess token' not in text.replace('`eval "$(…)"`', "")
    assert "--format password" in text
    assert "password (the password alone" in text


# What a reader cannot resolve: the project's own history (sessions, issue numbers, "before").
HISTORY = re.compile(
    r"\b(this session|the session's|previous issue|before this (work|session|change)|"
    r"\(issue \d+\)|since session|used to (be|do|say))\b",
    re.IGNORECASE,
)


def test_no_development_history_in_the_help_the_readme_or_the_docs() -> None:
    commands = [c.name for c in app.registered_commands if not c.hidden]
    texts = {f"dbaccess {c} --help": help_of(str(c)) for c in commands}
    texts["README.md"] = (ROOT / "README.md").read_text()
    texts.update({str(page): page.read_text() for page in (ROOT / "docs").rglob("*.md")})
    found = {where: m.group(0) for where, text in texts.items() if (m := HISTORY.search(text))}
    assert found == {}
