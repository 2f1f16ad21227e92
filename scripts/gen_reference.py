"""The docs' reference pages, generated from the code at every `mkdocs build` so they cannot
drift: the access.yaml schema, the stack settings, every CLI command, audit finding kinds,
IAM policies, the services' environment variables and exit codes.

mkdocs runs it through the mkdocs-gen-files plugin (mkdocs.yml); the pages are never
committed. By hand: `.venv/bin/python scripts/gen_reference.py OUT_DIR` writes them there.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from dbaccess import service_env
from dbaccess.access import errors, naming, rules, schema, source
from dbaccess.audit import results
from dbaccess.bot import settings as bot_settings
from dbaccess.bot.access_requests import github_settings
from dbaccess.bot.slack_approval import settings as approval_settings
from dbaccess.cli import app
from dbaccess.issuer import settings as issuer_settings
from dbaccess.mysql import findings as mysql_findings
from dbaccess.reaper import settings as reaper_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STACK = "prod"
SAMPLE_ACCOUNT = "123456789012"  # the stack's own account in Pulumi.prod.yaml
GENERATED = "Generated from the code at build time by `scripts/gen_reference.py`; do not edit."


# --- models (access.yaml and the stack settings) ------------------------------------------


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (types.UnionType, typing.Union):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " \\| ".join(_type_name(a) for a in parts)
    if origin in (list, tuple):
        inner = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return f"list of {_type_name(inner[0])}" if inner else "list"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"mapping {_type_name(key)} → {_type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _fixes(func: Any) -> list[str]:
    """What a validator tells people (the fix of each `_fail(...)`, the message of each
    `ValueError(...)`), so the page states each rule in the words the error uses."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = getattr(node.func, "id", None)
        if called == "_fail" and len(node.args) > 1:
            found.append(_text(node.args[1]))
        elif called == "ValueError" and node.args:  # the settings' validators say what is wrong
            found.append(_text(node.args[0]))
    return found


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return "…"


