"""The bootstrap's SQL file and how it reaches the master user, without a server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.results import ConfigError
from dbaccess.postgres.bootstrap import blocks, master_params, statement

ORDERS = DatabaseSpec(
    key="orders",
    engine="postgres",
    account="123456789012",
    region="eu-west-1",
    identifier="orders-prod",
    host="orders.example.com",
    port=5432,
    name="orders",
    admin_login="dbaccess_admin",
    schemas=("public",),
)
SECRET = "s3cret-master-pw"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "rds-ca-bundle.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return path


def test_every_statement_takes_names_only_as_identifiers() -> None:
    statements = {
        n: t for n, t in blocks().items() if not t.lstrip().startswith(("SELECT", "WITH"))
    }
    assert next(iter(statements)) == "create_admin"
    for name, text in statements.items():
        assert "%" not in text, name  # no value is spliced into a statement
        assert set(re.findall(r"{(\w+)}", text)) <= {
            "admin",
            "marker",
            "database",
            "schema",
            "role",
            "parameter",  # a setting's name, filled as dotted identifiers ("pgaudit"."log")
        }


def test_a_name_is_quoted_whatever_it_holds() -> None:
    grant = statement("keep_connect", database='orders"; DROP TABLE x; --', role="app")
    assert grant.as_string(None) == (
        'GRANT CONNECT ON DATABASE "orders""; DROP TABLE x; --" TO "app"'
    )


def test_without_dsn_it_is_the_access_file_host_over_verified_tls(bundle: Path) -> None:
    params = master_params(ORDERS, None, "postgres", SECRET, bundle)
    assert params == {
        "host": "orders.example.com",
        "port": 5432,
        "dbname": "orders",
        "user": "postgres",
        "password": SECRET,
        "sslmode": "verify-full",
        "sslrootcert": str(bundle),
    }


def test_a_dsn_keeps_its_own_sslmode_and_user(bundle: Path) -> None:
    params = master_params(
        ORDERS,
        f"postgresql://admin:{SECRET}@localhost:6432/orders?sslmode=require",
        "x",
        None,
        bundle,
    )
    assert (params["host"], params["port"], params["user"]) == ("localhost", "6432", "admin")
    assert params["sslmode"] == "require"
    assert "sslrootcert" not in params


@pytest.mark.parametrize(
    ("dsn", "said"),
    [
        (f"postgresql://postgres:{SECRET}@h/inventory", "connects to database 'inventory'"),
        (f"not a url {SECRET}", "is not a PostgreSQL connection URL"),
        ("postgresql://h/orders", "name the master user"),
    ],
)
def test_a_dsn_that_cannot_work_is_refused_without_echoing_it(
    dsn: str, said: str, bundle: Path
) -> None:
    with pytest.raises(ConfigError, match=said) as refused:
        master_params(ORDERS, dsn, None, None, bundle)
    assert SECRET not in str(refused.value)


def test_a_missing_ca_bundle_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        master_params(ORDERS, None, "postgres", SECRET, tmp_path / "none.pem")
    assert str(refused.value).startswith(f"no CA bundle at {tmp_path / 'none.pem'}")
    assert "curl -fsSL https://truststore.pki.rds.amazonaws.com/" in str(refused.value)
