"""How the issuer words things for a person (pure functions)."""

from __future__ import annotations

import datetime as dt

import pytest

from dbaccess.issuer.messages import in_words, local_and_utc
from dbaccess.privatebin import EXPIRE_DURATIONS


@pytest.mark.parametrize(
    ("expire", "words"),
    [("5min", "5 minutes"), ("10min", "10 minutes"), ("1hour", "1 hour"), ("1day", "1 day")],
)
def test_every_link_lifetime_reads_in_words(expire: str, words: str) -> None:
    assert in_words(EXPIRE_DURATIONS[expire]) == words


def test_a_time_is_shown_in_the_persons_zone_with_utc_beside() -> None:
    moment = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert local_and_utc(moment, "Europe/Paris") == (
        "2026-07-01 11:30 Europe/Paris (2026-07-01 09:30 UTC)"
    )


@pytest.mark.parametrize("tz", [None, "", "Not/AZone"])
def test_without_a_known_zone_the_time_is_utc_alone(tz: str | None) -> None:
    moment = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    assert local_and_utc(moment, tz) == "2026-07-01 09:30 UTC"
