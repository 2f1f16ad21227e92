"""`dbaccess doctor --operator`: what a deploy needs, checked before it runs.

GIVEN servers described by moto (an RDS instance, an Aurora cluster, a Redshift cluster, their
parameter groups), the test PostgreSQL standing in for the instance (reached with --dsn, or
with the admin's IAM token, which it refuses), and the fake PrivateBin,
WHEN an operator runs `dbaccess doctor --operator` in the project directory,
THEN each check is ✓, ✗ with the console setting or command that fixes it, or ? when it cannot
be checked; any ✗ exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dbaccess.access import load_access_text
from dbaccess.cli import app
from dbaccess.cli.doctor import Report, privatebin_checks, privatebin_page
from dbaccess.cli.identity import EngineerError
from dbaccess.mysql import preflight as preflight_mysql
from dbaccess.preflight import Failed
from tests import mysql_local, pgserver
from tests.fakes.privatebin import FakePrivateBin
from tests.mysqlserver import MariaDBServer
from tests.services.audit_world import RESET_SQL, stack_project

pytestmark = [pytest.mark.postgres]

REGION = "eu-west-1"
ADMIN, PASSWORD = "dbaccess_admin", "admin-pw-1c9e"
ACCESS = """\
version: 1
databases:
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders-db
    host: localhost
    port: {port}
    database: orders
    admin_login: dbaccess_admin
  payments:
    engine: aurora-postgresql
    account: "123456789012"
    region: eu-west-1
    cluster: payments
    host: localhost
    port: {closed}
    database: payments
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
"""
# What `dbaccess bootstrap` leaves on a server, and what RDS has before it (rds_iam).
READY_SQL = f"""
CREATE ROLE rds_iam NOLOGIN;
CREATE DATABASE orders;
CREATE ROLE {ADMIN} LOGIN CREATEROLE PASSWORD '{PASSWORD}';
GRANT rds_iam TO {ADMIN};
GRANT pg_signal_backend TO {ADMIN};
CREATE ROLE dbaccess_managed NOLOGIN;
GRANT dbaccess_managed TO {ADMIN} WITH ADMIN OPTION;
REVOKE CONNECT, TEMPORARY ON DATABASE orders FROM PUBLIC;
GRANT CONNECT ON DATABASE orders TO {ADMIN};
"""


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_server: pgserver.PostgresServer
) -> Iterator[Path]:
    pg_server.psql(RESET_SQL)
    pg_server.psql(READY_SQL)
    text = ACCESS.format(port=pg_server.port, closed=closed_port())
    project = stack_project(tmp_path, monkeypatch, text)
    with mock_aws():
        yield project
    pg_server.psql(RESET_SQL)  # the shared server as later modules expect it: no `orders` here


@pytest.fixture
def privatebin() -> Iterator[FakePrivateBin]:
    with FakePrivateBin() as fake:
        yield fake


def rds_instance(*, iam: bool = True, force_ssl: str | None = "1") -> None:
    rds = boto3.client("rds", region_name=REGION)
    group: dict[str, str] = {}
    if force_ssl is not None:
        rds.create_db_parameter_group(
            DBParameterGroupName="orders-pg16", DBParameterGroupFamily="postgres16", Description="-"
        )
        rds.modify_db_parameter_group(
            DBParameterGroupName="orders-pg16",
            Parameters=[
                {
                    "ParameterName": "rds.force_ssl",
                    "ParameterValue": force_ssl,
                    "ApplyMethod": "immediate",
                }
            ],
        )
        group = {"DBParameterGroupName": "orders-pg16"}
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="postgres",
        MasterUserPassword="master-pw-9a",
        EnableIAMDatabaseAuthentication=iam,
        **group,
    )


def doctor(
    *args: str, pg: pgserver.PostgresServer | None = None, pb: FakePrivateBin | None = None
) -> Any:
    argv = ["doctor", "--operator", *args]
    if pg is not None:
        dsn = (
            f"postgresql://{ADMIN}:{PASSWORD}@{pg.host}:{pg.port}/orders"
            f"?sslmode=verify-full&sslrootcert={pg.ca_file}"
        )
        argv += ["--dsn", dsn]
    if pb is not None:
        argv += ["--privatebin-url", pb.url]
    return CliRunner().invoke(app, argv)


def lines(output: str) -> list[tuple[str, str]]:
    """(mark, step) of each check line."""
    return [
        (line[0], line[2:].split(":", 1)[0]) for line in output.splitlines() if line[:1] in "✓✗?"
    ]


def test_a_ready_instance_and_stack_are_all_green(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    rds_instance()
    result = doctor("orders", pg=pg_server, pb=privatebin)
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        ("✓", "deploy role assumed"),
        ("✓", "instance exists"),
        ("✓", "IAM database authentication"),
        ("✓", "TLS enforced"),
        ("✓", "admin login signs in"),
        ("✓", "admin login"),
        ("✓", "rds_iam"),
        ("✓", "mark role"),
        ("✓", "pg_signal_backend"),
        ("✓", "PUBLIC has no CONNECT"),
        ("✓", "PrivateBin reachable"),
        ("✓", "PrivateBin takes pastes without waiting"),
    ]
    assert "rds.force_ssl = 1 in parameter group orders-pg16" in result.stdout
    assert "dbaccess_managed exists; dbaccess_admin holds it WITH ADMIN OPTION" in result.stdout
    assert privatebin.post_count == 2  # two pastes in a row, no database grant needed
    assert PASSWORD not in result.output
    assert result.stdout.rstrip().endswith("All good.")


def test_every_missing_prerequisite_says_its_fix(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    # GIVEN IAM authentication off, TLS not forced, and no bootstrap beyond the admin login
    rds_instance(iam=False, force_ssl="0")
    pg_server.psql(
        f"DROP ROLE dbaccess_managed; REVOKE pg_signal_backend FROM {ADMIN}; "
        "GRANT CONNECT ON DATABASE orders TO PUBLIC;"
    )
    result = doctor("orders", pg=pg_server, pb=privatebin)
    assert result.exit_code == 1, result.output
    assert [step for mark, step in lines(result.stdout) if mark == "✗"] == [
        "IAM database authentication",
        "TLS enforced",
        "mark role",
        "pg_signal_backend",
        "PUBLIC has no CONNECT",
    ]
    out = result.stdout
    assert (
        "aws rds modify-db-instance --db-instance-identifier orders-db "
        "--enable-iam-database-authentication --apply-immediately --region eu-west-1"
    ) in out
    assert "rds.force_ssl is 0 in parameter group orders-pg16" in out
    assert (
        "aws rds modify-db-parameter-group --db-parameter-group-name orders-pg16 --region "
        "eu-west-1 --parameters ParameterName=rds.force_ssl,ParameterValue=1,ApplyMethod=immediate"
    ) in out
    assert out.count("Run dbaccess bootstrap --database orders") == 3
    assert "PUBLIC may CONNECT to orders" in out


def test_an_admin_outside_rds_iam_and_a_missing_instance(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    pg_server.psql(f"REVOKE rds_iam FROM {ADMIN};")
    result = doctor("orders", pg=pg_server, pb=privatebin)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "✗ instance exists: no instance 'orders-db' in account 123456789012, eu-west-1" in out
    assert "Check `instance:`, `account:` and `region:` of 'orders' in access.yaml" in out
    assert "✗ rds_iam: dbaccess_admin is not in rds_iam" in out
    assert 'GRANT rds_iam TO "dbaccess_admin";' in out
    # the server's checks ran although AWS knows no such instance (--dsn)
    assert ("✓", "mark role") in lines(out)


def test_without_dsn_the_admin_signs_in_with_an_iam_token(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    rds_instance()
    result = doctor("orders", "--ca-bundle", str(pg_server.ca_file), pb=privatebin)
    assert result.exit_code == 1, result.output
    out = result.stdout
    # TLS verified; the local server has a password where RDS checks the token
    assert f"✗ admin login signs in: {ADMIN} could not sign in to localhost:{pg_server.port}" in out
    assert f'password authentication failed for user "{ADMIN}"' in out
    assert "dbaccess bootstrap --database orders --dsn <the master user's URL>" in out
    assert "(the checks as dbaccess_admin need it to sign in)" in out
    for part in ("Action=connect", "X-Amz-", "DBUser="):
        assert part not in result.output


def test_a_cluster_a_redshift_cluster_and_what_moto_cannot_answer(project: Path) -> None:
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="payments-pg",
        DBParameterGroupFamily="aurora-postgresql16",
        Description="-",
    )
    rds.create_db_cluster(
        DBClusterIdentifier="payments",
        Engine="aurora-postgresql",
        MasterUsername="postgres",
        MasterUserPassword="master-pw-9a",
        EnableIAMDatabaseAuthentication=False,
        DBClusterParameterGroupName="payments-pg",
    )
    boto3.client("redshift", region_name=REGION).create_cluster(
        ClusterIdentifier="dwh",
        NodeType="dc2.large",
        MasterUsername="admin",
        MasterUserPassword="Master-pw-9a",
    )
    payments = doctor("payments", "--privatebin-url", "http://127.0.0.1:9/")
    assert payments.exit_code == 1
    assert (
        "aws rds modify-db-cluster --db-cluster-identifier payments --enable-iam-database"
        in payments.stdout
    )
    # moto's cluster parameter group lists nothing it was not told: not known, not a failure
    assert (
        "? TLS enforced: could not check: parameter group payments-pg gives no value for "
        "rds.force_ssl" in payments.stdout
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName="payments-pg",
        Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "0", "ApplyMethod": "immediate"}
        ],
    )
    again = doctor("payments", "--privatebin-url", "http://127.0.0.1:9/")
    assert (
        "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name payments-pg "
        "--region eu-west-1 --parameters ParameterName=rds.force_ssl,ParameterValue=1,"
        "ApplyMethod=immediate" in again.stdout
    )
    analytics = doctor("analytics", "--privatebin-url", "http://127.0.0.1:9/")
    assert lines(analytics.stdout)[:3] == [
        ("✓", "deploy role assumed"),
        ("✓", "Redshift cluster exists"),
        ("✗", "TLS enforced"),
    ]
    assert "require_ssl is false in parameter group default.redshift-1.0" in analytics.stdout
    assert "A default parameter group cannot be changed" in analytics.stdout
    assert "admin login" not in analytics.stdout  # Redshift: IAM through GetClusterCredentials


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "/etc/passwd"])
def test_url_options_are_http_or_https_only(project: Path, url: str) -> None:
    for argv in (
        ["doctor", "--operator", "--privatebin-url", url],
        ["doctor", "--privatebin-url", url],
    ):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2
        assert "is not an http(s) URL" in result.output
        assert "root:" not in result.output
    with pytest.raises(EngineerError, match="is not reachable"):
        privatebin_page(url)


def test_privatebins_traffic_limiter_and_an_outage(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    rds_instance()
    privatebin.rate_limit(n_times=10, wait_seconds=10)
    limited = doctor("orders", pg=pg_server, pb=privatebin)
    assert limited.exit_code == 1
    assert lines(limited.stdout)[-1] == ("✗", "PrivateBin takes pastes without waiting")
    assert "[traffic] exempted" in limited.stdout
    privatebin.unavailable(502)
    down = doctor("orders", pg=pg_server, pb=privatebin)
    assert lines(down.stdout)[-1] == ("✗", "PrivateBin reachable")
    assert "answered HTTP 502" in down.stdout


def test_usage_mistakes_exit_2(project: Path, pg_server: pgserver.PostgresServer) -> None:
    unknown = CliRunner().invoke(app, ["doctor", "--operator", "ordrs"])
    assert unknown.exit_code == 2
    assert "no database 'ordrs' in access.yaml (did you mean 'orders'?)" in unknown.stderr
    redshift_dsn = CliRunner().invoke(app, ["doctor", "--operator", "analytics", "--dsn", "host=x"])
    assert redshift_dsn.exit_code == 2
    assert "--dsn reaches one PostgreSQL database" in redshift_dsn.stderr
    no_stack = CliRunner().invoke(app, ["doctor", "--operator", "--stack", "qa"])
    assert no_stack.exit_code == 2
    assert "Pulumi.qa.yaml does not exist" in no_stack.stderr


SHOP = """\
version: 1
databases:
  shop:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: shop
    host: localhost
    port: {port}
    database: doc_shop
    admin_login: doc_admin
