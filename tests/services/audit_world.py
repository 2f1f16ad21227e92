"""A PostgreSQL server set up exactly as the program declares for a small access file.

Two access.yaml databases (orders, inventory) on one server, a Redshift database (skipped by
the audit), three people: ana (read-only on both), bob (read-write on orders) and carl, whose
read-only grant on inventory ended on 2026-01-31. `rds_iam` is an ordinary NOLOGIN role here.
The SQL below is what the bootstrap (README) and the PostgresUsers component declare.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg

from tests import pgserver

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

# The README's bootstrap: rds_iam (RDS has it), the admin login, PUBLIC without CONNECT.
BOOTSTRAP_SQL = """
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE dbaccess_admin LOGIN CREATEROLE PASSWORD :'admin_password' IN ROLE rds_iam;
GRANT pg_signal_backend, pg_read_all_stats TO dbaccess_admin;
CREATE ROLE orders_app NOLOGIN;
CREATE ROLE inventory_app NOLOGIN;
CREATE DATABASE orders OWNER orders_app;
CREATE DATABASE inventory OWNER inventory_app;
REVOKE CONNECT, TEMPORARY ON DATABASE orders FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE inventory FROM PUBLIC;
GRANT CONNECT ON DATABASE orders, inventory TO dbaccess_admin;
"""

# The applications' own tables, made by their owners.
ORDERS_TABLES_SQL = """
SET ROLE orders_app;
CREATE SCHEMA billing;
CREATE TABLE public.orders (id serial PRIMARY KEY, total int);
CREATE VIEW public.order_totals AS SELECT sum(total) AS total FROM public.orders;
CREATE TABLE billing.invoices (id bigserial PRIMARY KEY, order_id int);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
"""
INVENTORY_TABLES_SQL = """
SET ROLE inventory_app;
CREATE TABLE public.stock (sku text PRIMARY KEY, quantity int);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
"""

# PostgresUsers: per database, two groups with CONNECT, schema and object privileges
# (dbaccess/privileges.py) and default privileges per table owner.
GROUPS_SQL = """
CREATE ROLE :"ro" NOLOGIN;
CREATE ROLE :"rw" NOLOGIN;
GRANT CONNECT ON DATABASE :"db" TO :"ro", :"rw";
"""
PRIVILEGES_SQL = """
GRANT USAGE ON SCHEMA {schemas} TO :"ro", :"rw";
GRANT SELECT ON ALL TABLES IN SCHEMA {schemas} TO :"ro";
GRANT SELECT, USAGE ON ALL SEQUENCES IN SCHEMA {schemas} TO :"ro";
GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN SCHEMA {schemas} TO :"rw";
GRANT SELECT, UPDATE, USAGE ON ALL SEQUENCES IN SCHEMA {schemas} TO :"rw";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA {schemas} GRANT SELECT ON TABLES TO :"ro";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA {schemas}
    GRANT SELECT, USAGE ON SEQUENCES TO :"ro";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA {schemas}
    GRANT DELETE, INSERT, SELECT, UPDATE ON TABLES TO :"rw";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA {schemas}
    GRANT SELECT, UPDATE, USAGE ON SEQUENCES TO :"rw";
"""
# One login per person, access level and server: rds_iam plus the group of each grant.
LOGINS_SQL = """
CREATE ROLE anasilva_ro LOGIN CONNECTION LIMIT 10 PASSWORD :'pw'
    IN ROLE rds_iam, dbaccess_orders_ro, dbaccess_inventory_ro;
CREATE ROLE bobjones_rw LOGIN CONNECTION LIMIT 10 PASSWORD :'pw' IN ROLE rds_iam, dbaccess_orders_rw;
"""


def build(server: pgserver.PostgresServer, directory: Path) -> Path:
    """Reset the server to exactly what the plan declares; return the access file's path."""
    server.psql(RESET_SQL)
    server.psql(BOOTSTRAP_SQL, variables={"admin_password": ADMIN_PASSWORD})
    server.psql(ORDERS_TABLES_SQL, dbname="orders")
    server.psql(INVENTORY_TABLES_SQL, dbname="inventory")
    for db, schemas, owner in (
        ("orders", "public, billing", "orders_app"),
        ("inventory", "public", "inventory_app"),
    ):
        names = {"db": db, "ro": f"dbaccess_{db}_ro", "rw": f"dbaccess_{db}_rw", "owner": owner}
        server.psql(GROUPS_SQL, variables=names)
        server.psql(PRIVILEGES_SQL.format(schemas=schemas), dbname=db, variables=names)
    server.psql(LOGINS_SQL, variables={"pw": LOGIN_PASSWORD})
    path = directory / "access.yaml"
    path.write_text(ACCESS_YAML.format(port=server.port))
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
