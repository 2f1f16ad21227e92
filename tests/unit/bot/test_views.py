"""Block Kit builders, without Slack: what a person sees for their grants."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from slack_sdk.models.blocks import ActionsBlock

from dbaccess.bot import ids, views
from dbaccess.bot.directory import NotAllowed
from dbaccess.bot.grants import DatabaseChoices, choices_for, holds
from dbaccess.bot.views import home_view_dict
from dbaccess.catalog import Catalog

TODAY = dt.date(2026, 11, 23)


def databases(count: int, accesses: tuple[str, ...] = ("read-only",)) -> list[DatabaseChoices]:
    return [
        DatabaseChoices(f"db-{n:03d}", "PostgreSQL", f"Database {n}", n % 2 == 0, accesses)
        for n in range(count)
    ]


def request_buttons(blocks: list[dict]) -> list[str]:
    return [
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith(ids.REQUEST_PREFIX)
    ]


def test_one_section_and_one_button_row_per_database() -> None:
    view = views.home_view_dict(databases(2, ("read-only", "read-write")), "#db-access")

    assert view["type"] == "home"
    assert request_buttons(view["blocks"]) == [
        "db-000:read-only",
        "db-000:read-write",
        "db-001:read-only",
        "db-001:read-write",
    ]
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert sections[0] == "*db-000*  ·  PostgreSQL · production\nDatabase 0"
    danger = [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("style") == "danger"
    ]
    assert danger == ["db-000:read-write"]  # production read-write stands out


def test_no_grants_says_so_and_where_to_ask() -> None:
    view = views.home_view_dict([], "C0DBHELP42")

    text = str(view["blocks"])
    assert "You have no database access" in text
    assert "<#C0DBHELP42>" in text
    assert request_buttons(view["blocks"]) == []


@pytest.mark.parametrize("count", [1, 40, 41, 120])
def test_every_home_page_fits_slacks_limits_and_pages_cover_all(count: int) -> None:
    everything = databases(count)
    pages = views.page_count(count, views.HOME_PAGE_SIZE)
    seen: list[str] = []
    for page in range(pages):
        view = views.home_view_dict(everything, "#db-access", page)  # validates the limits
        assert len(view["blocks"]) <= views.HOME_MAX_BLOCKS
        seen += request_buttons(view["blocks"])
    assert seen == [f"{d.key}:read-only" for d in everything]


@pytest.mark.parametrize("count", [20, 21, 40])
def test_messages_page_under_fifty_blocks(count: int) -> None:
    everything = databases(count, ("read-only", "read-write"))
    first = views.message_blocks(everything, "#db-access", 0)
    assert len(first) <= views.MESSAGE_MAX_BLOCKS
    pager = [b for b in first if b.get("block_id") == ids.PAGER_BLOCK]
    assert bool(pager) == (count > views.MESSAGE_PAGE_SIZE)


def test_actions_blocks_never_exceed_25_elements() -> None:
    assert ActionsBlock.elements_max_length == 25
    view = views.home_view_dict(databases(40, ("read-only", "read-write")), "#db-access")
    assert max(len(b.get("elements", [])) for b in view["blocks"]) <= 25


def test_descriptions_are_escaped() -> None:
    db = DatabaseChoices("orders", "PostgreSQL", "<script> & co", False, ("read-only",))
    (section, _) = [b.to_dict() for b in views.choices_blocks([db], "#x", page_size=5, pager="p")][
        3:5
    ]
    assert "&lt;script&gt; &amp; co" in section["text"]["text"]


def test_request_actions_round_trip_and_forgeries_are_refused() -> None:
    choice = ids.RequestChoice("payments-staging", "read-write")
    assert ids.parse_request_action(choice.action_id, choice.value) == choice
    for action_id, value in [
        ("request:orders:read-only", "orders:read-write"),  # id and value disagree
        ("request:orders:admin", "orders:admin"),
        ("request:Orders:read-only", "Orders:read-only"),
        ("something-else", "orders:read-only"),
        ("request:orders:read-only", None),
    ]:
        with pytest.raises(ids.MalformedAction):
            ids.parse_request_action(action_id, value)


def test_every_id_is_defined_once() -> None:
    names = [n for n in dir(ids) if n.isupper() and isinstance(getattr(ids, n), str)]
    values = [getattr(ids, n) for n in names]
    assert len(values) == len(set(values))


def test_choices_leave_out_expired_grants_and_unknown_databases() -> None:
    catalog = Catalog.from_document(
        {
            "schema_version": 1,
            "databases": {
                "orders": {
                    "engine": "aurora-postgresql",
                    "account": "123456789012",
                    "region": "eu-west-1",
                    "host": "h",
                    "port": 5432,
                    "database": "orders",
                    "identifier": "orders",
                    "resource_id": None,
                    "description": "Orders",
                    "production": True,
                    "groups": {"read-only": "r", "read-write": "w"},
                }
            },
            "people": {
                "ann@example.com": {
                    "login_base": "ann",
                    "roles": {},
                    "grants": [
                        {
                            "database": "orders",
                            "access": "read-only",
                            "login": "ann_ro",
                            "until": None,
                        },
                        {
                            "database": "orders",
                            "access": "read-write",
                            "login": "ann_rw",
                            "until": "2026-11-22",
                        },
                        {
                            "database": "gone",
                            "access": "read-only",
                            "login": "ann_ro",
                            "until": None,
                        },
                    ],
                }
            },
        }
    )
    (orders,) = choices_for(catalog, "Ann@Example.com", TODAY)
    assert orders == DatabaseChoices("orders", "Aurora PostgreSQL", "Orders", True, ("read-only",))
    assert holds(catalog, "ann@example.com", ids.RequestChoice("orders", "read-only"), TODAY)
    assert not holds(catalog, "ann@example.com", ids.RequestChoice("orders", "read-write"), TODAY)
    assert not holds(catalog, "ann@example.com", ids.RequestChoice("gone", "read-only"), TODAY)


def test_the_home_tab_shows_when_a_dated_grant_ends() -> None:
    # GIVEN read-write on orders until the last day of 2026, read-only with no end
    db = DatabaseChoices(
        "orders",
        "PostgreSQL",
        "Orders",
        False,
        ("read-only", "read-write"),
        ends=(("read-write", dt.date(2026, 12, 31)),),
    )

    # WHEN the Home tab is built
    view = home_view_dict([db], "#db-access")

    # THEN the database's section says when the dated one ends, and only that one
    text = json.dumps(view)
    assert "Read-write until 31 December 2026" in text
    assert "Read-only until" not in text


def test_the_readme_example_script_renders_the_sample_persons_home() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "scripts/render_home_example.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.startswith("# Your databases")
    assert "[ Read-only ]  [ Read-write ]" in out


def test_the_example_script_renders_any_person_of_any_access_file(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    shutil.copy(root / "access.yaml", tmp_path / "access.yaml")

    def home(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "scripts/render_home_example.py", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    fatima = home("--file", str(tmp_path / "access.yaml"), "--person", "fatima.zahra@example.com")
    assert fatima.returncode == 0, fatima.stderr
    assert "orders" in fatima.stdout
    assert "hugo" not in fatima.stdout.lower()
    # Somebody without grants: the "no access" tab naming the email it looked up.
    nobody = home("--person", "New.Starter@example.com", "--help-channel", "#data-help")
    assert "I looked for your Slack email, new.starter@example.com" in nobody.stdout
    assert "ask in #data-help to have it corrected" in nobody.stdout
    missing = home("--file", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr


def test_what_an_analyst_reads_has_no_inner_workings() -> None:
    inner = ("catalog", "access.yaml", "IAM", "pull request")
    texts = [
        views.failed_to_look_up(),
        *(views.refused_person(why, "#db-access") for why in NotAllowed),
        json.dumps(views.home_view_dict([], "#db-access", email="a@example.com")),
    ]
    for text in texts:
        assert not [word for word in inner if word in text], text
