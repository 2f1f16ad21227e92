"""Apply the PostgreSQL resources the program declares, as pulumi-postgresql would, to a real
server: the SQL each resource's create (and a Role's delete) runs.

pulumi-postgresql bridges the Terraform provider cyrilgdn/postgresql; the statements below
follow its resource code (resource_postgresql_role.go, resource_postgresql_grant.go,
resource_postgresql_default_privileges.go), reduced to the inputs the program uses:

- Role create: `CREATE ROLE <name> WITH [NO]LOGIN NOCREATEDB NOCREATEROLE INHERIT
  CONNECTION LIMIT <n>`, then `GRANT <role> TO <name>` for each of `roles`.
- Role delete: unless `skip_reassign_owned`, `REASSIGN OWNED BY <name> TO <provider user>`
  and `DROP OWNED BY <name>`; then `DROP ROLE <name>` (all in one transaction).
- Grant create (object_type database / schema / table / sequence, no `objects`): first the
  revoke of everything the role holds on that target, then `GRANT <privileges> ON DATABASE d`,
  `ON SCHEMA s`, `ON ALL TABLES IN SCHEMA s`, `ON ALL SEQUENCES IN SCHEMA s` `TO <role>`,
  connected to the Grant's `database`.
- DefaultPrivileges create: `ALTER DEFAULT PRIVILEGES FOR ROLE <owner> IN SCHEMA <schema>
  GRANT <privileges> ON TABLES|SEQUENCES TO <role>`.

Written by hand because no library replays a Pulumi plan into SQL; it is test code only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dbaccess.cli.preview_engine import Registration

# (database, sql) -> None: runs the SQL as the provider's user, connected to that database.
Execute = Callable[[str, str], None]


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(registration: Registration) -> str:
    return registration.type.rsplit(":", 1)[-1]


def create_role(inputs: dict[str, Any]) -> list[str]:
    login = "LOGIN" if inputs.get("login") else "NOLOGIN"
    limit = int(inputs.get("connectionLimit", -1))  # the mock engine hands numbers as floats
    name = ident(inputs["name"])
    sql = [
        f"CREATE ROLE {name} WITH {login} NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT {limit}"
    ]
    sql += [f"GRANT {ident(role)} TO {name}" for role in inputs.get("roles") or []]
    return sql


def delete_role(inputs: dict[str, Any], provider_user: str) -> list[str]:
    name = ident(inputs["name"])
    sql = []
    if not inputs.get("skipReassignOwned"):
        sql += [f"REASSIGN OWNED BY {name} TO {ident(provider_user)}", f"DROP OWNED BY {name}"]
    if not inputs.get("skipDropRole"):
        sql.append(f"DROP ROLE {name}")
    return ["BEGIN", *sql, "COMMIT"]


def create_grant(inputs: dict[str, Any]) -> list[str]:
    role, privileges = ident(inputs["role"]), ",".join(inputs["privileges"])
    kind = inputs["objectType"].upper()
    if kind == "DATABASE":
        target = f"DATABASE {ident(inputs['database'])}"
    elif kind == "SCHEMA":
        target = f"SCHEMA {ident(inputs['schema'])}"
    elif kind in ("TABLE", "SEQUENCE"):
        target = f"ALL {kind}S IN SCHEMA {ident(inputs['schema'])}"
    else:
        raise AssertionError(f"the translator does not know object type {kind}")
    return [
        f"REVOKE ALL PRIVILEGES ON {target} FROM {role}",
        f"GRANT {privileges} ON {target} TO {role}",
    ]


def create_default_privileges(inputs: dict[str, Any]) -> list[str]:
    kind = inputs["objectType"].upper() + "S"
    return [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(inputs['owner'])} IN SCHEMA "
        f"{ident(inputs['schema'])} GRANT {','.join(inputs['privileges'])} ON {kind} "
        f"TO {ident(inputs['role'])}"
    ]


def apply(registrations: Iterable[Registration], execute: Execute, home_database: str) -> int:
    """Create every PostgreSQL resource in dependency order; returns how many were applied.

    Group roles (NOLOGIN) first, then their grants and default privileges, then the logins
    that are members of them — the order the program's depends_on imposes.
    """
    resources = [r for r in registrations if r.type.startswith("postgresql:")]
    order = {"group": 0, "Grant": 1, "DefaultPrivileges": 2, "login": 3}

    def rank(r: Registration) -> int:
        kind = _kind(r)
        if kind == "Role":
            return order["login" if r.inputs.get("login") else "group"]
        return order[kind]

    applied = 0
    for r in sorted(resources, key=rank):
        kind = _kind(r)
        if kind == "Role":
            statements, database = create_role(r.inputs), home_database
        elif kind == "Grant":
            statements, database = create_grant(r.inputs), r.inputs["database"]
        elif kind == "DefaultPrivileges":
            statements, database = create_default_privileges(r.inputs), r.inputs["database"]
        else:
            raise AssertionError(f"the translator does not know {r.type}")
        execute(database, ";\n".join(statements) + ";")
        applied += 1
    return applied
