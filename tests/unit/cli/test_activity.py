"""`dbaccess activity` on lines in moto's CloudWatch Logs: attribution, the time window,
filters, pagination and its cap, cut statements, unreadable lines, and each failure's message.
(tests/services/test_activity.py reads lines the real servers wrote.)"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from typer.testing import CliRunner, Result

from dbaccess.access import load_access_file
from dbaccess.audit.activity import STATEMENT_MAX, log_sources, parse_when, redact
from dbaccess.cli import app
from dbaccess.cli.activity import explain
from dbaccess.clients.cloudwatch_logs import Reading, read_events
from tests.activity_world import (
    ACCOUNT,
    ANA,
    AURORA_GROUP,
    BOB,
    CARL,
    MYSQL_GROUP,
    PG_GROUP,
    REGION,
    access_yaml,
    ms,
    push,
    statements,
)
from tests.services.audit_world import stack_project
from tests.unit.mysql.test_audit_log import plugin_escape
from tests.unit.postgres.test_audit_log import rds_line

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def pg(
    when: dt.datetime, login: str, statement: str, db: str = "orders", pid: int = 4711
) -> tuple[dt.datetime, str]:
    return when, rds_line(statement, login=login, database=db, when=when, pid=pid)


def my(when: dt.datetime, login: str, statement: str, db: str = "shop") -> tuple[dt.datetime, str]:
    return (
        when,
        f"{when:%Y%m%d %H:%M:%S},ip-10-0-1-5,{login},10.0.1.9,7,42,QUERY,{db},'{plugin_escape(statement)}',0",
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    project = stack_project(tmp_path, monkeypatch, access_yaml())
    with mock_aws():
        yield project


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["activity", *args])


def read_json(*args: str) -> dict[str, Any]:
    result = run("--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def everything() -> None:
    """Two hours of statements on every server, and the other groups empty."""
    t = NOW - dt.timedelta(hours=2)
    push(
        PG_GROUP,
        [
            pg(t, "bobjones_rw", "insert into t values (1)"),
            pg(t + dt.timedelta(minutes=1), "anasilva_rw", "update t set a = 2"),
            pg(t + dt.timedelta(minutes=2), "anasilva_ro", "vacuum stock", db="inventory", pid=9),
            pg(t + dt.timedelta(minutes=3), "carlold_rw", "delete from t"),
            pg(t + dt.timedelta(minutes=4), "orders_app", "insert into t values (3)"),
            (t, f"{t:%Y-%m-%d %H:%M:%S} UTC::@:[397]:LOG:  checkpoint starting: time"),
        ],
    )
    push(
        MYSQL_GROUP,
        [
            my(t + dt.timedelta(minutes=5), "anasilva_rw", "insert into shop.t values ('a,b')"),
            my(t + dt.timedelta(minutes=6), "bobjones_ro", "select 1", db=""),
        ],
    )
    push(
        AURORA_GROUP, [my(t + dt.timedelta(minutes=7), "bobjones_rw", "drop table x", db="ledger")]
    )


def test_each_statement_names_its_person_database_and_grant(project: Path) -> None:
    everything()

    document = read_json("--since", "3h")

    assert statements(document, "person", "database", "access", "login", "class", "statement") == [
        (BOB, "orders", "read-write", "bobjones_rw", "WRITE", "insert into t values (1)"),
        (ANA, "orders", "read-write", "anasilva_rw", "WRITE", "update t set a = 2"),
        (ANA, "inventory", "read-only", "anasilva_ro", "WRITE", "vacuum stock"),
        # Carl's grant has expired: his login's statements are still his.
        (CARL, "orders", "read-write", "carlold_rw", "WRITE", "delete from t"),
        # An application's login is no one's.
        (None, "orders", None, "orders_app", "WRITE", "insert into t values (3)"),
        (ANA, "shop", "read-write", "anasilva_rw", "WRITE", "insert into shop.t values ('a,b')"),
        # No default database: the login's one grant on the server says which.
        (BOB, "shop", "read-only", "bobjones_ro", "READ", "select 1"),
        (BOB, "ledger", "read-write", "bobjones_rw", "DDL", "drop table x"),
    ]
    first = document["activity"][0]
    assert first["time"] == (NOW - dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    assert first["server"] == "main"
    assert document["lines"] == {"statements": 8, "other": 1, "unreadable": 0}
    assert document["errors"] == []
    assert document["truncated"] is False


def test_someone_since_removed_is_read_with_the_access_file_of_their_time(project: Path) -> None:
    everything()
    (project / "then.yaml").write_text((project / "access.yaml").read_text())
    now = access_yaml().split(f"  {BOB}:\n")
    (project / "access.yaml").write_text(now[0] + now[1][now[1].index(f"  {CARL}:") :])

    refused = run("--since", "3h", "--person", BOB)
    assert refused.exit_code == 2
    assert "git show <commit>:access.yaml > then.yaml" in refused.stderr

    document = read_json("--since", "3h", "--person", BOB, "--file", "then.yaml")
    assert statements(document, "person", "login", "statement") == [
        (BOB, "bobjones_rw", "insert into t values (1)"),
        (BOB, "bobjones_ro", "select 1"),
        (BOB, "bobjones_rw", "drop table x"),
    ]


def test_the_text_timeline_reads_time_person_database_class_statement(project: Path) -> None:
    everything()

    result = run("--since", "3h", "--database", "orders")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    t = NOW - dt.timedelta(hours=2)
    assert lines[0].split() == [
        *f"{t:%Y-%m-%d %H:%M:%S}".split(),
        BOB,
        "orders",
        "(read-write)",
        "WRITE",
        "insert",
        "into",
        "t",
        "values",
        "(1)",
    ]
    assert "orders_app (no person)" in lines[3]


def test_person_and_database_filters(project: Path) -> None:
    everything()

    assert statements(
        read_json("--since", "3h", "--person", "ANA.silva@example.com"), "database", "statement"
    ) == [
        ("orders", "update t set a = 2"),
        ("inventory", "vacuum stock"),
        ("shop", "insert into shop.t values ('a,b')"),
    ]
    assert statements(
        read_json("--since", "3h", "--database", "ledger"), "person", "statement"
    ) == [(BOB, "drop table x")]
    only_bob_in_shop = read_json("--since", "3h", "--database", "shop", "--person", BOB)
    assert statements(only_bob_in_shop, "statement") == [("select 1",)]


def test_since_and_until_bound_the_window(project: Path) -> None:
    push(
        PG_GROUP,
        [pg(NOW - dt.timedelta(minutes=m), "bobjones_rw", f"insert {m}") for m in (180, 90, 10)],
    )
    in_between = read_json(
        "--database",
        "orders",
        "--since",
        "2h",
        "--until",
        (NOW - dt.timedelta(minutes=30)).isoformat(),
    )
    assert statements(in_between, "statement") == [("insert 90",)]
    by_date = read_json("--database", "orders", "--since", f"{NOW - dt.timedelta(days=1):%Y-%m-%d}")
    assert [s for (s,) in statements(by_date, "statement")] == [
        "insert 180",
        "insert 90",
        "insert 10",
    ]


def test_more_than_one_page_of_events_is_read_to_the_end(project: Path) -> None:
    # FilterLogEvents returns at most 10,000 events a page.
    t = NOW - dt.timedelta(hours=1)
    push(
        PG_GROUP,
        [
            pg(t + dt.timedelta(milliseconds=i), "bobjones_rw", f"insert {i}", pid=i)
            for i in range(10_050)
        ],
    )

    document = read_json("--database", "orders", "--limit", "20000")

    assert len(document["activity"]) == 10_050
    assert document["activity"][-1]["statement"] == "insert 10049"


def test_the_reader_follows_pages_and_stops_at_its_cap(project: Path) -> None:
    t = NOW - dt.timedelta(hours=1)
    push(
        PG_GROUP, [pg(t + dt.timedelta(seconds=i), "bobjones_rw", f"insert {i}") for i in range(25)]
    )
    logs = boto3.client("logs", region_name=REGION)
    pages: list[int] = []

    reading = Reading(PG_GROUP)
    events = list(
        read_events(
            logs, reading, ms(t), ms(NOW), page_size=10, progress=lambda r: pages.append(r.events)
        )
    )
    assert len(events) == 25
    assert pages == [10, 20, 25]
    assert not reading.capped

    capped = Reading(PG_GROUP)
    assert len(list(read_events(logs, capped, ms(t), ms(NOW), max_events=12, page_size=10))) == 12
    assert capped.capped


def test_limit_keeps_the_earliest_and_says_there_is_more(project: Path) -> None:
    everything()
    result = run("--since", "3h", "--limit", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert statements(document, "statement") == [
        ("insert into t values (1)",),
        ("update t set a = 2",),
    ]
    assert document["truncated"] is True
    assert "more statements than --limit 2" in result.stderr


def test_limit_on_one_log_group_also_says_there_is_more(project: Path) -> None:
    t = NOW - dt.timedelta(minutes=30)
    push(
        PG_GROUP, [pg(t + dt.timedelta(seconds=i), "bobjones_rw", f"insert {i}") for i in range(5)]
    )
    document = read_json("--database", "orders", "--limit", "3")
    assert statements(document, "statement") == [("insert 0",), ("insert 1",), ("insert 2",)]
    assert document["truncated"] is True
    exactly = read_json("--database", "orders", "--limit", "5")
    assert len(exactly["activity"]) == 5
    assert exactly["truncated"] is False


def test_long_statements_are_cut_with_a_marker(project: Path) -> None:
    long = "insert into t values " + "(1)," * 200
    push(PG_GROUP, [pg(NOW - dt.timedelta(minutes=5), "bobjones_rw", long)])

    (record,) = read_json("--database", "orders")["activity"]

    assert (
        record["statement"]
        == long[:STATEMENT_MAX] + f"… [{len(long) - STATEMENT_MAX} more characters]"
    )
    assert f"longer than {STATEMENT_MAX} characters" in CliRunner().invoke(
        app, ["activity", "--help"]
    ).output.replace("\n  ", " ")


def test_unreadable_lines_are_counted_not_fatal(project: Path) -> None:
    t = NOW - dt.timedelta(minutes=30)
    good = pg(t, "bobjones_rw", "insert into t values (1)")
    broken = (t, good[1].replace(",<not logged>", "").replace(",insert into t values (1)", ""))
    push(
        PG_GROUP,
        [
            good,
            broken,
            (t, f"{t:%Y-%m-%d %H:%M:%S} CET:h(1):x@orders:[1]:LOG:  AUDIT: S,1,1,WRITE,I,T,t,x,y"),
        ],
    )
    push(MYSQL_GROUP, [(t, "\x00\x01 not a line at all"), my(t, "anasilva_rw", "delete from t")])
    push(AURORA_GROUP, [])  # exported, nothing logged

    result = run("--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert statements(document, "login") == [("bobjones_rw",), ("anasilva_rw",)]
    assert document["lines"]["unreadable"] == 3
    assert "warning: 3 log lines could not be read (" in result.stderr
    assert "1 not an audit plugin line" in result.stderr


def test_a_missing_log_group_names_the_database_and_how_to_export(project: Path) -> None:
    push(MYSQL_GROUP, [my(NOW - dt.timedelta(minutes=5), "anasilva_rw", "delete from t")])

    result = run("--format", "json")

    assert result.exit_code == 1
    # What could be read still is.
    assert statements(json.loads(result.stdout), "statement") == [("delete from t",)]
    assert (
        f"no log group {PG_GROUP} (account 123456789012, eu-west-1): instance main (orders, inventory)"
        in result.stderr
    )
    assert "aws rds modify-db-instance --db-instance-identifier main" in result.stderr
    assert '"EnableLogTypes":["postgresql"]' in result.stderr
    assert "aws rds modify-db-cluster --db-cluster-identifier ledger" in result.stderr
    assert "dbaccess doctor --operator" in result.stderr


def test_no_credentials_is_one_line_and_exit_1(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    result = run()

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: assuming arn:aws:iam::123456789012:role/dbaccess-deploy: no AWS credentials found"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is not a time; write 24h"),
        (["--since", "1h", "--until", "2h"], "is not before --until"),
        (["--database", "ordres"], "no database 'ordres'"),
        (["--database", "analytics"], "Redshift database"),
        (["--person", "nobody@example.com"], "no person 'nobody@example.com'"),
        (["--person", "nobody@example.com"], "add `--file then.yaml`"),
        (["--since", "99999999999999d"], "outside the times a log can hold"),
        (["--since", "0001-01-01T00:00+01:00"], "outside the times a log can hold"),
        (["--until", "9999-12-31T23:59-01:00"], "outside the times a log can hold"),
        (["--since", "1969-12-31"], "is before 1970-01-01"),
    ],
)
def test_usage_errors_exit_2_with_the_fix(project: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


@given(st.text(max_size=40) | st.from_regex(r"[0-9]{1,30}[mhdw]", fullmatch=True))
def test_any_time_text_is_a_time_since_1970_or_a_clear_error(text: str) -> None:
    try:
        when = parse_when(text, NOW)
    except ValueError as exc:
        message = str(exc)
    else:
        assert when.tzinfo is dt.UTC
        assert when >= dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return
    assert f"'{text}'" in message  # the error quotes what was written


SETTING_A_PASSWORD = [
    "ALTER ROLE bob PASSWORD '{}'",
    "alter role bob with encrypted password '{}' valid until 'infinity'",
    "CREATE USER 'x'@'%' IDENTIFIED BY '{}'",
    "ALTER USER x IDENTIFIED WITH mysql_native_password BY '{}'",
    "SET PASSWORD FOR 'x'@'%' = PASSWORD('{}')",
    "SET PASSWORD = '{}'",
    "CREATE ROLE r LOGIN PASSWORD $${}$$",
]


@given(
    st.sampled_from(SETTING_A_PASSWORD),
    st.text(alphabet=st.characters(blacklist_characters="'$\\"), min_size=6, max_size=30),
)
def test_a_password_a_statement_sets_is_never_shown(template: str, secret: str) -> None:
    shown = redact(template.format(secret))
    assert secret not in shown
    assert "'***'" in shown


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60))
def test_statements_that_set_no_password_are_shown_as_they_are(statement: str) -> None:
    if "password" not in statement.lower() and "identified" not in statement.lower():
        assert redact(statement) == statement


def test_the_timeline_never_shows_a_password_from_the_log(project: Path) -> None:
    t = NOW - dt.timedelta(minutes=5)
    push(PG_GROUP, [pg(t, "anasilva_rw", "ALTER ROLE anasilva_rw PASSWORD 'hunter2-secret'")])

    result = run("--since", "1h", "--database", "orders")

    assert result.exit_code == 0, result.output
    assert "hunter2-secret" not in result.output
    assert "PASSWORD '***'" in result.stdout


def test_access_denied_names_the_permission_and_where_it_comes_from(tmp_path: Path) -> None:
    # moto does not enforce IAM on calls made with an assumed role's keys, so AWS's answer is
    # built here, as botocore raises it.
    (tmp_path / "access.yaml").write_text(access_yaml())
    plan = load_access_file(tmp_path / "access.yaml")
    source = log_sources(plan, [])[0]
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
        "FilterLogEvents",
    )

    message = explain(denied, source, f"{PG_GROUP} (account {ACCOUNT}, {REGION})")

    assert message == (
        f"reading {PG_GROUP} (account {ACCOUNT}, {REGION}): access denied: the deploy role "
        "needs logs:FilterLogEvents on this log group; update it from "
        "`dbaccess iam-policy deploy` (orders, inventory)"
    )
