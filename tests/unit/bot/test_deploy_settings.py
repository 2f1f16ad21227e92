"""The bot's stack settings: `bot` needs both Slack tokens, and only as secrets."""

from __future__ import annotations

from typing import Any

import pytest

from dbaccess.access import InvalidInput
from dbaccess.cli.preview_engine import load_stack_config
from dbaccess.settings import Secret, parse_settings
from tests.program.conftest import ROOT


def prod(**changes: Any) -> dict[str, Any]:
    raw = dict(load_stack_config(ROOT, "prod").raw_settings)
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_the_prod_stack_declares_the_bot_with_secret_tokens() -> None:
    settings = parse_settings(prod())
    assert settings.bot is not None
    assert (settings.bot.cluster, settings.bot.replicas) == ("platform-prod", 2)
    assert isinstance(settings.slackBotToken, Secret)
    assert "xoxb" not in repr(settings)


def test_a_bot_without_its_tokens_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_settings(prod(slackAppToken=None))
    assert "pulumi config set --secret dbaccess:slackAppToken" in raised.value.render()


def test_a_token_in_plain_text_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_settings(prod(slackBotToken="xoxb-in-plain-text"))
    assert "plain text" in raised.value.render()
    assert "xoxb-in-plain-text" not in raised.value.render()


@pytest.mark.parametrize(
    ("key", "value"),
    [("image", "dbaccess-bot:latest"), ("image", "dbaccess-bot"), ("namespace", "DB_Access")],
)
def test_bad_bot_settings_are_refused(key: str, value: str) -> None:
    bot = dict(prod()["bot"]) | {key: value}
    with pytest.raises(InvalidInput):
        parse_settings(prod(bot=bot))


GITHUB = {"appId": 123456, "installationId": 7890123, "repository": "example-org/access"}


def test_github_needs_its_private_key_as_a_secret() -> None:
    with pytest.raises(InvalidInput) as missing:
        parse_settings(prod(github=GITHUB))
    assert "pulumi config set --secret dbaccess:githubAppPrivateKey" in missing.value.render()
    with pytest.raises(InvalidInput) as plain:
        parse_settings(prod(github=GITHUB, githubAppPrivateKey="-----BEGIN RSA PRIVATE KEY"))
    assert "plain text" in plain.value.render()
    assert "BEGIN RSA" not in plain.value.render()


def test_github_with_a_secret_key_is_accepted() -> None:
    settings = parse_settings(prod(github=GITHUB, githubAppPrivateKey=Secret("pem")))
    assert settings.github is not None
    assert (settings.github.repository, settings.github.accessFile) == (
        "example-org/access",
        "access.yaml",
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("repository", "access"), ("accessFile", "../access.yaml"), ("appId", 0), ("appId", True)],
)
def test_bad_github_settings_are_refused(key: str, value: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_settings(prod(github=GITHUB | {key: value}, githubAppPrivateKey=Secret("pem")))
