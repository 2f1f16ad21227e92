"""slack_sdk's built-in Socket Mode client, changed in how one connection replaces another.

Slack asks every Socket Mode app to move to a new connection every few hours (a `disconnect`
envelope). slack_sdk 3.x's built-in client then opens the new connection, closes the old one and
only then makes the new one current. Closing takes the old connection's receive lock, which its
receive loop holds through a blocking recv() of up to 3 seconds, and the one receive thread reads
the new connection only once the old loop has ended: every ack and every envelope in that window
waits about 3 seconds, past Slack's 3-second limit (measured 3.0-3.2 s with Slack pinging every
10 s). No Socket Mode client we could use does better (the websocket-client adapter swaps first but
still reads one connection at a time, and does not notice a connection dropped without a close
frame), so this module changes that one step, by hand:

- the new connection becomes current as soon as it is up, so acks go out on it at once;
- the old one is shut down at the socket first, which wakes its blocked recv() at once, so the
  receive thread moves to the new connection within its 0.1 s poll, and closed on its own thread.

Everything else (pings, staleness checks, reconnects, message workers) is the SDK's.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState


def close_at_once(session: Connection) -> None:
    """Close a connection without waiting for its receive loop's recv() to time out: shutting the
    socket down makes that recv() return, which releases the lock close() needs."""
    sock = session.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: close() below is all that is left
            sock.shutdown(socket.SHUT_RDWR)
    session.close()


class HandoverSocketModeClient(SocketModeClient):
    """The built-in client, with a replacement connection taking over before the old one closes."""

    def connect(self) -> None:
        old_session, old_state = self.current_session, self.current_session_state
        if self.wss_uri is None:
            self.wss_uri = self.issue_new_wss_url()
        session = Connection(
            url=self.wss_uri,
            logger=self.logger,
            ping_interval=self.ping_interval,
            trace_enabled=self.trace_enabled,
            all_message_trace_enabled=self.all_message_trace_enabled,
            ping_pong_trace_enabled=self.ping_pong_trace_enabled,
            receive_buffer_size=self.receive_buffer_size,
            proxy=self.proxy,
            proxy_headers=self.proxy_headers,
            on_message_listener=self._on_message,
            on_error_listener=self._on_error,
            on_close_listener=self._on_close,
            ssl_context=self.web_client.ssl,
        )
        session.connect()
        self.current_session, self.current_session_state = session, ConnectionState()
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        # The old receive loop ends on its next turn; what Slack still had in flight on the old
        # connection is lost either way (Slack sends new envelopes to the new one).
        old_state.terminated = True
        if old_session is not None:
            threading.Thread(
                target=close_at_once, args=(old_session,), name="socket-mode-close", daemon=True
            ).start()
        if not self.current_app_monitor_started:
            self.current_app_monitor_started = True
            self.current_app_monitor.start()
        self.logger.info("Socket Mode connection %s is up", session.session_id)

    def disconnect(self) -> None:
        if self.current_session is not None:
            close_at_once(self.current_session)


class HandoverSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode adapter over `HandoverSocketModeClient` (Bolt builds its client in
    __init__ with no way to pass another, so this __init__ replaces that one line's worth)."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float, concurrency: int) -> None:
        self.app = app
        self.app_token = app_token
        self.client = HandoverSocketModeClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            ping_interval=ping_interval,
            concurrency=concurrency,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
