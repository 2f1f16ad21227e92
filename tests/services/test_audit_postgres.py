"""`dbaccess audit` and `dbaccess sweep` against a real PostgreSQL server.

GIVEN a server set up exactly as the plan says (tests/services/audit_world.py), WHEN problems
are planted by hand, THEN audit finds each one by kind and subject, and nothing else; and
sweep ends the sessions of logins access.yaml no longer gives, and no other session.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from dbaccess.access import load_access_file
from dbaccess.cli import app
from dbaccess.cli.preview_engine import Registration
from dbaccess.postgres.audit import run_audit
from dbaccess.postgres.connect import Connector, Reach, dsn_connector
from tests import pgserver
from tests.services import audit_world as world

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def server() -> Iterator[pgserver.PostgresServer]:
    # Its own server: audit reads every role of a server, and others' tests make logins.
    pgserver.require_postgres()
    started = pgserver.start_server()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def registrations(tmp_path_factory: pytest.TempPathFactory) -> list[Registration]:
    return world.declared(tmp_path_factory.mktemp("program"))


@pytest.fixture
def access_file(
    server: pgserver.PostgresServer, tmp_path: Path, registrations: list[Registration]
) -> Path:
    return world.build(server, tmp_path, registrations)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def audit_json(server: pgserver.PostgresServer, access_file: Path, database: str) -> Any:
    code, out, err = run(
        "audit",
        "--file",
        str(access_file),
        "--database",
        database,
        "--dsn",
        world.dsn(server, database),
        "--format",
        "json",
        "--date",
        world.TODAY.isoformat(),
    )
    document = json.loads(out)
    document["exit"] = code
    assert world.ADMIN_PASSWORD not in out + err
    return document


def kinds(document: Any) -> set[tuple[str, str]]:
    return {(f["kind"], f["subject"]) for f in document["findings"]}


def test_a_server_set_up_as_the_plan_says_has_no_finding(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    for database in ("orders", "inventory"):
        document = audit_json(server, access_file, database)
        # The bootstrap superuser (rdsadmin on RDS) is a fact, reported but not failing.
        assert kinds(document) == {("master-login", "postgres")}, document["findings"]
        assert document["exit"] == 0
        assert document["checked"]["databases"] == [database]
        assert set(document["findings"][0]) == {
            "database",
            "instance",
            "kind",
            "subject",
            "detail",
        }
        assert {f["instance"] for f in document["findings"]} == {"main"}


def test_each_planted_problem_is_found_by_kind_and_subject(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    server.psql(
        """
        CREATE ROLE mallory LOGIN PASSWORD 'static';              -- a login with a password
        CREATE ROLE eve_ro LOGIN IN ROLE rds_iam;                 -- an undeclared IAM login
        CREATE ROLE breakglass SUPERUSER NOLOGIN;                 -- a superuser
        DROP ROLE bobjones_rw;                                    -- a declared login, missing
        GRANT CONNECT ON DATABASE orders TO PUBLIC;               -- PUBLIC can connect
        REVOKE dbaccess_inventory_ro FROM anasilva_ro;            -- wrong memberships
        GRANT dbaccess_orders_rw TO anasilva_ro;
        GRANT CONNECT ON DATABASE inventory TO dbaccess_orders_ro; -- a group beyond its database
        """
    )
    server.psql(
        """
        GRANT CREATE ON SCHEMA billing TO PUBLIC;                 -- PUBLIC can create
        GRANT INSERT ON public.orders TO dbaccess_orders_ro;      -- a read-only group writes
        GRANT CREATE ON SCHEMA public TO dbaccess_orders_rw;      -- a group creates
        CREATE TABLE public.stray (id int);                       -- not a table owner's table
        """,
        dbname="orders",
    )

    document = audit_json(server, access_file, "orders")

    assert document["exit"] == 1
    assert kinds(document) == {
        ("master-login", "postgres"),
        ("password-login", "mallory"),
        ("undeclared-login", "eve_ro"),
        ("privileged-role", "breakglass"),
        ("missing-login", "bobjones_rw"),
        ("wrong-membership", "anasilva_ro"),
        ("public-connect", "orders"),
        ("public-create", "orders.billing"),
        ("group-privileges", "dbaccess_orders_ro"),
        ("group-privileges", "dbaccess_orders_rw"),
    }
    details = {(f["kind"], f["subject"], f["detail"]) for f in document["findings"]}
    assert (
        "wrong-membership",
        "anasilva_ro",
        "missing dbaccess_inventory_ro; extra dbaccess_orders_rw",
    ) in details
    assert ("privileged-role", "breakglass", "NOLOGIN SUPERUSER, not in rds_iam") in details
    ro = {d for k, s, d in details if s == "dbaccess_orders_ro"}
    assert ro == {
        "database inventory: extra CONNECT",
        "tables in public: missing SELECT on stray; extra INSERT on orders",
    }
    rw = {d for k, s, d in details if s == "dbaccess_orders_rw"}
    assert rw == {
        "schema public: extra CREATE",
        "tables in public: missing DELETE on stray; missing INSERT on stray; "
        "missing SELECT on stray; missing UPDATE on stray",
    }
    assert {f["database"] for f in document["findings"]} == {"orders"}


def test_rds_own_roles_and_the_master_user_are_facts_that_do_not_fail(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    # What RDS has on every instance: rdsadmin, its rds_* roles, a master user in rds_superuser.
    server.psql(
        """
        CREATE ROLE rds_superuser NOLOGIN;
        CREATE ROLE rdsadmin LOGIN SUPERUSER;
        CREATE ROLE rds_replication NOLOGIN REPLICATION;
        CREATE ROLE master LOGIN CREATEROLE CREATEDB PASSWORD 'static' IN ROLE rds_superuser;
        """
    )

    document = audit_json(server, access_file, "orders")

    assert document["exit"] == 0
    assert kinds(document) == {
        ("master-login", "postgres"),
        ("master-login", "rdsadmin"),
        ("master-login", "master"),
    }
    details = {f["subject"]: f["detail"] for f in document["findings"]}
    assert details["master"] == "LOGIN CREATEROLE CREATEDB, not in rds_iam, member of rds_superuser"


def test_text_and_markdown_group_the_findings_and_say_how_to_fix(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    server.psql("CREATE ROLE mallory LOGIN PASSWORD 'static'")
    for fmt, heading in (("text", "password-login (1): "), ("markdown", "### `password-login`")):
        code, out, _ = run(
            "audit",
            "--file",
            str(access_file),
            "--database",
            "orders",
            "--dsn",
            world.dsn(server, "orders"),
            "--format",
            fmt,
            "--date",
            world.TODAY.isoformat(),
        )
        assert code == 1
        assert heading in out
        assert "ALTER ROLE <name> NOLOGIN" in out
        assert "mallory" in out
        assert "1 finding(s) to fix" in out
        assert world.ADMIN_PASSWORD not in out


def test_an_unreachable_database_is_reported_and_the_others_are_still_checked(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    plan = load_access_file(access_file, today=world.TODAY)
    server.psql("CREATE ROLE mallory LOGIN PASSWORD 'static'")
    wrong = "not-the-" + world.ADMIN_PASSWORD
    through = {
        "orders": dsn_connector(world.dsn(server, "orders", wrong), plan.databases["orders"]),
        "inventory": dsn_connector(world.dsn(server, "inventory"), plan.databases["inventory"]),
    }
    connect: Connector = lambda db, instance: through[db.key].connect(db, instance)  # noqa: E731

    result = run_audit(plan, [], Reach(connect))

    found = {(f.database, f.kind, f.subject) for f in result.findings}
    assert ("orders", "unreachable", f"localhost:{server.port}/orders") in found
    assert ("inventory", "password-login", "mallory") in found  # server checks ran on inventory
    assert result.databases == ["inventory"]
    assert result.skipped == {"analytics": "Redshift is not audited (see docs/reference/audit.md)"}
    [unreachable] = [f for f in result.findings if f.kind == "unreachable"]
    assert "password authentication failed" in unreachable.detail
    assert wrong not in unreachable.detail


def test_the_cli_reports_an_unreachable_database_with_exit_1_and_no_password(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    secret = "wrong-" + world.ADMIN_PASSWORD
    code, out, err = run(
        "audit",
        "--file",
        str(access_file),
        "--database",
        "orders",
        "--dsn",
        world.dsn(server, "orders", secret),
        "--format",
        "json",
    )
    assert code == 1
    assert [f["kind"] for f in json.loads(out)["findings"]] == ["unreachable"]
    assert secret not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dsn", "postgresql://x:hunter2-secret@h/orders"], "exactly one --database"),
        (["--database", "ordrs"], "did you mean 'orders'"),
        (["--database", "orders", "--dsn", "host=h password=hunter2-secret oops"], "--dsn is not"),
        (
            ["--database", "orders", "--dsn", "postgresql://x:hunter2-secret@h/inventory"],
            "connects to database 'inventory'",
        ),
        (["--database", "analytics", "--dsn", "postgresql://h/analytics"], "PostgreSQL only"),
        (
            ["--database", "orders", "--dsn", "postgresql://x:hunter2-secret@h1,h2/orders"],
            "'orders' is an RDS instance",
        ),
    ],
)
def test_usage_errors_exit_2_without_echoing_the_dsn(
    access_file: Path, args: list[str], message: str
) -> None:
    for command in ("audit", "sweep"):
        code, out, err = run(command, "--file", str(access_file), *args)
        assert code == 2, out + err
        assert message in err
        assert "hunter2-secret" not in out + err


# --- sweep -----------------------------------------------------------------------------------


def sweep_json(server: pgserver.PostgresServer, access_file: Path, *extra: str) -> Any:
    code, out, err = run(
        "sweep",
        "--file",
        str(access_file),
        "--database",
        "inventory",
        "--dsn",
        world.dsn(server, "inventory"),
        "--format",
        "json",
        *extra,
    )
    document = json.loads(out)
    document["exit"] = code
    assert world.ADMIN_PASSWORD not in out + err
    return document


def own_start(conn: psycopg.Connection[Any]) -> dt.datetime:
    row = conn.execute(
        "SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return row[0]


def alive(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


# An estate db-access joins: what it made (marked) and what it did not.
ESTATE_SQL = """
-- made by db-access (the mark), grant past its `until`
CREATE ROLE carlold_ro LOGIN PASSWORD :'pw' IN ROLE rds_iam, dbaccess_managed, dbaccess_inventory_ro;
-- made by db-access, dropped by the deploy while connected
CREATE ROLE dora_ro LOGIN PASSWORD :'pw' IN ROLE rds_iam, dbaccess_managed, dbaccess_inventory_ro;
-- an IAM login made by hand before db-access: no mark
CREATE ROLE eve_ro LOGIN PASSWORD :'pw' IN ROLE rds_iam;
-- an application that logs in with IAM, listed in dbaccess:sweepExemptLogins
CREATE ROLE inventory_svc LOGIN PASSWORD :'pw' IN ROLE rds_iam;
-- a reporting login with a password that predates the bootstrap
CREATE ROLE reporting LOGIN PASSWORD :'pw';
-- the table owner (an application) logs in with IAM too
ALTER ROLE inventory_app LOGIN PASSWORD :'pw';
GRANT rds_iam TO inventory_app;
GRANT CONNECT ON DATABASE inventory TO eve_ro, inventory_svc, reporting, inventory_app;
"""
# Never ended, whatever the options: the applications, the owner, the admin, a declared login.
UNTOUCHABLE = ("anasilva_ro", "inventory_svc", "reporting", "inventory_app", world.ADMIN)


@pytest.fixture
def sessions(server: pgserver.PostgresServer, access_file: Path) -> Iterator[dict[str, Any]]:
    """An open session in inventory of each login of ESTATE_SQL, ana's (declared) and the
    admin's own."""
    server.psql(ESTATE_SQL, variables={"pw": world.LOGIN_PASSWORD})
    logins = ["anasilva_ro", "carlold_ro", "dora_ro", "eve_ro", "inventory_svc", "reporting"]
    opened = {login: world.session(server, login, "inventory") for login in logins}
    opened["inventory_app"] = world.session(server, "inventory_app", "inventory")
    opened[world.ADMIN] = world.session(server, world.ADMIN, "inventory", world.ADMIN_PASSWORD)
    yield opened
    for conn in opened.values():
        conn.close()


