"""What audit and sweep produce on every engine: findings (their kinds, with meaning and fix),
the results of a run, the sessions sweep ended, and the two errors a run can meet. No driver
and no engine here: dbaccess.postgres and dbaccess.mysql fill these in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

# Every kind, in the order reports list them: what it means, how to fix it
# (docs/reference/audit.md).
KINDS: Final[dict[str, tuple[str, str]]] = {
    "unreachable": (
        "could not be checked",
        "check the network path, the deploy role and the admin login (see the detail)",
    ),
    "password-login": (
        "can log in with a password (LOGIN, not a member of rds_iam)",
        "ALTER ROLE <name> NOLOGIN; or, for a person, declare a grant in access.yaml",
    ),
    "privileged-role": (
        "holds SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION",
        "ALTER ROLE <name> NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOREPLICATION;",
    ),
    "undeclared-login": (
        "an IAM login (in rds_iam) that access.yaml does not give on this server",
        "DROP ROLE <name>; (after `dbaccess sweep`), or add the grant to access.yaml",
    ),
    "missing-login": (
        "a login access.yaml gives that does not exist",
        "run the deploy (pulumi up); if it was dropped by hand, `pulumi up --refresh`",
    ),
    "missing-mark": (
        "a declared login without the mark of db-access (dbaccess_managed): sweep leaves it",
        "`pulumi up` grants it (run the bootstrap first if the role does not exist), or "
        "GRANT dbaccess_managed TO <name>;",
    ),
    "wrong-membership": (
        "a declared login whose memberships differ from its grants",
        "GRANT/REVOKE the listed roles, or `pulumi up --refresh` to put them back",
    ),
    "public-connect": (
        "PUBLIC can connect to a managed database",
        "dbaccess bootstrap --database <key> (it keeps the logins that connect today)",
    ),
    "public-create": (
        "PUBLIC can create objects in a managed schema",
        "dbaccess bootstrap --database <key> (it keeps CREATE for who owns objects there)",
    ),
    "group-privileges": (
        "a group role's privileges differ from its access level",
        "`pulumi up --refresh`; REVOKE what is extra; add missing tables' owners to table_owners",
    ),
    "audit-setting": (
        "a declared login whose pgaudit settings differ from its query_audit in access.yaml",
        "`pulumi up --refresh` sets them again; remove settings made by hand "
        "(ALTER ROLE <name> [IN DATABASE <db>] RESET pgaudit.log;)",
    ),
    "audit-not-loaded": (
        "pgaudit is not loaded on a server where access.yaml declares query_audit",
        "add pgaudit to shared_preload_libraries in the parameter group and reboot "
        "(`dbaccess doctor --operator` checks it)",
    ),
    "master-login": (
        "RDS's own role or the master user can log in with a password (a fact; not failing)",
        "keep the master password in a vault or rotate it; RDS's own roles are RDS's",
    ),
    # MySQL / Aurora MySQL (dbaccess.mysql.audit): users and privileges are server-wide.
    "mysql-password-user": (
        "a declared MySQL user (or the admin) that does not use AWSAuthenticationPlugin",
        "DROP USER '<name>'@'%'; then `pulumi up` creates it again with IAM authentication",
    ),
    "mysql-undeclared-user": (
        "a MySQL user access.yaml does not declare on this server (IAM or password)",
        "DROP USER '<name>'@'<host>'; (after `dbaccess sweep`), or pass --allow-user for the "
        "master user and applications",
    ),
    "mysql-privileged-user": (
        "a MySQL user holding SUPER, GRANT OPTION, CREATE USER or every global privilege",
        "REVOKE the listed privileges, or pass --allow-user if it is knowingly privileged",
    ),
    "mysql-missing-mark": (
        "a declared MySQL user without the mark of db-access (dbaccess_managed): sweep leaves it",
        "`pulumi up` grants it (run the bootstrap first if the role does not exist), or "
        "GRANT dbaccess_managed TO '<name>'@'%';",
    ),
    "mysql-missing-user": (
        "a MySQL user access.yaml gives that does not exist",
        "run the deploy (pulumi up); if it was dropped by hand, `pulumi up --refresh`",
    ),
    "mysql-wrong-privileges": (
        "a declared MySQL user whose privileges differ from its grants",
        "REVOKE what is extra; `pulumi up --refresh` grants what is lacking",
    ),
    "mysql-audit-not-loaded": (
        "the audit plugin is not loaded on a MySQL server where access.yaml declares query_audit",
        "add the MARIADB_AUDIT_PLUGIN option to the option group (RDS MySQL / MariaDB), or set "
        "server_audit_logging in the cluster parameter group (Aurora MySQL)",
    ),
    "mysql-audit-drift": (
        "the audit plugin's server-wide settings differ from what access.yaml computes",
        "set the values `dbaccess preview` shows (server_audit_incl_users, "
        "server_audit_events, server_audit_logging) in the option or parameter group",
    ),
}
# Facts the operator must know that no deploy can change: reported, never failing the audit.
INFORMATIONAL: Final = frozenset({"master-login"})


class Unreachable(Exception):
    """A database could not be reached or read; the message holds no secret."""


class ConfigError(Exception):
    """Options or settings that cannot work (exit 2); the message says how to fix them."""


@dataclass(frozen=True, order=True)
class Finding:
    database: str  # the access.yaml key (server-wide findings: the first one checked)
    kind: str
    subject: str
    detail: str
    instance: str = ""  # the instance it was read on (an Aurora cluster has several)

    def as_dict(self) -> dict[str, str]:
        return {
            "database": self.database,
            "instance": self.instance,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
        }


def failing(findings: Iterable[Finding]) -> bool:
    """True when a finding needs fixing (every kind but the informational ones)."""
    return any(f.kind not in INFORMATIONAL for f in findings)


REDSHIFT_SKIPPED = "Redshift is not audited (see docs/reference/audit.md)"


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)  # checked, by access.yaml key
    servers: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)  # reached, by instance name
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why

    def checked(self) -> dict[str, object]:
        return {
            "databases": self.databases,
            "servers": self.servers,
            "instances": self.instances,
            "unreachable": sorted({f.database for f in self.findings if f.kind == "unreachable"}),
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class Ended:
    database: str  # the access.yaml key when the session is on a managed database
    login: str
    pid: int
    since: str | None
    instance: str = ""  # the instance the session was on
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "instance": self.instance,
            "login": self.login,
            "pid": self.pid,
            "since": self.since,
            "reason": self.reason,
        }


@dataclass
class SweepResult:
    dry_run: bool
    ended: list[Ended] = field(default_factory=list)
    kept: int = 0
    errors: list[str] = field(default_factory=list)
