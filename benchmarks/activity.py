"""How fast `dbaccess activity` turns audit log lines into attributed statements.

100,000 pgaudit entries as RDS writes them (1,000 people's logins and an application's on one
server; one in ten a multi-line statement with commas and quotes, one in ten another log line)
and 100,000 MariaDB audit plugin lines: parsed and mapped to person and grant through the
plan of an access file with those 1,000 people. Prints lines per second (best of 3); asserts
nothing. Reading from CloudWatch Logs is not timed: FilterLogEvents pages of up to 10,000
events are AWS's pace, not ours.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbaccess.access import load_access_file
from dbaccess.audit.activity import LineCount, Logins, Wanted, activities, log_sources

LINES, PEOPLE, RUNS = 100_000, 1_000, 3
START = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def access_yaml() -> str:
    lines = ["version: 1", "databases:"]
    for key, engine, server in (("orders", "postgres", "main"), ("shop", "mysql", "shop-prod")):
        lines += [
            f"  {key}:",
            f"    engine: {engine}",
            '    account: "123456789012"',
            "    region: eu-west-1",
            f"    instance: {server}",
            f"    host: {server}.example.com",
            "    port: 5432",
            f"    database: {key}",
            "    admin_login: dbaccess_admin",
        ]
    lines.append("people:")
    for i in range(PEOPLE):
        access = "read-write" if i % 2 else "read-only"
        lines += [
            f"  person{i:04d}@example.com:",
            "    grants:",
            f"      - {{database: orders, access: {access}}}",
            f"      - {{database: shop, access: {access}}}",
        ]
    return "\n".join(lines) + "\n"


def login(i: int) -> str:
    return "orders_app" if i % 50 == 0 else f"person{i % PEOPLE:04d}_{'rw' if i % 2 else 'ro'}"


def pgaudit_lines() -> list[tuple[str, str]]:
    found = []
    for i in range(LINES):
        when = START + dt.timedelta(milliseconds=i * 10)
        prefix = f"{when:%Y-%m-%d %H:%M:%S} UTC:10.0.1.5(53422):{login(i)}@orders:[{i}]:"
        if i % 10 == 0:
            found.append(("main", f"{prefix}LOG:  connection authorized: user={login(i)}"))
        elif i % 10 == 1:
            statement = f"UPDATE t\n\t   SET note = 'it''s, \"\"{i}\"\"'\n\t WHERE id = {i}"  # noqa: S608
            record = f'SESSION,1,1,WRITE,UPDATE,TABLE,public.t,"{statement}",<not logged>'
            found.append(("main", f"{prefix}LOG:  AUDIT: {record}"))
        else:
            record = (
                f"SESSION,1,1,WRITE,INSERT,TABLE,public.t,insert into t values ({i}),<not logged>"  # noqa: S608
            )
            found.append(("main", f"{prefix}LOG:  AUDIT: {record}"))
    return found


def mysql_lines() -> list[tuple[str, str]]:
    found = []
    for i in range(LINES):
        when = START + dt.timedelta(seconds=i // 100)
        write = f"insert into t values ({i}, \\'a,b\\')"  # noqa: S608
        statement = write if i % 3 else f"select * from t where id = {i}"  # noqa: S608
        found.append(
            (
                "shop-prod",
                f"{when:%Y%m%d %H:%M:%S},ip-10-0-1-5,{login(i)},10.0.1.9,{i},{i},QUERY,shop,"
                f"'{statement}',0",
            )
        )
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "access.yaml"
        path.write_text(access_yaml())
        plan = load_access_file(path)
    started = time.perf_counter()
    logins = Logins(plan)
    print(f"login map for {PEOPLE:,} people: {(time.perf_counter() - started) * 1000:.0f} ms")
    postgres, mysql = log_sources(plan, [])
    for name, source, lines in (
        ("pgaudit (RDS PostgreSQL)", postgres, pgaudit_lines()),
        ("audit plugin (RDS MySQL)", mysql, mysql_lines()),
    ):
        best = float("inf")
        for _ in range(RUNS):
            count = LineCount()
            started = time.perf_counter()
            found = sum(1 for _ in activities(source, lines, logins, Wanted(), count))
            best = min(best, time.perf_counter() - started)
        print(
            f"{name}: {len(lines):,} lines -> {found:,} statements "
            f"({count.other:,} other, {count.unreadable} unreadable) in {best:.2f} s: "
            f"{len(lines) / best:,.0f} lines/s"
        )


if __name__ == "__main__":
    main()
