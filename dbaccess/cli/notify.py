"""`dbaccess notify`: DM everyone whose access changed between two deployed versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from dbaccess.access import InvalidInput, today_utc
from dbaccess.access.diff import diff_plans
from dbaccess.cli.common import Format, exit_invalid, stack_settings
from dbaccess.cli.diff import GitError, plans_between
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.service_env import DEFAULT_SLACK_API_URL


def notify(
    base: Annotated[
        str, typer.Option(help="The git ref that was deployed before, e.g. the previous main.")
    ],
    head: Annotated[str, typer.Option(help="The git ref just deployed, e.g. $GITHUB_SHA.")],
    file: Annotated[Path, typer.Option(help="The access file.")] = Path("access.yaml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the messages; send nothing.")
    ] = False,
    stack: Annotated[
        str | None,
        typer.Option(
            help="Read the Slack bot token from the Secrets Manager secret this stack's "
            "dbaccess:slackBotTokenSecretArn names, with the AWS credentials at hand (in "
            "deploy.yml, the deploy role's).",
            show_default=False,
        ),
    ] = None,
    slack_token: Annotated[
        str | None,
        typer.Option(
            envvar="SLACK_BOT_TOKEN",
            help="The Slack bot token itself (xoxb-…; scopes users:read.email, im:write, "
            "chat:write), for a run by hand; wins over --stack.",
            show_default=False,
        ),
    ] = None,
    slack_api_url: Annotated[
        str, typer.Option(envvar="DBACCESS_SLACK_API_URL", hidden=True)
    ] = DEFAULT_SLACK_API_URL,
) -> None:
    """DM each person who gained or lost database access between --base and --head.

    Each message says what changed, until when, and how to connect (the Slack
    Home tab or `dbaccess connect`); new access comes with a "Get credentials"
    button that sends the one-time link. Run it after a successful deploy;
    people Slack does not know are listed, not an error.

    Exit 0 when sent (or printed); 2 when a version cannot be read or is invalid,
    or no Slack token was given or could be read.

    Example:

        $ dbaccess notify --stack prod --base "$BEFORE" --head "$GITHUB_SHA"
    """
    from dbaccess.clients.slack import DirectMessages
    from dbaccess.notify import notices, send_notices, summary

    try:
        plans = plans_between(file, base, head, today_utc())
    except InvalidInput as exc:
        exit_invalid(exc, Format.text)
    except GitError as exc:
        _fail(str(exc))
    messages = notices(diff_plans(*plans))
    if dry_run:
        for notice in messages:
            print(f"--- to {notice.email}\n{notice.text}\n")
        print(f"{len(messages)} messages (dry run: nothing sent)")
        return
    if not slack_token and stack is not None:
        slack_token = _token_of(stack)
    if not slack_token or not slack_token.startswith("xoxb-"):
        _fail(
            "no Slack bot token: pass --stack (the token's secret, by ARN), set "
            "SLACK_BOT_TOKEN (xoxb-…), or pass --dry-run"
        )
    try:
        dms = DirectMessages(slack_token, slack_api_url)
    except ValueError as exc:
        _fail(f"DBACCESS_SLACK_API_URL: {exc}")
    for line in summary(send_notices(dms, messages)):
        print(line)


def _token_of(stack: str) -> str:
    """The bot token, from the secret the stack names (the one copy the services read)."""
    import boto3

    from dbaccess.clients.secrets_manager import secret_reader
    from dbaccess.service_env import SettingsError

    settings = stack_settings(stack, Format.text, required=True)
    arn = settings.slackBotTokenSecretArn if settings is not None else None
    if arn is None:
        _fail(
            f"Pulumi.{stack}.yaml sets no dbaccess:slackBotTokenSecretArn (the Slack services "
            "are off): there is no bot to send from; pass --dry-run to see the messages"
        )
    secretsmanager = boto3.client("secretsmanager", region_name=arn.split(":")[3])
    try:
        return secret_reader(secretsmanager)(arn)
    except SettingsError as exc:
        _fail(f"{exc} (the deploy role may read it: `dbaccess iam-policy deploy`)")


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.INVALID_INPUT)
