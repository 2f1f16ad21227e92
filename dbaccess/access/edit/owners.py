"""The people and groups of an access file, as entries of the text with their places.

The file was validated before (load_access_text), so shapes are known to be right; what
this adds is where each grant entry and member is, and what its `until` says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from dbaccess.access.edit.text import EditError
from dbaccess.access.edit.tree import Map, Node, Scalar, Seq, deref
from dbaccess.access.scalars import CONVERTERS, TAG, implicit_kind
from dbaccess.access.until import is_live


@dataclass(eq=False)
class Entry:
    """One grant entry: item `index` of the owner's `grants` list."""

    index: int
    database: str
    access: str
    until: dt.date | None

    @property
    def key(self) -> tuple[str, str]:
        return self.database, self.access


@dataclass(eq=False)
class Owner:
    """A person (`people:` entry) or a group, with its grant entries and members."""

    kind: Literal["people", "group"]
    name: str  # a person's email lower-cased, or the group's name
    written: str  # as written in the file
    index: int  # its pair in the `people:` or `groups:` mapping
    body: Map | None
    grants: Seq | None = None
    entries: list[Entry] = field(default_factory=list)
    members: Seq | None = None
    emails: list[str] = field(default_factory=list)  # members, lower-cased

    @property
    def label(self) -> str:
        return f"{'people' if self.kind == 'people' else 'group'} {self.written}"

    def live(self, today: dt.date) -> set[tuple[str, str]]:
        return {e.key for e in self.entries if is_live(e.until, today)}


def text_of(node: Node) -> str:
    if type(node) is Scalar:  # the common case first: this runs for every key and value
        return node.value
    node = deref(node)
    return node.value if isinstance(node, Scalar) else ""


def until_of(node: Node) -> dt.date | None:
    """The date an `until` value means, read with the loader's own scalar meanings
    (scalars.py): `2026-12-31` is a date, `"2026-12-31"` text the schema reads as one."""
    node = deref(node)
    value = _meaning(node) if isinstance(node, Scalar) else None
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise EditError(f"until {str(value)[:40]!r} is not a date") from None


def _meaning(node: Scalar) -> object:
    if node.tag is None and not node.plain:
        return node.value  # quoted: text
    kind = node.tag.removeprefix(TAG) if node.tag else implicit_kind(node.value)
    converter = CONVERTERS.get(kind)
    if converter is None:
        raise EditError(f"until {node.value[:40]!r} has an unsupported tag")
    return converter(node.value)


def _entries(grants: Seq) -> list[Entry]:
    result = []
    for i, item in enumerate(grants.items):
        entry = deref(item)
        if not isinstance(entry, Map):
            continue
        # Keys of a validated grant are plain text: read them directly (100,000 entries).
        fields = dict(zip([text_of(k) for k in entry.keys], entry.values, strict=True))
        database, access, until = fields.get("database"), fields.get("access"), fields.get("until")
        result.append(
            Entry(
                i,
                text_of(database) if database is not None else "",
                text_of(access) if access is not None else "",
                until_of(until) if until is not None else None,
            )
        )
    return result


def _owner(kind: Literal["people", "group"], key: Node, value: Node, index: int) -> Owner:
    written = text_of(key)
    body = deref(value)
    owner = Owner(
        kind,
        written.lower() if kind == "people" else written,
        written,
        index,
        body if isinstance(body, Map) else None,
    )
    if owner.body is None:
        return owner
    if (found := owner.body.get("grants")) and isinstance(found[1], Seq):
        owner.grants = found[1]
        owner.entries = _entries(found[1])
    if (found := owner.body.get("members")) and isinstance(found[1], Seq):
        owner.members = found[1]
        owner.emails = [text_of(m).lower() for m in found[1].items]
    return owner


@dataclass(frozen=True)
class Owners:
    root: Map
    people: Map | None
    groups: Map | None
    persons: list[Owner]
    teams: list[Owner]


def read_owners(root: Node | None) -> Owners:
    if not isinstance(root, Map):
        raise EditError("the access file is not a mapping")
    people = root.get("people")
    groups = root.get("groups")
    people_map = people[1] if people and isinstance(people[1], Map) else None
    groups_map = groups[1] if groups and isinstance(groups[1], Map) else None
    return Owners(
        root,
        people_map,
        groups_map,
        [
            _owner("people", k, v, i)
            for i, (k, v) in enumerate(zip(*_pairs(people_map), strict=True))
        ],
        [
            _owner("group", k, v, i)
            for i, (k, v) in enumerate(zip(*_pairs(groups_map), strict=True))
        ],
    )


def _pairs(mapping: Map | None) -> tuple[list[Node], list[Node]]:
    return (mapping.keys, mapping.values) if mapping else ([], [])
