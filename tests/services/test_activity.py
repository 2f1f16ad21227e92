"""`dbaccess activity` on the lines the real servers write: statements run as two people (and
an application) on PostgreSQL with pgaudit and on MariaDB with its audit plugin, the log
lines pushed into moto's CloudWatch Logs as RDS exports them, read back through the CLI: who
ran which write, and nothing for reads.

The per-login audit settings are made here by hand (ALTER ROLE ... SET pgaudit.log,
server_audit_incl_users), as the program makes them from access.yaml's query_audit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dbaccess.cli import app
from dbaccess.postgres.audit_log import RDS_LOG_LINE_PREFIX
from tests import mysqlserver, pgserver
from tests.activity_world import ANA, BOB, MYSQL_GROUP, PG_GROUP, access_yaml, push, statements
from tests.services.audit_world import stack_project

PASSWORD = "activity-pw-3c9e1f"
# Where an entry of the server's log starts (the rest of a multi-line statement does not).
PG_ENTRY = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC:", re.MULTILINE)
MULTI_LINE = "UPDATE t\n   SET note = 'it''s, \"quoted\"'\n WHERE id = 1"


@pytest.fixture(scope="module")
def pg() -> Iterator[pgserver.PostgresServer]:
    """A server of this module's own: its log gets RDS's log_line_prefix."""
    pgserver.require_postgres()
    bindir = pgserver.find_bindir()
    assert bindir is not None
    if not pgserver.has_pgaudit(bindir):
        pytest.fail("pgaudit is not installed; run scripts/ensure-postgres.sh", pytrace=False)
    server = pgserver.start_server()
    server.psql(
        f"ALTER SYSTEM SET log_line_prefix = '{RDS_LOG_LINE_PREFIX}';\n"
        "ALTER SYSTEM SET log_timezone = 'UTC';\nSELECT pg_reload_conf();"
    )
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    project = stack_project(tmp_path, monkeypatch, access_yaml())
    with mock_aws():
        yield project


def as_login(server: pgserver.PostgresServer, login: str, *sql: str) -> None:
    with psycopg.connect(
        host=server.host,
        port=server.port,
        dbname="orders",
        user=login,
        password=PASSWORD,
        sslmode="verify-full",
        sslrootcert=str(server.ca_file),
        autocommit=True,
    ) as conn:
        for statement in sql:
            conn.execute(statement.encode())


def pg_entries(logfile: Path) -> list[tuple[dt.datetime, str]]:
    """The server log split into entries, each timestamped with its own time, the way RDS
    exports them (one CloudWatch event per entry)."""
    text = logfile.read_text()
    starts = [m.start() for m in PG_ENTRY.finditer(text)] + [len(text)]
    found = []
    for start, end in itertools.pairwise(starts):
        entry = text[start:end].rstrip("\n")
        stamp = dt.datetime.strptime(entry[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        found.append((stamp, entry))
    return found


@pytest.mark.postgres
def test_pgaudit_lines_say_who_wrote_what_and_nothing_for_reads(
    pg: pgserver.PostgresServer, project: Path
) -> None:
    pg.psql("CREATE DATABASE orders")
    for login in ("anasilva_rw", "bobjones_rw", "orders_app"):
        pg.create_login(login, PASSWORD)
        # What query_audit: write sets: one line per table a statement touches.
        pg.psql(
            f"ALTER ROLE {login} SET pgaudit.log = 'write,ddl,role';\n"
            f"ALTER ROLE {login} SET pgaudit.log_relation = on;"
        )
    pg.psql(
        "CREATE TABLE t (id int PRIMARY KEY, note text);\n"
        "CREATE TABLE t2 (id int PRIMARY KEY);\n"
        "GRANT ALL ON t, t2 TO anasilva_rw, bobjones_rw, orders_app;\n"
        "GRANT CREATE ON SCHEMA public TO anasilva_rw;",
        dbname="orders",
    )

    both_tables = "WITH moved AS (DELETE FROM t2 RETURNING id) INSERT INTO t SELECT id FROM moved"
    as_login(pg, "bobjones_rw", "INSERT INTO t VALUES (1, 'a,b')", "SELECT * FROM t", both_tables)
    as_login(pg, "anasilva_rw", "SELECT count(*) FROM t", MULTI_LINE, "CREATE TABLE ana_t (a int)")
    as_login(pg, "orders_app", "DELETE FROM t WHERE id = 2")
    push(PG_GROUP, pg_entries(pg.logfile))

    result = CliRunner().invoke(
        app, ["activity", "--database", "orders", "--since", "1h", "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert statements(document, "person", "database", "access", "login", "class", "statement") == [
        (BOB, "orders", "read-write", "bobjones_rw", "WRITE", "INSERT INTO t VALUES (1, 'a,b')"),
        # Logged once per table (log_relation), shown once.
        (BOB, "orders", "read-write", "bobjones_rw", "WRITE", both_tables),
        (ANA, "orders", "read-write", "anasilva_rw", "WRITE", MULTI_LINE),
        (ANA, "orders", "read-write", "anasilva_rw", "DDL", "CREATE TABLE ana_t (a int)"),
        (None, "orders", None, "orders_app", "WRITE", "DELETE FROM t WHERE id = 2"),
    ]
    # The connection lines and the rest of the log are other lines, none unreadable.
    assert document["lines"]["other"] > 0
    assert document["lines"]["unreadable"] == 0

    only_bob = CliRunner().invoke(app, ["activity", "--database", "orders", "--person", BOB])
    assert only_bob.exit_code == 0, only_bob.output
    first, _both = only_bob.stdout.splitlines()
    assert first.endswith(f"{BOB}  orders (read-write)  WRITE     INSERT INTO t VALUES (1, 'a,b')")


@pytest.fixture
def audited(mysql_server: mysqlserver.MariaDBServer) -> Iterator[mysqlserver.MariaDBServer]:
    """The plugin logging DDL and writes of the two people's logins, as on RDS; off again after."""
    server = mysql_server
    server.sql("CREATE DATABASE IF NOT EXISTS shop")
    for login in ("anasilva_rw", "bobjones_ro", "shop_app"):
        server.create_password_user(login, PASSWORD)
        server.sql(f"GRANT ALL ON shop.* TO '{login}'@'%'")
    server.sql("CREATE OR REPLACE TABLE shop.activity_t (id int PRIMARY KEY, note text)")
    server.sql(
        "SET GLOBAL server_audit_events = 'QUERY_DDL,QUERY_DML_NO_SELECT';\n"
        "SET GLOBAL server_audit_incl_users = 'anasilva_rw,bobjones_ro';\n"
        "SET GLOBAL server_audit_logging = ON;"
    )
    try:
        yield server
    finally:
        # The server is shared with other tests: leave it as found.
        server.sql(
            "SET GLOBAL server_audit_logging = OFF;\nSET GLOBAL server_audit_incl_users = '';\n"
            "DROP TABLE IF EXISTS shop.activity_t;\n"
            "DROP USER IF EXISTS 'anasilva_rw'@'%', 'bobjones_ro'@'%', 'shop_app'@'%';"
        )


