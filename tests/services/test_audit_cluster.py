"""Audit and sweep visit every instance of an Aurora cluster: sessions and the calls that end
them are per instance, and a grant's token opens the reader endpoints too.

GIVEN an Aurora cluster `main` in moto with a writer (main-1) and a reader (main-2), and two
local servers standing in for them (two PostgreSQL servers set up as the program declares;
two MariaDB servers for Aurora MySQL), WHEN sweep runs, THEN the members come from
rds:DescribeDBClusters / DescribeDBInstances and a session on the reader is found and ended,
reported by its instance; audit reads the writer and reports an unreachable reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pymysql
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dbaccess.access import AccessPlan, load_access_file, load_access_text
from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.instances import Instance, rds_members
from dbaccess.audit.results import SweepResult
from dbaccess.audit.sweep_rules import NOT_GIVEN
from dbaccess.cli import app
from dbaccess.cli.preview_engine import Registration
from dbaccess.mysql import apply
from dbaccess.mysql.audit import MysqlAccess, sweep_mysql
from dbaccess.mysql.spec import mysql_servers
from dbaccess.postgres.audit import run_audit
from dbaccess.postgres.connect import Connection, Reach, dsn_connector, iam_members
from dbaccess.postgres.sweep import run_sweep
from tests import mysql_local, mysqlserver, pgserver
from tests.program.conftest import TODAY
from tests.services import audit_world as world

pytestmark = [pytest.mark.postgres, pytest.mark.mysql]

REGION, ACCOUNT = "eu-west-1", "123456789012"
WRITER, READER = "main-1", "main-2"


def as_cluster(access_text: str) -> str:
    """The world's access file with its PostgreSQL server turned into Aurora cluster `main`."""
    text = access_text.replace("    engine: postgres\n", "    engine: aurora-postgresql\n")
    return text.replace("    instance: main\n", "    cluster: main\n")


def make_cluster(engine: str, port: int) -> None:
    """Cluster `main` with its writer created first (moto makes it the writer)."""
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_cluster(
        DBClusterIdentifier="main",
        Engine=engine,
        MasterUsername="master",
        MasterUserPassword="not-used-12345",
        Port=port,
    )
    for name in (WRITER, READER):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.r6g.large",
            Engine=engine,
            DBClusterIdentifier="main",
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRUNNER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-secret")
    with mock_aws():
        yield


def moto_members() -> Any:
    return rds_members(lambda db: boto3.client("rds", region_name=db.region))


def test_members_are_listed_with_the_deploy_role_writer_first(aws: None) -> None:
    make_cluster("aurora-postgresql", 5432)
    plan = load_access_text(as_cluster(world.ACCESS_YAML.format(port=5432)), "access.yaml")
    members = iam_members(
        {ACCOUNT: f"arn:aws:iam::{ACCOUNT}:role/dbaccess-deploy"},
        lambda region: boto3.client("sts", region_name=region),
    )
    found = members(plan.databases["orders"])
    assert [(i.name, i.port) for i in found] == [(WRITER, 5432), (READER, 5432)]
    assert found[1].host.startswith(f"{READER}.")
    # An RDS instance is the host access.yaml names: no AWS call.
    instance = load_access_text(world.ACCESS_YAML.format(port=5439), "access.yaml")
    assert members(instance.databases["orders"]) == [Instance("main", "localhost", 5439)]


def test_a_cluster_that_cannot_be_listed_is_an_error_not_a_silent_skip(aws: None) -> None:
    plan = load_access_text(as_cluster(world.ACCESS_YAML.format(port=5432)), "access.yaml")

    def never(db: DatabaseSpec, instance: Instance) -> Connection:
        raise AssertionError("no member, no connection")

    swept = run_sweep(plan, [], Reach(never, moto_members()), dry_run=True)
    [error] = swept.errors
    assert "not swept: listing the instances of cluster main" in error
    assert "DBClusterNotFoundFault" in error
    audited = run_audit(plan, ["orders"], Reach(never, moto_members()))
    assert [(f.database, f.kind) for f in audited.findings] == [("orders", "unreachable")]


