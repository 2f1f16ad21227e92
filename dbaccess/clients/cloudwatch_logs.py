"""Reading one CloudWatch Logs log group between two times: FilterLogEvents, paginated, with a
hard cap on the events read so a busy log cannot keep a command reading for an hour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

# What one read may fetch from one log group (AWS pages hold up to 10,000 events or 1 MB).
MAX_EVENTS: Final = 200_000
MAX_PAGES: Final = 2_000


@dataclass
class Reading:
    """How far a read got: events and pages fetched, and whether a cap stopped it."""

    group: str
    events: int = 0
    pages: int = 0
    capped: bool = False


@dataclass(frozen=True)
class Event:
    timestamp: int  # ms since the epoch
    stream: str
    message: str


def read_events(
    logs: Any,
    reading: Reading,
    start_ms: int,
    end_ms: int,
    *,
    max_events: int = MAX_EVENTS,
    page_size: int | None = None,
    progress: Callable[[Reading], None] = lambda _r: None,
) -> Iterator[Event]:
    """The events of `reading.group` with start_ms <= timestamp <= end_ms, oldest first,
    until the caps. `progress` is called after every page. botocore's errors (a missing group:
    ResourceNotFoundException; AccessDeniedException) pass through to the caller."""
    paginator = logs.get_paginator("filter_log_events")
    config = {"PageSize": page_size} if page_size else {}
    pages = paginator.paginate(
        logGroupName=reading.group,
        startTime=start_ms,
        endTime=end_ms,
        PaginationConfig=config,
    )
    for page in pages:
        reading.pages += 1
        for event in page.get("events", ()):
            if reading.events >= max_events:
                reading.capped = True
                return
            reading.events += 1
            yield Event(event["timestamp"], event.get("logStreamName", ""), event["message"])
        progress(reading)
        if reading.pages >= MAX_PAGES and page.get("nextToken"):
            reading.capped = True
            return
