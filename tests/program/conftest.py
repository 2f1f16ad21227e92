"""Run the whole program (__main__.py) under Pulumi's mock engine, as `make preview` does."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbaccess.cli.preview_engine import OfflineMocks, ProgramRun, Registration, run_program
from dbaccess.stack.file import StackConfig, load_stack_config

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 23)


def fake_resource_id(kind: str, identifier: str) -> str:
    """What AWS would answer for a lookup, made up but shaped like the real ids."""
    prefix = "db-" if kind == "instance" else "cluster-"
    return prefix + identifier.upper().replace("-", "")


def stack_config(access_file: Path | None = None, **overrides: object) -> StackConfig:
    """The prod stack's settings, optionally pointing at another access file."""
    config = load_stack_config(ROOT, "prod")
    values = dict(config.values)
    raw = dict(config.raw_settings)
    if access_file is not None:
        values["dbaccess:accessFile"] = str(access_file)
        raw["accessFile"] = str(access_file)
    for key, value in overrides.items():
        values[f"dbaccess:{key}"] = str(value)
        raw[key] = value
    return dataclasses.replace(config, values=values, raw_settings=raw)


@dataclasses.dataclass(frozen=True)
class Program:
    run: ProgramRun

    @property
    def resources(self) -> list[Registration]:
        return self.run.registrations

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"{len(matches)} resources named {name}"
        return matches[0]

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == token]


ProgramRunner = Callable[..., Program]


@pytest.fixture
def run_sample() -> ProgramRunner:
    def run(config: StackConfig | None = None, today: dt.date = TODAY) -> Program:
        return Program(
            run_program(ROOT, config or stack_config(), OfflineMocks(fake_resource_id), today=today)
        )

    return run


def load_pickled_provider(provider: Any, directory: Path, *prints: str) -> tuple[list[str], bytes]:
    """A dynamic resource's pickled provider (its `__provider` input), loaded where `pulumi up`
    later runs it: a fresh Python in the project directory. Returns what `prints` (expressions
    over the loaded provider `p`) print there, one line each, and the pickled bytes."""
    # Pulumi stores the pickled provider as a secret: {<secret signature>: ..., "value": ...}.
    pickled = provider["value"] if isinstance(provider, dict) else provider
    blob = directory / "provider.b64"
    blob.write_text(pickled)
    check = "import base64, sys, dill\np = dill.loads(base64.b64decode(open(sys.argv[1]).read()))\n"
    check += "".join(f"print({expression})\n" for expression in prints)
    proc = subprocess.run(
        [sys.executable, "-c", check, str(blob)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), base64.b64decode(pickled)
