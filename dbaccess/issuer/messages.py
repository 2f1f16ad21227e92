"""What the person reads: the paste text and the Slack DMs. Pure functions, no I/O.

The notification `text` of a DM never holds the link (it shows in push notifications and
previews); only the blocks do.
"""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dbaccess.access.naming import MYSQL_ENGINES
from dbaccess.catalog import CatalogDatabase
from dbaccess.clients import ca_bundles
from dbaccess.clients.privatebin import EXPIRE_DURATIONS
from dbaccess.credentials import Credential
from dbaccess.mysql.client import client_args
from dbaccess.request_table import Request

# What failed, in words a person understands; keys are the request's error codes.
FAILURE_REASONS = {
    "privatebin_unavailable": "the service that holds your one-time link did not answer",
    "privatebin_refused": "the service that holds your one-time link refused it",
    "slack_unavailable": "Slack did not let me send you the link",
    "aws_unavailable": "AWS was busy or unreachable",
    "aws_refused": "your access is not completely set up on the AWS side",
    "no_role": "your access to that database's AWS account is not completely set up",
    "catalog_unreadable": "I could not read the list of who has access",
}
# Failures that a retry does not mend: the set-up is wrong until someone fixes it.
NEEDS_A_FIX = frozenset({"aws_refused", "no_role"})


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def local_and_utc(moment: dt.datetime, tz: str | None) -> str:
    """In the person's time zone with UTC beside, or UTC alone if the zone is unknown here."""
    try:
        zone = ZoneInfo(tz) if tz else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        return utc(moment)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {tz} ({utc(moment)})"


def psql_command(credential: Credential) -> str:
    """psql with TLS verified against the CA file saved in the current folder."""
    ca = ca_bundles.for_engine(credential.engine)
    return (
        f'psql "host={credential.host} port={credential.port} dbname={credential.database} '
        f'user={credential.user} sslmode=verify-full sslrootcert={ca.file_name}"'
    )


def gui_steps(credential: Credential) -> list[str]:
    """Where each field of the paste goes in DBeaver and DataGrip (PostgreSQL and Redshift)."""
    kind = "Amazon Redshift" if credential.engine == "redshift" else "PostgreSQL"
    ca = ca_bundles.for_engine(credential.engine).file_name
    return [
        f"DBeaver: Database > New Database Connection > {kind}.",
        "  Main tab: Host, Port, Database, Username (the Login above), Password.",
        f'  SSL tab: tick "Use SSL", SSL mode verify-full, Root certificate: {ca} (the CA file).',
        f"DataGrip: File > New > Data Source > {kind}.",
        "  General tab: Host, Port, User (the Login above), Password, Database.",
        f'  SSH/SSL tab: tick "Use SSL", CA file: {ca} (the CA file), Mode: Verify full.',
    ]


def in_words(lifetime: dt.timedelta) -> str:
    """5 minutes, 1 hour, 1 day: how long a link lives, as a person says it."""
    seconds = int(lifetime.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def paste_text(
    db: CatalogDatabase, access: str, credential: Credential, tz: str | None = None
) -> str:
    ca = ca_bundles.for_engine(credential.engine)
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
            "SSL mode:  verify-full",
            f"CA file:   {ca.file_name} (download: {ca.url})",
            f"Expires:   {local_and_utc(credential.expires_at, tz)} (the password stops "
            "working then; "
            "a session already open keeps going)",
            "",
            *(
                _mysql_connect(credential)
                if credential.engine in MYSQL_ENGINES
                else [
                    *gui_steps(credential),
                    "",
                    "psql, in a terminal: save the CA file in the current folder once, then "
                    "connect (psql asks for the password; paste it):",
                    f"curl -fsSLO {ca.url}",
                    psql_command(credential),
                ]
            ),
            "",
            "This link opened once and is gone now. Need the password again? Ask again in Slack.",
        ]
    )


# --- MySQL / Aurora MySQL ------------------------------------------------------------------


def mysql_command(credential: Credential) -> str:
    """Oracle's mysql client, TLS verified against the CA file saved in the current folder;
    `--password` with no value makes it ask."""
    args = client_args(credential, ca_bundles.RDS.file_name, mariadb=False)
    return shlex.join(["mysql", *args, "--password"])


def _mysql_connect(credential: Credential) -> list[str]:
    return [
        "mysql, in a terminal: save the CA file in the current folder once, then connect "
        "(mysql asks for the password; paste it):",
        f"curl -fsSLO {ca_bundles.RDS.url}",
        mysql_command(credential),
        "(MariaDB's client: --ssl --ssl-verify-server-cert instead of --ssl-mode and "
        "--enable-cleartext-plugin.)",
        "",
        "GUI clients (DBeaver, DataGrip): SSL on, verify the server certificate and host name "
        f"against the CA file ({ca_bundles.RDS.file_name}; sslMode=VERIFY_IDENTITY); allow "
        "clear-text authentication (the password travels only inside TLS); "
        "allowPublicKeyRetrieval off.",
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
    tz: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    text = f"Your {request.access} credentials for {request.database} are ready."
    blocks = [
        _section(f":key: Your {_what(request, db)} is ready."),
        _section(
            f"<{link}|Open your credentials>: the link opens *once* and expires in "
            f"{in_words(EXPIRE_DURATIONS[paste_expire])}. The password inside stops working at "
            f"{local_and_utc(password_expires, tz)}; a session you opened before then keeps "
            "going."
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Do not forward the link. Already opened, or opened by someone "
                    "else? It works once: ask again, each request makes a new password.",
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
    request: Request, db: CatalogDatabase | None, error_code: str, support: str
) -> tuple[str, list[dict[str, Any]]]:
    """Something failed on our side: say so, that nothing was issued, and whom to tell (the
    support contact: an outage is not an access question)."""
    reason = FAILURE_REASONS.get(error_code, "something went wrong on my side")
    text = f"I could not make your credentials for {request.database}."
    if error_code in NEEDS_A_FIX:
        next_step = (
            "This is on our side, not yours, and trying again will not help until it is "
            f"fixed: please {support} and mention request `{request.request_id}`."
        )
    else:
        next_step = (
            "Something failed on our side. Try again in a few minutes; if it keeps failing, "
            f"{support} (request `{request.request_id}`)."
        )
    blocks = [
        _section(f":warning: I could not make your {_what(request, db)}: {reason}."),
        _section(f"Nothing was issued. {next_step}"),
    ]
    return text, blocks
