"""What a PostgreSQL server needs before the first deploy, read as its admin login: the admin
can sign in with IAM (a member of rds_iam), and the bootstrap has run (the mark role, held
WITH ADMIN OPTION so the program can grant it; pg_signal_backend for sweep; no CONNECT for
PUBLIC on the database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.access.plan import DatabaseSpec
from dbaccess.preflight import BOOTSTRAP, Failed

# (role, member) -> is member, with ADMIN OPTION (PostgreSQL 16 may hold one row per grantor).
_MEMBERSHIP: Final = """
SELECT bool_or(m.admin_option)
  FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.roleid
  JOIN pg_roles u ON u.oid = m.member
 WHERE r.rolname = %s AND u.rolname = %s
"""
_PUBLIC_CONNECT: Final = """
SELECT EXISTS (
  SELECT FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
   WHERE d.datname = %s AND a.grantee = 0 AND a.privilege_type = 'CONNECT')
"""

Check = Callable[[Any, DatabaseSpec], str]


def _one(conn: Any, sql: str, *args: object) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


def _role_exists(conn: Any, name: str) -> bool:
    return bool(_one(conn, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", name))


def _bootstrap(db: DatabaseSpec) -> str:
    return "Run " + BOOTSTRAP.format(key=db.key) + " (as the master user; it is idempotent)."


def admin_login(conn: Any, db: DatabaseSpec) -> str:
    can_login = _one(conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", db.admin_login)
    if can_login is None:
        raise Failed(f"no role {db.admin_login} on the server", _bootstrap(db))
    if not can_login:
        raise Failed(f"{db.admin_login} cannot log in (NOLOGIN)", _bootstrap(db))
    return f"{db.admin_login} exists and may log in"


def rds_iam(conn: Any, db: DatabaseSpec) -> str:
    if not _role_exists(conn, "rds_iam"):
        raise Failed(
            "there is no role rds_iam: IAM database authentication cannot work here",
            "RDS and Aurora PostgreSQL have rds_iam on every server: check that "
            f"'{db.key}' in access.yaml names an RDS endpoint.",
        )
    if _one(conn, _MEMBERSHIP, "rds_iam", db.admin_login) is None:
        raise Failed(
            f"{db.admin_login} is not in rds_iam, so it cannot sign in with an IAM token",
            _bootstrap(db) + f' Or as the master user: GRANT rds_iam TO "{db.admin_login}";',
        )
    return f"exists; {db.admin_login} is a member"


def mark_role(conn: Any, db: DatabaseSpec) -> str:
    if not _role_exists(conn, MANAGED_MARKER):
        raise Failed(f"no role {MANAGED_MARKER}: the bootstrap has not run", _bootstrap(db))
    if not _one(conn, _MEMBERSHIP, MANAGED_MARKER, db.admin_login):
        raise Failed(
            f"{db.admin_login} does not hold {MANAGED_MARKER} WITH ADMIN OPTION, so it cannot "
            "mark the logins it creates",
            _bootstrap(db),
        )
    return f"{MANAGED_MARKER} exists; {db.admin_login} holds it WITH ADMIN OPTION"


def signal_backend(conn: Any, db: DatabaseSpec) -> str:
    if _one(conn, _MEMBERSHIP, "pg_signal_backend", db.admin_login) is None:
        raise Failed(
            f"{db.admin_login} is not in pg_signal_backend: `dbaccess sweep` cannot end sessions",
            _bootstrap(db),
        )
    return f"{db.admin_login} holds it (sweep can end sessions)"


def no_public_connect(conn: Any, db: DatabaseSpec) -> str:
    if _one(conn, _PUBLIC_CONNECT, db.name):
        raise Failed(
            f"PUBLIC may CONNECT to {db.name}: every login of the server gets in, whatever "
            "access.yaml says",
            _bootstrap(db) + " It grants CONNECT by name to the logins that connect today, "
            "then revokes PUBLIC's.",
        )
    return f"only named roles may CONNECT to {db.name}"


# (step, check), in order; the first needs to pass for the others to mean anything.
CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("admin login", admin_login),
    ("rds_iam", rds_iam),
    ("mark role", mark_role),
    ("pg_signal_backend", signal_backend),
    ("PUBLIC has no CONNECT", no_public_connect),
)
