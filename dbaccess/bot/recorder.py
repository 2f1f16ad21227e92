"""Recording a request: the one thing the bot writes (a PENDING item the issuer picks up).

Rate limit: counted in DynamoDB, on the request table's `by-email` index (email,
requested_at), not in memory — two replicas share one limit, and a restart does not reset it.
The count is a soft limit: two clicks in the same instant may both pass (the index is
eventually consistent). The same query tells a Slack redelivery (same trigger id) apart from
a new request; the conditional put catches a redelivery the index has not seen yet.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess import request_table
from dbaccess.bot.ids import RequestChoice

logger = logging.getLogger(__name__)

# Standard mode retries throttling (ProvisionedThroughputExceeded, ThrottlingException,
# RequestLimitExceeded) and 5xx with exponential backoff and jitter. Four attempts keep the
# worst case (about 7 s) short: the person is waiting for an answer.
DYNAMODB_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=2,
    read_timeout=3,
)
APP_HOME: Final = "app_home"  # the `channel` of a request made from the Home tab


class Outcome(enum.Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"  # Slack delivered the same click again: already recorded
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"  # DynamoDB kept refusing (throttled past the retries, or down)


class RequestRecorder:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        limit: int,
        window_seconds: int,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.table = request_table.RequestTable(dynamodb, table, now=now)
        self._limit = limit
        self._window = dt.timedelta(seconds=window_seconds)
        self._now = now

    def record(
        self,
        *,
        request_id: str,
        email: str,
        slack_user_id: str,
        channel: str,
        choice: RequestChoice,
    ) -> Outcome:
        moment = self._now()
        try:
            recent = self.table.recent_request_ids(
                email.lower(), moment - self._window, stop_after=self._limit
            )
            if request_id in recent:
                return Outcome.DUPLICATE
            if len(recent) >= self._limit:
                return Outcome.RATE_LIMITED
            stored = self.table.put(
                request_table.new_request(
                    request_id=request_id,
                    email=email,
                    slack_user_id=slack_user_id,
                    channel=channel,
                    database=choice.database,
                    access=choice.access,
                    requested_at=moment,
                )
            )
        except (BotoCoreError, ClientError):
            logger.exception("recording request %s failed", request_id)
            return Outcome.FAILED
        return Outcome.RECORDED if stored else Outcome.DUPLICATE
