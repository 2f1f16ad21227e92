"""From checked entries to the AccessPlan: who is who, and each person's effective grants.

Own and group grants are merged per (database, access): each remembers where it came from,
the latest `until` wins and no `until` beats any. Grants whose every source is past its
`until` are kept aside as expired (for reports), not deployed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dbaccess.access import naming, schema
from dbaccess.access.plan import AccessPlan, DatabaseSpec, ExpiredGrant, Grant, Person
from dbaccess.access.source import Path, SourceMap
from dbaccess.access.until import is_live


@dataclass
class Members:
    """Every person (own entry or group membership), by lower-cased email."""

    where: dict[str, Path] = field(default_factory=dict)  # where each is first named
    sources: dict[str, list[tuple[str, schema.Grant]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    bases: dict[str, str] = field(default_factory=dict)
    github: dict[str, str] = field(default_factory=dict)  # declared GitHub logins
    # Where each login base is written: the person's `username:`, if they have one.
    base_at: dict[str, Path] = field(default_factory=dict)

    def base_where(self) -> dict[str, Path]:
        """Where each login base comes from: the person's `username:`, else where they are
        first named (problems with a login are reported there)."""
        return {**self.where, **self.base_at}

    def engines(self, databases: Mapping[str, DatabaseSpec]) -> dict[str, set[str]]:
        """The engines each person has a grant on (login length limits differ by engine)."""
        return {
            email: {databases[g.database].engine for _, g in grants if g.database in databases}
            for email, grants in self.sources.items()
        }


def members(people: Mapping[str, schema.Person], groups: Mapping[str, schema.Group]) -> Members:
    found = Members()
    for email, person in people.items():
        found.where[email.lower()] = ("people", email)
        found.sources[email.lower()] += [("people", g) for g in person.grants]
    for name, group in groups.items():
        for i, member in enumerate(group.members):
            member = member.lower()
            found.where.setdefault(member, ("groups", name, "members", i))
            found.sources[member] += [(f"group {name}", g) for g in group.grants]
    overrides = {e.lower(): p.username for e, p in people.items() if p.username}
    found.bases = {e: overrides.get(e) or naming.login_base(e) for e in found.where}
    found.github = {e.lower(): p.github for e, p in people.items() if p.github}
    found.base_at = {e.lower(): ("people", e, "username") for e, p in people.items() if p.username}
    return found


def plan(
    top: schema.TopLevel,
    databases: dict[str, DatabaseSpec],
    groups: Mapping[str, schema.Group],
    found: Members,
    source: SourceMap,
    today: dt.date,
) -> AccessPlan:
    people: dict[str, Person] = {}
    expired: list[ExpiredGrant] = []
    for email in sorted(found.where):
        base = found.bases[email]
        grants, gone = _effective(email, base, found.sources[email], databases, today)
        expired += gone
        people[email] = Person(
            email,
            base,
            naming.role_name_for(base),
            grants,
            line=source.key(found.where[email]).line,
            github=found.github.get(email),
        )
    return AccessPlan(
        file=source.file,
        evaluated_on=today,
        unused_after_days=top.settings.unused_after_days if top.settings else 90,
        databases=databases,
        people=people,
        groups={n: tuple(m.lower() for m in g.members) for n, g in groups.items()},
        expired=tuple(expired),
    )


def _effective(
    email: str,
    base: str,
    sources: list[tuple[str, schema.Grant]],
    databases: Mapping[str, DatabaseSpec],
    today: dt.date,
) -> tuple[tuple[Grant, ...], list[ExpiredGrant]]:
    merged: dict[tuple[str, naming.Access], list[tuple[str, schema.Grant]]] = defaultdict(list)
    for origin, grant in sources:
        if grant.database in databases:
            merged[grant.database, grant.access].append((origin, grant))
    grants, gone = [], []
    for (database, access), items in sorted(merged.items()):
        live = [(o, g) for o, g in items if is_live(g.until, today)]
        if not live:
            last = max(g.until for _, g in items if g.until is not None)
            gone.append(ExpiredGrant(email, database, access, last, _unique(o for o, _ in items)))
            continue
        untils = [g.until for _, g in live]
        default = databases[database].query_audit
        grants.append(
            Grant(
                email=email,
                database=database,
                access=access,
                login=naming.login_for(base, access),
                until=None if None in untils else max(u for u in untils if u is not None),
                reasons=_unique(g.reason for _, g in live if g.reason),
                sources=_unique(o for o, _ in live),
                query_audit=naming.highest_audit(g.query_audit or default for _, g in live),
            )
        )
    return tuple(grants), gone


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
