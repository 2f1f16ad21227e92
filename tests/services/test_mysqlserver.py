"""The throw-away MariaDB in tests/mysqlserver.py really runs unprivileged, on 127.0.0.1 only,
with verified TLS and password logins - the properties the MySQL tests rely on."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess

import pytest

from tests import mysqlserver
from tests.pgserver import write_test_pki

pytestmark = [pytest.mark.mysql]

USER, PASSWORD = "srvcheck", "correct horse 'battery' staple"


@pytest.fixture(scope="module")
def server(mysql_server: mysqlserver.MariaDBServer) -> mysqlserver.MariaDBServer:
    mysql_server.sql("CREATE DATABASE IF NOT EXISTS srvcheck_db")
    mysql_server.create_password_user(USER, PASSWORD)
    mysql_server.sql(f"GRANT SELECT ON srvcheck_db.* TO '{USER}'@'%'")
    return mysql_server


def test_superuser_runs_sql_over_the_socket(server: mysqlserver.MariaDBServer) -> None:
    assert server.sql("SELECT CURRENT_USER()") == f"{server.superuser}@localhost"
    assert server.sql("SELECT @@require_secure_transport, @@skip_name_resolve") == "1\t1"


def test_server_runs_unprivileged_and_listens_on_loopback_only(
    server: mysqlserver.MariaDBServer,
) -> None:
    pid = int((server.workdir / "mariadbd.pid").read_text())
    uid = os.stat(f"/proc/{pid}").st_uid
    assert uid != 0
    assert pwd.getpwuid(uid).pw_name == server.run_as
    assert server.sql("SELECT @@bind_address") == "127.0.0.1"


def test_login_over_verified_tls(server: mysqlserver.MariaDBServer) -> None:
    proc = server.client(
        USER,
        PASSWORD,
        "SELECT CURRENT_USER(), DATABASE(); SHOW STATUS LIKE 'Ssl_version'",
        database="srvcheck_db",
    )
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert rows[0] == f"{USER}@%\tsrvcheck_db"
    assert rows[1].startswith("Ssl_version\tTLSv1.")


def test_wrong_password_is_refused(server: mysqlserver.MariaDBServer) -> None:
    proc = server.client(USER, "wrong", "SELECT 1")
    assert proc.returncode != 0
    assert "Access denied" in proc.stderr


def test_plain_tcp_is_refused(server: mysqlserver.MariaDBServer) -> None:
    # An account without REQUIRE SSL, so only require_secure_transport can refuse it. MariaDB
    # reports that refusal as "Access denied", so the same login over TLS must succeed.
    server.sql("CREATE OR REPLACE USER 'plain'@'%' IDENTIFIED BY 'plainpw'")
    assert server.client("plain", "plainpw", "SELECT 1").stdout.strip() == "1"
    args = [server.client_path, "--no-defaults", "--protocol=TCP", f"--host={server.host}"]
    proc = subprocess.run(
        [*args, f"--port={server.port}", "--skip-ssl", "--user=plain", "-e", "SELECT 1"],
        env=mysqlserver.clean_env({"MYSQL_PWD": "plainpw"}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "Access denied for user 'plain'" in proc.stderr


def test_untrusted_ca_is_refused(
    server: mysqlserver.MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # --ssl-verify-server-cert must really verify the chain: another CA's cert is refused.
    other_ca, _, _ = write_test_pki(tmp_path_factory.mktemp("other-pki"))
    args = [a for a in server.tls_args() if not a.startswith("--ssl-ca=")]
    proc = subprocess.run(
        [server.client_path, "--no-defaults", *args, f"--ssl-ca={other_ca}", f"--user={USER}"],
        input="SELECT 1",
        env=mysqlserver.clean_env({"MYSQL_PWD": PASSWORD}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "certificate" in proc.stderr.lower() or "SSL" in proc.stderr


def test_root_is_unreachable_over_tcp(server: mysqlserver.MariaDBServer) -> None:
    proc = server.client(server.superuser, "", "SELECT 1")
    assert proc.returncode != 0
    assert "Access denied" in proc.stderr


def test_nothing_listens_on_other_addresses(server: mysqlserver.MariaDBServer) -> None:
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    for address in addresses - {"127.0.0.1", "::1"}:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, server.port)) != 0, address
