"""What the services (the issuer and reaper Lambdas, the Slack bot) read from their
environment, in common.

Each service's settings module builds its own typed object (once, at start) on these names,
which the components set from the same constants; the defaults live here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from dbaccess.formats import parse_api_url

REQUEST_TABLE: Final = "DBACCESS_REQUEST_TABLE"
CATALOG_URL: Final = "DBACCESS_CATALOG_URL"
SLACK_TOKEN_SECRET_ARN: Final = "DBACCESS_SLACK_TOKEN_SECRET_ARN"
SLACK_API_URL: Final = "DBACCESS_SLACK_API_URL"
ACCESS_CONTACT: Final = "DBACCESS_ACCESS_CONTACT"
SUPPORT_CONTACT: Final = "DBACCESS_SUPPORT_CONTACT"

DEFAULT_SLACK_API_URL: Final = "https://slack.com/api/"
# Said in denial DMs: analysts ask from Slack (the Home tab's button), never through git.
DEFAULT_ACCESS_CONTACT: Final = (
    "click *Request access* on the db-access app's Home tab in Slack, or ask in #db-access"
)
# Where to report that something failed on our side (not an access question).
DEFAULT_SUPPORT_CONTACT: Final = "tell the team that runs db-access"


class SettingsError(ValueError):
    """A missing or invalid environment variable (a deployment mistake, not a request's)."""


def require(env: Mapping[str, str], names: Iterable[str]) -> None:
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")


def slack_api_url(env: Mapping[str, str]) -> str:
    """The Slack Web API base URL, ending in "/" (slack_sdk appends the method name as is)."""
    url = env.get(SLACK_API_URL, "").strip() or DEFAULT_SLACK_API_URL
    try:
        parse_api_url(url)
    except ValueError as exc:
        raise SettingsError(f"{SLACK_API_URL}: {exc}") from None
    return url if url.endswith("/") else url + "/"


def access_contact(env: Mapping[str, str]) -> str:
    return env.get(ACCESS_CONTACT) or DEFAULT_ACCESS_CONTACT


def support_contact(env: Mapping[str, str]) -> str:
    return env.get(SUPPORT_CONTACT) or DEFAULT_SUPPORT_CONTACT
