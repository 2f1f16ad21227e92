"""`dbaccess preview`: the offline plan of access.yaml against a stack's settings."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from dbaccess.access import InvalidInput
from dbaccess.access.matrix import render_matrix
from dbaccess.cli.common import (
    DateOption,
    Format,
    FormatOption,
    ProgramDirOption,
    StackOption,
    exit_invalid,
    parse_date,
    require_program_extra,
)
from dbaccess.stack.settings import optional_services, settings_warnings


def preview(
    stack: StackOption = "prod",
    program_dir: ProgramDirOption = Path("."),
    fmt: FormatOption = Format.text,
    date: DateOption = None,
) -> None:
    """Show what `pulumi up` would create, offline: no AWS, no Pulumi CLI, no network.

    Runs the program under Pulumi's own mock engine with the stack's settings, then prints
    the resources grouped under their components, a summary, and the access matrix.
    Secrets show as [secret]; values only AWS knows show as (known after deploy).
    Invalid access.yaml or settings: every problem is listed and the exit code is 2.

    Example:

        $ dbaccess preview --stack prod
    """
    require_program_extra()
    # Imported here so `dbaccess validate` and friends start without loading Pulumi.
    from dbaccess.cli import preview_engine as engine
    from dbaccess.stack.file import load_stack_config

    program_dir = program_dir.resolve()
    today = parse_date(date)
    try:
        config = load_stack_config(program_dir, stack)
        deployment = engine.validate_stack(program_dir, config, today)
        run = engine.run_program(program_dir, config, today=today)
    except InvalidInput as exc:
        exit_invalid(exc, fmt)
    steps = _tree(run.registrations, f"{config.project}-{stack}")
    if fmt is Format.json:
        print(
            json.dumps(
                {
                    "stack": stack,
                    "resources": [
                        {"type": r.type, "name": r.name, "parent": _parent_name(run, r)}
                        for r in run.registrations
                    ],
                    "summary": {"create": len(run.registrations)},
                    "services": optional_services(deployment.settings),
                    "warnings": settings_warnings(deployment.settings),
                    "outputs": run.outputs,
                    "access": json.loads(_access_json(deployment.plan)),
                    "mysql_sql": _mysql_sql(deployment),
                    "query_audit": _query_audit(deployment),
                    "dated_statements": [
                        {
                            "person": email,
                            "actions": list(p.actions),
                            "login": p.login,
                            "database": p.database,
                            "until": p.until.isoformat() if p.until else None,
                            "condition": _condition(p),
                        }
                        for email, p in _dated(deployment)
                    ],
                },
                indent=2,
                default=str,
            )
        )
        return
    print(f"Previewing update ({stack}), offline under Pulumi's mock engine:\n")
    print("\n".join(steps))
    print("\nOutputs:")
    for name, value in sorted(run.outputs.items()):
        shown = json.dumps(value, indent=4, sort_keys=True, default=str)
        print(f"    {name}: " + shown.replace("\n", "\n    "))
    print(f"\nResources:\n    + {len(run.registrations)} to create\n")
    print("Optional services:")
    print("\n".join(f"    {line}" for line in optional_services(deployment.settings)))
    for warning in settings_warnings(deployment.settings):
        print(f"\nWarning: {warning}")
    print()
    plan = deployment.plan
    print(f"Access on {plan.evaluated_on}: {plan.summary()}\n")
    print(render_matrix(plan))
    dated = _dated(deployment)
    if dated:
        print(
            "\nDated IAM statements (`until` is the last day of access, in UTC; AWS itself "
            "stops honouring them at 00:00 UTC the day after):"
        )
        for email, p in dated:
            print(
                f"  {email}: {', '.join(p.actions)} {p.login} on {p.database} until {p.until}"
                f"  [{_condition(p)}]"
            )
    mysql = _mysql_sql(deployment)
    if mysql:
        print(
            "\nMySQL users (SQL the admin login runs when each user is created, over TLS "
            "verified against dbaccess:rdsCaBundle):"
        )
        for server, statements in mysql.items():
            print(f"  {server}:")
            print("\n".join(f"    {statement};" for statement in statements))
    _print_query_audit(deployment)


def _query_audit(deployment: Any) -> dict[str, dict[str, Any]]:
    """PostgreSQL: each server's audited logins and the settings the program sets on each.
    MySQL: each server's audit plugin values, which the operator sets (server-wide)."""
    from dbaccess.postgres.query_audit import role_settings

    return {
        "postgres": {
            server.name: {
                login.login: role_settings(login.query_audit)
                for login in server.logins
                if login.query_audit != "none"
            }
            for server in deployment.postgres
            if any(login.query_audit != "none" for login in server.logins)
        },
        "mysql": {
            server.name: server.audit.variables()
            for server in deployment.mysql
            if server.audit.wanted
        },
    }


