"""From "I need access" to a working credential, through the fakes: the time of each step and
the bot's own share of it.

    request   the "Request access" form submitted in the fake Slack -> the real bot edits
              access.yaml, opens the pull request on the fake GitHub (paced as the bot runs)
              and DMs the database's linked owner the request with Approve / Decline (before
              it answers the requester: that DM is inside this step, its own delay shown apart)
    approval  the owner's Approve click in that DM (the block_actions payload Slack sends) ->
              the bot submits the review with the owner's own GitHub token (linked by device
              flow before the timed steps) -> the fake GitHub holds the APPROVE review by the
              owner and the DM is updated in place
    check     `dbaccess approvals --set-status` (what approvals.yml runs) -> dbaccess/approvals
    merge     the bot's poller: auto-merge sees the approved, green pull request and merges it
    deploy    simulated: the merged access.yaml becomes the catalog (what `pulumi up` writes)
              and the real `dbaccess notify` logic DMs the requester, with "Get credentials"
    link      her click on that button -> the bot's request handler -> the issuer's real
              handler (its stream records handed over at once) -> the one-time link DM

The fake Slack, the fake GitHub and moto's server (with the fake PrivateBin) each run in their
own process, as the real services are on the far side of a socket; the bot, the check, notify
and the issuer run in this one. "ours" is this process's CPU time in the step (our code and the
client libraries it drives); "waiting" is the rest of the wall time: the fakes' answers, the
sockets, and PyGithub's deliberate pacing (0.25 s between requests, 1 s between writes, shown
apart: the bot keeps it on in production to stay clear of GitHub's secondary rate limits). What
production adds (GitHub's own latency, the owner's reaction, the Actions runners, the poll
interval, the deploy) is listed after the figures, not simulated. Asserts nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # read when the issuer's logger is made

from benchmarks.bot_ack import answer, offline_aws, start_sides  # noqa: E402
from benchmarks.click_to_link import BUCKET, TABLE, serve_aws, set_environment  # noqa: E402
from dbaccess.approvals.rules import STATUS_CONTEXT  # noqa: E402
from dbaccess.bot import ids  # noqa: E402
from tests.services.issuer_world import LINK, SLACK_USERS, World, catalog_document  # noqa: E402

REPO = "example-org/access"
ACCESS_YAML = (ROOT / "access.yaml").read_text()
REQUESTER = "tomas.novak@example.com"  # holds inventory read-only; asks read-only on orders
REQUESTER_ID = SLACK_USERS[REQUESTER]
OWNER_LOGIN = "hugo-henley"  # an owner of orders (access.yaml: his `github:`), who gains nothing
OWNER_ID = SLACK_USERS["hugo.henley@example.com"]
DATABASE, ACCESS = "orders", "read-only"  # Slack may approve read-only by default
PULL = re.compile(r"/pull/(\d+)")


# --- the other side of each socket ----------------------------------------------------------


def aws_side(pipe: Connection) -> None:
    """moto's server (as click_to_link's, with the repository's catalog) and the fake
    PrivateBin, until told to stop."""
    from tests.fakes.privatebin import FakePrivateBin

    moto, where = serve_aws(BUCKET, catalog_document())
    with FakePrivateBin() as privatebin:
        pipe.send(where | {"privatebin": privatebin.url})
        pipe.recv()  # stop
    moto.stop()


def github_side(pipe: Connection) -> None:
    """The fake GitHub with the repository; its one installation stands for both the bot's app
    and the approvals app (so it may also set commit statuses). Does what it is told (see
    GITHUB_OPS), until "stop"."""
    from tests.fakes.github import DEFAULT_PERMISSIONS, FakeGitHub

    permissions = DEFAULT_PERMISSIONS | {"checks": "read", "statuses": "write"}
    # A device code may be polled at once: the linking is set-up, not a timed step.
    with FakeGitHub(permissions=permissions, device_interval=0) as fake:
        repo = fake.add_repo(
            REPO,
            {"access.yaml": ACCESS_YAML},
            collaborators=(OWNER_LOGIN,),
            teams=("orders-dba",),
        )
        repo.required_checks = {STATUS_CONTEXT}  # branch protection
        pipe.send(
            {
                "url": fake.url,
                "app_id": fake.app_id,
                "installation_id": fake.installation_id,
                "private_key": fake.private_key_pem,
                "check_token": fake.installation_token(),
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
            }
        )
        while (command := pipe.recv()) != "stop":
            op, *args = command
            pipe.send(GITHUB_OPS[op](fake, *args))


def _served(fake: Any) -> int:
    return len(fake.calls)


def _authorize(fake: Any, user_code: str, login: str) -> None:
    fake.authorize_device(user_code, login)


def _approved_by(fake: Any, number: int) -> list[str]:
    """Who holds an APPROVE review of the pull request's head."""
    head = fake.head_sha(REPO, number)
    return [
        r.login for r in fake.reviews(REPO, number) if (r.state, r.commit_id) == ("APPROVED", head)
    ]


