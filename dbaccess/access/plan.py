"""The AccessPlan: what access.yaml means once groups, logins and expiry are resolved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from dbaccess.access.naming import (
    INSTANCE_ENGINES,
    MYSQL_ENGINES,
    POSTGRES_ENGINES,
    RDS_IAM_ENGINES,
    Access,
    AuditLevel,
    Engine,
    group_role_for,
)


@dataclass(frozen=True)
class DatabaseSpec:
    key: str
    engine: Engine
    account: str
    region: str
    identifier: str  # the RDS instance id (postgres, mysql) or the cluster id (aurora, redshift)
    host: str
    port: int
    name: str
    description: str | None = None
    production: bool = False
    admin_login: str | None = None
    schemas: tuple[str, ...] = ()
    table_owners: tuple[str, ...] = ()
    redshift_groups: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()  # GitHub reviewers of access requests: @login or @org/team
    query_audit: AuditLevel = "none"  # the default audit level of its grants

    @property
    def is_postgres(self) -> bool:
        return self.engine in POSTGRES_ENGINES

    @property
    def is_mysql(self) -> bool:
        return self.engine in MYSQL_ENGINES

    @property
    def uses_rds_iam(self) -> bool:
        """Logins sign in with an RDS IAM token: rds-db:connect on the server's resource id."""
        return self.engine in RDS_IAM_ENGINES

    @property
    def is_cluster(self) -> bool:
        return self.engine not in INSTANCE_ENGINES

    @property
    def server(self) -> tuple[str, str, str, str]:
        """The server this database lives on: roles (logins, groups) are shared across it.

        Two access.yaml databases with the same instance (or cluster) id in the same account
        and region are two databases of one server.
        """
        kind = "cluster" if self.is_cluster else "instance"
        return (self.account, self.region, kind, self.identifier)

    def group_for(self, access: Access) -> str:
        """The database group a login of this access level joins (PostgreSQL, Redshift; MySQL
        logins join none: they are granted directly)."""
        if self.is_postgres:
            return group_role_for(self.key, access)
        return self.redshift_groups[access]


@dataclass(frozen=True)
class Grant:
    """One effective grant: one login of one person on one database."""

    email: str
    database: str
    access: Access
    login: str
    until: dt.date | None
    reasons: tuple[str, ...]
    sources: tuple[str, ...]  # where it came from: "people" and/or "group <name>"
    # The highest audit level among its live sources (each: its own query_audit, else the
    # database's).
    query_audit: AuditLevel = "none"


@dataclass(frozen=True)
class ExpiredGrant:
    """A grant whose every source has passed its `until`: not in the plan, kept for reports."""

    email: str
    database: str
    access: Access
    until: dt.date
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    email: str
    base: str
    role_name: str
    grants: tuple[Grant, ...]
    line: int = 0  # where the person is named in the access file, for messages
    github: str | None = None  # their GitHub login as declared (`github:`), case kept


@dataclass(frozen=True)
class AccessPlan:
    file: str
    evaluated_on: dt.date
    unused_after_days: int
    databases: Mapping[str, DatabaseSpec]
    people: Mapping[str, Person]
    groups: Mapping[str, tuple[str, ...]]
    expired: tuple[ExpiredGrant, ...]

    def grants(self) -> Iterator[Grant]:
        for person in self.people.values():
            yield from person.grants

    def accounts_of(self, person: Person) -> list[str]:
        """The AWS accounts holding a database this person is granted, sorted."""
        return sorted({self.databases[g.database].account for g in person.grants})

    def summary(self) -> str:
        grants = sum(1 for _ in self.grants())
        return (
            f"{len(self.people)} people, {len(self.databases)} databases, "
            f"{grants} grants ({len(self.expired)} expired)"
        )
