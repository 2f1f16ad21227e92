"""What a person's database-access policy lets them do, evaluated as IAM would, equals what
their grants say: for random grants (hypothesis) on databases that may share a server, at every
instant around each grant's end.

They are evaluated with the repository's IAM evaluator (tests/unit/iam/iam_evaluator.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dbaccess.access.naming import login_for
from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.iam import documents, people
from tests.unit.iam.iam_evaluator import allowed, as_list

ACCOUNT = "123456789012"
BASE = "ana"
DAY0 = dt.date(2026, 12, 1)


# --- random grants on random databases ----------------------------------------------------

SERVERS = [("postgres", "pg-a"), ("aurora-postgresql", "aurora-b"), ("redshift", "dwh-c")]


@st.composite
def databases(draw: st.DrawFn) -> list[DatabaseSpec]:
    """Two to four databases; several may live on one server (same engine and id)."""
    count = draw(st.integers(2, 4))
    specs = []
    for i in range(count):
        engine, identifier = draw(st.sampled_from(SERVERS))
        specs.append(
            DatabaseSpec(
                key=f"db{i}",
                engine=engine,  # type: ignore[arg-type]
                account=ACCOUNT,
                region="eu-west-1",
                identifier=identifier,
                host=f"{identifier}.example.com",
                port=5432,
                name=f"name{i}",
                admin_login="dbaccess_admin",
                redshift_groups={"read-only": f"g{i}_ro", "read-write": f"g{i}_rw"}
                if engine == "redshift"
                else {},
            )
        )
    return specs


@st.composite
def grants(draw: st.DrawFn, dbs: list[DatabaseSpec]) -> list[tuple[DatabaseSpec, Grant]]:
    result = []
    for db in dbs:
        for access in ("read-only", "read-write"):
            if not draw(st.booleans()):
                continue
            until = draw(st.none() | st.integers(0, 5).map(lambda d: DAY0 + dt.timedelta(d)))
            grant = Grant("ana@example.com", db.key, access, login_for(BASE, access), until, (), ())
            result.append((db, grant))
    return result


@st.composite
def person(
    draw: st.DrawFn,
) -> tuple[list[DatabaseSpec], list[tuple[DatabaseSpec, Grant]], dict[str, str], dict[str, Any]]:
    """Random databases, the person's random grants on them, and the policy they get."""
    dbs = draw(databases())
    granted = draw(grants(dbs))
    ids = {db.key: resource_id(db) for db in dbs}
    return dbs, granted, ids, people.database_access_policy(granted, ids, "arn:aws:s3:::c/p.json")


def resource_id(db: DatabaseSpec) -> str:
    return ("db-" if db.engine == "postgres" else "cluster-") + db.identifier.upper()


def live(grant: Grant, day: dt.date) -> bool:
    return grant.until is None or day <= grant.until


def instants() -> list[dt.datetime]:
    """Every edge: the first and last second of each day around the grants' ends."""
    out = []
    for offset in range(-1, 8):
        day = DAY0 + dt.timedelta(offset)
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        out += [start, start + dt.timedelta(hours=23, minutes=59, seconds=59)]
    return out


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rds_connect_is_allowed_exactly_while_a_grant_on_that_server_is_live(
    data: st.DataObject,
) -> None:
    dbs, granted, ids, policy = data.draw(person())
    for db in (d for d in dbs if d.is_postgres):
        for access in ("read-only", "read-write"):
            login = login_for(BASE, access)
            arn = documents.rds_dbuser_arn(db, ids[db.key], login)
            for instant in instants():
                # A login is server-wide: any live grant of it on a database of this server.
                expected = any(
                    g.login == login and d.server == db.server and live(g, instant.date())
                    for d, g in granted
                )
                context = {"aws:TokenIssueTime": instant}
                assert allowed(policy, "rds-db:connect", [arn], context) == expected, (
                    login,
                    db.key,
                    instant,
                )
                # aws:CurrentTime is never what rds-db:connect depends on (see dbaccess/iam/people.py).
                assert "aws:CurrentTime" not in str(
                    [s for s in policy["Statement"] if arn in as_list(s["Resource"])]
                )


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_redshift_credentials_pair_a_login_only_with_the_database_it_is_granted_on(
    data: st.DataObject,
) -> None:
    dbs, granted, _, policy = data.draw(person())
    for db in (d for d in dbs if d.engine == "redshift"):
        for access in ("read-only", "read-write"):
            login = login_for(BASE, access)
            for group_access in ("read-only", "read-write"):
                group = db.group_for(group_access)  # type: ignore[arg-type]
                request = [
                    documents.redshift_arn(db, "dbuser", login),
                    documents.redshift_arn(db, "dbname", db.name),
                    documents.redshift_arn(db, "dbgroup", group),
                ]
                for instant in instants():
                    on_this_db = [
                        g for d, g in granted if d.key == db.key and live(g, instant.date())
                    ]
                    expected = any(g.login == login for g in on_this_db) and any(
                        db.group_for(g.access) == group for g in on_this_db
                    )
                    context = {"aws:CurrentTime": instant, "redshift:DbName": db.name}
                    got = allowed(policy, "redshift:GetClusterCredentials", request, context)
                    assert got == expected, (login, group, db.key, instant)


def test_two_databases_on_one_server_share_one_statement_resource() -> None:
    a = DatabaseSpec("a", "postgres", ACCOUNT, "eu-west-1", "pg", "pg.example.com", 5432, "a")
    b = dataclasses.replace(a, key="b", name="b")
    ro = Grant("ana@example.com", "a", "read-only", "ana_ro", None, (), ())
    dated = dataclasses.replace(ro, database="b", until=DAY0)
    policy = people.database_access_policy(
        [(a, ro), (b, dated)], {"a": "db-PG", "b": "db-PG"}, "arn:aws:s3:::c/people/a.json"
    )
    # The undated grant wins: one statement, no condition, the login named once.
    assert policy["Statement"][0] == documents.statement(
        "NOREPORdsDbConnect",
        ["rds-db:connect"],
        [f"arn:aws:rds-db:eu-west-1:{ACCOUNT}:dbuser:db-PG/ana_ro"],
    )


def test_the_size_check_counts_the_date_conditions() -> None:
    """A person whose grants fit undated is refused when each carries its own end date."""
    dbs = [
        DatabaseSpec(
            f"db{i}", "postgres", ACCOUNT, "eu-west-1", f"pg{i}", "h.example.com", 5432, "a"
        )
        for i in range(200)
    ]

    def fits(count: int, dated: bool) -> bool:
        chosen = [
            (
                db,
                Grant(
                    "ana@example.com",
                    db.key,
                    "read-only",
                    "ana_ro",
                    DAY0 + dt.timedelta(i) if dated else None,
                    (),
                    (),
                ),
            )
            for i, db in enumerate(dbs[:count])
        ]
        try:
            people.check_policy_size("ana@example.com", ACCOUNT, chosen, "arn:aws:s3:::c/p.json")
        except people.PolicyTooLarge:
            return False
        return True

    undated_limit = max(n for n in range(1, 200) if fits(n, dated=False))
    dated_limit = max(n for n in range(1, 200) if fits(n, dated=True))
    assert dated_limit < undated_limit
