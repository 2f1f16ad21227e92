"""Loading a large access file in a forked process gives what loading it here gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dbaccess.access import InvalidInput, load_access_text
from dbaccess.access.background import BACKGROUND_BYTES, loading

ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.date(2026, 11, 23)
# A comment makes the sample large without making it slow to load.
LARGE = (ROOT / "access.yaml").read_text() + "#" * BACKGROUND_BYTES + "\n"


def test_a_large_file_gives_the_same_plan() -> None:
    with loading(LARGE, "access.yaml", TODAY) as plan:
        loaded = plan()
    assert loaded == load_access_text(LARGE, "access.yaml", today=TODAY)
    assert len(loaded.people) == 9


def test_a_large_invalid_file_gives_the_same_located_problems() -> None:
    text = LARGE.replace("access: read-only}", "access: read-onl}", 1)
    with pytest.raises(InvalidInput) as here:
        load_access_text(text, "access.yaml", today=TODAY)
    with loading(text, "access.yaml", TODAY) as plan, pytest.raises(InvalidInput) as there:
        plan()
    assert there.value.problems == here.value.problems
    assert "read-onl" in str(there.value)
