"""`dbaccess sweep`: end the sessions of IAM logins that access.yaml no longer gives.

A session is ended when its user is a LOGIN role in rds_iam that no grant on that server's
access.yaml databases gives today (a removed grant, a grant past `until`, a login never
declared), and when a declared login sits in a managed database it is no longer granted (a
login is server-wide; its grant on one database ended while another goes on). Never the
admin's, RDS's, or any login outside rds_iam (applications).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import psycopg

from dbaccess.access.plan import AccessPlan
from dbaccess.audit.compare import is_master
from dbaccess.audit.connect import Connector, Unreachable
from dbaccess.audit.expected import RDS_IAM, ServerPlan, is_rds_own, select, server_plans
from dbaccess.audit.state import ServerState, Session, read_server, read_sessions

SIGNAL_SQL = """
SELECT rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
FROM pg_roles WHERE rolname = current_user
"""


@dataclass(frozen=True)
class Ended:
    database: str  # the access.yaml key when the session is on a managed database
    login: str
    pid: int
    since: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "login": self.login,
            "pid": self.pid,
            "since": self.since,
        }


@dataclass
class SweepResult:
    dry_run: bool
    ended: list[Ended] = field(default_factory=list)
    kept: int = 0
    errors: list[str] = field(default_factory=list)


def revoked(server: ServerPlan, state: ServerState, session: Session) -> bool:
    """True when the session's user is an IAM login access.yaml does not give on the server,
    or does not give on the managed database the session is in."""
    role = state.roles.get(session.login)
    if role is None or not role.login or RDS_IAM not in role.member_of:
        return False
    if is_rds_own(role.name, bootstrap=role.bootstrap) or is_master(role):
        return False
    if role.name in server.admin_logins:
        return False
    if role.name not in server.logins:
        return True
    managed = server.database_named(session.database)
    return managed is not None and managed.name not in server.granted[role.name]


def run_sweep(
    plan: AccessPlan, keys: Collection[str], connect: Connector, *, dry_run: bool
) -> SweepResult:
    """End (or with dry_run, list) the revoked sessions on each selected server."""
    result = SweepResult(dry_run)
    for server in select(server_plans(plan), keys):
        candidates = [db for db in server.databases if not keys or db.key in keys]
        failures = []
        for db in candidates:  # one reachable database of the server is enough
            try:
                with connect(db) as conn:
                    conn.autocommit = True
                    _sweep_server(server, conn, result)
                break
            except Unreachable as exc:
                failures.append(f"{db.key}: {exc}")
            except psycopg.Error as exc:
                failures.append(f"{db.key}: {type(exc).__name__}: {str(exc).strip()}")
        else:
            result.errors.append(f"{server.label} not swept: " + "; ".join(failures))
    return result


def _sweep_server(server: ServerPlan, conn: psycopg.Connection[tuple], result: SweepResult) -> None:
    state = read_server(conn)
    sessions = read_sessions(conn)
    targets = [s for s in sessions if revoked(server, state, s)]
    result.kept += len(sessions) - len(targets)
    with conn.cursor() as cur:
        cur.execute(SIGNAL_SQL)
        row = cur.fetchone()
        if not (row and row[0]):
            result.errors.append(
                f"{server.label}: the admin login {state.current_user} cannot end sessions: it "
                f"needs pg_signal_backend (run: GRANT pg_signal_backend TO {state.current_user};"
                " see the README, Auditing)"
            )
            result.kept += len(targets)
            return
        for session in targets:
            db = server.database_named(session.database)
            ended = Ended(
                db.key if db else session.database,
                session.login,
                session.pid,
                session.since.isoformat() if session.since else None,
            )
            if not result.dry_run:
                try:
                    cur.execute("SELECT pg_terminate_backend(%s)", (session.pid,))
                except psycopg.Error as exc:
                    result.errors.append(
                        f"{server.label}: could not end {session.login}'s session "
                        f"{session.pid}: {str(exc).strip()}"
                    )
                    result.kept += 1
                    continue
                row = cur.fetchone()
                if not (row and row[0]):  # it ended on its own meanwhile
                    continue
            result.ended.append(ended)
