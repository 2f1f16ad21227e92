"""What the program declares, applied to a real PostgreSQL, gives exactly the access the plan says.

GIVEN two access.yaml databases on one server (orders and stock on instance `shop`), the
bootstrap (`dbaccess bootstrap`'s function) run by the master user, and the PostgreSQL
resources the program declares under the mock engine applied *as the admin login* with the
SQL pulumi-postgresql runs (tests/pg_translator.py) — THEN every login reaches exactly the
databases, schemas and operations its grants give, and nothing else.

The local server cannot check IAM tokens: `rds_iam` is an ordinary NOLOGIN role here and each
login gets a password, set by the test, to stand in for its token.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbaccess.access import load_access_file
from dbaccess.cli.preview_engine import OfflineMocks, run_program
from dbaccess.postgres.bootstrap import run_bootstrap
from tests import pg_translator, pgserver
from tests.program.conftest import ROOT, fake_resource_id, stack_config

pytestmark = [pytest.mark.postgres]

TODAY = dt.date(2026, 11, 23)
ADMIN = "dbaccess_admin"
PASSWORD = "local-stand-in-for-an-iam-token"
ACCESS = """\
version: 1
databases:
  shop-orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: shop
    host: shop.c9akciq32.eu-west-1.rds.amazonaws.com
    port: 5432
    database: orders
    admin_login: dbaccess_admin
    schemas: [public, billing]
    table_owners: [orders_app]
  shop-stock:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: shop
    host: shop.c9akciq32.eu-west-1.rds.amazonaws.com
    port: 5432
    database: stock
    admin_login: dbaccess_admin
    table_owners: [stock_app]
people:
  ana@example.com:
    grants:
      - {database: shop-orders, access: read-only}
  bo@example.com:
    grants:
      - {database: shop-orders, access: read-write}
      - {database: shop-stock, access: read-only}
  cy@example.com:
    grants:
      - {database: shop-stock, access: read-write, until: 2026-12-31, reason: "STOCK-7"}
