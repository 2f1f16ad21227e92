"""Print the Home tab any person of any access file would see, built by the real builders.

    .venv/bin/python scripts/render_home_example.py            # the analysts' page example (Hugo)
    .venv/bin/python scripts/render_home_example.py --json     # the view as views.publish gets it
    .venv/bin/python scripts/render_home_example.py --person new.starter@example.com
    .venv/bin/python scripts/render_home_example.py --file other/access.yaml --person a@b.c \
        --date 2027-01-15 --help-channel '#data-help'

The default person is Hugo from the sample access.yaml, so the docs' example cannot drift
from the code or the sample: regenerate and paste when either changes. A person without
grants (or not in the file) gets the "no access" tab that names their email.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbaccess.access import InvalidInput, load_access_file  # noqa: E402
from dbaccess.bot import views  # noqa: E402
from dbaccess.bot.grants import choices_for  # noqa: E402
from dbaccess.catalog import Catalog, build_catalog  # noqa: E402
from dbaccess.cli.exit_codes import ExitCode  # noqa: E402

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a person's Home tab.")
    parser.add_argument("--file", type=Path, default=ROOT / "access.yaml", help="access file")
    parser.add_argument("--person", default=PERSON, help=f"their email (default {PERSON})")
    parser.add_argument(
        "--date", type=dt.date.fromisoformat, default=TODAY, help="the day (YYYY-MM-DD)"
    )
    parser.add_argument("--help-channel", default=HELP_CHANNEL, help="the bot's help channel")
    parser.add_argument("--json", action="store_true", help="the Block Kit view as JSON")
    args = parser.parse_args(argv)
    try:
        plan = load_access_file(args.file, today=args.date)
    except InvalidInput as exc:
        parser.exit(ExitCode.INVALID_INPUT, f"error: {exc.problems[0].message}\n")
    catalog = Catalog.from_document(build_catalog(plan, {}, {}))
    email = args.person.strip().lower()
    view = views.home_view_dict(
        choices_for(catalog, email, args.date), args.help_channel, email=email
    )
    if args.json:
        print(json.dumps(view, indent=2))
    else:
        print(render(view), end="")


if __name__ == "__main__":
    main()
