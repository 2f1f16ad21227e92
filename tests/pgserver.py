"""A throw-away, TLS-enabled PostgreSQL server for tests.

`start_server()` runs initdb + postgres in a temp dir on a free 127.0.0.1 port with a freshly
minted test CA, so clients can use ``sslmode=verify-full`` against ``host=localhost``:

    server = start_server()
    server.create_login("alice", "s3cret", database="orders")
    env = server.client_env("alice", "s3cret", "orders")   # PGHOST/PGPORT/... for psql
    ...
    server.stop()

Authentication: TCP only over TLS with scram-sha-256 (plain TCP is rejected, which is how the
tests prove TLS is in use); the unix socket in the temp dir is ``trust`` for the superuser.

PostgreSQL refuses to run as root. When the tests run as root (CI containers) the server runs
as the ``postgres`` system user when it exists, otherwise as a ``dbaccess-test`` system user
created with ``useradd --system``; the temp dir is chowned to that user.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.throwaway import ServerFiles, clean_env, free_port, in_ci

START_TIMEOUT_S = 30
FALLBACK_USER = "dbaccess-test"
SUPERUSER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its output (and the server log tail)."""


# --------------------------------------------------------------------------- discovery


_DEBIAN_ROOT = Path("/usr/lib/postgresql")
# Homebrew's postgresql@NN formulae are keg-only: their binaries are not on PATH.
_HOMEBREW_PREFIXES = ("/opt/homebrew", "/usr/local", "/home/linuxbrew/.linuxbrew")


