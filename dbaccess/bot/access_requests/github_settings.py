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

from dbaccess.bot.auto_merge import REPOSITORY_METHOD, AutoMerge
from dbaccess.clients.github import DEFAULT_API_URL, GitHubAppCredentials
from dbaccess.clients.github_merge import MERGE_METHODS
from dbaccess.clients.secrets_manager import SecretReader, read_named_secret
from dbaccess.formats import is_repository_name, is_repository_path
from dbaccess.service_env import SettingsError, api_url, optional, required, whole_number

APP_ID: Final = "DBACCESS_GITHUB_APP_ID"
INSTALLATION_ID: Final = "DBACCESS_GITHUB_INSTALLATION_ID"
PRIVATE_KEY_SECRET_ARN: Final = "DBACCESS_GITHUB_APP_PRIVATE_KEY_SECRET_ARN"
REPOSITORY: Final = "DBACCESS_GITHUB_REPOSITORY"  # owner/name
ACCESS_FILE_PATH: Final = "DBACCESS_GITHUB_ACCESS_FILE"  # the path in the repository
API_URL: Final = "DBACCESS_GITHUB_API_URL"  # GitHub Enterprise Server, or a test's fake
POLL_SECONDS: Final = "DBACCESS_GITHUB_POLL_SECONDS"
# Unset or "off": people merge. "repository" (the repository's merge method), "merge",
# "squash" or "rebase": the bot merges an approved, green request (docs/how-to/auto-merge.md).
AUTO_MERGE: Final = "DBACCESS_GITHUB_AUTO_MERGE"

DEFAULT_ACCESS_FILE: Final = "access.yaml"
DEFAULT_POLL_SECONDS: Final = 60
_ID_MAX: Final = 10**12  # the app's and installation's ids


@dataclass(frozen=True)
class GitHubSettings:
    app: GitHubAppCredentials = field(repr=False)  # holds the private key
    repository: str
    access_file: str = DEFAULT_ACCESS_FILE
    poll_seconds: int = DEFAULT_POLL_SECONDS
    auto_merge: AutoMerge | None = None  # None: off


def load_github_settings(
    environ: Mapping[str, str], read_secret: SecretReader
) -> GitHubSettings | None:
    """None when the app id is unset (requests off); SettingsError when half set."""
    if not optional(environ, APP_ID, ""):
        return None
    needed = f"needed with {APP_ID}"
    required(environ, PRIVATE_KEY_SECRET_ARN, needed)
    key = read_named_secret(environ, PRIVATE_KEY_SECRET_ARN, read_secret)
    if "PRIVATE KEY-----" not in key:
        raise SettingsError(
            f"the secret {PRIVATE_KEY_SECRET_ARN} names is not a PEM private key (the app's "
            ".pem file)"
        )
    repository = required(environ, REPOSITORY, needed)
    if not is_repository_name(repository):
        raise SettingsError(f"{REPOSITORY}={repository!r} is not owner/name")
    path = optional(environ, ACCESS_FILE_PATH, DEFAULT_ACCESS_FILE)
    if not is_repository_path(path):
        raise SettingsError(f"{ACCESS_FILE_PATH}={path!r} is not a path in the repository")
    url = api_url(environ, API_URL, DEFAULT_API_URL)
    return GitHubSettings(
        app=GitHubAppCredentials(
            app_id=whole_number(environ, APP_ID, 1, _ID_MAX),
            installation_id=whole_number(environ, INSTALLATION_ID, 1, _ID_MAX, why=needed),
            private_key=key,
            api_url=url.rstrip("/"),
        ),
        repository=repository,
        access_file=path,
        poll_seconds=whole_number(environ, POLL_SECONDS, 5, 3600, default=DEFAULT_POLL_SECONDS),
        auto_merge=_auto_merge(environ.get(AUTO_MERGE, "").strip()),
    )


def _auto_merge(value: str) -> AutoMerge | None:
    if value in ("", "off"):
        return None
    if value == REPOSITORY_METHOD:
        return AutoMerge()
    if value in MERGE_METHODS:
        return AutoMerge(value)
    choices = ", ".join(("off", REPOSITORY_METHOD, *MERGE_METHODS))
    raise SettingsError(f"{AUTO_MERGE}={value!r} is not one of {choices}")