"""
# database -> schema -> tables (owned by the database's table owner), plus one schema the
# access file does not manage.
TABLES = {
    "orders": {"public": ["items"], "billing": ["invoices"]},
    "stock": {"public": ["levels"]},
}
OWNERS = {"orders": "orders_app", "stock": "stock_app"}
UNMANAGED = ("orders", "secret", "keys")
LATER = ("orders", "public", "later")  # created by its owner after the deploy


@dataclass
class World:
    server: pgserver.PostgresServer
    access_file: Path

    def as_user(self, user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        """Run SQL as `user` over TCP with verify-full TLS, the way a person connects."""
        return subprocess.run(
            [self.server.psql_path, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=self.server.client_env(user, PASSWORD, database),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def run_as_admin(self, database: str, sql: str) -> None:
        proc = self.as_user(ADMIN, database, sql)
        if proc.returncode != 0:
            raise pgserver.PostgresError(proc.stderr.strip())

    def can(self, login: str, database: str, sql: str) -> bool:
        proc = self.as_user(login, database, sql)
        if proc.returncode != 0:
            # Refusals only: anything else is a broken test, not a finding.
            assert "permission denied" in proc.stderr or "must be owner" in proc.stderr, proc.stderr
        return proc.returncode == 0


def setup_server(server: pgserver.PostgresServer) -> None:
    server.psql("CREATE ROLE rds_iam NOLOGIN")  # RDS has it; here it is an ordinary role
    for database, schemas in TABLES.items():
        owner = OWNERS[database]
        server.psql(f"CREATE ROLE {owner} NOLOGIN")
        server.psql(f"CREATE DATABASE {database}")
        statements = [f"GRANT CREATE ON SCHEMA public TO {owner}"]
        for schema, tables in schemas.items():
            if schema != "public":
                statements.append(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}")
            for table in tables:
                statements += [
                    f"CREATE TABLE {schema}.{table} (id serial PRIMARY KEY, v text)",
                    f"ALTER TABLE {schema}.{table} OWNER TO {owner}",
                    f"INSERT INTO {schema}.{table} (v) VALUES ('x')",
                ]
        server.psql(";\n".join(statements) + ";", dbname=database)
    database, schema, table = UNMANAGED
    server.psql(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.{table} (v text);", dbname=database)


def bootstrap(server: pgserver.PostgresServer, access_file: Path) -> None:
    """`dbaccess bootstrap`, run by the master user once per managed database."""
    plan = load_access_file(access_file, today=TODAY)
    for db in plan.databases.values():
        with server.connect(db.name) as conn:
            run_bootstrap(conn, db, dry_run=False)
    server.psql(f"ALTER ROLE {ADMIN} PASSWORD '{PASSWORD}'")


@pytest.fixture(scope="module")
def own_server() -> Iterator[pgserver.PostgresServer]:
    """A server of its own: the roles and databases here are server-wide and would be
    findings for other tests on the shared one (and theirs would be noise here)."""
    pgserver.require_postgres()
    server = pgserver.start_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(own_server: pgserver.PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    access_file = tmp_path_factory.mktemp("matrix") / "access.yaml"
    access_file.write_text(ACCESS)
    setup_server(own_server)
    bootstrap(own_server, access_file)
    world = World(own_server, access_file)
    run = run_program(ROOT, stack_config(access_file), OfflineMocks(fake_resource_id), today=TODAY)
    assert pg_translator.apply(run.registrations, world.run_as_admin, "orders") > 0
    plan = load_access_file(access_file, today=TODAY)
    for grant in plan.grants():
        own_server.psql(f"ALTER ROLE {grant.login} PASSWORD '{PASSWORD}'")
    # A table its owner creates after the deploy: default privileges must cover it.
    database, schema, table = LATER
    own_server.psql(
        f"SET ROLE {OWNERS[database]}; CREATE TABLE {schema}.{table} (v text); "
        f"INSERT INTO {schema}.{table} VALUES ('y');",
        dbname=database,
    )
    return world


def expected_access(world: World) -> dict[tuple[str, str], str]:
    """(login, database name) -> access level, from the plan."""
    plan = load_access_file(world.access_file, today=TODAY)
    return {(g.login, plan.databases[g.database].name): g.access for g in plan.grants()}


def test_one_login_per_person_and_level_on_the_shared_server(world: World) -> None:
    logins = world.server.psql(
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolcanlogin "
        "AND oid IN (SELECT member FROM pg_auth_members WHERE roleid = 'rds_iam'::regrole) "
        "AND rolname <> 'dbaccess_admin'"
    )
    assert logins.split(",") == ["ana_ro", "bo_ro", "bo_rw", "cy_rw"]


def test_every_login_reaches_exactly_what_its_grants_give(world: World) -> None:
    expected = expected_access(world)
    logins = sorted({login for login, _ in expected})
    for login in logins:
        for database, schemas in TABLES.items():
            access = expected.get((login, database))
            assert world.can(login, database, "SELECT 1") == (access is not None), (login, database)
            if access is None:
                continue
            for schema, tables in schemas.items():
                later = [LATER[2]] if (database, schema) == LATER[:2] else []
                for table in [*tables, *later]:
                    name = f"{schema}.{table}"
                    assert world.can(login, database, f"SELECT v FROM {name}"), (login, name)
                    writes = world.can(login, database, f"INSERT INTO {name} (v) VALUES ('w')")
                    assert writes == (access == "read-write"), (login, name)
                    assert not world.can(login, database, f"DROP TABLE {name}"), (login, name)
                assert not world.can(login, database, f"CREATE TABLE {schema}.mine (v text)")
            if database == UNMANAGED[0]:
                assert not world.can(
                    login, database, f"SELECT * FROM {UNMANAGED[1]}.{UNMANAGED[2]}"
                )


def test_a_login_that_owns_something_is_not_dropped_and_nothing_is_reassigned(world: World) -> None:
    # Somehow (by hand, by an old bug) a person login came to own a SECURITY DEFINER function.
    world.server.psql(
        "CREATE FUNCTION public.whoami() RETURNS text LANGUAGE sql SECURITY DEFINER "
        "AS 'SELECT current_user::text'; ALTER FUNCTION public.whoami() OWNER TO bo_rw;",
        dbname="orders",
    )
    run = run_program(
        ROOT, stack_config(world.access_file), OfflineMocks(fake_resource_id), today=TODAY
    )
    [login] = [
        r
        for r in run.registrations
        if r.type == "postgresql:index/role:Role" and r.inputs["name"] == "bo_rw"
    ]
    statements = pg_translator.delete_role(login.inputs, ADMIN)
    assert not any(s.startswith("REASSIGN") for s in statements)
    with pytest.raises(
        pgserver.PostgresError, match="cannot be dropped because some objects depend on it"
    ):
        world.run_as_admin("orders", ";\n".join(statements) + ";")
    owner = world.server.psql(
        "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'whoami'", dbname="orders"
    )
    assert owner == "bo_rw"  # not handed to the admin: the deploy stops and says why
    world.server.psql("DROP FUNCTION public.whoami()", dbname="orders")