def _versioned(dirs: list[Path], version_of: Callable[[Path], str]) -> list[Path]:
    """Newest first (postgresql@17 before postgresql@9.6; unversioned last)."""

    def version(d: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", version_of(d)))

    return sorted(dirs, key=version, reverse=True)


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl/postgres: wherever initdb is on PATH, else
    `pg_config --bindir`, else the newest Debian /usr/lib/postgresql/<v>/bin, else the newest
    Homebrew <prefix>/opt/postgresql@<v>/bin."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = list(_DEBIAN_ROOT.glob("*/bin"))
    candidates += _versioned(debian, lambda p: p.parent.name)
    brew = [b for prefix in _HOMEBREW_PREFIXES for b in Path(prefix).glob("opt/postgresql*/bin")]
    candidates += _versioned(brew, lambda p: p.parent.name)
    for cand in candidates:
        if all((cand / b).is_file() for b in _SERVER_BINARIES):
            return cand
    return None


def has_pgaudit(bindir: Path) -> bool:
    """Whether the pgaudit extension is installed beside these binaries (Debian ships it as
    postgresql-<version>-pgaudit; scripts/ensure-postgres.sh installs it)."""
    return (bindir.parent / "lib" / "pgaudit.so").is_file()


def find_psql(bindir: Path | None = None) -> str | None:
    """The psql next to the server binaries (same version), else the one on PATH."""
    bindir = bindir or find_bindir()
    if bindir and (bindir / "psql").is_file():
        return str(bindir / "psql")
    return shutil.which("psql")


def is_available() -> bool:
    """True when the server binaries and psql are installed (scripts/ensure-postgres.sh)."""
    bindir = find_bindir()
    return bindir is not None and find_psql(bindir) is not None


def require_postgres() -> None:
    """Skip the calling test (or fixture) when PostgreSQL is missing - but fail in CI, where
    `make test` is supposed to have installed it and a skip would hide a broken setup."""
    if is_available():
        return
    reason = (
        "PostgreSQL server binaries (initdb/pg_ctl/postgres) or psql not found; "
        "run scripts/ensure-postgres.sh"
    )
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- TLS material


def write_test_pki(directory: Path) -> tuple[Path, Path, Path]:
    """Write ca.pem, server.crt, server.key: a throw-away CA and a server cert for localhost and
    127.0.0.1 (SAN), valid for a day. Returns (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=1)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dbaccess test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_file, cert_file, key_file = (
        directory / "ca.pem",
        directory / "server.crt",
        directory / "server.key",
    )
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # postgres refuses a key file readable by group/others, so create it 0600 from the start.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_file, cert_file, key_file


# --------------------------------------------------------------------------- helpers


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without PG* variables, so a developer's PGHOST/PGSSLMODE/... can't leak in."""
    return clean_env("PG", extra)


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run postgres as when we are root; None when not root."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, FALLBACK_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    # No postgres account (binaries from somewhere other than the Debian package): make one.
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_USER,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return pwd.getpwnam(FALLBACK_USER)


# --------------------------------------------------------------------------- the server


@dataclass
class PostgresServer(ServerFiles):
    LOG_FILE: ClassVar[str] = "postgres.log"

    bindir: Path
    workdir: Path
    port: int
    ca_file: Path
    psql_path: str
    run_as: str | None = None  # OS user the server runs as (None: the current user)
    host: str = "localhost"
    superuser: str = SUPERUSER
    startup_seconds: float = 0.0
    pgaudit: bool = True  # load pgaudit (when installed), as a parameter group that preloads it
    _stopped: bool = field(default=False, repr=False)

    @property
    def socket_dir(self) -> Path:
        return self.workdir / "socket"

    # -- running things

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if self.run_as is None:
            return cmd
        if shutil.which("runuser"):
            return ["runuser", "-u", self.run_as, "--", *cmd]
        return [
            "setpriv",
            f"--reuid={self.run_as}",
            f"--regid={self.run_as}",
            "--init-groups",
            "--",
            *cmd,
        ]

    def _run_server_tool(self, cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        # cwd=workdir: the server user may not be allowed into the caller's cwd (e.g. /root).
        return subprocess.run(
            self._as_server_user(cmd),
            cwd=self.workdir,
            env=_clean_env({"LC_ALL": "C"}),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def psql(
        self, sql: str, dbname: str = "postgres", variables: Mapping[str, str] | None = None
    ) -> str:
        """Run SQL as the superuser over the unix socket; returns unaligned, tuples-only output.

        SQL goes via stdin so several statements (incl. CREATE DATABASE) each run on their own,
        and so psql interpolates `variables`: write :'var' for a literal, :"var" for a name.
        """
        cmd = [
            self.psql_path,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            dbname,
            "-f",
            "-",
        ]
        for key, value in (variables or {}).items():
            cmd += ["-v", f"{key}={value}"]
        proc = subprocess.run(
            cmd,
            input=sql,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise PostgresError(
                f"psql failed ({proc.returncode}): {proc.stderr.strip()}\nSQL: {sql}"
            )
        return proc.stdout.strip()

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """The superuser's connection over the unix socket (the RDS master user's stand-in)."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=self.superuser, dbname=dbname
        )

    def create_login(self, name: str, password: str, database: str | None = None) -> None:
        """CREATE ROLE <name> LOGIN PASSWORD (or reset the password if it exists), and create
        `database` owned by it when given and missing."""
        names = {"name": name, "password": password, "database": database or ""}
        exists = self.psql("SELECT 1 FROM pg_roles WHERE rolname = :'name'", variables=names)
        verb = "ALTER" if exists else "CREATE"
        self.psql(f"{verb} ROLE :\"name\" LOGIN PASSWORD :'password'", variables=names)
        if database and not self.psql(
            "SELECT 1 FROM pg_database WHERE datname = :'database'", variables=names
        ):
            self.psql('CREATE DATABASE :"database" OWNER :"name"', variables=names)

    def client_env(self, user: str, password: str, database: str = "postgres") -> dict[str, str]:
        """Environment for a libpq client (psql) to log in over TCP with verify-full TLS."""
        return _clean_env(
            {
                "PGHOST": self.host,
                "PGPORT": str(self.port),
                "PGDATABASE": database,
                "PGUSER": user,
                "PGPASSWORD": password,
                "PGSSLMODE": "verify-full",
                "PGSSLROOTCERT": str(self.ca_file),
            }
        )

    # -- lifecycle

    def _initdb(self) -> None:
        proc = self._run_server_tool(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.superuser,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        if proc.returncode != 0:
            raise PostgresError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        cert_file, key_file = self.workdir / "server.crt", self.workdir / "server.key"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "ssl": "on",
            "ssl_cert_file": f"'{cert_file}'",
            "ssl_key_file": f"'{key_file}'",
            "password_encryption": "'scram-sha-256'",
            # A test server holds nothing worth keeping: trade durability for speed.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Connection/auth lines make the log tail useful when a login is refused.
            "log_connections": "on",
            # RDS's fixed prefix: every line names its login and database, as pgaudit's AUDIT
            # lines in RDS's postgresql log (and CloudWatch) do.
            "log_line_prefix": "'%t:%r:%u@%d:[%p]:'",
        }
        if self.pgaudit and has_pgaudit(self.bindir):
            # Loaded on every test server, as on an RDS instance whose parameter group preloads
            # it; pgaudit.log defaults to none, so nothing is logged until a role asks for it.
            settings["shared_preload_libraries"] = "'pgaudit'"
        with (self.datadir / "postgresql.conf").open("a") as fh:
            fh.write("\n# tests/pgserver.py\n")
            fh.writelines(f"{k} = {v}\n" for k, v in settings.items())
        # Order matters: first match wins. TCP must be TLS + password; plain TCP is rejected.
        (self.datadir / "pg_hba.conf").write_text(
            "local     all  all                 trust\n"
            "hostssl   all  all  127.0.0.1/32   scram-sha-256\n"
            "host      all  all  all            reject\n"
        )

    def _start(self) -> None:
        try:
            proc = self._run_server_tool(
                [
                    str(self.bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-s",
                ],
                timeout=START_TIMEOUT_S + 15,
            )
        except subprocess.TimeoutExpired as exc:  # pg_ctl's own -t should fire first
            raise PostgresError(
                f"pg_ctl start hung for {exc.timeout}s\n--- server log (tail) ---\n"
                f"{self.log_tail()}"
            ) from exc
        if proc.returncode != 0:
            raise PostgresError(
                f"postgres failed to start on 127.0.0.1:{self.port} (timeout {START_TIMEOUT_S}s; "
                f"pg_ctl exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n"
                f"--- {self.logfile} (tail) ---\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """Stop the server and delete the temp dir. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run_server_tool(
                    [
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.datadir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                        "-s",
                    ],
                    timeout=45,
                )
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_server(bindir: Path | None = None, *, pgaudit: bool = True) -> PostgresServer:
    """initdb + start a TLS PostgreSQL server on a free 127.0.0.1 port; call .stop() when done.
    `pgaudit=False`: a server whose parameter group does not preload pgaudit.

    Raises PostgresError (with the server log tail) if it fails to come up in START_TIMEOUT_S.
    """
    bindir = bindir or find_bindir()
    psql_path = find_psql(bindir)
    if bindir is None or psql_path is None:
        raise PostgresError("PostgreSQL binaries not found; run scripts/ensure-postgres.sh")
    t0 = time.monotonic()
    user = _server_user()
    # As root, use /tmp: root's TMPDIR may sit under /root, which the server user can't enter.
    # (A short path also keeps the unix socket path under the 107-byte limit.)
    workdir = Path(tempfile.mkdtemp(prefix="dbaccess-pg-", dir="/tmp" if user else None))
    server = PostgresServer(
        bindir=bindir,
        workdir=workdir,
        port=free_port(),
        ca_file=workdir / "ca.pem",
        psql_path=psql_path,
        run_as=user.pw_name if user else None,
        pgaudit=pgaudit,
    )
    try:
        write_test_pki(workdir)
        server.socket_dir.mkdir(mode=0o700)
        if user:
            for path in (workdir, server.socket_dir, *workdir.glob("server.*")):
                os.chown(path, user.pw_uid, user.pw_gid)
        server._initdb()
        # The free port can be grabbed by someone else between probing and binding; retry.
        for attempt in range(3):
            try:
                server._start()
                break
            except PostgresError:
                if attempt == 2 or not re.search(r"could not bind|in use", server.log_tail()):
                    raise
                server.port = free_port()
                conf = server.datadir / "postgresql.conf"
                conf.write_text(conf.read_text() + f"port = {server.port}\n")
    except BaseException:
        server.stop()
        raise
    # Safety net: don't leave a postgres running if the caller forgets stop() or crashes.
    atexit.register(server.stop)
    server.startup_seconds = time.monotonic() - t0
    return server


if __name__ == "__main__":
    # scripts/ensure-postgres.sh asks here, so the shell and the tests find the same server:
    # no argument: the server and psql; --pgaudit: whether pgaudit is installed beside it;
    # --major: the server's major version (Debian's package names carry it).
    found = find_bindir()
    psql = find_psql(found) if found else None
    if not (found and psql):
        print("not found")
        raise SystemExit(1)
    if sys.argv[1:] == ["--pgaudit"]:
        raise SystemExit(0 if has_pgaudit(found) else 1)
    if sys.argv[1:] == ["--major"]:
        print(found.parent.name if found.parent.name.isdigit() else "")
        raise SystemExit(0)
    print(f"{found} {psql}")
