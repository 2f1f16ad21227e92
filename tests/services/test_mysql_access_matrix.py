"""Proof on a real MariaDB: the bootstrap SQL, then MysqlLoginProvider's create / update /
delete run as the least-privileged admin over verified TLS; every login reaches exactly its
grants. GIVEN two databases on one server (`shop_orders`, `shop_stock`) and a decoy
`shopXorders` that an unescaped `shop_orders` grant would also open.

What is NOT verified here (MariaDB has neither): AWSAuthenticationPlugin logins with an IAM
token, and mysql.rds_kill - see tests/mysql_local.py for the two substitutions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.mysql_users import MysqlLoginProvider
from dbaccess.mysql import apply, findings
from dbaccess.mysql.spec import AdminTarget, MysqlLogin, login_inputs
from tests import mysql_local
from tests.mysqlserver import MariaDBServer

pytestmark = [pytest.mark.mysql]

ADMIN = "dbaccess_admin"
ORDERS, STOCK, DECOY = "shop_orders", "shop_stock", "shopXorders"
ANA = MysqlLogin("ana_ro", "read-only", (ORDERS, STOCK))
BO = MysqlLogin("bo_rw", "read-write", (STOCK,))


@pytest.fixture(scope="module")
def server(mysql_server: MariaDBServer) -> Iterator[MariaDBServer]:
    for db in (ORDERS, STOCK, DECOY):
        mysql_server.sql(
            f"CREATE DATABASE `{db}`; CREATE TABLE `{db}`.items (id INT PRIMARY KEY, name TEXT);"
            f"INSERT INTO `{db}`.items VALUES (1, '{db}');"
            f"CREATE VIEW `{db}`.item_names AS SELECT name FROM `{db}`.items"
        )
    mysql_local.bootstrap(mysql_server, ADMIN, [ORDERS, STOCK])
    yield mysql_server
    mysql_server.sql(
        f"DROP DATABASE `{ORDERS}`; DROP DATABASE `{STOCK}`; DROP DATABASE `{DECOY}`;"
        f"DROP USER IF EXISTS '{ADMIN}'@'%', 'ana_ro'@'%', 'bo_rw'@'%'"
    )


@pytest.fixture
def provider(server: MariaDBServer) -> MysqlLoginProvider:
    return MysqlLoginProvider(connect=mysql_local.admin_connector(server), auth=mysql_local.AUTH)


def inputs(server: MariaDBServer, login: MysqlLogin) -> dict[str, Any]:
    target = AdminTarget(server.host, server.port, "eu-west-1", ADMIN, "arn:aws:iam::1:role/d", "-")
    return login_inputs(login, target)


def can(server: MariaDBServer, user: str, statement: str, database: str | None = None) -> bool:
    """Whether `user`, logged in over TLS with the real client, may run `statement`."""
    proc = server.client(user, mysql_local.PASSWORD, statement, database=database)
    if proc.returncode != 0:
        assert "denied" in proc.stderr, proc.stderr  # refused by privileges, nothing else
    return proc.returncode == 0


def test_bootstrap_may_be_run_again(server: MariaDBServer) -> None:
    mysql_local.bootstrap(server, ADMIN, [ORDERS, STOCK])
    assert server.sql(f"SELECT ssl_type FROM mysql.user WHERE User = '{ADMIN}'") == "ANY"


def test_the_admin_cannot_read_password_hashes(server: MariaDBServer) -> None:
    with mysql_local.connect(server, ADMIN) as conn, conn.cursor() as cur:
        with pytest.raises(Exception, match="denied"):
            cur.execute("SELECT authentication_string FROM mysql.user")
        with pytest.raises(Exception, match="denied"):
            cur.execute(f"SELECT * FROM `{DECOY}`.items")


def test_created_logins_reach_exactly_their_grants(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    for login in (ANA, BO):
        result = provider.create(inputs(server, login))
        assert result.id == f"'{login.login}'@'%'"
    try:
        # Every person user requires TLS, like the IAM users on RDS.
        assert server.sql("SELECT ssl_type FROM mysql.user WHERE User = 'ana_ro'") == "ANY"
        # read-only: reads and shows views in both its databases, writes nowhere.
        for db in (ORDERS, STOCK):
            assert can(server, "ana_ro", "SELECT name FROM items", db)
            assert can(server, "ana_ro", "SHOW CREATE VIEW item_names", db)
            assert not can(server, "ana_ro", "INSERT INTO items VALUES (9, 'x')", db)
            assert not can(server, "ana_ro", "UPDATE items SET name = 'x'", db)
            assert not can(server, "ana_ro", "DELETE FROM items", db)
        # read-write: writes in its one database, no DDL, no GRANT.
        assert can(
            server,
            "bo_rw",
            "INSERT INTO items VALUES (2, 'b'); DELETE FROM items WHERE id = 2",
            STOCK,
        )
        assert can(server, "bo_rw", "UPDATE items SET name = name", STOCK)
        assert not can(server, "bo_rw", "DROP TABLE items", STOCK)
        assert not can(server, "bo_rw", "CREATE TABLE t (id INT)", STOCK)
        assert not can(server, "bo_rw", "ALTER TABLE items ADD COLUMN c INT", STOCK)
        assert not can(server, "bo_rw", f"GRANT SELECT ON `{STOCK}`.* TO 'ana_ro'@'%'")
        # Nobody reaches another database, nor the decoy the `_` wildcard would have opened.
        assert not can(server, "bo_rw", f"SELECT * FROM `{ORDERS}`.items")
        for user in ("ana_ro", "bo_rw"):
            assert not can(server, user, f"SELECT * FROM `{DECOY}`.items")
            assert not can(server, user, "SELECT * FROM mysql.user")
    finally:
        for login in (ANA, BO):
            provider.delete(f"'{login.login}'@'%'", inputs(server, login))


def test_update_moves_privileges_and_delete_drops_the_user(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    provider.create(inputs(server, ANA))
    narrower = MysqlLogin(ANA.login, ANA.access, (STOCK,))
    diff = provider.diff("id", inputs(server, ANA), inputs(server, narrower))
    assert diff.changes
    assert not diff.replaces
    provider.update("id", inputs(server, ANA), inputs(server, narrower))
    assert not can(server, "ana_ro", f"SELECT * FROM `{ORDERS}`.items")
    assert can(server, "ana_ro", f"SELECT * FROM `{STOCK}`.items")
    # An access change on a kept database grants / revokes only the difference.
    with mysql_local.connect(server, ADMIN) as conn:
        apply.change_login(conn, "ana_ro", {STOCK: "read-only"}, {STOCK: "read-write"})
    assert can(
        server, "ana_ro", "INSERT INTO items VALUES (3, 'c'); DELETE FROM items WHERE id = 3", STOCK
    )
    with mysql_local.connect(server, ADMIN) as conn:
        apply.change_login(conn, "ana_ro", {STOCK: "read-write"}, {STOCK: "read-only"})
    assert not can(server, "ana_ro", "DELETE FROM items", STOCK)
    assert can(server, "ana_ro", "SELECT * FROM items", STOCK)

    provider.delete("id", inputs(server, narrower))
    assert server.sql("SELECT COUNT(*) FROM mysql.user WHERE User = 'ana_ro'") == "0"
    provider.delete("id", inputs(server, narrower))  # already gone: not an error


def test_an_existing_user_is_never_taken_over(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    server.sql("CREATE USER 'bo_rw'@'%' IDENTIFIED BY 'someone elses password'")
    try:
        with pytest.raises(apply.MysqlApplyError, match="never takes over an existing user") as e:
            provider.create(inputs(server, BO))
        assert "already exists" in str(e.value) or "1396" in str(e.value)
        assert mysql_local.PASSWORD not in str(e.value)
        # Untouched: still the old password, still no privileges.
        assert server.client("bo_rw", "someone elses password", "SELECT 1").returncode == 0
        assert server.sql("SHOW GRANTS FOR 'bo_rw'@'%'").count("GRANT") == 1
    finally:
        server.sql("DROP USER 'bo_rw'@'%'")


def test_a_failed_grant_leaves_no_user_behind(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    # The admin holds nothing on the decoy (it is not managed), so its GRANT is refused.
    stray = MysqlLogin("cy_ro", "read-only", (STOCK, DECOY))
    with pytest.raises(apply.MysqlApplyError, match="denied") as caught:
        provider.create(inputs(server, stray))
    assert mysql_local.PASSWORD not in str(caught.value)
    assert server.sql("SELECT COUNT(*) FROM mysql.user WHERE User = 'cy_ro'") == "0"


def test_a_new_login_name_or_server_replaces(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    renamed = MysqlLogin("anna_ro", ANA.access, ANA.databases)
    diff = provider.diff("id", inputs(server, ANA), inputs(server, renamed))
    assert diff.replaces == ["login"]
    assert diff.delete_before_replace
    same = provider.diff(
        "id", {**inputs(server, ANA), "__provider": "a"}, {**inputs(server, ANA), "__provider": "b"}
    )
    assert not same.changes


def test_why_names_are_escaped_an_unescaped_grant_opens_the_decoy(server: MariaDBServer) -> None:
    server.sql(
        f"CREATE USER 'wild'@'%' {mysql_local.AUTH} REQUIRE SSL;"
        f"GRANT SELECT ON `{ORDERS}`.* TO 'wild'@'%'"  # `_` left as a wildcard
    )
    try:
        assert can(server, "wild", f"SELECT * FROM `{DECOY}`.items")
    finally:
        server.sql("DROP USER 'wild'@'%'")


def test_refresh_sees_drift_and_the_next_update_repairs_it(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    desired = inputs(server, ANA)
    provider.create(desired)
    try:
        # GIVEN someone revokes ana_ro's SHOW VIEW on one database and adds DROP on the other.
        server.sql(
            "REVOKE SHOW VIEW ON `shop\\_orders`.* FROM 'ana_ro'@'%';"
            "GRANT DROP ON `shop\\_stock`.* TO 'ana_ro'@'%'"
        )
        refreshed = provider.read("'ana_ro'@'%'", desired)
        assert refreshed.id == "'ana_ro'@'%'"
        assert refreshed.outs is not None
        assert refreshed.outs["databases"] == []  # neither holds exactly read-only's privileges
        assert provider.diff("id", refreshed.outs, desired).changes
        provider.update("id", refreshed.outs, desired)
        assert can(server, "ana_ro", "SHOW CREATE VIEW item_names", ORDERS)
        # The extra DROP is beyond what refresh can express: the audit reports it.
        assert (
            server.sql(
                "SELECT Drop_priv FROM mysql.db WHERE User = 'ana_ro' AND Db LIKE 'shop%stock'"
            )
            == "Y"
        )
    finally:
        provider.delete("id", desired)
    assert provider.read("'ana_ro'@'%'", desired).id == ""  # dropped: refresh forgets it


def test_a_user_made_before_the_mark_gets_it_at_the_next_deploy(
    server: MariaDBServer, provider: MysqlLoginProvider
) -> None:
    desired = inputs(server, ANA)
    provider.create(desired)
    try:
        with mysql_local.connect(server, ADMIN) as conn:
            assert "ana_ro" in findings.read_marked(conn)  # create marks it
        # GIVEN the user as an older release made it: no mark on the server, none in its state.
        server.sql("REVOKE dbaccess_managed FROM 'ana_ro'@'%'")
        before = {k: v for k, v in desired.items() if k != "mark"}
        # refresh sees the mark missing, and the deploy's diff sees an old state's lack of it
        refreshed = provider.read("'ana_ro'@'%'", desired)
        assert refreshed.outs is not None
        assert "mark" not in refreshed.outs
        assert provider.diff("id", before, desired).changes
        provider.update("id", before, desired)
        with mysql_local.connect(server, ADMIN) as conn:
            assert "ana_ro" in findings.read_marked(conn)
    finally:
        provider.delete("id", desired)
