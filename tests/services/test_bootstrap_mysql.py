"""`dbaccess bootstrap` on a MySQL server, proved on a real MariaDB.

GIVEN two access.yaml databases on one server and a master user with a password over verified
TLS, WHEN the master user bootstraps, THEN the admin user gets its privileges on both
databases, a second run changes nothing and says so, and --dry-run changes nothing.

MariaDB has neither AWSAuthenticationPlugin nor mysql.rds_kill: the command's own statements
(built for RDS) are refused at the first one, which the test checks is said cleanly; the run
that succeeds uses the library function with tests/mysql_local.py's two substitutions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbaccess.cli import app
from dbaccess.mysql import apply
from dbaccess.mysql.connect import verified_connection
from tests import mysql_local
from tests.mysqlserver import MariaDBServer

pytestmark = [pytest.mark.mysql]

ADMIN = "boot_admin"
MASTER, MASTER_PASSWORD = "boot_master", "master-pw-5e77c1"
DATABASES = ["boot_a", "boot_b"]
ACCESS_YAML = """\
version: 1
databases:
  boot-a:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: boot
    host: localhost
    port: {port}
    database: boot_a
    admin_login: boot_admin
  boot-b:
    engine: mysql
    account: "123456789012"
    region: eu-west-1
    instance: boot
    host: localhost
    port: {port}
    database: boot_b
    admin_login: boot_admin
people:
  ada@example.com:
    grants:
      - {{database: boot-a, access: read-only}}
"""


@pytest.fixture
def server(mysql_server: MariaDBServer) -> Iterator[MariaDBServer]:
    # A server db-access never saw: no mark role yet (other modules' servers made it as root;
    # on RDS the master creates it and so holds it WITH ADMIN OPTION, as here).
    mysql_server.sql(
        "DROP ROLE IF EXISTS dbaccess_managed;"
        + "".join(f"CREATE DATABASE {db};" for db in DATABASES)
        + f"CREATE USER '{MASTER}'@'%' IDENTIFIED BY '{MASTER_PASSWORD}' REQUIRE SSL;"
        + f"GRANT ALL PRIVILEGES ON *.* TO '{MASTER}'@'%' WITH GRANT OPTION;"
        + "CREATE USER 'boot_nobody'@'%' IDENTIFIED BY 'nobody-pw' REQUIRE SSL;"
    )
    yield mysql_server
    mysql_server.sql(
        "".join(f"DROP DATABASE {db};" for db in DATABASES)
        + f"DROP USER IF EXISTS '{MASTER}'@'%', '{ADMIN}'@'%', 'boot_nobody'@'%';"
    )


@pytest.fixture
def access_file(server: MariaDBServer, tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_YAML.format(port=server.port))
    return path


def bootstrap(
    server: MariaDBServer, access_file: Path, *args: str, user: str = MASTER, password: str = ""
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        [
            "bootstrap",
            "--file",
            str(access_file),
            "--database",
            "boot-a",
            "--master-user",
            user,
            "--ca-bundle",
            str(server.ca_file),
            *args,
        ],
        env={"DBACCESS_MASTER_PASSWORD": password or MASTER_PASSWORD},
    )
    output = result.stdout + result.stderr
    assert (password or MASTER_PASSWORD) not in output
    assert "Traceback" not in output
    return result.exit_code, result.stdout, result.stderr


def admin_exists(server: MariaDBServer) -> bool:
    return server.sql(f"SELECT count(*) FROM mysql.user WHERE User = '{ADMIN}'") == "1"


def test_dry_run_prints_the_statements_for_every_database_of_the_server_and_changes_nothing(
    server: MariaDBServer, access_file: Path
) -> None:
    code, out, err = bootstrap(server, access_file, "--dry-run")

    assert code == 0, err
    assert "databases boot_a, boot_b" in out
    assert f"CREATE USER IF NOT EXISTS '{ADMIN}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin" in out
    assert f"ON `boot\\_b`.* TO '{ADMIN}'@'%' WITH GRANT OPTION;" in out
    assert "MySQL has no PUBLIC" in out
    assert f"the admin user {ADMIN} does not exist yet; nothing was changed." in out
    assert not admin_exists(server)


def test_what_the_server_refuses_is_said_with_its_statement(
    server: MariaDBServer, access_file: Path
) -> None:
    # MariaDB has no AWSAuthenticationPlugin: the first statement is refused, nothing runs.
    code, _, err = bootstrap(server, access_file)

    assert code == 1
    assert "bootstrap: \"CREATE USER IF NOT EXISTS 'boot_admin'@'%'" in err
    assert "AWSAuthenticationPlugin" in err
    assert "master user" in err
    assert not admin_exists(server)


def test_a_user_without_the_privileges_is_told_to_use_the_master_user(
    server: MariaDBServer, access_file: Path
) -> None:
    code, _, err = bootstrap(server, access_file, user="boot_nobody", password="nobody-pw")

    assert code == 1
    assert "run it as the RDS master user" in err


def test_a_wrong_password_says_it_cannot_connect(server: MariaDBServer, access_file: Path) -> None:
    code, _, err = bootstrap(server, access_file, password="wrong-pw-2")

    assert code == 1
    assert "cannot connect to boot-a as the master user" in err
    assert "Access denied" in err


def test_a_second_run_changes_nothing(server: MariaDBServer) -> None:
    statements = mysql_local.statements(ADMIN, DATABASES)
    master = verified_connection(
        server.host, server.port, MASTER, MASTER_PASSWORD, str(server.ca_file)
    )
    with master as conn:
        before, after = apply.bootstrap(conn, statements, ADMIN, dry_run=False)
        assert before is None
        assert after is not None
        assert any("`boot\\_a`.*" in grant for grant in after)

        again = apply.bootstrap(conn, statements, ADMIN, dry_run=False)

    assert again == (after, after)
