"""PrivateBin v2 client: encrypts locally, so the server never sees the text or the key.

Only `cryptography` and the standard library, because the issuer Lambda ships this module.
It speaks to the server directly (no HTTP(S)_PROXY): the issuer reaches PrivateBin in its VPC.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import secrets
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from dbaccess import formats
from dbaccess.clients import http
from dbaccess.clients.deadline import Deadline
from dbaccess.clients.privatebin_limiter import MESSAGE_FORMS

logger = logging.getLogger(__name__)

# Only these: PrivateBin silently turns an unknown value into its default (one week).
EXPIRE_DURATIONS: dict[str, timedelta] = {
    "5min": timedelta(minutes=5),
    "10min": timedelta(minutes=10),
    "1hour": timedelta(hours=1),
    "1day": timedelta(days=1),
}

KDF_ITERATIONS = 100_000
KEY_BITS = 256
TAG_BITS = 128
MAX_RATE_LIMIT_RETRIES = 3
# The server names its whole interval, not the time left, so a few short waits add up to it
# while keeping the caller (a Lambda with a deadline) bounded.
MAX_RATE_LIMIT_SLEEP = 5.0

MIN_CALL_TIME = 0.5  # a request with less time than this left is not started

# PrivateBin puts the key in the URL fragment as Bitcoin base58. Written here rather than
# imported because it is a few lines and the Lambda carries no extra dependency for it.
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    encoded = ""
    while number:
        number, digit = divmod(number, 58)
        encoded = _BASE58_ALPHABET[digit] + encoded
    # Each leading zero byte is a leading "1", or keys starting with 0x00 would lose bytes.
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + encoded


class PrivateBinError(Exception):
    """The paste was not created. `transient` says whether trying again later may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Paste:
    # The link opens the secret and the token deletes it: neither belongs in a repr or a log.
    link: str = field(repr=False)
    delete_token: str = field(repr=False)
    expires_at: datetime


