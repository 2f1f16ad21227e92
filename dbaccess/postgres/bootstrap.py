"""The bootstrap of one managed PostgreSQL / Aurora PostgreSQL database, run as the master user.

`plan_bootstrap` reads the catalog (the queries of bootstrap.sql) and returns only the
statements still missing, and who can connect once they have run, with why: a login that can
connect today only through PUBLIC is granted CONNECT directly before PUBLIC loses it.
`run_bootstrap` runs them in one transaction, reads the catalog again and commits only when
nothing is left to do (a REVOKE that PostgreSQL silently skips - "no privileges could be
revoked" - would otherwise pass for done).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.results import ConfigError
from dbaccess.clients import ca_bundles
from dbaccess.postgres import query_audit
from dbaccess.postgres.connect import _open, dsn_params
from dbaccess.postgres.expected import is_rds_own
from dbaccess.postgres.spec import RDS_IAM

SQL_FILE: Final = Path(__file__).with_name("bootstrap.sql")
SIGNAL_BACKEND: Final = "pg_signal_backend"
# GRANT SET ON PARAMETER came with PostgreSQL 15.
PARAMETER_GRANTS_SINCE: Final = 150000
PUBLIC: Final = "PUBLIC"
# The privileges on a database PUBLIC has by default and the bootstrap revokes.
PUBLIC_DATABASE_PRIVILEGES: Final = ("CONNECT", "TEMPORARY")
AS_MASTER: Final = (
    "bootstrap runs as the RDS master user (or a superuser), connected to the database; "
    "the database and its schemas must belong to it or to a role it is a member of"
)


class BootstrapError(Exception):
    """The bootstrap cannot run or was refused; the message says what and how to fix it, and
    nothing was changed."""


@dataclass(frozen=True)
class Step:
    what: str
    block: str  # its name in bootstrap.sql
    statement: sql.Composed


@dataclass(frozen=True)
class Reach:
    """One role's access once the bootstrap has run, and why it has it."""

    role: str
    why: str


@dataclass(frozen=True)
class Plan:
    master: str
    steps: tuple[Step, ...]
    connect: tuple[Reach, ...]  # who can connect afterwards (but db-access's own logins)
    managed: int  # logins db-access made: through their database groups only
    shut_out: tuple[str, ...]  # logins that cannot connect today and still cannot
    # each schema whose PUBLIC CREATE goes -> the roles that keep CREATE there, and why
    create: Mapping[str, tuple[Reach, ...]]


