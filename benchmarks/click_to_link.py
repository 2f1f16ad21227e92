"""Click -> link, end to end: 200 request clicks from 20 people at 2 a second, through the real
bot (driven by the fake Slack over Socket Mode), DynamoDB and its stream (moto's server), a
stream poller that hands new records to the real issuer handler the way Lambda's event source
mapping does (every 250 ms, batches of 10, partial failures retried), the real PrivateBin
server (tests/privatebin_server.py; the fake if its source or php is absent, said so), and the
DM back at the fake Slack.

The fake Slack and moto each run in their own process, PrivateBin in php; the bot, the poller
and the issuer in this one. Times are time.perf_counter() (CLOCK_MONOTONIC on Linux, the same
clock in every process). Prints p50/p95/max of click -> ack and click -> DM, the median of each
part of the way, and the issuer's cold import against boto3's in the Lambda layout. Targets
(issue 15): click -> DM p95 <= 1.5 s; import <= 1.5x boto3. Asserts nothing.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Read when the issuer's logger is made (the imports below): 200 audit lines would bury the
# figures.
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

from benchmarks.bot_ack import (  # noqa: E402
    answer,
    bench_bot,
    offline_aws,
    percentile,
    start_sides,
)
from benchmarks.issuer_latency import lambda_layout, print_cold_import  # noqa: E402
from dbaccess.bot.ids import RequestChoice  # noqa: E402
from tests.fakes.slack import FakeSlack, block_actions_payload  # noqa: E402

PEOPLE = 20
CLICKS = 200
RATE = 2.0  # clicks a second
POLL = 0.25  # seconds between the poller's looks at the stream
REGION = "eu-west-1"
TABLE = "dbaccess-requests"
BUCKET = "dbaccess-catalog-bench"
CHOICE = RequestChoice("bench", "read-only")


def people() -> dict[str, str]:
    """email -> Slack user id."""
    return {f"person{i:02d}@example.com": f"U0P{i:02d}" for i in range(PEOPLE)}


def catalog() -> str:
    from tests.services.bot_world import catalog_database, catalog_document

    return catalog_document(
        {email: [(CHOICE.database, CHOICE.access)] for email in people()},
        {CHOICE.database: catalog_database(CHOICE.database)},
    )


def aws_side(pipe: Connection) -> None:
    """moto's server with the request table (and its stream), the catalog and the Slack token."""
    moto, where = serve_aws(BUCKET, catalog())
    pipe.send(where)
    pipe.recv()  # stop
    moto.stop()


def serve_aws(bucket: str, catalog_text: str) -> tuple[Any, dict[str, str]]:
    """moto's server, started, with the request table and its stream, `bucket` holding the
    catalog, and the Slack bot token's secret; (the server, where things are)."""
    from moto.server import ThreadedMotoServer

    from tests.services.issuer_world import create_table

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    aws = boto3.Session(region_name=REGION)
    stream_arn = create_table(aws.client("dynamodb", endpoint_url=endpoint))
    s3 = aws.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="catalog.json", Body=catalog_text)
    secret = aws.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name="dbaccess/slack-bot-token", SecretString=FakeSlack().bot_token
    )
    return moto, {"endpoint": endpoint, "stream_arn": stream_arn, "secret_arn": secret["ARN"]}


def slack_side(pipe: Connection) -> None:
    """The fake Slack: clicks at RATE an open loop, then reports click, ack and DM times."""
    with FakeSlack() as slack:
        for email, user in people().items():
            slack.add_user(user, email)
        pipe.send(
            {"api_url": slack.api_url, "bot_token": slack.bot_token, "app_token": slack.app_token}
        )
        slack.wait_connected(30)
        users = list(people().values())
        sent = []
        started = time.perf_counter()
        for n in range(CLICKS):
            time.sleep(max(0.0, started + n / RATE - time.perf_counter()))
            payload = block_actions_payload(users[n % PEOPLE], CHOICE.action_id, CHOICE.value)
            sent.append((payload["trigger_id"], slack.send_interactive(payload)))
        for _, envelope in sent:
            envelope.ack(timeout=10)
        pipe.send(dms(slack, sent))
        pipe.recv()  # stop, once the bot has closed its connection


