"""What a MySQL / Aurora MySQL server needs before the first deploy, read as its admin user:
the admin signs in with IAM (AWSAuthenticationPlugin) and holds the mark role WITH ADMIN
OPTION (the program grants it to every user it creates)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.access.plan import DatabaseSpec
from dbaccess.mysql import statements
from dbaccess.preflight import BOOTSTRAP, Failed

# SHOW GRANTS: MySQL 8 writes `dbaccess_managed`@`%`, MariaDB `dbaccess_managed`.
_MARK_GRANT: Final = re.compile(
    rf"^GRANT `?{MANAGED_MARKER}`?(@`[^`]*`)? TO .* WITH ADMIN OPTION$", re.MULTILINE
)

Check = Callable[[Any, DatabaseSpec], str]


def _bootstrap(db: DatabaseSpec) -> str:
    return "Run " + BOOTSTRAP.format(key=db.key) + " (as the master user; it is idempotent)."


def iam_plugin(conn: Any, db: DatabaseSpec, plugin: str = statements.IAM_PLUGIN) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT plugin FROM mysql.user WHERE User = %s", (db.admin_login,))
        found = {str(row[0]) for row in cur.fetchall()}
    if found != {plugin}:
        raise Failed(
            f"{db.admin_login} authenticates with {', '.join(sorted(found)) or 'nothing'}, not "
            f"{plugin}",
            _bootstrap(db),
        )
    return f"{db.admin_login} signs in with {plugin}"


def mark_role(conn: Any, db: DatabaseSpec) -> str:
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS")
        grants = "\n".join(str(row[0]) for row in cur.fetchall())
    if not _MARK_GRANT.search(grants):
        raise Failed(
            f"{db.admin_login} does not hold {MANAGED_MARKER} WITH ADMIN OPTION: the bootstrap "
            "has not run",
            _bootstrap(db),
        )
    return f"{db.admin_login} holds {MANAGED_MARKER} WITH ADMIN OPTION"


CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("admin signs in with IAM", iam_plugin),
    ("mark role", mark_role),
)
