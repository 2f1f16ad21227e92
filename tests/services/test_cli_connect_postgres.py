"""`dbaccess connect` really opens psql on a real PostgreSQL server over verify-full TLS.

The local server cannot check IAM, so the login's password is set to exactly the token
`dbaccess token` issued. Both commands run as real subprocesses against moto's server (STS),
with the same AWS credentials and botocore's signing clock pinned to the same instant: the
token is a deterministic SigV4 signature, so `connect` computes the same password. That proves
the CLI hands psql the right host, port, database, user, password and TLS settings.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from dbaccess.access import load_access_file
from dbaccess.catalog import build_person_object, to_json
from dbaccess.policies import role_arn
from tests import pgserver

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "eu-west-1"
EMAIL, LOGIN = "fatima.zahra@example.com", "fatimazahra_ro"

# Runs the real CLI with botocore's clock pinned to DBACCESS_TEST_SIGNING_TIME (ISO 8601),
# so two invocations sign the same token. Only botocore's clock changes; dbaccess is untouched.
LAUNCHER = """\
import datetime, os, sys
import botocore.auth

_at = datetime.datetime.fromisoformat(os.environ["DBACCESS_TEST_SIGNING_TIME"])
botocore.auth.get_current_datetime = (
    lambda remove_tzinfo=True: _at.replace(tzinfo=None) if remove_tzinfo else _at
)
from dbaccess.cli import app
app(prog_name="dbaccess")
"""


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


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
    creds = boto3.client(
        "sts",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDBASE",
        aws_secret_access_key="base-secret",
    ).assume_role(RoleArn=role_arn(ACCOUNT, person.role_name), RoleSessionName=EMAIL)["Credentials"]
    launcher = tmp_path / "dbaccess_frozen.py"
    launcher.write_text(LAUNCHER)
    psql_dir = str(Path(pg_server.psql_path).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "AWS_", "DBACCESS_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "DBACCESS_TEST_SIGNING_TIME": dt.datetime.now(dt.UTC)
            .replace(microsecond=0)
            .isoformat(),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{psql_dir}:{env.get('PATH', '/usr/bin:/bin')}",
        }
    )

    def dbaccess(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(launcher), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
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
