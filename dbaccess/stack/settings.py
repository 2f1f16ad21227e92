"""The stack's settings (`dbaccess:*` in Pulumi.<stack>.yaml), read once into one typed object.

The Pulumi program hands `parse_settings` the raw values; the offline preview hands it the
stack file with positions, so a bad setting is reported at its line.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dbaccess.access.errors import InvalidInput, did_you_mean, shown
from dbaccess.access.plan import AccessPlan
from dbaccess.access.report import Reporter
from dbaccess.access.source import Path, SourceMap
from dbaccess.clients.ca_bundles import RDS
from dbaccess.clients.secrets_manager import SECRET_ARN
from dbaccess.formats import (
    is_repository_name,
    is_repository_path,
    is_slack_channel,
    parse_api_url,
    parse_base_url,
)
from dbaccess.service_env import DEFAULT_ACCESS_CONTACT, DEFAULT_SUPPORT_CONTACT

# ASCII classes throughout: Python's \d and \w also match fullwidth and Arabic-Indic digits.
_IAM_NAME = r"[A-Za-z0-9_+=,.@/-]+"
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/" + _IAM_NAME)
PRINCIPAL_ARN = re.compile(
    r"arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:(role|user|assumed-role)/" + _IAM_NAME
)
# IAM Identity Center's permission-set roles: only AWS creates roles under this path, and it
# names each session after the signed-in user (the caller cannot choose it).
SSO_ROLE_ARN = re.compile(
    r"arn:aws[a-z-]*:iam::[0-9]{12}:role/aws-reserved/sso\.amazonaws\.com/"
    r"([a-z0-9-]+/)?AWSReservedSSO_[A-Za-z0-9_+=,.@-]+"
)
KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]{32,36}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# A PostgreSQL role or MySQL user name, as people and applications are named: no space, quote
# or wildcard, at most PostgreSQL's 63 bytes.
LOGIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_$.-]{0,62}")
PASTE_EXPIRE_VALUES = ("5min", "10min", "1hour", "1day")


def _not_bool(value: Any) -> Any:
    # YAML's true is Python's 1: `connectionLimit: true` must not mean one connection.
    if isinstance(value, bool):
        raise ValueError(f"{value} is true/false, not a whole number")
    return value


WholeNumber = Annotated[int, BeforeValidator(_not_bool)]


class Network(BaseModel):
    """Where the issuer Lambda runs: PrivateBin is internal, so the Lambda is in the VPC."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subnetIds: Annotated[
        tuple[str, ...], Field(min_length=1, description="private subnets (two AZs or more)")
    ]
    securityGroupIds: Annotated[
        tuple[str, ...], Field(min_length=1, description="security groups of the issuer")
    ]

    @field_validator("subnetIds")
    @classmethod
    def _subnets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for subnet in value:
            if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", subnet):
                raise ValueError(f"'{shown(subnet)}' is not a subnet id (subnet-0123456789abcdef0)")
        return value

    @field_validator("securityGroupIds")
    @classmethod
    def _groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for group in value:
            if not re.fullmatch(r"sg-[0-9a-f]{8,17}", group):
                raise ValueError(
                    f"'{shown(group)}' is not a security group id (sg-0123456789abcdef0)"
                )
        return value


