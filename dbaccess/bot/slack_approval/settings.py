"""Settings of "approve in Slack", from environment variables (components/slack_bot.py sets
them from `dbaccess:slackApproval`). Off unless the GitHub App's client id is set; then every
required one must be well-formed, or start-up stops naming the variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from dbaccess.access.schema import DATABASE_KEY
from dbaccess.bot.slack_approval.rules import DEFAULT_ACCESS_LEVELS, SlackApprovalPolicy
from dbaccess.clients.github_user import DEFAULT_WEB_URL
from dbaccess.clients.secrets_manager import SecretReader, read_named_secret
from dbaccess.formats import parse_api_url
from dbaccess.request_table import ACCESS_LEVELS
from dbaccess.service_env import SettingsError

CLIENT_ID: Final = "DBACCESS_GITHUB_CLIENT_ID"
CLIENT_SECRET_SECRET_ARN: Final = "DBACCESS_GITHUB_CLIENT_SECRET_SECRET_ARN"
WEB_URL: Final = "DBACCESS_GITHUB_WEB_URL"  # GitHub Enterprise Server, or a test's fake
TOKEN_KEY_ARN: Final = "DBACCESS_TOKEN_KEY_ARN"  # the stack's KMS key
ACCESS_LEVELS_VAR: Final = "DBACCESS_SLACK_APPROVAL_ACCESS"  # e.g. read-only,read-write
DATABASES_VAR: Final = "DBACCESS_SLACK_APPROVAL_DATABASES"  # unset: every database
OWNERS_CHANNELS: Final = "DBACCESS_OWNERS_CHANNELS"  # orders=#orders-dba,inventory=C0123

_CLIENT_ID: Final = re.compile(r"(Iv[0-9a-z.]+|[A-Za-z0-9._-]{8,64})")
_KMS_KEY: Final = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+")
_CHANNEL: Final = re.compile(r"#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,}")


@dataclass(frozen=True)
class SlackApprovalSettings:
    client_id: str
    client_secret: str = field(repr=False)
    token_key_arn: str
    web_url: str = DEFAULT_WEB_URL
    policy: SlackApprovalPolicy = field(default_factory=SlackApprovalPolicy)
    owners_channels: Mapping[str, str] = field(default_factory=dict)  # database -> channel


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def load_slack_approval_settings(
    environ: Mapping[str, str], read_secret: SecretReader
) -> SlackApprovalSettings | None:
    client_id = environ.get(CLIENT_ID, "").strip()
    if not client_id:
        return None
    if not _CLIENT_ID.fullmatch(client_id):
        raise SettingsError(f"{CLIENT_ID}={client_id!r} is not a GitHub App client id (Iv…)")
    secret = read_named_secret(environ, CLIENT_SECRET_SECRET_ARN, read_secret)
    key = environ.get(TOKEN_KEY_ARN, "").strip()
    if not _KMS_KEY.fullmatch(key):
        raise SettingsError(
            f"{TOKEN_KEY_ARN}={key!r} is not a KMS key ARN (needed with {CLIENT_ID})"
        )
    web_url = environ.get(WEB_URL, "").strip() or DEFAULT_WEB_URL
    try:
        parse_api_url(web_url)
    except ValueError as exc:
        raise SettingsError(f"{WEB_URL}: {exc}") from None
    levels = _names(environ.get(ACCESS_LEVELS_VAR, ""))
    unknown = [level for level in levels if level not in ACCESS_LEVELS]
    if unknown:
        raise SettingsError(
            f"{ACCESS_LEVELS_VAR}: {', '.join(unknown)} is not an access level "
            f"({', '.join(ACCESS_LEVELS)})"
        )
    databases = _names(environ.get(DATABASES_VAR, ""))
    channels: dict[str, str] = {}
    for pair in _names(environ.get(OWNERS_CHANNELS, "")):
        database, sep, channel = pair.partition("=")
        if not sep or not DATABASE_KEY.fullmatch(database) or not _CHANNEL.fullmatch(channel):
            raise SettingsError(
                f"{OWNERS_CHANNELS}: {pair!r} is not database=channel (orders=#orders-dba)"
            )
        channels[database] = channel
    return SlackApprovalSettings(
        client_id=client_id,
        client_secret=secret,
        token_key_arn=key,
        web_url=web_url.rstrip("/"),
        policy=SlackApprovalPolicy(
            access_levels=frozenset(levels) if levels else DEFAULT_ACCESS_LEVELS,
            databases=frozenset(databases) if databases else None,
        ),
        owners_channels=channels,
    )
