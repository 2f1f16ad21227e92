"""How a MySQL command-line client connects with an RDS IAM token: the one owner of these
options, for `dbaccess connect` and the issuer's paste.

The token travels with the cleartext plugin (RDS's AWSAuthenticationPlugin asks for it), so
the server must be verified first: its certificate against the CA bundle and its host name.
Oracle's `mysql` says so with `--ssl-mode=VERIFY_IDENTITY` and must be told
`--enable-cleartext-plugin`. MariaDB's client (Debian's `mysql` is MariaDB's) has no
--ssl-mode and says it with `--ssl-verify-server-cert`; it answers the server's request for
clear text by itself and warns that --enable-cleartext-plugin is obsolete.
"""

from __future__ import annotations

from typing import Final

from dbaccess.credentials import Credential

MYSQL_TLS: Final = ("--ssl-mode=VERIFY_IDENTITY", "--enable-cleartext-plugin")
MARIADB_TLS: Final = ("--ssl", "--ssl-verify-server-cert")


def client_args(cred: Credential, ca_bundle: str, *, mariadb: bool) -> list[str]:
    """The client's options for `cred`: TCP (a tunnel on localhost must not fall back to a
    local socket), verified TLS, clear text for the token; never the password."""
    return [
        "--protocol=TCP",
        f"--host={cred.host}",
        f"--port={cred.port}",
        f"--user={cred.user}",
        *(MARIADB_TLS if mariadb else MYSQL_TLS),
        f"--ssl-ca={ca_bundle}",
        f"--database={cred.database}",
    ]
