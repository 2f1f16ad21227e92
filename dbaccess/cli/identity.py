"""Who am I: the engineer's config file, their email, and a boto3 session in their role.

Three situations, decided from `sts:GetCallerIdentity`:

1. already in `dbaccess-<base>` (weep / ConsoleMe): use the credentials as they are; the
   email comes from --email / DBACCESS_EMAIL / the config file, the session name (ConsoleMe
   and Identity Center name sessions after the user), the catalog file, or the role's tag;
2. any other credentials (Identity Center, an IAM user): the email is required from the same
   places (or an email-shaped session name), and we assume
   `arn:aws:iam::<account>:role/dbaccess/dbaccess-<base>` with SourceIdentity = email;
3. no credentials: an error saying how to log in.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.naming import ROLE_PREFIX, login_base, role_name_for
from dbaccess.access.schema import email_problem
from dbaccess.catalog import Catalog, CatalogPerson
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.credentials import (
    AccessDenied,
    AwsCredentialsExpired,
    AwsCredentialsMissing,
    CredentialError,
    assume_person_role,
    classify_aws_error,
)
from dbaccess.iam.documents import role_arn

CONFIG_KEYS: Final = ("email", "catalog", "ca_bundle", "redshift_ca_bundle", "region")
DEFAULT_STS_REGION: Final = "us-east-1"
ROLE_TAG_KEY: Final = "consoleme-authorized"

Say = Callable[[str], None]

LOGIN_HELP: Final = """\
Log in to AWS first, in one of these ways:
  weep (ConsoleMe):     eval "$(weep export dbaccess-<you>)"
  IAM Identity Center:  aws sso login --profile <profile> && export AWS_PROFILE=<profile>
  environment:          export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_SESSION_TOKEN=…"""


def quiet(_: str) -> None:
    """The `say` used without --verbose."""


class EngineerError(Exception):
    """Something the engineer can fix: what went wrong, what to do, and the exit code."""

    def __init__(
        self, message: str, fix: str = "", exit_code: ExitCode = ExitCode.INVALID_INPUT
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.exit_code = exit_code

    def render(self) -> str:
        return f"error: {self.message}" + (f"\n{self.fix}" if self.fix else "")


# --- config ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """~/.config/dbaccess/config.toml (all keys optional)."""

    email: str | None = None
    catalog: str | None = None
    ca_bundle: str | None = None  # RDS and Aurora
    redshift_ca_bundle: str | None = None
    region: str | None = None
    path: Path | None = None


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dbaccess"


def load_config(path: Path) -> Config:
    """Read the config file; a missing file is an empty config."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EngineerError(
            f"cannot read {path}: {exc}",
            f"fix the file; it is TOML with the keys {', '.join(CONFIG_KEYS)}",
        ) from None
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    wrong_type = sorted(k for k in CONFIG_KEYS if k in data and not isinstance(data[k], str))
    if unknown or wrong_type:
        raise EngineerError(
            f"{path}: "
            + "; ".join(
                [f"unknown key {k!r}" for k in unknown]
                + [f"{k!r} must be a string" for k in wrong_type]
            ),
            f'the keys are {", ".join(CONFIG_KEYS)}, each a string, e.g. email = "you@example.com"',
        )
    return Config(**{k: data[k] for k in CONFIG_KEYS if k in data}, path=path)


def explicit_email(
    option: str | None, env: Mapping[str, str], config: Config
) -> tuple[str | None, str]:
    """The email the engineer told us, and where it came from (for --verbose); the access
    file's rule for emails, or EngineerError."""
    given = (
        (option, "--email"),
        (env.get("DBACCESS_EMAIL"), "DBACCESS_EMAIL"),
        (config.email, str(config.path)),
    )
    for email, source in given:
        if email:
            problem = email_problem(email.strip())
            if problem is not None:
                message, fix = problem
                raise EngineerError(f"{source}: {message}", fix)
            return email.strip().lower(), source
    return None, ""


# --- who am I --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """What sts:GetCallerIdentity says, parsed."""

    account: str
    arn: str
    role_name: str | None  # for assumed-role sessions
    session_name: str | None

    @property
    def person_base(self) -> str | None:
        """The login base when these are a dbaccess person role's credentials."""
        if self.role_name and self.role_name.startswith(ROLE_PREFIX):
            return self.role_name[len(ROLE_PREFIX) :]
        return None


@dataclass(frozen=True)
class Identity:
    email: str
    caller: Caller
    role_arn: str
    session: boto3.Session  # in the person's role
    assumed: bool  # True: we assumed the role; False: the credentials already were it


def aws_failure(exc: CredentialError) -> EngineerError:
    """Explain an AWS failure to a person, with what to do."""
    if isinstance(exc, AwsCredentialsMissing):
        return EngineerError(f"{exc.message}.", LOGIN_HELP, ExitCode.FAILED)
    if isinstance(exc, AwsCredentialsExpired):
        return EngineerError(
            f"your AWS credentials have expired or are not valid ({exc.message}).",
            LOGIN_HELP.replace("Log in to AWS first", "Log in again"),
            ExitCode.FAILED,
        )
    fix = "AWS is busy or unreachable; try again in a minute." if exc.transient else ""
    return EngineerError(exc.message, fix, ExitCode.FAILED)


