"""What the throw-away servers the tests start (PostgreSQL, MariaDB, PrivateBin) share."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(prefix: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without the client's own variables (PG*, MYSQL*), so a developer's settings
    can't leak into a client we start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    env.update(extra or {})
    return env


class ServerFiles:
    """A server's work directory: its data directory and its log."""

    workdir: Path
    LOG_FILE: ClassVar[str]

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def logfile(self) -> Path:
        return self.workdir / self.LOG_FILE

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no server log: {exc})"
