"""`dbaccess gui CLIENT [DATABASE]`: a connection definition the client imports, and the
15-minute password beside it (never inside it). The formats: dbaccess.cli.gui_clients."""

from __future__ import annotations

import datetime as dt
import enum
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from dbaccess.access.naming import POSTGRES_ENGINES
from dbaccess.catalog import Catalog, CatalogDatabase, CatalogGrant
from dbaccess.cli import gui_clients
from dbaccess.cli.credential_text import missing_ca_bundle, resolve_ca_bundle
from dbaccess.cli.engineer import (
    CaOpt,
    CatalogOpt,
    EmailOpt,
    RwOpt,
    VerboseOpt,
    complete_database,
    fail,
    utc_today,
    verbose_say,
)
from dbaccess.cli.engineer_work import make_credential, open_context
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.grant_choice import Level, select_grant
from dbaccess.cli.identity import EngineerError


class Client(enum.StrEnum):
    dbeaver = "dbeaver"
    datagrip = "datagrip"
    pgadmin = "pgadmin"
    pg_service = "pg-service"


# These two hold no password command: the password is made now and printed beside them.
WITH_PASSWORD = frozenset({Client.dbeaver, Client.datagrip})

HOW_TO_IMPORT = {
    Client.dbeaver: "DBeaver: quit it, then merge the connection into data-sources.json in your "
    "workspace (General/.dbeaver/); or create a PostgreSQL connection with these fields.",
    Client.datagrip: "DataGrip: copy the URL, then paste it in the Database Explorer (or in a "
    "new PostgreSQL data source's URL field).",
    Client.pgadmin: "pgAdmin: Tools > Import/Export Servers, or `pgadmin4 --load-servers FILE`; "
    "it runs `dbaccess token` for the password itself.",
    Client.pg_service: "libpq: add these to ~/.pg_service.conf, then "
    'PGPASSWORD="$(dbaccess token KEY --format password)" psql service=KEY',
}


def _name(grant: CatalogGrant) -> str:
    return grant.database if grant.access == Level.ro else f"{grant.database}-rw"


def _target(
    db: CatalogDatabase, grant: CatalogGrant, user: str, ca_for: Callable[[str], Path]
) -> gui_clients.Target:
    return gui_clients.Target(
        name=_name(grant),
        key=db.key,
        read_write=grant.access == Level.rw,
        host=db.host,
        port=db.port,
        database=db.database,
        user=user,
        ca_file=ca_for(db.engine),
    )


def all_targets(
    catalog: Catalog, email: str, today: dt.date, ca_for: Callable[[str], Path]
) -> list[gui_clients.Target]:
    """Every current grant on a PostgreSQL database (RDS, Aurora): their logins are known
    ahead (Redshift names its user when it makes the password)."""
    person = catalog.person(email)
    grants = sorted(
        (g for g in (person.grants if person else ()) if not g.expired_on(today)),
        key=lambda g: (g.database, g.access),
    )
    return [
        _target(catalog.databases[g.database], g, g.login, ca_for)
        for g in grants
        if g.database in catalog.databases
        and catalog.databases[g.database].engine in POSTGRES_ENGINES
    ]


def render(client: Client, targets: Sequence[gui_clients.Target]) -> str:
    if client is Client.dbeaver:
        return gui_clients.dbeaver(targets[0])
    if client is Client.datagrip:
        return gui_clients.jdbc_url(targets[0])
    if client is Client.pgadmin:
        return gui_clients.pgadmin(targets)
    return gui_clients.pg_service(targets)


def gui(
    client: Annotated[Client, typer.Argument(help="The client to configure.")],
    database: Annotated[
        str | None,
        typer.Argument(
            help="The database key (default for pgadmin and pg-service: all of yours).",
            autocompletion=complete_database,
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write the definition to this file instead of stdout."),
    ] = None,
    rw: RwOpt = False,
    ca_bundle: CaOpt = None,
    email: EmailOpt = None,
    catalog: CatalogOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Configure a GUI client (DBeaver, DataGrip, pgAdmin) or libpq's pg_service.conf.

    The definition holds host, port, database, user, TLS verify-full and the CA file; never
    the password. DBeaver and DataGrip: the 15-minute password is printed on stderr, to paste
    when the client asks. pgAdmin runs `dbaccess token … --format password` itself
    (dbaccess on its PATH). pgadmin and pg-service make no credential: with --catalog and
    --email, they need no AWS.

    Example:

    \b
        $ dbaccess gui dbeaver orders --write orders-dbeaver.json
        $ dbaccess gui datagrip orders
        $ dbaccess gui pgadmin --write servers.json && pgadmin4 --load-servers servers.json
        $ dbaccess gui pg-service >> ~/.pg_service.conf
    """
    say = verbose_say(verbose)
    env = os.environ
    try:
        ctx = open_context(email_option=email, catalog_file=catalog, env=env, say=say)

        def ca_for(engine: str) -> Path:
            path = resolve_ca_bundle(ca_bundle, ctx.config, env, engine)
            if not path.is_file():
                raise missing_ca_bundle(path, engine)
            return path

        level = Level.rw if rw else Level.ro
        credential = None
        if database is not None:
            db, grant = select_grant(ctx.catalog, ctx.email, database, level, utc_today())
            if db.engine not in POSTGRES_ENGINES and not (
                client in WITH_PASSWORD and db.engine == "redshift"
            ):
                raise EngineerError(
                    f"{client.value} definitions here are for PostgreSQL databases; "
                    f"{db.key} is {db.engine}",
                    f"use `dbaccess token {db.key} --format json` for its fields",
                    ExitCode.INVALID_INPUT,
                )
            user = grant.login
            if client in WITH_PASSWORD:
                cred = make_credential(ctx, database, level, utc_today(), say)
                user, credential = cred.user, cred
            targets = [_target(db, grant, user, ca_for)]
        elif client in WITH_PASSWORD:
            raise EngineerError(
                f"name the database: dbaccess gui {client.value} DATABASE",
                "see your databases with `dbaccess list`",
            )
        else:
            targets = all_targets(ctx.catalog, ctx.email, utc_today(), ca_for)
            if not targets:
                raise EngineerError(f"{ctx.email} has no current grant on a PostgreSQL database")
    except EngineerError as exc:
        fail(exc)
    text = render(client, targets)
    if write is None:
        print(text)
    else:
        write.write_text(text if text.endswith("\n") else text + "\n")
        print(f"wrote {write}", file=sys.stderr)
    print(HOW_TO_IMPORT[client], file=sys.stderr)
    if credential is not None:
        print(
            f"Password for {credential.user} (valid until {credential.expires_at:%H:%M} UTC; "
            f"run this again for a new one):\n{credential.password}",
            file=sys.stderr,
        )
