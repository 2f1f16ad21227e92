"""Who gains or loses what between two versions of access.yaml: pure functions and renderers.

Both plans must be evaluated on the same date, so the diff shows what the edit changes and
never what the passage of time changes (a grant that expires between the base commit and
today is in neither plan, or in both).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from dbaccess.access.naming import Access
from dbaccess.access.plan import AccessPlan, DatabaseSpec, Grant
from dbaccess.person_text import markdown

ChangeKind = Literal[
    "gained",
    "lost",
    "escalated",
    "deescalated",
    "expiry-changed",
    "reason-changed",
    "login-changed",
    "audit-changed",
]
# Every field of a database, so a field added to DatabaseSpec is compared without a change
# here; named as access.yaml names them.
DATABASE_FIELDS: Final = {
    f.name: {"identifier": "instance/cluster", "name": "database", "redshift_groups": "groups"}.get(
        f.name, f.name
    )
    for f in dataclasses.fields(DatabaseSpec)
    if f.name != "key"
}
NO_CHANGES: Final = "No access changes"


@dataclass(frozen=True)
class Change:
    person: str
    database: str
    change: ChangeKind
    access: Access
    before: str | None  # the access level, expiry date, login or audit level before the edit
    after: str | None
    production: bool
    grant: Grant | None  # the head grant, for its expiry, reasons and sources; None when lost


@dataclass(frozen=True)
class DatabaseChange:
    database: str
    field: str  # as access.yaml names it: host, production, groups, ...
    before: str
    after: str


@dataclass(frozen=True)
class SettingChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class GitHubLoginChange:
    """A person's declared `github:` login changed: the owner-approval check tells by it who
    gains access, so reviewers see it."""

    person: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class AccessDiff:
    evaluated_on: dt.date
    changes: tuple[Change, ...]  # escalations and production read-write first
    databases_added: tuple[DatabaseSpec, ...]
    databases_removed: tuple[DatabaseSpec, ...]
    databases_changed: tuple[DatabaseChange, ...]
    settings_changed: tuple[SettingChange, ...]
    people_added: tuple[str, ...]
    people_removed: tuple[str, ...]
    descriptions: dict[str, str]  # database key -> description, from either version
    production: frozenset[str]  # production database keys, in either version
    github_changed: tuple[GitHubLoginChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.changes
            or self.databases_added
            or self.databases_removed
            or self.databases_changed
            or self.settings_changed
            or self.people_added
            or self.people_removed
            or self.github_changed
        )

    def counts(self) -> dict[str, int]:
        def people(*kinds: str) -> int:
            return len({c.person for c in self.changes if c.change in kinds})

        def number(kind: str, production: bool | None = None) -> int:
            return sum(
                1
                for c in self.changes
                if c.change == kind and (production is None or c.production == production)
            )

        return {
            "people_gaining_access": people("gained"),
            "people_losing_access": people("lost"),
            "escalations": number("escalated"),
            "production_escalations": number("escalated", production=True),
            "deescalations": number("deescalated"),
            "expiry_changes": number("expiry-changed"),
            "reason_changes": number("reason-changed"),
            "login_changes": number("login-changed"),
            "audit_changes": number("audit-changed"),
            "people_added": len(self.people_added),
            "people_removed": len(self.people_removed),
            "databases_added": len(self.databases_added),
            "databases_removed": len(self.databases_removed),
            "databases_changed": len({c.database for c in self.databases_changed}),
            "settings_changed": len(self.settings_changed),
            "github_logins_changed": len(self.github_changed),
            "changes": len(self.changes),
        }

    def summary(self) -> str:
        """One line: '3 people gain access, 1 person loses access, 1 escalation …'."""
        if self.empty:
            return NO_CHANGES
        n = self.counts()
        other_escalations = n["escalations"] - n["production_escalations"]
        parts = [
            _count(n["people_gaining_access"], "person gains access", "people gain access"),
            _count(n["people_losing_access"], "person loses access", "people lose access"),
            _count(
                n["production_escalations"],
                "escalation to read-write on a production database",
                "escalations to read-write on production databases",
            ),
            _count(other_escalations, "escalation to read-write", "escalations to read-write"),
            _count(n["deescalations"], "de-escalation to read-only", "de-escalations to read-only"),
            _count(n["expiry_changes"], "expiry change", "expiry changes"),
            _count(n["reason_changes"], "reason change", "reason changes"),
            _count(n["login_changes"], "login change", "login changes"),
            _count(n["audit_changes"], "query audit change", "query audit changes"),
            _count(n["databases_added"], "new database", "new databases"),
            _count(n["databases_removed"], "removed database", "removed databases"),
            _count(
                n["databases_changed"],
                "database with changed settings",
                "databases with changed settings",
            ),
            _count(n["settings_changed"], "file setting changed", "file settings changed"),
            _count(n["github_logins_changed"], "GitHub login changed", "GitHub logins changed"),
        ]
        return ", ".join(p for p in parts if p)


def diff_plans(base: AccessPlan, head: AccessPlan) -> AccessDiff:
    """The effective access head gives compared with base; both evaluated on one date."""
    if base.evaluated_on != head.evaluated_on:
        raise ValueError(
            f"plans evaluated on {base.evaluated_on} and {head.evaluated_on}; "
            "load both versions with the same `today`"
        )
    databases = {**base.databases, **head.databases}
    # A database that is production in either version is production in the review: dropping
    # the flag in the same edit as an escalation must not hide the escalation's warning.
    production = frozenset(k for k in databases if k in _production(base) | _production(head))
    before, after = _grants(base), _grants(head)
    changes: list[Change] = []
    for person, database in sorted(before.keys() | after.keys()):
        old, new = before.get((person, database), {}), after.get((person, database), {})
        changes += _pair_changes(person, database, database in production, old, new)
    changes.sort(key=_priority)
    return AccessDiff(
        evaluated_on=head.evaluated_on,
        changes=tuple(changes),
        databases_added=tuple(
            head.databases[k] for k in sorted(head.databases.keys() - base.databases.keys())
        ),
        databases_removed=tuple(
            base.databases[k] for k in sorted(base.databases.keys() - head.databases.keys())
        ),
        databases_changed=tuple(
            DatabaseChange(key, label, _show(getattr(old_db, name)), _show(getattr(new_db, name)))
            for key, old_db in sorted(base.databases.items())
            if (new_db := head.databases.get(key)) is not None
            for name, label in DATABASE_FIELDS.items()
            if getattr(old_db, name) != getattr(new_db, name)
        ),
        settings_changed=tuple(
            SettingChange(
                "unused_after_days", str(base.unused_after_days), str(head.unused_after_days)
            )
            for _ in [0]
            if base.unused_after_days != head.unused_after_days
        ),
        people_added=tuple(sorted(head.people.keys() - base.people.keys())),
        people_removed=tuple(sorted(base.people.keys() - head.people.keys())),
        descriptions={k: db.description for k, db in databases.items() if db.description},
        production=production,
        github_changed=tuple(
            GitHubLoginChange(email, was, now)
            for email in sorted(base.people.keys() | head.people.keys())
            if (was := _github(base, email)) != (now := _github(head, email))
        ),
    )


def _github(plan: AccessPlan, email: str) -> str | None:
    person = plan.people.get(email)
    return person.github if person else None


def _production(plan: AccessPlan) -> set[str]:
    return {k for k, db in plan.databases.items() if db.production}


def _show(value: object) -> str:
    """A database field's value as access.yaml writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _grants(plan: AccessPlan) -> dict[tuple[str, str], dict[Access, Grant]]:
    """(person, database) -> access level -> grant."""
    result: dict[tuple[str, str], dict[Access, Grant]] = defaultdict(dict)
    for g in plan.grants():
        result[g.email, g.database][g.access] = g
    return result


