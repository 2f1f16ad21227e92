"""The bot's settings, from environment variables, read once by `load_settings`.

A missing or malformed variable stops start-up with a message naming it (SettingsError), so a
bad Deployment fails at once in `kubectl logs` instead of at the first click. The tokens are not
in the environment: it names their Secrets Manager secrets, read here once (IRSA role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dbaccess.bot.access_requests.github_settings import GitHubSettings, load_github_settings
from dbaccess.bot.slack_approval.settings import (
    CLIENT_ID,
    SlackApprovalSettings,
    load_slack_approval_settings,
)
from dbaccess.clients.secrets_manager import SecretReader, read_named_secret
from dbaccess.formats import is_dynamodb_table_name, is_slack_channel, parse_s3_url
from dbaccess.service_env import (
    CATALOG_URL,
    REQUEST_TABLE,
    SLACK_TOKEN_SECRET_ARN,
    SettingsError,
    optional,
    required,
    slack_api_url,
    whole_number,
)

# The bot's own variables (the shared ones are in dbaccess.service_env); components/slack_bot.py
# sets them from these names.
BOT_TOKEN_SECRET_ARN: Final = SLACK_TOKEN_SECRET_ARN  # the same secret the Lambdas read
APP_TOKEN_SECRET_ARN: Final = "DBACCESS_SLACK_APP_TOKEN_SECRET_ARN"
HELP_CHANNEL: Final = "DBACCESS_HELP_CHANNEL"
HEALTH_PORT: Final = "HEALTH_PORT"
RATE_LIMIT: Final = "DBACCESS_RATE_LIMIT"
RATE_WINDOW: Final = "DBACCESS_RATE_WINDOW_SECONDS"
# "true": Slack guests may get credentials and request access too (users of another
# organization, through Slack Connect, never may).
ALLOW_GUESTS: Final = "DBACCESS_ALLOW_GUESTS"

DEFAULT_HEALTH_PORT: Final = 8080  # the pod's probes too (components/slack_bot.py)
DEFAULT_RATE_LIMIT: Final = 5
DEFAULT_RATE_WINDOW_SECONDS: Final = 600


@dataclass(frozen=True)
class BotSettings:
    bot_token: str
    app_token: str
    slack_api_url: str
    request_table: str
    catalog_bucket: str
    catalog_key: str
    help_channel: str
    health_port: int = DEFAULT_HEALTH_PORT
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_window_seconds: int = DEFAULT_RATE_WINDOW_SECONDS
    allow_guests: bool = False
    github: GitHubSettings | None = None  # access requests as pull requests; None: off
    slack_approval: SlackApprovalSettings | None = None  # approve in Slack; None: off

    def __repr__(self) -> str:  # never print the tokens
        return (
            f"BotSettings(slack_api_url={self.slack_api_url!r}, "
            f"request_table={self.request_table!r}, "
            f"catalog=s3://{self.catalog_bucket}/{self.catalog_key}, "
            f"help_channel={self.help_channel!r}, health_port={self.health_port}, "
            f"rate_limit={self.rate_limit}/{self.rate_window_seconds}s, "
            f"allow_guests={self.allow_guests}, github={self.github!r}, "
            f"slack_approval={self.slack_approval!r})"
        )


def load_settings(environ: Mapping[str, str], read_secret: SecretReader) -> BotSettings:
    """Build the settings from `environ` (os.environ in production), reading the secrets it
    names with `read_secret` (Secrets Manager in production)."""
    bot_token = read_named_secret(environ, BOT_TOKEN_SECRET_ARN, read_secret)
    if not bot_token.startswith("xoxb-"):
        raise SettingsError(
            f"the secret {BOT_TOKEN_SECRET_ARN} names is not a bot token (it starts with xoxb-)"
        )
    app_token = read_named_secret(environ, APP_TOKEN_SECRET_ARN, read_secret)
    if not app_token.startswith("xapp-"):
        raise SettingsError(
            f"the secret {APP_TOKEN_SECRET_ARN} names is not an app-level token (it starts "
            "with xapp-, scope connections:write)"
        )
    api_url = slack_api_url(environ)
    table = required(environ, REQUEST_TABLE)
    if not is_dynamodb_table_name(table):
        raise SettingsError(f"{REQUEST_TABLE}={table!r} is not a DynamoDB table name")
    catalog = required(environ, CATALOG_URL)
    try:
        bucket, key = parse_s3_url(catalog)
    except ValueError:
        raise SettingsError(f"{CATALOG_URL}={catalog!r} is not an s3://bucket/key URL") from None
    allow_guests = optional(environ, ALLOW_GUESTS, "false").lower()
    if allow_guests not in ("true", "false"):
        raise SettingsError(f"{ALLOW_GUESTS}={allow_guests!r} is not true or false")
    channel = required(environ, HELP_CHANNEL)
    if not is_slack_channel(channel):
        raise SettingsError(
            f"{HELP_CHANNEL}={channel!r} is not a channel name (#data-access) or id"
        )
    github = load_github_settings(environ, read_secret)
    slack_approval = load_slack_approval_settings(environ, read_secret)
    if slack_approval is not None and github is None:
        raise SettingsError(f"{CLIENT_ID} is set but the GitHub App is not (approve in Slack)")
    return BotSettings(
        bot_token=bot_token,
        app_token=app_token,
        slack_api_url=api_url,
        request_table=table,
        catalog_bucket=bucket,
        catalog_key=key,
        help_channel=channel,
        health_port=whole_number(environ, HEALTH_PORT, 1, 65535, default=DEFAULT_HEALTH_PORT),
        rate_limit=whole_number(environ, RATE_LIMIT, 1, 1000, default=DEFAULT_RATE_LIMIT),
        rate_window_seconds=whole_number(
            environ, RATE_WINDOW, 1, 86400, default=DEFAULT_RATE_WINDOW_SECONDS
        ),
        allow_guests=allow_guests == "true",
        github=github,
        slack_approval=slack_approval,
    )
