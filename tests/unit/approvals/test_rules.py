"""The owner-approval rule on two versions of access.yaml, without GitHub: GIVEN a change and
its reviews WHEN evaluated THEN who gains, whose approval counts and what is missing.
(tests/services/test_approvals.py runs the same through the CLI against the fake GitHub.)"""

from __future__ import annotations

import datetime as dt

from dbaccess.access import load_access_text
from dbaccess.approvals.requester import Requester
from dbaccess.approvals.rules import ApprovalReport, PullRequestFacts, Review, approvers, evaluate

TODAY = dt.date(2026, 11, 23)
HEAD = "h" * 40
BASE = """\
version: 1
databases:
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders-prod
    host: orders.example.com
    port: 5432
    database: orders
    admin_login: dbaccess_admin
    owners: ["@olga", "@example-org/dba"]
people:
  olga@example.com:
    github: olga
  ana@example.com:
    github: ana-lee
    grants:
      - {database: orders, access: read-only, until: 2026-12-31}
"""


def check(
    head: str,
    reviews: list[tuple[str, str]],
    *,
    author: str = "bob",
    requester: Requester | None = None,
    team: tuple[str, ...] = (),
) -> ApprovalReport:
    facts = PullRequestFacts(
        number=7,
        author=author,
        head_sha=HEAD,
        base_sha="b" * 40,
        requester=requester,
        reviews=tuple(Review(login, state, HEAD) for login, state in reviews),
    )
    return evaluate(
        load_access_text(BASE, "access.yaml", today=TODAY),
        load_access_text(head, "access.yaml", today=TODAY),
        facts,
        lambda org, slug, login: (org, slug) == ("example-org", "dba") and login in team,
    )


def test_a_later_end_date_is_a_gain_an_earlier_one_is_not() -> None:
    reviews = [("ana-lee", "APPROVED"), ("olga", "APPROVED")]
    later = check(BASE.replace("until: 2026-12-31", "until: 2027-03-31"), reviews)
    earlier = check(BASE.replace("until: 2026-12-31", "until: 2026-12-01"), reviews)

    [extended] = later.verdicts
    assert extended.gaining == ("ana@example.com",)
    assert extended.not_counted == (("ana-lee", "gains access"),)
    [shortened] = earlier.verdicts
    assert shortened.gaining == ()
    assert shortened.not_counted == (("ana-lee", "not an owner"),)  # a change still needs an owner
    assert later.passed
    assert earlier.passed


def test_a_new_github_login_is_reviewed_by_the_owners_of_the_person_s_databases() -> None:
    # Tomorrow's checks trust the new login: ana must not approve it under either name.
    head = BASE.replace("github: ana-lee", "github: ana-l")
    report = check(head, [("ana-lee", "APPROVED"), ("ana-l", "APPROVED")])

    [orders] = report.verdicts
    assert orders.gaining == ("ana@example.com",)
    assert orders.not_counted == (("ana-lee", "gains access"), ("ana-l", "gains access"))
    assert not report.passed
    assert check(head, [("olga", "APPROVED")]).passed


def test_a_removed_database_needs_its_owners_and_a_new_one_falls_back() -> None:
    removed = BASE.replace("      - {database: orders, access: read-only, until: 2026-12-31}\n", "")
    removed = removed[: removed.index("  orders:")] + "  {}\n" + removed[removed.index("people:") :]
    removed = removed.replace("databases:\n  {}\n", "databases: {}\n")
    assert [(v.database, v.owners) for v in check(removed, []).verdicts] == [
        ("orders", ("@olga", "@example-org/dba"))
    ]

    added = BASE.replace("  orders:", "  billing:\n" + _db("billing") + "  orders:")
    [billing] = check(added, [("zed", "APPROVED")]).verdicts
    assert billing.database == "billing"
    assert billing.fallback  # its owners come with the change: the base has none yet
    assert billing.passed


def test_a_login_the_change_declares_does_not_yet_tell_who_someone_is() -> None:
    # mallory, an owner, is added with someone else's login: her approval must not count.
    base = BASE.replace('"@olga", "@example-org/dba"', '"@olga", "@mallory"')
    head = base.replace(
        "  olga@example.com:\n",
        "  mallory@example.com:\n    github: alice\n"
        "    grants: [{database: orders, access: read-only}]\n  olga@example.com:\n",
    )
    facts = PullRequestFacts(7, "bob", HEAD, "b" * 40, None, (Review("mallory", "APPROVED", HEAD),))

    report = evaluate(
        load_access_text(base, "access.yaml", today=TODAY),
        load_access_text(head, "access.yaml", today=TODAY),
        facts,
        lambda *_: False,
    )

    assert not report.passed
    assert report.verdicts[0].not_counted == (
        (
            "mallory",
            "cannot tell whether they gain access: no `github:` on the base branch for "
            "mallory@example.com",
        ),
    )


def test_the_recorded_requester_never_counts_even_as_a_team_owner() -> None:
    head = BASE.replace(
        "  olga@example.com:\n",
        "  cai@example.com:\n    grants: [{database: orders, access: read-only}]\n  olga@example.com:\n",
    )
    requester = Requester("cai@example.com", "cai")
    report = check(
        head, [("cai", "APPROVED"), ("tariq", "APPROVED")], team=("cai",), requester=requester
    )
    assert not report.passed
    assert report.verdicts[0].not_counted[0] == ("cai", "gains access")


def test_the_latest_deciding_review_of_the_head_commit_wins() -> None:
    reviews = [
        Review("olga", "APPROVED", HEAD),
        Review("olga", "COMMENTED", HEAD),
        Review("ivan", "APPROVED", HEAD),
        Review("ivan", "CHANGES_REQUESTED", HEAD),
        Review("tariq", "APPROVED", "old" + HEAD[3:]),
        Review("pam", "DISMISSED", HEAD),
    ]
    assert approvers(reviews, HEAD) == ("olga",)


def _db(key: str) -> str:
    return (
        f'    engine: postgres\n    account: "123456789012"\n    region: eu-west-1\n'
        f"    instance: {key}-prod\n    host: {key}.example.com\n    port: 5432\n"
        f'    database: {key}\n    admin_login: dbaccess_admin\n    owners: ["@zed"]\n'
    )


def test_less_of_ones_own_statements_logged_is_a_gain_more_is_not() -> None:
    audited = BASE.replace("until: 2026-12-31}", "until: 2026-12-31, query_audit: all}")
    reviews = [("ana-lee", "APPROVED")]
    lowered = evaluate(
        load_access_text(audited, "access.yaml", today=TODAY),
        load_access_text(BASE, "access.yaml", today=TODAY),
        PullRequestFacts(7, "bob", HEAD, "b" * 40, None, (Review("ana-lee", "APPROVED", HEAD),)),
        lambda org, slug, login: False,
    )
    [verdict] = lowered.verdicts
    assert verdict.gaining == ("ana@example.com",)
    assert verdict.not_counted == (("ana-lee", "gains access"),)
    raised = check(audited, reviews)
    [verdict] = raised.verdicts
    assert verdict.gaining == ()
