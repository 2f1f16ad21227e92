"""A kept credential is reused only by whoever made it, and only while it has minutes left."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dbaccess.catalog import CatalogDatabase
from dbaccess.cli import token_cache
from dbaccess.credentials import Credential

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
DB = CatalogDatabase(
    key="orders",
    engine="postgres",
    account="123456789012",
    region="eu-west-1",
    host="orders.example.eu-west-1.rds.amazonaws.com",
    port=5432,
    database="orders",
    identifier="orders",
    resource_id=None,
    description=None,
    production=True,
    groups={},
)
FATIMA = "fatima@example.com arn:aws:iam::123456789012:role/dbaccess/dbaccess-fatima"


def _cred(expires_in: dt.timedelta) -> Credential:
    return Credential("postgres", DB.host, 5432, "orders", "fatima_ro", "tok3n", NOW + expires_in)


def test_reused_by_the_same_holder_while_it_has_minutes_left(tmp_path: Path) -> None:
    token_cache.store(tmp_path, DB, "fatima_ro", FATIMA, _cred(dt.timedelta(minutes=15)))
    kept = token_cache.load(tmp_path, DB, "fatima_ro", FATIMA, NOW + dt.timedelta(minutes=9))
    assert kept == _cred(dt.timedelta(minutes=15))


def test_not_reused_shortly_before_it_expires(tmp_path: Path) -> None:
    token_cache.store(tmp_path, DB, "fatima_ro", FATIMA, _cred(dt.timedelta(minutes=15)))
    assert (
        token_cache.load(tmp_path, DB, "fatima_ro", FATIMA, NOW + dt.timedelta(minutes=11)) is None
    )


def test_not_reused_by_another_role_or_for_another_login(tmp_path: Path) -> None:
    token_cache.store(tmp_path, DB, "fatima_ro", FATIMA, _cred(dt.timedelta(minutes=15)))
    other_role = FATIMA.replace("123456789012", "210987654321")
    assert token_cache.load(tmp_path, DB, "fatima_ro", other_role, NOW) is None
    assert token_cache.load(tmp_path, DB, "fatima_rw", FATIMA, NOW) is None


def test_a_damaged_file_is_no_credential(tmp_path: Path) -> None:
    token_cache.store(tmp_path, DB, "fatima_ro", FATIMA, _cred(dt.timedelta(minutes=15)))
    (kept,) = (tmp_path / "credentials").iterdir()
    kept.write_text('{"holder": 1')
    assert token_cache.load(tmp_path, DB, "fatima_ro", FATIMA, NOW) is None