def _pair_changes(
    person: str,
    database: str,
    production: bool,
    old: dict[Access, Grant],
    new: dict[Access, Grant],
) -> list[Change]:
    """One person's changes on one database. Gaining read-write where read-only was held is
    an escalation (whether or not read-only stays); losing it while read-only remains is a
    de-escalation. A read-only login dropped or added by the same edit is part of that."""

    def change(kind: ChangeKind, access: Access, frm: str | None, to: str | None) -> Change:
        return Change(person, database, kind, access, frm, to, production, new.get(access))

    gained, lost = new.keys() - old.keys(), old.keys() - new.keys()
    result = []
    if "read-write" in gained and "read-only" in old:
        result.append(change("escalated", "read-write", "read-only", "read-write"))
        gained, lost = gained - {"read-write"}, lost - {"read-only"}
    elif "read-write" in lost and "read-only" in new:
        result.append(change("deescalated", "read-only", "read-write", "read-only"))
        gained, lost = gained - {"read-only"}, lost - {"read-write"}
    result += [change("gained", a, None, a) for a in sorted(gained)]
    result += [change("lost", a, a, None) for a in sorted(lost)]
    for access in sorted(old.keys() & new.keys()):
        was, now = old[access], new[access]
        if was.until != now.until:
            result.append(change("expiry-changed", access, _date(was.until), _date(now.until)))
        if was.reasons != now.reasons:
            reasons = ("; ".join(was.reasons) or None, "; ".join(now.reasons) or None)
            result.append(change("reason-changed", access, *reasons))
        if was.login != now.login:
            result.append(change("login-changed", access, was.login, now.login))
        if was.query_audit != now.query_audit:
            result.append(change("audit-changed", access, was.query_audit, now.query_audit))
    return result


