"""`dbaccess expire`: take the reported grants and those past their `until` out of the text.

Four passes, each its own function:

1. choose: which effective grants of the report can go. A grant goes only when every place
   that gives it can go: the person's own entries, and their membership of each group that
   gives it (a membership goes only if every grant the group gives them goes). What cannot
   go is kept and said why; report entries that match no grant are listed as unmatched.
2. cascade: a person or group left with no grants, a group left with no members, goes too.
3. edit: delete those entries' spans from the text (text.py); nothing else changes.
4. check: the result loads, and its effective grants are the old ones minus exactly the
   chosen ones, with the same logins, expiry and sources; otherwise nothing is written.

Entries reached through a YAML alias, or holding an anchor that an alias repeats, are never
edited (a deletion there would change the other place too): the grant is kept, with why.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from dbaccess.access import AccessPlan, InvalidInput, load_access_text
from dbaccess.access.background import loading
from dbaccess.access.edit.owners import Owner, Owners, read_owners
from dbaccess.access.edit.text import EditError, TextEdit
from dbaccess.access.edit.tree import Map, Node, Seq, TreeError, parse
from dbaccess.access.loader import without_cycle_collection
from dbaccess.access.until import is_live

GrantId = tuple[str, str, str]  # (email, database, access)
BOM = "\ufeff"


@dataclass(frozen=True)
class Removal:
    """One entry taken out of the file."""

    owner: str  # "people <email>" or "group <name>"
    database: str  # for a membership: the member's email
    access: str
    why: str  # "unused" (listed in the report), "until <date> passed", "member"

    @property
    def text(self) -> str:
        if self.why == "member":
            return f"{self.owner}: member {self.database} removed"
        return f"{self.owner}: {self.database} {self.access} ({self.why})"


@dataclass(frozen=True)
class Kept:
    """A listed grant (or an entry past its `until`) that stays, and why."""

    owner: str  # the person's email, or "group <name>" for a group's dated entry
    database: str
    access: str
    reason: str

    @property
    def text(self) -> str:
        return f"{self.owner}: {self.database} {self.access} {self.reason}"


@dataclass(frozen=True)
class Expiry:
    text: str
    removed: tuple[Removal, ...]
    kept: tuple[Kept, ...]
    unmatched: tuple[GrantId, ...]  # in the report, but nobody has that grant
    before: AccessPlan
    after: AccessPlan


@dataclass
class _Choice:
    """What pass 1 decided: entries (owner, index) and memberships to delete."""

    entries: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    removals: list[tuple[int, Removal]] = field(default_factory=list)  # (offset, removal)
    kept: list[Kept] = field(default_factory=list)
    gone: set[GrantId] = field(default_factory=set)  # effective grants that go


def expire_grants(
    text: str, stale: Collection[GrantId], today: dt.date, *, file: str = "access.yaml"
) -> Expiry:
    """Remove the `stale` grants and every grant entry past its `until` (before `today`).

    `text` is the file as read (a BOM and CRLF line ends are kept). Raises InvalidInput if
    the file does not validate (`file` names it in messages), EditError if it cannot be
    edited without changing more.
    """
    # As in loading: the tree's nodes and the entries all live to the end and form no
    # cycles, so the cycle collector would only walk them again and again.
    with without_cycle_collection():
        return _expire(text, stale, today, file)


def _expire(text: str, stale: Collection[GrantId], today: dt.date, file: str) -> Expiry:
    bom = BOM if text.startswith(BOM) else ""
    body = text.removeprefix(BOM)
    listed = {(e.lower(), d, a) for e, d, a in stale}
    with loading(body, file, today) as before_plan:  # validated beside the parse below
        try:
            document = parse(body)
        except TreeError as exc:
            before_plan()  # raises InvalidInput, each problem at its line
            raise EditError(str(exc)) from None
        before = before_plan()
    owners = read_owners(document.root)  # the file is valid: every entry reads
    edit = TextEdit(body)
    chooser = _Chooser(owners, today, edit, document.shared)
    chooser.past()
    chooser.listed(before, listed)
    choice = chooser.choice
    _cascade(owners, choice, edit, document.shared)
    result, after = body, before
    if choice.removals:
        result = edit.result()
        try:
            after = load_access_text(result, file, today=today)
        except InvalidInput as exc:
            raise EditError(
                f"the edited file would not validate ({exc.problems[0].message}); "
                "remove the grants by hand"
            ) from None
        _check(before, after, choice.gone)
    # Listed grants the file gives, now or until a date that has passed (those went above).
    expired = {(g.email, g.database, g.access) for g in before.expired}
    matched = {k for k in listed if k in expired or _holds(before, k)}
    return Expiry(
        bom + result,
        tuple(r for _, r in sorted(choice.removals, key=lambda x: x[0])),
        tuple(choice.kept),
        tuple(sorted(listed - matched)),
        before,
        after,
    )


def _holds(plan: AccessPlan, grant: GrantId) -> bool:
    email, database, access = grant
    person = plan.people.get(email)
    return person is not None and any(
        g.database == database and g.access == access for g in person.grants
    )


# --- pass 1: choose -----------------------------------------------------------------------


def _shared_by(span: tuple[int, int], shared: tuple[Node, ...], edit: TextEdit) -> Node | None:
    """The anchored node an alias repeats that this span touches, if any."""
    return next((n for n in shared if edit.overlaps(n, *span)), None)


class _Chooser:
    def __init__(
        self, owners: Owners, today: dt.date, edit: TextEdit, shared: tuple[Node, ...]
    ) -> None:
        self.owners = owners
        self.today = today
        self.edit = edit
        self.shared = shared
        self.choice = _Choice()
        self.base = len(owners.persons)  # teams are numbered after the persons

    def blocked(self, parent: Seq | None, index: int) -> Node | None:
        if parent is None:
            return None
        return _shared_by(self.edit.span(parent, index), self.shared, self.edit)

    def anchor_reason(self, node: Node) -> str:
        line = self.edit.text.count("\n", 0, node.start) + 1
        return (
            f"is shared through the YAML anchor &{getattr(node, 'anchor', '')} (line {line}); "
            "removing it here would remove it everywhere the alias repeats it: edit by hand"
        )

    def past(self) -> None:
        """Entries past their `until` go wherever they are: they give nobody anything today."""
        for n, owner in enumerate([*self.owners.persons, *self.owners.teams]):
            for entry in owner.entries:
                if is_live(entry.until, self.today):
                    continue
                if (node := self.blocked(owner.grants, entry.index)) is not None:
                    reason = self.anchor_reason(node)
                    self.choice.kept.append(Kept(owner.label, *entry.key, reason))
                    continue
                self.remove_entry(n, owner, entry.index, f"until {entry.until} passed")

    def remove_entry(self, n: int, owner: Owner, index: int, why: str) -> None:
        assert owner.grants is not None
        if index in self.choice.entries[n]:
            return
        self.choice.entries[n].add(index)
        entry = next(e for e in owner.entries if e.index == index)
        removal = Removal(owner.label, *entry.key, why)
        self.choice.removals.append((owner.grants.items[index].start, removal))

    def listed(self, plan: AccessPlan, stale: set[GrantId]) -> None:
        persons = {p.name: n for n, p in enumerate(self.owners.persons)}
        teams_of: dict[str, list[int]] = defaultdict(list)
        for t, team in enumerate(self.owners.teams):
            for email in set(team.emails):
                teams_of[email].append(t)
        wanted: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for email, database, access in stale:
            if email in plan.people:
                wanted[email].add((database, access))
        for email, listed in sorted(wanted.items()):
            held = {(g.database, g.access) for g in plan.people[email].grants}
            self.person(email, listed & held, persons.get(email), teams_of[email])

    def person(
        self, email: str, listed: set[tuple[str, str]], person: int | None, teams: list[int]
    ) -> None:
        """Take what can go of one person's listed grants; keep the rest, saying why."""
        own = self.owners.persons[person] if person is not None else None
        reasons: dict[tuple[str, str], str] = {}
        going, leaving = self.settle(email, listed, own, teams, reasons)
        self.choice.kept += [Kept(email, d, a, reasons[d, a]) for d, a in sorted(listed - going)]
        self.choice.gone |= {(email, d, a) for d, a in going}
        if own is not None and person is not None:
            for entry in own.entries:
                if entry.key in going:
                    self.remove_entry(person, own, entry.index, "unused")
        for t in sorted(leaving):
            team = self.owners.teams[t]
            assert team.members is not None
            for i, member in enumerate(team.emails):
                if member == email:
                    self.choice.members[self.base + t].add(i)
                    removal = Removal(team.label, email, "", "member")
                    self.choice.removals.append((team.members.items[i].start, removal))

    def settle(
        self,
        email: str,
        listed: set[tuple[str, str]],
        own: Owner | None,
        teams: list[int],
        reasons: dict[tuple[str, str], str],
    ) -> tuple[set[tuple[str, str]], set[int]]:
        """(the grants that go, the groups the person leaves): shrink the listed set until
        every grant left in it can be taken from every place that gives it."""
        live = {t: self.owners.teams[t].live(self.today) for t in teams}
        going = set(listed)
        while True:
            leaving = self.leaving(email, {t for t in teams if live[t] and live[t] <= going},
                                   live, reasons)  # fmt: skip
            dropped = set()
            for key in going:
                for t in teams:
                    if key in live[t] and t not in leaving:
                        others = ", ".join(f"{d} {a}" for d, a in sorted(live[t] - going))
                        reasons.setdefault(
                            key,
                            f"comes from group {self.owners.teams[t].written}, which also "
                            f"gives {others} (not listed): edit the group by hand if it should go",
                        )
                        dropped.add(key)
                for entry in own.entries if own else []:
                    grants = own.grants if own else None
                    if entry.key == key and (node := self.blocked(grants, entry.index)):
                        reasons[key] = "is an entry that " + self.anchor_reason(node)
                        dropped.add(key)
            if not dropped:
                return going, leaving
            going -= dropped

    def leaving(
        self,
        email: str,
        candidates: set[int],
        live: dict[int, set[tuple[str, str]]],
        reasons: dict[tuple[str, str], str],
    ) -> set[int]:
        """The candidate groups whose member entry for `email` can be deleted (not shared)."""
        result = set()
        for t in sorted(candidates):
            team = self.owners.teams[t]
            stuck = (self.blocked(team.members, i) for i, e in enumerate(team.emails) if e == email)
            if node := next((s for s in stuck if s is not None), None):
                for key in live[t]:
                    reasons[key] = (
                        f"comes from group {team.written}, whose member list "
                        + self.anchor_reason(node)
                    )
            else:
                result.add(t)
        return result


