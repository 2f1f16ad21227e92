"""MySQL on the local MariaDB: server start-up, then the dynamic provider's create / update /
delete for 100 logins (each operation opens its own verified-TLS connection as the admin, as
`pulumi up` does; minting the IAM token is not included - MariaDB takes a password), and one
audit read of the server. Prints p50/p95/max per operation; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.mysql_users import MysqlLoginProvider
from dbaccess.mysql import findings
from dbaccess.mysql.spec import AdminTarget, MysqlLogin, MysqlServerSpec, login_inputs
from tests import mysql_local, mysqlserver

LOGINS = 100
ADMIN = "dbaccess_admin"
DATABASES = ("orders", "stock", "billing")


def timed(label: str, calls: list[Callable[[], object]]) -> None:
    samples = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(
        f"{label:<8} n={len(samples)}  p50 {statistics.median(samples):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {max(samples):6.1f} ms"
    )


def main() -> None:
    if not mysqlserver.is_available():
        print("MariaDB not installed: run scripts/ensure-mariadb.sh")
        return
    server = mysqlserver.start_server()
    try:
        print(
            f"MariaDB {server.sql('SELECT VERSION()')}: started in {server.startup_seconds:.1f} s"
        )
        server.sql(";".join(f"CREATE DATABASE {db}" for db in DATABASES))
        mysql_local.bootstrap(server, ADMIN, list(DATABASES))
        provider = MysqlLoginProvider(mysql_local.admin_connector(server), mysql_local.AUTH)
        target = AdminTarget(server.host, server.port, "eu-west-1", ADMIN, "arn:-", "-")
        before = [MysqlLogin(f"user{i:03}_ro", "read-only", DATABASES[:2]) for i in range(LOGINS)]
        after = [MysqlLogin(p.login, p.access, DATABASES[1:]) for p in before]
        olds = [login_inputs(p, target) for p in before]
        news = [login_inputs(p, target) for p in after]
        timed("create", [partial(provider.create, o) for o in olds])
        timed(
            "update",
            [partial(provider.update, "id", o, n) for o, n in zip(olds, news, strict=True)],
        )
        spec = MysqlServerSpec(
            server.host, server.port, "eu-west-1", ADMIN, DATABASES, tuple(after)
        )
        with mysql_local.connect(server, ADMIN) as conn:

            def read_and_audit() -> list[findings.Finding]:
                accounts, grants = findings.read_accounts(conn), findings.read_database_grants(conn)
                marked = findings.read_marked(conn)
                return findings.audit(
                    spec, accounts, grants, marked=marked, iam_plugin=mysql_local.PLUGIN
                )

            timed("audit", [read_and_audit] * 20)
            print(f"audit of {LOGINS} logins: {len(read_and_audit())} findings")
        timed("delete", [partial(provider.delete, "id", n) for n in news])
    finally:
        server.stop()


if __name__ == "__main__":
    main()
