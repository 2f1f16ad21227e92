"""A server that accepts TCP connections and never sends a byte: what a database behind a
broken proxy, a port forward to nothing or a hung server looks like from a client.

Each connection is held open for `hold` seconds, then closed: a client without a read bound
fails only then (late), instead of hanging the test run.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class SilentServer:
    """Use as `with SilentServer(hold=30) as server:`; connect to server.host, server.port."""

    host = "127.0.0.1"

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self._listener = socket.create_server((self.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        opened: list[float] = []
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
                self._held.append(conn)
                opened.append(time.monotonic())
            except TimeoutError:
                pass
            except OSError:
                return
            for conn, at in zip(self._held, opened, strict=True):
                if time.monotonic() - at > self.hold:
                    conn.close()
