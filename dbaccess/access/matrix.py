"""The access matrix: people × databases, as a reviewer reads it."""

from __future__ import annotations

from collections import defaultdict

from dbaccess.access.naming import SHORT_ACCESS
from dbaccess.access.plan import AccessPlan


def render_matrix(plan: AccessPlan) -> str:
    """A text table: one row per person, one column per database; ro, rw or ro+rw.

    `*` marks a time-bound grant, `expired` a grant past its `until` (listed below); the
    grants whose statements the audit log records follow, with their query_audit level.
    """
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    notes: list[str] = []
    for grant in plan.grants():
        mark = "*" if grant.until else ""
        cells[grant.email, grant.database].append(SHORT_ACCESS[grant.access] + mark)
        if grant.until:
            notes.append(
                f"  * {grant.email}: {grant.access} on {grant.database} until {grant.until}"
            )
    for gone in plan.expired:
        if (gone.email, gone.database) not in cells:
            cells[gone.email, gone.database].append("expired")
        notes.append(
            f"  expired: {gone.email}: {gone.access} on {gone.database} (until {gone.until})"
        )
    databases = list(plan.databases)
    header = ["person", *databases]
    rows = [
        [email, *("+".join(cells.get((email, db), [])) or "-" for db in databases)]
        for email in plan.people
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    if notes:
        out += ["", *notes]
    if audited := audit_lines(plan):
        out += ["", *audited]
    return "\n".join(out)


def audit_lines(plan: AccessPlan) -> list[str]:
    """The grants whose statements the audit log records, with their query_audit level (a
    heading and one line each; none when no grant is audited)."""
    lines = [
        f"  {g.email}: {g.access} on {g.database} ({g.login}): {g.query_audit}"
        for g in plan.grants()
        if g.query_audit != "none"
    ]
    return ["Query audit (what the database's audit log records):", *lines] if lines else []
