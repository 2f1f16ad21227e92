"""The value formats settings and options share, each said once: http(s) and API URLs, a Slack
channel, a GitHub repository and a path in it, an S3 URL, a DynamoDB table name.

Pure and stdlib only, so the Lambdas and the bot read them without pydantic; the stack
settings, the services' environment and the CLI's options all call these and only word the
error for their reader.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

# --- URLs ------------------------------------------------------------------------------------

# Where plain http may go: this machine (the tests' fake Slack and GitHub listen there).
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
# A base URL as settings write it: scheme, host, an optional path; no space, query or fragment.
_BASE_URL: Final = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


def parse_url(text: str) -> SplitResult:
    """`text` as an http(s) URL with a host (and a valid port, if any); ValueError otherwise."""
    url = urlsplit(text)  # ValueError for a broken IPv6 host
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"not an http(s) URL: {text!r}")
    url.port  # noqa: B018 - ValueError for a port out of range, here rather than mid-call
    return url


def parse_base_url(text: str) -> SplitResult:
    """`text` as the base URL a setting names (PrivateBin's, Slack's API): an http(s) URL
    written as scheme://host[/path], with no space, query or fragment; ValueError otherwise."""
    if not _BASE_URL.fullmatch(text):
        raise ValueError(f"not an http(s) URL without query or fragment: {text!r}")
    return parse_url(text)


def parse_api_url(text: str) -> SplitResult:
    """`text` as the base URL of an API we send tokens to: https, or plain http to this
    machine only (127.0.0.1, ::1, localhost); ValueError saying so otherwise."""
    url = parse_url(text)
    if url.scheme != "https" and url.hostname not in LOOPBACK_HOSTS:
        raise ValueError(
            f"{text!r} is not an https URL: API URLs must use https (plain http only to "
            "127.0.0.1, ::1 or localhost, for local tests)"
        )
    return url


# --- Slack -----------------------------------------------------------------------------------

# A channel name (#data-access, the # optional) or a public/private channel id (C0123ABCD).
SLACK_CHANNEL: Final = re.compile(r"#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,}")


def is_slack_channel(text: str) -> bool:
    return SLACK_CHANNEL.fullmatch(text) is not None


# --- GitHub ----------------------------------------------------------------------------------

# GitHub's names: a repository is owner/name, the access file a relative path in it.
_NAME_PART: Final = re.compile(r"[A-Za-z0-9_.-]+")


def is_repository_name(text: str) -> bool:
    """owner/name, each part of the characters GitHub allows."""
    owner, slash, name = text.partition("/")
    return bool(slash) and all(_NAME_PART.fullmatch(p) for p in (owner, name))


def is_repository_path(text: str) -> bool:
    """A relative path inside a repository (no `..`, no empty part)."""
    return all(_NAME_PART.fullmatch(p) and p != ".." for p in text.split("/"))


# --- AWS -------------------------------------------------------------------------------------


def split_s3_location(url: str) -> tuple[str, str]:
    """'s3://bucket[/rest]' -> (bucket, rest), rest possibly empty; ValueError without the
    scheme or a bucket."""
    bucket, _, rest = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket:
        raise ValueError(f"'{url}' is not an s3://bucket/key URL")
    return bucket, rest


def parse_s3_url(url: str) -> tuple[str, str]:
    """'s3://bucket/key' -> (bucket, key), both non-empty; ValueError otherwise."""
    bucket, key = split_s3_location(url)
    if not key:
        raise ValueError(f"'{url}' is not an s3://bucket/key URL")
    return bucket, key


_DYNAMODB_TABLE: Final = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def is_dynamodb_table_name(text: str) -> bool:
    return _DYNAMODB_TABLE.fullmatch(text) is not None
