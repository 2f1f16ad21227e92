"""schema/access.schema.json (for editors) and the loader agree.

GIVEN the JSON Schema generated from the models, THEN the committed copy is that schema, the
sample access.yaml names it on its first line and validates against it, and every random file
the loader accepts, the schema accepts too (the schema may accept more: rules across fields
are `dbaccess validate`'s).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbaccess.access import InvalidInput, load_access_text
from dbaccess.access.json_schema import access_json_schema

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "schema" / "access.schema.json"
TODAY = dt.date(2026, 11, 23)
VALIDATOR = jsonschema.Draft202012Validator(
    access_json_schema(), format_checker=jsonschema.FormatChecker()
)


def as_editor_sees(value: Any) -> Any:
    """YAML as the language server hands it to the schema: dates are strings."""
    if isinstance(value, dict):
        return {str(k): as_editor_sees(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_editor_sees(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def schema_errors(text: str) -> list[str]:
    data = as_editor_sees(yaml.safe_load(text))
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == access_json_schema(), (
        "schema/access.schema.json is stale: run .venv/bin/python scripts/gen_access_schema.py"
    )
    jsonschema.Draft202012Validator.check_schema(committed)


def test_the_sample_names_the_schema_and_validates_against_it() -> None:
    text = (ROOT / "access.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./schema/access.schema.json"
    assert schema_errors(text) == []


def test_the_schema_refuses_what_editors_should_flag() -> None:
    text = (ROOT / "access.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["databases"]["orders"]["port"] = 70000
    data["databases"]["orders"]["engin"] = "postgres"
    data["databases"]["orders"]["account"] = 123456789012
    errors = [e.message for e in VALIDATOR.iter_errors(as_editor_sees(data))]
    assert any("70000" in e for e in errors)
    assert any("engin" in e for e in errors)
    assert any("123456789012" in e for e in errors)


# --- random files: loader accepts => schema accepts --------------------------------------


class Pick:
    """Draws a value among the good ones, or (in a noisy file) among good and bad ones, so
    that most files load and the rest probe the edges."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.noisy = draw(st.integers(0, 3)) == 0

    def __call__(self, good: list[Any], bad: list[Any] | None = None) -> Any:
        return self.draw(st.sampled_from(good + (bad or []) if self.noisy else good))

    def flag(self) -> bool:
        return self.draw(st.booleans())


EMAILS = ["ana@example.com", "Bo.Li@Example.com", "c+d@ex-ample.co.uk", "f_g@example.com"]


def database(key: str, engine: str, pick: Pick) -> dict[str, Any]:
    db: dict[str, Any] = {
        "engine": engine,
        "account": pick(["123456789012", "210987654321"], ["12345", 123456789012]),
        "region": pick(["eu-west-1", "us-east-1"], ["eu-west-9"]),
        "host": pick([f"{key}.example.internal", "A-1.b.c"], ["bad host", "h" * 254]),
        "port": pick([5432, 3306, 1, 65535], [0, 70000, "5432"]),
        "database": pick([key.replace("-", "_"), "Db$1"], ["with space"]),
    }
    db["instance" if engine in ("postgres", "mysql") else "cluster"] = f"{key}-id"
    if engine == "redshift":
        db["groups"] = {"read-only": pick([f"{key}_ro"], ["g*"]), "read-write": f"{key}_rw"}
    else:
        db["admin_login"] = pick(["dbaccess_admin", "Admin_1"], ["dbaccess_x_ro"])
    if engine in ("postgres", "aurora-postgresql") and pick.flag():
        db["schemas"] = pick([["public"], ["app", "public"]], [["bad-name"]])
        db["table_owners"] = pick([None, ["app_owner"]])
    for field, good, bad in (
        ("description", [None, "Orders (primary) — ünïcode"], [3]),
        ("production", [True, False], ["yes", None]),
        ("owners", [None, ["@ana-lee"], ["@example-org/dba", "@Bo"]], [["ana"]]),
    ):
        value = pick(good, bad)
        if value is not None or pick.flag():
            db[field] = value
    return db


def grant(keys: list[str], pick: Pick) -> dict[str, Any]:
    g: dict[str, Any] = {
        "database": pick(keys, ["nope"]),
        "access": pick(["read-only", "read-write"], ["admin"]),
    }
    until = pick([None, dt.date(2027, 1, 31), "2027-02-01"], ["20270201", "2027-02-30"])
    if until is not None:
        g["until"] = until
    if pick.flag():
        g["reason"] = pick(["INC-1 backfill", None], ["  "])
    return g


@st.composite
def access_files(draw: st.DrawFn) -> str:
    pick = Pick(draw)
    keys = draw(
        st.lists(
            st.sampled_from(["orders", "shop", "dwh", "x1"]), min_size=1, max_size=3, unique=True
        )
    )
    engines = ["postgres", "aurora-postgresql", "redshift", "mysql", "aurora-mysql"]
    data: dict[str, Any] = {
        "version": pick([1], [2, True]),
        "databases": {k: database(k, pick(engines), pick) for k in keys},
    }
    if pick.flag():
        data["settings"] = {"unused_after_days": pick([90, 1, 3650], [0])}
    if pick.flag():
        members = draw(
            st.lists(st.sampled_from(EMAILS), min_size=1, max_size=2, unique_by=str.lower)
        )
        data["groups"] = {
            "team": {"members": members, "grants": pick([None, [], [grant(keys, pick)]])}
        }
    people: dict[str, Any] = {}
    for who in draw(
        st.lists(
            st.sampled_from([*EMAILS, "e@x"] if pick.noisy else EMAILS),
            max_size=3,
            unique_by=str.lower,
        )
    ):
        person: dict[str, Any] = {}
        if pick.flag():
            person["github"] = pick(["ana-lee", "B0"], ["-bad"])
        if pick.flag():
            person["username"] = pick([f"u{len(people)}", "u_1x"], ["Bad"])
        choice = pick(["grants", "null grants", "nothing"])
        if choice == "grants":
            person["grants"] = [grant(keys, pick) for _ in range(draw(st.integers(1, 2)))]
        elif choice == "null grants":
            person["grants"] = None
        people[who] = person if choice != "nothing" else None
    data["people"] = people
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(access_files())
def test_whatever_the_loader_accepts_the_schema_accepts(text: str) -> None:
    try:
        load_access_text(text, "access.yaml", today=TODAY)
    except InvalidInput:
        return  # the schema may or may not flag it: rules across fields are beyond it
    assert schema_errors(text) == [], text
