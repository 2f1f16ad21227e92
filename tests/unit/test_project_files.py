"""The Pulumi project files agree with the settings the program reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from dbaccess.settings import SETTING_KEYS, Settings

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


def test_the_prod_stack_sets_only_known_settings_and_no_plain_secrets() -> None:
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    ours = {k.removeprefix("dbaccess:") for k in stack if k.startswith("dbaccess:")}
    assert ours <= set(SETTING_KEYS)
    for key in ("slackAppToken", "slackBotToken"):
        assert set(stack[f"dbaccess:{key}"]) == {"secure"}
