"""An engineer's install: the wheel alone, in an empty virtualenv, without the dev requirements.

GIVEN the package built as a wheel and installed into a fresh virtualenv (pip resolves the core
dependencies from its configured index, at requirements.txt's pins),
WHEN an engineer without AWS credentials runs the CLI against the example catalog it ships,
THEN help, list and the offline checks of token work, and token stops at the AWS step with
how to log in.

Needs what `pipx install` needs: pip's index (PyPI or the mirror pip is configured with), which
`make .venv/.installed` needs too. Nothing from .venv is reused but the interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOG = "example"  # the catalog shipped in the package: no checkout needed
FATIMA = "fatima.zahra@example.com"  # orders (read-only) in the sample

pytestmark = pytest.mark.slow


def _run(
    argv: list[str], *, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)


def _checked(argv: list[str]) -> None:
    done = _run(argv)
    assert done.returncode == 0, f"{argv[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("install")
    # Build from a copy of the sources, so the build leaves nothing in the work tree.
    source = work / "src"
    shutil.copytree(
        ROOT / "dbaccess", source / "dbaccess", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    _checked(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(work / "dist"),
            str(source),
        ]
    )
    (wheel,) = (work / "dist").glob("dbaccess-*.whl")
    venv = work / "venv"
    _checked([sys.executable, "-m", "venv", str(venv)])
    _checked(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
         "--constraint", str(ROOT / "requirements.txt"), str(wheel)]
    )  # fmt: skip
    return venv / "bin"


@pytest.fixture
def no_aws(tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS credentials anywhere, no config, and no instance metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DBACCESS_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def test_the_core_install_has_no_pulumi_slack_or_powertools(venv_bin: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('pulumi', 'slack_bolt', 'aws_lambda_powertools') if u.find_spec(m)])"
    done = _run([str(venv_bin / "python"), "-c", probe])
    assert done.stdout.strip() == "[]", done.stderr


def test_help_lists_the_engineer_commands(venv_bin: Path, no_aws: dict[str, str]) -> None:
    done = _run([str(venv_bin / "dbaccess"), "--help"], env=no_aws)
    assert done.returncode == 0, done.stderr
    for command in ("list", "token", "connect", "validate"):
        assert command in done.stdout


def test_list_reads_the_example_catalog_without_aws(venv_bin: Path, no_aws: dict[str, str]) -> None:
    argv = [str(venv_bin / "dbaccess"), "list", "--catalog", str(CATALOG), "--email", FATIMA]
    done = _run(argv, env=no_aws)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[:2] == ["DATABASE", "ACCESS"]
    assert any(line.split()[:2] == ["orders", "read-only"] for line in done.stdout.splitlines())


@pytest.mark.parametrize(
    ("database", "exit_code", "says"),
    [
        # The catalog answers a typo before AWS is asked anything.
        ("ordrs", 2, "unknown database 'ordrs'; did you mean 'orders'?"),
        # A real grant: as far as the AWS step, which says how to log in.
        ("orders", 1, "Log in to AWS first"),
    ],
)
def test_token_offline_up_to_the_aws_step(
    venv_bin: Path, no_aws: dict[str, str], database: str, exit_code: int, says: str
) -> None:
    argv = [str(venv_bin / "dbaccess"), "token", database, "--catalog", str(CATALOG)]
    done = _run([*argv, "--email", FATIMA], env=no_aws)
    assert done.returncode == exit_code
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_preview_without_the_program_extra_says_how_to_add_it(
    venv_bin: Path, no_aws: dict[str, str]
) -> None:
    done = _run([str(venv_bin / "dbaccess"), "preview", "--program-dir", str(ROOT)], env=no_aws)
    assert done.returncode == 1
    assert "needs its SDKs (not installed)" in done.stderr
    assert "dbaccess[program]" in done.stderr
    assert "Traceback" not in done.stderr
