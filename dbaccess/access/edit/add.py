"""Add one grant under a person in access.yaml (the person created if absent), as text.

What the Slack request flow needs to open a pull request: the new entry is written in the
style of its neighbours (one flow mapping per line, at the list's own indent, with the file's
own line ends), and nothing else in the file changes. The result must validate and give the
person exactly one more grant, or nothing is returned.
"""

from __future__ import annotations

import datetime as dt
import json

from dbaccess.access import AccessPlan, load_access_text
from dbaccess.access.edit.owners import Owner, read_owners
from dbaccess.access.edit.text import EditError, TextEdit, last_end
from dbaccess.access.edit.tree import Map, Node, parse
from dbaccess.access.naming import ACCESS_LEVELS, Access

BOM = "\ufeff"


def add_grant(
    text: str,
    email: str,
    database: str,
    access: Access,
    today: dt.date,
    *,
    until: dt.date | None = None,
    reason: str | None = None,
    file: str = "access.yaml",
) -> str:
    """`text` with `email` granted `access` on `database`. Raises InvalidInput if the file
    (or the new entry) does not validate, EditError if the person already has that access
    or the file's layout leaves no clean place for the entry."""
    bom, body = (BOM, text[1:]) if text.startswith(BOM) else ("", text)
    email = email.lower()
    before = load_access_text(body, file, today=today)
    if database not in before.databases or access not in ACCESS_LEVELS:
        raise EditError(f"no database '{database}' with access '{access}' to grant")
    if _has(before, email, database, access):
        raise EditError(f"{email} already has {access} on {database}")
    # A database key and an access level are plain words; a reason is always quoted (JSON's
    # double quotes are YAML's), so `true` or `2026-01-01` stays text.
    entry = f"database: {database}, access: {access}"
    entry += f", until: {until.isoformat()}" if until else ""
    entry += f", reason: {json.dumps(reason, ensure_ascii=False)}" if reason is not None else ""
    root = parse(body).root
    owners = read_owners(root)
    edit = TextEdit(body)
    person = next((p for p in owners.persons if p.name == email), None)
    if person is not None:
        _under(person, "{" + entry + "}", edit)
    else:
        _new_person(owners.people, root, email, "{" + entry + "}", edit)
    result = edit.result()
    after = load_access_text(result, file, today=today)
    if _held(after) != _held(before) | {(email, database, access)}:
        raise EditError("adding the entry would change more than one grant; add it by hand")
    return bom + result


def _held(plan: AccessPlan) -> set[tuple[str, str, str]]:
    return {(g.email, g.database, g.access) for g in plan.grants()}


def _has(plan: AccessPlan, email: str, database: str, access: str) -> bool:
    person = plan.people.get(email)
    return person is not None and any(
        g.database == database and g.access == access for g in person.grants
    )


def _under(person: Owner, entry: str, edit: TextEdit) -> None:
    nl = edit.newline
    grants = person.grants
    if grants is not None and grants.flow:
        at = last_end(grants.items[-1]) if grants.items else grants.start + 1
        edit.insert(at, (", " if grants.items else "") + entry)
    elif grants is not None and grants.items:
        first = grants.items[0]
        prefix = edit.text[edit.line_start(first.start) : first.start]
        edit.insert(edit.line_end(last_end(grants.items[-1]) - 1), f"{prefix}{entry}{nl}")
    elif person.body is not None and not person.body.flow and person.body.get("grants") is None:
        key = person.body.keys[0]
        indent = " " * edit.column(key.start)
        end = edit.line_end(last_end(person.body) - 1)
        edit.insert(end, f"{indent}grants:{nl}{indent}  - {entry}{nl}")
    else:
        raise EditError(f"{person.written} has no list of grants to add to; add it by hand")


def _new_person(
    people: Map | None, root: Node | None, email: str, entry: str, edit: TextEdit
) -> None:
    nl = edit.newline
    if people is not None and not people.flow and people.keys:
        indent = " " * edit.column(people.keys[0].start)
        end = edit.line_end(last_end(people) - 1)
        lines = [f"{indent}{email}:", f"{indent}  grants:", f"{indent}    - {entry}"]
        edit.insert(end, "".join(line + nl for line in lines))
    elif people is not None and people.flow and not people.keys:
        colon = edit.text.rfind(":", 0, people.start) + 1  # `people: {}` becomes `people:`
        edit.replace(colon, people.end, f"{nl}  {email}:{nl}    grants:{nl}      - {entry}")
    elif people is None and isinstance(root, Map) and root.get("people") is None:
        ending = "" if edit.text.endswith("\n") else nl
        block = f"people:{nl}  {email}:{nl}    grants:{nl}      - {entry}{nl}"
        edit.insert(len(edit.text), ending + block)
    else:
        raise EditError("`people:` is written in a way new entries cannot follow; add it by hand")
