"""PostgresUsers alone under Pulumi's mocks: GIVEN one database and two grants."""

from __future__ import annotations

import datetime as dt

from components.postgres_users import PostgresUsers, PostgresUsersArgs
from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.cli.preview_engine import run_under_mocks
from tests.program.conftest import stack_config

DB = DatabaseSpec(
    key="orders",
    engine="aurora-postgresql",
    account="123456789012",
    region="eu-west-1",
    identifier="orders",
    host="orders.cluster-abc.eu-west-1.rds.amazonaws.com",
    port=5432,
    name="orders",
    admin_login="dbaccess_admin",
    schemas=("public", "billing"),
    table_owners=("orders_app",),
)
GRANTS = (
    Grant("ana@example.com", "orders", "read-only", "ana_ro", None, (), ("people",)),
    Grant(
        "bo@example.com", "orders", "read-write", "bo_rw", dt.date(2026, 12, 1), ("x",), ("people",)
    ),
)
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"


def register() -> list:
    run = run_under_mocks(
        lambda: PostgresUsers("pg", PostgresUsersArgs(DB, GRANTS, 7, DEPLOY_ROLE)), stack_config()
    )
    return [r for r in run.registrations if r.type != "pulumi:pulumi:Stack"]


def test_the_component_registers_groups_privileges_and_one_login_per_grant() -> None:
    resources = register()
    component = next(r for r in resources if r.type == "dbaccess:postgres:PostgresUsers")
    children = [r for r in resources if r is not component]
    assert all(r.parent == component.urn for r in children)
    kinds = sorted((r.type.split(":")[-1], r.name) for r in children)
    # 2 groups × 2 schemas × (3 grants + 1 owner × 2 default-privilege types), 2 logins, provider
    assert len([k for k in kinds if k[0] == "Grant"]) == 12
    assert len([k for k in kinds if k[0] == "DefaultPrivileges"]) == 8
    assert [n for k, n in kinds if k == "Role"] == [
        "pg-ana@example.com-ro",
        "pg-bo@example.com-rw",
        "pg-read-only",
        "pg-read-write",
    ]


def test_logins_use_iam_auth_and_the_connection_limit() -> None:
    by_name = {r.name: r for r in register()}
    assert by_name["pg-bo@example.com-rw"].inputs["roles"] == ["rds_iam", "dbaccess_readwrite"]
    assert by_name["pg-bo@example.com-rw"].inputs["connectionLimit"] == 7
    assert by_name["pg-read-only"].inputs["name"] == "dbaccess_readonly"
    provider = by_name["pg-provider"].inputs
    assert provider["awsRdsIamProviderRoleArn"] == DEPLOY_ROLE
    assert provider["awsRdsIamRegion"] == "eu-west-1"
    sequences = by_name["pg-read-write-billing-orders_app-sequence"].inputs
    assert sequences["privileges"] == ["SELECT", "UPDATE", "USAGE"]
    assert sequences["owner"] == "orders_app"
