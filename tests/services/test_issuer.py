"""The issuer end to end: a request item in moto's DynamoDB, its real stream record, the real
handler, a PrivateBin paste opened by an independent client, a DM in the fake Slack."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.sts.models import sts_backends

from dbaccess import request_table as rq
from dbaccess.issuer import handler
from tests.services.issuer_world import (
    ACCESS_CONTACT,
    REGION,
    SLACK_USERS,
    SUPPORT_CONTACT,
    TABLE,
    FakeContext,
    World,
    json_logs,
    load_event,
    matches_filter,
    world,
)

__all__ = ["json_logs", "world"]  # fixtures, imported for pytest

HUGO = "hugo.henley@example.com"  # orders read-only (group) and read-write (until 2026-12-31)
PRIYA = "priya.raman@example.com"  # analytics (Redshift) read-only
FATIMA = "fatima.zahra@example.com"  # orders read-only, payments-staging read-only
MARCO = "marco.rossi@example.com"  # payments-staging read-write, orders read-only
TOMAS = "tomas.novak@example.com"  # inventory read-only until 2026-10-31 (expired)
ORDERS_HOST = "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com"


def paste_fields(text: str) -> dict[str, str]:
    return {
        k.strip(): v.strip()
        for k, v in (line.split(":", 1) for line in text.splitlines() if ":  " in line)
    }


def assumed_role(access_key_id: str) -> object:
    for account in ("123456789012", "210987654321"):
        found = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key_id)
        if found is not None:
            return found
    raise AssertionError(f"no role assumed with {access_key_id}")


def test_a_request_becomes_a_one_time_link_in_a_dm(world: World) -> None:
    # GIVEN Fatima asks for read-only access to orders (a PostgreSQL database)
    request_id = world.request(FATIMA, "orders")

    # WHEN the stream delivers the new item to the issuer
    delivery = world.deliver()

    # THEN one invocation handled it, and she has exactly one DM, with a link
    assert delivery.invocations == 1
    assert delivery.responses == [{"batchItemFailures": []}]
    (dm,) = world.dms(FATIMA)
    text = world.dm_text(dm)
    assert "read-only access to *orders* (Orders service (primary)) is ready" in text
    assert "opens *once* and expires in 10 minutes" in text
    assert "a session you opened before then keeps going" in text
    assert "Already opened, or opened by someone else? It works once: ask again" in json.dumps(
        dm["blocks"]
    )
    assert dm["unfurl_links"] is False
    link = world.link_in(dm)
    assert link.startswith(world.privatebin.url + "?")
    assert link not in dm["text"]  # the notification text never carries it
    # AND the paste opens with an independent PrivateBin client, once
    pasted = world.privatebin.read(link)
    fields = paste_fields(pasted)
    assert fields["Engine"] == "postgres"
    assert fields["Host"] == ORDERS_HOST
    assert fields["Port"] == "5432"
    assert fields["Database"] == "orders"
    assert fields["Login"] == "fatimazahra_ro"
    # AND times are in her Slack time zone (users.info: Europe/London), with UTC beside
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d Europe/London \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\) "
        r"\(the password stops working then; a session already open keeps going\)",
        fields["Expires"],
    ), fields["Expires"]
    assert re.search(r"stops working at [-\d: ]+ Europe/London \([-\d: ]+ UTC\)", text), text
    # AND what a DBeaver or DataGrip user needs: SSL mode and the RDS CA bundle to use
    assert fields["SSL mode"] == "verify-full"
    assert fields["CA file"] == (
        "global-bundle.pem (download: "
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)"
    )
    # AND where each field goes in DBeaver and DataGrip, the CA file included
    assert "DBeaver: Database > New Database Connection > PostgreSQL." in pasted
    assert "Root certificate: global-bundle.pem (the CA file)" in pasted
    assert "DataGrip: File > New > Data Source > PostgreSQL." in pasted
    assert "CA file: global-bundle.pem (the CA file), Mode: Verify full" in pasted
    assert "This link opened once and is gone now" in pasted
    # AND a psql line that works as pasted: it names the CA file the curl line saves
    assert (
        f'psql "host={ORDERS_HOST} port=5432 dbname=orders user=fatimazahra_ro '
        'sslmode=verify-full sslrootcert=global-bundle.pem"'
    ) in pasted
    assert world.privatebin.pastes == {}  # burnt after reading
    # AND the password is an RDS token for her login, signed with the role the issuer assumed
    token = fields["Password"]
    url = urlsplit("https://" + token)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == f"{ORDERS_HOST}:5432"
    assert query["Action"] == "connect"
    assert query["DBUser"] == "fatimazahra_ro"
    assert query["X-Amz-Expires"] == "900"
    access_key_id, _, region, service, _ = query["X-Amz-Credential"].split("/")
    assert (region, service) == (REGION, "rds-db")
    role = assumed_role(access_key_id)
    assert role.role_arn == "arn:aws:iam::123456789012:role/dbaccess/dbaccess-fatimazahra"  # type: ignore[attr-defined]
    # AND the role was assumed as her: SourceIdentity, session name, 15 minutes
    assert world.assume_role_calls == [
        {
            "RoleArn": "arn:aws:iam::123456789012:role/dbaccess/dbaccess-fatimazahra",
            "RoleSessionName": FATIMA,
            "SourceIdentity": FATIMA,
            "DurationSeconds": 900,
        }
    ]
    # AND the request is ISSUED, with when and how long it took
    item = world.item(request_id)
    assert item[rq.STATUS] == {"S": "ISSUED"}
    assert item[rq.ATTEMPTS] == {"N": "1"}
    assert item[rq.ISSUED_AT]["S"].endswith("Z")
    assert int(item[rq.DURATION_MS]["N"]) >= 0
    assert rq.ERROR_CODE not in item
    assert "claimed_by" not in item


def test_a_database_in_another_account_uses_the_role_there(world: World) -> None:
    # GIVEN Marco asks for read-write on payments-staging (Aurora, staging account, eu-central-1)
    world.request(MARCO, "payments-staging", "read-write")

    # WHEN it is delivered
    world.deliver()

    # THEN the staging role was assumed and the token is for the Aurora endpoint there
    assert world.assume_role_calls[0]["RoleArn"] == (
        "arn:aws:iam::210987654321:role/dbaccess/dbaccess-marcorossi"
    )
    fields = paste_fields(world.privatebin.read(world.link_in(world.dms(MARCO)[0])))
    query = parse_qs(urlsplit("https://" + fields["Password"]).query)
    assert query["DBUser"] == ["marcorossi_rw"]
    assert query["X-Amz-Credential"][0].split("/")[2] == "eu-central-1"


def test_redshift_credentials_come_from_get_cluster_credentials(world: World) -> None:
    # GIVEN the Redshift cluster, and Priya asking for read-only on analytics
    import boto3

    boto3.client("redshift", region_name=REGION).create_cluster(
        ClusterIdentifier="analytics-dwh",
        NodeType="ra3.xlplus",
        MasterUsername="admin",
        MasterUserPassword="Admin-passw0rd",
        DBName="analytics",
    )
    request_id = world.request(PRIYA, "analytics")

    # WHEN it is delivered
    world.deliver()

    # THEN her paste holds a Redshift temporary password for her login
    fields = paste_fields(world.privatebin.read(world.link_in(world.dms(PRIYA)[0])))
    assert fields["Engine"] == "redshift"
    assert fields["Port"] == "5439"
    # AND it names Redshift's CA bundle (Amazon Trust Services roots), not RDS's
    assert fields["CA file"].startswith("amazon-trust-ca-bundle.crt (download: https://")
    assert fields["Login"].split(":", 1)[1] == "priyaraman_ro"
    assert len(fields["Password"]) >= 16
    assert world.status(request_id) == "ISSUED"


def test_no_grant_is_denied_with_whom_to_ask_and_nothing_is_made(world: World) -> None:
    # GIVEN Fatima asks for read-write on orders, which access.yaml does not give her
    request_id = world.request(FATIMA, "orders", "read-write")

    # WHEN it is delivered
    world.deliver()

    # THEN she is told no, and how to get access; no role assumed, no paste made
    (dm,) = world.dms(FATIMA)
    text = world.dm_text(dm)
    assert "I did not issue read-write access to *orders*" in text
    assert "you have not been given read-write access to it" in text
    assert f"To get access, {ACCESS_CONTACT}." in text
    assert world.assume_role_calls == []
    assert world.privatebin.post_count == 0
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ERROR_CODE]["S"]) == ("DENIED", "not_granted")


@pytest.mark.parametrize(
    ("email", "database", "reason"),
    [
        (TOMAS, "inventory", "you have not been given read-only access to it"),
        (FATIMA, "billing", "there is no database called billing that I know of"),
    ],
)
def test_expired_or_unknown_is_denied(world: World, email: str, database: str, reason: str) -> None:
    # GIVEN a grant that expired (the catalog no longer lists it) or a database that does not exist
    request_id = world.request(email, database)

    # WHEN it is delivered
    world.deliver()

    # THEN it is DENIED, saying why
    assert reason in world.dm_text(world.dms(email)[0])
    assert world.status(request_id) == "DENIED"


def test_the_same_record_delivered_twice_sends_one_dm(world: World) -> None:
    # GIVEN a request whose stream record Lambda delivers again (in a later batch, and twice
    # within one batch)
    world.request(HUGO, "orders")
    records = world.new_stream_records()

    # WHEN it is delivered three times
    first = world.invoke(records)
    again = world.invoke(records + records)

    # THEN Hugo got one DM and one paste exists
    assert first == again == {"batchItemFailures": []}
    assert len(world.dms(HUGO)) == 1
    assert world.privatebin.post_count == 1


def test_privatebin_down_is_retried_then_failed_with_a_dm(world: World) -> None:
    # GIVEN PrivateBin does not answer
    world.privatebin.down()
    request_id = world.request(FATIMA, "orders")

    # WHEN the stream delivers the request, retrying what the handler reports failed
    delivery = world.deliver()

    # THEN it was tried three times, then given up: FAILED, and she was told nothing was issued
    assert delivery.invocations == 3
    sequence = delivery.responses[0]["batchItemFailures"][0]["itemIdentifier"]
    assert delivery.responses == [
        {"batchItemFailures": [{"itemIdentifier": sequence}]},
        {"batchItemFailures": [{"itemIdentifier": sequence}]},
        {"batchItemFailures": []},
    ]
    assert delivery.dead_letters == []
    item = world.item(request_id)
    assert item[rq.STATUS] == {"S": "FAILED"}
    assert item[rq.ATTEMPTS] == {"N": "3"}
    assert item[rq.ERROR_CODE] == {"S": "privatebin_unavailable"}
    (dm,) = world.dms(FATIMA)
    text = world.dm_text(dm)
    assert "the service that holds your one-time link did not answer" in text
    assert "Nothing was issued. Something failed on our side. Try again in a few" in text
    # An outage sends people to support, not to the access contact.
    assert SUPPORT_CONTACT in text
    assert ACCESS_CONTACT not in text


def test_a_transient_failure_hands_the_request_back_for_the_next_delivery(world: World) -> None:
    # GIVEN PrivateBin is down for the first delivery only
    world.privatebin.unavailable(503)
    request_id = world.request(FATIMA, "orders")
    records = world.new_stream_records()

    # WHEN the first delivery fails
    first = world.invoke(records)

    # THEN the record is reported failed and the request is PENDING again, attempt counted
    assert first["batchItemFailures"] == [
        {"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}
    ]
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ATTEMPTS]["N"]) == ("PENDING", "1")
    assert item[rq.ERROR_CODE] == {"S": "privatebin_unavailable"}
    assert world.dms(FATIMA) == []

    # WHEN PrivateBin is back and Lambda delivers the record again
    world.privatebin._modes.http_status = None
    second = world.invoke(records)

    # THEN the retry claims it again and issues
    assert second == {"batchItemFailures": []}
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ATTEMPTS]["N"]) == ("ISSUED", "2")
    assert rq.ERROR_CODE not in item
    assert len(world.dms(FATIMA)) == 1


def test_slack_rate_limit_is_waited_out(world: World) -> None:
    # GIVEN Slack answers the next chat.postMessage with 429, Retry-After: 1
    world.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    request_id = world.request(FATIMA, "orders")

    # WHEN it is delivered
    started = time.monotonic()
    delivery = world.deliver()
    elapsed = time.monotonic() - started

    # THEN the issuer waited as told and posted again, within the same attempt
    assert delivery.invocations == 1
    assert len(world.slack.calls("chat.postMessage")) == 2
    assert len(world.dms(FATIMA)) == 1
    assert elapsed >= 1.0
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ATTEMPTS]["N"]) == ("ISSUED", "1")


def test_slack_not_reaching_the_person_fails_without_making_a_credential(world: World) -> None:
    # GIVEN Slack cannot open a DM with the person
    world.slack.fail("conversations.open", "user_not_found", times=10)
    request_id = world.request(FATIMA, "orders")

    # WHEN it is delivered
    world.deliver()

    # THEN it FAILED at once (not worth retrying) and no credential or paste was made
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ATTEMPTS]["N"]) == ("FAILED", "1")
    assert world.assume_role_calls == []
    assert world.privatebin.post_count == 0


def test_a_malformed_record_fails_alone(world: World) -> None:
    # GIVEN a batch with a request and an item that passes the filter but is no request
    world.dynamodb.put_item(
        TableName=TABLE, Item={"request_id": {"S": "junk"}, "status": {"S": "PENDING"}}
    )
    world.request(FATIMA, "orders")
    records = world.new_stream_records()
    assert all(matches_filter(r) for r in records)

    # WHEN the batch is delivered
    response = world.invoke(records)

    # THEN only the malformed record is reported failed; the request was issued
    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert len(world.dms(FATIMA)) == 1


def test_the_stream_record_has_the_shape_of_the_sample_event(world: World) -> None:
    # GIVEN the canonical sample event and a record read from moto's stream
    sample = load_event("request_inserted.json")["Records"][0]
    world.request(FATIMA, "orders")
    (record,) = world.new_stream_records()

    # THEN they have the same fields, and the sample passes the stream filter
    assert set(record) == set(sample)
    assert set(record["dynamodb"]) == set(sample["dynamodb"])
    assert set(record["dynamodb"]["NewImage"]) == set(sample["dynamodb"]["NewImage"])
    assert matches_filter(sample)


def test_nothing_secret_in_logs_exceptions_or_the_item(
    world: World,
    json_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN every log captured at DEBUG, a Slack 429 and a failing first delivery on the way
    caplog.set_level(logging.DEBUG)
    world.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    world.privatebin.rate_limit(1, wait_seconds=1)
    ok = world.request(FATIMA, "orders")
    records = world.new_stream_records()
    world.privatebin._modes.http_status = 503
    failures = []
    for record in records:  # one by one, to keep what each raised
        try:
            handler.record_handler(record, FakeContext())  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - whatever it raised is checked below
            failures.append(f"{type(exc).__name__}: {exc}")
    world.privatebin._modes.http_status = None

    # WHEN the request is delivered again and issued
    world.invoke(records)

    # THEN the secrets it involved appear in none of what an operator can see
    link = world.link_in(world.dms(FATIMA)[0])
    password = paste_fields(world.privatebin.read(link))["Password"]
    key = link.split("#-", 1)[1]
    (role_arn,) = {c["RoleArn"] for c in world.assume_role_calls}
    roles = [r for r in sts_backends["123456789012"]["aws"].assumed_roles if r.role_arn == role_arn]
    seen = "\n".join(
        [
            json_logs.getvalue(),
            *capsys.readouterr(),
            caplog.text,
            *(json.dumps(vars(r), default=str) for r in caplog.records),
            *failures,
            json.dumps(world.item(ok)),
            json.dumps(world.dynamodb.scan(TableName=TABLE)["Items"]),
        ]
    )
    assert '"outcome":"issued"' in seen.replace(" ", "")
    assert failures
    for secret in (password, link, key, world.bot_token, *(r.session_token for r in roles)):
        assert secret not in seen
    for role in roles:
        assert role.secret_access_key not in seen


def test_one_audit_line_per_request(world: World, json_logs: io.StringIO) -> None:
    # GIVEN two requests, one granted and one not
    issued = world.request(FATIMA, "orders")
    denied = world.request(HUGO, "analytics")

    # WHEN they are delivered
    world.deliver()

    # THEN each has one JSON audit line with who, what, outcome, duration and attempt
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    audit = {line["request_id"]: line for line in lines if line.get("audit")}
    assert set(audit) == {issued, denied}
    assert {k: audit[issued][k] for k in ("email", "database", "access", "outcome", "attempt")} == {
        "email": FATIMA,
        "database": "orders",
        "access": "read-only",
        "outcome": "issued",
        "attempt": 1,
    }
    assert audit[denied]["outcome"] == "denied"
    assert audit[issued]["service"] == "dbaccess-issuer"
    assert isinstance(audit[issued]["duration_ms"], int)


def test_the_request_item_expires_after_the_audit_retention() -> None:
    # GIVEN a request made now with the default retention
    now = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    item = rq.new_request(
        request_id="1.2.abc",
        email="Fatima.Zahra@example.com",
        slack_user_id=SLACK_USERS[FATIMA],
        channel="D0FATIMA",
        database="orders",
        access="read-only",
        requested_at=now,
    )

    # THEN it is PENDING, lower-cased, and purged 400 days later
    stored = rq.to_item(item)
    assert stored[rq.EMAIL] == {"S": FATIMA}
    assert stored[rq.REQUESTED_AT] == {"S": "2026-11-23T09:30:00Z"}
    assert stored[rq.STATUS] == {"S": "PENDING"}
    assert stored[rq.ATTEMPTS] == {"N": "0"}
    assert int(stored[rq.PURGE_AT]["N"]) == int((now + dt.timedelta(days=400)).timestamp())


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.pop("dynamodb").clear(),  # no image at all (nor a sequence number: below)
        lambda r: r["dynamodb"].pop("NewImage"),
        lambda r: r["dynamodb"].__setitem__("NewImage", {"request_id": {"Q": "x"}}),
        lambda r: r["dynamodb"].__setitem__("NewImage", ["not", "a", "map"]),
        lambda r: r["dynamodb"]["NewImage"].__setitem__("email", {"N": "12"}),
    ],
    ids=["no-dynamodb", "no-image", "unknown-type", "image-not-a-map", "email-a-number"],
)
def test_a_record_that_is_no_request_fails_alone_and_is_audited(
    world: World, json_logs: io.StringIO, damage: Any
) -> None:
    # GIVEN a batch of two requests, the first record damaged
    world.request(FATIMA, "orders")
    hugo = world.request(HUGO, "orders")
    records = world.new_stream_records()
    sequence = records[0]["dynamodb"]["SequenceNumber"]
    damage(records[0])

    # WHEN the batch is delivered
    if "SequenceNumber" not in records[0].get("dynamodb", {}):
        # THEN a failure that cannot be reported alone fails the whole batch (never lost)
        with pytest.raises(RuntimeError, match="no sequence number"):
            world.invoke(records)
        return
    response = world.invoke(records)

    # THEN only the damaged record is reported failed, audited as malformed; the other issued
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert '"outcome":"malformed"' in json_logs.getvalue().replace(" ", "")
    assert world.item(hugo)[rq.STATUS]["S"] == "ISSUED"


def test_an_unexpected_failure_is_reported_and_logged_without_its_message(
    world: World, json_logs: io.StringIO
) -> None:
    # GIVEN a DynamoDB client that fails in a way the issuer does not expect, with a message
    # that carries something secret
    secret = "xoxb-not-for-the-logs"

    def broken(**_: Any) -> None:
        raise RuntimeError(f"unexpected: {secret}")

    world.request(FATIMA, "orders")
    records = world.new_stream_records()
    issuer = handler.issuer()
    issuer.table.client.meta.events.register("before-send.dynamodb", broken)

    # WHEN the record is delivered
    response = world.invoke(records)

    # THEN it is reported failed (delivered again), and the log names the error, not its text
    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    logs = json_logs.getvalue()
    assert "record failed: RuntimeError at " in logs
    assert secret not in logs


def test_an_event_without_records_has_nothing_to_report(world: World) -> None:
    assert handler.lambda_handler({}, FakeContext()) == {"batchItemFailures": []}  # type: ignore[arg-type]
