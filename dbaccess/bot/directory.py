"""Who clicked: a Slack user id to their email (users.info, scope users:read.email), and
whether they may use the bot at all.

Only members of the bot's own workspace (or of its Enterprise Grid organization) may: a user
of another organization seen through Slack Connect can set any email in their own workspace,
and a guest is someone the company invited into a few channels, not an employee. Guests may
be let in with DBACCESS_ALLOW_GUESTS; other organizations' users never.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Final

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from dbaccess.access.schema import email_problem

logger = logging.getLogger(__name__)
CACHE_SECONDS: Final = 300.0  # emails rarely change; a click should not wait for users.info


class NotAllowed(Enum):
    """Why the bot serves nobody behind a user id."""

    UNKNOWN = "unknown"  # no such user, no email, deactivated, a bot, or Slack did not say
    GUEST = "guest"  # a multi- or single-channel guest
    OTHER_WORKSPACE = "other-workspace"  # another organization's user (Slack Connect)


class Directory:
    def __init__(
        self,
        client: WebClient,
        *,
        allow_guests: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._allow_guests = allow_guests
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | NotAllowed]] = {}
        self._home: tuple[str, str | None] | None = None  # our team id, enterprise id

    def email_of(self, user_id: str) -> str | NotAllowed:
        """The person's email, lower-cased (the catalog's key), or why they are not served."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            answer = self._client.users_info(user=user_id)
            home = self._home_team()
        except SlackApiError as exc:
            logger.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return NotAllowed.UNKNOWN  # not cached: Slack may answer next time
        user = answer.get("user") or {}
        verdict = self._verdict(user, home)
        if verdict is not NotAllowed.UNKNOWN:
            if isinstance(verdict, NotAllowed):
                logger.info("refused %s: %s", user_id, verdict.value)
            with self._lock:
                self._cache[user_id] = (now, verdict)
        return verdict

    def _verdict(self, user: Mapping[str, Any], home: tuple[str, str | None]) -> str | NotAllowed:
        email = (user.get("profile") or {}).get("email")
        if not email or user.get("deleted") or user.get("is_bot"):
            return NotAllowed.UNKNOWN
        team, enterprise = home
        grid = (user.get("enterprise_user") or {}).get("enterprise_id")
        ours = user.get("team_id") == team or (enterprise is not None and grid == enterprise)
        if user.get("is_stranger") or not ours:
            return NotAllowed.OTHER_WORKSPACE
        guest = user.get("is_restricted") or user.get("is_ultra_restricted")
        if guest and not self._allow_guests:
            return NotAllowed.GUEST
        email = str(email).strip()
        if email_problem(email) is not None:  # access.yaml's rule: nobody has it
            logger.warning("users.info for %s: an email access.yaml would refuse", user.get("id"))
            return NotAllowed.UNKNOWN
        return email.lower()

    def _home_team(self) -> tuple[str, str | None]:
        """The bot's own team (and Enterprise Grid organization), asked once (auth.test)."""
        if self._home is None:
            answer = self._client.auth_test()
            self._home = (str(answer["team_id"]), answer.get("enterprise_id") or None)
        return self._home
