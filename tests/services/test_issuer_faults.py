"""The issuer under faults (issue 15's table): at most one delivered link per request, every
record finished or handed back before the invocation's deadline, and a person who is told when
nothing was issued. Real handler, moto, fake Slack and PrivateBin with injected faults."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from dbaccess import request_table as rq
from dbaccess.clients.deadline import Deadline
from dbaccess.issuer import handler
from dbaccess.issuer.flow import (
    BACKOFF_BASE,
    DM_EVENT_TYPE,
    SLACK_CALL_TIMEOUT,
    STATE_RESERVE,
    Issuer,
    RetryLater,
    lease_seconds,
)
from dbaccess.issuer.settings import LAMBDA_TIMEOUT_SECONDS
from tests.services.issuer_world import TABLE, World, world

__all__ = ["world"]  # the fixture, imported for pytest

FATIMA = "fatima.zahra@example.com"  # orders read-only


def _is_final(status: str) -> Any:
    return lambda params: params.get("ExpressionAttributeValues", {}).get(":final") == {"S": status}


def _is_claim(params: dict[str, Any]) -> bool:
    return ":pending" in params.get("ExpressionAttributeValues", {}) and "#lease" in str(
        params.get("ConditionExpression")
    )


def test_slack_answering_the_dm_after_the_timeout_delivers_one_link(world: World) -> None:
    # GIVEN Slack posts the DM but answers only after the issuer stopped waiting
    world.slack.answer_late("chat.postMessage", SLACK_CALL_TIMEOUT + 1.5)
    request_id = world.request(FATIMA, "orders")

    # WHEN the request is delivered (and re-delivered as long as it is reported failed)
    delivery = world.deliver()

    # THEN Fatima has one DM with one link, one paste exists, and the request is ISSUED
    assert len(world.dms(FATIMA)) == 1
    assert world.privatebin.post_count == 1
    assert world.status(request_id) == "ISSUED"
    assert delivery.dead_letters == []
    # AND the DM carries the request id as message metadata (what the check looked for)
    (message,) = world.slack.messages("D0FATIMA")
    assert message["metadata"] == {
        "event_type": DM_EVENT_TYPE,
        "event_payload": {"request_id": request_id},
    }
    assert world.slack.calls("conversations.history")[0]["include_all_metadata"] in (True, "true")


def test_slack_trickling_its_answer_is_cut_at_the_deadline_and_delivers_one_link(
    world: World,
) -> None:
    # GIVEN Slack posts the DM, then sends its answer one byte every half second (a socket
    # timeout, reset by every byte, never trips on that)
    world.slack.answer_trickling("chat.postMessage", 0.5)
    request_id = world.request(FATIMA, "orders")

    # WHEN the request is delivered to an invocation with 20 s left
    started = time.monotonic()
    response = world.invoke(world.new_stream_records(), remaining_ms=20_000)
    took = time.monotonic() - started

    # THEN the post was cut at its time limit, well inside the invocation; the DM was found in
    # the history: one DM, one paste, ISSUED
    assert took < SLACK_CALL_TIMEOUT + 5, took
    assert response == {"batchItemFailures": []}
    assert world.status(request_id) == "ISSUED"
    assert len(world.dms(FATIMA)) == 1
    assert world.privatebin.post_count == 1


def test_the_issued_write_failing_after_the_dm_never_makes_a_second_link(world: World) -> None:
    # GIVEN DynamoDB refuses to write ISSUED (the DM is already out when that happens)
    fault = world.refuse_dynamodb("UpdateItem", "InternalServerError", _is_final("ISSUED"))
    request_id = world.request(FATIMA, "orders")

    # WHEN the stream delivers it, retrying what is reported failed, until dead-lettered
    first = world.deliver()

    # THEN one DM went out; the retries found the claim's lease alive and did nothing
    assert fault.refused
    assert len(world.dms(FATIMA)) == 1
    assert world.privatebin.post_count == 1
    assert len(first.dead_letters) == 1
    item = world.item(request_id)
    assert item[rq.STATUS] == {"S": "ISSUING"}
    assert item[rq.DM_CHANNEL] == {"S": "D0FATIMA"}

    # WHEN DynamoDB is back, the lease has run out and the dead letter is re-driven
    fault.active = False
    world.advance_clock(lease_seconds(Deadline.within(60)) + 1)
    again = world.deliver(records=first.dead_letters)

    # THEN the DM is found in Slack's history: ISSUED, still one DM and one paste
    assert again.responses == [{"batchItemFailures": []}]
    assert world.status(request_id) == "ISSUED"
    assert len(world.dms(FATIMA)) == 1
    assert world.privatebin.post_count == 1


def _handle_into(issuer: Issuer, image: dict[str, Any], invocation: str, out: list[str]) -> None:
    out.append(issuer.handle(image, invocation, Deadline.within(20)))


def test_two_deliveries_of_one_record_at_once_send_one_dm(world: World) -> None:
    # GIVEN two Lambda sandboxes (two cold starts) and a Slack that answers posts slowly,
    # so the first delivery is still working when the second arrives
    first, second = handler.cold_start(), handler.cold_start()
    table = rq.RequestTable(world.dynamodb, TABLE)
    for trial in range(3):
        world.slack.answer_late("chat.postMessage", 1.0)
        request_id = world.request(FATIMA, "orders")
        image = table.get(request_id)
        assert image is not None
        outcomes: list[str] = []
        worker = threading.Thread(
            target=_handle_into, args=(first, dict(image), f"invocation-a{trial}", outcomes)
        )

        # WHEN both work on the same record at the same time
        worker.start()
        world.slack.wait_for_call("chat.postMessage", count=trial + 1)
        with pytest.raises(RetryLater, match="held by another delivery"):
            second.handle(dict(image), f"invocation-b{trial}", Deadline.within(20))
        worker.join()

        # THEN the second left it alone: one DM, ISSUED by the first
        assert outcomes == ["issued"]
        assert world.status(request_id) == "ISSUED"
        assert len(world.dms(FATIMA)) == trial + 1
    assert world.privatebin.post_count == 3


def test_a_lease_outlives_the_lambda_timeout() -> None:
    # GIVEN any invocation deadline, THEN the claim's lease is longer than the function's
    # timeout and than what is left of the invocation
    for remaining in (1, 30, 60, 900):
        lease = lease_seconds(Deadline.within(remaining))
        assert lease > LAMBDA_TIMEOUT_SECONDS
        assert lease > remaining + STATE_RESERVE


def test_slack_rate_limiting_for_30_seconds_hands_the_record_back_in_time(world: World) -> None:
    # GIVEN Slack answers the DM with 429 and Retry-After: 30, three times, and the invocation
    # has 20 seconds left
    world.slack.rate_limit("chat.postMessage", times=3, retry_after=30)
    request_id = world.request(FATIMA, "orders")
    records = world.new_stream_records()

    # WHEN it is delivered
    started = time.monotonic()
    response = world.invoke(records, remaining_ms=20_000)
    elapsed = time.monotonic() - started

    # THEN it was handed back well before the deadline, its state written: PENDING again
    assert elapsed < 20 - STATE_RESERVE
    assert response["batchItemFailures"] == [
        {"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}
    ]
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ERROR_CODE]["S"]) == ("PENDING", "slack_unavailable")
    assert world.dms(FATIMA) == []


def test_a_privatebin_answering_a_byte_every_3_seconds_is_cut_at_the_deadline(
    world: World,
) -> None:
    # GIVEN PrivateBin answers one byte every 3 seconds and the invocation has 9 seconds left
    world.privatebin.trickle(3.0)
    request_id = world.request(FATIMA, "orders")
    records = world.new_stream_records()

    # WHEN it is delivered
    started = time.monotonic()
    response = world.invoke(records, remaining_ms=9_000)
    elapsed = time.monotonic() - started

    # THEN the paste call was cut at the record's deadline (9 s less the state reserve), and
    # the request handed back with room to write its state
    assert 9 - STATE_RESERVE - 1 < elapsed < 9 - 1
    assert len(response["batchItemFailures"]) == 1
    item = world.item(request_id)
    assert (item[rq.STATUS]["S"], item[rq.ERROR_CODE]["S"]) == (
        "PENDING",
        "privatebin_unavailable",
    )


def test_transient_failures_back_off_between_attempts(world: World) -> None:
    # GIVEN PrivateBin answers 503 to everything
    world.privatebin.unavailable(503)
    request_id = world.request(FATIMA, "orders")

    # WHEN the stream delivers the request and retries it
    world.deliver()

    # THEN the three attempts were spread out, each wait longer than the last
    first, second, third = world.privatebin.arrivals
    assert second - first >= BACKOFF_BASE
    assert third - second >= 2 * BACKOFF_BASE
    assert world.status(request_id) == "FAILED"


def test_dynamodb_refusing_the_claim_tells_the_person_nothing_was_issued(world: World) -> None:
    # GIVEN DynamoDB refuses the issuer's claim
    fault = world.refuse_dynamodb("UpdateItem", "AccessDeniedException", _is_claim)
    request_id = world.request(FATIMA, "orders")

    # WHEN the request is delivered
    delivery = world.deliver()

    # THEN Fatima is told nothing was issued; nothing was made, nothing dead-lettered
    assert fault.refused
    (dm,) = world.dms(FATIMA)
    assert "nothing was issued" in world.dm_text(dm).lower()
    assert world.privatebin.post_count == 0
    assert world.assume_role_calls == []
    assert delivery.dead_letters == []
    assert world.status(request_id) == "PENDING"


def test_a_delivery_that_finds_its_dm_in_the_history_does_not_tell_a_refused_claim(
    world: World,
) -> None:
    # GIVEN a request whose link was delivered, but whose ISSUED write failed
    fault = world.refuse_dynamodb("UpdateItem", "InternalServerError", _is_final("ISSUED"))
    world.request(FATIMA, "orders")
    first = world.deliver(max_retries=0)
    assert len(world.dms(FATIMA)) == 1
    fault.active = False

    # WHEN a re-delivery cannot even claim it (DynamoDB refuses)
    world.refuse_dynamodb("UpdateItem", "AccessDeniedException", _is_claim)
    world.deliver(records=first.dead_letters)

    # THEN she is not told "nothing was issued": her DM with the link is the only message
    assert len(world.dms(FATIMA)) == 1
    assert "nothing was issued" not in world.dm_text(world.dms(FATIMA)[0]).lower()
