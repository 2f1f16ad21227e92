"""Slack and the CLI for MySQL databases. The issuer end to end: GIVEN the catalog of the MySQL test access file
(tests/access_mysql.py) in moto's S3, a request item becomes a DM whose one-time paste holds
an RDS token for the MySQL user, the `mysql` command line and the GUI settings."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from urllib.parse import parse_qs, urlsplit

import boto3

from dbaccess.access import load_access_text
from dbaccess.bot.grants import choices_for
from dbaccess.catalog import Catalog, build_catalog, to_json
from dbaccess.cli.grant_choice import list_rows, render_table
from dbaccess.iam.documents import role_arn
from tests.access_mysql import HUGO, with_mysql
from tests.services.issuer_world import BUCKET, REGION, World, world
from tests.services.test_issuer import paste_fields

__all__ = ["world"]  # a fixture, imported for pytest

SHOP_HOST = "shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com"


def test_a_mysql_request_gets_the_mysql_command_line_and_gui_fields(world: World) -> None:
    plan = load_access_text(with_mysql(), "access.yaml", today=dt.datetime.now(dt.UTC).date())
    roles = {
        email: {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}
        for email, person in plan.people.items()
    }
    catalog = build_catalog(plan, roles, {"shop": "db-SHOPPROD", "ledger": "cluster-LEDGER"})
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key="catalog.json", Body=to_json(catalog)
    )

    world.request(HUGO, "shop")
    world.deliver()

    (dm,) = world.dms(HUGO)
    assert "read-only access to *shop*" in world.dm_text(dm)
    pasted = world.privatebin.read(world.link_in(dm))
    fields = paste_fields(pasted)
    assert (fields["Engine"], fields["Host"], fields["Port"], fields["Login"]) == (
        "mysql",
        SHOP_HOST,
        "3306",
        "hhenley_ro",
    )
    token = fields["Password"]
    query = {k: v[0] for k, v in parse_qs(urlsplit("https://" + token).query).items()}
    assert (query["Action"], query["DBUser"]) == ("connect", "hhenley_ro")
    # The command line: verified TLS, cleartext plugin, and the password asked for, not shown.
    (command,) = [line for line in pasted.splitlines() if line.startswith("mysql ")]
    assert shlex.split(command) == [
        "mysql",
        "--protocol=TCP",
        f"--host={SHOP_HOST}",
        "--port=3306",
        "--user=hhenley_ro",
        "--ssl-mode=VERIFY_IDENTITY",
        "--enable-cleartext-plugin",
        "--ssl-ca=global-bundle.pem",
        "--database=shop",
        "--password",
    ]
    assert token not in command
    # It works as pasted: the line before saves the CA file it names, in the same folder.
    lines = pasted.splitlines()
    assert lines[lines.index(command) - 1] == (
        "curl -fsSLO https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
    )
    assert "allowPublicKeyRetrieval off" in pasted
    assert "allow clear-text authentication" in pasted
    assert "psql" not in pasted


def test_slack_home_and_dbaccess_list_show_the_mysql_engines() -> None:
    today = dt.date(2026, 11, 23)
    plan = load_access_text(with_mysql(), "access.yaml", today=today)
    catalog = Catalog.from_json(to_json(build_catalog(plan, {}, {})))
    engines = {c.key: c.engine for c in choices_for(catalog, HUGO, today)}
    assert (engines["shop"], engines["ledger"], engines["orders"]) == (
        "MySQL",
        "Aurora MySQL",
        "PostgreSQL",
    )
    table = render_table(list_rows(catalog, HUGO, today))
    assert re.search(r"\nledger +read-write +aurora-mysql +ledger-staging\.cluster", table)
    assert re.search(r"\nshop +read-only +mysql +shop-prod\.c9akciq32\.eu-west-1\.rds", table)
