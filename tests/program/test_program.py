"""The whole program under Pulumi's mocks: GIVEN the sample access file and the prod settings."""

from __future__ import annotations

import json
from pathlib import Path

import parliament
import pulumi
import pytest

from dbaccess.access import InvalidInput
from dbaccess.cli.preview_engine import validate_stack
from tests.program.conftest import ROOT, TODAY, Program, ProgramRunner, stack_config

GOLDEN = Path(__file__).parent / "golden"
HUGO = "hugo.henley@example.com"
PRIYA = "priya.raman@example.com"
PROD, STAGING = "123456789012", "210987654321"
ORDERS_SERVER = f"postgres-orders-prod-{PROD}-eu-west-1"
INVENTORY_SERVER = f"postgres-inventory-prod-{PROD}-eu-west-1"
SAMPLE = (ROOT / "access.yaml").read_text()


def bucket_of(program: Program) -> str:
    return program.run.outputs["catalog"].removeprefix("s3://").split("/")[0]


def statements(program: Program, name: str) -> list[dict]:
    return json.loads(program.named(name).inputs["policy"])["Statement"]


def comparable(inputs: object) -> object:
    """Inputs with archives as their paths (Pulumi's Archive objects compare by identity)."""
    if isinstance(inputs, pulumi.FileArchive):
        return ("FileArchive", inputs.path)
    if isinstance(inputs, dict):
        return {k: comparable(v) for k, v in inputs.items()}
    if isinstance(inputs, list):
        return [comparable(v) for v in inputs]
    return inputs


def iam_policies(program: Program) -> dict[str, str]:
    """Identity and resource policies (trust policies are checked exactly, elsewhere)."""
    found = {r.name: r.inputs["policy"] for r in program.of_type("aws:iam/rolePolicy:RolePolicy")}
    found |= {
        r.name: r.inputs["policy"] for r in program.of_type("aws:s3/bucketPolicy:BucketPolicy")
    }
    return found


def test_the_sample_registers_exactly_the_expected_resources(run_sample: ProgramRunner) -> None:
    program = run_sample()
    got = sorted(f"{r.type} {r.name}" for r in program.resources)
    assert got == (GOLDEN / "sample_resources.txt").read_text().splitlines()


def test_person_role_name_path_tags_and_trust(run_sample: ProgramRunner) -> None:
    program = run_sample()
    role = program.named(f"{HUGO}-{PROD}-role")
    assert role.inputs["name"] == "dbaccess-hhenley"
    assert role.inputs["path"] == "/dbaccess/"
    assert role.inputs["maxSessionDuration"] == 3600
    assert role.inputs["tags"] == {
        "consoleme-authorized": HUGO,
        "dbaccess:owner": HUGO,
        "managed-by": "db-access",
    }
    sso = (
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
        "AWSReservedSSO_DatabaseUsers_3f2a1b0c9d8e7f6a"
    )
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsoleMe",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/ConsoleMeInstanceProfile"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:RoleSessionName": HUGO}},
            },
            {
                "Sid": "PersonThroughExtraPrincipal",
                "Effect": "Allow",
                "Principal": {"AWS": sso},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {
                    "StringEquals": {"sts:SourceIdentity": HUGO},
                    "StringLike": {"aws:userid": f"*:{HUGO}"},
                },
            },
            {
                "Sid": "CredentialIssuer",
                "Effect": "Allow",
                "Principal": {"AWS": program.run.outputs["issuerRoleArn"]},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {"StringEquals": {"sts:SourceIdentity": HUGO}},
            },
        ],
    }


def test_the_issuer_role_is_trusted_with_source_identity(run_sample: ProgramRunner) -> None:
    program = run_sample()
    # The credential issuer's own role: auto-named, in the stack's default account.
    issuer = program.run.outputs["issuerRoleArn"]
    assert issuer.startswith("arn:aws:iam::000000000000:role/dbaccess-service/issuer-role-")
    trust = json.loads(program.named(f"{HUGO}-{PROD}-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][-1] == {
        "Sid": "CredentialIssuer",
        "Effect": "Allow",
        "Principal": {"AWS": issuer},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": {"StringEquals": {"sts:SourceIdentity": HUGO}},
    }


def test_postgres_statements_use_the_looked_up_resource_ids(run_sample: ProgramRunner) -> None:
    program = run_sample()
    assert statements(program, f"{HUGO}-{PROD}-policy") == [
        {
            "Sid": "NOREPORdsDbConnect",
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": [
                "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-INVENTORYPROD/hhenley_ro",
                "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ORDERSPROD/hhenley_ro",
            ],
        },
        {
            # until: 2026-12-31 is the last day: AWS stops it at the start of the next one.
            "Sid": "NOREPORdsDbConnectUntil20261231",
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ORDERSPROD/hhenley_rw",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2027-01-01T00:00:00Z"}},
        },
        {
            "Sid": "NOREPOCatalogRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket_of(program)}/people/{HUGO}.json",
        },
    ]
    # Aurora uses the cluster resource id, in the staging account's own role.
    assert statements(program, f"{HUGO}-{STAGING}-policy")[0]["Resource"] == (
        "arn:aws:rds-db:eu-central-1:210987654321:dbuser:cluster-PAYMENTSSTAGING/hhenley_rw"
    )


