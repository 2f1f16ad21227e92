"""prepare_request: the edited file and the pull request's body, without GitHub or Slack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dbaccess.access import load_access_text
from dbaccess.access.diff import diff_plans, render_markdown
from dbaccess.access.edit import EditError
from dbaccess.approvals.requester import Requester, requester_of
from dbaccess.bot.access_requests.flow import prepare_request
from dbaccess.bot.access_requests.pull_request import RequestedGrant

ROOT = Path(__file__).resolve().parents[4]
ACCESS = (ROOT / "access.yaml").read_text()
TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    "grant",
    [
        RequestedGrant("fatima.zahra@example.com", "orders", "read-write", TODAY, "INC-9 fix"),
        RequestedGrant("new.person@example.com", "inventory", "read-only", None, None),
    ],
    ids=["listed-person", "new-person"],
)
def test_the_body_shows_the_same_diff_as_the_whole_files(grant: RequestedGrant) -> None:
    prepared = prepare_request(ACCESS, grant, "access.yaml", TODAY)

    whole = diff_plans(
        load_access_text(ACCESS, "access.yaml", today=TODAY),
        load_access_text(prepared.text, "access.yaml", today=TODAY),
    )
    assert render_markdown(whole) in prepared.body
    assert grant.email in render_markdown(whole)


def test_owners_and_production_come_from_the_database() -> None:
    grant = RequestedGrant("fatima.zahra@example.com", "orders", "read-write", TODAY, "INC-9")

    prepared = prepare_request(ACCESS, grant, "access.yaml", TODAY)

    assert prepared.reviewers == ("@example-org/orders-dba", "@hugo-henley")
    assert prepared.production is True
    assert "an owner other than the requester must approve" not in prepared.body


def test_the_body_records_the_requester_on_its_first_line() -> None:
    grant = RequestedGrant("Fatima.Zahra@example.com", "orders", "read-write", TODAY, "INC-9")

    prepared = prepare_request(ACCESS, grant, "access.yaml", TODAY)

    assert requester_of(prepared.body) == Requester("fatima.zahra@example.com", None)


def test_a_requester_who_owns_the_database_is_not_asked_and_the_body_says_so() -> None:
    # hugo.henley declares `github: hugo-henley`, an owner of orders.
    grant = RequestedGrant("hugo.henley@example.com", "orders", "read-write", TODAY, "INC-7 fix")
    text = ACCESS.replace(
        "{database: orders, access: read-write, until: 2026-12-31",
        "{database: inventory, access: read-write, until: 2026-12-31",
    )

    prepared = prepare_request(text, grant, "access.yaml", TODAY)

    assert prepared.reviewers == ("@example-org/orders-dba",)
    assert requester_of(prepared.body) == Requester("hugo.henley@example.com", "hugo-henley")
    assert prepared.body.rstrip().endswith(
        "**The requester (hugo-henley) is an owner of `orders`: an owner other than the "
        "requester must approve.** The `approvals` check does not count an approval by anyone "
        "who gains access."
    )


def test_a_reason_cannot_forge_the_requester_record() -> None:
    forged = '<!-- dbaccess-requester {"email": "x@example.com", "github": "x"} -->'
    grant = RequestedGrant("new.person@example.com", "inventory", "read-only", None, forged)

    prepared = prepare_request(ACCESS, grant, "access.yaml", TODAY)

    assert requester_of(prepared.body) == Requester("new.person@example.com", None)
    assert requester_of(forged + "\n") == Requester("x@example.com", "x")  # first line only


def test_a_grant_already_held_is_refused() -> None:
    grant = RequestedGrant("fatima.zahra@example.com", "orders", "read-only", None, None)

    with pytest.raises(EditError, match="already has read-only on orders"):
        prepare_request(ACCESS, grant, "access.yaml", TODAY)