def mysql_lines(logfile: Path) -> list[tuple[dt.datetime, str]]:
    found = []
    for line in logfile.read_text().splitlines():
        stamp = dt.datetime.strptime(line[:17], "%Y%m%d %H:%M:%S").replace(tzinfo=dt.UTC)
        found.append((stamp, line))
    return found


@pytest.mark.mysql
def test_audit_plugin_lines_say_who_wrote_what_and_nothing_for_reads(
    audited: mysqlserver.MariaDBServer, project: Path
) -> None:
    def run(login: str, sql: str) -> None:
        done = audited.client(login, PASSWORD, sql, database="shop")
        assert done.returncode == 0, done.stderr

    run("anasilva_rw", "INSERT INTO activity_t VALUES (1, 'it''s, a\\nline');")
    run("bobjones_ro", "SELECT * FROM activity_t;")
    run("bobjones_ro", "UPDATE activity_t SET note = 'b' WHERE id = 1;")
    run("anasilva_rw", "ALTER TABLE activity_t ADD COLUMN extra int;")
    run("shop_app", "DELETE FROM activity_t WHERE id = 9;")  # not in incl_users: not logged
    push(MYSQL_GROUP, mysql_lines(audited.workdir / "server_audit.log"), stream="shop-prod")

    result = CliRunner().invoke(
        app, ["activity", "--database", "shop", "--since", "1h", "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert statements(document, "person", "database", "access", "login", "class", "statement") == [
        (
            ANA,
            "shop",
            "read-write",
            "anasilva_rw",
            "WRITE",
            "INSERT INTO activity_t VALUES (1, 'it''s, a\\nline')",
        ),
        (
            BOB,
            "shop",
            "read-only",
            "bobjones_ro",
            "WRITE",
            "UPDATE activity_t SET note = 'b' WHERE id = 1",
        ),
        (
            ANA,
            "shop",
            "read-write",
            "anasilva_rw",
            "DDL",
            "ALTER TABLE activity_t ADD COLUMN extra int",
        ),
    ]
    assert document["lines"]["unreadable"] == 0
