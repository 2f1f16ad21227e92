"""Shared fixtures: the real PostgreSQL server `make test` provides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import pgserver


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PostgresServer]:
    pgserver.require_postgres()
    server = pgserver.start_server()
    yield server
    server.stop()
