"""`dbaccess iam-policy deploy|preview`: what the program declares, and nothing more.

GIVEN the sample program and the prod stack,
WHEN an operator prints the deploy and the preview role's policies of each account's role,
THEN every resource type the program registers has its actions in the deploy policies (a new
type fails here until dbaccess/iam/deploy.py knows it), each account's document names only
its own account's resources, the preview policies only read, and parliament finds nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import parliament
import pytest

from dbaccess.iam.deploy import RULES, Declared, UncoveredType, build_policies
from dbaccess.stack.settings import Settings
from tests.program.conftest import ROOT, ProgramRunner, stack_config

ACCOUNT, STAGING = "123456789012", "210987654321"
# Objects of these providers live behind an API of their own (the cluster's, the database's);
# IAM sees only how the provider gets in: the cluster lookup, the admin's IAM login.
PROVIDER_ACCESS = {"kubernetes": "eks:DescribeCluster", "postgresql": "rds-db:connect"}
WRITE_VERBS = ("Create", "Delete", "Put", "Update", "Tag", "Untag", "Publish", "Pass", "Enable")


def iam_policy(
    role: str, *extra: str, account: str = ACCOUNT, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbaccess", "iam-policy", role, "--account", account, *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    """The stack account's documents (the default --role-account)."""
    printed = {}
    for role in ("deploy", "preview", "boundary"):
        result = iam_policy(role)
        assert result.returncode == 0, result.stderr
        printed[role] = json.loads(result.stdout)
    return printed


@pytest.fixture(scope="module")
def staging() -> dict[str, dict[str, Any]]:
    """The staging account's role's documents."""
    printed = {}
    for role in ("deploy", "preview", "boundary"):
        result = iam_policy(role, "--role-account", STAGING)
        assert result.returncode == 0, result.stderr
        printed[role] = json.loads(result.stdout)
    return printed


def actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in allows(policy) for a in s["Action"]}


