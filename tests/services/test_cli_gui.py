"""`dbaccess gui`: connection definitions each client imports, parsed as the client needs them.

GIVEN the sample's catalog (the packaged example, or the program's catalog in moto's S3),
WHEN an engineer asks for a client's definition,
THEN it holds host, port, database, user, verify-full and the engine's CA file, in the keys
the client reads, and never the password (which is printed beside it for DBeaver/DataGrip).
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dbaccess.access import AccessPlan

# The engineer tests' fixtures (home, aws, published) are imported, and so redefined as arguments.
# ruff: noqa: F401, F811
from tests.services.test_cli_engineer import (
    CATALOG_URL,
    FATIMA,
    PRIYA,
    aws,
    dbaccess,
    home,
    person_role_env,
    published,
)

ORDERS_HOST = "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com"
# pgAdmin's import refuses a server without these (docs: Import/Export Servers, JSON format).
PGADMIN_REQUIRED = {"Name", "Group", "Port", "Username", "SSLMode", "MaintenanceDB", "Host"}


@pytest.fixture
def rds_ca(home: Path) -> Path:
    """The RDS bundle where dbaccess looks by default."""
    path = home / "config" / "dbaccess" / "rds-ca-bundle.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("test CA\n")
    return path


OFFLINE = ("--catalog", "example", "--email", FATIMA)


def test_pgadmin_servers_json_for_all_postgresql_grants(rds_ca: Path, home: Path) -> None:
    result = dbaccess("gui", "pgadmin", *OFFLINE, "--write", str(home / "servers.json"))
    assert result.exit_code == 0, result.stderr
    servers = json.loads((home / "servers.json").read_text())["Servers"]
    by_name = {s["Name"]: s for s in servers.values()}
    assert sorted(by_name) == ["orders", "payments-staging"]
    for server in servers.values():
        assert set(server) >= PGADMIN_REQUIRED
        assert server["SSLMode"] == "verify-full"
        assert server["ConnectionParameters"]["sslmode"] == "verify-full"
        assert server["ConnectionParameters"]["sslrootcert"] == str(rds_ca)
        assert not {k for k in server if "Password" in k} - {
            "PasswordExecCommand",
            "PasswordExecExpiration",
        }
    orders = by_name["orders"]
    assert (orders["Host"], orders["Port"], orders["MaintenanceDB"]) == (
        ORDERS_HOST,
        5432,
        "orders",
    )
    assert orders["Username"] == "fatimazahra_ro"
    assert orders["PasswordExecCommand"] == "dbaccess token orders --format password"
    # pgAdmin asks again before a reused password (at least 5 minutes left) runs out
    assert 0 < orders["PasswordExecExpiration"] < 5 * 60
    assert "--load-servers" in result.stderr


def test_pg_service_conf_a_section_per_grant(rds_ca: Path) -> None:
    result = dbaccess(
        "gui", "pg-service", "--catalog", "example", "--email", "hugo.henley@example.com"
    )
    assert result.exit_code == 0, result.stderr
    conf = configparser.ConfigParser()
    conf.read_string(result.stdout)
    assert conf.sections() == ["inventory", "orders", "orders-rw", "payments-staging-rw"]
    assert dict(conf["orders-rw"]) == {
        "host": ORDERS_HOST,
        "port": "5432",
        "dbname": "orders",
        "user": "hhenley_rw",
        "sslmode": "verify-full",
        "sslrootcert": str(rds_ca),
    }
    assert "psql service=" in result.stderr


def test_dbeaver_data_sources_json_and_the_password_beside_it(
    published: AccessPlan,
    rds_ca: Path,
    home: Path,
) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}
    target = home / "data-sources.json"
    result = dbaccess("gui", "dbeaver", "orders", "--write", str(target), env=env)
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    (connection,) = json.loads(text)["connections"].values()
    assert (connection["provider"], connection["driver"]) == ("postgresql", "postgres-jdbc")
    assert connection["save-password"] is False
    config = connection["configuration"]
    assert (config["host"], config["port"], config["database"]) == (ORDERS_HOST, "5432", "orders")
    assert config["url"] == f"jdbc:postgresql://{ORDERS_HOST}:5432/orders"
    assert config["user"] == "fatimazahra_ro"
    ssl = config["handlers"]["postgre_ssl"]
    assert ssl["enabled"] is True
    assert ssl["properties"] == {"sslMode": "verify-full", "ssl.ca.cert": str(rds_ca)}
    # The password: on stderr, to paste; never in the file.
    password = result.stderr.rstrip("\n").splitlines()[-1]
    assert "X-Amz-Signature=" in password
    assert password not in text
    assert "fatimazahra_ro" in result.stderr


def test_datagrip_jdbc_url_without_the_password(
    published: AccessPlan,
    rds_ca: Path,
) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}
    result = dbaccess("gui", "datagrip", "orders", env=env)
    assert result.exit_code == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("jdbc:postgresql://")
    parts = urlsplit(url.removeprefix("jdbc:"))
    assert (parts.hostname, parts.port, parts.path) == (ORDERS_HOST, 5432, "/orders")
    assert parse_qs(parts.query) == {
        "user": ["fatimazahra_ro"],
        "sslmode": ["verify-full"],
        "sslrootcert": [str(rds_ca)],
    }
    assert "X-Amz-Signature=" not in result.stdout
    assert "X-Amz-Signature=" in result.stderr


def test_refusals_say_what_to_do(rds_ca: Path) -> None:
    typo = dbaccess("gui", "pgadmin", "ordrs", *OFFLINE)
    assert typo.exit_code == 2
    assert "did you mean 'orders'?" in typo.stderr
    redshift = dbaccess("gui", "pgadmin", "analytics", "--catalog", "example", "--email", PRIYA)
    assert redshift.exit_code == 2
    assert "analytics is redshift" in redshift.stderr
    assert "dbaccess token analytics --format json" in redshift.stderr
    unnamed = dbaccess("gui", "dbeaver", *OFFLINE)
    assert unnamed.exit_code == 2
    assert "name the database: dbaccess gui dbeaver DATABASE" in unnamed.stderr


def test_a_missing_ca_file_says_how_to_get_it(home: Path) -> None:
    result = dbaccess("gui", "pg-service", *OFFLINE)
    assert result.exit_code == 1
    assert "curl -fsSL https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in (
        result.stderr
    )
    assert result.stdout == ""
