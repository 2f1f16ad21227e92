"""Slack for the Lambdas: the Web API client (bot token from Secrets Manager) and the one DM
sender the issuer and the reaper share.

The token is read once per cold start and never logged. The client itself never retries
and never sleeps: `DirectMessages` decides, because only it knows the caller's deadline and
whether a call may already have reached Slack (a post must not be repeated blindly).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from dbaccess.deadline import Deadline
from dbaccess.lambda_env import DEFAULT_SLACK_API_URL

# Their DEBUG lines carry request bodies and signatures: keep them out of the logs whatever
# LOG_LEVEL says.
NOISY_LOGGERS = ("botocore", "boto3", "urllib3", "slack_sdk")

# Slack errors worth another try later; anything else (user_not_found, …) will not heal.
TRANSIENT_ERRORS: Final = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
CALL_TIMEOUT: Final = 10.0  # seconds for one Web API call, unless the deadline is sooner
MIN_CALL_TIME: Final = 0.5  # a call with less time than this left is not started
HISTORY_PAGES: Final = 5  # conversations.history pages searched for a tagged message


def quiet_sdk_loggers() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def web_client_from_secret(
    secretsmanager: Any, secret_arn: str, api_url: str = DEFAULT_SLACK_API_URL
) -> WebClient:
    """A WebClient with the bot token stored (as plain text) in the secret `secret_arn`."""
    secret = secretsmanager.get_secret_value(SecretId=secret_arn)
    return WebClient(
        token=secret["SecretString"].strip(),
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=int(CALL_TIMEOUT),
        retry_handlers=[],  # see the module docstring
    )


class SlackFailure(Exception):
    """A Slack call that did not succeed. The message names the method and Slack's error code,
    never a token or a message body.

    `transient`: trying again later may work. `maybe_delivered`: the call may have reached
    Slack and taken effect although no answer said so (a timeout, a cut connection, a 5xx).
    """

    def __init__(
        self, method: str, error: str, *, transient: bool, maybe_delivered: bool = False
    ) -> None:
        super().__init__(f"Slack {method}: {error}")
        self.error = error
        self.transient = transient
        self.maybe_delivered = maybe_delivered


class DirectMessages:
    """Opens DMs and posts to them, each call bounded by the caller's deadline.

    A 429 is waited out only when its Retry-After fits before the deadline; otherwise it is a
    transient failure at once. Calls that change nothing (open, history) are tried twice on a
    network error; a post is tried once, since Slack may have accepted it.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        call_timeout: float = CALL_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self._call_timeout = call_timeout
        self._sleep = sleep

    def open(self, user_id: str, deadline: Deadline) -> str:
        answer = self._call("conversations.open", deadline, idempotent=True, users=user_id)
        return str(answer["channel"]["id"])

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        deadline: Deadline,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        # Links stay links: no unfurl, so Slack's crawler never opens (and burns) a paste.
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if metadata is not None:
            args["metadata"] = dict(metadata)
        self._call("chat.postMessage", deadline, idempotent=False, **args)

    def time_zone(self, user_id: str, deadline: Deadline) -> str | None:
        """The person's time zone as Slack knows it (users.info `tz`); None if Slack cannot
        say (times are then shown in UTC only)."""
        try:
            answer = self._call("users.info", deadline, idempotent=True, user=user_id)
        except SlackFailure:
            return None
        tz = (answer.get("user") or {}).get("tz")
        return str(tz) if tz else None

    def send(
        self, user_id: str, text: str, blocks: list[dict[str, Any]], deadline: Deadline
    ) -> None:
        """Open the DM with `user_id` and post there."""
        self.post(self.open(user_id, deadline), text, blocks, deadline)

    def find_tagged(
        self,
        channel: str,
        event_type: str,
        payload: Mapping[str, str],
        since: int,
        deadline: Deadline,
    ) -> bool:
        """Whether the bot posted a message with this metadata in `channel` since `since`
        (epoch seconds). Needs the im:history scope."""
        cursor = ""
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": str(since),
                "include_all_metadata": True,
                "limit": 100,
            }
            if cursor:
                args["cursor"] = cursor
            answer = self._call("conversations.history", deadline, idempotent=True, **args)
            for message in answer.get("messages") or []:
                tag = message.get("metadata") or {}
                found = tag.get("event_payload") or {}
                if tag.get("event_type") == event_type and all(
                    found.get(k) == v for k, v in payload.items()
                ):
                    return True
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return False
        raise SlackFailure("conversations.history", "too_many_messages", transient=False)

    def _call(self, method: str, deadline: Deadline, *, idempotent: bool, **args: Any) -> Any:
        retried = False
        while True:
            budget = deadline.cap(self._call_timeout)
            if budget < MIN_CALL_TIME:
                raise SlackFailure(method, "no time left before the deadline", transient=True)
            # The SDK reads it for each request; the Lambdas make one call at a time.
            self.client.timeout = budget  # type: ignore[assignment]
            try:
                return self.client.api_call(method, json=args)
            except SlackApiError as exc:
                status = exc.response.status_code
                error = str(exc.response.get("error", "unknown"))
                if status == 429:
                    wait = _retry_after(exc.response.headers)
                    if wait + MIN_CALL_TIME <= deadline.remaining():
                        self._sleep(wait)
                        continue
                    raise SlackFailure(method, "ratelimited", transient=True) from None
                raise SlackFailure(
                    method,
                    error,
                    transient=status >= 500 or error in TRANSIENT_ERRORS,
                    maybe_delivered=status >= 500 and not idempotent,
                ) from None
            except (SlackClientError, OSError) as exc:
                if idempotent and not retried:
                    retried = True
                    continue
                raise SlackFailure(
                    method, type(exc).__name__, transient=True, maybe_delivered=not idempotent
                ) from None


def _retry_after(headers: Mapping[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value if isinstance(value, str) else value[0]))
            except (TypeError, ValueError, IndexError):
                break
    return 1.0