def test_redshift_statements(run_sample: ProgramRunner) -> None:
    program = run_sample()
    prefix = "arn:aws:redshift:eu-west-1:123456789012"
    assert statements(program, f"{PRIYA}-{PROD}-policy")[1:4] == [
        {
            # Held to its own database: a login of another database never pairs with it.
            "Sid": "NOREPORedshiftCredentialsAnalytics",
            "Effect": "Allow",
            "Action": "redshift:GetClusterCredentials",
            "Resource": [
                f"{prefix}:dbgroup:analytics-dwh/analysts_ro",
                f"{prefix}:dbname:analytics-dwh/analytics",
                f"{prefix}:dbuser:analytics-dwh/priyaraman_ro",
            ],
            "Condition": {"StringEquals": {"redshift:DbName": "analytics"}},
        },
        {
            "Sid": "NOREPORedshiftCreateUser",
            "Effect": "Allow",
            "Action": "redshift:CreateClusterUser",
            "Resource": f"{prefix}:dbuser:analytics-dwh/priyaraman_ro",
        },
        {
            "Sid": "NOREPORedshiftJoinGroup",
            "Effect": "Allow",
            "Action": "redshift:JoinGroup",
            "Resource": f"{prefix}:dbgroup:analytics-dwh/analysts_ro",
        },
    ]


def test_dated_redshift_grants_end_on_aws_current_time(run_sample: ProgramRunner) -> None:
    program = run_sample()
    dated = [
        s
        for s in statements(program, f"olivia.chen@example.com-{PROD}-policy")
        if "oliviachen_rw" in json.dumps(s["Resource"]) or "analysts_rw" in json.dumps(s)
    ]
    assert {s["Sid"] for s in dated} == {
        "NOREPORedshiftCredentialsAnalyticsUntil20261215",
        "NOREPORedshiftCreateUserUntil20261215",
        "NOREPORedshiftJoinGroupUntil20261215",
    }
    for s in dated:
        assert s["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2026-12-16T00:00:00Z"}


def test_every_generated_policy_passes_parliament_and_names_its_resources(
    run_sample: ProgramRunner,
) -> None:
    program = run_sample()
    documents = iam_policies(program)
    # person roles, catalog bucket, issuer, Slack bot, reaper (own, scheduler, 2 usage readers)
    assert len(documents) == 13 + 1 + 1 + 1 + 4
    for name, text in documents.items():
        # Default auditors. The community ones also flag CREDENTIALS_EXPOSURE for
        # redshift:GetClusterCredentials: issuing credentials is this policy's purpose.
        findings = parliament.analyze_policy_string(text).findings
        assert [f.issue for f in findings] == [], name
        for statement in json.loads(text)["Statement"]:
            # The issuer's and the reaper's few unavoidable wildcards are checked exactly in
            # test_issuer_component.py and test_grant_reaper.py.
            exact = name == "issuer-policy" or name.startswith("reaper-")
            if statement["Effect"] == "Allow" and not exact:
                resources = json.dumps(statement["Resource"])
                assert resources.count("*") == resources.count("/people/*"), name


def test_logins_and_group_roles_in_each_postgres_database(run_sample: ProgramRunner) -> None:
    program = run_sample()
    login = program.named(f"{ORDERS_SERVER}-{HUGO}-rw")
    assert login.inputs["name"] == "hhenley_rw"
    assert login.inputs["login"] is True
    assert login.inputs["roles"] == ["rds_iam", "dbaccess_managed", "dbaccess_orders_rw"]
    assert login.inputs["connectionLimit"] == 10
    assert login.inputs["skipReassignOwned"] is True
    provider = program.named(f"{ORDERS_SERVER}-provider")
    assert provider.inputs["awsRdsIamAuth"] == "true"
    assert provider.inputs["superuser"] == "false"
    assert provider.inputs["sslmode"] == "require"
    assert provider.inputs["username"] == "dbaccess_admin"
    assert "password" not in provider.inputs
    table = program.named(f"{ORDERS_SERVER}-orders-read-write-billing-table")
    assert table.inputs["privileges"] == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    connect = program.named(f"{ORDERS_SERVER}-orders-read-write-database")
    assert (connect.inputs["role"], connect.inputs["privileges"]) == (
        "dbaccess_orders_rw",
        ["CONNECT"],
    )
    defaults = program.named(f"{ORDERS_SERVER}-orders-read-only-public-orders_app-table")
    assert (defaults.inputs["owner"], defaults.inputs["privileges"]) == ("orders_app", ["SELECT"])


