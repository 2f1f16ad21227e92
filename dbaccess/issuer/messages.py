"""What the person reads: the paste text and the Slack DMs. Pure functions, no I/O.

The notification `text` of a DM never holds the link (it shows in push notifications and
previews); only the blocks do.
"""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

from dbaccess.access.naming import MYSQL_ENGINES
from dbaccess.catalog import CatalogDatabase
from dbaccess.credentials import Credential
from dbaccess.mysql.client import client_args
from dbaccess.requests import Request

# What failed, in words a person understands; keys are the request's error codes.
FAILURE_REASONS = {
    "privatebin_unavailable": "the secure paste service (PrivateBin) did not answer",
    "privatebin_refused": "the secure paste service (PrivateBin) refused the paste",
    "slack_unavailable": "Slack did not let me send you the link",
    "aws_unavailable": "AWS was busy or unreachable",
    "aws_refused": "AWS refused to let me act as you (your role or its trust is not set up)",
    "no_role": "your database role in that account is missing from the catalog",
    "catalog_unreadable": "I could not read the access catalog",
}


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def psql_command(credential: Credential) -> str:
    return (
        f'psql "host={credential.host} port={credential.port} dbname={credential.database} '
        f'user={credential.user} sslmode=verify-full"'
    )


def paste_text(db: CatalogDatabase, access: str, credential: Credential) -> str:
    return "\n".join(
        [
            f"db-access: {access} credentials for {db.key}",
            "",
            f"Engine:    {credential.engine}",
            f"Host:      {credential.host}",
            f"Port:      {credential.port}",
            f"Database:  {credential.database}",
            f"Login:     {credential.user}",
            f"Password:  {credential.password}",
            f"Expires:   {utc(credential.expires_at)} (the password stops working then)",
            "",
            *(
                _mysql_connect(credential)
                if credential.engine in MYSQL_ENGINES
                else [
                    "Connect (psql asks for the password; paste it):",
                    psql_command(credential),
                    "",
                    "sslmode=verify-full needs the RDS CA bundle: set PGSSLROOTCERT to its path.",
                ]
            ),
        ]
    )


# --- MySQL / Aurora MySQL (issue 18) --------------------------------------------------------


def mysql_command(credential: Credential) -> str:
    """Oracle's mysql client; `--password` with no value makes it ask."""
    args = client_args(credential, "global-bundle.pem", mariadb=False)
    return shlex.join(["mysql", *args, "--password"])


def _mysql_connect(credential: Credential) -> list[str]:
    return [
        "Connect (mysql asks for the password; paste it):",
        mysql_command(credential),
        "(MariaDB's client: --ssl --ssl-verify-server-cert instead of --ssl-mode and "
        "--enable-cleartext-plugin.)",
        "",
        "GUI clients (DBeaver, DataGrip): SSL on, verify the server certificate and host name "
        "against the RDS CA bundle (sslMode=VERIFY_IDENTITY); allow clear-text authentication "
        "(the password is an IAM token, sent only inside TLS); allowPublicKeyRetrieval off.",
        "",
        "--ssl-ca needs the RDS CA bundle: "
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
    ]


# --- end MySQL ------------------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _what(request: Request, db: CatalogDatabase | None) -> str:
    name = f"*{request.database}*"
    if db is not None and db.description:
        name += f" ({db.description})"
    return f"{request.access} access to {name}"


def issued_message(
    request: Request,
    db: CatalogDatabase,
    link: str,
    paste_expire: str,
    password_expires: dt.datetime,
) -> tuple[str, list[dict[str, Any]]]:
    text = f"Your {request.access} credentials for {request.database} are ready."
    blocks = [
        _section(f":key: Your {_what(request, db)} is ready."),
        _section(
            f"<{link}|Open your credentials>: the link opens *once* and expires in "
            f"{paste_expire}. The password inside stops working at {utc(password_expires)}."
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Do not forward the link. Need it again? Ask again: each request "
                    "makes a new password.",
                }
            ],
        },
    ]
    return text, blocks


def denied_message(
    request: Request, db: CatalogDatabase | None, reason: str, contact: str
) -> tuple[str, list[dict[str, Any]]]:
    text = f"No credentials for {request.database}: {reason}."
    blocks = [
        _section(f":no_entry: I did not issue {_what(request, db)}: {reason}."),
        _section(f"Nothing was issued. To get access, {contact}."),
    ]
    return text, blocks


def failed_message(
    request: Request, db: CatalogDatabase | None, error_code: str, contact: str
) -> tuple[str, list[dict[str, Any]]]:
    reason = FAILURE_REASONS.get(error_code, "something went wrong on my side")
    text = f"I could not make your credentials for {request.database}."
    blocks = [
        _section(f":warning: I could not make your {_what(request, db)}: {reason}."),
        _section(
            "Nothing was issued. Try again in a few minutes; if it keeps failing, "
            f"{contact} (request `{request.request_id}`)."
        ),
    ]
    return text, blocks
