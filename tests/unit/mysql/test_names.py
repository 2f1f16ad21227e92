"""MySQL user and database names: the 32-character limit, reserved names, the admin login."""

from __future__ import annotations

import pytest

from dbaccess.access.naming import login_for
from dbaccess.mysql.names import (
    BASE_MAX,
    USER_NAME_MAX,
    admin_login_problem,
    database_problem,
    login_problem,
)


def test_the_longest_base_still_fits_both_logins() -> None:
    base = "a" * BASE_MAX
    for access in ("read-only", "read-write"):
        login = login_for(base, access)
        assert len(login) == USER_NAME_MAX
        assert login_problem(login, "dbaccess_admin") is None


def test_a_login_over_32_characters_is_refused_with_the_fix() -> None:
    problem = login_problem("a" * 30 + "_ro", "dbaccess_admin")
    assert problem is not None
    assert "33 characters" in problem
    assert "at most 32" in problem
    assert f"at most {BASE_MAX} characters" in problem


@pytest.mark.parametrize(
    "name",
    [
        "root",
        "rdsadmin",
        "rdsrepladmin",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "mariadb.sys",
        "rds_superuser_role",
        "admin",
        "RDSADMIN",
        "dbaccess_reader",
    ],
)
def test_reserved_names_are_refused(name: str) -> None:
    problem = login_problem(name, "dbaccess_admin")
    assert problem is not None
    assert "reserved" in problem


def test_the_admin_login_is_no_persons_login() -> None:
    problem = login_problem("ops_admin", "ops_admin")
    assert problem is not None
    assert "admin_login" in problem


@pytest.mark.parametrize("admin", ["dbaccess_admin", "ops_iam_admin"])
def test_good_admin_logins(admin: str) -> None:
    assert admin_login_problem(admin) is None


@pytest.mark.parametrize("admin", ["", "x" * 33, "root", "rdsadmin", "admin", "mysql.sys"])
def test_bad_admin_logins(admin: str) -> None:
    assert admin_login_problem(admin) is not None


@pytest.mark.parametrize("database", ["orders", "shop_orders", "Orders-2024", "x" * 64])
def test_good_database_names(database: str) -> None:
    assert database_problem(database) is None


@pytest.mark.parametrize("database", ["", "x" * 65, "a.b", "a/b", "a`b", "trailing "])
def test_bad_database_names(database: str) -> None:
    assert database_problem(database) is not None
