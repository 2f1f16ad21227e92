"""The `dbaccess` command: a thin layer over importable functions.

Every command exits with a `dbaccess.cli.exit_codes.ExitCode`.
"""

from __future__ import annotations

import typer

from dbaccess.cli import approvals, audit, diff, engineer, preview, validate
from dbaccess.cli.activity import activity
from dbaccess.cli.bootstrap import bootstrap
from dbaccess.cli.doctor import doctor
from dbaccess.cli.expire import expire
from dbaccess.cli.gui import gui
from dbaccess.cli.iam_policy import iam_policy
from dbaccess.cli.notify import notify

app = typer.Typer(
    name="dbaccess",
    help="Keyless, per-person access to AWS databases, driven by access.yaml.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain text help: Rich markup would swallow "[secret]" and other bracketed words.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root() -> None:
    """Keyless, per-person access to AWS databases, driven by access.yaml.

    Start with `dbaccess validate` to check the file and `dbaccess preview` to see the plan.
    """


app.command("validate")(validate.validate)
app.command("preview")(preview.preview)
app.command("diff")(diff.diff)
app.command("list")(engineer.list_databases)
app.command("token")(engineer.token)
app.command("connect")(engineer.connect)
app.command("gui")(gui)
app.command("doctor")(doctor)
app.command("expire")(expire)
app.command("bootstrap")(bootstrap)
app.command("audit")(audit.audit)
app.command("sweep")(audit.sweep)
app.command("activity")(activity)
app.command("iam-policy")(iam_policy)
app.command("notify")(notify)
app.command("approvals")(approvals.approvals)


def main() -> None:
    app()
