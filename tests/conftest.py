"""Shared fixtures: the real PostgreSQL and MariaDB servers `make test` provides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import mysqlserver, pgserver


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PostgresServer]:
    pgserver.require_postgres()
    server = pgserver.start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[mysqlserver.MariaDBServer]:
    mysqlserver.require_mariadb()
    server = mysqlserver.start_server()
    yield server
    server.stop()
