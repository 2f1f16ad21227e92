"""What a PostgreSQL server and its databases hold: roles, ACLs, sessions (read-only SQL).

ACLs are read with aclexplode over the catalog (a NULL ACL means the built-in default,
acldefault), so a privilege is listed exactly as granted: directly to the role, or to PUBLIC
(grantee 0). Inherited privileges are not counted twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbaccess.postgres import query_audit

PUBLIC = "PUBLIC"
# SUPERUSER and friends: what a role beyond its grants can do to the whole server.
ATTRIBUTES = {
    "rolsuper": "SUPERUSER",
    "rolcreaterole": "CREATEROLE",
    "rolcreatedb": "CREATEDB",
    "rolbypassrls": "BYPASSRLS",
    "rolreplication": "REPLICATION",
}


@dataclass(frozen=True)
class Role:
    name: str
    login: bool
    attributes: tuple[str, ...]  # the ATTRIBUTES it has
    member_of: frozenset[str]  # direct memberships
    bootstrap: bool  # the superuser initdb made (oid 10): rdsadmin on RDS


@dataclass(frozen=True)
class Session:
    pid: int
    login: str  # for a dropped role: "(dropped role <oid>)"
    database: str
    since: dt.datetime | None  # None when the admin lacks pg_read_all_stats
    dropped: bool = False  # its role was dropped while it was connected


@dataclass(frozen=True)
class ServerState:
    """Server-wide facts, readable from a connection to any database of the server."""

    roles: Mapping[str, Role]
    # database name -> grantee (a role name or PUBLIC) -> privileges
    database_acl: Mapping[str, Mapping[str, frozenset[str]]]
    current_user: str
    pgaudit_loaded: bool = False
    # role -> its pgaudit settings (only roles that have one)
    audit_settings: Mapping[str, query_audit.RoleSettings] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectGrants:
    """One kind of object (table, sequence) in one schema: its names and their grants."""

    names: tuple[str, ...]
    grants: Mapping[str, Mapping[str, frozenset[str]]]  # grantee -> object -> privileges


@dataclass(frozen=True)
class DatabaseState:
    """Facts of one database: schemas and what is granted on them and in them."""

    schema_acl: Mapping[str, Mapping[str, frozenset[str]]]  # schema -> grantee -> privileges
    objects: Mapping[tuple[str, str], ObjectGrants]  # (schema, table|sequence)
    # (owner, schema, table|sequence) -> grantee -> privileges, from ALTER DEFAULT PRIVILEGES
    default_acl: Mapping[tuple[str, str, str], Mapping[str, frozenset[str]]]


ROLES_SQL = """
SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
       r.rolbypassrls, r.rolreplication, r.oid = 10 AS bootstrap,
       coalesce(array_agg(g.rolname) FILTER (WHERE g.rolname IS NOT NULL), '{}') AS member_of
FROM pg_roles r
LEFT JOIN pg_auth_members m ON m.member = r.oid
LEFT JOIN pg_roles g ON g.oid = m.roleid
GROUP BY r.oid, r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
         r.rolbypassrls, r.rolreplication
"""

DATABASE_ACL_SQL = """
SELECT d.datname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
FROM pg_database d
CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
"""

SCHEMA_ACL_SQL = """
SELECT n.nspname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
"""

# Tables as GRANT ... ON ALL TABLES IN SCHEMA counts them: tables, partitioned tables,
# views, materialized views and foreign tables.
OBJECTS_SQL = """
SELECT n.nspname, c.relname, CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END,
       r.rolname, a.privilege_type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL aclexplode(
    coalesce(c.relacl, acldefault(
        (CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))
) a ON true
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
"""

DEFAULT_ACL_SQL = """
SELECT o.rolname, coalesce(n.nspname, ''),
       CASE d.defaclobjtype WHEN 'r' THEN 'table' WHEN 'S' THEN 'sequence'
            ELSE d.defaclobjtype::text END,
       coalesce(g.rolname, 'PUBLIC'), a.privilege_type
FROM pg_default_acl d
JOIN pg_roles o ON o.oid = d.defaclrole
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
"""

# Without pg_read_all_stats, other users' sessions show only pid, user and database: their
# backend_type and backend_start are NULL. Such a row with a user and a database is a client.
# A role dropped while connected leaves its sessions running: their usesysid names no role.
SESSIONS_SQL = """
SELECT a.pid, coalesce(r.rolname, format('(dropped role %s)', a.usesysid)), a.datname,
       a.backend_start, r.oid IS NULL
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.usesysid IS NOT NULL AND a.datname IS NOT NULL AND a.pid <> pg_backend_pid()
  AND coalesce(a.backend_type, 'client backend') = 'client backend'
ORDER BY a.pid
"""


def _nested(rows: Iterable[tuple[Any, ...]]) -> dict[Any, dict[str, frozenset[str]]]:
    """(key, grantee, privilege) rows -> key -> grantee -> privileges."""
    result: dict[Any, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for key, grantee, privilege in rows:
        result[key][grantee].add(privilege)
    return {k: {g: frozenset(p) for g, p in v.items()} for k, v in result.items()}


def read_server(conn: Any) -> ServerState:
    """Roles, memberships, database ACLs and pgaudit's settings of the whole server."""
    with conn.cursor() as cur:
        cur.execute(ROLES_SQL)
        roles = {
            row[0]: Role(
                name=row[0],
                login=row[1],
                attributes=tuple(
                    label for label, on in zip(ATTRIBUTES.values(), row[2:7], strict=True) if on
                ),
                member_of=frozenset(row[8]),
                bootstrap=row[7],
            )
            for row in cur.fetchall()
        }
        cur.execute(DATABASE_ACL_SQL)
        database_acl = _nested(cur.fetchall())
        cur.execute("SELECT current_user")
        (current_user,) = cur.fetchone()
    return ServerState(
        roles,
        database_acl,
        current_user,
        query_audit.pgaudit_loaded(conn),
        query_audit.read_settings(conn),
    )


def read_database(conn: Any, schemas: Iterable[str]) -> DatabaseState:
    """Schema ACLs, the tables and sequences of `schemas` with their grants, default ACLs."""
    with conn.cursor() as cur:
        cur.execute(SCHEMA_ACL_SQL)
        schema_acl = _nested(cur.fetchall())
        cur.execute(OBJECTS_SQL, (list(schemas),))
        names: dict[tuple[str, str], set[str]] = defaultdict(set)
        grants: dict[tuple[str, str], dict[str, dict[str, set[str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(set))
        )
        for schema, name, kind, grantee, privilege in cur.fetchall():
            names[schema, kind].add(name)
            if grantee is not None:  # PUBLIC's grants do not concern our groups
                grants[schema, kind][grantee][name].add(privilege)
        cur.execute(DEFAULT_ACL_SQL)
        default_acl = _nested(((o, s, k), g, p) for o, s, k, g, p in cur.fetchall())
    objects = {
        key: ObjectGrants(
            tuple(sorted(found)),
            {
                grantee: {name: frozenset(p) for name, p in by_name.items()}
                for grantee, by_name in grants[key].items()
            },
        )
        for key, found in names.items()
    }
    return DatabaseState(schema_acl, objects, default_acl)


def read_sessions(conn: Any) -> list[Session]:
    """Every client session on the server but our own."""
    with conn.cursor() as cur:
        cur.execute(SESSIONS_SQL)
        return [Session(*row) for row in cur.fetchall()]
