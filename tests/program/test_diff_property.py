"""`dbaccess diff` misses nothing: for every field of the access-file schema, mutate the sample.

GIVEN the sample access.yaml and one mutation of one field at one place, THEN either the diff
of the two versions reports a change, or the whole program under Pulumi's mock engine declares
exactly the same resources with the same inputs for both (descriptions aside).

The fields come from walking the pydantic models in dbaccess/access/schema.py, so a field
added there without a mutation below fails `test_every_schema_field_has_a_mutation`, and one
whose change the diff does not report fails the property.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from dbaccess.access import InvalidInput, load_access_text, schema
from dbaccess.access.diff import diff_plans
from dbaccess.cli.preview_engine import OfflineMocks, run_program
from tests.program.conftest import ROOT, TODAY, fake_resource_id, stack_config
from tests.program.test_program import comparable

FieldPath = tuple[str, ...]  # ("people", "*", "grants", "*", "until"): "*" is every entry
# The models under `TopLevel`'s free-form mappings (keyed by database key, group, email).
ENTRIES: dict[str, type[BaseModel]] = {
    "databases": schema.Database,
    "groups": schema.Group,
    "people": schema.Person,
}
SAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "access.yaml").read_text())


def schema_fields(model: type[BaseModel], prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every field's path, nested models included."""
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        yield path
        inner, wrapped = _inner(info.annotation)
        if prefix == () and path[0] in ENTRIES:
            inner, wrapped = ENTRIES[path[0]], 1
        if inner is not None:
            yield from schema_fields(inner, (*path, *["*"] * wrapped))


