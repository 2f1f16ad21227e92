"""The MySQL / Aurora MySQL audit plugin's settings for one server, from access.yaml's
query_audit, and how a server's differ (docs/explanation/query-audit.md).

RDS MySQL and MariaDB (the MARIADB_AUDIT_PLUGIN option of the option group) and Aurora MySQL
(Advanced Auditing, the cluster parameter group) log through the same variables, all of them
server-wide:

- `server_audit_incl_users`: the users logged. Per person: the logins whose level is not none.
  Left empty, the plugin logs *every* user: so a server none of whose logins is audited is
  given no value at all (the operator's setting stands).
- `server_audit_events`: the classes logged, for every included user alike. So the classes
  follow the highest level on the server: a `ddl` login on a server with a `write` login has
  its writes logged too. ddl -> QUERY_DDL, QUERY_DCL (GRANT, REVOKE, users); write -> also
  QUERY_DML_NO_SELECT (Aurora MySQL has no such class: QUERY_DML, which logs reads too);
  all -> QUERY (every statement). Never CONNECT: the plugin logs the log-ins and log-outs of
  every user whatever `server_audit_incl_users` says (seen on MariaDB), so it would not be
  per person; each logged statement carries its connection id.
- `server_audit_logging`: ON.

db-access does not own the parameter or option group (it holds settings db-access knows
nothing of): `dbaccess preview` shows these values, `dbaccess doctor --operator` checks the
prerequisites and `dbaccess audit` reports a server whose values differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dbaccess.access.naming import AuditLevel, highest_audit

# The classes of each level, over what the level below logs. Aurora MySQL's names first where
# they differ: it has no QUERY_DML_NO_SELECT.
_EVENTS: Final[Mapping[AuditLevel, tuple[str, ...]]] = {
    "none": (),
    "ddl": ("QUERY_DDL", "QUERY_DCL"),
    "write": ("QUERY_DDL", "QUERY_DCL", "QUERY_DML_NO_SELECT"),
    "all": ("QUERY",),
}
_AURORA: Final = {"QUERY_DML_NO_SELECT": "QUERY_DML"}


@dataclass(frozen=True)
class ServerAudit:
    """The values one server's audit plugin should hold; no users: nothing to set."""

    incl_users: tuple[str, ...]  # sorted
    events: tuple[str, ...]  # sorted

    @property
    def wanted(self) -> bool:
        return bool(self.incl_users)

    def variables(self) -> dict[str, str]:
        """As the parameter group / option group takes them (empty when none is wanted)."""
        if not self.wanted:
            return {}
        return {
            "server_audit_logging": "ON",
            "server_audit_events": ",".join(self.events),
            "server_audit_incl_users": ",".join(self.incl_users),
        }


def server_audit(engine: str, logins: Iterable[tuple[str, AuditLevel]]) -> ServerAudit:
    """From each (login, level) of one server."""
    audited = {login: level for login, level in logins if level != "none"}
    top = highest_audit(audited.values())
    events = [_AURORA.get(e, e) if engine == "aurora-mysql" else e for e in _EVENTS[top]]
    return ServerAudit(
        incl_users=tuple(sorted(audited)),
        events=tuple(sorted(set(events))),
    )


# --- what a server holds ---------------------------------------------------------------------

# Sent without arguments, so PyMySQL leaves the `%` alone.
VARIABLES_SQL: Final = "SHOW GLOBAL VARIABLES LIKE 'server\\_audit\\_%'"


def read_variables(conn: Any) -> dict[str, str]:
    """The server's server_audit_* variables (none: the plugin is not loaded)."""
    with conn.cursor() as cur:
        cur.execute(VARIABLES_SQL)
        return {str(name).lower(): str(value) for name, value in cur.fetchall()}


def _items(value: str) -> set[str]:
    return {item.strip() for item in value.split(",") if item.strip()}


def differences(wanted: ServerAudit, held: Mapping[str, str]) -> tuple[str, list[str]]:
    """("not-loaded", [why]) when the plugin is missing; ("drift", [each difference]) when
    its values differ; ("", []) when the server holds what access.yaml asks (or asks nothing)."""
    if not wanted.wanted:
        return "", []
    if not held:
        return "not-loaded", [
            "no server_audit_* variables: the audit plugin is not loaded, yet "
            f"{', '.join(wanted.incl_users)} declare query_audit"
        ]
    problems = []
    if held.get("server_audit_logging", "").upper() != "ON":
        problems.append(f"server_audit_logging is {held.get('server_audit_logging') or 'unset'}")
    users = _items(held.get("server_audit_incl_users", ""))
    if missing := sorted(set(wanted.incl_users) - users):
        problems.append(f"server_audit_incl_users lacks {', '.join(missing)}")
    if extra := sorted(users - set(wanted.incl_users)):
        problems.append(f"server_audit_incl_users also names {', '.join(extra)}")
    events = {e.upper() for e in _items(held.get("server_audit_events", ""))}
    if events != set(wanted.events):
        problems.append(
            f"server_audit_events is {','.join(sorted(events)) or 'empty'}, access.yaml "
            f"wants {','.join(wanted.events)}"
        )
    return ("drift" if problems else ""), problems
