"""How the offline plan scales: generated access files of 100, 1,000 and 3,000 people.

Prints, per size: resources registered, wall seconds for the whole program under Pulumi's
mock engine, and the same engine registering the same number of plain one-input resources in
a bare loop (the floor); their ratio is the overhead. Targets: 1,000 people in <= 60 s,
ratio <= 1.5. A second floor replays the program's own resources with their computed inputs
in a flat loop, separating what our code costs from what the engine costs for resources with
realistic inputs.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess.cli.preview_engine import (  # noqa: E402 (after the path set-up)
    Registration,
    load_stack_config,
    run_program,
    run_under_mocks,
)

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


def replay(registrations: list[Registration]) -> None:
    """The same resources with the same (already computed) inputs, in a flat loop: what the
    engine itself costs for these resources, without our program around it."""
    for r in registrations:
        if r.type != "pulumi:pulumi:Stack":
            pulumi.CustomResource("bench:index:Replay", r.name, dict(r.inputs))


def main() -> None:
    base = load_stack_config(ROOT, "prod")
    print(
        f"{'people':>7} {'resources':>10} {'program s':>10} {'bare loop s':>12} "
        f"{'overhead':>9} {'replay s':>9} {'vs replay':>10}"
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
            started = time.perf_counter()
            run = run_program(ROOT, config)
            program_s = time.perf_counter() - started
            count = len(run.registrations)
            started = time.perf_counter()
            bare = run_under_mocks(lambda n=count: bare_loop(n - 1), config)  # minus the stack
            bare_s = time.perf_counter() - started
            assert len(bare.registrations) == count
            started = time.perf_counter()
            run_under_mocks(lambda r=run.registrations: replay(r), config)
            replay_s = time.perf_counter() - started
            print(
                f"{people:>7} {count:>10} {program_s:>10.1f} {bare_s:>12.1f} "
                f"{program_s / bare_s:>8.2f}x {replay_s:>9.1f} {program_s / replay_s:>9.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
