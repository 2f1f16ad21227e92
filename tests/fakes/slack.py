"""A fake Slack: the Web API over real HTTP and Socket Mode over a real WebSocket, on 127.0.0.1.

Good enough to drive the unmodified `slack_sdk.WebClient` and Bolt's built-in
`SocketModeHandler`, so tests exercise the same wire protocol as production:

    with FakeSlack() as slack:
        slack.add_user("U0ALICE", "alice@example.com")
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        handler = SocketModeHandler(App(client=client), slack.app_token)
        handler.connect()
        slack.wait_connected()
        slack.send_interactive(block_actions_payload("U0ALICE", "request_access")).ack()
        handler.close()  # before the fake stops, or the client keeps reconnecting

Things the real client does that a test must know about (see the tests for proof):
- The built-in Socket Mode client picks plain TCP or TLS by *port*, not by URL scheme: any port
  but 443 is plain TCP, so the ws:// URL with an ephemeral port just works.
- slack_sdk reads HTTPS_PROXY/HTTP_PROXY (ignoring NO_PROXY) for both the WebClient and the
  Socket Mode client; with a proxy set it would tunnel 127.0.0.1 through it and wrap it in TLS.
  Tests unset those variables.
- A failed WebSocket connect is logged, not raised: call `wait_connected()` after `connect()`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

TEAM_ID = "T0FAKETEAM"
TEAM_DOMAIN = "fake-workspace"
APP_ID = "A0FAKEAPP"
BOT_ID = "B0FAKEBOT"
BOT_USER_ID = "U0FAKEBOT"
BOT_TOKEN = "xoxb-0000-fake-bot-token"
APP_TOKEN = "xapp-1-A0FAKEAPP-0000-fake-app-token"
# Slack still puts the legacy verification token in every payload; Bolt ignores it in Socket Mode.
VERIFICATION_TOKEN = "fake-verification-token"

# Block Kit limits Slack enforces server-side.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MODAL_TITLE = 24

# Interactive payload types whose ack may carry a response (errors, options, a new view);
# Slack marks their envelopes with accepts_response_payload: true.
_INTERACTIVE_TYPES_WITH_RESPONSE = {"view_submission", "block_suggestion"}

# Args that Slack clients send as JSON strings inside form bodies.
_JSON_ARGS = ("blocks", "view", "attachments", "metadata")
# Slack reads a JSON body only for (most) write methods; read methods such as
# conversations.history, users.info and users.lookupByEmail take form fields or the query
# string, and a JSON body's arguments are simply not seen there.
_JSON_BODY_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "conversations.open"}
    | {"views.publish", "views.open", "views.update"}
)


@dataclass(frozen=True)
class RecordedCall:
    """One Web API request as the fake saw it, whatever the answer."""

    method: str
    args: dict[str, Any]  # parsed arguments, without the token
    token: str | None
    http_status: int
    response: dict[str, Any]
    at: float  # time.perf_counter() when it arrived (CLOCK_MONOTONIC: comparable across processes)

    @property
    def ok(self) -> bool:
        return self.http_status == HTTPStatus.OK and bool(self.response.get("ok"))


class Envelope:
    """A Socket Mode envelope sent to the client; `ack()` waits for the client's answer."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self.envelope_id: str = message["envelope_id"]
        self.type: str = message["type"]
        # time.perf_counter() when Slack had the envelope to deliver: Slack's 3 seconds start
        # there, also while it waits for a connection to deliver it on.
        self.sent_at = 0.0
        self.latency: float | None = None  # seconds from sent_at to receiving the ack
        self._ack: dict[str, Any] | None = None
        self._acked = threading.Event()

    @property
    def acked(self) -> bool:
        return self._acked.is_set()

    def ack(self, timeout: float = 5.0) -> dict[str, Any]:
        """The client's ack ({"envelope_id": ..., "payload"?: ...}); TimeoutError if none came."""
        if not self._acked.wait(timeout):
            raise TimeoutError(
                f"no ack for {self.type} envelope {self.envelope_id} within {timeout}s"
            )
        assert self._ack is not None
        return self._ack

    def _resolve(self, ack: dict[str, Any], received_at: float) -> None:
        if self._acked.is_set():  # a duplicate ack changes nothing, as with Slack
            return
        self._ack = ack
        self.latency = received_at - self.sent_at
        self._acked.set()


@dataclass
class _User:
    id: str
    email: str
    name: str
    real_name: str
    guest: str | None = None  # "multi-channel" or "single-channel"
    team_id: str | None = None  # another workspace's (Slack Connect); None: ours
    stranger: bool = False


