"""The request modal's Block Kit, checked by slack_sdk's own limits (no Slack needed)."""

from __future__ import annotations

import datetime as dt

from dbaccess.bot import ids
from dbaccess.bot.access_requests.form import FormError, read_submission, request_form
from dbaccess.bot.views import home_view_dict
from dbaccess.catalog import CatalogDatabase

TODAY = dt.date(2026, 11, 29)


def database(key: str, production: bool = False, description: str | None = None) -> CatalogDatabase:
    return CatalogDatabase(
        key=key,
        engine="postgres",
        account="123456789012",
        region="eu-west-1",
        host=f"{key}.example.com",
        port=5432,
        database=key,
        identifier=key,
        resource_id=None,
        description=description,
        production=production,
        groups={},
    )


def test_more_databases_than_a_select_holds_are_grouped() -> None:
    databases = [database(f"db-{n:03d}") for n in range(250)]

    form = request_form(databases, TODAY)

    (select,) = [
        b["element"] for b in form["blocks"] if b.get("block_id") == ids.FORM_DATABASE_BLOCK
    ]
    groups = select["option_groups"]
    assert [len(g["options"]) for g in groups] == [100, 100, 50]
    assert groups[0]["label"]["text"] == "db-000 – db-099"
    values = [o["value"] for g in groups for o in g["options"]]
    assert values == sorted(d.key for d in databases)


def test_a_long_description_is_cut_to_slacks_limit() -> None:
    form = request_form([database("orders", True, "x" * 200)], TODAY)

    (select,) = [
        b["element"] for b in form["blocks"] if b.get("block_id") == ids.FORM_DATABASE_BLOCK
    ]
    (option,) = select["options"]
    assert len(option["description"]["text"]) == 75
    assert option["description"]["text"].endswith("…")


def test_read_only_without_a_date_has_no_end() -> None:
    values = {
        ids.FORM_DATABASE_BLOCK: {ids.FORM_DATABASE_ACTION: {"selected_option": {"value": "a"}}},
        ids.FORM_ACCESS_BLOCK: {
            ids.FORM_ACCESS_ACTION: {"selected_option": {"value": "read-only"}}
        },
        ids.FORM_REASON_BLOCK: {ids.FORM_REASON_ACTION: {"value": "  two\n lines  "}},
    }

    grant = read_submission(
        {"state": {"values": values}}, "a@example.com", {"a": database("a")}, TODAY
    )

    assert not isinstance(grant, FormError)
    assert (grant.until, grant.reason) == (None, "two lines")


def test_the_home_tab_has_the_request_access_button_under_its_header() -> None:
    view = home_view_dict([], "#db-access")

    assert view["blocks"][1]["block_id"] == ids.REQUEST_ACCESS_BLOCK
    (button,) = view["blocks"][1]["elements"]
    assert button["action_id"] == ids.OPEN_REQUEST_FORM
