"""Validation errors that point at a file, a line and a column, and say how to fix it."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int
    column: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}\n    fix: {self.fix}"


# A file with 100,000 mistakes (say, the wrong file) would bury the first ones in megabytes
# of output: at most this many problems are kept and listed.
MAX_PROBLEMS = 100


class InvalidInput(Exception):
    """Raised with every problem found in one run (at most MAX_PROBLEMS); nothing was changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        ordered = sorted(problems)
        self.problems = ordered[:MAX_PROBLEMS]
        self.truncated = len(ordered) > MAX_PROBLEMS
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        noun = "error" if count == 1 else "errors"
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(
                f"more than {MAX_PROBLEMS} errors found, the first {MAX_PROBLEMS} listed; "
                "nothing was changed."
            )
        else:
            lines.append(f"{count} {noun} found; nothing was changed.")
        return "\n".join(lines)

    def as_json(self) -> str:
        document: dict[str, object] = {"ok": False, "errors": [asdict(p) for p in self.problems]}
        if self.truncated:
            document["truncated"] = True
        return json.dumps(document, indent=2)


# Messages quote at most this many characters of a value: enough to recognise it, never a
# whole pasted file (an access file that is really /etc/passwd is refused, not echoed).
SHOWN_MAX = 80


def shown(value: object) -> str:
    """A value as messages quote it: its text, cut to SHOWN_MAX characters with '…'."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def did_you_mean(value: str, choices: Sequence[str]) -> str:
    """' (did you mean 'x'?)' when a choice is close to the value, else ''."""
    if len(value) > SHOWN_MAX:  # difflib is quadratic in the length; no name is that long
        return ""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