class PrivateBin:
    """Shares text as burn-after-reading pastes on one PrivateBin server.

    `timeout` bounds each request in total (connecting, sending, and an answer however slowly
    it comes); the caller's `deadline`, if given, bounds the whole `share` call, rate-limit
    waits included. `sleep` is how rate-limit waits happen; tests pass a recorder.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        ca_bundle: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url
        self._url = formats.parse_url(base_url)
        self._timeout = timeout
        self._ssl_context = ssl.create_default_context(cafile=ca_bundle)
        self._sleep = sleep

    def share(self, text: str, *, expire: str = "10min", deadline: Deadline | None = None) -> Paste:
        """Create a burn-after-reading paste of `text` and return its link."""
        if expire not in EXPIRE_DURATIONS:
            raise ValueError(f"expire must be one of {', '.join(EXPIRE_DURATIONS)}, not {expire!r}")
        key = secrets.token_bytes(32)
        body = json.dumps(_encrypted_body(text, key, expire)).encode()
        answer = self._post_with_retries(body, deadline)
        logger.info("paste created", extra={"expire": expire})
        return Paste(
            link=f"{self._base_url}?{answer['id']}#-{base58_encode(key)}",
            delete_token=answer["deletetoken"],
            expires_at=datetime.now(UTC) + EXPIRE_DURATIONS[expire],
        )

    def _post_with_retries(self, body: bytes, deadline: Deadline | None) -> dict[str, Any]:
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            answer = self._post(body, self._budget(deadline))
            if answer.get("status") == 0:
                if not isinstance(answer.get("id"), str) or not isinstance(
                    answer.get("deletetoken"), str
                ):
                    raise PrivateBinError("PrivateBin answered without a paste id", transient=False)
                return answer
            message = str(answer.get("message", "no message"))
            interval = rate_limit_interval(message)
            if interval is None:
                raise PrivateBinError(f"PrivateBin refused the paste: {message}", transient=False)
            logger.warning(
                "PrivateBin's traffic limiter refused the issuer: exempt the issuer's subnets "
                "([traffic] exempted) or switch the limiter off ([traffic] limit = 0)",
                extra={"interval_seconds": interval},
            )
            wait = min(float(interval), MAX_RATE_LIMIT_SLEEP)
            if attempt == MAX_RATE_LIMIT_RETRIES or (
                deadline is not None and wait + MIN_CALL_TIME > deadline.remaining()
            ):
                break
            self._sleep(wait)
        raise PrivateBinError(
            "PrivateBin's rate limit (traffic limiter) refused the paste", transient=True
        )

    def _budget(self, deadline: Deadline | None) -> float:
        return self._timeout if deadline is None else deadline.cap(self._timeout)

    def _post(self, body: bytes, budget: float) -> dict[str, Any]:
        if budget < MIN_CALL_TIME:
            raise PrivateBinError("PrivateBin: no time left before the deadline", transient=True)
        status, data = self._exchange(body, budget)
        # 5xx and 429 come from the server or a proxy in front of it being busy or down.
        if status != 200:
            transient = status >= 500 or status == 429
            raise PrivateBinError(f"PrivateBin answered HTTP {status}", transient=transient)
        try:
            answer = json.loads(data)
        except ValueError:
            # A 200 that is not JSON is a wrong URL (an HTML page), which retrying will not fix.
            raise PrivateBinError(
                "PrivateBin answered something that is not JSON", transient=False
            ) from None
        if not isinstance(answer, dict):
            raise PrivateBinError("PrivateBin answered unexpected JSON", transient=False)
        return answer

    def _exchange(self, body: bytes, budget: float) -> tuple[int, bytes]:
        """One POST, over within `budget` seconds whatever the server does."""
        headers = {"X-Requested-With": "JSONHttpRequest", "Content-Type": "application/json"}
        try:
            answer = http.post(self._url, body, headers, budget, self._ssl_context)
        except http.Unanswered as error:
            if error.timed_out:
                raise PrivateBinError(
                    f"PrivateBin did not answer within {budget:.1f} s", transient=True
                ) from None
            raise PrivateBinError(
                f"PrivateBin unreachable: {error.reason}", transient=True
            ) from None
        return answer.status, answer.body


@functools.cache
def _rate_limit_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(re.escape(form).replace("%d", r"(\d+)")) for form in MESSAGE_FORMS)


def rate_limit_interval(message: str) -> int | None:
    """The limiter's interval in seconds if `message` is its refusal, in any language
    PrivateBin ships (1 where a language spells "one second" out); otherwise None."""
    for pattern in _rate_limit_patterns():
        found = pattern.fullmatch(message.strip())
        if found:
            return int(found.group(1)) if found.groups() else 1
    return None


def _encrypted_body(text: str, key: bytes, expire: str) -> dict[str, Any]:
    iv = secrets.token_bytes(16)
    salt = secrets.token_bytes(8)
    adata = [
        [_b64(iv), _b64(salt), KDF_ITERATIONS, KEY_BITS, TAG_BITS, "aes", "gcm", "zlib"],
        "plaintext",
        0,  # open discussion: off
        1,  # burn after reading: on
    ]
    derived = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=KEY_BITS // 8, salt=salt, iterations=KDF_ITERATIONS
    ).derive(key)
    # Raw DEFLATE (no zlib header), as PrivateBin's JavaScript client writes it.
    compressor = zlib.compressobj(wbits=-15)
    plaintext = json.dumps({"paste": text}, separators=(",", ":")).encode()
    compressed = compressor.compress(plaintext) + compressor.flush()
    # The GCM additional data is adata exactly as serialised by the browser: compact JSON.
    ciphertext = AESGCM(derived).encrypt(
        iv, compressed, json.dumps(adata, separators=(",", ":")).encode()
    )
    return {"v": 2, "adata": adata, "ct": _b64(ciphertext), "meta": {"expire": expire}}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
