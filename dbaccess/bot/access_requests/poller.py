"""Tells people when their access request's pull request is merged or closed.

The bot polls the pull requests it opened (`RequestFlow.poll`) every few minutes, in a thread
of its own: no webhook, so no public endpoint, which fits Socket Mode.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient

from dbaccess.bot.access_requests.flow import RequestFlow
from dbaccess.bot.services import tell

logger = logging.getLogger(__name__)


class DecisionPoller:
    def __init__(self, flow: RequestFlow, client: WebClient, interval_seconds: float) -> None:
        self._flow = flow
        self._client = client
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-poller", daemon=True)

    def poll_once(self) -> int:
        """Tell everyone whose request was decided; how many were told."""
        told = 0
        for decision in self._flow.poll():
            try:
                tell(self._client, decision.request.slack_user_id, decision.text)
                told += 1
            except Exception:
                request = decision.request
                logger.exception("telling %s about #%s failed", request.email, request.number)
        return told

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll_once()
            except Exception:  # DynamoDB unreachable, say: try again at the next round
                logger.exception("polling access requests failed")
