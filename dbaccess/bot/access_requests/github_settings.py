"""The bot's GitHub settings (access requests as pull requests), from environment variables.

All optional together: without DBACCESS_GITHUB_APP_ID the bot runs without "Request access"
(the button says so). With it, every required one must be set and well-formed, or start-up
stops naming the variable, like the Slack settings. components/slack_bot.py sets them; the
private key is read from the Secrets Manager secret PRIVATE_KEY_SECRET_ARN names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from dbaccess.clients.github import DEFAULT_API_URL, GitHubAppCredentials
from dbaccess.clients.secrets_manager import SecretReader, read_named_secret
from dbaccess.formats import is_repository_name, is_repository_path, parse_api_url
from dbaccess.service_env import SettingsError

APP_ID: Final = "DBACCESS_GITHUB_APP_ID"
INSTALLATION_ID: Final = "DBACCESS_GITHUB_INSTALLATION_ID"
PRIVATE_KEY_SECRET_ARN: Final = "DBACCESS_GITHUB_APP_PRIVATE_KEY_SECRET_ARN"
REPOSITORY: Final = "DBACCESS_GITHUB_REPOSITORY"  # owner/name
ACCESS_FILE_PATH: Final = "DBACCESS_GITHUB_ACCESS_FILE"  # the path in the repository
API_URL: Final = "DBACCESS_GITHUB_API_URL"  # GitHub Enterprise Server, or a test's fake
POLL_SECONDS: Final = "DBACCESS_GITHUB_POLL_SECONDS"

DEFAULT_ACCESS_FILE: Final = "access.yaml"
DEFAULT_POLL_SECONDS: Final = 60


@dataclass(frozen=True)
class GitHubSettings:
    app: GitHubAppCredentials = field(repr=False)  # holds the private key
    repository: str
    access_file: str = DEFAULT_ACCESS_FILE
    poll_seconds: int = DEFAULT_POLL_SECONDS


def load_github_settings(
    environ: Mapping[str, str], read_secret: SecretReader
) -> GitHubSettings | None:
    """None when the app id is unset (requests off); SettingsError when half set."""
    if not environ.get(APP_ID, "").strip():
        return None

    def required(name: str) -> str:
        value = environ.get(name, "").strip()
        if not value:
            raise SettingsError(f"{name} is not set (needed with {APP_ID})")
        return value

    def number(name: str, text: str, low: int = 1, high: int = 10**12) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise SettingsError(f"{name}={text!r} is not a whole number from {low} to {high}")
        return int(text)

    required(PRIVATE_KEY_SECRET_ARN)
    key = read_named_secret(environ, PRIVATE_KEY_SECRET_ARN, read_secret)
    if "PRIVATE KEY-----" not in key:
        raise SettingsError(
            f"the secret {PRIVATE_KEY_SECRET_ARN} names is not a PEM private key (the app's "
            ".pem file)"
        )
    repository = required(REPOSITORY)
    if not is_repository_name(repository):
        raise SettingsError(f"{REPOSITORY}={repository!r} is not owner/name")
    path = environ.get(ACCESS_FILE_PATH, "").strip() or DEFAULT_ACCESS_FILE
    if not is_repository_path(path):
        raise SettingsError(f"{ACCESS_FILE_PATH}={path!r} is not a path in the repository")
    api_url = environ.get(API_URL, "").strip() or DEFAULT_API_URL
    try:
        parse_api_url(api_url)
    except ValueError as exc:
        raise SettingsError(f"{API_URL}: {exc}") from None
    poll = environ.get(POLL_SECONDS, "").strip()
    return GitHubSettings(
        app=GitHubAppCredentials(
            app_id=number(APP_ID, environ[APP_ID].strip()),
            installation_id=number(INSTALLATION_ID, required(INSTALLATION_ID)),
            private_key=key,
            api_url=api_url.rstrip("/"),
        ),
        repository=repository,
        access_file=path,
        poll_seconds=number(POLL_SECONDS, poll, 5, 3600) if poll else DEFAULT_POLL_SECONDS,
    )
