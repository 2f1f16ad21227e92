"""The findings of `dbaccess audit`: where a server differs from what access.yaml declares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from dbaccess.access.naming import ACCESS_LEVELS, Access
from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.expected import (
    RDS_SUPERUSER,
    ServerPlan,
    expected_privileges,
    is_rds_own,
)
from dbaccess.audit.state import PUBLIC, DatabaseState, ObjectGrants, Role, ServerState
from dbaccess.deployment import RDS_IAM
from dbaccess.postgres import query_audit
from dbaccess.privileges import DEFAULT_PRIVILEGE_TYPES, MANAGED_MARKER

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
    # MySQL / Aurora MySQL (dbaccess.audit.mysql): users and privileges are server-wide.
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
# How many object names a detail lists before it says "and N more".
NAMES_SHOWN: Final = 5


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


def is_master(role: Role) -> bool:
    """RDS makes the master user a member of rds_superuser; any other member is as strong."""
    return role.login and RDS_SUPERUSER in role.member_of


def role_findings(plan: ServerPlan, state: ServerState, database: str) -> Iterator[Finding]:
    """Logins, attributes and memberships: one server, reported under `database`."""
    for role in sorted(state.roles.values(), key=lambda r: r.name):
        rds = is_rds_own(role.name, bootstrap=role.bootstrap) or is_master(role)
        in_iam = RDS_IAM in role.member_of
        if role.login and not in_iam:
            kind = "master-login" if rds else "password-login"
            yield Finding(database, kind, role.name, _role_detail(role))
        elif role.login and not rds and role.name not in (plan.admin_logins | plan.logins.keys()):
            made = (
                "made by db-access (marked): sweep ends its sessions"
                if MANAGED_MARKER in role.member_of
                else "not made by db-access (no mark): sweep leaves it unless --include-unmarked"
            )
            yield Finding(
                database,
                "undeclared-login",
                role.name,
                "an IAM login that no grant on this server's databases in access.yaml gives; "
                + made,
            )
        if role.attributes and not rds and role.name not in plan.admin_logins:
            yield Finding(database, "privileged-role", role.name, _role_detail(role))
    for login, groups in sorted(plan.logins.items()):
        found = state.roles.get(login)
        if found is None:
            yield Finding(database, "missing-login", login, "access.yaml gives it; not found")
            continue
        if not found.login:
            yield Finding(database, "missing-login", login, "the role exists without LOGIN")
        missing, extra = groups - found.member_of, found.member_of - groups
        if MANAGED_MARKER in missing:
            yield Finding(database, "missing-mark", login, f"not a member of {MANAGED_MARKER}")
            missing -= {MANAGED_MARKER}
        if missing or extra:
            yield Finding(database, "wrong-membership", login, _difference(missing, extra))
    yield from _audit_findings(plan, state, database)


def _audit_findings(plan: ServerPlan, state: ServerState, database: str) -> Iterator[Finding]:
    """pgaudit: loaded where query_audit is declared, and each declared login's settings as
    its level says (none: no setting of pgaudit's at all)."""
    audited = sorted(login for login, level in plan.audit_levels.items() if level != "none")
    if audited and not state.pgaudit_loaded:
        yield Finding(
            database,
            "audit-not-loaded",
            plan.label,
            f"pgaudit.log is not a setting of this server, yet {len(audited)} login(s) declare "
            f"query_audit ({', '.join(audited[:NAMES_SHOWN])}"
            f"{' …' if len(audited) > NAMES_SHOWN else ''}): nothing they run is logged",
        )
    for login, level in sorted(plan.audit_levels.items()):
        if login not in state.roles:
            continue  # missing-login says it
        expected = query_audit.role_settings(level)
        problems = query_audit.differences(expected, state.audit_settings.get(login))
        if problems:
            yield Finding(database, "audit-setting", login, "; ".join(problems))


def database_findings(
    plan: ServerPlan, server: ServerState, db: DatabaseSpec, state: DatabaseState
) -> Iterator[Finding]:
    """PUBLIC's and our groups' privileges in one database."""
    if "CONNECT" in server.database_acl.get(db.name, {}).get(PUBLIC, frozenset()):
        yield Finding(db.key, "public-connect", db.name, "PUBLIC has CONNECT")
    for schema in db.schemas:
        if "CREATE" in state.schema_acl.get(schema, {}).get(PUBLIC, frozenset()):
            yield Finding(db.key, "public-create", f"{db.name}.{schema}", "PUBLIC has CREATE")
    for access in ACCESS_LEVELS:
        group = db.group_for(access)
        for detail in _group_differences(plan, server, db, state, group, access):
            yield Finding(db.key, "group-privileges", group, detail)


def _group_differences(
    plan: ServerPlan,
    server: ServerState,
    db: DatabaseSpec,
    state: DatabaseState,
    group: str,
    access: Access,
) -> Iterator[str]:
    if group not in server.roles:
        yield "the group role does not exist"
        return
    expected = expected_privileges(access)
    # CONNECT on its own database only; never CREATE anywhere.
    for other in plan.databases:
        held = server.database_acl.get(other.name, {}).get(group, frozenset())
        wanted = frozenset({"CONNECT"}) if other.name == db.name else frozenset()
        if held != wanted:
            yield f"database {other.name}: " + _difference(wanted - held, held - wanted)
    managed = set(db.schemas)
    for schema in db.schemas:
        if schema not in state.schema_acl:
            yield f"schema {schema} does not exist"
            continue
        held = state.schema_acl[schema].get(group, frozenset())
        if held != expected["schema"]:
            yield f"schema {schema}: " + _difference(
                expected["schema"] - held, held - expected["schema"]
            )
        for kind in ("table", "sequence"):
            objects = state.objects.get((schema, kind))
            if objects is not None:
                yield from _object_differences(schema, kind, objects, group, expected)
        for owner in db.table_owners:
            for kind in DEFAULT_PRIVILEGE_TYPES:
                held = state.default_acl.get((owner, schema, kind), {}).get(group, frozenset())
                if held != expected[kind]:
                    yield f"default privileges of {owner} in {schema} on {kind}s: " + _difference(
                        expected[kind] - held, held - expected[kind]
                    )
    for schema, grantees in sorted(state.schema_acl.items()):
        if schema not in managed and group in grantees:
            yield f"schema {schema} (not managed): extra {', '.join(sorted(grantees[group]))}"
    owners = set(db.table_owners)
    for (owner, schema, kind), grantees in sorted(state.default_acl.items()):
        if group in grantees and (owner not in owners or schema not in managed):
            where = f"in {schema}" if schema else "in every schema"
            yield (
                f"default privileges of {owner} {where} on {kind}s (not managed): "
                f"extra {', '.join(sorted(grantees[group]))}"
            )


def _object_differences(
    schema: str,
    kind: str,
    objects: ObjectGrants,
    group: str,
    expected: Mapping[str, frozenset[str]],
) -> Iterator[str]:
    held_by_name = objects.grants.get(group, {})
    wanted = expected[kind]
    missing: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    for name in objects.names:
        held = held_by_name.get(name, frozenset())
        for privilege in sorted(wanted - held):
            missing.setdefault(privilege, []).append(name)
        for privilege in sorted(held - wanted):
            extra.setdefault(privilege, []).append(name)
    parts = [f"missing {p} on {_names(n)}" for p, n in sorted(missing.items())]
    parts += [f"extra {p} on {_names(n)}" for p, n in sorted(extra.items())]
    if parts:
        yield f"{kind}s in {schema}: " + "; ".join(parts)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _difference(missing: Iterable[str], extra: Iterable[str]) -> str:
    parts = []
    if missing := sorted(missing):
        parts.append(f"missing {', '.join(missing)}")
    if extra := sorted(extra):
        parts.append(f"extra {', '.join(extra)}")
    return "; ".join(parts)


def _role_detail(role: Role) -> str:
    facts = ["LOGIN" if role.login else "NOLOGIN", *role.attributes]
    iam = "in rds_iam" if RDS_IAM in role.member_of else "not in rds_iam"
    groups = sorted(role.member_of - {RDS_IAM})
    member = f", member of {', '.join(groups)}" if groups else ""
    return f"{' '.join(facts)}, {iam}{member}"


def failing(findings: Iterable[Finding]) -> bool:
    """True when a finding needs fixing (every kind but the informational ones)."""
    return any(f.kind not in INFORMATIONAL for f in findings)
