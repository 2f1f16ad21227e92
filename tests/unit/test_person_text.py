"""A person's text is data: shown in GitHub Markdown as typed, never as markup, a mention or a
reference; refused when too long or carrying invisible characters.

The Markdown is rendered by markdown-it (CommonMark with GFM tables and strikethrough), the
parser closest to GitHub's we can run here; what GitHub does after parsing (mentions,
#references, math) is checked on the rendered text nodes with GitHub's own rule: a mention is
an "@" not after a letter or digit, followed by a name, within one text node.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from dbaccess.person_text import REASON_MAX, markdown, problem

HOSTILE = "@org/security-team LGTM [approved by DBA](https://evil.example/x) <!--"
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# Inline HTML the escaper itself writes: what splits a mention, and a dollar kept from math.
OURS = {"<!-- -->", "<span>", "</span>"}
MENTION = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]")


def cell_tokens(text: str) -> list[Token]:
    """The inline tokens of the one body cell of a table whose cell is `markdown(text)`."""
    tokens = RENDERER.parse(f"| Reason |\n|---|\n| {markdown(text)} |\n")
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 2, "the row must stay one row of the table"
    [cell] = [t for t in tokens if t.type == "inline" and t.map and t.map[0] == 2]
    return cell.children or []


def shown_as_typed(text: str) -> str:
    """What a reader must see: whitespace runs as one space, invisible characters as U+FFFD."""
    one_line = " ".join(text.split())
    return "".join(
        "\ufffd" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") else c
        for c in one_line
    )


def assert_is_data(text: str) -> None:
    children = cell_tokens(text)
    markup = [t.type for t in children if t.type not in ("text", "html_inline")]
    assert markup == [], f"rendered as markup: {markup}"
    html = [t.content for t in children if t.type == "html_inline"]
    assert set(html) <= OURS, f"HTML from the text: {html}"
    texts = [t.content for t in children if t.type == "text"]
    assert "".join(texts) == shown_as_typed(text)
    for node in texts:
        assert not MENTION.search(node), f"a mention in {node!r}"
        assert "#" not in node[:-1], f"a #reference in {node!r}"
        assert "$" not in node or node == "$", f"math in {node!r}"


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE,
        "**bold** _em_ ~~gone~~ `code` ![img](x.png) [^1]",
        "# heading | cell | <img src=x onerror=alert(1)> &amp; &#64;team",
        "Closes #12, fixes org/repo#3, cc @alice and @org/team; $x^2$",
        "line one\nline two  \nthree\\",
        "back\\|slash \\\\| pipes ||",
        "bidi \u202eevil\u202c zero\u200bwidth",
        "   ",
    ],
)
def test_hostile_text_is_shown_as_typed_and_nothing_else(text: str) -> None:
    assert_is_data(text)


def test_the_issue_example_neither_pings_nor_links_nor_hides_the_rest_of_the_row() -> None:
    rendered = RENDERER.render(f"| Reason | Until |\n|---|---|\n| {markdown(HOSTILE)} | never |\n")

    assert "<a " not in rendered
    assert "never</td>" in rendered  # the cell after it is still there
    assert "@<!-- -->org/security-team" in rendered
    assert "&lt;!--" in rendered


def test_emails_stay_readable() -> None:
    assert markdown("ana.silva+db@example.com") == "ana.silva+db@example.com"


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        st.sampled_from(list("@#$&<>!-=[]()`*_~|\\:/. \n\taZ09")) | st.characters(), max_size=40
    )
)
def test_any_text_renders_as_itself(text: str) -> None:
    assert_is_data(text)


def test_a_reason_of_the_limit_is_taken_and_one_more_character_is_not() -> None:
    assert problem("x" * REASON_MAX) is None
    assert problem("x" * (REASON_MAX + 1)) == "is 501 characters long; at most 500 are allowed"
    assert problem("x" * 100_000) == "is 100,000 characters long; at most 500 are allowed"


@pytest.mark.parametrize(
    "char",
    [
        *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
        *"\u200b\u200c\u200d\u2060\ufeff",
        *"\x00\x1b\x7f\u2028\ud800",
    ],
)
def test_invisible_and_control_characters_are_refused_by_name(char: str) -> None:
    assert problem(f"INC-1234{char} backfill") == (
        f"contains the invisible or control character U+{ord(char):04X}; type the text "
        "again without it (pasted text often carries such characters)"
    )


def test_ordinary_text_in_any_script_is_taken() -> None:
    assert problem("INC-1234: Nachtrag für Bestellungen — 注文の修正 🚀\nsecond line\ttab") is None


def test_the_audits_markdown_shows_a_servers_login_names_as_data() -> None:
    from dbaccess.audit.report import render_audit
    from dbaccess.audit.results import AuditResult, Finding

    # Anyone who may CREATE ROLE on a server names the login the job summary shows.
    login = "x` | @org/security-team [fixed](https://evil.example) <!--"
    result = AuditResult([Finding("orders", "password-login", login, "LOGIN")], ["orders"])

    summary = render_audit(result, "markdown")

    assert f"| orders | {markdown(login)} | LOGIN |" in summary


def test_the_access_diff_shows_a_hostile_reason_and_description_as_data() -> None:
    import json

    from dbaccess.access.diff import render_markdown
    from tests.unit.access.test_diff import BASE, diff

    description = "Payments **now** [approved](https://evil.example) @org/everyone <!--"
    head = BASE.replace(
        "description: Payments (staging)", f"description: {json.dumps(description)}"
    ) + (f"  eve@example.com:\n    grants:\n      - {{database: orders, access: read-only, "
         f"reason: {json.dumps(HOSTILE)}}}\n")  # fmt: skip

    tokens = RENDERER.parse(render_markdown(diff(BASE, head)))

    children = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not {"link_open", "image", "em_open", "s_open", "html_block"} & {
        t.type for t in [*tokens, *children]
    }
    assert {c.content for c in children if c.type == "html_inline"} <= OURS

    def cell_texts(words: str) -> list[str]:
        cells = [t for t in tokens if t.type == "inline" and words in t.content]
        return ["".join(c.content for c in t.children or [] if c.type == "text") for t in cells]

    assert cell_texts("LGTM") == [HOSTILE]  # the reason, in the "Access gained" table
    described = cell_texts("everyone")  # the database cell and the description's change
    assert described
    assert all(description in text for text in described)