@dataclass
class _Trouble:
    """Planned misbehaviour for one method: HTTP 429s first, then {"ok": false} errors."""

    rate_limits: int = 0
    http_errors: list[int] = field(default_factory=list)  # HTTP statuses, the call not carried out
    retry_after: int = 1
    errors: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # answer late (the call still took effect)
    trickles: list[float] = field(default_factory=list)  # seconds between the answer's bytes


class FakeSlack:
    """Slack's Web API (ThreadingHTTPServer) and Socket Mode (websockets sync server)."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        team_id: str = TEAM_ID,
        app_id: str = APP_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        ping_interval: float | None = 10.0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        # Slack pings Socket Mode clients too, every few seconds (not every fraction of one: a
        # client whose blocking recv() only wakes on incoming frames would look better here
        # than it does against Slack).
        self.ping_interval = ping_interval

        # One condition guards all mutable state, so waiters wake on any change.
        self._cond = threading.Condition()
        self._users: dict[str, _User] = {}
        self._calls: list[RecordedCall] = []
        self._trouble: dict[str, _Trouble] = {}
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []  # open, oldest first
        self._retiring: set[ServerConnection] = set()  # told to disconnect; no new envelopes
        self._connections_opened = 0
        self._envelopes: dict[str, Envelope] = {}
        self._client_messages: list[dict[str, Any]] = []
        self._ts_counter = 0
        self._messages: dict[str, list[dict[str, Any]]] = {}

        self._http: ThreadingHTTPServer | None = None
        self._ws: Server | None = None
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _make_http_handler(self))
        self._http.daemon_threads = True
        self._ws = serve(
            self._serve_socket_mode,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,  # the built-in client never negotiates permessage-deflate
            ping_interval=self.ping_interval,
            close_timeout=1,  # bounds stop(): the client answers a close by dropping the socket
        )
        # A short poll interval keeps stop() quick: shutdown() waits for the next poll.
        http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        ws_thread = threading.Thread(target=self._ws.serve_forever, daemon=True)
        for thread in (http_thread, ws_thread):
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
            self._ws = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """Pass as `WebClient(base_url=...)`; ends with "/api/" like https://slack.com/api/."""
        if self._http is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}/api/"

    @property
    def socket_mode_port(self) -> int:
        if self._ws is None:
            raise RuntimeError("FakeSlack is not started")
        port: int = self._ws.socket.getsockname()[1]
        return port

    # ----------------------------------------------------------------- Web API: setup

    def add_user(
        self,
        user_id: str,
        email: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        guest: str | None = None,
        team_id: str | None = None,
        stranger: bool = False,
    ) -> None:
        """A user that users.info and conversations.open know about: a workspace member, a
        `guest` ("multi-channel" or "single-channel"), or a user of another workspace seen
        through Slack Connect (`team_id`, and `stranger` when Slack says so)."""
        assert guest in (None, "multi-channel", "single-channel"), guest
        handle = name or email.split("@", 1)[0]
        with self._cond:
            self._users[user_id] = _User(
                user_id, email, handle, real_name or handle, guest, team_id, stranger
            )

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        with self._cond:
            trouble = self._trouble.setdefault(method, _Trouble())
            trouble.rate_limits += times
            trouble.retry_after = retry_after

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with {"ok": false, "error": error}."""
        with self._cond:
            self._trouble.setdefault(method, _Trouble()).errors.extend([error] * times)

    def fail_http(self, method: str, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP `status`, not carrying them out
        (Slack's edge when Slack is down)."""
        with self._cond:
            self._trouble.setdefault(method, _Trouble()).http_errors.extend([status] * times)

    def answer_late(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` at once but answer only `seconds`
        later, as Slack does when it is slow: a client that gave up never learns it worked."""
        with self._cond:
            self._trouble.setdefault(method, _Trouble()).delays.extend([seconds] * times)

    def answer_trickling(self, method: str, seconds_per_byte: float, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` at once, then send the answer's body a
        byte at a time, `seconds_per_byte` apart: a socket timeout never trips on it."""
        with self._cond:
            self._trouble.setdefault(method, _Trouble()).trickles.extend([seconds_per_byte] * times)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages posted in `channel`, oldest first, as conversations.history has them."""
        with self._cond:
            return list(self._messages.get(channel, []))

    # ----------------------------------------------------------------- Web API: inspection

    def history(self) -> list[RecordedCall]:
        """Every Web API request so far, in order, including rejected ones."""
        with self._cond:
            return list(self._calls)

    def calls(self, method: str, *, ok_only: bool = False) -> list[dict[str, Any]]:
        """Parsed arguments of each call of `method` (rate-limited and failed ones too,
        unless `ok_only`), with `blocks`/`view` JSON-decoded."""
        with self._cond:
            return [c.args for c in self._calls if c.method == method and (c.ok or not ok_only)]

    def wait_for_call(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok_only: bool = False
    ) -> list[dict[str, Any]]:
        """Block until `method` was called `count` times; returns calls(method)."""
        with self._cond:
            done = self._cond.wait_for(
                lambda: len(self.calls(method, ok_only=ok_only)) >= count, timeout
            )
            if not done:
                seen = [c.method for c in self._calls]
                raise TimeoutError(
                    f"{method} called {len(self.calls(method, ok_only=ok_only))} times, "
                    f"expected {count} within {timeout}s; calls seen: {seen}"
                )
            return self.calls(method, ok_only=ok_only)

    # ----------------------------------------------------------------- Socket Mode

    @property
    def connections_opened(self) -> int:
        """WebSocket connections accepted (and greeted with hello) so far."""
        with self._cond:
            return self._connections_opened

    @property
    def client_messages(self) -> list[dict[str, Any]]:
        """Text frames from the client that were not envelope acks."""
        with self._cond:
            return list(self._client_messages)

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Block until a client is connected that was not asked to disconnect."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._current() is not None, timeout):
                raise TimeoutError(f"no Socket Mode client connected within {timeout}s")

    def send_event(
        self, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> Envelope:
        """Send an Events API payload (an event_callback, see `app_home_opened_event`)."""
        return self._send_envelope(
            "events_api",
            payload,
            accepts_response_payload=False,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    def send_interactive(self, payload: dict[str, Any]) -> Envelope:
        """Send an interactive payload (see `block_actions_payload`)."""
        accepts = payload.get("type") in _INTERACTIVE_TYPES_WITH_RESPONSE
        return self._send_envelope("interactive", payload, accepts_response_payload=accepts)

    def send_slash_command(self, payload: dict[str, Any]) -> Envelope:
        """Send a slash command (see `slash_command_payload`); its ack may carry a reply."""
        return self._send_envelope("slash_commands", payload, accepts_response_payload=True)

    def request_disconnect(self, reason: str = "refresh_requested", timeout: float = 5.0) -> None:
        """Tell the client to move to a new connection, as Slack does every few hours.

        The client is expected to call apps.connections.open again; `wait_connected()` then
        waits for that new connection.
        """
        conn = self._wait_current(timeout)
        with self._cond:
            self._retiring.add(conn)
        message = {"type": "disconnect", "reason": reason, "debug_info": self._debug_info()}
        conn.send(json.dumps(message))

    def drop_connection(self, timeout: float = 5.0) -> None:
        """End the current connection the way a network failure does: the TCP connection goes
        away without a WebSocket close frame, and nothing more arrives on it."""
        conn = self._wait_current(timeout)
        with self._cond:
            self._retiring.add(conn)
        with contextlib.suppress(OSError):
            conn.socket.shutdown(socket.SHUT_RDWR)

    # ----------------------------------------------------------------- Socket Mode internals

    def _current(self) -> ServerConnection | None:
        # Called with self._cond held. The newest connection wins, as after a reconnect the
        # client acks on the new one and closes the old.
        live = [c for c in self._connections if c not in self._retiring]
        return live[-1] if live else None

    def _wait_current(self, timeout: float) -> ServerConnection:
        with self._cond:
            if not self._cond.wait_for(lambda: self._current() is not None, timeout):
                raise TimeoutError(f"no Socket Mode client connected within {timeout}s")
            conn = self._current()
            assert conn is not None
            return conn

    def _send_envelope(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        timeout: float = 5.0,
    ) -> Envelope:
        message: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        # Slack only sends the retry fields on events_api envelopes.
        if retry_attempt is not None:
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason or ""
        envelope = Envelope(message)
        envelope.sent_at = time.perf_counter()
        conn = self._wait_current(timeout)
        with self._cond:  # registered before sending: the ack can beat send() returning
            self._envelopes[envelope.envelope_id] = envelope
        conn.send(json.dumps(message))
        return envelope

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        with self._cond:
            known = ticket in self._tickets
        if url.path != "/link/" or not known:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unknown ticket\n")
        return None

    def _debug_info(self) -> dict[str, Any]:
        return {"host": "applink-fake-1", "build_number": 1, "approximate_connection_time": 18060}

    def _serve_socket_mode(self, conn: ServerConnection) -> None:
        with self._cond:
            num_connections = len(self._connections) + 1
        hello = {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": self._debug_info(),
            "connection_info": {"app_id": self.app_id},
        }
        try:
            conn.send(json.dumps(hello))
            # Listed only once hello is out, so wait_connected() means "ready for envelopes".
            with self._cond:
                self._connections.append(conn)
                self._connections_opened += 1
                self._cond.notify_all()
            # Pings are control frames, answered by the websockets library itself.
            for text in conn:
                self._on_client_message(text)
        except ConnectionClosed:
            pass  # the built-in client drops the TCP connection without a close frame
        finally:
            with self._cond:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._retiring.discard(conn)
                self._cond.notify_all()

    def _on_client_message(self, text: str | bytes) -> None:
        received_at = time.perf_counter()
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = {"unparsed": text if isinstance(text, str) else text.decode(errors="replace")}
        with self._cond:
            envelope = self._envelopes.get(message.get("envelope_id", ""))
            if envelope is None:
                self._client_messages.append(message)
            self._cond.notify_all()
        if envelope is not None:
            envelope._resolve(message, received_at)

    # ----------------------------------------------------------------- Web API internals

    def _next_ts(self) -> str:
        with self._cond:
            self._ts_counter += 1
            return f"{int(time.time())}.{self._ts_counter:06d}"

    def _handle_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str], float, float]:
        """Answer one Web API call: (HTTP status, JSON body, extra headers, seconds to wait
        before answering, seconds between the body's bytes). Records it."""
        arrived = time.perf_counter()
        status, body, headers = self._answer(method, args, token)
        with self._cond:
            self._calls.append(RecordedCall(method, args, token, status, body, arrived))
            trouble = self._trouble.get(method)
            delay = trouble.delays.pop(0) if trouble is not None and trouble.delays else 0.0
            trickle = trouble.trickles.pop(0) if trouble is not None and trouble.trickles else 0.0
            self._cond.notify_all()
        return status, body, headers, delay, trickle

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._methods().get(method)
        if handler is None:
            return HTTPStatus.OK, {"ok": False, "error": "unknown_method"}, {}
        auth_error = self._auth_error(method, token)
        if auth_error is not None:
            return HTTPStatus.OK, {"ok": False, "error": auth_error}, {}
        with self._cond:
            trouble = self._trouble.get(method)
            if trouble is not None and trouble.rate_limits > 0:
                trouble.rate_limits -= 1
                return (
                    HTTPStatus.TOO_MANY_REQUESTS,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(trouble.retry_after)},
                )
            if trouble is not None and trouble.http_errors:
                status = trouble.http_errors.pop(0)
                return status, {"ok": False, "error": "service_unavailable"}, {}
            if trouble is not None and trouble.errors:
                return HTTPStatus.OK, {"ok": False, "error": trouble.errors.pop(0)}, {}
        return HTTPStatus.OK, handler(args), {}

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        # apps.connections.open takes only the app-level token; everything else the bot token.
        wanted, other = (
            (self.app_token, self.bot_token)
            if method == "apps.connections.open"
            else (self.bot_token, self.app_token)
        )
        if token == wanted:
            return None
        return "not_allowed_token_type" if token == other else "invalid_auth"

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "conversations.history": self._conversations_history,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Fake Workspace",
            "user": "dbaccess",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.socket_mode_port}/link/?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": url}

    def _user(self, user_id: str) -> _User | None:
        with self._cond:
            return self._users.get(user_id)

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._user_answer(self._user(str(args.get("user", ""))), "user_not_found")

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        with self._cond:
            found = next((u for u in self._users.values() if u.email.lower() == email), None)
        return self._user_answer(found, "users_not_found")  # sic: Slack's error for this method

    def _user_answer(self, user: _User | None, missing: str) -> dict[str, Any]:
        if user is None:
            return {"ok": False, "error": missing}
        team = user.team_id or self.team_id
        answer: dict[str, Any] = {
            "id": user.id,
            "team_id": team,
            "name": user.name,
            "deleted": False,
            "real_name": user.real_name,
            "tz": "Europe/London",
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            # Slack's guests: multi-channel ones are restricted, single-channel ones both.
            "is_restricted": user.guest is not None,
            "is_ultra_restricted": user.guest == "single-channel",
            "is_bot": False,
            "is_app_user": False,
            "profile": {
                "email": user.email,
                "real_name": user.real_name,
                "display_name": user.name,
                "team": team,
            },
        }
        if user.stranger:  # Slack sends the field only for users of another workspace
            answer["is_stranger"] = True
        return {"ok": True, "user": answer}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:  # multi-person DMs are not something this project sends
            return {"ok": False, "error": "not_supported"}
        if self._user(users[0]) is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": dm_channel_id(users[0])}}

    def _resolve_channel(self, channel: str) -> str | None:
        # Posting to a user id lands in the DM with that user, as on real Slack.
        if channel.startswith(("U", "W")):
            return dm_channel_id(channel) if self._user(channel) else None
        return channel or None

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        blocks = args.get("blocks")
        if not (args.get("text") or blocks or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        if blocks is not None and (
            not isinstance(blocks, list) or len(blocks) > MAX_MESSAGE_BLOCKS
        ):
            return {"ok": False, "error": "invalid_blocks"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": args.get("text", ""),
            "ts": ts,
            "team": self.team_id,
        }
        if blocks is not None:
            message["blocks"] = blocks
        metadata = args.get("metadata")
        if metadata is not None:
            if not (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)
            ):
                return {"ok": False, "error": "invalid_metadata_format"}
            message["metadata"] = {
                "event_type": metadata["event_type"],
                "event_payload": metadata["event_payload"],
            }
        with self._cond:
            self._messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace a message the bot posted: its text and blocks (Slack finds it by ts)."""
        channel = self._resolve_channel(str(args.get("channel", "")))
        blocks = args.get("blocks")
        if not (args.get("text") or blocks):
            return {"ok": False, "error": "no_text"}
        with self._cond:
            found = next(
                (m for m in self._messages.get(channel or "", []) if m["ts"] == args.get("ts")),
                None,
            )
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found["text"] = args.get("text", "")
            if blocks is not None:
                found["blocks"] = blocks
            return {"ok": True, "channel": channel, "ts": found["ts"], "text": found["text"]}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `oldest` exclusive; metadata only with include_all_metadata."""
        channel = str(args.get("channel", ""))
        with self._cond:
            if channel not in self._messages and not channel.startswith("D"):
                return {"ok": False, "error": "channel_not_found"}
            stored = list(self._messages.get(channel, []))
        oldest = float(args.get("oldest") or 0)
        found = [m for m in reversed(stored) if float(m["ts"]) > oldest]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = found[start : start + limit]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        if not with_metadata:
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if self._user(str(args.get("user", ""))) is None:
            return {"ok": False, "error": "user_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        problems: list[str] = []
        if not args.get("user_id"):
            problems.append("[ERROR] missing required field: user_id")
        if not isinstance(view, dict):
            problems.append("[ERROR] missing required field: view")
        else:
            if view.get("type") != "home":
                problems.append("[ERROR] must be 'home' [json-pointer:/view/type]")
            blocks = view.get("blocks")
            if not isinstance(blocks, list):
                problems.append("[ERROR] missing required field: blocks [json-pointer:/view]")
            elif len(blocks) > MAX_VIEW_BLOCKS:
                problems.append(
                    f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed "
                    "[json-pointer:/view/blocks]"
                )
        if problems:
            return _invalid_arguments(problems)
        assert isinstance(view, dict)
        return {"ok": True, "view": self._view(view, private_metadata="", callback_id="")}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A modal, as Slack checks it: a trigger, type modal, a title of at most 24
        characters, at most 100 blocks."""
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        problems = []
        if not isinstance(view, dict) or view.get("type") != "modal":
            problems.append("[ERROR] must be 'modal' [json-pointer:/view/type]")
        elif len(((view.get("title") or {}).get("text")) or "") > MAX_MODAL_TITLE:
            problems.append("[ERROR] must be less than 25 characters [json-pointer:/view/title]")
        elif len(view.get("blocks") or []) > MAX_VIEW_BLOCKS:
            problems.append("[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]")
        if problems:
            return _invalid_arguments(problems)
        assert isinstance(view, dict)
        return {"ok": True, "view": self._view(view)}

    def _view(self, view: dict[str, Any], **defaults: str) -> dict[str, Any]:
        """A view as Slack answers with it: its ids and state, then what the app sent."""
        return {
            "id": "V" + secrets.token_hex(5).upper(),
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            **defaults,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "state": {"values": {}},
            **view,
        }


def _make_http_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length))

        def _serve(self, body: bytes) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                self._reply(HTTPStatus.NOT_FOUND, {"ok": False, "error": "not_found"}, {})
                return
            method = url.path.removeprefix("/api/")
            args = _form(url.query)
            content_type = self.headers.get("Content-Type", "")
            if body and content_type.startswith("application/json"):
                if method not in _JSON_BODY_METHODS:
                    body = b"{}"  # its arguments are not seen, as with Slack
                try:
                    decoded = json.loads(body)
                except json.JSONDecodeError:
                    self._reply(HTTPStatus.OK, {"ok": False, "error": "invalid_json"}, {})
                    return
                args.update(decoded if isinstance(decoded, dict) else {})
            elif body:
                args.update(_form(body.decode("utf-8")))
            # The header wins; slack_sdk also repeats the token in form bodies.
            token = _bearer(self.headers.get("Authorization")) or args.get("token")
            args.pop("token", None)
            for name in _JSON_ARGS:
                # Undecodable values stay as sent; the method's validation reports them.
                if isinstance(args.get(name), str):
                    with contextlib.suppress(json.JSONDecodeError):
                        args[name] = json.loads(args[name])
            status, answer, headers, delay, trickle = fake._handle_api(method, args, token)
            time.sleep(delay)
            with contextlib.suppress(OSError):  # a client that timed out has hung up
                self._reply(status, answer, headers, trickle)

        def _reply(
            self, status: int, answer: dict[str, Any], headers: dict[str, str], trickle: float = 0
        ) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not trickle:
                self.wfile.write(data)
                return
            for byte in data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(trickle)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet; history() has every request

    return Handler


def _invalid_arguments(problems: list[str]) -> dict[str, Any]:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}


def _form(query: str) -> dict[str, Any]:
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


# --------------------------------------------------------------------- payload builders
# Shapes follow Slack's documented examples and what Slack really sends over Socket Mode.


def dm_channel_id(user_id: str) -> str:
    """The DM channel the fake opens with a user."""
    return "D" + user_id.removeprefix("U").removeprefix("W")


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's: <digits>.<digits>.<32 hex>."""
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def app_home_opened_event(
    user_id: str,
    *,
    tab: str = "home",
    view: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """The event_callback Slack sends when a user opens the app's Home (or Messages) tab.

    `view` is present on the real event only once a Home view was published for the user.
    """
    now = time.time()
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": dm_channel_id(user_id),
        "tab": tab,
        "event_ts": f"{now:.6f}",
    }
    if view is not None:
        event["view"] = view
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def block_actions_payload(
    user_id: str,
    action_id: str,
    value: str = "",
    *,
    block_id: str = "actions",
    text: str = "Button",
    channel_id: str | None = None,
    message_ts: str | None = None,
    view_id: str = "V0FAKEHOME",
    trigger_id: str | None = None,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """A button click. With `channel_id` it was clicked in a message there (the payload then has
    `channel`, `message` and `response_url`); without, on the App Home view `view_id`."""
    now = time.time()
    name = user_name or user_id.lower()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": text, "emoji": True},
                "value": value,
                "action_ts": f"{now:.6f}",
            }
        ],
    }
    if channel_id is not None:
        ts = message_ts or f"{now:.6f}"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = {"type": "message", "ts": ts, "bot_id": BOT_ID, "text": ""}
        payload["response_url"] = (
            f"https://hooks.slack.com/actions/{team_id}/{secrets.randbelow(10**12)}/"
            f"{secrets.token_hex(12)}"
        )
    else:
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {
            "id": view_id,
            "team_id": team_id,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(now)}.{secrets.token_hex(4)}",
            "app_id": api_app_id,
            "bot_id": BOT_ID,
        }
    return payload


def slash_command_payload(
    command: str,
    text: str,
    user_id: str,
    *,
    channel_id: str | None = None,
    channel_name: str = "directmessage",
    trigger_id: str | None = None,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """A slash command as Slack sends it: every value a string (it was a form post)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id or dm_channel_id(user_id),
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": (
            f"https://hooks.slack.com/commands/{team_id}/{secrets.randbelow(10**12)}/"
            f"{secrets.token_hex(12)}"
        ),
        "trigger_id": trigger_id or new_trigger_id(),
    }


def view_submission_payload(
    user_id: str,
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """The person pressed the modal's submit button: `view` as views.open returned it, with
    `values` (block_id -> action_id -> the element's state) filled in."""
    name = user_id.lower()
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {**view, "state": {"values": values}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
