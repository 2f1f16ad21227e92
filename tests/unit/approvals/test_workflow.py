"""The owner-approval workflows: the check decides whether a pull request may merge, so no code
or workflow of the pull request may run in it or reach its key (docs/how-to/owner-approval.md).
actionlint checks their syntax with the others (test_workflows.py)."""

from __future__ import annotations

import re

from tests.unit.test_workflows import WORKFLOWS, load, steps, uses

CHECK, SIGNAL = "approvals.yml", "approvals-review.yml"


def test_the_check_runs_from_the_base_branch_on_pushes_and_after_each_review() -> None:
    workflow, signal = load(CHECK), load(SIGNAL)
    # pull_request_target: this file and the checked-out code come from the base branch.
    assert workflow["on"] == {
        "pull_request_target": {"types": ["opened", "synchronize", "reopened", "edited"]},
        "workflow_run": {"workflows": [signal["name"]], "types": ["completed"]},
    }
    assert signal["on"] == {"pull_request_review": {"types": ["submitted", "dismissed"]}}


def test_no_code_of_the_pull_request_is_checked_out_or_run() -> None:
    workflow = load(CHECK)
    checkout = uses(workflow, "actions/checkout")
    # The default ref of both events is the base branch; any `ref:` could name the head.
    assert checkout["with"] == {"persist-credentials": False}
    text = (WORKFLOWS / CHECK).read_text()
    assert "head_ref" not in text
    assert not re.search(r"pull_request\.head|workflow_run\.head_(sha|branch)", text)
    [check] = [s for s in steps(workflow) if "dbaccess approvals" in s.get("run", "")]
    assert check["run"].startswith('dbaccess approvals --pr "$PR" --set-status ')
    assert check["shell"] == "bash"  # -o pipefail: the check's exit code, not tee's
    assert check["env"]["GITHUB_TOKEN"] == "${{ steps.app.outputs.token }}"


def test_the_check_has_read_permissions_the_app_key_and_nothing_of_the_deploy() -> None:
    workflow = load(CHECK)
    assert workflow["permissions"] == {"contents": "read"}
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"  # never the deploy runner
    assert job["environment"] == "approvals"  # its key: deployment branch main only
    app = uses(workflow, "actions/create-github-app-token")
    assert app["id"] == "app"
    assert app["with"] == {
        "app-id": "${{ vars.DBACCESS_APPROVALS_APP_ID }}",
        "private-key": "${{ secrets.DBACCESS_APPROVALS_APP_PRIVATE_KEY }}",
        "permission-contents": "read",
        "permission-pull-requests": "read",
        "permission-members": "read",
        "permission-statuses": "write",
    }
    text = (WORKFLOWS / CHECK).read_text()
    assert re.findall(r"secrets\.\w+", text) == ["secrets.DBACCESS_APPROVALS_APP_PRIVATE_KEY"]
    for deploy_power in ("id-token", "aws-actions", "PULUMI"):
        assert deploy_power not in text
    assert uses(workflow, "actions/setup-python")["with"] == {"python-version": "3.11"}  # no cache
    for step in steps(workflow):
        if "uses" in step:
            assert step["uses"].split("@")[1].startswith("v"), step["uses"]


def test_the_review_signal_runs_nothing_and_holds_nothing() -> None:
    # It runs in the pull request's context: a pull request may rewrite it, so it must matter
    # only as a trigger.
    signal = load(SIGNAL)
    assert signal["permissions"] == {}
    assert [s.get("uses") for s in steps(signal)] == [None]
    text = (WORKFLOWS / SIGNAL).read_text()
    assert "secrets." not in text
    assert "vars." not in text
