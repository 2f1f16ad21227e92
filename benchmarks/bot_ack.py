"""Click-to-ack latency of the Slack bot: 200 request-button clicks through the fake Slack's
Socket Mode (the real SocketModeHandler), with moto's DynamoDB and S3 behind the bot.

As in production, Slack and AWS are on the far side of a socket: the fake Slack and moto's
server each run in their own process, the bot in this one (in one process their work would
queue for the bot's interpreter lock, and for each other's, which no deployment shares).
Clicks arrive at a fixed rate, 10 a second, whether or not earlier ones were acked (an open
loop: waiting for each ack before the next click would hide a slow bot behind its own
slowness); each lands while the bot is still recording and answering earlier ones. Latency
is from the fake writing the envelope to receiving the bot's ack (Slack's limit is 3,000 ms).
Prints p50/p95/max; asserts nothing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbaccess.bot.app import Bot
from dbaccess.bot.ids import RequestChoice
from dbaccess.bot.settings import BotSettings
from tests.fakes.slack import FakeSlack, block_actions_payload
from tests.services.issuer_world import (
    BUCKET,
    REGION,
    SLACK_USERS,
    TABLE,
    catalog_document,
    create_table,
)

CLICKS = 200
WARM_UP = 10
INTERVAL = float(os.environ.get("BOT_ACK_INTERVAL", "0.1"))  # seconds between clicks


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def aws_side(pipe: Connection) -> None:
    """moto's server with the table and the catalog, until told to stop."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per AWS call otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    aws = boto3.Session(region_name=REGION)
    create_table(aws.client("dynamodb", endpoint_url=endpoint))
    s3 = aws.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=catalog_document())
    pipe.send(endpoint)
    pipe.recv()  # stop
    moto.stop()


def slack_side(pipe: Connection) -> None:
    """The fake Slack: serves the bot, clicks, sends back what it measured, waits to stop."""
    with FakeSlack() as slack:
        for email, user in SLACK_USERS.items():
            slack.add_user(user, email)
        pipe.send(
            {"api_url": slack.api_url, "bot_token": slack.bot_token, "app_token": slack.app_token}
        )
        slack.wait_connected(30)
        pipe.send(click(slack))
        pipe.recv()  # stop, once the bot has closed its connection


def click(slack: FakeSlack) -> dict[str, Any]:
    """Click n goes out at n x INTERVAL; then every ack is collected."""
    choice = RequestChoice("orders", "read-only")
    user = SLACK_USERS["fatima.zahra@example.com"]
    envelopes = []
    started = time.perf_counter()
    for n in range(WARM_UP + CLICKS):
        time.sleep(max(0.0, started + n * INTERVAL - time.perf_counter()))
        envelopes.append(
            slack.send_interactive(block_actions_payload(user, choice.action_id, choice.value))
        )
    for envelope in envelopes:
        envelope.ack(timeout=5)
    elapsed = time.perf_counter() - started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(slack.calls("chat.postMessage")) < WARM_UP + CLICKS):
        time.sleep(0.05)
    return {
        "latencies": [e.latency * 1000 for e in envelopes[WARM_UP:] if e.latency is not None],
        "answered": len(slack.calls("chat.postMessage")),
        "elapsed": elapsed,
    }


def start_sides(
    *targets: Callable[[Connection], None],
) -> tuple[list[Connection], list[multiprocessing.process.BaseProcess]]:
    """Each target in its own fresh process (spawned: no state inherited but the environment),
    with a pipe to talk to it; the processes are started."""
    spawn = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    sides: list[multiprocessing.process.BaseProcess] = []
    for target in targets:
        here, there = spawn.Pipe()
        side = spawn.Process(target=target, args=(there,), daemon=True)
        side.start()
        pipes.append(here)
        sides.append(side)
    return pipes, sides


def offline_aws() -> None:
    """moto's stand-in credentials, no proxy; inherited by the processes spawned after."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy credentials
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )


def bench_bot(where: dict[str, str], table: str, bucket: str) -> Bot:
    """The real bot against the fake Slack at `where`, with no rate limit in the way."""
    return Bot(
        BotSettings(
            bot_token=where["bot_token"],
            app_token=where["app_token"],
            slack_api_url=where["api_url"],
            request_table=table,
            catalog_bucket=bucket,
            catalog_key="catalog.json",
            help_channel="#db-access",
            health_port=0,
            rate_limit=10_000,  # measuring the way, not the rate limit
        )
    )


def answer(pipe: Connection, seconds: float, what: str) -> Any:
    if not pipe.poll(seconds):
        raise SystemExit(f"nothing from {what} within {seconds:.0f} s")
    return pipe.recv()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    offline_aws()
    (aws, slack), sides = start_sides(aws_side, slack_side)
    try:
        os.environ["AWS_ENDPOINT_URL"] = answer(aws, 120, "moto's server")
        where = answer(slack, 120, "the fake Slack")
        bot = bench_bot(where, TABLE, BUCKET)
        bot.start()
        try:
            result = answer(slack, 300, "the clicks")
        finally:
            bot.stop()
    finally:
        for pipe, side in zip((aws, slack), sides, strict=True):
            pipe.send("stop")
            side.join(30)
    latencies = result["latencies"]
    print(f"click-to-ack over {CLICKS} clicks (after {WARM_UP} warm-up), ms:")
    print(f"  p50 {percentile(latencies, 0.50):7.2f}")
    print(f"  p95 {percentile(latencies, 0.95):7.2f}")
    print(f"  max {max(latencies):7.2f}")
    print(f"  mean {statistics.fmean(latencies):6.2f}")
    print(
        f"  {result['answered']} of {WARM_UP + CLICKS} clicks answered; "
        f"{result['elapsed']:.1f} s in all"
    )
    print("  targets: p95 <= 100 ms, max < 1,000 ms (Slack's limit: 3,000 ms)")


if __name__ == "__main__":
    main()
