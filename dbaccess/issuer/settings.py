"""The issuer's settings: environment variables set by the CredentialIssuer component.

Read once, by `load_settings`, on the first invocation (never at import). The AWS clients
take the standard `AWS_*` variables themselves (region, `AWS_ENDPOINT_URL`, credentials).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dbaccess.clients.privatebin import EXPIRE_DURATIONS
from dbaccess.formats import parse_s3_url
from dbaccess.request_table import MAX_ATTEMPTS
from dbaccess.service_env import (
    CATALOG_URL,
    REQUEST_TABLE,
    SLACK_TOKEN_SECRET_ARN,
    SettingsError,
    access_contact,
    optional,
    require,
    slack_api_url,
    support_contact,
    whole_number,
)

# The variable names, shared with components/credential_issuer.py.
PRIVATEBIN_URL: Final = "DBACCESS_PRIVATEBIN_URL"
PRIVATEBIN_CA_BUNDLE: Final = "DBACCESS_PRIVATEBIN_CA_BUNDLE"
PASTE_EXPIRE: Final = "DBACCESS_PASTE_EXPIRE"
MAX_ATTEMPTS_VAR: Final = "DBACCESS_MAX_ATTEMPTS"

# The function's timeout (the component sets it). A claim's lease is longer, so a delivery
# that may still be alive is never taken over (see dbaccess/issuer/flow.py).
LAMBDA_TIMEOUT_SECONDS: Final = 60


@dataclass(frozen=True)
class IssuerSettings:
    request_table: str
    catalog_bucket: str
    catalog_key: str
    privatebin_url: str
    privatebin_ca_bundle: str | None
    paste_expire: str
    slack_token_secret_arn: str
    slack_api_url: str
    access_contact: str
    support_contact: str
    max_attempts: int


def load_settings(environ: Mapping[str, str] | None = None) -> IssuerSettings:
    env = os.environ if environ is None else environ
    require(env, (REQUEST_TABLE, CATALOG_URL, PRIVATEBIN_URL, SLACK_TOKEN_SECRET_ARN))
    try:
        bucket, key = parse_s3_url(env[CATALOG_URL])
    except ValueError as exc:
        raise SettingsError(f"{CATALOG_URL}: {exc}") from None
    expire = optional(env, PASTE_EXPIRE, "10min")
    if expire not in EXPIRE_DURATIONS:
        raise SettingsError(f"{PASTE_EXPIRE} must be one of {', '.join(EXPIRE_DURATIONS)}")
    return IssuerSettings(
        request_table=env[REQUEST_TABLE],
        catalog_bucket=bucket,
        catalog_key=key,
        privatebin_url=env[PRIVATEBIN_URL],
        privatebin_ca_bundle=optional(env, PRIVATEBIN_CA_BUNDLE, "") or None,
        paste_expire=expire,
        slack_token_secret_arn=env[SLACK_TOKEN_SECRET_ARN],
        slack_api_url=slack_api_url(env),
        access_contact=access_contact(env),
        support_contact=support_contact(env),
        max_attempts=whole_number(env, MAX_ATTEMPTS_VAR, 1, default=MAX_ATTEMPTS),
    )
