"""`dbaccess audit`'s run: every selected database read once, findings in a stable order."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import psycopg

from dbaccess.access.plan import AccessPlan
from dbaccess.audit.compare import Finding, database_findings, role_findings
from dbaccess.audit.connect import Connector, Unreachable
from dbaccess.audit.expected import select, server_plans
from dbaccess.audit.state import ServerState, read_database, read_server

REDSHIFT_SKIPPED = "Redshift is not audited (see the README, Auditing)"


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)  # checked, by access.yaml key
    servers: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why

    def checked(self) -> dict[str, object]:
        return {
            "databases": self.databases,
            "servers": self.servers,
            "unreachable": sorted({f.database for f in self.findings if f.kind == "unreachable"}),
            "skipped": self.skipped,
        }


def run_audit(plan: AccessPlan, keys: Collection[str], connect: Connector) -> AuditResult:
    """Read each selected PostgreSQL database (server-wide facts once per server) and compare.
    (MySQL servers: dbaccess.audit.mysql adds theirs to the result.)

    Read-only: every transaction is READ ONLY. An unreachable database is a finding of kind
    `unreachable`; the others are still checked.
    """
    result = AuditResult()
    for key, db in plan.databases.items():
        if db.engine == "redshift" and (not keys or key in keys):
            result.skipped[key] = REDSHIFT_SKIPPED
    for server in select(server_plans(plan), keys):
        server_state: ServerState | None = None
        for db in server.databases:
            if keys and db.key not in keys:
                continue
            try:
                with connect(db) as conn:
                    conn.read_only = True
                    if server_state is None:
                        server_state = read_server(conn)
                        result.servers.append(server.label)
                        result.findings += role_findings(server, server_state, db.key)
                    state = read_database(conn, db.schemas)
                    result.findings += database_findings(server, server_state, db, state)
            except Unreachable as exc:
                where = f"{db.host}:{db.port}/{db.name}"
                result.findings.append(Finding(db.key, "unreachable", where, str(exc)))
                continue
            except psycopg.Error as exc:  # connected, then a read failed
                detail = f"reading failed: {type(exc).__name__}: {str(exc).strip()}"
                result.findings.append(Finding(db.key, "unreachable", db.name, detail))
                continue
            result.databases.append(db.key)
    result.findings.sort()
    return result
