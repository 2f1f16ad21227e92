"""A PostgreSQL server set up exactly as the program declares for a small access file.

Two access.yaml databases (orders, inventory) on one server, a Redshift database (skipped by
the audit), three people: ana (read-only on both), bob (read-write on orders) and carl, whose
read-only grant on inventory ended on 2026-01-31. `rds_iam` is an ordinary NOLOGIN role here.
The server gets the bootstrap (`dbaccess bootstrap`'s function, as the master user), then the
PostgreSQL resources the program declares, applied as the admin login with pulumi-postgresql's
SQL.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbaccess.access import load_access_file
from dbaccess.cli.preview_engine import OfflineMocks, Registration, run_program
from dbaccess.postgres.bootstrap import run_bootstrap
from tests import pg_translator, pgserver
from tests.program.conftest import ROOT, fake_resource_id, stack_config

TODAY = dt.date(2026, 11, 29)
ADMIN, ADMIN_PASSWORD = "dbaccess_admin", "admin-pw-7f3a9c"
# Locally the logins need a password to open sessions; on RDS they have none.
LOGIN_PASSWORD = "login-pw-51d0e2"

ACCESS_YAML = """\
version: 1
settings:
  unused_after_days: 90
databases:
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: main
    host: localhost
    port: {port}
    database: orders
    admin_login: dbaccess_admin
    schemas: [public, billing]
    table_owners: [orders_app]
  inventory:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: main
    host: localhost
    port: {port}
    database: inventory
    admin_login: dbaccess_admin
    table_owners: [inventory_app]
  analytics:
    engine: redshift
    account: "123456789012"
    region: eu-west-1
    cluster: dwh
    host: dwh.example.com
    port: 5439
    database: analytics
    groups: {{read-only: analysts_ro, read-write: analysts_rw}}
people:
  ana.silva@example.com:
    grants:
      - {{database: orders, access: read-only}}
      - {{database: inventory, access: read-only}}
  bob.jones@example.com:
    grants:
      - {{database: orders, access: read-write}}
  carl.old@example.com:
    grants:
      - {{database: inventory, access: read-only, until: 2026-01-31, reason: "stock count"}}
"""

RESET_SQL = """
DROP DATABASE IF EXISTS orders WITH (FORCE);
DROP DATABASE IF EXISTS inventory WITH (FORCE);
SELECT format('DROP OWNED BY %I; DROP ROLE %I;', rolname, rolname)
FROM pg_roles WHERE oid <> 10 AND rolname NOT LIKE 'pg\\_%' \\gexec
"""

# What exists before db-access: RDS's rds_iam, the applications' owners, databases, tables.
SERVER_SQL = """
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE orders_app NOLOGIN;
CREATE ROLE inventory_app NOLOGIN;
CREATE DATABASE orders;
CREATE DATABASE inventory;
"""
TABLES_SQL = {
    "orders": """
GRANT CREATE ON SCHEMA public TO orders_app;
CREATE SCHEMA billing AUTHORIZATION orders_app;
SET ROLE orders_app;
CREATE TABLE public.orders (id serial PRIMARY KEY, total int);
CREATE VIEW public.order_totals AS SELECT sum(total) AS total FROM public.orders;
CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, order_id int);
""",
    "inventory": """
GRANT CREATE ON SCHEMA public TO inventory_app;
SET ROLE inventory_app;
CREATE TABLE public.stock (sku text PRIMARY KEY, quantity int);
""",
}


def declared(directory: Path, access_yaml: str = ACCESS_YAML) -> list[Registration]:
    """What the program registers for the access file (under Pulumi's mock engine)."""
    access_file = directory / "access.yaml"
    access_file.write_text(access_yaml.format(port=5432))
    run = run_program(ROOT, stack_config(access_file), OfflineMocks(fake_resource_id), today=TODAY)
    return run.registrations


def build(
    server: pgserver.PostgresServer,
    directory: Path,
    registrations: list[Registration],
    access_yaml: str = ACCESS_YAML,
) -> Path:
    """Reset the server, run the bootstrap as the master user, then apply what the program
    declares as the admin login (tests/pg_translator.py). Returns the access file."""
    server.psql(RESET_SQL)
    server.psql(SERVER_SQL)
    path = directory / "access.yaml"
    path.write_text(access_yaml.format(port=server.port))
    plan = load_access_file(path, today=TODAY)
    audited = any(g.query_audit != "none" for g in plan.grants())  # one server
    for database, tables in TABLES_SQL.items():
        server.psql(tables, dbname=database)
        with server.connect(database) as conn:
            run_bootstrap(conn, plan.databases[database], dry_run=False, query_audit=audited)
    # Locally the admin and the logins need a password (on RDS: an IAM token). The docs
    # recommend pg_read_all_stats so that sweep can say since when a session runs.
    server.psql(
        'ALTER ROLE :"admin" PASSWORD :\'pw\'; GRANT pg_read_all_stats TO :"admin";',
        variables={"admin": ADMIN, "pw": ADMIN_PASSWORD},
    )

    def as_admin(database: str, sql: str) -> None:
        with psycopg.connect(dsn(server, database), autocommit=True) as conn:
            conn.execute(sql.encode())

    pg_translator.apply(registrations, as_admin, "orders")
    for login in ("anasilva_ro", "bobjones_rw"):
        server.psql(f"ALTER ROLE {login} PASSWORD :'pw'", variables={"pw": LOGIN_PASSWORD})
    return path


def dsn(server: pgserver.PostgresServer, database: str, password: str = ADMIN_PASSWORD) -> str:
    return (
        f"postgresql://{ADMIN}:{password}@{server.host}:{server.port}/{database}"
        f"?sslmode=verify-full&sslrootcert={server.ca_file}"
    )


def session(
    server: pgserver.PostgresServer, user: str, database: str, password: str = LOGIN_PASSWORD
) -> psycopg.Connection[Any]:
    """An open session of `user`, as psql or DBeaver would hold it."""
    return psycopg.connect(
        host=server.host,
        port=server.port,
        dbname=database,
        user=user,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(server.ca_file),
        autocommit=True,
    )


def stack_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, access_text: str) -> Path:
    """The Pulumi project directory (the prod stack, `access_text` as access.yaml) as the
    working directory, with runner credentials for moto: how audit and sweep run in CI."""
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "access.yaml").write_text(access_text)
    monkeypatch.chdir(tmp_path)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRUNNER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path