class Expiry(BaseModel):
    """When unused grants expire, when people are told, and when the reaper runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unusedDays: Annotated[
        WholeNumber,
        Field(ge=7, le=3650, description="days without use before a grant expires"),
    ] = 90
    noticeDays: Annotated[
        tuple[WholeNumber, ...],
        Field(description="days before removal on which people get a Slack notice"),
    ] = (14, 3)
    runAt: Annotated[str, Field(description="the reaper's daily run time, HH:MM")] = "09:00"
    timezone: Annotated[
        str, Field(description="the IANA time zone of runAt, e.g. Europe/London")
    ] = "UTC"

    @field_validator("noticeDays")
    @classmethod
    def _notice_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(value)) != len(value) or any(day < 1 for day in value):
            raise ValueError("notice days must be distinct whole numbers of at least 1")
        return tuple(sorted(value, reverse=True))

    @field_validator("runAt")
    @classmethod
    def _run_at(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"'{shown(value)}' is not a time of day written HH:MM (24-hour)")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{shown(value)}' is not an IANA time zone (e.g. Europe/London)"
            ) from None
        return value

    @model_validator(mode="after")
    def _notices_inside_window(self) -> Expiry:
        if any(day >= self.unusedDays for day in self.noticeDays):
            raise ValueError(f"every notice day must be fewer than unusedDays ({self.unusedDays})")
        return self


class Secret:
    """Marks a `secure:` value of the stack file, never decrypted: settings refuse it (secrets
    live in Secrets Manager, named by ARN)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret([secret])"


