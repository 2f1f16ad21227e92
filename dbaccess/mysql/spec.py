"""What one MySQL server should hold, as the program hands it to components/mysql_users.py, and
the Pulumi inputs of one login (their only owner: the provider reads them back from here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from dbaccess.access.naming import ACCESS_LEVELS, MANAGED_MARKER, Access, AuditLevel
from dbaccess.access.plan import AccessPlan
from dbaccess.access.servers import Server, by_server
from dbaccess.mysql.names import admin_login_problem, database_problem, login_problem
from dbaccess.mysql.server_audit import ServerAudit, server_audit


@dataclass(frozen=True)
class MysqlLogin:
    """One person's user at one access level. Users are server-wide; privileges are granted
    per database, so `databases` lists this login's databases on the server."""

    login: str
    access: Access
    databases: tuple[str, ...]
    # Not a Pulumi input: the audit plugin's user list is server-wide (dbaccess.mysql.server_audit).
    query_audit: AuditLevel = "none"


@dataclass(frozen=True)
class MysqlServerSpec:
    host: str
    port: int
    region: str
    admin_login: str
    databases: tuple[str, ...]  # the managed databases of this server (names, not keys)
    logins: tuple[MysqlLogin, ...]


@dataclass(frozen=True)
class AdminTarget:
    """Where and as whom the provider connects: no secret in it (the token is minted at each
    operation with the deploy role)."""

    host: str
    port: int
    region: str
    admin_login: str
    deploy_role_arn: str
    ca_bundle: str  # path of the RDS CA bundle on the machine that runs `pulumi up`


def spec_problems(server: MysqlServerSpec) -> list[str]:
    """Everything wrong with `server`, each with its fix; empty when it can be deployed."""
    where = f"MySQL server {server.host}:{server.port}"
    problems = [f"{where}: {p}" for p in [admin_login_problem(server.admin_login)] if p]
    problems += [f"{where}: {p}" for db in server.databases if (p := database_problem(db))]
    seen: set[str] = set()
    for login in server.logins:
        if login.login in seen:
            problems.append(f"{where}: MySQL user {login.login!r} is declared twice.")
        seen.add(login.login)
        if problem := login_problem(login.login, server.admin_login):
            problems.append(f"{where}: {problem}")
        if login.access not in ACCESS_LEVELS:
            problems.append(f"{where}: {login.login!r} has unknown access {login.access!r}.")
        unknown = sorted(set(login.databases) - set(server.databases))
        if unknown:
            problems.append(
                f"{where}: {login.login!r} is granted {', '.join(unknown)}, which this server "
                "does not manage; add the database to the server or drop the grant."
            )
        if not login.databases:
            problems.append(f"{where}: {login.login!r} has no database to be granted.")
    return problems


# --- Pulumi inputs of one login (plain values: they are stored in the state) ------------------


def login_inputs(login: MysqlLogin, target: AdminTarget) -> dict[str, Any]:
    return {
        "login": login.login,
        # The mark it holds: a user made before marks existed lacks it in its state, so the
        # next deploy updates it, and the update grants the mark.
        "mark": MANAGED_MARKER,
        "access": login.access,
        "databases": sorted(login.databases),
        "host": target.host,
        "port": target.port,
        "region": target.region,
        "admin_login": target.admin_login,
        "deploy_role_arn": target.deploy_role_arn,
        "ca_bundle": target.ca_bundle,
    }


def login_from_inputs(props: Mapping[str, Any]) -> MysqlLogin:
    return MysqlLogin(
        login=str(props["login"]),
        access=cast(Access, props["access"]),
        databases=tuple(str(db) for db in props["databases"]),
    )


def target_from_inputs(props: Mapping[str, Any]) -> AdminTarget:
    return AdminTarget(
        host=str(props["host"]),
        port=int(props["port"]),
        region=str(props["region"]),
        admin_login=str(props["admin_login"]),
        deploy_role_arn=str(props["deploy_role_arn"]),
        ca_bundle=str(props["ca_bundle"]),
    )


# A change of any of these is another user (or another server): delete the old, create the new.
REPLACE_KEYS: tuple[str, ...] = ("login", "host", "port")


@dataclass(frozen=True)
class MysqlServer(Server):
    """One MySQL server (RDS instance or Aurora MySQL cluster) and what
    components/mysql_users.py creates on it."""

    spec: MysqlServerSpec

    @property
    def audit(self) -> ServerAudit:
        """What its audit plugin should hold (server-wide): computed, shown, audited; the
        parameter or option group is the operator's."""
        return server_audit(self.first.engine, ((x.login, x.query_audit) for x in self.spec.logins))


def mysql_servers(plan: AccessPlan) -> tuple[MysqlServer, ...]:
    """The plan's MySQL / Aurora MySQL databases grouped by server, each with its users."""
    return tuple(
        MysqlServer(
            dbs,
            MysqlServerSpec(
                host=dbs[0].host,
                port=dbs[0].port,
                region=dbs[0].region,
                admin_login=str(dbs[0].admin_login),  # required for MySQL by validation
                databases=tuple(db.name for db in dbs),
                logins=tuple(
                    MysqlLogin(
                        login.login,
                        login.access,
                        tuple(db.name for db in login.databases),
                        login.query_audit,
                    )
                    for login in logins
                ),
            ),
        )
        for dbs, logins in by_server(plan, lambda d: d.is_mysql)
    )
