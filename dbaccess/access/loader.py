"""Load access.yaml into an AccessPlan, reporting every problem with its line, column and fix.

The steps, each in its own module: read the YAML within limits (source.py), check each field
(schema.py) and each rule across fields (rules.py), then resolve people, groups and expiry
into the plan (resolve.py).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path as FsPath
from typing import Any

from dbaccess.access import resolve, schema
from dbaccess.access.errors import InvalidInput, Problem
from dbaccess.access.plan import AccessPlan
from dbaccess.access.rules import Rules
from dbaccess.access.source import parse_yaml, read_text


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def load_access_file(path: str | FsPath, *, today: dt.date | None = None) -> AccessPlan:
    """Read and validate an access file; raise InvalidInput listing every problem."""
    text = read_text(FsPath(path), "pass the path of access.yaml")
    return load_access_text(text, str(path), today=today)


def load_access_text(text: str, file: str, *, today: dt.date | None = None) -> AccessPlan:
    """Validate access-file text (file names it in messages) into an AccessPlan."""
    with without_cycle_collection():
        return _load(text, file, today or today_utc())


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Loading allocates hundreds of thousands of objects that all live until it ends and
    form no cycles; the cycle collector would walk them again and again for nothing
    (a quarter of `validate`'s time at 5,000 people). Reference counting still frees."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(text: str, file: str, today: dt.date) -> AccessPlan:
    data, source, problems = parse_yaml(text, file)
    if problems:
        raise InvalidInput(problems)
    if data is None:
        raise InvalidInput(
            [
                Problem(
                    file,
                    1,
                    1,
                    "the access file is empty",
                    "start with `version: 1` and a `databases:` mapping "
                    "(see docs/reference/access-yaml.md)",
                )
            ]
        )
    rules = Rules(source, today)
    top = rules.model(schema.TopLevel, data, ())
    sections = (
        {"databases": top.databases, "groups": top.groups, "people": top.people}
        if top is not None
        else _readable(data)
    )
    if sections is None:
        raise InvalidInput(rules.problems)
    # Each section is checked even when another part of the file is broken, so one run
    # reports every problem: structure, references and rules together.
    databases = rules.databases(sections["databases"])
    valid = set(sections["databases"])
    groups = {
        name: group
        for name, raw in sections["groups"].items()
        if (group := rules.group(name, raw, valid)) is not None
    }
    people = {
        email: person
        for email, raw in sections["people"].items()
        if (person := rules.person(email, raw, valid)) is not None
    }
    rules.github_logins(people)
    found = resolve.members(people, groups)
    rules.logins(found.bases, found.base_where(), databases, found.engines(databases))
    if rules.problems or top is None:
        raise InvalidInput(rules.problems)
    return resolve.plan(top, databases, groups, found, source, today)


def _readable(data: Any) -> dict[str, dict[Any, Any]] | None:
    """The sections of a file whose top level failed its model (an unknown key, a wrong
    version), as far as they are mappings with text keys (the model reported the rest), so
    their own problems are reported too; None when there are no databases to check against."""
    if not isinstance(data, dict) or not isinstance(data.get("databases"), dict):
        return None
    return {
        name: {k: v for k, v in section.items() if isinstance(k, str)}
        if isinstance(section := data.get(name), dict)
        else {}
        for name in ("databases", "groups", "people")
    }
