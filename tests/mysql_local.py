"""What differs between RDS / Aurora MySQL and the local MariaDB, in one place.

Only authentication, ending sessions and the role table: MariaDB has no AWSAuthenticationPlugin
(so the admin and the person users get a password, sent over the same verified TLS), no
mysql.rds_kill (so the admin gets CONNECTION ADMIN and sweep runs plain KILL), and records role
grants in mysql.roles_mapping instead of mysql.role_edges. Every other statement -
CREATE USER ... REQUIRE SSL, GRANT / REVOKE on `<db>`.*, DROP USER, the bootstrap's grants -
runs on MariaDB exactly as dbaccess.mysql builds it for RDS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pymysql

from dbaccess.mysql.bootstrap import bootstrap_statements
from dbaccess.mysql.findings import ROLES_MAPPING
from dbaccess.mysql.spec import AdminTarget
from dbaccess.mysql.statements import string_literal
from tests.mysqlserver import MariaDBServer

PASSWORD: Final = "local 'stand-in' for an IAM token"
# Instead of IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'.
AUTH: Final = f"IDENTIFIED BY {string_literal(PASSWORD)}"
# The plugin MariaDB records for AUTH: where RDS shows AWSAuthenticationPlugin.
PLUGIN: Final = "mysql_native_password"
# Instead of EXECUTE ON PROCEDURE mysql.rds_kill.
END_SESSIONS: Final = "CONNECTION ADMIN ON *.*"
# Instead of mysql.role_edges (MySQL 8): where MariaDB records who holds a role.
ROLE_GRANTS: Final = ROLES_MAPPING


def statements(admin_login: str, databases: list[str]) -> list[str]:
    """`dbaccess bootstrap`'s statements, with MariaDB's stand-ins."""
    return bootstrap_statements(
        admin_login, databases, auth=AUTH, end_sessions=END_SESSIONS, role_grants=ROLE_GRANTS
    )


def bootstrap(server: MariaDBServer, admin_login: str, databases: list[str]) -> None:
    """`dbaccess bootstrap`'s statements, run as root (RDS: the master user)."""
    server.sql(";\n".join(statements(admin_login, databases)))


def connect(server: MariaDBServer, user: str) -> pymysql.Connection:
    """`user` over TCP with TLS verified against the test CA and the host name."""
    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=user,
        password=PASSWORD,
        ssl_ca=str(server.ca_file),
        ssl_verify_cert=True,
        ssl_verify_identity=True,
        autocommit=True,
        connect_timeout=10,
    )


def admin_connector(server: MariaDBServer) -> Callable[[AdminTarget], pymysql.Connection]:
    """A MysqlLoginProvider connector: the admin login of the target, as in production, with
    the local password in place of a freshly minted token."""

    def connector(target: AdminTarget) -> pymysql.Connection:
        return connect(server, target.admin_login)

    return connector
