"""PostgresRoleSettings: one login's pgaudit settings (`ALTER ROLE <login> SET pgaudit.log`),
as a Pulumi dynamic resource. components/postgres_users.py declares one per login whose
query_audit is not none, after the login itself.

Why a dynamic provider: pulumi-postgresql's Role has no generic per-role setting (only a few
named ones, search_path among them), and its other resources cannot run an arbitrary
statement with an undo. The alternatives cost more: a SQL-running resource of another provider
would need create and destroy statements kept in step by hand and could not compare what the
server holds on `pulumi refresh`; a PostgreSQL function called from a resource would have to
be installed on every server first. The dynamic provider is about sixty lines, runs the
statements of dbaccess.postgres.query_audit (tested on a real PostgreSQL with pgaudit), and
connects the way the MySQL provider does (components/mysql_users.py): the admin's IAM token is
minted at each operation with the deploy role and never reaches the state. It is pickled into
the state by reference, so this module must stay importable as `components.postgres_role_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg
import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components import dynamic
from dbaccess.audit.results import Unreachable
from dbaccess.postgres import query_audit
from dbaccess.postgres.admin import AdminTarget, admin_connection

Connector = Callable[[AdminTarget], Any]
T = TypeVar("T")
# Another login or another server: reset the old one's settings, then set the new one's.
REPLACE_KEYS = ("login", "host", "port")


class RoleSettingsError(RuntimeError):
    """A statement failed or the server could not be reached; the message names the login and
    what the server said (statements carry names and levels only, never a token)."""


def _settings(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(props.get("settings") or {}).items()}


class PostgresRoleSettingsProvider(ResourceProvider):
    """Set, change and reset one login's settings. `connect` is replaced only in tests (a
    local PostgreSQL has no IAM)."""

    def __init__(self, connect: Connector = admin_connection) -> None:
        super().__init__()
        self._connect = connect

    def _run(self, props: Mapping[str, Any], work: Callable[[Any], T]) -> T:
        login = props["login"]
        try:
            conn = self._connect(AdminTarget.from_inputs(props))
        except Unreachable as exc:
            raise RoleSettingsError(f"pgaudit settings of {login!r}: {exc}") from None
        try:
            return work(conn)
        finally:
            conn.close()

    def _change(self, props: Mapping[str, Any], before: Mapping[str, str]) -> None:
        login = str(props["login"])

        def work(conn: Any) -> None:
            for statement in query_audit.change_statements(login, before, _settings(props)):
                try:
                    conn.execute(statement)
                except psycopg.Error as exc:
                    text = statement.as_string(conn)
                    raise RoleSettingsError(
                        f"{text} failed: {str(exc).strip()}. The admin login needs SET on the "
                        "pgaudit parameters (`dbaccess bootstrap` grants it; PostgreSQL 15 or "
                        "later) and pgaudit in shared_preload_libraries (`dbaccess doctor "
                        "--operator`)."
                    ) from None

        self._run(props, work)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._change(props, {})
        return CreateResult(id_=str(props["login"]), outs=dynamic.inputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return dynamic.diff(olds, news, REPLACE_KEYS)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._change(news, _settings(olds))
        return UpdateResult(outs=dynamic.inputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """`pulumi refresh`: the login's own pgaudit settings as the server holds them."""
        login = str(props["login"])
        found = self._run(props, query_audit.read_settings).get(login)
        held = dict(found.own) if found else {}
        return ReadResult(id_, {**dynamic.inputs(props), "settings": held})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """RESET what we set; the server's own value applies again. A login dropped already
        (by hand) has nothing left to reset."""
        login = str(props["login"])

        def exists(conn: Any) -> bool:
            row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
            return row is not None

        if self._run(props, exists):
            self._change({**props, "settings": {}}, _settings(props))


class PostgresRoleSettings(Resource):
    """One login's pgaudit settings (a dynamic resource of PostgresRoleSettingsProvider)."""

    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        provider: PostgresRoleSettingsProvider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(provider, name, dict(props), opts)