def _inner(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    for arg in typing.get_args(annotation):
        found, depth = _inner(arg)
        if found is not None:
            return found, depth + (typing.get_origin(annotation) in (list, dict))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    return None, 0


Mutation = Callable[[dict[str, Any], str], None]  # (the mapping holding the field, its key)


def setting(value: Any) -> Mutation:
    def mutate(parent: dict[str, Any], key: str) -> None:
        parent[key] = copy.deepcopy(value)

    return mutate


def delete(parent: dict[str, Any], key: str) -> None:
    parent.pop(key, None)


def flip(parent: dict[str, Any], key: str) -> None:
    parent[key] = not parent.get(key, False)


def shift_days(days: int) -> Mutation:
    def mutate(parent: dict[str, Any], key: str) -> None:
        parent[key] = (parent.get(key) or TODAY) + dt.timedelta(days=days)

    return mutate


def other_access(parent: dict[str, Any], key: str) -> None:
    parent[key] = "read-only" if parent[key] == "read-write" else "read-write"


def other_engine(parent: dict[str, Any], key: str) -> None:
    # Between the two PostgreSQL engines the identifier key moves with the engine.
    if parent[key] == "postgres":
        parent.update(engine="aurora-postgresql", cluster=parent.pop("instance"))
    elif parent[key] == "aurora-postgresql":
        parent.update(engine="postgres", instance=parent.pop("cluster"))


def swap_groups(parent: dict[str, Any], key: str) -> None:
    if groups := parent.get(key):
        parent[key] = {"read-only": groups["read-write"], "read-write": groups["read-only"]}


def add_entry(value: Any) -> Mutation:
    def mutate(parent: dict[str, Any], key: str) -> None:
        parent[key] = [*(parent.get(key) or []), copy.deepcopy(value)]

    return mutate


def drop_first(parent: dict[str, Any], key: str) -> None:
    parent[key] = (parent.get(key) or [])[1:]


def reverse(parent: dict[str, Any], key: str) -> None:
    parent[key] = list(reversed(parent.get(key) or []))


def add_key(name: str, value: Any) -> Mutation:
    def mutate(parent: dict[str, Any], key: str) -> None:
        parent[key] = {**(parent.get(key) or {}), name: copy.deepcopy(value)}

    return mutate


def drop_key(parent: dict[str, Any], key: str) -> None:
    entries = dict(parent.get(key) or {})
    entries.pop(next(iter(entries)), None)
    parent[key] = entries


GRANT_MUTATIONS: dict[FieldPath, list[Mutation]] = {
    (): [drop_first, reverse, add_entry({"database": "payments-staging", "access": "read-only"})],
    ("*", "database"): [setting("payments-staging")],
    ("*", "access"): [other_access],
    ("*", "until"): [shift_days(30), shift_days(-400), delete],
    ("*", "reason"): [setting("INC-9 other"), delete],
    ("*", "query_audit"): [setting("ddl"), setting("none"), delete],
}
NEW_DATABASE = {**SAMPLE["databases"]["orders"], "instance": "billing-prod", "database": "billing"}
MUTATIONS: dict[FieldPath, list[Mutation]] = {
    ("version",): [],  # one valid value: 1
    ("settings",): [setting({"unused_after_days": 30}), delete],
    ("settings", "unused_after_days"): [setting(30), setting(91)],
    ("databases",): [add_key("billing", NEW_DATABASE), drop_key],
    ("groups",): [
        add_key(
            "new-team",
            {
                "members": ["zoe.ng@example.com"],
                "grants": [{"database": "orders", "access": "read-only"}],
            },
        ),
        drop_key,
    ],
    ("people",): [
        add_key("zoe.ng@example.com", {"grants": [{"database": "orders", "access": "read-only"}]}),
        drop_key,
    ],
    ("databases", "*", "engine"): [other_engine],
    ("databases", "*", "account"): [setting("999999999999")],
    ("databases", "*", "region"): [setting("us-east-1")],
    ("databases", "*", "instance"): [setting("other-instance")],
    ("databases", "*", "cluster"): [setting("other-cluster")],
    ("databases", "*", "host"): [setting("other.example.com")],
    ("databases", "*", "port"): [setting(6543)],
    ("databases", "*", "database"): [setting("otherdb")],
    ("databases", "*", "description"): [setting("Something else"), delete],
    ("databases", "*", "production"): [flip],
    ("databases", "*", "admin_login"): [setting("other_admin")],
    ("databases", "*", "schemas"): [setting(["public"]), setting(["public", "extra"]), delete],
    ("databases", "*", "table_owners"): [setting(["someone_else"]), drop_first, delete],
    ("databases", "*", "owners"): [setting(["@someone"]), drop_first, delete],
    ("databases", "*", "query_audit"): [setting("all"), setting("none"), delete],
    ("databases", "*", "groups"): [swap_groups],
    ("databases", "*", "groups", "read-only"): [setting("other_ro")],
    ("databases", "*", "groups", "read-write"): [setting("other_rw")],
    ("groups", "*", "members"): [drop_first, reverse, add_entry("zoe.ng@example.com")],
    ("people", "*", "username"): [setting("someone"), delete],
    ("people", "*", "github"): [setting("octo-cat"), delete],
    # A group's grants and a person's take the same mutations.
    **{
        (owner, "*", "grants", *rest): mutations
        for owner in ("groups", "people")
        for rest, mutations in GRANT_MUTATIONS.items()
    },
}


def places(data: Any, path: FieldPath) -> Iterator[tuple[FieldPath, dict[str, Any], str]]:
    """(where, the mapping holding the field, its key) for each place the path reaches."""
    *parents, key = path

    def walk(node: Any, rest: list[str], where: FieldPath) -> Iterator[Any]:
        if not rest:
            yield where, node
        elif rest[0] == "*":
            items = node.items() if isinstance(node, dict) else enumerate(node or [])
            for name, child in items:
                yield from walk(child, rest[1:], (*where, str(name)))
        elif isinstance(node, dict) and rest[0] in node:
            yield from walk(node[rest[0]], rest[1:], (*where, rest[0]))

    for where, parent in walk(data, parents, ()):
        if isinstance(parent, dict):
            yield (*where, key), parent, key


def declared(access: dict[str, Any], tmp_path: Path) -> list[tuple[Any, ...]]:
    path = tmp_path / "access.yaml"
    path.write_text(yaml.safe_dump(access, sort_keys=False))
    run = run_program(ROOT, stack_config(path), OfflineMocks(fake_resource_id), today=TODAY)
    return sorted(
        (
            r.type,
            r.name,
            repr(comparable({k: v for k, v in r.inputs.items() if k != "description"})),
        )
        for r in run.registrations
    )


@functools.cache
def plan_of(text: str) -> Any:
    return load_access_text(text, "access.yaml", today=TODAY)


def test_every_schema_field_has_a_mutation() -> None:
    fields = set(schema_fields(schema.TopLevel))
    assert fields - MUTATIONS.keys() == set(), "add mutations for the new schema fields"
    assert MUTATIONS.keys() - fields == set(), "these mutations name no schema field"


def test_a_change_the_diff_does_not_report_deploys_nothing_different(tmp_path: Path) -> None:
    base_text = yaml.safe_dump(SAMPLE, sort_keys=False)
    base_plan = plan_of(base_text)
    applied: dict[FieldPath, int] = dict.fromkeys(MUTATIONS, 0)
    unreported: list[tuple[FieldPath, int, dict[str, Any]]] = []
    for field_path, mutations in MUTATIONS.items():
        for n, mutation in enumerate(mutations):
            for where, _, _ in list(places(SAMPLE, field_path)):
                head = copy.deepcopy(SAMPLE)
                _, parent, key = next(p for p in places(head, field_path) if p[0] == where)
                mutation(parent, key)
                text = yaml.safe_dump(head, sort_keys=False)
                if text == base_text:
                    continue
                try:
                    head_plan = plan_of(text)
                except InvalidInput:
                    continue  # not a valid access file: nothing to review or deploy
                applied[field_path] += 1
                if diff_plans(base_plan, head_plan).empty:
                    unreported.append((where, n, head))
    assert [f for f, n in applied.items() if n == 0 and MUTATIONS[f]] == [], (
        "these mutations never gave a valid file: change them"
    )
    assert unreported, "no mutation left the diff empty: the program comparison never ran"
    base = declared(SAMPLE, tmp_path)
    different = [(where, n) for where, n, head in unreported if declared(head, tmp_path) != base]
    assert different == [], "the diff said 'No access changes' but the program deploys otherwise"
