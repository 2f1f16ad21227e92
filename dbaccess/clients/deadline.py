"""A point in time a piece of work must be done by, on the monotonic clock.

A Lambda invocation is killed at its timeout, whatever it is doing. Every wait and every
network call of the issuer is bounded by the invocation's deadline (from
`context.get_remaining_time_in_millis()`), minus a reserve kept for writing the request's
state, so a record always ends finished or handed back, never cut off mid-way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final, Protocol

# How long a database server may take over each step of opening a connection (TCP, its
# greeting, TLS, the login) and, for MySQL, each answer after it: a server that accepts TCP
# and then says nothing is reported unreachable after this, by PostgreSQL (libpq's
# connect_timeout) and MySQL (PyMySQL's connect, read and write timeouts) alike.
DATABASE_SECONDS: Final = 10


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() value

    @classmethod
    def within(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def of_invocation(cls, context: HasRemainingTime, *, reserve: float) -> Deadline:
        """The invocation's end, `reserve` seconds early (room to write state after it)."""
        return cls.within(context.get_remaining_time_in_millis() / 1000 - reserve)

    def remaining(self) -> float:
        """Seconds left; 0 once passed."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, seconds: float) -> float:
        """`seconds`, or what is left if that is less."""
        return min(seconds, self.remaining())
