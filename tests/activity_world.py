"""What `dbaccess activity` reads, set up in moto: an access file with two PostgreSQL
databases on one RDS instance, an RDS MySQL instance and an Aurora MySQL cluster; people with
grants (one expired); and log lines pushed into the servers' CloudWatch log groups as RDS
exports them (one event per log entry, timestamped with the entry's time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import boto3

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # Pulumi.prod.yaml's dbaccess:accounts
PG_GROUP = "/aws/rds/instance/main/postgresql"
MYSQL_GROUP = "/aws/rds/instance/shop-prod/audit"
AURORA_GROUP = "/aws/rds/cluster/ledger/audit"
ANA, BOB, CARL = "ana.silva@example.com", "bob.jones@example.com", "carl.old@example.com"

ACCESS_YAML = f"""\
version: 1
databases:
  orders:
    engine: postgres
    account: "{ACCOUNT}"
    region: {REGION}
    instance: main
    host: localhost
    port: {{pg_port}}
    database: orders
    admin_login: dbaccess_admin
  inventory:
    engine: postgres
    account: "{ACCOUNT}"
    region: {REGION}
    instance: main
    host: localhost
    port: {{pg_port}}
    database: inventory
    admin_login: dbaccess_admin
  shop:
    engine: mysql
    account: "{ACCOUNT}"
    region: {REGION}
    instance: shop-prod
    host: localhost
    port: {{mysql_port}}
    database: shop
    admin_login: dbaccess_admin
  ledger:
    engine: aurora-mysql
    account: "{ACCOUNT}"
    region: {REGION}
    cluster: ledger
    host: ledger.cluster-abc.{REGION}.rds.amazonaws.com
    port: 3306
    database: ledger
    admin_login: dbaccess_admin
  analytics:
    engine: redshift
    account: "{ACCOUNT}"
    region: {REGION}
    cluster: dwh
    host: dwh.example.com
    port: 5439
    database: analytics
    groups: {{{{read-only: analysts_ro, read-write: analysts_rw}}}}
people:
  {ANA}:
    grants:
      - {{{{database: orders, access: read-write}}}}
      - {{{{database: inventory, access: read-only}}}}
      - {{{{database: shop, access: read-write}}}}
  {BOB}:
    grants:
      - {{{{database: orders, access: read-write}}}}
      - {{{{database: shop, access: read-only}}}}
      - {{{{database: ledger, access: read-write}}}}
  {CARL}:
    grants:
      - {{{{database: orders, access: read-write, until: 2026-01-31, reason: "backfill"}}}}
"""


def access_yaml(pg_port: int = 5432, mysql_port: int = 3306) -> str:
    return ACCESS_YAML.format(pg_port=pg_port, mysql_port=mysql_port)


def ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def push(group: str, events: Iterable[tuple[dt.datetime, str]], stream: str = "main") -> None:
    """Events into `group` (created when missing) as RDS's export writes them."""
    logs = boto3.client("logs", region_name=REGION)
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    batch: list[dict[str, Any]] = [
        {"timestamp": ms(when), "message": message}
        for when, message in sorted(events, key=lambda e: e[0])
    ]
    for i in range(0, len(batch), 10_000):  # PutLogEvents takes at most 10,000 events
        logs.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=batch[i : i + 10_000]
        )


def statements(document: dict[str, Any], *fields: str) -> Sequence[tuple[Any, ...]]:
    """The chosen fields of each record of `dbaccess activity --format json`."""
    return [tuple(r[f] for f in fields) for r in document["activity"]]
