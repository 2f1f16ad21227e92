"""`dbaccess doctor` against moto (STS, S3) and the real TLS PostgreSQL the suite starts.

GIVEN the catalog published to (moto) S3 with `orders` pointing at the local PostgreSQL,
WHEN an engineer runs `dbaccess doctor` (an operator's --operator: test_doctor_operator.py),
THEN each step prints ✓ or ✗ with the fix, the walk stops at the first blocking failure, and
any ✗ exits 1.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3
import pytest

from dbaccess.access import AccessPlan
from dbaccess.catalog import build_person_object, to_json
from tests import pgserver
from tests.services.test_cli_engineer import (  # the engineer's world, shared
    BUCKET,
    CATALOG_URL,
    FATIMA,
    REGION,
    RESOURCE_IDS,
    aws,  # noqa: F401 - fixture
    dbaccess,
    home,  # noqa: F401 - fixture
    person_role_env,
    published,  # noqa: F401 - fixture
    roles_of,
)

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def fatima(
    published: AccessPlan,  # noqa: F811 - the fixture above
    pg_server: pgserver.PostgresServer,
) -> dict[str, str]:
    """Fatima in her role, with orders in her catalog object pointing at the test server."""
    document = build_person_object(
        published, published.people[FATIMA], roles_of(published, FATIMA), RESOURCE_IDS
    )
    document["databases"]["orders"].update(host=pg_server.host, port=pg_server.port)
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=f"prod/people/{FATIMA}.json", Body=to_json(document)
    )
    return {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}


def steps(output: str) -> list[tuple[str, str]]:
    """(mark, step name) of each step line."""
    return [
        (line[0], line[2:].split(":", 1)[0]) for line in output.splitlines() if line[:1] in "✓✗"
    ]


ENGINEER_STEPS = [
    "AWS identity",
    "catalog",
    "person role assumable",
    "your catalog object readable",
    "grant",
    "token generated",
    "CA bundle present",
    "database reachable over TLS (verify-full)",
]


def test_every_step_passes_up_to_a_verified_tls_handshake(
    fatima: dict[str, str], pg_server: pgserver.PostgresServer
) -> None:
    result = dbaccess("doctor", "orders", "--ca-bundle", str(pg_server.ca_file), env=fatima)
    assert result.exit_code == 0, result.stdout
    assert steps(result.stdout) == [("✓", step) for step in ENGINEER_STEPS]
    assert f"orders (read-only) as fatimazahra_ro on localhost:{pg_server.port}" in result.stdout
    assert "TLSv1." in result.stdout
    assert result.stdout.rstrip().endswith("All good.")
    # The token is made, never shown.
    assert "Action=connect" not in result.stdout
    assert "X-Amz-Signature" not in result.stdout


def test_no_aws_credentials_stops_at_the_first_step(home: Path) -> None:  # noqa: F811
    result = dbaccess("doctor", env={"DBACCESS_CATALOG": CATALOG_URL})
    assert result.exit_code == 1
    assert steps(result.stdout) == [("✗", "AWS identity")]
    assert "Log in to AWS first" in result.stdout
    assert "Stopped: the steps after this one need it." in result.stdout


def test_no_catalog_location_says_which_output_to_use(fatima: dict[str, str]) -> None:
    result = dbaccess("doctor", env={**fatima, "DBACCESS_CATALOG": None})
    assert result.exit_code == 1
    assert steps(result.stdout) == [("✓", "AWS identity"), ("✗", "catalog")]
    assert "`pulumi stack output catalog`" in result.stdout


def test_a_database_nobody_listens_on_says_vpn_or_tunnel(
    fatima: dict[str, str],
    pg_server: pgserver.PostgresServer,
    published: AccessPlan,  # noqa: F811
) -> None:
    # GIVEN orders at a port where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    document = build_person_object(
        published, published.people[FATIMA], roles_of(published, FATIMA), RESOURCE_IDS
    )
    document["databases"]["orders"].update(host="localhost", port=closed)
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=f"prod/people/{FATIMA}.json", Body=json.dumps(document)
    )
    result = dbaccess("doctor", "orders", "--ca-bundle", str(pg_server.ca_file), env=fatima)
    assert result.exit_code == 1
    assert steps(result.stdout)[-1] == ("✗", "database reachable over TLS (verify-full)")
    assert all(mark == "✓" for mark, _ in steps(result.stdout)[:-1])
    assert f"localhost:{closed} is not reachable" in result.stdout
    assert "connect to the VPN, or open a tunnel" in result.stdout
    assert "PGHOSTADDR=127.0.0.1" in result.stdout


def test_a_certificate_from_another_ca_fails_verify_full(
    fatima: dict[str, str], tmp_path: Path
) -> None:
    other_ca, _, _ = pgserver.write_test_pki(tmp_path)
    result = dbaccess("doctor", "orders", "--ca-bundle", str(other_ca), env=fatima)
    assert result.exit_code == 1
    assert steps(result.stdout)[-1] == ("✗", "database reachable over TLS (verify-full)")
    assert "the certificate does not verify" in result.stdout


def test_a_missing_ca_bundle_is_reported_and_the_tls_step_skipped(
    fatima: dict[str, str], tmp_path: Path
) -> None:
    result = dbaccess("doctor", "--ca-bundle", str(tmp_path / "nope.pem"), env=fatima)
    assert result.exit_code == 1
    assert steps(result.stdout)[-1] == ("✗", "CA bundle present")
    assert "curl -fsSL https://truststore.pki.rds.amazonaws.com" in result.stdout


def test_a_database_without_a_grant_stops_at_the_grant(fatima: dict[str, str]) -> None:
    result = dbaccess("doctor", "inventory", env=fatima)
    assert result.exit_code == 1
    assert steps(result.stdout)[-1] == ("✗", "grant")
    assert "unknown database 'inventory'" in result.stdout  # her object holds only hers
    assert "Stopped" in result.stdout
