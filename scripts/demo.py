"""`make demo`: the whole product on this machine, with no cloud account.

The real bot, issuer, catalog and CLI, against stand-ins for what they talk to: moto's server
for AWS (DynamoDB and its stream, S3, STS, Secrets Manager), the fake Slack, the real
PrivateBin server under php (the fake if php or its source is missing, said so), and a local
PostgreSQL server over verify-full TLS. Fatima (from the sample access.yaml, read-only on
`orders`) clicks "Read-only" on the bot's Home tab; the issuer DMs her a one-time link; the demo
opens it once as a browser would (fetch and decrypt client-side) and logs in with psql using the
password. Then the same with `dbaccess connect`.

The stand-ins are the test suite's own (tests/fakes, tests/pgserver.py, tests/privatebin_server.py,
the stream poller of tests/services/issuer_world.py, the helpers of benchmarks/click_to_link.py):
imported, not copied, so there is one copy of each and the tests keep it honest. A local
PostgreSQL cannot check IAM tokens, so, as in the tests, the login's password is set to the
token just issued: that stands in for RDS's IAM authentication.

    .venv/bin/python scripts/demo.py
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # read when the issuer's logger is made

import boto3  # noqa: E402

from benchmarks.bot_ack import offline_aws  # noqa: E402
from benchmarks.click_to_link import privatebin_server  # noqa: E402
from tests import pgserver  # noqa: E402
from tests.services.engineer_cli import moto_server  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "dbaccess-requests"
BUCKET = "dbaccess-catalog-demo"
EMAIL, SLACK_USER = "fatima.zahra@example.com", "U0FATIMA1"
DATABASE, ACCESS = "orders", "read-only"
STARTED = time.monotonic()


def step(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.1f}s] {text}", flush=True)


def detail(text: str) -> None:
    print(f"         {text}", flush=True)


# --- the stand-ins ---------------------------------------------------------------------------


@contextmanager
def postgres() -> Iterator[pgserver.PostgresServer]:
    server = pgserver.start_server()
    try:
        yield server
    finally:
        server.stop()


def catalog(pg: pgserver.PostgresServer) -> dict[str, Any]:
    """The catalog the program publishes for the sample access.yaml, `orders` pointing at the
    local server."""
    from tests.services.issuer_world import catalog_document

    document = json.loads(catalog_document())
    document["databases"][DATABASE].update(host=pg.host, port=pg.port)
    return document


def publish(endpoint: str, document: dict[str, Any], slack_token: str) -> tuple[str, str]:
    """The request table (with its stream), catalog.json and the Slack token secret, as the
    stack creates them. Returns (stream ARN, secret ARN)."""
    from tests.services.issuer_world import create_table

    aws = boto3.Session(region_name=REGION)
    stream_arn = create_table(aws.client("dynamodb", endpoint_url=endpoint))
    s3 = aws.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="catalog.json", Body=json.dumps(document))
    secret = aws.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name="dbaccess/slack-bot-token", SecretString=slack_token
    )
    return stream_arn, secret["ARN"]


def issuer_environment(endpoint: str, secret_arn: str, slack_url: str, paste_url: str) -> None:
    """What the CredentialIssuer component sets on the Lambda, pointing at this machine."""
    from dbaccess import service_env
    from dbaccess.issuer import settings as issuer_env

    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            service_env.REQUEST_TABLE: TABLE,
            service_env.CATALOG_URL: f"s3://{BUCKET}/catalog.json",
            service_env.SLACK_TOKEN_SECRET_ARN: secret_arn,
            service_env.SLACK_API_URL: slack_url,
            issuer_env.PRIVATEBIN_URL: paste_url,
        }
    )


@contextmanager
def event_source_mapping(stream_arn: str, endpoint: str) -> Iterator[None]:
    """Lambda's event source mapping: new stream records to the real issuer handler."""
    from tests.services.issuer_world import StreamReader, deliver_batches, invoke_issuer

    stop = threading.Event()

    def poll() -> None:
        reader = StreamReader(stream_arn, endpoint_url=endpoint)
        while not stop.is_set():
            deliver_batches(
                reader.new_records(),
                invoke_issuer,
            )
            stop.wait(0.25)

    poller = threading.Thread(target=poll, name="event-source-mapping", daemon=True)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join(30)


