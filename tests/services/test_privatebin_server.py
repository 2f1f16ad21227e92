"""The issuer's PrivateBin client against the real PrivateBin server (its unmodified source under
PHP), read back by the independent `privatebin` package. Skips, saying how to provide it, where
the source or php is absent (see tests/privatebin_server.py). Faults stay with the fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import privatebin as independent
import pytest

from dbaccess.clients.privatebin import (
    EXPIRE_DURATIONS,
    MAX_RATE_LIMIT_RETRIES,
    MAX_RATE_LIMIT_SLEEP,
    PrivateBin,
    PrivateBinError,
)
from scripts.privatebin_limiter_messages import message_forms
from tests.privatebin_server import PrivateBinServer, require_server, source_archive

SECRET = "host=orders.example.internal user=hugohenley_ro password=tok3n/é\nline two"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBinServer]:
    """One server with the traffic limiter off, for the tests that do not configure it."""
    require_server()
    with PrivateBinServer(tmp_path_factory.mktemp("privatebin"), limit=0) as running:
        yield running


def test_a_paste_opens_once_with_an_independent_client(server: PrivateBinServer) -> None:
    # GIVEN a secret shared through the real server
    paste = PrivateBin(server.url).share(SECRET)

    # WHEN a person opens the link (an independent PrivateBin implementation decrypts it)
    opened = independent.get(paste.link)

    # THEN it is exactly the text; a second opening finds nothing (burnt after reading)
    assert opened.text == SECRET
    with pytest.raises(independent.PrivateBinError):
        independent.get(paste.link)


def test_each_lifetime_is_stored_by_the_server_as_chosen(server: PrivateBinServer) -> None:
    for expire, lifetime in EXPIRE_DURATIONS.items():
        # WHEN a paste is made with each lifetime the issuer offers
        made = time.time()
        paste = PrivateBin(server.url).share(SECRET, expire=expire)

        # THEN the server deletes it after that lifetime (not its one-week default)
        paste_id = paste.link.split("?", 1)[1].split("#", 1)[0]
        stored = server.expire_date(paste_id) - made
        assert lifetime.total_seconds() - 2 <= stored <= lifetime.total_seconds() + 2, expire


def test_with_the_limiter_off_posts_follow_each_other_without_waiting(
    server: PrivateBinServer,
) -> None:
    # GIVEN the limiter switched off ([traffic] limit = 0)
    sleeps: list[float] = []
    client = PrivateBin(server.url, sleep=sleeps.append)

    # WHEN ten pastes are made at once
    links = [client.share(f"{SECRET} {i}").link for i in range(10)]

    # THEN all were created without a single wait
    assert len(set(links)) == 10
    assert sleeps == []


@pytest.mark.parametrize("language", [None, "de", "ja"])
def test_the_default_limiter_is_recognised_as_a_rate_limit(
    tmp_path: Path, language: str | None
) -> None:
    # GIVEN the default limiter (10 s per address), the server speaking `language`
    require_server()
    with PrivateBinServer(tmp_path, limit=10, language=language) as limited:
        sleeps: list[float] = []
        client = PrivateBin(limited.url, sleep=sleeps.append)
        client.share(SECRET)

        # WHEN a second paste follows at once
        with pytest.raises(PrivateBinError, match="rate limit") as raised:
            client.share(SECRET)

    # THEN the refusal was understood as the limiter, waited on within the client's bounds,
    # and ends as a transient error
    assert raised.value.transient
    assert sleeps == [min(10.0, MAX_RATE_LIMIT_SLEEP)] * MAX_RATE_LIMIT_RETRIES


def test_an_exempted_issuer_is_not_limited(tmp_path: Path) -> None:
    # GIVEN the default limiter with the issuer's address exempted ([traffic] exempted)
    require_server()
    with PrivateBinServer(tmp_path, limit=10, exempted="127.0.0.0/8") as limited:
        sleeps: list[float] = []
        client = PrivateBin(limited.url, sleep=sleeps.append)

        # WHEN three pastes are made at once
        for _ in range(3):
            client.share(SECRET)

    # THEN none waited
    assert sleeps == []


def test_creators_keep_everyone_else_from_making_pastes(tmp_path: Path) -> None:
    # GIVEN only the issuer's subnet may create pastes ([traffic] creators), and we are not in it
    require_server()
    # WHEN a paste is made from elsewhere
    with (
        PrivateBinServer(tmp_path, limit=0, creators="10.20.0.0/16") as guarded,
        pytest.raises(PrivateBinError, match="not authorized") as raised,
    ):
        PrivateBin(guarded.url).share(SECRET)

    # THEN it is refused, permanently
    assert not raised.value.transient


def test_the_limiter_messages_module_matches_the_server_source() -> None:
    # GIVEN the PrivateBin source the tests run
    require_server()
    archive = source_archive()
    if archive is None:
        pytest.skip("the source is an unpacked folder; the module is checked against archives")

    # THEN dbaccess/clients/privatebin_limiter.py holds exactly its wordings of the limiter's refusal
    from dbaccess.clients.privatebin_limiter import MESSAGE_FORMS

    assert sorted(MESSAGE_FORMS) == message_forms(archive)
