"""The audit plugin's lines as RDS for MySQL (the MariaDB Audit Plugin, option
MARIADB_AUDIT_PLUGIN), MariaDB's server_audit and Aurora MySQL's Advanced Auditing write them
to the `audit` log (and export them to CloudWatch Logs), read back into LogEntry values. Pure.

One line per event: timestamp,serverhost,username,host,connectionid,queryid,operation,
database,object,retcode. The timestamp is 'YYYYMMDD HH:MM:SS' (the plugin; UTC on RDS) or
microseconds since the epoch (Aurora). For a QUERY the object is the statement in single
quotes, with \\' \\\\ \\n \\r \\t \\b \\f escaped (older plugins escape only the quote and the
backslash, so a newline may stay raw). CONNECT, DISCONNECT and the TABLE events (READ, WRITE,
... naming a table) are not statements.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Final

from dbaccess.audit.log_entry import LogEntry, UnreadableLine

LOG_TYPE: Final = "audit"  # the RDS log export (and log group suffix)

_HEAD: Final = re.compile(
    r"(?P<time>\d{8} \d\d:\d\d:\d\d|\d{13,19}),(?P<serverhost>[^,]*),(?P<login>[^,]*),"
    r"(?P<host>[^,]*),(?P<connection>\d+),(?P<query>\d+),(?P<operation>[A-Z_]+),"
    r"(?P<database>[^,]*),"
)
# Where a new line starts inside a CloudWatch event that holds several.
_NEXT_ENTRY: Final = re.compile(r"\n(?=(?:\d{8} \d\d:\d\d:\d\d|\d{13,19}),)")
# The quoted statement (escapes skipped whole), then ,retcode and whatever newer plugins add.
_QUOTED: Final = re.compile(r"'((?:[^'\\]+|\\.)*)',-?\d+(?:,.*)?\r?\n?\Z", re.DOTALL)
_UNESCAPE: Final = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_ESCAPES: Final = re.compile(r"\\(.)", re.DOTALL)

# The first keyword of a statement -> its class, named as pgaudit names them.
_CLASSES: Final = {
    **dict.fromkeys(("SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH", "TABLE"), "READ"),
    **dict.fromkeys(("INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD"), "WRITE"),
    **dict.fromkeys(("CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME"), "DDL"),
    **dict.fromkeys(("GRANT", "REVOKE"), "ROLE"),
    **dict.fromkeys(("CALL", "DO"), "FUNCTION"),
}
_ROLE_OBJECTS: Final = re.compile(r"\s+(?:USER|ROLE)\b", re.IGNORECASE)
_PASSWORD: Final = re.compile(r"\s+PASSWORD\b", re.IGNORECASE)
# Leading comments and parentheses before the first keyword.
_LEAD: Final = re.compile(r"(?:\s+|/\*.*?\*/|--[^\n]*\n|#[^\n]*\n|\()*", re.DOTALL)
_WORD: Final = re.compile(r"[A-Za-z]+")


def entries(message: str) -> Iterator[str]:
    """The lines of one CloudWatch event: normally one."""
    yield from _NEXT_ENTRY.split(message.rstrip("\n"))


def parse_entry(line: str) -> LogEntry | None:
    """The statement of one audit line; None for the plugin's other events. Raises
    UnreadableLine for a line that cannot be read."""
    head = _HEAD.match(line)
    if head is None:
        raise UnreadableLine("not an audit plugin line")
    if head["operation"] != "QUERY":
        return None
    statement = _quoted(line, head.end())
    return LogEntry(
        time=_time(head["time"]),
        login=head["login"],
        database=head["database"],
        cls=statement_class(statement),
        statement=statement,
        key=(head["serverhost"], head["connection"], head["query"]),
    )


def _quoted(line: str, start: int) -> str:
    """The single-quoted object from `start`, unescaped; what follows is ,retcode."""
    if line[start : start + 1] != "'":
        raise UnreadableLine("QUERY without a quoted statement")
    match = _QUOTED.match(line, start)
    if match is None:
        raise UnreadableLine("QUERY statement cut short")
    return _ESCAPES.sub(lambda m: _UNESCAPE.get(m[1], m[1]), match[1])


def _time(stamp: str) -> dt.datetime:
    try:
        if " " in stamp:  # YYYYMMDD HH:MM:SS (strptime would take half the parse time)
            day, clock = stamp[:8], stamp[9:]
            return dt.datetime(
                int(day[:4]),
                int(day[4:6]),
                int(day[6:]),
                int(clock[:2]),
                int(clock[3:5]),
                int(clock[6:]),
                tzinfo=dt.UTC,
            )
        return dt.datetime.fromtimestamp(int(stamp) / 1_000_000, dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise UnreadableLine("audit line with an impossible time") from None


def statement_class(statement: str) -> str:
    """READ, WRITE, DDL, ROLE, FUNCTION or MISC, from the statement's first keyword (the
    plugin logs every statement as QUERY)."""
    lead = _LEAD.match(statement)
    word = _WORD.match(statement, lead.end() if lead else 0)
    if word is None:
        return "MISC"
    keyword, rest = word[0].upper(), statement[word.end() :]
    if keyword in ("CREATE", "ALTER", "DROP", "RENAME") and _ROLE_OBJECTS.match(rest):
        return "ROLE"
    if keyword == "SET" and _PASSWORD.match(rest):
        return "ROLE"
    return _CLASSES.get(keyword, "MISC")
