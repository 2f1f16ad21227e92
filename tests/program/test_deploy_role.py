"""The deploy role cannot make itself more than the program needs.

GIVEN the sample program and the prod stack, and the deploy policy and permissions boundary
`dbaccess iam-policy` derives for each account's role from what the program registers,
WHEN the calls the program's resources need, and the escalations an insider holding a deploy
role would try, are evaluated with the repository's IAM evaluator,
THEN every needed call is allowed by the document of the resource's account (and by no other
account's), every escalation is refused by every document, the roles' own policies stay inside
their account's boundary, and every document fits IAM's size limits, for the sample and for a
large estate.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from dbaccess.access import load_access_file
from dbaccess.audit.activity import log_group
from dbaccess.cli.iam_policy import ProgramDeclarations, declared_by_program, policies_of
from dbaccess.iam.deploy import AUDIT_LOG_GROUPS_NAMED, RULES, Declared
from dbaccess.iam.documents import (
    INLINE_POLICY_MAX,
    MANAGED_POLICY_MAX,
    STACK_TAG,
    boundary_arn,
    compact_size,
)
from tests.access_mysql import CA, with_mysql
from tests.program.conftest import ROOT
from tests.unit.iam.iam_evaluator import allowed

PROD, STAGING = "123456789012", "210987654321"
ACCOUNTS = (PROD, STAGING)
STACK, REGION = "prod", "eu-west-1"
BOUNDARY = boundary_arn(PROD)
OUR_KEY_TAG = {f"aws:ResourceTag/{STACK_TAG}": STACK}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SOME_KEY = f"arn:aws:kms:{REGION}:{PROD}:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"


@pytest.fixture(scope="module")
def program() -> ProgramDeclarations:
    return declared_by_program(ROOT, STACK, PROD)


Documents = dict[str, dict[str, dict[str, Any]]]  # account -> role -> policy


@pytest.fixture(scope="module")
def documents(program: ProgramDeclarations) -> Documents:
    return policies_of(program, STACK, REGION, PROD)


@pytest.fixture(scope="module")
def deploy(documents: Documents) -> dict[str, Any]:
    """The stack account's: the CI role's."""
    return documents[PROD]["deploy"]


def other(account: str) -> str:
    (elsewhere,) = set(ACCOUNTS) - {account}
    return elsewhere


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
    program: ProgramDeclarations, documents: Documents
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
        assert role.inputs["permissionsBoundary"] == boundary_arn(role.account), role
        context = with_boundary(role.inputs["permissionsBoundary"])
        mine, theirs = documents[role.account]["deploy"], documents[other(role.account)]["deploy"]
        for action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary", *RULES[role.type].write):
            assert allowed(mine, action, [role_arn(role)], context), (action, role.name)
            assert not allowed(theirs, action, [role_arn(role)], context), (action, role.name)


def test_every_role_policy_may_be_written_on_its_bounded_role(
    program: ProgramDeclarations, documents: Documents
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
        mine, theirs = documents[role.account]["deploy"], documents[other(role.account)]["deploy"]
        for action in ("iam:PutRolePolicy", "iam:DeleteRolePolicy"):
            assert allowed(mine, action, [role_arn(role)], context), policy.name
            assert not allowed(theirs, action, [role_arn(role)], context), policy.name


# The ARN AWS gives each of the stack's own resources, from its physical name.
STACK_RESOURCE_ARNS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{name}",
    "aws:s3/bucketObjectv2:BucketObjectv2": "arn:aws:s3:::{bucket}/{key}",
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:lambda/layerVersion:LayerVersion": "arn:aws:lambda:{region}:{account}:layer:{layerName}:3",
    "aws:scheduler/schedule:Schedule": (
        "arn:aws:scheduler:{region}:{account}:schedule/default/{name}"
    ),
}


def test_the_stacks_own_resources_are_managed_by_the_stack_accounts_role_only(
    program: ProgramDeclarations, documents: Documents
) -> None:
    checked = set()
    for d in program.declared:
        if d.type not in STACK_RESOURCE_ARNS:
            continue
        assert d.account == PROD, d.name
        names = {"name": d.inputs.get("name") or f"{d.name}-1a2b3c4", **d.inputs}
        arn = STACK_RESOURCE_ARNS[d.type].format(region=REGION, account=d.account, **names)
        rule = RULES[d.type]
        for action in (*rule.write, *rule.read):
            assert allowed(documents[PROD]["deploy"], action, [arn]), (d.name, action)
            assert not allowed(documents[STAGING]["deploy"], action, [arn]), (d.name, action)
        for action in rule.read:
            assert allowed(documents[PROD]["preview"], action, [arn]), (d.name, action)
            assert not allowed(documents[STAGING]["preview"], action, [arn]), (d.name, action)
        checked.add(d.type)
    assert checked == set(STACK_RESOURCE_ARNS)


def test_each_admin_login_is_allowed_to_its_databases_accounts_role_only(
    program: ProgramDeclarations, documents: Documents
) -> None:
    providers = of_type(program, "pulumi:providers:postgresql")
    # The role that signs the admin's IAM token is the database's account's.
    signers = {p.inputs["awsRdsIamProviderRoleArn"].split(":")[4] for p in providers}
    assert signers == set(ACCOUNTS)
    for provider in providers:
        account = provider.inputs["awsRdsIamProviderRoleArn"].split(":")[4]
        region, login = provider.inputs["awsRdsIamRegion"], provider.inputs["username"]
        arn = f"arn:aws:rds-db:{region}:{account}:dbuser:db-ABCDEFGHIJ/{login}"
        assert allowed(documents[account]["deploy"], "rds-db:connect", [arn])
        assert not allowed(documents[other(account)]["deploy"], "rds-db:connect", [arn])
        assert not allowed(documents[account]["preview"], "rds-db:connect", [arn])
    # The CI role (the stack account's) may assume each account's role, and only it may.
    for role in program.settings.accounts.values():
        assert allowed(documents[PROD]["deploy"], "sts:AssumeRole", [role])
        assert not allowed(documents[STAGING]["deploy"], "sts:AssumeRole", [role])


def test_the_issuer_key_carries_the_stack_tag_and_may_be_created_and_managed(
    program: ProgramDeclarations, documents: Documents
) -> None:
    (key,) = of_type(program, "aws:kms/key:Key")
    assert key.account == PROD
    deploy, staging = documents[PROD]["deploy"], documents[STAGING]["deploy"]
    tags = key.inputs["tags"]
    assert tags == {STACK_TAG: STACK}
    # The first `pulumi up` creates the key with its tag (tagging on create is TagResource).
    assert allowed(deploy, "kms:CreateKey", ["*"], tagging(tags))
    assert allowed(deploy, "kms:TagResource", [SOME_KEY], tagging(tags))
    rule = RULES[key.type]
    for action in (*rule.write, *rule.read):
        assert allowed(deploy, action, [SOME_KEY], OUR_KEY_TAG), action
    # The staging account's role makes no key.
    assert not allowed(staging, "kms:CreateKey", ["*"], tagging(tags))
    staging_key = SOME_KEY.replace(PROD, STAGING)
    assert not allowed(staging, "kms:PutKeyPolicy", [staging_key], OUR_KEY_TAG)


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
    documents: Documents,
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
        assert allowed(documents[db.account]["deploy"], action, [group]), (db.key, action)
        assert not allowed(documents[other(db.account)]["deploy"], action, [group]), db.key
        elsewhere = f"arn:aws:rds:{db.region}:999999999999:{kind}:dbaccess-tls"
        assert not allowed(documents[db.account]["deploy"], action, [elsewhere])


def test_activity_may_read_each_servers_audit_log_group_and_no_other(
    documents: Documents,
) -> None:
    # GIVEN the sample's RDS databases, WHEN `dbaccess activity` reads (as the deploy role)
    # the log group each server exports its audit log to, THEN the call is allowed there,
    # in the database's account only, and on none of the server's other logs
    plan = load_access_file(ROOT / "access.yaml")
    rds = [db for db in plan.databases.values() if db.uses_rds_iam]
    assert rds
    for db in rds:
        arn = f"arn:aws:logs:{db.region}:{db.account}:log-group:{log_group(db)}:*"
        mine, theirs = documents[db.account]["deploy"], documents[other(db.account)]["deploy"]
        assert allowed(mine, "logs:FilterLogEvents", [arn]), db.key
        assert not allowed(theirs, "logs:FilterLogEvents", [arn]), db.key
        error_log = arn.replace("/postgresql:*", "/error:*").replace("/audit:*", "/error:*")
        assert not allowed(mine, "logs:FilterLogEvents", [error_log]), db.key
        assert not allowed(documents[db.account]["preview"], "logs:FilterLogEvents", [arn])


def test_notify_may_read_the_bot_token_and_no_other_secret(
    program: ProgramDeclarations, documents: Documents
) -> None:
    # `dbaccess notify --stack` runs as the deploy role after `pulumi up`
    settings = program.settings
    assert settings.slackBotTokenSecretArn is not None
    assert allowed(
        documents[PROD]["deploy"],
        "secretsmanager:GetSecretValue",
        [settings.slackBotTokenSecretArn],
    )
    others = [
        arn for arn in settings.service_secret_arns() if arn != settings.slackBotTokenSecretArn
    ]
    others.append(f"arn:aws:secretsmanager:{REGION}:{PROD}:secret:prod/payments-db-password-AbCdEf")
    for account, roles in documents.items():
        for arn in others:
            assert not allowed(roles["deploy"], "secretsmanager:GetSecretValue", [arn]), arn
        if account != PROD:
            assert not allowed(
                roles["deploy"], "secretsmanager:GetSecretValue", [settings.slackBotTokenSecretArn]
            )


def test_the_roles_own_policies_stay_inside_the_boundary(
    program: ProgramDeclarations, documents: Documents
) -> None:
    """Every call any role policy the program writes allows, the boundary of the role's
    account allows too: the boundary takes nothing from the services or the people."""
    checked = 0
    for written in of_type(program, "aws:iam/rolePolicy:RolePolicy"):
        boundary = documents[written.account]["boundary"]
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


def escalations(account: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """What an insider would try with the deploy role of `account`, in that account."""
    new_role = f"arn:aws:iam::{account}:role/dbaccess/dbaccess-backdoor"
    old_role = f"arn:aws:iam::{account}:role/dbaccess/dbaccess-made-before-boundaries"
    boundary = boundary_arn(account)
    some_key = SOME_KEY.replace(PROD, account)
    return {
        "create a role without a boundary": ("iam:CreateRole", new_role, {}),
        "create a role with another boundary": ("iam:CreateRole", new_role, with_boundary(ADMIN)),
        "create a role with the boundary of another account": (
            "iam:CreateRole",
            f"arn:aws:iam::{account}:role/dbaccess/x",
            with_boundary("arn:aws:iam::999999999999:policy/dbaccess/dbaccess-boundary"),
        ),
        "create a bounded role outside db-access's paths": (
            "iam:CreateRole",
            f"arn:aws:iam::{account}:role/Admin2",
            with_boundary(boundary),
        ),
        "write Action:* on a role without the boundary": ("iam:PutRolePolicy", old_role, {}),
        "attach AdministratorAccess to a bounded role": (
            "iam:AttachRolePolicy",
            new_role,
            with_boundary(boundary),
        ),
        "swap a role's boundary for another": (
            "iam:PutRolePermissionsBoundary",
            new_role,
            with_boundary(ADMIN),
        ),
        "delete a role's boundary": (
            "iam:DeleteRolePermissionsBoundary",
            new_role,
            with_boundary(boundary),
        ),
        "widen the boundary with a new version": ("iam:CreatePolicyVersion", boundary, {}),
        "make an old version the boundary": ("iam:SetDefaultPolicyVersion", boundary, {}),
        "delete the boundary policy": ("iam:DeletePolicy", boundary, {}),
        "edit another key's policy": ("kms:PutKeyPolicy", some_key, {}),
        "edit the policy of another stack's key": (
            "kms:PutKeyPolicy",
            some_key,
            {f"aws:ResourceTag/{STACK_TAG}": "staging"},
        ),
        "schedule another key's deletion": ("kms:ScheduleKeyDeletion", some_key, {}),
        "take the stack tag off our key": (
            "kms:UntagResource",
            some_key,
            {**OUR_KEY_TAG, "aws:TagKeys": [STACK_TAG]},
        ),
        "create a key without the tag": ("kms:CreateKey", "*", {}),
        "create a key tagged for another stack": (
            "kms:CreateKey",
            "*",
            tagging({STACK_TAG: "staging"}),
        ),
        "create a key with tags beyond the stack's": (
            "kms:CreateKey",
            "*",
            tagging({STACK_TAG: STACK, "owner": "me"}),
        ),
        "assume any role": (
            "sts:AssumeRole",
            f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            {},
        ),
    }


# Every document, with the other account's boundary too: a role of one account can only
# carry its own account's boundary.
ATTEMPTS = [(account, attempt) for account in ACCOUNTS for attempt in escalations(account)]


@pytest.mark.parametrize(("account", "attempt"), ATTEMPTS, ids=[f"{a}: {t}" for a, t in ATTEMPTS])
def test_every_deploy_role_refuses(documents: Documents, account: str, attempt: str) -> None:
    action, resource, context = escalations(account)[attempt]
    assert not allowed(documents[account]["deploy"], action, [resource], context)
    # Nor may it do so with the other account's boundary, nor in the other account.
    if "iam:PermissionsBoundary" in context:
        theirs = with_boundary(boundary_arn(other(account)))
        assert not allowed(documents[account]["deploy"], action, [resource], theirs)
    elsewhere = resource.replace(account, other(account))
    assert not allowed(documents[account]["deploy"], action, [elsewhere], context)


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


@pytest.mark.parametrize("account", ACCOUNTS)
@pytest.mark.parametrize("attempt", BEYOND_THE_BOUNDARY, ids=list(BEYOND_THE_BOUNDARY))
def test_a_bounded_role_cannot(documents: Documents, account: str, attempt: str) -> None:
    action, resource = BEYOND_THE_BOUNDARY[attempt]
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert allowed(everything, action, [resource])
    assert not allowed(documents[account]["boundary"], action, [resource], {})


def assert_every_document_fits(documents: Documents) -> None:
    for account, of_account in documents.items():
        for role, document in of_account.items():
            limit = MANAGED_POLICY_MAX if role == "boundary" else INLINE_POLICY_MAX
            assert compact_size(document) <= limit, (account, role)


def test_every_document_fits_iam(documents: Documents) -> None:
    assert set(documents) == set(ACCOUNTS)
    assert_every_document_fits(documents)


# --- a large estate: one account per environment, 40 RDS databases in each ----------------

DEV = "333333333333"


def large_estate(project: Path, *, clusters: bool) -> ProgramDeclarations:
    """A copy of the project whose stack has three accounts with 40 RDS databases each
    (every fourth an Aurora cluster, or none), and one person with a grant in each."""
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "components", project / "components")
    accounts = (PROD, STAGING, DEV)
    databases = "".join(
        f"""
  service{i:02d}-{account}:
    engine: {"aurora-postgresql" if clusters and i % 4 == 3 else "postgres"}
    account: "{account}"
    region: {REGION}
    {"cluster" if clusters and i % 4 == 3 else "instance"}: service{i:02d}-{account}
    host: service{i:02d}.c9akciq32.{REGION}.rds.amazonaws.com
    port: 5432
    database: app
    admin_login: dbaccess_admin
