"""pgaudit per login: the settings each `query_audit` level means, the statements that set
them on a role, and what a server holds (read-only SQL). docs/explanation/query-audit.md.

pgaudit reads its settings per session, from the role's settings (`ALTER ROLE ... SET`) over
the server's; a role's settings are its own, never inherited from the roles it is a member of
(pgaudit #239). Each person has their own login, so setting them per login tells exactly
whose statements are logged.

- `pgaudit.log`: ddl -> 'ddl,role' (schema changes, and GRANT/REVOKE/CREATE ROLE, which
  pgaudit counts apart from DDL and which change who may do what); write -> 'write,ddl,role'
  (also INSERT, UPDATE, DELETE, TRUNCATE, COPY FROM); all -> 'all' (also every read, function
  call and SET). `none` sets nothing: the server's own value (the parameter group's) applies.
- `pgaudit.log_relation = on`: one line per table a statement touches, so a reader sees which
  tables a person read or wrote, not only the statement.
- `pgaudit.log_parameter = off`, always: bind parameters can carry secrets (a password, a
  token) and would be written to the log in clear text.
- `pgaudit.log_catalog = off`: statements on the system catalog only (psql's `\\d`, a GUI's
  schema browser) are noise, not a person's work on the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from psycopg import sql

from dbaccess.access.naming import AuditLevel

PGAUDIT_LOG: Final[Mapping[AuditLevel, str]] = {
    "ddl": "ddl,role",
    "write": "write,ddl,role",
    "all": "all",
}
# The same for every level but none.
FIXED: Final[Mapping[str, str]] = {
    "pgaudit.log_relation": "on",
    "pgaudit.log_parameter": "off",
    "pgaudit.log_catalog": "off",
}
# Every setting db-access sets, and so the ones it resets and compares.
NAMES: Final[tuple[str, ...]] = ("pgaudit.log", *FIXED)
PREFIX: Final = "pgaudit."


def role_settings(level: AuditLevel) -> dict[str, str]:
    """The settings a login of this level holds (none: no setting of ours)."""
    if level == "none":
        return {}
    return {"pgaudit.log": PGAUDIT_LOG[level], **FIXED}


def _name(setting: str) -> sql.Composed:
    # pgaudit.log is two names joined by a dot in PostgreSQL's grammar (var_name).
    return sql.SQL(".").join(sql.Identifier(part) for part in setting.split("."))


def set_statement(login: str, setting: str, value: str) -> sql.Composed:
    return sql.SQL("ALTER ROLE {} SET {} = {}").format(
        sql.Identifier(login), _name(setting), sql.Literal(value)
    )


def reset_statement(login: str, setting: str) -> sql.Composed:
    return sql.SQL("ALTER ROLE {} RESET {}").format(sql.Identifier(login), _name(setting))


def change_statements(
    login: str, before: Mapping[str, str], after: Mapping[str, str]
) -> list[sql.Composed]:
    """What takes a login from `before` to `after`: RESET what goes, SET what is new or
    changed (a login created with `after` has `before` = {})."""
    resets = [reset_statement(login, name) for name in sorted(before.keys() - after.keys())]
    sets = [
        set_statement(login, name, value)
        for name, value in sorted(after.items())
        if before.get(name) != value
    ]
    return [*resets, *sets]


# --- what a server holds ----------------------------------------------------------------------

# Whether pgaudit is loaded: its settings exist only then (a name set without the library is
# a placeholder, which pg_settings does not list). Unlike shared_preload_libraries itself, it
# is readable by any login.
LOADED_SQL: Final = "SELECT count(*) > 0 FROM pg_settings WHERE name = 'pgaudit.log'"

# Every role's pgaudit settings: for every database (database NULL) or one database.
SETTINGS_SQL: Final = """
SELECT r.rolname, d.datname, s.setconfig
FROM pg_db_role_setting s
JOIN pg_roles r ON r.oid = s.setrole
LEFT JOIN pg_database d ON d.oid = s.setdatabase
WHERE s.setrole <> 0
"""


@dataclass(frozen=True)
class RoleSettings:
    """One role's pgaudit settings on a server: its own (every database) and per database
    (`ALTER ROLE ... IN DATABASE`), which override its own there."""

    own: Mapping[str, str]
    per_database: Mapping[str, Mapping[str, str]]


def pgaudit_loaded(conn: Any) -> bool:
    with conn.cursor() as cur:
        cur.execute(LOADED_SQL)
        row = cur.fetchone()
    return bool(row and row[0])


def read_settings(conn: Any) -> dict[str, RoleSettings]:
    """role -> its pgaudit settings, for every role that has one."""
    own: dict[str, dict[str, str]] = {}
    per_database: dict[str, dict[str, dict[str, str]]] = {}
    with conn.cursor() as cur:
        cur.execute(SETTINGS_SQL)
        rows = cur.fetchall()
    for role, database, config in rows:
        found = _pgaudit(config or ())
        if not found:
            continue
        if database is None:
            own[role] = found
        else:
            per_database.setdefault(role, {})[database] = found
    return {
        role: RoleSettings(own.get(role, {}), per_database.get(role, {}))
        for role in own.keys() | per_database.keys()
    }


def _pgaudit(config: Iterable[str]) -> dict[str, str]:
    """`name=value` items of a setconfig array -> the pgaudit ones (names lower-cased, as
    PostgreSQL compares them)."""
    result = {}
    for item in config:
        name, _, value = item.partition("=")
        if name.lower().startswith(PREFIX):
            result[name.lower()] = value
    return result


def differences(expected: Mapping[str, str], found: RoleSettings | None) -> list[str]:
    """How a login's pgaudit settings differ from `expected` (empty when they agree)."""
    own = found.own if found else {}
    problems = []
    for name in sorted(expected.keys() | own.keys()):
        want, have = expected.get(name), own.get(name)
        if want != have:
            problems.append(f"{name} is {_shown(have)}, access.yaml wants {_shown(want)}")
    for database, settings in sorted(found.per_database.items() if found else ()):
        listed = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
        problems.append(f"in database {database} it is overridden: {listed}")
    return problems


def _shown(value: str | None) -> str:
    return "not set" if value is None else repr(value)