class SlackBotSettings(BaseModel):
    """Where and how the Slack bot runs: an existing EKS cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: Annotated[str, Field(description="the EKS cluster's name")]
    namespace: Annotated[str, Field(description="the Kubernetes namespace (created)")] = "dbaccess"
    image: Annotated[str, Field(description="the bot's container image, pinned by tag or digest")]
    replicas: Annotated[WholeNumber, Field(ge=1, le=10, description="bot pods (2 for no gap)")] = 2
    helpChannel: Annotated[
        str, Field(description="where people without access ask: #channel-name or a channel id")
    ]
    allowGuests: Annotated[
        bool, Field(description="Slack guests may use the bot too (other organizations never)")
    ] = False

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", value):
            raise ValueError(f"'{shown(value)}' is not an EKS cluster name")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
            raise ValueError(
                f"'{shown(value)}' is not a Kubernetes namespace name (RFC 1123 label)"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        name, _, tag = value.rpartition(":")
        pinned = "@sha256:" in value or (name and "/" not in tag and tag != "latest")
        if not pinned or any(c.isspace() for c in value):
            raise ValueError(
                f"'{shown(value)}' is not an image pinned by tag or digest (not :latest)"
            )
        return value

    @field_validator("helpChannel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not is_slack_channel(value):
            raise ValueError(
                f"'{shown(value)}' is not a channel name (#db-access) or id (C0123ABCD)"
            )
        return value


class GitHubRequestSettings(BaseModel):
    """The GitHub App the bot opens access-request pull requests as
    (docs/how-to/set-up-github-app.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    appId: Annotated[WholeNumber, Field(ge=1, description="the GitHub App's id")]
    installationId: Annotated[
        WholeNumber, Field(ge=1, description="its installation on the organization")
    ]
    repository: Annotated[str, Field(description="owner/name of the repository of access.yaml")]
    accessFile: Annotated[str, Field(description="the access file's path in that repository")] = (
        "access.yaml"
    )
    autoMerge: Annotated[
        bool,
        Field(
            description="the bot merges a request once the owner-approval check and every "
            "other check on it are green (docs/how-to/auto-merge.md)"
        ),
    ] = False
    mergeMethod: Annotated[
        Literal["merge", "squash", "rebase"] | None,
        Field(description="how auto-merge merges; unset: the first the repository allows"),
    ] = None

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not is_repository_name(value):
            raise ValueError(f"'{shown(value)}' is not a repository written as owner/name")
        return value

    @field_validator("accessFile")
    @classmethod
    def _access_file(cls, value: str) -> str:
        if not is_repository_path(value):
            raise ValueError(f"'{shown(value)}' is not a path inside the repository")
        return value


class SlackApprovalStackSettings(BaseModel):
    """Approve in Slack as the owner's own GitHub review (docs/how-to/approve-in-slack.md):
    the GitHub App's OAuth client and which requests Slack may decide."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clientId: Annotated[str, Field(description="the GitHub App's client id (Iv…)")]
    clientSecretSecretArn: Annotated[
        str, Field(description="the Secrets Manager secret ARN holding the app's client secret")
    ]
    accessLevels: Annotated[
        tuple[Literal["read-only", "read-write"], ...],
        Field(description="access levels an owner may approve from Slack (default read-only)"),
    ] = ("read-only",)
    databases: Annotated[
        tuple[str, ...] | None,
        Field(description="databases whose requests Slack may decide (default: every one)"),
    ] = None
    ownersChannels: Annotated[
        dict[str, str],
        Field(description="database -> channel where its requests are posted too"),
    ] = {}
    webUrl: Annotated[
        str | None, Field(description="GitHub's web URL (GitHub Enterprise Server only)")
    ] = None

    @field_validator("clientId")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]{8,64}", value):
            raise ValueError(f"'{shown(value)}' is not a GitHub App client id (Iv23…)")
        return value

    @field_validator("clientSecretSecretArn")
    @classmethod
    def _client_secret(cls, value: str) -> str:
        if not SECRET_ARN.fullmatch(value):
            raise ValueError(f"'{shown(value)}' is not a Secrets Manager secret ARN")
        return value

    @field_validator("ownersChannels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        for database, channel in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", database) or not re.fullmatch(
                r"#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,}", channel
            ):
                raise ValueError(
                    f"'{shown(database)}: {shown(channel)}' is not a database key and a channel "
                    "(orders: '#orders-dba')"
                )
        return value

    @field_validator("webUrl")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_api_url(value)
        return value


# Secret values that used to be `secure:` settings -> the ARN setting that names them now.
RETIRED_SECRET_SETTINGS = {
    "slackBotToken": ("slackBotTokenSecretArn", "dbaccess/slack-bot-token", "the Slack bot token"),
    "slackAppToken": ("slackAppTokenSecretArn", "dbaccess/slack-app-token", "the Slack app token"),
    "githubAppPrivateKey": (
        "githubAppPrivateKeySecretArn",
        "dbaccess/github-app-private-key",
        "the GitHub App's private key",
    ),
}
# Optional services and the settings each needs (all or none): a stack without them is a
# CLI-only pilot (people's roles, database users, policies and the catalog).
ISSUER_SETTINGS = ("privatebinUrl", "slackBotTokenSecretArn", "network")
BOT_SETTINGS = ("bot", "slackAppTokenSecretArn")
GITHUB_SETTINGS = ("github", "githubAppPrivateKeySecretArn")


class Settings(BaseModel):
    """Every `dbaccess:*` setting, with defaults. Field names are the config keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accessFile: Annotated[str, Field(description="path of the access file")] = "access.yaml"
    consolemeRoleArn: Annotated[
        str | None,
        Field(description="the ConsoleMe instance-profile role that brokers person roles"),
    ] = None
    consolemeTagKey: Annotated[
        str, Field(description="the role tag ConsoleMe reads to authorise people")
    ] = "consoleme-authorized"
    allowAnyTrustedPrincipal: Annotated[
        bool,
        Field(
            description="true lets extraTrustedPrincipals name roles other than IAM Identity "
            "Center's (read docs/explanation/security.md first: such a role may let one person "
            "become another)"
        ),
    ] = False
    extraTrustedPrincipals: Annotated[
        tuple[str, ...],
        Field(
            description="the IAM Identity Center permission-set role ARNs people come through",
            validate_default=True,
        ),
    ] = ()
    accounts: Annotated[
        dict[str, str], Field(description="AWS account id -> the role ARN Pulumi assumes there")
    ]
    previewAccounts: Annotated[
        dict[str, str],
        Field(
            description="AWS account id -> the read-only role ARN Pulumi assumes there while "
            "previewing (every account of dbaccess:accounts)"
        ),
    ] = {}
    connectionLimit: Annotated[
        WholeNumber, Field(ge=1, le=1000, description="connections per database login")
    ] = 10
    sweepExemptLogins: Annotated[
        tuple[str, ...],
        Field(
            description="logins `dbaccess sweep` never touches, on every PostgreSQL and MySQL "
            "server (even with --include-unmarked)"
        ),
    ] = ()
    privatebinUrl: Annotated[
        str | None,
        Field(description="the internal PrivateBin URL the issuer shares credentials on"),
    ] = None
    pasteExpire: Annotated[
        str, Field(description="how long a credential link lives: 5min, 10min, 1hour or 1day")
    ] = "10min"
    slackBotTokenSecretArn: Annotated[
        str | None,
        Field(description="the Secrets Manager secret ARN holding the Slack bot token"),
    ] = None
    slackApiUrl: Annotated[
        str | None, Field(description="the Slack Web API base URL (Slack's own when unset)")
    ] = None
    network: Annotated[
        Network | None,
        Field(description="{subnetIds, securityGroupIds} the issuer Lambda runs in"),
    ] = None
    auditRetentionDays: Annotated[
        WholeNumber, Field(ge=1, le=3650, description="days a request item is kept for audit")
    ] = 400
    issuerReservedConcurrency: Annotated[
        WholeNumber,
        Field(ge=1, le=100, description="concurrent executions reserved for the issuer"),
    ] = 5
    accessContact: Annotated[
        str, Field(min_length=3, description="whom to ask for access, said in denial DMs")
    ] = DEFAULT_ACCESS_CONTACT
    supportContact: Annotated[
        str | None,
        Field(
            min_length=3,
            description="whom to tell when something failed on our side, said in failure DMs "
            "(default: tell the bot's help channel)",
        ),
    ] = None
    expiry: Annotated[
        Expiry,
        Field(description="{unusedDays, noticeDays, runAt, timezone} of unused-grant expiry"),
    ] = Expiry()
    rdsCaBundle: Annotated[
        str | None,
        Field(
            description=f"the RDS CA bundle ({RDS.file_name}) on the machine running "
            "`pulumi up`: MySQL admin connections verify the server against it"
        ),
    ] = None

    bot: Annotated[
        SlackBotSettings | None,
        Field(description="{cluster, namespace, image, replicas, helpChannel} of the Slack bot"),
    ] = None
    slackAppTokenSecretArn: Annotated[
        str | None,
        Field(
            description="the Secrets Manager secret ARN holding the Slack app-level token "
            "(xapp-…, connections:write) the bot connects with"
        ),
    ] = None
    github: Annotated[
        GitHubRequestSettings | None,
        Field(
            description="{appId, installationId, repository, accessFile}: the GitHub App the bot "
            "opens access requests with; without it, no Request access"
        ),
    ] = None
    githubAppPrivateKeySecretArn: Annotated[
        str | None,
        Field(description="the Secrets Manager secret ARN holding the GitHub App's private key"),
    ] = None
    slackApproval: Annotated[
        SlackApprovalStackSettings | None,
        Field(
            description="{clientId, clientSecretSecretArn, accessLevels, databases, "
            "ownersChannels}: owners approve requests from Slack as their own GitHub review"
        ),
    ] = None
    secretsKmsKeyArn: Annotated[
        str | None,
        Field(
            description="the KMS key ARN the service secrets are encrypted with, when it is a "
            "customer managed key (unset: the AWS managed key aws/secretsmanager)"
        ),
    ] = None

    @model_validator(mode="after")
    def _services_complete(self) -> Settings:
        """The optional services' settings come all or none: a half-configured service is a
        mistake, not a pilot."""
        groups = (
            ("the credential issuer", ISSUER_SETTINGS, ()),
            ("the Slack bot", BOT_SETTINGS, ISSUER_SETTINGS),
            ("Request access (the GitHub App)", GITHUB_SETTINGS, BOT_SETTINGS),
            ("approve in Slack", ("slackApproval",), GITHUB_SETTINGS),
        )
        problems = []
        for service, keys, needs in groups:
            given = [key for key in keys if getattr(self, key) is not None]
            if not given:
                continue
            missing = [key for key in (*keys, *needs) if getattr(self, key) is None]
            if missing:
                problems.append(
                    f"{service} is half set up: {', '.join(f'dbaccess:{k}' for k in given)} "
                    f"given, {', '.join(f'dbaccess:{k}' for k in missing)} missing; add "
                    f"{'it' if len(missing) == 1 else 'them'}, or remove "
                    f"{'it' if len(given) == 1 else 'them'} for a stack without {service}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def issuer_enabled(self) -> bool:
        return self.privatebinUrl is not None

    def service_secret_arns(self) -> list[str]:
        """Every Secrets Manager secret the services read (the roles' boundary allows these)."""
        arns = [self.slackBotTokenSecretArn, self.slackAppTokenSecretArn]
        if self.github is not None:
            arns.append(self.githubAppPrivateKeySecretArn)
        if self.slackApproval is not None:
            arns.append(self.slackApproval.clientSecretSecretArn)
        return [arn for arn in arns if arn is not None]

    @field_validator("consolemeRoleArn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.fullmatch(value):
            raise ValueError(
                f"'{shown(value)}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return value

    @field_validator("privatebinUrl", "slackApiUrl")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_base_url(value)
            except ValueError:
                raise ValueError(
                    f"'{shown(value)}' is not an http(s) URL without query or fragment"
                ) from None
        return value

    @field_validator("slackApiUrl")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_api_url(value)  # ValueError: https only (plain http to loopback)
        return value

    @field_validator("pasteExpire")
    @classmethod
    def _expire(cls, value: str) -> str:
        # PrivateBin silently turns any other value into one week.
        if value not in PASTE_EXPIRE_VALUES:
            raise ValueError(f"'{shown(value)}' is not one of {', '.join(PASTE_EXPIRE_VALUES)}")
        return value

    @field_validator(
        "slackBotTokenSecretArn", "slackAppTokenSecretArn", "githubAppPrivateKeySecretArn"
    )
    @classmethod
    def _secret_arn(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_ARN.fullmatch(value):
            raise ValueError(
                f"'{shown(value)}' is not a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
            )
        return value

    @field_validator("secretsKmsKeyArn")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY_ARN.fullmatch(value):
            raise ValueError(
                f"'{shown(value)}' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
            )
        return value

    @field_validator("extraTrustedPrincipals")
    @classmethod
    def _principals(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for arn in value:
            if not PRINCIPAL_ARN.fullmatch(arn):
                raise ValueError(f"'{shown(arn)}' is not an IAM role or user ARN")
            if not SSO_ROLE_ARN.fullmatch(arn) and not info.data.get("allowAnyTrustedPrincipal"):
                raise ValueError(
                    f"'{shown(arn)}' is not an IAM Identity Center role "
                    "(arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/…): through "
                    "any other role the caller picks the session name, so one person could "
                    "become another's role; name the permission set's role, or set "
                    "dbaccess:allowAnyTrustedPrincipal: true after reading "
                    "docs/explanation/security.md (Trusted principals)"
                )
        # Someone must be able to reach the person roles (a bad consolemeRoleArn is its own error).
        if not value and "consolemeRoleArn" in info.data and info.data["consolemeRoleArn"] is None:
            raise ValueError(
                "without dbaccess:consolemeRoleArn, name at least one principal people come "
                "through (e.g. an IAM Identity Center permission-set role)"
            )
        return value

    @field_validator("sweepExemptLogins")
    @classmethod
    def _logins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for login in value:
            if not LOGIN_NAME.fullmatch(login):
                raise ValueError(
                    f"'{shown(login)}' is not a login name: 1 to 63 of A-Z a-z 0-9 _ $ . - "
                    "(not starting with $ . -), as the role or user is named on the server"
                )
        return value

    @field_validator("accounts", "previewAccounts")
    @classmethod
    def _accounts(cls, value: dict[str, str]) -> dict[str, str]:
        for account, arn in value.items():
            if not ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"account '{shown(account)}' is not a 12-digit id (quote it)")
            if not ROLE_ARN.fullmatch(arn) or arn.split(":")[4] != account:
                raise ValueError(f"'{shown(arn)}' is not a role ARN in account {account}")
        return value

    @field_validator("previewAccounts")
    @classmethod
    def _preview_accounts(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # A preview must never fall back to a deploy role: all accounts or none. (When
        # `accounts` itself is invalid, its own error says so; comparing would only add noise.)
        if "accounts" not in info.data:
            return value
        deployed = set(info.data["accounts"] or {})
        if value and set(value) != deployed:
            missing = sorted(deployed - set(value))
            extra = sorted(set(value) - deployed)
            raise ValueError(
                "it must name the same accounts as dbaccess:accounts"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not in dbaccess:accounts: {', '.join(extra)}" if extra else "")
            )
        return value

    @property
    def support_contact(self) -> str:
        """Whom failure DMs send people to: the setting, else the bot's help channel (access
        questions go to accessContact; an outage is not an access question)."""
        if self.supportContact:
            return self.supportContact
        if self.bot is not None:
            return f"tell {self.bot.helpChannel}"
        return DEFAULT_SUPPORT_CONTACT

    def provider_role(self, account: str, *, preview: bool) -> str:
        """The role Pulumi assumes in `account`: the read-only one while previewing (when
        previewAccounts is set, so pull-request previews never hold write credentials)."""
        if preview and self.previewAccounts:
            return self.previewAccounts[account]
        return self.accounts[account]

    @field_validator("consolemeTagKey")
    @classmethod
    def _tag_key(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.:/=+@ -]{1,128}", value):
            raise ValueError(f"'{shown(value)}' is not a valid IAM tag key")
        return value


SETTING_KEYS = tuple(Settings.model_fields)
# Every key the program reads from the stack: retired ones only to say how to move them.
READ_KEYS = (*SETTING_KEYS, *RETIRED_SECRET_SETTINGS)


def optional_services(settings: Settings) -> list[str]:
    """One line per optional service: on, or off and the settings that turn it on (the
    preview says so, so a CLI-only pilot sees that nothing else is planned). Settings have
    checked that each service's settings come all or none."""
    services = (
        ("credential issuer + grant reaper (Slack DMs with PrivateBin links)", ISSUER_SETTINGS, ""),
        ("Slack bot", BOT_SETTINGS, "; needs the credential issuer"),
        ("Request access (GitHub App)", GITHUB_SETTINGS, "; needs the Slack bot"),
    )
    lines = []
    for name, keys, needs in services:
        if getattr(settings, keys[0]) is not None:
            lines.append(f"{name}: on")
        else:
            turn_on = ", ".join(f"dbaccess:{key}" for key in keys)
            lines.append(f"{name}: off (turned on by {turn_on}{needs})")
    return lines


def settings_warnings(settings: Settings) -> list[str]:
    """What `pulumi preview` and `dbaccess preview` warn about."""
    return [
        f"dbaccess:extraTrustedPrincipals names {arn}, which is not an IAM Identity Center "
        "role (allowed by dbaccess:allowAnyTrustedPrincipal): whoever can assume it chooses "
        "the session name, and so whose person role they may become"
        for arn in settings.extraTrustedPrincipals
        if not SSO_ROLE_ARN.fullmatch(arn)
    ]


def parse_settings(
    raw: Mapping[str, Any], source: SourceMap | None = None, *, prefix: Path = ()
) -> Settings:
    """Validate raw settings (keys without the `dbaccess:` namespace) into Settings.

    `source` and `prefix` locate values in a parsed stack file for the error messages.
    """
    reporter = _SettingsReporter(source or SourceMap("Pulumi.<stack>.yaml"))
    raw = dict(raw)
    for key in [key for key, value in raw.items() if isinstance(value, Secret)]:
        # Never decrypted or shown: a secret in the stack file is readable by anyone who can
        # preview the stack (Pulumi's stack:decrypt is part of read access).
        del raw[key]
        arn_key, name, what = RETIRED_SECRET_SETTINGS.get(
            key, (key, f"dbaccess/{key}", f"the value of dbaccess:{key}")
        )
        reporter.report(
            (*prefix, f"dbaccess:{key}"),
            f"setting 'dbaccess:{shown(key)}' is a `secure:` value; the stack file holds no "
            "secret (anyone who may preview the stack can decrypt it)",
            f"store {what} in Secrets Manager: `aws secretsmanager create-secret --name {name} "
            f"--secret-string file://<file>`, then `pulumi config rm dbaccess:{key}` and "
            f"`pulumi config set dbaccess:{arn_key} <the ARN it printed>`",
            at_key=True,
        )
    for key in [key for key in raw if key in RETIRED_SECRET_SETTINGS]:
        arn_key, name, what = RETIRED_SECRET_SETTINGS[key]
        del raw[key]
        reporter.report(
            (*prefix, f"dbaccess:{key}"),
            f"setting 'dbaccess:{key}' is no longer read: {what} lives in Secrets Manager",
            f"`aws secretsmanager create-secret --name {name} --secret-string file://<file>`, "
            f"then `pulumi config rm dbaccess:{key}` and "
            f"`pulumi config set dbaccess:{arn_key} <the ARN it printed>`",
            at_key=True,
        )
    settings = reporter.model(Settings, raw, prefix)
    if settings is None or reporter.problems:
        raise InvalidInput(reporter.problems)
    return settings


class _SettingsReporter(Reporter):
    """Settings are named as the stack file and `pulumi config` write them: dbaccess:<key>."""

    def translate(self, cls: type[BaseModel], prefix: Path, error: Any) -> None:
        loc = tuple(error["loc"])
        if not loc:  # a rule across settings (Settings' model validators)
            message = error["msg"].removeprefix("Value error, ")
            self.report(
                prefix,
                message,
                "docs/getting-started/sre-team.md (a CLI-only pilot) says which settings turn "
                "on each service",
            )
            return
        key = str(loc[0])
        path = (*prefix, f"dbaccess:{key}", *loc[1:])
        info = Settings.model_fields.get(key)
        hint = info.description if info and info.description else ""
        if error["type"] == "extra_forbidden":
            message = f"unknown setting 'dbaccess:{shown(key)}'{did_you_mean(key, SETTING_KEYS)}"
            fix = f"remove it or use one of: {', '.join(SETTING_KEYS)}"
        elif error["type"] == "missing":
            path = prefix
            message = f"missing setting 'dbaccess:{key}'"
            fix = f"add `dbaccess:{key}: ...` ({hint}), or `pulumi config set dbaccess:{key}`"
        else:
            inner = ".".join(str(part) for part in loc[1:] if part != "[key]")
            name = f"dbaccess:{key}" + (f" {shown(inner)}" if inner else "")
            message = f"setting '{name}': {error['msg'].removeprefix('Value error, ')}"
            fix = f"dbaccess:{key} is {hint}"
        self.report(path, message, fix, at_key=error["type"] != "value_error")


def check_accounts(
    plan: AccessPlan,
    settings: Settings,
    source: SourceMap | None = None,
    *,
    prefix: Path = (),
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


def check_rds_ca_bundle(
    plan: AccessPlan,
    settings: Settings,
    source: SourceMap | None = None,
    *,
    prefix: Path = (),
) -> None:
    """MySQL servers are managed over TLS verified against the RDS CA bundle: it must be named.
    (Whether the file exists is the deploying machine's business: the offline preview
    runs elsewhere.)"""
    mysql = sorted(db.key for db in plan.databases.values() if db.is_mysql)
    if mysql and settings.rdsCaBundle is None:
        where = source or SourceMap("Pulumi.<stack>.yaml")
        raise InvalidInput(
            [
                where.problem(
                    prefix,
                    f"MySQL databases ({', '.join(mysql)}) need setting 'dbaccess:rdsCaBundle'",
                    f"add `dbaccess:rdsCaBundle: {RDS.file_name}` (the path of {RDS.url} on the "
                    "machine running `pulumi up`; relative to the project directory)",
                    at_key=True,
                )
            ]
        )
