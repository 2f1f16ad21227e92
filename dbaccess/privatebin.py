"""PrivateBin v2 client: encrypts locally, so the server never sees the text or the key.

Only `cryptography` and the standard library, because the issuer Lambda ships this module.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import secrets
import ssl
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

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

# PrivateBin refuses a post within its configured interval with this message (status 1).
_RATE_LIMITED = re.compile(r"Please wait (\d+) seconds between each post")

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

    `sleep` is how rate-limit waits happen; tests pass a recorder instead of waiting.
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
        self._timeout = timeout
        self._ssl_context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._sleep = sleep

    def share(self, text: str, *, expire: str = "10min") -> Paste:
        """Create a burn-after-reading paste of `text` and return its link."""
        if expire not in EXPIRE_DURATIONS:
            raise ValueError(f"expire must be one of {', '.join(EXPIRE_DURATIONS)}, not {expire!r}")
        key = secrets.token_bytes(32)
        body = json.dumps(_encrypted_body(text, key, expire)).encode()
        answer = self._post_with_retries(body)
        logger.info("paste created", extra={"expire": expire})
        return Paste(
            link=f"{self._base_url}?{answer['id']}#-{base58_encode(key)}",
            delete_token=answer["deletetoken"],
            expires_at=datetime.now(UTC) + EXPIRE_DURATIONS[expire],
        )

    def _post_with_retries(self, body: bytes) -> dict[str, Any]:
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            answer = self._post(body)
            if answer.get("status") == 0:
                if not isinstance(answer.get("id"), str) or not isinstance(
                    answer.get("deletetoken"), str
                ):
                    raise PrivateBinError("PrivateBin answered without a paste id", transient=False)
                return answer
            message = str(answer.get("message", "no message"))
            rate_limited = _RATE_LIMITED.search(message)
            if not rate_limited:
                raise PrivateBinError(f"PrivateBin refused the paste: {message}", transient=False)
            if attempt < MAX_RATE_LIMIT_RETRIES:
                wait = min(float(rate_limited.group(1)), MAX_RATE_LIMIT_SLEEP)
                logger.info("PrivateBin rate limit, retrying", extra={"wait_seconds": wait})
                self._sleep(wait)
        raise PrivateBinError(
            f"PrivateBin still rate limiting after {MAX_RATE_LIMIT_RETRIES} retries", transient=True
        )

    def _post(self, body: bytes) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the URL is our own setting, not input
            self._base_url,
            data=body,
            method="POST",
            headers={"X-Requested-With": "JSONHttpRequest", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - see above
                request, timeout=self._timeout, context=self._ssl_context
            ) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            # 5xx and 429 come from the server or a proxy in front of it being busy or down.
            transient = error.code >= 500 or error.code == 429
            error.close()  # it holds the open response, which we drop
            raise PrivateBinError(
                f"PrivateBin answered HTTP {error.code}", transient=transient
            ) from None
        except (OSError, http.client.HTTPException) as error:
            # URLError (refused, DNS, TLS) and timeouts are OSErrors; HTTPException is a cut answer.
            reason = getattr(error, "reason", error)
            raise PrivateBinError(f"PrivateBin unreachable: {reason}", transient=True) from None
        except ValueError:
            # A 200 that is not JSON is a wrong URL (an HTML page), which retrying will not fix.
            raise PrivateBinError(
                "PrivateBin answered something that is not JSON", transient=False
            ) from None
        if not isinstance(answer, dict):
            raise PrivateBinError("PrivateBin answered unexpected JSON", transient=False)
        return answer


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
