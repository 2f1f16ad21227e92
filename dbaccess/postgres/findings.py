"""The findings of `dbaccess audit`: where a server differs from what access.yaml declares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from dbaccess.access.naming import ACCESS_LEVELS, MANAGED_MARKER, Access
from dbaccess.access.plan import DatabaseSpec
from dbaccess.audit.results import Finding
from dbaccess.postgres import query_audit
from dbaccess.postgres.expected import RDS_SUPERUSER, ServerPlan, expected_privileges, is_rds_own
from dbaccess.postgres.privileges import DEFAULT_PRIVILEGE_TYPES
from dbaccess.postgres.spec import RDS_IAM
from dbaccess.postgres.state import PUBLIC, DatabaseState, ObjectGrants, Role, ServerState

# How many object names a detail lists before it says "and N more".
NAMES_SHOWN: Final = 5


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
