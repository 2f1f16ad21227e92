"""A throw-away, TLS-enabled MariaDB server for tests.

`start_server()` runs mariadb-install-db + mariadbd in a temp dir on a free 127.0.0.1 port with
the same freshly minted test CA as tests/pgserver.py, so clients verify the server certificate
against ``localhost``:

    server = start_server()
    server.sql("CREATE DATABASE orders")                      # as root, over the unix socket
    server.create_password_user("alice", "s3cret")
    server.client("alice", "s3cret", "SELECT 1", database="orders")   # over TCP + verified TLS
    ...
    server.stop()

Authentication: root logs in over the unix socket only (unix_socket plugin, as the OS user
running the tests); every TCP login must use TLS (``require_secure_transport``), which is how
the tests prove TLS is in use. Name resolution is off, so ``'x'@'localhost'`` accounts (root)
are unreachable over TCP and a ``'%'`` account is what a TCP client matches.

MariaDB is started as root only to drop to an unprivileged account: ``--user=mysql`` (the
Debian package's account) when the tests run as root, else it simply runs as the caller.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from dbaccess.mysql.statements import account, string_literal
from tests.pgserver import _server_user, write_test_pki
from tests.throwaway import ServerFiles, free_port, in_ci
from tests.throwaway import clean_env as _without

START_TIMEOUT_S = 30
SERVICE_USER = "mysql"  # the Debian package's account
_CLIENTS = ("mariadb", "mysql")


class MariaDBError(RuntimeError):
    """A MariaDB tool failed; the message carries its output (and the server log tail)."""


# --------------------------------------------------------------------------- discovery


def find_server() -> str | None:
    """mariadbd: on PATH, else Debian's /usr/sbin (not on a normal user's PATH)."""
    return shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")


def find_install_db() -> str | None:
    return shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")


def find_client() -> str | None:
    """The command-line client: `mariadb`, or `mysql` (the same program on Debian)."""
    for name in _CLIENTS:
        found = shutil.which(name)
        if found:
            return found
    return None


def is_available() -> bool:
    """True when the server, its bootstrap tool and a client are installed."""
    return None not in (find_server(), find_install_db(), find_client())


def require_mariadb() -> None:
    """Skip the calling test (or fixture) when MariaDB is missing - but fail in CI, where
    `make test` is supposed to have installed it and a skip would hide a broken setup."""
    if is_available():
        return
    reason = (
        "MariaDB (mariadbd, mariadb-install-db, mariadb) not found; run scripts/ensure-mariadb.sh"
    )
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- helpers


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without MYSQL_* variables, so a developer's MYSQL_HOST/MYSQL_PWD/... can't
    leak into a client we start."""
    return _without("MYSQL", extra)


