"""Lambda entry point: the request table's stream, one record per credential request.

Partial batch responses (ReportBatchItemFailures): a record that fails is reported by its
sequence number and delivered again; the others in the batch are not held up. Everything
with I/O (settings, the Slack token from Secrets Manager, clients) is built on the first
invocation by `cold_start`, never at import.

The batch loop is written here rather than taken from Powertools' batch utility: that utility
imports asyncio and every Lambda event class at import (28 ms, a fifth of boto3's own import),
for what is a loop and a list of sequence numbers.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dbaccess import request_table as ri
from dbaccess.clients.deadline import Deadline
from dbaccess.issuer.flow import (
    AWS_CONFIG,
    SLACK_CALL_TIMEOUT,
    STATE_RESERVE,
    Issuer,
    RetryLater,
    logger,
)

_issuer: Issuer | None = None


def cold_start() -> Issuer:
    """Settings from the environment, the Slack token from Secrets Manager, the clients."""
    import boto3

    from dbaccess.catalog import CatalogSource
    from dbaccess.clients.privatebin import PrivateBin
    from dbaccess.clients.slack import direct_messages_from_secret, quiet_sdk_loggers
    from dbaccess.issuer.settings import load_settings

    # The DM with the link, the RDS token's signature, STS answers: never in the logs.
    quiet_sdk_loggers()
    settings = load_settings()
    session = boto3.Session()
    slack = direct_messages_from_secret(
        session.client("secretsmanager"),
        settings.slack_token_secret_arn,
        settings.slack_api_url,
        call_timeout=SLACK_CALL_TIMEOUT,
    )
    return Issuer(
        settings,
        dynamodb=session.client("dynamodb", config=AWS_CONFIG),
        catalog=CatalogSource(session.client("s3"), settings.catalog_bucket, settings.catalog_key),
        session=session,
        privatebin=PrivateBin(
            # Per request; each record's deadline usually cuts it shorter.
            settings.privatebin_url,
            timeout=10.0,
            ca_bundle=settings.privatebin_ca_bundle,
        ),
        slack=slack,
    )


def issuer() -> Issuer:
    global _issuer
    if _issuer is None:
        _issuer = cold_start()
    return _issuer


def new_image(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's item as plain values; {} for a record without one (or not a DynamoDB
    image), which the issuer reports as malformed."""
    try:
        return ri.from_item(record["dynamodb"]["NewImage"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}


def record_handler(record: Mapping[str, Any], lambda_context: LambdaContext) -> str:
    # Each record gets what is left of the invocation, minus room to write its state.
    deadline = Deadline.of_invocation(lambda_context, reserve=STATE_RESERVE)
    return issuer().handle(new_image(record), lambda_context.aws_request_id, deadline)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Always a partial response, also when every record failed: the stream retries the same
    way. A failed record without a sequence number cannot be reported alone, so the whole batch
    fails then (delivered again, bisected) rather than lose it."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        try:
            record_handler(record, context)
        except Exception as exc:  # noqa: BLE001 - any failure: the stream delivers it again
            if not isinstance(exc, (RetryLater, ri.MalformedRequest)):  # those are audited
                where = traceback.extract_tb(exc.__traceback__)[-1]
                # The type and the place only: a message from a library could carry a secret.
                logger.error(
                    "record failed: %s at %s:%s", type(exc).__name__, where.filename, where.lineno
                )
            try:
                failures.append({"itemIdentifier": str(record["dynamodb"]["SequenceNumber"])})
            except (KeyError, TypeError):
                raise RuntimeError("a failed record has no sequence number") from None
    return {"batchItemFailures": failures}


__all__ = ["lambda_handler", "logger", "record_handler"]
