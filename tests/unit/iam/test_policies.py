"""The policy pack's checks on a passing and a violating resource each, without the engine.

Passing inputs come from the program's own pure functions where there is one (the
database-access policy, catalog.json), so the pack is checked against what we deploy.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest

from dbaccess import catalog
from dbaccess.access import load_access_file
from dbaccess.iam import documents, people
from policy import dbaccess_policies as pack

ROOT = Path(__file__).resolve().parents[3]
PLAN = load_access_file(ROOT / "access.yaml", today=dt.date(2026, 11, 23))
ACCOUNT = "123456789012"


def database_access_document() -> dict[str, Any]:
    grants = [
        (PLAN.databases[g.database], g)
        for g in PLAN.people["olivia.chen@example.com"].grants
        + PLAN.people["hugo.henley@example.com"].grants
    ]
    ids = {key: f"db-{key.upper()}" for key in PLAN.databases}
    return people.database_access_policy(grants, ids, "arn:aws:s3:::catalog/people/x.json")


def person_role(**changes: Any) -> dict[str, Any]:
    props = {
        "name": "dbaccess-hhenley",
        "path": "/dbaccess/",
        "maxSessionDuration": 3600,
        "tags": {
            "consoleme-authorized": "hugo.henley@example.com",
            "dbaccess:owner": "hugo.henley@example.com",
            "managed-by": "db-access",
        },
    }
    return {**props, **changes}


# --- no wildcard database resources ------------------------------------------------------


@pytest.mark.parametrize("resource_type", [pack.ROLE_POLICY, pack.MANAGED_POLICY])
def test_named_database_resources_pass(resource_type: str) -> None:
    props = {"policy": json.dumps(database_access_document())}
    assert pack.no_wildcard_database_resources(resource_type, props) == []


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("rds-db:connect", "*"),
        ("rds-db:connect", f"arn:aws:rds-db:eu-west-1:{ACCOUNT}:dbuser:db-ABC/*"),
        ("redshift:GetClusterCredentials", f"arn:aws:redshift:eu-west-1:{ACCOUNT}:dbuser:dwh/*"),
        ("*", "*"),
    ],
)
def test_a_database_action_on_a_wildcard_resource_violates(action: str, resource: str) -> None:
    document = documents.document([documents.statement("NOREPOWide", [action], [resource])])
    [message] = pack.no_wildcard_database_resources(
        pack.ROLE_POLICY, {"policy": json.dumps(document)}
    )
    assert "NOREPOWide" in message
    assert "wildcard resource" in message


def test_wildcards_in_a_role_inline_policy_violate_and_other_services_do_not() -> None:
    wide = documents.document([documents.statement("Db", ["redshift:JoinGroup"], ["*"])])
    s3 = documents.document([documents.statement("Logs", ["s3:GetObject"], ["*"])])
    props = person_role(inlinePolicies=[{"name": "wide", "policy": json.dumps(wide)}])
    assert len(pack.no_wildcard_database_resources(pack.ROLE, props)) == 1
    props = person_role(inlinePolicies=[{"name": "logs", "policy": json.dumps(s3)}])
    assert pack.no_wildcard_database_resources(pack.ROLE, props) == []


# --- person roles ------------------------------------------------------------------------


def test_a_person_role_as_the_program_builds_it_passes() -> None:
    assert pack.person_role_shape(pack.ROLE, person_role()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tags": {"dbaccess:owner": "hugo.henley@example.com"}}, "lacks the ConsoleMe tag"),
        ({"path": "/"}, "not '/dbaccess/'"),
        ({"maxSessionDuration": 43200}, "43200 seconds"),
    ],
)
def test_a_person_role_without_tag_path_or_short_sessions_violates(
    changes: dict[str, Any], expected: str
) -> None:
    [message] = pack.person_role_shape(pack.ROLE, person_role(**changes))
    assert expected in message


def test_the_consoleme_tag_key_comes_from_the_pack_config() -> None:
    tags = {"ConsoleMe": "hugo.henley@example.com", "dbaccess:owner": "hugo.henley@example.com"}
    assert pack.person_role_shape(pack.ROLE, person_role(tags=tags), "ConsoleMe") == []
    assert pack.person_role_shape(pack.ROLE, person_role(tags=tags)) != []


def test_roles_that_are_not_person_roles_are_not_checked() -> None:
    assert pack.person_role_shape(pack.ROLE, {"name": "issuer-role-1a2b3c", "path": "/"}) == []


@pytest.mark.parametrize(
    "boundary",
    [
        None,
        "arn:aws:iam::aws:policy/AdministratorAccess",
        f"arn:aws:iam::{ACCOUNT}:policy/dbaccess/dbaccess-boundary-wide",
    ],
)
def test_a_role_without_the_dbaccess_boundary_violates(boundary: str | None) -> None:
    [message] = pack.role_has_boundary(pack.ROLE, person_role(permissionsBoundary=boundary))
    assert "every db-access role must carry" in message
    bounded = f"arn:aws:iam::{ACCOUNT}:policy/dbaccess/dbaccess-boundary"
    assert pack.role_has_boundary(pack.ROLE, person_role(permissionsBoundary=bounded)) == []


# --- request table, issuer, bot ---------------------------------------------------------


TABLE = {
    "serverSideEncryption": {
        "enabled": True,
        "kmsKeyArn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1",
    },
    "pointInTimeRecovery": {"enabled": True},
}


def test_a_kms_encrypted_recoverable_table_passes() -> None:
    assert pack.request_table_protected(pack.TABLE, TABLE) == []


def test_a_table_with_the_aws_owned_key_and_no_recovery_violates_twice() -> None:
    props = {"serverSideEncryption": {"enabled": True}}
    messages = pack.request_table_protected(pack.TABLE, props)
    assert [("KMS key" in m, "point-in-time" in m) for m in messages] == [
        (True, False),
        (False, True),
    ]


def test_a_permission_for_the_dynamodb_service_passes() -> None:
    props = {"principal": "dynamodb.amazonaws.com", "function": "issuer", "statementId": "s"}
    assert pack.issuer_not_public(pack.LAMBDA_PERMISSION, props) == []


def test_a_public_permission_or_a_function_url_violates() -> None:
    public = {"principal": "*", "function": "issuer", "statementId": "anyone"}
    assert "lets anyone invoke issuer" in pack.issuer_not_public(pack.LAMBDA_PERMISSION, public)[0]
    url = {"functionName": "issuer", "authorizationType": "AWS_IAM"}
    assert "remove the FunctionUrl" in pack.issuer_not_public(pack.FUNCTION_URL, url)[0]


def deployment(container_context: dict[str, Any], pod_context: dict[str, Any]) -> dict[str, Any]:
    return {
        "spec": {
            "template": {
                "spec": {
                    "securityContext": pod_context,
                    "containers": [{"name": "bot", "securityContext": container_context}],
                }
            }
        }
    }


def test_a_non_root_read_only_bot_passes() -> None:
    props = deployment({"readOnlyRootFilesystem": True}, {"runAsNonRoot": True, "runAsUser": 10001})
    assert pack.bot_runs_locked_down(pack.DEPLOYMENT, props) == []


def test_a_root_bot_with_a_writable_filesystem_violates_twice() -> None:
    props = deployment({"runAsUser": 0}, {"runAsNonRoot": True})
    messages = pack.bot_runs_locked_down(pack.DEPLOYMENT, props)
    assert ["may run as root" in m for m in messages] == [True, False]
    assert "writable root filesystem" in messages[1]


# --- production read-write in catalog.json ----------------------------------------------


def catalog_object(document: dict[str, Any]) -> dict[str, Any]:
    return {"key": catalog.CATALOG_KEY, "content": catalog.to_json(document)}


def test_the_sample_catalog_passes() -> None:
    document = catalog.build_catalog(PLAN, {}, {})
    assert pack.production_write_is_temporary(pack.BUCKET_OBJECT, catalog_object(document)) == []


def test_production_read_write_without_until_and_reason_violates() -> None:
    document = copy.deepcopy(catalog.build_catalog(PLAN, {}, {}))
    [grant] = [
        g
        for g in document["people"]["hugo.henley@example.com"]["grants"]
        if (g["database"], g["access"]) == ("orders", "read-write")
    ]
    grant.update(until=None, reason=None)
    assert pack.production_write_is_temporary(pack.BUCKET_OBJECT, catalog_object(document)) == [
        "hugo.henley@example.com has read-write on production database orders without until "
        "and reason; add them in access.yaml"
    ]


def test_person_objects_are_not_the_catalog() -> None:
    props = {"key": "people/x@example.com.json", "content": "not json"}
    assert pack.production_write_is_temporary(pack.BUCKET_OBJECT, props) == []


# --- the pack itself --------------------------------------------------------------------


def test_the_pack_wires_every_check_as_a_mandatory_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    packs: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: packs.append(kwargs))
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    [kwargs] = packs
    assert kwargs["enforcement_level"] is pulumi_policy.EnforcementLevel.MANDATORY
    by_name = {p.name: p for p in kwargs["policies"]}
    assert sorted(by_name) == [
        "bot-runs-locked-down",
        "dated-grants-end-in-iam",
        "issuer-not-public",
        "no-wildcard-database-resources",
        "person-policy-names-every-resource",
        "person-role-shape",
        "production-write-is-temporary",
        "request-table-protected",
        "role-has-boundary",
    ]
    reported: list[str] = []
    args = pulumi_policy.ResourceValidationArgs(
        pack.ROLE,
        person_role(path="/"),
        "urn",
        "role",
        None,
        None,
        {"consolemeTagKey": "consoleme-authorized"},
    )
    by_name["person-role-shape"].validate(args, lambda message, urn: reported.append(message))
    assert len(reported) == 1
    assert "not '/dbaccess/'" in reported[0]


# --- names that IAM reads as patterns -----------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        f"arn:aws:rds-db:eu-west-1:{ACCOUNT}:dbuser:db-ABC/a?c_ro",
        f"arn:aws:redshift:eu-west-1:{ACCOUNT}:dbgroup:dwh/analysts_r?",
    ],
)
def test_a_question_mark_in_a_database_resource_violates(resource: str) -> None:
    action = "rds-db:connect" if ":rds-db:" in resource else "redshift:JoinGroup"
    document = documents.document([documents.statement("NOREPOOne", [action], [resource])])
    assert len(pack.no_wildcard_database_resources(pack.ROLE_POLICY, {"policy": document})) == 1


@pytest.mark.parametrize("wildcard", ["*", "?"])
def test_a_wildcard_in_any_resource_of_a_person_policy_violates(wildcard: str) -> None:
    document = database_access_document()
    document["Statement"][-1]["Resource"] = f"arn:aws:s3:::catalog/people/{wildcard}@x.com.json"
    props = {"name": pack.PERSON_POLICY_NAME, "policy": json.dumps(document)}
    [message] = pack.person_policy_names_every_resource(pack.ROLE_POLICY, props)
    assert "NOREPOCatalogRead" in message
    assert (
        pack.person_policy_names_every_resource(
            pack.ROLE_POLICY,
            {"name": pack.PERSON_POLICY_NAME, "policy": database_access_document()},
        )
        == []
    )
