"""Who may become a person: ConsoleMe when it is used, otherwise the extra principals only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from dbaccess.access import InvalidInput
from dbaccess.iam.people import trust_policy
from dbaccess.stack.settings import parse_settings, settings_warnings
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
    for service in ("bot", "slackAppTokenSecretArn"):
        raw.pop(service)
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


# --- extraTrustedPrincipals: IAM Identity Center roles only, unless the stack says otherwise ---

ORDINARY = "arn:aws:iam::123456789012:role/DataEngineers"
SSO_IN_REGION = (
    "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_DatabaseUsers_3f2a1b0c9d8e7f6a"
)


@pytest.mark.parametrize("arn", [SSO, SSO_IN_REGION])
def test_identity_center_roles_are_accepted(arn: str) -> None:
    settings = parse_settings(_prod_settings() | {"extraTrustedPrincipals": [arn]})
    assert settings.extraTrustedPrincipals == (arn,)
    assert settings_warnings(settings) == []


@pytest.mark.parametrize(
    "arn",
    [
        ORDINARY,
        # Look-alikes: the reserved path must be the path, the role AWS's.
        "arn:aws:iam::123456789012:role/my/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_1",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/NotSSO_X_1",
        "arn:aws:iam::123456789012:user/alice",
    ],
)
def test_any_other_principal_is_refused_with_the_reason_and_the_fix(arn: str) -> None:
    # Through a role whose session name its caller chooses, A names the session after B and
    # passes B's person-role trust (session name = B's email, SourceIdentity = B's email).
    with pytest.raises(InvalidInput) as caught:
        parse_settings(_prod_settings() | {"extraTrustedPrincipals": [SSO, arn]})
    rendered = caught.value.render()
    assert "is not an IAM Identity Center role" in rendered
    assert "one person could become another's role" in rendered
    assert "dbaccess:allowAnyTrustedPrincipal: true" in rendered


def test_the_documented_flag_allows_another_role_and_previews_warn() -> None:
    raw = _prod_settings() | {
        "extraTrustedPrincipals": [ORDINARY],
        "allowAnyTrustedPrincipal": True,
    }
    settings = parse_settings(raw)
    assert settings.extraTrustedPrincipals == (ORDINARY,)
    (warning,) = settings_warnings(settings)
    assert ORDINARY in warning
    assert "chooses the session name" in warning
