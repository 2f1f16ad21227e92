"""Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI reads them: `config:`, namespaced keys,
secure values; and the whole stack configuration as the Pulumi CLI hands it to a program.

Only the file's shape is checked here (any other shape is refused at its line); what the
`dbaccess:*` values mean is dbaccess/stack/settings.py's job.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from dbaccess.access.errors import InvalidInput, Problem, shown
from dbaccess.access.report import Reporter
from dbaccess.access.schema import region_problem
from dbaccess.access.source import Path, SourceMap, parse_yaml, read_text
from dbaccess.stack.settings import Secret

SECRET = "[secret]"
NAMESPACE = "dbaccess:"


def read_stack_config(data: Any, source: SourceMap) -> dict[str, Any]:
    """The `config:` of a parsed Pulumi.<stack>.yaml, "namespace:key" -> value, checked.

    `{secure: <ciphertext>}` values become Secret. Any other shape than Pulumi's (a list at
    the top, `config:` a list, keys that are not text, dates, a secure value that is not
    ciphertext) raises InvalidInput at its line; `aws:region` must be a known region.
    """
    reporter = Reporter(source)
    if not isinstance(data, dict):
        reporter.report(
            (),
            "a stack file is a mapping with `config:`, got "
            + ("a list" if isinstance(data, list) else "something else"),
            "write `config:` and the settings under it (see docs/reference/settings.md)",
        )
        raise InvalidInput(reporter.problems)
    config = data.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        reporter.report(
            ("config",),
            "`config:` must be a mapping of settings",
            "write one `namespace:key: value` line per setting under `config:`",
        )
        raise InvalidInput(reporter.problems)
    result: dict[str, Any] = {}
    for key, value in config.items():
        path: Path = ("config", key)
        if not isinstance(key, str):
            reporter.report(
                path,
                f"setting name {shown(key)} is not text",
                "settings are named `namespace:key`, e.g. dbaccess:connectionLimit",
                at_key=True,
            )
        elif isinstance(value, dict) and "secure" in value:
            ciphertext = value["secure"]
            if set(value) != {"secure"} or not isinstance(ciphertext, str) or not ciphertext:
                reporter.report(
                    path,
                    f"secret setting '{shown(key)}' must be `secure: <ciphertext>` alone",
                    "the stack file holds no secret: store it in Secrets Manager and set its ARN "
                    "(docs/how-to/rotate-secrets.md)",
                )
            else:
                result[key] = Secret()
        elif _plain_data(value, path, reporter):
            result[key] = value
    region = result.get("aws:region")
    if region is not None:
        problem = (
            region_problem(region)
            if isinstance(region, str)
            else (f"'{shown(region)}' is not an AWS region", "write e.g. eu-west-1")
        )
        if problem is not None:
            reporter.report(("config", "aws:region"), *problem)
    if reporter.problems:
        raise InvalidInput(reporter.problems)
    return result


def _plain_data(value: Any, path: Path, reporter: Reporter) -> bool:
    """True when value is what Pulumi hands programs (JSON: text, numbers, lists, maps)."""
    if isinstance(value, dict):
        ok = True
        for key, item in value.items():
            if not isinstance(key, str):
                reporter.report(
                    (*path, key),
                    f"key {shown(key)} is not text",
                    "quote the key",
                    at_key=True,
                )
                ok = False
            ok = _plain_data(item, (*path, key), reporter) and ok
        return ok
    if isinstance(value, list):
        # Every item is checked (no short cut): each bad one is reported.
        found = [_plain_data(item, (*path, i), reporter) for i, item in enumerate(value)]
        return all(found)
    if value is None or isinstance(value, str | int | float | bool):
        return True
    written = value.isoformat() if isinstance(value, dt.date) else value
    reporter.report(
        path,
        f"{shown(written)} is a {type(value).__name__}, which a setting cannot hold",
        "quote it to make it text",
    )
    return False


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]  # "namespace:key" -> the text Pulumi hands a program
    secret_keys: list[str]
    source: SourceMap
    raw_settings: dict[str, Any] = field(default_factory=dict)


def load_stack_config(program_dir: FilePath, stack: str) -> StackConfig:
    """Read Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would hand them over."""
    project_file = program_dir / "Pulumi.yaml"
    stack_file = program_dir / f"Pulumi.{stack}.yaml"
    problems: list[Problem] = []
    files = {}
    for path in (project_file, stack_file):
        fix = (
            "run from the project directory (the one with Pulumi.yaml)"
            if path == project_file
            else f"create {path.name} or pass --stack with an existing stack"
        )
        try:
            text = read_text(path, fix)
        except InvalidInput as exc:
            problems += exc.problems
            continue
        data, source, found = parse_yaml(text, path.name)
        problems += found
        files[path] = (data, source)
    if problems:
        raise InvalidInput(problems)
    project, _ = files[project_file]
    data, source = files[stack_file]
    values: dict[str, str] = {}
    secrets: list[str] = []
    raw: dict[str, Any] = {}
    for key, value in read_stack_config({} if data is None else data, source).items():
        if isinstance(value, Secret):
            values[key] = SECRET
            secrets.append(key)
            shown: Any = Secret()
        elif isinstance(value, dict | list):
            values[key] = json.dumps(value)
            shown = value
        else:
            values[key] = json.dumps(value) if isinstance(value, bool) else str(value)
            shown = value
        if key.startswith(NAMESPACE):
            raw[key.removeprefix(NAMESPACE)] = shown
    name = project.get("name") if isinstance(project, dict) else None
    return StackConfig(str(name or "dbaccess"), stack, values, secrets, source, raw)
