"""Create, change and delete one login on a live server: what the Pulumi dynamic provider in
components/mysql_users.py does, on a PyMySQL connection (production and tests alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pymysql

from dbaccess.access.naming import Access
from dbaccess.mysql import statements as sql
from dbaccess.mysql.spec import MysqlLogin


class Connection(Protocol):
    def cursor(self) -> Any: ...


class MysqlApplyError(RuntimeError):
    """A statement failed; the message names the user, the statement and the server's answer
    (statements carry names only, never a token)."""


def _execute(conn: Connection, statement: str, context: str) -> None:
    with conn.cursor() as cur:
        try:
            # No args: PyMySQL then sends the text as is (the '%' host is not a format).
            cur.execute(statement)
        except pymysql.MySQLError as exc:
            raise MysqlApplyError(f"{context} failed: {exc}") from None


def run(conn: Connection, statements: Sequence[str], what: str) -> None:
    for statement in statements:
        _execute(conn, statement, f"{what}: {statement!r}")


def create_login(conn: Connection, login: MysqlLogin, auth: str = sql.IAM_AUTH) -> None:
    """CREATE USER + the mark + its grants. An existing user of that name is an error, never
    adopted: it may be someone's password user. If a grant fails, the new user is dropped
    again so that the next deploy starts clean."""
    what = f"creating MySQL user {login.login!r}"
    try:
        # The message leaves the authentication clause out (in tests it holds a password).
        _execute(conn, sql.create_user(login.login, auth), f"{what}: CREATE USER")
    except MysqlApplyError as exc:
        raise MysqlApplyError(
            f"{exc}. If a user of that name already exists, drop it or give the person "
            "another `username:` - db-access never takes over an existing user."
        ) from None
    try:
        run(conn, sql.setup_statements(login), what)
    except MysqlApplyError:
        run(conn, [sql.drop_user(login.login)], f"{what} (undoing)")
        raise


def change_login(
    conn: Connection, login: str, before: Mapping[str, Access], after: Mapping[str, Access]
) -> None:
    """GRANT / REVOKE what differs, and the mark (users made before it existed get it here)."""
    statements = [sql.grant_mark(login), *sql.change_statements(login, before, after)]
    run(conn, statements, f"changing MySQL user {login!r}")


def delete_login(conn: Connection, login: str) -> None:
    """DROP USER takes its privileges with it. Open sessions live on: `dbaccess sweep` ends
    them (see dbaccess.mysql.findings)."""
    run(conn, [sql.drop_user(login)], f"dropping MySQL user {login!r}")


# MySQL's and MariaDB's error for SHOW GRANTS of a user that does not exist.
NO_SUCH_GRANT = 1141


def admin_grants(conn: Connection, admin_login: str) -> list[str] | None:
    """SHOW GRANTS of the admin user, None when it does not exist."""
    with conn.cursor() as cur:
        try:
            cur.execute(f"SHOW GRANTS FOR {sql.account(admin_login)}")
        except pymysql.MySQLError as exc:
            if exc.args and exc.args[0] == NO_SUCH_GRANT:
                return None
            raise MysqlApplyError(f"reading the grants of {admin_login!r} failed: {exc}") from None
        return sorted(row[0] for row in cur.fetchall())


def bootstrap(
    conn: Connection, statements: Sequence[str], admin_login: str, *, dry_run: bool
) -> tuple[list[str] | None, list[str] | None]:
    """Run the bootstrap `statements` (dbaccess.mysql.bootstrap) as the master user, unless
    `dry_run`. Returns the admin's grants before and after (None: no such user), since
    MySQL's GRANT says nothing when it changes nothing."""
    before = admin_grants(conn, admin_login)
    if dry_run:
        return before, before
    run(conn, statements, "bootstrap")
    return before, admin_grants(conn, admin_login)