"""
        for account in accounts
        for i in range(40)
    )
    grants = "".join(f"      - {{database: service00-{a}, access: read-only}}\n" for a in accounts)
    (project / "access.yaml").write_text(
        f"version: 1\ndatabases:{databases}people:\n  ana.silva@example.com:\n    grants:\n{grants}"
    )
    stack = (ROOT / "Pulumi.prod.yaml").read_text()
    for role in ("deploy", "preview"):
        line = f'    "{STAGING}": arn:aws:iam::{STAGING}:role/dbaccess-{role}\n'
        assert line in stack
        stack = stack.replace(line, line + line.replace(STAGING, DEV))
    (project / "Pulumi.prod.yaml").write_text(stack)
    return declared_by_program(project, STACK, PROD)


@pytest.mark.parametrize("clusters", [True, False], ids=["with clusters", "instances only"])
def test_a_large_estate_fits_each_accounts_role(tmp_path: Path, clusters: bool) -> None:
    # GIVEN three accounts with 40 RDS databases each (one document for all would be ~15,800)
    estate = large_estate(tmp_path, clusters=clusters)
    # WHEN each account's documents are derived
    documents = policies_of(estate, STACK, REGION, PROD)
    # THEN each fits, and each database is looked up with its own account's role only
    assert set(documents) == {PROD, STAGING, DEV}
    assert_every_document_fits(documents)
    lookups = [lookup for lookup in estate.lookups if lookup.token.startswith("aws:rds/")]
    assert len(lookups) == 120
    assert len(lookups) // 3 > AUDIT_LOG_GROUPS_NAMED
    for lookup in lookups:
        kind, name, action = (
            ("cluster", lookup.args["clusterIdentifier"], "rds:DescribeDBClusters")
            if "clusterIdentifier" in lookup.args
            else ("db", lookup.args["dbInstanceIdentifier"], "rds:DescribeDBInstances")
        )
        arn = f"arn:aws:rds:{REGION}:{lookup.account}:{kind}:{name}"
        for account, of_account in documents.items():
            for role in ("deploy", "preview"):
                assert allowed(of_account[role], action, [arn]) == (account == lookup.account)
        # More servers than AUDIT_LOG_GROUPS_NAMED: activity reads their audit logs by pattern.
        server = "cluster" if kind == "cluster" else "instance"
        logs = f"arn:aws:logs:{REGION}:{lookup.account}:log-group:/aws/rds/{server}/{name}"
        mine = documents[lookup.account]["deploy"]
        assert allowed(mine, "logs:FilterLogEvents", [f"{logs}/postgresql:*"])
        assert not allowed(mine, "logs:FilterLogEvents", [f"{logs}/error:*"])


def test_doctor_may_read_option_groups_only_where_rds_mysql_instances_are(
    tmp_path: Path, documents: Documents
) -> None:
    # An RDS MySQL instance loads its audit plugin (query_audit) through its option group;
    # the sample has none, so no account reads option groups.
    for of_account in documents.values():
        assert "rds:DescribeOptionGroups" not in json.dumps(of_account["deploy"])
    # GIVEN the sample plus an RDS MySQL instance (shop-prod) in the stack account
    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "components", project / "components")
    (project / "access.yaml").write_text(with_mysql())
    stack = (ROOT / "Pulumi.prod.yaml").read_text()
    (project / "Pulumi.prod.yaml").write_text(stack + f"  dbaccess:rdsCaBundle: {CA}\n")
    mysql = policies_of(declared_by_program(project, STACK, PROD), STACK, REGION, PROD)
    group = f"arn:aws:rds:{REGION}:{PROD}:og:shop-mysql80"
    assert allowed(mysql[PROD]["deploy"], "rds:DescribeOptionGroups", [group])
    assert not allowed(mysql[PROD]["preview"], "rds:DescribeOptionGroups", [group])
    elsewhere = f"arn:aws:rds:{REGION}:999999999999:og:shop-mysql80"
    assert not allowed(mysql[PROD]["deploy"], "rds:DescribeOptionGroups", [elsewhere])
    # the ledger cluster (Aurora MySQL) in the other account uses a cluster parameter group
    assert "rds:DescribeOptionGroups" not in json.dumps(mysql[STAGING]["deploy"])
