"""query_audit on a real PostgreSQL with pgaudit loaded (as an RDS parameter group loads it).

GIVEN the audit world (tests/services/audit_world.py) with `query_audit: ddl` on orders and
bob's read-write grant at `write`, and the pgaudit settings the program declares for it
applied by the dynamic provider itself (components/postgres_role_settings.py) as the admin
login, WHEN ana and bob run statements, THEN the server log's AUDIT lines name the login that
ran each statement, at the classes its level logs and no others; and `dbaccess audit` finds
a login whose settings drift and a server without pgaudit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.postgres_role_settings import PostgresRoleSettingsProvider
from dbaccess.access import load_access_file
from dbaccess.audit.results import INFORMATIONAL, Finding
from dbaccess.cli.preview_engine import Registration
from dbaccess.postgres.admin import AdminTarget
from dbaccess.postgres.audit import run_audit
from dbaccess.postgres.bootstrap import BootstrapError, plan_bootstrap, run_bootstrap
from dbaccess.postgres.connect import dsn_connector
from tests import pgserver
from tests.services import audit_world as world

pytestmark = [pytest.mark.postgres]

ACCESS_YAML = world.ACCESS_YAML.replace(
    "    schemas: [public, billing]\n",
    "    schemas: [public, billing]\n    query_audit: ddl\n",
).replace(
    "- {{database: orders, access: read-write}}",
    "- {{database: orders, access: read-write, query_audit: write}}",
)
DYNAMIC = "pulumi-python:dynamic:Resource"
# RDS's log_line_prefix (tests/pgserver.py sets it): time:client:login@database:[pid]:
AUDIT_LINE = re.compile(r":(?P<login>\w+)@(?P<database>\w+):\[\d+\]:LOG:\s+AUDIT: (?P<audit>.*)")


@pytest.fixture(scope="module")
def server() -> Iterator[pgserver.PostgresServer]:
    # Its own server: audit reads every role of a server, and others' tests make logins.
    pgserver.require_postgres()
    started = pgserver.start_server()
    if not pgserver.has_pgaudit(started.bindir):
        started.stop()
        pytest.skip("pgaudit is not installed: run scripts/ensure-postgres.sh")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def registrations(tmp_path_factory: pytest.TempPathFactory) -> list[Registration]:
    return world.declared(tmp_path_factory.mktemp("program"), ACCESS_YAML)


def provider(server: pgserver.PostgresServer) -> PostgresRoleSettingsProvider:
    """The program's provider, reaching the local server as the admin with its password
    (on RDS: an IAM token minted with the deploy role)."""

    def connect(target: AdminTarget) -> Any:
        return psycopg.connect(world.dsn(server, target.database), autocommit=True)

    return PostgresRoleSettingsProvider(connect)


def settings_resources(registrations: list[Registration]) -> dict[str, dict[str, Any]]:
    """login -> the inputs of its pgaudit settings resource, as the program declares them."""
    return {
        r.inputs["login"]: {k: v for k, v in r.inputs.items() if k != "__provider"}
        for r in registrations
        if r.type == DYNAMIC and r.name.endswith("-audit")
    }


@pytest.fixture
def access_file(
    server: pgserver.PostgresServer, tmp_path: Path, registrations: list[Registration]
) -> Path:
    path = world.build(server, tmp_path, registrations, ACCESS_YAML)
    for inputs in settings_resources(registrations).values():
        provider(server).create(inputs)
    return path


def audit_lines(server: pgserver.PostgresServer, since: int) -> list[tuple[str, str, str]]:
    """(login, class, statement or relation) of each AUDIT line written after byte `since`."""
    time.sleep(0.3)  # the logging collector is off: lines are written as they happen
    text = server.logfile.read_bytes()[since:].decode()
    found = []
    for match in AUDIT_LINE.finditer(text):
        fields = match["audit"].split(",")
        # SESSION,<statement id>,<substatement id>,<class>,<command>,<type>,<name>,<statement>
        found.append((match["login"], fields[3], fields[4]))
    return found


def run_as(server: pgserver.PostgresServer, login: str, *statements: str) -> None:
    with world.session(server, login, "orders") as conn:
        for statement in statements:
            conn.execute(statement.encode())


def test_the_program_declares_each_logins_settings_at_its_highest_level(
    registrations: list[Registration],
) -> None:
    declared = settings_resources(registrations)
    # ana's one login serves orders (ddl) and inventory (none): the highest wins.
    assert {login: r["query_audit"] for login, r in declared.items()} == {
        "anasilva_ro": "ddl",
        "bobjones_rw": "write",
    }
    assert declared["bobjones_rw"]["settings"] == {
        "pgaudit.log": "write,ddl,role",
        "pgaudit.log_relation": "on",
        "pgaudit.log_parameter": "off",
        "pgaudit.log_catalog": "off",
    }


def test_audit_lines_name_the_login_at_the_classes_of_its_level(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    start = server.logfile.stat().st_size
    run_as(server, "anasilva_ro", "SELECT count(*) FROM public.orders")
    run_as(server, "anasilva_ro", "ALTER ROLE anasilva_ro SET application_name = 'psql'")
    run_as(server, "bobjones_rw", "SELECT count(*) FROM public.orders")
    run_as(server, "bobjones_rw", "INSERT INTO public.orders (total) VALUES (42)")
    lines = audit_lines(server, start)
    assert ("anasilva_ro", "ROLE", "ALTER ROLE") in lines  # ddl logs role changes
    assert ("bobjones_rw", "WRITE", "INSERT") in lines
    # A read by a ddl or write login is not logged; nor is anyone else's statement.
    assert [line for line in lines if line[1] == "READ"] == []
    assert {login for login, _, _ in lines} == {"anasilva_ro", "bobjones_rw"}
    # log_relation: the table is named; log_parameter off: no parameter is written.
    tail = server.logfile.read_bytes()[start:].decode()
    assert "TABLE,public.orders" in tail
    assert "<not logged>" in tail


def test_a_changed_level_and_a_removed_one_apply_to_new_sessions(
    server: pgserver.PostgresServer, access_file: Path, registrations: list[Registration]
) -> None:
    bob = settings_resources(registrations)["bobjones_rw"]
    raised = {**bob, "query_audit": "all", "settings": {**bob["settings"], "pgaudit.log": "all"}}
    settings = provider(server)
    assert settings.diff("bobjones_rw", bob, raised).changes
    settings.update("bobjones_rw", bob, raised)
    start = server.logfile.stat().st_size
    run_as(server, "bobjones_rw", "SELECT count(*) FROM public.orders")
    assert ("bobjones_rw", "READ", "SELECT") in audit_lines(server, start)

    settings.delete("bobjones_rw", raised)
    start = server.logfile.stat().st_size
    run_as(server, "bobjones_rw", "INSERT INTO public.orders (total) VALUES (7)")
    assert audit_lines(server, start) == []
    held = server.psql("SELECT rolconfig FROM pg_roles WHERE rolname = 'bobjones_rw'")
    assert "pgaudit" not in held


def test_refresh_reads_the_settings_the_server_holds(
    server: pgserver.PostgresServer, access_file: Path, registrations: list[Registration]
) -> None:
    bob = settings_resources(registrations)["bobjones_rw"]
    server.psql("ALTER ROLE bobjones_rw SET pgaudit.log = 'none'")
    read = provider(server).read("bobjones_rw", bob)
    assert read.outs is not None
    assert read.outs["settings"]["pgaudit.log"] == "none"
    assert provider(server).diff("bobjones_rw", bob, {**bob, **read.outs}).changes


def audit(server: pgserver.PostgresServer, access_file: Path) -> list[Finding]:
    plan = load_access_file(access_file, today=world.TODAY)
    reach = dsn_connector(world.dsn(server, "orders"), plan.databases["orders"])
    return run_audit(plan, ["orders"], reach).findings


def test_audit_is_clean_when_the_settings_are_as_declared(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    assert [f for f in audit(server, access_file) if f.kind not in INFORMATIONAL] == []


def test_audit_finds_settings_changed_by_hand(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    server.psql(
        "ALTER ROLE bobjones_rw RESET pgaudit.log;"
        "ALTER ROLE anasilva_ro IN DATABASE orders SET pgaudit.log = 'none';"
    )
    found = {f.subject: f.detail for f in audit(server, access_file) if f.kind == "audit-setting"}
    assert set(found) == {"anasilva_ro", "bobjones_rw"}
    assert "pgaudit.log is not set, access.yaml wants 'write,ddl,role'" in found["bobjones_rw"]
    assert "in database orders it is overridden: pgaudit.log=none" in found["anasilva_ro"]


def test_audit_finds_a_server_without_pgaudit(tmp_path: Path) -> None:
    bare = pgserver.start_server(pgaudit=False)
    try:
        registrations = world.declared(tmp_path, ACCESS_YAML)
        access_file = world.build(bare, tmp_path, registrations, ACCESS_YAML)
        findings = audit(bare, access_file)
    finally:
        bare.stop()
    # Nothing could set the logins' settings either: each is reported too.
    assert {(f.kind, f.subject) for f in findings if f.kind.startswith("audit")} == {
        ("audit-not-loaded", "postgres-main-123456789012-eu-west-1"),
        ("audit-setting", "anasilva_ro"),
        ("audit-setting", "bobjones_rw"),
    }


def test_the_bootstrap_gives_the_admin_set_on_pgaudits_settings_once(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    held = server.psql(
        "SELECT string_agg(n, ',' ORDER BY n) FROM unnest(ARRAY['pgaudit.log', "
        "'pgaudit.log_relation', 'pgaudit.log_parameter', 'pgaudit.log_catalog']) n "
        f"WHERE has_parameter_privilege('{world.ADMIN}', n, 'SET')"
    )
    assert held == "pgaudit.log,pgaudit.log_catalog,pgaudit.log_parameter,pgaudit.log_relation"
    plan = load_access_file(access_file, today=world.TODAY)
    with server.connect("orders") as conn:
        again = plan_bootstrap(conn, plan.databases["orders"], query_audit=True)
    assert [step.block for step in again.steps] == []


def test_a_master_that_may_not_grant_set_changes_nothing(
    server: pgserver.PostgresServer, access_file: Path
) -> None:
    # A master user without SET WITH GRANT OPTION on the parameters (here: not a superuser).
    server.psql(
        f"REVOKE SET ON PARAMETER pgaudit.log FROM {world.ADMIN};"
        "CREATE ROLE weak_master LOGIN CREATEROLE;"
        f"GRANT {world.ADMIN}, dbaccess_managed, rds_iam TO weak_master WITH ADMIN OPTION;"
    )
    plan = load_access_file(access_file, today=world.TODAY)
    with server.connect("orders") as conn:
        conn.execute("SET ROLE weak_master")
        conn.commit()
        with pytest.raises(BootstrapError) as refused:
            run_bootstrap(conn, plan.databases["orders"], dry_run=False, query_audit=True)
    assert 'GRANT SET ON PARAMETER "pgaudit"."log" TO "dbaccess_admin"' in str(refused.value)
    assert "Nothing was changed." in str(refused.value)
