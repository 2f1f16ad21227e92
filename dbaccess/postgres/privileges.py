"""What each access level may do inside a PostgreSQL database (applied by the program)."""

from __future__ import annotations

from typing import Final

# object type (as pulumi_postgresql names it) -> privileges, per access level
PRIVILEGES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "read-only": {
        "schema": ("USAGE",),
        "table": ("SELECT",),
        "sequence": ("SELECT", "USAGE"),
    },
    "read-write": {
        "schema": ("USAGE",),
        "table": ("DELETE", "INSERT", "SELECT", "UPDATE"),
        "sequence": ("SELECT", "UPDATE", "USAGE"),
    },
}
# On the database itself: CONNECT only (no CREATE, no TEMPORARY). PUBLIC's CONNECT is revoked at
# bootstrap, so a managed database admits exactly its own two group roles, the admin, and the
# logins that could connect before the bootstrap (it grants them CONNECT directly first).
DATABASE_PRIVILEGES: Final = ("CONNECT",)
# Default privileges cover objects created later; schemas themselves are granted directly.
DEFAULT_PRIVILEGE_TYPES: Final = ("table", "sequence")