def _answered_at(fake: Any, *steps: str) -> float:
    """When the last of these calls was answered (perf_counter: comparable across processes)."""
    return float(max(c.at for c in fake.calls if c.step in steps and 200 <= c.status < 300))


GITHUB_OPS: dict[str, Callable[..., Any]] = {
    "calls": _served,
    "authorize": _authorize,
    "approved_by": _approved_by,
    "answered_at": _answered_at,
}


def slack_side(pipe: Connection) -> None:
    """The fake Slack, doing what the person does when told (see SLACK_OPS), until "stop"."""
    from tests.fakes.slack import FakeSlack

    with FakeSlack() as slack:
        for email, user in SLACK_USERS.items():
            slack.add_user(user, email)
        pipe.send(
            {"api_url": slack.api_url, "bot_token": slack.bot_token, "app_token": slack.app_token}
        )
        while (command := pipe.recv()) != "stop":
            op, *args = command
            pipe.send(SLACK_OPS[op](slack, *args))


def _connected(slack: Any) -> None:
    slack.wait_connected(30)


def _submit_form(slack: Any, user: str, values: dict[str, Any]) -> None:
    """Click Home's "Request access", wait for the modal, fill it in and press Request."""
    from tests.fakes.slack import block_actions_payload, view_submission_payload

    before = len(slack.calls("views.open", ok_only=True))
    slack.send_interactive(block_actions_payload(user, ids.OPEN_REQUEST_FORM, "open")).ack(10)
    view = slack.wait_for_call("views.open", before + 1, 10)[before]["view"]
    slack.send_interactive(view_submission_payload(user, view, values)).ack(10)


def _wait_dm(slack: Any, user: str, count: int) -> dict[str, Any]:
    """The `count`th DM to `user` (waits up to 30 s)."""
    dm = f"D{user[1:]}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dms = [c for c in slack.calls("chat.postMessage", ok_only=True) if c["channel"] == dm]
        if len(dms) >= count:
            return dict(dms[count - 1])
        time.sleep(0.005)
    raise TimeoutError(f"DM {count} to {user} did not arrive")


def _click(
    slack: Any, user: str, action_id: str, value: str, channel: str | None, ts: str | None = None
) -> None:
    """A button clicked in the message `ts` of `channel`, or on Home without a channel."""
    from tests.fakes.slack import block_actions_payload

    payload = block_actions_payload(user, action_id, value, channel_id=channel, message_ts=ts)
    slack.send_interactive(payload).ack(10)


def _request_message(slack: Any, user: str) -> dict[str, Any]:
    """The access request in `user`'s DM, with its Approve button's value and when the bot
    posted it (waits up to 30 s)."""
    from tests.fakes.slack import dm_channel_id
    from tests.services.bot_world import wait_until
    from tests.services.test_slack_approval import ApprovalWorld

    dm = dm_channel_id(user)
    [message] = wait_until(
        lambda: [m for m in slack.messages(dm) if ApprovalWorld.buttons(m)][-1:],
        30,
        f"the request's buttons in {user}'s DM",
    )
    posted = next(
        c.at
        for c in slack.history()
        if c.method == "chat.postMessage" and c.ok and c.response["ts"] == message["ts"]
    )
    return {
        "channel": dm,
        "ts": message["ts"],
        "approve": ApprovalWorld.buttons(message)[ids.APPROVE_REQUEST],
        "posted_at": posted,
    }


def _wait_decided(slack: Any, channel: str, ts: str) -> str:
    """The message `ts` of `channel` once the bot updated it (the run's one update; woken by
    the fake as the call lands): its blocks, as JSON, if its buttons are gone."""
    import json

    from tests.services.test_slack_approval import ApprovalWorld

    [update] = slack.wait_for_call("chat.update", 1, 30, ok_only=True)
    [message] = [m for m in slack.messages(channel) if m["ts"] == ts]
    if (update["channel"], update["ts"]) != (channel, ts) or ApprovalWorld.buttons(message):
        raise SystemExit(f"the request message was not updated in place: {update}")
    return json.dumps(message["blocks"])


