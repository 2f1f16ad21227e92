"""One HTTP POST that is over within a time budget, whatever the server does.

The Lambdas' calls to PrivateBin and Slack must each end before the invocation's deadline. A
socket timeout (all urllib, and so slack_sdk, offers) bounds each read, not the whole answer: a
server sending a byte every few seconds never trips it. Here a timer cuts the connection at the
budget's end. Written by hand because no client library we could use bounds a call in total;
http.client rather than urllib because the timer needs the socket.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names as the server wrote them
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class Unanswered(Exception):
    """No (whole) answer came. `timed_out`: the budget ran out. `sent`: the request was written
    out, so the server may have acted on it. The message names the error type only."""

    def __init__(self, reason: str, *, timed_out: bool, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.sent = sent


def post(
    url: SplitResult,
    body: bytes,
    headers: Mapping[str, str],
    budget: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    """POST `body` to `url`; over within `budget` seconds (raises Unanswered otherwise)."""
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=budget, context=ssl_context
        )
        if url.scheme == "https"
        else http.client.HTTPConnection(url.hostname or "", url.port, timeout=budget)
    )
    ends = time.monotonic() + budget
    timer: threading.Timer | None = None
    sent = False
    try:
        connection.connect()  # bounded by the connection's timeout
        # The response keeps reading this socket after http.client lets go of it.
        timer = threading.Timer(max(0.0, ends - time.monotonic()), _cut, (connection.sock,))
        timer.daemon = True
        timer.start()
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        connection.request("POST", path, body=body, headers=dict(headers))
        sent = True
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    except (OSError, http.client.HTTPException) as error:
        # Refused, DNS, TLS, a timeout: OSErrors; HTTPException is a cut answer.
        timed_out = time.monotonic() >= ends
        raise Unanswered(type(error).__name__, timed_out=timed_out, sent=sent) from None
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()


def _cut(sock: socket.socket) -> None:
    """Ends a connection from another thread: a blocked read returns at once."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
