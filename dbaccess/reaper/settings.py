"""The reaper's settings: environment variables set by the GrantReaper component.

Read once, by `load_settings`, at cold start (never at import). The AWS clients take the
standard `AWS_*` variables themselves.
"""

from __future__ import annotations

import json
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dbaccess.formats import parse_s3_url
from dbaccess.service_env import (
    CATALOG_URL,
    REQUEST_TABLE,
    SLACK_TOKEN_SECRET_ARN,
    SettingsError,
    access_contact,
    optional,
    require,
    slack_api_url,
)

# The variable names, shared with components/grant_reaper.py.
REPORT_URL: Final = "DBACCESS_REPORT_URL"
REAPER_TABLE: Final = "DBACCESS_REAPER_TABLE"
UNUSED_DAYS: Final = "DBACCESS_UNUSED_DAYS"
NOTICE_DAYS: Final = "DBACCESS_NOTICE_DAYS"
TIMEZONE: Final = "DBACCESS_TIMEZONE"
USAGE_READER_ROLES: Final = "DBACCESS_USAGE_READER_ROLES"


@dataclass(frozen=True)
class ReaperSettings:
    catalog_bucket: str
    catalog_key: str
    report_bucket: str
    report_key: str
    request_table: str
    reaper_table: str
    slack_token_secret_arn: str
    slack_api_url: str
    unused_days: int
    notice_days: tuple[int, ...]  # most distant first, e.g. (14, 3)
    timezone: zoneinfo.ZoneInfo
    usage_reader_roles: Mapping[str, str]  # account id -> role the reaper reads IAM with
    access_contact: str


def load_settings(environ: Mapping[str, str] | None = None) -> ReaperSettings:
    env = os.environ if environ is None else environ
    require(
        env,
        (
            CATALOG_URL,
            REPORT_URL,
            REQUEST_TABLE,
            REAPER_TABLE,
            SLACK_TOKEN_SECRET_ARN,
            UNUSED_DAYS,
            NOTICE_DAYS,
        ),
    )
    try:
        catalog_bucket, catalog_key = parse_s3_url(env[CATALOG_URL])
        report_bucket, report_key = parse_s3_url(env[REPORT_URL])
    except ValueError as exc:
        raise SettingsError(f"{CATALOG_URL}/{REPORT_URL}: {exc}") from None
    try:
        unused_days = int(env[UNUSED_DAYS])
        notice_days = tuple(sorted((int(d) for d in env[NOTICE_DAYS].split(",")), reverse=True))
    except ValueError:
        raise SettingsError(
            f"{UNUSED_DAYS} must be a whole number and {NOTICE_DAYS} whole numbers "
            "separated by commas, e.g. 14,3"
        ) from None
    if unused_days < 1 or any(not 0 < d < unused_days for d in notice_days):
        raise SettingsError(f"{NOTICE_DAYS} must be between 1 and {UNUSED_DAYS} - 1")
    try:
        timezone = zoneinfo.ZoneInfo(optional(env, TIMEZONE, "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{TIMEZONE} is not an IANA time zone") from None
    try:
        readers = json.loads(optional(env, USAGE_READER_ROLES, "{}"))
    except json.JSONDecodeError:
        raise SettingsError(f"{USAGE_READER_ROLES} is not JSON") from None
    if not isinstance(readers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in readers.items()
    ):
        raise SettingsError(f"{USAGE_READER_ROLES} must map account ids to role ARNs")
    return ReaperSettings(
        catalog_bucket=catalog_bucket,
        catalog_key=catalog_key,
        report_bucket=report_bucket,
        report_key=report_key,
        request_table=env[REQUEST_TABLE],
        reaper_table=env[REAPER_TABLE],
        slack_token_secret_arn=env[SLACK_TOKEN_SECRET_ARN],
        slack_api_url=slack_api_url(env),
        unused_days=unused_days,
        notice_days=notice_days,
        timezone=timezone,
        usage_reader_roles=readers,
        access_contact=access_contact(env),
    )


# The reaper's service name (logs, metrics) and its state table's keys: the component that
# creates the table and the Lambda that writes it both read them here.
SERVICE: Final = "dbaccess-reaper"
KEY: Final = "key"  # the state table's partition key
PURGE_AT: Final = "purge_at"  # the state table's TTL attribute
