"""`dbaccess audit` and `dbaccess sweep` on MySQL / Aurora MySQL servers.

What to read and what it means live in dbaccess.mysql.findings; here each selected server is
reached once as its admin_login (users and privileges are server-wide) and the results join
the PostgreSQL ones in the same AuditResult / SweepResult, under MySQL's own finding kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import pymysql
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.audit.instances import Instance, Members, MembersUnknown, the_instance
from dbaccess.audit.results import AuditResult, Ended, Finding, SweepResult, Unreachable
from dbaccess.audit.sweep_rules import NO_EXEMPTION, SweepRules
from dbaccess.mysql import findings, server_audit, statements
from dbaccess.mysql.apply import MysqlApplyError
from dbaccess.mysql.connect import admin_connection
from dbaccess.mysql.spec import AdminTarget, MysqlServer, mysql_servers

# One database's server, on one of its instances, as the admin login.
MysqlConnector = Callable[[DatabaseSpec, Instance], pymysql.Connection]

# dbaccess.mysql.findings's kinds -> the kinds reports list (dbaccess.audit.results.KINDS).
KIND_OF: Final[Mapping[str, str]] = {
    "missing": "mysql-missing-user",
    "missing-mark": "mysql-missing-mark",
    "password-login": "mysql-password-user",
    "undeclared": "mysql-undeclared-user",
    "privileged": "mysql-privileged-user",
    "wrong-privileges": "mysql-wrong-privileges",
}
# dbaccess.mysql.server_audit's kinds -> the kinds reports list.
AUDIT_KIND_OF: Final[Mapping[str, str]] = {
    "not-loaded": "mysql-audit-not-loaded",
    "drift": "mysql-audit-drift",
}


@dataclass(frozen=True)
class MysqlAccess:
    """How audit and sweep reach MySQL servers, and whom they leave alone."""

    connect: MysqlConnector
    # Users knowingly not db-access's (the RDS master user, applications): never findings,
    # their sessions never ended.
    allowed: frozenset[str] = frozenset()
    # The instances of each server (an Aurora MySQL cluster's members).
    members: Members = the_instance
    # The local MariaDB of the tests stands in for IAM with another plugin, and has no
    # mysql.rds_kill; RDS / Aurora MySQL use the defaults.
    iam_plugin: str = statements.IAM_PLUGIN
    rds: bool = True


def iam_mysql_connector(accounts: Mapping[str, str], ca_bundle: Path) -> MysqlConnector:
    """As each database's admin_login, with an IAM token minted with the account's deploy
    role, over TLS verified against `ca_bundle` (what the program's provider does)."""

    def connect(db: DatabaseSpec, instance: Instance) -> pymysql.Connection:
        assert db.admin_login is not None  # the loader requires it for MySQL
        target = AdminTarget(
            instance.host,
            instance.port,
            db.region,
            db.admin_login,
            accounts[db.account],
            str(ca_bundle),
        )
        try:
            return admin_connection(target)
        except (pymysql.MySQLError, BotoCoreError, ClientError) as exc:
            # Neither PyMySQL's nor botocore's messages carry the token.
            raise Unreachable(f"{type(exc).__name__}: {exc}") from None

    return connect


def _selected(plan: AccessPlan, keys: Collection[str]) -> list[tuple[MysqlServer, list[str]]]:
    """Each MySQL server holding a selected database, with its selected database keys."""
    found = []
    for server in mysql_servers(plan):
        chosen = [db.key for db in server.databases if not keys or db.key in keys]
        if chosen:
            found.append((server, chosen))
    return found


def audit_mysql(
    plan: AccessPlan, keys: Collection[str], access: MysqlAccess, result: AuditResult
) -> None:
    """Read each selected MySQL server once (on its first instance: an Aurora cluster's
    writer) and add its findings, reported under its first selected database; connect to its
    other instances so that one sweep cannot reach is reported. Unreachable servers and
    instances are findings; the others are still checked."""
    for server, chosen in _selected(plan, keys):
        where = f"{server.spec.host}:{server.spec.port}"
        try:
            first, *others = access.members(server.first)
            with access.connect(server.first, first) as conn:
                accounts = findings.read_accounts(conn)
                grants = findings.read_database_grants(conn)
                marked = findings.read_marked(conn)
                plugin = server_audit.read_variables(conn)
        except (Unreachable, MembersUnknown) as exc:
            result.findings += [Finding(key, "unreachable", where, str(exc)) for key in chosen]
            continue
        except pymysql.MySQLError as exc:  # connected, then a read failed
            detail = f"reading failed: {type(exc).__name__}: {exc}"
            result.findings += [Finding(key, "unreachable", where, detail) for key in chosen]
            continue
        found = findings.audit(
            server.spec,
            accounts,
            grants,
            access.allowed,
            marked=marked,
            iam_plugin=access.iam_plugin,
        )
        result.findings += [
            Finding(chosen[0], KIND_OF[f.kind], f.user, f.detail, first.name) for f in found
        ]
        kind, problems = server_audit.differences(server.audit, plugin)
        if kind:
            result.findings.append(
                Finding(
                    chosen[0], AUDIT_KIND_OF[kind], server.name, "; ".join(problems), first.name
                )
            )
        result.servers.append(server.name)
        result.instances.append(first.name)
        result.databases += chosen
        for instance in others:
            try:
                with access.connect(server.first, instance) as conn:
                    findings.read_sessions(conn)
                result.instances.append(instance.name)
            except (Unreachable, pymysql.MySQLError) as exc:
                at = f"{instance.host}:{instance.port}"
                result.findings.append(
                    Finding(chosen[0], "unreachable", at, str(exc), instance.name)
                )
    result.findings.sort()


def sweep_mysql(
    plan: AccessPlan,
    keys: Collection[str],
    access: MysqlAccess,
    result: SweepResult,
    rules: SweepRules = NO_EXEMPTION,
) -> None:
    """End (or with result.dry_run, list) on every instance of each selected MySQL server the
    sessions dbaccess.mysql.findings.sessions_to_end names (`access.allowed` are exempt too)."""
    rules = replace(rules, exempt=rules.exempt | access.allowed)
    for server, _chosen in _selected(plan, keys):
        try:
            instances = access.members(server.first)
        except (Unreachable, MembersUnknown) as exc:
            result.errors.append(f"{server.name} not swept: {exc}")
            continue
        for instance in instances:
            try:
                with access.connect(server.first, instance) as conn:
                    _sweep_instance(server, instance, conn, access, rules, result)
            except (Unreachable, pymysql.MySQLError) as exc:
                result.errors.append(
                    f"{server.name} instance {instance.name} not swept: {server.first.key}: {exc}"
                )


def _sweep_instance(
    server: MysqlServer,
    instance: Instance,
    conn: pymysql.Connection,
    access: MysqlAccess,
    rules: SweepRules,
    result: SweepResult,
) -> None:
    accounts = findings.read_accounts(conn)
    marked = findings.read_marked(conn)
    sessions = findings.read_sessions(conn)
    targets = findings.sessions_to_end(
        sessions, accounts, marked, server.spec, rules, iam_plugin=access.iam_plugin
    )
    result.kept += len(sessions) - len(targets)
    for session, why in targets:
        if not result.dry_run:
            try:
                if not findings.end_sessions(conn, [session], rds=access.rds):
                    continue  # it ended on its own meanwhile
            except MysqlApplyError as exc:
                result.errors.append(
                    f"{server.name} instance {instance.name}: could not end "
                    f"{session.user}'s session: {exc}"
                )
                result.kept += 1
                continue
        db = next((d for d in server.databases if d.name == session.database), None)
        where = db.key if db else (session.database or "")
        result.ended.append(Ended(where, session.user, session.id, None, instance.name, why))