# --- Aurora PostgreSQL: two local servers ------------------------------------------------------


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, pgserver.PostgresServer]]:
    pgserver.require_postgres()
    started = {WRITER: pgserver.start_server(), READER: pgserver.start_server()}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def registrations(tmp_path_factory: pytest.TempPathFactory) -> list[Registration]:
    return world.declared(tmp_path_factory.mktemp("program"))


@pytest.fixture
def cluster(
    servers: dict[str, pgserver.PostgresServer],
    registrations: list[Registration],
    tmp_path: Path,
    aws: None,
) -> Path:
    """Both servers as the program declares (Aurora's members share one catalog), carl's
    expired login made by db-access on both; the access file names cluster `main`."""
    for name, server in servers.items():
        (tmp_path / name).mkdir()
        world.build(server, tmp_path / name, registrations)
        server.psql(
            "CREATE ROLE carlold_ro LOGIN PASSWORD :'pw' "
            "IN ROLE rds_iam, dbaccess_managed, dbaccess_inventory_ro;"
            "CREATE ROLE eve_ro LOGIN PASSWORD :'pw' IN ROLE rds_iam;"
            "GRANT CONNECT ON DATABASE inventory TO eve_ro;",
            variables={"pw": world.LOGIN_PASSWORD},
        )
    make_cluster("aurora-postgresql", servers[WRITER].port)
    path = tmp_path / "access.yaml"
    path.write_text(as_cluster(world.ACCESS_YAML.format(port=servers[WRITER].port)))
    return path


def local_reach(
    servers: dict[str, pgserver.PostgresServer], reader_password: str = world.ADMIN_PASSWORD
) -> Reach:
    """Members from moto; each instance's connection goes to the local server standing in."""
    passwords = {WRITER: world.ADMIN_PASSWORD, READER: reader_password}

    def connect(db: DatabaseSpec, instance: Instance) -> Connection:
        server = servers[instance.name]
        reach = dsn_connector(world.dsn(server, db.name, passwords[instance.name]), db)
        (local,) = reach.members(db)
        return reach.connect(db, local)

    return Reach(connect, moto_members())


def test_sweep_ends_the_session_on_the_reader_and_names_its_instance(
    servers: dict[str, pgserver.PostgresServer], cluster: Path
) -> None:
    plan = load_access_file(cluster, today=TODAY)
    on_writer = {u: world.session(servers[WRITER], u, "inventory") for u in ("anasilva_ro",)}
    on_reader = {
        u: world.session(servers[READER], u, "inventory")
        for u in ("anasilva_ro", "carlold_ro", "eve_ro")
    }
    try:
        result = run_sweep(plan, [], local_reach(servers), dry_run=False)

        assert result.errors == []
        assert [(e.instance, e.login, e.database, e.reason) for e in result.ended] == [
            (READER, "carlold_ro", "inventory", NOT_GIVEN)
        ]
        assert result.ended[0].pid == on_reader["carlold_ro"].info.backend_pid
        with pytest.raises(psycopg.OperationalError):
            on_reader["carlold_ro"].execute("SELECT 1")
        for conn in (*on_writer.values(), on_reader["anasilva_ro"], on_reader["eve_ro"]):
            conn.execute("SELECT 1")
    finally:
        for conn in (*on_writer.values(), *on_reader.values()):
            conn.close()


def test_audit_reads_the_writer_and_reports_a_reader_it_cannot_reach(
    servers: dict[str, pgserver.PostgresServer], cluster: Path
) -> None:
    plan = load_access_file(cluster, today=TODAY)

    clean = run_audit(plan, ["orders"], local_reach(servers))
    assert clean.instances == [WRITER, READER]
    # carl and eve are undeclared logins; the catalog is read once, on the writer.
    assert {(f.instance, f.kind) for f in clean.findings} == {
        (WRITER, "master-login"),
        (WRITER, "undeclared-login"),
    }

    wrong = "not-the-" + world.ADMIN_PASSWORD
    broken = run_audit(plan, ["orders"], local_reach(servers, reader_password=wrong))
    assert broken.instances == [WRITER]
    [unreachable] = [f for f in broken.findings if f.kind == "unreachable"]
    assert (unreachable.instance, unreachable.database) == (READER, "orders")
    assert unreachable.subject.startswith(f"{READER}.")
    assert wrong not in unreachable.detail


