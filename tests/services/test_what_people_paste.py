"""What a person copies from the paste or from `dbaccess gui pg-service` connects as it is.

GIVEN a TLS PostgreSQL server whose certificate chains to a test CA (standing in for RDS's),
WHEN the paste's psql line runs in a shell, in a folder holding the CA file under the name the
paste gives it (what its `curl -fsSLO` line saves), or psql runs with `service=` from the
pg_service.conf `dbaccess gui` writes,
THEN psql logs in with verify-full, with no PGSSLROOTCERT or other setting of its own.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

from dbaccess.catalog import CatalogDatabase
from dbaccess.cli import gui_clients
from dbaccess.clients import ca_bundles
from dbaccess.credentials import Credential
from dbaccess.issuer import messages
from tests.pgserver import PostgresServer
from tests.throwaway import clean_env

LOGIN, PASSWORD = "paste_reader", "Paste-passw0rd"


def _credential(server: PostgresServer) -> Credential:
    return Credential(
        engine="postgres",
        host=server.host,
        port=server.port,
        database="paste_db",
        user=LOGIN,
        password=PASSWORD,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15),
    )


def _psql_env(server: PostgresServer, **extra: str) -> dict[str, str]:
    psql_dir = str(Path(server.psql_path).parent)
    env = clean_env("PG", {"PGPASSWORD": PASSWORD, **extra})  # as if typed at the prompt
    env["PATH"] = f"{psql_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def test_the_pastes_psql_line_connects_as_pasted(pg_server: PostgresServer, tmp_path: Path) -> None:
    pg_server.create_login(LOGIN, PASSWORD, database="paste_db")
    cred = _credential(pg_server)
    db = CatalogDatabase(
        "paste_db", "postgres", "123456789012", "eu-west-1", cred.host, cred.port,
        "paste_db", "paste-db", None, None, False, {},
    )  # fmt: skip
    paste = messages.paste_text(db, "read-only", cred).splitlines()
    (line,) = [p for p in paste if p.startswith("psql ")]
    curl = paste[paste.index(line) - 1]
    assert curl == f"curl -fsSLO {ca_bundles.RDS.url}"
    shutil.copy(pg_server.ca_file, tmp_path / ca_bundles.RDS.file_name)  # what curl saves

    done = subprocess.run(
        ["/bin/sh", "-c", f"{line} -tAc 'select current_user, ssl from pg_stat_ssl "
         "where pid = pg_backend_pid()'"],
        cwd=tmp_path, env=_psql_env(pg_server), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{LOGIN}|t"


def test_psql_service_from_pg_service_conf(pg_server: PostgresServer, tmp_path: Path) -> None:
    pg_server.create_login(LOGIN, PASSWORD, database="paste_db")
    target = gui_clients.Target(
        name="orders", key="orders", read_write=False, host=pg_server.host,
        port=pg_server.port, database="paste_db", user=LOGIN, ca_file=pg_server.ca_file,
    )  # fmt: skip
    (tmp_path / "pg_service.conf").write_text(gui_clients.pg_service([target]))

    done = subprocess.run(
        ["psql", "service=orders", "-tAc", "select current_user"],
        env=_psql_env(pg_server, PGSERVICEFILE=str(tmp_path / "pg_service.conf")),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == LOGIN
