"""`dbaccess bootstrap` on a real PostgreSQL that already runs applications.

GIVEN a server as a team has it before db-access: a master user (CREATEROLE, owner of the
databases, not a superuser, as on RDS), an application's table owner, a reporting login that
connects through PUBLIC's default CONNECT, an ETL login that created a table in `public` through
PUBLIC's CREATE (PostgreSQL 14 and earlier give it; here it is granted by hand), an IAM
application login, and a database whose PUBLIC CONNECT was already revoked by hand;
WHEN the master user runs `dbaccess bootstrap`,
THEN nobody who connected before is locked out, nobody gets in who could not, a second run
changes nothing, and `--dry-run` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbaccess.cli import app
from tests import pgserver
from tests.services import audit_world as world

pytestmark = [pytest.mark.postgres]

ADMIN = "dbaccess_admin"
MASTER, MASTER_PASSWORD = "master", "master-pw-93b1d7"
APP_PASSWORD = "app-pw-0c4e2a"

ACCESS_YAML = """\
version: 1
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
"""

ESTATE_SQL = """
CREATE ROLE rds_iam NOLOGIN;
CREATE ROLE master LOGIN CREATEROLE PASSWORD :'master_pw';
CREATE ROLE orders_app NOLOGIN;
GRANT orders_app TO master;
CREATE ROLE reporting LOGIN PASSWORD :'app_pw';
CREATE ROLE etl LOGIN PASSWORD :'app_pw';
CREATE ROLE iam_app LOGIN IN ROLE rds_iam;
CREATE ROLE outsider LOGIN PASSWORD :'app_pw';
CREATE ROLE stock_reader LOGIN PASSWORD :'app_pw';
CREATE DATABASE orders OWNER master;
CREATE DATABASE inventory OWNER master;
"""
ORDERS_SQL = """
GRANT CREATE ON SCHEMA public TO orders_app;
GRANT CREATE ON SCHEMA public TO PUBLIC;
CREATE SCHEMA billing AUTHORIZATION orders_app;
SET ROLE orders_app;
CREATE TABLE public.orders (id serial PRIMARY KEY);
CREATE TABLE billing.invoices (id serial PRIMARY KEY);
RESET ROLE;
SET ROLE etl;
CREATE TABLE public.etl_runs (id int);
"""
INVENTORY_SQL = """
REVOKE CONNECT, TEMPORARY ON DATABASE inventory FROM PUBLIC;
GRANT CONNECT ON DATABASE inventory TO stock_reader;
"""

# What the bootstrap may change: roles, memberships, database and schema ACLs.
CATALOG_SQL = """
SELECT rolname, rolcanlogin, rolcreaterole FROM pg_roles ORDER BY 1;
SELECT r.rolname, g.rolname, m.admin_option FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid ORDER BY 1, 2;
SELECT datname, datacl::text FROM pg_database ORDER BY 1;
"""
SCHEMAS_SQL = "SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1"


@pytest.fixture(scope="module")
def server() -> Iterator[pgserver.PostgresServer]:
    # Its own server: the test reads and changes server-wide roles.
    pgserver.require_postgres()
    started = pgserver.start_server()
    yield started
    started.stop()


@pytest.fixture
def access_file(server: pgserver.PostgresServer, tmp_path: Path) -> Path:
    server.psql(world.RESET_SQL)
    server.psql(ESTATE_SQL, variables={"master_pw": MASTER_PASSWORD, "app_pw": APP_PASSWORD})
    server.psql(ORDERS_SQL, dbname="orders")
    server.psql(INVENTORY_SQL, dbname="inventory")
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_YAML.format(port=server.port))
    return path


def dsn(
    server: pgserver.PostgresServer,
    database: str,
    user: str = MASTER,
    password: str = MASTER_PASSWORD,
) -> str:
    return (
        f"postgresql://{user}:{password}@{server.host}:{server.port}/{database}"
        f"?sslmode=verify-full&sslrootcert={server.ca_file}"
    )


def bootstrap(
    server: pgserver.PostgresServer, access_file: Path, database: str, *args: str
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["bootstrap", "--file", str(access_file), "--database", database, *args],
        env={"DBACCESS_MASTER_DSN": dsn(server, database)},
    )
    assert MASTER_PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def connects(server: pgserver.PostgresServer, login: str, database: str) -> bool:
    """Whether `login` may open a session; refused only for want of CONNECT."""
    try:
        with world.session(server, login, database, APP_PASSWORD) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if "permission denied for database" not in str(exc):
            raise
        return False
    return True


def can(server: pgserver.PostgresServer, login: str, database: str, statement: str) -> bool:
    try:
        with world.session(server, login, database, APP_PASSWORD) as conn:
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def catalog(server: pgserver.PostgresServer) -> dict[str, Any]:
    return {
        "server": server.psql(CATALOG_SQL),
        "orders": server.psql(SCHEMAS_SQL, dbname="orders"),
        "inventory": server.psql(SCHEMAS_SQL, dbname="inventory"),
    }


def direct_grantees(server: pgserver.PostgresServer, database: str) -> set[str]:
    rows = server.psql(
        "SELECT coalesce(r.rolname, 'PUBLIC') FROM pg_database d "
        "CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
        "LEFT JOIN pg_roles r ON r.oid = a.grantee "
        f"WHERE d.datname = '{database}' AND a.privilege_type = 'CONNECT'"
    )
    return set(rows.split())


def test_an_application_that_connected_before_still_connects(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    assert connects(server, "reporting", "orders")

    code, out, err = bootstrap(server, access_file, "orders")

    assert code == 0, err
    assert connects(server, "reporting", "orders")
    assert can(server, "reporting", "orders", "CREATE TEMPORARY TABLE t (id int)")
    # It is said, with why; and so is everyone else's access.
    lines = out.splitlines()
    said = "reporting granted CONNECT and TEMPORARY directly: had them only via PUBLIC"
    assert any(" ".join(line.split()) == said for line in lines), out
    assert any(line.split()[:1] == ["iam_app"] for line in lines)
    assert 'GRANT CONNECT ON DATABASE "orders" TO "reporting";' in out
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE "orders" FROM PUBLIC;' in out
    # PUBLIC's CONNECT is gone: a login made later has only what it is granted.
    assert "PUBLIC" not in direct_grantees(server, "orders")
    assert {"reporting", "iam_app", "master", ADMIN} <= direct_grantees(server, "orders")
    server.psql("CREATE ROLE newcomer LOGIN PASSWORD :'pw'", variables={"pw": APP_PASSWORD})
    assert not connects(server, "newcomer", "orders")


def test_a_login_that_could_not_connect_still_cannot(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    assert not connects(server, "outsider", "inventory")
    assert connects(server, "stock_reader", "inventory")

    code, out, err = bootstrap(server, access_file, "inventory")

    assert code == 0, err
    assert not connects(server, "outsider", "inventory")
    assert connects(server, "stock_reader", "inventory")
    assert "Cannot connect, as before: " in out
    assert "outsider" in out.split("Cannot connect, as before: ")[1].splitlines()[0]
    assert 'GRANT CONNECT ON DATABASE "inventory" TO "outsider"' not in out


def test_create_is_kept_by_who_created_there_and_gone_for_everyone_else(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    may_create = "SELECT has_schema_privilege('reporting', 'public', 'CREATE')"
    assert server.psql(may_create, dbname="orders") == "t"

    code, out, err = bootstrap(server, access_file, "orders")

    assert code == 0, err
    assert can(server, "etl", "orders", "CREATE TABLE public.etl_more (id int)")
    assert not can(server, "reporting", "orders", "CREATE TABLE public.r2 (id int)")
    assert "CREATE on schema public from PUBLIC goes: kept by etl (owns objects there)" in out


def test_a_second_run_changes_nothing_and_says_so(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    assert bootstrap(server, access_file, "orders")[0] == 0
    after_first = catalog(server)

    code, out, err = bootstrap(server, access_file, "orders")

    assert code == 0, err
    assert catalog(server) == after_first
    assert "Nothing to change: orders is already bootstrapped." in out
    assert "Ran" not in out
    assert connects(server, "reporting", "orders")


def test_dry_run_prints_the_sql_and_who_keeps_access_and_changes_nothing(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    before = catalog(server)

    code, out, err = bootstrap(server, access_file, "orders", "--dry-run")

    assert code == 0, err
    assert catalog(server) == before
    assert 'CREATE ROLE "dbaccess_admin" WITH LOGIN CREATEROLE;' in out
    assert 'GRANT "dbaccess_managed" TO "dbaccess_admin" WITH ADMIN OPTION;' in out
    assert 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in out
    assert 'GRANT "orders_app" TO "dbaccess_admin";' in out
    assert "reporting" in out.split("Who can connect to orders after it:")[1]
    assert out.rstrip().endswith("nothing was changed.")


def test_the_admin_and_the_mark_are_set_up(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    assert bootstrap(server, access_file, "orders")[0] == 0

    memberships = server.psql(
        "SELECT g.rolname || ':' || m.admin_option FROM pg_auth_members m "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = 'dbaccess_admin'::regrole "
        "ORDER BY 1"
    )
    assert memberships.split() == [
        "dbaccess_managed:true",
        "orders_app:false",
        "pg_signal_backend:false",
        "rds_iam:true",
    ]
    assert (
        server.psql(
            "SELECT rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = 'dbaccess_admin'"
        )
        == "t|t"
    )
    assert server.psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'dbaccess_managed'") == "f"


def test_a_person_login_the_program_makes_later_connects_only_through_its_group(
    server: pgserver.PostgresServer, tmp_path: Path
) -> None:
    # audit_world bootstraps with the same function, then applies the program as the admin.
    world.build(server, tmp_path, world.declared(tmp_path))

    for login in ("anasilva_ro", "bobjones_rw"):
        assert login not in direct_grantees(server, "orders")
        assert login not in direct_grantees(server, "inventory")
    with world.session(server, "bobjones_rw", "orders") as conn:
        conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        world.session(server, "bobjones_rw", "inventory")


def test_a_login_db_access_made_gets_no_direct_connect(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    # A database added to access.yaml after the first deploy: a person login of the server
    # (carrying the mark) reached it through PUBLIC, and must not keep it past its grants.
    server.psql(
        "CREATE ROLE dbaccess_managed NOLOGIN; "
        "CREATE ROLE zoe_ro LOGIN PASSWORD :'pw' IN ROLE rds_iam, dbaccess_managed",
        variables={"pw": APP_PASSWORD},
    )
    assert connects(server, "zoe_ro", "orders")

    code, out, err = bootstrap(server, access_file, "orders")

    assert code == 0, err
    assert not connects(server, "zoe_ro", "orders")
    assert "zoe_ro" not in direct_grantees(server, "orders")
    assert "and 1 login db-access made: through their database groups only" in out
    assert 'CREATE ROLE "dbaccess_managed"' not in out  # the mark exists already


# --- errors ----------------------------------------------------------------------------------


def test_an_unknown_database_is_refused_with_a_suggestion(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    code, _, err = bootstrap(server, access_file, "ordres")

    assert code == 2
    assert "no database 'ordres'" in err
    assert "did you mean 'orders'" in err


def test_a_redshift_database_is_refused(server: pgserver.PostgresServer, access_file: Path) -> None:
    code, _, err = bootstrap(server, access_file, "analytics")

    assert code == 2
    assert "'analytics' is a redshift database" in err


def test_a_wrong_password_says_it_cannot_connect_without_the_password(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["bootstrap", "--file", str(access_file), "--database", "orders"],
        env={
            "DBACCESS_MASTER_DSN": dsn(server, "orders", password="wrong-pw-1"),
        },
    )

    assert result.exit_code == 1
    assert "cannot connect to orders as the master user" in result.stderr
    assert "password authentication failed" in result.stderr
    assert "wrong-pw-1" not in result.stdout + result.stderr


def test_a_login_that_is_not_the_master_is_told_so_and_nothing_changes(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    before = catalog(server)
    result = CliRunner().invoke(
        app,
        ["bootstrap", "--file", str(access_file), "--database", "orders"],
        env={"DBACCESS_MASTER_DSN": dsn(server, "orders", "reporting", APP_PASSWORD)},
    )

    assert result.exit_code == 1
    assert "'reporting' may not create roles" in result.stderr
    assert "master user" in result.stderr
    assert catalog(server) == before


def test_what_the_master_may_not_do_changes_nothing_at_all(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    # Without membership in orders_app, the master cannot pass on USAGE on orders_app's
    # schema: PostgreSQL only warns, and nothing of the rest may stay half done.
    server.psql("REVOKE orders_app FROM master")
    before = catalog(server)

    code, _, err = bootstrap(server, access_file, "orders")

    assert code == 1
    assert 'GRANT USAGE ON SCHEMA "billing" TO "dbaccess_admin" WITH GRANT OPTION' in err
    assert "Nothing was changed" in err
    assert catalog(server) == before
    assert connects(server, "reporting", "orders")


def test_without_dsn_it_connects_to_the_access_file_host_as_the_master_user(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bootstrap",
            "--file",
            str(access_file),
            "--database",
            "orders",
            "--master-user",
            MASTER,
            "--ca-bundle",
            str(server.ca_file),
        ],
        env={"DBACCESS_MASTER_PASSWORD": MASTER_PASSWORD, "DBACCESS_MASTER_DSN": None},
    )

    assert result.exit_code == 0, result.stderr
    assert "  as master" in result.stdout
    assert MASTER_PASSWORD not in result.stdout + result.stderr
    assert connects(server, "reporting", "orders")


def test_without_a_master_user_it_says_how_to_name_one(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["bootstrap", "--file", str(access_file), "--database", "orders"],
        env={"DBACCESS_MASTER_DSN": None, "DBACCESS_MASTER_USER": None},
    )

    assert result.exit_code == 2
    assert "name the master user: --master-user NAME" in result.stderr
