"""The PrivateBin client against a fake server speaking the real v2 API over real HTTP."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import privatebin as independent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbaccess.clients.deadline import Deadline
from dbaccess.clients.privatebin import (
    EXPIRE_DURATIONS,
    MAX_RATE_LIMIT_RETRIES,
    MAX_RATE_LIMIT_SLEEP,
    PrivateBin,
    PrivateBinError,
    base58_encode,
    rate_limit_interval,
)
from dbaccess.clients.privatebin_limiter import MESSAGE_FORMS
from tests.fakes.privatebin import NOT_FOUND, FakePrivateBin

SECRET = "host=orders.example.internal user=hugohenley_ro password=tok3n/é\nline two"
BASE58 = "[1-9A-HJ-NP-Za-km-z]"


@pytest.fixture
def privatebin_server() -> Iterator[FakePrivateBin]:
    # A path, not just "/", so the tests show the configured path survives into the link.
    with FakePrivateBin(path="/paste/") as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(privatebin_server: FakePrivateBin, sleeps: list[float]) -> PrivateBin:
    return PrivateBin(privatebin_server.url, timeout=2.0, sleep=sleeps.append)


def test_the_link_is_the_configured_url_then_the_id_then_a_dash_and_the_base58_key(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a PrivateBin configured with a path
    # WHEN a secret is shared
    paste = client.share(SECRET)

    # THEN the link keeps the path, names the stored paste, and carries a 32-byte key
    match = re.fullmatch(
        re.escape(privatebin_server.url) + rf"\?([0-9a-f]{{16}})#-({BASE58}{{43,44}})", paste.link
    )
    assert match is not None, paste.link
    assert list(privatebin_server.pastes) == [match.group(1)]
    assert privatebin_server.pastes[match.group(1)].delete_token == paste.delete_token


def test_the_request_is_a_burn_after_reading_v2_paste(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # WHEN a secret is shared for five minutes
    client.share(SECRET, expire="5min")

    # THEN exactly one JSON API post was made, with the fields PrivateBin expects
    (post,) = privatebin_server.posts
    assert post.headers["x-requested-with"] == "JSONHttpRequest"
    assert post.headers["content-type"] == "application/json"
    assert set(post.body) == {"v", "adata", "ct", "meta"}
    assert post.body["v"] == 2
    assert post.body["meta"] == {"expire": "5min"}
    cipher, formatter, open_discussion, burn_after_reading = post.body["adata"]
    assert cipher[2:] == [100000, 256, 128, "aes", "gcm", "zlib"]
    assert len(base64.b64decode(cipher[0], validate=True)) == 16  # IV
    assert len(base64.b64decode(cipher[1], validate=True)) == 8  # salt
    assert formatter == "plaintext"
    # Integers, not booleans: PrivateBin compares them strictly and refuses true/false.
    assert (type(open_discussion), open_discussion) == (int, 0)
    assert (type(burn_after_reading), burn_after_reading) == (int, 1)
    # Ciphertext plus the 16-byte GCM tag; the secret is not in the clear.
    ciphertext = base64.b64decode(post.body["ct"], validate=True)
    assert len(ciphertext) > 16
    assert SECRET.encode() not in ciphertext


def test_an_independent_privatebin_client_decrypts_exactly_the_text(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a shared secret
    paste = client.share(SECRET)

    # WHEN the person opens the link with another implementation of PrivateBin's format
    # THEN they read exactly the text
    assert privatebin_server.read(paste.link) == SECRET


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text())
def test_any_text_survives_the_round_trip(
    privatebin_server: FakePrivateBin, client: PrivateBin, text: str
) -> None:
    assert privatebin_server.read(client.share(text).link) == text


def test_the_paste_burns_after_the_first_read(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a secret that was read once
    paste = client.share(SECRET)
    privatebin_server.read(paste.link)

    # WHEN the link is opened again
    # THEN the server no longer has it
    with pytest.raises(independent.PrivateBinError, match=re.escape(NOT_FOUND)):
        privatebin_server.read(paste.link)
    assert privatebin_server.pastes == {}


@pytest.mark.parametrize("expire", list(EXPIRE_DURATIONS))
def test_expires_at_is_now_plus_the_chosen_lifetime(
    privatebin_server: FakePrivateBin, client: PrivateBin, expire: str
) -> None:
    # WHEN a secret is shared with one of the allowed lifetimes
    before = datetime.now(UTC)
    paste = client.share(SECRET, expire=expire)
    after = datetime.now(UTC)

    # THEN the server was asked for that lifetime, and expires_at is an aware UTC time that far ahead
    assert privatebin_server.posts[0].body["meta"]["expire"] == expire
    assert paste.expires_at.tzinfo is UTC
    assert before + EXPIRE_DURATIONS[expire] <= paste.expires_at <= after + EXPIRE_DURATIONS[expire]


@pytest.mark.parametrize("expire", ["1week", "never", "10 min", ""])
def test_an_unknown_lifetime_is_refused_before_anything_is_sent(
    privatebin_server: FakePrivateBin, client: PrivateBin, expire: str
) -> None:
    # WHEN a lifetime PrivateBin would silently turn into a week is asked for
    # THEN it is refused and the server never hears of the secret
    with pytest.raises(ValueError, match="expire must be one of 5min, 10min, 1hour, 1day"):
        client.share(SECRET, expire=expire)
    assert privatebin_server.post_count == 0


def test_a_rate_limit_is_waited_out_and_the_paste_created(
    privatebin_server: FakePrivateBin, client: PrivateBin, sleeps: list[float]
) -> None:
    # GIVEN a server that refuses the next two posts as too frequent
    privatebin_server.rate_limit(2, wait_seconds=2)

    # WHEN a secret is shared
    paste = client.share(SECRET)

    # THEN the client waited as told, posted again, and the paste opens
    assert sleeps == [2.0, 2.0]
    assert privatebin_server.post_count == 3
    assert privatebin_server.read(paste.link) == SECRET


def test_a_long_rate_limit_wait_is_capped(
    privatebin_server: FakePrivateBin, client: PrivateBin, sleeps: list[float]
) -> None:
    # GIVEN a server asking for an hour between posts, once
    privatebin_server.rate_limit(1, wait_seconds=3600)

    # WHEN a secret is shared
    client.share(SECRET)

    # THEN the client waited only its own maximum
    assert sleeps == [MAX_RATE_LIMIT_SLEEP]


def test_a_rate_limit_that_does_not_end_is_a_transient_error(
    privatebin_server: FakePrivateBin, client: PrivateBin, sleeps: list[float]
) -> None:
    # GIVEN a server that keeps refusing posts as too frequent
    privatebin_server.rate_limit(100, wait_seconds=1)

    # WHEN a secret is shared
    with pytest.raises(PrivateBinError, match="rate limit") as raised:
        client.share(SECRET)

    # THEN the client gave up after its retries with an error worth retrying later
    assert raised.value.transient
    assert privatebin_server.post_count == MAX_RATE_LIMIT_RETRIES + 1
    assert len(sleeps) == MAX_RATE_LIMIT_RETRIES


def test_a_refusal_is_a_clear_permanent_error_without_the_secret(
    privatebin_server: FakePrivateBin, client: PrivateBin, sleeps: list[float]
) -> None:
    # GIVEN a server that cannot store pastes
    privatebin_server.fail_with("Error saving paste. Sorry.")

    # WHEN a secret is shared
    with pytest.raises(PrivateBinError) as raised:
        client.share(SECRET)

    # THEN the error says what the server said, nothing more, and is not worth retrying
    assert str(raised.value) == "PrivateBin refused the paste: Error saving paste. Sorry."
    assert not raised.value.transient
    assert SECRET not in repr(raised.value)
    assert privatebin_server.post_count == 1
    assert sleeps == []


def test_a_server_that_is_down_is_a_transient_error(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a server that refuses connections
    privatebin_server.down()

    # WHEN a secret is shared
    with pytest.raises(PrivateBinError, match="unreachable") as raised:
        client.share(SECRET)

    # THEN the error is worth retrying later
    assert raised.value.transient


def test_a_server_answering_503_is_a_transient_error(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a proxy in front of a dead PrivateBin
    privatebin_server.unavailable(503)

    # WHEN a secret is shared
    with pytest.raises(PrivateBinError, match="HTTP 503") as raised:
        client.share(SECRET)

    # THEN the error is worth retrying later
    assert raised.value.transient


def test_neither_the_text_nor_the_link_nor_the_key_is_logged_or_shown(
    privatebin_server: FakePrivateBin, client: PrivateBin, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN every log record captured, and a retry so that path logs too
    caplog.set_level(logging.DEBUG)
    privatebin_server.rate_limit(1, wait_seconds=1)

    # WHEN a secret is shared
    paste = client.share(SECRET)

    # THEN something was logged, but no record (message or extra fields) holds a secret
    key = paste.link.split("#-")[1]
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    assert "paste created" in caplog.text
    for secret in (SECRET, paste.link, key, paste.delete_token):
        assert secret not in logged
    # and a Paste printed by accident shows neither the link nor the delete token
    assert key not in repr(paste)
    assert paste.delete_token not in repr(paste)


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        # A Bitcoin address: version byte 0x00, hash, checksum.
        (
            bytes.fromhex("00eb15231dfceb60925886b67d065299925915aeb172c06647"),
            "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L",
        ),
        (bytes(32), "1" * 32),
    ],
)
def test_base58_matches_known_vectors(data: bytes, encoded: str) -> None:
    assert base58_encode(data) == encoded


def test_a_server_answering_a_byte_every_3_seconds_is_cut_at_the_timeout(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a server that answers one byte every 3 seconds (each read is quick enough for a
    # socket timeout, the whole answer would take minutes)
    privatebin_server.trickle(3.0)

    # WHEN a secret is shared by a client with a 2-second timeout
    started = time.monotonic()
    with pytest.raises(PrivateBinError, match=re.escape("did not answer within 2.0 s")) as raised:
        client.share(SECRET)

    # THEN it gave up after about 2 seconds, with an error worth retrying later
    assert time.monotonic() - started < 3.0
    assert raised.value.transient


def test_a_deadline_sooner_than_the_timeout_bounds_the_call(
    privatebin_server: FakePrivateBin, client: PrivateBin
) -> None:
    # GIVEN a trickling server and a caller with 1 second left
    privatebin_server.trickle(3.0)

    # WHEN a secret is shared
    started = time.monotonic()
    with pytest.raises(PrivateBinError, match="did not answer within"):
        client.share(SECRET, deadline=Deadline.within(1.0))

    # THEN the caller's deadline, not the client's timeout, ended it
    assert time.monotonic() - started < 2.0


def test_a_rate_limit_wait_that_does_not_fit_the_deadline_is_not_made(
    privatebin_server: FakePrivateBin, client: PrivateBin, sleeps: list[float]
) -> None:
    # GIVEN a server asking for 5 seconds between posts, and a caller with 3 seconds left
    privatebin_server.rate_limit(1, wait_seconds=5)

    # WHEN a secret is shared
    with pytest.raises(PrivateBinError, match="rate limit") as raised:
        client.share(SECRET, deadline=Deadline.within(3.0))

    # THEN the client did not wait past the deadline: a transient error at once
    assert sleeps == []
    assert raised.value.transient


@pytest.mark.parametrize("form", MESSAGE_FORMS)
def test_the_traffic_limiter_is_recognised_in_every_language(form: str) -> None:
    # GIVEN the limiter's refusal as a PrivateBin server in some language words it
    message = form.replace("%d", "10")

    # THEN it is recognised as a rate limit, with the interval where the text has one
    assert rate_limit_interval(message) == (10 if "%d" in form else 1)


def test_other_refusals_are_not_rate_limits() -> None:
    for message in ("Invalid data.", "Error saving paste. Sorry.", "Please wait."):
        assert rate_limit_interval(message) is None
