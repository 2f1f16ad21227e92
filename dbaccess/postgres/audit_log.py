"""pgaudit's lines as RDS and Aurora PostgreSQL write them to the `postgresql` log (and export
them to CloudWatch Logs), read back into LogEntry values. Pure.

RDS's log_line_prefix is fixed: '%t:%r:%u@%d:[%p]:' (time in UTC, client host(port), login
@ database, backend pid), then the level and pgaudit's CSV record:

    2026-12-06 05:50:01 UTC:10.0.1.5(53422):bob_rw@orders:[4711]:LOG:  AUDIT: SESSION,1,1,
    WRITE,INSERT,TABLE,public.orders,"insert into orders values (1, 'a,b')",<not logged>

(one line). pgaudit quotes a field only when it holds a comma, a double quote, CR or LF, and
doubles the quotes inside. A statement with a newline is one log entry over several lines, and
PostgreSQL's log puts a tab after each newline of a message (so a continuation line never
starts like an entry). The rest of the log (connections, errors, checkpoints) is not an audit
record.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import Final

from dbaccess.audit.log_entry import LogEntry, UnreadableLine

LOG_TYPE: Final = "postgresql"  # the RDS log export (and log group suffix)
RDS_LOG_LINE_PREFIX: Final = "%t:%r:%u@%d:[%p]:"

# %t (or %m), then %r: empty, [local] or host(port) (an IPv6 host holds colons), %u@%d, [%p].
_ENTRY: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<zone>[A-Za-z]+|[+-]\d\d(?::?\d\d)?)"
    r":(?:\[local\]|[^()\n]*\(\d+\))?:(?P<login>[^@\n]*)@(?P<database>[^\n]*?):\[(?P<pid>\d+)\]:"
    r"(?P<level>[A-Z0-9]+):\s+AUDIT: (?P<record>.*)",
    re.DOTALL,
)
# Where a new entry starts inside a CloudWatch event that holds several.
_NEXT_ENTRY: Final = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_UTC_NAMES: Final = frozenset({"UTC", "GMT", "Z"})
# AUDIT_TYPE, STATEMENT_ID, SUBSTATEMENT_ID, CLASS, COMMAND, OBJECT_TYPE, OBJECT_NAME,
# STATEMENT, PARAMETER (and ROWS with pgaudit.log_rows).
_FIELDS: Final = 9


def entries(message: str) -> Iterator[str]:
    """The log entries of one CloudWatch event: normally one; several when lines were
    exported together (a statement's own lines start with a tab and stay in its entry)."""
    yield from _NEXT_ENTRY.split(message.rstrip("\n"))


def parse_entry(text: str) -> LogEntry | None:
    """The statement of one pgaudit entry; None for any other log entry. Raises
    UnreadableLine for an audit entry that cannot be read."""
    match = _ENTRY.match(text)
    if match is None:
        return None
    record = _fields(match["record"].replace("\n\t", "\n"))
    if len(record) < _FIELDS:
        raise UnreadableLine(f"pgaudit record with {len(record)} fields, expected {_FIELDS}")
    _type, statement_id, substatement_id, cls, _command, _otype, _oname, statement = record[:8]
    return LogEntry(
        time=_time(match["time"], match["zone"]),
        login=match["login"],
        database=match["database"],
        cls=cls,
        statement=statement,
        key=(match["pid"], statement_id, substatement_id),
    )


def _fields(record: str) -> list[str]:
    try:
        return next(csv.reader([record], strict=True))
    except (csv.Error, StopIteration):
        raise UnreadableLine("pgaudit record with broken quoting") from None


def _time(stamp: str, zone: str) -> dt.datetime:
    if zone.upper() in _UTC_NAMES:
        offset = dt.UTC
    elif zone[0] in "+-":
        digits = zone[1:].replace(":", "").ljust(4, "0")
        sign = -1 if zone[0] == "-" else 1
        offset = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    else:
        # RDS logs in UTC; a named zone other than UTC cannot be placed without tz data.
        raise UnreadableLine(f"log time in zone {zone}, expected UTC")
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=offset).astimezone(dt.UTC)
