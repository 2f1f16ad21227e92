"""Lambda entry point: the request table's stream, one record per credential request.

Partial batch responses (ReportBatchItemFailures): a record that fails is reported by its
sequence number and delivered again; the others in the batch are not held up. Everything
with I/O (settings, the Slack token from Secrets Manager, clients) is built on the first
invocation by `cold_start`, never at import.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbaccess.deadline import Deadline
from dbaccess.issuer.flow import AWS_CONFIG, SLACK_CALL_TIMEOUT, STATE_RESERVE, Issuer, logger

# Always a partial response, also when every record failed: the stream retries the same way,
# and the error Powertools would raise instead carries the records' exception messages.
processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
)
_issuer: Issuer | None = None


def cold_start() -> Issuer:
    """Settings from the environment, the Slack token from Secrets Manager, the clients."""
    import boto3

    from dbaccess.catalog import CatalogSource
    from dbaccess.issuer.settings import load_settings
    from dbaccess.privatebin import PrivateBin
    from dbaccess.slackweb import DirectMessages, quiet_sdk_loggers, web_client_from_secret

    # The DM with the link, the RDS token's signature, STS answers: never in the logs.
    quiet_sdk_loggers()
    settings = load_settings()
    session = boto3.Session()
    slack = web_client_from_secret(
        session.client("secretsmanager"), settings.slack_token_secret_arn, settings.slack_api_url
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
        slack=DirectMessages(slack, call_timeout=SLACK_CALL_TIMEOUT),
    )


def issuer() -> Issuer:
    global _issuer
    if _issuer is None:
        _issuer = cold_start()
    return _issuer


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> str:
    image = record.dynamodb.new_image if record.dynamodb else {}
    # Each record gets what is left of the invocation, minus room to write its state.
    deadline = Deadline.of_invocation(lambda_context, reserve=STATE_RESERVE)
    return issuer().handle(image, lambda_context.aws_request_id, deadline)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event, record_handler, processor, context))


__all__ = ["lambda_handler", "logger", "record_handler"]
