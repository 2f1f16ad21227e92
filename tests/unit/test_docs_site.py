"""The documentation site builds strictly (a broken link, anchor or missing page fails),
offline, with its reference pages generated from the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(tmp_path: Path, config: Path = ROOT / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(config),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_site_builds_strictly_with_the_generated_reference(tmp_path: Path) -> None:
    result = build(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text()
    # Every command of the Typer app has its help on the page.
    for command in ("validate", "preview", "connect", "sweep", "iam-policy", "approvals"):
        assert f"dbaccess {command}" in cli
    policies = (site / "reference" / "iam-policies" / "index.html").read_text()
    assert "dbaccess-boundary" in policies
    assert "rds-db:connect" in policies
    assert (
        "DBACCESS_REQUEST_TABLE" in (site / "reference" / "environment" / "index.html").read_text()
    )
    # Offline: the theme is told not to fetch fonts, so no page links Google Fonts.
    assert "fonts.googleapis.com" not in (site / "index.html").read_text()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the missing page](missing.md).\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"site_name: t\ndocs_dir: {docs}\nstrict: true\ntheme: {{name: material, font: false}}\n"
    )
    result = build(tmp_path, config)
    assert result.returncode != 0
    assert "missing.md" in result.stderr
