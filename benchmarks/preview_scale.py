"""How the offline plan scales: generated access files of 100, 1,000 and 3,000 people.

Prints, per size: resources registered and wall seconds for the whole program under Pulumi's
mock engine, then two floors under the same engine, each registering the same number of
resources in a bare loop:

- plain: one-input `CustomResource`s, as the issue defines the overhead ratio (target <= 1.5);
- typed: the same typed classes the program registers (aws.iam.Role, aws.iam.RolePolicy,
  aws.s3.BucketObjectv2, postgresql.Role, components, ...), each with constant inputs. The
  SDK's cost of a typed resource grows with its declared outputs (an Output and futures per
  property), so this floor is what any program registering these resources pays; the ratio to
  it is what our code adds.

Target: 1,000 people in <= 60 s.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_postgresql as postgresql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess.cli.preview_engine import (  # noqa: E402 (after the path set-up)
    Registration,
    run_program,
    run_under_mocks,
)
from dbaccess.stack.file import StackConfig, load_stack_config  # noqa: E402

DATABASES = """\
  orders:
    {{engine: postgres, account: "123456789012", region: eu-west-1, instance: orders-prod,
     host: orders.example.com, port: 5432, database: orders, admin_login: dbaccess_admin,
     table_owners: [orders_app]}}
  inventory:
    {{engine: postgres, account: "123456789012", region: eu-west-1, instance: inventory-prod,
     host: inventory.example.com, port: 5432, database: inventory, admin_login: dbaccess_admin}}
  billing:
    {{engine: postgres, account: "210987654321", region: eu-central-1, instance: billing,
     host: billing.example.com, port: 5432, database: billing, admin_login: dbaccess_admin}}
  payments:
    {{engine: aurora-postgresql, account: "210987654321", region: eu-central-1,
     cluster: payments, host: payments.example.com, port: 5432, database: payments,
     admin_login: dbaccess_admin}}
  analytics:
    {{engine: redshift, account: "123456789012", region: eu-west-1, cluster: analytics,
     host: analytics.example.com, port: 5439, database: analytics,
     groups: {{read-only: analysts_ro, read-write: analysts_rw}}}}
"""
KEYS = ["orders", "inventory", "billing", "payments", "analytics"]


def access_file(people: int, seed: int = 7) -> str:
    """`people` people with 2-4 grants each (3 on average) over 5 databases."""
    rng = random.Random(seed)
    lines = ["version: 1", "databases:", DATABASES.format(), "people:"]
    for i in range(people):
        lines.append(f"  person{i:05d}@example.com:")
        lines.append("    grants:")
        picks = rng.sample(
            [(k, a) for k in KEYS for a in ("read-only", "read-write")], rng.choice([2, 3, 4])
        )
        lines += [f"      - {{database: {k}, access: {a}}}" for k, a in picks]
    return "\n".join(lines) + "\n"


def bare_loop(count: int) -> None:
    for i in range(count):
        pulumi.CustomResource("bench:index:Plain", f"plain-{i}", {"value": str(i)})


# One factory per type the program registers in numbers (per person, account or grant); the
# few dozen fixed resources around them count as plain ones.
TYPED = {
    "aws:iam/role:Role": lambda n: aws.iam.Role(
        n, name=n, path="/dbaccess/", assume_role_policy="{}", tags={"owner": n}
    ),
    "aws:iam/rolePolicy:RolePolicy": lambda n: aws.iam.RolePolicy(
        n, name="database-access", role=n, policy="{}"
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": lambda n: aws.s3.BucketObjectv2(
        n, bucket="catalog", key=n, content="{}", content_type="application/json"
    ),
    "postgresql:index/role:Role": lambda n: postgresql.Role(
        n, name=n, login=True, roles=["rds_iam", "dbaccess_readonly"], connection_limit=10
    ),
}


def typed_loop(registrations: list[Registration]) -> None:
    for i, r in enumerate(registrations):
        name = f"typed-{i}"
        if r.type == "pulumi:pulumi:Stack":
            continue
        if r.type in TYPED:
            TYPED[r.type](name)
        elif r.custom:
            pulumi.CustomResource("bench:index:Plain", name, {"value": name})
        else:
            pulumi.ComponentResource("bench:index:Component", name, None)


def seconds_under_mocks(body: Callable[[], None], config: StackConfig) -> float:
    started = time.perf_counter()
    run_under_mocks(body, config)
    return time.perf_counter() - started


def measure(people: int, config: StackConfig) -> str:
    started = time.perf_counter()
    registrations = run_program(ROOT, config).registrations
    program_s = time.perf_counter() - started
    count = len(registrations)
    plain_s = seconds_under_mocks(lambda: bare_loop(count - 1), config)  # minus the stack
    typed_s = seconds_under_mocks(lambda: typed_loop(registrations), config)
    return (
        f"{people:>7} {count:>10} {program_s:>10.1f} {plain_s:>14.1f} "
        f"{program_s / plain_s:>8.2f}x {typed_s:>14.1f} {program_s / typed_s:>8.2f}x"
    )


def main() -> None:
    base = load_stack_config(ROOT, "prod")
    print(
        f"{'people':>7} {'resources':>10} {'program s':>10} {'plain floor s':>14} "
        f"{'vs plain':>9} {'typed floor s':>14} {'vs typed':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for people in (100, 1_000, 3_000):
            path = Path(tmp) / f"access-{people}.yaml"
            path.write_text(access_file(people))
            config = dataclasses.replace(
                base,
                values={**base.values, "dbaccess:accessFile": str(path)},
                raw_settings={**base.raw_settings, "accessFile": str(path)},
            )
            print(measure(people, config), flush=True)


if __name__ == "__main__":
    main()
