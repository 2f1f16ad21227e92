"""`dbaccess iam-policy deploy|preview|boundary`: the deploy and preview roles' policies and
the permissions boundary of every role the program creates, as JSON, for one account's role.

Runs the program under Pulumi's mock engine (as `dbaccess preview` does), records every
resource it registers and every lookup it makes, with the account each one's provider deploys
to, and hands them to dbaccess.iam.deploy.
"""

from __future__ import annotations

import enum
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from dbaccess.access import InvalidInput
from dbaccess.cli.common import (
    Format,
    ProgramDirOption,
    StackOption,
    exit_invalid,
    require_program_extra,
)
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.iam.deploy import Declared, Lookup, UncoveredType, build_policies
from dbaccess.iam.documents import INLINE_POLICY_MAX, MANAGED_POLICY_MAX, compact_size
from dbaccess.stack.settings import Settings

ACCOUNT_ID = re.compile(r"\d{12}")


class Role(enum.StrEnum):
    deploy = "deploy"
    preview = "preview"
    boundary = "boundary"


class UnknownAccount(ValueError):
    """--account or --role-account names an account the stack does not deploy to."""


@dataclass(frozen=True)
class ProgramDeclarations:
    declared: list[Declared]
    lookups: list[Lookup]
    settings: Settings
    region: str | None  # aws:region of the stack
    audit_log_groups: tuple[tuple[str, str, str], ...] = ()  # `activity` reads them
    # (account, region) of RDS MySQL instances: doctor reads their option groups
    option_group_regions: tuple[tuple[str, str], ...] = ()


def declared_by_program(
    program_dir: Path, stack: str, account: str, role_accounts: tuple[str, ...] = ()
) -> ProgramDeclarations:
    """What the program registers and looks up for `stack`, each in its provider's account
    (`account` for the stack's default provider). Raises InvalidInput for bad settings,
    UnknownAccount when `account` or one of `role_accounts` is not one of the stack's."""
    from dbaccess.cli import preview_engine as engine
    from dbaccess.stack.file import load_stack_config

    class Recording(engine.OfflineMocks):
        def __init__(self) -> None:
            # The default provider's resources are in `account`, their ARNs too.
            super().__init__(default_account=account)
            self.declared: list[Declared] = []
            self.lookups: list[Lookup] = []

        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            answer = super().new_resource(args)
            if args.custom:  # components hold no cloud resource of their own
                where = self._account(args.provider) or account
                self.declared.append(Declared(args.typ, args.name, dict(args.inputs), where))
            return answer

        def call(self, args: Any) -> dict[str, Any]:  # type: ignore[override]  # as in OfflineMocks
            where = self._account(args.provider) or account
            self.lookups.append(Lookup(args.token, dict(args.args), where))
            return super().call(args)

    config = load_stack_config(program_dir, stack)
    deployment = engine.validate_stack(program_dir, config)
    for option, given in (("--account", account), *(("--role-account", a) for a in role_accounts)):
        if given not in deployment.settings.accounts:
            raise UnknownAccount(
                f"{option} {given} is not an account of stack {stack}; its accounts "
                f"(dbaccess:accounts in Pulumi.{stack}.yaml) are "
                + ", ".join(sorted(deployment.settings.accounts))
            )
    mocks = Recording()
    # Not a preview: the providers' roles are the deploy roles, as in `pulumi up`.
    engine.run_program(program_dir, config, mocks, preview=False)
    region = config.values.get("aws:region")
    from dbaccess.audit.activity import log_groups

    groups = tuple(log_groups(deployment.plan))
    mysql_instances = tuple(
        sorted(
            {
                (db.account, db.region)
                for db in deployment.plan.databases.values()
                if db.engine == "mysql" and not db.is_cluster
            }
        )
    )
    return ProgramDeclarations(
        mocks.declared, mocks.lookups, deployment.settings, region, groups, mysql_instances
    )


