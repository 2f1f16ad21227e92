"""`make package`: the issuer's code zip and layer, and a fresh interpreter that imports the
handler from them alone (plus the AWS SDK, which the Lambda runtime provides)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts.package_issuer import (
    HANDLERS,
    build_code,
    build_layer,
    shipped_modules,
    unpack_like_lambda,
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_code_zip_is_reproducible_and_holds_only_the_issuers_modules(tmp_path: Path) -> None:
    # WHEN the code zip is built twice
    first = build_code(tmp_path / "a" / "code.zip")
    second = build_code(tmp_path / "b" / "code.zip")

    # THEN the bytes are the same, entries sorted, timestamps fixed, no bytecode, no CLI
    assert sha256(first) == sha256(second)
    infos = zipfile.ZipFile(first).infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert "dbaccess/issuer/handler.py" in names
    assert not [n for n in names if n.endswith(".pyc") or n.startswith(("dbaccess/cli/", "tests/"))]


def test_what_ships_is_read_from_the_code_and_covers_what_the_handlers_load() -> None:
    """No hand list: the modules a fresh interpreter loads when it imports the handlers (those
    inside functions load later, so the static reading finds more, never fewer) all ship, and
    nothing of the CLI, the bot, audit or the program does."""
    code = (
        "import sys, importlib\n"
        f"for name in {list(HANDLERS)!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'dbaccess')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    shipped = shipped_modules()
    assert set(loaded) <= set(shipped)
    left_out = ("dbaccess.cli", "dbaccess.bot", "dbaccess.audit", "dbaccess.postgres")
    assert not [m for m in shipped if m.startswith(tuple(f"{p}." for p in left_out))]
    assert not set(shipped) & set(left_out)


@pytest.mark.slow
def test_the_handler_imports_from_the_zip_and_layer_alone(tmp_path: Path) -> None:
    # GIVEN the code and a layer built for this machine, unpacked as Lambda does
    # (/var/task and /opt), and the AWS SDK the runtime provides
    code = build_code(tmp_path / "code.zip")
    layer = build_layer(tmp_path / "layer.zip", native=True)
    task, layer_path, runtime = unpack_like_lambda(code, layer, tmp_path)

    # WHEN a fresh interpreter without site-packages imports the handlers (issuer and reaper
    # ship the same code and layer)
    probe = f"""
import sys
sys.path[:0] = [{str(task)!r}, {str(layer_path)!r}, {str(runtime)!r}]
import dbaccess.reaper.handler as reaper
import dbaccess.issuer.handler as handler
assert callable(handler.lambda_handler) and callable(reaper.lambda_handler)
allowed = (sys.base_prefix, {str(tmp_path)!r})
foreign = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not module.__file__.startswith(allowed)
)
print("foreign:", foreign)
print("dbaccess from:", handler.__file__)
print("reaper from:", reaper.__file__)
"""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False
    )

    # THEN it imports, every module from the zip, the layer, the runtime SDK or the stdlib
    assert result.returncode == 0, result.stderr
    assert "foreign: []" in result.stdout
    assert f"dbaccess from: {task}/dbaccess/issuer/handler.py" in result.stdout
    assert f"reaper from: {task}/dbaccess/reaper/handler.py" in result.stdout
