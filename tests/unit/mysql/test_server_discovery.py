"""tests/mysqlserver.py without MariaDB installed: a clear skip locally, a failure in CI."""

from __future__ import annotations

import shutil

import pytest

from tests import mysqlserver


@pytest.fixture
def no_mariadb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_args, **_kwargs: None)


def test_absent_mariadb_skips_with_the_fix(
    no_mariadb: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not mysqlserver.is_available()
    with pytest.raises(pytest.skip.Exception, match=r"run scripts/ensure-mariadb\.sh"):
        mysqlserver.require_mariadb()


def test_absent_mariadb_fails_in_ci(no_mariadb: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        mysqlserver.require_mariadb()
