"""deploy.yml's fast path: a push that changes only access.yaml since the last successful
deploy skips the suite and goes straight to validation and `pulumi up`; any other change runs
the full suite first. The decision comes from git and GitHub's record of the workflow's runs
(scripts/deploy-scope.sh), never from anything a pull request writes.

The jobs' `if:` expressions are evaluated for each outcome GitHub can give them (the few
operators they use, with GitHub's meaning); the script runs against real git repositories with
a stand-in for the `gh` CLI that checks the API query it is given.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.git_repo import git
from tests.unit.test_workflows import ROOT, load

SCRIPT = ROOT / "scripts" / "deploy-scope.sh"
VENV_FILES = "hashFiles('requirements.txt', 'requirements-dev.txt', 'pyproject.toml')"


def jobs() -> dict[str, Any]:
    return dict(load("deploy.yml")["jobs"])


def runs(job: dict[str, Any]) -> list[str]:
    return [step.get("run") or step["uses"].split("@")[0] for step in job["steps"]]


def evaluate(expression: str, values: dict[str, str]) -> bool:
    """A job's `if:` for these `needs` values, not cancelled. GitHub ANDs an implicit
    success() into an expression without a status function: a failed need skips the job."""
    text = expression.strip().removeprefix("${{").removesuffix("}}")
    implicit_success = not re.search(r"\b(always|cancelled|failure|success)\(\)", text)
    text = text.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(name, repr(value))
    assert "needs." not in text, text
    assert "!" not in text.replace("!=", ""), text
    result = bool(eval(text, {"__builtins__": {}}))  # noqa: S307 - our own file, checked above
    if implicit_success:
        result = result and all(v == "success" for k, v in values.items() if k.endswith(".result"))
    return result


def needs(scope: str, access_only: str, test: str) -> dict[str, str]:
    return {
        "needs.scope.result": scope,
        "needs.scope.outputs.access-only": access_only,
        "needs.test.result": test,
    }


@pytest.mark.parametrize(
    ("scope", "access_only", "test", "deploys"),
    [
        pytest.param("success", "true", "skipped", True, id="access-yaml-only-skips-the-suite"),
        pytest.param("success", "false", "success", True, id="code-change-after-the-suite"),
        pytest.param("success", "false", "failure", False, id="code-change-suite-failed"),
        pytest.param("success", "false", "cancelled", False, id="code-change-suite-cancelled"),
        pytest.param("success", "false", "skipped", False, id="code-change-suite-skipped"),
        pytest.param("success", "", "skipped", False, id="no-decision-no-suite"),
        pytest.param("failure", "", "skipped", False, id="scope-failed"),
        pytest.param("success", "true", "failure", False, id="a-failed-suite-always-stops"),
    ],
)
def test_deploy_runs_after_the_suite_or_without_it_for_access_yaml_alone(
    scope: str, access_only: str, test: str, deploys: bool
) -> None:
    deploy = jobs()["deploy"]
    assert set(deploy["needs"]) == {"scope", "test"}
    assert evaluate(deploy["if"], needs(scope, access_only, test)) is deploys


@pytest.mark.parametrize(
    ("access_only", "suite_runs"),
    [("true", False), ("false", True), ("", True), ("TRUE", True)],
)
def test_the_suite_runs_unless_the_scope_said_access_yaml_only(
    access_only: str, suite_runs: bool
) -> None:
    test = jobs()["test"]
    assert test["needs"] == "scope"
    values = {"needs.scope.result": "success", "needs.scope.outputs.access-only": access_only}
    assert evaluate(test["if"], values) is suite_runs
    # ... and never when the scope job itself failed (GitHub skips the job)
    assert evaluate(test["if"], values | {"needs.scope.result": "failure"}) is False


def test_the_suite_is_its_own_job_and_the_deploy_validates_before_pulumi_up() -> None:
    test, deploy = jobs()["test"], jobs()["deploy"]
    assert "make test" in runs(test)
    assert "make test" not in runs(deploy)
    order = runs(deploy)
    validate = ".venv/bin/dbaccess validate access.yaml"
    assert order.index("make package") < order.index(validate) < order.index("pulumi/actions")
    # The suite needs no credential: a GitHub-hosted runner, read-only.
    assert test["runs-on"] == "ubuntu-latest"
    assert test["permissions"] == {"contents": "read"}
    assert "environment" not in test


def test_the_scope_is_decided_from_git_and_the_workflows_own_runs() -> None:
    scope = jobs()["scope"]
    assert scope["runs-on"] == "ubuntu-latest"
    assert scope["permissions"] == {"contents": "read", "actions": "read"}
    assert "environment" not in scope
    checkout, decide = scope["steps"]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    assert decide["run"] == 'bash scripts/deploy-scope.sh >> "$GITHUB_OUTPUT"'
    assert decide["env"] == {"GH_TOKEN": "${{ github.token }}"}
    assert scope["outputs"] == {"access-only": "${{ steps.scope.outputs.access-only }}"}
    # Nothing from the event a pull request could have written (title, branch, messages).
    assert "github.event" not in json.dumps(scope)
    assert "github.head_ref" not in json.dumps(scope)


def test_the_deploy_reuses_a_virtualenv_keyed_on_python_and_requirements() -> None:
    steps = jobs()["deploy"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".venv"
    key = cache["with"]["key"]
    assert f"steps.{python['id']}.outputs.python-version" in key  # the venv links to it
    assert VENV_FILES in key
    reuse = next(
        s for s in steps if s.get("if") == f"steps.{cache['id']}.outputs.cache-hit == 'true'"
    )
    assert reuse["run"].endswith("touch .venv/.installed")
    order = runs(jobs()["deploy"])
    assert order.index("actions/cache") < order.index("make .venv/.installed")


# --- scripts/deploy-scope.sh against real git -------------------------------------------------


def commit(repo: Path, files: dict[str, str | None], message: str) -> str:
    for path, text in files.items():
        if text is None:
            git(repo, "rm", "-q", path)
        else:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
            git(repo, "add", path)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def scope(repo: Path, tmp_path: Path, head: str, last: str | None) -> tuple[str, str]:
    """(what the script printed, what it logged); `last`: what GitHub says was deployed
    successfully last (None: the API call fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # The `gh` stand-in answers only the query the script must make.
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        '  "repos/example-org/access/actions/workflows/deploy.yml/runs?branch=main&event=push'
        '&status=success&per_page=1") ;;\n'
        '  *) echo "unexpected query $2" >&2; exit 1 ;;\n'
        "esac\n"
        '[ "$3" = "--jq" ] || exit 1\n'
        '[ -n "$FAKE_LAST" ] || exit 1\n'
        'echo "$FAKE_LAST"\n'
    )
    (bin_dir / "gh").chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "example-org/access",
        "GITHUB_SHA": head,
        "FAKE_LAST": "" if last is None else last,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout, done.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def test_access_yaml_alone_since_the_last_deploy_is_the_fast_path(
    repo: Path, tmp_path: Path
) -> None:
    deployed = commit(repo, {"access.yaml": "a\n", "dbaccess/x.py": "x = 1\n"}, "deployed")
    commit(repo, {"access.yaml": "a\nb\n"}, "grant one")
    head = commit(repo, {"access.yaml": "a\nb\nc\n"}, "grant another")

    out, said = scope(repo, tmp_path, head, deployed)

    assert out == "access-only=true\n"
    assert "only access.yaml changed" in said


