"""`dbaccess audit`'s run: every selected database read once, findings in a stable order."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

import psycopg

from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.audit.instances import Instance, MembersUnknown
from dbaccess.audit.results import REDSHIFT_SKIPPED, AuditResult, Finding, Unreachable
from dbaccess.postgres.connect import Reach
from dbaccess.postgres.expected import ServerPlan, select, server_plans
from dbaccess.postgres.findings import database_findings, role_findings
from dbaccess.postgres.state import ServerState, read_database, read_server, read_sessions


def run_audit(plan: AccessPlan, keys: Collection[str], reach: Reach) -> AuditResult:
    """Read each selected PostgreSQL database (server-wide facts once per server) and compare.
    (MySQL servers: dbaccess.mysql.audit adds theirs to the result.)

    The catalog is read on a server's first instance (an Aurora cluster's writer: its members
    share one storage volume); every other member is connected to, so that one sweep cannot
    reach is reported. Read-only: every transaction is READ ONLY. An unreachable database or
    instance is a finding of kind `unreachable`; the others are still checked.
    """
    result = AuditResult()
    for key, db in plan.databases.items():
        if db.engine == "redshift" and (not keys or key in keys):
            result.skipped[key] = REDSHIFT_SKIPPED
    for server in select(server_plans(plan), keys):
        chosen = [db for db in server.databases if not keys or db.key in keys]
        try:
            first, *others = reach.members(chosen[0])
        except (Unreachable, MembersUnknown) as exc:
            result.findings += [
                Finding(db.key, "unreachable", f"{db.host}:{db.port}/{db.name}", str(exc))
                for db in chosen
            ]
            continue
        result.instances.append(first.name)
        _audit_server(server, chosen, first, reach, result)
        for instance in others:
            _reach_instance(chosen[0], instance, reach, result)
    result.findings.sort()
    return result


def _audit_server(
    server: ServerPlan,
    chosen: list[DatabaseSpec],
    instance: Instance,
    reach: Reach,
    result: AuditResult,
) -> None:
    server_state: ServerState | None = None
    for db in chosen:
        found: list[Finding] = []
        try:
            with reach.connect(db, instance) as conn:
                conn.read_only = True
                if server_state is None:
                    server_state = read_server(conn)
                    result.servers.append(server.label)
                    found += role_findings(server, server_state, db.key)
                state = read_database(conn, db.schemas)
                found += database_findings(server, server_state, db, state)
        except Unreachable as exc:
            found = [Finding(db.key, "unreachable", _where(db, instance), str(exc))]
        except psycopg.Error as exc:  # connected, then a read failed
            detail = f"reading failed: {type(exc).__name__}: {str(exc).strip()}"
            found = [Finding(db.key, "unreachable", db.name, detail)]
        else:
            result.databases.append(db.key)
        result.findings += [replace(f, instance=instance.name) for f in found]


def _reach_instance(
    db: DatabaseSpec, instance: Instance, reach: Reach, result: AuditResult
) -> None:
    """Another member of a cluster: can sweep read its sessions?"""
    try:
        with reach.connect(db, instance) as conn:
            conn.read_only = True
            read_sessions(conn)
    except Unreachable as exc:
        detail = str(exc)
    except psycopg.Error as exc:
        detail = f"reading failed: {type(exc).__name__}: {str(exc).strip()}"
    else:
        result.instances.append(instance.name)
        return
    result.findings.append(
        Finding(db.key, "unreachable", _where(db, instance), detail, instance.name)
    )


def _where(db: DatabaseSpec, instance: Instance) -> str:
    return f"{instance.host}:{instance.port}/{db.name}"
