"""Write schema/access.schema.json, the JSON Schema editors check access.yaml with, from the
models (dbaccess/access/json_schema.py). A test fails when the committed copy is stale:

    .venv/bin/python scripts/gen_access_schema.py
"""

from __future__ import annotations

import json
from pathlib import Path

from dbaccess.access.json_schema import access_json_schema

TARGET = Path(__file__).resolve().parent.parent / "schema" / "access.schema.json"


def render() -> str:
    return json.dumps(access_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
