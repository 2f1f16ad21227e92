"""How the issuer words things for a person (pure functions)."""

from __future__ import annotations

import pytest

from dbaccess.issuer.messages import in_words
from dbaccess.privatebin import EXPIRE_DURATIONS


@pytest.mark.parametrize(
    ("expire", "words"),
    [("5min", "5 minutes"), ("10min", "10 minutes"), ("1hour", "1 hour"), ("1day", "1 day")],
)
def test_every_link_lifetime_reads_in_words(expire: str, words: str) -> None:
    assert in_words(EXPIRE_DURATIONS[expire]) == words