@contextmanager
def running_bot(slack: Any) -> Iterator[None]:
    from dbaccess.bot.app import Bot
    from dbaccess.bot.settings import BotSettings

    bot = Bot(
        BotSettings(
            bot_token=slack.bot_token,
            app_token=slack.app_token,
            slack_api_url=slack.api_url,
            request_table=TABLE,
            catalog_bucket=BUCKET,
            catalog_key="catalog.json",
            help_channel="#db-access",
            health_port=0,
        )
    )
    bot.start()
    try:
        slack.wait_connected(30)
        yield
    finally:
        bot.stop()


# --- the story -------------------------------------------------------------------------------


def click_and_wait_for_link(slack: Any) -> str:
    from dbaccess.bot.ids import RequestChoice
    from tests.fakes.slack import block_actions_payload
    from tests.services.issuer_world import LINK, World

    choice = RequestChoice(DATABASE, ACCESS)
    clicked = slack.send_interactive(
        block_actions_payload(SLACK_USER, choice.action_id, choice.value)
    )
    clicked.ack(timeout=10)
    step(
        f"Fatima clicks “Read-only” on {DATABASE}: the bot acked in {clicked.latency * 1000:.0f} ms"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for call in slack.history():
            tagged = (call.args.get("metadata") or {}).get("event_type") == "dbaccess_credential"
            if call.method == "chat.postMessage" and call.ok and tagged:
                found = LINK.search(World.dm_text(call.args))
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise SystemExit("no DM with a link within 30 s")


def read_once(link: str) -> dict[str, str]:
    """Open the link as a browser does: fetch the paste, decrypt it with the key in the URL's
    fragment (never sent to the server), with the independent `privatebin` client."""
    import privatebin as browser

    text = browser.get(link).text
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name in ("Host", "Port", "Database", "Login", "Password"):
            fields[name] = value.strip()
    try:
        browser.get(link)
    except browser.PrivateBinError:
        fields["burned"] = "yes"
    return fields


def psql(pg: pgserver.PostgresServer, login: str, password: str) -> str:
    env = pg.client_env(login, password, database=DATABASE)
    done = subprocess.run(
        [pg.psql_path, "-X", "-A", "-t", "-c", QUERY],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


QUERY = (
    "select current_user, current_database(), (select ssl from pg_stat_ssl "
    "where pid = pg_backend_pid()), (select count(*) from orders)"
)


def prepare_database(pg: pgserver.PostgresServer) -> None:
    """`orders` with a few rows, readable by the login (what the deploy's grants give)."""
    pg.psql(f'CREATE DATABASE "{DATABASE}"')
    pg.psql(
        "CREATE TABLE orders (id int PRIMARY KEY, total numeric);"
        "INSERT INTO orders VALUES (1, 19.90), (2, 5.00), (3, 120.00);",
        dbname=DATABASE,
    )


def login_gets_password(pg: pgserver.PostgresServer, login: str, password: str) -> None:
    """Stands in for RDS's IAM authentication, which a local server cannot do."""
    pg.create_login(login, password)
    pg.psql(f'GRANT SELECT ON orders TO "{login}"', dbname=DATABASE)


def with_dbaccess_connect(pg: pgserver.PostgresServer, endpoint: str, work: Path) -> None:
    from dbaccess.access import load_access_file
    from dbaccess.catalog import build_person_object, to_json
    from dbaccess.iam.documents import role_arn
    from tests.services.engineer_cli import dbaccess_as

    plan = load_access_file(ROOT / "access.yaml", today=dt.datetime.now(dt.UTC).date())
    person = plan.people[EMAIL]
    roles = {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}
    document = build_person_object(plan, person, roles, {DATABASE: "db-ORDERS"})
    document["databases"][DATABASE].update(host=pg.host, port=pg.port)
    catalog_file = work / f"{EMAIL}.json"
    catalog_file.write_text(to_json(document))
    common = ("--ca-bundle", str(pg.ca_file), "--catalog", str(catalog_file))
    dbaccess = dbaccess_as(
        role_arn(ACCOUNT, person.role_name),
        EMAIL,
        endpoint,
        work,
        client_dir=str(Path(pg.psql_path).parent),
        drop="PG",
    )
    step(f"Fatima, in her shell with her role's AWS credentials: dbaccess token {DATABASE}")
    issued = dbaccess("token", DATABASE, "--format", "env", *common)
    if issued.returncode != 0:
        raise SystemExit(f"dbaccess token failed: {issued.stderr}")
    exported = dict(w.split("=", 1) for w in shlex.split(issued.stdout)[1:])
    detail(issued.stderr.strip())
    login_gets_password(pg, exported["PGUSER"], exported["PGPASSWORD"])
    step(f"dbaccess connect {DATABASE} -- -c '<query>'   (replaces itself with psql)")
    connected = dbaccess("connect", DATABASE, *common, "--", "-X", "-A", "-t", "-c", QUERY)
    if connected.returncode != 0:
        raise SystemExit(f"dbaccess connect failed: {connected.stderr}")
    detail(f"psql answered: {connected.stdout.strip()}  (user | database | TLS | rows)")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    offline_aws()
    from tests.fakes.slack import FakeSlack

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        step("Starting the stand-ins: PostgreSQL (TLS), moto (AWS), the fake Slack, PrivateBin")
        pg = stack.enter_context(postgres())
        detail(f"PostgreSQL on {pg.host}:{pg.port}, verify-full against a local test CA")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        endpoint = stack.enter_context(moto_server())
        detail(f"moto (DynamoDB + stream, S3, STS, Secrets Manager) on {endpoint}")
        slack = stack.enter_context(FakeSlack())
        slack.add_user(SLACK_USER, EMAIL)
        detail(f"fake Slack (Web API and Socket Mode) on {slack.api_url}")
        paste_url, paste_kind = stack.enter_context(privatebin_server())
        detail(f"{paste_kind} on {paste_url}")
        prepare_database(pg)

        step("Publishing what a deploy makes: catalog.json, the request table, the token secret")
        stream_arn, secret_arn = publish(endpoint, catalog(pg), slack.bot_token)
        issuer_environment(endpoint, secret_arn, slack.api_url, paste_url)
        stack.enter_context(event_source_mapping(stream_arn, endpoint))
        step("Starting the real Slack bot (Socket Mode) and the issuer behind the table's stream")
        stack.enter_context(running_bot(slack))

        link = click_and_wait_for_link(slack)
        step("The DM with the one-time link arrived:")
        detail(link)
        fields = read_once(link)
        step("Opened once, as a browser does (decrypted here with the key in the link's #)")
        for name in ("Host", "Port", "Database", "Login"):
            detail(f"{name + ':':<10} {fields[name]}")
        detail(f"Password:  ({len(fields['Password'])} characters, valid 15 minutes; not shown)")
        detail(
            "opening it again: "
            + ("gone (burned after reading)" if fields.get("burned") else "STILL THERE")
        )
        login_gets_password(pg, fields["Login"], fields["Password"])
        step(f"psql as {fields['Login']} with that password, sslmode=verify-full")
        answered = psql(pg, fields["Login"], fields["Password"])
        detail(f"psql answered: {answered}  (user | database | TLS | rows)")

        with_dbaccess_connect(pg, endpoint, Path(tmp))
        step("Stopping everything this demo started")
    step("Done: every process stopped.")


if __name__ == "__main__":
    main()
