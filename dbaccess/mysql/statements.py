"""The SQL db-access runs on MySQL / Aurora MySQL, as pure functions of names.

Users are server-wide and created for any host (`'<login>'@'%'`: the IAM token, not the
client's address, is the credential); privileges are granted directly to the user on
`<database>`.* (MySQL 8 roles are inactive at login unless made default, a second moving part
for the same result). The one role is the mark of a user db-access made (MANAGED_MARKER, made
by the bootstrap): it carries no privilege; `dbaccess sweep` acts only on users holding it.
Roles need MySQL 8 (Aurora MySQL 3) or MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from dbaccess.access.naming import MANAGED_MARKER, Access
from dbaccess.mysql.spec import MysqlLogin

# How RDS / Aurora MySQL authenticate a user with an IAM token (sent by the client in clear
# text, so every such user also REQUIRES SSL).
IAM_AUTH: Final = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"
IAM_PLUGIN: Final = "AWSAuthenticationPlugin"
ANY_HOST: Final = "%"

# Data only: no DDL (CREATE, DROP, ALTER, INDEX...), no GRANT OPTION, nothing global.
PRIVILEGES: Final[dict[Access, tuple[str, ...]]] = {
    "read-only": ("SELECT", "SHOW VIEW"),
    "read-write": ("SELECT", "SHOW VIEW", "INSERT", "UPDATE", "DELETE"),
}


def string_literal(value: str) -> str:
    """A MySQL string literal; backslash is an escape character unless NO_BACKSLASH_ESCAPES."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def account(user: str) -> str:
    return f"{string_literal(user)}@{string_literal(ANY_HOST)}"


def grant_pattern(database: str) -> str:
    """`database` as a database-level grant pattern (as mysql.db stores it). In a pattern `_`
    and `%` are wildcards: unescaped, a grant on `app_a` would also open `appXa`."""
    return database.replace("_", "\\_").replace("%", "\\%")


def database_pattern(database: str) -> str:
    """`database` as the db part of `GRANT ... ON <db>.*`: its pattern, quoted."""
    return "`" + grant_pattern(database).replace("`", "``") + "`"


def create_user(login: str, auth: str = IAM_AUTH) -> str:
    return f"CREATE USER {account(login)} {auth} REQUIRE SSL"


def grant_mark(login: str) -> str:
    """Mark `login` as made by db-access (granting a role it holds already is no error)."""
    return f"GRANT {MANAGED_MARKER} TO {account(login)}"


def drop_user(login: str) -> str:
    # IF EXISTS: a user someone already dropped by hand must not block the deploy forever.
    return f"DROP USER IF EXISTS {account(login)}"


def grant(login: str, database: str, privileges: Iterable[str]) -> str:
    return f"GRANT {', '.join(privileges)} ON {database_pattern(database)}.* TO {account(login)}"


def revoke(login: str, database: str, privileges: Iterable[str]) -> str:
    return f"REVOKE {', '.join(privileges)} ON {database_pattern(database)}.* FROM {account(login)}"


def grants_of(login: MysqlLogin) -> dict[str, Access]:
    """database -> access level, what `login` holds once applied."""
    return dict.fromkeys(login.databases, login.access)


def setup_statements(login: MysqlLogin) -> list[str]:
    """What follows CREATE USER: the mark, then the login's grants."""
    return [grant_mark(login.login), *grant_statements(login.login, grants_of(login))]


def grant_statements(login: str, grants: Mapping[str, Access]) -> list[str]:
    return [grant(login, db, PRIVILEGES[access]) for db, access in sorted(grants.items())]


def change_statements(
    login: str, before: Mapping[str, Access], after: Mapping[str, Access]
) -> list[str]:
    """GRANT / REVOKE that take `login` from `before` to `after` (database -> access level),
    touching only what differs: a login that keeps a database never loses it meanwhile."""
    statements: list[str] = []
    for db in sorted(before.keys() | after.keys()):
        old = PRIVILEGES[before[db]] if db in before else ()
        new = PRIVILEGES[after[db]] if db in after else ()
        if added := [p for p in new if p not in old]:
            statements.append(grant(login, db, added))
        if removed := [p for p in old if p not in new]:
            statements.append(revoke(login, db, removed))
    return statements
