"""`dbaccess doctor --operator`'s query_audit prerequisites on MySQL servers, as moto describes
them: RDS MySQL loads the audit plugin through the MARIADB_AUDIT_PLUGIN option of its option
group, Aurora MySQL through server_audit_logging in its cluster parameter group; both export
the `audit` log to CloudWatch Logs. (PostgreSQL: tests/services/test_doctor_operator.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dbaccess.access import load_access_text
from dbaccess.access.plan import DatabaseSpec
from dbaccess.cli.doctor_operator import audited_servers
from dbaccess.preflight import Failed, aws

REGION = "eu-west-1"
ACCESS = """\
version: 1
databases:
  shop:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: shop
    host: shop.example.com
    port: 3306
    database: shop
    admin_login: dbaccess_admin
  ledger:
    engine: aurora-mysql
    account: "123456789012"
    region: eu-west-1
    cluster: ledger
    host: ledger.example.com
    port: 3306
    database: ledger
    admin_login: dbaccess_admin
people:
  ana@example.com:
    grants:
      - {database: shop, access: read-only, query_audit: ddl}
      - {database: ledger, access: read-only}
"""
PLAN = load_access_text(ACCESS, "access.yaml")
SHOP, LEDGER = PLAN.databases["shop"], PLAN.databases["ledger"]


@pytest.fixture
def rds() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("rds", region_name=REGION)


def mysql_instance(rds: Any, *, option: bool, exports: list[str]) -> dict[str, Any]:
    rds.create_option_group(
        OptionGroupName="shop-mysql80",
        EngineName="mysql",
        MajorEngineVersion="8.0",
        OptionGroupDescription="-",
    )
    if option:
        rds.modify_option_group(
            OptionGroupName="shop-mysql80",
            OptionsToInclude=[{"OptionName": "MARIADB_AUDIT_PLUGIN"}],
            ApplyImmediately=True,
        )
    rds.create_db_instance(
        DBInstanceIdentifier="shop",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="master-pw-9a",
        OptionGroupName="shop-mysql80",
        EnableCloudwatchLogsExports=exports,
    )
    server, _ = aws.describe(rds, SHOP)
    return server


def aurora_cluster(rds: Any, *, logging: str | None) -> dict[str, Any]:
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="ledger-aurora",
        DBParameterGroupFamily="aurora-mysql8.0",
        Description="-",
    )
    if logging is not None:
        rds.modify_db_cluster_parameter_group(
            DBClusterParameterGroupName="ledger-aurora",
            Parameters=[
                {
                    "ParameterName": "server_audit_logging",
                    "ParameterValue": logging,
                    "ApplyMethod": "immediate",
                }
            ],
        )
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="master-pw-9a",
        DBClusterParameterGroupName="ledger-aurora",
        EnableCloudwatchLogsExports=["audit"],
    )
    server, _ = aws.describe(rds, LEDGER)
    return server


def fails(check: Any, *args: Any) -> Failed:
    with pytest.raises(Failed) as caught:
        check(*args)
    return caught.value


def test_only_servers_where_a_login_declares_query_audit_are_checked() -> None:
    assert audited_servers(PLAN) == {SHOP.server}


def test_rds_mysql_needs_the_audit_plugin_option_and_the_audit_log_exported(rds: Any) -> None:
    server = mysql_instance(rds, option=False, exports=["error"])
    missing = fails(aws.audit_extension, rds, server, SHOP)
    assert "no MARIADB_AUDIT_PLUGIN in the option group of shop (shop-mysql80)" in missing.message
    assert "aws rds add-option-to-option-group" in missing.fix
    unexported = fails(aws.audit_log_exported, server, SHOP)
    assert "exports: error" in unexported.message
    assert unexported.fix == (
        "aws rds modify-db-instance --db-instance-identifier shop "
        '--cloudwatch-logs-export-configuration \'{"EnableLogTypes":["audit"]}\' '
        "--apply-immediately --region eu-west-1"
    )


def test_rds_mysql_with_the_option_and_the_export_passes(rds: Any) -> None:
    server = mysql_instance(rds, option=True, exports=["audit", "error"])
    assert (
        aws.audit_extension(rds, server, SHOP)
        == "MARIADB_AUDIT_PLUGIN in option group shop-mysql80"
    )
    assert aws.audit_log_exported(server, SHOP) == "audit log exported to CloudWatch Logs"


@pytest.mark.parametrize(("logging", "ok"), [(None, False), ("0", False), ("1", True)])
def test_aurora_mysql_needs_server_audit_logging_in_its_cluster_parameter_group(
    rds: Any, logging: str | None, ok: bool
) -> None:
    server = aurora_cluster(rds, logging=logging)
    if ok:
        assert aws.audit_extension(rds, server, LEDGER) == (
            "server_audit_logging = 1 in cluster parameter group ledger-aurora"
        )
        return
    failed = fails(aws.audit_extension, rds, server, LEDGER)
    assert failed.message.startswith(f"server_audit_logging is {logging or 'not set'}")
    assert failed.fix.startswith(
        "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name "
        "ledger-aurora --region eu-west-1 --parameters "
        "ParameterName=server_audit_logging,ParameterValue=1"
    )


def test_a_database_spec_of_postgres_is_checked_for_its_own_log() -> None:
    orders = DatabaseSpec(
        "orders", "postgres", "123456789012", REGION, "orders", "h", 5432, "orders"
    )
    failed = fails(aws.audit_log_exported, {"EnabledCloudwatchLogsExports": []}, orders)
    assert "the postgresql log of orders is not exported" in failed.message
