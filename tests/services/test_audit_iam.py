"""`dbaccess audit` without --dsn: as the database's admin_login, with an RDS IAM token signed
with the account's deploy role from the stack settings (AWS: moto), over verify-full TLS.

The local server cannot check IAM tokens, so the connection gets as far as the password: the
test proves the token is made with the deploy role's session, for the admin login, and that
the refusal is reported as `unreachable` without the token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dbaccess.access import load_access_file
from dbaccess.audit.instances import the_instance
from dbaccess.cli import app
from dbaccess.postgres.connect import iam_params
from tests import pgserver
from tests.services.audit_world import ACCESS_YAML, ADMIN, TODAY, stack_project

pytestmark = [pytest.mark.postgres]

REGION = "eu-west-1"
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"  # Pulumi.prod.yaml's accounts


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_server: pgserver.PostgresServer
) -> Iterator[Path]:
    """The Pulumi project directory with the prod stack, access.yaml aimed at the test server."""
    project = stack_project(tmp_path, monkeypatch, ACCESS_YAML.format(port=pg_server.port))
    with mock_aws():
        yield project


def test_the_token_is_the_admins_signed_by_the_deploy_role(
    project: Path, pg_server: pgserver.PostgresServer
) -> None:
    db = load_access_file(project / "access.yaml", today=TODAY).databases["orders"]

    sts = boto3.client("sts", region_name=REGION)
    params = iam_params(db, the_instance(db)[0], DEPLOY_ROLE, pg_server.ca_file, sts)

    assert {k: v for k, v in params.items() if k != "password"} == {
        "host": "localhost",
        "port": pg_server.port,
        "dbname": "orders",
        "user": ADMIN,
        "sslmode": "verify-full",
        "sslrootcert": str(pg_server.ca_file),
    }
    token = params["password"]
    endpoint, query = token.split("/?", 1)
    assert endpoint == f"localhost:{pg_server.port}"
    fields = {k: v[0] for k, v in parse_qs(query).items()}
    assert fields["Action"] == "connect"
    assert fields["DBUser"] == ADMIN
    assert fields["X-Amz-Expires"] == "900"
    key_id, _date, region, service, _ = fields["X-Amz-Credential"].split("/")
    assert (region, service) == (REGION, "rds-db")
    # The signing key is a session of the deploy role (moto knows whose key it issued).
    who = boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key="unused-by-moto",
        aws_session_token=fields["X-Amz-Security-Token"],
    ).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/dbaccess-deploy/dbaccess-audit"


def test_a_refused_token_is_unreachable_and_never_printed(
    project: Path, pg_server: pgserver.PostgresServer
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--database",
            "orders",
            "--ca-bundle",
            str(pg_server.ca_file),
            "--format",
            "json",
            "--date",
            TODAY.isoformat(),
        ],
    )

    assert result.exit_code == 1, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["kind"] == "unreachable"
    assert finding["subject"] == f"localhost:{pg_server.port}/orders"
    # TLS was verified and the server asked for the admin's password: the token.
    assert f'password authentication failed for user "{ADMIN}"' in finding["detail"]
    for part in ("Action=connect", "X-Amz-", "DBUser="):
        assert part not in result.output


def test_configuration_problems_exit_2(project: Path, pg_server: pgserver.PostgresServer) -> None:
    no_bundle = CliRunner().invoke(app, ["audit", "--database", "orders"])
    assert no_bundle.exit_code == 2
    assert "no CA bundle at" in no_bundle.stderr
    assert "curl -fsSL https://truststore.pki.rds.amazonaws.com" in no_bundle.stderr

    stack = (project / "Pulumi.prod.yaml").read_text()
    (project / "Pulumi.prod.yaml").write_text(
        stack.replace('"123456789012": arn:aws:iam::123456789012:role/dbaccess-deploy\n', "")
        # previewAccounts must name the same accounts: drop it there too
        .replace('"123456789012": arn:aws:iam::123456789012:role/dbaccess-preview\n', "")
    )
    no_account = CliRunner().invoke(
        app, ["sweep", "--ca-bundle", str(pg_server.ca_file), "--dry-run"]
    )
    assert no_account.exit_code == 2
    assert "database 'orders' is in account 123456789012" in no_account.stderr

    no_stack = CliRunner().invoke(app, ["audit", "--stack", "qa"])
    assert no_stack.exit_code == 2
    assert "Pulumi.qa.yaml does not exist" in no_stack.stderr
