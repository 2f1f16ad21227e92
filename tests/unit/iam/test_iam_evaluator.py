"""The IAM evaluator decides as IAM documents it, where our security tests lean on it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.iam.iam_evaluator import allowed

ROLE = "arn:aws:iam::123456789012:role/dbaccess/dbaccess-ana"
BOUNDARY = "arn:aws:iam::123456789012:policy/dbaccess/dbaccess-boundary"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str, **condition: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


def test_wildcards_match_across_slashes_and_actions_ignore_case() -> None:
    document = policy(allow("iam:createrole", "arn:aws:iam::123456789012:role/dbaccess/*"))
    assert allowed(document, "iam:CreateRole", [ROLE])
    assert allowed(document, "iam:CreateRole", [f"{ROLE}/deeper"])
    assert not allowed(document, "iam:CreateRole", ["arn:aws:iam::123456789012:role/Admin"])


def test_an_explicit_deny_wins_over_an_allow() -> None:
    document = policy(
        allow("iam:*", "*"),
        {"Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"},
    )
    assert allowed(document, "iam:CreateRole", [ROLE])
    assert not allowed(document, "iam:DeleteRolePermissionsBoundary", [ROLE])


@pytest.mark.parametrize(
    ("context", "positive", "negated"),
    [
        ({"iam:PermissionsBoundary": BOUNDARY}, True, False),
        ({"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}, False, True),
        ({}, False, True),  # a missing key: positive operators false, negated ones true
    ],
)
def test_arn_operators_and_their_negation(
    context: dict[str, str], positive: bool, negated: bool
) -> None:
    equals = policy(allow("iam:CreateRole", "*", ArnEquals={"iam:PermissionsBoundary": BOUNDARY}))
    not_like = policy(
        allow(
            "iam:CreateRole",
            "*",
            ArnNotLike={"iam:PermissionsBoundary": "arn:aws:iam::*:policy/dbaccess/*"},
        )
    )
    assert allowed(equals, "iam:CreateRole", [ROLE], context) is positive
    assert allowed(not_like, "iam:CreateRole", [ROLE], context) is negated


def test_for_all_values_holds_for_no_values_so_it_needs_a_companion() -> None:
    only_ours = {"ForAllValues:StringEquals": {"aws:TagKeys": ["dbaccess:stack"]}}
    document = policy(allow("kms:CreateKey", "*", **only_ours))
    assert allowed(document, "kms:CreateKey", ["*"], {})
    assert allowed(document, "kms:CreateKey", ["*"], {"aws:TagKeys": ["dbaccess:stack"]})
    assert not allowed(document, "kms:CreateKey", ["*"], {"aws:TagKeys": ["dbaccess:stack", "x"]})