def _print_query_audit(deployment: Any) -> None:
    audit = _query_audit(deployment)
    if audit["postgres"]:
        print(
            "\nQuery audit, PostgreSQL (pgaudit settings the program sets on each login with "
            "ALTER ROLE ... SET; docs/explanation/query-audit.md):"
        )
        for server, logins in audit["postgres"].items():
            print(f"  {server}:")
            for login, settings in logins.items():
                shown = ", ".join(f"{k} = '{v}'" for k, v in settings.items())
                print(f"    {login}: {shown}")
    if audit["mysql"]:
        print(
            "\nQuery audit, MySQL (server-wide: set these in the server's parameter group or "
            "option group; db-access does not own it, `dbaccess audit` reports drift):"
        )
        for server, variables in audit["mysql"].items():
            print(f"  {server}:")
            print("\n".join(f"    {k} = {v}" for k, v in variables.items()))


def _mysql_sql(deployment: Any) -> dict[str, list[str]]:
    """Per MySQL server: each user's CREATE USER and GRANTs, as components/mysql_users.py
    runs them on create."""
    from dbaccess.mysql import statements as sql

    return {
        f"{server.name} ({server.spec.host}:{server.spec.port}, admin {server.spec.admin_login})": [
            statement
            for login in server.spec.logins
            for statement in (
                sql.create_user(login.login),
                *sql.setup_statements(login),
            )
        ]
        for server in deployment.mysql
    }


def _dated(deployment: Any) -> list[tuple[str, Any]]:
    """One line per person, action, login and database (a Redshift credential names three
    resources: the database, the user and the group)."""
    seen: dict[tuple[str, tuple[str, ...], str, str], Any] = {}
    for email, p in deployment.dated_permissions():
        seen.setdefault((email, p.actions, p.login, p.database), p)
    return [(key[0], p) for key, p in seen.items()]


def _condition(permission: Any) -> str:
    from dbaccess.access.until import access_ends, iso_z

    if permission.until is None:
        return ""
    return f"{permission.date_key} < {iso_z(access_ends(permission.until))}"


def _display_type(token: str) -> str:
    """aws:iam/role:Role -> aws:iam:Role, as `pulumi preview` shows it."""
    parts = token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        parts[1] = parts[1].split("/", 1)[0]
    return ":".join(parts)


def _tree(registrations: list[Any], stack_name: str) -> list[str]:
    children: dict[str, list[Any]] = defaultdict(list)
    for r in registrations:
        children[r.parent].append(r)
    for kids in children.values():
        kids.sort(key=lambda r: r.name)  # registration order varies run to run; names do not
    rows: list[tuple[str, str]] = []

    def walk(parent: str, indent: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            branch = indent + ("└─ " if last else "├─ ")
            rows.append((f"{branch}{_display_type(r.type)}", r.name))
            walk(r.urn, indent + ("   " if last else "│  "))

    roots = [r for r in registrations if r.type == "pulumi:pulumi:Stack"]
    for root in roots:
        rows.append((_display_type(root.type), stack_name))
        walk(root.urn, "")
    width = max(len("Type"), *(len(label) for label, _ in rows))
    return [
        f"     {'Type':<{width}}  Name",
        *(f" +   {label:<{width}}  {name}" for label, name in rows),
    ]


def _parent_name(run: Any, registration: Any) -> str | None:
    parent = next((r for r in run.registrations if r.urn == registration.parent), None)
    return parent.name if parent else None


def _access_json(plan: Any) -> str:
    return json.dumps(
        {
            "evaluated_on": plan.evaluated_on.isoformat(),
            "grants": [
                {
                    "person": g.email,
                    "database": g.database,
                    "access": g.access,
                    "login": g.login,
                    "until": g.until.isoformat() if g.until else None,
                    "query_audit": g.query_audit,
                }
                for g in plan.grants()
            ],
            "expired": [
                {
                    "person": e.email,
                    "database": e.database,
                    "access": e.access,
                    "until": e.until.isoformat(),
                }
                for e in plan.expired
            ],
        }
    )
