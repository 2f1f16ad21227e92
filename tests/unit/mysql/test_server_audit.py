"""The audit plugin's server-wide values from each login's query_audit, and how a server's
differ (pure; the real plugin: tests/services/test_query_audit_mysql.py)."""

from __future__ import annotations

from dbaccess.mysql.server_audit import differences, server_audit


def test_events_follow_the_highest_level_and_aurora_has_no_dml_without_select() -> None:
    logins = [("a_ro", "ddl"), ("b_rw", "write"), ("c_ro", "none")]
    assert server_audit("mysql", logins).events == ("QUERY_DCL", "QUERY_DDL", "QUERY_DML_NO_SELECT")
    assert server_audit("aurora-mysql", logins).events == ("QUERY_DCL", "QUERY_DDL", "QUERY_DML")
    assert server_audit("mysql", [*logins, ("d_ro", "all")]).events == ("QUERY",)
    assert server_audit("mysql", logins).incl_users == ("a_ro", "b_rw")


def test_a_server_with_no_audited_login_asks_nothing_not_an_empty_user_list() -> None:
    # An empty server_audit_incl_users would make the plugin log every user.
    quiet = server_audit("mysql", [("a_ro", "none")])
    assert quiet.variables() == {}
    assert differences(quiet, {}) == ("", [])
    assert differences(quiet, {"server_audit_logging": "ON"}) == ("", [])


def test_user_lists_compare_as_sets_and_events_case_blind() -> None:
    wanted = server_audit("mysql", [("a_ro", "ddl"), ("b_rw", "ddl")])
    held = {
        "server_audit_logging": "ON",
        "server_audit_incl_users": "b_rw, a_ro",
        "server_audit_events": "query_ddl,QUERY_DCL",
    }
    assert differences(wanted, held) == ("", [])
    kind, problems = differences(wanted, {**held, "server_audit_logging": "OFF"})
    assert (kind, problems) == ("drift", ["server_audit_logging is OFF"])
