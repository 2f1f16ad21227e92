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
import shlex
from pathlib import Path

import pytest

from dbaccess.access import load_access_text
from dbaccess.catalog import build_person_object, to_json
from dbaccess.cli.doctor import tls_handshake
from dbaccess.cli.identity import EngineerError
from dbaccess.iam.documents import role_arn
from dbaccess.mysql.statements import account, string_literal
from tests import pgserver
from tests.access_mysql import HUGO, PROD, with_mysql
from tests.mysqlserver import MariaDBServer
from tests.services.engineer_cli import dbaccess_as, moto_endpoint

pytestmark = [pytest.mark.mysql]

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

    # ... and his role's credentials, as weep would hand them out (moto's STS)
    dbaccess = dbaccess_as(
        role_arn(PROD, person.role_name),
        HUGO,
        moto_endpoint,
        tmp_path,
        client_dir=str(Path(mysql_server.client_path).parent),
        drop="MYSQL",
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


def test_doctor_completes_a_verified_tls_handshake_with_mysql(
    mysql_server: MariaDBServer, tmp_path: Path
) -> None:
    # The MySQL protocol up to TLS, no login: the certificate and host name are verified.
    version = tls_handshake(mysql_server.host, mysql_server.port, mysql_server.ca_file, mysql=True)
    assert version.startswith("TLSv1.")
    other_ca = tmp_path / "other-ca"
    other_ca.mkdir()
    pgserver.write_test_pki(other_ca)
    with pytest.raises(EngineerError, match="the certificate does not verify"):
        tls_handshake(mysql_server.host, mysql_server.port, other_ca / "ca.pem", mysql=True)
    # PostgreSQL's SSLRequest is not MySQL's: without mysql=True the server is not understood.
    with pytest.raises(EngineerError):
        tls_handshake(mysql_server.host, mysql_server.port, mysql_server.ca_file)
