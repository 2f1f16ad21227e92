"""`dbaccess token` and `dbaccess connect` for MySQL, as real subprocesses: the token in MYSQL_*
variables, then the real client (Debian's `mysql`, which is MariaDB's) exec'd against the real
MariaDB over verified TLS.

As for psql (tests/services/test_cli_connect_postgres.py): MariaDB cannot check an IAM token,
so the user's password is set to exactly the token `dbaccess token` issued, and both commands
sign at the same pinned instant, so `connect` hands the client the same password. Not verified
here: RDS's AWSAuthenticationPlugin accepting it through the cleartext plugin, and Oracle's
`mysql` client (its flags, `--ssl-mode=VERIFY_IDENTITY`, are checked in tests/unit/cli).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from dbaccess.access import load_access_text
from dbaccess.catalog import build_person_object, to_json
from dbaccess.mysql.statements import account, string_literal
from dbaccess.policies import role_arn
from tests import pgserver
from tests.access_mysql import HUGO, PROD, with_mysql
from tests.mysqlserver import MariaDBServer
from tests.services.test_cli_connect_postgres import LAUNCHER, moto_endpoint

pytestmark = [pytest.mark.mysql]

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
LOGIN = "hhenley_ro"
__all__ = ["moto_endpoint"]  # a fixture this module uses


def test_connect_execs_the_mysql_client_as_the_login_over_verified_tls(
    mysql_server: MariaDBServer, moto_endpoint: str, tmp_path: Path
) -> None:
    # GIVEN hugo's catalog object, with the MySQL database `shop` pointing at the test server
    plan = load_access_text(with_mysql(), "access.yaml", today=dt.date(2026, 11, 23))
    person = plan.people[HUGO]
    roles = {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}
    ids = {key: f"db-{key.upper()}" for key in plan.databases}
    document = build_person_object(plan, person, roles, ids)
    document["databases"]["shop"].update(host=mysql_server.host, port=mysql_server.port)
    catalog = tmp_path / f"{HUGO}.json"
    catalog.write_text(to_json(document))
    mysql_server.sql(
        "CREATE DATABASE IF NOT EXISTS shop; CREATE DATABASE IF NOT EXISTS billing;"
        "CREATE TABLE IF NOT EXISTS shop.items (id INT PRIMARY KEY)"
    )

    # ... and his role's credentials (moto's STS), with botocore's clock pinned
    creds = boto3.client(
        "sts",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDBASE",
        aws_secret_access_key="base-secret",
    ).assume_role(RoleArn=role_arn(PROD, person.role_name), RoleSessionName=HUGO)["Credentials"]
    launcher = tmp_path / "dbaccess_frozen.py"
    launcher.write_text(LAUNCHER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "AWS_", "DBACCESS_"))}
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
            "HOME": str(tmp_path),  # no ~/.my.cnf of the developer's
            "DBACCESS_TEST_SIGNING_TIME": dt.datetime.now(dt.UTC)
            .replace(microsecond=0)
            .isoformat(),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(mysql_server.client_path).parent}:{env.get('PATH', '/usr/bin:/bin')}",
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

    # WHEN he asks for a token: MySQL variables, and the user gets exactly that password
    issued = dbaccess(
        "token", "shop", "--format", "env", "--ca-bundle", str(mysql_server.ca_file),
        "--catalog", str(catalog),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    exported = dict(w.split("=", 1) for w in shlex.split(issued.stdout)[1:])
    token = exported.pop("MYSQL_PWD")
    assert "Action=connect" in token
    assert exported == {
        "MYSQL_HOST": mysql_server.host,
        "MYSQL_TCP_PORT": str(mysql_server.port),
        "MYSQL_USER": LOGIN,
        "MYSQL_DATABASE": "shop",
        "MYSQL_SSL_CA": str(mysql_server.ca_file),
    }
    mysql_server.sql(
        f"CREATE OR REPLACE USER {account(LOGIN)} IDENTIFIED BY {string_literal(token)} "
        f"REQUIRE SSL; GRANT SELECT, SHOW VIEW ON `shop`.* TO {account(LOGIN)}"
    )
    try:
        # THEN `dbaccess connect` replaces itself with the client, logged in over TLS
        connected = dbaccess(
            "connect", "shop", "--ca-bundle", str(mysql_server.ca_file), "--catalog",
            str(catalog), "--verbose", "--", "--batch", "--skip-column-names", "-e",
            "SELECT CURRENT_USER(), DATABASE(), VARIABLE_VALUE <> '' "
            "FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'",
        )  # fmt: skip
        assert connected.returncode == 0, connected.stderr + mysql_server.log_tail()
        assert connected.stdout.strip() == f"{LOGIN}@%\tshop\t1"
        # --verbose shows the command line: the password is not on it
        assert token not in connected.stderr
        assert "--ssl-verify-server-cert" in connected.stderr
        assert "(password in MYSQL_PWD)" in connected.stderr

        # AND a wrong CA makes the client refuse the server: verification is in force
        other_ca = tmp_path / "other-ca"
        other_ca.mkdir()
        pgserver.write_test_pki(other_ca)
        refused = dbaccess(
            "connect", "shop", "--ca-bundle", str(other_ca / "ca.pem"), "--catalog",
            str(catalog), "--", "-e", "SELECT 1",
        )  # fmt: skip
        assert refused.returncode != 0
        assert "SSL" in refused.stderr or "TLS" in refused.stderr, refused.stderr
    finally:
        mysql_server.sql(
            f"DROP USER IF EXISTS {account(LOGIN)}; DROP DATABASE shop; DROP DATABASE billing"
        )
