"""Who holds what in every workflow file (docs/reference/deployment.md).

GIVEN every .github/workflows/*.yml, THEN:
- a job that runs code a pull request controls can reach no secret but GITHUB_TOKEN, no AWS
  role, no OIDC token, no environment and not the deploy runner;
- a job with deploy power (pulumi up, sweep, audit, the deploy or audit role, the Pulumi deploy
  token) runs in a protected environment on the deploy runner, from no pull-request trigger;
- every job that can reach a secret or an AWS role does so through an environment, whose
  branch rule keeps it from workflows pushed on other branches.
The checks read the files generally, so a new workflow (approvals.yml, …) is held to them too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.unit.test_workflows import WORKFLOWS

DEPLOY_RUNNER = "${{ vars.DBACCESS_DEPLOY_RUNNER }}"
# Environments with a deployment-branch rule (main only) and, for production, reviewers.
PROTECTED = {"production", "audit"}
# The pull request's code and workflow file run: the merge commit is checked out by default.
RUNS_PR_CODE = {"pull_request", "pull_request_review", "pull_request_review_comment"}
# The base branch's workflow file runs, with secrets; PR code only if a step fetches it to run.
BASE_CONTEXT = {"pull_request_target", "workflow_run", "issue_comment"}
PR_REF = re.compile(
    r"github\.event\.(pull_request\.head|pull_request\.merge|workflow_run\.head)"
    r"|github\.head_ref|refs/pull/"
)
CHECKS_OUT = re.compile(
    r"\bgit\s+(checkout|switch|reset|worktree|merge|pull|rebase)\b|gh pr checkout"
)
DEPLOY_SECRETS = {"PULUMI_ACCESS_TOKEN"}
DEPLOY_ROLES = {"AWS_DEPLOY_ROLE_ARN", "AWS_AUDIT_ROLE_ARN"}
DEPLOY_COMMANDS = re.compile(
    r"\bpulumi\s+(up|destroy|refresh|import)\b|\bdbaccess\s+(sweep|audit)\b"
)

Workflow = dict[Any, Any]


def triggers(workflow: Workflow) -> set[str]:
    on = workflow.get("on") or {}
    return {on} if isinstance(on, str) else set(on)


def text(*parts: Any) -> str:
    return json.dumps(parts, default=str)


def runs_pr_code(workflow: Workflow, job: dict[str, Any]) -> bool:
    on = triggers(workflow)
    if on & RUNS_PR_CODE:
        return True
    if not on & BASE_CONTEXT:
        return False
    for step in job.get("steps", []):
        if step.get("uses", "").startswith("actions/checkout@") and PR_REF.search(
            text(step.get("with", {}))
        ):
            return True
        if CHECKS_OUT.search(step.get("run", "")):
            return True
    return False


def secrets_of(workflow: Workflow, job: dict[str, Any]) -> set[str]:
    found = set(re.findall(r"secrets\.([A-Za-z0-9_]+)", text(workflow.get("env"), job)))
    if job.get("secrets") == "inherit":
        found.add("(inherit)")
    return found - {"GITHUB_TOKEN"}


def role_vars(job: dict[str, Any]) -> set[str]:
    return set(re.findall(r"vars\.(AWS_[A-Z0-9_]*ROLE_ARN)", text(job)))


def permissions(workflow: Workflow, job: dict[str, Any]) -> dict[str, str]:
    granted = job.get("permissions", workflow.get("permissions", "write-all"))
    if isinstance(granted, str):  # read-all / write-all
        return {"*": granted.split("-")[0]}
    return {str(k): str(v) for k, v in granted.items()}


def has_deploy_power(job: dict[str, Any]) -> bool:
    pulumi_up = any(
        step.get("uses", "").startswith("pulumi/actions@")
        and step.get("with", {}).get("command") != "preview"
        for step in job.get("steps", [])
    )
    runs = " ".join(step.get("run", "") for step in job.get("steps", []))
    return bool(
        pulumi_up
        or DEPLOY_COMMANDS.search(runs)
        or role_vars(job) & DEPLOY_ROLES
        or secrets_of({}, job) & DEPLOY_SECRETS
    )


def uses_cache(job: dict[str, Any]) -> bool:
    """actions/cache, or a setup-* action's built-in `cache:`."""
    return any(
        step.get("uses", "").startswith("actions/cache")
        or (step.get("uses", "").startswith("actions/setup-") and "cache" in step.get("with", {}))
        for step in job.get("steps", [])
    )


