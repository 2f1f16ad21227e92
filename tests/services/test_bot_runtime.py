"""The bot as a process and its edges: settings, health checks, SIGTERM, DynamoDB throttling,
the container image's definition."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.retries import standard
from moto import mock_aws
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend

from dbaccess.bot.health import HealthServer
from dbaccess.bot.ids import RequestChoice
from dbaccess.bot.recorder import DYNAMODB_CONFIG, Outcome, RequestRecorder
from dbaccess.bot.settings import ALLOW_GUESTS, SettingsError, load_settings
from dbaccess.clients.secrets_manager import SecretReader, secret_reader
from tests.fakes.slack import FakeSlack
from tests.services.bot_world import BotWorld, bot_world, wait_until, world
from tests.services.engineer_cli import moto_endpoint
from tests.services.issuer_world import REGION, SLACK_USERS, TABLE

__all__ = ["bot_world", "moto_endpoint", "world"]

ROOT = Path(__file__).resolve().parents[2]
FATIMA = "fatima.zahra@example.com"
ORDERS_RO = RequestChoice("orders", "read-only")
ENV = {
    "DBACCESS_REQUEST_TABLE": "dbaccess-requests",
    "DBACCESS_CATALOG_URL": "s3://catalog-bucket/catalog.json",
    "DBACCESS_HELP_CHANNEL": "#db-access",
}
BOT_TOKEN, APP_TOKEN = "xoxb-1-from-secrets-manager", "xapp-1-from-secrets-manager"


def store_tokens(client: Any, bot_token: str, app_token: str) -> dict[str, str]:
    """The Slack tokens as an operator stores them (docs/how-to/rotate-secrets.md); the variables naming them."""
    return {
        name: client.create_secret(Name=f"dbaccess/{secret}", SecretString=value)["ARN"]
        for name, secret, value in (
            ("DBACCESS_SLACK_TOKEN_SECRET_ARN", "slack-bot-token", bot_token + "\n"),
            ("DBACCESS_SLACK_APP_TOKEN_SECRET_ARN", "slack-app-token", app_token),
        )
    }


@pytest.fixture
def secrets() -> Iterator[tuple[dict[str, str], SecretReader]]:
    """Secrets Manager (moto) holding the tokens: the variables naming them, and the reader."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        yield store_tokens(client, BOT_TOKEN, APP_TOKEN), secret_reader(client)


# --- settings ---------------------------------------------------------------------------


def test_settings_read_the_tokens_from_secrets_manager_and_never_show_them(
    secrets: tuple[dict[str, str], SecretReader],
) -> None:
    arns, read = secrets
    settings = load_settings(ENV | arns, read)
    assert (settings.bot_token, settings.app_token) == (BOT_TOKEN, APP_TOKEN)
    assert (settings.health_port, settings.rate_limit, settings.rate_window_seconds) == (
        8080,
        5,
        600,
    )
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.catalog_bucket, settings.catalog_key) == ("catalog-bucket", "catalog.json")
    assert "xoxb" not in repr(settings)
    assert "xapp" not in repr(settings)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DBACCESS_SLACK_TOKEN_SECRET_ARN": ""}, "DBACCESS_SLACK_TOKEN_SECRET_ARN is not set"),
        ({"DBACCESS_SLACK_APP_TOKEN_SECRET_ARN": "xapp-1"}, "not a Secrets Manager secret ARN"),
        ({"DBACCESS_CATALOG_URL": "catalog-bucket/catalog.json"}, "DBACCESS_CATALOG_URL"),
        ({"DBACCESS_REQUEST_TABLE": ""}, "DBACCESS_REQUEST_TABLE"),
        ({"DBACCESS_HELP_CHANNEL": "not a channel"}, "DBACCESS_HELP_CHANNEL"),
        ({"HEALTH_PORT": "http"}, "HEALTH_PORT"),
        ({"DBACCESS_SLACK_API_URL": "ftp://x"}, "DBACCESS_SLACK_API_URL"),
    ],
)
def test_a_missing_or_malformed_setting_is_named(
    change: dict[str, str], named: str, secrets: tuple[dict[str, str], SecretReader]
) -> None:
    arns, read = secrets
    with pytest.raises(SettingsError, match=named):
        load_settings(ENV | arns | change, read)


