"""How long `dbaccess audit` and `dbaccess sweep --dry-run` take on a large server.

A real PostgreSQL (tests/pgserver.py) holding two managed databases with 300 tables each, and
2,000 people with a grant each (1,000 per database), all set up as the program declares them.
Times the audit and the dry-run sweep through --dsn (what each reads: every role, every ACL,
every session); prints the figures and asserts nothing. Skips when PostgreSQL is missing.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbaccess.access import load_access_file
from dbaccess.audit.results import INFORMATIONAL
from dbaccess.postgres.audit import run_audit
from dbaccess.postgres.connect import dsn_connector
from dbaccess.postgres.sweep import run_sweep
from tests import pgserver

PEOPLE, TABLES, RUNS = 2000, 300, 5
DATABASES = ("orders", "stock")
ADMIN, PASSWORD = "dbaccess_admin", "bench-admin-pw"
TODAY = dt.date(2026, 11, 29)


def access_yaml(port: int) -> str:
    lines = ["version: 1", "databases:"]
    for name in DATABASES:
        lines += [
            f"  {name}:",
            "    engine: postgres",
            '    account: "123456789012"',
            "    region: eu-west-1",
            "    instance: main",
            "    host: localhost",
            f"    port: {port}",
            f"    database: {name}",
            f"    admin_login: {ADMIN}",
            f"    table_owners: [{name}_app]",
        ]
    lines.append("people:")
    for i in range(PEOPLE):
        access = ("read-only", "read-write")[i % 3 == 0]
        lines += [
            f"  person{i}@example.com:",
            "    grants:",
            f"      - {{database: {DATABASES[i % 2]}, access: {access}}}",
        ]
    return "\n".join(lines) + "\n"


def setup(server: pgserver.PostgresServer) -> None:
    sql = [
        "CREATE ROLE rds_iam NOLOGIN",
        f"CREATE ROLE {ADMIN} LOGIN CREATEROLE PASSWORD '{PASSWORD}' IN ROLE rds_iam",
        f"GRANT pg_signal_backend, pg_read_all_stats TO {ADMIN}",
    ]
    for db in DATABASES:
        sql += [
            f"CREATE ROLE {db}_app NOLOGIN",
            f"CREATE DATABASE {db} OWNER {db}_app",
            f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC",
            f"GRANT CONNECT ON DATABASE {db} TO {ADMIN}",
        ]
        for access in ("ro", "rw"):
            sql += [
                f"CREATE ROLE dbaccess_{db}_{access} NOLOGIN",
                f"GRANT CONNECT ON DATABASE {db} TO dbaccess_{db}_{access}",
            ]
    for i in range(PEOPLE):
        access = ("ro", "rw")[i % 3 == 0]
        group = f"dbaccess_{DATABASES[i % 2]}_{access}"
        sql.append(f"CREATE ROLE person{i}_{access} LOGIN IN ROLE rds_iam, {group}")
    server.psql(";\n".join(sql) + ";")
    for db in DATABASES:
        tables = [f"CREATE TABLE t{j} (id serial PRIMARY KEY, v text)" for j in range(TABLES)]
        ro, rw = f"dbaccess_{db}_ro", f"dbaccess_{db}_rw"
        server.psql(
            ";\n".join(
                [
                    f"SET ROLE {db}_app",
                    *tables,
                    "RESET ROLE",
                    f"GRANT USAGE ON SCHEMA public TO {ro}, {rw}",
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro}",
                    f"GRANT SELECT, USAGE ON ALL SEQUENCES IN SCHEMA public TO {ro}",
                    f"GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN SCHEMA public TO {rw}",
                    f"GRANT SELECT, UPDATE, USAGE ON ALL SEQUENCES IN SCHEMA public TO {rw}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {db}_app IN SCHEMA public "
                    f"GRANT SELECT ON TABLES TO {ro}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {db}_app IN SCHEMA public "
                    f"GRANT SELECT, USAGE ON SEQUENCES TO {ro}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {db}_app IN SCHEMA public "
                    f"GRANT DELETE, INSERT, SELECT, UPDATE ON TABLES TO {rw}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {db}_app IN SCHEMA public "
                    f"GRANT SELECT, UPDATE, USAGE ON SEQUENCES TO {rw}",
                ]
            )
            + ";",
            dbname=db,
        )


def main() -> None:
    if not pgserver.is_available():
        print("skipped: PostgreSQL is not installed (scripts/ensure-postgres.sh)")
        return
    server = pgserver.start_server()
    try:
        setup(server)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "access.yaml"
            path.write_text(access_yaml(server.port))
            plan = load_access_file(path, today=TODAY)
        db = plan.databases["orders"]
        dsn = (
            f"postgresql://{ADMIN}:{PASSWORD}@localhost:{server.port}/orders"
            f"?sslmode=verify-full&sslrootcert={server.ca_file}"
        )
        connect = dsn_connector(dsn, db)
        audits, sweeps = [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = run_audit(plan, ["orders"], connect)
            audits.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_sweep(plan, ["orders"], connect, dry_run=True)
            sweeps.append(time.perf_counter() - start)
        failing = [f for f in result.findings if f.kind not in INFORMATIONAL]
        print(
            f"server: {PEOPLE} logins, {TABLES} tables per database; "
            f"findings to fix: {len(failing)} (expected 0)"
        )
        for name, times in (("audit (one database)", audits), ("sweep --dry-run", sweeps)):
            print(
                f"{name}: median {statistics.median(times) * 1000:.0f} ms, "
                f"max {max(times) * 1000:.0f} ms over {RUNS} runs"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
