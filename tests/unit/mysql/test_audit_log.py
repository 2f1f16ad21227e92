"""The audit plugin's lines (RDS for MySQL's MariaDB Audit Plugin, MariaDB's server_audit,
Aurora MySQL Advanced Auditing), read back: round trips through the plugin's own escaping, the
classes of statements, garbage that never raises."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbaccess.audit.log_entry import LogEntry, UnreadableLine
from dbaccess.mysql.audit_log import entries, parse_entry, statement_class

WHEN = dt.datetime(2026, 12, 6, 5, 50, 1, tzinfo=dt.UTC)
# server_audit.c's esc_map: these characters become a backslash and a letter.
ESCAPES = {"\b": "b", "\t": "t", "\n": "n", "\f": "f", "\r": "r", "'": "'", "\\": "\\"}


def plugin_escape(statement: str) -> str:
    return "".join("\\" + ESCAPES[c] if c in ESCAPES else c for c in statement)


def audit_line(
    statement: str, *, stamp: str = "20261206 05:50:01", operation: str = "QUERY"
) -> str:
    return (
        f"{stamp},ip-10-0-1-5,bobjones_rw,10.0.1.9,12,345,{operation},orders,"
        f"'{plugin_escape(statement)}',0"
    )


def test_a_query_line_gives_who_where_and_the_statement() -> None:
    assert parse_entry(audit_line("insert into t values ('a,b')")) == LogEntry(
        time=WHEN,
        login="bobjones_rw",
        database="orders",
        cls="WRITE",
        statement="insert into t values ('a,b')",
        key=("ip-10-0-1-5", "12", "345"),
    )


def test_aurora_stamps_are_microseconds_since_the_epoch() -> None:
    micros = str(int(WHEN.timestamp()) * 1_000_000 + 680124)
    entry = parse_entry(audit_line("drop table t", stamp=micros))
    assert entry is not None
    assert entry.time == WHEN + dt.timedelta(microseconds=680124)
    assert entry.cls == "DDL"


def test_older_plugins_leave_newlines_raw_and_new_ones_end_with_more_fields() -> None:
    raw = "20261206 05:50:01,h,bob_rw,host,1,2,QUERY,orders,'select\n1',0"
    entry = parse_entry(raw)
    assert entry is not None
    assert entry.statement == "select\n1"
    assert parse_entry(audit_line("select 1") + ",TCP/IP") is not None


def test_connections_and_table_events_are_not_statements() -> None:
    for line in (
        "20261206 05:50:01,h,bobjones_rw,10.0.1.9,12,0,CONNECT,orders,,0",
        "20261206 05:50:01,h,bobjones_rw,10.0.1.9,12,0,DISCONNECT,orders,,0",
        "1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0",
    ):
        assert parse_entry(line) is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("garbage", "not an audit plugin line"),
        (audit_line("select 1")[:-3], "cut short"),
        ("20261206 05:50:01,h,u,host,1,2,QUERY,orders,select 1,0", "without a quoted"),
        ("20261399 05:50:01,h,u,host,1,2,QUERY,orders,'select 1',0", "impossible time"),
    ],
)
def test_broken_lines_are_unreadable_with_a_reason(line: str, why: str) -> None:
    with pytest.raises(UnreadableLine, match=why):
        parse_entry(line)


@pytest.mark.parametrize(
    ("statement", "cls"),
    [
        ("SELECT * FROM t", "READ"),
        ("/* app */ (select 1)", "READ"),
        ("-- note\nUPDATE t SET a = 1", "WRITE"),
        ("replace into t values (1)", "WRITE"),
        ("CREATE TABLE t (a int)", "DDL"),
        ("create user 'x'@'%'", "ROLE"),
        ("GRANT SELECT ON db.* TO x", "ROLE"),
        ("SET PASSWORD FOR x = 'y'", "ROLE"),
        ("CALL p()", "FUNCTION"),
        ("SET autocommit = 1", "MISC"),
        ("", "MISC"),
    ],
)
def test_the_class_comes_from_the_first_keyword(statement: str, cls: str) -> None:
    assert statement_class(statement) == cls


def test_an_event_holding_two_lines_gives_both() -> None:
    message = audit_line("insert into t values (1)") + "\n" + audit_line("delete from t") + "\n"
    assert [e.statement for t in entries(message) if (e := parse_entry(t))] == [
        "insert into t values (1)",
        "delete from t",
    ]


statements = st.text(
    alphabet=st.one_of(st.sampled_from("',\"\\\n\r\t\b\f ;()"), st.characters(codec="utf-8")),
    max_size=300,
)


@given(statement=statements)
def test_any_statement_round_trips_through_the_plugins_escaping(statement: str) -> None:
    (text,) = entries(audit_line(statement))
    entry = parse_entry(text)
    assert entry is not None
    assert entry.statement == statement
    assert (entry.login, entry.database) == ("bobjones_rw", "orders")


@given(garbage=st.text(max_size=300))
def test_garbage_is_unreadable_never_a_crash(garbage: str) -> None:
    for text in entries(garbage):
        with contextlib.suppress(UnreadableLine):
            parse_entry(text)


@given(tail=st.text(max_size=200))
def test_a_garbled_query_is_unreadable_or_read_never_a_crash(tail: str) -> None:
    with contextlib.suppress(UnreadableLine):
        parse_entry("20261206 05:50:01,h,u,host,1,2,QUERY,orders," + tail)
