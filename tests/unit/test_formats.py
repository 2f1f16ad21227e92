"""`dbaccess.formats`: each value format said once. The properties compare each rule with the
check it replaced (copied below as it was), on generated input: the same accepted set, or, where
two checks became one, exactly the difference the docstring of each test names."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dbaccess import formats
from dbaccess.access import InvalidInput
from dbaccess.cli import app
from dbaccess.stack.file import load_stack_config
from dbaccess.stack.settings import parse_settings
from tests.program.conftest import ROOT

# --- the old checks, as they were ------------------------------------------------------------

OLD_HTTP_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")  # stack/settings.py
OLD_CHANNEL = re.compile(r"#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,}")  # bot and stack
OLD_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")  # bot/settings.py
OLD_NAME_PART = re.compile(r"[A-Za-z0-9_.-]+")  # bot/access_requests/pull_request.py
OLD_LOOPBACK = ("127.0.0.1", "localhost", "::1")  # cli/approvals.py


def old_is_repository_name(text: str) -> bool:
    owner, slash, name = text.partition("/")
    return bool(slash) and all(OLD_NAME_PART.fullmatch(p) for p in (owner, name))


def old_is_repository_path(text: str) -> bool:
    return all(OLD_NAME_PART.fullmatch(p) and p != ".." for p in text.split("/"))


def old_parse_s3_url(url: str) -> tuple[str, str]:  # catalog.py
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise ValueError(f"'{url}' is not an s3://bucket/key URL")
    bucket, key = url[5:].split("/", 1)
    if not bucket or not key:
        raise ValueError(f"'{url}' is not an s3://bucket/key URL")
    return bucket, key


def old_catalog_location(url: str) -> tuple[str, str] | None:  # cli/catalog_cache.py
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        return None
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def old_approvals_api_url(text: str) -> bool:  # cli/approvals.py
    url = urlsplit(text)
    return not (
        url.scheme != "https" and not (url.scheme == "http" and url.hostname in OLD_LOOPBACK)
    )


def accepts(rule: object, text: str) -> bool:
    try:
        rule(text)  # type: ignore[operator]
    except ValueError:
        return False
    return True


# --- generated input: URL-shaped text with the parts each check looks at ---------------------

_HOSTS = st.sampled_from(
    ["slack.com", "127.0.0.1", "localhost", "[::1]", "[::1", "", "user@", "a b", "x:", "10.0.0.1"]
)
URLS = st.one_of(
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(["http", "https", "HTTPS", "ftp", "s3", ""]),
            st.sampled_from(["://", ":", ":/", "//"]),
            _HOSTS | st.text(max_size=8),
            st.sampled_from(["", ":80", ":99999", ":x", ":"]),
            st.sampled_from(["", "/", "/api/", "/a b", "/api/v3"]),
            st.sampled_from(["", "?", "?q=1", "#", "#f"]),
            st.sampled_from(["", " ", "\n"]),
        ),
    ),
    st.text(max_size=30),
)
NAMES = st.text(alphabet="aZ09_.-/ @é\n", max_size=12)


# --- URLs ------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(URLS)
@example("http://:80/")
@example("http://x:99999/")
@example("http://[::1/")
def test_a_base_url_is_the_old_settings_regex_less_what_no_service_could_use(text: str) -> None:
    """Changed on purpose: the stack settings (privatebinUrl, slackApiUrl) used a regex alone,
    which let through URLs without a host or with a port out of range, that the issuer's and
    the bot's clients (`parse_url`) then refused at run time. Now refused at preview time."""
    new, old = accepts(formats.parse_base_url, text), OLD_HTTP_URL.fullmatch(text) is not None
    assert new == (old and accepts(formats.parse_url, text))


@settings(max_examples=400, deadline=None)
@given(URLS)
@example("https://")
@example("https://x:99999/")
def test_the_approvals_api_url_is_the_old_check_less_urls_without_a_host(text: str) -> None:
    """Changed on purpose: `dbaccess approvals` took any https URL, even without a host or
    with a bad port (PyGithub failed later, or urlsplit raised a traceback); it now uses the
    rule every other reader of the same variable uses."""
    try:
        old = old_approvals_api_url(text)
    except ValueError:  # urlsplit's: a broken IPv6 host was a traceback
        old = False
    new = accepts(formats.parse_api_url, text)
    assert new == (old and accepts(formats.parse_url, text))


@pytest.mark.parametrize("url", ["http://:80/", "http://paste.internal:99999/", "http://[::1/"])
def test_the_stack_refuses_a_privatebin_url_no_issuer_could_reach(url: str) -> None:
    raw = dict(load_stack_config(ROOT, "prod").raw_settings) | {"privatebinUrl": url}
    with pytest.raises(InvalidInput) as raised:
        parse_settings(raw)
    assert "is not an http(s) URL without query or fragment" in raised.value.render()


def test_approvals_refuses_an_api_url_without_a_host_before_any_call() -> None:
    result = CliRunner().invoke(
        app,
        ["approvals", "--pr", "1", "--repo", "example-org/access"],
        env={"GITHUB_TOKEN": "t", "DBACCESS_GITHUB_API_URL": "https://"},
    )
    assert result.exit_code == 2
    assert "DBACCESS_GITHUB_API_URL: not an http(s) URL: 'https://'" in result.output
    assert "Traceback" not in result.output


# --- the rest: the same accepted set as before -----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="#abcCGZ019._- A", max_size=12) | st.text(max_size=12))
def test_a_slack_channel_is_the_old_pattern(text: str) -> None:
    assert formats.is_slack_channel(text) == (OLD_CHANNEL.fullmatch(text) is not None)


@settings(max_examples=300, deadline=None)
@given(NAMES)
@example("a/..")
@example("owner/name")
def test_repository_names_and_paths_are_the_old_rules(text: str) -> None:
    assert formats.is_repository_name(text) == old_is_repository_name(text)
    assert formats.is_repository_path(text) == old_is_repository_path(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09_.-/ é", max_size=300))
@example("ab")
@example("a" * 255)
@example("a" * 256)
def test_a_table_name_is_the_old_pattern(text: str) -> None:
    assert formats.is_dynamodb_table_name(text) == (OLD_TABLE.fullmatch(text) is not None)


S3_URLS = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["s3://", "s3:/", "S3://", ""]),
        st.text(alphabet="ab/.", max_size=4),
        st.sampled_from(["", "/", "/k", "/p/catalog.json"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(S3_URLS)
def test_s3_urls_are_the_old_rules(text: str) -> None:
    try:
        old: tuple[str, str] | str = old_parse_s3_url(text)
    except ValueError as exc:
        old = str(exc)
    try:
        new: tuple[str, str] | str = formats.parse_s3_url(text)
    except ValueError as exc:
        new = str(exc)
    assert new == old
    try:
        location: tuple[str, str] | None = formats.split_s3_location(text)
    except ValueError:
        location = None
    assert location == old_catalog_location(text)
