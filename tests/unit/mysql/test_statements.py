"""The SQL db-access runs on MySQL, as text: what the issue asks for, exactly."""

from __future__ import annotations

from dbaccess.mysql import statements as sql
from dbaccess.mysql.bootstrap import bootstrap_statements
from dbaccess.mysql.spec import MysqlLogin


def test_an_iam_user_for_any_host_that_requires_tls() -> None:
    assert sql.create_user("ana_ro") == (
        "CREATE USER 'ana_ro'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
    )


def test_read_only_and_read_write_privileges_are_data_only() -> None:
    assert sql.PRIVILEGES["read-only"] == ("SELECT", "SHOW VIEW")
    assert sql.PRIVILEGES["read-write"] == ("SELECT", "SHOW VIEW", "INSERT", "UPDATE", "DELETE")
    login = MysqlLogin("bo_rw", "read-write", ("stock", "orders"))
    assert sql.grant_statements(login.login, sql.grants_of(login)) == [
        "GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `orders`.* TO 'bo_rw'@'%'",
        "GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `stock`.* TO 'bo_rw'@'%'",
    ]
    everything = " ".join(sql.grant_statements(login.login, sql.grants_of(login)))
    for forbidden in ("GRANT OPTION", "DROP", "CREATE", "ALTER", "ALL", "*.*"):
        assert forbidden not in everything


def test_wildcards_in_database_names_are_escaped() -> None:
    assert sql.database_pattern("shop_orders") == "`shop\\_orders`"
    assert sql.database_pattern("50%off") == "`50\\%off`"
    assert sql.database_pattern("odd`name") == "`odd``name`"


def test_string_literals_are_quoted() -> None:
    assert sql.account("o'brien\\") == "'o''brien\\\\'@'%'"


def test_changes_touch_only_what_differs() -> None:
    before = {"orders": "read-only", "stock": "read-write"}
    after = {"stock": "read-only", "billing": "read-only"}
    assert sql.change_statements("ana_ro", before, after) == [
        "GRANT SELECT, SHOW VIEW ON `billing`.* TO 'ana_ro'@'%'",
        "REVOKE SELECT, SHOW VIEW ON `orders`.* FROM 'ana_ro'@'%'",
        "REVOKE INSERT, UPDATE, DELETE ON `stock`.* FROM 'ana_ro'@'%'",
    ]
    assert sql.change_statements("ana_ro", before, before) == []


def test_drop_user_survives_a_user_dropped_by_hand() -> None:
    assert sql.drop_user("ana_ro") == "DROP USER IF EXISTS 'ana_ro'@'%'"


def test_bootstrap_grants_the_admin_only_what_it_needs() -> None:
    statements = bootstrap_statements("dbaccess_admin", ["stock", "orders"])
    assert statements[0] == (
        "CREATE USER IF NOT EXISTS 'dbaccess_admin'@'%' "
        "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
    )
    assert statements[-2:] == [
        "GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `orders`.* "
        "TO 'dbaccess_admin'@'%' WITH GRANT OPTION",
        "GRANT SELECT, SHOW VIEW, INSERT, UPDATE, DELETE ON `stock`.* "
        "TO 'dbaccess_admin'@'%' WITH GRANT OPTION",
    ]
    assert "GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO 'dbaccess_admin'@'%'" in statements
    # The mark: made once, granted on by the admin, read from MySQL 8's role table.
    assert statements[6:9] == [
        "CREATE ROLE IF NOT EXISTS dbaccess_managed",
        "GRANT dbaccess_managed TO 'dbaccess_admin'@'%' WITH ADMIN OPTION",
        "GRANT SELECT ON mysql.role_edges TO 'dbaccess_admin'@'%'",
    ]
    text = "\n".join(statements)
    assert "authentication_string" not in text  # never the password hashes
    for too_much in ("SUPER", "ALL", "ON *.* TO 'dbaccess_admin'@'%' WITH GRANT OPTION"):
        assert too_much not in text
