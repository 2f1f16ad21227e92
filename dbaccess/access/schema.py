"""The shape of access.yaml, schema version 1, as pydantic models.

These models check types, required fields, unknown keys and single-field formats. Rules
that span fields or entries (engine-specific fields, references, collisions, servers) live in
rules.py, where every problem can point at its own line.

Every name that reaches an IAM ARN, an STS session or SQL is checked against what those
accept, so no name can act as a wildcard (`*`, `?`) or break a policy.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from dbaccess.access.errors import did_you_mean, shown
from dbaccess.access.naming import (
    GITHUB_LOGIN,
    LEGACY_GROUP_ROLES,
    Access,
    AuditLevel,
    Engine,
    is_group_role,
)
from dbaccess.access.until import PLAIN_DATE

DATABASE_KEY = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Emails become STS SourceIdentity and session names ([\w+=,.@-], at most 64) and S3 keys and
# ARNs in policies: ASCII only, and never `*`, `?`, `/` or a quote.
EMAIL = re.compile(r"[a-z0-9_+=,.-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", re.ASCII)
EMAIL_MAX: Final = 64
ACCOUNT = re.compile(r"[0-9]{12}")
HOSTNAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
HOSTNAME_MAX: Final = 253
AWS_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{0,62}")
# A PostgreSQL name that needs no quoting (63 bytes, NAMEDATALEN - 1).
SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
# A Redshift group: it is named in JoinGroup's ARN, so no `$` (IAM policy variables) either.
REDSHIFT_GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")
# A database owner who reviews requests: a GitHub login `@name` (letters, digits and single
# inner hyphens, at most 39) or a team `@org/team-slug` (GitHub's slugs: lowercase letters,
# digits, `-` and `_`).
GITHUB_OWNER = re.compile(rf"@{GITHUB_LOGIN.pattern}(?:/[a-z0-9][a-z0-9_-]{{0,99}})?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _fail(message: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError("dbaccess", "{message}", {"message": message, "fix": fix})


class Settings(_Strict):
    unused_after_days: Annotated[
        int, Field(ge=1, le=3650, description="days without use before a grant expires, e.g. 90")
    ] = 90


def _sql_name(value: str) -> str:
    if not SQL_NAME.fullmatch(value):
        raise _fail(
            f"'{shown(value)}' is not a plain SQL name",
            "use ASCII letters, digits and underscores, starting with a letter (at most 63)",
        )
    return value


def _redshift_group(value: str) -> str:
    if not REDSHIFT_GROUP.fullmatch(value):
        raise _fail(
            f"'{shown(value)}' is not a Redshift group name",
            "use ASCII letters, digits and underscores, starting with a letter (at most 127); "
            "the name goes into IAM's JoinGroup ARN, where `*` and `?` are wildcards",
        )
    return value


SqlName = Annotated[str, AfterValidator(_sql_name)]
RedshiftGroup = Annotated[str, AfterValidator(_redshift_group)]


def _github_owner(value: str) -> str:
    if not GITHUB_OWNER.fullmatch(value):
        raise _fail(
            f"owner '{shown(value)}' is not a GitHub user or team",
            "write a GitHub user as @login or a team as @org/team-slug, quoted in YAML "
            "(an unquoted @ starts nothing valid), e.g. owners: ['@ana-lee', '@example-org/dba']",
        )
    return value


def _distinct(values: list[str] | None) -> list[str] | None:
    seen: set[str] = set()
    for value in values or ():
        if value.lower() in seen:
            raise _fail(f"owner '{shown(value)}' is named twice", "name each owner once")
        seen.add(value.lower())
    return values


GitHubOwner = Annotated[str, AfterValidator(_github_owner)]


def _github_login(value: str) -> str:
    if not GITHUB_LOGIN.fullmatch(value):
        raise _fail(
            f"github '{shown(value)}' is not a GitHub login",
            "write the person's GitHub login without @: letters, digits and single inner "
            "hyphens, at most 39 characters, e.g. github: ana-lee",
        )
    return value


GitHubLogin = Annotated[str, AfterValidator(_github_login)]


def _whole_number_one(value: Any) -> Any:
    # YAML's true and 1.0 compare equal to 1; the version is the integer 1.
    if type(value) is not int:
        raise _fail(f"version must be the number 1, got {shown(value)}", "write `version: 1`")
    return value


class RedshiftGroups(_Strict):
    read_only: Annotated[
        RedshiftGroup,
        Field(alias="read-only", description="the Redshift group read-only logins join"),
    ]
    read_write: Annotated[
        RedshiftGroup,
        Field(alias="read-write", description="the Redshift group read-write logins join"),
    ]


class Database(_Strict):
    engine: Annotated[
        Engine, Field(description="postgres, aurora-postgresql, redshift, mysql or aurora-mysql")
    ]
    account: Annotated[
        str, Field(description='the 12-digit AWS account id, quoted: "123456789012"')
    ]
    region: Annotated[str, Field(description="the AWS region, e.g. eu-west-1")]
    instance: Annotated[str | None, Field(description="the RDS instance id (postgres, mysql)")] = (
        None
    )
    cluster: Annotated[
        str | None, Field(description="the cluster id (aurora-postgresql, aurora-mysql, redshift)")
    ] = None
    host: Annotated[str, Field(description="the endpoint host name")]
    port: Annotated[int, Field(description="the port, e.g. 5432, 5439 or 3306")]
    database: Annotated[str, Field(description="the database name to connect to")]
    description: Annotated[str | None, Field(description="a line shown to people")] = None
    production: Annotated[bool, Field(description="true for production databases")] = False
    admin_login: Annotated[
        str | None, Field(description="the IAM-auth login the program manages users with")
    ] = None
    schemas: Annotated[
        list[SqlName] | None, Field(description="schemas to grant on, default [public]")
    ] = None
    table_owners: Annotated[
        list[SqlName] | None,
        Field(description="roles whose future tables get default privileges"),
    ] = None
    groups: Annotated[
        RedshiftGroups | None,
        Field(description="{read-only: <group>, read-write: <group>} (redshift)"),
    ] = None
    owners: Annotated[
        list[GitHubOwner] | None,
        Field(
            description="GitHub users (@login) or teams (@org/team) asked to review access "
            "requests for this database; without them CODEOWNERS applies"
        ),
    ] = None

    query_audit: Annotated[
        AuditLevel | None,
        Field(
            description="which statements of each person's login the database's audit log "
            "records: none (default), ddl, write (and ddl) or all (reads too); a grant's own "
            "query_audit overrides it (PostgreSQL: pgaudit; MySQL: the server audit plugin)"
        ),
    ] = None

    _owners = field_validator("owners")(_distinct)

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise _fail(
                f"account {shown(value)} is a number, not quoted text (YAML drops leading zeros)",
                'write the 12-digit account id in quotes, e.g. account: "012345678901"',
            )
        if isinstance(value, str) and not ACCOUNT.fullmatch(value):
            raise _fail(
                f"account '{shown(value)}' is not a 12-digit AWS account id",
                'write the 12 digits of the account id, quoted, e.g. "123456789012"',
            )
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise _fail(
                f"port {shown(value)} is outside 1–65535",
                "use the port the database listens on (5432 for PostgreSQL, 5439 for Redshift, "
                "3306 for MySQL)",
            )
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip():
            raise _fail(
                "host is empty",
                "write the database endpoint, e.g. orders.abc.eu-west-1.rds.amazonaws.com",
            )
        if len(value) > HOSTNAME_MAX or not HOSTNAME.fullmatch(value):
            raise _fail(
                f"host '{shown(value)}' is not a valid host name",
                f"write the endpoint's DNS name (at most {HOSTNAME_MAX} characters) without "
                "scheme, port or path",
            )
        return value

    @field_validator("instance", "cluster")
    @classmethod
    def _aws_id(cls, value: str | None) -> str | None:
        if value is not None and not AWS_ID.fullmatch(value):
            raise _fail(
                f"'{shown(value)}' is not a valid RDS/Redshift identifier",
                "use letters, digits and hyphens, starting with a letter (as shown in the console)",
            )
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        return _sql_name(value)

    @field_validator("admin_login")
    @classmethod
    def _admin_login(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if is_group_role(_sql_name(value)) or value in LEGACY_GROUP_ROLES:
            raise _fail(
                f"admin_login '{value}' has the name of a db-access group role",
                "name the login the program manages users with, e.g. dbaccess_admin; group "
                "roles (dbaccess_<key>_ro/_rw) are declared by the program itself",
            )
        return value


def _until(value: Any) -> Any:
    """A plain date: YAML's date, or the same written in quotes. Nothing else (a timestamp
    would suggest a time of day that nobody enforces; `20261231` and week dates misread)."""
    fix = "write the last day of access as YYYY-MM-DD, e.g. until: 2026-12-31"
    if isinstance(value, dt.datetime):
        raise _fail(f"until {shown(value.isoformat())} is a timestamp, not a date", fix)
    if isinstance(value, dt.date) or value is None:
        return value
    if isinstance(value, str) and PLAIN_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise _fail(f"until '{value}' is not a real date ({exc})", fix) from None
    written = f"'{shown(value)}'" if isinstance(value, str) else shown(value)
    raise _fail(f"until {written} is not a date", fix)


class Grant(_Strict):
    database: Annotated[str, Field(description="the key of a database under `databases:`")]
    access: Annotated[Access, Field(description="read-only or read-write")]
    until: Annotated[
        dt.date | None, Field(description="the last day of access, YYYY-MM-DD", strict=False)
    ] = None
    reason: Annotated[str | None, Field(description="why, e.g. a ticket: INC-1234 backfill")] = None
    query_audit: Annotated[
        AuditLevel | None,
        Field(
            description="this grant's audit level (none, ddl, write, all), overriding the "
            "database's query_audit, e.g. all for a temporary read-write grant"
        ),
    ] = None

    _check_until = field_validator("until", mode="before")(_until)


def _none_is_empty(value: Any) -> Any:
    """`grants:` with every line removed reads as null: that means no grants."""
    return [] if value is None else value


class Group(_Strict):
    members: Annotated[list[str], Field(description="the members' emails")]
    grants: Annotated[list[Grant], Field(description="what every member gets")] = []

    _grants = field_validator("grants", mode="before")(_none_is_empty)


class Person(_Strict):
    username: Annotated[
        str | None, Field(description="the login base, overriding the email-derived one")
    ] = None
    github: Annotated[
        GitHubLogin | None,
        Field(
            description="their GitHub login (without @): the owner-approval check never "
            "counts their approval of a change that gives them access"
        ),
    ] = None
    grants: Annotated[list[Grant], Field(description="what this person gets")] = []

    _grants = field_validator("grants", mode="before")(_none_is_empty)


class TopLevel(_Strict):
    version: Annotated[Literal[1], Field(description="the schema version: version: 1")]

    _version = field_validator("version", mode="before")(_whole_number_one)
    settings: Annotated[Settings | None, Field(description="optional file-wide settings")] = None
    databases: Annotated[dict[str, Any], Field(description="the databases, by key")]
    groups: Annotated[dict[str, Any], Field(description="groups of people, by name")] = Field(
        default_factory=dict
    )
    people: Annotated[dict[str, Any], Field(description="people, by email")] = Field(
        default_factory=dict
    )


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows, in every partition (offline data shipped with botocore)."""
    from botocore.loaders import Loader

    endpoints = Loader().load_data("endpoints")
    return frozenset(r for p in endpoints["partitions"] for r in p["regions"])


def region_problem(region: str) -> tuple[str, str] | None:
    """(message, fix) when region is not an AWS region, else None."""
    if region in known_regions():
        return None
    return (
        f"'{shown(region)}' is not an AWS region{did_you_mean(region, sorted(known_regions()))}",
        "write the region the database runs in, e.g. eu-west-1",
    )


def email_problem(email: Any) -> tuple[str, str] | None:
    """(message, fix) when email cannot name a person (STS, IAM, S3 all take it), else None."""
    # ASCII before lower-casing: some letters lower-case to ASCII ones (KELVIN SIGN U+212A to
    # `k`), and two spellings of one email would share a login.
    ok = isinstance(email, str) and email.isascii() and len(email) <= EMAIL_MAX
    if ok and EMAIL.fullmatch(email.lower()):
        return None
    if isinstance(email, str) and len(email) > EMAIL_MAX:
        reason = f"is {len(email)} characters; AWS STS takes at most {EMAIL_MAX}"
    else:
        reason = "is not a valid email address"
    return (
        f"'{shown(email)}' {reason}",
        "people are named by their corporate email, e.g. hugo.henley@example.com: ASCII "
        "letters, digits and _ + = , . - around one @ (no * ? / or quotes)",
    )
