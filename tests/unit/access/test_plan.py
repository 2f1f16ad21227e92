"""Group expansion, duplicate merging, and expiry by date, on small files and the sample."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dbaccess.access import load_access_file, load_access_text

ROOT = Path(__file__).resolve().parents[3]
TEXT = """\
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
groups:
  sre:
    members: [Hugo.Henley@example.com, ana@example.com]
    grants:
      - {database: orders, access: read-only, until: 2026-12-31}
people:
  hugo.henley@example.com:
    grants:
      - {database: orders, access: read-only}
      - {database: orders, access: read-write, until: 2026-12-01, reason: backfill}
"""


def load(today: dt.date):
    return load_access_text(TEXT, "access.yaml", today=today)


def test_group_grants_reach_every_member_and_duplicates_merge() -> None:
    plan = load(dt.date(2026, 11, 23))
    assert sorted(plan.people) == ["ana@example.com", "hugo.henley@example.com"]
    hugo = plan.people["hugo.henley@example.com"]
    assert [(g.database, g.access, g.login, g.until, g.sources) for g in hugo.grants] == [
        ("orders", "read-only", "hugohenley_ro", None, ("people", "group sre")),
        ("orders", "read-write", "hugohenley_rw", dt.date(2026, 12, 1), ("people",)),
    ]
    ana = plan.people["ana@example.com"]
    assert [(g.login, g.until, g.sources) for g in ana.grants] == [
        ("ana_ro", dt.date(2026, 12, 31), ("group sre",))
    ]


def test_until_is_the_last_day_of_access() -> None:
    on_the_day = load(dt.date(2026, 12, 1)).people["hugo.henley@example.com"]
    assert [g.access for g in on_the_day.grants] == ["read-only", "read-write"]
    plan = load(dt.date(2026, 12, 2))
    assert [g.access for g in plan.people["hugo.henley@example.com"].grants] == ["read-only"]
    assert [(e.email, e.access, e.until) for e in plan.expired] == [
        ("hugo.henley@example.com", "read-write", dt.date(2026, 12, 1))
    ]


def test_a_permanent_source_outlives_an_expired_one() -> None:
    # Hugo's read-only comes from the group (until 2026-12-31) and from himself (no end).
    plan = load(dt.date(2027, 1, 5))
    hugo = plan.people["hugo.henley@example.com"]
    assert [(g.access, g.until, g.sources) for g in hugo.grants] == [
        ("read-only", None, ("people",))
    ]
    assert plan.people["ana@example.com"].grants == ()
    assert {(e.email, e.access) for e in plan.expired} == {
        ("ana@example.com", "read-only"),
        ("hugo.henley@example.com", "read-write"),
    }


def test_the_sample_access_file_is_realistic() -> None:
    plan = load_access_file(ROOT / "access.yaml", today=dt.date(2026, 11, 23))
    engines = [db.engine for db in plan.databases.values()]
    assert engines.count("postgres") >= 2
    assert "aurora-postgresql" in engines
    assert "redshift" in engines
    assert len({db.account for db in plan.databases.values()}) >= 2
    assert len(plan.people) >= 8
    assert plan.groups
    assert {g.access for g in plan.grants()} == {"read-only", "read-write"}
    assert any(g.until for g in plan.grants())
    assert plan.summary() == "9 people, 4 databases, 19 grants (1 expired)"


def test_a_grant_audits_at_the_highest_level_of_its_live_sources() -> None:
    # The database says ddl; the group's grant has none of its own (ddl), hugo's own says all
    # until 2026-12-05: while that source lives it wins, then the group's ddl is left.
    text = TEXT.replace(
        "    admin_login: dbaccess_admin\n",
        "    admin_login: dbaccess_admin\n    query_audit: ddl\n",
    ).replace(
        "      - {database: orders, access: read-only}\n",
        "      - {database: orders, access: read-only, until: 2026-12-05, query_audit: all}\n",
    )

    def levels(today: dt.date) -> list[tuple[str, str]]:
        plan = load_access_text(text, "access.yaml", today=today)
        return [(g.login, g.query_audit) for g in plan.grants()]

    assert levels(dt.date(2026, 11, 23)) == [
        ("ana_ro", "ddl"),
        ("hugohenley_ro", "all"),
        ("hugohenley_rw", "ddl"),
    ]
    assert levels(dt.date(2026, 12, 6))[1] == ("hugohenley_ro", "ddl")
