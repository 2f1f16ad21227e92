"""The credential issuer's latency, against moto and the local fake PrivateBin and Slack.

Prints: per-request handler time (p50/p95) over 200 requests, each delivered as its own
stream record; the crypto floor (one PBKDF2-HMAC-SHA256 at 100,000 iterations + AES-GCM of
the paste + one SigV4 presign of an RDS token, timed after every request: the CPU's speed
drifts) and the ratio of the p50s; the code zip and layer sizes unzipped; the cold-start
import time of the handler module against importing boto3 alone (fresh interpreters without
site-packages, importing from the code zip and a layer built for this machine unpacked as
Lambda does, best of 5). Targets (issue 4): p95 <= 250 ms,
ratio <= 3, import <= 1.5x boto3, layer <= 15 MB unzipped. Nothing is asserted.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = 200
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/dbaccess-requests/stream/1"


def handler_times() -> tuple[list[float], list[float]]:
    """(handler times, crypto floor times), one of each per request."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # 200 audit lines would bury the figures
    import boto3
    from moto import mock_aws

    from dbaccess import request_table as rq
    from dbaccess import service_env
    from dbaccess.issuer import handler
    from dbaccess.issuer import settings as env
    from tests.fakes.privatebin import FakePrivateBin
    from tests.fakes.slack import FakeSlack
    from tests.services.issuer_world import (
        BUCKET,
        REGION,
        TABLE,
        FakeContext,
        catalog_document,
        create_table,
    )

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto's stand-in credentials
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    times, floors = [], []
    floor = crypto_floor()
    with mock_aws(), FakeSlack() as slack, FakePrivateBin() as privatebin:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=catalog_document())
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="bench-token", SecretString=slack.bot_token
        )["ARN"]
        slack.add_user("U0FATIMA", "fatima.zahra@example.com")
        os.environ.update(
            {
                service_env.REQUEST_TABLE: TABLE,
                service_env.CATALOG_URL: f"s3://{BUCKET}/catalog.json",
                env.PRIVATEBIN_URL: privatebin.url,
                service_env.SLACK_TOKEN_SECRET_ARN: secret,
                service_env.SLACK_API_URL: slack.api_url,
            }
        )
        handler.issuer()  # the cold start is not a request's time
        for i in range(REQUESTS + 5):
            item = rq.new_request(
                request_id=f"bench-{i}",
                email="fatima.zahra@example.com",
                slack_user_id="U0FATIMA",
                channel="D0FATIMA",
                database="orders",
                access="read-only",
            )
            dynamodb.put_item(TableName=TABLE, Item=rq.to_item(item))
            event = {
                "Records": [
                    {
                        "eventID": secrets.token_hex(16),
                        "eventName": "INSERT",
                        "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb",
                        "awsRegion": REGION,
                        "dynamodb": {
                            "Keys": rq.to_item({rq.REQUEST_ID: item[rq.REQUEST_ID]}),
                            "NewImage": rq.to_item(item),
                            "SequenceNumber": str(10**20 + i),
                            "SizeBytes": 300,
                            "StreamViewType": "NEW_IMAGE",
                        },
                        "eventSourceARN": STREAM_ARN,
                    }
                ]
            }
            started = time.perf_counter()
            answer = handler.lambda_handler(event, FakeContext())  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            assert answer == {"batchItemFailures": []}, answer
            if i >= 5:  # the first few warm caches (catalog, connections)
                times.append(elapsed)
                floors.append(floor())
    return times, floors


def crypto_floor() -> Callable[[], float]:
    """One PBKDF2 + AES-GCM of a paste + one RDS token presign, timed; the CPU's speed drifts,
    so the benchmark times one after every request instead of all of them at the end."""
    import boto3

    from dbaccess.clients.privatebin import _encrypted_body

    rds = boto3.Session(
        aws_access_key_id="ASIABENCH",
        aws_secret_access_key="bench",  # noqa: S106 - signing needs a key, any key
        region_name="eu-west-1",
    ).client("rds")

    def once() -> float:
        started = time.perf_counter()
        _encrypted_body("x" * 600, secrets.token_bytes(32), "10min")
        rds.generate_db_auth_token(
            DBHostname="orders.example.com", Port=5432, DBUsername="u_ro", Region="eu-west-1"
        )
        return time.perf_counter() - started

    return once


def import_time(module: str, path: list[Path], runs: int = 5) -> float:
    """Best of `runs` fresh interpreters importing `module` with only `path` and the stdlib,
    as in the Lambda (no site-packages)."""
    code = (
        f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; import time; "
        f"t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    )
    return min(
        float(
            subprocess.run(
                [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    )


def unzipped_mb(path: Path) -> float:
    return sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 1e6


def lambda_layout(tmp: Path) -> tuple[Path, Path, list[Path]] | None:
    """The code zip, the layer zip (arm64, py3.13) and the import path of both unpacked as
    Lambda does (the layer built for this machine); None when pip cannot reach an index."""
    from scripts.package_issuer import build_code, build_layer, unpack_like_lambda

    code = build_code(tmp / "code.zip")
    try:
        layer = build_layer(tmp / "layer.zip")
        native = build_layer(tmp / "native.zip", native=True)
    except subprocess.CalledProcessError:
        return None
    return code, layer, unpack_like_lambda(code, native, tmp / "lambda")


def print_cold_import(path: list[Path]) -> None:
    """The handler's import against boto3's alone, in the Lambda layout."""
    handler_import = import_time("dbaccess.issuer.handler", path)
    boto3_import = import_time("boto3", path)
    print(
        f"cold import (Lambda layout): handler {handler_import * 1000:.0f} ms, boto3 alone "
        f"{boto3_import * 1000:.0f} ms, ratio {handler_import / boto3_import:.2f}"
    )


def main() -> None:
    times, floors = handler_times()
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    floor = statistics.median(floors)
    print(f"handler, {len(times)} requests end to end: p50 {p50 * 1000:.1f} ms, ", end="")
    print(f"p95 {p95 * 1000:.1f} ms")
    print(f"crypto floor (PBKDF2 100k + AES-GCM + SigV4): {floor * 1000:.1f} ms; ", end="")
    print(f"p50/floor {p50 / floor:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        layout = lambda_layout(Path(tmp))
        if layout is None:
            print("layer: not built (pip could not reach a package index)")
            return
        code, layer, path = layout
        print(f"code zip: {unzipped_mb(code):.2f} MB unzipped ({code.stat().st_size / 1e6:.2f} MB)")
        size = layer.stat().st_size / 1e6
        print(f"layer (arm64, py3.13): {unzipped_mb(layer):.2f} MB unzipped ({size:.2f} MB)")
        print_cold_import(path)


if __name__ == "__main__":
    main()
