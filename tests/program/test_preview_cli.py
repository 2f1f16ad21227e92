"""`make preview` as a user runs it: `dbaccess preview --stack prod`, checked against a golden file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.program.conftest import ROOT

GOLDEN = Path(__file__).parent / "golden" / "preview.txt"


def preview(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbaccess", "preview", "--stack", "prod", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_preview_of_the_sample_matches_the_golden_file() -> None:
    result = preview("--date", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert result.stdout == GOLDEN.read_text()


def test_preview_json_lists_every_resource_with_its_parent() -> None:
    result = preview("--date", "2026-11-23", "--format", "json")
    document = json.loads(result.stdout)
    assert document["summary"] == {"create": 170}
    parents = {(r["type"], r["name"]): r["parent"] for r in document["resources"]}
    assert parents["aws:iam/role:Role", "hugo.henley@example.com-123456789012-role"] == (
        "hugo.henley@example.com-123456789012"
    )
    assert document["outputs"]["counts"]["grants"] == 19


def copy_project(tmp_path: Path) -> Path:
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.prod.yaml", "access.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "components", tmp_path / "components")
    return tmp_path


def test_invalid_access_file_prints_only_the_errors_and_exits_2(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    access = project / "access.yaml"
    access.write_text(access.read_text().replace("port: 5439", "port: 99999"))
    result = preview(cwd=project)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "access.yaml:56:11: port 99999 is outside 1–65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_settings_are_reported_at_their_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    stack = project / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text().replace("dbaccess:connectionLimit: 10", "dbaccess:conectionLimit: 10")
    )
    result = preview(cwd=project)
    assert result.returncode == 2
    assert (
        "Pulumi.prod.yaml:12:3: unknown setting 'dbaccess:conectionLimit' "
        "(did you mean 'connectionLimit'?)" in result.stderr
    )


def test_a_principal_allowed_by_the_flag_is_warned_about_in_the_preview(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    stack = project / "Pulumi.prod.yaml"
    ordinary = "arn:aws:iam::123456789012:role/DataEngineers"
    stack.write_text(
        stack.read_text().replace(
            "  dbaccess:extraTrustedPrincipals:\n",
            f"  dbaccess:allowAnyTrustedPrincipal: true\n  dbaccess:extraTrustedPrincipals:\n"
            f"    - {ordinary}\n",
        )
    )
    result = preview(cwd=project)
    assert result.returncode == 0, result.stderr
    assert (
        f"Warning: dbaccess:extraTrustedPrincipals names {ordinary}, which is not an IAM "
        "Identity Center role" in result.stdout
    )
    # Without the flag the same stack is refused.
    stack.write_text(stack.read_text().replace("  dbaccess:allowAnyTrustedPrincipal: true\n", ""))
    refused = preview(cwd=project)
    assert refused.returncode == 2
    assert "is not an IAM Identity Center role" in refused.stderr
