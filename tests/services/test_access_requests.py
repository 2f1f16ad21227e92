"""Request access from Slack, decided in a pull request: the fake Slack drives the modal over
Socket Mode (views.open, view_submission), the real bot edits access.yaml and opens the pull
request on the fake GitHub through PyGithub, and DMs the person at each step.

GIVEN the repository's own access.yaml on GitHub (orders is production and names owners),
WHEN a person opens the form and submits it, THEN what they see and what GitHub holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from dbaccess.access import load_access_text
from dbaccess.bot import ids
from dbaccess.bot.access_requests import pull_request
from dbaccess.bot.access_requests.flow import request_flow_for
from dbaccess.bot.access_requests.github_settings import GitHubSettings
from dbaccess.bot.access_requests.poller import DecisionPoller
from dbaccess.bot.app import Bot, build_services, web_client
from dbaccess.clients.github import GitHubAppCredentials
from tests.fakes.github import FakeGitHub
from tests.fakes.slack import block_actions_payload, slash_command_payload, view_submission_payload
from tests.services.bot_world import (
    HELP_CHANNEL,
    TIMEOUT,
    BotWorld,
    bot_world,
    settings_for,
    wait_until,
    world,
)
from tests.services.issuer_world import REGION, ROOT, SLACK_USERS, TABLE, World

__all__ = ["bot_world", "world"]  # the fixtures, imported for pytest

REPO = "example-org/access"
ACCESS_YAML = (ROOT / "access.yaml").read_text()
FATIMA = "fatima.zahra@example.com"  # holds orders read-only, payments-staging read-only
FATIMA_ID = SLACK_USERS[FATIMA]


@dataclass
class RequestWorld:
    world: World
    github: FakeGitHub
    bot: Bot
    poller: DecisionPoller

    @property
    def slack(self) -> Any:
        return self.world.slack

    def open_form(self, user_id: str) -> dict[str, Any]:
        """Click Home's "Request access"; the modal the bot opened."""
        before = len(self.slack.calls("views.open", ok_only=True))
        payload = block_actions_payload(user_id, ids.OPEN_REQUEST_FORM, "open")
        assert self.slack.send_interactive(payload).ack(TIMEOUT)
        opened = self.slack.wait_for_call("views.open", before + 1, TIMEOUT)[before]
        assert opened["trigger_id"] == payload["trigger_id"]
        view = opened["view"]
        return view if isinstance(view, dict) else {}

    def submit(
        self,
        user_id: str,
        database: str,
        access: str,
        until: dt.date | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Fill the form in and press Request; the ack Slack got (errors, or nothing)."""
        view = self.open_form(user_id)
        values: dict[str, dict[str, dict[str, Any]]] = {
            ids.FORM_DATABASE_BLOCK: {
                ids.FORM_DATABASE_ACTION: {
                    "type": "static_select",
                    "selected_option": {"value": database},
                }
            },
            ids.FORM_ACCESS_BLOCK: {
                ids.FORM_ACCESS_ACTION: {
                    "type": "radio_buttons",
                    "selected_option": {"value": access},
                }
            },
            ids.FORM_UNTIL_BLOCK: {
                ids.FORM_UNTIL_ACTION: {
                    "type": "datepicker",
                    "selected_date": until.isoformat() if until else None,
                }
            },
            ids.FORM_REASON_BLOCK: {
                ids.FORM_REASON_ACTION: {"type": "plain_text_input", "value": reason}
            },
        }
        envelope = self.slack.send_interactive(view_submission_payload(user_id, view, values))
        ack: dict[str, Any] = envelope.ack(TIMEOUT)
        return ack

    def dms_to(self, user_id: str) -> list[str]:
        dm = f"D{user_id[1:]}"
        return [
            str(c["text"])
            for c in self.slack.calls("chat.postMessage", ok_only=True)
            if c["channel"] == dm
        ]

    def wait_for_dm(self, user_id: str, count: int) -> str:
        dms = wait_until(
            lambda: (d := self.dms_to(user_id)) and len(d) >= count and d,
            what=f"DM {count} to {user_id}",
        )
        return str(dms[count - 1])

    def main_file(self) -> str:
        text = self.github.file_text(REPO, "main", "access.yaml")
        assert text is not None
        return text


@pytest.fixture
def requests_world(world: World) -> Iterator[RequestWorld]:
    with FakeGitHub() as github:
        github.add_repo(
            REPO,
            {"access.yaml": ACCESS_YAML},
            collaborators=("hugo-henley",),
            teams=("orders-dba",),
        )
        settings = settings_for(
            world,
            github=GitHubSettings(
                app=GitHubAppCredentials(
                    github.app_id, github.installation_id, github.private_key_pem, github.url
                ),
                repository=REPO,
            ),
        )
        client = web_client(settings)
        services = build_services(settings, client)
        assert settings.github is not None
        # Unpaced: the fake has no secondary rate limits (the bot itself is paced).
        services.request_flow = request_flow_for(
            settings.github,
            boto3.client("dynamodb", region_name=REGION),
            TABLE,
            HELP_CHANNEL,
            paced=False,
        )
        bot = Bot(settings, services)
        assert bot.poller is not None  # started with the bot; the tests poll by hand
        bot.start()
        try:
            world.slack.wait_connected(TIMEOUT)
            poller = DecisionPoller(services.request_flow, client, 3600)
            yield RequestWorld(world, github, bot, poller)
        finally:
            bot.stop()


def test_the_form_offers_every_catalog_database_with_its_description(
    requests_world: RequestWorld,
) -> None:
    view = requests_world.open_form(FATIMA_ID)

    assert view["type"] == "modal"
    assert view["callback_id"] == ids.REQUEST_FORM_CALLBACK
    (select,) = [
        b["element"] for b in view["blocks"] if b.get("block_id") == ids.FORM_DATABASE_BLOCK
    ]
    options = {o["value"]: o.get("description", {}).get("text") for o in select["options"]}
    plan = load_access_text(ACCESS_YAML, "access.yaml")
    assert sorted(options) == sorted(plan.databases)
    assert options["orders"] == "Orders service (primary) · production"


def test_dbaccess_request_opens_the_same_form(requests_world: RequestWorld) -> None:
    slack = requests_world.slack
    payload = slash_command_payload("/dbaccess", " request ", FATIMA_ID, channel_id="C0GENERAL")

    assert slack.send_slash_command(payload).ack(TIMEOUT)

    (opened,) = slack.wait_for_call("views.open", 1, TIMEOUT)
    assert opened["trigger_id"] == payload["trigger_id"]
    assert opened["view"]["callback_id"] == ids.REQUEST_FORM_CALLBACK


def test_happy_path_opens_a_reviewed_pull_request_and_dms_its_link(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    until = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)

    ack = rw.submit(FATIMA_ID, "orders", "read-write", until, "INC-77 fix a stuck refund")

    assert "response_action" not in ack.get("payload", {})
    told = rw.wait_for_dm(FATIMA_ID, 2)
    assert "Opening your request" in rw.dms_to(FATIMA_ID)[0]
    (pull,) = rw.github.pulls(REPO)
    assert f"is open for review: {rw.github.url}" not in told  # a page link, not the API
    assert f"/pull/{pull.number}" in told
    assert pull.title == f"Grant {FATIMA} read-write on orders"
    assert pull.head == pull_request.branch_name(FATIMA, "orders", "read-write")
    assert pull.reviewers == ["hugo-henley"]
    assert pull.teams == ["orders-dba"]
    assert pull.labels == ["access-request", "production"]
    assert "INC-77 fix a stuck refund" in pull.body
    assert "### Access changes" in pull.body  # the preview workflow's markdown
    assert "Requested from Slack" in pull.body
    # Only the new grant line changed, under Fatima, in the style of her other grants.
    edited = rw.github.file_text(REPO, pull.head, "access.yaml")
    assert edited is not None
    added = [line for line in edited.splitlines() if line not in ACCESS_YAML.splitlines()]
    assert added == [
        f"      - {{database: orders, access: read-write, until: {until.isoformat()}, "
        'reason: "INC-77 fix a stuck refund"}'
    ]
    assert len(edited.splitlines()) == len(ACCESS_YAML.splitlines()) + 1
    assert rw.main_file() == ACCESS_YAML  # nothing changes before the merge


def test_a_second_identical_request_gets_the_open_ones_link(requests_world: RequestWorld) -> None:
    rw = requests_world
    rw.submit(FATIMA_ID, "inventory", "read-only")
    first = rw.wait_for_dm(FATIMA_ID, 2)

    rw.submit(FATIMA_ID, "inventory", "read-only")

    again = rw.wait_for_dm(FATIMA_ID, 4)
    (pull,) = rw.github.pulls(REPO)
    assert f"/pull/{pull.number}" in first
    assert "You already have an open request" in again
    assert f"/pull/{pull.number}" in again


@pytest.mark.parametrize(
    ("database", "access", "until_days", "reason", "errors"),
    [
        pytest.param(
            "orders",
            "read-write",
            None,
            None,
            {ids.FORM_UNTIL_BLOCK: "needs an end date", ids.FORM_REASON_BLOCK: "needs a reason"},
            id="production-read-write-without-date-or-reason",
        ),
        pytest.param(
            "orders",
            "read-write",
            10,
            "   ",
            {ids.FORM_REASON_BLOCK: "needs a reason"},
            id="blank-reason",
        ),
        pytest.param(
            "inventory",
            "read-only",
            400,
            None,
            {ids.FORM_UNTIL_BLOCK: "At most a year"},
            id="beyond-the-validation-limit",
        ),
        pytest.param(
            "inventory",
            "read-only",
            -1,
            None,
            {ids.FORM_UNTIL_BLOCK: "cannot be in the past"},
            id="in-the-past",
        ),
        pytest.param(
            "inventory",
            "read-only",
            None,
            "x" * 100_000,
            {ids.FORM_REASON_BLOCK: "is 100,000 characters long; at most 500 are allowed"},
            id="crafted-100000-character-reason",
        ),
        pytest.param(
            "inventory",
            "read-only",
            None,
            "INC-1 \u202eetirw-daer\u202c",
            {ids.FORM_REASON_BLOCK: "invisible or control character U+202E"},
            id="bidi-override-in-reason",
        ),
        pytest.param(
            "inventory",
            "read-only",
            None,
            "INC\u200b-1",
            {ids.FORM_REASON_BLOCK: "invisible or control character U+200B"},
            id="zero-width-space-in-reason",
        ),
        pytest.param(
            "orders",
            "read-only",
            None,
            None,
            {ids.FORM_ACCESS_BLOCK: "You already have read-only on orders"},
            id="already-held-in-the-catalog",
        ),
        pytest.param(
            "no-such-db",
            "read-only",
            None,
            None,
            {ids.FORM_DATABASE_BLOCK: "Choose one of the databases"},
            id="unknown-database",
        ),
    ],
)
def test_an_invalid_submission_is_refused_in_the_form(
    requests_world: RequestWorld,
    database: str,
    access: str,
    until_days: int | None,
    reason: str | None,
    errors: dict[str, str],
) -> None:
    rw = requests_world
    today = dt.datetime.now(dt.UTC).date()
    until = today + dt.timedelta(days=until_days) if until_days is not None else None

    ack = rw.submit(FATIMA_ID, database, access, until, reason)

    answer = ack["payload"]
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == set(errors)
    for block, words in errors.items():
        assert words in answer["errors"][block]
    assert rw.github.pulls(REPO) == []
    assert rw.github.branch_names(REPO) == {"main"}
    assert rw.github.calls == []  # refused before any GitHub call
    assert rw.dms_to(FATIMA_ID) == []


def test_read_write_without_a_date_ends_after_thirty_days(requests_world: RequestWorld) -> None:
    rw = requests_world
    expected = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)

    rw.submit(FATIMA_ID, "payments-staging", "read-write")

    rw.wait_for_dm(FATIMA_ID, 2)
    (pull,) = rw.github.pulls(REPO)
    assert pull.labels == ["access-request"]  # not production
    assert pull.reviewers == []
    assert pull.teams == []
    edited = rw.github.file_text(REPO, pull.head, "access.yaml") or ""
    assert f"{{database: payments-staging, access: read-write, until: {expected}}}" in edited


def test_a_grant_the_file_has_but_the_catalog_not_yet_is_refused_after_the_edit(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    # GIVEN a merge that granted it, not deployed yet (the catalog does not have it)
    fatima = f"  {FATIMA}:\n    grants:\n"
    granted = ACCESS_YAML.replace(
        fatima, fatima + "      - {database: inventory, access: read-only}\n"
    )
    assert granted != ACCESS_YAML
    rw.github.commit_file(REPO, "main", "access.yaml", granted)

    rw.submit(FATIMA_ID, "inventory", "read-only")

    told = rw.wait_for_dm(FATIMA_ID, 2)
    assert f"{FATIMA} already has read-only on inventory" in told
    assert "Nothing was opened" in told
    assert rw.github.pulls(REPO) == []
    assert rw.github.branch_names(REPO) == {"main"}


def test_a_file_that_does_not_validate_is_never_pushed(requests_world: RequestWorld) -> None:
    rw = requests_world
    broken = ACCESS_YAML.replace("port: 5432", "port: 99999", 1)
    rw.github.commit_file(REPO, "main", "access.yaml", broken)

    rw.submit(FATIMA_ID, "inventory", "read-only")

    told = rw.wait_for_dm(FATIMA_ID, 2)
    assert "port 99999 is outside 1–65535" in told
    assert rw.github.pulls(REPO) == []
    assert rw.github.branch_names(REPO) == {"main"}


@pytest.mark.parametrize(
    ("step", "status", "words"),
    [
        pytest.param("create_pull", 503, "GitHub is not answering", id="down-at-open"),
        pytest.param("put_contents", 403, "GitHub refused", id="403-at-commit"),
        pytest.param("request_reviewers", 403, "GitHub refused", id="403-at-reviewers"),
        pytest.param("get_contents", 503, "GitHub is not answering", id="down-at-read"),
    ],
)
def test_github_failing_leaves_nothing_half_made(
    requests_world: RequestWorld, step: str, status: int, words: str
) -> None:
    rw = requests_world
    rw.github.fail(step, status)
    until = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=5)

    rw.submit(FATIMA_ID, "orders", "read-write", until, "INC-1")  # orders has owners

    told = rw.wait_for_dm(FATIMA_ID, 2)
    assert words in told
    assert "nothing was left half-made" in told
    assert rw.github.branch_names(REPO) == {"main"}  # no orphan branch
    assert all(p.state == "closed" for p in rw.github.pulls(REPO))
    assert "ghs_" not in told
    assert "PRIVATE KEY" not in told


def test_github_gone_entirely_is_told_and_leaves_no_branch(requests_world: RequestWorld) -> None:
    rw = requests_world
    rw.github.go_down_at("list_pulls")

    rw.submit(FATIMA_ID, "inventory", "read-only")

    assert "GitHub is not answering" in rw.wait_for_dm(FATIMA_ID, 2)
    assert rw.github.branch_names(REPO) == {"main"}


def test_at_most_five_requests_a_day(requests_world: RequestWorld) -> None:
    rw = requests_world
    asks = [
        ("inventory", "read-only"),
        ("inventory", "read-write"),
        ("orders", "read-write"),
        ("payments-staging", "read-write"),
        ("analytics", "read-only"),
        ("analytics", "read-write"),
    ]
    today = dt.datetime.now(dt.UTC).date()
    for n, (database, access) in enumerate(asks, start=1):
        reason = "REQ-1" if access == "read-write" else None
        until = today + dt.timedelta(days=5) if access == "read-write" else None
        rw.submit(FATIMA_ID, database, access, until, reason)
        rw.wait_for_dm(FATIMA_ID, 2 * n)

    assert len(rw.github.pulls(REPO)) == 5
    assert "5 access requests today" in rw.dms_to(FATIMA_ID)[-1]


def test_a_request_the_file_refuses_counts_toward_the_daily_limit(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    broken = ACCESS_YAML.replace("port: 5432", "port: 99999", 1)
    rw.github.commit_file(REPO, "main", "access.yaml", broken)
    for n in range(1, 6):
        rw.submit(FATIMA_ID, "inventory", "read-only")  # the file is refused each time
        assert "port 99999" in rw.wait_for_dm(FATIMA_ID, 2 * n)
    reads = rw.github.steps_called().count("get_contents")

    rw.submit(FATIMA_ID, "inventory", "read-only")

    assert "5 access requests today" in rw.wait_for_dm(FATIMA_ID, 12)
    assert rw.github.steps_called().count("get_contents") == reads  # not read again


def test_a_request_github_failed_does_not_count_toward_the_daily_limit(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    rw.github.fail("get_contents", 503, times=5 * 3)  # each read is tried 3 times
    for n in range(1, 6):
        rw.submit(FATIMA_ID, "inventory", "read-only")
        assert "GitHub is not answering" in rw.wait_for_dm(FATIMA_ID, 2 * n)

    rw.submit(FATIMA_ID, "inventory", "read-only")

    assert "is open for review" in rw.wait_for_dm(FATIMA_ID, 12)


def test_merged_and_closed_requests_are_announced_once(requests_world: RequestWorld) -> None:
    rw = requests_world
    rw.submit(FATIMA_ID, "inventory", "read-only")
    rw.wait_for_dm(FATIMA_ID, 2)
    rw.submit(FATIMA_ID, "analytics", "read-only")
    rw.wait_for_dm(FATIMA_ID, 4)
    merged, closed = sorted(rw.github.pulls(REPO), key=lambda p: p.number)

    assert rw.poller.poll_once() == 0  # both still open

    rw.github.merge(REPO, merged.number)
    rw.github.close(REPO, closed.number)
    assert rw.poller.poll_once() == 2
    assert rw.poller.poll_once() == 0  # told once

    approved, declined = rw.wait_for_dm(FATIMA_ID, 5), rw.wait_for_dm(FATIMA_ID, 6)
    assert "was approved" in approved
    # When it will be live, and that the deploy's own DM closes the loop.
    assert "access works once that deploy finishes" in approved
    assert "I'll message you again when it has" in approved
    assert f"/pull/{merged.number}" in approved
    assert "declined" in declined
    assert f"/pull/{closed.number}" in declined
    assert rw.main_file() != ACCESS_YAML  # the merge landed on main
    # AND the decided requests' branches are gone: the declined one can be asked again
    assert rw.github.branch_names(REPO) == {"main"}
    rw.submit(FATIMA_ID, "analytics", "read-only")
    assert "is open for review" in rw.wait_for_dm(FATIMA_ID, 8)


def test_asking_again_before_the_poll_keeps_the_new_requests_branch(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    rw.submit(FATIMA_ID, "inventory", "read-only")
    rw.wait_for_dm(FATIMA_ID, 2)
    (first,) = rw.github.pulls(REPO)
    rw.github.close(REPO, first.number)  # declined; Fatima sees it on GitHub and asks again

    rw.submit(FATIMA_ID, "inventory", "read-only")
    assert "is open for review" in rw.wait_for_dm(FATIMA_ID, 4)
    assert rw.poller.poll_once() == 1  # the first one is announced as declined

    assert "declined" in rw.wait_for_dm(FATIMA_ID, 5)
    second = next(p for p in rw.github.pulls(REPO) if p.number != first.number)
    assert second.state == "open"
    assert second.head == first.head
    assert second.head in rw.github.branch_names(REPO)


def test_a_file_changed_between_read_and_commit_is_read_again(requests_world: RequestWorld) -> None:
    rw = requests_world
    rw.github.fail("put_contents", 409, times=1)  # someone's edit landed meanwhile

    rw.submit(FATIMA_ID, "inventory", "read-only")

    assert "is open for review" in rw.wait_for_dm(FATIMA_ID, 2)
    (pull,) = rw.github.pulls(REPO)
    assert rw.github.branch_names(REPO) == {"main", pull.head}


def test_a_leftover_branch_without_an_open_request_is_replaced(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    repo = rw.github.repos[REPO]
    leftover = pull_request.branch_name(FATIMA, "inventory", "read-only")
    rw.github.commit_file(REPO, "main", "README.md", "an older main\n")
    repo.branches[leftover] = repo.branches["main"]  # e.g. a clean-up that failed
    rw.github.commit_file(REPO, "main", "README.md", "today's main\n")

    rw.submit(FATIMA_ID, "inventory", "read-only")

    assert "is open for review" in rw.wait_for_dm(FATIMA_ID, 2)
    (pull,) = rw.github.pulls(REPO)
    assert pull.head == leftover
    assert rw.github.file_text(REPO, leftover, "README.md") == "today's main\n"
    assert "{database: inventory, access: read-only}" in (
        rw.github.file_text(REPO, leftover, "access.yaml") or ""
    )


def test_another_organizations_user_can_neither_open_nor_submit_the_form(
    requests_world: RequestWorld,
) -> None:
    rw = requests_world
    view = rw.open_form(FATIMA_ID)  # a member's form, for the crafted submission below
    rw.slack.add_user("U0CONNECT", FATIMA, team_id="T0OTHERORG")  # Slack Connect, her email
    opened = len(rw.slack.calls("views.open"))

    rw.slack.send_interactive(
        block_actions_payload("U0CONNECT", ids.OPEN_REQUEST_FORM, "open")
    ).ack(TIMEOUT)
    told = rw.wait_for_dm("U0CONNECT", 1)
    values = {
        ids.FORM_DATABASE_BLOCK: {
            ids.FORM_DATABASE_ACTION: {"selected_option": {"value": "inventory"}}
        },
        ids.FORM_ACCESS_BLOCK: {
            ids.FORM_ACCESS_ACTION: {"selected_option": {"value": "read-only"}}
        },
    }
    rw.slack.send_interactive(view_submission_payload("U0CONNECT", view, values)).ack(TIMEOUT)

    assert "another organization (Slack Connect)" in told
    assert "another organization (Slack Connect)" in rw.wait_for_dm("U0CONNECT", 2)
    assert len(rw.slack.calls("views.open")) == opened  # no form for them
    assert rw.github.calls == []


def test_without_a_github_app_the_button_says_requests_are_not_set_up(
    bot_world: BotWorld,
) -> None:
    bot_world.click(FATIMA_ID, ids.OPEN_REQUEST_FORM, "open")

    told = bot_world.wait_for_message(FATIMA_ID)
    assert "not set up here" in told["text"]
    assert bot_world.slack.calls("views.open") == []