def dms(slack: FakeSlack, sent: list[tuple[str, Any]]) -> dict[str, Any]:
    """Waits (up to 60 s) for the DM of every click; the DM's metadata names the request."""
    wanted = {request_id for request_id, _ in sent}
    delivered: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(delivered) < len(wanted):
        for call in slack.history():
            tag = (call.args.get("metadata") or {}).get("event_payload") or {}
            if call.method == "chat.postMessage" and call.ok and tag.get("request_id") in wanted:
                delivered.setdefault(tag["request_id"], call.at)
        time.sleep(0.1)
    return {
        "clicks": {
            request_id: {"sent": e.sent_at, "acked": e.sent_at + (e.latency or 0)}
            for request_id, e in sent
        },
        "dm_at": delivered,
    }


class Timeline:
    """When each request reached each step, from hooks on the bot's and issuer's clients."""

    def __init__(self) -> None:
        self.marks: dict[str, dict[str, float]] = defaultdict(dict)
        self.current: str | None = None  # the record the issuer works on (one at a time)
        self._lock = threading.Lock()

    def mark(self, request_id: str | None, step: str) -> None:
        if request_id is not None:
            with self._lock:
                self.marks[request_id].setdefault(step, time.perf_counter())

    def watch_bot(self, dynamodb: Any) -> None:
        def written(params: dict[str, Any], **_: Any) -> None:
            self.mark(json.loads(params["body"])["Item"]["request_id"]["S"], "written")

        dynamodb.meta.events.register("before-call.dynamodb.PutItem", written)

    def watch_issuer(self, dynamodb: Any, sts: Any) -> None:
        def before_update(params: dict[str, Any], **_: Any) -> None:
            body = json.loads(params["body"])
            if ":pending" in body.get("ExpressionAttributeValues", {}):  # the claim
                self.current = body["Key"]["request_id"]["S"]
                self.mark(self.current, "claim")

        def after_update(**_: Any) -> None:
            self.mark(self.current, "claimed")

        events = dynamodb.meta.events
        events.register("before-call.dynamodb.UpdateItem", before_update)
        events.register("after-call.dynamodb.UpdateItem", after_update)
        sts.meta.events.register(
            "before-call.sts.AssumeRole", lambda **_: self.mark(self.current, "sts")
        )
        sts.meta.events.register(
            "after-call.sts.AssumeRole", lambda **_: self.mark(self.current, "sts_done")
        )
        # The client logs each paste it made; the line's moment is the paste's end.
        timeline = self

        class Pasted(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                timeline.mark(timeline.current, "pasted")

        pastes = logging.getLogger("dbaccess.clients.privatebin")
        pastes.setLevel(logging.INFO)
        pastes.propagate = False
        pastes.addHandler(Pasted())


@contextmanager
def privatebin_server() -> Iterator[tuple[str, str]]:
    """(URL, what it is): the real server if it can run here, else the fake."""
    from tests.privatebin_server import PrivateBinServer, skip_reason

    reason = skip_reason()
    if reason is None:
        with tempfile.TemporaryDirectory() as tmp, PrivateBinServer(Path(tmp)) as server:
            yield server.url, "the real PrivateBin server (limiter off)"
    else:
        from tests.fakes.privatebin import FakePrivateBin

        with FakePrivateBin() as fake:
            yield fake.url, f"the fake PrivateBin ({reason})"


def poll_stream(stream_arn: str, endpoint: str, stop: threading.Event) -> None:
    """Lambda's event source mapping: every POLL seconds, new records to the real handler."""
    from tests.services.issuer_world import StreamReader, deliver_batches, invoke_issuer

    reader = StreamReader(stream_arn, endpoint_url=endpoint)
    while not stop.is_set():
        records = reader.new_records()
        deliver_batches(records, invoke_issuer)
        stop.wait(POLL)


def set_environment(aws: dict[str, str], slack_api_url: str, privatebin_url: str) -> None:
    """What the issuer's component would set, pointing at this run's servers."""
    from dbaccess import service_env
    from dbaccess.issuer import settings as issuer_env

    os.environ.update(
        {
            "AWS_ENDPOINT_URL": aws["endpoint"],
            service_env.REQUEST_TABLE: TABLE,
            service_env.CATALOG_URL: f"s3://{BUCKET}/catalog.json",
            service_env.SLACK_TOKEN_SECRET_ARN: aws["secret_arn"],
            service_env.SLACK_API_URL: slack_api_url,
            issuer_env.PRIVATEBIN_URL: privatebin_url,
        }
    )


def run() -> tuple[dict[str, Any], Timeline, str]:
    from dbaccess.issuer import handler

    (aws_pipe, slack_pipe), sides = start_sides(aws_side, slack_side)
    timeline = Timeline()
    stop = threading.Event()
    try:
        aws = answer(aws_pipe, 120, "moto's server")
        where = answer(slack_pipe, 120, "the fake Slack")
        with privatebin_server() as (privatebin_url, privatebin_kind):
            set_environment(aws, where["api_url"], privatebin_url)
            issuer = handler.issuer()  # the cold start is not a request's time
            timeline.watch_issuer(issuer.table.client, issuer._sts(REGION))
            poller = threading.Thread(
                target=poll_stream, args=(aws["stream_arn"], aws["endpoint"], stop), daemon=True
            )
            poller.start()
            bot = bench_bot(where, TABLE, BUCKET)
            timeline.watch_bot(bot.services.recorder.table.client)
            bot.start()
            try:
                result = answer(slack_pipe, 400, "the clicks and their DMs")
            finally:
                bot.stop()
                stop.set()
                poller.join(30)
    finally:
        for pipe, side in zip((aws_pipe, slack_pipe), sides, strict=True):
            pipe.send("stop")
            side.join(30)
    return result, timeline, privatebin_kind


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<34} (none)"
    return (
        f"  {name:<34} p50 {percentile(values, 0.5) * 1000:7.0f}  p95 "
        f"{percentile(values, 0.95) * 1000:7.0f}  max {max(values) * 1000:7.0f}"
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    offline_aws()
    result, timeline, privatebin_kind = run()
    clicks, dm_at = result["clicks"], result["dm_at"]
    acks = [c["acked"] - c["sent"] for c in clicks.values()]
    to_dm = [dm_at[r] - c["sent"] for r, c in clicks.items() if r in dm_at]
    print(f"click -> link: {CLICKS} clicks from {PEOPLE} people at {RATE:g}/s, {privatebin_kind}")
    print(line("click -> ack", acks))
    print(line("click -> DM", to_dm))
    print(f"  {len(dm_at)} of {CLICKS} DMs arrived")
    parts: dict[str, list[float]] = defaultdict(list)
    for request_id, marks in timeline.marks.items():
        if request_id not in dm_at or not {"written", "claim", "claimed"} <= set(marks):
            continue
        sent = clicks[request_id]["sent"]
        parts["bot: click -> item written"].append(marks["written"] - sent)
        parts["stream wait (poll, batch queue)"].append(marks["claim"] - marks["written"])
        parts["claim (UpdateItem)"].append(marks["claimed"] - marks["claim"])
        if {"sts", "sts_done", "pasted"} <= set(marks):
            parts["catalog, DM open (claim -> STS)"].append(marks["sts"] - marks["claimed"])
            parts["STS AssumeRole"].append(marks["sts_done"] - marks["sts"])
            parts["token + PrivateBin paste"].append(marks["pasted"] - marks["sts_done"])
            parts["Slack: mark item + DM posted"].append(dm_at[request_id] - marks["pasted"])
    print("where the time goes (medians of the requests above):")
    for name, values in parts.items():
        print(f"  {name:<34} {statistics.median(values) * 1000:7.0f} ms")
    print("  target: click -> DM p95 <= 1,500 ms")
    with tempfile.TemporaryDirectory() as tmp:
        layout = lambda_layout(Path(tmp))
        if layout is None:
            print("cold import: layer not built (pip could not reach a package index)")
        else:
            print_cold_import(layout[2])
            print("  target: <= 1.5x boto3")


if __name__ == "__main__":
    main()
