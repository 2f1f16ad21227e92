"""The access catalog: what the program publishes and the runtime (issuer, bot, CLI) reads.

`catalog.json` holds every database and person; `people/<email>.json` holds one person's
grants with their databases' connection details, readable only by that person's role.
Both are built by pure functions here; `CatalogSource` reads them from S3 (cached by ETag).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from dbaccess.access.until import is_live  # standard library only: no access.yaml model

if TYPE_CHECKING:  # the services that only read catalogs never load the access.yaml model
    from dbaccess.access.plan import AccessPlan, DatabaseSpec, Person

SCHEMA_VERSION: Final = 1
CATALOG_KEY: Final = "catalog.json"
PEOPLE_PREFIX: Final = "people/"


def person_key(email: str) -> str:
    return f"{PEOPLE_PREFIX}{email}.json"


def _database(db: DatabaseSpec, resource_id: str | None) -> dict[str, Any]:
    return {
        "engine": db.engine,
        "account": db.account,
        "region": db.region,
        "host": db.host,
        "port": db.port,
        "database": db.name,
        "identifier": db.identifier,
        "resource_id": resource_id,
        "description": db.description,
        "production": db.production,
        # MySQL logins are granted directly: no groups.
        "groups": {}
        if db.is_mysql
        else {access: db.group_for(access) for access in ("read-only", "read-write")},
    }


def _person(person: Person, roles: Mapping[str, str]) -> dict[str, Any]:
    return {
        "login_base": person.base,
        "roles": dict(sorted(roles.items())),
        "grants": [
            {
                "database": g.database,
                "access": g.access,
                "login": g.login,
                "until": g.until.isoformat() if g.until else None,
                # The policy pack checks production read-write carries a reason.
                "reason": "; ".join(g.reasons) or None,
            }
            for g in person.grants
        ],
    }


def build_catalog(
    plan: AccessPlan,
    role_arns: Mapping[str, Mapping[str, str]],
    resource_ids: Mapping[str, str],
) -> dict[str, Any]:
    """catalog.json. role_arns: email -> account -> role ARN; resource_ids: db key -> id."""
    return {
        "schema_version": SCHEMA_VERSION,
        "databases": {
            key: _database(db, resource_ids.get(key)) for key, db in plan.databases.items()
        },
        "people": {
            email: _person(person, role_arns.get(email, {}))
            for email, person in plan.people.items()
            if person.grants
        },
    }


def build_person_object(
    plan: AccessPlan,
    person: Person,
    roles: Mapping[str, str],
    resource_ids: Mapping[str, str],
) -> dict[str, Any]:
    """people/<email>.json: one person's grants and the databases they reach."""
    keys = sorted({g.database for g in person.grants})
    return {
        "schema_version": SCHEMA_VERSION,
        "email": person.email,
        **_person(person, roles),
        "databases": {k: _database(plan.databases[k], resource_ids.get(k)) for k in keys},
    }


def to_json(document: Mapping[str, Any]) -> str:
    """Stable text: the same plan always gives the same bytes (so S3 objects only change when
    access does)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogDatabase:
    key: str
    engine: str
    account: str
    region: str
    host: str
    port: int
    database: str
    identifier: str
    resource_id: str | None
    description: str | None
    production: bool
    groups: Mapping[str, str]


@dataclass(frozen=True)
class CatalogGrant:
    database: str
    access: str
    login: str
    until: dt.date | None

    def expired_on(self, today: dt.date) -> bool:
        return not is_live(self.until, today)


@dataclass(frozen=True)
class CatalogPerson:
    email: str
    login_base: str
    roles: Mapping[str, str]
    grants: tuple[CatalogGrant, ...]

    def grant(self, database: str, access: str) -> CatalogGrant | None:
        return next((g for g in self.grants if g.database == database and g.access == access), None)


class CatalogError(ValueError):
    """The catalog document is missing, unreadable or of an unknown schema."""


@dataclass(frozen=True)
class Catalog:
    databases: Mapping[str, CatalogDatabase]
    people: Mapping[str, CatalogPerson]

    def person(self, email: str) -> CatalogPerson | None:
        return self.people.get(email.lower())

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Catalog:
        """Parse catalog.json or a people/<email>.json object."""
        if document.get("schema_version") != SCHEMA_VERSION:
            raise CatalogError(
                f"catalog schema_version {document.get('schema_version')!r} is not "
                f"{SCHEMA_VERSION}; upgrade dbaccess"
            )
        try:
            databases = {
                key: CatalogDatabase(key=key, **{**value, "groups": dict(value["groups"])})
                for key, value in document["databases"].items()
            }
            people_docs = (
                {document["email"]: document} if "email" in document else document["people"]
            )
            people = {
                email: CatalogPerson(
                    email=email,
                    login_base=value["login_base"],
                    roles=dict(value["roles"]),
                    grants=tuple(
                        CatalogGrant(
                            database=g["database"],
                            access=g["access"],
                            login=g["login"],
                            until=dt.date.fromisoformat(g["until"]) if g["until"] else None,
                        )
                        for g in value["grants"]
                    ),
                )
                for email, value in people_docs.items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"the catalog document is malformed: {exc!r}") from None
        return cls(databases, people)

    @classmethod
    def from_json(cls, text: str | bytes) -> Catalog:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"the catalog is not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise CatalogError("the catalog is not a JSON object")
        return cls.from_document(document)


class CatalogSource:
    """Reads a catalog object from S3, re-reading only when its ETag changes.

    Safe to share between threads (the bot) and invocations (a Lambda's module-level cache).
    """

    def __init__(self, s3_client: Any, bucket: str, key: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._key = key
        self._lock = threading.Lock()
        self._etag: str | None = None
        self._catalog: Catalog | None = None

    def get(self) -> Catalog:
        with self._lock:
            if self._etag is not None:
                try:
                    response = self._s3.get_object(
                        Bucket=self._bucket, Key=self._key, IfNoneMatch=self._etag
                    )
                except self._s3.exceptions.ClientError as exc:
                    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                    if status == 304 and self._catalog is not None:
                        return self._catalog
                    raise
            else:
                response = self._s3.get_object(Bucket=self._bucket, Key=self._key)
            self._catalog = Catalog.from_json(response["Body"].read())
            self._etag = response["ETag"]
            return self._catalog
