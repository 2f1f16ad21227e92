"""PostgresUsers alone under Pulumi's mocks: GIVEN one Aurora cluster holding two databases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from components.postgres_users import PostgresUsers, PostgresUsersArgs
from dbaccess.access.plan import DatabaseSpec
from dbaccess.access.servers import LoginSpec
from dbaccess.cli.preview_engine import Registration, run_under_mocks
from dbaccess.postgres.spec import PostgresServerSpec
from tests.program.conftest import load_pickled_provider, stack_config

ORDERS = DatabaseSpec(
    key="orders",
    engine="aurora-postgresql",
    account="123456789012",
    region="eu-west-1",
    identifier="shop",
    host="shop.cluster-abc.eu-west-1.rds.amazonaws.com",
    port=5432,
    name="orders",
    admin_login="dbaccess_admin",
    schemas=("public", "billing"),
    table_owners=("orders_app",),
)
STOCK = dataclasses.replace(ORDERS, key="stock", name="stock", schemas=("public",), table_owners=())
SERVER = PostgresServerSpec(
    (ORDERS, STOCK),
    (
        LoginSpec("ana@example.com", "read-only", "ana_ro", (ORDERS, STOCK), "write"),
        LoginSpec("bo@example.com", "read-write", "bo_rw", (STOCK,)),
    ),
)
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"
CA = "/etc/ssl/rds/global-bundle.pem"
DYNAMIC = "pulumi-python:dynamic:Resource"


def register() -> list[Registration]:
    run = run_under_mocks(
        lambda: PostgresUsers("pg", PostgresUsersArgs(SERVER, 7, DEPLOY_ROLE, CA)), stack_config()
    )
    return [r for r in run.registrations if r.type != "pulumi:pulumi:Stack"]


def test_one_provider_and_one_login_per_person_and_level_on_the_server() -> None:
    resources = register()
    component = next(r for r in resources if r.type == "dbaccess:postgres:PostgresUsers")
    children = [r for r in resources if r is not component]
    assert all(r.parent == component.urn for r in children)
    assert len([r for r in children if r.type == "pulumi:providers:postgresql"]) == 1
    roles = sorted(r.inputs["name"] for r in children if r.type.endswith(":Role"))
    assert roles == [
        "ana_ro",
        "bo_rw",
        "dbaccess_orders_ro",
        "dbaccess_orders_rw",
        "dbaccess_stock_ro",
        "dbaccess_stock_rw",
    ]
    # Per group: CONNECT + per schema (schema, table, sequence); owners' default privileges.
    grants = [r for r in children if r.type.endswith(":Grant")]
    assert len(grants) == 2 * (1 + 2 * 3) + 2 * (1 + 1 * 3)
    assert len([r for r in children if r.type.endswith(":DefaultPrivileges")]) == 8


def test_each_database_is_opened_to_its_own_groups_only() -> None:
    connect = {
        (r.inputs["database"], r.inputs["role"], tuple(r.inputs["privileges"]))
        for r in register()
        if r.type.endswith(":Grant") and r.inputs["objectType"] == "database"
    }
    assert connect == {
        ("orders", "dbaccess_orders_ro", ("CONNECT",)),
        ("orders", "dbaccess_orders_rw", ("CONNECT",)),
        ("stock", "dbaccess_stock_ro", ("CONNECT",)),
        ("stock", "dbaccess_stock_rw", ("CONNECT",)),
    }


def test_logins_are_members_of_the_groups_of_their_grants_only() -> None:
    by_name = {r.name: r for r in register()}
    assert by_name["pg-ana@example.com-ro"].inputs["roles"] == [
        "rds_iam",
        "dbaccess_managed",
        "dbaccess_orders_ro",
        "dbaccess_stock_ro",
    ]
    assert by_name["pg-bo@example.com-rw"].inputs["roles"] == [
        "rds_iam",
        "dbaccess_managed",
        "dbaccess_stock_rw",
    ]
    assert by_name["pg-bo@example.com-rw"].inputs["connectionLimit"] == 7
    provider = by_name["pg-provider"].inputs
    assert provider["awsRdsIamProviderRoleArn"] == DEPLOY_ROLE
    assert provider["awsRdsIamRegion"] == "eu-west-1"
    sequences = by_name["pg-orders-read-write-billing-orders_app-sequence"].inputs
    assert sequences["privileges"] == ["SELECT", "UPDATE", "USAGE"]
    assert sequences["owner"] == "orders_app"


def test_no_role_is_deleted_by_reassigning_what_it_owns() -> None:
    roles = [r for r in register() if r.type.endswith(":Role")]
    assert len(roles) == 6
    assert all(r.inputs.get("skipReassignOwned") is True for r in roles)
    assert not any(r.inputs.get("skipDropRole") for r in roles)


def test_an_audited_login_gets_its_pgaudit_settings_and_an_unaudited_one_none() -> None:
    settings = [r for r in register() if r.type == DYNAMIC]
    assert [r.name for r in settings] == ["pg-ana@example.com-ro-audit"]
    inputs = {k: v for k, v in settings[0].inputs.items() if k != "__provider"}
    assert inputs == {
        "login": "ana_ro",
        "query_audit": "write",
        "settings": {
            "pgaudit.log": "write,ddl,role",
            "pgaudit.log_relation": "on",
            "pgaudit.log_parameter": "off",
            "pgaudit.log_catalog": "off",
        },
        # Where and as whom: the token is minted at each operation, never an input.
        "host": ORDERS.host,
        "port": 5432,
        "database": "orders",
        "region": "eu-west-1",
        "admin_login": "dbaccess_admin",
        "deploy_role_arn": DEPLOY_ROLE,
        "ca_bundle": CA,
    }


def test_the_settings_provider_is_in_the_state_by_reference_and_holds_no_secret(
    tmp_path: Path,
) -> None:
    printed, raw = load_pickled_provider(
        next(r for r in register() if r.type == DYNAMIC).inputs["__provider"],
        tmp_path,
        "type(p).__module__, type(p).__name__, p._connect.__module__, p._connect.__name__",
    )
    assert printed == [
        "components.postgres_role_settings PostgresRoleSettingsProvider "
        "dbaccess.postgres.admin admin_connection"
    ]
    assert len(raw) < 2000
    for secret_word in (b"password", b"token", b"Secret"):
        assert secret_word not in raw
