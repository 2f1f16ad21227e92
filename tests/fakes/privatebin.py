"""A fake PrivateBin server speaking the real v2 JSON API over real HTTP on 127.0.0.1.

Reading a paste back goes through the `privatebin` PyPI package, an implementation
independent of ours, so a test proves a real client can open what we upload.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import privatebin

from tests.fakes.local_http import LocalHTTPServer

# The real server's default expiry options that have a lifetime ("never" has none). The real
# server silently turns an unknown value into one week; the fake refuses it instead, so a client
# sending a value it should not fails loudly in tests.
EXPIRE_SECONDS = {
    "5min": 300,
    "10min": 600,
    "1hour": 3600,
    "1day": 86400,
    "1week": 604800,
    "1month": 2592000,
    "1year": 31536000,
}

# The real server's own wording, which clients match on.
INVALID_DATA = "Invalid data."
NOT_FOUND = "Paste does not exist, has expired or has been deleted."


@dataclass(frozen=True)
class ReceivedPost:
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive
    body: Any


@dataclass
class StoredPaste:
    adata: list[Any]
    ct: str
    expire: str
    created: float
    delete_token: str

    @property
    def burn_after_reading(self) -> bool:
        return bool(self.adata[3])


@dataclass
class _Modes:
    rate_limited_posts: int = 0
    wait_seconds: int = 10
    failure: str | None = None
    http_status: int | None = None
    trickle_seconds: float | None = None  # answer one byte every this many seconds


class FakePrivateBin(LocalHTTPServer):
    """Use as `with FakePrivateBin() as server:`; `server.url` is the base URL to configure."""

    def __init__(self, path: str = "/") -> None:
        self.path = path
        self.pastes: dict[str, StoredPaste] = {}
        self.posts: list[ReceivedPost] = []
        self.arrivals: list[float] = []  # time.monotonic() of every POST, refused ones too
        self._modes = _Modes()
        self._lock = threading.Lock()
        super().__init__(_handler_for(self))

    @property
    def url(self) -> str:
        return self.origin + self.path

    @property
    def post_count(self) -> int:
        return len(self.posts)

    # Modes the tests switch.

    def rate_limit(self, n_times: int, wait_seconds: int) -> None:
        """Refuse the next `n_times` posts the way the real traffic limiter does."""
        self._modes.rate_limited_posts = n_times
        self._modes.wait_seconds = wait_seconds

    def fail_with(self, message: str) -> None:
        """Refuse every post with this status-1 message."""
        self._modes.failure = message

    def unavailable(self, http_status: int = 503) -> None:
        """Answer every request with this HTTP status, as a proxy in front of a dead server does."""
        self._modes.http_status = http_status

    def trickle(self, seconds_per_byte: float) -> None:
        """Answer every request one byte at a time, `seconds_per_byte` apart."""
        self._modes.trickle_seconds = seconds_per_byte

    def down(self) -> None:
        """Close the listening socket: connections are refused from now on."""
        self.stop()

    # Reading back, the way a person's browser would.

    def read(self, link: str) -> str:
        """Fetch and decrypt a link with the independent `privatebin` package."""
        return privatebin.get(link).text

    # Request handling, called from the server's threads.

    def _create(self, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.posts.append(ReceivedPost(headers=headers, body=body))
            if self._modes.rate_limited_posts > 0:
                self._modes.rate_limited_posts -= 1
                wait = self._modes.wait_seconds
                return _error(f"Please wait {wait} seconds between each post.")
            if self._modes.failure is not None:
                return _error(self._modes.failure)
            if not _valid_v2(body):
                return _error(INVALID_DATA)
            paste_id = secrets.token_hex(8)
            delete_token = secrets.token_hex(32)
            self.pastes[paste_id] = StoredPaste(
                adata=body["adata"],
                ct=body["ct"],
                expire=body["meta"]["expire"],
                created=time.time(),
                delete_token=delete_token,
            )
        return {
            "status": 0,
            "id": paste_id,
            "url": f"{self.path}?{paste_id}",
            "deletetoken": delete_token,
        }

    def _read(self, paste_id: str) -> dict[str, Any]:
        with self._lock:
            paste = self.pastes.get(paste_id)
            if paste is None:
                return _error(NOT_FOUND)
            # PrivateBin 1.7 deletes a burn-after-reading paste when it serves it.
            if paste.burn_after_reading:
                del self.pastes[paste_id]
        elapsed = int(time.time() - paste.created)
        return {
            "status": 0,
            "id": paste_id,
            "url": f"{self.path}?{paste_id}",
            "v": 2,
            "adata": paste.adata,
            "ct": paste.ct,
            "meta": {"time_to_live": EXPIRE_SECONDS[paste.expire] - elapsed},
            "comments": [],
            "comment_count": 0,
            "comment_offset": 0,
            "@context": "?jsonld=paste",
        }


def _error(message: str) -> dict[str, Any]:
    return {"status": 1, "message": message}


def _valid_v2(body: Any) -> bool:
    """The checks of PrivateBin's FormatV2 for a paste without attachment, a little stricter."""
    if not isinstance(body, dict) or body.get("v") != 2 or not _is_base64(body.get("ct")):
        return False
    meta, adata = body.get("meta"), body.get("adata")
    if not isinstance(meta, dict) or meta.get("expire") not in EXPIRE_SECONDS:
        return False
    if not (isinstance(adata, list) and len(adata) == 4 and isinstance(adata[0], list)):
        return False
    cipher, formatter, open_discussion, burn = adata
    return (
        len(cipher) == 8
        and _is_base64(cipher[0])
        and _is_base64(cipher[1])
        and cipher[2:6] == [100000, 256, 128, "aes"]
        and cipher[6:] in (["gcm", "zlib"], ["gcm", "none"])
        and formatter in ("plaintext", "syntaxhighlighting", "markdown")
        # Integers, as the real server checks strictly: JSON true/false are refused.
        and all(type(flag) is int and flag in (0, 1) for flag in (open_discussion, burn))
        # PrivateBin refuses a paste that both burns and allows discussion.
        and not (open_discussion and burn)
    )


