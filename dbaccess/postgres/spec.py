"""What one PostgreSQL server should hold, as the program hands it to
components/postgres_users.py: its databases and its logins, each a member of rds_iam, of the
mark and of its databases' group roles."""

from __future__ import annotations

from dataclasses import dataclass

from dbaccess.access.naming import MANAGED_MARKER
from dbaccess.access.plan import AccessPlan
from dbaccess.access.servers import LoginSpec, Server, by_server

# AWS: members of rds_iam can only authenticate with an IAM token.
RDS_IAM = "rds_iam"


@dataclass(frozen=True)
class PostgresServerSpec(Server):
    """One PostgreSQL server. Roles are server-wide, so logins are declared once per server."""

    logins: tuple[LoginSpec, ...]


def memberships(login: LoginSpec) -> tuple[str, ...]:
    """The roles a login is a member of: rds_iam (IAM authentication only), the mark of a login
    db-access made (what sweep acts on), and its databases' groups."""
    return (RDS_IAM, MANAGED_MARKER, *login.groups)


def postgres_servers(plan: AccessPlan) -> tuple[PostgresServerSpec, ...]:
    """The plan's PostgreSQL databases grouped by server, each with its logins."""
    return tuple(
        PostgresServerSpec(dbs, logins) for dbs, logins in by_server(plan, lambda d: d.is_postgres)
    )
