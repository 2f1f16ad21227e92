"""Lambda entry point: EventBridge Scheduler invokes it once a day.

Everything with I/O (settings, the Slack token from Secrets Manager, clients) is built on the
first invocation by `cold_start`, never at import. The event's content is not used: a run
is "today", in the configured time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dbaccess.reaper.run import Reaper, logger

_reaper: Reaper | None = None


def cold_start(clock: Callable[[], dt.datetime] | None = None) -> Reaper:
    """`clock` is for tests (a fixed "now"); production runs on the real time."""
    import boto3

    from dbaccess.clients.slack import direct_messages_from_secret, quiet_sdk_loggers
    from dbaccess.reaper.settings import load_settings

    quiet_sdk_loggers()
    settings = load_settings()
    session = boto3.Session()
    sts = session.client("sts")
    iam_clients: dict[str, Any] = {}

    def iam_in(account: str) -> Any:
        """IAM in `account`, through its usage-reader role (GetRole on role/dbaccess/* only):
        IAM roles have no resource policies, so another account's roles can only be read by
        a principal of that account."""
        if account not in iam_clients:
            role_arn = settings.usage_reader_roles[account]  # KeyError: not configured
            credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="dbaccess-reaper")[
                "Credentials"
            ]
            iam_clients[account] = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            ).client("iam")
        return iam_clients[account]

    return Reaper(
        settings,
        s3=session.client("s3"),
        dynamodb=session.client("dynamodb"),
        iam_in=iam_in,
        slack=direct_messages_from_secret(
            session.client("secretsmanager"),
            settings.slack_token_secret_arn,
            settings.slack_api_url,
        ),
        **({"clock": clock} if clock else {}),
    )


def reaper() -> Reaper:
    global _reaper
    if _reaper is None:
        _reaper = cold_start()
    return _reaper


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reaper().run().as_dict()


__all__ = ["lambda_handler", "logger"]
