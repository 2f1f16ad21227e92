"""MySQL user names: the length limit and the names that belong to MySQL, MariaDB, RDS or us."""

from __future__ import annotations

from typing import Final

from dbaccess.access.naming import LOGIN_MAX_BYTES, LOGIN_SUFFIX

# MySQL 5.7.8+ (so RDS MySQL 8 and Aurora MySQL 2 and 3) allows 32 characters (MariaDB 80).
USER_NAME_MAX: Final = LOGIN_MAX_BYTES["mysql"]
# The longest login base that leaves room for `_ro` / `_rw`.
BASE_MAX: Final = USER_NAME_MAX - max(len(s) for s in LOGIN_SUFFIX.values())
# Accounts RDS creates for itself (administration, replication, RDS Proxy, and the MySQL
# 8.0.36+ superuser role), at whatever host.
RDS_USERS: Final[frozenset[str]] = frozenset(
    {"rdsadmin", "rdsrepladmin", "rdsproxyadmin", "rds_superuser_role"}
)
# Accounts the engine creates at 'localhost' (and mysql.sys, mysql.session, ...: a prefix).
ENGINE_USERS: Final[frozenset[str]] = frozenset({"root", "mariadb.sys"})
ENGINE_PREFIX: Final = "mysql."
# Reserved for people: the above, rds_* (RDS roles), names too generic to hand to a person,
# and dbaccess_ (ours: the admin login is usually dbaccess_admin).
RESERVED_USERS: Final[frozenset[str]] = RDS_USERS | ENGINE_USERS | {"admin", "public", "none"}
SYSTEM_PREFIXES: Final[tuple[str, ...]] = (ENGINE_PREFIX, "rds_")
RESERVED_PREFIXES: Final[tuple[str, ...]] = (*SYSTEM_PREFIXES, "dbaccess_")


def is_system_account(user: str, host: str) -> bool:
    """An account MySQL, MariaDB or RDS created and runs on - not one to audit. The engine's
    count only at localhost: a 'root'@'%' is somebody's doing."""
    name = user.lower()
    if name in RDS_USERS:
        return True
    return host == "localhost" and (name in ENGINE_USERS or name.startswith(ENGINE_PREFIX))


def is_reserved(name: str) -> bool:
    return name.lower() in RESERVED_USERS or name.lower().startswith(RESERVED_PREFIXES)


def login_problem(login: str, admin_login: str) -> str | None:
    """Why `login` cannot be a person's MySQL user on a server managed as `admin_login`, with
    the fix; None when it can."""
    if len(login) > USER_NAME_MAX:
        return (
            f"MySQL user name {login!r} is {len(login)} characters; MySQL allows at most "
            f"{USER_NAME_MAX}. Give this person a shorter `username:` (at most {BASE_MAX} "
            "characters, so that `_ro` / `_rw` still fit)."
        )
    if login == admin_login:
        return (
            f"MySQL user name {login!r} is the server's admin_login; give this person "
            "another `username:`."
        )
    if is_reserved(login):
        return (
            f"MySQL user name {login!r} is reserved (MySQL, MariaDB, RDS or db-access own "
            f"{', '.join(sorted(RESERVED_USERS))} and names starting "
            f"{', '.join(RESERVED_PREFIXES)}); give this person another `username:`."
        )
    return None


def admin_login_problem(admin_login: str) -> str | None:
    """Why `admin_login` cannot be the db-access admin user of a MySQL server; None if it can.
    It is a dedicated IAM user, never RDS's master user (often `admin`, a password user)."""
    if not 0 < len(admin_login) <= USER_NAME_MAX:
        return (
            f"admin_login {admin_login!r} must be 1 to {USER_NAME_MAX} characters for MySQL; "
            "choose a shorter name (e.g. dbaccess_admin)."
        )
    if admin_login.lower() in RESERVED_USERS or admin_login.lower().startswith(SYSTEM_PREFIXES):
        return (
            f"admin_login {admin_login!r} is an account of MySQL, MariaDB or RDS; create a "
            "dedicated IAM user (e.g. dbaccess_admin) with `dbaccess bootstrap`."
        )
    return None


DATABASE_NAME_MAX: Final = 64
# MySQL keeps a database as a directory: these characters can't be in its name.
_DATABASE_FORBIDDEN: Final = frozenset("/\\.`'\"\0")


def database_problem(database: str) -> str | None:
    """Why `database` cannot be a MySQL database name; None when it can."""
    if not 0 < len(database) <= DATABASE_NAME_MAX or database != database.rstrip():
        return (
            f"MySQL database name {database!r} must be 1 to {DATABASE_NAME_MAX} characters "
            "without trailing spaces."
        )
    bad = sorted(set(database) & _DATABASE_FORBIDDEN)
    if bad:
        return f"MySQL database name {database!r} contains {' '.join(bad)!r}; rename it."
    return None
