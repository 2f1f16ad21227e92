"""The bot's GitHub environment variables: all or none, each checked, the key never shown."""

from __future__ import annotations

import pytest

from dbaccess.bot import github_settings as env
from dbaccess.lambda_env import SettingsError

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
FULL = {
    env.APP_ID: "123456",
    env.INSTALLATION_ID: "7890123",
    env.PRIVATE_KEY: KEY,
    env.REPOSITORY: "example-org/access",
}


def test_without_an_app_id_requests_are_off() -> None:
    assert env.load_github_settings({}) is None


def test_a_full_set_is_read_with_defaults() -> None:
    settings = env.load_github_settings(FULL)
    assert settings is not None
    assert (settings.app.app_id, settings.app.installation_id) == (123456, 7890123)
    assert (settings.repository, settings.access_file) == ("example-org/access", "access.yaml")
    assert settings.poll_seconds == env.DEFAULT_POLL_SECONDS
    assert "PRIVATE KEY" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        (env.INSTALLATION_ID, "", "is not set"),
        (env.PRIVATE_KEY, "", "is not set"),
        (env.PRIVATE_KEY, "ghp_not_a_key", "not a PEM private key"),
        (env.APP_ID, "12x", "not a whole number"),
        (env.REPOSITORY, "access", "not owner/name"),
        (env.ACCESS_FILE_PATH, "../etc/passwd", "not a path"),
        (env.API_URL, "ftp://github", "not an http(s) URL"),
        (env.POLL_SECONDS, "1", "not a whole number from 5"),
    ],
)
def test_a_bad_variable_is_named(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError) as raised:
        env.load_github_settings(FULL | {name: value})
    assert name in str(raised.value)
    assert words in str(raised.value)
    assert "MIIE" not in str(raised.value)
