"""The whole program under Pulumi's mocks with MySQL databases: GIVEN the sample access file plus
an RDS MySQL instance holding two databases and an Aurora MySQL cluster in another account."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dbaccess.access import InvalidInput
from dbaccess.cli.preview_engine import validate_stack
from policy import dbaccess_policies as pack
from tests.access_mysql import (
    CA,
    HUGO,
    MYSQL_DATABASES,
    PRIYA,
    PRIYA_GRANTS,
    PROD,
    STAGING,
    with_mysql,
)
from tests.program.conftest import ROOT, TODAY, Program, ProgramRunner, stack_config
from tests.program.test_preview_cli import copy_project, preview


@pytest.fixture
def access_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    path.write_text(with_mysql())
    return path


@pytest.fixture
def program(access_file: Path, run_sample: ProgramRunner) -> Program:
    return run_sample(stack_config(access_file, rdsCaBundle=CA))


def logins(program: Program, server: str) -> dict[str, dict]:
    component = program.named(server)
    return {
        r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
        for r in program.resources
        if r.parent == component.urn
    }


def test_one_mysql_users_component_per_server_with_one_user_per_login(program: Program) -> None:
    shop = f"mysql-shop-prod-{PROD}-eu-west-1"
    assert program.named(shop).type == "dbaccess:mysql:MysqlUsers"
    assert logins(program, shop) == {
        f"{shop}-hhenley_ro": {
            "login": "hhenley_ro",
            "mark": "dbaccess_managed",
            "access": "read-only",
            # One user for the server, granted on both of its databases.
            "databases": ["billing", "shop"],
            "host": "shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com",
            "port": 3306,
            "region": "eu-west-1",
            "admin_login": "dbaccess_admin",
            "deploy_role_arn": f"arn:aws:iam::{PROD}:role/dbaccess-deploy",
            "ca_bundle": CA,
        },
        f"{shop}-priyaraman_rw": {
            "login": "priyaraman_rw",
            "mark": "dbaccess_managed",
            "access": "read-write",
            "databases": ["billing"],
            "host": "shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com",
            "port": 3306,
            "region": "eu-west-1",
            "admin_login": "dbaccess_admin",
            "deploy_role_arn": f"arn:aws:iam::{PROD}:role/dbaccess-deploy",
            "ca_bundle": CA,
        },
    }
    ledger = f"aurora-mysql-ledger-staging-{STAGING}-eu-central-1"
    (user,) = logins(program, ledger).values()
    assert (user["login"], user["databases"], user["deploy_role_arn"]) == (
        "hhenley_rw",
        ["ledger"],
        f"arn:aws:iam::{STAGING}:role/dbaccess-deploy",
    )


def test_mysql_rds_db_connect_as_for_postgres_with_dated_conditions(program: Program) -> None:
    prod = json.loads(program.named(f"{HUGO}-{PROD}-policy").inputs["policy"])["Statement"]
    connect = {s["Sid"]: s for s in prod if s["Action"] == "rds-db:connect"}
    # The instance's DbiResourceId (looked up with get_instance, like PostgreSQL instances).
    assert (
        "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-SHOPPROD/hhenley_ro"
        in (connect["NOREPORdsDbConnect"]["Resource"])
    )
    # Two databases of one server, one dated and one not: the login stays undated.
    assert not any(
        "db-SHOPPROD" in str(s["Resource"]) for sid, s in connect.items() if sid.endswith("1231")
    )
    staging = json.loads(program.named(f"{HUGO}-{STAGING}-policy").inputs["policy"])["Statement"]
    # Aurora MySQL: the cluster resource id (get_cluster).
    assert any(
        s["Action"] == "rds-db:connect"
        and "arn:aws:rds-db:eu-central-1:210987654321:dbuser:cluster-LEDGERSTAGING/hhenley_rw"
        in s["Resource"]
        for s in staging
    )


def test_a_dated_mysql_only_grant_ends_on_aws_time(
    tmp_path: Path, run_sample: ProgramRunner
) -> None:
    access = tmp_path / "access.yaml"
    access.write_text(
        with_mysql().replace(PRIYA_GRANTS, PRIYA_GRANTS.replace("}", ", until: 2026-12-31}"))
    )
    program = run_sample(stack_config(access, rdsCaBundle=CA))
    statements = json.loads(program.named(f"{PRIYA}-{PROD}-policy").inputs["policy"])["Statement"]
    assert {
        "Sid": "NOREPORdsDbConnectUntil20261231",
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-SHOPPROD/priyaraman_rw",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2027-01-01T00:00:00Z"}},
    } in statements


def test_the_catalog_carries_the_mysql_engine_without_groups(program: Program) -> None:
    catalog = json.loads(program.named("catalog-catalog.json").inputs["content"])
    shop = catalog["databases"]["shop"]
    assert (shop["engine"], shop["port"], shop["resource_id"], shop["groups"]) == (
        "mysql",
        3306,
        "db-SHOPPROD",
        {},
    )
    assert catalog["databases"]["ledger"]["engine"] == "aurora-mysql"


def test_mysql_databases_need_the_rds_ca_bundle_setting(access_file: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_stack(ROOT, stack_config(access_file), TODAY)
    (problem,) = caught.value.problems
    assert problem.message == (
        "MySQL databases (ledger, shop, shop-billing) need setting 'dbaccess:rdsCaBundle'"
    )
    assert "global-bundle.pem" in problem.fix


def test_make_preview_shows_the_mysql_users_and_their_sql(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    (project / "access.yaml").write_text(with_mysql())
    stack = project / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + f"  dbaccess:rdsCaBundle: {CA}\n")
    result = preview("--date", "2026-11-23", cwd=project)
    assert result.returncode == 0, result.stderr
    shop = f"mysql-shop-prod-{PROD}-eu-west-1"
    assert "dbaccess:mysql:MysqlUsers" in result.stdout
    assert re.search(rf"pulumi-python:dynamic:Resource +{shop}-hhenley_ro\n", result.stdout)
    sql = result.stdout.split("MySQL users (SQL the admin login runs", 1)[1]
    assert (
        f"  {shop} (shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com:3306, admin dbaccess_admin):\n"
        "    CREATE USER 'hhenley_ro'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' "
        "REQUIRE SSL;\n"
        "    GRANT dbaccess_managed TO 'hhenley_ro'@'%';\n"
        "    GRANT SELECT, SHOW VIEW ON `billing`.* TO 'hhenley_ro'@'%';\n"
        "    GRANT SELECT, SHOW VIEW ON `shop`.* TO 'hhenley_ro'@'%';\n"
        "    CREATE USER 'priyaraman_rw'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' "
        "REQUIRE SSL;\n"
        "    GRANT dbaccess_managed TO 'priyaraman_rw'@'%';\n"
        "    GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `billing`.* TO 'priyaraman_rw'@'%';\n"
    ) in sql
    assert (
        "GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `ledger`.* TO 'hhenley_rw'@'%'" in sql
    )


def test_the_policy_pack_covers_mysql_grants(tmp_path: Path, run_sample: ProgramRunner) -> None:
    access = tmp_path / "access.yaml"
    access.write_text(
        with_mysql().replace(PRIYA_GRANTS, PRIYA_GRANTS.replace("}", ", until: 2026-12-31}"))
    )
    program = run_sample(stack_config(access, rdsCaBundle=CA))
    resources = [(r.type, r.inputs) for r in program.resources]
    assert pack.dated_grants_end_in_iam(resources) == []
    for resource_type, inputs in resources:
        assert pack.no_wildcard_database_resources(resource_type, inputs) == []
    # Priya's dated MySQL login without its condition is caught.
    name = f"{PRIYA}-{PROD}-policy"
    document = json.loads(program.named(name).inputs["policy"])
    for statement in document["Statement"]:
        statement.pop("Condition", None)
    edited = {**program.named(name).inputs, "policy": json.dumps(document)}
    violations = pack.dated_grants_end_in_iam(
        [
            (t, edited if r.name == name else r.inputs)
            for (t, _), r in zip(resources, program.resources, strict=True)
        ]
    )
    assert len(violations) == 1
    assert "db-SHOPPROD/priyaraman_rw of a dated grant without DateLessThan" in violations[0]


IAM_POLICY_DEPLOY = (sys.executable, "-m", "dbaccess", "iam-policy", "deploy")


def test_the_deploy_role_may_log_in_as_each_mysql_admin(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    mysql_admin = MYSQL_DATABASES.replace("admin_login: dbaccess_admin", "admin_login: my_admin")
    (project / "access.yaml").write_text(with_mysql().replace(MYSQL_DATABASES, mysql_admin))
    stack = project / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + f"  dbaccess:rdsCaBundle: {CA}\n")
    logins = {}
    for account in (PROD, STAGING):
        result = subprocess.run(
            [*IAM_POLICY_DEPLOY, "--account", PROD, "--role-account", account],
            capture_output=True,
            text=True,
            cwd=project,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        statements = json.loads(result.stdout)["Statement"]
        (connect,) = [s for s in statements if s["Action"] == ["rds-db:connect"]]
        logins[account] = sorted(connect["Resource"])
    # PostgreSQL's admin and MySQL's, each in its own account's role's document, in the
    # region of each server (the staging databases are in eu-central-1).
    assert logins == {
        PROD: [
            f"arn:aws:rds-db:eu-west-1:{PROD}:dbuser:*/dbaccess_admin",
            f"arn:aws:rds-db:eu-west-1:{PROD}:dbuser:*/my_admin",
        ],
        STAGING: [
            f"arn:aws:rds-db:eu-central-1:{STAGING}:dbuser:*/dbaccess_admin",
            f"arn:aws:rds-db:eu-central-1:{STAGING}:dbuser:*/my_admin",
        ],
    }


def test_preview_shows_each_mysql_servers_audit_plugin_values(tmp_path: Path) -> None:
    # GIVEN query_audit: ddl on shop (priya's read-write at write) and hugo's ledger grant at all
    project = copy_project(tmp_path)
    text = (
        with_mysql()
        .replace("    database: shop\n", "    database: shop\n    query_audit: ddl\n")
        .replace(
            "{database: ledger, access: read-write}",
            "{database: ledger, access: read-write, query_audit: all}",
        )
        .replace(PRIYA_GRANTS, PRIYA_GRANTS.replace("}", ", query_audit: write}"))
    )
    (project / "access.yaml").write_text(text)
    stack = project / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + f"  dbaccess:rdsCaBundle: {CA}\n")
    result = preview("--date", "2026-11-23", "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    mysql = json.loads(result.stdout)["query_audit"]["mysql"]
    # Server-wide: who is logged per person, what is logged by the server's highest level.
    assert mysql == {
        f"mysql-shop-prod-{PROD}-eu-west-1": {
            "server_audit_logging": "ON",
            "server_audit_events": "QUERY_DCL,QUERY_DDL,QUERY_DML_NO_SELECT",
            "server_audit_incl_users": "hhenley_ro,priyaraman_rw",
        },
        f"aurora-mysql-ledger-staging-{STAGING}-eu-central-1": {
            "server_audit_logging": "ON",
            "server_audit_events": "QUERY",
            "server_audit_incl_users": "hhenley_rw",
        },
    }
    text_result = preview("--date", "2026-11-23", cwd=project)
    assert "Query audit, MySQL (server-wide: set these in the server's parameter group" in (
        text_result.stdout
    )
