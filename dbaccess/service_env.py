"""What the services (the issuer and reaper Lambdas, the Slack bot) read from their
environment, in common.

Each service's settings module builds its own typed object (once, at start) on these names,
which the components set from the same constants; the defaults live here once. So do the
helpers every settings module reads its variables with, so a missing or malformed one is
worded the same way by every service.
"""

from __future__ import annotations

import re
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


# --- reading a variable ----------------------------------------------------------------------


def require(env: Mapping[str, str], names: Iterable[str]) -> None:
    """Every one of `names` is set; SettingsError naming all that are not, at once."""
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")


def required(env: Mapping[str, str], name: str, why: str = "") -> str:
    """The variable's text, stripped; SettingsError "<name> is not set (<why>)" if empty."""
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set" + (f" ({why})" if why else ""))
    return value


def optional(env: Mapping[str, str], name: str, default: str) -> str:
    """The variable's text, stripped, or `default` when it is unset or empty."""
    return env.get(name, "").strip() or default


_DIGITS: Final = re.compile(r"[0-9]+")  # ASCII: str.isdigit also takes "²", which int refuses


def whole_number(
    env: Mapping[str, str],
    name: str,
    low: int,
    high: int | None = None,
    *,
    default: int | None = None,
    why: str = "",
) -> int:
    """The variable as a whole number from `low` to `high` (no upper bound if None); `default`
    when unset, or SettingsError like `required` when there is no default."""
    text = env.get(name, "").strip()
    if not text and default is not None:
        return default
    text = required(env, name, why)
    if not _DIGITS.fullmatch(text) or int(text) < low or (high is not None and int(text) > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise SettingsError(f"{name}={text!r} is not a whole number {bounds}")
    return int(text)


def api_url(env: Mapping[str, str], name: str, default: str) -> str:
    """The base URL of an API we send tokens to (`dbaccess.formats.parse_api_url`), or
    `default` when unset; SettingsError naming the variable and the rule otherwise."""
    url = optional(env, name, default)
    try:
        parse_api_url(url)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None
    return url


# --- the shared variables ---------------------------------------------------------------------


def slack_api_url(env: Mapping[str, str]) -> str:
    """The Slack Web API base URL, ending in "/" (slack_sdk appends the method name as is)."""
    url = api_url(env, SLACK_API_URL, DEFAULT_SLACK_API_URL)
    return url if url.endswith("/") else url + "/"


def access_contact(env: Mapping[str, str]) -> str:
    return optional(env, ACCESS_CONTACT, DEFAULT_ACCESS_CONTACT)


def support_contact(env: Mapping[str, str]) -> str:
    return optional(env, SUPPORT_CONTACT, DEFAULT_SUPPORT_CONTACT)
