"""Build the credential issuer Lambda's code zip and dependency layer, reproducibly.

    python scripts/package_issuer.py                 # for Lambda: python3.13 on arm64
    python scripts/package_issuer.py --native        # for this machine (the packaging test)

The code zip holds only the dbaccess modules the handlers import (read from the code); the
layer holds the third-party wheels (binary wheels only, for the target platform) under
`python/`. boto3 and botocore come from the Lambda runtime: they alone are larger than every
other dependency together. Same inputs, same bytes: entries sorted, timestamps fixed, no bytecode.
Needs PyPI (or a pip index configured through PIP_INDEX_URL) for the layer.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess.cli.exit_codes import ExitCode  # noqa: E402 - after the path is set
from dbaccess.issuer import CODE_ZIP, LAYER_ZIP  # noqa: E402

# The Lambdas' entry points: the code zip holds what they import, found by reading the code
# (every `import` of a dbaccess module, at module level or inside a function), so a module a
# handler starts to use is shipped without anyone listing it. The packaging test proves the
# handlers import from the zip alone.
HANDLERS = ("dbaccess.issuer.handler", "dbaccess.reaper.handler")


def _module_file(module: str) -> Path | None:
    path = ROOT / module.replace(".", "/")
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(module: str, file: Path) -> set[str]:
    """The dbaccess modules `file` imports: `import a.b`, `from a import b` (b may be a module),
    relative imports resolved against `module`."""
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "dbaccess" and _module_file(name)}


def shipped_modules(roots: Iterable[str] = HANDLERS) -> list[str]:
    """The handlers and every dbaccess module they import, transitively, with the packages
    that hold them (Python runs each package's __init__ on the way)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[:n])
            if name in seen:
                continue
            seen.add(name)
            file = _module_file(name)
            if file is None:
                raise SystemExit(f"{name} is imported by the Lambdas but not found under {ROOT}")
            todo.extend(_imported(name, file) - seen)
    return sorted(seen)


def code_files() -> list[str]:
    """The code zip's entries: each shipped module's file, and the package's typing marker."""
    files = {"dbaccess/py.typed"}
    for module in shipped_modules():
        file = _module_file(module)
        assert file is not None  # shipped_modules checked it
        files.add(file.relative_to(ROOT).as_posix())
    return sorted(files)


LAMBDA_PLATFORM = ("manylinux2014_aarch64", "3.13")
# The Lambda python runtime ships these; the layer leaves them out.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "dateutil", "six", "urllib3")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say


def layer_requirements() -> list[str]:
    """The `lambda` extra of pyproject.toml at requirements.txt's pins (the one lock); their
    own dependencies are resolved by pip."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~ \[;]", spec, maxsplit=1)[0].lower() for spec in extra["lambda"]}
    lock = (ROOT / "requirements.txt").read_text().splitlines()
    pins = [line.strip() for line in lock if line.partition("==")[0].strip().lower() in names]
    if len(pins) != len(names):
        raise SystemExit(f"requirements.txt must pin each of {sorted(names)} with ==")
    return pins


def _files(base: Path, entries: Iterable[str]) -> list[tuple[Path, str]]:
    found = []
    for entry in entries:
        path = base / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(base)
            if "__pycache__" in relative.parts or file.suffix == ".pyc":
                continue
            found.append((file, relative.as_posix()))
    return sorted(found, key=lambda item: item[1])


def write_zip(destination: Path, files: list[tuple[Path, str]]) -> Path:
    """A zip whose bytes depend only on the files' names, contents and modes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for source, name in files:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            executable = source.stat().st_mode & 0o111
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return destination


def build_code(out: Path) -> Path:
    return write_zip(out, _files(ROOT, code_files()))


def build_layer(out: Path, *, native: bool = False, python: str = sys.executable) -> Path:
    platform_args: list[str] = []
    if not native:
        platform, version = LAMBDA_PLATFORM
        platform_args = [
            "--platform",
            platform,
            "--python-version",
            version,
            "--implementation",
            "cp",
        ]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "python"
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--only-binary=:all:",
                *platform_args,
                "--target",
                str(target),
                *layer_requirements(),
            ],
            check=True,
        )
        # Console scripts carry this machine's interpreter path; the Lambda runs none.
        files = [
            (path, name)
            for path, name in _files(Path(tmp), ["python"])
            if not name.startswith("python/bin/")
        ]
        return write_zip(out, files)


def unpack_like_lambda(code: Path, layer: Path, root: Path) -> list[Path]:
    """Unpack `code` and `layer` as Lambda does (/var/task, /opt) under `root`, beside this
    interpreter's copy of the SDK the runtime provides; return the import path, in order."""
    task, opt, runtime = root / "task", root / "opt", root / "runtime"
    zipfile.ZipFile(code).extractall(task)
    zipfile.ZipFile(layer).extractall(opt)
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed here; the Lambda runtime provides it")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
    return [task, opt / "python", runtime]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--native", action="store_true", help="wheels for this machine instead")
    parser.add_argument("--code", type=Path, default=ROOT / CODE_ZIP, help="code zip to write")
    parser.add_argument("--layer", type=Path, default=ROOT / LAYER_ZIP, help="layer zip to write")
    parser.add_argument("--skip-layer", action="store_true", help="only the code zip")
    args = parser.parse_args(argv)
    print(f"code:  {build_code(args.code)}")
    if not args.skip_layer:
        print(f"layer: {build_layer(args.layer, native=args.native)}")
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