@pytest.fixture
def exempt_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The prod stack, listing the IAM application in dbaccess:sweepExemptLogins, as the
    working directory (sweep reads it from there, with --dsn too)."""
    (tmp_path / "project").mkdir()
    project = world.stack_project(tmp_path / "project", monkeypatch, "")
    stack = project / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text().replace(
            "config:\n", "config:\n  dbaccess:sweepExemptLogins: [inventory_svc]\n", 1
        )
    )
    return project


def ended_by_login(document: Any) -> dict[str, str]:
    return {e["login"]: e["reason"] for e in document["ended"]}


def test_sweep_ends_only_what_db_access_made(
    server: pgserver.PostgresServer, access_file: Path, sessions: dict[str, Any]
) -> None:
    # bob, reading orders, loses his grant: access.yaml no longer has him (his login is still
    # there, as after DROP ROLE's refusal or before the deploy drops it). dora's login is
    # dropped while she is connected.
    sessions["bobjones_rw"] = world.session(server, "bobjones_rw", "orders")
    text = access_file.read_text()
    access_file.write_text(
        text.replace(
            "  bob.jones@example.com:\n    grants:\n      - {database: orders, access: read-write}\n",
            "",
        )
    )
    assert "bob.jones" not in access_file.read_text()
    server.psql("DROP ROLE dora_ro")
    pids = {login: conn.info.backend_pid for login, conn in sessions.items()}
    started = {login: own_start(conn) for login, conn in sessions.items()}

    # Swept through inventory: sessions are server-wide, so bob's on orders is seen too.
    document = sweep_json(server, access_file, "--date", world.TODAY.isoformat())

    assert document["exit"] == 0, document
    dropped = next(e for e in document["ended"] if e["pid"] == pids["dora_ro"])
    assert dropped["login"].startswith("(dropped role ")
    assert sorted((e["pid"], e["database"], e["reason"]) for e in document["ended"]) == sorted(
        [
            (pids["bobjones_rw"], "orders", "marked login no longer given on this server"),
            (pids["carlold_ro"], "inventory", "marked login no longer given on this server"),
            (pids["dora_ro"], "inventory", "its login no longer exists"),
        ]
    )
    assert {e["instance"] for e in document["ended"]} == {"main"}
    ended = {e["pid"]: e["since"] for e in document["ended"]}
    for login in ("bobjones_rw", "carlold_ro", "dora_ro"):
        assert dt.datetime.fromisoformat(ended[pids[login]]) == started[login]
        assert not alive(sessions[login]), login
    # ana, eve (no mark), the IAM application, reporting, the owner, the admin's other session
    assert document["kept"] == 6
    for login in (*UNTOUCHABLE, "eve_ro"):
        assert alive(sessions[login]), login


def test_include_unmarked_ends_hand_made_iam_logins_never_the_exempt_or_the_owners(
    server: pgserver.PostgresServer,
    access_file: Path,
    sessions: dict[str, Any],
    exempt_stack: Path,
) -> None:
    args = ("--date", world.TODAY.isoformat(), "--include-unmarked")
    listed = sweep_json(server, access_file, *args, "--dry-run")
    assert ended_by_login(listed) == {
        "carlold_ro": "marked login no longer given on this server",
        "dora_ro": "marked login no longer given on this server",
        "eve_ro": "undeclared IAM login without the mark (--include-unmarked)",
    }
    assert all(alive(conn) for conn in sessions.values())  # a dry run ends nothing

    document = sweep_json(server, access_file, *args)

    assert ended_by_login(document) == ended_by_login(listed)
    for login in ("carlold_ro", "dora_ro", "eve_ro"):
        assert not alive(sessions[login]), login
    for login in UNTOUCHABLE:
        assert alive(sessions[login]), login


def test_audit_tells_marked_from_unmarked_logins_and_reports_a_missing_mark(
    server: pgserver.PostgresServer, access_file: Path, sessions: dict[str, Any]
) -> None:
    server.psql("REVOKE dbaccess_managed FROM anasilva_ro")

    document = audit_json(server, access_file, "inventory")

    found = {(f["kind"], f["subject"]): f["detail"] for f in document["findings"]}
    assert found[("missing-mark", "anasilva_ro")] == "not a member of dbaccess_managed"
    assert ("wrong-membership", "anasilva_ro") not in found
    assert found[("undeclared-login", "eve_ro")].endswith("--include-unmarked")
    assert found[("undeclared-login", "inventory_svc")].endswith("--include-unmarked")
    assert found[("undeclared-login", "carlold_ro")].endswith("sweep ends its sessions")
    # Without its mark, sweep leaves ana's login alone even where it lost its grant.
    server.psql("REVOKE CONNECT ON DATABASE inventory FROM dbaccess_inventory_ro")
    server.psql("GRANT CONNECT ON DATABASE inventory TO anasilva_ro")
    text = access_file.read_text()
    access_file.write_text(
        text.replace("      - {database: inventory, access: read-only}\n", "", 1)
    )
    swept = sweep_json(server, access_file, "--date", world.TODAY.isoformat())
    assert "anasilva_ro" not in ended_by_login(swept)
    assert alive(sessions["anasilva_ro"])


def test_sweep_ends_a_declared_logins_session_in_a_database_it_is_no_longer_granted(
    server: pgserver.PostgresServer, access_file: Path, sessions: dict[str, Any]
) -> None:
    # bob's login is server-wide: it still serves his orders grant, but a session of it in
    # inventory (opened while a grant there still held) outlives that grant.
    server.psql("GRANT CONNECT ON DATABASE inventory TO bobjones_rw")
    in_orders = world.session(server, "bobjones_rw", "orders")
    in_inventory = world.session(server, "bobjones_rw", "inventory")
    try:
        document = sweep_json(server, access_file, "--date", world.TODAY.isoformat())
        ended = {(e["login"], e["database"], e["reason"]) for e in document["ended"]}
        assert ("bobjones_rw", "inventory", "in a database it is no longer granted") in ended
        assert not any(login == "bobjones_rw" and db == "orders" for login, db, _ in ended)
        assert not alive(in_inventory)
        assert alive(in_orders)
        assert alive(sessions["anasilva_ro"])
    finally:
        in_orders.close()
        in_inventory.close()
        server.psql("REVOKE CONNECT ON DATABASE inventory FROM bobjones_rw")


def test_sweep_dry_run_ends_nothing_and_evaluates_until_on_the_date(
    server: pgserver.PostgresServer, access_file: Path, sessions: dict[str, Any]
) -> None:
    # Without pg_read_all_stats the admin sees who, not since when: the sweep still works,
    # a dropped login's session included.
    server.psql("REVOKE pg_read_all_stats FROM dbaccess_admin")
    server.psql("DROP ROLE dora_ro")
    on_the_day = sweep_json(server, access_file, "--dry-run", "--date", "2026-11-29")
    before_until = sweep_json(server, access_file, "--dry-run", "--date", "2026-01-15")

    assert on_the_day["dry_run"] is True
    assert sorted(on_the_day["ended"][i]["reason"] for i in range(2)) == [
        "its login no longer exists",
        "marked login no longer given on this server",
    ]
    assert len(on_the_day["ended"]) == 2
    assert {e["since"] for e in on_the_day["ended"]} == {None}
    assert on_the_day["kept"] == 6
    # Before carl's `until`, his grant still holds and his session stays.
    assert [e["reason"] for e in before_until["ended"]] == ["its login no longer exists"]
    assert all(alive(conn) for conn in sessions.values())


def test_sweep_says_when_the_admin_lacks_pg_signal_backend(
    server: pgserver.PostgresServer, access_file: Path, sessions: dict[str, Any]
) -> None:
    server.psql("REVOKE pg_signal_backend FROM dbaccess_admin")

    document = sweep_json(server, access_file, "--date", world.TODAY.isoformat())

    assert document["exit"] == 1
    assert document["ended"] == []
    [error] = document["errors"]
    assert "GRANT pg_signal_backend TO dbaccess_admin" in error
    assert all(alive(conn) for conn in sessions.values())
