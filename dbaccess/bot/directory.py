"""Who clicked: a Slack user id to their email (users.info, scope users:read.email)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from dbaccess.access.schema import email_problem

logger = logging.getLogger(__name__)
CACHE_SECONDS: Final = 300.0  # emails rarely change; a click should not wait for users.info


class Directory:
    def __init__(self, client: WebClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str]] = {}

    def email_of(self, user_id: str) -> str | None:
        """The person's email, lower-cased (the catalog's key); None if Slack has none."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            answer = self._client.users_info(user=user_id)
        except SlackApiError as exc:
            logger.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return None
        user = answer.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        if not email or user.get("deleted") or user.get("is_bot"):
            return None
        email = str(email).strip()
        if email_problem(email) is not None:  # access.yaml's rule: nobody has it
            logger.warning("users.info for %s: an email access.yaml would refuse", user_id)
            return None
        email = email.lower()
        with self._lock:
            self._cache[user_id] = (now, email)
        return email
