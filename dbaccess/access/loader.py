"""Load access.yaml into an AccessPlan, reporting every problem with its line, column and fix."""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from dbaccess.access import naming, schema
from dbaccess.access.errors import InvalidInput, Problem, did_you_mean
from dbaccess.access.plan import AccessPlan, DatabaseSpec, ExpiredGrant, Grant, Person
from dbaccess.access.source import Path, SourceMap, parse_yaml

M = TypeVar("M", bound=BaseModel)

_ENGINE_LABEL = {
    "postgres": "PostgreSQL",
    "aurora-postgresql": "PostgreSQL",
    "redshift": "Redshift",
}
_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "tuple_type": "a list",
    "list_type": "a list",
    "date_type": "a date",
}


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows, in every partition (offline data shipped with botocore)."""
    from botocore.loaders import Loader

    endpoints = Loader().load_data("endpoints")
    return frozenset(r for p in endpoints["partitions"] for r in p["regions"])


def load_access_file(path: str | FsPath, *, today: dt.date | None = None) -> AccessPlan:
    """Read and validate an access file; raise InvalidInput listing every problem."""
    path = FsPath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            [Problem(str(path), 1, 1, f"{path} does not exist", "pass the path of access.yaml")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InvalidInput(
            [Problem(str(path), 1, 1, f"cannot read {path}: {reason}", "check the file")]
        ) from None
    return load_access_text(text, str(path), today=today)


def load_access_text(text: str, file: str, *, today: dt.date | None = None) -> AccessPlan:
    """Validate access-file text (file names it in messages) into an AccessPlan."""
    data, source, problems = parse_yaml(text, file)
    if problems:
        raise InvalidInput(problems)
    if data is None:
        raise InvalidInput(
            [
                Problem(
                    file,
                    1,
                    1,
                    "the access file is empty",
                    "start with `version: 1` and a `databases:` mapping (see the README)",
                )
            ]
        )
    return _Checker(source, today or today_utc()).run(data)


class _Checker:
    """Validates parsed data; collects problems instead of stopping at the first."""

    def __init__(self, source: SourceMap, today: dt.date) -> None:
        self.source = source
        self.today = today
        self.problems: list[Problem] = []

    def report(self, path: Path, message: str, fix: str, *, at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, fix, at_key=at_key))

    def model(self, cls: type[M], raw: Any, path: Path) -> M | None:
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self._translate(cls, path, error)
            return None

    def run(self, data: Any) -> AccessPlan:
        top = self.model(schema.TopLevel, data, ())
        if top is None:
            raise InvalidInput(self.problems)
        databases = self._databases(top.databases)
        valid_keys = {k for k in top.databases if isinstance(k, str)}
        groups = {
            name: group
            for name, raw in top.groups.items()
            if (group := self._group(name, raw, databases, valid_keys)) is not None
        }
        people = {
            email: person
            for email, raw in top.people.items()
            if (person := self._person(email, raw, databases, valid_keys)) is not None
        }
        plan = self._plan(top, databases, groups, people)
        if self.problems:
            raise InvalidInput(self.problems)
        return plan

    # --- databases -------------------------------------------------------------------

    def _databases(self, raw: Mapping[str, Any]) -> dict[str, DatabaseSpec]:
        result = {}
        for key, value in raw.items():
            path: Path = ("databases", key)
            if not isinstance(key, str) or not schema.DATABASE_KEY.fullmatch(key):
                self.report(
                    path,
                    f"database key '{key}' is not valid",
                    "use lowercase letters, digits and '-', starting with a letter, "
                    "at most 40 characters (people type it in Slack and the CLI)",
                    at_key=True,
                )
                continue
            db = self.model(schema.Database, value, path)
            if db is not None and (spec := self._database(key, db, path)) is not None:
                result[key] = spec
        return result

    def _database(self, key: str, db: schema.Database, path: Path) -> DatabaseSpec | None:
        before = len(self.problems)
        regions = sorted(known_regions())
        if db.region not in regions:
            self.report(
                (*path, "region"),
                f"'{db.region}' is not an AWS region{did_you_mean(db.region, regions)}",
                "write the region the database runs in, e.g. eu-west-1",
            )
        wanted, unwanted = (
            ("instance", "cluster") if db.engine == "postgres" else ("cluster", "instance")
        )
        if getattr(db, unwanted) is not None:
            self.report(
                (*path, unwanted),
                f"'{unwanted}' does not apply to engine {db.engine}",
                f"a {db.engine} database is identified by `{wanted}:`; rename the key",
                at_key=True,
            )
        identifier = getattr(db, wanted)
        if identifier is None and getattr(db, unwanted) is None:
            self.report(
                path,
                f"database '{key}' ({db.engine}) has no '{wanted}'",
                f"add `{wanted}: <the {'RDS instance' if wanted == 'instance' else 'cluster'} id>`",
                at_key=True,
            )
        if db.engine == "redshift":
            for field in ("admin_login", "schemas", "table_owners"):
                if getattr(db, field) is not None:
                    self.report(
                        (*path, field),
                        f"'{field}' applies to PostgreSQL engines only, not redshift",
                        "remove it; Redshift logins are created at first use and join `groups:`",
                        at_key=True,
                    )
            if db.groups is None:
                self.report(
                    path,
                    f"Redshift database '{key}' has no 'groups'",
                    "add `groups: {read-only: <group>, read-write: <group>}` naming existing "
                    "Redshift groups",
                    at_key=True,
                )
        else:
            if db.groups is not None:
                self.report(
                    (*path, "groups"),
                    "'groups' applies to redshift only",
                    "remove it; PostgreSQL logins join dbaccess_readonly / dbaccess_readwrite",
                    at_key=True,
                )
            if db.admin_login is None:
                self.report(
                    path,
                    f"PostgreSQL database '{key}' has no 'admin_login'",
                    "add `admin_login: dbaccess_admin` (the IAM-auth login the program manages "
                    "users with; see the README's bootstrap)",
                    at_key=True,
                )
        if len(self.problems) > before or identifier is None:
            return None
        groups = db.groups
        return DatabaseSpec(
            key=key,
            engine=db.engine,
            account=db.account,
            region=db.region,
            identifier=identifier,
            host=db.host,
            port=db.port,
            name=db.database,
            description=db.description,
            production=db.production,
            admin_login=db.admin_login,
            schemas=tuple(db.schemas or ["public"]) if db.engine != "redshift" else (),
            table_owners=tuple(db.table_owners or ()),
            redshift_groups=(
                {"read-only": groups.read_only, "read-write": groups.read_write} if groups else {}
            ),
        )

    # --- groups and people -------------------------------------------------------------

    def _group(
        self,
        name: str,
        raw: Any,
        databases: Mapping[str, DatabaseSpec],
        valid_keys: set[str],
    ) -> schema.Group | None:
        path: Path = ("groups", name)
        group = self.model(schema.Group, raw, path)
        if group is None:
            return None
        if not group.members:
            self.report(
                (*path, "members"),
                f"group '{name}' has no members",
                "add members' emails, or remove the group",
            )
        for i, member in enumerate(group.members):
            self._email(member, (*path, "members", i), at_key=False)
        self._grants(group.grants, path, databases, valid_keys)
        return group

    def _person(
        self,
        email: str,
        raw: Any,
        databases: Mapping[str, DatabaseSpec],
        valid_keys: set[str],
    ) -> schema.Person | None:
        path: Path = ("people", email)
        ok = self._email(email, path, at_key=True)
        person = self.model(schema.Person, {} if raw is None else raw, path)
        if person is None:
            return None
        if person.username is not None and not naming.BASE_PATTERN.fullmatch(person.username):
            self.report(
                (*path, "username"),
                f"username '{person.username}' is not a valid login base",
                "use lowercase letters, digits and '_', starting with a letter",
            )
            ok = False
        self._grants(person.grants, path, databases, valid_keys)
        return person if ok else None

    def _email(self, email: Any, path: Path, *, at_key: bool) -> bool:
        if isinstance(email, str) and schema.EMAIL.fullmatch(email.lower()):
            return True
        self.report(
            path,
            f"'{email}' is not a valid email address",
            "people are named by their corporate email, e.g. hugo.henley@example.com",
            at_key=at_key,
        )
        return False

    def _grants(
        self,
        grants: list[schema.Grant],
        owner: Path,
        databases: Mapping[str, DatabaseSpec],
        valid_keys: set[str],
    ) -> None:
        latest = self.today + dt.timedelta(days=365)
        for i, grant in enumerate(grants):
            path: Path = (*owner, "grants", i)
            if grant.database not in valid_keys:
                choices = sorted(valid_keys)
                self.report(
                    (*path, "database"),
                    f"grant names unknown database '{grant.database}'"
                    f"{did_you_mean(grant.database, choices)}",
                    f"use a key under `databases:` ({', '.join(choices) or 'none defined'})",
                )
                continue
            if grant.until is not None and grant.until > latest:
                self.report(
                    (*path, "until"),
                    f"until {grant.until} is more than a year ahead (latest {latest})",
                    "grant at most a year at a time; renew it later in a new pull request",
                )
            db = databases.get(grant.database)
            if db and db.production and grant.access == "read-write":
                missing = [f for f in ("until", "reason") if getattr(grant, f) is None]
                if missing:
                    self.report(
                        path,
                        f"read-write on production database '{db.key}' needs "
                        f"{' and '.join(repr(m) for m in missing)}",
                        'add e.g. `until: 2026-12-31, reason: "INC-1234 backfill"`; '
                        "standing write access to production is not allowed",
                    )

    # --- the plan ----------------------------------------------------------------------

    def _plan(
        self,
        top: schema.TopLevel,
        databases: dict[str, DatabaseSpec],
        groups: dict[str, schema.Group],
        people: dict[str, schema.Person],
    ) -> AccessPlan:
        # Every person: their own entry, or a group membership (group members are people too).
        where: dict[str, Path] = {}
        sources: dict[str, list[tuple[str, schema.Grant]]] = defaultdict(list)
        for email, person in people.items():
            where[email.lower()] = ("people", email)
            sources[email.lower()] += [("people", g) for g in person.grants]
        for name, group in groups.items():
            for i, member in enumerate(group.members):
                member = member.lower()
                where.setdefault(member, ("groups", name, "members", i))
                sources[member] += [(f"group {name}", g) for g in group.grants]
        overrides = {e.lower(): p.username for e, p in people.items() if p.username}

        bases = {e: overrides.get(e) or naming.login_base(e) for e in where}
        self._check_bases(bases, where, databases, sources)

        plan_people: dict[str, Person] = {}
        expired: list[ExpiredGrant] = []
        for email in sorted(where):
            grants, gone = self._effective(email, bases[email], sources[email], databases)
            expired += gone
            plan_people[email] = Person(
                email,
                bases[email],
                naming.role_name_for(bases[email]),
                grants,
                line=self.source.key(where[email]).line,
            )
        return AccessPlan(
            file=self.source.file,
            evaluated_on=self.today,
            unused_after_days=top.settings.unused_after_days if top.settings else 90,
            databases=databases,
            people=plan_people,
            groups={n: tuple(m.lower() for m in g.members) for n, g in groups.items()},
            expired=tuple(expired),
        )

    def _effective(
        self,
        email: str,
        base: str,
        sources: list[tuple[str, schema.Grant]],
        databases: Mapping[str, DatabaseSpec],
    ) -> tuple[tuple[Grant, ...], list[ExpiredGrant]]:
        merged: dict[tuple[str, naming.Access], list[tuple[str, schema.Grant]]] = defaultdict(list)
        for origin, grant in sources:
            if grant.database in databases:
                merged[grant.database, grant.access].append((origin, grant))
        grants, gone = [], []
        for (database, access), items in sorted(merged.items()):
            live = [(o, g) for o, g in items if g.until is None or g.until >= self.today]
            if not live:
                last = max(g.until for _, g in items if g.until is not None)
                gone.append(
                    ExpiredGrant(email, database, access, last, _unique(o for o, _ in items))
                )
                continue
            untils = [g.until for _, g in live]
            grants.append(
                Grant(
                    email=email,
                    database=database,
                    access=access,
                    login=naming.login_for(base, access),
                    until=None if None in untils else max(u for u in untils if u is not None),
                    reasons=_unique(g.reason for _, g in live if g.reason),
                    sources=_unique(o for o, _ in live),
                )
            )
        return tuple(grants), gone

    def _check_bases(
        self,
        bases: Mapping[str, str],
        where: Mapping[str, Path],
        databases: Mapping[str, DatabaseSpec],
        sources: Mapping[str, list[tuple[str, schema.Grant]]],
    ) -> None:
        admin_logins = {db.admin_login: key for key, db in databases.items() if db.admin_login}
        owners: dict[str, str] = {}
        for email in sorted(where, key=lambda e: self.source.key(where[e]).line):
            base, path = bases[email], where[email]
            if base in owners:
                self.report(
                    path,
                    f"{owners[base]} and {email} both get the login base '{base}'",
                    f"give one of them `username:` under people, e.g. username: {base}2",
                    at_key=True,
                )
                continue
            owners[base] = email
            logins = [naming.login_for(base, a) for a in naming.ACCESS_LEVELS]
            for name in (base, *logins):
                if naming.is_reserved(name) or name in admin_logins:
                    owner = (
                        f"the admin_login of database '{admin_logins[name]}'"
                        if name in admin_logins
                        else "the database engine or RDS"
                    )
                    self.report(
                        path,
                        f"login '{name}' of {email} is reserved ({owner})",
                        "set a different `username:` for this person",
                        at_key=True,
                    )
                    break
            role = naming.role_name_for(base)
            if len(role) > naming.ROLE_NAME_MAX:
                self.report(
                    path,
                    f"IAM role name '{role}' of {email} is {len(role)} characters; IAM allows "
                    f"{naming.ROLE_NAME_MAX}",
                    f"set a shorter `username:` (at most {naming.BASE_MAX} characters)",
                    at_key=True,
                )
            engines = {
                databases[g.database].engine for _, g in sources[email] if g.database in databases
            }
            for engine in sorted(engines):
                limit = naming.LOGIN_MAX_BYTES[engine]
                longest = max(logins, key=lambda n: len(n.encode()))
                if len(longest.encode()) > limit:
                    self.report(
                        path,
                        f"login '{longest}' of {email} is {len(longest.encode())} bytes; "
                        f"{_ENGINE_LABEL[engine]} allows {limit}",
                        f"set a shorter `username:` (at most {limit - 3} characters)",
                        at_key=True,
                    )

    # --- pydantic errors into our messages ---------------------------------------------

    def _translate(self, cls: type[BaseModel], prefix: Path, error: Any) -> None:
        loc: Path = tuple(error["loc"])
        path = (*prefix, *loc)
        kind, value = error["type"], error.get("input")
        name = str(loc[-1]) if loc else (str(prefix[-1]) if prefix else "file")
        info = _field_at(cls, loc)
        hint = info.description if info and info.description else ""
        if kind == "dbaccess":
            self.report(path, error["ctx"]["message"], error["ctx"]["fix"])
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(cls, loc[:-1])
            self.report(
                path,
                f"unknown key '{name}'{did_you_mean(name, allowed)}",
                f"remove it or use one of: {', '.join(allowed)}",
                at_key=True,
            )
        elif kind == "missing":
            if loc == ("version",):
                self.report(
                    path, "missing required field 'version'", "add `version: 1` as the first line"
                )
            else:
                parent = path[:-1]
                if not parent:
                    owner = "the file"
                elif isinstance(parent[-1], int):
                    owner = f"entry {parent[-1] + 1} of '{parent[-2]}'"
                else:
                    owner = f"'{parent[-1]}'"
                self.report(
                    parent,
                    f"{owner} is missing required field '{name}'",
                    f"add `{name}:` — {hint}",
                    at_key=True,
                )
        elif kind == "literal_error":
            choices = [str(c) for c in typing.get_args(info.annotation)] if info else []
            if loc == ("version",):
                self.report(
                    path, f"unsupported version {value!r}", "this db-access reads `version: 1`"
                )
            else:
                self.report(
                    path,
                    f"{name} '{value}' is not one of {', '.join(choices)}"
                    f"{did_you_mean(str(value), choices)}",
                    f"use one of: {', '.join(choices)}",
                )
        elif kind in _TYPE_WORDS:
            self.report(
                path,
                f"'{name}' must be {_TYPE_WORDS[kind]}, got {_describe(value)}",
                f"{name}: {hint}" if hint else f"write {_TYPE_WORDS[kind]}",
            )
        else:
            self.report(
                path, f"'{name}': {error['msg']} (got {_describe(value)})", hint or "fix the value"
            )


def _unique(items: typing.Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    kind = {bool: "true/false", int: "number", float: "number", str: "text"}.get(
        type(value), type(value).__name__
    )
    return f"{kind} {value!r}"


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model inside an annotation and how many containers (list, dict) wrap it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, depth = _inner_model(arg)
            if model is not None:
                return model, depth
        return None, 0
    if origin in (tuple, list, dict):
        model, depth = _inner_model(typing.get_args(annotation)[-1])
        return model, depth + 1
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    return None, 0


def _walk(cls: type[BaseModel], loc: Path) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    current: type[BaseModel] | None = cls
    info: FieldInfo | None = None
    skip = 0
    for part in loc:
        if skip:
            skip -= 1
            continue
        if current is None:
            return None, None
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if info is None:
            return None, None
        current, skip = _inner_model(info.annotation)
    return current, info


def _field_at(cls: type[BaseModel], loc: Path) -> FieldInfo | None:
    return _walk(cls, loc)[1]


def _allowed_keys(cls: type[BaseModel], loc: Path) -> list[str]:
    model = _walk(cls, loc)[0] if loc else cls
    return [f.alias or n for n, f in model.model_fields.items()] if model else []