# --- pass 2 and 3: cascade and edit ---------------------------------------------------------


def _cascade(owners: Owners, choice: _Choice, edit: TextEdit, shared: tuple[Node, ...]) -> None:
    """Delete the chosen entries, and the owners they leave empty."""
    everyone = [*owners.persons, *owners.teams]
    dropped: set[int] = set()
    for n, owner in enumerate(everyone):
        entries, members = choice.entries.get(n, set()), choice.members.get(n, set())
        no_grants = (
            owner.grants is not None
            and bool(owner.entries)
            and len(entries) == len(owner.grants.items)
        )
        no_members = bool(owner.emails) and len(members) == len(owner.emails)
        if owner.kind == "group" and (no_grants or no_members):
            dropped.add(n)
        if owner.grants is not None:
            edit.remove(owner.grants, sorted(entries))
        if owner.members is not None:
            edit.remove(owner.members, sorted(members))
    remaining = {
        email
        for n, team in enumerate(owners.teams, start=len(owners.persons))
        if n not in dropped
        for i, email in enumerate(team.emails)
        if i not in choice.members.get(n, set())
    }
    gone_people: list[int] = []
    for n, person in enumerate(owners.persons):
        grants = person.grants
        if not (person.entries and grants and len(choice.entries.get(n, ())) == len(grants.items)):
            continue
        body = person.body
        assert body is not None
        if person.name in remaining and len(body.keys) > 1:
            # Still in a group: the entry stays for its other keys (`username` names the
            # logins the group's grants use); only the empty `grants:` goes.
            found = body.get("grants")
            assert found is not None
            edit.remove(body, [found[0]])
        else:
            gone_people.append(person.index)
    gone_groups = [owners.teams[n - len(owners.persons)].index for n in sorted(dropped)]
    for mapping, gone, key in (
        (owners.people, gone_people, "people"),
        (owners.groups, gone_groups, "groups"),
    ):
        if mapping is None or not gone:
            continue
        safe = [i for i in gone if _shared_by(edit.span(mapping, i), shared, edit) is None]
        edit.remove(mapping, safe)
        if len(safe) == len(mapping.keys) and not mapping.flow:
            _write_empty(owners.root, key, edit)


def _write_empty(root: Map, key: str, edit: TextEdit) -> None:
    """`people:` with nothing under it reads as null; the file says `people: {}` instead."""
    found = root.get(key)
    assert found is not None
    key_node = root.keys[found[0]]
    colon = edit.text.index(":", key_node.end)
    edit.insert(colon + 1, " {}")


# --- pass 4: check --------------------------------------------------------------------------


def _check(before: AccessPlan, after: AccessPlan, gone: set[GrantId]) -> None:
    """The edit took exactly the chosen grants and changed nothing else a plan holds."""
    problems = []
    for email in sorted(before.people.keys() | after.people.keys()):
        old, new = before.people.get(email), after.people.get(email)
        expected = tuple(
            g for g in (old.grants if old else ()) if (email, g.database, g.access) not in gone
        )
        if expected != (new.grants if new else ()):
            problems.append(email)
    if problems or before.databases != after.databases:
        raise EditError(
            "the edit would change more than the listed grants (of "
            + (", ".join(problems[:3]) or "the databases")
            + "); remove the grants by hand"
        )
