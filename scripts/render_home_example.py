"""Print the example of the bot's Home tab in docs/getting-started/analyst.md, built by the
real builders.

    .venv/bin/python scripts/render_home_example.py            # Markdown for that page
    .venv/bin/python scripts/render_home_example.py --json     # the view as views.publish gets it

The example person is Hugo from the sample access.yaml, so the example cannot drift from the
code or the sample: regenerate and paste when either changes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess.access import load_access_file  # noqa: E402
from dbaccess.bot import views  # noqa: E402
from dbaccess.bot.grants import choices_for  # noqa: E402
from dbaccess.catalog import Catalog, build_catalog  # noqa: E402

PERSON = "hugo.henley@example.com"
TODAY = dt.date(2026, 11, 23)
HELP_CHANNEL = "#db-access"


def text_of(element: dict[str, Any]) -> str:
    return str(element.get("text", {}).get("text", "") if "text" in element else "")


def render(view: dict[str, Any]) -> str:
    """The view as an analyst sees it, roughly: text, with buttons in [brackets]."""
    lines: list[str] = []
    for block in view["blocks"]:
        kind = block["type"]
        if kind == "header":
            lines.append(f"# {block['text']['text']}")
        elif kind == "section":
            lines.append(block["text"]["text"].replace("*", ""))
        elif kind == "context":
            lines.append("  " + " ".join(e["text"] for e in block["elements"]))
        elif kind == "divider":
            lines.append("─" * 60)
        elif kind == "actions":
            lines.append("  " + "  ".join(f"[ {text_of(e)} ]" for e in block["elements"]))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    plan = load_access_file(ROOT / "access.yaml", today=TODAY)
    catalog = Catalog.from_document(build_catalog(plan, {}, {}))
    view = views.home_view_dict(choices_for(catalog, PERSON, TODAY), HELP_CHANNEL)
    if "--json" in sys.argv[1:]:
        print(json.dumps(view, indent=2))
    else:
        print(render(view), end="")


if __name__ == "__main__":
    main()
