"""The deploy role cannot make itself more than the program needs.

GIVEN the sample program and the prod stack, and the deploy policy and permissions boundary
`dbaccess iam-policy` derives from what the program registers,
WHEN the calls the program's resources need, and the escalations an insider holding the deploy
role would try, are evaluated with the repository's IAM evaluator,
THEN every needed call is allowed and every escalation is refused, the roles' own policies stay
inside the boundary, and both documents fit IAM's size limits.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dbaccess import policies
from dbaccess.access import load_access_file
from dbaccess.cli.iam_policy import ProgramDeclarations, declared_by_program, policies_of
from dbaccess.deploy_policy import RULES, Declared
from tests.program.conftest import ROOT
from tests.unit.policy.iam_evaluator import allowed

PROD, STAGING = "123456789012", "210987654321"
STACK, REGION = "prod", "eu-west-1"
BOUNDARY = policies.boundary_arn(PROD)
OUR_KEY_TAG = {f"aws:ResourceTag/{policies.STACK_TAG}": STACK}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SOME_KEY = f"arn:aws:kms:{REGION}:{PROD}:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"


@pytest.fixture(scope="module")
def program() -> ProgramDeclarations:
    return declared_by_program(ROOT, STACK, PROD)


@pytest.fixture(scope="module")
def documents(program: ProgramDeclarations) -> dict[str, dict[str, Any]]:
    return policies_of(program, STACK, REGION)


@pytest.fixture(scope="module")
def deploy(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return documents["deploy"]


@pytest.fixture(scope="module")
def boundary(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return documents["boundary"]


def of_type(program: ProgramDeclarations, kind: str) -> list[Declared]:
    return [d for d in program.declared if d.type == kind]


def role_name(role: Declared) -> str:
    """The role's name as AWS gets it: its own, or Pulumi's auto-name."""
    return str(role.inputs.get("name") or f"{role.name}-1a2b3c4")


def role_arn(role: Declared) -> str:
    return f"arn:aws:iam::{role.account}:role{role.inputs.get('path') or '/'}{role_name(role)}"


def with_boundary(arn: str) -> dict[str, str]:
    return {"iam:PermissionsBoundary": arn}


def tagging(tags: dict[str, str]) -> dict[str, Any]:
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": list(tags)}


# --- what the program needs ---------------------------------------------------------------


def test_every_role_the_program_creates_carries_its_accounts_boundary(
    program: ProgramDeclarations, deploy: dict[str, Any]
) -> None:
    roles = of_type(program, "aws:iam/role:Role")
    # People's roles in both accounts, and every service role (issuer, reaper, scheduler,
    # usage readers, the bot's IRSA role).
    assert {r.account for r in roles} == {PROD, STAGING}
    services = {r.name for r in roles if "name" not in r.inputs}
    assert services == {
        "issuer-role",
        "reaper-role",
        "reaper-scheduler-role",
        f"reaper-usage-reader-{PROD}",
        f"reaper-usage-reader-{STAGING}",
        "slack-bot-role",
    }
    for role in roles:
        assert role.inputs["permissionsBoundary"] == policies.boundary_arn(role.account), role
        context = with_boundary(role.inputs["permissionsBoundary"])
        for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", *RULES[role.type].write):
            assert allowed(deploy, action, [role_arn(role)], context), (action, role.name)


def test_every_role_policy_may_be_written_on_its_bounded_role(
    program: ProgramDeclarations, deploy: dict[str, Any]
) -> None:
    roles = of_type(program, "aws:iam/role:Role")
    written = of_type(program, "aws:iam/rolePolicy:RolePolicy")
    assert len(written) == len(roles)
    for policy in written:
        # The role input is the role's id, its name: named, or auto-named from its logical name.
        (role,) = [
            r
            for r in roles
            if r.account == policy.account
            and (
                r.inputs.get("name") == policy.inputs["role"]
                or re.fullmatch(re.escape(r.name) + r"-[0-9a-f]{7}", policy.inputs["role"])
            )
        ]
        context = with_boundary(role.inputs["permissionsBoundary"])
        assert allowed(deploy, "iam:PutRolePolicy", [role_arn(role)], context), policy.name
        assert allowed(deploy, "iam:DeleteRolePolicy", [role_arn(role)], context), policy.name


def test_the_issuer_key_carries_the_stack_tag_and_may_be_created_and_managed(
    program: ProgramDeclarations, deploy: dict[str, Any]
) -> None:
    (key,) = of_type(program, "aws:kms/key:Key")
    tags = key.inputs["tags"]
    assert tags == {policies.STACK_TAG: STACK}
    # The first `pulumi up` creates the key with its tag (tagging on create is TagResource).
    assert allowed(deploy, "kms:CreateKey", ["*"], tagging(tags))
    assert allowed(deploy, "kms:TagResource", [SOME_KEY], tagging(tags))
    rule = RULES[key.type]
    for action in (*rule.write, *rule.read):
        assert allowed(deploy, action, [SOME_KEY], OUR_KEY_TAG), action


def test_the_service_roles_are_passed_only_to_their_services(
    program: ProgramDeclarations, deploy: dict[str, Any]
) -> None:
    (issuer,) = [r for r in of_type(program, "aws:iam/role:Role") if r.name == "issuer-role"]
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert allowed(deploy, "iam:PassRole", [role_arn(issuer)], to_lambda)
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert not allowed(deploy, "iam:PassRole", [role_arn(issuer)], to_ec2)
    admin = f"arn:aws:iam::{PROD}:role/Admin"
    assert not allowed(deploy, "iam:PassRole", [admin], to_lambda)


def test_doctor_may_read_the_parameter_groups_of_each_rds_database(
    deploy: dict[str, Any],
) -> None:
    # GIVEN the sample's RDS databases, WHEN `dbaccess doctor --operator` reads (as the deploy
    # role) whether the server's parameter group enforces TLS, THEN the call is allowed there
    plan = load_access_file(ROOT / "access.yaml")
    rds = [db for db in plan.databases.values() if db.engine != "redshift"]
    assert rds
    for db in rds:
        action, kind = (
            ("rds:DescribeDBClusterParameters", "cluster-pg")
            if db.is_cluster
            else ("rds:DescribeDBParameters", "pg")
        )
        group = f"arn:aws:rds:{db.region}:{db.account}:{kind}:dbaccess-tls"
        assert allowed(deploy, action, [group]), (db.key, action)
        elsewhere = f"arn:aws:rds:{db.region}:999999999999:{kind}:dbaccess-tls"
        assert not allowed(deploy, action, [elsewhere])


def test_the_roles_own_policies_stay_inside_the_boundary(
    program: ProgramDeclarations, boundary: dict[str, Any]
) -> None:
    """Every call any role policy the program writes allows, the boundary allows too: the
    boundary takes nothing from the services or the people."""
    checked = 0
    for written in of_type(program, "aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(written.inputs["policy"])["Statement"]:
            resources = statement["Resource"]
            for action in (
                [statement["Action"]]
                if isinstance(statement["Action"], str)
                else (statement["Action"])
            ):
                for resource in [resources] if isinstance(resources, str) else resources:
                    assert allowed(boundary, action, [resource], OUR_KEY_TAG), (
                        written.name,
                        action,
                        resource,
                    )
                    checked += 1
    assert checked > 100


# --- what an insider with the deploy role would try ----------------------------------------

NEW_ROLE = f"arn:aws:iam::{PROD}:role/dbaccess/dbaccess-backdoor"
OLD_ROLE = f"arn:aws:iam::{PROD}:role/dbaccess/dbaccess-made-before-boundaries"

ESCALATIONS = {
    "create a role without a boundary": ("iam:CreateRole", NEW_ROLE, {}),
    "create a role with another boundary": ("iam:CreateRole", NEW_ROLE, with_boundary(ADMIN)),
    "create a role with the boundary of another account": (
        "iam:CreateRole",
        f"arn:aws:iam::{PROD}:role/dbaccess/x",
        with_boundary("arn:aws:iam::999999999999:policy/dbaccess/dbaccess-boundary"),
    ),
    "create a bounded role outside db-access's paths": (
        "iam:CreateRole",
        f"arn:aws:iam::{PROD}:role/Admin2",
        with_boundary(BOUNDARY),
    ),
    "write Action:* on a role without the boundary": ("iam:PutRolePolicy", OLD_ROLE, {}),
    "attach AdministratorAccess to a bounded role": (
        "iam:AttachRolePolicy",
        NEW_ROLE,
        with_boundary(BOUNDARY),
    ),
    "swap a role's boundary for another": (
        "iam:PutRolePermissionsBoundary",
        NEW_ROLE,
        with_boundary(ADMIN),
    ),
    "delete a role's boundary": (
        "iam:DeleteRolePermissionsBoundary",
        NEW_ROLE,
        with_boundary(BOUNDARY),
    ),
    "widen the boundary with a new version": ("iam:CreatePolicyVersion", BOUNDARY, {}),
    "make an old version the boundary": ("iam:SetDefaultPolicyVersion", BOUNDARY, {}),
    "delete the boundary policy": ("iam:DeletePolicy", BOUNDARY, {}),
    "edit another key's policy": ("kms:PutKeyPolicy", SOME_KEY, {}),
    "edit the policy of another stack's key": (
        "kms:PutKeyPolicy",
        SOME_KEY,
        {f"aws:ResourceTag/{policies.STACK_TAG}": "staging"},
    ),
    "schedule another key's deletion": ("kms:ScheduleKeyDeletion", SOME_KEY, {}),
    "take the stack tag off our key": (
        "kms:UntagResource",
        SOME_KEY,
        {**OUR_KEY_TAG, "aws:TagKeys": [policies.STACK_TAG]},
    ),
    "create a key without the tag": ("kms:CreateKey", "*", {}),
    "create a key tagged for another stack": (
        "kms:CreateKey",
        "*",
        tagging({policies.STACK_TAG: "staging"}),
    ),
    "create a key with tags beyond the stack's": (
        "kms:CreateKey",
        "*",
        tagging({policies.STACK_TAG: STACK, "owner": "me"}),
    ),
    "assume any role": (
        "sts:AssumeRole",
        f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole",
        {},
    ),
}


@pytest.mark.parametrize("attempt", ESCALATIONS, ids=list(ESCALATIONS))
def test_the_deploy_role_refuses(deploy: dict[str, Any], attempt: str) -> None:
    action, resource, context = ESCALATIONS[attempt]
    assert not allowed(deploy, action, [resource], context)


# A role the deploy role creates with the boundary and "Action": "*", then assumes: the
# boundary is all it gets.
BEYOND_THE_BOUNDARY = {
    "create roles": ("iam:CreateRole", f"arn:aws:iam::{PROD}:role/Admin2"),
    "write role policies": ("iam:PutRolePolicy", f"arn:aws:iam::{PROD}:role/Admin"),
    "attach policies": ("iam:AttachRolePolicy", f"arn:aws:iam::{PROD}:role/Admin"),
    "pass roles": ("iam:PassRole", f"arn:aws:iam::{PROD}:role/Admin"),
    "edit the boundary": ("iam:CreatePolicyVersion", BOUNDARY),
    "assume roles outside db-access": ("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/Admin"),
    "edit a key's policy": ("kms:PutKeyPolicy", SOME_KEY),
    "read other buckets": ("s3:GetObject", "arn:aws:s3:::payroll/2026.csv"),
    "read other secrets": (
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:{REGION}:{PROD}:secret:prod/db-root-AbCdEf",
    ),
    "decrypt with other keys": ("kms:Decrypt", SOME_KEY),
}


@pytest.mark.parametrize("attempt", BEYOND_THE_BOUNDARY, ids=list(BEYOND_THE_BOUNDARY))
def test_a_bounded_role_cannot(boundary: dict[str, Any], attempt: str) -> None:
    action, resource = BEYOND_THE_BOUNDARY[attempt]
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert allowed(everything, action, [resource])
    assert not allowed(boundary, action, [resource], {})


def test_both_documents_fit_iam(documents: dict[str, dict[str, Any]]) -> None:
    assert policies.compact_size(documents["deploy"]) <= policies.INLINE_POLICY_MAX
    assert policies.compact_size(documents["boundary"]) <= policies.MANAGED_POLICY_MAX
