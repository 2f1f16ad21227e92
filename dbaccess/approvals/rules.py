"""Owner approval: may this pull request's access change merge? Pure functions and renderers.

Everything the rule needs from GitHub comes in as `PullRequestFacts` (read by
`dbaccess.approvals.facts`) and a `TeamMembership` callable; everything it needs from the file
comes in as the two plans. The beneficiaries come from the access diff, never from the pull
request's text: the requester the bot recorded only adds exclusions.

For every database the change touches (an access change, added, removed, a setting changed),
an owner must have approved the head commit: a login in the database's `owners:` on the BASE
branch (a pull request cannot appoint its own reviewers), or an active member of an owning
team. Never counted: anyone who gains access to that database (matched by `github:` logins,
declared in either version), the pull request's author, or the recorded requester. And only
when the check can tell: an approver counts if every person who gains access has a login in
the base file (a login the change itself declares is not yet reviewed), or if the base file
declares the approver's login for someone who gains nothing there.
A database without owners falls back to the repository's rule (branch protection's required
reviews), with the same exclusions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from dbaccess.access import AccessPlan
from dbaccess.access.diff import AccessDiff, Change, diff_plans
from dbaccess.access.naming import AUDIT_LEVELS
from dbaccess.approvals.requester import Requester

# What a review that decides says; COMMENTED reviews leave an earlier decision standing, as
# on GitHub. A dismissed review is DISMISSED.
_DECIDING: Final = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
STATUS_CONTEXT: Final = "dbaccess/approvals"

# (org, team slug, login) -> whether login is an active member of the team.
TeamMembership = Callable[[str, str, str], bool]


@dataclass(frozen=True)
class Review:
    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED (GitHub's words)
    commit: str  # the commit the review was made on


@dataclass(frozen=True)
class PullRequestFacts:
    number: int
    author: str
    head_sha: str
    base_sha: str
    requester: Requester | None  # recorded by the bot on the body's first line
    reviews: tuple[Review, ...]  # in the order they were submitted


@dataclass(frozen=True)
class Verdict:
    database: str
    passed: bool
    owners: tuple[str, ...]  # from the base branch; () means the repository's rule
    gaining: tuple[str, ...]  # emails of the people who gain access on it
    approved_by: tuple[str, ...]  # logins whose approval counts
    not_counted: tuple[tuple[str, str], ...]  # (login, why its approval does not count)
    missing: str  # what is needed, "" when passed

    @property
    def fallback(self) -> bool:
        return not self.owners


@dataclass(frozen=True)
class ApprovalReport:
    number: int
    head_sha: str
    verdicts: tuple[Verdict, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def summary(self) -> str:
        """One line, at most 140 characters (a commit status's description)."""
        if not self.verdicts:
            return "No database's access changes"
        failed = [v.database for v in self.verdicts if not v.passed]
        if not failed:
            return f"Approved: {len(self.verdicts)} of {len(self.verdicts)} databases"
        return f"Owner approval missing: {', '.join(failed)}"[:140]


def approvers(reviews: Iterable[Review], head_sha: str) -> tuple[str, ...]:
    """Logins whose latest deciding review approves `head_sha`: an approval of an earlier
    commit, a dismissed one, or one followed by a request for changes does not count."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state in _DECIDING:
            latest[review.login.lower()] = review
    return tuple(r.login for r in latest.values() if r.state == "APPROVED" and r.commit == head_sha)


def touched_databases(diff: AccessDiff) -> set[str]:
    """Every database whose access or settings the change touches."""
    keys = {c.database for c in diff.changes}
    keys |= {db.key for db in (*diff.databases_added, *diff.databases_removed)}
    keys |= {c.database for c in diff.databases_changed}
    return keys


def beneficiaries(diff: AccessDiff, base: AccessPlan, head: AccessPlan) -> dict[str, set[str]]:
    """database -> the people who gain on it. A person whose `github:` login changes counts
    as gaining on every database they hold in either version: the owners of those review the
    new login (which later checks will trust), and the person cannot approve it."""
    result: dict[str, set[str]] = {}
    for change in diff.changes:
        if gains(change):
            result.setdefault(change.database, set()).add(change.person)
    for relabelled in diff.github_changed:
        for plan in (base, head):
            person = plan.people.get(relabelled.person)
            for grant in person.grants if person else ():
                result.setdefault(grant.database, set()).add(relabelled.person)
    return result


def gains(change: Change) -> bool:
    """Whether the person gets more: new access, read-write, a later or no end date, a new
    login, less of their statements logged. Losing access, de-escalating, an earlier end, a
    new reason and more logging are not gains."""
    if change.change == "expiry-changed":
        return change.after is None or (change.before is not None and change.after > change.before)
    if change.change == "audit-changed":
        return AUDIT_LEVELS.index(change.after or "none") < AUDIT_LEVELS.index(
            change.before or "none"
        )
    return change.change in ("gained", "escalated", "login-changed")


def evaluate(
    base: AccessPlan, head: AccessPlan, facts: PullRequestFacts, is_member: TeamMembership
) -> ApprovalReport:
    diff = diff_plans(base, head)
    declared = _logins(base, head)
    gaining = beneficiaries(diff, base, head)
    verdicts = tuple(
        _verdict(key, gaining.get(key, set()), base, facts, declared, is_member)
        for key in sorted(touched_databases(diff) | gaining.keys())
    )
    return ApprovalReport(facts.number, facts.head_sha, verdicts)


def _logins(base: AccessPlan, head: AccessPlan) -> dict[str, set[str]]:
    """email -> the GitHub logins (lower-cased) declared for them in either version."""
    result: dict[str, set[str]] = {}
    for plan in (base, head):
        for email, person in plan.people.items():
            if person.github:
                result.setdefault(email, set()).add(person.github.lower())
    return result


def _verdict(
    key: str,
    gainers: set[str],
    base: AccessPlan,
    facts: PullRequestFacts,
    declared: Mapping[str, set[str]],
    is_member: TeamMembership,
) -> Verdict:
    gaining = sorted(gainers)
    if facts.requester is not None and facts.requester.email not in gaining:
        gaining.append(facts.requester.email)
    excluded = {login for email in gaining for login in declared.get(email, ())}
    if facts.requester is not None and facts.requester.github:
        excluded.add(facts.requester.github.lower())
    # A login declared by this change is not trusted to tell who someone is: it is reviewed here.
    undeclared = [e for e in gaining if not (base.people.get(e) and base.people[e].github)]
    # Logins the base file gives to someone who gains nothing here: known not to gain.
    known_others = {
        p.github.lower() for email, p in base.people.items() if p.github and email not in gaining
    }
    owners = base.databases[key].owners if key in base.databases else ()
    counted: list[str] = []
    not_counted: list[tuple[str, str]] = []
    for login in approvers(facts.reviews, facts.head_sha):
        why = _not_counted_because(login, facts.author, excluded, undeclared, known_others)
        if why is None and owners and not is_owner(login, owners, is_member):
            why = "not an owner"
        if why is not None:
            not_counted.append((login, why))
        else:
            counted.append(login)
    who = f"an owner ({', '.join(owners)})" if owners else "someone with write access"
    missing = "" if counted else f"an approval of {facts.head_sha[:7]} by {who}"
    if missing and gaining:
        missing += " who does not gain access"
    return Verdict(
        key,
        bool(counted),
        owners,
        tuple(gaining),
        tuple(counted),
        tuple(not_counted),
        missing,
    )


def _not_counted_because(
    login: str, author: str, excluded: set[str], undeclared: list[str], known_others: set[str]
) -> str | None:
    if login.lower() == author.lower():
        return "the pull request's author"
    if login.lower() in excluded:
        return "gains access"
    if undeclared and login.lower() not in known_others:
        unknown = ", ".join(undeclared)
        return (
            f"cannot tell whether they gain access: no `github:` on the base branch for {unknown}"
        )
    return None


def is_owner(login: str, owners: tuple[str, ...], is_member: TeamMembership) -> bool:
    names = [owner.removeprefix("@") for owner in owners]
    if any(name.lower() == login.lower() for name in names if "/" not in name):
        return True
    teams = [name.partition("/") for name in names if "/" in name]
    return any(is_member(org, slug, login) for org, _, slug in teams)


# --- rendering ------------------------------------------------------------------------------

_FALLBACK: Final = "no owners: the repository's rule applies (branch protection's required reviews)"


def _detail(v: Verdict, login: Callable[[str], str]) -> str:
    parts = [_FALLBACK] if v.fallback else []
    if v.gaining:
        parts.append(f"gaining access: {', '.join(v.gaining)}")
    if v.missing:
        parts.append(f"needs {v.missing}")
    if v.not_counted:
        parts.append(
            "not counted: " + ", ".join(f"{login(who)} ({why})" for who, why in v.not_counted)
        )
    return "; ".join(parts)


def _at(login: str) -> str:
    return f"@{login}"


def _code(login: str) -> str:
    # As code: shown, never a mention that pings the person.
    return f"`@{login}`"


def _title(report: ApprovalReport) -> str:
    return f"Owner approval of pull request #{report.number} at {report.head_sha[:7]}"


def render_text(report: ApprovalReport) -> str:
    lines = [_title(report), report.summary()]
    if not report.verdicts:
        return "\n".join(lines)
    width = max(len(v.database) for v in report.verdicts)
    lines.append("")
    for v in report.verdicts:
        mark = "✓" if v.passed else "✗"
        approved = ", ".join(map(_at, v.approved_by)) or "-"
        detail = _detail(v, _at)
        lines.append(
            f"{mark} {v.database:<{width}}  approved by {approved}"
            + (f"; {detail}" if detail else "")
        )
    return "\n".join(lines)


def render_markdown(report: ApprovalReport) -> str:
    lines = [f"### {_title(report)}", "", f"**{report.summary()}**"]
    if not report.verdicts:
        return "\n".join(lines)
    lines += [
        "",
        "| | Database | Owners | Approved by | Missing / notes |",
        "|---|---|---|---|---|",
    ]
    for v in report.verdicts:
        lines.append(
            "| "
            + " | ".join(
                [
                    "✓" if v.passed else "✗",
                    f"`{v.database}`",
                    ", ".join(f"`{o}`" for o in v.owners) or "(none)",
                    ", ".join(map(_code, v.approved_by)) or "-",
                    _detail(v, _code).replace("|", "\\|") or "-",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def render_json(report: ApprovalReport) -> str:
    return json.dumps(
        {
            "pull_request": report.number,
            "head_sha": report.head_sha,
            "passed": report.passed,
            "summary": report.summary(),
            "databases": [
                {
                    "database": v.database,
                    "passed": v.passed,
                    "owners": list(v.owners),
                    "fallback": v.fallback,
                    "gaining": list(v.gaining),
                    "approved_by": list(v.approved_by),
                    "not_counted": [{"login": who, "why": why} for who, why in v.not_counted],
                    "missing": v.missing,
                }
                for v in report.verdicts
            ],
        },
        indent=2,
    )
