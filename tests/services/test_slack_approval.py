"""Approve in Slack, recorded as the owner's own GitHub review. The real bot over Socket Mode to
the fake Slack, the fake GitHub driven by the real PyGithub (device flow, user tokens, reviews),
moto's DynamoDB and KMS.

GIVEN owners of `orders` who linked their GitHub accounts (hugo-henley, priya-raman; tomas-n
owns it too), WHEN a request pull request opens and an owner clicks, THEN what GitHub holds
(a review under that owner's name, which `dbaccess approvals` counts), what Slack shows, and
what DynamoDB keeps (never a token in plain text).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from dbaccess.bot import ids
from dbaccess.bot.access_requests.flow import request_flow_for
from dbaccess.bot.access_requests.github_settings import GitHubSettings
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.bot.app import Bot, build_services, web_client
from dbaccess.bot.slack_approval.flow import approval_flow_for
from dbaccess.bot.slack_approval.links import KEY_PREFIX as LINK_PREFIX
from dbaccess.bot.slack_approval.links import LinkStore
from dbaccess.bot.slack_approval.rules import SlackApprovalPolicy
from dbaccess.bot.slack_approval.settings import SlackApprovalSettings
from dbaccess.cli import app as cli
from dbaccess.clients.github import GitHubAppCredentials
from tests.fakes.github import FakeGitHub
from tests.fakes.slack import block_actions_payload, dm_channel_id, view_submission_payload
from tests.services.bot_world import HELP_CHANNEL, TIMEOUT, settings_for, wait_until, world
from tests.services.issuer_world import REGION, ROOT, SLACK_USERS, TABLE, World

__all__ = ["world"]

REPO = "example-org/access"
ACCESS_YAML = (
    (ROOT / "access.yaml")
    .read_text()
    .replace(
        'owners: ["@example-org/orders-dba", "@hugo-henley"]',
        'owners: ["@example-org/orders-dba", "@hugo-henley", "@priya-raman", "@tomas-n"]',
    )
    .replace(
        "  priya.raman@example.com:\n", "  priya.raman@example.com:\n    github: priya-raman\n"
    )
    .replace("  tomas.novak@example.com:\n", "  tomas.novak@example.com:\n    github: tomas-n\n")
    .replace("  ana.silva@example.com:\n", "  ana.silva@example.com:\n    github: ana-s\n")
)
HUGO, PRIYA, TOMAS = (
    SLACK_USERS[f"{n}@example.com"] for n in ("hugo.henley", "priya.raman", "tomas.novak")
)
ANA = "U0ANA"
OWNERS_CHANNEL = "C0ORDERSDBA"
CODE = re.compile(r"\*([0-9A-F]{4}-[0-9A-F]{4})\*")


@dataclass
class ApprovalWorld:
    world: World
    github: FakeGitHub
    bot: Bot

    @property
    def slack(self) -> Any:
        return self.world.slack

    def dms(self, user_id: str) -> list[str]:
        dm = dm_channel_id(user_id)
        return [
            str(c["text"])
            for c in self.slack.calls("chat.postMessage", ok_only=True)
            if c["channel"] == dm
        ]

    def wait_for_dm(self, user_id: str, starts: str) -> str:
        found = wait_until(
            lambda: [d for d in self.dms(user_id) if d.startswith(starts)],
            what=f"a DM to {user_id} starting {starts!r}",
        )
        return str(found[-1])

    def link(self, user_id: str, login: str) -> str:
        """Click Home's Link GitHub account, authorize the code on GitHub as `login`; the
        bot's last word."""
        told = len(self.dms(user_id))
        self.click(user_id, ids.LINK_GITHUB, "link", in_dm=False)
        text = self.wait_for_dm(user_id, "To link your GitHub account")
        match = CODE.search(text)
        assert match, text
        self.github.authorize_device(match[1], login)
        answers = wait_until(
            lambda: [d for d in self.dms(user_id)[told:] if "inked" in d and "To link" not in d],
            what="the link's outcome",
        )
        return str(answers[0])

    def open_request(self, email: str, user_id: str, access: str = "read-only") -> int:
        flow = self.bot.services.request_flow
        assert flow is not None
        today = dt.datetime.now(dt.UTC).date()
        grant = RequestedGrant(email, "orders", access, today + dt.timedelta(days=7), "INC-9")
        told = flow.submit(grant, user_id, today)
        assert "open for review" in told, told
        return self.github.pulls(REPO)[-1].number

    def request_message(self, user_id: str) -> dict[str, Any]:
        """The newest request message in the person's DM."""
        messages = [
            m for m in self.slack.messages(dm_channel_id(user_id)) if "Access request" in m["text"]
        ]
        assert messages, f"no request message to {user_id}"
        return dict(messages[-1])

    @staticmethod
    def buttons(message: dict[str, Any]) -> dict[str, str]:
        """action_id -> value of the message's decision buttons ({} when it has none)."""
        return {
            e["action_id"]: e["value"]
            for b in message.get("blocks", [])
            if b.get("block_id") == ids.DECISION_BLOCK
            for e in b["elements"]
        }

    def click(
        self, user_id: str, action_id: str, value: str, *, in_dm: bool = True, ts: str = ""
    ) -> dict[str, Any]:
        payload = block_actions_payload(
            user_id,
            action_id,
            value,
            channel_id=dm_channel_id(user_id) if in_dm else None,
            message_ts=ts or None,
        )
        assert self.slack.send_interactive(payload).ack(TIMEOUT)
        return payload

    def approve(self, user_id: str, value: str | None = None) -> str:
        """Click Approve on the person's newest request message; what the bot answered."""
        message = self.request_message(user_id) if value is None else {}
        told = len(self.dms(user_id))
        value = value or self.buttons(message)[ids.APPROVE_REQUEST]
        self.click(user_id, ids.APPROVE_REQUEST, value, ts=message.get("ts", ""))
        answers = wait_until(
            lambda: [d for d in self.dms(user_id)[told:] if not d.startswith("Access request")],
            what="the answer to a click",
        )
        return str(answers[0])

    def items(self) -> list[dict[str, Any]]:
        return list(self.world.dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"])

    def approvals_check(self, number: int) -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(
            cli,
            ["approvals", "--pr", str(number), "--format", "json"],
            env={
                "GITHUB_TOKEN": self.github.installation_token(),
                "GITHUB_REPOSITORY": REPO,
                "DBACCESS_GITHUB_API_URL": self.github.url,
            },
        )
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def aw(world: World, caplog: pytest.LogCaptureFixture) -> Iterator[ApprovalWorld]:
    caplog.set_level(logging.DEBUG)
    world.slack.add_user(ANA, "ana.silva@example.com")
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    with FakeGitHub(device_interval=0) as github:
        github.add_repo(
            REPO,
            {"access.yaml": ACCESS_YAML},
            collaborators=("hugo-henley", "priya-raman", "tomas-n"),
            teams=("orders-dba",),
        )
        github_settings = GitHubSettings(
            app=GitHubAppCredentials(
                github.app_id, github.installation_id, github.private_key_pem, github.url
            ),
            repository=REPO,
        )
        approval = SlackApprovalSettings(
            client_id=github.client_id,
            client_secret=github.client_secret,
            token_key_arn=key_arn,
            web_url=github.url,
            policy=SlackApprovalPolicy(),
            owners_channels={"orders": OWNERS_CHANNEL},
        )
        settings = settings_for(world, github=github_settings, slack_approval=approval)
        client = web_client(settings)
        services = build_services(settings, client)
        assert services.approval is not None  # the bot wires it; unpaced for the fake below
        services.approval.stop()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        services.request_flow = request_flow_for(
            github_settings, dynamodb, TABLE, HELP_CHANNEL, paced=False
        )
        services.approval = approval_flow_for(
            approval,
            github_settings,
            TABLE,
            client,
            services.directory,
            dynamodb=dynamodb,
            kms=boto3.client("kms", region_name=REGION),
            paced=False,
        )
        services.request_flow.on_opened = services.approval.announce
        bot = Bot(settings, services)
        bot.start()
        try:
            world.slack.wait_connected(TIMEOUT)
            yield ApprovalWorld(world, github, bot)
        finally:
            bot.stop()


@pytest.fixture
def linked(aw: ApprovalWorld) -> ApprovalWorld:
    assert aw.link(HUGO, "hugo-henley").startswith("Linked")
    assert aw.link(PRIYA, "priya-raman").startswith("Linked")
    return aw


def test_a_linked_owner_approves_as_themself_and_the_owner_check_counts_it(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    head = aw.github.head_sha(REPO, number)
    message = aw.request_message(HUGO)
    assert "ana.silva@example.com asks for read-only on orders until" in message["text"]
    shown = json.dumps(message["blocks"])
    assert "INC-9" in shown  # why
    assert "gained" in shown  # the access diff
    assert f"/pull/{number}" in shown
    assert aw.buttons(message)[ids.APPROVE_REQUEST] == f"{number}:{head}"
    assert aw.buttons(aw.request_message(PRIYA))  # every linked owner is asked
    assert aw.buttons(aw.slack.messages(OWNERS_CHANNEL)[0])  # and the database's channel
    assert code_of(aw.approvals_check(number)) == 1  # nobody approved yet

    told = aw.approve(HUGO)

    assert told.startswith(f"Approved #{number} as @hugo-henley")
    [review] = aw.github.reviews(REPO, number)
    assert (review.login, review.state, review.commit_id) == ("hugo-henley", "APPROVED", head)
    exit_code, report = aw.approvals_check(number)
    assert exit_code == 0
    assert report["databases"][0]["approved_by"] == ["hugo-henley"]
    # Both owners' messages and the owners channel's now say who decided, without buttons.
    [in_channel] = aw.slack.messages(OWNERS_CHANNEL)
    for updated in (aw.request_message(HUGO), aw.request_message(PRIYA), in_channel):
        assert not aw.buttons(updated)
        assert "Approved* by @hugo-henley" in json.dumps(updated["blocks"])
    # A late click by the other owner: told who decided, no second review.
    assert aw.approve(PRIYA, f"{number}:{head}") == "Already approved by @hugo-henley."
    assert len(aw.github.reviews(REPO, number)) == 1


def code_of(check: tuple[int, dict[str, Any]]) -> int:
    return check[0]


def test_the_beneficiary_gets_no_buttons_and_a_forged_click_is_refused(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    assert aw.link(TOMAS, "tomas-n").startswith("Linked")  # an owner, asking for himself
    number = aw.open_request("tomas.novak@example.com", TOMAS)
    head = aw.github.head_sha(REPO, number)

    assert not [m for m in aw.slack.messages(dm_channel_id(TOMAS)) if "Access request" in m["text"]]
    assert aw.buttons(aw.request_message(HUGO))
    told = aw.approve(TOMAS, f"{number}:{head}")

    assert told == "You cannot decide your own request: another owner must review it."
    assert aw.github.reviews(REPO, number) == []


def test_a_login_other_than_the_persons_github_is_refused_and_nothing_stored(
    aw: ApprovalWorld,
) -> None:
    told = aw.link(PRIYA, "someone-else")

    assert told.startswith("Not linked: you authorized as @someone-else, but access.yaml says")
    assert "@priya-raman" in told
    assert not [i for i in aw.items() if i["request_id"]["S"].startswith(LINK_PREFIX + "U")]


def test_a_new_commit_is_not_approved_and_a_fresh_request_is_sent(linked: ApprovalWorld) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    old = aw.request_message(HUGO)
    pull = aw.github.pulls(REPO)[-1]
    aw.github.commit_file(REPO, pull.head, "access.yaml", ACCESS_YAML + "# pushed later\n")
    new_head = aw.github.head_sha(REPO, number)

    told = aw.approve(HUGO)

    assert told.startswith("The pull request changed since you were asked")
    assert aw.github.reviews(REPO, number) == []
    fresh = aw.request_message(HUGO)
    assert fresh["ts"] != old["ts"]
    assert aw.buttons(fresh)[ids.APPROVE_REQUEST] == f"{number}:{new_head}"
    stale = next(m for m in aw.slack.messages(dm_channel_id(HUGO)) if m["ts"] == old["ts"])
    assert "a fresh request was sent" in json.dumps(stale["blocks"])

    assert aw.approve(HUGO).startswith(f"Approved #{number}")
    [review] = aw.github.reviews(REPO, number)
    assert review.commit_id == new_head


def test_an_expired_access_token_is_refreshed_and_the_refresh_token_rotated(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    spent = set(aw.github.user_tokens_issued)
    aw.github.expire_user_tokens("hugo-henley")  # 8 hours later

    assert aw.approve(HUGO).startswith(f"Approved #{number} as @hugo-henley")
    assert [r.login for r in aw.github.reviews(REPO, number)] == ["hugo-henley"]
    assert len(aw.github.user_tokens_issued) == len(spent) + 2  # a new pair


def test_a_revoked_authorization_asks_to_link_again_and_deletes_the_link(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    aw.github.revoke_user("hugo-henley")

    told = aw.approve(HUGO)

    assert "Link your GitHub account again" in told
    assert aw.github.reviews(REPO, number) == []
    assert not [i for i in aw.items() if i["request_id"]["S"] == f"{LINK_PREFIX}{HUGO}"]
    # Linked again, the same button works: the request was left open.
    assert aw.link(HUGO, "hugo-henley").startswith("Linked")
    assert aw.approve(HUGO).startswith(f"Approved #{number}")


def test_two_owners_clicking_at_once_make_one_review(linked: ApprovalWorld) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    value = aw.buttons(aw.request_message(HUGO))[ids.APPROVE_REQUEST]
    answers: dict[str, str] = {}

    def click(user_id: str) -> None:
        answers[user_id] = aw.approve(user_id, value)

    threads = [threading.Thread(target=click, args=(u,)) for u in (HUGO, PRIYA)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)

    assert len(aw.github.reviews(REPO, number)) == 1
    winner = aw.github.reviews(REPO, number)[0].login
    assert sorted(a.split(" ")[0] for a in answers.values()) in (
        ["Already", "Approved"],
        ["Another", "Approved"],
    ), answers
    assert winner in ("hugo-henley", "priya-raman")


def test_github_failing_the_review_leaves_the_request_open_to_a_retry(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    aw.github.fail("create_review", 502, times=1)

    told = aw.approve(HUGO)

    assert told == "GitHub did not take the review: nothing was decided, try again in a minute."
    assert aw.github.reviews(REPO, number) == []
    assert aw.buttons(aw.request_message(PRIYA))  # still open for everyone
    assert aw.approve(HUGO).startswith(f"Approved #{number}")
    assert len(aw.github.reviews(REPO, number)) == 1


def test_decline_asks_why_requests_changes_as_the_owner_and_closes(linked: ApprovalWorld) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    value = aw.buttons(aw.request_message(PRIYA))[ids.DECLINE_REQUEST]

    aw.click(PRIYA, ids.DECLINE_REQUEST, value)
    (opened,) = aw.slack.wait_for_call("views.open", 1, TIMEOUT)
    view = opened["view"]
    assert view["callback_id"] == ids.DECLINE_CALLBACK
    values = {
        ids.DECLINE_REASON_BLOCK: {
            ids.DECLINE_REASON_ACTION: {"type": "plain_text_input", "value": "Use the replica"}
        }
    }
    assert aw.slack.send_interactive(view_submission_payload(PRIYA, view, values)).ack(TIMEOUT)

    told = aw.wait_for_dm(PRIYA, "Declined")
    assert told.startswith(f"Declined #{number} as @priya-raman")
    [review] = aw.github.reviews(REPO, number)
    assert (review.login, review.state) == ("priya-raman", "CHANGES_REQUESTED")
    assert aw.github.pulls(REPO)[-1].state == "closed"
    assert "Declined* by @priya-raman" in json.dumps(aw.request_message(HUGO)["blocks"])


def test_read_write_is_decided_on_github_only_by_default(linked: ApprovalWorld) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA, access="read-write")
    head = aw.github.head_sha(REPO, number)
    message = aw.request_message(HUGO)

    assert not aw.buttons(message)
    assert f"/pull/{number}" in json.dumps(message["blocks"])
    told = aw.approve(HUGO, f"{number}:{head}")  # a forged click
    assert told == "This request may not be decided from Slack: review it on GitHub."
    assert aw.github.reviews(REPO, number) == []


def test_tokens_are_never_logged_or_stored_in_plain_text_and_unlink_deletes_them(
    linked: ApprovalWorld, caplog: pytest.LogCaptureFixture
) -> None:
    aw = linked
    aw.open_request("ana.silva@example.com", ANA)
    aw.github.expire_user_tokens("hugo-henley")  # a refresh too
    assert aw.approve(HUGO).startswith("Approved")
    tokens = aw.github.user_tokens_issued
    assert len(tokens) >= 6

    stored = json.dumps(aw.items(), default=str)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for token in tokens:
        assert token not in stored
        assert token not in logged
    [item] = [i for i in aw.items() if i["request_id"]["S"] == f"{LINK_PREFIX}{HUGO}"]
    assert item["login"] == {"S": "hugo-henley"}
    assert set(item["tokens"]) == {"B"}  # KMS ciphertext

    aw.click(HUGO, ids.UNLINK_GITHUB, "unlink", in_dm=False)
    aw.wait_for_dm(HUGO, "Unlinked")
    assert not [i for i in aw.items() if i["request_id"]["S"] == f"{LINK_PREFIX}{HUGO}"]


def test_cancelling_on_github_links_nothing(aw: ApprovalWorld) -> None:
    aw.click(PRIYA, ids.LINK_GITHUB, "link", in_dm=False)
    match = CODE.search(aw.wait_for_dm(PRIYA, "To link your GitHub account"))
    assert match
    aw.github.deny_device(match[1])

    assert aw.wait_for_dm(PRIYA, "Not linked") == (
        "Not linked: The authorization was cancelled on GitHub."
    )
    assert aw.bot.services.approval is not None
    assert aw.bot.services.approval.linked_login(PRIYA) is None


def test_a_token_ciphertext_moved_to_another_persons_item_does_not_decrypt(
    linked: ApprovalWorld,
) -> None:
    dynamodb = linked.world.dynamodb
    key = {"request_id": {"S": f"{LINK_PREFIX}{HUGO}"}}
    hugos = dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    dynamodb.put_item(TableName=TABLE, Item={**hugos, "request_id": {"S": f"{LINK_PREFIX}{PRIYA}"}})
    approval = linked.bot.services.settings.slack_approval
    assert approval is not None
    kms = boto3.client("kms", region_name=REGION)
    store = LinkStore(dynamodb, kms, TABLE, approval.token_key_arn)

    assert store.get(HUGO) is not None
    with pytest.raises(ClientError, match="InvalidCiphertext"):
        store.get(PRIYA)  # the encryption context names Hugo's Slack user


def test_github_dropping_the_review_call_leaves_no_claim_and_no_decision(
    linked: ApprovalWorld,
) -> None:
    aw = linked
    number = aw.open_request("ana.silva@example.com", ANA)
    aw.github.go_down_at("create_review")  # the connection drops: a timeout's outcome

    told = aw.approve(HUGO)

    assert told == "GitHub did not take the review: nothing was decided, try again in a minute."
    key = {"request_id": {"S": f"access-request#decision#{number}"}}
    item = aw.world.dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert "claim" not in item  # the next click may try again at once
    assert "decision" not in item