def caller_identity(session: boto3.Session, region: str | None = None) -> Caller:
    sts = session.client("sts", region_name=region or session.region_name or DEFAULT_STS_REGION)
    try:
        answer = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise aws_failure(classify_aws_error(exc, "checking who you are")) from None
    arn = answer["Arn"]
    role_name = session_name = None
    # arn:aws:sts::123456789012:assumed-role/<role name>/<session name>
    resource = arn.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        _, role_name, session_name = resource.split("/", 2)
    return Caller(
        account=answer["Account"], arn=arn, role_name=role_name, session_name=session_name
    )


def _email_from_role_tag(session: boto3.Session, role_name: str, say: Say) -> str | None:
    """The role's ConsoleMe tag names its person; person roles usually may not read it."""
    try:
        tags = session.client("iam").list_role_tags(RoleName=role_name)["Tags"]
    except (BotoCoreError, ClientError):
        say(f"cannot read the tags of role {role_name} (not allowed); skipping")
        return None
    values = [t["Value"] for t in tags if t["Key"] == ROLE_TAG_KEY]
    emails = [v for value in values for v in value.split(":") if "@" in v]
    return emails[0].lower() if len(emails) == 1 else None


def _catalog_person(
    catalog: Catalog | None, email: str | None, base: str | None
) -> CatalogPerson | None:
    if catalog is None:
        return None
    if email:
        return catalog.person(email)
    matches = [p for p in catalog.people.values() if p.login_base == base]
    return matches[0] if len(matches) == 1 else None


def resolve_identity(
    base_session: boto3.Session,
    *,
    email: str | None,
    email_source: str = "",
    catalog: Catalog | None = None,
    region: str | None = None,
    say: Say = quiet,
) -> Identity:
    """Who the caller is and a session in their person role (see the module docstring)."""
    caller = caller_identity(base_session, region)
    say(f"AWS caller: {caller.arn} (account {caller.account})")
    base = caller.person_base
    if base is not None:
        source = email_source
        if email is None:
            if caller.session_name and "@" in caller.session_name:
                email, source = caller.session_name.lower(), "the role session name"
            elif person := _catalog_person(catalog, None, base):
                email, source = person.email, "the catalog file"
            elif tagged := _email_from_role_tag(base_session, caller.role_name or "", say):
                email, source = tagged, f"the role's {ROLE_TAG_KEY} tag"
        if email is None:
            raise EngineerError(
                f"you are in role {caller.role_name}, but dbaccess cannot tell whose email it is",
                "pass --email you@example.com, or set DBACCESS_EMAIL, or put "
                f'email = "you@example.com" in {config_dir() / "config.toml"}',
            )
        person = _catalog_person(catalog, email, None)
        if person is not None and person.login_base != base:
            raise EngineerError(
                f"you are in role {caller.role_name}, which is not the role of {email} "
                f"({role_name_for(person.login_base)})",
                "use your own email, or log in to your own role",
            )
        say(f"already in person role {caller.role_name}; email {email} (from {source})")
        arn = role_arn(caller.account, caller.role_name or "")
        return Identity(email, caller, arn, base_session, assumed=False)

    if email is None and caller.session_name and "@" in caller.session_name:
        # IAM Identity Center names the session after the user's email.
        email, email_source = caller.session_name.lower(), "the AWS session name"
    if email is None:
        raise EngineerError(
            f"dbaccess needs your email to find your role (you are {caller.arn})",
            "pass --email you@example.com, or set DBACCESS_EMAIL, or put "
            f'email = "you@example.com" in {config_dir() / "config.toml"}',
        )
    person = _catalog_person(catalog, email, None)
    person_base = person.login_base if person else login_base(email)
    arn = (person.roles.get(caller.account) if person else None) or role_arn(
        caller.account, role_name_for(person_base)
    )
    say(f"email {email} (from {email_source}); assuming {arn} with SourceIdentity={email}")
    session = assume_role_or_explain(base_session, arn, email, caller, region)
    return Identity(email, caller, arn, session, assumed=True)


def assume_role_or_explain(
    base_session: boto3.Session, arn: str, email: str, caller: Caller, region: str | None
) -> boto3.Session:
    region = region or base_session.region_name or DEFAULT_STS_REGION
    try:
        keys = assume_person_role(base_session.client("sts", region_name=region), arn, email)
    except AccessDenied as exc:
        raise EngineerError(
            f"role {arn} does not trust your credentials ({caller.arn}): {exc.code}",
            "The person roles trust ConsoleMe and the IAM Identity Center permission sets the\n"
            "platform team configured (extraTrustedPrincipals), and only with your own email.\n"
            "Check that --email is yours, or get the role through ConsoleMe:\n"
            f'  eval "$(weep export {arn})"',
            ExitCode.FAILED,
        ) from None
    except CredentialError as exc:
        raise aws_failure(exc) from None
    frozen = keys.get_frozen_credentials()
    return boto3.Session(
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
        region_name=region,
    )


def session_for_account(
    identity: Identity,
    base_session: boto3.Session,
    account: str,
    roles: Mapping[str, str],
    region: str | None,
    say: Say = quiet,
) -> boto3.Session:
    """A session in the person's role in `account` (databases may live in other accounts)."""
    if account == identity.caller.account:
        return identity.session
    base = identity.caller.person_base or login_base(identity.email)
    arn = roles.get(account) or role_arn(account, role_name_for(base))
    say(
        f"the database is in account {account}: assuming {arn} with SourceIdentity={identity.email}"
    )
    return assume_role_or_explain(base_session, arn, identity.email, identity.caller, region)