def test_a_secret_that_is_missing_or_of_the_wrong_kind_stops_start_up_without_its_value(
    secrets: tuple[dict[str, str], SecretReader],
) -> None:
    arns, read = secrets
    gone = arns["DBACCESS_SLACK_APP_TOKEN_SECRET_ARN"].replace("slack-app-token", "deleted")
    with pytest.raises(SettingsError, match=r"cannot read the secret .*ResourceNotFoundException"):
        load_settings(ENV | arns | {"DBACCESS_SLACK_APP_TOKEN_SECRET_ARN": gone}, read)
    swapped = {  # the bot token's secret named as the app token's
        "DBACCESS_SLACK_APP_TOKEN_SECRET_ARN": arns["DBACCESS_SLACK_TOKEN_SECRET_ARN"]
    }
    with pytest.raises(SettingsError, match="not an app-level token") as wrong:
        load_settings(ENV | arns | swapped, read)
    assert BOT_TOKEN not in str(wrong.value)


def test_guests_are_let_in_only_by_true(secrets: tuple[dict[str, str], SecretReader]) -> None:
    arns, read = secrets
    assert load_settings(ENV | arns, read).allow_guests is False
    assert load_settings(ENV | arns | {ALLOW_GUESTS: "True"}, read).allow_guests is True
    with pytest.raises(SettingsError, match=f"{ALLOW_GUESTS}='yes' is not true or false"):
        load_settings(ENV | arns | {ALLOW_GUESTS: "yes"}, read)


# --- the process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - a local URL
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeSlack() as fake:
        yield fake


def bot_process(
    slack: FakeSlack, port: int, moto_endpoint: str, **env: str
) -> subprocess.Popen[str]:
    """`python -m dbaccess.bot` as the Deployment runs it: the environment names the tokens'
    secrets (stored in Secrets Manager first), never the tokens."""
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's
    )
    for arn in client.list_secrets()["SecretList"]:
        client.delete_secret(SecretId=arn["ARN"], ForceDeleteWithoutRecovery=True)
    environment = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    environment |= ENV | store_tokens(client, slack.bot_token, slack.app_token)
    environment |= {
        "DBACCESS_SLACK_API_URL": slack.api_url,
        "HEALTH_PORT": str(port),
        "AWS_ENDPOINT_URL": moto_endpoint,  # Secrets Manager, read once at start-up
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "dbaccess.bot"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_python_m_dbaccess_bot_serves_health_and_exits_cleanly_on_sigterm(
    slack: FakeSlack, moto_endpoint: str
) -> None:
    port = free_port()
    process = bot_process(slack, port, moto_endpoint)
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz") == 200, 15, "healthz 200")
        assert get(f"http://127.0.0.1:{port}/readyz") == 200
        # The fake counts the connection in its own thread: give it a moment under load.
        wait_until(lambda: slack.connections_opened == 1, 5, "one Socket Mode connection")

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=5)
    assert process.returncode == 0, stderr
    assert "stopped" in stderr
    assert slack.bot_token not in stderr
    assert slack.app_token not in stderr
    wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz") == 0, what="health server gone")


def test_start_up_stops_with_a_message_naming_the_missing_setting(
    slack: FakeSlack, moto_endpoint: str
) -> None:
    process = bot_process(slack, free_port(), moto_endpoint, DBACCESS_CATALOG_URL="")
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "DBACCESS_CATALOG_URL is not set" in stderr
    assert slack.history() == []  # it did not get as far as Slack


