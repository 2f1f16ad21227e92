"""The MySQL side of `dbaccess token` and `dbaccess connect`: the client's variables, which
client is installed, and exec'ing it (its options: dbaccess.mysql.client)."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NoReturn

from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.identity import EngineerError, Say
from dbaccess.credentials import Credential
from dbaccess.mysql.client import client_args

CLIENTS: Final = ("mysql", "mariadb")
# Client capability flags (MySQL protocol): 4.1 protocol and its authentication, and TLS.
_CLIENT_PROTOCOL_41: Final = 0x0200
_CLIENT_SSL: Final = 0x0800
_CLIENT_SECURE_CONNECTION: Final = 0x8000
_MAX_PACKET: Final = 1 << 24
_UTF8MB4: Final = 45
MYSQL_INSTALL: Final = """\
Install a MySQL client:
  macOS:          brew install mysql-client && brew link --force mysql-client
  Debian/Ubuntu:  sudo apt-get install default-mysql-client   (MariaDB's, also fine)
  Fedora/RHEL:    sudo dnf install mysql
or run `dbaccess token DB --format env` and use the client of your choice."""


def mysql_environment(cred: Credential, ca_bundle: Path) -> dict[str, str]:
    """Variables for a MySQL credential. Both clients read MYSQL_HOST, MYSQL_TCP_PORT and
    MYSQL_PWD; they have none for the user, the database or the CA, so MYSQL_USER,
    MYSQL_DATABASE and MYSQL_SSL_CA are for your command line (see `dbaccess token --help`)."""
    return {
        "MYSQL_HOST": cred.host,
        "MYSQL_TCP_PORT": str(cred.port),
        "MYSQL_USER": cred.user,
        "MYSQL_DATABASE": cred.database,
        "MYSQL_PWD": cred.password,
        "MYSQL_SSL_CA": str(ca_bundle),
    }


def find_client(path: str | None) -> tuple[str, bool] | None:
    """(the client's path, whether it is MariaDB's), `mysql` before `mariadb`; None if neither
    is on `path`."""
    for name in CLIENTS:
        found = shutil.which(name, path=path)
        if found is not None:
            version = subprocess.run(
                [found, "--version"], capture_output=True, text=True, timeout=10, check=False
            )
            return found, "MariaDB" in version.stdout
    return None


def missing_client() -> EngineerError:
    return EngineerError(
        "no MySQL client (mysql or mariadb) is installed (or on PATH)",
        MYSQL_INSTALL,
        ExitCode.FAILED,
    )


def exec_mysql(cred: Credential, ca_bundle: Path, args: Sequence[str], say: Say) -> NoReturn:
    """Replace this process with the MySQL client; the password goes in MYSQL_PWD (the child's
    environment only), never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL")}
    env["MYSQL_PWD"] = cred.password
    client = find_client(env.get("PATH"))
    if client is None:
        raise missing_client()
    path, mariadb = client
    argv = [path, *client_args(cred, str(ca_bundle), mariadb=mariadb), *args]
    say(f"running {shlex.join(argv)} (password in MYSQL_PWD)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(path, argv, env)  # noqa: S606 - argv carries no secret


class NoTls(Exception):
    """The server answered the MySQL protocol but offers no TLS (or answered with an error)."""


def start_tls(raw: socket.socket) -> None:
    """Bring a fresh MySQL connection to the point where the client starts TLS, without
    logging in: read the server's greeting, answer with an SSL request. Hand-written (about
    fifteen lines of the documented protocol) because the engineer's install has no MySQL
    driver, and `dbaccess doctor` only needs the handshake."""
    header = raw.recv(4, socket.MSG_WAITALL)
    if len(header) < 4:
        raise NoTls("the server closed the connection before its greeting")
    greeting = raw.recv(int.from_bytes(header[:3], "little"), socket.MSG_WAITALL)
    if not greeting or greeting[0] == 0xFF:  # an error packet, e.g. "Host is blocked"
        raise NoTls(greeting[3:].decode(errors="replace").strip() or "an error packet")
    # protocol version, NUL-terminated server version, thread id (4), scramble (8), filler (1)
    at = greeting.index(b"\0", 1) + 1 + 4 + 8 + 1
    capabilities = int.from_bytes(greeting[at : at + 2], "little")
    if not capabilities & _CLIENT_SSL:
        raise NoTls("the server does not offer TLS")
    flags = _CLIENT_PROTOCOL_41 | _CLIENT_SSL | _CLIENT_SECURE_CONNECTION
    payload = struct.pack("<IIB23x", flags, _MAX_PACKET, _UTF8MB4)
    raw.sendall(len(payload).to_bytes(3, "little") + bytes([header[3] + 1]) + payload)
