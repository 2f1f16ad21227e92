"""The throw-away PostgreSQL server in tests/pgserver.py really does TLS + password auth.

These are the properties the `dbaccess connect` tests rely on: psql can log in with
sslmode=verify-full against host=localhost using only the test CA, and nothing else gets in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgserver

pytestmark = [pytest.mark.postgres]

USER, PASSWORD, DATABASE = "alice", "correct horse 'battery' staple", "orders"


@pytest.fixture(scope="module")
def server() -> Iterator[pgserver.PostgresServer]:
    pgserver.require_postgres()
    srv = pgserver.start_server()
    try:
        srv.create_login(USER, PASSWORD, database=DATABASE)
        yield srv
    finally:
        srv.stop()


def run_psql(
    server: pgserver.PostgresServer, sql: str, **env_overrides: str
) -> subprocess.CompletedProcess[str]:
    """psql over TCP exactly as `dbaccess connect` will run it: everything via PG* env vars."""
    env = server.client_env(USER, PASSWORD, DATABASE)
    env.update(env_overrides)
    return subprocess.run(
        [server.psql_path, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_server_is_up_with_ssl(server: pgserver.PostgresServer) -> None:
    assert server.host == "localhost"
    assert server.ca_file.is_file()
    assert server.psql("SHOW ssl") == "on"
    assert server.psql("SELECT current_user") == server.superuser


def test_login_over_verify_full_tls(server: pgserver.PostgresServer) -> None:
    proc = run_psql(
        server,
        "SELECT current_user, current_database(), ssl "
        "FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{USER}|{DATABASE}|t"


def test_wrong_password_is_refused(server: pgserver.PostgresServer) -> None:
    proc = run_psql(server, "SELECT 1", PGPASSWORD="wrong")
    assert proc.returncode != 0
    assert "password authentication failed" in proc.stderr


def test_plain_tcp_is_refused(server: pgserver.PostgresServer) -> None:
    proc = run_psql(server, "SELECT 1", PGSSLMODE="disable")
    assert proc.returncode != 0
    assert "no encryption" in proc.stderr or "rejects connection" in proc.stderr


def test_untrusted_ca_is_refused(
    server: pgserver.PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # verify-full must really verify the chain: a different CA's cert must not be accepted.
    other_ca, _, _ = pgserver.write_test_pki(tmp_path_factory.mktemp("other-ca"))
    proc = run_psql(server, "SELECT 1", PGSSLROOTCERT=str(other_ca))
    assert proc.returncode != 0
    assert "certificate verify failed" in proc.stderr


def test_create_login_is_idempotent_and_resets_password(server: pgserver.PostgresServer) -> None:
    server.create_login('bob "the" admin', "first", database="orders")
    server.create_login('bob "the" admin', "second", database="orders")
    env = {"PGUSER": 'bob "the" admin', "PGPASSWORD": "second"}
    proc = run_psql(server, "SELECT current_user", **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'bob "the" admin'
    assert run_psql(server, "SELECT 1", **{**env, "PGPASSWORD": "first"}).returncode != 0


# --- finding the server (Debian, Homebrew, PATH) ----------------------------------------------


def _fake_bindir(directory: Path) -> Path:
    directory.mkdir(parents=True)
    for name in ("initdb", "pg_ctl", "postgres", "psql"):
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


def test_a_server_on_path_is_found_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = _fake_bindir(tmp_path / "pg" / "bin")
    monkeypatch.setenv("PATH", str(bindir))
    assert pgserver.find_bindir() == bindir
    assert pgserver.find_psql(bindir) == str(bindir / "psql")


def test_homebrew_kegs_are_found_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Homebrew's keg-only formulae (not on PATH), and no Debian layout or initdb on PATH
    for keg in ("postgresql@9.6", "postgresql@17", "postgresql@16"):
        _fake_bindir(tmp_path / "opt" / keg / "bin")
    monkeypatch.setattr(pgserver, "_HOMEBREW_PREFIXES", (str(tmp_path),))
    monkeypatch.setattr(pgserver, "_DEBIAN_ROOT", tmp_path / "no-debian")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    # THEN the newest keg is the server
    assert pgserver.find_bindir() == tmp_path / "opt" / "postgresql@17" / "bin"