_KIND_ORDER: Final = (
    "escalated",
    "gained",
    "lost",
    "deescalated",
    "expiry-changed",
    "reason-changed",
    "login-changed",
    "audit-changed",
)


def _priority(c: Change) -> tuple[int, int, str, str, str]:
    production_write = c.production and c.access == "read-write"
    rank = (
        0
        if c.change == "escalated" and c.production
        else 1
        if c.change == "escalated"
        else 2
        if production_write
        else 3
    )
    return rank, _KIND_ORDER.index(c.change), c.person, c.database, c.access


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _count(n: int, one: str, many: str) -> str:
    return "" if n == 0 else f"{n} {one if n == 1 else many}"


# --- rendering ------------------------------------------------------------------------------


def render_json(diff: AccessDiff) -> str:
    """`changes` entries have exactly the keys person, database, change, access, from, to."""
    return json.dumps(
        {
            "evaluated_on": diff.evaluated_on.isoformat(),
            "summary": diff.counts(),
            "changes": [
                {
                    "person": c.person,
                    "database": c.database,
                    "change": c.change,
                    "access": c.access,
                    "from": c.before,
                    "to": c.after,
                }
                for c in diff.changes
            ],
            "databases": {
                "added": [db.key for db in diff.databases_added],
                "removed": [db.key for db in diff.databases_removed],
                "changed": [
                    {"database": c.database, "field": c.field, "from": c.before, "to": c.after}
                    for c in diff.databases_changed
                ],
            },
            "settings": {
                "changed": [
                    {"field": c.field, "from": c.before, "to": c.after}
                    for c in diff.settings_changed
                ]
            },
            "people": {
                "added": list(diff.people_added),
                "removed": list(diff.people_removed),
                "github_changed": [
                    {"person": c.person, "from": c.before, "to": c.after}
                    for c in diff.github_changed
                ],
            },
        },
        indent=2,
    )


_LABELS: Final = {
    "expiry-changed": "until",
    "reason-changed": "reason",
    "login-changed": "login",
    "audit-changed": "query_audit",
}


def _detail(c: Change) -> str:
    """What changed in words: 'read-only → read-write', 'until 2026-12-31 → none'."""
    if c.change in _LABELS:
        return f"{_LABELS[c.change]} {c.before or 'none'} → {c.after or 'none'}"
    if c.change in ("escalated", "deescalated"):
        return f"{c.before} → {c.after}"
    return c.access


def _grant_note(c: Change) -> str:
    if c.grant is None or c.change not in ("gained", "escalated"):
        return ""
    parts = [f"until {c.grant.until}" if c.grant.until else "no expiry"]
    parts += [f'"{r}"' for r in c.grant.reasons]
    if c.grant.query_audit != "none":
        parts.append(f"query_audit {c.grant.query_audit}")
    return ", ".join(parts)


