"""Who may decide which request from Slack, as pure rules: the stack's policy, the beneficiary
who never decides their own request, the owner check; the button values a click must carry;
and the settings that switch the feature on."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbaccess.access import InvalidInput
from dbaccess.bot import ids
from dbaccess.bot.slack_approval import blocks
from dbaccess.bot.slack_approval.decisions import Announced
from dbaccess.bot.slack_approval.rules import (
    Refusal,
    RequestFacts,
    SlackApprovalPolicy,
    offers_buttons,
    refusal,
)
from dbaccess.bot.slack_approval.settings import load_slack_approval_settings
from dbaccess.service_env import SettingsError
from dbaccess.stack.settings import parse_settings
from tests.unit.stack.test_deploy_settings import GITHUB, GITHUB_KEY_ARN, SECRETS, prod

LEVELS = ("read-only", "read-write")
DATABASES = ("orders", "inventory", "analytics")
LOGINS = ("olga", "ivan", "ana-lee", "Olga")
REQUEST = RequestFacts(
    database="orders",
    access="read-only",
    beneficiary_email="ana@example.com",
    beneficiary_slack_id="U0ANA",
    beneficiary_login="ana-lee",
    owners=("@olga", "@example-org/orders-dba", "@ana-lee"),
)


def no_team(org: str, slug: str, login: str) -> bool:
    return False


policies = st.builds(
    SlackApprovalPolicy,
    access_levels=st.frozensets(st.sampled_from(LEVELS)),
    databases=st.none() | st.frozensets(st.sampled_from(DATABASES)),
)
requests = st.builds(
    RequestFacts,
    database=st.sampled_from(DATABASES),
    access=st.sampled_from(LEVELS),
    beneficiary_email=st.sampled_from(("ana@example.com", "olga@example.com")),
    beneficiary_slack_id=st.sampled_from(("U0ANA", "U0OLGA")),
    beneficiary_login=st.none() | st.sampled_from(LOGINS),
    owners=st.lists(st.sampled_from(("@olga", "@ivan", "@ana-lee", "@org/dba"))).map(tuple),
)


@given(policies, requests, st.sampled_from(("U0ANA", "U0OLGA", "U0IVAN")), st.sampled_from(LOGINS))
def test_nobody_decides_what_the_policy_keeps_on_github_or_their_own_request(
    policy: SlackApprovalPolicy, request: RequestFacts, user: str, login: str
) -> None:
    why = refusal(policy, request, user, None, login, no_team)
    if not policy.allows(request.database, request.access):
        assert why is Refusal.NOT_FROM_SLACK
    elif user == request.beneficiary_slack_id or (
        request.beneficiary_login and login.lower() == request.beneficiary_login.lower()
    ):
        assert why is Refusal.BENEFICIARY
    elif f"@{login.lower()}" not in [o.lower() for o in request.owners]:
        assert why is Refusal.NOT_AN_OWNER
    else:
        assert why is None
    # Whoever may decide was offered the buttons.
    if why is None:
        assert offers_buttons(policy, request, user, None)


@given(policies, st.sampled_from(DATABASES), st.sampled_from(LEVELS))
def test_the_policy_allows_a_listed_level_on_a_listed_database(
    policy: SlackApprovalPolicy, database: str, access: str
) -> None:
    listed = policy.databases is None or database in policy.databases
    assert policy.allows(database, access) == (access in policy.access_levels and listed)


def test_by_default_read_only_on_any_database_and_never_read_write() -> None:
    policy = SlackApprovalPolicy()
    assert policy.allows("orders", "read-only")
    assert not policy.allows("orders", "read-write")


def test_a_team_owner_decides_through_membership_and_an_unlinked_owner_is_told_to_link() -> None:
    def dba(org: str, slug: str, login: str) -> bool:
        return (org, slug, login) == ("example-org", "orders-dba", "tariq")

    policy = SlackApprovalPolicy()
    assert refusal(policy, REQUEST, "U0TARIQ", "tariq@example.com", "tariq", dba) is None
    assert refusal(policy, REQUEST, "U0ZED", "zed@example.com", "zed", dba) is Refusal.NOT_AN_OWNER
    assert refusal(policy, REQUEST, "U0OLGA", "olga@example.com", None, dba) is Refusal.NOT_LINKED
    # The beneficiary is recognised by email too, whatever account they linked.
    assert (
        refusal(policy, REQUEST, "U0OTHER", "ANA@example.com", "olga", dba) is Refusal.BENEFICIARY
    )


@given(st.integers(1, 10**9), st.text("0123456789abcdef", min_size=40, max_size=40))
def test_a_decision_value_round_trips(number: int, sha: str) -> None:
    target = ids.DecisionTarget(number, sha)
    assert ids.parse_decision(target.value) == target


@pytest.mark.parametrize(
    "value", [None, "", "1", "0:" + "a" * 40, "1:" + "A" * 40, "1:" + "a" * 39, "1:x;2:y", "-1:a"]
)
def test_a_forged_decision_value_is_malformed(value: str | None) -> None:
    with pytest.raises(ids.MalformedAction):
        ids.parse_decision(value)


def test_a_persons_text_in_the_request_message_is_data() -> None:
    request = Announced(
        number=7,
        url="https://github.com/example-org/access/pull/7",
        head_sha="a" * 40,
        facts=REQUEST,
        until=None,
        reason="<!channel> see <https://evil.example|docs>",
        diff="",
    )
    shown = str(blocks.request_blocks(request, buttons=True))
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;" in shown
    assert "with no end date" in shown


CLIENT_SECRET_ARN = f"{SECRETS}github-client-secret-Ab12Cd"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"


def env(**changes: str) -> dict[str, str]:
    return {
        "DBACCESS_GITHUB_CLIENT_ID": "Iv23liAbCdEf",
        "DBACCESS_GITHUB_CLIENT_SECRET_SECRET_ARN": CLIENT_SECRET_ARN,
        "DBACCESS_TOKEN_KEY_ARN": KEY,
        **changes,
    }


def read(arn: str) -> str:
    assert arn == CLIENT_SECRET_ARN
    return "0123456789abcdef"


def test_the_bot_reads_the_feature_from_its_environment() -> None:
    settings = load_slack_approval_settings(
        env(
            DBACCESS_SLACK_APPROVAL_ACCESS="read-only,read-write",
            DBACCESS_SLACK_APPROVAL_DATABASES="orders",
            DBACCESS_OWNERS_CHANNELS="orders=#orders-dba,inventory=C0123ABCD9",
        ),
        read,
    )
    assert settings is not None
    assert settings.policy == SlackApprovalPolicy(
        frozenset(("read-only", "read-write")), frozenset({"orders"})
    )
    assert settings.owners_channels == {"orders": "#orders-dba", "inventory": "C0123ABCD9"}
    assert "0123456789abcdef" not in repr(settings)
    assert load_slack_approval_settings({}, read) is None  # off


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DBACCESS_TOKEN_KEY_ARN", "alias/dbaccess"),
        ("DBACCESS_SLACK_APPROVAL_ACCESS", "admin"),
        ("DBACCESS_OWNERS_CHANNELS", "orders"),
        ("DBACCESS_GITHUB_WEB_URL", "http://github.example.com"),
    ],
)
def test_a_bad_variable_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_slack_approval_settings(env(**{name: value}), read)


APPROVAL: dict[str, Any] = {
    "clientId": "Iv23liAbCdEf",
    "clientSecretSecretArn": CLIENT_SECRET_ARN,
}


def test_the_stack_setting_defaults_to_read_only_and_its_secret_is_a_service_secret() -> None:
    settings = parse_settings(
        prod(github=GITHUB, githubAppPrivateKeySecretArn=GITHUB_KEY_ARN, slackApproval=APPROVAL)
    )
    assert settings.slackApproval is not None
    assert settings.slackApproval.accessLevels == ("read-only",)
    assert CLIENT_SECRET_ARN in settings.service_secret_arns()


@pytest.mark.parametrize(
    "change",
    [
        {},  # without the GitHub App
        {"accessLevels": ["owner"]},
        {"clientSecretSecretArn": "0123456789abcdef"},  # the secret itself
        {"ownersChannels": {"orders": "not a channel"}},
    ],
)
def test_bad_stack_settings_are_refused(change: dict[str, Any]) -> None:
    github = {"github": GITHUB, "githubAppPrivateKeySecretArn": GITHUB_KEY_ARN} if change else {}
    with pytest.raises(InvalidInput):
        parse_settings(prod(**github, slackApproval=APPROVAL | change))
