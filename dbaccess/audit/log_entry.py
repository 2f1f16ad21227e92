"""One statement read from a database's audit log, as the engine parsers
(dbaccess.postgres.audit_log, dbaccess.mysql.audit_log) hand it to `dbaccess activity`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class LogEntry:
    """A statement the server logged. `database` is the database the session was connected to
    (MySQL: the session's default database, "" when none); `cls` the statement's class
    (READ, WRITE, DDL, ROLE, FUNCTION, MISC); `key` tells the lines of one statement apart
    from another's (pgaudit logs a statement once per relation with pgaudit.log_relation)."""

    time: dt.datetime  # aware, UTC
    login: str
    database: str
    cls: str
    statement: str
    key: tuple[str, ...] | None = None


class UnreadableLine(ValueError):
    """A line that has the shape of an audit line but cannot be read (cut short, broken
    quoting). The message says what is wrong, never the line itself."""