SLACK_OPS: dict[str, Callable[..., Any]] = {
    "connected": _connected,
    "submit_form": _submit_form,
    "wait_dm": _wait_dm,
    "click": _click,
    "request_message": _request_message,
    "wait_decided": _wait_decided,
}


# --- the steps --------------------------------------------------------------------------------


def link_owner(slack: Callable[..., Any], github: Callable[..., Any]) -> None:
    """The owner links their GitHub account as a person does: Home's Link GitHub account, the
    code the bot DMs entered on GitHub's device page while signed in as themselves."""
    from tests.services.test_slack_approval import CODE

    slack("click", OWNER_ID, ids.LINK_GITHUB, "link", None)
    code = CODE.search(slack("wait_dm", OWNER_ID, 1)["text"])
    if code is None:
        raise SystemExit("the bot sent no device code")
    github("authorize", code[1], OWNER_LOGIN)
    linked = str(slack("wait_dm", OWNER_ID, 2)["text"])
    if not linked.startswith("Linked"):
        raise SystemExit(f"the owner's GitHub account was not linked: {linked}")


def approve(slack: Callable[..., Any], github: Callable[..., Any], number: int) -> float:
    """The owner clicks Approve in the request's DM; done once the fake GitHub holds their
    APPROVE review of the head and the DM is updated in place. When the DM was posted."""
    request = slack("request_message", OWNER_ID)
    channel, ts = request["channel"], request["ts"]
    slack("click", OWNER_ID, ids.APPROVE_REQUEST, request["approve"], channel, ts)
    decided = slack("wait_decided", channel, ts)
    if f"Approved* by @{OWNER_LOGIN}" not in decided:
        raise SystemExit(f"the request's DM does not say who approved: {decided}")
    approved_by = github("approved_by", number)
    if approved_by != [OWNER_LOGIN]:
        raise SystemExit(f"GitHub holds no APPROVE review by {OWNER_LOGIN}: {approved_by}")
    return float(request["posted_at"])


def owner_check(api_url: str, check_token: str, number: int) -> str:
    """`dbaccess approvals --set-status`, as approvals.yml runs it; its report."""
    from typer.testing import CliRunner

    from dbaccess.cli import app

    result = CliRunner().invoke(
        app,
        ["approvals", "--pr", str(number), "--repo", REPO, "--set-status"],
        env={"GITHUB_TOKEN": check_token, "DBACCESS_GITHUB_API_URL": api_url},
    )
    if result.exit_code != 0:
        raise SystemExit(f"the owner check did not pass:\n{result.output}")
    return result.output


def simulated_deploy(before: str, after: str, slack_api_url: str, bot_token: str) -> None:
    """What deploy.yml does for the requester: `pulumi up` writes the catalog of the merged
    access.yaml, then `dbaccess notify` DMs who gained access."""
    from dbaccess.access import load_access_text
    from dbaccess.access.diff import diff_plans
    from dbaccess.clients.slack import DirectMessages
    from dbaccess.notify import notices, send_notices

    boto3.client("s3").put_object(Bucket=BUCKET, Key="catalog.json", Body=catalog_document(after))
    today = dt.datetime.now(dt.UTC).date()
    diff = diff_plans(
        load_access_text(before, "access.yaml", today=today),
        load_access_text(after, "access.yaml", today=today),
    )
    delivery = send_notices(DirectMessages(bot_token, slack_api_url), notices(diff))
    if REQUESTER not in delivery.sent:
        raise SystemExit(f"notify did not reach {REQUESTER}: {delivery}")


# --- timing -----------------------------------------------------------------------------------


class PacingClock:
    """PyGithub's deliberate pauses, summed: its Requester sleeps through the `time` module it
    imported, which this stands in for (every other attribute is the real module's)."""

    def __init__(self) -> None:
        self.slept = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        time.sleep(seconds)

    def install(self) -> PacingClock:
        import github.Requester

        # PyGithub paces with Requester.time.sleep; mypy types that name as the time module.
        setattr(github.Requester, "time", self)  # noqa: B010
        return self


PACING = PacingClock()


@dataclass
class Step:
    name: str
    wall: float = 0.0
    cpu: float = 0.0
    paced: float = 0.0
    github_calls: int = 0


@dataclass
class Timeline:
    github: Callable[..., Any]  # asks the fake GitHub
    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        calls = self.github("calls")
        wall, cpu, paced = time.perf_counter(), time.process_time(), PACING.slept
        yield
        step = Step(
            name,
            time.perf_counter() - wall,
            time.process_time() - cpu,
            PACING.slept - paced,
        )
        step.github_calls = self.github("calls") - calls
        self.steps.append(step)


