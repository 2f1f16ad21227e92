"""A CLI-only pilot (Pulumi.pilot.yaml): GIVEN a stack without the optional services' settings,
WHEN the program runs under mocks, THEN it deploys people's roles, database users, policies and
the catalog only; and WHEN the services' settings are added (Pulumi.prod.yaml), THEN every
resource of the pilot is still there with the same URN and inputs: a pure addition, except
the person roles' trust policy, which gains the issuer's role (an in-place update)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from dbaccess.stack.file import load_stack_config
from tests.program.conftest import ROOT, Program, ProgramRunner

# What Pulumi.prod.yaml sets beyond the pilot: the services and their knobs.
SERVICE_SETTINGS = {
    "privatebinUrl",
    "pasteExpire",
    "slackBotTokenSecretArn",
    "network",
    "auditRetentionDays",
    "issuerReservedConcurrency",
    "accessContact",
    "bot",
    "slackAppTokenSecretArn",
}
# Types a CLI-only pilot deploys, and nothing else.
PILOT_TYPES = {
    "pulumi:pulumi:Stack",
    "pulumi:providers:aws",
    "pulumi:providers:postgresql",
    "dbaccess:iam:DatabaseUserRole",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "dbaccess:catalog:AccessCatalog",
    "dbaccess:postgres:PostgresUsers",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
}


def by_urn(program: Program) -> dict[str, Any]:
    """Resources by URN, named as if in one stack (the pilot grows into the full stack)."""
    return {
        r.urn.replace("urn:pulumi:pilot::", "urn:pulumi:prod::").replace("-pilot", "-prod"): r
        for r in program.resources
    }


def test_the_pilot_stack_is_the_prod_stack_without_the_services() -> None:
    pilot = load_stack_config(ROOT, "pilot").raw_settings
    prod = load_stack_config(ROOT, "prod").raw_settings
    assert set(prod) - set(pilot) == SERVICE_SETTINGS
    assert {key: prod[key] for key in pilot} == pilot


def test_a_pilot_deploys_roles_users_policies_and_the_catalog_only(
    run_sample: ProgramRunner,
) -> None:
    pilot = run_sample(load_stack_config(ROOT, "pilot"))
    types = {r.type for r in pilot.resources}
    # roles and grants; the pgaudit settings of the logins on orders (query_audit)
    assert {t.split(":")[0] for t in types - PILOT_TYPES} == {"postgresql", "pulumi-python"}
    assert not [t for t in types if "lambda" in t or "dynamodb" in t or "kubernetes" in t]
    assert set(pilot.run.outputs) == {"roleArns", "catalog", "counts"}
    role = pilot.named("hugo.henley@example.com-123456789012-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Sid"] for s in trust["Statement"]] == ["ConsoleMe", "PersonThroughExtraPrincipal"]


def test_adding_the_issuer_and_the_bot_later_replaces_and_changes_nothing_else(
    run_sample: ProgramRunner,
) -> None:
    before = by_urn(run_sample(load_stack_config(ROOT, "pilot")))
    after = by_urn(run_sample(load_stack_config(ROOT, "prod")))
    # Same URN (type, parent chain, name) for every pilot resource: none deleted or re-created.
    assert set(before) <= set(after)
    changed = {
        (after[urn].name, key)
        for urn, resource in before.items()
        for key in set(resource.inputs) | set(after[urn].inputs)
        if resource.inputs.get(key) != after[urn].inputs.get(key)
    }
    # Only the person roles' trust policy: IAM updates it in place (UpdateAssumeRolePolicy).
    roles = {r.name for r in before.values() if r.type == "aws:iam/role:Role"}
    assert changed == {(name, "assumeRolePolicy") for name in roles}
    for urn, resource in before.items():
        if resource.name in roles:
            old = json.loads(resource.inputs["assumeRolePolicy"])["Statement"]
            new = json.loads(after[urn].inputs["assumeRolePolicy"])["Statement"]
            assert new[: len(old)] == old
            assert [s["Sid"] for s in new[len(old) :]] == ["CredentialIssuer"]
    added = {after[urn].type for urn in set(after) - set(before)}
    assert "aws:lambda/function:Function" in added
    assert "kubernetes:apps/v1:Deployment" in added


def test_make_preview_of_the_pilot_says_nothing_else_is_planned_and_how_to_turn_it_on() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dbaccess", "preview", "--stack", "pilot", "--date", "2026-11-23"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Previewing update (pilot)" in result.stdout
    assert "Lambda" not in result.stdout
    assert "kubernetes" not in result.stdout
    assert (
        "credential issuer + grant reaper (Slack DMs with PrivateBin links): off (turned on by "
        "dbaccess:privatebinUrl, dbaccess:slackBotTokenSecretArn, dbaccess:network)"
    ) in result.stdout
    assert "Slack bot: off (turned on by dbaccess:bot" in result.stdout