def _is_base64(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(base64.b64decode(value, validate=True))
    except ValueError:
        return False


def _handler_for(fake: FakePrivateBin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            fake.arrivals.append(time.monotonic())
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self._refused():
                return
            self._answer(fake._create({k.lower(): v for k, v in self.headers.items()}, raw))

        def do_GET(self) -> None:
            if self._refused():
                return
            # Like the real server: `?pasteid=<id>`, or else the first query key, which is how
            # browsers (`?<id>`) and httpx-based clients (`?<id>=`) send it.
            params = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
            paste_id = params["pasteid"][0] if "pasteid" in params else next(iter(params), "")
            self._answer(fake._read(paste_id))

        def _refused(self) -> bool:
            if fake._modes.http_status is not None:
                self.send_error(fake._modes.http_status)
                return True
            if urlsplit(self.path).path != fake.path:
                self.send_error(404)
                return True
            if self.headers.get("X-Requested-With") != "JSONHttpRequest":
                # Without the header the real server renders its HTML page, not JSON.
                self._send(b"<!DOCTYPE html><title>PrivateBin</title>", "text/html")
                return True
            return False

        def _answer(self, document: dict[str, Any]) -> None:
            # The real server answers HTTP 200 for refusals too; `status` says which.
            self._send(json.dumps(document).encode(), "application/json")

        def _send(self, payload: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            pace = fake._modes.trickle_seconds
            if pace is None:
                self.wfile.write(payload)
                return
            self.wfile.flush()
            try:
                for i in range(len(payload)):
                    time.sleep(pace)
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the default writes every request to stderr."""

    return Handler