def form_values(until: dt.date) -> dict[str, Any]:
    return {
        ids.FORM_DATABASE_BLOCK: {
            ids.FORM_DATABASE_ACTION: {
                "type": "static_select",
                "selected_option": {"value": DATABASE},
            }
        },
        ids.FORM_ACCESS_BLOCK: {
            ids.FORM_ACCESS_ACTION: {"type": "radio_buttons", "selected_option": {"value": ACCESS}}
        },
        ids.FORM_UNTIL_BLOCK: {
            ids.FORM_UNTIL_ACTION: {"type": "datepicker", "selected_date": until.isoformat()}
        },
        ids.FORM_REASON_BLOCK: {
            ids.FORM_REASON_ACTION: {"type": "plain_text_input", "value": "INC-4242 refund fix"}
        },
    }


def start_bot(slack: dict[str, str], github: dict[str, Any]) -> Any:
    """The real bot, as its Deployment starts it, with auto-merge on (the repository's method)
    and approve in Slack (the stack's default policy: read-only requests); its own poller waits
    an hour: the run polls when the step comes."""
    from dbaccess.bot.access_requests.github_settings import GitHubSettings
    from dbaccess.bot.app import Bot
    from dbaccess.bot.auto_merge import AutoMerge
    from dbaccess.bot.settings import BotSettings
    from dbaccess.bot.slack_approval.settings import SlackApprovalSettings
    from dbaccess.clients.github import GitHubAppCredentials

    app = GitHubAppCredentials(
        github["app_id"], github["installation_id"], github["private_key"], github["url"]
    )
    settings = BotSettings(
        bot_token=slack["bot_token"],
        app_token=slack["app_token"],
        slack_api_url=slack["api_url"],
        request_table=TABLE,
        catalog_bucket=BUCKET,
        catalog_key="catalog.json",
        help_channel="#db-access",
        health_port=0,
        github=GitHubSettings(app=app, repository=REPO, poll_seconds=3600, auto_merge=AutoMerge()),
        slack_approval=SlackApprovalSettings(
            client_id=github["client_id"],
            client_secret=github["client_secret"],
            token_key_arn=boto3.client("kms").create_key()["KeyMetadata"]["Arn"],  # the stack's
            web_url=github["url"],
        ),
    )
    bot = Bot(settings)
    bot.start()
    return bot


def issue_pending(stream_arn: str, endpoint: str) -> None:
    """Lambda's event source mapping, without its polling wait: the new records, now."""
    from tests.services.issuer_world import StreamReader, deliver_batches, invoke_issuer

    reader = StreamReader(stream_arn, endpoint_url=endpoint)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivery = deliver_batches(
            reader.new_records(),
            invoke_issuer,
        )
        if delivery.invocations:
            return
        time.sleep(0.01)
    raise SystemExit("the credential request never reached the issuer")


def asker(pipe: Connection, what: str) -> Callable[..., Any]:
    """Tells the side at the end of `pipe` to do something; its answer."""

    def ask(*command: Any) -> Any:
        pipe.send(command)
        return answer(pipe, 60, f"{what} ({command[0]})")

    return ask


