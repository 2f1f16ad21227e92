"""Adding one grant as text: GIVEN an access file, WHEN a grant is added for a person, THEN
exactly one new line (or one new flow entry) appears, in its neighbours' style, and the person
has exactly that grant more."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dbaccess.access import InvalidInput, load_access_text
from dbaccess.access.edit import EditError, add_grant

ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.date(2026, 11, 23)
SAMPLE = (ROOT / "access.yaml").read_text()


def grants_of(text: str, email: str) -> set[tuple[str, str]]:
    person = load_access_text(text, "access.yaml", today=TODAY).people.get(email)
    return {(g.database, g.access) for g in person.grants} if person else set()


def test_a_grant_is_a_new_line_under_the_persons_list_in_its_style() -> None:
    result = add_grant(
        SAMPLE, "Fatima.Zahra@example.com", "inventory", "read-write", TODAY,
        until=dt.date(2026, 12, 31), reason="INC-77: fix stock",
    )  # fmt: skip
    entry = (
        "      - {database: inventory, access: read-write, until: 2026-12-31, "
        'reason: "INC-77: fix stock"}\n'
    )
    anchor = "      - {database: payments-staging, access: read-only}\n\n  kenji"
    assert result == SAMPLE.replace(anchor, anchor.replace("\n\n", "\n" + entry + "\n", 1))
    before, after = (
        grants_of(SAMPLE, "fatima.zahra@example.com"),
        grants_of(result, "fatima.zahra@example.com"),
    )
    assert after - before == {("inventory", "read-write")}


def test_a_new_person_goes_at_the_end_of_people_with_crlf_kept() -> None:
    text = SAMPLE.replace("\n", "\r\n")
    result = add_grant(text, "zoe.ng@example.com", "orders", "read-only", TODAY)
    assert result.startswith(text)
    assert result[len(text) :] == (
        "  zoe.ng@example.com:\r\n    grants:\r\n      - {database: orders, access: read-only}\r\n"
    )
    assert grants_of(result, "zoe.ng@example.com") == {("orders", "read-only")}


def test_a_person_without_grants_gets_a_grants_list() -> None:
    text = SAMPLE + "  yuki.sato@example.com:\n    username: ysato\n"
    result = add_grant(text, "yuki.sato@example.com", "orders", "read-only", TODAY)
    assert result == text + "    grants:\n      - {database: orders, access: read-only}\n"


def test_a_flow_list_gets_one_more_flow_entry() -> None:
    text = (
        SAMPLE + "  yuki.sato@example.com:\n    grants: [{database: orders, access: read-only}]\n"
    )
    result = add_grant(text, "yuki.sato@example.com", "inventory", "read-only", TODAY)
    assert result == text.replace(
        "read-only}]\n", "read-only}, {database: inventory, access: read-only}]\n"
    )


def test_the_first_person_of_an_empty_people_mapping() -> None:
    text = SAMPLE[: SAMPLE.index("\ngroups:") + 1] + "people: {}\n"
    result = add_grant(text, "zoe.ng@example.com", "orders", "read-only", TODAY)
    assert result == text.replace(
        "people: {}\n",
        "people:\n  zoe.ng@example.com:\n    grants:\n      - {database: orders, access: read-only}\n",
    )
    assert grants_of(result, "zoe.ng@example.com") == {("orders", "read-only")}


def test_a_grant_held_already_or_invalid_changes_nothing() -> None:
    with pytest.raises(EditError, match="already has read-write on payments-staging"):
        add_grant(SAMPLE, "marco.rossi@example.com", "payments-staging", "read-write", TODAY)
    with pytest.raises(InvalidInput, match="needs 'until' and 'reason'"):
        add_grant(SAMPLE, "marco.rossi@example.com", "orders", "read-write", TODAY)
    with pytest.raises(EditError, match="no database 'nope'"):
        add_grant(SAMPLE, "marco.rossi@example.com", "nope", "read-only", TODAY)
    with pytest.raises(EditError, match="no database"):
        add_grant(SAMPLE, "marco.rossi@example.com", "orders}, {database: x", "read-only", TODAY)
