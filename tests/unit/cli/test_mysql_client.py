"""What `dbaccess token` prints and `dbaccess connect` runs for a MySQL credential."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbaccess.access import load_access_text
from dbaccess.catalog import build_person_object, to_json
from dbaccess.cli import app
from dbaccess.cli.credential_text import TokenFormat, format_credential
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.identity import EngineerError
from dbaccess.cli.mysql_client import find_client
from dbaccess.credentials import Credential
from dbaccess.mysql.client import client_args
from tests.access_mysql import HUGO, with_mysql

TOKEN = "shop.example.com:3306/?Action=connect&DBUser=ana_ro&X-Amz-Signature=ab%2Fcd"
CRED = Credential(
    engine="aurora-mysql",
    host="shop.example.com",
    port=3306,
    database="shop",
    user="ana_ro",
    password=TOKEN,
    expires_at=dt.datetime(2026, 11, 23, 12, 15, tzinfo=dt.UTC),
)
CA = Path("/home/ana/.config/dbaccess/rds-ca-bundle.pem")


def test_env_exports_mysql_variables_with_the_token_only_in_mysql_pwd() -> None:
    line = format_credential(CRED, TokenFormat.env, CA)
    words = shlex.split(line)
    assert words[0] == "export"
    assert dict(w.split("=", 1) for w in words[1:]) == {
        "MYSQL_HOST": "shop.example.com",
        "MYSQL_TCP_PORT": "3306",
        "MYSQL_USER": "ana_ro",
        "MYSQL_DATABASE": "shop",
        "MYSQL_PWD": TOKEN,
        "MYSQL_SSL_CA": str(CA),
    }
    assert not any(k.startswith("PG") for k in line.split())


def test_json_and_uri_carry_mysql_tls_settings() -> None:
    document = json.loads(format_credential(CRED, TokenFormat.json, CA))
    assert (document["engine"], document["ssl_mode"], document["ssl_ca"]) == (
        "aurora-mysql",
        "VERIFY_IDENTITY",
        str(CA),
    )
    assert document["cleartext_plugin"] is True
    assert format_credential(CRED, TokenFormat.uri, CA) == (
        "mysql://ana_ro:shop.example.com%3A3306%2F%3FAction%3Dconnect%26DBUser%3Dana_ro%26"
        "X-Amz-Signature%3Dab%252Fcd@shop.example.com:3306/shop"
        f"?ssl-mode=VERIFY_IDENTITY&ssl-ca={CA}"
    )
    assert format_credential(CRED, TokenFormat.password, CA) == TOKEN


def test_a_pgpass_line_for_mysql_is_a_usage_error() -> None:
    with pytest.raises(EngineerError) as caught:
        format_credential(CRED, TokenFormat.pgpass, CA)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert TOKEN not in caught.value.render()


def test_oracle_mysql_verifies_identity_and_enables_cleartext_without_the_password() -> None:
    assert client_args(CRED, str(CA), mariadb=False) == [
        "--protocol=TCP",
        "--host=shop.example.com",
        "--port=3306",
        "--user=ana_ro",
        "--ssl-mode=VERIFY_IDENTITY",
        "--enable-cleartext-plugin",
        f"--ssl-ca={CA}",
        "--database=shop",
    ]


def test_mariadb_verifies_the_server_certificate_and_host() -> None:
    args = client_args(CRED, str(CA), mariadb=True)
    assert args[4:7] == ["--ssl", "--ssl-verify-server-cert", f"--ssl-ca={CA}"]
    assert TOKEN not in " ".join(args)


def test_no_client_on_the_path_is_none(tmp_path: Path) -> None:
    assert find_client(str(tmp_path)) is None


def test_connect_without_a_mysql_client_says_how_to_install_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN hugo's catalog with the MySQL database shop, a CA bundle, and no client on PATH
    plan = load_access_text(with_mysql(), "access.yaml", today=dt.date(2026, 11, 23))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(to_json(build_person_object(plan, plan.people[HUGO], {}, {})))
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read before a client is found")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # WHEN he connects THEN he is told to install a client, before AWS is asked anything
    args = [
        "connect",
        "shop",
        "--catalog",
        str(catalog),
        "--email",
        HUGO,
        "--ca-bundle",
        str(bundle),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "no MySQL client (mysql or mariadb) is installed" in result.stderr
    assert "brew install mysql-client" in result.stderr
