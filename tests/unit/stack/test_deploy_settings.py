"""The services' stack settings: secrets only as Secrets Manager ARNs (a `secure:` value or a
retired secret setting is refused with how to move it), and each optional service all or none."""

from __future__ import annotations

from typing import Any

import pytest

from dbaccess.access import InvalidInput
from dbaccess.stack.file import load_stack_config
from dbaccess.stack.settings import Secret, optional_services, parse_settings
from tests.program.conftest import ROOT

SECRETS = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbaccess/"
GITHUB_KEY_ARN = f"{SECRETS}github-app-private-key-Mn56Ef"


def prod(**changes: Any) -> dict[str, Any]:
    raw = dict(load_stack_config(ROOT, "prod").raw_settings)
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def refusal(raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as raised:
        parse_settings(raw)
    return raised.value.render()


def test_the_prod_stack_declares_the_bot_with_its_tokens_by_arn() -> None:
    settings = parse_settings(prod())
    assert settings.bot is not None
    assert (settings.bot.cluster, settings.bot.replicas) == ("platform-prod", 2)
    assert settings.slackBotTokenSecretArn == f"{SECRETS}slack-bot-token-Xy12Ab"
    assert settings.slackAppTokenSecretArn == f"{SECRETS}slack-app-token-Pq34Cd"


@pytest.mark.parametrize("key", ["slackBotToken", "slackAppToken", "githubAppPrivateKey"])
def test_a_secure_value_is_refused_with_how_to_move_it_to_secrets_manager(key: str) -> None:
    shown = refusal(prod(**{key: Secret()}))
    assert f"'dbaccess:{key}' is a `secure:` value" in shown
    assert "aws secretsmanager create-secret --name dbaccess/" in shown
    assert f"pulumi config set dbaccess:{key}SecretArn <the ARN it printed>" in shown


def test_a_secure_arn_setting_is_refused_too() -> None:
    shown = refusal(prod(slackAppTokenSecretArn=Secret()))
    assert "'dbaccess:slackAppTokenSecretArn' is a `secure:` value" in shown


def test_a_retired_secret_setting_in_plain_text_is_refused_without_showing_it() -> None:
    shown = refusal(prod(slackBotToken="xoxb-in-plain-text"))
    assert "'dbaccess:slackBotToken' is no longer read" in shown
    assert "pulumi config set dbaccess:slackBotTokenSecretArn" in shown
    assert "xoxb-in-plain-text" not in shown


def test_a_bot_without_its_app_token_secret_is_refused_naming_it() -> None:
    shown = refusal(prod(slackAppTokenSecretArn=None))
    assert "the Slack bot is half set up" in shown
    assert "dbaccess:slackAppTokenSecretArn missing" in shown


@pytest.mark.parametrize("value", ["xapp-1-a-token", f"{SECRETS[:-9]}:dbaccess/x"])
def test_an_arn_setting_holding_something_else_is_refused(value: str) -> None:
    shown = refusal(prod(slackAppTokenSecretArn=value))
    assert "is not a Secrets Manager secret ARN" in shown


@pytest.mark.parametrize(
    ("key", "value"),
    [("image", "dbaccess-bot:latest"), ("image", "dbaccess-bot"), ("namespace", "DB_Access")],
)
def test_bad_bot_settings_are_refused(key: str, value: str) -> None:
    bot = dict(prod()["bot"]) | {key: value}
    with pytest.raises(InvalidInput):
        parse_settings(prod(bot=bot))


GITHUB = {"appId": 123456, "installationId": 7890123, "repository": "example-org/access"}


def test_github_needs_its_private_key_secret() -> None:
    shown = refusal(prod(github=GITHUB))
    assert "Request access (the GitHub App) is half set up" in shown
    assert "dbaccess:githubAppPrivateKeySecretArn missing" in shown


def test_github_with_its_key_by_arn_is_accepted() -> None:
    settings = parse_settings(prod(github=GITHUB, githubAppPrivateKeySecretArn=GITHUB_KEY_ARN))
    assert settings.github is not None
    assert (settings.github.repository, settings.github.accessFile) == (
        "example-org/access",
        "access.yaml",
    )
    assert settings.githubAppPrivateKeySecretArn == GITHUB_KEY_ARN


def test_auto_merge_is_off_unless_set() -> None:
    off = parse_settings(prod(github=GITHUB, githubAppPrivateKeySecretArn=GITHUB_KEY_ARN))
    on = parse_settings(
        prod(
            github=GITHUB | {"autoMerge": True, "mergeMethod": "squash"},
            githubAppPrivateKeySecretArn=GITHUB_KEY_ARN,
        )
    )
    assert off.github is not None
    assert on.github is not None
    assert (off.github.autoMerge, off.github.mergeMethod) == (False, None)
    assert (on.github.autoMerge, on.github.mergeMethod) == (True, "squash")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("repository", "access"),
        ("accessFile", "../access.yaml"),
        ("appId", 0),
        ("appId", True),
        ("mergeMethod", "fast-forward"),
        ("autoMerge", "sometimes"),
    ],
)
def test_bad_github_settings_are_refused(key: str, value: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_settings(
            prod(github=GITHUB | {key: value}, githubAppPrivateKeySecretArn=GITHUB_KEY_ARN)
        )


def test_a_customer_managed_key_must_be_a_kms_key_arn() -> None:
    assert "is not a KMS key ARN" in refusal(prod(secretsKmsKeyArn="alias/dbaccess"))


# --- the CLI-only pilot: optional services, all or none --------------------------------------

SERVICES = ("privatebinUrl", "slackBotTokenSecretArn", "network", "bot", "slackAppTokenSecretArn")


def test_a_stack_without_any_service_setting_is_a_valid_pilot() -> None:
    settings = parse_settings(prod(**dict.fromkeys(SERVICES)))
    assert not settings.issuer_enabled
    assert optional_services(settings) == [
        "credential issuer + grant reaper (Slack DMs with PrivateBin links): off (turned on by "
        "dbaccess:privatebinUrl, dbaccess:slackBotTokenSecretArn, dbaccess:network)",
        "Slack bot: off (turned on by dbaccess:bot, dbaccess:slackAppTokenSecretArn; needs the "
        "credential issuer)",
        "Request access (GitHub App): off (turned on by dbaccess:github, "
        "dbaccess:githubAppPrivateKeySecretArn; needs the Slack bot)",
    ]


def test_the_prod_stack_says_which_services_are_on() -> None:
    lines = optional_services(parse_settings(prod()))
    assert [line.split(":")[1].split()[0] for line in lines] == ["on", "on", "off"]


def test_privatebin_without_network_is_a_clear_error_naming_what_is_missing() -> None:
    pilot = dict.fromkeys(SERVICES)
    shown = refusal(prod(**pilot | {"privatebinUrl": "https://paste.internal.example.com/"}))
    assert (
        "the credential issuer is half set up: dbaccess:privatebinUrl given, "
        "dbaccess:slackBotTokenSecretArn, dbaccess:network missing" in shown
    )


def test_a_bot_without_the_issuer_is_a_clear_error() -> None:
    shown = refusal(prod(privatebinUrl=None, slackBotTokenSecretArn=None, network=None))
    assert "the Slack bot is half set up" in shown
    assert "dbaccess:privatebinUrl, dbaccess:slackBotTokenSecretArn, dbaccess:network" in shown
