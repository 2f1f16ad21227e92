"""The Slack Web API client of a Lambda: its bot token from Secrets Manager, bounded retries.

Shared by the Lambdas that post to Slack (the grant reaper; the issuer builds the same client).
The token is read once per cold start and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from dbaccess.lambda_env import DEFAULT_SLACK_API_URL

# Their DEBUG lines carry request bodies and signatures: keep them out of the logs whatever
# LOG_LEVEL says.
NOISY_LOGGERS = ("botocore", "boto3", "urllib3", "slack_sdk")


def quiet_sdk_loggers() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def web_client_from_secret(
    secretsmanager: Any, secret_arn: str, api_url: str = DEFAULT_SLACK_API_URL, *, timeout: int = 10
) -> WebClient:
    """A WebClient with the bot token stored (as plain text) in the secret `secret_arn`."""
    secret = secretsmanager.get_secret_value(SecretId=secret_arn)
    return WebClient(
        token=secret["SecretString"].strip(),
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )
