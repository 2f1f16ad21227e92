"""The stack-wide guardrail on dated grants, against what the program really declares."""

from __future__ import annotations

import json

import pytest

from policy import dbaccess_policies as pack
from tests.program.conftest import Program, ProgramRunner

HUGO_PROD_POLICY = "hugo.henley@example.com-123456789012-policy"
OLIVIA_PROD_POLICY = "olivia.chen@example.com-123456789012-policy"


def stack(program: Program, edit: dict[str, dict] | None = None) -> list[tuple[str, dict]]:
    edit = edit or {}
    return [(r.type, edit.get(r.name, r.inputs)) for r in program.resources]


def edited_policy(program: Program, name: str, change) -> dict[str, dict]:
    inputs = dict(program.named(name).inputs)
    document = json.loads(inputs["policy"])
    change(document["Statement"])
    return {name: {**inputs, "policy": json.dumps(document)}}


def test_the_program_passes(run_sample: ProgramRunner) -> None:
    assert pack.dated_grants_end_in_iam(stack(run_sample())) == []


@pytest.mark.parametrize("name", [HUGO_PROD_POLICY, OLIVIA_PROD_POLICY])
def test_a_dated_login_without_its_condition_violates(run_sample: ProgramRunner, name: str) -> None:
    program = run_sample()

    def drop_conditions(statements: list[dict]) -> None:
        for s in statements:
            s.get("Condition", {}).pop("DateLessThan", None)

    violations = pack.dated_grants_end_in_iam(
        stack(program, edited_policy(program, name, drop_conditions))
    )
    assert violations
    assert all("of a dated grant without DateLessThan" in v for v in violations)


def test_a_condition_ending_after_the_grant_violates(run_sample: ProgramRunner) -> None:
    program = run_sample()

    def one_day_late(statements: list[dict]) -> None:
        for s in statements:
            if "DateLessThan" in s.get("Condition", {}):
                s["Condition"]["DateLessThan"] = {"aws:TokenIssueTime": "2027-01-02T00:00:00Z"}

    [violation] = pack.dated_grants_end_in_iam(
        stack(program, edited_policy(program, HUGO_PROD_POLICY, one_day_late))
    )
    assert "hhenley_rw" in violation
    assert "2027-01-01T00:00:00Z" in violation


def test_a_dated_login_merged_into_an_undated_statement_violates(run_sample: ProgramRunner) -> None:
    program = run_sample()

    def merge(statements: list[dict]) -> None:
        undated, dated = statements[0], statements[1]
        undated["Resource"] = [*undated["Resource"], dated["Resource"]]
        del statements[1]

    [violation] = pack.dated_grants_end_in_iam(
        stack(program, edited_policy(program, HUGO_PROD_POLICY, merge))
    )
    assert "NOREPORdsDbConnect " in violation


def test_every_role_of_the_program_previews_with_its_boundary(run_sample: ProgramRunner) -> None:
    # A preview (run_sample is one): the services' boundary comes from a lookup, known then.
    roles = [(t, p) for t, p in stack(run_sample()) if t == pack.ROLE]
    assert len(roles) > 10
    assert [m for t, p in roles for m in pack.role_has_boundary(t, p)] == []
