"""prepare_request: the edited file and the pull request's body, without GitHub or Slack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dbaccess.access import load_access_text
from dbaccess.access.diff import diff_plans, render_markdown
from dbaccess.access.edit import EditError
from dbaccess.bot.request_flow import prepare_request
from dbaccess.request_pr import RequestedGrant

ROOT = Path(__file__).resolve().parents[3]
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


def test_a_grant_already_held_is_refused() -> None:
    grant = RequestedGrant("fatima.zahra@example.com", "orders", "read-only", None, None)

    with pytest.raises(EditError, match="already has read-only on orders"):
        prepare_request(ACCESS, grant, "access.yaml", TODAY)
