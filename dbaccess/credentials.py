"""Short-lived database credentials for one person's grant, shared by the CLI and the issuer.

Both callers first become the person (`assume_person_role`, SourceIdentity = their email),
then ask for a credential with those credentials (`issue_credential`):

- PostgreSQL / Aurora: an RDS IAM auth token, signed locally (no network), valid 15 minutes;
- Redshift: `GetClusterCredentials` for the grant's login, joined to the access level's group.

Nothing here logs, and no exception message carries a token or password.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Final

import botocore.session
from botocore.awsrequest import prepare_request_dict
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.hooks import HierarchicalEmitter
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from dbaccess.access.naming import RDS_IAM_ENGINES
from dbaccess.catalog import CatalogDatabase, CatalogGrant

TOKEN_LIFETIME: Final = dt.timedelta(minutes=15)  # RDS IAM tokens; fixed by AWS
REDSHIFT_DURATION_SECONDS: Final = 900
ROLE_DURATION_SECONDS: Final = 900
SESSION_NAME_MAX: Final = 64

# AWS error codes worth retrying: the same call may well succeed a little later.
TRANSIENT_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "IDPCommunicationError",
    }
)
EXPIRED_CODES: Final = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
INVALID_CODES: Final = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"}
)
DENIED_CODES: Final = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


@dataclass(frozen=True)
class Credential:
    """A database credential. `password` is an RDS token or a Redshift temporary password."""

    engine: str
    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    expires_at: dt.datetime  # aware, UTC

    def __repr__(self) -> str:
        return (
            f"Credential(engine={self.engine!r}, host={self.host!r}, port={self.port}, "
            f"database={self.database!r}, user={self.user!r}, password='***', "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    __str__ = __repr__


# --- errors ----------------------------------------------------------------------------------


class CredentialError(Exception):
    """Making a credential failed. `transient`: retrying later may succeed (throttling, AWS
    unavailable, network). `code` is AWS's error code when there is one. Messages never contain
    a token, password or secret key."""

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.transient = transient


class AwsCredentialsMissing(CredentialError):
    """No AWS credentials at all (nothing in the environment, profile or SSO cache)."""


class AwsCredentialsExpired(CredentialError):
    """The caller's AWS credentials expired or are not recognised; log in again."""


class AccessDenied(CredentialError):
    """AWS said no: a role that does not trust the caller, or a policy that does not allow."""


def classify_aws_error(exc: Exception, doing: str) -> CredentialError:
    """Turn a botocore exception into a CredentialError saying what we were `doing`."""
    # Local imports keep the names out of this module's public surface.
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )
    from botocore.exceptions import (
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        SSOError,
        TokenRetrievalError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsCredentialsMissing(f"{doing}: no AWS credentials found")
    if isinstance(exc, SSOError | TokenRetrievalError):
        return AwsCredentialsExpired(
            f"{doing}: your AWS SSO session has expired or is not logged in"
        )
    if isinstance(exc, NoRegionError):
        return CredentialError(f"{doing}: no AWS region configured")
    if isinstance(exc, BotoConnectionError):
        return CredentialError(
            f"{doing}: could not reach AWS ({type(exc).__name__})", transient=True
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = _short(str(error.get("Message", "")))
        text = f"{doing}: {code}: {message}" if message else f"{doing}: {code}"
        if code in EXPIRED_CODES or code in INVALID_CODES:
            return AwsCredentialsExpired(text, code=code)
        if code in DENIED_CODES:
            return AccessDenied(text, code=code)
        return CredentialError(text, code=code, transient=code in TRANSIENT_CODES)
    if isinstance(exc, BotoCoreError):
        return CredentialError(f"{doing}: {type(exc).__name__}")
    return CredentialError(f"{doing}: {type(exc).__name__}")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- becoming the person ---------------------------------------------------------------------


def session_name_for(email: str) -> str:
    """A RoleSessionName from an email: deterministic, 2..64 characters of [A-Za-z0-9_+=,.@-].

    Long emails keep their start and get a short hash, so two people never share a name."""
    email = email.strip().lower()
    name = re.sub(r"[^A-Za-z0-9_+=,.@-]", "-", email)
    if len(name) > SESSION_NAME_MAX:
        digest = hashlib.sha256(email.encode()).hexdigest()[:8]
        name = f"{name[: SESSION_NAME_MAX - 9]}-{digest}"
    return name.ljust(2, "-")


def assume_person_role(
    sts: Any, role_arn: str, email: str, *, duration: int = ROLE_DURATION_SECONDS
) -> Credentials:
    """The person's role's temporary credentials, with SourceIdentity = their email (which
    CloudTrail then records on every call made with them, and which the role's trust policy
    requires). `sts`: an STS client of the caller, kept by callers that make many."""
    try:
        answer = sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName=session_name_for(email),
            SourceIdentity=email.lower(),
            DurationSeconds=duration,
        )
    except (BotoCoreError, ClientError) as exc:
        raise classify_aws_error(exc, f"assuming {role_arn}") from None
    keys = answer["Credentials"]
    return Credentials(
        keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], method="assume-role"
    )


