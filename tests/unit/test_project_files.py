"""The Pulumi project files agree with the settings the program reads."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from dbaccess.stack.settings import SETTING_KEYS, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_declared_with_a_description_and_its_default() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "dbaccess"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    declared = project["config"]
    assert sorted(declared) == sorted(SETTING_KEYS)
    for key, declaration in declared.items():
        assert declaration["description"].strip(), key
        if "default" in declaration:
            default = Settings.model_fields[key].default
            assert declaration["default"] == default, key


def test_the_prod_stack_sets_only_known_settings_and_holds_no_secret() -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    stack = yaml.safe_load(text)["config"]
    ours = {k.removeprefix("dbaccess:") for k in stack if k.startswith("dbaccess:")}
    assert ours <= set(SETTING_KEYS)
    # Secrets live in Secrets Manager: the stack names them by ARN, never holds a value.
    assert "secure:" not in text
    for key in ("slackBotTokenSecretArn", "slackAppTokenSecretArn"):
        assert stack[f"dbaccess:{key}"].startswith("arn:aws:secretsmanager:")


def _declared() -> dict[str, list[Requirement]]:
    """pyproject.toml's dependencies: the core and each extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(spec) for spec in specs] for group, specs in groups.items()}


def _lock() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(pin.name): pin for pin in pins}


def test_requirements_txt_pins_exactly_what_pyproject_declares_inside_its_ranges() -> None:
    lock = _lock()
    declared = {canonicalize_name(r.name): r for reqs in _declared().values() for r in reqs}
    assert sorted(lock) == sorted(declared), "same packages in requirements.txt and pyproject"
    for name, pin in lock.items():
        (spec,) = pin.specifier
        assert spec.operator == "==", f"requirements.txt pins {name} with =="
        for group, reqs in _declared().items():
            for req in reqs:
                if canonicalize_name(req.name) == name:
                    assert req.specifier.contains(spec.version), f"{name} pin outside [{group}]"


def test_an_engineers_install_pulls_no_pulumi_slack_or_lambda_packages() -> None:
    core = {canonicalize_name(r.name) for r in _declared()["core"]}
    assert core == {"typer", "boto3", "pydantic", "pyyaml"}


def test_make_help_lists_every_phony_target_with_what_it_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (phony,) = re.findall(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)
    shown = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, check=True
    ).stdout
    listed = dict(re.findall(r"^  make (\S+)\s+(.+)$", shown, re.MULTILINE))
    assert sorted(listed) == sorted(phony.split())
    assert all(listed.values())


def test_make_test_runs_the_linters_and_the_type_checker() -> None:
    # CI runs `make test` only, so mypy has to be on its path.
    dry = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "test"], capture_output=True, text=True, check=True
    ).stdout
    for tool in ("ruff check .", "ruff format --check .", "mypy", "pytest"):
        assert tool in dry, tool
