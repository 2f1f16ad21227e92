"""`expire_grants` on random valid access files and random reports (hypothesis).

GIVEN an access file written line by line (each line tagged with the entry it belongs to),
and a report naming random grants (some held, some not), WHEN expire runs, THEN:

- the grants that go are exactly the listed held ones, except those a group keeps (each kept
  with a reason); report entries nobody holds are listed as unmatched;
- the result is the original with whole lines deleted: a deleted line is a removed entry, a
  comment written for it, the header of an owner left empty, or a blank line beside them;
  every other line is byte for byte the same (CRLF and a BOM included);
- a second run with the same report changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbaccess.access.edit import expire_grants

TODAY = dt.date(2026, 11, 23)
PAST, FUTURE = "2026-10-31", "2027-03-31"
DATABASES = ["x", "y"]
ACCESS = ["read-only", "read-write"]
EMAILS = [f"p{i}@example.com" for i in range(6)]
HEADER = [
    "version: 1",
    "databases:",
    *[
        line
        for key in DATABASES
        for line in (
            f"  {key}:",
            "    engine: postgres",
            '    account: "123456789012"',
            "    region: eu-west-1",
            f"    instance: {key}-prod",
            f"    host: {key}.example.internal",
            "    port: 5432",
            f"    database: {key}",
            "    admin_login: dbaccess_admin",
        )
    ],
]


@dataclass(frozen=True)
class Line:
    text: str
    tag: tuple[str, ...]  # ("fixed",), ("blank",), ("owner", o), ("grant", o, i), ("member", o, e)


grant_entry = st.tuples(
    st.sampled_from(DATABASES),
    st.sampled_from(ACCESS),
    st.sampled_from([None, PAST, FUTURE, f'"{PAST}"']),  # a timestamp is invalid input
    st.sampled_from([None, "INC-1", '"why: a reason"']),
    st.booleans(),  # flow mapping or block mapping
    st.booleans(),  # a comment line above it
    st.booleans(),  # a comment at the end of its line
)


def grant_lines(owner: str, entries: list[tuple], indent: str) -> list[Line]:
    lines = [Line(f"{indent}grants:", ("owner", owner))]
    for i, (database, access, until, reason, flow, above, trailing) in enumerate(entries):
        tag = ("grant", owner, str(i), database, access, str(until).strip('"')[:10])
        extra = [("until", until), ("reason", reason)]
        fields = [("database", database), ("access", access)] + [(k, v) for k, v in extra if v]
        if above:
            lines.append(Line(f"{indent}  # about entry {i} of {owner}", tag))
        end = f"  # entry {i}" if trailing else ""
        if flow:
            body = ", ".join(f"{k}: {v}" for k, v in fields)
            lines.append(Line(f"{indent}  - {{{body}}}{end}", tag))
        else:
            lines.append(Line(f"{indent}  - {fields[0][0]}: {fields[0][1]}{end}", tag))
            lines += [Line(f"{indent}    {k}: {v}", tag) for k, v in fields[1:]]
    return lines


@st.composite
def access_files(draw: st.DrawFn) -> tuple[list[Line], bool, bool]:
    lines = [Line(t, ("fixed",)) for t in HEADER]
    groups = draw(st.lists(st.sampled_from(["ops", "data"]), unique=True, max_size=2))
    if groups:
        lines.append(Line("groups:", ("fixed",)))
    for name in groups:
        owner = f"group {name}"
        if draw(st.booleans()):
            lines.append(Line("", ("blank",)))
        lines += [
            Line(f"  {name}:", ("owner", owner, "header")),
            Line("    members:", ("owner", owner)),
        ]
        members = draw(st.lists(st.sampled_from(EMAILS), min_size=1, max_size=3, unique=True))
        lines += [Line(f"      - {e}", ("member", owner, e)) for e in members]
        entries = draw(st.lists(grant_entry, min_size=1, max_size=3))
        lines += grant_lines(owner, entries, "    ")
    people = draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=5))
    lines.append(Line("people:" if people else "people: {}", ("fixed",)))
    for email in people:
        owner = f"people {email}"
        if draw(st.booleans()):
            lines.append(Line("", ("blank",)))
        if draw(st.booleans()):
            lines.append(Line(f"  # {email} joined in spring", ("owner", owner)))
        lines.append(Line(f"  {email}:", ("owner", owner, "header")))
        if draw(st.booleans()):
            lines.append(Line(f"    username: u{email[1]}", ("owner", owner)))
        entries = draw(st.lists(grant_entry, max_size=4))
        if entries:
            lines += grant_lines(owner, entries, "    ")
        else:
            lines.append(Line("    grants: []", ("owner", owner)))
    return lines, draw(st.booleans()), draw(st.booleans())


def join(lines: list[str], crlf: bool, bom: bool) -> str:
    return ("\ufeff" if bom else "") + "".join(t + ("\r\n" if crlf else "\n") for t in lines)


def expected_lines(lines: list[Line], lost: set[tuple[str, str, str]]) -> list[str]:
    """The documented edit, restated: entries past their `until` and the person's own entries
    of lost grants go; a member goes when every live grant of the group is lost to them; a
    group without grants or members left goes, and so does a person without grants left,
    unless they keep `username:` for a group they are still in (then only `grants:` goes)."""

    def past(tag: tuple[str, ...]) -> bool:
        return tag[-1] != "None" and dt.date.fromisoformat(tag[-1]) < TODAY

    entries = {line.tag for line in lines if line.tag[0] == "grant"}
    live: dict[str, set[tuple[str, str]]] = {}
    for tag in entries:
        live.setdefault(tag[1], set())
        if not past(tag):
            live[tag[1]].add((tag[3], tag[4]))
    gone = {
        tag
        for tag in entries
        if past(tag)
        or (tag[1].startswith("people ") and (tag[1].removeprefix("people "), *tag[3:5]) in lost)
    }
    members = {line.tag for line in lines if line.tag[0] == "member"}
    gone |= {
        tag
        for tag in members
        if live.get(tag[1]) and all((tag[2], d, a) in lost for d, a in live[tag[1]])
    }
    owners = {tag[1] for tag in entries | members}
    emptied = {o for o in owners if all(t in gone for t in entries if t[1] == o)}
    groups_left = {
        o
        for o in owners
        if o.startswith("group ")
        and o not in emptied
        and not all(t in gone for t in members if t[1] == o)
    }
    in_group = {t[2] for t in members if t[1] in groups_left and t not in gone}
    named = {line.tag[1] for line in lines if line.text.startswith("    username:")}
    dropped = {o for o in emptied if o.startswith("people ") and any(t[1] == o for t in entries)}
    dropped |= {o for o in owners if o.startswith("group ") and o not in groups_left}
    grants_only = {o for o in dropped if o in named and o.removeprefix("people ") in in_group}
    dropped -= grants_only
    result = []
    for line in lines:
        if line.tag in gone or (len(line.tag) > 1 and line.tag[1] in dropped):
            continue
        if line.tag[0] == "owner" and line.tag[1] in grants_only and line.text == "    grants:":
            continue
        result.append(line.text)
    for key in ("people:", "groups:"):
        if key in result:
            at = result.index(key)
            following = [t for t in result[at + 1 :] if t]
            if not following or not following[0].startswith("  "):
                result[at] = f"{key} {{}}"
    return result


@given(
    access_files(),
    st.lists(
        st.tuples(st.sampled_from(EMAILS), st.sampled_from(DATABASES), st.sampled_from(ACCESS)),
        max_size=8,
    ),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_expire_removes_what_is_listed_and_keeps_every_other_line(
    drawn: tuple[list[Line], bool, bool], stale: list[tuple[str, str, str]]
) -> None:
    lines, crlf, bom = drawn
    text = join([line.text for line in lines], crlf, bom)
    result = expire_grants(text, stale, TODAY)

    # The grants that go are the listed held ones; the others are kept with a reason.
    held = {(g.email, g.database, g.access) for g in result.before.grants()}
    expired = {(g.email, g.database, g.access) for g in result.before.expired}
    left = {(g.email, g.database, g.access) for g in result.after.grants()}
    listed = set(stale)
    assert held - left <= listed
    kept = {(k.owner, k.database, k.access) for k in result.kept}
    assert (listed & held) - (held - left) == kept
    assert all(k.reason for k in result.kept)
    assert set(result.unmatched) == listed - held - expired
    if not any(line.tag == ("fixed",) and line.text == "groups:" for line in lines):
        assert held - left == listed & held  # without groups nothing can be kept
    assert not result.after.expired  # every entry past its `until` went

    # Whole lines deleted, the rest byte for byte.
    assert result.text.startswith("\ufeff") == bom
    body = result.text.removeprefix("\ufeff")
    newline = "\r\n" if crlf else "\n"
    assert body.endswith(newline)
    assert not crlf or body.count("\n") == body.count("\r\n")
    out = body.split(newline)[:-1]
    expected = expected_lines(lines, held - set(left))
    assert [t for t in out if t] == [t for t in expected if t]
    assert len(out) <= len(lines)  # blank lines beside a removed entry may go, none come

    # A second run changes nothing.
    again = expire_grants(result.text, stale, TODAY)
    assert again.text == result.text
    assert again.removed == ()