def assume_role(
    sts: Any, role_arn: str, session_name: str, *, duration: int = ROLE_DURATION_SECONDS
) -> Credentials:
    """A service role's temporary credentials (the deploy role for audit, sweep, activity);
    the session name tells CloudTrail which command acted. Raises CredentialError."""
    try:
        keys = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration
        )["Credentials"]
    except (BotoCoreError, ClientError) as exc:
        raise classify_aws_error(exc, f"assuming {role_arn}") from None
    return Credentials(
        keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"], method="assume-role"
    )


def client_as(credentials: Credentials, service: str, region: str) -> Any:
    """A boto3 client of `service` in `region` acting with `credentials` (an assumed role)."""
    import boto3

    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )


@functools.cache
def _client_factory() -> botocore.session.Session:
    """One botocore session per process for the clients made with a person's credentials:
    a new session would register its handlers and read the service models again (tens of
    milliseconds, on every request of the issuer)."""
    return botocore.session.get_session()


# --- the credential --------------------------------------------------------------------------


def issue_credential(
    credentials: Credentials,
    db: CatalogDatabase,
    grant: CatalogGrant,
    *,
    now: dt.datetime | None = None,
) -> Credential:
    """A credential for `grant` on `db`, made with `credentials` (the person's role).

    `now` (aware) sets `expires_at` for RDS tokens; the token itself is signed with the clock.
    Raises CredentialError (check `.transient`) when AWS refuses or fails.
    """
    if grant.database != db.key:
        raise ValueError(f"grant for {grant.database!r} used with database {db.key!r}")
    now = now or dt.datetime.now(dt.UTC)
    if db.engine in RDS_IAM_ENGINES:
        return _rds_token(credentials, db, grant, now)
    if db.engine == "redshift":
        return _redshift_credentials(credentials, db, grant)
    raise ValueError(f"unknown engine {db.engine!r} for database {db.key!r}")


# The signer holds its event hooks by weak reference: they must outlive it. None are needed.
_NO_HOOKS: Final = HierarchicalEmitter()


def rds_auth_token(credentials: Credentials, region: str, host: str, port: int, user: str) -> str:
    """An RDS IAM auth token for `user` at host:port, signed locally with `credentials`.

    What RDS's generate_db_auth_token does, minus the client around it (building one per
    person costs more than the signature): a SigV4 presigned `connect` for the login,
    service rds-db, 15 minutes. Raises CredentialError when signing fails.
    """
    signer = RequestSigner(ServiceId("rds"), region, "rds-db", "v4", credentials, _NO_HOOKS)
    request = {
        "url_path": "/",
        "query_string": "",
        "headers": {},
        "body": {"Action": "connect", "DBUser": user},
        "method": "GET",
    }
    prepare_request_dict(request, f"https://{host}:{port}")
    try:
        url = signer.generate_presigned_url(
            request, "connect", expires_in=900, region_name=region, signing_name="rds-db"
        )
    except BotoCoreError as exc:
        raise classify_aws_error(exc, f"signing an RDS token for {host}") from None
    # The scheme is only there for URL parsing; RDS wants it off.
    return url.removeprefix("https://")


def _rds_token(
    credentials: Credentials, db: CatalogDatabase, grant: CatalogGrant, now: dt.datetime
) -> Credential:
    token = rds_auth_token(credentials, db.region, db.host, db.port, grant.login)
    return Credential(
        engine=db.engine,
        host=db.host,
        port=db.port,
        database=db.database,
        user=grant.login,
        password=token,
        expires_at=now.astimezone(dt.UTC) + TOKEN_LIFETIME,
    )


def _redshift_credentials(
    credentials: Credentials, db: CatalogDatabase, grant: CatalogGrant
) -> Credential:
    keys = credentials.get_frozen_credentials()
    redshift: Any = _client_factory().create_client(
        "redshift",
        region_name=db.region,
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        aws_session_token=keys.token,
    )
    try:
        answer = redshift.get_cluster_credentials(
            DbUser=grant.login,
            DbName=db.database,
            ClusterIdentifier=db.identifier,
            DurationSeconds=REDSHIFT_DURATION_SECONDS,
            AutoCreate=True,
            DbGroups=[db.groups[grant.access]],
        )
    except (BotoCoreError, ClientError) as exc:
        raise classify_aws_error(exc, f"getting Redshift credentials for {db.key}") from None
    expires_at: dt.datetime = answer["Expiration"]
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    return Credential(
        engine=db.engine,
        host=db.host,
        port=db.port,
        database=db.database,
        # "IAM:<login>" (or "IAMA:<login>" when just created): Redshift wants it verbatim.
        user=answer["DbUser"],
        password=answer["DbPassword"],
        expires_at=expires_at.astimezone(dt.UTC),
    )
