"""Slack for the Lambdas and the CLI: the one Web API caller and DM sender the issuer, the
reaper and `dbaccess notify` share (the bot, a long-running Bolt app, uses slack_sdk).

Every call is bounded in total by the caller's deadline (`clients.http`), which slack_sdk's
client cannot do (its timeout bounds each socket read: a Slack answer trickling in holds it
past any deadline); and the issuer's cold start does not pay for slack_sdk's import (25 ms,
a fifth of boto3's). Arguments go as Slack documents them: JSON for chat.postMessage (its
blocks and metadata), form fields for the rest (read methods take no JSON body).

The caller never retries blindly and never sleeps past the deadline: `DirectMessages` decides,
because only it knows whether a call may already have reached Slack (a post must not be
repeated blindly). The bot token is read once per cold start and never logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from dbaccess import formats
from dbaccess.clients import http
from dbaccess.clients.deadline import Deadline
from dbaccess.clients.secrets_manager import read_secret
from dbaccess.service_env import DEFAULT_SLACK_API_URL

# Their DEBUG lines carry request bodies and signatures: keep them out of the logs whatever
# LOG_LEVEL says.
NOISY_LOGGERS = ("botocore", "boto3", "urllib3")

# Slack errors worth another try later; anything else (user_not_found, …) will not heal.
TRANSIENT_ERRORS: Final = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
JSON_METHODS: Final = frozenset({"chat.postMessage"})  # the rest take form fields
CALL_TIMEOUT: Final = 10.0  # seconds for one Web API call, unless the deadline is sooner
MIN_CALL_TIME: Final = 0.5  # a call with less time than this left is not started
HISTORY_PAGES: Final = 5  # conversations.history pages searched for a tagged message


def quiet_sdk_loggers() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def direct_messages_from_secret(
    secretsmanager: Any,
    secret_arn: str,
    api_url: str = DEFAULT_SLACK_API_URL,
    *,
    call_timeout: float = CALL_TIMEOUT,
) -> DirectMessages:
    """The DM sender with the bot token stored (as plain text) in the secret `secret_arn`."""
    return DirectMessages(
        read_secret(secretsmanager, secret_arn), api_url, call_timeout=call_timeout
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
        token: str,
        api_url: str = DEFAULT_SLACK_API_URL,
        *,
        call_timeout: float = CALL_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = formats.parse_api_url(api_url if api_url.endswith("/") else api_url + "/")
        self._token = token
        self._call_timeout = call_timeout
        self._sleep = sleep

    def __repr__(self) -> str:  # never the token
        return f"DirectMessages({self._api.geturl()!r})"

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

    def user_id_for_email(self, email: str, deadline: Deadline) -> str | None:
        """The Slack user with this email (users.lookupByEmail, scope users:read.email); None
        when Slack knows nobody by it. Other failures raise SlackFailure."""
        try:
            answer = self._call("users.lookupByEmail", deadline, idempotent=True, email=email)
        except SlackFailure as failure:
            if failure.error == "users_not_found":
                return None
            raise
        user_id = (answer.get("user") or {}).get("id")
        return str(user_id) if user_id else None

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
            try:
                answer = http.post(
                    self._api._replace(path=self._api.path + method),
                    *self._encoded(method, args),
                    budget,
                )
            except http.Unanswered as exc:
                if idempotent and not retried:
                    retried = True
                    continue
                reason = "timeout" if exc.timed_out else exc.reason
                raise SlackFailure(
                    method, reason, transient=True, maybe_delivered=not idempotent and exc.sent
                ) from None
            if answer.status == 429:
                wait = _retry_after(answer.header("Retry-After"))
                if wait + MIN_CALL_TIME <= deadline.remaining():
                    self._sleep(wait)
                    continue
                raise SlackFailure(method, "ratelimited", transient=True)
            if answer.status >= 500:
                raise SlackFailure(
                    method,
                    f"http_{answer.status}",
                    transient=True,
                    maybe_delivered=not idempotent,
                )
            return _parsed(method, answer)

    def _encoded(self, method: str, args: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        headers = {"Authorization": f"Bearer {self._token}"}
        if method in JSON_METHODS:
            headers["Content-Type"] = "application/json; charset=utf-8"
            return json.dumps(args).encode(), headers
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        fields = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in args.items()}
        return urlencode(fields).encode(), headers


def _parsed(method: str, answer: http.Answer) -> dict[str, Any]:
    """Slack's JSON answer when it says ok; SlackFailure with its error code otherwise (5xx and
    429 are the caller's)."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # Not Slack answering below 500 (a wrong URL, a proxy refusing): it never got there.
        raise SlackFailure(method, f"http_{answer.status}_not_slack", transient=False)
    if body.get("ok") is not True:
        error = str(body.get("error") or "unknown")
        raise SlackFailure(method, error, transient=error in TRANSIENT_ERRORS)
    return body


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0
