"""Every bad-input rule: GIVEN a broken access file WHEN it loads THEN the exact message and place."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from dbaccess.access import InvalidInput, load_access_text

TODAY = dt.date(2026, 11, 23)

DB = """\
  orders:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: orders-prod
    host: orders.example.com
    port: 5432
    database: orders
    admin_login: dbaccess_admin
"""


# A second database on the same RDS instance as orders (lines 12-20 when appended to DB).
SAME_SERVER = DB.replace("  orders:", "  billing:").replace("database: orders", "database: billing")
REDSHIFT = """\
  dwh:
    engine: redshift
    account: "123456789012"
    region: eu-west-1
    cluster: dwh
    host: dwh.example.com
    port: 5439
    database: dwh
    groups: {read-only: analysts_ro, read-write: analysts_rw}
"""


def grant(line: str) -> str:
    """A person p@example.com with one grant (its flow mapping starts at column 9)."""
    return "people:\n  p@example.com:\n    grants:\n      - " + line + "\n"


def doc(databases: str = DB, rest: str = "") -> str:
    """A valid file (lines 1-11 fixed) with `rest` appended from line 12 on."""
    return "version: 1\ndatabases:\n" + databases + textwrap.dedent(rest)


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        load_access_text(text, "access.yaml", today=TODAY)
    for problem in caught.value.problems:
        assert problem.fix, f"no fix given for {problem}"
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


CASES = [
    (
        "yaml-syntax",
        "version: 1\ndatabases: [\n",
        ["3:1: YAML syntax error: did not find expected node content"],
    ),
    ("empty-file", "", ["1:1: the access file is empty"]),
    ("only-comments", "# nothing yet\n", ["1:1: the access file is empty"]),
    ("missing-version", "databases: {}\n", ["1:1: missing required field 'version'"]),
    ("missing-databases", "version: 1\n", ["1:1: the file is missing required field 'databases'"]),
    ("unsupported-version", "version: 2\ndatabases: {}\n", ["1:10: unsupported version 2"]),
    (
        "top-level-not-mapping",
        "- a\n- b\n",
        ["1:1: 'file' must be a mapping (key: value lines), got a list"],
    ),
    (
        "unknown-top-key",
        doc(rest="peeple: {}\n"),
        ["12:1: unknown key 'peeple' (did you mean 'people'?)"],
    ),
    (
        "unknown-database-key",
        doc(DB.replace("    port: 5432\n", "    prot: 5432\n")),
        [
            "3:3: 'orders' is missing required field 'port'",
            "9:5: unknown key 'prot' (did you mean 'port'?)",
        ],
    ),
    (
        "unknown-grant-key",
        doc(
            rest="people:\n  a@example.com:\n    grants:\n      - {database: orders, acess: read-only}\n"
        ),
        [
            "15:9: entry 1 of 'grants' is missing required field 'access'",
            "15:28: unknown key 'acess' (did you mean 'access'?)",
        ],
    ),
    (
        "missing-field",
        doc(DB.replace("    host: orders.example.com\n", "")),
        ["3:3: 'orders' is missing required field 'host'"],
    ),
    (
        "wrong-type-port",
        doc(DB.replace("port: 5432", 'port: "5432"')),
        ["9:11: 'port' must be a whole number, got text '5432'"],
    ),
    (
        "wrong-type-production",
        doc(DB + "    production: yes-please\n"),
        ["12:17: 'production' must be true or false, got text 'yes-please'"],
    ),
    (
        "unknown-engine",
        doc(DB.replace("engine: postgres", "engine: oracle")),
        [
            "4:13: engine 'oracle' is not one of postgres, aurora-postgresql, redshift, mysql, "
            "aurora-mysql"
        ],
    ),
    (
        "engine-typo",
        doc(DB.replace("engine: postgres", "engine: postgress")),
        [
            "4:13: engine 'postgress' is not one of postgres, aurora-postgresql, redshift, "
            "mysql, aurora-mysql (did you mean 'postgres'?)"
        ],
    ),
    (
        "cluster-on-postgres",
        doc(DB.replace("instance: orders-prod", "cluster: orders-prod")),
        ["7:5: 'cluster' does not apply to engine postgres"],
    ),
    (
        "instance-on-aurora",
        doc(DB.replace("engine: postgres", "engine: aurora-postgresql")),
        ["7:5: 'instance' does not apply to engine aurora-postgresql"],
    ),
    (
        "postgres-without-instance",
        doc(DB.replace("    instance: orders-prod\n", "")),
        ["3:3: database 'orders' (postgres) has no 'instance'"],
    ),
    (
        "redshift-without-groups",
        doc(
            DB.replace("engine: postgres", "engine: redshift")
            .replace("instance:", "cluster:")
            .replace("    admin_login: dbaccess_admin\n", "")
        ),
        ["3:3: Redshift database 'orders' has no 'groups'"],
    ),
    (
        "schemas-on-redshift",
        doc(
            DB.replace("engine: postgres", "engine: redshift")
            .replace("instance:", "cluster:")
            .replace(
                "    admin_login: dbaccess_admin\n", "    groups: {read-only: a, read-write: b}\n"
            )
            + "    schemas: [public]\n"
        ),
        ["12:5: 'schemas' applies to PostgreSQL engines only, not redshift"],
    ),
    (
        "postgres-without-admin-login",
        doc(DB.replace("    admin_login: dbaccess_admin\n", "")),
        ["3:3: PostgreSQL database 'orders' has no 'admin_login'"],
    ),
    (
        "account-not-12-digits",
        doc(DB.replace('account: "123456789012"', 'account: "12345"')),
        ["5:14: account '12345' is not a 12-digit AWS account id"],
    ),
    (
        "account-unquoted",
        doc(DB.replace('account: "123456789012"', "account: 123456789012")),
        ["5:14: account 123456789012 is a number, not quoted text (YAML drops leading zeros)"],
    ),
    (
        "invalid-region",
        doc(DB.replace("region: eu-west-1", "region: eu-west-01")),
        ["6:13: 'eu-west-01' is not an AWS region (did you mean 'eu-west-1'?)"],
    ),
    ("port-zero", doc(DB.replace("port: 5432", "port: 0")), ["9:11: port 0 is outside 1–65535"]),
    (
        "port-too-big",
        doc(DB.replace("port: 5432", "port: 70000")),
        ["9:11: port 70000 is outside 1–65535"],
    ),
    (
        "empty-host",
        doc(DB.replace("host: orders.example.com", 'host: ""')),
        ["8:11: host is empty"],
    ),
    (
        "bad-database-key",
        doc(DB.replace("  orders:", "  Orders_DB:")),
        ["3:3: database key 'Orders_DB' is not valid"],
    ),
    (
        "grant-unknown-database",
        doc(
            rest="people:\n  a@example.com:\n    grants:\n      - {database: ordrs, access: read-only}\n"
        ),
        ["15:20: grant names unknown database 'ordrs' (did you mean 'orders'?)"],
    ),
    (
        "invalid-access",
        doc(
            rest="people:\n  a@example.com:\n    grants:\n      - {database: orders, access: admin}\n"
        ),
        ["15:36: access 'admin' is not one of read-only, read-write"],
    ),
    (
        "invalid-person-email",
        doc(rest="people:\n  hugo:\n    grants: []\n"),
        ["13:3: 'hugo' is not a valid email address"],
    ),
    (
        "invalid-member-email",
        doc(rest="groups:\n  sre:\n    members: [hugo@example.com, not-an-email]\n"),
        ["14:33: 'not-an-email' is not a valid email address"],
    ),
    (
        "duplicate-person",
        doc(rest="people:\n  a@example.com: {}\n  b@example.com: {}\n  a@example.com: {}\n"),
        ["15:3: 'a@example.com' appears twice in this mapping (first at line 13)"],
    ),
    (
        "duplicate-person-other-case",
        doc(rest="people:\n  a@example.com: {}\n  A@Example.com: {}\n"),
        ["14:3: 'A@Example.com' appears twice in this mapping (first at line 13)"],
    ),
    (
        "duplicate-database",
        doc(DB + DB),
        ["12:3: 'orders' appears twice in this mapping (first at line 3)"],
    ),
    (
        "group-without-members",
        doc(rest="groups:\n  sre:\n    members: []\n"),
        ["14:14: group 'sre' has no members"],
    ),
    (
        "login-collision",
        doc(rest="people:\n  hugo.henley@example.com: {}\n  hugo-henley@example.com: {}\n"),
        [
            "14:3: hugo.henley@example.com and hugo-henley@example.com both get the login base 'hugohenley'"
        ],
    ),
    (
        "collision-with-group-member",
        doc(
            rest="groups:\n  sre:\n    members: [ana.b@example.com]\npeople:\n  anab@example.com: {}\n"
        ),
        ["16:3: ana.b@example.com and anab@example.com both get the login base 'anab'"],
    ),
    (
        "login-collision-through-username",
        doc(
            rest="people:\n  hugo.henley@example.com: {}\n  h@example.com:\n    username: hugohenley\n"
        ),
        ["15:5: hugo.henley@example.com and h@example.com both get the login base 'hugohenley'"],
    ),
    (
        "kelvin-sign-email",
        doc(rest="people:\n  \u212aate@example.com: {}\n"),
        ["13:3: '\u212aate@example.com' is not a valid email address"],
    ),
    (
        "kelvin-sign-member",
        doc(rest="groups:\n  sre:\n    members: [kate@example.com, \u212aate@example.com]\n"),
        ["14:33: '\u212aate@example.com' is not a valid email address"],
    ),
    (
        "reserved-login",
        doc(rest="people:\n  p@example.com:\n    username: postgres\n"),
        ["14:5: login 'postgres' of p@example.com is reserved (the database engine or RDS)"],
    ),
    (
        "reserved-prefix",
        doc(rest="people:\n  p@example.com:\n    username: pg_reader\n"),
        ["14:5: login 'pg_reader' of p@example.com is reserved (the database engine or RDS)"],
    ),
    (
        "reserved-admin-login",
        doc(rest="people:\n  p@example.com:\n    username: dbaccess_admin\n"),
        [
            "14:5: login 'dbaccess_admin' of p@example.com is reserved "
            "(the admin_login of database 'orders')"
        ],
    ),
    (
        "login-too-long",
        doc(
            rest="people:\n  p@example.com:\n    username: "
            + "a" * 61
            + "\n    grants:\n      - {database: orders, access: read-only}\n"
        ),
        [
            "14:5: IAM role name 'dbaccess-" + "a" * 61 + "' of p@example.com is 70 characters; "
            "IAM allows 64",
            "14:5: login '" + "a" * 61 + "_ro' of p@example.com is 64 bytes; PostgreSQL allows 63",
        ],
    ),
    (
        "role-name-too-long",
        doc(rest="people:\n  p@example.com:\n    username: " + "b" * 56 + "\n"),
        [
            "14:5: IAM role name 'dbaccess-"
            + "b" * 56
            + "' of p@example.com is 65 characters; IAM allows 64"
        ],
    ),
    (
        "bad-username",
        doc(rest="people:\n  p@example.com:\n    username: Hugo.H\n"),
        ["14:15: username 'Hugo.H' is not a valid login base"],
    ),
    (
        "until-not-a-date",
        doc(
            rest="people:\n  p@example.com:\n    grants:\n      - {database: orders, access: read-only, until: next week}\n"
        ),
        ["15:54: until 'next week' is not a date"],
    ),
    (
        "until-too-far",
        doc(
            rest="people:\n  p@example.com:\n    grants:\n      - {database: orders, access: read-only, until: 2028-01-01}\n"
        ),
        ["15:54: until 2028-01-01 is more than a year ahead (latest 2027-11-23)"],
    ),
    (
        "production-rw-without-until-and-reason",
        doc(
            DB + "    production: true\n",
            "people:\n  p@example.com:\n    grants:\n      - {database: orders, access: read-write}\n",
        ),
        ["16:9: read-write on production database 'orders' needs 'until' and 'reason'"],
    ),
    (
        "production-rw-without-reason",
        doc(
            DB + "    production: true\n",
            "people:\n  p@example.com:\n    grants:\n      - {database: orders, access: read-write, until: 2026-12-01}\n",
        ),
        ["16:9: read-write on production database 'orders' needs 'reason'"],
    ),
    (
        "production-rw-via-group",
        doc(
            DB + "    production: true\n",
            "groups:\n  sre:\n    members: [p@example.com]\n    grants:\n      - {database: orders, access: read-write}\n",
        ),
        ["17:9: read-write on production database 'orders' needs 'until' and 'reason'"],
    ),
    # --- names that reach ARNs, STS or SQL (issue 12, item 4) ---
    (
        "wildcard-email",
        doc(rest="people:\n  '*@example.com': {}\n"),
        ["13:3: '*@example.com' is not a valid email address"],
    ),
    (
        "question-mark-email",
        doc(rest="people:\n  a?c@example.com: {}\n"),
        ["13:3: 'a?c@example.com' is not a valid email address"],
    ),
    (
        "slash-email",
        doc(rest="people:\n  a/b@example.com: {}\n"),
        ["13:3: 'a/b@example.com' is not a valid email address"],
    ),
    (
        "quote-email",
        doc(rest="people:\n  o'neil@example.com: {}\n"),
        ["13:3: 'o'neil@example.com' is not a valid email address"],
    ),
    (
        "non-ascii-email",
        doc(rest="people:\n  zoë@example.com: {}\n"),
        ["13:3: 'zoë@example.com' is not a valid email address"],
    ),
    (
        "email-over-64",
        doc(rest="people:\n  " + "a" * 53 + "@example.com: {}\n"),
        ["13:3: '" + "a" * 53 + "@example.com' is 65 characters; AWS STS takes at most 64"],
    ),
    (
        "wildcard-member",
        doc(rest="groups:\n  sre:\n    members: ['*@example.com']\n"),
        ["14:15: '*@example.com' is not a valid email address"],
    ),
    (
        "redshift-group-wildcard",
        doc(REDSHIFT.replace("analysts_rw}", "analysts_r?}")),
        ["11:50: 'analysts_r?' is not a Redshift group name"],
    ),
    (
        "redshift-group-star",
        doc(REDSHIFT.replace("{read-only: analysts_ro", "{read-only: '*'")),
        ["11:25: '*' is not a Redshift group name"],
    ),
    (
        "redshift-read-only-joins-the-write-group",
        doc(REDSHIFT.replace("read-write: analysts_rw", "read-write: analysts_ro")),
        ["11:50: read-only and read-write both join Redshift group 'analysts_ro'"],
    ),
    (
        "schema-not-an-identifier",
        doc(DB + "    schemas: [public, 'bill ing']\n"),
        ["12:23: 'bill ing' is not a plain SQL name"],
    ),
    (
        "table-owner-wildcard",
        doc(DB + "    table_owners: ['app*']\n"),
        ["12:20: 'app*' is not a plain SQL name"],
    ),
    (
        "owner-without-at",
        doc(DB + "    owners: [ana]\n"),
        ["12:14: owner 'ana' is not a GitHub user or team"],
    ),
    (
        "owner-team-with-spaces",
        doc(DB + "    owners: ['@ana', '@org/two words']\n"),
        ["12:22: owner '@org/two words' is not a GitHub user or team"],
    ),
    (
        "owner-login-with-double-hyphen",
        doc(DB + "    owners: ['@ana--lee']\n"),
        ["12:14: owner '@ana--lee' is not a GitHub user or team"],
    ),
    (
        "owner-named-twice",
        doc(DB + "    owners: ['@Ana', '@ana']\n"),
        ["12:13: owner '@ana' is named twice"],
    ),
    (
        "owners-not-a-list",
        doc(DB + "    owners: '@ana'\n"),
        ["12:13: 'owners' must be a list, got text '@ana'"],
    ),
    (
        "github-login-with-at",
        doc(rest="people:\n  p@example.com:\n    github: '@ana'\n"),
        ["14:13: github '@ana' is not a GitHub login"],
    ),
    (
        "github-login-with-trailing-hyphen",
        doc(rest="people:\n  p@example.com:\n    github: ana-\n"),
        ["14:13: github 'ana-' is not a GitHub login"],
    ),
    (
        "github-login-too-long",
        doc(rest="people:\n  p@example.com:\n    github: " + "a" * 40 + "\n"),
        [f"14:13: github '{'a' * 40}' is not a GitHub login"],
    ),
    (
        "github-login-of-two-people",
        doc(
            rest="people:\n  p@example.com:\n    github: Ana-Lee\n"
            "  q@example.com:\n    github: ana-lee\n"
        ),
        ["16:13: github 'ana-lee' is already the login of p@example.com"],
    ),
    (
        "admin-login-is-a-group-role",
        doc(DB.replace("admin_login: dbaccess_admin", "admin_login: dbaccess_orders_rw")),
        ["11:18: admin_login 'dbaccess_orders_rw' has the name of a db-access group role"],
    ),
    (
        "admin-login-is-a-legacy-group-role",
        doc(DB.replace("admin_login: dbaccess_admin", "admin_login: dbaccess_readonly")),
        ["11:18: admin_login 'dbaccess_readonly' has the name of a db-access group role"],
    ),
    # --- production write and until (issue 12, item 5) ---
    (
        "production-rw-with-empty-reason",
        doc(
            DB + "    production: true\n",
            grant('{database: orders, access: read-write, until: 2026-12-01, reason: ""}'),
        ),
        ["16:9: read-write on production database 'orders' needs 'reason'"],
    ),
    (
        "production-rw-with-blank-reason",
        doc(
            DB + "    production: true\n",
            grant('{database: orders, access: read-write, until: 2026-12-01, reason: "  "}'),
        ),
        ["16:9: read-write on production database 'orders' needs 'reason'"],
    ),
    (
        "until-timestamp",
        doc(rest=grant("{database: orders, access: read-only, until: 2026-12-31T10:00:00Z}")),
        ["15:54: until 2026-12-31T10:00:00+00:00 is a timestamp, not a date"],
    ),
    (
        "until-quoted-timestamp",
        doc(rest=grant("{database: orders, access: read-only, until: '2026-12-31T10:00:00'}")),
        ["15:54: until '2026-12-31T10:00:00' is not a date"],
    ),
    (
        "until-basic-format",
        doc(rest=grant('{database: orders, access: read-only, until: "20261231"}')),
        ["15:54: until '20261231' is not a date"],
    ),
    (
        "until-unquoted-number",
        doc(rest=grant("{database: orders, access: read-only, until: 20261231}")),
        ["15:54: until 20261231 is not a date"],
    ),
    (
        "until-week-date",
        doc(rest=grant("{database: orders, access: read-only, until: 2026-W52-4}")),
        ["15:54: until '2026-W52-4' is not a date"],
    ),
    (
        "until-quoted-impossible-date",
        doc(rest=grant("{database: orders, access: read-only, until: '2026-02-30'}")),
        ["15:54: until '2026-02-30' is not a real date (day is out of range for month)"],
    ),
    # --- databases on one server (issue 12, item 2) ---
    (
        "same-instance-other-host",
        doc(DB + SAME_SERVER.replace("host: orders.example.com", "host: other.example.com")),
        [
            "17:11: database 'billing' is on the same server as 'orders' (line 3, "
            "123456789012/eu-west-1/instance/orders-prod) but its host differs: "
            "other.example.com here, orders.example.com there"
        ],
    ),
    (
        "same-instance-other-port-and-admin",
        doc(
            DB
            + SAME_SERVER.replace("port: 5432", "port: 5433").replace(
                "admin_login: dbaccess_admin", "admin_login: admin2"
            )
        ),
        [
            "18:11: database 'billing' is on the same server as 'orders' (line 3, "
            "123456789012/eu-west-1/instance/orders-prod) but its port differs: "
            "5433 here, 5432 there",
            "20:18: database 'billing' is on the same server as 'orders' (line 3, "
            "123456789012/eu-west-1/instance/orders-prod) but its admin_login differs: "
            "admin2 here, dbaccess_admin there",
        ],
    ),
    (
        "same-cluster-other-engine",
        doc(
            REDSHIFT
            + REDSHIFT.replace("  dwh:", "  dwh2:")
            .replace("engine: redshift", "engine: aurora-postgresql")
            .replace("port: 5439", "port: 5432")
            .replace(
                "    groups: {read-only: analysts_ro, read-write: analysts_rw}\n",
                "    admin_login: dbaccess_admin\n",
            )
        ),
        [
            "13:13: database 'dwh2' is on the same server as 'dwh' (line 3, "
            "123456789012/eu-west-1/cluster/dwh) but its engine differs: "
            "aurora-postgresql here, redshift there",
        ],
    ),
    (
        "redshift-databases-on-one-cluster-share-a-group",
        doc(
            REDSHIFT
            + REDSHIFT.replace("  dwh:", "  marts:")
            .replace("database: dwh", "database: marts")
            .replace("analysts_rw}", "marts_rw}")
        ),
        [
            "20:25: Redshift group 'analysts_ro' is already the group of database 'dwh' on "
            "the same cluster (123456789012/eu-west-1/cluster/dwh)"
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_reported_with_its_place(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_every_problem_in_a_file_is_reported_in_one_run() -> None:
    # GIVEN five different mistakes in one file
    text = doc(
        DB.replace("engine: postgres", "engine: postgress").replace("port: 5432", "port: 0"),
        """\
        people:
          hugo:
            grants:
              - {database: ordrs, access: read-only}
          ana@example.com:
            grnats: []
        """,
    )
    # WHEN it loads THEN all five are listed, in file order
    assert [p.split(": ", 1)[0] for p in problems(text)] == [
        "4:13",
        "9:11",
        "13:3",
        "15:20",
        "17:5",
    ]


def test_databases_on_one_server_that_agree_are_valid() -> None:
    # Two databases of one instance, and two Redshift databases of one cluster with their
    # own groups: valid; the plan keeps them apart by key and names their common server.
    text = doc(
        DB
        + SAME_SERVER
        + REDSHIFT
        + REDSHIFT.replace("  dwh:", "  marts:")
        .replace("database: dwh", "database: marts")
        .replace("analysts_", "marts_")
    )
    plan = load_access_text(text, "access.yaml", today=TODAY)
    assert plan.databases["orders"].server == plan.databases["billing"].server
    assert plan.databases["dwh"].server == plan.databases["marts"].server


def test_a_redshift_group_name_may_repeat_on_another_cluster() -> None:
    other = REDSHIFT.replace("  dwh:", "  dwh2:").replace("cluster: dwh", "cluster: dwh2")
    plan = load_access_text(doc(REDSHIFT + other), "access.yaml", today=TODAY)
    assert plan.databases["dwh2"].group_for("read-only") == "analysts_ro"


def test_until_written_as_a_date_or_a_quoted_date_is_the_same_date() -> None:
    for written in ("2026-12-31", "'2026-12-31'", '"2026-12-31"'):
        text = doc(rest=grant(f"{{database: orders, access: read-only, until: {written}}}"))
        plan = load_access_text(text, "access.yaml", today=TODAY)
        assert [g.until for g in plan.grants()] == [dt.date(2026, 12, 31)], written


def test_an_expired_grant_is_not_an_error() -> None:
    text = doc(
        rest="people:\n  p@example.com:\n    grants:\n      - {database: orders, access: read-only, until: 2026-01-01}\n"
    )
    plan = load_access_text(text, "access.yaml", today=TODAY)
    assert [(e.email, e.database, e.until) for e in plan.expired] == [
        ("p@example.com", "orders", dt.date(2026, 1, 1))
    ]
    assert list(plan.grants()) == []


def test_a_declared_github_login_reaches_the_plan_as_written() -> None:
    text = doc(rest="people:\n  P@example.com:\n    github: Ana-Lee\n  q@example.com: {}\n")
    plan = load_access_text(text, "access.yaml", today=TODAY)
    assert plan.people["p@example.com"].github == "Ana-Lee"
    assert plan.people["q@example.com"].github is None


def test_structure_references_regions_and_production_rules_are_reported_in_one_run() -> None:
    """GIVEN a file with an unknown top-level key, a database whose port is out of range and
    whose region is unknown, a read-write grant on it (production) without until/reason and a
    grant on an unknown database, WHEN it loads, THEN all five are reported together."""
    broken = DB.replace("region: eu-west-1", "region: eu-west-9").replace(
        "port: 5432", "port: 70000\n    production: true"
    )
    text = (
        "version: 1\npeeple: {}\ndatabases:\n"
        + broken
        + grant("{database: orders, access: read-write}")
        + "      - {database: order, access: read-only}\n"
    )
    assert problems(text) == [
        "2:1: unknown key 'peeple' (did you mean 'people'?)",
        "7:13: 'eu-west-9' is not an AWS region (did you mean 'eu-west-3'?)",
        "10:11: port 70000 is outside 1–65535",
        "17:9: read-write on production database 'orders' needs 'until' and 'reason'",
        "18:20: grant names unknown database 'order' (did you mean 'orders'?)",
    ]


def test_query_audit_takes_four_levels_and_never_redshift() -> None:
    redshift = DB + REDSHIFT.replace("    groups:", "    query_audit: all\n    groups:")
    found = problems(doc(redshift, grant("{database: dwh, access: read-only, query_audit: ddl}")))
    message = (
        "'query_audit' does not apply to redshift: its user activity log records every user's "
        "queries or nobody's (a cluster-wide parameter), never one person's"
    )
    assert found == [f"20:5: {message}", f"25:44: {message}"]
    assert problems(
        doc(rest=grant("{database: orders, access: read-only, query_audit: alll}"))
    ) == ["15:60: query_audit 'alll' is not one of none, ddl, write, all (did you mean 'all'?)"]
