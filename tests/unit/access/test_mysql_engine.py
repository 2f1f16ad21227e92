"""access.yaml with `engine: mysql` / `aurora-mysql`: what is valid, and each mistake at its line."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dbaccess.access import InvalidInput, load_access_text
from dbaccess.access.diff import diff_plans, render_json
from dbaccess.access.matrix import render_matrix

TODAY = dt.date(2026, 11, 23)

# Lines 3-11: an RDS MySQL instance; lines 12-20: a database on an Aurora MySQL cluster.
MYSQL = """\
  shop:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: shop-prod
    host: shop.example.com
    port: 3306
    database: shop
    admin_login: dbaccess_admin
"""
AURORA = """\
  ledger:
    engine: aurora-mysql
    account: "123456789012"
    region: eu-west-1
    cluster: ledger
    host: ledger.cluster-abc.eu-west-1.rds.amazonaws.com
    port: 3306
    database: ledger
    admin_login: dbaccess_admin
"""


def doc(databases: str, rest: str = "") -> str:
    return "version: 1\ndatabases:\n" + databases + rest


def person(grants: str, username: str | None = None) -> str:
    name = f"    username: {username}\n" if username else ""
    return f"people:\n  p@example.com:\n{name}    grants:\n{grants}"


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_access_text(text, "access.yaml", today=TODAY)
    for problem in caught.value.problems:
        assert problem.fix, f"no fix given for {problem}"
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


def test_mysql_instance_and_aurora_mysql_cluster_are_valid() -> None:
    grants = "      - {database: shop, access: read-only}\n      - {database: ledger, access: read-write}\n"
    plan = load_access_text(doc(MYSQL + AURORA, person(grants)), "access.yaml", today=TODAY)
    shop, ledger = plan.databases["shop"], plan.databases["ledger"]
    assert (shop.engine, shop.identifier, shop.is_cluster) == ("mysql", "shop-prod", False)
    assert (ledger.engine, ledger.identifier, ledger.is_cluster) == ("aurora-mysql", "ledger", True)
    assert shop.server == ("123456789012", "eu-west-1", "instance", "shop-prod")
    assert ledger.server == ("123456789012", "eu-west-1", "cluster", "ledger")
    # No PostgreSQL schemas are made up for MySQL; both sign in with an RDS IAM token.
    assert (shop.schemas, ledger.schemas) == ((), ())
    assert all(db.is_mysql and db.uses_rds_iam and not db.is_postgres for db in (shop, ledger))
    assert sorted(g.login for g in plan.grants()) == ["p_ro", "p_rw"]


def test_two_databases_of_one_mysql_server_share_it() -> None:
    billing = MYSQL.replace("  shop:", "  billing:").replace("database: shop", "database: billing")
    plan = load_access_text(doc(MYSQL + billing), "access.yaml", today=TODAY)
    assert plan.databases["shop"].server == plan.databases["billing"].server


CASES = [
    (
        "postgres-only-fields",
        doc(MYSQL + "    schemas: [public]\n    table_owners: [app]\n"),
        [
            "12:5: 'schemas' does not apply to engine mysql",
            "13:5: 'table_owners' does not apply to engine mysql",
        ],
    ),
    (
        "redshift-groups",
        doc(AURORA.replace("port: 3306", "groups: {read-only: a, read-write: b}\n    port: 3306")),
        ["9:5: 'groups' does not apply to engine aurora-mysql"],
    ),
    (
        "cluster-on-an-instance-engine",
        doc(MYSQL.replace("instance: shop-prod", "cluster: shop-prod")),
        ["7:5: 'cluster' does not apply to engine mysql"],
    ),
    (
        "instance-on-aurora",
        doc(AURORA.replace("cluster: ledger", "instance: ledger")),
        ["7:5: 'instance' does not apply to engine aurora-mysql"],
    ),
    (
        "no-admin-login",
        doc(MYSQL.replace("    admin_login: dbaccess_admin\n", "")),
        ["3:3: MySQL database 'shop' has no 'admin_login'"],
    ),
    (
        "admin-login-is-the-rds-master",
        doc(MYSQL.replace("admin_login: dbaccess_admin", "admin_login: rdsadmin")),
        ["11:18: admin_login 'rdsadmin' is an account of MySQL, MariaDB or RDS"],
    ),
    (
        "login-longer-than-32",
        doc(MYSQL, person("      - {database: shop, access: read-only}\n", "a" * 30)),
        [
            "14:5: login '" + "a" * 30 + "_ro' of p@example.com is 33 bytes; MySQL allows 32",
        ],
    ),
    (
        "reserved-by-rds-mysql",
        doc(MYSQL, person("      - {database: shop, access: read-only}\n", "rdsproxyadmin")),
        ["14:5: login 'rdsproxyadmin' of p@example.com is reserved (the database engine or RDS)"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mysql_mistakes_are_reported_with_their_place(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize("base", ["a" * 30, "rdsproxyadmin"])
def test_what_mysql_refuses_is_fine_for_a_person_without_mysql_grants(base: str) -> None:
    postgres = MYSQL.replace("engine: mysql", "engine: postgres").replace("3306", "5432")
    text = doc(postgres, person("      - {database: shop, access: read-only}\n", base))
    assert load_access_text(text, "access.yaml", today=TODAY).people["p@example.com"].base == base


def test_diff_and_matrix_show_mysql_databases() -> None:
    grants = "      - {database: shop, access: read-only}\n"
    base = load_access_text(doc(MYSQL), "access.yaml", today=TODAY)
    head = load_access_text(doc(MYSQL + AURORA, person(grants)), "access.yaml", today=TODAY)
    changes = json.loads(render_json(diff_plans(base, head)))
    assert changes["databases"]["added"] == ["ledger"]
    assert [(c["person"], c["database"], c["change"]) for c in changes["changes"]] == [
        ("p@example.com", "shop", "gained")
    ]
    moved = load_access_text(
        doc(MYSQL.replace("engine: mysql", "engine: postgres") + AURORA, person(grants)),
        "access.yaml",
        today=TODAY,
    )
    changed = json.loads(render_json(diff_plans(head, moved)))["databases"]["changed"]
    assert {"database": "shop", "field": "engine", "from": "mysql", "to": "postgres"} in changed
    assert render_matrix(head).splitlines()[0].split() == ["person", "shop", "ledger"]


def test_a_long_base_on_mysql_and_aurora_mysql_is_reported_once() -> None:
    grants = "      - {database: shop, access: read-only}\n      - {database: ledger, access: read-only}\n"
    assert problems(doc(MYSQL + AURORA, person(grants, "b" * 30))) == [
        "23:5: login '" + "b" * 30 + "_ro' of p@example.com is 33 bytes; MySQL allows 32"
    ]
