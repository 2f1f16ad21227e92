"""Edit access.yaml in place, keeping every comment, key order, quote and flow style.

A round-trip YAML load (ruamel.yaml) is edited and dumped again with the file's own
indentation; the result is checked to differ from the original by deleted lines only, so a
reviewer sees exactly the removals in the pull request.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

GrantId = tuple[str, str, str]  # (email, database, access)


class EditError(ValueError):
    """The file cannot be edited without changing more than the removed lines."""


@dataclass(frozen=True)
class Removal:
    """One entry taken out of the file."""

    owner: str  # "people <email>" or "group <name>"
    database: str
    access: str
    why: str  # "unused" (listed in the report), "until <date> passed", "member"

    @property
    def text(self) -> str:
        if self.why == "member":
            return f"{self.owner}: member {self.database} removed"
        return f"{self.owner}: {self.database} {self.access} ({self.why})"


@dataclass(frozen=True)
class Kept:
    """A listed grant that stays: it comes from a group that gives the person more."""

    email: str
    database: str
    access: str
    group: str

    @property
    def text(self) -> str:
        return (
            f"{self.email}: {self.database} {self.access} comes from group {self.group}, "
            "which also gives grants still in use; edit the group by hand if it should go"
        )


@dataclass(frozen=True)
class Expiry:
    text: str
    removed: tuple[Removal, ...]
    kept: tuple[Kept, ...]


def _yaml(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    mapping, sequence, offset = _indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as the file writes them; access.yaml's own by default."""
    lines = text.splitlines()
    mapping, sequence, offset = 2, 4, 2
    for previous, line in itertools.pairwise(lines):
        key = re.fullmatch(r"( *)[^\s#-][^:#]*:\s*(#.*)?", previous)
        if key is None:
            continue
        indent = len(key.group(1))
        item = re.match(r"( *)- ", line)
        child = re.match(r"( *)[^\s#-]", line)
        if item:
            offset = max(len(item.group(1)) - indent, 0)
            sequence = offset + 2
            break
        if child and len(child.group(1)) > indent:
            mapping = len(child.group(1)) - indent
    return mapping, sequence, offset


def _find(mapping: CommentedMap, email: str) -> Any:
    return next((k for k in mapping if isinstance(k, str) and k.lower() == email), None)


def _is(entry: Any, database: str, access: str) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("database") == database
        and entry.get("access") == access
    )


def _past(entry: Any, today: dt.date) -> dt.date | None:
    until = entry.get("until") if isinstance(entry, dict) else None
    return until if isinstance(until, dt.date) and until < today else None


def expire_grants(text: str, stale: Collection[GrantId], today: dt.date) -> Expiry:
    """Remove the `stale` grants and every grant entry past its `until` (before `today`).

    A listed grant that comes from a group removes the person from the group when every grant
    the group gives them is listed; otherwise it stays and is reported as kept. A person or
    group left with no grants is dropped (a person who still has a group keeps their entry,
    e.g. its `username`); one that had none before is left alone.
    """
    yaml = _yaml(text)
    data = yaml.load(text)
    if not isinstance(data, CommentedMap):
        return Expiry(text, (), ())
    stale = {(e.lower(), d, a) for e, d, a in stale}
    people = data.get("people") if isinstance(data.get("people"), CommentedMap) else None
    groups = data.get("groups") if isinstance(data.get("groups"), CommentedMap) else None
    removed: list[Removal] = []
    kept: list[Kept] = []

    def prune(grants: Any, owner: str, email: str | None) -> None:
        if not isinstance(grants, CommentedSeq):
            return
        found: list[Removal] = []
        for i in reversed(range(len(grants))):
            entry = grants[i]
            if not isinstance(entry, dict):
                continue
            database, access = entry.get("database"), entry.get("access")
            passed = _past(entry, today)
            if passed is not None:
                why = f"until {passed} passed"
            elif email is not None and (email, database, access) in stale:
                why = "unused"
            else:
                continue
            del grants[i]
            found.append(Removal(owner, str(database), str(access), why))
        removed.extend(reversed(found))  # in file order

    had_grants: dict[tuple[str, str], bool] = {}
    for name, group in (groups or {}).items():
        if isinstance(group, dict):
            had_grants["group", name] = bool(group.get("grants"))
            prune(group.get("grants"), f"group {name}", None)
    for email, person in (people or {}).items():
        if isinstance(person, dict):
            had_grants["people", email] = bool(person.get("grants"))
            prune(person.get("grants"), f"people {email}", str(email).lower())

    # Listed grants that come from a group.
    for name, group in (groups or {}).items():
        if not isinstance(group, dict) or not isinstance(group.get("members"), CommentedSeq):
            continue
        given = [(g.get("database"), g.get("access")) for g in group.get("grants") or []]
        members = group["members"]
        gone: list[Removal] = []
        for i in reversed(range(len(members))):
            email = str(members[i]).lower()
            listed = [(d, a) for d, a in given if (email, d, a) in stale]
            if not listed:
                continue
            if len(listed) == len(given):
                del members[i]
                gone.append(Removal(f"group {name}", email, "", "member"))
            else:
                kept += [Kept(email, str(d), str(a), str(name)) for d, a in listed]
        removed.extend(reversed(gone))

    def in_a_group(email: str) -> bool:
        return any(
            isinstance(g, dict)
            and g.get("grants")
            and email in [str(m).lower() for m in g.get("members") or []]
            for g in (groups or {}).values()
        )

    for name in list(groups or {}):
        group = groups[name]  # type: ignore[index]
        if isinstance(group, dict) and (
            (had_grants.get(("group", name)) and not group.get("grants"))
            or not group.get("members")
        ):
            del groups[name]  # type: ignore[union-attr]
    for email in list(people or {}):
        person = people[email]  # type: ignore[index]
        if not (isinstance(person, dict) and had_grants.get(("people", email))):
            continue
        if person.get("grants"):
            continue
        if len(person) > 1 and in_a_group(str(email).lower()):
            del person["grants"]  # keeps e.g. `username`, which the group grants still use
        else:
            del people[email]  # type: ignore[union-attr]

    if not removed:
        return Expiry(text, (), tuple(kept))
    out = io.StringIO()
    yaml.dump(data, out)
    return Expiry(_tidy_deletions(text, out.getvalue()), tuple(removed), tuple(kept))


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _tidy_deletions(before: str, after: str) -> str:
    """`before` minus the lines the YAML dump dropped, tidied the way a person would edit:
    the comment lines right above a removed entry go with it, and a blank line that
    separated two surviving entries stays. Raises EditError if the dump changed more than
    deleting lines."""
    lines = before.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    keep = [True] * len(lines)
    restore: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag != "delete":
            line = "\n".join(after.splitlines()[j1:j2])
            raise EditError(
                f"editing the file would also rewrite line {i1 + 1} as {line!r}; "
                "remove the grants by hand"
            )
        start = i1
        first = lines[i1]
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            if _indent(lines[start - 1]) != _indent(first):
                break
            start -= 1
        for i in range(start, i2):
            keep[i] = False
        separated = any(_blank(lines[i]) for i in range(i1, i2))
        between = start > 0 and i2 < len(lines)
        if separated and between and not _blank(lines[start - 1]) and not _blank(lines[i2]):
            restore.add(next(i for i in range(i1, i2) if _blank(lines[i])))
    return "".join(line for i, line in enumerate(lines) if keep[i] or i in restore)