def _validators(annotation: Any) -> Iterator[Any]:
    """The AfterValidators inside an annotation, also inside list[...] and X | None."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if (func := getattr(meta, "func", None)) is not None:
                yield func
    for arg in typing.get_args(annotation):
        yield from _validators(arg)


def _limits(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    found = []
    for meta in info.metadata:
        for attr, word in (("ge", "≥"), ("le", "≤"), ("min_length", "at least"), ("gt", ">")):
            if (value := getattr(meta, attr, None)) is not None:
                found.append(f"{word} {value}")
    funcs = list(_validators(info.annotation))
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if name in decorator.info.fields:
            funcs.append(decorator.func)
    for func in funcs:
        found += _fixes(func)
    return "; ".join(dict.fromkeys(f.replace("|", "\\|") for f in found))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its defaults"
    if value in (None, (), [], {}):
        return "none"
    return f"`{json.dumps(value, default=str)}`"


def model_table(model: type[BaseModel], *, prefix: str = "") -> str:
    rows = ["| key | type | default | limits | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        rows.append(
            f"| `{prefix}{key}` | {_type_name(info.annotation)} | {_default(info)} | "
            f"{_limits(model, name, info)} | {info.description or ''} |"
        )
    doc = inspect.getdoc(model)
    intro = f"{doc}\n\n" if doc and model.__module__ != "dbaccess.access.schema" else ""
    return f"{intro}" + "\n".join(rows) + "\n"


def _pattern_rows(module: types.ModuleType, names: list[str]) -> Iterator[str]:
    for name in names:
        value = getattr(module, name)
        shown = value.pattern if isinstance(value, re.Pattern) else value
        if isinstance(shown, frozenset | set):
            shown = ", ".join(sorted(shown))
        yield f"| `{module.__name__}.{name}` | `{shown}` |"


def access_page() -> str:
    sections = [
        f"# access.yaml schema (version 1)\n\n{GENERATED}\n",
        "Each table is one pydantic model of `dbaccess/access/schema.py`. The rules that span "
        "fields or entries (engine-specific fields, unknown databases, production read-write, "
        "logins, servers) are in `dbaccess/access/rules.py` and described in "
        "[names, rules and limits](access-file-rules.md). Editors check the file against "
        "[`schema/access.schema.json`](json-schema.md).\n",
    ]
    models: list[tuple[str, type[BaseModel], str]] = [
        ("The file", schema.TopLevel, ""),
        ("settings", schema.Settings, "settings."),
        ("A database (`databases.<key>`)", schema.Database, ""),
        ("Redshift groups (`databases.<key>.groups`)", schema.RedshiftGroups, ""),
        ("A group (`groups.<name>`)", schema.Group, ""),
        ("A person (`people.<email>`)", schema.Person, ""),
        ("A grant (`grants[]`)", schema.Grant, ""),
    ]
    for title, model, prefix in models:
        sections.append(
            f"## {title} {{ #{model.__name__.lower()} }}\n\n{model_table(model, prefix=prefix)}"
        )
    engines = ", ".join(f"`{e}`" for e in naming.ENGINES)
    sections.append(
        "## Names and patterns\n\n"
        f"Engines: {engines}. Access levels: "
        + ", ".join(f"`{a}`" for a in naming.ACCESS_LEVELS)
        + ".\n\n| constant | value |\n|---|---|\n"
        + "\n".join(
            [
                *_pattern_rows(
                    schema,
                    [
                        "DATABASE_KEY",
                        "EMAIL",
                        "EMAIL_MAX",
                        "ACCOUNT",
                        "HOSTNAME",
                        "HOSTNAME_MAX",
                        "AWS_ID",
                        "SQL_NAME",
                        "REDSHIFT_GROUP",
                        "GITHUB_OWNER",
                    ],
                ),
                *_pattern_rows(
                    naming,
                    [
                        "BASE_PATTERN",
                        "GITHUB_LOGIN",
                        "ROLE_NAME_MAX",
                        "BASE_MAX",
                        "RESERVED_NAMES",
                        "RESERVED_PREFIXES",
                    ],
                ),
            ]
        )
        + "\n\nLogin length by engine (bytes): "
        + ", ".join(f"{e} {n}" for e, n in naming.LOGIN_MAX_BYTES.items())
        + ".\n"
    )
    sections.append(
        "## Limits of the reader\n\n| constant | value |\n|---|---|\n"
        + "\n".join(
            [
                *_pattern_rows(
                    source, ["MAX_BYTES", "MAX_DEPTH", "MAX_ALIASES", "MAX_ALIAS_NODES"]
                ),
                *_pattern_rows(errors, ["MAX_PROBLEMS", "SHOWN_MAX"]),
                *_pattern_rows(rules, ["MAX_GRANT_DAYS"]),
            ]
        )
        + "\n"
    )
    return "\n".join(sections)


def settings_page() -> str:
    from dbaccess.stack import settings

    parts = [
        f"# Stack settings (`Pulumi.<stack>.yaml`)\n\n{GENERATED}\n",
        "Every `dbaccess:*` key, declared with its description in `Pulumi.yaml` and read once, "
        "by one function, into `dbaccess.stack.settings.Settings`; a bad or unknown key is "
        "reported at its line. The stack file is read like the access file (same reader and "
        "limits), and any other shape than Pulumi's is reported at its line with exit code 2: "
        "a list at the top, `config:` that is not a mapping, keys that are not text, dates or "
        "tagged values inside a setting, `true` where a number belongs, account ids that are "
        "not 12 ASCII digits, an `aws:region` botocore does not know (`aws:region`, required, "
        "is the region of the stack's own resources and of lookups). The stack file holds no "
        "secret: the services' secrets live in Secrets Manager, named by ARN "
        "([where the secrets live](../how-to/rotate-secrets.md)), and any `secure:` value is "
        "refused. Optional services are all or none: `privatebinUrl`, "
        "`slackBotTokenSecretArn` and `network` turn on the issuer and the reaper; `bot` and "
        "`slackAppTokenSecretArn` the bot (it needs the issuer); `github` and "
        "`githubAppPrivateKeySecretArn` Slack requests (they need the bot); `slackApproval` "
        "approving them from Slack (it needs `github`). Without any of "
        "them the stack is a CLI-only pilot.\n",
        "## `dbaccess:*`\n\n" + model_table(settings.Settings, prefix="dbaccess:"),
    ]
    nested: list[tuple[str, type[BaseModel]]] = [
        ("dbaccess:network", settings.Network),
        ("dbaccess:expiry", settings.Expiry),
        ("dbaccess:bot", settings.SlackBotSettings),
        ("dbaccess:github", settings.GitHubRequestSettings),
        ("dbaccess:slackApproval", settings.SlackApprovalStackSettings),
    ]
    for key, model in nested:
        parts.append(f"## `{key}` {{ #{model.__name__.lower()} }}\n\n{model_table(model)}")
    return "\n".join(parts)


# --- the CLI ---------------------------------------------------------------------------------


# Typer ships its own copy of click: its objects are reached through the app, not `import click`.
def _commands() -> list[tuple[str, Any]]:
    group: Any = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="dbaccess")
    return [(name, group.commands[name]) for name in group.list_commands(ctx)]


def _help(command: Any, name: str | None) -> str:
    group: Any = typer.main.get_command(app)
    root = group.context_class(group, info_name="dbaccess", max_content_width=100)
    if name is None:
        return str(group.get_help(root))
    ctx = command.context_class(command, info_name=name, parent=root, max_content_width=100)
    return str(command.get_help(ctx))


def cli_page() -> str:
    group = typer.main.get_command(app)
    parts = [
        f"# CLI: every `dbaccess` command\n\n{GENERATED}\n",
        "The output of `--help` for each command (`dbaccess <command> --help` prints the same).\n",
        f"```text\n{_help(group, None)}\n```\n",
    ]
    for name, command in _commands():
        parts.append(f"## `dbaccess {name}`\n\n```text\n{_help(command, name)}\n```\n")
    return "\n".join(parts)


def exit_codes_page() -> str:
    from dbaccess.cli.exit_codes import ExitCode

    codes = ["| code | name | what it means |", "|---|---|---|"]
    codes += [f"| {code.value} | `{code.name}` | {code.meaning} |" for code in ExitCode]
    rows = ["| command | exit codes |", "|---|---|"]
    for name, command in _commands():
        text = " ".join((command.help or "").split())
        said = re.findall(r"((?:Exit|exits?) .*?\d.*?\.)(?=\s+[A-Z(]|$)", text)
        rows.append(f"| `dbaccess {name}` | {' '.join(said) or 'the convention above'} |")
    return (
        f"# Exit codes\n\n{GENERATED}\n\n"
        "Every command exits with one of these (`dbaccess.cli.exit_codes.ExitCode`). A Python "
        "traceback is never the answer to bad input.\n\n"
        + "\n".join(codes)
        + "\n\nWhere a command says more in its help, it is here:\n\n"
        + "\n".join(rows)
        + "\n\n`dbaccess connect` exits with the client's own code once `psql` / `mysql` "
        "has started. The Slack bot stops at start-up with exit code 2 when one of its "
        "[environment variables](environment.md) is missing or malformed.\n"
    )


# --- audit -----------------------------------------------------------------------------------


def audit_page() -> str:
    rows = ["| kind | what it means | how to fix it |", "|---|---|---|"]
    rows += [f"| `{kind}` | {meaning} | {fix} |" for kind, (meaning, fix) in results.KINDS.items()]
    mysql_kinds = typing.get_args(mysql_findings.FindingKind)
    return (
        f"# Audit finding kinds\n\n{GENERATED}\n\n"
        "## PostgreSQL and Aurora PostgreSQL (`dbaccess.audit.results.KINDS`)\n\n"
        + "\n".join(rows)
        + "\n\n## MySQL and Aurora MySQL (`dbaccess.mysql.findings.FindingKind`)\n\n"
        "Reported as `mysql-<kind>`: "
        + ", ".join(f"`{k}`" for k in mysql_kinds)
        + ". What each means and how audit and sweep read the servers: "
        "[Audit and sweep](audit.md).\n"
    )


# --- IAM policies ---------------------------------------------------------------------------


def iam_page() -> str:
    from dbaccess.cli.iam_policy import declared_by_program, policies_of

    with warnings.catch_warnings():  # the provider SDKs' deprecation notices, on import
        warnings.simplefilter("ignore", DeprecationWarning)
        program = declared_by_program(ROOT, SAMPLE_STACK, SAMPLE_ACCOUNT)
    assert program.region is not None
    policies = policies_of(program, SAMPLE_STACK, program.region, SAMPLE_ACCOUNT)
    parts = [
        f"# IAM policies of each role\n\n{GENERATED}\n",
        f"For the sample stack `{SAMPLE_STACK}` (`Pulumi.{SAMPLE_STACK}.yaml`, the sample "
        f"`access.yaml`), whose own account is {SAMPLE_ACCOUNT}, as the program declares them "
        "under Pulumi's mock engine: lookups only AWS can answer show as `(known after "
        "deploy)`, auto-named resources a stand-in suffix. Dated statements depend on the "
        "build date. Each account of `dbaccess:accounts` gets its own documents "
        "(`--role-account`); the stack's account's also serve the CI roles.\n",
    ]
    for account, documents in sorted(policies.items()):
        for role in ("deploy", "preview", "boundary"):
            how = f"dbaccess iam-policy {role} --account {SAMPLE_ACCOUNT}"
            if account != SAMPLE_ACCOUNT:
                how += f" --role-account {account}"
            title = "policy" if role == "boundary" else "role"
            parts.append(
                f"## The {role} {title} of account {account}\n\n`{how}`:\n\n"
                f"```json\n{json.dumps(documents[role], indent=2)}\n```\n"
            )
    people: list[str] = []
    services: list[str] = []
    for declared in program.declared:
        if declared.type != "aws:iam/rolePolicy:RolePolicy":
            continue
        name = declared.name.removesuffix("-policy")
        text = json.dumps(json.loads(declared.inputs["policy"]), indent=2)
        block = f"### `{name}` (account {declared.account})\n\n```json\n{text}\n```\n"
        (people if "@" in name else services).append(block)
    parts.append(
        "## Service roles\n\nThe issuer, reaper, scheduler, usage readers and Slack bot "
        "(path `/dbaccess-service/`).\n\n" + "\n".join(services)
    )
    parts.append(
        "## Person roles\n\nThe inline policy `database-access` of each person's role "
        "`dbaccess-<base>` (path `/dbaccess/`), per account.\n\n" + "\n".join(people)
    )
    return "\n".join(parts)


# --- environment variables --------------------------------------------------------------------


def _env_constants(module: types.ModuleType) -> dict[str, str]:
    """The module's `NAME: Final = "ENV_VAR"` constants that name environment variables."""
    tree = ast.parse(inspect.getsource(module))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = getattr(module, node.target.id, None)
            if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", value):
                found[node.target.id] = value
    return found


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _used(module: types.ModuleType, shared: dict[str, str]) -> list[str]:
    """The variables a service's settings module reads: its own, and the shared ones it names
    directly or through one of service_env's readers (`slack_api_url(env)`)."""
    readers = {
        node.name: _names_in(node)
        for node in ast.parse(inspect.getsource(service_env)).body
        if isinstance(node, ast.FunctionDef)
    }
    names = _names_in(ast.parse(inspect.getsource(module)))
    for reader, inside in readers.items():
        if reader in names:
            names |= inside
    own = _env_constants(module)
    return sorted({*(v for k, v in shared.items() if k in names), *own.values()})


