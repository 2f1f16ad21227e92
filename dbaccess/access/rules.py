"""The rules of access.yaml that span fields or entries: engines, servers, grants and logins.

schema.py checks each field on its own; here every rule that needs two fields, two entries
or the whole file, each problem reported at the line it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from dbaccess import person_text
from dbaccess.access import naming, schema
from dbaccess.access.errors import did_you_mean, shown
from dbaccess.access.plan import DatabaseSpec
from dbaccess.access.report import Reporter
from dbaccess.access.source import Path, SourceMap
from dbaccess.mysql import names as mysql_names

_ENGINE_LABEL = {
    "postgres": "PostgreSQL",
    "aurora-postgresql": "PostgreSQL",
    "redshift": "Redshift",
    "mysql": "MySQL",
    "aurora-mysql": "MySQL",
}
# Settings that must agree between databases on one server: they describe the server.
# The engine first: when it differs, the others are not comparable.
_SERVER_FIELDS = ("engine", "host", "port", "admin_login")
# Redshift's user activity log is one cluster-wide switch (docs/explanation/query-audit.md).
_REDSHIFT_AUDIT = (
    "'query_audit' does not apply to redshift: its user activity log records every user's "
    "queries or nobody's (a cluster-wide parameter), never one person's",
    "remove it; turn on enable_user_activity_logging in the cluster's parameter group and "
    "audit logging to record every query",
)
# A grant may run at most this long from the day it is validated; renewals are reviewed.
MAX_GRANT_DAYS = 365


class Rules(Reporter):
    """Checks the parsed file; collects every problem (see Reporter)."""

    def __init__(self, source: SourceMap, today: dt.date) -> None:
        super().__init__(source)
        self.today = today
        # Database key -> production, also for databases whose own entry has problems, so
        # that the grants on them are still checked against the production rule.
        self.production: dict[str, bool] = {}
        # Database key -> engine, for the rules on grants that depend on it.
        self.engines: dict[str, str] = {}

    # --- databases -------------------------------------------------------------------

    def databases(self, raw: Mapping[str, Any]) -> dict[str, DatabaseSpec]:
        result = {}
        for key, value in raw.items():
            path: Path = ("databases", key)
            if not schema.DATABASE_KEY.fullmatch(key):
                self.report(
                    path,
                    f"database key '{shown(key)}' is not valid",
                    "use lowercase letters, digits and '-', starting with a letter, "
                    "at most 40 characters (people type it in Slack and the CLI)",
                    at_key=True,
                )
                continue
            db = self.model(schema.Database, value, path)
            if db is None:
                self._broken_database(key, value, path)
            else:
                self.production[key] = db.production
                self.engines[key] = db.engine
                if (spec := self._database(key, db, path)) is not None:
                    result[key] = spec
        self._servers(result)
        return result

    def _broken_database(self, key: str, raw: Any, path: Path) -> None:
        """A database entry that failed its model: what can still be checked on its own."""
        if not isinstance(raw, Mapping):
            return
        region = raw.get("region")
        if isinstance(region, str) and (problem := schema.region_problem(region)) is not None:
            self.report((*path, "region"), *problem)
        self.production[key] = raw.get("production") is True

    def _database(self, key: str, db: schema.Database, path: Path) -> DatabaseSpec | None:
        before = len(self.problems)
        if (region := schema.region_problem(db.region)) is not None:
            self.report((*path, "region"), *region)
        wanted, unwanted = (
            ("instance", "cluster")
            if db.engine in naming.INSTANCE_ENGINES
            else ("cluster", "instance")
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
            self._redshift(key, db, path)
        elif db.engine in naming.MYSQL_ENGINES:
            self._mysql(key, db, path)
        else:
            self._postgres(key, db, path)
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
            schemas=tuple(db.schemas or ["public"]) if db.engine in naming.POSTGRES_ENGINES else (),
            table_owners=tuple(db.table_owners or ()),
            redshift_groups=(
                {"read-only": groups.read_only, "read-write": groups.read_write} if groups else {}
            ),
            owners=tuple(db.owners or ()),
            query_audit=db.query_audit or "none",
        )

    def _redshift(self, key: str, db: schema.Database, path: Path) -> None:
        for field in ("admin_login", "schemas", "table_owners"):
            if getattr(db, field) is not None:
                self.report(
                    (*path, field),
                    f"'{field}' applies to PostgreSQL engines only, not redshift",
                    "remove it; Redshift logins are created at first use and join `groups:`",
                    at_key=True,
                )
        if db.query_audit is not None:
            self.report((*path, "query_audit"), *_REDSHIFT_AUDIT, at_key=True)
        if db.groups is None:
            self.report(
                path,
                f"Redshift database '{key}' has no 'groups'",
                "add `groups: {read-only: <group>, read-write: <group>}` naming existing "
                "Redshift groups",
                at_key=True,
            )
        elif db.groups.read_only == db.groups.read_write:
            self.report(
                (*path, "groups", "read-write"),
                f"read-only and read-write both join Redshift group '{db.groups.read_only}'",
                "name two different groups: read-only logins would otherwise write",
            )

    def _mysql(self, key: str, db: schema.Database, path: Path) -> None:
        for field in ("schemas", "table_owners", "groups"):
            if getattr(db, field) is not None:
                self.report(
                    (*path, field),
                    f"'{field}' does not apply to engine {db.engine}",
                    "remove it; MySQL logins are granted on the whole database "
                    f"(`{db.database}`.*), with no schemas, owners or groups",
                    at_key=True,
                )
        if db.admin_login is None:
            self.report(
                path,
                f"MySQL database '{key}' has no 'admin_login'",
                "add `admin_login: dbaccess_admin` (the IAM-auth user the program manages "
                "users with; `dbaccess bootstrap` creates it)",
                at_key=True,
            )
        elif (problem := mysql_names.admin_login_problem(db.admin_login)) is not None:
            message, _, fix = problem.partition("; ")
            self.report((*path, "admin_login"), message, fix)

    def _postgres(self, key: str, db: schema.Database, path: Path) -> None:
        if db.groups is not None:
            self.report(
                (*path, "groups"),
                "'groups' applies to redshift only",
                "remove it; PostgreSQL logins join the database's group roles "
                f"({naming.group_role_for(key, 'read-only')}, "
                f"{naming.group_role_for(key, 'read-write')})",
                at_key=True,
            )
        if db.admin_login is None:
            self.report(
                path,
                f"PostgreSQL database '{key}' has no 'admin_login'",
                "add `admin_login: dbaccess_admin` (the IAM-auth login the program manages "
                "users with; `dbaccess bootstrap` creates it)",
                at_key=True,
            )

    def _servers(self, databases: Mapping[str, DatabaseSpec]) -> None:
        """Databases on one server share its logins and roles: they must describe it alike,
        and Redshift databases on one cluster must not share a group (groups are
        cluster-wide: JoinGroup on a shared group would open the other database)."""
        first: dict[tuple[str, ...], DatabaseSpec] = {}
        groups: dict[tuple[tuple[str, ...], str], str] = {}
        for key, db in databases.items():
            server = db.server
            where = "/".join(server)
            if server in first:
                other = first[server]
                for field in _SERVER_FIELDS:
                    mine, theirs = getattr(db, field), getattr(other, field)
                    if mine != theirs:
                        line = self.source.key(("databases", other.key)).line
                        self.report(
                            ("databases", key, field),
                            f"database '{key}' is on the same server as '{other.key}' "
                            f"(line {line}, {where}) but its {field} differs: "
                            f"{shown(mine)} here, {shown(theirs)} there",
                            f"use the same {field} for every database of {server[-1]}, or "
                            "fix the instance/cluster id if they are different servers",
                        )
                        if field == "engine":
                            break  # the other fields differ by engine anyway
            else:
                first[server] = db
            for access, group in db.redshift_groups.items():
                holder = groups.setdefault((server, group), key)
                if holder != key:
                    self.report(
                        ("databases", key, "groups", access),
                        f"Redshift group '{group}' is already the group of database "
                        f"'{holder}' on the same cluster ({where})",
                        "give each database its own groups: groups are cluster-wide, so a "
                        "login of one database could join the other's group",
                    )

    # --- groups and people -------------------------------------------------------------

    def group(self, name: str, raw: Any, valid: set[str]) -> schema.Group | None:
        path: Path = ("groups", name)
        group = self.model(schema.Group, raw, path)
        if group is None:
            return None
        if not group.members:
            self.report(
                (*path, "members"),
                f"group '{shown(name)}' has no members",
                "add members' emails, or remove the group",
            )
        for i, member in enumerate(group.members):
            self.email(member, (*path, "members", i), at_key=False)
        self._grants(group.grants, path, valid)
        return group

    def person(self, email: str, raw: Any, valid: set[str]) -> schema.Person | None:
        path: Path = ("people", email)
        ok = self.email(email, path, at_key=True)
        person = self.model(schema.Person, {} if raw is None else raw, path)
        if person is None:
            return None
        if person.username is not None and not naming.BASE_PATTERN.fullmatch(person.username):
            self.report(
                (*path, "username"),
                f"username '{shown(person.username)}' is not a valid login base",
                "use lowercase letters, digits and '_', starting with a letter",
            )
            ok = False
        self._grants(person.grants, path, valid)
        return person if ok else None

    def github_logins(self, people: Mapping[str, schema.Person]) -> None:
        """A GitHub login names one person: the owner-approval check tells by it who gains
        access. GitHub logins are case-insensitive."""
        seen: dict[str, str] = {}
        for email, person in people.items():
            if person.github is None:
                continue
            holder = seen.setdefault(person.github.lower(), email)
            if holder != email:
                self.report(
                    ("people", email, "github"),
                    f"github '{shown(person.github)}' is already the login of {shown(holder)}",
                    "a GitHub login belongs to one person: fix the login of one of them",
                )

    def email(self, email: Any, path: Path, *, at_key: bool) -> bool:
        problem = schema.email_problem(email)
        if problem is not None:
            self.report(path, *problem, at_key=at_key)
        return problem is None

    def _grants(self, grants: list[schema.Grant], owner: Path, valid: set[str]) -> None:
        latest = self.today + dt.timedelta(days=MAX_GRANT_DAYS)
        for i, grant in enumerate(grants):
            path: Path = (*owner, "grants", i)
            if grant.reason is not None and (why := person_text.problem(grant.reason)):
                self.report(
                    (*path, "reason"),
                    f"the reason {why}",
                    "write a short reason that says why (e.g. a ticket: INC-1234 backfill)",
                )
            if grant.database not in valid:
                choices = sorted(valid)
                self.report(
                    (*path, "database"),
                    f"grant names unknown database '{shown(grant.database)}'"
                    f"{did_you_mean(grant.database, choices)}",
                    f"use a key under `databases:` ({', '.join(choices) or 'none defined'})",
                )
                continue
            if grant.query_audit is not None and self.engines.get(grant.database) == "redshift":
                self.report((*path, "query_audit"), *_REDSHIFT_AUDIT, at_key=True)
            if grant.until is not None and grant.until > latest:
                self.report(
                    (*path, "until"),
                    f"until {grant.until} is more than a year ahead (latest {latest})",
                    "grant at most a year at a time; renew it later in a new pull request",
                )
            if self.production.get(grant.database) and grant.access == "read-write":
                missing = [
                    f
                    for f, value in (("until", grant.until), ("reason", grant.reason))
                    if value is None or (isinstance(value, str) and not value.strip())
                ]
                if missing:
                    self.report(
                        path,
                        f"read-write on production database '{grant.database}' needs "
                        f"{' and '.join(repr(m) for m in missing)}",
                        'add e.g. `until: 2026-12-31, reason: "INC-1234 backfill"` (a reason '
                        "that says why, not blank); standing write access to production is "
                        "not allowed",
                    )

    # --- logins ------------------------------------------------------------------------

    def logins(
        self,
        bases: Mapping[str, str],
        where: Mapping[str, Path],
        databases: Mapping[str, DatabaseSpec],
        engines: Mapping[str, set[str]],
    ) -> None:
        """Every person's login base is theirs alone, unreserved and short enough."""
        admin_logins = {db.admin_login: key for key, db in databases.items() if db.admin_login}
        owners: dict[str, str] = {}
        for email in sorted(where, key=lambda e: self.source.key(where[e]).line):
            base, path = bases[email], where[email]
            if base in owners:
                self.report(
                    path,
                    f"{shown(owners[base])} and {shown(email)} both get the login base "
                    f"'{shown(base)}'",
                    f"give one of them `username:` under people, e.g. username: {shown(base)}2",
                    at_key=True,
                )
                continue
            owners[base] = email
            logins = [naming.login_for(base, a) for a in naming.ACCESS_LEVELS]
            on_mysql = bool(engines.get(email, set()) & naming.MYSQL_ENGINES)
            for name in (base, *logins):
                mysql_reserved = on_mysql and mysql_names.is_reserved(name)
                if naming.is_reserved(name) or mysql_reserved or name in admin_logins:
                    owner = (
                        f"the admin_login of database '{admin_logins[name]}'"
                        if name in admin_logins
                        else "the database engine or RDS"
                    )
                    self.report(
                        path,
                        f"login '{shown(name)}' of {shown(email)} is reserved ({owner})",
                        "set a different `username:` for this person",
                        at_key=True,
                    )
                    break
            role = naming.role_name_for(base)
            if len(role) > naming.ROLE_NAME_MAX:
                self.report(
                    path,
                    f"IAM role name '{shown(role)}' of {shown(email)} is {len(role)} "
                    f"characters; IAM allows {naming.ROLE_NAME_MAX}",
                    f"set a shorter `username:` (at most {naming.BASE_MAX} characters)",
                    at_key=True,
                )
            longest = max(logins, key=lambda n: len(n.encode()))
            # One report per engine family (mysql and aurora-mysql share a limit and a name).
            limits = {(_ENGINE_LABEL[e], naming.LOGIN_MAX_BYTES[e]) for e in engines.get(email, ())}
            for label, limit in sorted(limits):
                if len(longest.encode()) > limit:
                    self.report(
                        path,
                        f"login '{shown(longest)}' of {shown(email)} is "
                        f"{len(longest.encode())} bytes; {label} allows {limit}",
                        f"set a shorter `username:` (at most {limit - 3} characters)",
                        at_key=True,
                    )
