"""pgaudit's settings per query_audit level and the statements that apply them (pure; on a
real PostgreSQL with pgaudit: tests/services/test_query_audit_postgres.py)."""

from __future__ import annotations

from dbaccess.postgres.query_audit import (
    RoleSettings,
    change_statements,
    differences,
    role_settings,
)


def sql(statements: list) -> list[str]:
    return [s.as_string(None) for s in statements]


def test_each_level_sets_pgaudit_log_and_never_logs_parameters() -> None:
    assert role_settings("none") == {}
    assert {level: role_settings(level)["pgaudit.log"] for level in ("ddl", "write", "all")} == {
        "ddl": "ddl,role",
        "write": "write,ddl,role",
        "all": "all",
    }
    assert all(role_settings(level)["pgaudit.log_parameter"] == "off" for level in ("ddl", "all"))


def test_a_change_resets_what_goes_and_sets_only_what_differs() -> None:
    assert sql(change_statements('ana"ro', {}, {"pgaudit.log": "all"})) == [
        'ALTER ROLE "ana""ro" SET "pgaudit"."log" = \'all\''
    ]
    before, after = role_settings("write"), role_settings("all")
    assert sql(change_statements("ana_ro", before, after)) == [
        'ALTER ROLE "ana_ro" SET "pgaudit"."log" = \'all\''
    ]
    assert sql(change_statements("ana_ro", before, {})) == [
        f'ALTER ROLE "ana_ro" RESET "pgaudit"."{name.split(".")[1]}"' for name in sorted(before)
    ]


def test_differences_name_each_setting_and_every_per_database_override() -> None:
    expected = role_settings("ddl")
    assert differences(expected, RoleSettings(expected, {})) == []
    held = RoleSettings({**expected, "pgaudit.log": "none"}, {"orders": {"pgaudit.log": "all"}})
    assert differences(expected, held) == [
        "pgaudit.log is 'none', access.yaml wants 'ddl,role'",
        "in database orders it is overridden: pgaudit.log=all",
    ]
    assert differences({}, RoleSettings({"pgaudit.log": "all"}, {})) == [
        "pgaudit.log is 'all', access.yaml wants not set"
    ]
