"""The shape of access.yaml, schema version 1, as pydantic models.

These models check types, required fields, unknown keys and single-field formats. Rules
that span fields or entries (engine-specific fields, references, collisions) live in
loader.py, where every problem can point at its own line.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from dbaccess.access.naming import Access, Engine

DATABASE_KEY = re.compile(r"[a-z][a-z0-9-]{0,39}")
EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")
ACCOUNT = re.compile(r"\d{12}")
HOSTNAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
AWS_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{0,62}")
SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _fail(message: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError("dbaccess", "{message}", {"message": message, "fix": fix})


class Settings(_Strict):
    unused_after_days: Annotated[
        int, Field(ge=1, le=3650, description="days without use before a grant expires, e.g. 90")
    ] = 90


class RedshiftGroups(_Strict):
    read_only: Annotated[
        str, Field(alias="read-only", description="the Redshift group read-only logins join")
    ]
    read_write: Annotated[
        str, Field(alias="read-write", description="the Redshift group read-write logins join")
    ]


class Database(_Strict):
    engine: Annotated[Engine, Field(description="postgres, aurora-postgresql or redshift")]
    account: Annotated[
        str, Field(description='the 12-digit AWS account id, quoted: "123456789012"')
    ]
    region: Annotated[str, Field(description="the AWS region, e.g. eu-west-1")]
    instance: Annotated[str | None, Field(description="the RDS instance id (postgres)")] = None
    cluster: Annotated[
        str | None, Field(description="the cluster id (aurora-postgresql, redshift)")
    ] = None
    host: Annotated[str, Field(description="the endpoint host name")]
    port: Annotated[int, Field(description="the port, e.g. 5432 or 5439")]
    database: Annotated[str, Field(description="the database name to connect to")]
    description: Annotated[str | None, Field(description="a line shown to people")] = None
    production: Annotated[bool, Field(description="true for production databases")] = False
    admin_login: Annotated[
        str | None, Field(description="the IAM-auth login the program manages users with")
    ] = None
    schemas: Annotated[
        list[str] | None, Field(description="schemas to grant on, default [public]")
    ] = None
    table_owners: Annotated[
        list[str] | None,
        Field(description="roles whose future tables get default privileges"),
    ] = None
    groups: Annotated[
        RedshiftGroups | None,
        Field(description="{read-only: <group>, read-write: <group>} (redshift)"),
    ] = None

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise _fail(
                f"account {value} is a number, not quoted text (YAML drops leading zeros)",
                'write the 12-digit account id in quotes, e.g. account: "012345678901"',
            )
        if isinstance(value, str) and not ACCOUNT.fullmatch(value):
            raise _fail(
                f"account '{value}' is not a 12-digit AWS account id",
                'write the 12 digits of the account id, quoted, e.g. "123456789012"',
            )
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise _fail(
                f"port {value} is outside 1–65535",
                "use the port the database listens on (5432 for PostgreSQL, 5439 for Redshift)",
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
        if not HOSTNAME.fullmatch(value):
            raise _fail(
                f"host '{value}' is not a valid host name",
                "write the endpoint name without scheme, port or path",
            )
        return value

    @field_validator("instance", "cluster")
    @classmethod
    def _aws_id(cls, value: str | None) -> str | None:
        if value is not None and not AWS_ID.fullmatch(value):
            raise _fail(
                f"'{value}' is not a valid RDS/Redshift identifier",
                "use letters, digits and hyphens, starting with a letter (as shown in the console)",
            )
        return value

    @field_validator("database", "admin_login")
    @classmethod
    def _sql_name(cls, value: str | None) -> str | None:
        if value is not None and not SQL_NAME.fullmatch(value):
            raise _fail(
                f"'{value}' is not a plain SQL name",
                "use letters, digits and underscores, starting with a letter (at most 63)",
            )
        return value


def _until(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date) or value is None:
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(
        f"until {value!r} is not a date",
        "write the last day of access as YYYY-MM-DD, e.g. until: 2026-12-31",
    )


class Grant(_Strict):
    database: Annotated[str, Field(description="the key of a database under `databases:`")]
    access: Annotated[Access, Field(description="read-only or read-write")]
    until: Annotated[
        dt.date | None, Field(description="the last day of access, YYYY-MM-DD", strict=False)
    ] = None
    reason: Annotated[str | None, Field(description="why, e.g. a ticket: INC-1234 backfill")] = None

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
    grants: Annotated[list[Grant], Field(description="what this person gets")] = []

    _grants = field_validator("grants", mode="before")(_none_is_empty)


class TopLevel(_Strict):
    version: Annotated[Literal[1], Field(description="the schema version: version: 1")]
    settings: Annotated[Settings | None, Field(description="optional file-wide settings")] = None
    databases: Annotated[dict[str, Any], Field(description="the databases, by key")]
    groups: Annotated[dict[str, Any], Field(description="groups of people, by name")] = Field(
        default_factory=dict
    )
    people: Annotated[dict[str, Any], Field(description="people, by email")] = Field(
        default_factory=dict
    )