"""


@pytest.mark.mysql
def test_a_mysql_admin_signs_in_with_iam_and_holds_the_mark(mysql_server: MariaDBServer) -> None:
    # GIVEN the MySQL bootstrap, then the mark role dropped (a server bootstrapped before it
    # existed)
    db = load_access_text(SHOP.format(port=mysql_server.port), "access.yaml").databases["shop"]
    mysql_server.sql("DROP USER IF EXISTS doc_admin; DROP ROLE IF EXISTS dbaccess_managed")
    mysql_local.bootstrap(mysql_server, "doc_admin", ["doc_shop"])
    mysql_server.sql("DROP ROLE dbaccess_managed")
    with mysql_local.connect(mysql_server, "doc_admin") as conn:
        # Locally mysql_native_password plays AWSAuthenticationPlugin
        assert preflight_mysql.iam_plugin(conn, db, mysql_local.PLUGIN) == (
            f"doc_admin signs in with {mysql_local.PLUGIN}"
        )
        with pytest.raises(Failed, match="authenticates with mysql_native_password, not AWS"):
            preflight_mysql.iam_plugin(conn, db)
        with pytest.raises(Failed, match="does not hold dbaccess_managed WITH ADMIN") as missing:
            preflight_mysql.mark_role(conn, db)
        assert missing.value.fix.startswith("Run dbaccess bootstrap --database shop")
    mysql_server.sql(
        "CREATE ROLE dbaccess_managed; GRANT dbaccess_managed TO doc_admin WITH ADMIN OPTION"
    )
    with mysql_local.connect(mysql_server, "doc_admin") as conn:
        assert preflight_mysql.mark_role(conn, db) == (
            "doc_admin holds dbaccess_managed WITH ADMIN OPTION"
        )
    mysql_server.sql("DROP USER doc_admin; DROP ROLE dbaccess_managed")


@pytest.mark.mysql
def test_the_cli_signs_in_to_mysql_as_the_admin_with_an_iam_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mysql_server: MariaDBServer,
    privatebin: FakePrivateBin,
) -> None:
    stack_project(tmp_path, monkeypatch, SHOP.format(port=mysql_server.port))
    mysql_server.sql("DROP USER IF EXISTS doc_admin")
    mysql_local.bootstrap(mysql_server, "doc_admin", ["doc_shop"])
    with mock_aws():
        argv = ["--ca-bundle", str(mysql_server.ca_file), "--privatebin-url", privatebin.url]
        result = CliRunner().invoke(app, ["doctor", "--operator", "shop", *argv])
    mysql_server.sql("DROP USER doc_admin")
    assert result.exit_code == 1, result.output
    # TLS verified, then the server refused the token (locally the admin has a password)
    assert "✗ admin login signs in: doc_admin could not sign in to localhost" in result.stdout
    assert "Access denied for user 'doc_admin'" in result.stdout
    for part in ("Action=connect", "X-Amz-", "DBUser="):
        assert part not in result.output


def test_a_stack_without_privatebin_has_nothing_to_check_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A CLI-only pilot: no issuer, so no PrivateBin
    report = Report()
    privatebin_checks(report, None)
    assert capsys.readouterr().out == "✓ PrivateBin: none set (no issuer: a CLI-only pilot)\n"
    assert not report.failed


def test_query_audit_needs_pgaudit_preloaded_and_the_log_exported(
    project: Path, pg_server: pgserver.PostgresServer, privatebin: FakePrivateBin
) -> None:
    # GIVEN orders declares query_audit for ana's login, on an instance without pgaudit
    access = project / "access.yaml"
    access.write_text(
        access.read_text().replace(
            "    admin_login: dbaccess_admin\n  payments:",
            "    admin_login: dbaccess_admin\n    query_audit: write\n  payments:",
        )
        + "people:\n  ana@example.com:\n    grants:\n"
        "      - {database: orders, access: read-only}\n"
    )
    rds_instance()
    result = doctor("orders", pg=pg_server, pb=privatebin)
    assert result.exit_code == 1, result.output
    assert [step for mark, step in lines(result.stdout) if mark == "✗"] == [
        "query audit",
        "query audit",
    ]
    assert "shared_preload_libraries is not set in parameter group orders-pg16" in result.stdout
    assert (
        "aws rds modify-db-parameter-group --db-parameter-group-name orders-pg16 --region "
        "eu-west-1 --parameters ParameterName=shared_preload_libraries,ParameterValue='pgaudit'"
        in result.stdout
    )
    assert "--cloudwatch-logs-export-configuration" in result.stdout
    # WHEN the operator preloads pgaudit and exports the postgresql log
    rds = boto3.client("rds", region_name=REGION)
    rds.modify_db_parameter_group(
        DBParameterGroupName="orders-pg16",
        Parameters=[
            {
                "ParameterName": "shared_preload_libraries",
                "ParameterValue": "pg_stat_statements,pgaudit",
                "ApplyMethod": "pending-reboot",
            }
        ],
    )
    rds.modify_db_instance(
        DBInstanceIdentifier="orders-db",
        CloudwatchLogsExportConfiguration={"EnableLogTypes": ["postgresql"]},
        ApplyImmediately=True,
    )
    result = doctor("orders", pg=pg_server, pb=privatebin)
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if "query audit" in line] == [
        "✓ query audit: extension loaded: shared_preload_libraries = pg_stat_statements,pgaudit "
        "in parameter group orders-pg16",
        "✓ query audit: log exported: postgresql log exported to CloudWatch Logs",
    ]
