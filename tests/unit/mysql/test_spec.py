"""What the program hands to MysqlUsers: validated, and round-tripped through Pulumi inputs."""

from __future__ import annotations

import dataclasses

from dbaccess.mysql.spec import (
    AdminTarget,
    MysqlLogin,
    MysqlServerSpec,
    login_from_inputs,
    login_inputs,
    spec_problems,
    target_from_inputs,
)

SERVER = MysqlServerSpec(
    host="shop.cluster-abc.eu-west-1.rds.amazonaws.com",
    port=3306,
    region="eu-west-1",
    admin_login="dbaccess_admin",
    databases=("orders", "stock"),
    logins=(
        MysqlLogin("ana_ro", "read-only", ("orders", "stock")),
        MysqlLogin("bo_rw", "read-write", ("stock",)),
    ),
)
TARGET = AdminTarget(
    SERVER.host, 3306, "eu-west-1", "dbaccess_admin", "arn:aws:iam::1:role/d", "/ca.pem"
)


def test_a_good_server_has_no_problem() -> None:
    assert spec_problems(SERVER) == []


def test_every_problem_is_reported_with_where_and_fix() -> None:
    bad = dataclasses.replace(
        SERVER,
        admin_login="root",
        databases=("orders", "a.b"),
        logins=(
            MysqlLogin("ana_ro", "read-only", ("orders", "billing")),
            MysqlLogin("ana_ro", "read-only", ("orders",)),
            MysqlLogin("x" * 33, "read-write", ()),
        ),
    )
    problems = spec_problems(bad)
    assert all(p.startswith(f"MySQL server {SERVER.host}:3306: ") for p in problems)
    text = "\n".join(problems)
    assert "admin_login 'root'" in text
    assert "'a.b' contains" in text
    assert "declared twice" in text
    assert "billing, which this server does not manage" in text
    assert "33 characters" in text
    assert "has no database" in text
    assert len(problems) == 6


def test_inputs_round_trip_and_hold_no_secret() -> None:
    props = login_inputs(SERVER.logins[0], TARGET)
    assert login_from_inputs(props) == SERVER.logins[0]
    assert target_from_inputs({**props, "port": 3306.0}) == TARGET  # Pulumi numbers are floats
    assert set(props) == {
        "login",
        "mark",
        "access",
        "databases",
        "host",
        "port",
        "region",
        "admin_login",
        "deploy_role_arn",
        "ca_bundle",
    }