def test_a_dsn_lists_each_instance_of_a_cluster(
    servers: dict[str, pgserver.PostgresServer], cluster: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "both-cas.pem"
    bundle.write_text("".join(s.ca_file.read_text() for s in servers.values()))
    hosts = ",".join(f"localhost:{s.port}" for s in servers.values())
    dsn = (
        f"postgresql://{world.ADMIN}:{world.ADMIN_PASSWORD}@{hosts}/inventory"
        f"?sslmode=verify-full&sslrootcert={bundle}"
    )
    carl = world.session(servers[READER], "carlold_ro", "inventory")
    try:
        result = CliRunner().invoke(
            app,
            ["sweep", "--file", str(cluster), "--database", "inventory", "--format", "json"],
            env={"DBACCESS_DSN": dsn},
        )
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert [(e["instance"], e["login"]) for e in document["ended"]] == [
            (f"localhost:{servers[READER].port}", "carlold_ro")
        ]
        assert world.ADMIN_PASSWORD not in result.output
    finally:
        carl.close()


# --- Aurora MySQL: two MariaDB servers ---------------------------------------------------------

ADMIN = "clu_admin"
CLUSTER_MYSQL = """\
version: 1
databases:
  clu:
    engine: aurora-mysql
    account: "123456789012"
    region: eu-west-1
    cluster: main
    host: main.cluster-abc.eu-west-1.rds.amazonaws.com
    port: 3306
    database: clu_a
    admin_login: clu_admin
people:
  ann@example.com:
    grants:
      - {database: clu, access: read-only}
"""


@pytest.fixture(scope="module")
def mariadbs(mysql_server: mysqlserver.MariaDBServer) -> Iterator[dict[str, Any]]:
    """The session's MariaDB as the writer, a second one as the reader: each bootstrapped,
    with ann's login and old_clu_ro (made by db-access, no longer declared)."""
    reader = mysqlserver.start_server()
    found = {WRITER: mysql_server, READER: reader}
    plan = load_access_text(CLUSTER_MYSQL, "access.yaml", today=TODAY)
    (server,) = mysql_servers(plan)
    for srv in found.values():
        srv.sql("CREATE DATABASE clu_a")
        mysql_local.bootstrap(srv, ADMIN, ["clu_a"])
        with mysql_local.connect(srv, ADMIN) as conn:
            for login in server.spec.logins:
                apply.create_login(conn, login, mysql_local.AUTH)
        srv.sql(
            f"CREATE USER 'old_clu_ro'@'%' {mysql_local.AUTH} REQUIRE SSL;"
            "GRANT dbaccess_managed TO 'old_clu_ro'@'%'"
        )
    yield found
    mysql_server.sql(
        "DROP DATABASE clu_a; DROP USER 'ann_ro'@'%', 'old_clu_ro'@'%', 'clu_admin'@'%'"
    )
    reader.stop()


def test_mysql_sweep_ends_the_session_on_the_reader(
    mariadbs: dict[str, mysqlserver.MariaDBServer], aws: None
) -> None:
    make_cluster("aurora-mysql", 3306)
    plan: AccessPlan = load_access_text(CLUSTER_MYSQL, "access.yaml", today=TODAY)
    access = MysqlAccess(
        lambda db, instance: mysql_local.connect(mariadbs[instance.name], str(db.admin_login)),
        members=moto_members(),
        iam_plugin=mysql_local.PLUGIN,
        rds=False,
    )
    old = mysql_local.connect(mariadbs[READER], "old_clu_ro")
    ann = mysql_local.connect(mariadbs[READER], "ann_ro")
    try:
        result = SweepResult(dry_run=False)
        sweep_mysql(plan, [], access, result)
        assert result.errors == []
        assert [(e.instance, e.login, e.reason) for e in result.ended] == [
            (READER, "old_clu_ro", NOT_GIVEN)
        ]
        with pytest.raises(pymysql.err.OperationalError):
            old.ping(reconnect=False)
        ann.ping(reconnect=False)
    finally:
        for conn in (old, ann):
            if conn.open:
                conn.close()