def test_a_code_change_since_the_last_deploy_runs_the_suite(repo: Path, tmp_path: Path) -> None:
    # A code change whose deploy never succeeded (failed, or replaced while pending), then an
    # access.yaml change: the push's own before..after would show access.yaml alone.
    deployed = commit(repo, {"access.yaml": "a\n", "dbaccess/x.py": "x = 1\n"}, "deployed")
    commit(repo, {"dbaccess/x.py": "x = 2\n"}, "untested code")
    head = commit(repo, {"access.yaml": "a\nb\n"}, "grant")

    out, said = scope(repo, tmp_path, head, deployed)

    assert out == "access-only=false\n"
    assert "dbaccess/x.py" in said


def test_a_file_renamed_to_access_yaml_runs_the_suite(repo: Path, tmp_path: Path) -> None:
    deployed = commit(repo, {"code.py": "import os\n" * 20}, "deployed")
    git(repo, "mv", "code.py", "access.yaml")
    head = commit(repo, {}, "rename")

    out, _ = scope(repo, tmp_path, head, deployed)

    assert out == "access-only=false\n"


@pytest.mark.parametrize(
    "last",
    [
        pytest.param(None, id="github-api-failed"),
        pytest.param("", id="no-successful-deploy-yet"),
        pytest.param("not-a-sha; echo access-only=true", id="garbage-from-the-api"),
        pytest.param("0" * 40, id="unknown-commit"),
    ],
)
def test_any_doubt_runs_the_suite(repo: Path, tmp_path: Path, last: str | None) -> None:
    commit(repo, {"access.yaml": "a\n"}, "first")
    head = commit(repo, {"access.yaml": "a\nb\n"}, "grant")

    out, _ = scope(repo, tmp_path, head, last if last != "" else None)

    assert out == "access-only=false\n"


def test_a_rewritten_history_runs_the_suite(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"access.yaml": "a\n"}, "first")
    git(repo, "checkout", "-q", "-b", "old")
    elsewhere = commit(repo, {"access.yaml": "a\nold\n"}, "force-pushed away")
    git(repo, "checkout", "-q", "main")
    head = commit(repo, {"access.yaml": "a\nb\n"}, "grant")

    out, said = scope(repo, tmp_path, head, elsewhere)

    assert out == "access-only=false\n"
    assert "not an ancestor" in said