@functools.cache
def blocks() -> Mapping[str, str]:
    """bootstrap.sql's named blocks (`-- name: x`), without their comment lines."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in SQL_FILE.read_text().splitlines():
        name = re.fullmatch(r"-- name: (\w+)", line)
        if name:
            current = found.setdefault(name.group(1), [])
        elif current is not None and line.strip() and not line.startswith("--"):
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def statement(name: str, **names: str) -> sql.Composed:
    """Block `name` with its {placeholders} filled as SQL identifiers."""
    return sql.SQL(blocks()[name]).format(**{k: sql.Identifier(v) for k, v in names.items()})


def _rows(conn: psycopg.Connection[Any], name: str, **params: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql.SQL(blocks()[name]), params)
        return cur.fetchall()


def _acl(rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[str, bool]]:
    """(grantee, privilege, grantable) rows -> grantee -> privilege -> grantable."""
    acl: dict[str, dict[str, bool]] = {}
    for grantee, privilege, grantable in rows:
        acl.setdefault(grantee, {})[privilege] = grantable
    return acl


@dataclass
class _Planner:
    conn: psycopg.Connection[Any]
    db: DatabaseSpec
    admin: str
    steps: list[Step] = field(default_factory=list)

    def add(self, what: str, name: str, **names: str) -> None:
        self.steps.append(Step(what, name, statement(name, **names)))

    def check_master(self) -> str:
        [(master, superuser, createrole)] = _rows(self.conn, "master")
        if master == self.admin:
            raise BootstrapError(
                f"connected as the admin login '{master}', which the bootstrap sets up; {AS_MASTER}"
            )
        if not (superuser or createrole):
            raise BootstrapError(f"'{master}' may not create roles; {AS_MASTER}")
        return str(master)

    def roles(self) -> None:
        names = [self.admin, RDS_IAM, SIGNAL_BACKEND, MANAGED_MARKER, *self.db.table_owners]
        found = {row[0]: row for row in _rows(self.conn, "roles", names=names)}
        if RDS_IAM not in found:
            raise BootstrapError(
                f"the server has no role {RDS_IAM}: it is not RDS / Aurora PostgreSQL (locally, "
                f"CREATE ROLE {RDS_IAM} NOLOGIN stands in for it)"
            )
        missing = [o for o in self.db.table_owners if o not in found]
        if missing:
            raise BootstrapError(
                f"table_owners of '{self.db.key}' in access.yaml not on the server: "
                f"{', '.join(missing)}; fix the names in access.yaml or create the roles"
            )
        if self.admin not in found:
            self.add(f"create the admin login {self.admin}", "create_admin", admin=self.admin)
        elif not (found[self.admin][1] and found[self.admin][2]):
            self.add(
                f"give {self.admin} LOGIN and CREATEROLE", "admin_attributes", admin=self.admin
            )
        member = dict(_rows(self.conn, "memberships", admin=self.admin))
        if not member.get(RDS_IAM):
            self.add(f"{RDS_IAM} for {self.admin}, to grant on", "grant_rds_iam", admin=self.admin)
        if SIGNAL_BACKEND not in member:
            self.add(
                f"{SIGNAL_BACKEND} for {self.admin} (sweep ends sessions)",
                "grant_signal_backend",
                admin=self.admin,
            )
        if MANAGED_MARKER not in found:
            self.add(f"create the mark {MANAGED_MARKER}", "create_marker", marker=MANAGED_MARKER)
        if not member.get(MANAGED_MARKER):
            self.add(
                f"{MANAGED_MARKER} for {self.admin}, to grant on",
                "grant_marker",
                marker=MANAGED_MARKER,
                admin=self.admin,
            )
        for owner in self.db.table_owners:
            if owner not in member:
                self.add(
                    f"membership in table owner {owner} for {self.admin}",
                    "grant_owner",
                    role=owner,
                    admin=self.admin,
                )

    def audit_parameters(self) -> None:
        """SET on pgaudit's settings for the admin, when a login on this server declares
        query_audit."""
        [(version,)] = _rows(self.conn, "server_version")
        if int(version) < PARAMETER_GRANTS_SINCE:
            raise BootstrapError(
                "query_audit is declared for a login on this server, but PostgreSQL "
                f"{int(version) // 10000} cannot let the admin login set pgaudit's settings "
                "(GRANT SET ON PARAMETER needs PostgreSQL 15); upgrade, or remove query_audit"
            )
        names = list(query_audit.NAMES)
        for (name,) in _rows(self.conn, "audit_parameters", names=names, admin=self.admin):
            self.steps.append(
                Step(
                    f"SET on {name} for {self.admin} (query_audit)",
                    "grant_audit_parameter",
                    sql.SQL(blocks()["grant_audit_parameter"]).format(
                        parameter=sql.Identifier(*name.split(".")),
                        admin=sql.Identifier(self.admin),
                    ),
                )
            )

    def database(self) -> tuple[list[Reach], int, list[str]]:
        acl = _acl(_rows(self.conn, "database_grants"))
        public = set(acl.get(PUBLIC, {})) & set(PUBLIC_DATABASE_PRIVILEGES)
        reach = [Reach(self.admin, "the admin login (CONNECT WITH GRANT OPTION)")]
        managed, shut_out = 0, []
        for login, superuser, bootstrap, marked, connect_via, temporary_via in _rows(
            self.conn, "logins", marker=MANAGED_MARKER
        ):
            if login == self.admin or is_rds_own(login, bootstrap=bootstrap):
                continue
            if superuser:
                reach.append(Reach(login, "superuser"))
                continue
            if marked:
                managed += 1
                continue
            kept = self.keep(login, public, connect_via, temporary_via)
            if connect_via == login:
                reach.append(Reach(login, "CONNECT granted to it directly"))
            elif connect_via:
                reach.append(Reach(login, f"CONNECT through {connect_via}"))
            elif kept:
                them = "them" if " " in kept else "it"
                reach.append(Reach(login, f"granted {kept} directly: had {them} only via PUBLIC"))
            else:
                shut_out.append(login)
        if public:
            self.add(
                f"revoke {', '.join(sorted(public))} on {self.db.name} from PUBLIC",
                "revoke_public_connect",
                database=self.db.name,
            )
        if not acl.get(self.admin, {}).get("CONNECT"):
            self.add(
                f"CONNECT on {self.db.name} for {self.admin}, to grant on",
                "grant_admin_connect",
                database=self.db.name,
                admin=self.admin,
            )
        return reach, managed, shut_out

    def keep(
        self, login: str, public: set[str], connect_via: str | None, temporary_via: str | None
    ) -> str:
        """Grant `login` directly what it has today only through PUBLIC; say what. (TEMPORARY
        only for a login that can connect: to one that cannot, it would be noise.)"""
        kept = []
        connects = connect_via is not None or "CONNECT" in public
        for privilege, via, name in (
            ("CONNECT", connect_via, "keep_connect"),
            ("TEMPORARY", temporary_via, "keep_temporary"),
        ):
            if privilege in public and via is None and connects:
                self.add(f"keep {privilege} for {login}", name, database=self.db.name, role=login)
                kept.append(privilege)
        return " and ".join(kept)

    def schemas(self) -> dict[str, tuple[Reach, ...]]:
        grants: dict[str, list[tuple[Any, ...]]] = {}
        for schema, grantee, privilege, grantable in _rows(
            self.conn, "schema_grants", schemas=list(self.db.schemas)
        ):
            rows = grants.setdefault(schema, [])
            if privilege is not None:
                rows.append((grantee, privilege, grantable))
        missing = [s for s in self.db.schemas if s not in grants]
        if missing:
            raise BootstrapError(
                f"schemas of '{self.db.key}' in access.yaml not in database {self.db.name}: "
                f"{', '.join(missing)}; fix `schemas:` or create them (owned by a table owner)"
            )
        create = {}
        for schema in self.db.schemas:
            acl = _acl(grants[schema])
            if "CREATE" in acl.get(PUBLIC, {}):
                create[schema] = self.creators(schema)
                self.add(
                    f"revoke CREATE on schema {schema} from PUBLIC",
                    "revoke_public_create",
                    schema=schema,
                )
            if not acl.get(self.admin, {}).get("USAGE"):
                self.add(
                    f"USAGE on schema {schema} for {self.admin}, to grant on",
                    "grant_admin_usage",
                    schema=schema,
                    admin=self.admin,
                )
        return create

    def creators(self, schema: str) -> tuple[Reach, ...]:
        """The roles that create in `schema` only through PUBLIC and own something there (or
        are table owners) keep CREATE."""
        keep = []
        for role, superuser, bootstrap, marked, create_via in _rows(
            self.conn,
            "creators",
            schema=schema,
            owners=list(self.db.table_owners),
            marker=MANAGED_MARKER,
        ):
            if superuser or marked or create_via or is_rds_own(role, bootstrap=bootstrap):
                continue
            self.add(
                f"keep CREATE on schema {schema} for {role}",
                "keep_create",
                schema=schema,
                role=role,
            )
            why = "a table owner" if role in self.db.table_owners else "owns objects there"
            keep.append(Reach(role, why))
        return tuple(keep)


def plan_bootstrap(
    conn: psycopg.Connection[Any], db: DatabaseSpec, *, query_audit: bool = False
) -> Plan:
    """What the bootstrap of `db` would run on `conn` (the master user's connection to that
    database), and who can connect afterwards. Reads only. `query_audit`: a login on the
    server declares it, so the admin needs SET on pgaudit's settings."""
    assert db.admin_login is not None  # the loader requires it for PostgreSQL
    planner = _Planner(conn, db, db.admin_login)
    master = planner.check_master()
    planner.roles()
    if query_audit:
        planner.audit_parameters()
    reach, managed, shut_out = planner.database()
    create = planner.schemas()
    return Plan(
        master=master,
        steps=_in_file_order(planner.steps),
        connect=tuple(reach),
        managed=managed,
        shut_out=tuple(shut_out),
        create=create,
    )


