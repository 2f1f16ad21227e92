"""What a grant's `until` means, in one place: the last day of access, in UTC.

A grant with `until: 2026-12-31` works through 2026-12-31 23:59:59 UTC; AWS refuses it from
2027-01-01T00:00:00Z. Standard library only, so the policies and the services can use it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

# How `until` is written: a plain date (no time, no week date, no 20261231).
PLAIN_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_live(until: dt.date | None, today: dt.date) -> bool:
    """Whether a grant ending on `until` (None: no end) still gives access on `today`."""
    return until is None or until >= today


def access_ends(until: dt.date) -> dt.datetime:
    """The first instant without access: the day after `until`, 00:00:00 UTC."""
    return dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def iso_z(moment: dt.datetime) -> str:
    """The instant as IAM conditions write it, e.g. 2027-01-01T00:00:00Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
