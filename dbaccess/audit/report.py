"""How audit and sweep results read: JSON for machines, text for people, markdown for a job
summary. Nothing here holds a secret: findings and sessions name roles, never credentials."""

from __future__ import annotations

import json

from dbaccess.audit.results import INFORMATIONAL, KINDS, AuditResult, SweepResult
from dbaccess.person_text import markdown as as_markdown


def render_audit(result: AuditResult, fmt: str) -> str:
    """The audit's result as json, markdown (a job summary) or text, grouped by kind."""
    if fmt == "json":
        return json.dumps(
            {
                "findings": [f.as_dict() for f in result.findings],
                "checked": result.checked(),
            },
            indent=2,
        )
    markdown = fmt == "markdown"
    checked = ", ".join(result.databases) or "none"
    needing = [f for f in result.findings if f.kind not in INFORMATIONAL]
    head = (
        f"{len(needing)} finding(s) to fix" if needing else "Clean: no finding to fix"
    ) + f"; databases checked: {checked}"
    lines = [f"## dbaccess audit\n\n{head}" if markdown else head]
    for key, why in sorted(result.skipped.items()):
        lines.append(f"- skipped {key}: {why}" if markdown else f"skipped {key}: {why}")
    for kind, (meaning, fix) in KINDS.items():
        found = [f for f in result.findings if f.kind == kind]
        if not found:
            continue
        if markdown:
            lines += ["", f"### `{kind}` ({len(found)}): {meaning}", "", f"Fix: `{fix}`", ""]
            lines += ["| Database | Subject | Detail |", "|---|---|---|"]
            # A login's name and its detail come from the server: data, never markup.
            lines += [
                f"| {f.database} | {as_markdown(f.subject)} | {as_markdown(f.detail)} |"
                for f in found
            ]
        else:
            lines += ["", f"{kind} ({len(found)}): {meaning}", f"  fix: {fix}"]
            lines += [f"  {f.database}: {f.subject}: {f.detail}" for f in found]
    return "\n".join(lines)


def render_sweep(result: SweepResult, fmt: str) -> str:
    """The sweep's result as json or text."""
    if fmt == "json":
        return json.dumps(
            {
                "ended": [e.as_dict() for e in result.ended],
                "kept": result.kept,
                "dry_run": result.dry_run,
                "errors": result.errors,
            },
            indent=2,
        )
    verb = "Would end (dry run)" if result.dry_run else "Ended"
    lines = [f"{verb}: {len(result.ended)} session(s); kept: {result.kept}"]
    lines += [
        f"  {e.database}: {e.login} pid {e.pid} since {e.since or '(unknown)'}"
        for e in result.ended
    ]
    lines += [f"error: {message}" for message in result.errors]
    return "\n".join(lines)
