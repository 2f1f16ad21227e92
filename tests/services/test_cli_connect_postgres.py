"""`dbaccess connect` really opens psql on a real PostgreSQL server over verify-full TLS.

The local server cannot check IAM, so the login's password is set to exactly the token
`dbaccess token` issued. Both commands run as real subprocesses against moto's server (STS),
with the same AWS credentials and botocore's signing clock pinned to the same instant: the
token is a deterministic SigV4 signature, so `connect` computes the same password. That proves
the CLI hands psql the right host, port, database, user, password and TLS settings.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import pytest

from dbaccess.access import load_access_file
from dbaccess.catalog import build_person_object, to_json
from dbaccess.iam.documents import role_arn
from tests import pgserver
from tests.services.engineer_cli import dbaccess_as, moto_endpoint

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
EMAIL, LOGIN = "fatima.zahra@example.com", "fatimazahra_ro"

__all__ = ["moto_endpoint"]  # a fixture this module uses


def test_connect_opens_psql_as_the_login(
    pg_server: pgserver.PostgresServer, moto_endpoint: str, tmp_path: Path
) -> None:
    # GIVEN fatima's catalog object, with orders pointing at the test server
    plan = load_access_file(ROOT / "access.yaml", today=dt.date(2026, 11, 23))
    person = plan.people[EMAIL]
    roles = {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}
    document = build_person_object(plan, person, roles, {"orders": "db-ORDERS"})
    document["databases"]["orders"].update(host=pg_server.host, port=pg_server.port)
    catalog = tmp_path / f"{EMAIL}.json"
    catalog.write_text(to_json(document))

    # ... and her role's credentials, as weep would hand them out (moto's STS)
    dbaccess = dbaccess_as(
        role_arn(ACCOUNT, person.role_name),
        EMAIL,
        moto_endpoint,
        tmp_path,
        client_dir=str(Path(pg_server.psql_path).parent),
        drop="PG",
    )

    # WHEN she asks for a token, and the server's login gets exactly that password
    issued = dbaccess(
        "token",
        "orders",
        "--format",
        "env",
        "--ca-bundle",
        str(pg_server.ca_file),
        "--catalog",
        str(catalog),
    )
    assert issued.returncode == 0, issued.stderr
    exported = dict(w.split("=", 1) for w in shlex.split(issued.stdout)[1:])
    assert exported["PGUSER"] == LOGIN
    assert "Action=connect" in exported["PGPASSWORD"]
    pg_server.create_login(LOGIN, exported["PGPASSWORD"], database="orders")

    # THEN `dbaccess connect` replaces itself with psql, which logs in over verify-full TLS
    connected = dbaccess(
        "connect",
        "orders",
        "--ca-bundle",
        str(pg_server.ca_file),
        "--catalog",
        str(catalog),
        "--verbose",
        "--",
        "-X",
        "-A",
        "-t",
        "-c",
        "select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()",
    )
    assert connected.returncode == 0, connected.stderr + pg_server.log_tail()
    assert connected.stdout.strip() == f"{LOGIN}|orders|t"
    assert exported["PGPASSWORD"] not in connected.stderr  # --verbose names steps, not secrets
    assert "(password in PGPASSWORD)" in connected.stderr

    # AND a wrong CA makes psql refuse the server: verify-full really is in force
    other_ca = tmp_path / "other-ca"
    other_ca.mkdir()
    pgserver.write_test_pki(other_ca)
    refused = dbaccess(
        "connect",
        "orders",
        "--ca-bundle",
        str(other_ca / "ca.pem"),
        "--catalog",
        str(catalog),
        "--",
        "-X",
        "-c",
        "select 1",
    )
    assert refused.returncode != 0
    assert "certificate verify failed" in refused.stderr
