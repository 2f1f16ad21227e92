"""API base URLs (Slack's, GitHub's) carry tokens: https only, plain http to this machine only
(the tests' fakes listen on loopback). One rule, `formats.parse_api_url`, behind every
setting that names one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from dbaccess.access import InvalidInput
from dbaccess.bot.access_requests import github_settings
from dbaccess.bot.settings import load_settings
from dbaccess.clients.github import GitHubAppCredentials, InvalidRequest
from dbaccess.clients.slack import DirectMessages
from dbaccess.formats import parse_api_url
from dbaccess.issuer.settings import load_settings as load_issuer_settings
from dbaccess.service_env import SettingsError
from dbaccess.stack.file import load_stack_config
from dbaccess.stack.settings import parse_settings
from tests.program.conftest import ROOT

PLAIN = "http://slack.example.com/api/"
RULE = "API URLs must use https (plain http only to 127.0.0.1, ::1 or localhost"


@pytest.mark.parametrize(
    "url",
    [
        "https://slack.com/api/",
        "https://github.example.com/api/v3",
        "http://127.0.0.1:8080/api/",
        "http://[::1]:9000",
        "http://localhost:3000/",
    ],
)
def test_https_and_loopback_http_are_taken(url: str) -> None:
    assert parse_api_url(url).geturl() == url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (PLAIN, RULE),
        ("http://10.0.0.1/api/", RULE),
        ("http://127.0.0.1.evil.example/", RULE),
        ("ftp://slack.com/api/", "not an http(s) URL"),
        ("file:///etc/passwd", "not an http(s) URL"),
    ],
)
def test_anything_else_is_refused_saying_the_rule(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_api_url(url)


# Secrets Manager's part, as the services see it: a secret ARN -> its value.
SECRETS = {
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bot": "xoxb-1",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app": "xapp-1",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key": (
        "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----"
    ),
}
BOT_ENV = {
    "DBACCESS_SLACK_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bot",
    "DBACCESS_SLACK_APP_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app",
    "DBACCESS_REQUEST_TABLE": "dbaccess-requests",
    "DBACCESS_CATALOG_URL": "s3://bucket/catalog.json",
    "DBACCESS_HELP_CHANNEL": "#db-access",
}
GITHUB_ENV = {
    github_settings.APP_ID: "1",
    github_settings.INSTALLATION_ID: "2",
    github_settings.PRIVATE_KEY_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key",
    github_settings.REPOSITORY: "example-org/access",
}
ISSUER_ENV = {
    "DBACCESS_REQUEST_TABLE": "dbaccess-requests",
    "DBACCESS_CATALOG_URL": "s3://bucket/catalog.json",
    "DBACCESS_PRIVATEBIN_URL": "https://paste.internal/",
    "DBACCESS_SLACK_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
}


def stack(**changes: Any) -> Any:
    raw = dict(load_stack_config(ROOT, "prod").raw_settings) | changes
    return parse_settings(raw)


# (what reads it, how it fails: the exception's text must name the variable and the rule)
READERS: list[tuple[str, Callable[[str], Any], type[Exception], str]] = [
    (
        "bot Slack",
        lambda url: load_settings(BOT_ENV | {"DBACCESS_SLACK_API_URL": url}, SECRETS.__getitem__),
        SettingsError,
        "DBACCESS_SLACK_API_URL",
    ),
    (
        "bot GitHub",
        lambda url: github_settings.load_github_settings(
            GITHUB_ENV | {github_settings.API_URL: url}, SECRETS.__getitem__
        ),
        SettingsError,
        "DBACCESS_GITHUB_API_URL",
    ),
    (
        "issuer Slack",
        lambda url: load_issuer_settings(ISSUER_ENV | {"DBACCESS_SLACK_API_URL": url}),
        SettingsError,
        "DBACCESS_SLACK_API_URL",
    ),
    ("notify and Lambdas' DMs", lambda url: DirectMessages("xoxb-1", url), ValueError, ""),
    (
        "GitHub App client",
        lambda url: GitHubAppCredentials(1, 2, "key", url),
        InvalidRequest,
        "GitHub API URL",
    ),
]


@pytest.mark.parametrize(
    ("reader", "exception", "named"),
    [pytest.param(r, e, n, id=i) for i, r, e, n in READERS],
)
def test_every_reader_refuses_plain_http_to_another_host(
    reader: Callable[[str], Any], exception: type[Exception], named: str
) -> None:
    with pytest.raises(exception) as raised:
        reader(PLAIN)
    assert named in str(raised.value)
    assert RULE in str(raised.value)
    reader("http://127.0.0.1:9/api/")  # the tests' fakes
    reader("https://slack.example.com/api/")


def test_the_stacks_slack_api_url_is_https_only() -> None:
    with pytest.raises(InvalidInput) as raised:
        stack(slackApiUrl=PLAIN)
    assert RULE in raised.value.render()
    assert stack(slackApiUrl="https://slack.example.com/api/").slackApiUrl is not None
