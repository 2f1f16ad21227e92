"""The real PrivateBin server for tests: its unmodified source under PHP's built-in web server.

No registry ships the server, so the source archive sits beside the repository
(`../shared/privatebin/privatebin-<version>.tar.gz`, see its README there). Point
DBACCESS_PRIVATEBIN_SOURCE at another archive, a folder holding one, or an unpacked source
folder. Without a source or without `php` the tests that need it skip, saying how to get it
(`make test` installs php-cli: scripts/ensure-php.sh).

    with PrivateBinServer(tmp_path, limit=0) as server:
        PrivateBin(server.url).share("text")
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import pytest

from tests.throwaway import free_port

ROOT = Path(__file__).resolve().parents[1]
SOURCE_VAR = "DBACCESS_PRIVATEBIN_SOURCE"
DEFAULT_SOURCE = ROOT.parent / "shared" / "privatebin"
START_TIMEOUT = 15.0


def source_location() -> Path:
    return Path(os.environ.get(SOURCE_VAR) or DEFAULT_SOURCE)


def source_archive() -> Path | None:
    """The PrivateBin source archive, if one is where the project looks."""
    location = source_location()
    if location.is_file() and location.name.endswith(".tar.gz"):
        return location
    if location.is_dir():
        found = sorted(location.glob("privatebin-*.tar.gz"))
        return found[-1] if found else None
    return None


def _source_folder() -> Path | None:
    location = source_location()
    return location if (location / "index.php").is_file() else None


def skip_reason() -> str | None:
    """Why the real server cannot run here, or None."""
    if source_archive() is None and _source_folder() is None:
        return (
            f"no PrivateBin source at {source_location()}: set {SOURCE_VAR} to a PrivateBin "
            "source archive (privatebin-<version>.tar.gz), a folder holding one, or an "
            "unpacked source folder"
        )
    if shutil.which("php") is None:
        return "php is not installed: run `bash scripts/ensure-php.sh` (apt-get install php-cli)"
    return None


def require_server() -> None:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)


def set_option(config: str, section: str, key: str, value: str) -> str:
    """`key = value` in `[section]` of PrivateBin's INI-style conf.php (set or replace)."""
    lines = config.splitlines()
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    setting = re.compile(rf"^;?\s*{re.escape(key)}\s*=")
    for i in range(start + 1, end):
        if setting.match(lines[i]):
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(start + 1, f"{key} = {value}")
    return "\n".join(lines) + "\n"


class PrivateBinServer:
    """One PrivateBin instance with its own data folder. `limit` is the traffic limiter's
    interval in seconds (0: off); `exempted`/`creators` are its address lists; `language`
    forces the server's language."""

    def __init__(
        self,
        workdir: Path,
        *,
        limit: int = 0,
        exempted: str | None = None,
        creators: str | None = None,
        language: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.limit = limit
        self.exempted = exempted
        self.creators = creators
        self.language = language
        self.port = free_port()
        self.data = workdir / "data"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _unpack(self) -> Path:
        folder = _source_folder()
        target = self.workdir / "privatebin"
        if folder is not None:
            shutil.copytree(folder, target)
            return target
        archive = source_archive()
        assert archive is not None
        with tarfile.open(archive) as tar:
            tar.extractall(self.workdir / "unpacked", filter="data")
        (top,) = (self.workdir / "unpacked").iterdir()
        top.rename(target)
        return target

    def _configure(self, source: Path) -> None:
        config = (source / "cfg" / "conf.sample.php").read_text(encoding="utf-8")
        config = set_option(config, "traffic", "limit", str(self.limit))
        if self.exempted is not None:
            config = set_option(config, "traffic", "exempted", f'"{self.exempted}"')
        if self.creators is not None:
            config = set_option(config, "traffic", "creators", f'"{self.creators}"')
        if self.language is not None:
            config = set_option(config, "main", "languageselection", "false")
            config = set_option(config, "main", "languagedefault", f'"{self.language}"')
        config = set_option(config, "model_options", "dir", f'"{self.data}"')
        (source / "cfg" / "conf.php").write_text(config, encoding="utf-8")

    def start(self) -> PrivateBinServer:
        source = self._unpack()
        self._configure(source)
        self.data.mkdir(exist_ok=True)
        self._process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(source)],
            cwd=source,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "php.log").open("wb"),
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"php exited: {(self.workdir / 'php.log').read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=1):  # noqa: S310 - our own server
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"PrivateBin did not answer on {self.url} within {START_TIMEOUT} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __enter__(self) -> PrivateBinServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def expire_date(self, paste_id: str) -> int:
        """The epoch second the server will delete paste `paste_id`, from its data file
        (the Filesystem model: `<dir>/<id[0:2]>/<id[2:4]>/<id>.php`, a PHP guard line first)."""
        path = self.data / paste_id[0:2] / paste_id[2:4] / f"{paste_id}.php"
        document = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[1])
        return int(document["meta"]["expire_date"])