def test_health_follows_the_connection_and_readiness_the_draining() -> None:
    connected, draining = [True], [False]
    server = HealthServer(
        0, alive=lambda: connected[0], ready=lambda: connected[0] and not draining[0]
    ).start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        assert (get(f"{url}/healthz"), get(f"{url}/readyz")) == (200, 200)
        draining[0] = True
        assert (get(f"{url}/healthz"), get(f"{url}/readyz")) == (200, 503)
        connected[0] = False
        assert (get(f"{url}/healthz"), get(f"{url}/readyz")) == (503, 503)
        assert get(f"{url}/metrics") == 404
    finally:
        server.stop()


# --- DynamoDB throttling ----------------------------------------------------------------


class Throttle:
    """Makes moto's DynamoDB answer the next `times` PutItems with a real
    ProvisionedThroughputExceededException (HTTP 400 on the wire, nothing written), so
    botocore's own retry logic sees real throttling answers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
        self.left = times
        self.sent = 0
        original = DynamoDBBackend.put_item

        def put_item(backend: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            if self.left > 0:
                self.left -= 1
                raise DynamodbException(
                    ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException",
                    "The level of configured provisioned throughput for the table was exceeded.",
                )
            return original(backend, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Standard mode waits up to 1 s x 2^attempt between throttled attempts; the retries are
    # what is tested here, not the wait.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def recorder() -> RequestRecorder:
    client = boto3.client("dynamodb", region_name=REGION, config=DYNAMODB_CONFIG)
    return RequestRecorder(client, TABLE, limit=5, window_seconds=600)


def test_throttled_puts_are_retried(
    bot_world: BotWorld, no_backoff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle = Throttle(monkeypatch, times=2)

    outcome = recorder().record(
        request_id="T1",
        email=FATIMA,
        slack_user_id="U0FATIMA",
        channel="app_home",
        choice=ORDERS_RO,
    )

    assert outcome is Outcome.RECORDED
    assert throttle.sent == 3
    assert len(bot_world.items()) == 1


def test_throttling_past_the_retries_tells_the_person_and_writes_nothing(
    bot_world: BotWorld, no_backoff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle = Throttle(monkeypatch, times=100)
    user = SLACK_USERS[FATIMA]

    bot_world.click(user, ORDERS_RO.action_id, ORDERS_RO.value)

    told = bot_world.wait_for_message(user)
    assert "couldn't record your request" in told["text"]
    assert throttle.sent == DYNAMODB_CONFIG.retries["total_max_attempts"]
    assert bot_world.items() == []


def test_a_redelivery_the_index_has_not_seen_is_caught_by_the_condition(
    bot_world: BotWorld,
) -> None:
    recorder = bot_world.bot.services.recorder
    first = recorder.record(
        request_id="T2",
        email="someone.else@example.com",
        slack_user_id="U0X",
        channel="c",
        choice=ORDERS_RO,
    )
    again = recorder.record(
        request_id="T2", email=FATIMA, slack_user_id="U0FATIMA", channel="c", choice=ORDERS_RO
    )
    assert (first, again) == (Outcome.RECORDED, Outcome.DUPLICATE)
    assert len(bot_world.items()) == 1


# --- the image --------------------------------------------------------------------------


def test_the_dockerfile_runs_as_a_non_root_user_from_a_pinned_slim_base() -> None:
    # Docker is not available on the test machines; this checks the definition itself.
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert stages
    assert all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+( AS \w+)?", s) for s in stages)
    final = text.split("\nFROM ")[-1]
    (user,) = re.findall(r"^USER (\S+)", final, re.MULTILINE)
    assert user.split(":")[0] not in ("root", "0")
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    # The bot extra, every version from the lock (requirements.txt pins each dependency).
    (install,) = re.findall(r"pip install (.+?)(?: \\|$)", text, re.MULTILINE)
    assert install == "--constraint requirements.txt '.[bot]'"
    assert "COPY requirements.txt" in text
    assert 'ENTRYPOINT ["python", "-m", "dbaccess.bot"]' in final