def render_text(diff: AccessDiff) -> str:
    lines = [diff.summary()]
    if diff.empty:
        return lines[0]
    lines.append(f"(effective access on {diff.evaluated_on})")
    if diff.changes:
        lines.append("")
    for c in diff.changes:
        production = " [production]" if c.production else ""
        note = _grant_note(c)
        lines.append(
            f"  {c.change:<14} {c.person}  {c.database}{production}: {_detail(c)}"
            + (f" ({note})" if note else "")
        )
    database_lines = [f"  new database {db.key}" for db in diff.databases_added]
    database_lines += [f"  removed database {db.key}" for db in diff.databases_removed]
    database_lines += [
        f"  database {c.database}: {c.field} {c.before} → {c.after}" for c in diff.databases_changed
    ]
    database_lines += [
        f"  setting {c.field}: {c.before} → {c.after}" for c in diff.settings_changed
    ]
    database_lines += [f"  new person {p}" for p in diff.people_added]
    database_lines += [f"  removed person {p}" for p in diff.people_removed]
    database_lines += [
        f"  person {c.person}: github {c.before or 'none'} → {c.after or 'none'}"
        for c in diff.github_changed
    ]
    if database_lines:
        lines += ["", *database_lines]
    return "\n".join(lines)


# (title, kinds, whether rows show the new grant's expiry, reasons and sources)
_SECTIONS: Final[tuple[tuple[str, tuple[ChangeKind, ...], bool], ...]] = (
    ("Escalations to read-write", ("escalated",), True),
    ("Access gained", ("gained",), True),
    ("Access lost", ("lost",), False),
    ("De-escalations to read-only", ("deescalated",), False),
    (
        "Expiry, reason, login and query audit changes",
        ("expiry-changed", "reason-changed", "login-changed", "audit-changed"),
        False,
    ),
)


def _login(login: str | None) -> str:
    # As code (a GitHub login is [A-Za-z0-9-]): shown, never a mention that pings the person.
    return f"`{login}`" if login else "none"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """Rows of Markdown: every value from access.yaml in them went through `markdown`."""
    header = list(header)
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render_markdown(diff: AccessDiff) -> str:
    """A PR comment: the summary line, then one table per kind of change. Every value from
    access.yaml is shown as data (`dbaccess.person_text.markdown`): a reason or description
    cannot ping, link, hide a row or format the page."""
    lines = ["### Access changes", ""]
    if diff.empty:
        return "\n".join([*lines, f"**{NO_CHANGES}** (effective access on {diff.evaluated_on})."])
    lines += [f"**{diff.summary()}**", "", f"Effective access on {diff.evaluated_on}."]

    def database(key: str) -> str:  # keys are [a-z0-9-] (the schema's rule)
        description = diff.descriptions.get(key)
        text = f"`{key}`" + (f" — {markdown(description)}" if description else "")
        return text + (" **(production)**" if key in diff.production else "")

    for title, kinds, with_grant in _SECTIONS:
        rows = []
        for c in diff.changes:
            if c.change not in kinds:
                continue
            flag = "⚠️ " if c.production and c.access == "read-write" else ""
            row = [flag + markdown(c.person), database(c.database), markdown(_detail(c))]
            if with_grant and c.grant:
                row += [
                    str(c.grant.until or "no expiry"),
                    markdown("; ".join(c.grant.reasons)),
                    markdown(", ".join(c.grant.sources)),
                ]
            rows.append(row)
        if rows:
            extra = ["Until", "Reason", "Via"] if with_grant else []
            lines += ["", f"#### {title}", ""]
            lines += _table(["Person", "Database", "Change", *extra], rows)
    database_rows = [["added", database(db.key), ""] for db in diff.databases_added]
    database_rows += [["removed", database(db.key), ""] for db in diff.databases_removed]
    database_rows += [
        [
            ("⚠️ " if c.field == "production" else "") + "changed",
            database(c.database),
            markdown(f"{c.field}: {c.before} → {c.after}"),
        ]
        for c in diff.databases_changed
    ]
    if database_rows:
        lines += ["", "#### Databases", ""]
        lines += _table(["Change", "Database", "Detail"], database_rows)
    people_rows = [["added", markdown(p)] for p in diff.people_added]
    people_rows += [["removed", markdown(p)] for p in diff.people_removed]
    people_rows += [
        [f"⚠️ GitHub login {_login(c.before)} → {_login(c.after)}", markdown(c.person)]
        for c in diff.github_changed
    ]
    if people_rows:
        lines += ["", "#### People", ""]
        lines += _table(["Change", "Person"], people_rows)
    if diff.settings_changed:
        lines += ["", "#### File settings", ""]
        lines += _table(
            ["Setting", "Change"],
            [[c.field, markdown(f"{c.before} → {c.after}")] for c in diff.settings_changed],
        )
    return "\n".join(lines)
