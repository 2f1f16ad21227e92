"""Moving code between modules must not touch a live stack: GIVEN goldens captured before the
"one wing per domain" layout (issue 24), the program registers exactly the same resources
(URNs: type, parent chain and name) for the sample and for a large generated access file, and a
MySQL login's provider pickled into the state by that older program still loads and runs."""

from __future__ import annotations

import random
from pathlib import Path

from tests.access_mysql import CA, MYSQL_DATABASES, with_mysql
from tests.program.conftest import ProgramRunner, load_pickled_provider, stack_config

GOLDEN = Path(__file__).parent / "golden"
ENGINES_KEYS = ["orders", "inventory", "analytics", "shop", "shop-billing", "ledger"]


def large_access_file(people: int = 60, seed: int = 24) -> str:
    """The sample's databases plus the MySQL ones, and `people` generated people with 1-4
    grants each (some dated), so every kind of per-person resource appears many times."""
    rng = random.Random(seed)
    text = with_mysql()
    head, _, _ = text.partition("\npeople:\n")
    lines = [head, "people:"]
    for i in range(people):
        lines.append(f"  person{i:04d}@example.com:")
        lines.append("    grants:")
        picks = rng.sample(
            [(k, a) for k in ENGINES_KEYS for a in ("read-only", "read-write")],
            rng.choice([1, 2, 3, 4]),
        )
        for key, access in picks:
            # Write access to production must be dated and say why (the loader's rule).
            dated = access == "read-write" or rng.random() < 0.2
            until = ', until: 2027-03-01, reason: "INC-24 backfill"' if dated else ""
            lines.append(f"      - {{database: {key}, access: {access}{until}}}")
    return "\n".join(lines) + "\n"


def urns(program_run: ProgramRunner, access_text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "access.yaml"
    path.write_text(access_text)
    program = program_run(stack_config(path, rdsCaBundle=CA))
    return sorted(r.urn for r in program.resources)


def test_large_file_has_mysql_and_dated_grants() -> None:
    text = large_access_file()
    assert MYSQL_DATABASES.splitlines()[0] in text
    assert "until: 2027-03-01" in text


def test_sample_urns_are_unchanged(run_sample: ProgramRunner, tmp_path: Path) -> None:
    got = urns(run_sample, with_mysql(), tmp_path)
    assert got == (GOLDEN / "sample_urns.txt").read_text().splitlines()


def test_large_generated_file_urns_are_unchanged(run_sample: ProgramRunner, tmp_path: Path) -> None:
    got = urns(run_sample, large_access_file(), tmp_path)
    want = (GOLDEN / "large_urns.txt").read_text().splitlines()
    assert len(got) == len(want)
    assert [u for u in got if u not in set(want)] == []
    assert got == want


def test_a_provider_pickled_by_the_older_program_still_loads_and_runs(tmp_path: Path) -> None:
    """golden/mysql_provider_state.b64 is the `__provider` a MySQL login's state held when
    written by the program before the layout change: `pulumi up` unpickles it in a fresh Python
    in the project directory, then calls its methods (diff is pure: run it)."""
    olds = "{'login': 'ana_ro', 'access': 'read-only', 'databases': ['orders']}"
    news = "{'login': 'ana_ro', 'access': 'read-only', 'databases': ['orders', 'stock']}"
    printed, _ = load_pickled_provider(
        (GOLDEN / "mysql_provider_state.b64").read_text().strip(),
        tmp_path,
        "type(p).__module__ + ' ' + type(p).__name__",
        f"p.diff('id', {olds}, {news}).changes",
    )
    assert printed == ["components.mysql_users MysqlLoginProvider", "True"]
