"""The bot's GitHub environment variables: all or none, each checked, the key read from Secrets
Manager (moto) and never shown."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from dbaccess.bot.access_requests import github_settings as env
from dbaccess.bot.auto_merge import AutoMerge
from dbaccess.clients.secrets_manager import SecretReader, secret_reader
from dbaccess.service_env import SettingsError

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
FULL = {
    env.APP_ID: "123456",
    env.INSTALLATION_ID: "7890123",
    env.REPOSITORY: "example-org/access",
}


@pytest.fixture
def stored() -> Iterator[tuple[dict[str, str], SecretReader]]:
    """The key in Secrets Manager, and a secret that is not a key: "key"/"token" -> ARN."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arns = {
            "key": client.create_secret(Name="dbaccess/github-key", SecretString=KEY)["ARN"],
            "token": client.create_secret(Name="dbaccess/other", SecretString="ghp_x")["ARN"],
        }
        yield arns, secret_reader(client)


def test_without_an_app_id_requests_are_off(stored: tuple[dict[str, str], SecretReader]) -> None:
    assert env.load_github_settings({}, stored[1]) is None


def test_a_full_set_is_read_with_defaults(stored: tuple[dict[str, str], SecretReader]) -> None:
    arns, read = stored
    settings = env.load_github_settings(FULL | {env.PRIVATE_KEY_SECRET_ARN: arns["key"]}, read)
    assert settings is not None
    assert settings.app.private_key == KEY.strip()
    assert (settings.app.app_id, settings.app.installation_id) == (123456, 7890123)
    assert (settings.repository, settings.access_file) == ("example-org/access", "access.yaml")
    assert settings.poll_seconds == env.DEFAULT_POLL_SECONDS
    assert settings.auto_merge is None  # off unless set
    assert "PRIVATE KEY" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("off", None), ("repository", AutoMerge()), ("squash", AutoMerge("squash"))],
)
def test_auto_merge_is_off_by_default_and_names_its_method(
    value: str, expected: AutoMerge | None, stored: tuple[dict[str, str], SecretReader]
) -> None:
    arns, read = stored
    full = FULL | {env.PRIVATE_KEY_SECRET_ARN: arns["key"], env.AUTO_MERGE: value}
    settings = env.load_github_settings(full, read)
    assert settings is not None
    assert settings.auto_merge == expected


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (env.INSTALLATION_ID, "", "is not set"),
        (env.PRIVATE_KEY_SECRET_ARN, "", "is not set"),
        (env.PRIVATE_KEY_SECRET_ARN, "token", "not a PEM private key"),
        (env.PRIVATE_KEY_SECRET_ARN, "ghp_a_value", "not a Secrets Manager secret ARN"),
        (env.APP_ID, "12x", "not a whole number"),
        (env.REPOSITORY, "access", "not owner/name"),
        (env.ACCESS_FILE_PATH, "../etc/passwd", "not a path"),
        (env.API_URL, "ftp://github", "not an http(s) URL"),
        (env.POLL_SECONDS, "1", "not a whole number from 5"),
        (env.AUTO_MERGE, "yes", "not one of off, repository, merge, squash, rebase"),
    ],
)
def test_a_bad_variable_is_named(
    name: str, value: str, words: str, stored: tuple[dict[str, str], SecretReader]
) -> None:
    arns, read = stored
    full = FULL | {env.PRIVATE_KEY_SECRET_ARN: arns["key"]}
    with pytest.raises(SettingsError) as raised:
        env.load_github_settings(full | {name: arns.get(value, value)}, read)
    assert name in str(raised.value)
    assert words in str(raised.value)
    assert "MIIE" not in str(raised.value)
