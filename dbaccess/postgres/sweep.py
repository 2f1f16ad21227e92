"""`dbaccess sweep`: end the sessions of logins db-access made that access.yaml no longer gives.

A login db-access made carries its mark (membership in dbaccess_managed, which the program
grants to every login it declares). On every instance of each server, sweep ends:

- a marked login's session when no grant on that server's access.yaml databases gives it
  today (a removed grant, a grant past `until`);
- a session whose role no longer exists (dropped by the deploy while it was connected);
- a declared, marked login's session in a managed database it is no longer granted (a login is
  server-wide: its grant on one database ended while another goes on).

Never the admin's, the master user's, RDS's, a `table_owners` role's, an exempt login's
(dbaccess:sweepExemptLogins), or any login without the mark: applications in rds_iam look
exactly like people's logins but for it. Undeclared IAM logins without the mark are the
audit's to report; ending them takes `include_unmarked`.
"""

from __future__ import annotations

from collections.abc import Collection

import psycopg

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.audit.instances import Instance, MembersUnknown
from dbaccess.audit.results import Ended, SweepResult, Unreachable
from dbaccess.audit.sweep_rules import (
    DATABASE_LOST,
    DROPPED,
    NO_EXEMPTION,
    NOT_GIVEN,
    UNMARKED,
    SweepRules,
)
from dbaccess.postgres.connect import Connection, Reach
from dbaccess.postgres.expected import ServerPlan, is_rds_own, select, server_plans
from dbaccess.postgres.findings import is_master
from dbaccess.postgres.spec import RDS_IAM
from dbaccess.postgres.state import ServerState, Session, read_server, read_sessions

SIGNAL_SQL = """
SELECT rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
FROM pg_roles WHERE rolname = current_user
"""


def reason_to_end(
    server: ServerPlan, state: ServerState, session: Session, rules: SweepRules = NO_EXEMPTION
) -> str | None:
    """Why sweep ends `session`, or None when it stays."""
    if session.dropped:
        return DROPPED
    role = state.roles.get(session.login)
    if role is None or role.name in rules.exempt or role.name in server.admin_logins:
        return None
    if is_rds_own(role.name, bootstrap=role.bootstrap) or is_master(role):
        return None
    if role.name in server.table_owners:
        return None
    marked = MANAGED_MARKER in role.member_of
    if role.name not in server.logins:
        if marked:
            return NOT_GIVEN
        iam_login = role.login and RDS_IAM in role.member_of
        return UNMARKED if rules.include_unmarked and iam_login else None
    managed = server.database_named(session.database)
    if marked and managed is not None and managed.name not in server.granted[role.name]:
        return DATABASE_LOST
    return None


def run_sweep(
    plan: AccessPlan,
    keys: Collection[str],
    reach: Reach,
    *,
    dry_run: bool,
    rules: SweepRules = NO_EXEMPTION,
) -> SweepResult:
    """End (or with dry_run, list) the sessions to end on every instance of each selected
    server."""
    result = SweepResult(dry_run)
    for server in select(server_plans(plan), keys):
        candidates = [db for db in server.databases if not keys or db.key in keys]
        try:
            instances = reach.members(candidates[0])
        except (Unreachable, MembersUnknown) as exc:
            result.errors.append(f"{server.label} not swept: {exc}")
            continue
        for instance in instances:
            _sweep_instance(server, candidates, instance, reach, rules, result)
    return result


def _sweep_instance(
    server: ServerPlan,
    candidates: list[DatabaseSpec],
    instance: Instance,
    reach: Reach,
    rules: SweepRules,
    result: SweepResult,
) -> None:
    failures = []
    for db in candidates:  # one reachable database of the server is enough
        try:
            with reach.connect(db, instance) as conn:
                conn.autocommit = True
                _sweep_sessions(server, instance, conn, rules, result)
            return
        except Unreachable as exc:
            failures.append(f"{db.key}: {exc}")
        except psycopg.Error as exc:
            failures.append(f"{db.key}: {type(exc).__name__}: {str(exc).strip()}")
    result.errors.append(
        f"{server.label} instance {instance.name} not swept: " + "; ".join(failures)
    )


def _sweep_sessions(
    server: ServerPlan,
    instance: Instance,
    conn: Connection,
    rules: SweepRules,
    result: SweepResult,
) -> None:
    state = read_server(conn)
    sessions = read_sessions(conn)
    targets = [(s, why) for s in sessions if (why := reason_to_end(server, state, s, rules))]
    result.kept += len(sessions) - len(targets)
    where = f"{server.label} instance {instance.name}"
    with conn.cursor() as cur:
        cur.execute(SIGNAL_SQL)
        row = cur.fetchone()
        if not (row and row[0]):
            result.errors.append(
                f"{where}: the admin login {state.current_user} cannot end sessions: it "
                f"needs pg_signal_backend (run: GRANT pg_signal_backend TO {state.current_user};"
                " see docs/reference/audit.md)"
            )
            result.kept += len(targets)
            return
        for session, why in targets:
            db = server.database_named(session.database)
            ended = Ended(
                db.key if db else session.database,
                session.login,
                session.pid,
                session.since.isoformat() if session.since else None,
                instance.name,
                why,
            )
            if not result.dry_run:
                try:
                    cur.execute("SELECT pg_terminate_backend(%s)", (session.pid,))
                except psycopg.Error as exc:
                    result.errors.append(
                        f"{where}: could not end {session.login}'s session "
                        f"{session.pid}: {str(exc).strip()}"
                    )
                    result.kept += 1
                    continue
                row = cur.fetchone()
                if not (row and row[0]):  # it ended on its own meanwhile
                    continue
            result.ended.append(ended)
