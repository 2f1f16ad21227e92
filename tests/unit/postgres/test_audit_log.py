"""pgaudit's lines as RDS writes them, read back: round trips through pgaudit's own quoting
rule (append_valid_csv) and RDS's log_line_prefix, and garbage that never raises."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbaccess.audit.log_entry import LogEntry, UnreadableLine
from dbaccess.postgres.audit_log import entries, parse_entry

WHEN = dt.datetime(2026, 12, 6, 5, 50, 1, tzinfo=dt.UTC)


def pgaudit_csv(field: str) -> str:
    """pgaudit's append_valid_csv: quote only a field holding a comma, a quote, CR or LF."""
    if any(c in field for c in ',"\n\r'):
        return '"' + field.replace('"', '""') + '"'
    return field


def rds_line(
    statement: str,
    *,
    login: str = "bobjones_rw",
    database: str = "orders",
    remote: str = "10.0.1.5(53422)",
    cls: str = "WRITE",
    when: dt.datetime = WHEN,
    pid: int = 4711,
) -> str:
    """One entry as RDS writes it: log_line_prefix '%t:%r:%u@%d:[%p]:', then pgaudit's record."""
    record = ",".join(
        [
            "SESSION",
            "3",
            "1",
            cls,
            "INSERT",
            "TABLE",
            "public.orders",
            pgaudit_csv(statement),
            "<not logged>",
        ]
    )
    line = f"{when:%Y-%m-%d %H:%M:%S} UTC:{remote}:{login}@{database}:[{pid}]:LOG:  AUDIT: {record}"
    # PostgreSQL's log (append_with_tabs): a tab after every newline of the message.
    return line.replace("\n", "\n\t")


def test_an_rds_line_gives_who_where_which_class_and_the_statement() -> None:
    line = rds_line("insert into orders values (1, 'a,b'), (2, \"x\")")

    assert parse_entry(line) == LogEntry(
        time=WHEN,
        login="bobjones_rw",
        database="orders",
        cls="WRITE",
        statement="insert into orders values (1, 'a,b'), (2, \"x\")",
        key=("4711", "3", "1"),
    )


@pytest.mark.parametrize("remote", ["[local]", "", "::1(5432)", "2001:db8::5(60000)"])
def test_every_form_of_the_client_host_is_read(remote: str) -> None:
    entry = parse_entry(rds_line("select 1", remote=remote))
    assert entry is not None
    assert entry.login == "bobjones_rw"
    assert entry.database == "orders"


def test_other_log_entries_are_not_statements() -> None:
    for line in (
        "2026-12-06 05:50:01 UTC:10.0.1.5(53422):bobjones_rw@orders:[4711]:LOG:  connection "
        "authorized: user=bobjones_rw database=orders SSL enabled",
        "2026-12-06 05:50:01 UTC::@:[397]:LOG:  checkpoint starting: time",
        "2026-12-06 05:50:01 UTC:10.0.1.5(53422):bobjones_rw@orders:[4711]:ERROR:  relation "
        '"nope" does not exist at character 15',
    ):
        assert parse_entry(line) is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (rds_line("x").replace(",<not logged>", "").replace(",x", ""), "fields"),
        (rds_line('a "quoted" statement, cut').rsplit('"', 2)[0], "fields|quoting"),
        (rds_line("x").replace(" UTC:", " CET:"), "zone CET"),
    ],
)
def test_broken_audit_entries_are_unreadable_with_a_reason(line: str, why: str) -> None:
    with pytest.raises(UnreadableLine, match=why):
        parse_entry(line)


def test_an_event_holding_two_entries_gives_both() -> None:
    first, second = rds_line("insert\ninto t\nvalues (1)"), rds_line("delete from t")
    read = [parse_entry(text) for text in entries(first + "\n" + second + "\n")]
    assert [e.statement for e in read if e] == ["insert\ninto t\nvalues (1)", "delete from t"]


# Statements as people write them: any text, with commas, quotes, newlines and CRs often.
statements = st.text(
    alphabet=st.one_of(st.sampled_from(",\"'\n\r\t ;()"), st.characters(codec="utf-8")),
    max_size=300,
)


@given(statement=statements)
def test_any_statement_round_trips_through_pgaudits_quoting(statement: str) -> None:
    (text,) = entries(rds_line(statement))
    entry = parse_entry(text)
    assert entry is not None
    assert entry.statement == statement
    assert (entry.login, entry.database, entry.cls) == ("bobjones_rw", "orders", "WRITE")


@given(garbage=st.text(max_size=300))
def test_garbage_is_other_or_unreadable_never_a_crash(garbage: str) -> None:
    for text in entries(garbage):
        with contextlib.suppress(UnreadableLine):
            parse_entry(text)


@given(tail=st.text(max_size=200))
def test_a_garbled_record_is_unreadable_or_read_never_a_crash(tail: str) -> None:
    prefix = rds_line("x").split("AUDIT: ")[0] + "AUDIT: "
    with contextlib.suppress(UnreadableLine):
        parse_entry(prefix + tail)