def test_a_group_grant_reaches_every_member(run_sample: ProgramRunner) -> None:
    program = run_sample()
    members = ["ana.silva@example.com", "kenji.watanabe@example.com", "lea.dubois@example.com"]
    for email, login in zip(members, ["anasilva_ro", "kwatanabe_ro", "leadubois_ro"], strict=True):
        assert any(
            login in json.dumps(s["Resource"]) and s["Sid"] == "NOREPORedshiftCreateUser"
            for s in statements(program, f"{email}-{PROD}-policy")
        )


def test_an_expired_grant_yields_no_login_and_no_statement(run_sample: ProgramRunner) -> None:
    program = run_sample()
    names = {r.name for r in program.resources}
    assert f"{INVENTORY_SERVER}-tomas.novak@example.com-ro" not in names
    assert f"tomas.novak@example.com-{PROD}-role" not in names  # inventory was his only prod db
    # On 2027-01-01 Hugo's time-bound read-write on orders has expired too.
    later = run_sample(today=TODAY.replace(year=2027, month=1, day=1))
    assert f"{ORDERS_SERVER}-{HUGO}-rw" not in {r.name for r in later.resources}
    assert "hhenley_rw" not in json.dumps(statements(later, f"{HUGO}-{PROD}-policy"))


def test_removing_one_grant_changes_only_that_persons_resources(
    tmp_path: Path, run_sample: ProgramRunner
) -> None:
    before = run_sample()
    edited = tmp_path / "access.yaml"
    hugo_rw = '      - {database: orders, access: read-write, until: 2026-12-31, reason: "INC-1234 backfill"}\n'
    assert hugo_rw in SAMPLE
    edited.write_text(SAMPLE.replace(hugo_rw, ""))
    after = run_sample(stack_config(edited))
    old = {r.name: r for r in before.resources}
    new = {r.name: r for r in after.resources}
    # The login goes, and with it its pgaudit settings (orders declares query_audit).
    assert set(old) - set(new) == {f"{ORDERS_SERVER}-{HUGO}-rw", f"{ORDERS_SERVER}-{HUGO}-rw-audit"}
    assert set(new) - set(old) == set()
    changed = {
        n for n in old.keys() & new.keys() if comparable(old[n].inputs) != comparable(new[n].inputs)
    }
    assert changed == {
        f"{HUGO}-{PROD}-policy",
        "catalog-catalog.json",
        f"catalog-people/{HUGO}.json",
    }


def test_a_person_over_the_policy_size_limit_fails_with_their_name(tmp_path: Path) -> None:
    databases = "".join(
        f"""
  db{i:02d}:
    engine: postgres
    account: "123456789012"
    region: eu-west-1
    instance: db{i:02d}-prod
    host: db{i:02d}.example.com
    port: 5432
    database: app
    admin_login: dbaccess_admin
"""
        for i in range(70)
    )
    grants = "".join(
        f"      - {{database: db{i:02d}, access: read-only}}\n      - {{database: db{i:02d}, access: read-write}}\n"
        for i in range(70)
    )
    access = tmp_path / "access.yaml"
    access.write_text(
        f"version: 1\ndatabases:{databases}people:\n  big.user@example.com:\n    grants:\n{grants}"
    )
    config = stack_config(access)
    with pytest.raises(InvalidInput) as caught:
        validate_stack(ROOT, config, TODAY)
    (problem,) = caught.value.problems
    assert problem.line == access.read_text().splitlines().index("  big.user@example.com:") + 1
    assert problem.message.startswith(
        "big.user@example.com: the database-access policy for account 123456789012 would be "
    )
    assert problem.message.endswith("characters for 140 grants; IAM allows 10240")


def test_a_database_in_an_account_without_a_deploy_role_is_an_error(tmp_path: Path) -> None:
    access = tmp_path / "access.yaml"
    access.write_text(SAMPLE.replace('"210987654321"          # staging', '"555555555555"'))
    with pytest.raises(InvalidInput) as caught:
        validate_stack(ROOT, stack_config(access), TODAY)
    assert [str(p).splitlines()[0] for p in caught.value.problems] == [
        "Pulumi.prod.yaml:9:3: database 'payments-staging' is in account 555555555555, "
        "which is not in dbaccess:accounts"
    ]


def test_unused_days_in_the_access_file_and_the_stack_must_agree(tmp_path: Path) -> None:
    access = tmp_path / "access.yaml"
    access.write_text(SAMPLE.replace("unused_after_days: 90", "unused_after_days: 60"))
    with pytest.raises(InvalidInput) as caught:
        validate_stack(ROOT, stack_config(access), TODAY)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("Pulumi.prod.yaml", 13)
    assert problem.message == (
        f"{access} says unused_after_days: 60 but dbaccess:expiry.unusedDays is 90"
    )