def environment_page() -> str:
    shared = _env_constants(service_env)
    services: list[tuple[str, types.ModuleType]] = [
        ("issuer Lambda", issuer_settings),
        ("reaper Lambda", reaper_settings),
        ("Slack bot", bot_settings),
        ("Slack bot (GitHub App)", github_settings),
        ("Slack bot (approve in Slack)", approval_settings),
    ]
    readers: dict[str, list[str]] = {}
    owner: dict[str, str] = dict.fromkeys(shared.values(), "dbaccess.service_env")
    for service, module in services:
        for var in _used(module, shared):
            readers.setdefault(var, []).append(service)
            owner.setdefault(var, module.__name__)
    defaults = {
        service_env.SLACK_API_URL: service_env.DEFAULT_SLACK_API_URL,
        service_env.ACCESS_CONTACT: service_env.DEFAULT_ACCESS_CONTACT,
        service_env.SUPPORT_CONTACT: service_env.DEFAULT_SUPPORT_CONTACT,
        bot_settings.HEALTH_PORT: str(bot_settings.DEFAULT_HEALTH_PORT),
        bot_settings.RATE_LIMIT: str(bot_settings.DEFAULT_RATE_LIMIT),
        bot_settings.RATE_WINDOW: str(bot_settings.DEFAULT_RATE_WINDOW_SECONDS),
        approval_settings.WEB_URL: approval_settings.DEFAULT_WEB_URL,
        approval_settings.ACCESS_LEVELS_VAR: ",".join(
            sorted(approval_settings.DEFAULT_ACCESS_LEVELS)
        ),
    }
    rows = ["| variable | read by | defined in | default |", "|---|---|---|---|"]
    for var in sorted(readers):
        rows.append(
            f"| `{var}` | {', '.join(readers[var])} | `{owner[var]}` | "
            f"{'`' + defaults[var] + '`' if var in defaults else ''} |"
        )
    return (
        f"# Environment variables of each service\n\n{GENERATED}\n\n"
        "The components set them from the same constants; each service reads them once, at "
        "start, into one typed object, and a missing or malformed one stops it with a message "
        "naming the variable. Besides these, the AWS SDK reads the standard `AWS_*` variables "
        "(`AWS_ENDPOINT_URL` included).\n\n" + "\n".join(rows) + "\n"
    )


PAGES: dict[str, Callable[[], str]] = {
    "reference/access-yaml.md": access_page,
    "reference/settings.md": settings_page,
    "reference/cli.md": cli_page,
    "reference/exit-codes.md": exit_codes_page,
    "reference/audit-findings.md": audit_page,
    "reference/iam-policies.md": iam_page,
    "reference/environment.md": environment_page,
}


def write_all(open_page: Callable[[str], Any]) -> None:
    for path, build in PAGES.items():
        with open_page(path) as out:
            out.write(build())


def _open_in(directory: Path) -> Callable[[str], Any]:
    def open_page(path: str) -> Any:
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        return (directory / path).open("w", encoding="utf-8")

    return open_page


if __name__ == "__main__":
    write_all(_open_in(Path(sys.argv[1])))
else:  # run by the mkdocs-gen-files plugin
    import mkdocs_gen_files

    write_all(lambda p: mkdocs_gen_files.open(p, "w"))
