"""Wires the bot and starts it: settings -> clients -> Bolt app -> Socket Mode + health checks.

No public HTTP endpoint: Socket Mode dials out to Slack. The only port is the health port.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

import boto3
from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from dbaccess.bot.access_requests.flow import request_flow_for
from dbaccess.bot.access_requests.poller import DecisionPoller
from dbaccess.bot.directory import Directory
from dbaccess.bot.health import HealthServer
from dbaccess.bot.listeners import register_listeners
from dbaccess.bot.recorder import DYNAMODB_CONFIG, RequestRecorder
from dbaccess.bot.services import CONTEXT_KEY, Services
from dbaccess.bot.settings import BotSettings, SettingsError, load_settings
from dbaccess.bot.slack_approval.flow import approval_flow_for
from dbaccess.bot.socket_mode import HandoverSocketModeHandler
from dbaccess.catalog import CatalogSource
from dbaccess.clients.secrets_manager import secret_reader

logger = logging.getLogger("dbaccess.bot")

# Every click is acked before any AWS call, but only once a thread picks it up: Bolt's default
# of 5 listener threads (and Socket Mode's 10 message workers) let a burst of clicks wait for
# DynamoDB in front of them, past Slack's 3 seconds. The threads mostly wait on the network.
LISTENER_THREADS = 64
# The Socket Mode client pings Slack this often and replaces a connection with no pong for
# 4 intervals (the SDK's rule): a connection dropped without a close frame is replaced
# within 6-8 s instead of 40-50 s at Bolt's default of 10.
PING_INTERVAL = 1.5
# /healthz fails when no pong came for this long (the connection is deaf, whatever the
# socket object says), so the kubelet restarts a bot that could not replace it.
STALE_AFTER = 15.0


def web_client(settings: BotSettings) -> WebClient:
    return WebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=5,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_services(
    settings: BotSettings, client: WebClient, session: boto3.Session | None = None
) -> Services:
    """AWS clients honour the standard AWS_* variables, AWS_ENDPOINT_URL included."""
    session = session or boto3.Session()
    dynamodb = session.client("dynamodb", config=DYNAMODB_CONFIG)
    directory = Directory(client, allow_guests=settings.allow_guests)
    services = Services(
        settings=settings,
        catalog=CatalogSource(session.client("s3"), settings.catalog_bucket, settings.catalog_key),
        recorder=RequestRecorder(
            dynamodb,
            settings.request_table,
            limit=settings.rate_limit,
            window_seconds=settings.rate_window_seconds,
        ),
        directory=directory,
        request_flow=(
            request_flow_for(
                settings.github, dynamodb, settings.request_table, settings.help_channel
            )
            if settings.github
            else None
        ),
    )
    if settings.slack_approval and settings.github and services.request_flow:
        services.approval = approval_flow_for(
            settings.slack_approval,
            settings.github,
            settings.request_table,
            client,
            directory,
            dynamodb=dynamodb,
            kms=session.client("kms"),
        )
        services.request_flow.on_opened = services.approval.announce
    return services


def build_app(services: Services, client: WebClient) -> App:
    # Listeners log through the `logger` Bolt hands them: make that ours, not slack_bolt's.
    app = App(
        client=client,
        process_before_response=False,
        logger=logger,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="listener"
        ),
    )

    @app.middleware
    def provide_services(context: BoltContext, next: Callable[[], Any]) -> Any:
        context[CONTEXT_KEY] = services
        return next()

    register_listeners(app)
    return app


class Bot:
    """The running bot: Socket Mode connection plus the health server."""

    def __init__(self, settings: BotSettings, services: Services | None = None) -> None:
        client = web_client(settings)
        self.services = services or build_services(settings, client)
        self.app = build_app(self.services, client)  # checks the bot token (auth.test)
        self.handler = HandoverSocketModeHandler(
            self.app,
            settings.app_token,
            ping_interval=PING_INTERVAL,
            concurrency=LISTENER_THREADS,
        )
        self._stopping = threading.Event()
        self._connected_once = False
        self._sessions: dict[str, float] = {}  # session id -> when first seen (time.time())
        self.health = HealthServer(settings.health_port, alive=self.alive, ready=self.ready)
        flow, github = self.services.request_flow, settings.github
        self.poller = DecisionPoller(flow, client, github.poll_seconds) if flow and github else None

    def alive(self) -> bool:
        """Connected, and Slack answered a ping lately (a new session gets its first
        STALE_AFTER seconds to do so)."""
        client = self.handler.client
        session = client.current_session
        if session is None or not client.is_connected():
            return False
        first_seen = self._sessions.setdefault(session.session_id, time.time())
        heard = session.last_ping_pong_time or first_seen
        return time.time() - heard < STALE_AFTER

    def ready(self) -> bool:
        if self._stopping.is_set():
            return False  # draining: take no new envelopes from Slack's side either
        if self.alive():
            self._connected_once = True
        return self._connected_once and self.alive()

    def start(self) -> None:
        self.health.start()
        self.handler.connect()  # non-blocking; reconnects by itself after a disconnect
        if self.poller:
            self.poller.start()

    def stop(self) -> None:
        self._stopping.set()
        if self.poller:
            self.poller.stop()
        if self.services.approval:
            self.services.approval.stop()
        self.handler.close()
        self.health.stop()


def main(environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Their debug lines carry tokens and request bodies.
    for name in ("botocore", "boto3", "urllib3", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        # The tokens and the GitHub App's key, read once through the IRSA role.
        secrets = secret_reader(boto3.Session().client("secretsmanager"))
        settings = load_settings(os.environ if environ is None else environ, secrets)
    except SettingsError as exc:
        print(f"dbaccess bot: cannot start: {exc}", file=sys.stderr)
        return 2
    bot = Bot(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: closing the Socket Mode connection", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    bot.start()
    logger.info("started: %r", settings)
    while not stop.wait(1.0):  # a bounded wait: signals are handled between waits
        pass
    bot.stop()
    logger.info("stopped")
    return 0
