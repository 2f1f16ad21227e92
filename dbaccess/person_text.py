"""Text a person wrote (a request's reason, an access.yaml description): whether it is
acceptable, and how it is shown in GitHub Markdown. Such text is data wherever it goes: it
never formats a page, hides a row, links somewhere else or pings anyone.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

REASON_MAX: Final = 500  # characters, in the Slack form and in access.yaml alike

# Invisible characters that change how the text around them reads: bidi embeddings,
# overrides and isolates, directional marks, zero-width characters and the BOM.
_INVISIBLE: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\ufeff"
)
# Unicode categories of characters nobody types in a reason: controls (tab and line ends
# aside), format characters (the invisible ones above among them), line and paragraph
# separators and lone surrogates.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_WHITESPACE_CONTROLS: Final = frozenset("\t\n\r")


def problem(text: str, max_chars: int = REASON_MAX) -> str | None:
    """Why `text` cannot be taken as a person's text, or None: at most `max_chars`
    characters, and no invisible or control characters (a bidi override can make a reviewer
    read something other than what is stored)."""
    if len(text) > max_chars:
        return f"is {len(text):,} characters long; at most {max_chars} are allowed"
    for char in text:
        if char in _INVISIBLE or (
            unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _WHITESPACE_CONTROLS
        ):
            return (
                f"contains the invisible or control character U+{ord(char):04X}; "
                "type the text again without it (pasted text often carries such characters)"
            )
    return None


# ASCII punctuation that starts Markdown inline syntax: code spans, emphasis, strikethrough,
# links, images and footnotes (all need "["), table cells, backslash escapes. CommonMark
# renders an escaped one as is; "(", ")" and "!" mean nothing without "[".
_BACKSLASHED: Final = re.compile(r"([\\`*_\[\]|~])")
# What GitHub links or pings after parsing, so that escapes do not help (`\@` and `&#64;`
# still ping): an @mention (an "@" not after a letter or digit: `ana@example.com` pings
# nobody), a #reference (any "#": `org/repo#12` links too, and "Closes #12" in a pull request
# body closes the issue), $math$. An empty HTML comment after "@" or "#" splits the text so
# nothing matches, and renders as nothing; a dollar sign in a span is GitHub's documented way
# to write one outside math.
_AFTER_PARSING: Final = {"@": "@<!-- -->", "#": "#<!-- -->", "$": "<span>$</span>"}
_HTML: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_REPLACED: Final = re.compile("[&<>#$]|(?<![A-Za-z0-9_])@")


def markdown(text: str) -> str:
    """`text` as literal GitHub Markdown for use inside a line (a table cell, after other
    words): one line, every character shown as typed, no markup, no HTML, no mention or
    reference. Whitespace runs (line breaks included) become one space; invisible and control
    characters show as U+FFFD, so nothing hides."""
    visible = "".join(
        "\ufffd" if unicodedata.category(c) in _REFUSED_CATEGORIES or c in _INVISIBLE else c
        for c in " ".join(text.split())
    )
    escaped = _BACKSLASHED.sub(r"\\\1", visible)
    return _REPLACED.sub(lambda m: _HTML.get(m[0]) or _AFTER_PARSING[m[0]], escaped)