def _in_file_order(steps: list[Step]) -> tuple[Step, ...]:
    """bootstrap.sql's order: the grants that keep access before the revokes."""
    order = {name: i for i, name in enumerate(blocks())}
    return tuple(sorted(steps, key=lambda step: order[step.block]))


def run_bootstrap(
    conn: psycopg.Connection[Any], db: DatabaseSpec, *, dry_run: bool, query_audit: bool = False
) -> Plan:
    """Plan the bootstrap of `db`, then (unless `dry_run`) run its statements in one
    transaction. Raises BootstrapError, with nothing changed, when a statement is refused or
    leaves something undone."""
    conn.read_only = dry_run  # a dry run cannot write, whatever happens
    try:
        plan = plan_bootstrap(conn, db, query_audit=query_audit)
        if dry_run or not plan.steps:
            conn.rollback()
            return plan
        warnings: list[str] = []
        conn.add_notice_handler(lambda notice: warnings.append(notice.message_primary or ""))
        for step in plan.steps:
            try:
                conn.execute(step.statement)
            except psycopg.Error as exc:
                primary = exc.diag.message_primary or type(exc).__name__
                raise BootstrapError(
                    f"the server refused {step.statement.as_string(conn)}: {primary}; "
                    f"{AS_MASTER}. Nothing was changed."
                ) from None
        left = plan_bootstrap(conn, db, query_audit=query_audit).steps
        if left:
            undone = "; ".join(step.statement.as_string(conn) for step in left)
            said = f" (the server said: {'; '.join(warnings)})" if warnings else ""
            raise BootstrapError(
                f"these statements had no effect: {undone}{said}; {AS_MASTER}. Nothing was changed."
            )
        conn.commit()
        return plan
    except psycopg.Error as exc:
        conn.rollback()
        primary = exc.diag.message_primary or type(exc).__name__
        raise BootstrapError(f"reading the catalog failed: {primary}; {AS_MASTER}") from None
    except BaseException:
        conn.rollback()
        raise


