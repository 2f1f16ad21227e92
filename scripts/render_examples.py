"""Write dbaccess/examples/catalog.json and people/<email>.json from the sample access.yaml.

    .venv/bin/python scripts/render_examples.py

They are what the program publishes for the prod stack's settings, built by the real builders
(dbaccess.catalog). They ship with the package, so `dbaccess list --catalog example` works
right after `pipx install`, without AWS. Resource ids are only known to AWS, so they are left
out (null).
tests/unit/test_examples.py regenerates them and fails when the files on disk differ.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess import catalog  # noqa: E402
from dbaccess.cli import preview_engine  # noqa: E402
from dbaccess.stack.file import load_stack_config  # noqa: E402

EXAMPLES = ROOT / "dbaccess" / "examples"
STACK = "prod"
# A fixed day, so the examples change only when the sample or the builders do.
TODAY = dt.date(2026, 11, 23)


def render() -> dict[Path, str]:
    """Each example file (relative to dbaccess/examples/) and its text."""
    # The same reading of the stack as `dbaccess preview` (settings and access file together).
    config = load_stack_config(ROOT, STACK)
    deployment = preview_engine.validate_stack(ROOT, config, TODAY)
    plan, role_arns = deployment.plan, deployment.role_arns()
    files = {Path(catalog.CATALOG_KEY): catalog.build_catalog(plan, role_arns, {})}
    for email, roles in role_arns.items():
        person = plan.people[email]
        files[Path(catalog.person_key(email))] = catalog.build_person_object(
            plan, person, roles, {}
        )
    return {path: catalog.to_json(document) for path, document in files.items()}


def main() -> None:
    for stale in (EXAMPLES / catalog.PEOPLE_PREFIX).glob("*.json"):
        stale.unlink()
    for path, text in render().items():
        (EXAMPLES / path).parent.mkdir(parents=True, exist_ok=True)
        (EXAMPLES / path).write_text(text)
        print(f"wrote dbaccess/examples/{path}")


if __name__ == "__main__":
    main()
