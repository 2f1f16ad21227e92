"""The stack's settings (`dbaccess:*` in Pulumi.<stack>.yaml), read once into one typed object.

The Pulumi program hands `parse_settings` the raw values; the offline preview hands it the
stack file with positions, so a bad setting is reported at its line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dbaccess.access.errors import InvalidInput, Problem, did_you_mean
from dbaccess.access.plan import AccessPlan
from dbaccess.access.source import SourceMap

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
PRINCIPAL_ARN = re.compile(
    r"arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+"
)
ACCOUNT_ID = re.compile(r"\d{12}")


class Settings(BaseModel):
    """Every `dbaccess:*` setting, with defaults. Field names are the config keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accessFile: Annotated[str, Field(description="path of the access file")] = "access.yaml"
    consolemeRoleArn: Annotated[
        str, Field(description="the ConsoleMe instance-profile role that brokers person roles")
    ]
    consolemeTagKey: Annotated[
        str, Field(description="the role tag ConsoleMe reads to authorise people")
    ] = "consoleme-authorized"
    extraTrustedPrincipals: Annotated[
        tuple[str, ...],
        Field(description="more role ARNs (e.g. IAM Identity Center) people come through"),
    ] = ()
    accounts: Annotated[
        dict[str, str], Field(description="AWS account id -> the role ARN Pulumi assumes there")
    ]
    connectionLimit: Annotated[
        int, Field(ge=1, le=1000, description="connections per database login")
    ] = 10
    issuerRoleArn: Annotated[
        str | None, Field(description="the credential issuer's role, trusted by person roles")
    ] = None

    @field_validator("consolemeRoleArn", "issuerRoleArn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.fullmatch(value):
            raise ValueError(
                f"'{value}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return value

    @field_validator("extraTrustedPrincipals")
    @classmethod
    def _principals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
            if not PRINCIPAL_ARN.fullmatch(arn):
                raise ValueError(f"'{arn}' is not an IAM role or user ARN")
        return value

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: dict[str, str]) -> dict[str, str]:
        for account, arn in value.items():
            if not ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"account '{account}' is not a 12-digit id (quote it)")
            if not ROLE_ARN.fullmatch(arn) or arn.split(":")[4] != account:
                raise ValueError(f"'{arn}' is not a role ARN in account {account}")
        return value

    @field_validator("consolemeTagKey")
    @classmethod
    def _tag_key(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.:/=+@ -]{1,128}", value):
            raise ValueError(f"'{value}' is not a valid IAM tag key")
        return value


SETTING_KEYS = tuple(Settings.model_fields)


def parse_settings(
    raw: Mapping[str, Any], source: SourceMap | None = None, *, prefix: tuple[str, ...] = ()
) -> Settings:
    """Validate raw settings (keys without the `dbaccess:` namespace) into Settings.

    `source` and `prefix` locate values in a parsed stack file for the error messages.
    """
    where = source or SourceMap("Pulumi.<stack>.yaml")
    problems: list[Problem] = []
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            key = str(error["loc"][0])
            path = (*prefix, f"dbaccess:{key}", *error["loc"][1:])
            info = Settings.model_fields.get(key)
            hint = info.description if info and info.description else ""
            if error["type"] == "extra_forbidden":
                message = f"unknown setting 'dbaccess:{key}'{did_you_mean(key, SETTING_KEYS)}"
                fix = f"remove it or use one of: {', '.join(SETTING_KEYS)}"
            elif error["type"] == "missing":
                path = prefix
                message = f"missing setting 'dbaccess:{key}'"
                fix = f"add `dbaccess:{key}: ...` ({hint}), or `pulumi config set dbaccess:{key}`"
            else:
                message = f"setting 'dbaccess:{key}': {error['msg'].removeprefix('Value error, ')}"
                fix = f"dbaccess:{key} is {hint}"
            problems.append(
                where.problem(path, message, fix, at_key=error["type"] != "value_error")
            )
        raise InvalidInput(problems) from None


def check_accounts(
    plan: AccessPlan,
    settings: Settings,
    source: SourceMap | None = None,
    *,
    prefix: tuple[str, ...] = (),
) -> None:
    """Every database's account needs a deploy role in `accounts`."""
    where = source or SourceMap("Pulumi.<stack>.yaml")
    problems = [
        where.problem(
            (*prefix, "dbaccess:accounts"),
            f"database '{db.key}' is in account {db.account}, which is not in dbaccess:accounts",
            f'add `"{db.account}": arn:aws:iam::{db.account}:role/<the role Pulumi deploys with>`'
            " under dbaccess:accounts",
            at_key=True,
        )
        for db in plan.databases.values()
        if db.account not in settings.accounts
    ]
    if problems:
        raise InvalidInput(problems)