def master_params(
    db: DatabaseSpec, dsn: str | None, user: str | None, password: str | None, ca_bundle: Path
) -> dict[str, Any]:
    """libpq parameters for the master user's connection to `db`: `dsn` when given (its own
    sslmode wins; access.yaml's host and port where it names none), else access.yaml's host,
    port and database; `user` and `password` where the
    DSN has none (without a password libpq reads PGPASSWORD or ~/.pgpass). TLS is verified
    against `ca_bundle` unless the DSN says otherwise. Raises ConfigError without echoing the
    DSN (it may hold a password)."""
    params: dict[str, Any] = {"host": db.host, "port": db.port}
    if dsn is not None:
        params = dsn_params(dsn, db, user="master")
    params["dbname"] = db.name
    params.setdefault("host", db.host)
    params.setdefault("port", db.port)
    for key, value in (("user", user), ("password", password)):
        if value and not params.get(key):
            params[key] = value
    if not params.get("user"):
        raise ConfigError(
            "name the master user: --master-user NAME (or DBACCESS_MASTER_USER), "
            "or a --dsn that names it"
        )
    if "sslmode" not in params:
        if not ca_bundle.is_file():
            raise ConfigError(
                f"no CA bundle at {ca_bundle} for sslmode=verify-full; download RDS's with\n"
                f"  curl -fsSL {ca_bundles.RDS.url} -o {ca_bundle}\nor pass --ca-bundle FILE"
            )
        params.update(sslmode="verify-full", sslrootcert=str(ca_bundle))
    return params


def connect_master(params: Mapping[str, Any]) -> psycopg.Connection[Any]:
    """Open the master user's connection (as audit opens the admin's); raises Unreachable,
    its message without the password."""
    return _open(params, (str(params.get("password") or ""),))
