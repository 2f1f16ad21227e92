"""`dbaccess approvals`: has an owner of every database the pull request touches approved it?"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from typing import Annotated, NoReturn

import typer

from dbaccess.access import AccessPlan, InvalidInput, load_access_text, today_utc
from dbaccess.cli.common import Format, exit_invalid, require_extra
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.formats import is_repository_name, is_repository_path, parse_api_url

# The bot's setting (dbaccess.bot.access_requests.github_settings.API_URL), named here without
# importing PyGithub, which an engineer's install leaves out.
API_URL = "DBACCESS_GITHUB_API_URL"


class ApprovalsFormat(enum.StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def approvals(
    pr: Annotated[int, typer.Option("--pr", min=1, help="The pull request's number.")],
    repo: Annotated[
        str,
        typer.Option(
            envvar="GITHUB_REPOSITORY", help="owner/name (in Actions: the current repository)."
        ),
    ],
    file: Annotated[
        str, typer.Option(help="The access file's path in the repository.")
    ] = "access.yaml",
    fmt: Annotated[
        ApprovalsFormat,
        typer.Option("--format", help="text for people, markdown for a job summary, json."),
    ] = ApprovalsFormat.text,
    set_status: Annotated[
        bool,
        typer.Option(
            "--set-status",
            help="Also set the commit status dbaccess/approvals on the head commit "
            "(pending first, then success or failure).",
        ),
    ] = False,
    details_url: Annotated[
        str | None, typer.Option(help="The link of the commit status (the workflow run).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="GITHUB_TOKEN",
            help="A GitHub token that may read the repository, its pull requests and team "
            "memberships (and write commit statuses with --set-status).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str,
        typer.Option(envvar=API_URL, help="GitHub's API (GitHub Enterprise Server's /api/v3)."),
    ] = "https://api.github.com",
) -> None:
    """Check that an owner approved the latest commit of a pull request, for every
    database whose access (or settings) it changes.

    An owner is a login in the database's `owners:` on the base branch, or an
    active member of an owning team. Never counted: anyone who gains access
    (by their `github:` login in access.yaml), the pull request's author, the
    requester the bot recorded. A database without owners falls back to the
    repository's rule (branch protection's required reviews), said in the output.

    Both versions of access.yaml are read from GitHub as data; nothing of the
    pull request runs.

    Exit 0 when every database is approved; 1 when one is not, or GitHub failed;
    2 when an access.yaml version is invalid or an option is wrong.

    Example:

        $ GITHUB_TOKEN=... dbaccess approvals --pr 42 --repo example-org/access
    """
    require_extra("github", "bot", "reads pull requests from GitHub and needs PyGithub")
    from dbaccess.approvals import facts, rules
    from dbaccess.clients.github import GitHubError

    if not is_repository_name(repo):
        _fail(f"--repo {repo!r} is not owner/name, e.g. example-org/access")
    if not is_repository_path(file):
        _fail(f"--file {file!r} is not a path in the repository, e.g. access.yaml")
    if not token:
        _fail("no GitHub token: set GITHUB_TOKEN (docs/how-to/owner-approval.md)")
    try:
        parse_api_url(api_url)  # the token goes there
    except ValueError as exc:
        _fail(f"{API_URL}: {exc}")
    gh = facts.connect_with_token(token, api_url.rstrip("/"))
    render = {
        ApprovalsFormat.text: rules.render_text,
        ApprovalsFormat.markdown: rules.render_markdown,
        ApprovalsFormat.json: rules.render_json,
    }[fmt]
    problems = Format.json if fmt is ApprovalsFormat.json else Format.text
    try:
        pull = facts.read_pull(gh, repo, pr)
        if set_status:
            facts.set_status(
                gh, repo, pull.head_sha, "pending", "Checking owner approval", details_url
            )
        base_text, head_text = facts.access_texts(gh, repo, file, pull)
        today = today_utc()
        try:
            base = _plan(base_text, f"{pull.base_sha[:7]}:{file}", file, today)
            head = _plan(head_text, f"{pull.head_sha[:7]}:{file}", file, today)
        except InvalidInput as exc:
            if set_status:
                facts.set_status(
                    gh, repo, pull.head_sha, "failure", f"{file} is invalid", details_url
                )
            exit_invalid(exc, problems)
        report = rules.evaluate(base, head, pull, facts.team_membership(gh))
        if set_status:
            state = "success" if report.passed else "failure"
            facts.set_status(gh, repo, pull.head_sha, state, report.summary(), details_url)
    except GitHubError as error:
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(ExitCode.FAILED) from None
    print(render(report))
    if not report.passed:
        raise typer.Exit(ExitCode.FAILED)


def _plan(text: str | None, name: str, file: str, today: dt.date) -> AccessPlan:
    if text is None:  # no file at the base: everything is gained
        return AccessPlan(file, today, 90, {}, {}, {}, ())
    return load_access_text(text, name, today=today)


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)
