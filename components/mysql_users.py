"""MysqlUsers: on one MySQL / Aurora MySQL server, one IAM-auth user per person and access
level, with its privileges on each of its databases.

A Pulumi dynamic provider on PyMySQL rather than pulumi-mysql (docs/explanation/decisions.md):
the admin's IAM token is minted at each operation with the deploy role and never reaches the
state, TLS verifies the server against the RDS CA bundle, and the SQL it runs is
dbaccess.mysql's, tested on a real MariaDB. The provider is pickled into the state by
reference (module + class), so this module must stay importable as `components.mysql_users`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

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
from dbaccess.mysql import apply, findings
from dbaccess.mysql import statements as sql
from dbaccess.mysql.connect import admin_connection
from dbaccess.mysql.spec import (
    REPLACE_KEYS,
    AdminTarget,
    MysqlLogin,
    MysqlServerSpec,
    login_from_inputs,
    login_inputs,
    target_from_inputs,
)

Connector = Callable[[AdminTarget], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class MysqlUsersArgs:
    server: MysqlServerSpec
    # The role Pulumi assumes in the server's account; it signs the admin's IAM token.
    deploy_role_arn: str
    # The RDS CA bundle on the machine that runs `pulumi up` (TLS is verified against it).
    ca_bundle: str


class MysqlLoginProvider(ResourceProvider):
    """Create / update / delete one login. `connect` and `auth` are replaced only in tests
    (a local MariaDB has no AWSAuthenticationPlugin and no IAM)."""

    def __init__(self, connect: Connector = admin_connection, auth: str = sql.IAM_AUTH) -> None:
        super().__init__()
        self._connect = connect
        self._auth = auth

    def _run(self, props: Mapping[str, Any], work: Callable[[Any], T]) -> T:
        conn = self._connect(target_from_inputs(props))
        try:
            return work(conn)
        finally:
            conn.close()

    def create(self, props: dict[str, Any]) -> CreateResult:
        login = login_from_inputs(props)
        self._run(props, lambda conn: apply.create_login(conn, login, self._auth))
        return CreateResult(id_=sql.account(login.login), outs=dynamic.inputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return dynamic.diff(olds, news, REPLACE_KEYS)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        before, after = login_from_inputs(olds), login_from_inputs(news)
        self._run(
            news,
            lambda conn: apply.change_login(
                conn, after.login, sql.grants_of(before), sql.grants_of(after)
            ),
        )
        return UpdateResult(outs=dynamic.inputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """`pulumi refresh`: the user as the server holds it, or gone (blank id)."""
        login = login_from_inputs(props)

        def live(conn: Any) -> tuple[MysqlLogin, bool] | None:
            accounts = findings.read_accounts(conn)
            if not any((a.user, a.host) == (login.login, sql.ANY_HOST) for a in accounts):
                return None
            grants = findings.read_database_grants(conn)
            return findings.live_login(login, grants), login.login in findings.read_marked(conn)

        found = self._run(props, live)
        if found is None:
            return ReadResult("", dynamic.inputs(props))
        held, marked = found
        outs = {**dynamic.inputs(props), "databases": list(held.databases)}
        if not marked:  # the next deploy's update grants it again
            outs.pop("mark", None)
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._run(props, lambda conn: apply.delete_login(conn, str(props["login"])))


class MysqlUser(Resource):
    """One MySQL user and its grants (a dynamic resource of MysqlLoginProvider)."""

    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        provider: MysqlLoginProvider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(provider, name, dict(props), opts)


class MysqlUsers(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MysqlUsersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:mysql:MysqlUsers", name, None, opts)
        server = args.server
        target = AdminTarget(
            host=server.host,
            port=server.port,
            region=server.region,
            admin_login=server.admin_login,
            deploy_role_arn=args.deploy_role_arn,
            ca_bundle=args.ca_bundle,
        )
        provider = MysqlLoginProvider()
        for login in server.logins:
            MysqlUser(
                f"{name}-{login.login}",
                login_inputs(login, target),
                provider,
                pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
