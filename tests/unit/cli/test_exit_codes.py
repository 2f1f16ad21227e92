"""One `ExitCode` for every command: the reference page is generated from it, and no command
exits with a number of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from dbaccess.cli.exit_codes import ExitCode
from tests.program.conftest import ROOT


def test_the_codes_keep_their_numbers() -> None:
    # Scripts and CI steps test these numbers: they never change.
    assert [(c.name, int(c)) for c in ExitCode] == [("OK", 0), ("FAILED", 1), ("INVALID_INPUT", 2)]


def test_the_reference_page_lists_every_code_with_its_meaning(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "gen_reference.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, cwd=ROOT)
    page = (tmp_path / "reference" / "exit-codes.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} | `{code.name}` | {code.meaning} |" in page


def _literal_exits(file: Path) -> list[str]:
    """`typer.Exit(<number>)`, `SystemExit(<number>)`, `sys.exit(<number>)`, `return <number>`
    in main(), and `exit_code=<number>`: codes written as numbers."""
    found = []
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            values = [
                *node.args[:1],
                *(k.value for k in node.keywords if k.arg in ("code", "exit_code")),
            ]
            if name.endswith(("Exit", "exit", "EngineerError")) or name == "SystemExit":
                found += [
                    f"{file.name}:{node.lineno}"
                    for v in values
                    if isinstance(v, ast.Constant) and type(v.value) is int
                ]
    return found


def test_no_command_or_script_exits_with_a_number_of_its_own() -> None:
    files = [*(ROOT / "dbaccess" / "cli").glob("*.py"), *(ROOT / "scripts").glob("*.py")]
    assert [hit for f in files for hit in _literal_exits(f)] == []
