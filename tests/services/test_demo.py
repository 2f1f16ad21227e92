"""`make demo` runs end to end: a scripted Slack click gives a one-time link, read once, whose
password logs psql in; then `dbaccess connect` does the same. It stops every process it
started."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import pgserver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_demo_goes_from_a_click_to_psql_and_cleans_up() -> None:
    if not pgserver.is_available():
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert took < 120
    # The link was printed, opened once, and gone the second time.
    assert re.search(r"http://127\.0\.0\.1:\d+/\?[0-9a-f]+#\S+", out)
    assert "gone (burned after reading)" in out
    # psql logged in with the paste's password, then through `dbaccess connect`: the login,
    # the database, TLS on, and the table's rows.
    assert out.count("psql answered: fatimazahra_ro|orders|t|3") == 2
    assert "Done: every process stopped." in out
    # Every server it started is gone.
    ports = [int(p) for p in re.findall(r"(?:localhost|127\.0\.0\.1):(\d+)", out)]
    assert ports
    assert not [p for p in ports if listening(p)]
