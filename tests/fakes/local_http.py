"""The lifecycle the HTTP fakes share: a ThreadingHTTPServer on an ephemeral 127.0.0.1 port,
served from a daemon thread, usable as a context manager."""

from __future__ import annotations

import functools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LocalHTTPServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        # Bound here, so the port (and `origin`) is known before start().
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._running = False

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        # A short poll interval, because stop() waits for the loop to notice (default 0.5 s).
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True).start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._httpd.shutdown()
            self._running = False
        # The socket is bound from __init__, so close it even if the server never started.
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