def _run_as() -> pwd.struct_passwd | None:
    """The account mariadbd drops to when we are root (None: we are not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:  # binaries not from the Debian package: the pgserver fallback account
        return _server_user()


# --------------------------------------------------------------------------- the server


@dataclass
class MariaDBServer(ServerFiles):
    LOG_FILE: ClassVar[str] = "mariadb.log"

    server_path: str
    client_path: str
    workdir: Path
    port: int
    ca_file: Path
    run_as: str  # the OS account mariadbd runs as
    superuser: str  # the unix_socket account that is allowed everything
    host: str = "localhost"
    startup_seconds: float = 0.0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def socket(self) -> Path:
        return self.workdir / "mysqld.sock"

    @property
    def config(self) -> Path:
        return self.workdir / "my.cnf"

    # -- running SQL

    def _client(
        self, args: list[str], sql: str, env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str]:
        # --no-defaults first: no ~/.my.cnf or /etc/mysql option file may change what runs.
        return subprocess.run(
            [self.client_path, "--no-defaults", "--batch", "--skip-column-names", *args],
            input=sql,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def sql(self, sql: str, database: str | None = None) -> str:
        """Run SQL as the superuser over the unix socket; returns tab-separated rows.
        Raises MariaDBError with the server's message when a statement fails."""
        args = ["--protocol=SOCKET", f"--socket={self.socket}", f"--user={self.superuser}"]
        proc = self._client([*args, *([database] if database else [])], sql, clean_env())
        if proc.returncode != 0:
            raise MariaDBError(f"mariadb failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout.strip()

    def tls_args(self) -> list[str]:
        """Client options for TCP with a verified server certificate (host name included)."""
        return [
            "--protocol=TCP",
            f"--host={self.host}",
            f"--port={self.port}",
            "--ssl",
            f"--ssl-ca={self.ca_file}",
            "--ssl-verify-server-cert",
        ]

    def client(
        self, user: str, password: str, sql: str, database: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run SQL as `user` over TCP + verified TLS; the password travels in MYSQL_PWD (never
        on the command line). Returns the finished process: callers assert on the outcome."""
        args = [*self.tls_args(), f"--user={user}", *([database] if database else [])]
        return self._client(args, sql, clean_env({"MYSQL_PWD": password}))

    def create_password_user(self, user: str, password: str) -> None:
        """A local stand-in for an IAM user: `'<user>'@'%'` with a password, TLS required."""
        self.sql(
            f"CREATE OR REPLACE USER {account(user)} IDENTIFIED BY {string_literal(password)} "
            "REQUIRE SSL"
        )

    # -- lifecycle

    def _write_config(self) -> None:
        settings = {
            "datadir": self.datadir,
            "socket": self.socket,
            "port": self.port,
            "bind-address": "127.0.0.1",
            "pid-file": self.workdir / "mariadbd.pid",
            "log-error": self.logfile,
            "ssl-ca": self.ca_file,
            "ssl-cert": self.workdir / "server.crt",
            "ssl-key": self.workdir / "server.key",
            # Plain TCP is refused: a login that succeeds over TCP used TLS.
            "require-secure-transport": "ON",
            # 'x'@'localhost' (root) is then reachable only through the socket.
            "skip-name-resolve": "ON",
            # A test server holds nothing worth keeping: trade durability for speed.
            "innodb-flush-log-at-trx-commit": "0",
            "innodb-doublewrite": "0",
            "innodb-buffer-pool-size": "32M",
            "innodb-log-file-size": "16M",
            "skip-log-bin": None,
            "performance-schema": "OFF",
            # MariaDB's audit plugin, loaded as on RDS with the MARIADB_AUDIT_PLUGIN option; it
            # logs nothing until a test sets server_audit_logging = ON.
            "plugin-load-add": "server_audit",
            "server-audit-file-path": self.workdir / "server_audit.log",
        }
        lines = ["[mariadbd]"] + [k if v is None else f"{k} = {v}" for k, v in settings.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def _install_db(self, install_db: str) -> None:
        cmd = [
            install_db,
            f"--defaults-file={self.config}",
            f"--user={self.run_as}",
            "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={self.superuser}",
            "--skip-test-db",
        ]
        proc = subprocess.run(
            cmd,
            cwd=self.workdir,
            env=clean_env({"LC_ALL": "C"}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise MariaDBError(
                f"mariadb-install-db failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )

    def _start(self) -> None:
        log = self.logfile.open("ab")
        self._process = subprocess.Popen(
            [self.server_path, f"--defaults-file={self.config}", f"--user={self.run_as}"],
            cwd=self.workdir,
            env=clean_env({"LC_ALL": "C"}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MariaDBError(
                    f"mariadbd exited ({self._process.returncode}) on 127.0.0.1:{self.port}\n"
                    f"--- {self.logfile} (tail) ---\n{self.log_tail()}"
                )
            if self.socket.exists():
                try:
                    self.sql("SELECT 1")
                    return
                except MariaDBError:
                    pass
            time.sleep(0.1)
        raise MariaDBError(
            f"mariadbd did not accept connections within {START_TIMEOUT_S}s\n"
            f"--- {self.logfile} (tail) ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server and delete the temp dir. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()  # SIGTERM: mariadbd shuts down cleanly
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_server() -> MariaDBServer:
    """Bootstrap + start a TLS MariaDB on a free 127.0.0.1 port; call .stop() when done.

    Raises MariaDBError (with the server log tail) if it fails to come up in START_TIMEOUT_S.
    """
    server_path, install_db, client_path = find_server(), find_install_db(), find_client()
    if server_path is None or install_db is None or client_path is None:
        raise MariaDBError("MariaDB binaries not found; run scripts/ensure-mariadb.sh")
    t0 = time.monotonic()
    account = _run_as()
    me = pwd.getpwuid(os.geteuid()).pw_name
    # As root, use /tmp: root's TMPDIR may sit under /root, which the server account can't
    # enter. (A short path also keeps the unix socket path under the 107-byte limit.)
    workdir = Path(tempfile.mkdtemp(prefix="dbaccess-my-", dir="/tmp" if account else None))
    server = MariaDBServer(
        server_path=server_path,
        client_path=client_path,
        workdir=workdir,
        port=free_port(),
        ca_file=workdir / "ca.pem",
        run_as=account.pw_name if account else me,
        superuser=me,
    )
    try:
        write_test_pki(workdir)
        if account:
            for path in (workdir, *workdir.glob("server.*")):
                os.chown(path, account.pw_uid, account.pw_gid)
        server._write_config()
        server._install_db(install_db)
        # The free port can be grabbed by someone else between probing and binding; retry.
        for attempt in range(3):
            try:
                server._start()
                break
            except MariaDBError:
                if attempt == 2 or not re.search(r"Can't start server|in use", server.log_tail()):
                    raise
                server.port = free_port()
                server._write_config()
    except BaseException:
        server.stop()
        raise
    # Safety net: don't leave a mariadbd running if the caller forgets stop() or crashes.
    atexit.register(server.stop)
    server.startup_seconds = time.monotonic() - t0
    return server