def policies_of(
    program: ProgramDeclarations, stack: str, region: str, stack_account: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """account -> the deploy and preview policies and the boundary of that account's roles,
    for what the program declares."""
    return build_policies(
        program.declared,
        program.lookups,
        region=region,
        stack=stack,
        stack_account=stack_account,
        preview_roles=program.settings.previewAccounts,
        secret_arns=program.settings.service_secret_arns(),
        secrets_key_arn=program.settings.secretsKmsKeyArn,
        notify_secret_arn=program.settings.slackBotTokenSecretArn,
        audit_log_groups=program.audit_log_groups,
        option_group_regions=program.option_group_regions,
    )


def _fail(message: str, fix: str) -> NoReturn:
    print(f"error: {message}\n{fix}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)


def iam_policy(
    role: Annotated[
        Role,
        typer.Argument(
            help="deploy (pulumi up), preview (read-only), or boundary (the permissions "
            "boundary of every role the program creates)."
        ),
    ],
    account: Annotated[
        str,
        typer.Option(
            help="The account the stack itself deploys to (its catalog bucket, request table "
            "and Lambdas), a 12-digit id; one of dbaccess:accounts.",
        ),
    ],
    role_account: Annotated[
        str | None,
        typer.Option(
            help="The account whose role gets the document, a 12-digit id; one of "
            "dbaccess:accounts. Default: --account (the CI role and that account's role).",
        ),
    ] = None,
    stack: StackOption = "prod",
    program_dir: ProgramDirOption = Path("."),
) -> None:
    """Print the least-privilege IAM policy of the deploy or the preview role, or the
    permissions boundary, as JSON.

    Derived from what the program declares for the stack: each resource type it registers
    maps to the actions Pulumi calls for it, scoped to the names the program gives. Each
    account's role gets its own document (--role-account): the stack account's (the CI role
    and that account's role in dbaccess:accounts or dbaccess:previewAccounts) the stack's own
    resources and the right to assume the other accounts' roles; another account's role only
    what the stack has in that account. The boundary is a managed policy the operator creates
    in each account of dbaccess:accounts, at policy/dbaccess/dbaccess-boundary: the deploy
    role cannot create or change it.

    Example (stack account 123456789012, databases also in 210987654321):

    \b
        $ dbaccess iam-policy deploy --account 123456789012 > deploy-policy.json
        $ aws iam put-role-policy --role-name dbaccess-ci-deploy \\
            --policy-name dbaccess-deploy --policy-document file://deploy-policy.json
        $ dbaccess iam-policy deploy --account 123456789012 \\
            --role-account 210987654321 > deploy-210987654321.json
        $ aws iam put-role-policy --role-name dbaccess-deploy \\
            --policy-name dbaccess-deploy --policy-document file://deploy-210987654321.json \\
            --profile account-210987654321
        $ dbaccess iam-policy boundary --account 123456789012 \\
            --role-account 210987654321 > boundary-210987654321.json
        $ aws iam create-policy --path /dbaccess/ --policy-name dbaccess-boundary \\
            --policy-document file://boundary-210987654321.json --profile account-210987654321
    """
    role_account = role_account or account
    for option, given in (("--account", account), ("--role-account", role_account)):
        if not ACCOUNT_ID.fullmatch(given):
            _fail(f"{option} {given!r} is not a 12-digit account id", f"e.g. {option} 123456789012")
    require_program_extra()
    try:
        program = declared_by_program(program_dir.resolve(), stack, account, (role_account,))
    except InvalidInput as exc:
        exit_invalid(exc, Format.text)
    except UnknownAccount as exc:
        _fail(
            str(exc),
            "pass as --account the account whose credentials run `pulumi up` for this stack, "
            "as --role-account the account of the role the document is for",
        )
    if program.region is None:
        _fail(
            f"Pulumi.{stack}.yaml sets no aws:region",
            f"pulumi config set aws:region <region> --stack {stack}",
        )
    if role is Role.preview and not program.settings.previewAccounts:
        _fail(
            f"Pulumi.{stack}.yaml has no dbaccess:previewAccounts, so previews would assume "
            "the deploy roles",
            "add dbaccess:previewAccounts (account id -> a read-only role ARN, for every account "
            "of dbaccess:accounts) so previews never hold write credentials",
        )
    try:
        policies = policies_of(program, stack, program.region, account)
    except UncoveredType as exc:
        _fail(str(exc), "this is a gap in dbaccess itself; report it")
    document = policies[role_account][role.value]
    limit = MANAGED_POLICY_MAX if role is Role.boundary else INLINE_POLICY_MAX
    if (size := compact_size(document)) > limit:
        _fail(
            f"the {role.value} policy of account {role_account}'s role would be {size} "
            f"characters; IAM allows {limit}",
            f"it grows with the databases the stack has in account {role_account} (about 55 "
            "characters each): serve some of them from a second stack (its own "
            "Pulumi.<stack>.yaml and access file), or report it",
        )
    print(json.dumps(document, indent=2))
