"""Click-to-ack latency of the Slack bot: 200 request-button clicks through the fake Slack's
Socket Mode (the real SocketModeHandler), with moto's DynamoDB and S3 behind the bot.

Latency is from the fake writing the envelope to receiving the bot's ack (Slack's limit is
3,000 ms). Prints p50/p95/max; asserts nothing.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

import boto3
from moto import mock_aws

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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy credentials
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    with mock_aws(), FakeSlack() as slack:
        create_table(boto3.client("dynamodb", region_name=REGION))
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=catalog_document())
        for email, user in SLACK_USERS.items():
            slack.add_user(user, email)
        settings = BotSettings(
            bot_token=slack.bot_token,
            app_token=slack.app_token,
            slack_api_url=slack.api_url,
            request_table=TABLE,
            catalog_bucket=BUCKET,
            catalog_key="catalog.json",
            help_channel="#db-access",
            health_port=0,
            rate_limit=10_000,  # measuring the ack, not the rate limit
        )
        bot = Bot(settings)
        bot.start()
        try:
            slack.wait_connected(10)
            choice = RequestChoice("orders", "read-only")
            user = SLACK_USERS["fatima.zahra@example.com"]
            latencies = []
            started = time.perf_counter()
            for n in range(WARM_UP + CLICKS):
                envelope = slack.send_interactive(
                    block_actions_payload(user, choice.action_id, choice.value)
                )
                envelope.ack(timeout=5)
                assert envelope.latency is not None
                if n >= WARM_UP:
                    latencies.append(envelope.latency * 1000)
            elapsed = time.perf_counter() - started
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                len(slack.calls("chat.postMessage")) < WARM_UP + CLICKS
            ):
                time.sleep(0.05)
            recorded = slack.calls("chat.postMessage")
        finally:
            bot.stop()
    print(f"click-to-ack over {CLICKS} clicks (after {WARM_UP} warm-up), ms:")
    print(f"  p50 {percentile(latencies, 0.50):7.2f}")
    print(f"  p95 {percentile(latencies, 0.95):7.2f}")
    print(f"  max {max(latencies):7.2f}")
    print(f"  mean {statistics.fmean(latencies):6.2f}")
    print(f"  {len(recorded)} of {WARM_UP + CLICKS} clicks answered; {elapsed:.1f} s in all")
    print("  targets: p95 <= 100 ms, max < 1,000 ms (Slack's limit: 3,000 ms)")


if __name__ == "__main__":
    main()