def trust_problems(name: str, workflow: Workflow) -> list[str]:
    """What is wrong with who holds what in one workflow file."""
    problems = []
    for job_id, job in workflow.get("jobs", {}).items():
        where = f"{name} job {job_id}"
        runner = str(job.get("runs-on"))
        if runs_pr_code(workflow, job):
            if secrets_of(workflow, job):
                problems.append(f"{where} runs PR code with {sorted(secrets_of(workflow, job))}")
            if role_vars(job):
                problems.append(f"{where} runs PR code with the AWS role {sorted(role_vars(job))}")
            granted = permissions(workflow, job)
            if granted.get("id-token") == "write" or granted.get("*") == "write":
                problems.append(f"{where} runs PR code with an OIDC token (id-token: write)")
            if "environment" in job:
                problems.append(f"{where} runs PR code in environment {job['environment']!r}")
            if "DBACCESS_DEPLOY_RUNNER" in runner or "self-hosted" in runner:
                problems.append(f"{where} runs PR code on the deploy runner ({runner})")
        if triggers(workflow) & BASE_CONTEXT and uses_cache(job):
            # Runs in the base branch's cache scope: whatever it restores, a deploy may reuse,
            # and whatever it saves, deploy restores (cache poisoning).
            problems.append(f"{where} uses a cache in the base branch's scope")
        if has_deploy_power(job):
            if triggers(workflow) & (RUNS_PR_CODE | BASE_CONTEXT):
                problems.append(f"{where} has deploy power on {sorted(triggers(workflow))}")
            if job.get("environment") not in PROTECTED:
                problems.append(f"{where} has deploy power outside {sorted(PROTECTED)}")
            if job.get("runs-on") != DEPLOY_RUNNER:
                problems.append(f"{where} has deploy power off the deploy runner ({runner})")
        elif "DBACCESS_DEPLOY_RUNNER" in runner:
            problems.append(f"{where} is not a deploy or audit job but uses the deploy runner")
        if (secrets_of(workflow, job) or role_vars(job)) and "environment" not in job:
            problems.append(
                f"{where} reaches {sorted(secrets_of(workflow, job) | role_vars(job))} "
                "outside an environment (a repository secret is readable from any branch)"
            )
    return problems


def load(path: Path) -> Workflow:
    return YAML(typ="safe").load(path.read_text())


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.y*ml")), ids=lambda p: p.name)
def test_no_pull_request_job_can_reach_deploy_power(path: Path) -> None:
    assert trust_problems(path.name, load(path)) == []


def test_deploy_and_audit_run_protected_on_the_deploy_runner() -> None:
    deploy_jobs = {
        path.name: job
        for path in WORKFLOWS.glob("*.y*ml")
        for job in load(path)["jobs"].values()
        if has_deploy_power(job)
    }
    assert set(deploy_jobs) == {"deploy.yml", "audit.yml"}
    assert {job["environment"] for job in deploy_jobs.values()} == PROTECTED
    assert {job["runs-on"] for job in deploy_jobs.values()} == {DEPLOY_RUNNER}


# The preview.yml of before issue 23: PR code on the deploy runner with the Pulumi token.
BEFORE = """
on:
  pull_request:
    paths: [access.yaml]
permissions:
  id-token: write
  contents: read
  pull-requests: write
jobs:
  preview:
    runs-on: ${{ vars.DBACCESS_RUNNER }}
    steps:
      - uses: actions/checkout@v4
      - run: make test
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ vars.AWS_PREVIEW_ROLE_ARN }}
          aws-region: ${{ vars.AWS_REGION }}
      - uses: pulumi/actions@v6
        with:
          command: preview
          stack-name: prod
        env:
          PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}
"""


def test_the_old_preview_workflow_is_caught() -> None:
    # Its runner variable, DBACCESS_RUNNER, was the deploy runner's: named as such today.
    workflow = YAML(typ="safe").load(BEFORE.replace("DBACCESS_RUNNER", "DBACCESS_DEPLOY_RUNNER"))
    assert trust_problems("preview.yml", workflow) == [
        "preview.yml job preview runs PR code with ['PULUMI_ACCESS_TOKEN']",
        "preview.yml job preview runs PR code with the AWS role ['AWS_PREVIEW_ROLE_ARN']",
        "preview.yml job preview runs PR code with an OIDC token (id-token: write)",
        "preview.yml job preview runs PR code on the deploy runner "
        "(${{ vars.DBACCESS_DEPLOY_RUNNER }})",
        "preview.yml job preview has deploy power on ['pull_request']",
        "preview.yml job preview has deploy power outside ['audit', 'production']",
        "preview.yml job preview reaches ['AWS_PREVIEW_ROLE_ARN', 'PULUMI_ACCESS_TOKEN'] "
        "outside an environment (a repository secret is readable from any branch)",
    ]


@pytest.mark.parametrize(
    ("change", "caught"),
    [
        # pull_request_target that checks out the PR's head runs its code, with secrets.
        (
            {"on": {"pull_request_target": {}}, "ref": "${{ github.event.pull_request.head.sha }}"},
            "runs PR code with ['PULUMI_PREVIEW_TOKEN']",
        ),
        # ... and so does one that switches to it by hand.
        (
            {"on": {"pull_request_target": {}}, "run": 'git checkout "$HEAD_SHA"'},
            "runs PR code with ['PULUMI_PREVIEW_TOKEN']",
        ),
        ({"on": {"pull_request_target": {}}, "environment": None}, "outside an environment"),
        # ... and one that shares a cache with the deploy.
        ({"on": {"pull_request_target": {}}, "cache": "pip"}, "uses a cache"),
    ],
)
def test_a_trusted_workflow_that_runs_the_pr_code_is_caught(
    change: dict[str, Any], caught: str
) -> None:
    workflow = load(WORKFLOWS / "preview-cloud.yml")
    assert trust_problems("preview-cloud.yml", workflow) == []
    workflow["on"] = change["on"]
    [job] = workflow["jobs"].values()
    if "ref" in change:
        job["steps"][0]["with"]["ref"] = change["ref"]
    if "run" in change:
        job["steps"].insert(1, {"run": change["run"]})
    if "environment" in change:
        del job["environment"]
    if "cache" in change:
        setup = next(step for step in job["steps"] if "setup-python" in step.get("uses", ""))
        setup["with"]["cache"] = change["cache"]
    assert any(caught in problem for problem in trust_problems("preview-cloud.yml", workflow))
