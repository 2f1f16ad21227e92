"""Connection definitions GUI clients and libpq import: pure functions, no password inside.

Each holds host, port, database, user and TLS verify-full against a CA file; the 15-minute
password is given separately (pgAdmin runs `dbaccess token … --format password` itself).

- DBeaver: `data-sources.json` (its workspace's `.dbeaver/` folder), the PostgreSQL driver
  with the `postgre_ssl` handler (`sslMode`, `ssl.ca.cert`).
- DataGrip: a JDBC URL, pasted into the Database Explorer (or a data source's URL field);
  the PostgreSQL JDBC driver reads `user`, `sslmode` and `sslrootcert` from it.
- pgAdmin: `servers.json` for `pgadmin4 --load-servers` / Tools > Import/Export Servers
  (required: Name, Group, Port, Username, SSLMode, MaintenanceDB, Host).
- libpq: a `pg_service.conf` section per grant, for `psql service=orders`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlencode

from dbaccess.cli.token_cache import MIN_LEFT

GROUP: Final = "db-access"
# pgAdmin runs the password command again after this many seconds: within the time any
# password `dbaccess token` prints still has to live (a reused one has at least MIN_LEFT).
PASSWORD_EXEC_SECONDS: Final = int(MIN_LEFT.total_seconds()) - 60


@dataclass(frozen=True)
class Target:
    """One grant as a client connects to it."""

    name: str  # the database key, `-rw` appended for read-write
    key: str  # the database key, for `dbaccess token`
    read_write: bool
    host: str
    port: int
    database: str
    user: str
    ca_file: Path


def dbeaver(target: Target) -> str:
    connection = {
        "provider": "postgresql",
        "driver": "postgres-jdbc",
        "name": target.name,
        "folder": GROUP,
        "save-password": False,
        "configuration": {
            "host": target.host,
            "port": str(target.port),
            "database": target.database,
            "url": f"jdbc:postgresql://{target.host}:{target.port}/{target.database}",
            "user": target.user,
            "configurationType": "MANUAL",
            "type": "prod",
            "auth-model": "native",
            "handlers": {
                "postgre_ssl": {
                    "type": "CONFIG",
                    "enabled": True,
                    "properties": {"sslMode": "verify-full", "ssl.ca.cert": str(target.ca_file)},
                }
            },
        },
    }
    document = {
        "folders": {GROUP: {}},
        "connections": {f"postgres-jdbc-dbaccess-{target.name}": connection},
    }
    return json.dumps(document, indent=2)


def jdbc_url(target: Target) -> str:
    query = urlencode(
        {"user": target.user, "sslmode": "verify-full", "sslrootcert": str(target.ca_file)},
        quote_via=quote,
    )
    return (
        f"jdbc:postgresql://{target.host}:{target.port}/{quote(target.database, safe='')}?{query}"
    )


def _token_command(target: Target) -> str:
    return f"dbaccess token {target.key}{' --rw' if target.read_write else ''} --format password"


def pgadmin(targets: Sequence[Target]) -> str:
    servers = {
        str(number): {
            "Name": t.name,
            "Group": GROUP,
            "Host": t.host,
            "Port": t.port,
            "MaintenanceDB": t.database,
            "Username": t.user,
            "SSLMode": "verify-full",
            "PasswordExecCommand": _token_command(t),
            "PasswordExecExpiration": PASSWORD_EXEC_SECONDS,
            "ConnectionParameters": {
                "sslmode": "verify-full",
                "sslrootcert": str(t.ca_file),
                "connect_timeout": 10,
            },
        }
        for number, t in enumerate(targets, start=1)
    }
    return json.dumps({"Servers": servers}, indent=2)


def pg_service(targets: Sequence[Target]) -> str:
    sections = [
        "\n".join(
            [
                f"[{t.name}]",
                f"host={t.host}",
                f"port={t.port}",
                f"dbname={t.database}",
                f"user={t.user}",
                "sslmode=verify-full",
                f"sslrootcert={t.ca_file}",
            ]
        )
        for t in targets
    ]
    return "\n\n".join(sections) + "\n"
