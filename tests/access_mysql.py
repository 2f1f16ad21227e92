"""A test access file with MySQL: the sample access.yaml plus an RDS MySQL instance holding two
databases (shop, shop-billing) and an Aurora MySQL cluster (ledger) in the staging account,
granted to hugo and priya. The sample itself stays PostgreSQL/Redshift only (its goldens)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROD, STAGING = "123456789012", "210987654321"
HUGO = "hugo.henley@example.com"
PRIYA = "priya.raman@example.com"
CA = "certs/global-bundle.pem"
MYSQL_DATABASES = f"""\
  shop:
    engine: mysql
    account: "{PROD}"
    region: eu-west-1
    instance: shop-prod
    host: shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com
    port: 3306
    database: shop
    admin_login: dbaccess_admin
  shop-billing:
    engine: mysql
    account: "{PROD}"
    region: eu-west-1
    instance: shop-prod
    host: shop-prod.c9akciq32.eu-west-1.rds.amazonaws.com
    port: 3306
    database: billing
    admin_login: dbaccess_admin
  ledger:
    engine: aurora-mysql
    account: "{STAGING}"
    region: eu-central-1
    cluster: ledger-staging
    host: ledger-staging.cluster-c9akciq32.eu-central-1.rds.amazonaws.com
    port: 3306
    database: ledger
    admin_login: dbaccess_admin
"""
HUGO_GRANTS = """\
      - {database: shop, access: read-only}
      - {database: shop-billing, access: read-only, until: 2026-12-31}
      - {database: ledger, access: read-write}
"""
PRIYA_GRANTS = "      - {database: shop-billing, access: read-write}\n"


def with_mysql() -> str:
    """The sample access file with the MySQL databases and grants above."""
    text = (ROOT / "access.yaml").read_text()
    text = text.replace("\ngroups:\n", "\n" + MYSQL_DATABASES + "\ngroups:\n", 1)
    hugo = '      - {database: orders, access: read-write, until: 2026-12-31, reason: "INC-1234 backfill"}\n'
    assert hugo in text
    text = text.replace(hugo, hugo + HUGO_GRANTS, 1)
    priya = f"  {PRIYA}:\n    grants:\n"
    assert priya in text
    return text.replace(priya, priya + PRIYA_GRANTS, 1)
