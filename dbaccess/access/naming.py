"""Naming rules: database login bases, logins, IAM role names, reserved words, length limits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

Access = Literal["read-only", "read-write"]
Engine = Literal["postgres", "aurora-postgresql", "redshift", "mysql", "aurora-mysql"]
# Which statements of a login the database's audit log records (`query_audit:`), from least to
# most: none, DDL (and role changes), also writes, everything (reads too).
AuditLevel = Literal["none", "ddl", "write", "all"]

ACCESS_LEVELS: Final[tuple[Access, ...]] = ("read-only", "read-write")
AUDIT_LEVELS: Final[tuple[AuditLevel, ...]] = ("none", "ddl", "write", "all")
ENGINES: Final[tuple[Engine, ...]] = (
    "postgres",
    "aurora-postgresql",
    "redshift",
    "mysql",
    "aurora-mysql",
)
POSTGRES_ENGINES: Final[frozenset[str]] = frozenset({"postgres", "aurora-postgresql"})
MYSQL_ENGINES: Final[frozenset[str]] = frozenset({"mysql", "aurora-mysql"})
# RDS engines whose logins authenticate with an IAM token (rds-db:connect).
RDS_IAM_ENGINES: Final[frozenset[str]] = POSTGRES_ENGINES | MYSQL_ENGINES
# Engines whose servers are RDS instances (the others are clusters).
INSTANCE_ENGINES: Final[frozenset[str]] = frozenset({"postgres", "mysql"})

# A GitHub login (`github:` of a person, `@login` in `owners:`): letters, digits and single
# inner hyphens, at most 39. GitHub compares logins case-insensitively.
GITHUB_LOGIN: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")

# The mark of a login db-access made: the bootstrap creates this NOLOGIN role and the program
# grants it to every login it declares (PostgreSQL roles; MySQL/MariaDB roles likewise). What
# destroys (sweep) acts only on logins that carry it.
MANAGED_MARKER: Final = "dbaccess_managed"
LOGIN_SUFFIX: Final[dict[str, str]] = {"read-only": "_ro", "read-write": "_rw"}
SHORT_ACCESS: Final[dict[str, str]] = {"read-only": "ro", "read-write": "rw"}

# Identifier limits: PostgreSQL truncates names beyond 63 bytes (NAMEDATALEN - 1); Redshift
# allows 127; MySQL 5.7.8+ (RDS MySQL 8, Aurora MySQL 2 and 3) 32 characters (bases are
# ASCII, so bytes and characters agree). IAM role names stop at 64 characters.
LOGIN_MAX_BYTES: Final[dict[str, int]] = {
    "postgres": 63,
    "aurora-postgresql": 63,
    "redshift": 127,
    "mysql": 32,
    "aurora-mysql": 32,
}
ROLE_PREFIX: Final = "dbaccess-"
ROLE_NAME_MAX: Final = 64
# The longest base whose role name and logins fit every limit above.
BASE_MAX: Final = ROLE_NAME_MAX - len(ROLE_PREFIX)

# PostgreSQL roles are server-wide but grants are per database, so each managed database has
# its own pair of group roles: dbaccess_<database key with - as _>_ro / _rw. Database keys are
# [a-z][a-z0-9-]{0,39} (no '_'), so the mapping is one-to-one and at most 52 bytes (< 63).
GROUP_PREFIX: Final = "dbaccess_"
# The group roles of the first release, shared by every database of a server. Never reused.
LEGACY_GROUP_ROLES: Final = ("dbaccess_readonly", "dbaccess_readwrite")
# Names owned by PostgreSQL, RDS, Redshift or us. rds_* and pg_* are prefixes.
RESERVED_NAMES: Final[frozenset[str]] = frozenset(
    {
        "postgres",
        "rdsadmin",
        "rdsrepladmin",
        "rdsdb",
        "admin",
        "root",
        "public",
        "superuser",
        "none",
        "current_user",
        "session_user",
        *LEGACY_GROUP_ROLES,
    }
)
# dbaccess_ is ours: group roles are named from it, so no login or admin may start with it.
RESERVED_PREFIXES: Final[tuple[str, ...]] = ("rds_", "pg_", GROUP_PREFIX)

BASE_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]*")


def is_reserved(name: str) -> bool:
    """True when a database role of this name belongs to the engine, RDS or us."""
    return name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES)


def group_role_for(database_key: str, access: str) -> str:
    """The PostgreSQL group role a login of this access level joins in this database."""
    return GROUP_PREFIX + database_key.replace("-", "_") + LOGIN_SUFFIX[access]


def is_group_role(name: str) -> bool:
    """True for a name of the group-role shape (whatever the database key)."""
    return name.startswith(GROUP_PREFIX) and name.endswith(tuple(LOGIN_SUFFIX.values()))


def highest_audit(levels: Iterable[AuditLevel]) -> AuditLevel:
    """The most a set of query_audit levels asks for (none when empty): a login's level is the
    highest among the grants it serves."""
    return max(levels, key=AUDIT_LEVELS.index, default="none")


def login_for(base: str, access: str) -> str:
    return base + LOGIN_SUFFIX[access]


def role_name_for(base: str) -> str:
    return ROLE_PREFIX + base


def base_is_safe(base: str) -> bool:
    """A base whose name and logins are all unreserved."""
    return not any(is_reserved(n) for n in (base, *(login_for(base, a) for a in ACCESS_LEVELS)))


def login_base(email_or_local: str) -> str:
    """The default login base of a person: the email's local part reduced to [a-z0-9].

    Always a valid base for every engine: starts with a letter, at most BASE_MAX
    characters, never reserved (such bases get a 'u' in front). Idempotent: a base
    passed back in comes out unchanged.
    """
    local = email_or_local.split("@", 1)[0].lower()
    base = re.sub(r"[^a-z0-9]", "", local)
    if not base or not base[0].isalpha() or not base_is_safe(base):
        base = "u" + base
    return base[:BASE_MAX]
