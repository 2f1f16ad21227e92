"""A credential reused until shortly before it expires, as RDS recommends (it throttles new
IAM authentications per instance) and so that Redshift is not asked again every time.

One file per login and endpoint under the user's cache directory (`$XDG_CACHE_HOME/dbaccess/
credentials/`, 0600 in a 0700 directory). A file made by another holder (person, role, AWS
login; kept as a digest) is ignored and replaced. The password never leaves this file except
into the credential itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Final

from dbaccess.catalog import CatalogDatabase
from dbaccess.cli.catalog_cache import write_private
from dbaccess.credentials import Credential

# A reused credential has at least this long left: enough to start a session or paste it
# into a client.
MIN_LEFT: Final = dt.timedelta(minutes=5)


def _path(directory: Path, db: CatalogDatabase, login: str) -> Path:
    endpoint = f"{db.engine}|{db.host}|{db.port}|{db.database}|{login}"
    return directory / "credentials" / f"{hashlib.sha256(endpoint.encode()).hexdigest()[:24]}.json"


def _digest(holder: str) -> str:
    return hashlib.sha256(holder.encode()).hexdigest()


def load(
    directory: Path, db: CatalogDatabase, login: str, holder: str, now: dt.datetime
) -> Credential | None:
    """The stored credential for `login` on `db` when `holder` (who and in which role) made
    it and it has MIN_LEFT to live; else None."""
    try:
        entry = json.loads(_path(directory, db, login).read_text())
        cred = Credential(
            engine=db.engine,
            host=db.host,
            port=db.port,
            database=db.database,
            user=str(entry["user"]),
            password=str(entry["password"]),
            expires_at=dt.datetime.fromisoformat(entry["expires_at"]),
        )
        same_holder = entry["holder"] == _digest(holder) and entry["login"] == login
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not same_holder or cred.expires_at.tzinfo is None or cred.expires_at - now < MIN_LEFT:
        return None
    return cred


def store(directory: Path, db: CatalogDatabase, login: str, holder: str, cred: Credential) -> None:
    write_private(
        _path(directory, db, login),
        {
            "holder": _digest(holder),
            "login": login,
            "user": cred.user,
            "password": cred.password,
            "expires_at": cred.expires_at.isoformat(),
        },
    )
