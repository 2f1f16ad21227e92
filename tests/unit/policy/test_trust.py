"""Who may become a person: ConsoleMe when it is used, otherwise the extra principals only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from dbaccess.access import InvalidInput
from dbaccess.policies import trust_policy
from dbaccess.settings import parse_settings
from tests.unit.test_project_files import ROOT

EMAIL = "hugo.henley@example.com"
CONSOLEME = "arn:aws:iam::123456789012:role/ConsoleMeInstanceProfile"
SSO = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Db_0a1b"
ISSUER = "arn:aws:iam::123456789012:role/issuer-role-1a2b3c4"


def sids(policy: dict[str, Any]) -> list[str]:
    return [s["Sid"] for s in policy["Statement"]]


def test_consoleme_may_only_open_a_session_named_after_the_person() -> None:
    policy = trust_policy(EMAIL, CONSOLEME, [SSO], ISSUER)
    (consoleme,) = [s for s in policy["Statement"] if s["Sid"] == "ConsoleMe"]
    assert consoleme["Action"] == "sts:AssumeRole"  # no SourceIdentity, no session tags
    assert consoleme["Condition"] == {"StringEquals": {"sts:RoleSessionName": EMAIL}}


def test_without_consoleme_only_the_person_and_the_issuer_are_trusted() -> None:
    policy = trust_policy(EMAIL, None, [SSO], ISSUER)
    assert sids(policy) == ["PersonThroughExtraPrincipal", "CredentialIssuer"]
    assert CONSOLEME not in json.dumps(policy)


def _prod_settings() -> dict[str, Any]:
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    raw = {k.removeprefix("dbaccess:"): v for k, v in stack.items() if k.startswith("dbaccess:")}
    for secret in ("slackAppToken", "slackBotToken", "bot"):
        raw.pop(secret)
    return raw


def test_consoleme_is_optional_when_people_come_through_another_principal() -> None:
    raw = _prod_settings()
    del raw["consolemeRoleArn"]
    settings = parse_settings(raw)
    assert settings.consolemeRoleArn is None
    assert settings.extraTrustedPrincipals


def test_without_consoleme_and_without_extra_principals_nobody_could_get_in() -> None:
    raw = _prod_settings()
    del raw["consolemeRoleArn"]
    del raw["extraTrustedPrincipals"]
    with pytest.raises(InvalidInput) as caught:
        parse_settings(raw)
    rendered = caught.value.render()
    assert "dbaccess:extraTrustedPrincipals" in rendered
    assert "without dbaccess:consolemeRoleArn, name at least one principal" in rendered
