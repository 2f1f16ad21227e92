"""dbaccess/examples/ is what the real builders make of the sample access.yaml and the prod stack."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from dbaccess.catalog import PEOPLE_PREFIX, Catalog

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "dbaccess" / "examples"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_examples", ROOT / "scripts/render_examples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_are_the_builders_output_for_the_sample() -> None:
    # GIVEN the sample and the builders as they are now, WHEN the examples are regenerated
    expected = _script().render()
    # THEN every file on disk is byte for byte what they make, and there is no other file
    on_disk = {
        p.relative_to(EXAMPLES): p.read_text() for p in EXAMPLES.rglob("*.json") if p.is_file()
    }
    stale = sorted(str(p) for p in set(on_disk) - set(expected))
    missing = sorted(str(p) for p in set(expected) - set(on_disk))
    changed = sorted(str(p) for p in set(expected) & set(on_disk) if expected[p] != on_disk[p])
    fix = "run `.venv/bin/python scripts/render_examples.py` and commit dbaccess/examples/"
    assert (stale, missing, changed) == ([], [], []), fix


def test_each_person_file_is_a_catalog_the_cli_reads() -> None:
    people = sorted((EXAMPLES / PEOPLE_PREFIX).glob("*.json"))
    assert people, "dbaccess/examples/people/ holds one file per person with grants"
    whole = Catalog.from_json((EXAMPLES / "catalog.json").read_bytes())
    for path in people:
        one = Catalog.from_json(path.read_bytes())
        (email,) = one.people
        assert path.name == f"{email}.json"
        assert one.people[email] == whole.people[email]