def allows(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def test_every_registered_type_has_its_actions_in_the_deploy_policy(
    run_sample: ProgramRunner,
    policies: dict[str, dict[str, Any]],
    staging: dict[str, dict[str, Any]],
) -> None:
    # The program's registrations as `dbaccess preview` records them (not the command's own).
    custom = {r.type for r in run_sample().resources if r.custom}
    assert "aws:iam/role:Role" in custom  # the run is the real program
    unknown = sorted(custom - set(RULES))
    assert unknown == [], f"add {unknown} to RULES in dbaccess/iam/deploy.py"
    granted = actions(policies["deploy"]) | actions(staging["deploy"])
    for kind in sorted(custom):
        rule = RULES[kind]
        needed = {
            *rule.write,
            *rule.read,
            *rule.unscoped_write,
            *rule.unscoped_read,
            *rule.bounded,
            *rule.tagged_create,
            *rule.tagging,
        }
        package = kind.rsplit(":", 1)[1] if kind.startswith("pulumi:providers:") else kind
        package = package.split(":")[0]
        if package in PROVIDER_ACCESS:
            assert PROVIDER_ACCESS[package] in granted, kind
            continue
        assert needed, f"{kind} has no actions"
        assert needed <= granted, f"{kind}: {sorted(needed - granted)} missing"


def test_the_deploy_policy_names_the_account_roles_and_the_admin_logins(
    policies: dict[str, dict[str, Any]], staging: dict[str, dict[str, Any]]
) -> None:
    deploy, other = allows(policies["deploy"]), allows(staging["deploy"])
    assumed = {r for s in deploy if s["Action"] == ["sts:AssumeRole"] for r in _list(s)}
    settings = stack_config().raw_settings
    assert set(settings["accounts"].values()) | set(settings["previewAccounts"].values()) == (
        assumed
    )
    assert not [s for s in other if "sts:AssumeRole" in s["Action"]]  # only the CI role's
    # Each account's role logs in to its own account's databases, each in its database's
    # region: payments-staging is in eu-central-1, not the stack's.
    (connect,) = [s for s in deploy if s["Action"] == ["rds-db:connect"]]
    assert connect["Resource"] == "arn:aws:rds-db:eu-west-1:123456789012:dbuser:*/dbaccess_admin"
    (connect,) = [s for s in other if s["Action"] == ["rds-db:connect"]]
    assert connect["Resource"] == (
        "arn:aws:rds-db:eu-central-1:210987654321:dbuser:*/dbaccess_admin"
    )
    describe = {r for s in other if "rds:DescribeDBClusters" in s["Action"] for r in _list(s)}
    assert describe == {"arn:aws:rds:eu-central-1:210987654321:cluster:payments-staging"}
    assert not [s for s in deploy if "rds:DescribeDBClusters" in s["Action"]]
    # audit and sweep list the cluster's member instances with this role (in its region).
    members = {r for s in other if "rds:DescribeDBInstances" in s["Action"] for r in _list(s)}
    assert "arn:aws:rds:eu-central-1:210987654321:db:*" in members
    # Person roles only under their own path, each in its own account's document.
    for document, account in ((deploy, ACCOUNT), (other, STAGING)):
        roles = {r for s in document if "iam:CreateRole" in s["Action"] for r in _list(s)}
        assert f"arn:aws:iam::{account}:role/dbaccess/*" in roles
        assert all(f"::{account}:role/" in r and not r.endswith(":role/*") for r in roles)
    # The stack's own resources (S3 ARNs name no account) only in the stack account's.
    buckets = [s for s in other if any(r.startswith("arn:aws:s3:") for r in _list(s))]
    assert buckets == []
    assert [s for s in deploy if any(r.startswith("arn:aws:s3:") for r in _list(s))]


def test_the_preview_policy_only_reads(
    policies: dict[str, dict[str, Any]], staging: dict[str, dict[str, Any]]
) -> None:
    preview = actions(policies["preview"]) | actions(staging["preview"])
    writes = sorted(a for a in preview if a.split(":")[1].startswith(WRITE_VERBS))
    assert writes == []
    assert "rds-db:connect" not in preview  # no admin login to any database
    assumed = {
        r
        for s in policies["preview"]["Statement"]
        if "sts:AssumeRole" in s["Action"]
        for r in _list(s)
    }
    assert assumed == set(stack_config().raw_settings["previewAccounts"].values())
    assert "sts:AssumeRole" not in actions(staging["preview"])


@pytest.mark.parametrize("role", ["deploy", "preview", "boundary"])
def test_parliament_finds_nothing(
    policies: dict[str, dict[str, Any]], staging: dict[str, dict[str, Any]], role: str
) -> None:
    for document in (policies[role], staging[role]):
        findings = parliament.analyze_policy_string(json.dumps(document)).findings
        assert [(f.issue, f.detail) for f in findings] == []


def test_no_wildcard_resource_but_where_aws_takes_no_arn(
    policies: dict[str, dict[str, Any]], staging: dict[str, dict[str, Any]]
) -> None:
    unscoped = {
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "logs:DescribeLogGroups",
        "lambda:CreateEventSourceMapping",
        "dynamodb:ListStreams",  # the boundary's, as in the issuer's own policy
        "ec2:DescribeNetworkInterfaces",
        "kms:CreateKey",  # only with exactly the stack's tag (test_deploy_role.py)
    }
    for policy in [*policies.values(), *staging.values()]:
        for statement in allows(policy):
            if "*" in _list(statement):
                assert set(statement["Action"]) <= unscoped, statement


def test_a_type_without_a_rule_is_refused() -> None:
    new = Declared("aws:ec2/instance:Instance", "surprise", {}, ACCOUNT)
    with pytest.raises(UncoveredType, match="aws:ec2/instance:Instance"):
        build_policies(
            [new], [], region="eu-west-1", stack="prod", stack_account=ACCOUNT, preview_roles={}
        )


def test_preview_policy_without_preview_roles_says_what_to_set(tmp_path: Path) -> None:
    # GIVEN a copy of the project whose stack has no dbaccess:previewAccounts
    for name in ("Pulumi.yaml", "access.yaml", "__main__.py"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "components", tmp_path / "components")
    stack = (ROOT / "Pulumi.prod.yaml").read_text()
    start = stack.index("  dbaccess:previewAccounts:")
    (tmp_path / "Pulumi.prod.yaml").write_text(stack[:start])
    # WHEN the operator asks for the preview policy
    result = iam_policy("preview", "--program-dir", str(tmp_path))
    # THEN they are told what to set, and no policy is printed
    assert result.returncode == 2
    assert "no dbaccess:previewAccounts" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def _list(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


# --- the preview role during a preview ------------------------------------------------------


def test_providers_assume_the_preview_roles_while_previewing(run_sample: ProgramRunner) -> None:
    # run_sample runs as a preview (pulumi.runtime.is_dry_run() is true)
    providers = run_sample().of_type("pulumi:providers:aws")
    assumed = {json.loads(p.inputs["assumeRoles"])[0]["roleArn"] for p in providers}
    assert assumed == set(stack_config().raw_settings["previewAccounts"].values())


def test_preview_accounts_must_name_every_account() -> None:
    raw = dict(stack_config().raw_settings)
    raw["previewAccounts"] = {ACCOUNT: f"arn:aws:iam::{ACCOUNT}:role/dbaccess-preview"}
    with pytest.raises(ValueError, match="missing 210987654321"):
        Settings.model_validate(raw)


# --- the command's door: a wrong account, a directory that is not the program ------------


def test_an_account_the_stack_does_not_use_is_refused_with_the_stacks_accounts() -> None:
    result = iam_policy("deploy", account="999999999999")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--account 999999999999 is not an account of stack prod" in result.stderr
    assert "123456789012, 210987654321" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_role_account_the_stack_does_not_use_is_refused() -> None:
    result = iam_policy("deploy", "--role-account", "999999999999")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--role-account 999999999999 is not an account of stack prod" in result.stderr
    assert "Traceback" not in result.stderr
    result = iam_policy("preview", "--role-account", "21098765432")
    assert result.returncode == 2
    assert "--role-account '21098765432' is not a 12-digit account id" in result.stderr


def test_a_document_too_large_for_iam_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    # GIVEN a stack with 100 RDS instances in the stack's own account
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "__main__.py"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "components", tmp_path / "components")
    (tmp_path / "access.yaml").write_text(
        "version: 1\ndatabases:\n"
        + "".join(
            f'  db{i:03d}:\n    engine: postgres\n    account: "{ACCOUNT}"\n'
            f"    region: eu-west-1\n    instance: service-database-{i:03d}\n"
            f"    host: db{i:03d}.example.com\n    port: 5432\n    database: app\n"
            "    admin_login: dbaccess_admin\n"
            for i in range(100)
        )
    )
    # WHEN the operator asks for the stack account's deploy policy
    result = iam_policy("deploy", cwd=tmp_path)
    # THEN they are told it does not fit and what to do, and nothing is printed
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"the deploy policy of account {ACCOUNT}'s role would be " in result.stderr
    assert "IAM allows 10240" in result.stderr
    assert "serve some of them from a second stack" in result.stderr
    assert "Traceback" not in result.stderr
    # while the other account's role, which has none of them, gets its document
    assert iam_policy("deploy", "--role-account", STAGING, cwd=tmp_path).returncode == 0


def test_a_directory_without_the_program_is_refused_without_a_traceback(tmp_path: Path) -> None:
    # GIVEN the stack's files but no __main__.py (say, an installed dbaccess run outside the
    # checkout, with the settings copied beside access.yaml)
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "access.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    # WHEN the operator asks for a policy there
    result = iam_policy("deploy", cwd=tmp_path)
    # THEN they are told where the program is missing and what to do, and nothing is printed
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{tmp_path / '__main__.py'} does not exist" in result.stderr
    assert "--program-dir" in result.stderr
    assert "Traceback" not in result.stderr
