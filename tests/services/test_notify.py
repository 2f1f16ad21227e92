"""`dbaccess notify` against a real git repository and the fake Slack.

GIVEN two commits of access.yaml (the deployed one and the new one), WHEN notify runs with
--base and --head, THEN each person whose access changed gets one DM saying what, until when
and how to connect; --dry-run prints the same messages and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from typer.testing import CliRunner, Result

from dbaccess.cli import app
from tests.fakes.slack import FakeSlack, dm_channel_id
from tests.git_repo import git
from tests.services.audit_world import stack_project
from tests.services.issuer_world import ROOT

BEFORE = (ROOT / "access.yaml").read_text()
NEXT_MONTH = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
AFTER = BEFORE.replace(
    # Fatima gains inventory until next month; Marco loses orders read-only.
    "      - {database: orders, access: read-only}\n      - {database: payments-staging, "
    "access: read-only}\n",
    "      - {database: orders, access: read-only}\n      - {database: payments-staging, "
    f"access: read-only}}\n      - {{database: inventory, access: read-only, until: {NEXT_MONTH}}}\n",
).replace(
    "      - {database: payments-staging, access: read-write}\n      - {database: orders, "
    "access: read-only}\n",
    "      - {database: payments-staging, access: read-write}\n",
)
FATIMA, MARCO = "fatima.zahra@example.com", "marco.rossi@example.com"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    # Both edits applied: one line added, one removed.
    assert AFTER.count(f"inventory, access: read-only, until: {NEXT_MONTH}") == 1
    assert AFTER.count("\n") == BEFORE.count("\n")
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "access.yaml").write_text(BEFORE)
    git(tmp_path, "add", "access.yaml")
    git(tmp_path, "commit", "-q", "-m", "deployed")
    git(tmp_path, "tag", "deployed")
    (tmp_path / "access.yaml").write_text(AFTER)
    git(tmp_path, "commit", "-q", "-am", "new")
    return tmp_path


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeSlack() as fake:
        fake.add_user("U0FATIMA", FATIMA)  # Marco is not in Slack
        yield fake


def run(repo: Path, slack: FakeSlack, *extra: str, token: str | None = None) -> Result:
    args = ["notify", "--base", "deployed", "--head", "main", "--file", str(repo / "access.yaml")]
    env = {"SLACK_BOT_TOKEN": token or slack.bot_token, "DBACCESS_SLACK_API_URL": slack.api_url}
    return CliRunner().invoke(app, [*args, *extra], env=env)


def test_each_person_whose_access_changed_gets_one_dm(repo: Path, slack: FakeSlack) -> None:
    result = run(repo, slack)

    assert result.exit_code == 0, result.output
    (dm,) = slack.calls("chat.postMessage", ok_only=True)
    assert dm["channel"] == dm_channel_id("U0FATIMA")
    assert f"You now have read-only on *inventory* until {NEXT_MONTH}" in dm["text"]
    assert "`dbaccess connect inventory`" in dm["text"]
    assert "Home tab" in dm["text"]
    assert "1 people told" in result.output
    assert f"not in Slack (not told): {MARCO}" in result.output


def test_dry_run_prints_the_messages_and_sends_nothing(repo: Path, slack: FakeSlack) -> None:
    result = run(repo, slack, "--dry-run")

    assert result.exit_code == 0, result.output
    assert slack.calls("chat.postMessage") == []
    assert f"--- to {FATIMA}" in result.output
    assert f"--- to {MARCO}\nYour database access changed" in result.output
    assert "You no longer have read-only on *orders*." in result.output
    assert "2 messages (dry run: nothing sent)" in result.output


def test_no_change_sends_nothing(repo: Path, slack: FakeSlack) -> None:
    result = CliRunner().invoke(
        app,
        ["notify", "--base", "main", "--head", "main", "--file", str(repo / "access.yaml")],
        env={"SLACK_BOT_TOKEN": slack.bot_token, "DBACCESS_SLACK_API_URL": slack.api_url},
    )

    assert result.exit_code == 0, result.output
    assert "0 people told" in result.output
    assert slack.calls("chat.postMessage") == []


def test_an_unknown_ref_or_a_missing_token_is_a_clear_error(repo: Path, slack: FakeSlack) -> None:
    unknown = CliRunner().invoke(
        app, ["notify", "--base", "nope", "--head", "main", "--file", str(repo / "access.yaml")]
    )
    no_token = run(repo, slack, token="not-a-token")

    assert unknown.exit_code == 2
    assert "'nope' is not a commit in this repository" in unknown.output
    assert no_token.exit_code == 2
    assert "set SLACK_BOT_TOKEN" in no_token.output
    assert "Traceback" not in unknown.output + no_token.output
    assert slack.calls("chat.postMessage") == []


def test_with_stack_the_bot_token_is_read_from_its_secret(
    repo: Path, slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the prod stack whose slackBotTokenSecretArn names a secret holding the bot token,
    # and no SLACK_BOT_TOKEN in the environment (deploy.yml holds no copy of it)
    (tmp_path / "project").mkdir()
    project = stack_project(tmp_path / "project", monkeypatch, BEFORE)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with mock_aws():
        arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
            Name="dbaccess/slack-bot-token", SecretString=slack.bot_token
        )["ARN"]
        stack_file = project / "Pulumi.prod.yaml"
        sample = yaml.safe_load(stack_file.read_text())["config"]["dbaccess:slackBotTokenSecretArn"]
        stack_file.write_text(stack_file.read_text().replace(sample, arn))
        args = ["notify", "--stack", "prod", "--base", "deployed", "--head", "main"]
        env = {"DBACCESS_SLACK_API_URL": slack.api_url}
        # WHEN notify runs with --stack
        sent = CliRunner().invoke(app, [*args, "--file", str(repo / "access.yaml")], env=env)
        # ... and with a stack whose secret is gone
        stack_file.write_text(stack_file.read_text().replace(arn, arn[:-6] + "Gone12"))
        gone = CliRunner().invoke(app, [*args, "--file", str(repo / "access.yaml")], env=env)
    # THEN the DMs go out with that token; a missing secret is a clear error naming it
    assert sent.exit_code == 0, sent.output
    assert [c["channel"] for c in slack.calls("chat.postMessage")] == [dm_channel_id("U0FATIMA")]
    assert gone.exit_code == 2
    assert "cannot read the secret" in gone.output
    assert "ResourceNotFoundException" in gone.output
    assert slack.bot_token not in sent.output + gone.output
    assert "Traceback" not in gone.output
