"""The helpers every service's settings read their variables with: one wording for "not set"
and "not a whole number", whichever service says it."""

from __future__ import annotations

import re

import pytest

from dbaccess.issuer.settings import MAX_ATTEMPTS_VAR
from dbaccess.issuer.settings import load_settings as load_issuer_settings
from dbaccess.service_env import SettingsError, optional, required, whole_number

ISSUER_ENV = {
    "DBACCESS_REQUEST_TABLE": "dbaccess-requests",
    "DBACCESS_CATALOG_URL": "s3://bucket/catalog.json",
    "DBACCESS_PRIVATEBIN_URL": "https://paste.internal/",
    "DBACCESS_SLACK_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
}


def test_required_and_optional_strip_and_name_the_variable() -> None:
    assert required({"A": " x \n"}, "A") == "x"
    assert optional({"A": "  "}, "A", "fallback") == "fallback"
    with pytest.raises(SettingsError, match=r"^A is not set \(needed with B\)$"):
        required({"A": " "}, "A", "needed with B")


@pytest.mark.parametrize("text", ["http", "-1", "+3", "3_0", "²", "٣", "0", "70000"])
def test_a_whole_number_is_ascii_digits_within_its_bounds(text: str) -> None:
    # "²" passes str.isdigit and then fails int(): a ValueError, not a named SettingsError.
    said = re.escape(f"PORT={text!r} is not a whole number from 1 to 65535")
    with pytest.raises(SettingsError, match=f"^{said}$"):
        whole_number({"PORT": text}, "PORT", 1, 65535, default=8080)


def test_a_whole_number_defaults_only_when_unset() -> None:
    assert whole_number({}, "PORT", 1, 65535, default=8080) == 8080
    assert whole_number({"PORT": " 9000 "}, "PORT", 1, 65535, default=8080) == 9000
    with pytest.raises(SettingsError, match=r"^ID is not set$"):
        whole_number({}, "ID", 1)


def test_the_issuers_attempts_are_read_like_every_other_number() -> None:
    assert load_issuer_settings(ISSUER_ENV).max_attempts == 3
    assert load_issuer_settings(ISSUER_ENV | {MAX_ATTEMPTS_VAR: "5"}).max_attempts == 5
    for text in ("0", "three"):
        with pytest.raises(SettingsError, match=f"{MAX_ATTEMPTS_VAR}=.* of at least 1"):
            load_issuer_settings(ISSUER_ENV | {MAX_ATTEMPTS_VAR: text})
