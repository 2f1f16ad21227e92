#!/usr/bin/env bash
# deploy.yml's first job: may this push skip `make test`? Prints `access-only=true` (for
# $GITHUB_OUTPUT) when access.yaml is the only file that differs between this commit and the
# last commit this workflow deployed successfully, whose code passed the full suite before
# its deploy (or was itself that same code). Otherwise -- another file changed, no deploy has
# succeeded yet, history was rewritten, GitHub or git failed -- `access-only=false`: the full
# suite runs. The comparison is git's, of two commits on main; the last successful deploy is
# GitHub's record of this workflow's own runs. Nothing a pull request writes (title, branch
# name, labels, commit messages) is read.
#
# Why not the push's own before..after: a deploy that failed or was cancelled (a newer push
# replaces a pending one in the concurrency group) leaves code that was never tested between
# the last deploy and `before`.
#
# Needs: GITHUB_REPOSITORY, GITHUB_SHA, GH_TOKEN (actions: read), a full clone (fetch-depth: 0).
set -uo pipefail

workflow="${DEPLOY_WORKFLOW:-deploy.yml}"
access_file="${ACCESS_FILE:-access.yaml}"

decide() {
    echo "access-only=$1"
    echo "deploy scope: $2" >&2
    exit 0
}

runs="repos/${GITHUB_REPOSITORY}/actions/workflows/${workflow}/runs"
last=$(gh api "${runs}?branch=main&event=push&status=success&per_page=1" \
    --jq '.workflow_runs[0].head_sha // empty') ||
    decide false "could not read the last successful deploy: running the full suite"
[[ "$last" =~ ^[0-9a-f]{40}$ ]] || decide false "no successful deploy yet: running the full suite"
git merge-base --is-ancestor "$last" "$GITHUB_SHA" 2>/dev/null ||
    decide false "$last is not an ancestor of $GITHUB_SHA: running the full suite"
# --no-renames: a file renamed to access.yaml lists its old path too.
changed=$(git diff --no-renames --name-only "$last" "$GITHUB_SHA") ||
    decide false "git diff failed: running the full suite"
if [[ -z "$changed" || "$changed" == "$access_file" ]]; then
    decide true "only $access_file changed since ${last:0:7}: validation and pulumi up only"
fi
decide false "changed since ${last:0:7}: $(head -5 <<<"$changed" | tr '\n' ' ')-> the full suite"