def run(timeline: Timeline, slack: Connection, where: dict[str, Any]) -> dict[str, str]:
    """The steps, in order; what to show besides the times."""
    from dbaccess.clients.github import read_file
    from dbaccess.issuer import handler

    aws, github, slack_at = where["aws"], where["github"], where["slack"]
    handler.issuer()  # the issuer's cold start is not a request's time
    bot = start_bot(slack_at, github)
    ask = asker(slack, "the fake Slack")

    try:
        ask("connected")
        link_owner(ask, timeline.github)  # once, long before any request
        until = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)
        with timeline.step("request: form -> pull request open"):
            ask("submit_form", REQUESTER_ID, form_values(until))
            opened = ask("wait_dm", REQUESTER_ID, 2)["text"]  # "Opening…", then the link
        match = PULL.search(opened)
        if match is None:
            raise SystemExit(f"no pull request was opened: {opened}")
        number = int(match.group(1))
        with timeline.step("approval: Approve -> review, DM updated"):
            announced = approve(ask, timeline.github, number)
        # The bot answers the click after the update: let it finish before the next step.
        owner_told = ask("wait_dm", OWNER_ID, 4)["text"]
        with timeline.step("check: dbaccess approvals -> status"):
            report = owner_check(github["url"], github["check_token"], number)
        with timeline.step("merge: poller's auto-merge"):
            bot.poller.poll_once()
            merged = ask("wait_dm", REQUESTER_ID, 3)["text"]
        # The deploy has the merged commit (a checkout): read outside the step.
        main = read_file(bot.services.request_flow._gh, REPO, "access.yaml").text
        with timeline.step("deploy (simulated): catalog + notify DM"):
            simulated_deploy(ACCESS_YAML, main, slack_at["api_url"], slack_at["bot_token"])
            notice = ask("wait_dm", REQUESTER_ID, 4)
        button = next(
            element
            for block in notice["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
        )
        with timeline.step("link: click -> one-time link DM"):
            ask("click", REQUESTER_ID, button["action_id"], button["value"], notice["channel"])
            issue_pending(aws["stream_arn"], aws["endpoint"])
            link_dm = ask("wait_dm", REQUESTER_ID, 6)  # after "Request received"
    finally:
        bot.stop()
    link = LINK.search(World.dm_text(link_dm))
    opens = "no link in the DM"
    if link:
        import privatebin  # read as a browser would: fetched and decrypted

        opens = "opens" if DATABASE in privatebin.get(link.group(1)).text else "wrong paste"
    created = timeline.github("answered_at", "create_pull")
    finished = timeline.github("answered_at", "create_pull", "request_reviewers", "add_labels")
    return {
        "pull request": f"#{number}",
        "owner's DM with Approve": (
            f"{(announced - created) * 1000:.0f} ms after the pull request was created, "
            f"{(announced - finished) * 1000:.0f} ms after its last call (reviewers, labels); "
            "inside the request step: the bot tells the owners before it answers the requester"
        ),
        "owner told": owner_told.split(":")[0],
        "owner check": report.splitlines()[1] if report else "",
        "merged on main": "yes" if main != ACCESS_YAML else "no",
        "told merged": "yes" if "was approved" in merged else merged,
        "button": f"{button['text']['text']} ({button['action_id']})",
        "one-time link": opens,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    offline_aws()
    PACING.install()
    (aws_pipe, github_pipe, slack_pipe), sides = start_sides(aws_side, github_side, slack_side)
    try:
        where = {
            "aws": answer(aws_pipe, 120, "moto's server"),
            "github": answer(github_pipe, 120, "the fake GitHub"),
            "slack": answer(slack_pipe, 120, "the fake Slack"),
        }
        aws = where["aws"]
        set_environment(aws, where["slack"]["api_url"], aws["privatebin"])
        timeline = Timeline(asker(github_pipe, "the fake GitHub"))
        facts = run(timeline, slack_pipe, where)
    finally:
        for pipe, side in zip((aws_pipe, github_pipe, slack_pipe), sides, strict=True):
            pipe.send("stop")
            side.join(30)
    print(
        f"request -> credential: {REQUESTER} asks {ACCESS} on {DATABASE}, "
        f"{OWNER_LOGIN} approves in Slack"
    )
    print(
        f"  {'step':<40} {'wall ms':>8} {'ours':>6} {'paced':>6} {'fakes':>6} {'GitHub calls':>13}"
    )
    for step in timeline.steps:
        print(
            f"  {step.name:<40} {step.wall * 1000:8.0f} {step.cpu * 1000:6.0f} "
            f"{step.paced * 1000:6.0f} {(step.wall - step.cpu - step.paced) * 1000:6.0f} "
            f"{step.github_calls:13d}"
        )
    wall = sum(s.wall for s in timeline.steps)
    cpu = sum(s.cpu for s in timeline.steps)
    paced = sum(s.paced for s in timeline.steps)
    print(
        f"  {'total':<40} {wall * 1000:8.0f} {cpu * 1000:6.0f} {paced * 1000:6.0f} "
        f"{(wall - cpu - paced) * 1000:6.0f}"
    )
    print(
        f"  ours (this process's CPU: bot, check, notify, issuer, their libraries): "
        f"{cpu / wall:.0%} of the wall time; PyGithub's pacing {paced / wall:.0%}; the rest "
        "is waiting on the fakes and sockets"
    )
    for name, value in facts.items():
        print(f"  {name}: {value}")
    print(
        "  not simulated (production adds): the owner's reaction; GitHub's latency per call; "
        "approvals.yml's runner start (~10-30 s) and install (~30 s); the poll interval (up to "
        "DBACCESS_GITHUB_POLL_SECONDS, 60 s); deploy.yml (docs/explanation/performance.md); "
        "Lambda's stream polling (<1 s)"
    )


if __name__ == "__main__":
    main()
