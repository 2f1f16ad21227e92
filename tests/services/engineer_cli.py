"""The engineer's CLI as a real subprocess, signing as a person's role (moto's STS) with
botocore's clock pinned, so that two invocations (`token`, then `connect`) sign the same RDS
token. Used by the `dbaccess connect` tests of each engine."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"

# Runs the real CLI with botocore's clock pinned to DBACCESS_TEST_SIGNING_TIME (ISO 8601),
# so two invocations sign the same token. Only botocore's clock changes; dbaccess is untouched.
LAUNCHER = """\
import datetime, os, sys
import botocore.auth

_at = datetime.datetime.fromisoformat(os.environ["DBACCESS_TEST_SIGNING_TIME"])
botocore.auth.get_current_datetime = (
    lambda remove_tzinfo=True: _at.replace(tzinfo=None) if remove_tzinfo else _at
)
from dbaccess.cli import app
app(prog_name="dbaccess")
"""

Dbaccess = Callable[..., subprocess.CompletedProcess[str]]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free local port (also the demo's, scripts/demo.py): its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def dbaccess_as(
    role_arn: str, email: str, moto_endpoint: str, tmp_path: Path, *, client_dir: str, drop: str
) -> Dbaccess:
    """`dbaccess ...` run with the credentials of `role_arn` as `email` would hold them (as
    weep hands them out), the database client's directory first on PATH, and none of the
    caller's variables starting with `drop` (the client's: PG, MYSQL)."""
    creds = boto3.client(
        "sts",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="AKIDBASE",
        aws_secret_access_key="base-secret",
    ).assume_role(RoleArn=role_arn, RoleSessionName=email)["Credentials"]
    launcher = tmp_path / "dbaccess_frozen.py"
    launcher.write_text(LAUNCHER)
    env = {k: v for k, v in os.environ.items() if not k.startswith((drop, "AWS_", "DBACCESS_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HOME": str(tmp_path),  # no client option files of the developer's
            "DBACCESS_TEST_SIGNING_TIME": dt.datetime.now(dt.UTC)
            .replace(microsecond=0)
            .isoformat(),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{client_dir}:{env.get('PATH', '/usr/bin:/bin')}",
        }
    )

    def dbaccess(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(launcher), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return dbaccess
